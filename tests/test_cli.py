"""`prosody analyze`: outputs (JSON, RTTM, frames CSV), exit codes and error
lines, checked against the planted truth of the fixture dialogue.

Most tests call ``prosody_cli.main.main(argv)`` in-process; a few run the
installed ``prosody`` console script to see the real exit code and stderr.
All test audio is written to ``tmp_path``.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from prosody.session import SCHEMA
from prosody_cli.main import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SR = 16000
HOP_S = 0.01
WINDOW_S = (11.2, 22.2)  # silence on both channels at both edges (see test_sources.py)
SPEAKERS = ("therapist", "client")
TOL_S = 0.05
ERROR_LIMIT_S = 10.0

SPEAKER_KEYS = ("speech_s", "talk_share", "f0_median_hz", "f0_sd_st", "f0_range_st", "rms_db_median",
                "speech_rate_syl_s", "articulation_rate_syl_s")


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("PROSODY_DEBUG", raising=False)  # it turns the last-resort error line into a traceback


@pytest.fixture(scope="module")
def dialogue():
    """(audio, truth): the fixture's window WINDOW_S, (n_samples, 2) float32 at
    16 kHz, and its truth (segments, transitions, events) on the window's timeline."""
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    assert sr == SR
    t0, t1 = WINDOW_S
    full = json.loads((FIXTURES / "dialogue.truth.json").read_text())
    inside = lambda a, b: a >= t0 and b <= t1  # noqa: E731
    truth = {
        "segments": {spk: [(a - t0, b - t0) for a, b in full["segments"][spk] if inside(a, b)] for spk in SPEAKERS},
        "transitions": [dict(t, from_end_s=t["from_end_s"] - t0, to_start_s=t["to_start_s"] - t0)
                        for t in full["transitions"] if inside(*sorted((t["from_end_s"], t["to_start_s"])))],
        "events": [dict(e, start_s=e["start_s"] - t0, end_s=e["end_s"] - t0)
                   for e in full["events"] if inside(e["start_s"], e["end_s"])],
    }
    assert truth["transitions"] and truth["events"]
    return audio[int(t0 * SR):int(t1 * SR)], truth


@pytest.fixture
def stereo(tmp_path, dialogue):
    path = tmp_path / "session.wav"
    sf.write(path, dialogue[0], SR, subtype="PCM_16")
    return path


def run(capsys, *argv):
    """``main(argv)`` in-process -> (exit code, stdout, stderr, seconds)."""
    capsys.readouterr()
    t = time.perf_counter()
    rc = main([str(a) for a in argv])
    elapsed = time.perf_counter() - t
    out, err = capsys.readouterr()
    return rc, out, err, elapsed


def prosody_exe() -> str:
    exe = Path(sys.executable).with_name("prosody")
    found = str(exe) if exe.exists() else shutil.which("prosody")
    if found is None:
        pytest.skip("the `prosody` console script is not installed (pip install -e .)")
    return found


def run_exe(*argv, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "PROSODY_DEBUG"}
    return subprocess.run([prosody_exe(), *map(str, argv)], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=env)


def assert_one_error_line(rc, err):
    assert rc != 0
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("prosody: error: "), err


def segments_of(doc, speaker):
    return [(s["start_s"], s["end_s"]) for s in doc["segments"] if s["speaker"] == speaker]


def assert_segments_match(pred, truth, *, tol_s=TOL_S):
    assert len(pred) == len(truth), f"found {pred}, planted {truth}"
    for (a, b), (ta, tb) in zip(pred, truth):
        assert abs(a - ta) <= tol_s and abs(b - tb) <= tol_s, f"found {a:.3f}-{b:.3f}, planted {ta:.3f}-{tb:.3f}"


# -- outputs -------------------------------------------------------------------

