"""Hostile sweep 30 (docs/store.md "Hostile sweep 30"): each defect found, against planted truth.

1. `live --record` whose recording's file was lost mid-session (its folder removed, the loss seen at an
   autosave): what it held was copied into the rescue folder, and the recording stopped there: the rest of the
   capture was thrown away. Now the recording goes on in the copy (a second loss met alike), and the copy holds
   the whole capture at the end.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.test_sweep_hostile28 import _live_losing_its_recording_folder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _wait_for(cond, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cond(), "not reached in time"


def _frames_in(path: Path) -> int:
    try:
        return sf.info(str(path)).frames
    except (OSError, RuntimeError):
        return -1


def _replay_runner(tmp_path: Path, monkeypatch, name: str = "r.wav"):
    """A replay (the fixture at 2x, 10 s, an autosave every 0.2 s) recording into ``rec/NAME``."""
    from prosody.engine.sources import Layout
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "rec").mkdir()
    stereo = Layout(("therapist", "client"), ((0, 0), (0, 1)))
    return LiveRunner(ReplaySource([str(FIXTURES / "dialogue.flac")], stereo, speed=2.0),
                      output_path=tmp_path / "s.json", record_path=tmp_path / "rec" / name, autosave_s=0.2,
                      duration_s=10.0)


def _assert_the_capture(kept: Path, captured_s: float) -> None:
    """``kept`` holds the fixture's first ``captured_s`` (its two channels), to 16-bit rounding."""
    y, sr = sf.read(kept, dtype="float32", always_2d=True)
    x, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32", always_2d=True)
    assert len(y) == round(captured_s * sr), (len(y) / sr, captured_s)
    assert np.max(np.abs(y - x[:len(y), :2])) <= 1.5 / 32768


def test_a_recording_lost_at_an_autosave_goes_on_in_its_rescue_copy(tmp_path, monkeypatch):
    """Planted on a replay: the recording's folder removed once 2 s are on disk, seen at the next autosave.
    Before: "the recording failed at T s ...; what was recorded up to then is kept in COPY", the copy ending
    at T, the remaining ~8 s captured and thrown away. Now the copy holds all 10 s captured, sample for sample
    the fixture's, `recording_complete` true, the closing line says where all of it is and when it was lost."""
    r = _replay_runner(tmp_path, monkeypatch)
    rec = tmp_path / "rec" / "r.wav"
    r.start()
    _wait_for(lambda: rec.exists() and rec.stat().st_size > 64000)
    shutil.rmtree(tmp_path / "rec")
    res = r.wait(60)
    assert res is not None and res.doc is not None
    live, kept = res.doc["live"], tmp_path / "data" / "prosody-rescue" / "r.wav"
    assert live["captured_s"] == pytest.approx(10.0, abs=0.011)
    assert live["recording_file"] == str(kept)
    _assert_the_capture(kept, live["captured_s"])
    assert live["recording_complete"] is True and live["recording_stopped_s"] is None, live
    said = res.record_error or ""
    assert said.startswith("the recording is whole (10.0 s) but not where asked") and f"({rec} is gone at " in said
    assert said.endswith(f"all of it is kept in {kept}"), said
    assert any(said in w for w in res.doc["warnings"]), res.doc["warnings"]


def test_a_recording_lost_twice_goes_on_in_a_second_copy(tmp_path, monkeypatch):
    """Planted: the recording's folder removed 1 s in (the recording goes on in the rescue copy), then the
    rescue folder removed too 2 s later. Both losses met alike: the second copy (the rescue folder made
    again) holds the whole capture, and the line names both losses, never the first copy as holding it."""
    r = _replay_runner(tmp_path, monkeypatch)
    rec, rescue = tmp_path / "rec" / "r.wav", tmp_path / "data" / "prosody-rescue"
    r.start()
    _wait_for(lambda: rec.exists() and rec.stat().st_size > 32000)
    shutil.rmtree(tmp_path / "rec")
    # its header says how much it holds while it is recorded (libsndfile's read-write mode left the length of
    # the copy as made till the close: a crash then would leave a file said to be 1 s long)
    _wait_for(lambda: _frames_in(rescue / "r.wav") >= 3 * 16000)
    first = os.stat(rescue / "r.wav").st_ino
    shutil.rmtree(rescue)
    res = r.wait(60)
    assert res is not None and res.doc is not None
    live, kept = res.doc["live"], rescue / "r.wav"
    assert os.stat(kept).st_ino != first
    _assert_the_capture(kept, live["captured_s"])
    assert live["recording_complete"] is True and live["recording_file"] == str(kept)
    said = res.record_error or ""
    assert f"({rec} is gone at " in said and f", then {kept} is gone at " in said, said
    assert said.endswith(f"all of it is kept in {kept}"), said


