"""diarize._cancelled_pitch / _second_pitch_boost / _near_tie: a soft token's pitch under the holder's (planted
harmonic voices): the holder's period cancelled, the residual is periodic at the token's register, and "both"
gains only there, and only where the frame models' "both" is near a tie."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.diarize import DiarizeConfig, _cancelled_pitch, _frame_f0_st, _near_tie, _second_pitch_boost
from prosody.errors import ConfigError
from prosody.timebase import GRID

SR = GRID.sample_rate
HOLDER_HZ, TOKEN_HZ = 120.0, 200.0  # 8.8 st apart, as two of the dialogues' voices
TOKEN_S = (1.0, 1.4)  # the token over the holder's speech


def _voice(f0_hz: np.ndarray, rng) -> np.ndarray:
    """A harmonic voice (1/k amplitudes up to 4 kHz) on the sample-by-sample pitch ``f0_hz``."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / SR
    return sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 34) if k * HOLDER_HZ < 4000)


def _mix(token_db: float, holder_s: float = 2.0):
    """``holder_s`` + 1 s: the holder (120 Hz, a 2 % vibrato at 5 Hz) over 0-``holder_s`` with a 200 Hz token
    ``token_db`` re its power over 1.0-1.4 s; the listener alone (200 Hz) for 1 s after it; noise 50 dB under
    the holder."""
    rng = np.random.default_rng(3)
    t = np.arange(int((holder_s + 1) * SR)) / SR
    holder = _voice(HOLDER_HZ * (1 + 0.02 * np.sin(2 * np.pi * 5 * t)), rng) * (t < holder_s)
    listener = _voice(np.full(len(t), TOKEN_HZ), rng)
    on = (t >= TOKEN_S[0]) & (t < TOKEN_S[1])
    gain = 10 ** (token_db / 20) * np.std(holder[t < holder_s]) / np.std(listener)
    x = holder + listener * np.where(on, gain, 0.0) + listener * gain * (t >= holder_s)
    return x + 10 ** (-50 / 20) * np.std(holder[t < holder_s]) * rng.standard_normal(len(t))


def _st(hz: float) -> float:
    return 12 * np.log2(hz / 100.0)


@pytest.mark.parametrize("token_db", [-6.0, -12.0])
def test_the_holders_period_cancelled_leaves_the_tokens_pitch(token_db):
    x = _mix(token_db)
    frames = np.arange(200)  # the holder's 2 s
    f0 = _frame_f0_st(x, frames)
    assert np.nanmedian(f0[:95]) == pytest.approx(_st(HOLDER_HZ), abs=0.5)  # the stronger voice's pitch
    assert np.nanmedian(f0[105:135]) == pytest.approx(_st(HOLDER_HZ), abs=0.5)  # the holder's, under the token too
    sal = _cancelled_pitch(x, frames, f0, np.array([_st(TOKEN_HZ)]))[0]
    token, alone = slice(103, 137), np.r_[5:95, 145:195]
    assert np.nanmedian(sal[token]) > 0.6  # the token's harmonics stand between the holder's
    assert np.nanpercentile(sal[alone], 95) < 0.3  # the holder alone: nothing periodic is left


def test_both_gains_over_the_token_and_nowhere_else_in_the_holders_run():
    # 20 s of the holder: the token's 0.4 s is 2 % of its frames, under the share the z's line (the holder's
    # own 97th percentile) leaves above it, as in a dialogue (some 6 tokens a minute, half over the holder)
    x = _mix(-12.0, holder_s=20.0)
    idx = np.arange(2100)  # every frame speech
    f0 = _frame_f0_st(x, idx)
    path = (idx >= 2000).astype(np.int64)  # the 2-state path: the holder, then the listener; the token unheard
    boost = _second_pitch_boost(x, idx, f0, path, DiarizeConfig(), GRID, shared=True)
    assert boost is not None
    assert np.mean(boost[105:135] > 0) > 0.8  # the token's frames
    assert np.all(boost <= DiarizeConfig().second_pitch_nats * DiarizeConfig().second_pitch_max_z)  # capped
    assert np.mean(boost[np.r_[5:90, 150:1995]] > 0) < 0.02  # the holder's own speech: nothing or next to it
    off = _second_pitch_boost(x, idx, f0, path, DiarizeConfig(second_pitch_nats=0.0), GRID, shared=True)
    assert off is None
    assert _second_pitch_boost(x, idx, f0, path, DiarizeConfig(), GRID, shared=False) is None  # a mono mix: never


def test_one_register_is_left_alone():
    x = _mix(-12.0)
    idx = np.arange(300)
    f0 = _frame_f0_st(x, idx)
    path = (idx >= 200).astype(np.int64)
    cfg = DiarizeConfig(second_pitch_min_sep_st=10.0)  # 120 and 200 Hz lie 8.8 st apart
    assert _second_pitch_boost(x, idx, f0, path, cfg, GRID, shared=True) is None


def test_config_rejects_a_negative_weight():
    with pytest.raises(ConfigError, match="second_pitch_nats"):
        DiarizeConfig(second_pitch_nats=-1.0).validate()


def test_the_cue_is_read_only_where_the_frame_models_are_near_a_tie():
    # per frame the 3 states' log-likelihoods re the best (holder, listener, both): the holder read clearly
    # (both 8 nats under), a soft token the models half hear (both 1.5 under), a tie, both ahead; and one
    # frame near a tie only once weighted down (a quiet frame: weak 0.2 makes 6 nats 1.2)
    ll = np.array([[0.0, -15.0, -8.0], [0.0, -15.0, -1.5], [0.0, -12.0, 0.0], [-3.0, -15.0, 0.0],
                   [0.0, -15.0, -6.0]])
    weak = np.array([1.0, 1.0, 1.0, 1.0, 0.2])
    assert _near_tie(ll, weak, 2.0).tolist() == [False, True, True, True, True]
    assert _near_tie(ll, weak, 0.0).tolist() == [False, False, False, True, False]  # 0: only where "both" leads


def test_config_rejects_a_negative_tie():
    with pytest.raises(ConfigError, match="second_pitch_tie_nats"):
        DiarizeConfig(second_pitch_tie_nats=-1.0).validate()