def test_json_file_holds_the_session(tmp_path, capsys, stereo, dialogue):
    audio, truth = dialogue
    rc, out, err, _ = run(capsys, "analyze", stereo, "--json", tmp_path / "s.json")
    assert rc == 0 and err == "", err
    assert "Share of the talking" in out  # the summary goes to stdout when the JSON goes to a file
    doc = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))

    assert doc["schema"] == SCHEMA and re.fullmatch(r"prosody\.session/\d+", SCHEMA)
    assert doc["duration_s"] == pytest.approx(len(audio) / SR, abs=1e-3)
    assert doc["speaker_order"] == list(SPEAKERS) and set(doc["speakers"]) == set(SPEAKERS)
    for spk in SPEAKERS:
        st = doc["speakers"][spk]
        assert set(SPEAKER_KEYS) <= set(st), set(SPEAKER_KEYS) - set(st)
        assert_segments_match(segments_of(doc, spk), truth["segments"][spk])
        planted_s = sum(b - a for a, b in truth["segments"][spk])
        assert st["speech_s"] == pytest.approx(sum(b - a for a, b in segments_of(doc, spk)), abs=1e-3)
        assert st["speech_s"] == pytest.approx(planted_s, abs=2 * TOL_S * len(truth["segments"][spk]))
        assert 0 < st["f0_median_hz"] < 600 and st["f0_range_st"] > 0 and st["f0_sd_st"] > 0
        assert -40 < st["rms_db_median"] < -10  # planted at -20 dB
        assert 1 < st["articulation_rate_syl_s"] < 10 and 0 < st["speech_rate_syl_s"] < 10
    assert doc["speakers"]["therapist"]["f0_median_hz"] > doc["speakers"]["client"]["f0_median_hz"] * 1.3
    assert sum(doc["speakers"][s]["talk_share"] for s in SPEAKERS) == pytest.approx(1.0, abs=1e-3)

    assert {t["speaker"] for t in doc["turns"]} == set(SPEAKERS)
    for t in doc["turns"]:  # a turn runs from the start of one of its speaker's segments to the end of one
        mine = segments_of(doc, t["speaker"])
        assert t["start_s"] in [a for a, _ in mine] and t["end_s"] in [b for _, b in mine], (t, mine)
    for t in doc["transitions"]:
        assert t["offset_s"] == pytest.approx(t["to_start_s"] - t["from_end_s"], abs=1e-3)
        assert t["kind"] == ("overlap" if t["offset_s"] < 0 else "gap")
    for planted in truth["transitions"]:
        found = [t for t in doc["transitions"] if t["to_speaker"] == planted["to_speaker"]
                 and abs(t["to_start_s"] - planted["to_start_s"]) <= TOL_S]
        assert len(found) == 1, (planted, doc["transitions"])
        assert found[0]["offset_s"] == pytest.approx(planted["offset_s"], abs=TOL_S)
        assert found[0]["kind"] == planted["kind"]
    for planted in truth["events"]:
        assert any(e["kind"] == planted["kind"] and e["speaker"] == planted["speaker"]
                   and abs(e["start_s"] - planted["start_s"]) <= TOL_S for e in doc["events"]), \
            (planted, doc["events"])


def test_rttm_lines_match_the_json_segments(tmp_path, capsys, stereo):
    rc, _, err, _ = run(capsys, "analyze", stereo, "--json", tmp_path / "s.json", "--rttm", tmp_path / "s.rttm",
                        "--quiet")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    lines = (tmp_path / "s.rttm").read_text().splitlines()

    assert len(lines) == len(doc["segments"]) > 0
    from_rttm = []
    for line in lines:
        f = line.split()
        assert len(f) == 10, line
        assert f[0] == "SPEAKER" and f[1] == "session" and f[2] == "1"
        assert f[5] == f[6] == f[8] == f[9] == "<NA>"
        onset, dur = float(f[3]), float(f[4])
        assert dur > 0
        from_rttm.append((f[7], onset, onset + dur))
    from_json = [(s["speaker"], s["start_s"], s["end_s"]) for s in doc["segments"]]
    for (rs, ra, rb), (js, ja, jb) in zip(sorted(from_rttm), sorted(from_json)):
        assert rs == js
        assert ra == pytest.approx(ja, abs=1e-3) and rb == pytest.approx(jb, abs=2e-3)


