"""A noisy shared or mono recording is split on the noise-following gate's speech (``diarize._speech_in_noise``,
``DiarizeConfig.follow_gate_below_db``): in room noise the fixed 9 dB gate drops much of a voice 14 dB quieter than
the other, and the split then has too little of it. Planted: an espeak dialogue whose client speaks 14 dB under
the therapist, pink noise 17 dB under the active speech level (the speech then stands 22 dB over the noise, inside
the band the rule covers: 20-23 dB); docs/speakers.md, sixtieth round."""
from __future__ import annotations


import numpy as np
import pytest

from prosody.engine.diarize import DiarizeConfig, diarize, speech_mask, speech_over_noise_db
from tests.conftest import skip_without_espeak
from tests.dialogue import build_dialogue, pink_noise, planted_frames, scenario_turns

OLD = DiarizeConfig(follow_gate_below_db=0.0)  # the fixed gate's speech everywhere, as before the sixtieth round


@pytest.fixture(scope="module")
def quiet_client():
    """(clean mix, its noisy copy, therapist-only frames, client-only frames, pause frames) on the 10 ms grid."""
    skip_without_espeak()
    d = build_dialogue(scenario_turns(8, seed=12), noise_db=None, level_db=(-20.0, -34.0), seed=12)
    clean = d.audio.mean(axis=1).astype(np.float64)
    n = len(clean) // 160
    on, _ = planted_frames(d.truth.to_json_dict(), n)
    th, cl = on[0], on[1]
    lv = 10 * np.log10(np.mean(clean[:n * 160].reshape(n, 160) ** 2, axis=1) + 1e-20)
    s = lv[th | cl]
    active_db = 10 * np.log10(np.mean(10 ** (s[s > np.percentile(s, 99) - 30] / 10)))
    noise = pink_noise(np.random.default_rng(17), len(clean))
    noise *= 10 ** ((active_db - 17.0) / 20) / np.sqrt(np.mean(noise ** 2))
    return clean.astype(np.float32), (clean + noise).astype(np.float32), th & ~cl, cl & ~th, ~(th | cl)


def _shares(d, th, cl):
    """Under the better naming: (the therapist's frames heard as hers, the client's heard as hers alone, the
    client's heard as the therapist's alone)."""
    a = d.activity
    p = max((0, 1), key=lambda k: np.sum(th & a[:, k]) + np.sum(cl & a[:, 1 - k]))
    return (float(np.mean(a[th, p])), float(np.mean(a[cl, 1 - p] & ~a[cl, p])),
            float(np.mean(a[cl, p] & ~a[cl, 1 - p])))


def test_the_quiet_voice_is_kept_in_noise(quiet_client):
    _, x, th, cl, pause = quiet_client
    new, old = diarize(x), diarize(x, config=OLD)
    assert new.n_voices == old.n_voices == 2
    th_new, own_new, wrong_new = _shares(new, th, cl)
    th_old, own_old, _ = _shares(old, th, cl)
    assert own_old < 0.85  # the fixed gate lost a fifth of the quiet client (0.74)
    assert own_new >= 0.92 and wrong_new <= 0.03  # now 0.96, none to the therapist
    assert th_new >= 0.95 and th_old >= 0.95
    # the pauses stay pauses, but for the lower gate's hold next to speech (0.015 -> 0.055 of the pause frames)
    assert np.mean(new.speech[:len(pause)][pause]) <= 0.08
    # the noise is measured as before, on the fixed gate's speech (the noisy warning, the unsure test)
    fixed = speech_mask(x, OLD.vad)
    assert new.speech_over_noise_db == speech_over_noise_db(x, fixed, highpass_hz=OLD.vad.highpass_hz)
    assert DiarizeConfig().follow_gate_above_db <= new.speech_over_noise_db < DiarizeConfig().follow_gate_below_db


def test_a_clean_recording_is_split_as_before(quiet_client):
    clean = quiet_client[0]
    new, old = diarize(clean), diarize(clean, config=OLD)
    assert new.speech_over_noise_db >= DiarizeConfig().follow_gate_below_db
    assert np.array_equal(new.activity, old.activity) and np.array_equal(new.owner, old.owner)


def test_the_bar_is_checked():
    with pytest.raises(Exception, match="follow_gate_below_db"):
        DiarizeConfig(follow_gate_below_db=-1.0).validate()
    with pytest.raises(Exception, match="follow_gate_min_added"):
        DiarizeConfig(follow_gate_min_added=1.5).validate()


def test_one_voice_alone_in_noise_is_not_split_where_the_lower_gate_adds_nothing_lost():
    """Hostile sweep 26: one espeak voice alone (scenario_turns(16, seed=3)'s therapist), white noise 22.5 dB under
    its active level (speech 22.46 dB over the noise, inside the band): the noise-following gate added 10 frames
    of its own edges to 1617 (0.6 %) and the split tipped into two voices of 0.73 / 0.32. Taken only where it adds
    ``follow_gate_min_added`` (2 %) or more (a quieter voice lost: 4-17 % on amireal at 20 dB), it stays one."""
    skip_without_espeak()
    d = build_dialogue(scenario_turns(16, seed=3), noise_db=None, level_db=(-20.0, -34.0), seed=3)
    clean = d.audio[:, 0].astype(np.float64)  # the therapist's channel alone
    n = len(clean) // 160
    on, _ = planted_frames(d.truth.to_json_dict(), n)
    lv = 10 * np.log10(np.mean(clean[:n * 160].reshape(n, 160) ** 2, axis=1) + 1e-20)
    s = lv[on[0]]
    active_db = 10 * np.log10(np.mean(10 ** (s[s > np.percentile(s, 99) - 30] / 10)))
    noise = np.random.default_rng(20).standard_normal(len(clean))
    x = (clean + noise * 10 ** ((active_db - 22.5) / 20) / np.sqrt(np.mean(noise ** 2))).astype(np.float32)
    got = diarize(x)
    assert DiarizeConfig().follow_gate_above_db <= got.speech_over_noise_db < DiarizeConfig().follow_gate_below_db
    assert got.n_voices == 1, got.voice_share
    fixed, follow = speech_mask(x, OLD.vad), speech_mask(x, OLD.vad, noise_following=True)
    assert np.sum(follow & ~fixed) < DiarizeConfig().follow_gate_min_added * np.sum(fixed)
