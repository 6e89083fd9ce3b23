"""Hostile sweep 53 (docs/store.md "Hostile sweep 53").

1. A plain `live` run (`--plain`, a log, a pipe) said none of the saved session's warnings ("therapist never
   speaks", "--voices 1 is not used") where `analyze` says them: they were in the JSON alone. Now each is said
   on standard error after `saved`, in analyze's words, once.
2. A store written past this process's file-size limit (`ulimit -f`, RLIMIT_FSIZE) was said "disk I/O error"
   (a failing disk), and a new store that failed so was left behind (its database, SQLite's files, `frames`).
   Now the limit is said, with what to do, and the new store is taken away.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import numpy as np
import soundfile as sf

from tests.conftest import run_cli
from tests.test_sweep_hostile43 import FIXTURES

REPO = FIXTURES.parent

RATE_HZ = 16000
SILENCE_S = 3.0


def _silence(path):
    sf.write(path, np.zeros(int(SILENCE_S * RATE_HZ), np.float32), RATE_HZ, subtype="PCM_16")
    return path


# -- 1. a plain live run says its saved session's warnings ---------------------------------------------------------

def test_a_plain_live_run_says_the_saved_sessions_warnings(tmp_path, monkeypatch):
    """Before: stderr empty; "therapist never speaks" and "--voices 1 is not used" in s.json alone."""
    monkeypatch.chdir(tmp_path)
    _silence(tmp_path / "quiet.wav")
    rc, out, err = run_cli("live", "--input", "quiet.wav", "--plain", "--speed", "max", "--output", "s.json",
                           "--voices", "1")
    assert rc == 0, err
    assert out.endswith("saved s.json (3.0 s analysed, 0 speech segments, 0 bookmarks; stopped: end of input)\n"), out
    assert err == (
        "prosody: warning: --voices 1 is not used: it tells the attribution of the whole session from its recording "
        "on save, which needs --record\n"
        "prosody: warning: one device (a replay of quiet.wav): speakers were taken from its channels as given "
        "(provisional); `prosody analyze quiet.wav` attributes the whole recording (layout, diarization, voice "
        "profile), as --record would on save\n"
        "prosody: warning: therapist never speaks: the recording is digital silence throughout (every sample zero, "
        "or one constant value), so the therapist's figures describe no behaviour\n"), err
    said = [line.removeprefix("prosody: warning: ") for line in err.splitlines()]
    assert sorted(said) == sorted(json.loads((tmp_path / "s.json").read_text())["warnings"])


def test_a_recording_stopped_early_is_said_once(tmp_path):
    """`--record` past a 150 KiB file-size limit (4.8 s of 16 kHz 16-bit audio): its error line says it; the saved
    session's own warning of it ("the recording stopped at 4.8 s ...") is not said again beside it."""
    wav = FIXTURES / "mono_therapist.wav"
    r = _limited(150 * 1024, "live", "--input", wav, "--speed", "max", "--plain", "--output", "s.json",
                 "--record", "rec.wav", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stderr == (
        "prosody: warning: one device: attribution stayed provisional (the recording stopped early): speakers were "
        "taken from its channels as given while live; the recording holds only the session's start, so no "
        "whole-session attribution can be made from it (`prosody analyze` on it attributes that start alone)\n"
        f"prosody: error: the recording failed at 4.8 s ({_limit_said(150 * 1024)}); rec.wav holds what was "
        "recorded before then (the analysis went on to the end)\n"), r.stderr  # the limit said (hostile sweep 54)
    assert any(w.startswith(f"the recording stopped at 4.8 s ({_limit_said(150 * 1024)})")
               for w in json.loads((tmp_path / "s.json").read_text())["warnings"])


def test_a_note_the_plain_lines_said_as_found_is_not_said_again(tmp_path, monkeypatch):
    """A replayed FLAC cut short is said by the plain lines as it is found (hostile sweep 33); the saved session
    holds the same warning, which is not said a second time at the end."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cut.flac").write_bytes((FIXTURES / "dialogue.flac").read_bytes()[:300_000])
    rc, out, err = run_cli("live", "--input", "cut.flac", "--plain", "--speed", "max", "--output", "s.json")
    assert rc == 0, err
    cut = [w for w in json.loads((tmp_path / "s.json").read_text())["warnings"] if "is truncated" in w]
    assert len(cut) == 1 and out.count(cut[0]) == 1 and cut[0] not in err, (out, err)
    assert err == ("prosody: warning: one device (a replay of cut.flac): speakers were taken from its channels as "
                   "given (provisional); `prosody analyze cut.flac` attributes the whole recording (layout, "
                   "diarization, voice profile), as --record would on save\n"), err


# -- 2. a file-size limit on the store's disk ---------------------------------------------------------------------

def _limited(limit_bytes: int, *argv, cwd) -> subprocess.CompletedProcess:
    """``prosody ARGV`` with its file-size limit (``ulimit -f``) at ``limit_bytes``."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return subprocess.run([sys.executable, "-m", "prosody_cli.main", *map(str, argv)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)},
                          preexec_fn=limit)


def _limit_said(limit_bytes: int) -> str:
    return (f"File too large: this process may write no file beyond {limit_bytes:,} bytes (its file-size limit, "
            "`ulimit -f`); raise the limit (`ulimit -f unlimited`) and try again")


