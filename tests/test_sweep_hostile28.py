"""Hostile sweep 28 (docs/store.md "Hostile sweep 28"): each defect found, against planted truth.

1. `live --record` whose recording's folder was removed (or made a file) during the session: the audio had gone
   on into the open file no name reached, and at the end it was closed and dropped, "nothing of it is kept",
   though every sample was still readable through the open file. Now what it holds is copied (owner-only) into
   the rescue folder when the loss is seen, and the closing line and the session's warning name the copy (and,
   since hostile sweep 30, the recording goes on in it).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.pulse import folder_lost_while_recording

REPO = Path(__file__).resolve().parent.parent
PROSODY = [sys.executable, "-m", "prosody_cli.main"]


def test_a_recording_whose_name_is_gone_is_copied_whole_into_the_rescue_folder(tmp_path, monkeypatch):
    """Planted: 1.5 s of a 220 Hz tone (two channels, the second at half level) written, the file unlinked,
    then closed keeping a copy. Before: no copy could be made (the file was opened write-only; the method did
    not exist). Now the copy is in $XDG_DATA_HOME/prosody-rescue, owner-only, and holds those samples."""
    from prosody.live.runner import _Recording
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "rec").mkdir()
    path = tmp_path / "rec" / "r.wav"
    t = np.arange(24000) / 16000
    x = np.stack([0.5 * np.sin(2 * np.pi * 220 * t), 0.25 * np.sin(2 * np.pi * 220 * t)], axis=1).astype(np.float32)
    rec = _Recording(path, 2)
    rec.write(x[:16000])
    shutil.rmtree(tmp_path / "rec")  # the folder removed mid-recording: the rest goes into the unnamed file
    rec.write(x[16000:])
    copy = getattr(rec, "close_keeping_a_copy", None)
    assert copy is not None, "no copy of a recording whose name is gone can be kept"
    kept = copy("r.wav")
    assert kept == tmp_path / "data" / "prosody-rescue" / "r.wav"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    y, sr = sf.read(kept, dtype="float32")
    assert sr == 16000 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= 1.0 / 32768 + 1e-7


def _live_losing_its_recording_folder(pulse, tmp_path, *, make_it_a_file: bool, name: str = "r.wav"):
    """`prosody live --record rec/NAME` (r.wav unless told) on a null sink's monitor with the fixture playing, an
    autosave each second (the loss seen mid-session; seen at the end, the copy is whole: tests/test_sweep_hostile29.py);
    ``rec`` removed (and a file put in its place where asked) 3 s in, Ctrl-C 3 s later. Returns (exit status, stderr,
    the session)."""
    mon = pulse.null_sink("s1") if "s1" not in pulse.modules else "s1.monitor"
    (tmp_path / "rec").mkdir()
    env = dict(pulse.env, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    p = subprocess.Popen(PROSODY + ["live", "--device", mon, "--record", str(tmp_path / "rec" / name),
                                    "--output", str(tmp_path / "s.json"), "--plain", "--interval-s", "0.25",
                                    "--autosave-s", "1"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    err = folder_lost_while_recording(pulse, p, REPO / "fixtures" / "dialogue.flac", "s1", tmp_path / "rec",
                                      lost_after_s=3.0, ctrl_c_after_s=3.0, make_it_a_file=make_it_a_file)
    return p.returncode, err, json.loads((tmp_path / "s.json").read_text())


def test_live_whose_recording_folder_is_removed_keeps_the_recording_in_the_rescue_folder(pulse, tmp_path):
    """Before: "nothing of it is kept (.../r.wav is gone)", exit 1, and no recording anywhere. Now the line names
    the copy in the rescue folder (under the private server's $HOME), which holds the capture (up to the autosave
    that saw the loss; since hostile sweep 30 the recording goes on in it: all of it, its length the session's
    `captured_s`), sound in it, exit 1, one line, no traceback; the same with the folder made a file."""
    for make_it_a_file in (False, True):
        case = tmp_path / ("file" if make_it_a_file else "removed")
        case.mkdir()
        rc, err, doc = _live_losing_its_recording_folder(pulse, case, make_it_a_file=make_it_a_file)
        rescue = Path(pulse.env["HOME"]) / ".local" / "share" / "prosody-rescue"
        kept = rescue / "r.wav"
        assert rc == 1 and "Traceback" not in err and len(err.splitlines()) == 1, err
        assert f"({case / 'rec' / 'r.wav'} is gone at " in err and f"all of it is kept in {kept}" in err, err
        assert doc["live"]["recording_complete"] is True and doc["live"]["recording_file"] == str(kept)
        assert any(str(kept) in w for w in doc["warnings"]), doc["warnings"]
        y, sr = sf.read(kept, dtype="float32")
        assert len(y) == round(doc["live"]["captured_s"] * sr), (len(y) / sr, doc["live"]["captured_s"])
        assert np.sqrt(np.mean(y ** 2)) > 1e-3
        kept.unlink()


def test_a_recording_made_by_another_session_after_the_check_is_not_taken_over(tmp_path):
    """Two `live --record r.wav` started alike: both found no r.wav when their outputs were checked, the first
    made it, and the second, set up after, took the file there as one it may replace: opened with O_TRUNC and
    written by both (both sessions said the recording whole). Planted: the other session's file made between
    the check and the runner's set-up. Now, without --overwrite, the recording is taken exclusively: one line
    naming it, the other's bytes untouched, nothing captured."""
    import pytest
    from prosody.engine.sources import Layout
    from prosody.errors import CaptureError
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    rec = tmp_path / "r.wav"
    rec.write_bytes(b"RIFF the other session's recording")
    stereo = Layout(("therapist", "client"), ((0, 0), (0, 1)))
    source = ReplaySource([str(REPO / "fixtures" / "dialogue.flac")], stereo, speed=4.0)
    r = LiveRunner(source, output_path=tmp_path / "s.json", record_path=rec, duration_s=2.0, record_overwrite=False)
    with pytest.raises(CaptureError) as e:
        r.start()
    assert str(e.value).startswith(f"--record {rec}: another program made a file of that name meanwhile")
    assert rec.read_bytes() == b"RIFF the other session's recording"
    assert not (tmp_path / "s.json").exists()
