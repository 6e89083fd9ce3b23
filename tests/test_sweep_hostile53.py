"""Hostile sweep 53 (docs/store.md "Hostile sweep 53").

1. A plain `live` run (`--plain`, a log, a pipe) said none of the saved session's warnings ("therapist never
   speaks", "--voices 1 is not used") where `analyze` says them: they were in the JSON alone. Now each is said
   on standard error after `saved`, in analyze's words, once.
"""
from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from tests.conftest import run_cli
from tests.test_sweep_hostile43 import FIXTURES

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
