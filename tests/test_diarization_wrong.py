"""benchmarks/diarization_wrong.py: wrong-person runs found and classed on planted frame masks (fifty-eighth round)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from diarization_wrong import wrong_runs  # noqa: E402

N = 1200  # 12 s on the 10 ms grid
THERAPIST = [(0.5, 3.0), (6.0, 8.0), (10.0, 11.5)]
CLIENT = [(3.2, 5.8), (9.0, 9.9), (11.2, 12.0)]  # 11.2-11.5: an overlap with the therapist


def _mask(segs):
    t = (np.arange(N) + 0.5) * 0.01
    m = np.zeros(N, bool)
    for a, b in segs:
        m |= (t >= a) & (t < b)
    return m


def _single():
    t = (np.arange(N) + 0.5) * 0.01
    keep = np.ones(N, bool)
    for a, b in THERAPIST + CLIENT:
        keep &= (np.abs(t - a) >= 0.25) & (np.abs(t - b) >= 0.25)
    return (_mask(THERAPIST) ^ _mask(CLIENT)) & keep


def test_planted_runs_found_and_classed():
    th, cl = _mask(THERAPIST), _mask(CLIENT)
    level = np.where(th | cl, -20.0, -70.0)
    # 1: the client's start 3.45-3.80 heard as the therapist's alone (the therapist stopped 0.2 s before)
    th[345:380], cl[345:380] = True, False
    # 2: 1.50-1.80 of the therapist's utterance heard as both voices
    cl[150:180] = True
    # 3: the therapist's last 7.40-7.75 heard as the client's alone, quiet (-35 dB against -20 dB)
    th[740:775], cl[740:775] = False, True
    level[740:775] = -35.0
    # 4: the client's whole 9.0-9.9 utterance heard as the therapist's
    th[900:990], cl[900:990] = True, False
    # 5: the therapist's 10.6-10.9, 0.3 s before the overlap at 11.2, heard as both
    cl[1060:1090] = True
    single = _single()
    runs = wrong_runs((THERAPIST, CLIENT), (th, cl), single, level)
    got = [(r.speaker, r.start, r.end, r.both, r.kind) for r in runs]
    assert got == [
        (0, 150, 180, True, "inside"),
        (1, 345, 380, False, "start (after other)"),
        (0, 740, 775, False, "end (before pause), quiet"),
        (1, 925, 965, False, "whole utterance"),  # 9.0-9.9 less its 0.25 s collars
        (0, 1060, 1090, True, "overlap edge"),
    ]
    # the runs hold exactly the frames the benchmark scores as wrong-person speech
    A, B = _mask(THERAPIST), _mask(CLIENT)
    assert sum(r.end - r.start for r in runs) == int(np.sum(single & ((A & cl) | (B & th))))


def test_right_attribution_has_no_runs():
    th, cl = _mask(THERAPIST), _mask(CLIENT)
    assert wrong_runs((THERAPIST, CLIENT), (th, cl), _single(), np.full(N, -20.0)) == []
