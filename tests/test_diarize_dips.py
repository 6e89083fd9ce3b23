"""A second voice fills the level's syllable dips (diarize._level_spread, diarize._dip_filled_look)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from prosody.engine.diarize import DiarizeConfig, _dip_filled_look, _level_spread
from prosody.timebase import GRID


def _syllables(n_frames: int, rate_hz: float, phase: float, rng) -> np.ndarray:
    """(n_frames * 160,) noise "speech": 70 % of each syllable period loud, the rest 30 dB down."""
    t = (np.arange(n_frames * 160) + 0.5) / 16000
    on = ((t * rate_hz + phase) % 1.0) < 0.7
    return rng.standard_normal(len(t)) * np.where(on, 1.0, 10 ** (-30 / 20))


def _frame_db(x: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.mean(x.reshape(-1, 160) ** 2, axis=1) + 1e-12)


def test_a_second_voice_fills_the_dips_between_syllables():
    # planted: one voice of 4 syllables/s; in 1.0-1.6 s a second of 5.3/s at the same level, out of step
    rng = np.random.default_rng(3)
    one = _syllables(300, 4.0, 0.0, rng)
    other = _syllables(300, 5.3, 0.5, rng)
    mix = one.copy()
    mix[100 * 160:160 * 160] += other[100 * 160:160 * 160]
    spread = _level_spread(_frame_db(mix), 30)
    alone, both = np.median(spread[np.r_[15:85, 175:285]]), np.median(spread[115:145])
    assert alone > 20.0  # 30 dB dips in every 0.3 s of one voice
    assert both < 0.8 * alone  # the dips are filled where two voices speak
    assert np.allclose(_level_spread(np.full(50, -30.0), 30), 0.0)  # a steady level: no spread


def test_dip_filled_look_turns_a_weak_stretch_with_filled_dips_to_both():
    # voice 0 holds 4 s (compact speech frames); "both" beats it by 3 nats/frame in 1.0-1.4 s, 2.0-2.4 s
    # and 3.0-3.4 s (120 nats: below the second look's 150, above dip_look_nats 50). Only the first has
    # its level dips filled by a second voice (and is louder: two voices add their power); the second
    # keeps one voice's syllables; the third is steady but quiet (a held vowel or an utterance's tail)
    n = 400
    ll = np.zeros((n, 3))
    ll[:, 1:] = -10.0
    for a in (100, 200, 300):
        ll[a:a + 40, 2], ll[a:a + 40, 0] = 0.0, -3.0
    rng = np.random.default_rng(5)
    lv = _frame_db(_syllables(n, 4.0, 0.0, rng))
    lv[100:140] = 2.0 + rng.uniform(-1, 1, 40)
    lv[300:340] = -12.0 + rng.uniform(-1, 1, 40)
    owned = np.zeros(n, np.int8)
    cfg = DiarizeConfig()
    got = _dip_filled_look(owned, ll, np.ones(n), lv, cfg, GRID)
    assert np.array_equal(np.flatnonzero(got == 2), np.arange(100, 140))
    # too little evidence from the frame models, off, or no models: unchanged
    for c in (replace(cfg, dip_look_nats=150.0), replace(cfg, dip_look_nats=0.0)):
        assert np.array_equal(_dip_filled_look(owned, ll, np.ones(n), lv, c, GRID), owned)
    assert np.array_equal(_dip_filled_look(owned, None, np.ones(n), lv, cfg, GRID), owned)
