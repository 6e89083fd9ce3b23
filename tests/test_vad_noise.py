"""Voice activity in room noise: pink noise (a fan's or a room's hum) at a planted SNR over
the speech. Where a channel has no cross-talk to reject, the level gate comes down with the
channel's own range (``VadConfig.gate_low_db``); the speaker channels cut from one signal by
diarization are filled, where their voice does not speak, with noise shaped like the
recording's own pauses (``speakers.floor_fill``), which that lower gate does not take for speech."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from prosody.config import AnalysisConfig, VadConfig
from prosody.engine.speakers import attribute, floor_fill
from prosody.session import analyze_blocks
from tests.conftest import FIXTURES
from tests.dialogue import pink_noise
from tests.dialogue import build_dialogue, mix_room, scenario_turns

HOP = 160


def _with_pink(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    return _with_noise(x, pink_noise(np.random.default_rng(seed), len(x)), snr_db)


def _with_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``x`` (n,) with ``noise`` ``snr_db`` below its active speech level (frames within 30 dB of its loudest)."""
    n = len(x) // HOP
    lv = 10 * np.log10(np.mean(x[: n * HOP].reshape(n, HOP).astype(np.float64) ** 2, axis=1) + 1e-20)
    speech_db = 10 * np.log10(np.mean(10 ** (lv[lv > lv.max() - 30] / 10)))
    noise = noise * 10 ** ((speech_db - snr_db - 10 * np.log10(np.mean(noise ** 2))) / 20)
    return (x + noise).astype(np.float32)