def test_a_file_size_limit_on_opening_a_new_store_is_said_and_leaves_nothing(tmp_path):
    """4 KiB: SQLite's shared-memory file (32 KiB) cannot be sized. Before: "cannot open the session store
    st/sessions.db (disk I/O error; 57.8 GB free)", st/ left with sessions.db, its -shm and -wal, frames/."""
    r = _limited(4096, "analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", "st", "--quiet",
                 cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == f"prosody: error: cannot open the session store st/sessions.db: " \
                                             f"{_limit_said(4096)}\n", r.stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_a_file_size_limit_on_making_a_stores_schema_is_said_and_leaves_nothing(tmp_path):
    """40 KiB: the schema's commit fails. Before: "the change could not be committed (disk I/O error)", st/ left
    with an empty sessions.db and frames/."""
    r = _limited(40 * 1024, "analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", "st", "--quiet",
                 cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == ("prosody: error: the session store st/sessions.db: the change could "
                                              f"not be committed: {_limit_said(40 * 1024)}\n"), r.stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_a_file_size_limit_on_a_save_says_it_and_keeps_the_analysis(tmp_path):
    """A store of one session (its database beyond the limit): the save's commit fails, the analysis is kept
    in a rescue copy, and the line says the limit, not "disk I/O error"."""
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", tmp_path / "st", "--quiet")
    assert rc == 0, err
    limit = 64 * 1024
    r = _limited(limit, "analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", "st", "--quiet",
                 cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    failed = r.stderr.splitlines()[-1]
    assert failed.startswith("prosody: error: the session could not be saved in the store (the session store "
                             f"st/sessions.db: the change could not be committed: {_limit_said(limit)}); it is "
                             "kept in prosody-unsaved-"), r.stderr
    rescued = [p for p in tmp_path.iterdir() if p.name.startswith("prosody-unsaved-") and p.suffix == ".json"]
    assert len(rescued) == 1 and json.loads(rescued[0].read_text())["duration_s"] == 7.5


# -- 3. two named channels of one mix -----------------------------------------------------------------------------

def test_two_named_channels_of_one_mix_are_not_said_to_hold_no_speech(tmp_path):
    """A 3-channel file of the fixture dialogue's mix on every channel, channels 1 and 3 named: sweep 51's warning
    that both carry both voices, then "therapist never speaks: no speech was found on the channel" (and the client
    alike) of channels full of speech. Now what happened to it is said."""
    audio, rate_hz = sf.read(FIXTURES / "dialogue.flac", dtype="float32", frames=12 * RATE_HZ)
    mix = audio.mean(axis=1)
    sf.write(tmp_path / "same.wav", np.stack([mix, mix, mix], axis=1), rate_hz, subtype="PCM_16")
    rc, _, err = run_cli("analyze", tmp_path / "same.wav", "--channels", "therapist=1,client=3", "--json",
                         tmp_path / "s.json", "--quiet")
    assert rc == 0, err
    warned = json.loads((tmp_path / "s.json").read_text())["warnings"]
    assert [w for w in warned if " never speaks: " in w] == [
        f"{spk} never speaks: the speech on channel {n} was all taken for the {other}'s leak (the two channels "
        f"named carry both voices, as said above), so the {spk}'s figures describe no behaviour, and figures toward "
        f"the {spk} (answering, talking over) have no data"  # "on the channel" until hostile sweep 58
        for spk, other, n in (("therapist", "client", 1), ("client", "therapist", 3))], warned
    assert not any("no speech was found" in w for w in warned) and "both carry both voices" in warned[0], warned


# -- 4. compare and trend across layouts --------------------------------------------------------------------------

def test_compare_and_trend_say_sessions_of_different_layouts(tmp_path):
    """The fixture dialogue's first 12 s saved twice as it is (two channels, one speaker each) and once as its
    mix (one channel): the therapist's loudness -24 dBFS beside -30 dBFS of the same voice, side by side with no
    word. Now the table's caption and the page say the layouts differ, and which session is which."""
    audio, rate_hz = sf.read(FIXTURES / "dialogue.flac", dtype="float32", frames=12 * RATE_HZ)
    sf.write(tmp_path / "own.wav", audio, rate_hz, subtype="PCM_16")
    sf.write(tmp_path / "mix.wav", audio.mean(axis=1), rate_hz, subtype="PCM_16")
    store = tmp_path / "st"
    for name in ("own.wav", "own.wav", "mix.wav"):
        rc, _, err = run_cli("analyze", tmp_path / name, "--save", "--store", store, "--therapist", "bob", "--quiet")
        assert rc == 0, err
    said = ("recorded in different layouts (sessions 1, 2: a channel or file per speaker; session 3: one channel): "
            "who spoke when is read from each speaker's own channel in one and told apart within a mix in another, "
            "and a level is of a speaker's own microphone or of the mix, so talk share, waits and loudness are not "
            "like for like across them")
    for argv in (("compare", "1", "2", "3"), ("trend", "--therapist", "bob")):
        rc, out, err = run_cli(*argv, "--store", store, "-o", tmp_path / "page.html", "--overwrite")
        assert rc == 0, err
        assert said in " ".join(out.split()), out  # the caption, folded to the console's width
        assert said[0].upper() + said[1:].replace("'", "&#x27;") + "." in (tmp_path / "page.html").read_text()
    rc, out, err = run_cli("compare", "1", "2", "--store", store)
    assert rc == 0 and "different layouts" not in out, out  # two sessions of one layout: nothing to say
