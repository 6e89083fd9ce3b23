"""Hostile sweep 24 (2026-12-05): this session's code attacked (docs/store.md "Hostile sweep 24")."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from prosody.session import analyze_blocks
from tests.test_rate import SR, syllable_train

STEP_EDGES_S = (5.0, 10.0, 15.0, 20.0)  # the rolling windows' steps (window_step_s = 5 s)


def _runs_around_step_edges() -> np.ndarray:
    """Eight runs of 8 syllables at 4/s (2 s each), one either side of each 5 s step edge with a silent 0.45 s pause
    across it, 0.55 s pauses between the pairs (both bridged by the speech detector, both pauses >= 0.3 s: not
    phonation). Planted: 64 syllables over 16 s of syllables."""
    x = np.zeros(int(24.0 * SR), np.float32)
    for k, edge in enumerate(STEP_EDGES_S):
        for j, start in enumerate((edge - 0.225 - 2.0, edge + 0.225)):
            run = syllable_train(8, rate_hz=4.0, seed=2 * k + j, lead_s=0.0)[0]
            a = int(round(start * SR))
            x[a:a + len(run)] += run
    return x + (1e-4 * np.random.default_rng(24).standard_normal(len(x))).astype(np.float32)


def _therapist_rates(s):
    doc = s.to_json_dict()
    return doc["measures"]["voice"]["t"], doc["measures"]["rolling"]


def test_running_baseline_pauses_across_a_step_edge_are_not_phonation():
    """The running baseline's articulation rate reads the phonation time (measures.slice.phonation) step by step
    (5 s). A 0.45 s pause cut in two by a step's edge was two quiet stretches under 0.3 s, each kept as
    phonation: the baseline read 64 / 17.8 s = 3.6 syl/s for the session's 4.0, and the last window, which spans
    the same speech, read articulation_rate_rel +0.11 for 0. Now a quiet stretch is judged whole
    (rolling._Tally._phonation)."""
    s = analyze_blocks([_runs_around_step_edges()[:, None]], ("t",))
    assert len(s.nuclei) == 64
    session, rolling = _therapist_rates(s)
    assert session["articulation_rate_syl_s"] == pytest.approx(4.0, rel=0.02)
    last = rolling[-1]
    assert last["start_s"] == 0.0  # the window spans the session: its baseline is the same speech
    assert last["voice"]["t"]["articulation_rate_syl_s"] == pytest.approx(4.0, rel=0.02)
    assert abs(last["voice"]["t"]["articulation_rate_rel"]) <= 0.02


def test_running_baseline_the_same_for_any_block_size():
    """Live and offline push the pipeline in blocks of any size: the windows (their running baseline's
    phonation included) are the same."""
    x = _runs_around_step_edges()
    whole = analyze_blocks([x[:, None]], ("t",)).to_json_dict()["measures"]["rolling"]
    sizes = [160, 1601, 16000 * 3 + 7]
    blocks, i, k = [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        blocks.append(x[i:i + n, None])
        i, k = i + n, k + 1
    split = analyze_blocks(blocks, ("t",)).to_json_dict()["measures"]["rolling"]
    assert [w["voice"] for w in split] == [w["voice"] for w in whole]


def test_running_baseline_over_a_real_voice_matches_the_session(corpus):
    """AMI tst00 (30 s, read as one voice): the last window spans the session, so its articulation rate against
    the running baseline is 0 as the session's is. Each 5 s step read with its own 0.99 level quantile, the
    baseline lay 23 % under the session's rate: articulation_rate_rel +0.305 (the windows from 15 s on
    +0.25..+0.36, the pace cue's figure). Now quiet is under the q99 of the voice's speech so far: +0.013."""
    x, sr = sf.read(corpus / "pyannote-audio" / "tst00.wav", dtype="float32")
    if x.ndim > 1:
        x = x[:, 0]
    if sr != SR:
        x = soxr.resample(x, sr, SR)
    s = analyze_blocks([x[:, None]], ("t",))
    _, rolling = _therapist_rates(s)
    assert rolling[-1]["start_s"] == 0.0
    assert abs(rolling[-1]["voice"]["t"]["articulation_rate_rel"]) <= 0.03
    assert max(abs(w["voice"]["t"]["articulation_rate_rel"] or 0.0) for w in rolling) <= 0.1


_SLOW_READER_SCRIPT = r"""
import sys
from cli.library_lines import LibraryLines
lib = LibraryLines(drain_s=0.3)
with lib:
    for i in range(2000):  # 120 kB: more than the pipe to the reader holds
        sys.stderr.write(f"prosody line {i:05d} " + "x" * 40 + "\n")
    sys.stderr.flush()
