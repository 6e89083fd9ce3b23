"""The choice between splits read on the speech frames' mel power less the noise floor of the recording's own
pauses, in noise only (``DiarizeConfig.decide_floor_below_db``, ``diarize._pause_floor`` / ``_decision_mel``;
docs/speakers.md, eighty-first round). Planted: a harmonic voice in bursts with pink noise of known level and
spectrum."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.diarize import DiarizeConfig, _decision_mel, _pause_floor
from prosody.engine.embedding import mel_frames_at
from prosody.timebase import GRID
from tests.dialogue import pink_noise


def _bursts(seconds: float = 12.0, snr_db: float = 8.0):
    """(clean voice, the same with pink noise ``snr_db`` under its speech, the planted speech frames, the noise
    alone): a 140 Hz harmonic voice with a falling spectrum, 0.6 s on and 0.4 s off."""
    sr, hop = GRID.sample_rate, GRID.hop_length
    t = np.arange(int(seconds * sr)) / sr
    voice = sum(np.sin(2 * np.pi * 140 * k * t + k) / k for k in range(1, 40))
    on = (t % 1.0) < 0.6
    voice = np.where(on, voice, 0.0) * 0.05
    noise = pink_noise(np.random.default_rng(3), len(t))
    noise *= np.sqrt(np.mean(voice[on] ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    n = len(t) // hop
    speech = on[: n * hop].reshape(n, hop).all(axis=1)
    return voice, voice + noise, speech, noise


def _memo(noisy, speech):
    return {"speech": speech, "melc": mel_frames_at(noisy, np.flatnonzero(speech))}


def test_the_pauses_floor_is_the_noises_mel_power_and_the_speech_is_read_over_it():
    clean, noisy, speech, noise = _bursts()
    idx = np.flatnonzero(speech)
    floor, over_db = _pause_floor(_memo(noisy, speech), lambda: noisy, None, GRID)
    true_floor = np.mean(mel_frames_at(noise, idx), axis=0, dtype=np.float64)
    # the median of a few FFT bins' power lies a little under their mean: within 3 dB, band by band
    assert np.all(np.abs(10 * np.log10(floor / true_floor)) < 3.0), 10 * np.log10(floor / true_floor)
    voice = mel_frames_at(clean, idx).sum(axis=1).mean() + true_floor.sum()
    assert abs(over_db - 10 * np.log10(voice / true_floor.sum())) < 2.0, over_db


def test_in_noise_the_choice_reads_the_speech_less_the_floor_and_as_heard_elsewhere():
    clean, noisy, speech, noise = _bursts()
    cfg = DiarizeConfig()
    memo = _memo(noisy, speech)
    less = _decision_mel(memo, lambda: noisy, None, cfg, GRID)
    heard = memo["melc"]
    assert less is not heard
    floor, _ = _pause_floor(memo, lambda: noisy, None, GRID)
    assert np.all(less <= heard) and np.all(less >= 0.1 * floor.astype(np.float32) * (1 - 1e-5))
    # where the voice stands 0-5 dB over the noise, its mean mel power as heard lies 1-2.6 dB too high, less the
    # floor within 0.5 dB of the clean voice's
    idx = np.flatnonzero(speech)
    voice = np.mean(mel_frames_at(clean, idx), axis=0, dtype=np.float64)
    true_floor = np.mean(mel_frames_at(noise, idx), axis=0, dtype=np.float64)
    over = 10 * np.log10(voice / true_floor)
    near = (over >= 0) & (over <= 5)
    assert near.sum() >= 10
    assert np.all(10 * np.log10(np.mean(heard, axis=0, dtype=np.float64)[near] / voice[near]) > 0.9)
    assert np.all(np.abs(10 * np.log10(np.mean(less, axis=0, dtype=np.float64)[over >= 0] / voice[over >= 0])) < 0.5)
    # a floor as far under the speech as a recording's own (held's espeak 29-40 dB, AMI 43-49 dB), the bar turned
    # off, or under 1 s of pauses: the very mel power as heard (the same object: nothing else moves)
    _, quiet, _, _ = _bursts(snr_db=cfg.decide_floor_below_db + 6.0)
    memo = _memo(quiet, speech)
    assert _decision_mel(memo, lambda: quiet, None, cfg, GRID) is memo["melc"]
    memo = _memo(noisy, speech)
    assert _decision_mel(memo, lambda: noisy, None, DiarizeConfig(decide_floor_below_db=0.0), GRID) is memo["melc"]
    mostly = speech.copy()
    mostly[: len(mostly) - 50] = True
    memo = _memo(noisy, mostly)
    assert _decision_mel(memo, lambda: noisy, None, cfg, GRID) is memo["melc"]


def test_config_refuses_a_negative_bar():
    from prosody.errors import ConfigError

    with pytest.raises(ConfigError):
        DiarizeConfig(decide_floor_below_db=-1.0).validate()
