"""Hostile sweep 26 (docs/store.md "Hostile sweep 26"): each defect found, against planted truth.

1. `prosody play` on a sound server that stops answering mid-play (frozen: SIGSTOP, as a hung server or a wedged
   device driver is) waited for ever: the stream's end was waited for with no limit and the stream's close waited
   on the server too, so even Ctrl-C hung with nothing said. Now a stream that asks for no samples for
   ``clips.PLAY_STALL_S`` (5 s) is said as stopped (exit 1), and its close is waited for 2 s at most.
2. `prosody play` of a point moment (a bookmark) with ``--context-s 0`` said "playing moment 1 ..., 20.0–20.0 s"
   and exited 0 having played 0.2 s of silence: a play that did not happen. Now refused with one line.
3. Standard error's reader gone (``2>&1 | head -1``): main's own error line failed with BrokenPipeError, which
   left main, and every error's exit status was 1: a usage error's 2, Ctrl-C's 130 and SIGTERM's 143 too (under
   `play`, once its "playing" line was read). Now the line is let go and the exit status tells.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np

from prosody import clips
from tests.pulse import outcome as pulse_outcome, thaw_and_end

PROSODY = [sys.executable, "-m", "prosody_cli.main"]


# -- 1. a sound server frozen mid-play ---------------------------------------------------------------------------

def _play_argv(pulse, tmp_path) -> list[str]:
    """A stored session of 40 s of two-channel noise with a bookmark at 20 s (moment 1) and a null sink ``out1``:
    the command line playing moment 1 on it (context to be given)."""
    from tests.test_review import noise_session
    noise_session(tmp_path / "st", tmp_path / "rec.wav", seconds=40, bookmark_s=20.0, seed=3)
    pulse.null_sink("out1")
    return PROSODY + ["play", "1", "1", "--store", str(tmp_path / "st"), "--device", "out1", "--context-s"]


def _play_then_freeze(pulse, tmp_path, *, ctrl_c_after_s=None):
    """`prosody play` of a 20 s moment into a null sink, the server frozen (SIGSTOP) 2 s in, and Ctrl-C
    ``ctrl_c_after_s`` later when given; returns (exit status or None when it still ran 30 s on, standard error,
    seconds from the freeze to the exit). The server is let go again after."""
    p = subprocess.Popen(_play_argv(pulse, tmp_path) + ["10"], env=pulse.env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        first = p.stderr.readline()
        assert first.startswith("prosody: playing moment 1"), first + p.stderr.read()
        time.sleep(2.0)
        os.kill(pulse.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        return pulse_outcome(p, frozen, ctrl_c_after_s=ctrl_c_after_s)
    finally:
        thaw_and_end(pulse, p)


def test_play_on_a_frozen_sound_server_is_said_as_stopped_not_waited_on_for_ever(pulse, tmp_path):
    """Before: still playing 30 s after the freeze (for ever), nothing said. Now exit 1 about 5 s after it, one
    line saying the device stopped answering and how much of the 20 s was handed to it."""
    rc, e, took_s = _play_then_freeze(pulse, tmp_path)
    assert rc == 1, f"exit {rc} after {took_s:.1f} s: {e!r}"
    assert clips.PLAY_STALL_S <= took_s < clips.PLAY_STALL_S + clips.PLAY_CLOSE_WAIT_S + 5.0, took_s
    lines = e.splitlines()
    assert len(lines) == 1 and "Traceback" not in e, e
    assert lines[0].startswith("prosody: error: output device 'out1' stopped answering while playing"), e
    played_s = float(lines[0].split("; ")[-1].split(" of ")[0])
    assert 0.0 <= played_s < 20.0 and lines[0].endswith("of 20.0 s were handed to it"), e


def test_ctrl_c_on_a_frozen_sound_server_ends_play(pulse, tmp_path):
    """Before: Ctrl-C 1 s after the freeze still hung (the stream's close waited on the server), nothing said.
    Now exit 130 with prosody's "interrupted" line, within the close's 2 s wait and a margin."""
    rc, e, took_s = _play_then_freeze(pulse, tmp_path, ctrl_c_after_s=1.0)
    assert rc == 130, f"exit {rc} after {took_s:.1f} s: {e!r}"
    assert took_s < 1.0 + clips.PLAY_CLOSE_WAIT_S + 5.0, took_s
    assert e.splitlines() == ["prosody: error: interrupted"], e


def _called_back(feed, *, calls: int, every_s: float) -> None:
    """As a stream that calls ``feed`` back ``calls`` times, ``every_s`` apart (160 samples each), then never."""
    def run():
        for _ in range(calls):
            time.sleep(every_s)
            feed.position_samples += 160
    threading.Thread(target=run, daemon=True).start()


def test_the_wait_ends_on_a_stall_and_not_while_the_stream_is_fed():
    """``_fed_to_the_end``: a feed called back every 0.1 s for 1.2 s, then never again, with a 0.5 s stall limit:
    False, 0.5-0.75 s after the last call (0.25 s polls; not 0.5 s after the start: the calls kept it waiting); a
    feed whose stream ends is True at once."""
    feed = clips._Feed(np.zeros((16000, 1), np.float32), stop=RuntimeError)
    _called_back(feed, calls=12, every_s=0.1)
    t0 = time.monotonic()
    assert clips._fed_to_the_end(feed, stall_s=0.5) is False
    assert 1.2 + 0.5 <= time.monotonic() - t0 < 1.2 + 0.5 + 1.5
    assert feed.position_samples == 12 * 160
    done = clips._Feed(np.zeros((160, 1), np.float32), stop=RuntimeError)
    done.finished.set()
    assert clips._fed_to_the_end(done, stall_s=0.5) is True


# -- 2. a moment that leaves nothing to play ---------------------------------------------------------------------

def test_a_point_moment_with_no_context_is_refused_not_said_as_played(pulse, tmp_path):
    """A bookmark at 20 s played with --context-s 0: before, "prosody: playing moment 1 (Bookmark: here),
    20.0–20.0 s", 0.2 s of silence played, exit 0. Now one line saying there is nothing to play and what to give,
    exit 2, nothing said as playing; a context of 0.5 s still plays (exit 0, 19.5–20.5 s)."""
    play = _play_argv(pulse, tmp_path)
    r = subprocess.run(play + ["0"], env=pulse.env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == ["prosody: error: moment 1 (Bookmark: here) leaves nothing to play: 20.0–20.0 s "
                                     "of the 40.0 s recording; give --context-s over 0"], r.stderr
    r = subprocess.run(play + ["0.5"], env=pulse.env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "prosody: playing moment 1 (Bookmark: here), 19.5–20.5 s\n", r.stderr


# -- 3. standard error's reader gone ------------------------------------------------------------------------------

def _reader_gone_pipe():
    """A pipe's write end whose read end is closed already: every write to it is EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


def test_the_exit_status_tells_when_standard_errors_reader_is_gone(tmp_path):
    """A file that is not there (2), an unknown option (2): before, 1 and 1 with the reader gone; with a reader,
    2 and 2 (unchanged)."""
    for argv in (["analyze", str(tmp_path / "not-there.wav")], ["--bogus"]):
        write_end = _reader_gone_pipe()
        try:
            r = subprocess.run(PROSODY + argv, stdout=subprocess.DEVNULL, stderr=write_end, timeout=60, cwd=tmp_path)
        finally:
            os.close(write_end)
        assert r.returncode == 2, (argv, r.returncode)
        r = subprocess.run(PROSODY + argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert r.returncode == 2 and r.stderr.startswith("prosody: error: "), r.stderr


def test_ctrl_c_and_sigterm_under_play_exit_as_such_once_standard_errors_reader_is_gone(pulse, tmp_path):
    """`play` with standard error on a pipe, its reader gone once it read "playing moment 1": Ctrl-C exits 130 and
    SIGTERM 143 (before: 1 and 1)."""
    play = _play_argv(pulse, tmp_path)
    for signum, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        read_end, write_end = os.pipe()
        p = subprocess.Popen(play + ["10"], env=pulse.env, stdout=subprocess.DEVNULL, stderr=write_end,
                             cwd=tmp_path)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            first = reader.readline()
        assert first.startswith(b"prosody: playing moment 1"), first
        time.sleep(1.0)
        p.send_signal(signum)
        assert p.wait(timeout=30) == status, (signum, p.returncode)
