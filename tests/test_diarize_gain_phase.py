"""The frame models' held-out gain read against its bar over several phases of its held-out blocks
(``_steady_gain``): one phase's gain is noisy near the bar (docs/speakers.md, gain86)."""
from __future__ import annotations

import numpy as np

import prosody.engine.diarize as D
from prosody.engine.diarize import DiarizeConfig, GAIN_PHASES_FRAMES, _steady_gain, _two_model_gain

CFG = DiarizeConfig()


def _planted_pair(seed: int, apart: float) -> tuple[np.ndarray, np.ndarray]:
    """40 turns of 0.4-1.6 s, alternating between two voices whose 20 features are unit Gaussians,
    the second voice's first six moved by ``apart``; 2000 frames: (features, path)."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(40, 160, 40)
    path = np.concatenate([np.full(n, k % 2, np.int8) for k, n in enumerate(lens)])[:2000]
    feats = rng.standard_normal((len(path), 20))
    feats[path == 1, :6] += apart
    return feats, path


def test_a_pair_under_the_bar_at_one_phase_is_over_it_on_the_phases_mean():
    feats, path = _planted_pair(1, 0.74)
    bar = CFG.two_voice_min_gain
    assert _two_model_gain(feats, path, CFG) < bar  # phase 0 alone: read as one voice
    gains = [_two_model_gain(feats, path, CFG, phase=p) for p in GAIN_PHASES_FRAMES]
    assert np.mean(gains) >= bar
    assert _steady_gain(feats, path, CFG, bar) >= bar  # two voices, as planted
    # turned off: the one phase's gain, as before
    assert _steady_gain(feats, path, DiarizeConfig(gain_phase_margin=0.0), bar) < bar


def test_one_voice_cut_in_two_stays_under_the_bar():
    feats, path = _planted_pair(3, 0.0)
    bar = CFG.two_voice_min_gain
    assert abs(_two_model_gain(feats, path, CFG) - bar) < CFG.gain_phase_margin  # near the bar: averaged
    assert _steady_gain(feats, path, CFG, bar) < bar


def test_a_gain_far_from_its_bar_costs_one_gain(monkeypatch):
    feats, path = _planted_pair(1, 1.5)
    calls = []

    def counted(*args, **kw):
        calls.append(kw.get("phase", 0))
        return _two_model_gain(*args, **kw)

    monkeypatch.setattr(D, "_two_model_gain", counted)
    gain = D._steady_gain(feats, path, CFG, CFG.two_voice_min_gain)
    assert gain >= CFG.two_voice_min_gain + CFG.gain_phase_margin
    assert calls == [0]
