"""diarize._pitch_look: a listener's backchannel heard only in the pitch track (planted tracks)."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.diarize import DiarizeConfig, _pitch_look
from prosody.errors import ConfigError
from prosody.timebase import GRID


def _case(bc_st: float, listener_st: float = 10.0, bc_level: float = 3.0, holder_swing: float = 1.0):
    """Voice 0 holds 400 frames around 0 st (a slow swing of +-``holder_swing``), then voice 1 speaks
    200 frames around ``listener_st``; frames 150-190 of the holder's run carry the pitch ``bc_st``
    (a listener's "mm-hm" over the holder) at ``bc_level`` dB above the holder's level."""
    rng = np.random.default_rng(7)
    f0 = np.concatenate([holder_swing * np.sin(np.arange(400) / 25.0), listener_st + rng.normal(0, 0.5, 200)])
    f0 = (f0 + rng.normal(0, 0.3, 600)).astype(np.float32)
    f0[::9] = np.nan  # a few unvoiced frames
    f0[150:190] = bc_st + rng.normal(0, 0.3, 40)
    lv = np.full(600, -30.0) + rng.normal(0, 2.0, 600)
    lv[150:190] += bc_level
    owned = np.concatenate([np.zeros(400), np.ones(200)]).astype(np.int8)
    return owned, f0, lv


def test_the_listeners_register_inside_the_holders_run_becomes_both():
    owned, f0, lv = _case(bc_st=10.0)
    out = _pitch_look(owned, f0, lv, DiarizeConfig(), GRID)
    both = np.flatnonzero(out == 2)
    assert len(both) >= 25 and both.min() >= 140 and both.max() < 200  # the planted stretch, and only there
    assert np.all(out[:140] == 0) and np.all(out[400:] == 1)
    off = _pitch_look(owned, f0, lv, DiarizeConfig(pitch_look_min_sep_st=0.0), GRID)
    assert np.array_equal(off, owned)


def test_the_holders_own_excursion_stays():
    # a stretch at +6 st, nearer the listener's 9 st: inside the range of a holder who swings +-7 st
    # (a monologue's questions and stresses) it stays; a holder who swings +-1 st gets a "both"
    owned, f0, lv = _case(bc_st=6.0, holder_swing=7.0, listener_st=9.0)
    assert np.array_equal(_pitch_look(owned, f0, lv, DiarizeConfig(), GRID), owned)
    owned, f0, lv = _case(bc_st=6.0, holder_swing=1.0, listener_st=9.0)
    assert np.sum(_pitch_look(owned, f0, lv, DiarizeConfig(), GRID) == 2) >= 25


def test_a_quieter_stretch_or_close_voices_stay():
    owned, f0, lv = _case(bc_st=10.0, bc_level=-6.0)  # not louder than the run: no second voice added
    assert np.array_equal(_pitch_look(owned, f0, lv, DiarizeConfig(), GRID), owned)
    owned, f0, lv = _case(bc_st=3.0, listener_st=3.0)  # voices 3 st apart: below pitch_look_min_sep_st
    assert np.array_equal(_pitch_look(owned, f0, lv, DiarizeConfig(), GRID), owned)


def test_settings_out_of_range_are_refused():
    with pytest.raises(ConfigError, match="pitch_look_min_frac=1.5"):
        DiarizeConfig(pitch_look_min_frac=1.5).validate()
    DiarizeConfig(pitch_look_min_sep_st=0.0).validate()  # off is a valid setting
