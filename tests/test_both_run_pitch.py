"""benchmarks/both_run_pitch.py: two harmonic series in one frame, read on real speech (PTDB-TUG, Pirker et al.
2011: a female and a male speaker with laryngograph pitch; docs/speakers.md, sixty-eighth round)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from both_run_pitch import both_runs_inside, st, two_voice_frames, voice_pitch_st  # noqa: E402

from tests.ptdb import ptdb_sentence  # noqa: E402

SR = 16000


def _speaker(name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """16 kHz audio, the 10 ms frames the reference calls voiced, the reference's median f0 (st re 100 Hz)."""
    y, ref, frames = ptdb_sentence(name)
    keep = (ref > 0) & (frames < len(y) // 160)
    return y, frames[keep], float(st(np.median(ref[ref > 0])))


def test_two_voices_at_once_are_heard_in_the_pitch_and_one_voice_is_not():
    f, f_voiced, f_st = _speaker("F01")  # 192 Hz, 11.3 st
    m, m_voiced, m_st = _speaker("M01")  # 113 Hz, 2.1 st
    assert abs(voice_pitch_st(f, f_voiced) - f_st) < 0.5
    assert abs(voice_pitch_st(m, m_voiced) - m_st) < 0.5
    n = min(len(f), len(m))
    mix = f[:n] + m[:n] * np.sqrt(np.mean(f[:n] ** 2) / np.mean(m[:n] ** 2))  # the two at one level
    both = np.intersect1d(f_voiced, m_voiced)
    both = both[both < n // 160]
    assert len(both) > 80
    # both voiced: two series, one at each speaker's pitch, in 39 of 97 frames; F01 alone in 5 of 198
    assert two_voice_frames(mix, both, f_st, m_st) >= 0.3 * len(both)
    assert two_voice_frames(f, f_voiced, f_st, m_st) <= 0.05 * len(f_voiced)


def test_only_runs_inside_one_voices_speech():
    owned = np.array([0, 0, 2, 2, 0, 0, 2, 1, 1, 2, 2, 2, 1, 2])
    brk = np.zeros(len(owned) + 1, bool)
    brk[[0, len(owned)]] = True
    # 2-3: voice 0 either side, kept; 6: 0 then 1 (a change), 13: at the end, left out; 9-11: voice 1 either side
    assert both_runs_inside(owned, brk) == [(2, 4), (9, 12)]
    brk[9] = True  # a pause just before 9: out
    assert both_runs_inside(owned, brk) == [(2, 4)]
