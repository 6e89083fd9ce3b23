"""Hostile sweep 29 (docs/store.md "Hostile sweep 29"): each defect found, against planted truth.

1. `live --record` whose recording's folder was removed only near the end (the loss seen at the end, not at an
   autosave): every captured sample was copied into the rescue folder, yet the session said the recording
   failed and `recording_complete` false (and `--mono`'s re-attribution passed the whole recording over). Now
   the copy is checked to hold every captured sample, and then said whole, but not where asked.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.pulse import folder_lost_while_recording

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
PROSODY = [sys.executable, "-m", "prosody_cli.main"]


def _assert_whole_in_the_copy(live: dict, warnings: list, said: str, kept: Path, gone: Path) -> None:
    """The session and the closing line say the recording whole, in ``kept``, which holds every captured
    sample (its length the session's ``captured_s`` to the sample), with sound in it."""
    assert live["recording_complete"] is True and live["recording_stopped_s"] is None, live
    assert live["recording_file"] == str(kept)
    assert f"all of it is kept in {kept}" in said and f"({gone} is gone)" in said and "failed" not in said, said
    assert any(f"all of it is kept in {kept}" in w for w in warnings), warnings
    assert not any("the recording stopped at" in w for w in warnings), warnings
    y, sr = sf.read(kept, dtype="float32")
    assert len(y) == round(live["captured_s"] * sr), (len(y), live["captured_s"])
    assert np.sqrt(np.mean(y ** 2)) > 1e-3


def test_a_recording_lost_at_the_end_on_a_replay_is_said_whole_in_the_rescue_folder(tmp_path, monkeypatch):
    """Planted on a replay (8 s of the fixture at 4x, no autosave before the end): the recording's folder removed
    once 2 s of it are on disk; the audio went on into the open file to the end, and the end copied all 8 s into
    the rescue folder. Before: `recording_complete` false, "the recording failed at 8.0 s", `recording_stopped_s`
    8.0. Now: whole, `recording_stopped_s` null, the line says where all of it is."""
    from prosody.engine.sources import Layout
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "rec").mkdir()
    rec = tmp_path / "rec" / "r.wav"
    stereo = Layout(("therapist", "client"), ((0, 0), (0, 1)))
    r = LiveRunner(ReplaySource([str(FIXTURES / "dialogue.flac")], stereo, speed=4.0), output_path=tmp_path / "s.json",
                   record_path=rec, autosave_s=30.0, duration_s=8.0)
    r.start()
    deadline = time.monotonic() + 30
    while not (rec.exists() and rec.stat().st_size > 128000) and time.monotonic() < deadline:
        time.sleep(0.01)
    shutil.rmtree(tmp_path / "rec")
    res = r.wait(60)
    assert res is not None and res.doc is not None
    live = res.doc["live"]
    assert live["captured_s"] == pytest.approx(8.0, abs=0.011)
    _assert_whole_in_the_copy(live, res.doc["warnings"], res.record_error or "",
                              tmp_path / "data" / "prosody-rescue" / "r.wav", rec)