def test_frames_csv_is_on_the_hop_grid(tmp_path, capsys, stereo, dialogue):
    _, truth = dialogue
    rc, _, err, _ = run(capsys, "analyze", stereo, "--json", tmp_path / "s.json", "--frames", tmp_path / "f.csv",
                        "--quiet")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    with open(tmp_path / "f.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)

    assert {"time_s", "speaker", "is_speech", "f0_hz", "voiced_prob", "rms_db"} <= set(header)
    n_frames = round(doc["duration_s"] / HOP_S)
    assert len(rows) == n_frames * len(SPEAKERS)
    for i, spk in enumerate(SPEAKERS):
        mine = rows[i * n_frames:(i + 1) * n_frames]
        assert {r["speaker"] for r in mine} == {spk}
        t = np.array([float(r["time_s"]) for r in mine])
        np.testing.assert_allclose(t, (np.arange(n_frames) + 0.5) * HOP_S, atol=1e-9, rtol=0)

        # is_speech agrees with the JSON segments frame by frame
        speech = np.array([r["is_speech"] == "1" for r in mine])
        in_seg = np.zeros(n_frames, bool)
        for a, b in segments_of(doc, spk):
            in_seg |= (t > a) & (t < b)
        assert np.array_equal(speech, in_seg)

        # f0 is empty exactly when unvoiced; far from the planted speech there is none
        f0 = np.array([float(r["f0_hz"]) if r["f0_hz"] else np.nan for r in mine])
        assert all(r["f0_hz"] == "" for r, v in zip(mine, f0) if np.isnan(v))
        assert np.all((f0[~np.isnan(f0)] > 30) & (f0[~np.isnan(f0)] < 1000))
        near = np.zeros(n_frames, bool)
        for a, b in truth["segments"][spk]:
            near |= (t > a - 0.1) & (t < b + 0.1)
        assert np.isnan(f0[~near]).all(), t[~near & ~np.isnan(f0)][:5]
        planted = np.zeros(n_frames, bool)
        for a, b in truth["segments"][spk]:
            planted |= (t > a) & (t < b)
        assert np.mean(~np.isnan(f0[planted])) > 0.4  # speech is mostly voiced
        assert np.nanmedian(f0) == pytest.approx(doc["speakers"][spk]["f0_median_hz"], rel=0.05)
        vp = np.array([float(r["voiced_prob"]) for r in mine])
        assert np.all((vp >= 0) & (vp <= 1))
        assert np.all(np.isfinite([float(r["rms_db"]) for r in mine]))


def test_output_files_are_private(tmp_path, capsys, stereo):
    outs = [tmp_path / "s.json", tmp_path / "s.rttm", tmp_path / "f.csv"]
    rc, _, err, _ = run(capsys, "analyze", stereo, "--json", outs[0], "--rttm", outs[1], "--frames", outs[2],
                        "--quiet")
    assert rc == 0, err
    for p in outs:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["session.wav", *(p.name for p in outs)])


@pytest.mark.parametrize("flag", ["--json", "--rttm", "--frames"])
def test_output_into_missing_folder_is_one_line_error(tmp_path, capsys, stereo, flag):
    rc, out, err, elapsed = run(capsys, "analyze", stereo, flag, tmp_path / "nowhere" / "out.txt", "--quiet")
    assert_one_error_line(rc, err)
    assert "nowhere" in err and "does not exist" in err
    assert elapsed < ERROR_LIMIT_S


# -- errors --------------------------------------------------------------------

