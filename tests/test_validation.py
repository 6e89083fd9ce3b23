"""A hostile-input sweep, with planted bad inputs: labels and session numbers the
store would refuse are refused before any analysis; malformed configs, huge session
IDs and malformed measures are one error line (exit 2), never an internal error;
no output replaces a stored session's recording; a truncated FLAC or Ogg file is
analysed up to its break with a warning."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import soundfile as sf

from prosody.formats.bundle import SessionMeta
from prosody.formats.schema import check_session_doc
from prosody.session import analyze_blocks
from prosody.store.db import Store
from tests.conftest import one_line_error, run_cli as _cli

SR = 16000


_one_line = one_line_error


@pytest.fixture(scope="module")
def audio(fixture_dialogue):
    return fixture_dialogue[0][: 8 * SR]


@pytest.fixture(scope="module")
def files(tmp_path_factory, audio):
    d = tmp_path_factory.mktemp("audio")
    sf.write(d / "stereo.wav", audio, SR, subtype="PCM_16")
    sf.write(d / "mono.wav", audio[:, 0], SR, subtype="PCM_16")
    return d


@pytest.fixture(scope="module")
def export_json(files, tmp_path_factory):
    """A valid exported session JSON (as ``prosody export``) as a dict."""
    session = analyze_blocks([sf.read(files / "stereo.wav", dtype="float32")[0]], ("therapist", "client"),
                             sources=[str(files / "stereo.wav")])
    d = tmp_path_factory.mktemp("exp")
    with Store(d / "st") as st:
        sid = st.save_session(session, meta=SessionMeta(therapist="ann", client="C7", session_number=3))
    assert _cli("export", sid, "--store", d / "st", "-o", d / "s.json")[0] == 0
    return json.loads((d / "s.json").read_text())


def _write(p: Path, d) -> Path:
    p.write_text(json.dumps(d))
    return p


# -- 1. labels and session numbers: the store's rules, before any analysis ---------------------------------------
def test_labels_and_session_numbers_refused_before_analysis(tmp_path, files):
    store = tmp_path / "st"
    cases = [
        (["analyze", files / "mono.wav", "--speaker", "t\nx", "--save"], "--speaker"),
        (["analyze", files / "stereo.wav", "--channels", "therapist=left,c\x1bx=right", "--save"], "--channels"),
        (["analyze", files / "mono.wav", "--speaker", "x" * 65, "--save"], "--speaker"),
        (["analyze", files / "stereo.wav", "--save", "--session-number", "99999999999999999999999"],
         "--session-number"),
        (["live", "--input", files / "mono.wav", "--speaker", "t\nx", "--speed", "max", "--plain",
          "--output", tmp_path / "l.json"], "--speaker"),
        (["live", "--input", files / "stereo.wav", "--channels", "t\tx=left,client=right", "--speed", "max",
          "--plain", "--output", tmp_path / "l.json"], "--channels"),
    ]
    for argv, flag in cases:
        t0 = time.perf_counter()
        rc, _, err = _cli(*argv, "--store", store) if argv[0] == "analyze" else _cli(*argv)
        _one_line(rc, err)
        assert flag in err, (argv, err)
        assert time.perf_counter() - t0 < 3.0, argv  # refused before any analysis
    assert not store.exists() and not (tmp_path / "l.json").exists()
    assert not list(tmp_path.glob("prosody-unsaved-*"))


def test_import_flags_override_the_file_before_it_is_checked(tmp_path, export_json):
    d = json.loads(json.dumps(export_json))
    d["prosody_store"]["session_number"] = 99999999999999999999999  # as a rescued session from an old prosody
    p = _write(tmp_path / "s.json", d)
    rc, _, err = _cli("import", p, "--store", tmp_path / "st")
    _one_line(rc, err)
    assert "session_number" in err
    rc, out, err = _cli("import", p, "--store", tmp_path / "st", "--session-number", "5", "--tag", "late")
    assert rc == 0, err
    with Store(tmp_path / "st") as st:
        meta = st.get(1).info.meta
    assert meta.session_number == 5 and meta.therapist == "ann" and "late" in meta.tags
    # the flags' own malformed values are bad input too: exit 2, the flag named
    for flag, value in (("--notes", "a\x1bb"), ("--tag", ""), ("--therapist", "a\nb")):
        rc, _, err = _cli("import", p, "--store", tmp_path / "st2", flag, value)
        _one_line(rc, err)
        assert flag.lstrip("-") in err, err
    assert not (tmp_path / "st2").exists()


def test_metadata_errors_exit_2_before_analysis(tmp_path, files):
    for flag, value in (("--tag", ""), ("--notes", "a\x1bb"), ("--client", "c\x07")):
        rc, _, err = _cli("analyze", files / "stereo.wav", "--save", "--store", tmp_path / "st", flag, value)
        _one_line(rc, err)


# -- 2. malformed configuration files ---------------------------------------------------------------------------
CONFIGS = {
    "binary": (bytes(range(256)) * 4, "UTF-8"),
    "section a number": (b"vad = 5\n", "vad"),
    "pitch_by_speaker a number": (b"pitch_by_speaker = 3\n", "pitch_by_speaker"),
    "speaker range a number": (b"[pitch_by_speaker]\nclient = 7\n", "pitch_by_speaker.client"),
    "float for an int": (b"[vad]\naggressiveness = 2.7\n", "vad.aggressiveness"),
    "text for a number": (b'[turns]\nbackchannel_max_s = "1"\n', "turns.backchannel_max_s"),
    "list for a number": (b"[vad]\ngate_db = [1, 2]\n", "vad.gate_db"),
    "nan": (b"[pitch]\nfmin_hz = nan\n", "pitch.fmin_hz"),
    "infinite": (b"[pitch]\nfmin_hz = 1e400\n", "pitch.fmin_hz"),
    "boolean": (b"[rate]\nmin_dip_db = true\n", "rate.min_dip_db"),
    "reversed range": (b"[pitch]\nfmin_hz = 400.0\nfmax_hz = 75.0\n", "reversed"),
}
MOMENT_CONFIGS = {
    "binary": (bytes(range(256)) * 4, "UTF-8"),
    "moments a number": (b"moments = 3\n", "moments"),
    "weights a number": (b"[moments]\nweights = 5\n", "weights"),
    "weight text": (b'[moments.weights]\nsilence = "x"\n', "moments.weights.silence"),
    "boolean count": (b"[moments]\nmax_total = true\n", "moments.max_total"),
    "number for a name": (b"[moments]\ntherapist = 5\n", "moments.therapist"),
    "infinite gap": (b"[moments]\nmin_gap_s = inf\n", "moments.min_gap_s"),
}


def test_malformed_configs_are_one_line_naming_the_key(tmp_path, files, export_json):
    for name, (data, words) in CONFIGS.items():
        cfg = tmp_path / f"{name.replace(' ', '_')}.toml"
        cfg.write_bytes(data)
        rc, _, err = _cli("analyze", files / "stereo.wav", "--config", cfg, "--quiet")
        _one_line(rc, err)
        assert words in err, (name, err)
    store = tmp_path / "st"
    assert _cli("import", _write(tmp_path / "s.json", export_json), "--store", store)[0] == 0
    for name, (data, words) in MOMENT_CONFIGS.items():
        cfg = tmp_path / f"m_{name.replace(' ', '_')}.toml"
        cfg.write_bytes(data)
        rc, _, err = _cli("moments", "1", "--config", cfg, "--store", store)
        _one_line(rc, err)
        assert words in err, (name, err)


def test_one_config_file_serves_analyze_and_moments(tmp_path, files):
    """A file with [vad] and [moments]: analyze applies its [vad] values and leaves
    [moments] to the moments commands; an unknown section is still one error line."""
    from prosody.analysis import load_config
    cfg = tmp_path / "both.toml"
    cfg.write_text("[vad]\ngate_db = 12.5\ngate_hold_s = 0.5\n\n[moments]\nmax_total = 5\ntherapist = \"ann\"\n")
    loaded = load_config(str(cfg))
    assert (loaded.vad.gate_db, loaded.vad.gate_hold_s) == (12.5, 0.5)
    rc, out, err = _cli("analyze", files / "stereo.wav", "--config", cfg, "--json", "-", "--quiet")
    assert rc == 0, err
    vad = json.loads(out)["config"]["vad"]
    assert (vad["gate_db"], vad["gate_hold_s"]) == (12.5, 0.5)
    bad = tmp_path / "bad.toml"
    bad.write_text("[vad]\ngate_db = 12.5\n\n[moment]\nmax_total = 5\n")
    rc, _, err = _cli("analyze", files / "stereo.wav", "--config", bad, "--quiet")
    _one_line(rc, err)
    assert "unknown config section 'moment'" in err, err


def test_reversed_pitch_range_is_called_reversed(files):
    rc, _, err = _cli("analyze", files / "stereo.wav", "--pitch-range", "client=400-75", "--quiet")
    _one_line(rc, err)
    assert "reversed" in err and "octave" not in err


# -- 3. session references beyond SQLite's integers -------------------------------------------------------------
def test_huge_session_ids_are_refused_while_parsing(tmp_path):
    huge = "99999999999999999999999"
    for argv in (["show", huge], ["report", huge], ["delete", huge], ["export", huge], ["compare", "1", huge],
                 ["moments", huge], ["feedback", huge, "--rating", "3"], ["edit", huge, "--client", "x"]):
        rc, _, err = _cli(*argv, "--store", tmp_path / "st")
        _one_line(rc, err)
        assert "no such session" in err, (argv, err)
    assert not (tmp_path / "st").exists()


# -- 4. imported measures have the shapes that are read back -------------------------------------------------------
def _measure_mutations():
    def first_window(d):
        return d["measures"]["rolling"][0]
    return {
        "warmth text": (lambda d: d["measures"].update(warmth="x"), "measures.warmth"),
        "baseline kind number": (lambda d: d["measures"]["baseline"].update(kind=3), "measures.baseline.kind"),
        "disclaimer list": (lambda d: d["measures"].update(disclaimer=[1]), "measures.disclaimer"),
        "component weight text": (lambda d: d["measures"]["warmth"]["components"][0].update(weight="w"),
                                  "components[0].weight"),
        "attunement cell number": (lambda d: d["measures"]["attunement"]["proximity"].update(pitch=3),
                                   "attunement.proximity.pitch"),
        "timing speaker text": (lambda d: d["measures"]["timing"].update(client="x"), "measures.timing.client"),
        "voice value text": (lambda d: d["measures"]["voice"]["therapist"].update(f0_sd_st="high"),
                             "voice.therapist.f0_sd_st"),
        "rolling not a list": (lambda d: d["measures"].update(rolling=5), "measures.rolling"),
        "window warmth text": (lambda d: first_window(d).update(warmth="warm"), "rolling[0].warmth"),
        "phases items text": (lambda d: d["measures"].update(phases=["opening"]), "measures.phases[0]"),
    }


def test_malformed_measures_are_refused_on_import(tmp_path, export_json):
    check_session_doc({k: v for k, v in export_json.items() if k != "prosody_store"})  # what prosody writes passes
    store = tmp_path / "st"
    for name, (mutate, field) in _measure_mutations().items():
        d = json.loads(json.dumps(export_json))
        mutate(d)
        rc, _, err = _cli("import", _write(tmp_path / "bad.json", d), "--store", store)
        _one_line(rc, err)
        assert field in err, (name, err)
    with Store(store) as st:
        assert st.list() == []
    # a valid one imports, and is shown and reported
    assert _cli("import", _write(tmp_path / "ok.json", export_json), "--store", store)[0] == 0
    assert _cli("show", "1", "--store", store)[0] == 0
    assert _cli("report", "1", "--store", store, "-o", tmp_path / "r.html")[0] == 0
    # a document holding only some measures (an older version's, another tool's) is shown and reported too
    partial = json.loads(json.dumps(export_json))
    for key in ("warmth", "disclaimer", "baseline"):
        partial["measures"].pop(key)
    rc, _, err = _cli("import", _write(tmp_path / "partial.json", partial), "--new-id", "--store", store)
    assert rc == 0, err
    rc, out, err = _cli("show", "2", "--store", store)
    assert rc == 0 and "Warmth –" in out, err
    assert _cli("report", "2", "--store", store, "-o", tmp_path / "r2.html")[0] == 0


# -- 5. no output replaces a stored session's recording ----------------------------------------------------------
def test_outputs_never_replace_the_sessions_recording(tmp_path, files):
    rec = tmp_path / "rec.json"  # a recording with an output's name
    rec.write_bytes((files / "stereo.wav").read_bytes())
    os.link(rec, tmp_path / "hard.html")
    store = tmp_path / "st"
    rc, _, err = _cli("analyze", rec, "--save", "--store", store, "--therapist", "ann", "--quiet")
    assert rc == 0, err
    before = rec.read_bytes()
    cases = [["export", "last", "--format", f, "-o", rec] for f in ("json", "csv", "rttm", "textgrid", "eaf")]
    cases += [["compare", "last", "-o", rec], ["compare", "last", "-o", tmp_path / "hard.html"],
              ["report", "last", "-o", rec], ["trend", "--therapist", "ann", "-o", rec]]
    for argv in cases:
        rc, _, err = _cli(*argv, "--store", store)
        _one_line(rc, err)
        assert "input" in err, (argv, err)
        assert rec.read_bytes() == before, argv
    rc, _, err = _cli("export", "last", "-o", tmp_path / "out.json", "--store", store)
    assert rc == 0, err


# -- 6. truncated compressed files --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,subtype,suffix", [("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"),
                                                ("OGG", "OPUS", "opus")])
def test_truncated_compressed_file_is_analysed_up_to_the_break(tmp_path, audio, fmt, subtype, suffix):
    whole = tmp_path / f"whole.{suffix}"
    sf.write(whole, audio, SR, format=fmt, subtype=subtype)
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    rc, out, err = _cli("analyze", cut, "--json", "-", "--quiet")
    assert rc == 0, err
    assert "is truncated" in err and "analysed the readable part" in err, err
    doc = json.loads(out)
    assert 3.0 < doc["duration_s"] < 7.9
    rc, out, err = _cli("analyze", whole, "--json", "-", "--quiet")  # the whole file: no warning
    assert rc == 0 and "truncated" not in err, err
    assert json.loads(out)["duration_s"] == pytest.approx(8.0, abs=0.05)


def test_tiny_mp3_says_what_is_wrong(tmp_path, audio):
    whole = tmp_path / "whole.mp3"
    sf.write(whole, audio, SR, format="MP3", subtype="MPEG_LAYER_III")
    tiny = tmp_path / "tiny.mp3"
    tiny.write_bytes(whole.read_bytes()[:200])
    rc, _, err = _cli("analyze", tiny)
    _one_line(rc, err)
    assert "does not exist" not in err and "regular file" not in err, err


# -- 7. smaller ones ----------------------------------------------------------------------------------------------
def test_rttm_to_stdout_and_counts(tmp_path, files, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = _cli("analyze", files / "stereo.wav", "--rttm", "-", "--quiet")
    assert rc == 0, err
    assert out.startswith("SPEAKER ") and not (tmp_path / "-").exists()
    rc, _, err = _cli("analyze", files / "stereo.wav", "--rttm", "-", "--json", "-")
    _one_line(rc, err)
    for n in ("-1", "0"):
        rc, _, err = _cli("trend", "--therapist", "ann", "--last", n, "--store", tmp_path / "st")
        _one_line(rc, err)
        assert "--last" in err
