"""Pitch outside the search range, and speech with too little voicing for pitch or pace.

Planted truth: Rosenberg glottal pulses and harmonic tones of known F0 just outside
``[fmin_hz, fmax_hz]`` (the tracker must call those frames unvoiced, never report an
F0 outside the range); per-frame columns with a planted voiced share (pitch and pace
figures need ``MIN_VOICED_SHARE`` of the speech voiced); a voice below the pitch floor
and a whisper end to end (pitch and pace "–", never a number or 0); and the fixture
dialogue, whose speech rate (with pauses) may never exceed its articulation rate.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from prosody.config import AnalysisConfig, PitchConfig
from prosody.engine.pitch import PitchTracker
from prosody.measures import MeasuresConfig, Slice, voice_measures
from prosody.measures.slice import MIN_VOICED_SHARE, enough_voiced
from prosody.session import analyze_blocks
from prosody.timebase import GRID
from prosody.types import Segment
from tests.test_pitch import glottal_vowel, harmonic

SR = GRID.sample_rate


def _track(x: np.ndarray, config: PitchConfig) -> tuple[np.ndarray, np.ndarray]:
    tracker = PitchTracker(config)
    parts = [tracker.push(x), tracker.flush()]
    return np.concatenate([p.f0_hz for p in parts]), np.concatenate([p.voiced_prob for p in parts])


def _assert_in_range(f0: np.ndarray, prob: np.ndarray, config: PitchConfig) -> None:
    v = np.isfinite(f0)
    bad = f0[v][(f0[v] < config.fmin_hz) | (f0[v] > config.fmax_hz)]
    assert len(bad) == 0, f"F0 outside {config.fmin_hz}-{config.fmax_hz} Hz: {np.unique(np.round(bad, 1))}"
    assert np.array_equal(v, prob >= 0.5)  # finite exactly where voiced


# ---- the tracker never reports an F0 outside its search range ----------------------------------

@pytest.mark.parametrize("f0_hz", [42.0, 44.0, 46.0, 48.0, 49.5])
def test_glottal_voice_below_the_floor_never_gets_an_f0_below_it(f0_hz):
    """A 44 Hz voice (espeak -p 20, pitched down) gave F0s of 49.9 Hz and 781-790 Hz with the
    50-600 Hz default; every F0 reported must lie in the range."""
    n = 2 * SR
    t = np.arange(n) / SR
    x = glottal_vowel(f0_hz * 2.0 ** (0.05 * np.sin(2 * np.pi * 1.5 * t)), seed=int(f0_hz))
    config = PitchConfig()
    _assert_in_range(*_track(x, config), config)


@pytest.mark.parametrize("f0_hz", [605.0, 620.0, 650.0, 700.0, 760.0])
def test_tone_above_the_ceiling_never_gets_an_f0_above_it(f0_hz):
    config = PitchConfig()
    _assert_in_range(*_track(harmonic(f0_hz, 1.0, seed=3), config), config)


@pytest.mark.parametrize("f0_hz", [90.0, 97.0, 99.0, 405.0, 420.0, 450.0])
def test_narrow_range_edges_are_respected(f0_hz):
    config = PitchConfig(fmin_hz=100.0, fmax_hz=400.0)
    _assert_in_range(*_track(harmonic(f0_hz, 1.0, seed=4), config), config)


def test_inside_the_range_near_its_edges_is_still_measured():
    """The range check costs nothing inside the range: 55 Hz and 560 Hz stay voiced within 20 cents."""
    for f0_hz, x in ((55.0, glottal_vowel(np.full(2 * SR, 55.0), seed=5)), (560.0, harmonic(560.0, 1.0, seed=6))):
        f0, _ = _track(x, PitchConfig())
        inner = f0[20:-20]
        assert np.mean(np.isfinite(inner)) >= 0.9
        assert np.nanmedian(np.abs(1200 * np.log2(inner / f0_hz))) <= 20.0


# ---- pitch and pace need enough voiced speech ----------------------------------------------------

def _slice(n_frames: int, voiced: np.ndarray, nuclei_s=()) -> Slice:
    f0 = np.where(voiced, 100.0 * 2 ** (np.arange(n_frames) % 7 / 12), np.nan).astype(np.float32)
    fr = {"is_speech": np.ones(n_frames, bool), "f0_hz": f0, "rms_db": np.full(n_frames, -30.0, np.float32),
          "hf500_db": np.full(n_frames, -10.0, np.float32)}
    end = GRID.frames_to_s(n_frames)
    return Slice(GRID, ("t",), 0, n_frames, {"t": fr}, (Segment("t", 0.0, end),), (), (), (), (),
                 tuple(("t", float(s)) for s in nuclei_s), False)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.14, 0.2, 0.24, 0.26, 0.4, 0.8])
def test_pitch_and_pace_need_a_quarter_of_the_speech_voiced(share):
    """500 speech frames (5 s), ``share`` of them voiced, 20 nuclei: below MIN_VOICED_SHARE
    (0.25) every pitch and pace figure is null, above it they are there (pace 4.0 syll./s)."""
    n = 500
    voiced = np.zeros(n, bool)
    voiced[: int(round(share * n))] = True
    out = voice_measures(_slice(n, voiced, np.linspace(0.1, 4.9, 20)), "t", None, MeasuresConfig(), None)
    keys = ("f0_sd_st", "f0_range_st", "f0_instability_st", "speech_rate_syl_s", "articulation_rate_syl_s")
    if share >= MIN_VOICED_SHARE:
        assert out["articulation_rate_syl_s"] == pytest.approx(4.0)
        assert out["speech_rate_syl_s"] == pytest.approx(4.0)
        assert out["f0_range_st"] is not None and out["f0_sd_st"] is not None
    else:
        assert {k: out[k] for k in keys} == dict.fromkeys(keys), out
    assert enough_voiced(int(voiced.sum()), n) == (share >= MIN_VOICED_SHARE)


def _glottal_syllables(f0_hz: float, n_syllables: int, *, rate_hz: float = 4.0, lead_s: float = 0.5) -> np.ndarray:
    """Glottal-pulse syllables of planted F0 (a 2 % vibrato at 1.5 Hz), one raised-cosine loudness
    bump per syllable with -20 dB dips, ``lead_s`` of near-silence each side; float32 (n,)."""
    period = 1.0 / rate_hz
    n = int((2 * lead_s + n_syllables * period) * SR)
    t = np.arange(n) / SR
    x = glottal_vowel(f0_hz * 2.0 ** (0.03 * np.sin(2 * np.pi * 1.5 * t)), seed=7)
    u = (t - lead_s) / period
    inside = (u >= 0) & (u < n_syllables)
    env = np.where(inside, np.maximum(np.sin(np.pi * (u % 1.0)) ** 2, 0.1), 0.0)
    return (x * env + 1e-4 * np.random.default_rng(8).standard_normal(n)).astype(np.float32)


def test_voice_below_the_floor_shows_no_pitch_and_its_own_range_finds_it():
    """Syllables on a 44 Hz voice: with the default 50-600 Hz range nothing about pitch or pace
    is shown (the note says why); with a 30-400 Hz range its typical pitch is 44 Hz."""
    x = _glottal_syllables(44.0, 16)
    s = analyze_blocks([x[:, None]], ("therapist",))
    st = s.stats()[0]
    assert (st.f0_median_hz, st.f0_range_st, st.f0_sd_st, st.speech_rate_syl_s, st.articulation_rate_syl_s) == \
        (None,) * 5
    assert any("not enough voiced speech" in n for n in s.to_json_dict()["notes"])
    fr = s.frames["therapist"]["f0_hz"]
    assert np.all(fr[np.isfinite(fr)] >= 50.0) and np.all(fr[np.isfinite(fr)] <= 600.0)
    cfg = AnalysisConfig(pitch_by_speaker=(("therapist", PitchConfig(fmin_hz=30.0, fmax_hz=400.0)),))
    st = analyze_blocks([x[:, None]], ("therapist",), cfg).stats()[0]
    assert st.f0_median_hz == pytest.approx(44.0, rel=0.02)
    assert st.articulation_rate_syl_s is not None


def test_whisper_has_no_pace(tmp_path):
    """Whispered speech (espeak-ng's whisper variant) is speech without voicing: pace and pitch
    are "–" (null), never 0 syll./s."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path / "w.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+whisper", "-w", str(wav),
                    "I have been thinking about what you said last week and it stayed with me."], check=True)
    x, sr = sf.read(wav, dtype="float32")
    import soxr
    x = soxr.resample(x, sr, SR).astype(np.float32)
    s = analyze_blocks([x[:, None]], ("therapist",))
    st = s.stats()[0]
    assert st.speech_s >= 2.0
    assert (st.f0_median_hz, st.speech_rate_syl_s, st.articulation_rate_syl_s) == (None, None, None)
    m = s.to_json_dict()["measures"]["voice"]["therapist"]
    assert m["speech_rate_syl_s"] is None and m["articulation_rate_syl_s"] is None


