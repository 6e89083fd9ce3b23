"""A hostile sweep of configuration files and measure options (2026-12-02).

What it found, each planted below:

- ``[vad] bleed_min_block_s`` had no range: 1e308 was an internal error (OverflowError)
  and a negative value was silently taken as one frame; now 0..5 s like the other durations.
- A config (or baseline) that is a FIFO waited for ever, ``/dev/zero`` was read until memory
  ran out: special files and configs over 1 MiB are refused before the read.
- TOML nested a few thousand levels deep (``gate_db = [[[...]]]``) was an internal error
  (RecursionError), for analyze and the moments commands alike; a baseline JSON nested so too.
- Pitch range messages named ``pitch.fmax_hz`` for ``--pitch-range client=75-5000`` and for
  ``[pitch_by_speaker.client]``; ``fmin_hz = 1e308`` was called "reversed" with a fix
  (``600-1e+308``) that is refused in turn. Each message now names where the range was given,
  and fmin_hz > 1000 / fmax_hz < 60 (no octave within 30-2000 Hz) are said as such.
- ``--baseline``: a profile with NaN (written into the session JSON as ``NaN``), infinite,
  negative or zero spreads, a negative pitch, a string or a boolean was taken as it was (a
  string was an internal error, a tiny spread printed numpy overflow warnings); a speaker
  that is not a table was an internal error; a speaker name with control characters, an
  empty ``speakers`` table and another schema (``prosody.baseline/99``) were taken. Each
  value is now null or a number within what ``speaker_baseline`` gives, named on error.
- A baseline of other speakers (alice, bob for a therapist/client recording) was silently
  unused: every relative measure missing. analyze, live and batch (that file) refuse it.
- ``[moments] therapist`` equal to ``client`` made one voice both "you" and the client; an
  empty name or one with control characters was taken. Both are refused.
- ``--cues ,`` turned every cue off unasked; ``--max 0`` was reported as ``moments.max_total``.
- ``batch --config BAD`` created the session store before refusing the file.

Second round (2026-12-02, fifteenth session):

- A ``[pitch_by_speaker.NAME]`` naming none of the recording's speakers was unused in
  silence; analyze, batch and live now say so in the session's warnings.
- A bad ``[moments]`` table was refused only by the review commands; analyze, batch and
  live took the same file. Every command reading the file now refuses it.
- A baseline value under a misspelt key (``f0_median``) was read as "not known"; unknown
  keys in a speaker's table are refused, naming the known ones.
"""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import run_cli
from tests.test_validation import _one_line  # one error line, its exit status, no traceback


@pytest.fixture(scope="module")
def wav(short_wav, tmp_path_factory):
    d = tmp_path_factory.mktemp("swc")
    p = d / "rec.wav"
    shutil.copy(short_wav, p)
    return p


@pytest.fixture(scope="module")
def profile(wav, tmp_path_factory):
    """The recording's own baseline as a profile (``--save-baseline``)."""
    p = tmp_path_factory.mktemp("prof") / "me.json"
    rc, _, err = run_cli("analyze", wav, "--quiet", "--save-baseline", p)
    assert rc == 0, err
    return json.loads(p.read_text())


@pytest.fixture(scope="module")
def store(wav, tmp_path_factory):
    st = tmp_path_factory.mktemp("st") / "st"
    rc, _, err = run_cli("analyze", wav, "--quiet", "--save", "--store", st, "--therapist", "ann")
    assert rc == 0, err
    return st


