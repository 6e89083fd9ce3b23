"""A noisy shared or mono recording is said to be noisy: how far its speech stands over the
noise is measured (``diarize.speech_over_noise_db``, in the JSON's ``sources.diarization``)
and, under ``NOISY_SPEECH_BELOW_DB``, a warning says that who spoke when is less sure.
Planted noise at known levels over espeak and real (AMI) voices; docs/speakers.md,
thirty-fourth round."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfilt

from prosody.engine.diarize import diarize, speech_over_noise_db
from prosody.engine.speakers import NOISY_SPEECH_BELOW_DB, attribute
from prosody.engine.views import ChannelMean
from tests.conftest import skip_without_espeak
from tests.dialogue import build_dialogue, pink_noise, scenario_turns

HOP = 160


def _active_level_db(clean: np.ndarray, speech_segments) -> float:
    """The planted speech level, from the clean signal and the truth (not the code under test):
    power mean of the truth's speech frames within 30 dB of their 99th percentile, heard through
    the voice activity's 150 Hz high-pass."""
    y = sosfilt(butter(4, 150.0, btype="highpass", fs=16000, output="sos"), clean.astype(np.float64))
    n = len(y) // HOP
    lv = 10 * np.log10(np.mean(y[: n * HOP].reshape(n, HOP) ** 2, axis=1) + 1e-20)
    t = (np.arange(n) + 0.5) * HOP / 16000
    sp = np.zeros(n, bool)
    for a, b in speech_segments:
        sp |= (t >= a) & (t < b)
    s = lv[sp]
    s = s[s > np.percentile(s, 99) - 30]
    return float(10 * np.log10(np.mean(10 ** (s / 10))))


def _white_at(clean: np.ndarray, level_db: float, snr_db: float, seed: int) -> np.ndarray:
    """``clean`` with white noise ``snr_db`` under ``level_db`` (white noise loses 1 % of its power
    to the 150 Hz high-pass: 0.04 dB)."""
    noise = np.random.default_rng(seed).standard_normal(len(clean)) * 10 ** ((level_db - snr_db) / 20)
    return (clean + noise).astype(np.float32)


@pytest.fixture(scope="module")
def mono_dialogue():
    skip_without_espeak()
    d = build_dialogue(scenario_turns(8, seed=11), noise_db=None, level_db=(-24.0, -20.0), seed=11)
    clean = d.audio.mean(axis=1).astype(np.float32)
    segs = list(d.truth.therapist_segments) + list(d.truth.client_segments)
    return clean, _active_level_db(clean, segs)


@pytest.mark.parametrize("snr_db", [12.0, 20.0, 30.0])
def test_the_planted_noise_level_is_measured_and_said_under_the_bar(mono_dialogue, snr_db):
    clean, level_db = mono_dialogue
    x = _white_at(clean, level_db, snr_db, seed=int(snr_db))
    att = attribute(x)
    son = att.diarization.speech_over_noise_db
    assert son == pytest.approx(snr_db, abs=1.5)
    noisy = [w for w in att.warnings if w.startswith("noisy recording")]
    assert bool(noisy) == (snr_db < NOISY_SPEECH_BELOW_DB), att.warnings
    if noisy:
        assert f"stands {son:.0f} dB over the noise" in noisy[0]
    assert att.to_dict()["diarization"]["speech_over_noise_db"] == round(son, 1)


def test_a_clean_mix_is_not_called_noisy(mono_dialogue):
    clean, level_db = mono_dialogue
    att = attribute(_white_at(clean, level_db, 60.0, seed=3))  # the synthesis' own floor aside, 60 dB
    assert att.diarization.speech_over_noise_db > 50.0
    assert not [w for w in att.warnings if w.startswith("noisy recording")]


def test_a_hum_or_rumble_under_the_voice_band_is_not_counted_as_noise(mono_dialogue):
    """A 30 Hz rumble 10 dB under the speech (broadband) lies under the voice activity's high-pass:
    the measure reads the white noise planted 35 dB under, not the rumble."""
    clean, level_db = mono_dialogue
    x = _white_at(clean, level_db, 35.0, seed=5)
    t = np.arange(len(x)) / 16000
    x = x + (np.sqrt(2) * 10 ** ((level_db - 10.0) / 20) * np.sin(2 * np.pi * 30.0 * t)).astype(np.float32)
    son = diarize(x).speech_over_noise_db
    assert son == pytest.approx(35.0, abs=3.0)


