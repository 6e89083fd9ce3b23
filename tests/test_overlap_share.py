"""A listener's share of the mixture over an excursion inside the holder's speech, measured on a mono
mix (``engine.speakers.listener_share``, ``overlap_gains`` given the mix's levels): planted levels, and
planted failed interruptions of ``scenario_overlap_events`` (docs/speakers.md, fifty-ninth round)."""
from __future__ import annotations

import numpy as np

from prosody.engine.speakers import (LISTENER_OVERLAP_GAIN, LISTENER_SHARE_LONG_MARGIN_DB, LISTENER_SHARE_LONG_S,
                                     LISTENER_SHARE_MARGIN_DB, listener_share, overlap_gains)
from tests.conftest import match_events
from tests.dialogue import analysed_as_planted, build_dialogue, planted_frames, scenario_overlap_events


def _excursion(level_db: float):
    """Holder (voice 0) 1 s at -30 dBFS, both voices 0.5 s at ``level_db``, holder 1 s again."""
    owner = np.array([0] * 100 + [2] * 50 + [0] * 100, np.int8)
    levels = np.where(owner == 2, level_db, -30.0)
    return owner, np.ones(len(owner), bool), levels


def test_a_loud_listener_over_the_holder_gets_its_measured_share():
    """The mixture 6 dB over the holder's own level around it: the listener holds 1 - 10^-0.6 = 75 % of
    its energy, and its channel gets the root of that less the margin; a mixture 0.5 dB over the holder
    (a soft "mm") keeps ``LISTENER_OVERLAP_GAIN``, as without the levels."""
    owner, speech, levels = _excursion(-24.0)
    share = listener_share(owner, speech, levels, 100, 150, 0)
    assert abs(share - (1 - 10 ** -0.6)) < 1e-9
    g = overlap_gains(owner, speech, levels)
    want = (share * 10 ** (LISTENER_SHARE_MARGIN_DB / 10)) ** 0.5
    assert np.allclose(g[100:150, 1], want) and want > LISTENER_OVERLAP_GAIN
    assert np.all(g[:100] == 1.0) and np.all(g[150:] == 1.0)  # the holder alone keeps the recording's level
    owner, speech, soft = _excursion(-29.5)
    assert np.all(overlap_gains(owner, speech, soft)[100:150, 1] == LISTENER_OVERLAP_GAIN)
    assert np.all(overlap_gains(owner, speech)[100:150, 1] == LISTENER_OVERLAP_GAIN)


def test_no_holder_around_no_measured_share():
    """Fewer than 0.2 s of the holder's own speech around the excursion: no share measured (0)."""
    owner = np.array([0] * 10 + [2] * 50 + [0] * 5, np.int8)
    levels = np.where(owner == 2, -20.0, -30.0)
    assert listener_share(owner, np.ones(len(owner), bool), levels, 10, 60, 0) == 0.0


def _planted_mono(seed: int):
    """``scenario_overlap_events`` seed ``seed`` (tuning material of benchmarks/overlap_events.py) as the mono mix
    of its two channels x 0.7 with the diarizer's labels built from the planted segments (both voices where both
    speak), analysed as ``prosody analyze`` does: (truth, the session's JSON)."""
    rng = np.random.default_rng([seed, 7])
    level = (float(rng.uniform(-36, -28)), float(rng.uniform(-36, -28)))
    dlg = build_dialogue(scenario_overlap_events(seed=seed), seed=seed, level_db=level, noise_db=-70.0)
    x = (dlg.audio.astype(np.float64).sum(axis=1) * 0.7).astype(np.float32)
    truth = dlg.truth.to_json_dict()
    n = len(x) // 160
    on, owner = planted_frames(truth, n)
    return truth, analysed_as_planted(x, on, owner)


def _events_found(seed: int, n_fi: int, n_bc: int) -> None:
    """Every planted failed interruption of ``_planted_mono(seed)`` found as one, every planted backchannel
    found and none false."""
    truth, doc = _planted_mono(seed)
    fis = [e for e in truth["events"] if e["kind"] == "failed_interruption"]
    bcs = [e for e in truth["events"] if e["kind"] == "backchannel"]
    assert len(fis) == n_fi and len(bcs) == n_bc
    found_fi = [e for e in doc["events"] if e["kind"] == "failed_interruption"]
    found_bc = [e for e in doc["events"] if e["kind"] == "backchannel"]
    assert match_events(found_fi, fis) == [], doc["events"]
    assert match_events(found_bc, bcs) == [] and match_events(bcs, found_bc) == [], doc["events"]


def test_failed_interruptions_on_a_mono_mix_are_found(needs_espeak):
    """Seed 2: every planted failed interruption (a real start at -1..+6 dB re the speaker's own level inside
    the other's speech) is found as one and no backchannel is false. With the fixed -10.5 dB listener gain 4 of
    7 were, the other 3 read as backchannels (3 false)."""
    _events_found(2, 7, 6)


def test_a_long_excursion_is_read_without_the_margin():
    """0.8 s of both voices 6 dB over the holder: the listener's gain is the root of its measured share (75 %),
    no margin (``LISTENER_SHARE_LONG_MARGIN_DB``, 0 dB), as separate channels would read it; 0.5 s of the same
    keeps ``LISTENER_SHARE_MARGIN_DB``. Before the sixty-first round both had the margin."""
    owner = np.array([0] * 100 + [2] * 80 + [0] * 100, np.int8)
    levels = np.where(owner == 2, -24.0, -30.0)
    speech = np.ones(len(owner), bool)
    share = listener_share(owner, speech, levels, 100, 180, 0)
    assert abs(share - (1 - 10 ** -0.6)) < 1e-9
    assert LISTENER_SHARE_LONG_S <= 0.8 and LISTENER_SHARE_LONG_MARGIN_DB == 0.0
    assert np.allclose(overlap_gains(owner, speech, levels)[100:180, 1], share ** 0.5)
    owner, speech, levels = _excursion(-24.0)
    assert np.allclose(overlap_gains(owner, speech, levels)[100:150, 1],
                       (share * 10 ** (LISTENER_SHARE_MARGIN_DB / 10)) ** 0.5)


def test_a_long_failed_interruption_on_a_mono_mix_is_found(needs_espeak):
    """Seed 4: its 4 planted failed interruptions found as such, its 9 backchannels found and none false. With
    the margin on every excursion the therapist's at 96.34-97.05 s (0.72 s) read as a backchannel (3 of 4, 1 false)."""
    _events_found(4, 4, 9)