def _live_on(pulse, tmp_path: Path, device: str, *args: str, stdout) -> subprocess.Popen:
    """`prosody live --device DEVICE ARGS --output s.json --plain` on the private server, in ``tmp_path``."""
    env = dict(pulse.env, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(PROSODY + ["live", "--device", device, *args, "--output", str(tmp_path / "s.json"),
                                       "--plain", "--interval-s", "0.25"],
                            env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=tmp_path)


def test_live_whose_recording_folder_is_removed_just_before_the_end_says_it_whole(pulse, tmp_path):
    """Real capture (a private PulseAudio's null-sink monitor, the fixture playing), `--record rec/r.wav`, the
    default 30 s autosave: `rec` removed 4 s in and Ctrl-C 0.5 s later, so the loss is seen at the end only.
    Before: "the recording failed at 2.5 s (...); what was recorded up to then is kept in COPY", and the
    session's `recording_complete` false, though COPY held every captured sample. Now one line saying it whole
    and where, exit 1 (not where asked), and the session says it complete."""
    mon = pulse.null_sink("s1")
    (tmp_path / "rec").mkdir()
    p = _live_on(pulse, tmp_path, mon, "--record", str(tmp_path / "rec" / "r.wav"), stdout=subprocess.DEVNULL)
    err = folder_lost_while_recording(pulse, p, FIXTURES / "dialogue.flac", "s1", tmp_path / "rec",
                                      lost_after_s=4.0, ctrl_c_after_s=0.5)
    assert p.returncode == 1 and "Traceback" not in err and len(err.splitlines()) == 1, err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["live"]["captured_s"] >= 1.0
    kept = Path(pulse.env["HOME"]) / ".local" / "share" / "prosody-rescue" / "r.wav"
    _assert_whole_in_the_copy(doc["live"], doc["warnings"], err, kept, tmp_path / "rec" / "r.wav")


# -- 2. Ctrl-C while the files of a broken pool run alone --------------------------------------------------------

def test_ctrl_c_while_the_files_of_a_broken_pool_run_alone_stops_at_once(tmp_path):
    """Planted (tests/test_sweep_hostile27.py's hook): 6 recordings of 90 s, `--jobs 2`; a worker killed just before
    the fifth submit (the first one to three results saved, the rest in flight), the pool broken; Ctrl-C the moment the kill is
    done (0.5 s on: a submit ignores Ctrl-C while it may start a worker). Before: the four files were each analysed alone to the end, one by one, and saved after the Ctrl-C (a
    batch of four 5-minute files ended 10.5 s after its Ctrl-C; hour-long ones would take minutes). Now the lone
    process is looked at every STOP_POLL_S and terminated: exit 130, "interrupted; N recordings finished and saved"
    (the one or two saved before the kill), nothing saved after the Ctrl-C, no worker left, within a few seconds."""
    from tests.test_sweep_hostile27 import HOOK, _recordings, _stored
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    tokens = tmp_path / "kills" / "tokens"
    tokens.mkdir(parents=True)
    (tokens / "before-submit-0").touch()
    _recordings(tmp_path / "in", 6, length_s=90.0)  # a lone run takes about a second: none ends in the 0.5 s wait
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), str(REPO), os.environ.get("PYTHONPATH", "")]),
               PROSODY_TEST_KILLS=str(tokens), PROSODY_TEST_BREAK_AT="5")
    p = subprocess.Popen(PROSODY + ["batch", str(tmp_path / "in"), "--jobs", "2", "--store", str(tmp_path / "store"),
                                    "--table", str(tmp_path / "t"), "--no-progress"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                         start_new_session=True)
    killed = tmp_path / "kills" / "killed.txt"
    try:
        deadline = time.monotonic() + 90
        while not killed.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert killed.exists(), "the planted kill did not happen"
        time.sleep(0.5)  # the submit's hook ends (Ctrl-C is ignored while a worker may start), the lone runs begin
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = p.communicate(timeout=120)
        took_s = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    assert p.returncode == 130, out + err
    said = re.search(r"interrupted; (\d) recordings? finished and saved in the store", err)
    assert said, err
    n_saved = int(said.group(1))  # the results in before the kill (one to three, as the machine's pace lets them)
    # the old code analysed and saved every file in flight after the Ctrl-C: all six
    assert n_saved <= 4 and err.count("] done ") == n_saved == len(_stored(tmp_path / "store")), err
    assert took_s < 8.0, took_s
    kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
    assert not kids, kids


# -- 3. a second live session with --overwrite onto a recording being made ----------------------------------------

def test_overwrite_never_takes_a_recording_another_session_is_making(tmp_path):
    """Planted: session A records 4 s of the fixture (a replay at 4x) into r.wav; once 1 s of it is on disk,
    session B is set up with `--overwrite` onto r.wav (the file was there at its check, so --overwrite let it).
    Before: B opened it with O_TRUNC and wrote into it from the start while A went on writing at its own
    offset, and both sessions said the recording whole (real capture: A 6.04 s, B 3.34 s, one file). Now B
    stops before capture with one line, and A's recording holds A's 4 s, sample for sample."""
    from prosody.engine.sources import Layout
    from prosody.errors import CaptureError
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    rec = tmp_path / "r.wav"
    stereo = Layout(("therapist", "client"), ((0, 0), (0, 1)))

    def runner(name: str, *, duration_s: float) -> LiveRunner:
        return LiveRunner(ReplaySource([str(FIXTURES / "dialogue.flac")], stereo, speed=4.0),
                          output_path=tmp_path / f"{name}.json", record_path=rec, duration_s=duration_s,
                          record_overwrite=name == "b")

    a = runner("a", duration_s=4.0)
    a.start()
    deadline = time.monotonic() + 30
    while not (rec.exists() and rec.stat().st_size > 64000) and time.monotonic() < deadline:
        time.sleep(0.01)
    b = runner("b", duration_s=2.0)
    with pytest.raises(CaptureError) as e:
        b.start()
    assert str(e.value).startswith(f"--record {rec}: another live session is recording into that file now"), e.value
    res = a.wait(60)
    assert res is not None and res.doc is not None and res.doc["live"]["recording_complete"] is True
    y, _ = sf.read(rec, dtype="float32")
    x, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    assert y.shape == (64000, 2) and np.max(np.abs(y - x[:64000])) <= 1.0 / 32768 + 1e-7
    assert not (tmp_path / "b.json").exists()


# -- 4. a live session's recording replaced before the session is imported ---------------------------------------

def test_import_does_not_take_a_recording_replaced_since_the_live_session_saved_it(tmp_path, monkeypatch, capsys):
    """Planted: `live --record r.wav` of 6 s of the fixture (session 1), then `live --record r.wav --overwrite` of
    10 s of another stretch, channels exchanged (session 2), then both imported. Before: session 1 was imported
    with r.wav fingerprinted as its audio, session 2's 10 s (its moments played the other session's voices, the
    speakers exchanged). Now the saved session keeps the fingerprint of the file it left (`recording_sha256`),
    and import takes the file only where it still is: session 1 without audio and a warning, session 2 with."""
    from prosody.fileio import file_sha256
    from prosody.store.db import Store
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    sf.write(tmp_path / "a.wav", x[:6 * sr], sr, subtype="PCM_16")
    sf.write(tmp_path / "b.wav", x[10 * sr:20 * sr, ::-1], sr, subtype="PCM_16")
    rec = tmp_path / "r.wav"
    assert main(["live", "--input", "a.wav", "--speed", "max", "--plain", "--output", "s1.json", "--record",
                 "r.wav"]) == 0
    first = file_sha256(rec)
    assert json.loads((tmp_path / "s1.json").read_text())["live"]["recording_sha256"] == first
    assert main(["live", "--input", "b.wav", "--speed", "max", "--plain", "--output", "s2.json", "--record",
                 "r.wav", "--overwrite"]) == 0
    second = file_sha256(rec)
    assert second != first and sf.info(str(rec)).duration == pytest.approx(10.0)
    capsys.readouterr()
    assert main(["import", "s1.json", "--store", "st"]) == 0
    err = capsys.readouterr().err
    assert f"the recording {rec} has changed since the live session saved it" in err, err
    assert main(["import", "s2.json", "--store", "st"]) == 0
    assert "has changed" not in capsys.readouterr().err
    with Store(tmp_path / "st") as st:
        assert "audio" not in st.get(1).doc
        assert [f["sha256"] for f in st.get(2).doc["audio"]["files"]] == [second]


# -- 5. live on a sound server frozen mid-session ---------------------------------------------------------------

def test_live_on_a_sound_server_frozen_mid_session_saves_and_ends(pulse, tmp_path):
    """Real capture (a private PulseAudio's null-sink monitor, the fixture playing); 2 s after capture runs (its first
    plain line), the server frozen (SIGSTOP) and Ctrl-C 1 s later, the server left frozen. Before: the stream's
    abort waited on the server for ever: nothing saved, nothing said, still running 20 s on (and the exit's
    PortAudio end waited too). Now the stream is let go after SOUND_SERVER_WAIT_S: saved (the `saved` line, the
    JSON with what was captured), exit 130, 5.3 s after the Ctrl-C (measured), while the server is still frozen."""
    from prosody.live.devices import SOUND_SERVER_WAIT_S
    from tests.pulse import thaw_and_end
    mon = pulse.null_sink("s1")
    p = _live_on(pulse, tmp_path, mon, stdout=subprocess.PIPE)
    try:
        pulse.play(FIXTURES / "dialogue.flac", "s1")
        first = p.stdout.readline()
        assert first.startswith("["), first + p.stderr.read()
        time.sleep(2.0)
        os.kill(pulse.pid, signal.SIGSTOP)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        try:
            out, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            out, err = "", ""
        took_s = time.monotonic() - t0
        rc = p.poll()
    finally:
        thaw_and_end(pulse, p)
    assert rc == 130, f"exit {rc} {took_s:.1f} s after Ctrl-C on a frozen server: {err!r}"
    assert took_s < SOUND_SERVER_WAIT_S + 5.0, took_s
    assert f"saved {tmp_path / 's.json'} (" in out and "Traceback" not in err, out[-500:] + err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["live"]["captured_s"] > 0 and doc["live"]["stop_reason"] == "Ctrl-C"


# -- 6. a manifest's file names with a line break or two spaces --------------------------------------------------

def test_a_missing_file_is_named_as_the_manifest_names_it(tmp_path, monkeypatch, capsys):
    """Planted: "a b.wav" is there; the manifest names "a  b.wav" (two spaces) and "a<line feed>b.wav" (a quoted
    cell), neither there. Before: both said "no such file: a b.wav", the file that was there (the reason's
    whitespace collapsed). Now each reason names its own file (the line feed shown as \\x0a on the terminal)."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a b.wav").write_bytes(b"")  # never read: the two rows name other files
    (tmp_path / "m.csv").write_text('file\n"a  b.wav"\n"a\nb.wav"\n', encoding="utf-8")
    assert main(["batch", "m.csv", "--store", "st", "--table", "t", "--no-progress", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "prosody: failed: a  b.wav: no such file: a  b.wav\n" in err, err
    assert "prosody: failed: a\\x0ab.wav: no such file: a\\x0ab.wav\n" in err, err
    assert "no such file: a b.wav" not in err, err


# -- 7. trend over a session another version of prosody saved ----------------------------------------------------

def test_trend_leaves_the_moment_counts_of_an_unreadable_session_blank(tmp_path, capsys):
    """Planted: two sessions of 40 s of the fixture, 5 s apart (one talk-over each), the second's stored document
    marked as a newer prosody's (`prosody.session/3`). Before: the warning said "its moment counts are left
    blank" and the table showed 0 for it, a count nobody made. Now "–" (as `compare` shows it)."""
    import sqlite3
    from prosody_cli.main import main
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    store = tmp_path / "st"
    for k, day in enumerate(("01", "02")):
        sf.write(tmp_path / f"s{k}.wav", x[5 * k * sr:(5 * k + 40) * sr], sr, subtype="PCM_16")
        assert main(["analyze", str(tmp_path / f"s{k}.wav"), "--save", "--store", str(store), "--therapist", "T",
                     "--date", f"2026-11-{day}"]) == 0
    with sqlite3.connect(store / "sessions.db") as db:
        db.execute("UPDATE sessions SET doc = json_set(doc, '$.schema', 'prosody.session/3'), "
                   "schema = 'prosody.session/3' WHERE id = 2")
    capsys.readouterr()
    assert main(["trend", "--therapist", "T", "--store", str(store)]) == 0
    out, err = capsys.readouterr()
    assert "session 2" in err and "its moment counts are left blank" in err, err
    table = out[out.index("moments to review, per kind"):].splitlines()
    assert table[1].split() == ["id", "talk-over"], table
    assert table[2].split() == ["1", "1"] and table[3].split() == ["2", "–"], table