@pytest.mark.parametrize("snr_db", [12.0, 60.0])
def test_one_voice_found_in_noise_names_the_noise(mono_dialogue, monkeypatch, snr_db):
    """Where one voice is found in a noisy recording, the one-voice warning says the two could not
    be told apart in this noise; in a clean one, as before, that their voices were too alike. The
    real diarizer, held to one voice (``n_voices=1``) to reach that warning on this dialogue."""
    import prosody.engine.speakers as speakers
    real = speakers.diarize
    monkeypatch.setattr(speakers, "diarize", lambda audio, **kw: real(audio, **{**kw, "n_voices": 1}))
    clean, level_db = mono_dialogue
    att = attribute(_white_at(clean, level_db, snr_db, seed=7))
    one = [w for w in att.warnings if w.startswith("one voice found")]
    assert att.diarization.n_voices == 1 and len(one) == 1, att.warnings
    if snr_db < NOISY_SPEECH_BELOW_DB:
        assert "could not be told apart in this noise" in one[0] and "too alike" not in one[0], one
    else:
        assert "their voices were too alike to tell apart on one channel" in one[0] and "noise" not in one[0], one


def test_measured_piece_by_piece_as_whole_and_on_a_stereo_mean():
    """More frames than one piece (8192): the filter's state is carried across pieces (the same
    value as filtering the whole at once), and a stereo pair's ChannelMean reads as its mean."""
    rng = np.random.default_rng(0)
    n = 20000 * HOP
    x = (rng.standard_normal(n) * 0.001).astype(np.float32)
    speech = np.zeros(n // HOP, bool)
    for a in range(0, n // HOP, 400):  # 2 s of louder noise every 4 s
        speech[a:a + 200] = True
        x[a * HOP:(a + 200) * HOP] *= 100.0
    got = speech_over_noise_db(x, speech, highpass_hz=150.0)
    y = sosfilt(butter(4, 150.0, btype="highpass", fs=16000, output="sos"), x.astype(np.float64))
    lv = 10 * np.log10(np.mean(y.reshape(-1, HOP) ** 2, axis=1) + 1e-20)
    s = lv[speech]
    s = s[s > np.percentile(s, 99) - 30]
    want = 10 * np.log10(np.mean(10 ** (s / 10))) - np.median(lv[~speech])
    assert got == pytest.approx(want, abs=1e-9) and got == pytest.approx(40.0, abs=0.5)
    pair = np.stack([x, x], axis=1)
    assert speech_over_noise_db(ChannelMean(pair), speech, highpass_hz=150.0) == pytest.approx(got, abs=1e-9)


def test_no_noise_measure_without_a_second_of_pauses_or_of_speech():
    x = np.random.default_rng(1).standard_normal(300 * HOP).astype(np.float32)
    assert np.isnan(speech_over_noise_db(x, np.ones(300, bool), highpass_hz=150.0))
    assert np.isnan(speech_over_noise_db(x, np.r_[np.ones(50, bool), np.zeros(250, bool)], highpass_hz=150.0))
    sp = np.r_[np.ones(150, bool), np.zeros(150, bool)]
    assert np.isfinite(speech_over_noise_db(x, sp, highpass_hz=150.0))


def test_real_voices_in_room_noise_are_said_noisy(corpus, tmp_path):
    """AMI dev00 (two real voices, mono) as recorded (some 34 dB over its own noise) and with pink
    noise 15 dB under its speech, through `prosody analyze --json`: the noisy one is said so, in the
    summary and the JSON, the clean one is not. In that noise one voice is found so far, and the
    one-voice warning names the noise, not voices too alike (which it said before)."""
    from prosody_cli.main import main
    x, sr = sf.read(corpus / "pyannote-audio" / "dev00.wav", dtype="float32")
    x = x[: 90 * sr] if x.ndim == 1 else x[: 90 * sr].mean(axis=1)
    n = len(x) // HOP
    lv = 10 * np.log10(np.mean(x[: n * HOP].astype(np.float64).reshape(n, HOP) ** 2, axis=1) + 1e-20)
    speech_db = 10 * np.log10(np.mean(10 ** (lv[lv > lv.max() - 30] / 10)))
    noise = pink_noise(np.random.default_rng(15), len(x))
    noise *= 10 ** ((speech_db - 15.0 - 10 * np.log10(np.mean(noise ** 2))) / 20)
    sf.write(tmp_path / "clean.wav", x, sr)
    sf.write(tmp_path / "noisy.wav", (x + noise).astype(np.float32), sr)
    son = {}
    for name in ("clean", "noisy"):
        out = tmp_path / f"{name}.json"
        rc = main(["analyze", str(tmp_path / f"{name}.wav"), "--json", str(out)])
        assert rc == 0
        doc = json.loads(out.read_text())
        src = doc["attribution"]
        son[name] = src["diarization"]["speech_over_noise_db"]
        said = any(w.startswith("noisy recording") for w in src["warnings"])
        assert said == (name == "noisy"), (name, son[name], src["warnings"])
        one = [w for w in src["warnings"] if w.startswith("one voice found")]
        assert (src["diarization"]["voices"] == 1) == bool(one), src["warnings"]
        if one and name == "noisy":  # one voice found in the noise (so far): the noise is named, not alike voices
            assert "could not be told apart in this noise" in one[0] and "too alike" not in one[0], one
    assert son["clean"] > 30.0 and 12.0 < son["noisy"] < 21.0