# A `.flac` recording lost at an autosave stopped there (libsndfile cannot add to a FLAC) and said why; since hostile
# sweep 31 it goes on all the same (tests/test_sweep_hostile31.py), so that test of the stop is gone.


def test_live_whose_recording_folder_is_removed_records_the_rest_into_the_rescue_copy(pulse, tmp_path):
    """Real capture (a private PulseAudio's null-sink monitor, the fixture playing; tests/test_sweep_hostile28.py's
    run), `--record rec/r.wav`, an autosave each second: `rec` removed 3 s in, Ctrl-C 3 s later. Before: the copy
    ended at the autosave that saw the loss (1.1 s of 4.04 s captured), the rest thrown away. Now the copy's
    length is the session's `captured_s` (within a block, and in fact to the sample), sound in what came after the loss, the
    session says it whole, one line says where, exit 1 (not where asked)."""
    rc, err, doc = _live_losing_its_recording_folder(pulse, tmp_path, make_it_a_file=False)
    assert rc == 1 and "Traceback" not in err and len(err.splitlines()) == 1, err
    live = doc["live"]
    kept = Path(pulse.env["HOME"]) / ".local" / "share" / "prosody-rescue" / "r.wav"
    y, sr = sf.read(kept, dtype="float32")
    assert abs(len(y) / sr - live["captured_s"]) <= 0.05, (len(y) / sr, live["captured_s"])
    assert len(y) == round(live["captured_s"] * sr)
    assert live["recording_complete"] is True and live["recording_file"] == str(kept)
    assert f"({tmp_path / 'rec' / 'r.wav'} is gone at " in err and f"all of it is kept in {kept}" in err, err
    lost_s = float(re.search(r" is gone at ([0-9.]+) s\)", err).group(1))
    assert len(y) / sr > lost_s + 1.0 and np.sqrt(np.mean(y[round(lost_s * sr):] ** 2)) > 1e-3  # sound after it


# -- 2. a symbolic-link loop named in a batch manifest ---------------------------------------------------------------

def test_a_link_loop_or_a_dangling_link_is_said_as_one(tmp_path, monkeypatch, capsys):
    """Planted: a.wav -> b.wav -> a.wav (a loop) and c.wav -> nothere.wav, named in a manifest, and a.wav named on
    the command line of `batch` and `analyze`. Before: "no such file: a.wav" (true to the OS, loose in words:
    there is a file of that name), "no such file or folder: a.wav", and `analyze` "cannot read a.wav (Too many
    levels of symbolic links)". Now each says it is a link loop, or a link to a file that is not there; one
    line, exit 2 where it is the only input; a file truly missing is still "no such file"."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    os.symlink("b.wav", "a.wav")
    os.symlink("a.wav", "b.wav")
    os.symlink("nothere.wav", "c.wav")
    loop = "a.wav is a symbolic link loop (its links lead back to themselves, never to a file)"
    dangling = "c.wav is a symbolic link to nothere.wav, which does not exist"
    (tmp_path / "m.csv").write_text("file\na.wav\nc.wav\nd.wav\n", encoding="utf-8")
    assert main(["batch", "m.csv", "--store", "st", "--table", "t", "--no-progress", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert f"prosody: failed: a.wav: {loop}\n" in err and f"prosody: failed: c.wav: {dangling}\n" in err, err
    assert "prosody: failed: d.wav: no such file: d.wav\n" in err, err
    for argv, said in ((["batch", "a.wav", "--store", "st", "--no-progress"], loop), (["analyze", "a.wav"], loop),
                       (["analyze", "c.wav"], dangling)):
        assert main(argv) == 2
        assert capsys.readouterr().err == f"prosody: error: {said}\n"