def _wav_bytes(tmp_path, audio, **kw) -> bytearray:
    p = tmp_path / "valid.wav"
    sf.write(p, audio, SR, subtype=kw.get("subtype", "PCM_16"))
    data = bytearray(p.read_bytes())
    p.unlink()
    assert data[:4] == b"RIFF" and data[12:16] == b"fmt "
    return data


def _patched(tmp_path, audio, offset, fmt, value, name):
    """A valid WAV with one header field (at byte ``offset``) overwritten."""
    data = _wav_bytes(tmp_path, audio)
    struct.pack_into(fmt, data, offset, value)
    p = tmp_path / name
    p.write_bytes(bytes(data))
    return p


def _non_finite(tmp_path, audio, value, name):
    y = audio.copy()
    y[len(y) // 2, 1] = value
    p = tmp_path / name
    sf.write(p, y, SR, subtype="FLOAT")
    return p


# name -> (files and options after `analyze`, given tmp_path and 2 s of stereo audio; words the message must hold)
ERROR_CASES = {
    "missing file": (lambda d, a: [d / "absent.wav"], ["no such file", "absent.wav"]),
    "directory": (lambda d, a: [d], ["directory"]),
    "empty file": (lambda d, a: [_file(d / "empty.wav", b"")], ["empty"]),
    "text named .wav": (lambda d, a: [_file(d / "x.wav", b"not audio\n" * 50)], ["cannot decode", "x.wav"]),
    "NaN samples": (lambda d, a: [_non_finite(d, a, np.nan, "nan.wav")], ["NaN", "nan.wav"]),
    "inf samples": (lambda d, a: [_non_finite(d, a, np.inf, "inf.wav")], ["infinite", "inf.wav"]),
    "sample rate 0": (lambda d, a: [_patched(d, a, 24, "<I", 0, "rate0.wav")], ["rate0.wav"]),
    "channels 5000": (lambda d, a: [_patched(d, a, 22, "<H", 5000, "ch5000.wav")], ["ch5000.wav", "channels"]),
    "channels 0": (lambda d, a: [_patched(d, a, 22, "<H", 0, "ch0.wav")], ["ch0.wav", "Channel count is zero"]),
    "channels 65": (lambda d, a: [_patched(d, a, 22, "<H", 65, "ch65.wav")], ["65 channels", "1-64"]),
    "sample rate 1 GHz": (lambda d, a: [_patched(d, a, 24, "<I", 10**9, "rate1g.wav")],
                          ["1000000000 Hz", "4000-768000"]),
    "random bytes .flac": (lambda d, a: [_file(d / "r.flac", np.random.default_rng(7).bytes(20000))],
                           ["r.flac"]),
    "unknown option": (lambda d, a: [_stereo(d, a), "--loudly"], ["--loudly"]),
    "offset with one file": (lambda d, a: [_stereo(d, a), "--offset-s", "1.5"], ["--offset-s", "two files"]),
    "channels no pair": (lambda d, a: [_stereo(d, a), "--channels", "therapist"], ["--channels"]),
    "channels unknown name": (lambda d, a: [_stereo(d, a), "--channels", "therapist=up,client=left"],
                              ["--channels", "up"]),
    "channels out of range": (lambda d, a: [_stereo(d, a), "--channels", "therapist=3,client=1"],
                              ["--channels", "2 channel"]),
    "channels same channel": (lambda d, a: [_stereo(d, a), "--channels", "therapist=left,client=left"],
                              ["--channels", "same channel"]),
    "channels with two files": (lambda d, a: [_stereo(d, a), _stereo(d, a, "b.wav"), "--channels",
                                              "therapist=left,client=right"], ["--channels"]),
    "pitch range syntax": (lambda d, a: [_stereo(d, a), "--pitch-range", "client=low-high"], ["--pitch-range"]),
    "pitch range speaker": (lambda d, a: [_stereo(d, a), "--pitch-range", "nobody=75-400"], ["nobody"]),
    "pitch range too low": (lambda d, a: [_stereo(d, a), "--pitch-range", "client=5-400"], ["fmin_hz"]),
    "pitch range reversed": (lambda d, a: [_stereo(d, a), "--pitch-range", "client=400-75"], ["400"]),
    "three files": (lambda d, a: [_stereo(d, a), _stereo(d, a), _stereo(d, a)], ["3 files"]),
    "offset nan": (lambda d, a: [*_pair(d, a), "--offset-s", "nan"], ["offset nan"]),
    "offset inf": (lambda d, a: [*_pair(d, a), "--offset-s=-inf"], ["offset -inf"]),
    "offset past the end": (lambda d, a: [*_pair(d, a), "--offset-s", "1e6"], ["overlap", "2.00 s"]),
    "offset before the start": (lambda d, a: [*_pair(d, a), "--offset-s", "-2.5"], ["overlap", "-2.00"]),
    "output is a folder": (lambda d, a: [_stereo(d, a), "--json", d], ["folder"]),
    "output is the input": (lambda d, a: [_stereo(d, a), "--frames", d / "ok.wav"], ["input", "overwritten"]),
}


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _stereo(d, audio, name="ok.wav"):
    p = d / name
    sf.write(p, audio, SR, subtype="PCM_16")
    return p


def _pair(d, audio):
    """therapist.wav and client.wav: the two channels of ``audio``."""
    sf.write(d / "therapist.wav", audio[:, 0], SR, subtype="PCM_16")
    sf.write(d / "client.wav", audio[:, 1], SR, subtype="PCM_16")
    return d / "therapist.wav", d / "client.wav"


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_input_is_one_error_line(tmp_path, capsys, dialogue, case):
    make, words = ERROR_CASES[case]
    argv = make(tmp_path, dialogue[0][: 2 * SR])

    rc, out, err, elapsed = run(capsys, "analyze", *argv, "--quiet")

    assert_one_error_line(rc, err)
    for w in words:
        assert w in err, (w, err)
    assert "internal error" not in err
    assert elapsed < ERROR_LIMIT_S
    assert out == ""
    if case == "output is the input":
        assert sf.info(tmp_path / "ok.wav").frames == 2 * SR  # the recording is untouched


def test_console_script_error_exit_code_and_stderr(tmp_path):
    t = time.perf_counter()
    missing = run_exe("analyze", tmp_path / "absent.wav")
    bad_option = run_exe("analyze", FIXTURES / "mono_therapist.wav", "--loudly")
    assert time.perf_counter() - t < 2 * ERROR_LIMIT_S
    for proc in (missing, bad_option):
        assert proc.returncode == 2
        assert_one_error_line(proc.returncode, proc.stderr)
        assert proc.stdout == ""
    assert "no such file" in missing.stderr and "--loudly" in bad_option.stderr


def test_truncated_wav_is_analysed_with_a_warning(tmp_path, capsys, dialogue):
    audio, truth = dialogue
    data = _wav_bytes(tmp_path, audio)
    assert data[36:40] == b"data"
    half = (len(data) - 44) // 2 // 4 * 4  # whole stereo 16-bit samples
    p = tmp_path / "cut.wav"
    p.write_bytes(bytes(data[: 44 + half]))

    rc, out, err, elapsed = run(capsys, "analyze", p, "--json", "-", "--quiet")

    assert rc == 0 and elapsed < ERROR_LIMIT_S
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: warning: ") and "truncated" in lines[0], err
    assert "header says 11.00 s" in lines[0]
    doc = json.loads(out)
    assert doc["duration_s"] == pytest.approx(half / 4 / SR, abs=HOP_S)
    assert any("truncated" in w for w in doc["warnings"])
    t_end = half / 4 / SR
    for spk in SPEAKERS:  # what was read is analysed as before: segments ending well before the cut
        planted = [(a, b) for a, b in truth["segments"][spk] if b < t_end - 0.3]
        assert_segments_match(segments_of(doc, spk)[: len(planted)], planted)


def test_digital_silence_has_no_speech(tmp_path, capsys):
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros((5 * SR, 2), np.float32), SR, subtype="PCM_16")

    rc, out, err, _ = run(capsys, "analyze", p, "--json", "-", "--quiet")

    assert rc == 0, err
    # the one thing said: neither channel holds anyone speaking
    assert [ln.split(":")[1:3] for ln in err.splitlines()] == [
        [" warning", " therapist never speaks"], [" warning", " client never speaks"]], err
    assert "channel 1 is digital silence throughout" in err and "channel 2 is digital silence throughout" in err
    doc = json.loads(out)
    assert doc["duration_s"] == pytest.approx(5.0, abs=1e-3)
    assert doc["segments"] == [] and doc["turns"] == [] and doc["transitions"] == [] and doc["events"] == []
    for spk in SPEAKERS:
        assert doc["speakers"][spk]["speech_s"] == 0
        assert doc["speakers"][spk]["f0_median_hz"] is None