@pytest.fixture(scope="module")
def monologue():
    """The fixture monologue four times over at 0, -10, -6 and -12 dB (a voice that drops and
    trails off), then 3 s without speech: (samples, truth speech mask per frame)."""
    x, sr = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    segs = json.loads((FIXTURES / "mono_therapist.truth.json").read_text())["segments"]["therapist"]
    n1 = len(x) // HOP
    x = np.concatenate([x[: n1 * HOP] * np.float32(10 ** (g / 20)) for g in (0, -10, -6, -12)]
                       + [np.zeros(300 * HOP, np.float32)])
    t = (np.arange(len(x) // HOP) % n1 + 0.5) * 0.01
    truth = np.zeros(len(x) // HOP, bool)
    for a, b in segs:
        truth |= (t >= a) & (t < b)
    truth[4 * n1:] = False
    return x, truth


@pytest.fixture(scope="module")
def turns_dialogue():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    return build_dialogue(scenario_turns(8, seed=7), noise_db=None, level_db=(-22.0, -22.0), seed=7)


def _speech(x: np.ndarray, vad: VadConfig) -> np.ndarray:
    s = analyze_blocks([x[:, None]], ("t",), AnalysisConfig(vad=vad))
    return np.asarray(s.frames["t"]["is_speech"], bool)


def _noise(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return pink_noise(rng, n) if kind == "pink" else rng.standard_normal(n)


def test_gate_comes_down_in_noise_and_nothing_passes_in_the_pauses(monologue):
    # espeak's level is steadier than a person's: the planted gains make the quiet words
    x, truth = monologue
    fixed = VadConfig(gate_low_db=VadConfig().gate_db)
    n1 = len(truth) - 300
    inner = truth & (np.convolve(truth, np.ones(21), mode="same") == 21)  # 0.1 s inside the planted words
    outside = ~np.convolve(truth, np.ones(41), mode="same").astype(bool)  # 0.2 s from any planted word
    for kind, snr in (("pink", 5.0), ("white", 10.0)):  # a room's hum, a microphone's hiss
        y = _with_noise(x, _noise(kind, len(x), seed=int(snr)), snr)
        low, old = _speech(y, VadConfig()), _speech(y, fixed)
        f1, f1_old = (2 * np.sum(v & truth) / (v.sum() + truth.sum()) for v in (low, old))
        # measured: pink 5 dB recall 0.97 / 0.69, F1 0.92 / 0.76 (fixed gate); white 10 dB 0.94 / 0.67, 0.91 / 0.74
        assert np.mean(low[inner]) >= 0.9 and f1 >= 0.88 and f1 >= f1_old + 0.15, (kind, f1, f1_old)
        assert not low[n1:].any()  # 3 s of noise alone: no speech
        assert np.mean(low[outside]) <= 0.08, (kind, np.mean(low[outside]))  # the fixed gate: 0.034 (pauses bridged)


def test_clean_recording_keeps_the_fixed_gate(monologue):
    # the speech stands > 33 dB over the floor: the gate stays at gate_db, decisions unchanged
    x, _ = monologue
    y = x + np.random.default_rng(1).standard_normal(len(x)).astype(np.float32) * 10 ** (-70 / 20)
    assert np.array_equal(_speech(y, VadConfig()), _speech(y, VadConfig(gate_low_db=VadConfig().gate_db)))


def test_noise_following_gate_is_chunk_invariant(monologue):
    from prosody.engine.vad import RawVad
    x, _ = monologue
    y = _with_pink(x, 12.0, seed=5)
    frames = y[: len(y) // HOP * HOP].reshape(-1, HOP)
    whole = RawVad(VadConfig(), noise_following=True).push(frames)
    v, rng, parts, a = RawVad(VadConfig(), noise_following=True), np.random.default_rng(0), [], 0
    while a < len(frames):
        b = a + int(rng.integers(1, 400))
        parts.append(v.push(frames[a:b]))
        a = b
    assert np.array_equal(whole, np.concatenate(parts))


def test_floor_fill_has_the_pauses_spectrum():
    # pauses of pink noise at -50 dBFS between loud tones: the fill has their level and their
    # tilt (power below 500 Hz against above 2 kHz within 2 dB), not white noise's
    rng = np.random.default_rng(3)
    n = 600
    speech = (np.arange(n) // 50) % 2 == 0
    x = pink_noise(rng, n * HOP)
    x *= 10 ** (-50 / 20) / np.sqrt(np.mean(x ** 2))
    on = np.repeat(speech, HOP)
    x[on] += 0.1 * np.sin(np.arange(on.sum()) * 0.2)
    x = x.astype(np.float32)
    fill = floor_fill(x, speech, seed=0)

    def tilt(y):
        p = np.abs(np.fft.rfft(y)) ** 2
        f = np.fft.rfftfreq(len(y), 1 / 16000)
        return 10 * np.log10(p[(f > 50) & (f < 500)].sum() / p[f > 2000].sum())

    pauses = x[~on][: 40000]
    assert abs(tilt(fill[:40000]) - tilt(pauses)) < 2.0, (tilt(fill[:40000]), tilt(pauses))
    lv = 10 * np.log10(np.mean(x[~on].reshape(-1, HOP).astype(np.float64) ** 2, axis=1))
    assert abs(10 * np.log10(np.mean(fill.astype(np.float64) ** 2)) - np.median(lv)) < 1.5
    assert np.array_equal(fill, floor_fill(x, speech, seed=0))


def test_speaker_channels_of_a_noisy_mono_mix_carry_no_speech_where_the_other_voice_owns(turns_dialogue):
    # a speaker channel's fill, where the other voice owns the frames, is never this one's speech,
    # with the gate lowered in noise (a guard: the white-noise fill, several dB above pink room noise
    # in the voice activity's ear, passed there on AMI dialogues: benchmarks/diarization_noise.py)
    x, _ = mix_room(turns_dialogue, layout="mono", level_diff_db=(2.0, -2.0), rt60_s=0.3, noise_db=None, seed=7)
    y = _with_pink(x if x.ndim == 1 else x[:, 0], 10.0, seed=2)
    att = attribute(y)
    d = att.diarization
    assert d is not None and d.n_voices == 2
    s = analyze_blocks([att.channels(y)], att.speakers, cross_talk=False)
    for j, sp in enumerate(att.speakers):
        k = att.naming.names.index(sp)
        owned = (d.owner == k) | (d.owner == 2)
        v = np.asarray(s.frames[sp]["is_speech"][: d.n_frames], bool)
        # (a few frames where the smoother bridges the other voice's short turn between two of this one's)
        assert v.sum() > 300 and (v & ~owned[: len(v)]).sum() <= 0.01 * v.sum(), (sp, v.sum(),
                                                                                  (v & ~owned[: len(v)]).sum())


def test_one_speaker_recording_without_speech_says_so(tmp_path):
    # a muted recording and one of noise alone read "time speaking 0.0 s": now a warning says why
    from prosody.session import silent_speaker_warnings
    rng = np.random.default_rng(4)
    for x, what in ((np.zeros(16000 * 5, np.float32), "digital silence throughout"),
                    ((rng.standard_normal(16000 * 5) * 1e-3).astype(np.float32), "no speech was found on the recording")):
        s = analyze_blocks([x[:, None]], ("therapist",))
        w = silent_speaker_warnings(s)
        assert len(w) == 1 and w[0].startswith("therapist never speaks") and what in w[0], w
        assert "toward" not in w[0]
    x, _ = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    assert silent_speaker_warnings(analyze_blocks([x[:, None]], ("therapist",))) == ()


def test_lower_gate_holds_only_after_the_full_gate_a_chord_is_not_speech(monologue):
    # a steady chord (four tones beating a few dB over their own floor), louder than the speech's pauses:
    # webrtcvad takes it for speech, and a lower gate alone passed it nearly everywhere (167 s of a 169 s
    # recording); held to gate_hold_s (1 s) after a frame over the full gate, it stays near the planted words
    x, truth = monologue
    t = np.arange(len(x)) / 16000
    chord = sum(0.03 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.0, 330.0, 440.0)).astype(np.float32)
    v = _speech(x + chord, VadConfig())
    near = np.convolve(truth, np.ones(101), mode="same").astype(bool)  # within 0.5 s of a planted word
    assert np.mean(v[~near]) <= 0.02, np.mean(v[~near])
