"""Keyboard typing is not speech: a therapist taking notes on the laptop that carries the
microphone. webrtcvad and the level gate took keystrokes for speech (a minute of typing read as
28-45 s of speech); ``engine.vad.ClickMarks`` marks clicks (a sharp, high-frequency attack that
decays within 30 ms), which then join no stretch of speech. Material: ``tests/keyboard.py``
(keystrokes with resonances and releases, in words and bursts, in a room)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from prosody.config import AnalysisConfig, VadConfig
from prosody.engine.vad import ClickMarks, RawVad
from prosody.session import analyze_blocks
from tests.conftest import FIXTURES, corpus_dir
from tests.keyboard import typing, with_typing

HOP = 160
OFF = AnalysisConfig(vad=VadConfig(click_attack_db=0.0))


def _speech(x: np.ndarray, config: AnalysisConfig | None = None) -> np.ndarray:
    s = analyze_blocks([x[:, None]], ("therapist",), config)
    return np.asarray(s.frames["therapist"]["is_speech"], bool)


def _typing_alone(seed: int, seconds: float = 30.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    return (typing(rng, n) * 0.3 + 10 ** (-65 / 20) * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_typing_alone_is_not_speech(seed):
    x = _typing_alone(seed)
    on, off = _speech(x).sum() * 0.01, _speech(x, OFF).sum() * 0.01
    # measured (seeds 11-13): 0.0-0.49 s of 30 s; without the click marks 9.8-21.7 s
    assert on <= 1.5 and off >= 8.0, (on, off)


def test_typing_in_the_pauses_of_a_monologue_leaves_the_words():
    # the fixture monologue with typing over its pauses and words at peaks 6 dB under the speech's
    x, _ = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    segs = json.loads((FIXTURES / "mono_therapist.truth.json").read_text())["segments"]["therapist"]
    x = np.concatenate([np.zeros(16000 * 3, np.float32), x, np.zeros(16000 * 3, np.float32)])
    segs = [(a + 3.0, b + 3.0) for a, b in segs]
    y = with_typing(x, typing(np.random.default_rng(21), len(x)), -6.0)
    t = (np.arange(len(y) // HOP) + 0.5) * 0.01
    truth = np.zeros(len(t), bool)
    for a, b in segs:
        truth |= (t >= a) & (t < b)
    near = np.convolve(truth, np.ones(41), mode="same") > 0  # within 0.2 s of a planted word
    on, off = _speech(y)[: len(t)], _speech(y, OFF)[: len(t)]
    # measured: 0.98 of the words' frames found; 0.22 s found away from them (without the marks 2.85 s)
    assert np.mean(on[truth]) >= 0.93, np.mean(on[truth])
    assert (on & ~near).sum() <= 50 and (off & ~near).sum() >= 150, ((on & ~near).sum(), (off & ~near).sum())


def test_therapist_typing_while_the_client_speaks_is_not_the_therapist_speaking(needs_espeak):
    # separate channels: the therapist types on the laptop while the client speaks; without the marks
    # the therapist "talked over" the client (seconds of speech, phantom interruptions)
    from tests.dialogue import build_dialogue, scenario_mixed
    d = build_dialogue(scenario_mixed(seed=44), level_db=(-22.0, -22.0), noise_db=-70.0, seed=4)
    x, sr = d.audio.copy(), d.sample_rate
    client = np.zeros(len(x), bool)
    for a, b in d.truth.client_segments:
        client[int(a * sr):int(b * sr)] = True
    x[:, 0] = with_typing(x[:, 0], typing(np.random.default_rng(704), len(x)) * client, -6.0)
    t = (np.arange(len(x) // HOP) + 0.5) * 0.01
    own, words = np.zeros(len(t), bool), np.zeros(len(t), bool)
    for a, b in d.truth.therapist_segments:
        own |= (t >= a - 0.2) & (t < b + 0.2)
        words |= (t >= a + 0.1) & (t < b - 0.1)
    outside = {}
    for name, cfg in (("marks", None), ("off", OFF)):
        s = analyze_blocks([x], ("therapist", "client"), cfg)
        v = np.asarray(s.frames["therapist"]["is_speech"], bool)[: len(t)]
        outside[name] = int((v & ~own).sum())
        if name == "marks":
            assert np.mean(v[words]) >= 0.95, np.mean(v[words])
    # measured: 0.44 s of therapist speech away from the therapist's words (the words' frames: 1.00 found);
    # without the marks 5.36 s
    assert outside["marks"] <= 80 and outside["off"] >= 300, outside


def test_clean_speech_is_left_as_it_was(fixture_dialogue):
    # the fixture dialogue's words (espeak, plosives and all): the same frames with the marks or without
    audio, _ = fixture_dialogue
    a = analyze_blocks([audio], ("therapist", "client"))
    b = analyze_blocks([audio], ("therapist", "client"), OFF)
    for spk in ("therapist", "client"):
        np.testing.assert_array_equal(a.frames[spk]["is_speech"], b.frames[spk]["is_speech"])


def test_click_marks_are_the_same_for_any_block_split():
    x, _ = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    y = np.concatenate([_typing_alone(31, 8.0), with_typing(x, typing(np.random.default_rng(32), len(x)), -6.0)])
    frames = y[: len(y) // HOP * HOP].reshape(-1, HOP)

    def marks(sizes):
        vad, cm, out, a = RawVad(noise_following=True), ClickMarks(), [], 0
        for k in sizes:
            b = min(len(frames), a + k)
            out.append(cm.push(*vad.push_detail(frames[a:b]), final=b == len(frames)))
            a = b
            if a == len(frames):
                break
        return np.concatenate(out)

    whole = marks([len(frames)])
    rng = np.random.default_rng(0)
    assert len(whole) == len(frames) and 0.05 < whole.mean() < 0.9
    assert np.array_equal(whole, marks(rng.integers(1, 300, size=len(frames))))
    single = np.asarray(analyze_blocks([y[:, None]], ("t",)).frames["t"]["is_speech"])
    blocks = np.array_split(y[:, None], 37)
    np.testing.assert_array_equal(single, np.asarray(analyze_blocks(blocks, ("t",)).frames["t"]["is_speech"]))


@pytest.mark.parametrize("speaker", ["F01", "M01"])
def test_real_speech_keeps_every_voiced_frame_and_its_onset(speaker):
    # PTDB-TUG studio sentences ("She had your dark suit..."): the marks take their lip clicks and breath,
    # never a frame the laryngograph calls voiced, and the first word's fricative onset stays (M01's "She"
    # after a lip click lost its first 60 ms before the spread spared frames 10 dB over the click)
    base = (corpus_dir() or FIXTURES / "absent") / "PTDB-TUG"
    wav, ref_path = base / f"mic_{speaker}_sa1.wav", base / f"ref_{speaker}_sa1.f0"
    if not (wav.is_file() and ref_path.is_file()):
        pytest.skip("PTDB-TUG files not found (../shared/corpus or $PROSODY_CORPUS)")
    soxr = pytest.importorskip("soxr")
    x, sr = sf.read(wav, dtype="float64")
    y = soxr.resample(x, sr, 16000, quality="HQ").astype(np.float32)
    v = _speech(y)
    ref = np.loadtxt(ref_path, ndmin=2)[:, 0]
    voiced = np.rint((0.016 + 0.010 * np.flatnonzero(ref > 0)) / 0.01 - 0.5).astype(int)  # grid frames
    voiced = voiced[voiced < len(v)]
    assert np.mean(v[voiced]) >= 0.99, np.mean(v[voiced])
    # the unvoiced "sh" of "She" before the first voiced frame: measured 0.33 s (F01) and 0.12 s (M01) of speech
    # (without the marks 0.50 s and 0.41 s: the lip clicks and breath before it too)
    first = int(voiced[0])
    assert v[first - 10:first].all(), np.flatnonzero(v)[:3]
