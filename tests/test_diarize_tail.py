"""diarize._tail_refit: the holder's utterance tail given to a short answer's voice (planted)."""
from __future__ import annotations

import numpy as np

from prosody.engine.diarize import DiarizeConfig, _DiagGmm, _tail_refit
from prosody.timebase import GRID


def _case(tail_is_holder: bool):
    rng = np.random.default_rng(3)
    h = rng.normal(0.0, 1.0, (600, 6))
    k = rng.normal(2.5, 1.0, (200, 6))
    tail = h[560:600] if tail_is_holder else k[160:200]
    # utterance 1: 200 holder frames + a 40-frame tail labelled k; pause; the answer (100 k
    # frames); pause; utterance 3: 300 holder frames
    feats = np.concatenate([h[:200], tail, k[:100], h[200:500]])
    owned = np.concatenate([np.zeros(200), np.ones(40), np.ones(100), np.zeros(300)]).astype(np.int8)
    idx = np.concatenate([np.arange(240), 300 + np.arange(100), 450 + np.arange(300)])
    g = [_DiagGmm(feats[owned == 0], 4, 10), _DiagGmm(feats[owned == 1], 4, 10)]  # k's model learnt the tail
    return owned, idx, feats, g


def test_holders_tail_goes_back_to_the_holder():
    owned, idx, feats, g = _case(True)
    out = _tail_refit(owned, idx, feats, g, DiarizeConfig(), GRID)
    assert np.all(out[200:240] == 0)  # the planted tail: the holder's
    assert np.all(out[240:340] == 1) and np.all(out[:200] == 0) and np.all(out[340:] == 0)
    off = _tail_refit(owned, idx, feats, g, DiarizeConfig(tail_refit_max_s=0.0), GRID)
    assert np.array_equal(off, owned)


def test_the_answers_own_speech_stays():
    owned, idx, feats, g = _case(False)  # the 40 frames really are the other voice's
    out = _tail_refit(owned, idx, feats, g, DiarizeConfig(), GRID)
    assert np.array_equal(out, owned)