# -- the console script ----------------------------------------------------------

def test_console_script_analyses_the_fixture(tmp_path):
    (tmp_path / "fixtures").symlink_to(FIXTURES, target_is_directory=True)
    truth = json.loads((FIXTURES / "dialogue.truth.json").read_text())

    proc = run_exe("analyze", "fixtures/dialogue.flac", "--json", "out.json", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr
    assert "therapist" in proc.stdout and "client" in proc.stdout and "Share of the talking" in proc.stdout
    doc = json.loads((tmp_path / "out.json").read_text())
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == 0o600
    assert doc["sources"] == ["fixtures/dialogue.flac"]
    assert doc["duration_s"] == pytest.approx(truth["duration_s"], abs=HOP_S)
    for spk in SPEAKERS:
        assert_segments_match(segments_of(doc, spk), [tuple(s) for s in truth["segments"][spk]])


def test_a_constant_mono_recording_is_said_to_carry_no_signal(tmp_path, capsys):
    # a recorder stuck at one value (here 0.9): read as no signal, and the line says a
    # constant counts as that (it read "every sample zero", untrue of this file)
    p = tmp_path / "stuck.wav"
    sf.write(p, np.full(5 * SR, 0.9, np.float32), SR, subtype="PCM_16")

    rc, out, err, _ = run(capsys, "analyze", p, "--json", "-", "--quiet")

    assert rc == 0, err
    assert "the recording is digital silence throughout (every sample zero, or one constant value)" in err, err
    assert json.loads(out)["segments"] == []


def test_a_float_recording_far_below_speech_is_not_called_digital_silence(tmp_path, capsys):
    # hostile sweep: a float WAV at -130 dBFS (every frame under rms_db's -120 dBFS floor) was
    # called "digital silence (every sample zero, or one constant value)", untrue of it; the
    # zero channel beside it still is digital silence
    t = np.arange(5 * SR) / SR
    x = np.zeros((5 * SR, 2), np.float32)
    x[:, 0] = np.sqrt(2) * 10 ** (-130 / 20) * np.sin(2 * np.pi * 200 * t)   # RMS -130 dBFS
    p = tmp_path / "faint.wav"
    sf.write(p, x, SR, subtype="FLOAT")

    rc, out, err, _ = run(capsys, "analyze", p, "--json", "-", "--quiet")

    assert rc == 0, err
    assert err.splitlines() == [
        "prosody: warning: therapist never speaks: channel 1 is far below any speech level throughout (its "
        "loudest 10 ms at -130 dBFS), so the therapist's figures describe no behaviour, and figures toward the "
        "therapist (answering, talking over) have no data",
        "prosody: warning: client never speaks: channel 2 is digital silence throughout (every sample zero, or one "
        "constant value), so the client's figures describe no behaviour, and figures toward the client "
        "(answering, talking over) have no data"], err
    assert json.loads(out)["segments"] == []
