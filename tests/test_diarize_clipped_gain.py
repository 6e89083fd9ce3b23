"""A restart's split that cuts fewer utterances, read by a frame-model gain a codec's odd frames do not bend
(``_clipped_gain``, ``_fewer_mixed``, ``_start_chosen``; docs/speakers.md, eighty-fifth round): through a call's
codec a few frames no voice's model fits reach -30..-170 nats of held-out gain each and pull the mean gain of the
right split under the two-voice bar; each frame's gain clipped to +-3 nats, the right split hears two voices and a
split of whole utterances grouped by something else than who speaks still does not."""
from __future__ import annotations

import numpy as np

from prosody.engine.diarize import (DiarizeConfig, Diarization, _clipped_gain, _mixed_utterances, _start_chosen,
                                    _two_model_gain)
from prosody.timebase import GRID
from tests.test_diarize_unmix import IDX, PLANTED
from tests.test_diarize_unmix import _split as _unmix_split  # the planted frames as a two-voice split

CFG = DiarizeConfig()
# speech frames (test_diarize_unmix's): 12 utterances of 200 frames (2 s) with 40-frame pauses, the voices taking
# turns (IDX, PLANTED)
# whole utterances grouped by something else than who speaks: cuts none, half of each voice on each side
OTHER = np.repeat(np.array([0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0]), 200).astype(np.int8)


def _split(path: np.ndarray, separation: float, gain: float) -> Diarization:
    """The planted frames split along ``path`` (test_diarize_unmix's helper: the same frames), at this file's
    separation standard error."""
    return _unmix_split(path, separation, gain, se=0.036)


def _coded(seed: int) -> np.ndarray:
    """20 unit-Gaussian features per frame, the second voice's first six moved by 1.0, and 1 % of the frames
    with one coefficient at +-30 (a concealed packet, a cut band: a frame no voice's model fits)."""
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((len(PLANTED), 20))
    f[PLANTED == 1, :6] += 1.0
    odd = np.flatnonzero(rng.random(len(f)) < 0.01)
    f[odd, rng.integers(0, 20, len(odd))] = 30.0 * rng.choice([-1, 1], len(odd))
    return f


def _voice_heads_cut(utterances: tuple[int, ...]) -> np.ndarray:
    """The planted split with the first half of voice 0's ``utterances`` given to voice 1 (cut inside speech)."""
    out = PLANTED.copy()
    for k in utterances:
        out[200 * k:200 * k + 100] = 1
    return out


def test_the_clipped_gain_hears_the_planted_voices_through_odd_frames():
    bar = CFG.two_voice_min_gain
    for seed in (0, 1, 2):
        f = _coded(seed)
        assert _two_model_gain(f, PLANTED, CFG) < bar <= _clipped_gain(f, PLANTED, CFG)  # the mean bent, not this
        assert _clipped_gain(f, OTHER, CFG) < bar  # utterances grouped by something else: no second voice
    clean = _coded(0)
    clean[np.abs(clean) > 20] = 0.0
    assert _two_model_gain(clean, PLANTED, CFG) >= bar  # without the odd frames the mean gain hears two


def test_a_start_cutting_fewer_utterances_is_kept_on_its_clipped_gain():
    f = _coded(1)
    best_path = _voice_heads_cut((0, 2, 4))  # cuts 3 of the 12 utterances
    assert _mixed_utterances(best_path, IDX, CFG, GRID) == 0.25 and _mixed_utterances(PLANTED, IDX, CFG, GRID) == 0
    best = (0.293, 0.040, _two_model_gain(f, best_path, CFG), 0.0)  # separation, its error, gain, overlap
    right = _split(PLANTED, 0.321, _two_model_gain(f, PLANTED, CFG))
    assert right.model_gain < CFG.two_voice_min_gain
    assert not _start_chosen(right, best_path, IDX, *best, CFG, GRID)  # the mean gain alone refuses it
    assert _start_chosen(right, best_path, IDX, *best, CFG, GRID, feats=f)
    assert not _start_chosen(right, best_path, IDX, *best, DiarizeConfig(fewer_mixed_by=0.0), GRID, feats=f)
    # nearer than the best so far: not kept on the utterances
    assert not _start_chosen(_split(PLANTED, 0.28, right.model_gain), best_path, IDX, *best, CFG, GRID, feats=f)
    # whole utterances grouped by something else, further apart and cutting none (AMI dev00 s110's restart):
    # its clipped gain hears no second voice
    other = _split(OTHER, 0.329, _two_model_gain(f, OTHER, CFG))
    assert not _start_chosen(other, best_path, IDX, *best, CFG, GRID, feats=f)