# ---- speech rate counts the stretches articulation rate counts ------------------------------------

def test_fixture_dialogue_speech_rate_never_exceeds_articulation_rate(fixture_dialogue):
    """The client backchannels and overlaps: its nuclei outside its floor time were divided by the
    floor time alone (6.6 syll./s with pauses against 5.4 while speaking). Both rates count the
    same nuclei; the speech rate's time holds the speech time, so it is never the higher one."""
    audio, _ = fixture_dialogue
    s = analyze_blocks([audio], ("therapist", "client"))
    doc = s.to_json_dict()
    for spk, d in doc["speakers"].items():
        assert d["speech_rate_syl_s"] <= d["articulation_rate_syl_s"] + 1e-9, (spk, d)
        # the same nuclei: n / articulation rate is the phonation time, the speech time less its pauses of
        # 0.3 s or more and quiet edges (measures.slice.phonation): at most the speech time
        assert 0.5 * d["speech_s"] <= d["n_syllables"] / d["articulation_rate_syl_s"] <= d["speech_s"] + 0.01
        # the speech rate's time is no shorter than the speech time, no longer than the session
        assert d["speech_s"] - 0.01 <= d["n_syllables"] / d["speech_rate_syl_s"] <= doc["duration_s"]
    for w in s.rolling:
        for spk, v in w.voice.items():
            if v.get("speech_rate_syl_s") is not None:
                assert v["speech_rate_syl_s"] <= v["articulation_rate_syl_s"] + 1e-9, (w.end_s, spk, v)


