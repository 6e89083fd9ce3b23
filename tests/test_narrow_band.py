"""A telephone-band shared or mono recording is said to be one: how much of its speech lies above
the telephone band is measured (``diarize.speech_high_band_db``, in the JSON's
``attribution.diarization``) and, under ``NARROW_BAND_BELOW_DB``, a warning says that who spoke when
is less sure. Planted band powers, and espeak and real (AMI) voices as recorded, through a
300-3400 Hz channel, with hiss over it, and in wide-band noise; docs/speakers.md, thirty-seventh
round."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, resample_poly, sosfiltfilt

from prosody.engine.diarize import HIGH_BAND_HZ, VOICE_BAND_HZ, speech_high_band_db
from prosody.engine.speakers import NARROW_BAND_BELOW_DB, NARROW_BAND_TEXT, attribute
from prosody.engine.views import ChannelMean
from tests.conftest import corpus_dir
from tests.dialogue import build_dialogue, scenario_turns

HOP = 160
SR = 16000


def _band_noise(rng, n: int, lo_hz: float, hi_hz: float, power: float) -> np.ndarray:
    """(n,) white noise of mean power ``power`` over ``lo_hz`` .. ``hi_hz`` only (FFT mask)."""
    f = np.fft.rfft(rng.standard_normal(n))
    freq = np.fft.rfftfreq(n, 1 / SR)
    f[(freq < lo_hz) | (freq > hi_hz)] = 0
    y = np.fft.irfft(f, n)
    return y * np.sqrt(power / np.mean(y ** 2))


def _telephone(x: np.ndarray) -> np.ndarray:
    """``x`` through a telephone channel: 8 kHz, 300-3400 Hz (6th-order Butterworth), back to 16 kHz."""
    y = resample_poly(np.asarray(x, np.float64), 1, 2)
    y = sosfiltfilt(butter(6, [300, 3400], btype="band", fs=8000, output="sos"), y)
    return resample_poly(y, 2, 1)[:len(x)].astype(np.float32)


@pytest.mark.parametrize("planted_db", [-20.0, -30.0, -45.0])
def test_the_planted_band_ratio_is_measured_with_the_pauses_noise_taken_out(planted_db):
    """Speech frames: noise of power 1e-3 over the voice band and ``planted_db`` under it over the
    high band, on top of a white hiss that also fills the pauses (-75 dBFS: in the high band 4 dB
    under the planted -45 dB, 21 and 31 dB under the others); the measure reads the planted ratio, the
    hiss taken out."""
    rng = np.random.default_rng(int(-planted_db))
    n_frames = 6000
    n = n_frames * HOP
    speech = np.zeros(n_frames, bool)
    for a in range(0, n_frames, 300):  # 2 s of speech every 3 s
        speech[a:a + 200] = True
    on = np.repeat(speech, HOP)
    voice = _band_noise(rng, n, *VOICE_BAND_HZ, 1e-3)
    high = _band_noise(rng, n, *HIGH_BAND_HZ, 1e-3 * 10 ** (planted_db / 10))
    x = ((voice + high) * on + rng.standard_normal(n) * 10 ** (-75 / 20)).astype(np.float32)
    got = speech_high_band_db(x, speech)
    assert got == pytest.approx(planted_db, abs=1.0)
    # a stereo pair's mean reads the same, and more frames than one piece (4096) are read piece by piece
    assert speech_high_band_db(ChannelMean(np.stack([x, x], axis=1)), speech) == pytest.approx(got, abs=1e-6)


def test_nothing_above_the_band_reads_the_floor_and_too_little_speech_nan():
    rng = np.random.default_rng(3)
    n_frames = 1000
    speech = np.r_[np.zeros(200, bool), np.ones(600, bool), np.zeros(200, bool)]
    x = (_band_noise(rng, n_frames * HOP, *VOICE_BAND_HZ, 1e-3) * np.repeat(speech, HOP)).astype(np.float32)
    assert speech_high_band_db(x, speech) == pytest.approx(-90.0, abs=1e-9)
    assert np.isnan(speech_high_band_db(x, np.r_[np.ones(50, bool), np.zeros(950, bool)]))


@pytest.fixture(scope="module")
def mono_dialogue():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    d = build_dialogue(scenario_turns(8, seed=21), noise_db=None, level_db=(-24.0, -22.0), seed=21)
    return d.audio.mean(axis=1).astype(np.float32)


def _narrow_warnings(att) -> list[str]:
    return [w for w in att.warnings if w.startswith("telephone-band recording")]


def test_espeak_dialogue_wide_is_wide_through_a_phone_line_narrow(mono_dialogue):
    """The dialogue as made reads wide; through a telephone channel, and so with faint recorder hiss
    over it (-70 dBFS), narrow, said once."""
    x = mono_dialogue
    rng = np.random.default_rng(5)
    phone = _telephone(x)
    att = attribute(x)
    band = att.diarization.speech_high_band_db
    assert -35.0 < band < -10.0 and not _narrow_warnings(att), (band, att.warnings)
    for y in (phone, (phone + rng.standard_normal(len(x)) * 10 ** (-70 / 20)).astype(np.float32)):
        att = attribute(y)
        band = att.diarization.speech_high_band_db
        assert band < -41.0 and _narrow_warnings(att) == [NARROW_BAND_TEXT], (band, att.warnings)
        assert att.to_dict()["diarization"]["speech_high_band_db"] == round(band, 1)


def test_a_high_band_mostly_noise_is_not_told_either_way(mono_dialogue):
    """Where the speech frames' high band is mostly the pauses' noise, and that noise is not faint, the
    measure cannot tell a wide-band voice in loud white noise from a telephone voice under hiss (the
    difference of two near-equal powers, moved by which noisy frames the voice activity took for
    speech): nan, and no telephone-band warning either way, nor a false one on the wide-band voice."""
    x = mono_dialogue
    rng = np.random.default_rng(6)
    level = 10 * np.log10(np.mean(x[np.abs(x) > 1e-4] ** 2))
    wide_in_noise = (x + rng.standard_normal(len(x)) * 10 ** ((level - 10) / 20)).astype(np.float32)
    phone_under_hiss = (_telephone(x) + rng.standard_normal(len(x)) * 10 ** ((level - 20) / 20)).astype(np.float32)
    for y in (wide_in_noise, phone_under_hiss):
        att = attribute(y)
        assert np.isnan(att.diarization.speech_high_band_db) and not _narrow_warnings(att), (
            att.diarization.speech_high_band_db, att.warnings)
        assert att.to_dict()["diarization"]["speech_high_band_db"] is None


def test_real_voices_through_a_phone_line_are_said_narrow():
    """AMI dev01 (two real voices) as recorded reads wide; through a telephone channel, narrow."""
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("the AMI corpus (../shared/corpus) is absent")
    x, sr = sf.read(corpus / "pyannote-audio" / "dev01.wav", dtype="float32")
    assert sr == SR
    wide, narrow = attribute(x), attribute(_telephone(x))
    assert wide.diarization.speech_high_band_db > -30.0 and not _narrow_warnings(wide)
    assert narrow.diarization.speech_high_band_db < -45.0 and _narrow_warnings(narrow) == [NARROW_BAND_TEXT]


def test_one_voice_found_in_the_narrow_band_names_the_band(mono_dialogue, monkeypatch):
    """Where one voice is found in a telephone-band recording, the one-voice warning says the two
    could not be told apart in this sound (not that their voices were too alike). The real
    diarizer, held to one voice (``n_voices=1``) to reach that warning."""
    import prosody.engine.speakers as speakers
    real = speakers.diarize
    monkeypatch.setattr(speakers, "diarize", lambda audio, **kw: real(audio, **{**kw, "n_voices": 1}))
    att = attribute(_telephone(mono_dialogue))
    one = [w for w in att.warnings if w.startswith("one voice found")]
    assert len(one) == 1 and "could not be told apart in this telephone-band sound" in one[0], att.warnings
    assert "too alike" not in one[0]


def test_an_8_khz_file_is_said_narrow_on_the_command_line(mono_dialogue, tmp_path, capsys):
    """An 8 kHz WAV (a phone call's recording) through ``prosody analyze``: the warning on stderr
    once, the measure in the JSON; the same dialogue at 16 kHz: neither."""
    from prosody_cli.main import main
    lo = tmp_path / "call8k.wav"
    sf.write(lo, resample_poly(mono_dialogue.astype(np.float64), 1, 2).astype(np.float32), 8000)
    hi = tmp_path / "call16k.wav"
    sf.write(hi, mono_dialogue, SR)
    for path, narrow in ((lo, True), (hi, False)):
        out = tmp_path / f"{path.stem}.json"
        capsys.readouterr()
        assert main(["analyze", str(path), "--json", str(out)]) == 0
        err = capsys.readouterr().err
        doc = json.loads(out.read_text())["attribution"]
        band = doc["diarization"]["speech_high_band_db"]
        assert err.count("prosody: warning: telephone-band recording") == (1 if narrow else 0), err
        assert sum(w.startswith("telephone-band recording") for w in doc["warnings"]) == (1 if narrow else 0)
        assert (band < NARROW_BAND_BELOW_DB) == narrow, band
