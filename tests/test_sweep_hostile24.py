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
    (RollingMeasures._phonation_step)."""
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