def test_speech_rate_includes_pauses_within_the_floor():
    """A planted turn of 4 s speech with a 1 s pause inside: 20 nuclei -> 5.0 syll./s while
    speaking, 4.0 syll./s with the pause."""
    n = 500
    fr = {"is_speech": np.ones(n, bool), "f0_hz": np.full(n, 120.0, np.float32),
          "rms_db": np.full(n, -30.0, np.float32), "hf500_db": np.full(n, -10.0, np.float32)}
    fr["is_speech"][200:300] = False
    fr["f0_hz"][200:300] = np.nan
    segs = (Segment("t", 0.0, 2.0), Segment("t", 3.0, 5.0))
    sl = Slice(GRID, ("t",), 0, n, {"t": fr}, segs, (), (), (), (), tuple(("t", 0.1 + 0.2 * i) for i in range(10))
               + tuple(("t", 3.1 + 0.2 * i) for i in range(10)), False)
    out = voice_measures(sl, "t", None, MeasuresConfig(), None)
    assert out["articulation_rate_syl_s"] == pytest.approx(5.0)
    assert out["speech_rate_syl_s"] == pytest.approx(4.0)


# ---- wording: every registry measure reads as a therapist would say it -----------------------------

def test_measure_rows_fit_and_explain_in_words():
    """The network-corrected wait was cut to "Wait before answering, minus the ca…" and explained
    as "as gap_median_s" (an identifier). Its label fits the row and its explanation is words."""
    import re

    from cli.view import LABEL_MAX, measures_views
    from prosody.measures import MEASURES
    from prosody.report.wording import measure_plain
    for m in MEASURES:
        if m.name.startswith("timing."):
            p = measure_plain(m.name)
            assert len(p.label) <= LABEL_MAX, p.label
            assert not re.search(r"[a-z]+_[a-z_]+", p.why), (m.name, p.why)
    m = {"timing": {"therapist": {"gap_median_corrected_s": None}, "client": {"gap_median_corrected_s": 0.16}},
         "network_delay_ms": 120.0}
    lines = [t.plain for t in measures_views(m, ["therapist", "client"], True)]
    row = next(i for i, x in enumerate(lines) if x.startswith("Wait, minus the call delay"))
    assert "+0.16 s" in lines[row] and "…" not in lines[row]
    assert "twice the network delay" in lines[row + 1] + lines[row + 2] and "gap_median" not in lines[row + 1]