def _toml(tmp_path, text: str, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bleed_min_block_s_is_range_checked(tmp_path, wav):
    for value in ("1e308", "-0.5", "5.5"):
        rc, _, err = run_cli("analyze", wav, "--quiet", "--config", _toml(tmp_path, f"[vad]\nbleed_min_block_s = {value}\n"))
        _one_line(rc, err)
        assert "vad.bleed_min_block_s" in err and "0..5 s" in err, err
    rc, _, err = run_cli("analyze", wav, "--quiet", "--config", _toml(tmp_path, "[vad]\nbleed_min_block_s = 0.5\n"))
    assert rc == 0, err


def test_special_and_deep_config_files_are_one_line(tmp_path, wav, store):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # no writer: reading it waited for ever
    deep = _toml(tmp_path, "[vad]\ngate_db = " + "[" * 5000 + "]" * 5000 + "\n", "deep.toml")
    deep_table = _toml(tmp_path, "[moments]\nweights = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n", "deep2.toml")
    big = _toml(tmp_path, "# settings\n" * 200_000, "big.toml")
    for path, words in ((fifo, "FIFO"), ("/dev/zero", "character device"), (deep, "nested too deeply"),
                        (deep_table, "nested too deeply"), (big, "1 MiB")):
        for argv in (("analyze", wav, "--quiet"), ("moments", "1", "--store", store)):
            rc, _, err = run_cli(*argv, "--config", path)
            _one_line(rc, err)
            assert words in err, (argv, err)
        rc, _, err = run_cli("analyze", wav, "--quiet", "--baseline", path)
        _one_line(rc, err)


def test_pitch_range_messages_name_where_the_range_was_given(tmp_path, wav):
    rc, _, err = run_cli("analyze", wav, "--quiet", "--pitch-range", "client=75-5000")
    _one_line(rc, err)
    assert "--pitch-range 'client=75-5000': fmax_hz=5000.0 is above 2000 Hz" in err, err
    rc, _, err = run_cli("analyze", wav, "--quiet", "--config",
                         _toml(tmp_path, "[pitch_by_speaker.client]\nfmax_hz = 5000\n"))
    _one_line(rc, err)
    assert "pitch_by_speaker.client.fmax_hz=5000.0" in err, err
    # no fix that is refused in turn: 1e308 is too high a floor, -1 too low a ceiling (not "reversed")
    for text, words in (("fmin_hz = 1e308", "fmin_hz<=1000"), ("fmax_hz = -1", "fmax_hz>=60")):
        rc, _, err = run_cli("analyze", wav, "--quiet", "--config", _toml(tmp_path, f"[pitch]\n{text}\n"))
        _one_line(rc, err)
        assert words in err and "reversed" not in err, err
    rc, _, err = run_cli("analyze", wav, "--quiet", "--pitch-range", "client=1500-1900")
    _one_line(rc, err)
    assert "fmin_hz<=1000" in err, err


def _bad_profiles(good):
    th = next(iter(good["speakers"]))

    def with_value(key, value):
        d = json.loads(json.dumps(good))
        d["speakers"][th][key] = value
        return d
    return {
        "nan pitch": (with_value("f0_median_hz", float("nan")), "f0_median_hz = nan"),
        "infinite spread": (with_value("f0_spread_st", float("inf")), "f0_spread_st = inf"),
        "zero spread": (with_value("level_spread_db", 0), "level_spread_db = 0"),
        "tiny spread": (with_value("level_spread_db", 1e-300), "level_spread_db = 1e-300"),
        "negative pitch": (with_value("f0_median_hz", -100), "f0_median_hz = -100"),
        "text pitch": (with_value("f0_median_hz", "177"), "f0_median_hz = '177'"),
        "boolean rate": (with_value("articulation_rate_syl_s", True), "articulation_rate_syl_s = True"),
        "huge level": (with_value("level_median_db", 1e308), "level_median_db = 1e+308"),
        "misspelt value": (with_value("f0_median", 177.0), "unknown value(s) 'f0_median'"),
        "speaker a number": ({"speakers": {th: 3}}, f"speakers.{th} = 3"),
        "control name": ({"speakers": {"a\x1b[31m": good["speakers"][th]}}, "control characters"),
        "no speakers": ({"speakers": {}}, "no 'speakers'"),
        "other schema": ({**good, "schema": "prosody.baseline/99"}, "prosody.baseline/99"),
    }


def test_baseline_values_are_checked(tmp_path, wav, profile):
    for name, (d, words) in _bad_profiles(profile).items():
        p = tmp_path / f"{name.replace(' ', '_')}.json"
        p.write_text(json.dumps(d))
        out = tmp_path / f"{name.replace(' ', '_')}.out.json"
        rc, _, err = run_cli("analyze", wav, "--quiet", "--baseline", p, "--json", out)
        _one_line(rc, err)
        assert words in err, (name, err)
        assert not out.exists()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    rc, _, err = run_cli("analyze", wav, "--quiet", "--baseline", deep)
    _one_line(rc, err)
    assert "not JSON" in err, err


def test_own_profile_gives_the_session_baseline_figures(tmp_path, wav, profile):
    """Known truth: a profile that is the recording's own baseline gives the figures the
    session baseline gives (the checks take every value --save-baseline writes)."""
    p = tmp_path / "me.json"
    p.write_text(json.dumps(profile))
    rc, plain, err = run_cli("analyze", wav, "--quiet", "--json", "-")
    assert rc == 0, err
    rc, with_profile, err = run_cli("analyze", wav, "--quiet", "--json", "-", "--baseline", p)
    assert rc == 0, err
    a, b = json.loads(plain)["measures"], json.loads(with_profile)["measures"]
    assert b["baseline"]["kind"] == "profile"
    for spk in profile["speakers"]:
        assert b["voice"][spk]["f0_median_rel_st"] == pytest.approx(a["voice"][spk]["f0_median_rel_st"], abs=1e-9)
        assert b["voice"][spk]["level_rel_db"] == pytest.approx(a["voice"][spk]["level_rel_db"], abs=1e-9)


def test_baseline_of_other_speakers_is_refused(tmp_path, wav, profile):
    vals = list(profile["speakers"].values())
    p = tmp_path / "others.json"
    p.write_text(json.dumps({"schema": "prosody.baseline/1", "speakers": {"alice": vals[0], "bob": vals[1]}}))
    rc, _, err = run_cli("analyze", wav, "--quiet", "--baseline", p, "--json", tmp_path / "x.json")
    _one_line(rc, err)
    assert "'alice', 'bob'" in err and "'therapist', 'client'" in err, err
    assert not (tmp_path / "x.json").exists()
    out = tmp_path / "live.json"
    rc, _, err = run_cli("live", "--input", wav, "--duration", "3", "--plain", "--speed", "max", "--output", out,
                         "--baseline", p)
    _one_line(rc, err)
    assert "'alice', 'bob'" in err and not out.exists(), err
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(wav, d / "a.wav")
    rc, text, err = run_cli("batch", d, "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress",
                            "--no-parquet", "--baseline", p)
    assert "1 failed" in text + err and "'alice', 'bob'" in text + err, (text, err)
    # one of the two speakers is enough (a therapist's own profile)
    p.write_text(json.dumps({"speakers": {"therapist": vals[0]}}))
    rc, _, err = run_cli("analyze", wav, "--quiet", "--baseline", p)
    assert rc == 0, err


def test_moments_roles_are_two_speaker_names(tmp_path, store):
    for text, words in (('therapist = "client"', "both 'client'"), ('client = ""', "moments.client"),
                        ('therapist = "a\\u001b[31m"', "control characters")):
        for cmd in ("moments", "report"):
            extra = ("-o", tmp_path / "r.html") if cmd == "report" else ()
            rc, _, err = run_cli(cmd, "1", "--store", store, "--config", _toml(tmp_path, f"[moments]\n{text}\n"),
                                 *extra)
            _one_line(rc, err)
            assert words in err, (text, err)
        assert not (tmp_path / "r.html").exists()
    rc, _, err = run_cli("moments", "1", "--store", store, "--config",
                         _toml(tmp_path, '[moments]\ntherapist = "client"\nclient = "therapist"\n'))
    assert rc == 0, err


def test_cues_and_ranking_flags(tmp_path, wav, store):
    for cues in (",", " , "):
        rc, _, err = run_cli("analyze", wav, "--quiet", "--cues", cues)
        _one_line(rc, err)
        assert "names no cue" in err, err
    rc, out, err = run_cli("analyze", wav, "--quiet", "--cues", "none", "--json", "-")
    assert rc == 0, err
    assert not any(json.loads(out)["measures"]["config"]["cues"][c] for c in ("monologue", "overlaps", "pace"))
    for flag, value in (("--max", "0"), ("--max-per-kind", "101"), ("--min-gap-s", "nan")):
        rc, _, err = run_cli("moments", "1", "--store", store, flag, value)
        _one_line(rc, err)
        assert err.startswith(f"prosody: error: {flag} {value}"), err


def test_batch_refuses_a_bad_config_before_making_the_store(tmp_path, wav):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(wav, d / "a.wav")
    rc, _, err = run_cli("batch", d, "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress",
                         "--config", _toml(tmp_path, "[vad]\nbleed_min_block_s = -1\n"))
    _one_line(rc, err)
    assert not (tmp_path / "st").exists()


def test_pitch_range_for_no_speaker_of_the_recording_is_said(tmp_path, wav):
    cfg = _toml(tmp_path, "[pitch_by_speaker.alice]\nfmin_hz = 75.0\nfmax_hz = 400.0\n")
    rc, out, err = run_cli("analyze", wav, "--quiet", "--config", cfg, "--json", "-")
    assert rc == 0, err
    said = [w for w in json.loads(out)["warnings"] if "'alice'" in w]
    assert len(said) == 1 and "was not used" in said[0] and "'therapist', 'client'" in said[0], said
    # named so, the range is used and nothing is said
    rc, out, err = run_cli("analyze", wav, "--quiet", "--config", cfg, "--json", "-",
                           "--channels", "alice=left,client=right")
    assert rc == 0, err
    doc = json.loads(out)
    assert not [w for w in doc["warnings"] if "pitch_by_speaker" in w], doc["warnings"]
    live = tmp_path / "live.json"
    rc, _, err = run_cli("live", "--input", wav, "--duration", "3", "--plain", "--speed", "max", "--output", live,
                         "--config", cfg)
    assert rc == 0, err
    assert [w for w in json.loads(live.read_text())["warnings"] if "'alice'" in w and "was not used" in w]


def test_a_bad_moments_table_is_refused_by_every_command_reading_the_file(tmp_path, wav):
    cfg = _toml(tmp_path, "[moments]\nmax_total = -3\n")
    out = tmp_path / "x.json"
    for argv in (["analyze", wav, "--quiet", "--json", out],
                 ["live", "--input", wav, "--duration", "3", "--plain", "--speed", "max", "--output", out],
                 ["batch", wav, "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress"]):
        rc, _, err = run_cli(*argv, "--config", cfg)
        _one_line(rc, err)
        assert "moments.max_total=-3" in err, (argv[0], err)
    assert not out.exists() and not (tmp_path / "st").exists()