sys.stderr.write("END\n")
"""


def test_held_back_lines_reach_a_slow_reader_all_and_in_order(tmp_path):
    """``live``'s own standard error read late (`2>&1 | less`, a slow log pipe): the lines written while capture ran
    wait in the pipe to the thread that passes them on. ``stop`` gave up on them after ``drain_s`` (2 s) and the
    thread died with the process: 775 of 2,000 lines were lost to a reader 4 s late (1,911 of 3,000), and the "END"
    said after them came before the rest. Now it waits while they are passed on."""
    import os
    import subprocess
    import sys
    import time
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=repo)
    env.pop("PROSODY_AUDIO_DIAGNOSTICS", None)
    p = subprocess.Popen([sys.executable, "-c", _SLOW_READER_SCRIPT], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env, cwd=repo)
    time.sleep(1.5)  # the reader comes late: the pipe to it stays full past drain_s
    err = p.communicate(timeout=60)[1].decode().splitlines()
    assert p.returncode == 0
    assert err == [f"prosody line {i:05d} " + "x" * 40 for i in range(2000)] + ["END"]


def test_a_child_holding_the_pipe_does_not_hold_the_stop(tmp_path):
    """A child process started while capture ran inherits the pipe as its standard error; while it lives nothing
    comes and the pipe's end never does: ``stop`` gives up after ``drain_s`` of nothing (as before)."""
    import subprocess
    import time

    from cli.library_lines import LibraryLines
    lib = LibraryLines(drain_s=0.3, environ={})
    lib.start()
    child = subprocess.Popen(["sleep", "30"])
    try:
        t = time.monotonic()
        lib.stop()
        assert time.monotonic() - t < 2.0
    finally:
        child.kill()
        child.wait()


def _same_file(fd: int, st) -> bool:
    import os
    now = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


@pytest.fixture
def fd2_before():
    """Descriptor 2's file before the test (its ``os.fstat``), put back after it whatever the test left there."""
    import os
    before, keep = os.fstat(2), os.dup(2)
    try:
        yield before
    finally:
        os.dup2(keep, 2)
        os.close(keep)


def test_no_thread_to_be_had_leaves_standard_error_as_it_was(monkeypatch, fd2_before):
    """``LibraryLines.start`` with no thread to be had (``RuntimeError: can't start new thread``): it raised with
    descriptor 2 left at a pipe nobody read (what was said after, the error line too, was lost). Now nothing is
    held back and descriptor 2 is as it was."""
    import threading

    from cli.library_lines import LibraryLines

    def no_thread(self):
        raise RuntimeError("can't start new thread")
    monkeypatch.setattr(threading.Thread, "start", no_thread)
    lib = LibraryLines(environ={})
    lib.start()
    assert _same_file(2, fd2_before)
    lib.stop()
    assert _same_file(2, fd2_before)


def test_a_decoder_call_holding_standard_error_when_capture_stops(fd2_before):
    """A replay's decoder call (``fileio.c_stderr_captured``, on the feeder thread) takes descriptor 2 to a file and
    puts back what it found. Were it running when ``LibraryLines.stop`` put the terminal back, it put the pipe back
    after it: descriptor 2 stayed at the pipe for the rest of the run. Now the two take turns (``_FD2_LOCK``)."""
    import threading
    import time

    from cli.library_lines import LibraryLines
    from prosody.fileio import c_stderr_captured
    lib = LibraryLines(drain_s=0.3, environ={})
    inside = threading.Event()

    def decoder_call():
        with c_stderr_captured([]):
            inside.set()
            time.sleep(0.3)
    lib.start()
    t = threading.Thread(target=decoder_call)
    t.start()
    assert inside.wait(5)
    lib.stop()
    t.join()
    assert _same_file(2, fd2_before)


def test_a_silence_of_exactly_3_s_cuts_a_monologue_wherever_it_lies():
    """A floor hold cut at each silence of ``cues.monologue_silence_s`` (3 s) or more (``slice._hold_pieces``; the
    session's ``longest_monologue_s`` and the live monologue cue). Times are frame edges as floats: 300 frames of
    silence from 1.02 s read 4.02 - 1.02 = 2.9999999999999996 s and did not cut (708 of 360,000 start frames)."""
    from types import SimpleNamespace

    from prosody.measures.slice import _hold_pieces
    from prosody.timebase import GRID
    from prosody.types import Segment
    for k in (102, 100, 5000):  # 102: the float difference falls short; 100 and 5000 do not
        a, b = GRID.frames_to_s(k), GRID.frames_to_s(k + 300)
        sl = SimpleNamespace(segments=[Segment("t", 0.0, a), Segment("t", b, b + 5.0)])
        assert _hold_pieces(sl, (0.0, b + 5.0), 3.0) == [(0.0, a), (b, b + 5.0)], k
        sl = SimpleNamespace(segments=[Segment("t", 0.0, a), Segment("t", b - 0.01, b + 5.0)])  # 2.99 s: one piece
        assert _hold_pieces(sl, (0.0, b + 5.0), 3.0) == [(0.0, b + 5.0)], k
