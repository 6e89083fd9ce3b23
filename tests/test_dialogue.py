"""Tests of the synthetic dialogue generator: the planted truth must match the audio."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from prosody.errors import ProsodyError
from tests.dialogue import (
    BACKCHANNEL_MAX_S,
    CLIENT,
    HOP_S,
    INTERRUPTION_MIN_OVERLAP_S,
    MAX_INTERNAL_PAUSE_S,
    SPEAKERS,
    THERAPIST,
    DialogueTruth,
    ScenarioError,
    Utterance,
    all_texts,
    build_dialogue,
    default_voice,
    longest_pause_s,
    scenario_mixed,
    scenario_monologue,
    scenario_turns,
    synthesize,
)

SR = 16000
HOP = int(HOP_S * SR)  # 160 samples
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
T_LONG = "I want to make sure we have enough time to talk about what happened at work this week."
C_MID = "I have not been sleeping well."  # ~1.4 s
C_SHORT = "It was a hard week."  # ~0.98 s
ONE_MS = 1e-3  # planned times are rounded to 1 ms

requires_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed: cannot synthesise dialogues"
)


def dur_s(speaker: str, text: str) -> float:
    return len(synthesize(text, voice=default_voice(speaker))) / SR


def frame_db(x: np.ndarray) -> np.ndarray:
    """RMS in dBFS of whole 10 ms frames of ``x`` (shape (n_samples,))."""
    n = len(x) // HOP
    f = np.asarray(x[: n * HOP], dtype=np.float64).reshape(n, HOP)
    return 10.0 * np.log10(np.mean(f**2, axis=1) + 1e-20)


def check_channel(x, segments, *, noise_db, also_loud=()):
    """Energy inside each segment (edges within one hop), only noise outside.

    ``also_loud``: intervals where the channel may carry other energy (bleed).
    """
    db = frame_db(x)
    active = db > noise_db + 10.0
    t0 = np.arange(len(db)) * HOP_S
    t1 = t0 + HOP_S
    near = np.zeros(len(db), dtype=bool)
    for a, b in list(segments) + list(also_loud):
        near |= (t1 > a - HOP_S) & (t0 < b + HOP_S)
    stray = np.flatnonzero(active & ~near)
    assert stray.size == 0, f"energy outside the truth at {t0[stray[:5]]} s ({db[stray[:5]]} dBFS)"
    for a, b in segments:
        idx = np.flatnonzero(active & (t1 > a) & (t0 < b))
        assert idx.size, f"no energy in segment {a:.3f}-{b:.3f} s"
        assert t0[idx[0]] <= a + HOP_S, f"speech starts {t0[idx[0]] - a:.3f} s after planted start {a:.3f}"
        assert t1[idx[-1]] >= b - HOP_S, f"speech ends {b - t1[idx[-1]]:.3f} s before planted end {b:.3f}"
        inside = np.flatnonzero((t0 >= a) & (t1 <= b))
        quiet_run = longest_run(~active[inside])
        assert quiet_run * HOP_S <= MAX_INTERNAL_PAUSE_S + HOP_S + 1e-9, f"{quiet_run * 10} ms quiet in {a:.3f}-{b:.3f}"


def longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best


# --------------------------------------------------------------------------- synthesis


@requires_espeak
def test_factory_texts_have_no_internal_pause_over_150_ms():
    worst = {}
    for speaker, text in all_texts():
        y = synthesize(text, voice=default_voice(speaker))
        worst[(speaker, text)] = longest_pause_s(y, sample_rate=SR)
    too_long = {k: v for k, v in worst.items() if v > MAX_INTERNAL_PAUSE_S}
    assert not too_long, f"texts with internal pauses > {MAX_INTERNAL_PAUSE_S} s: {too_long}"
    assert max(worst.values()) <= 0.13  # measured: 0.12 s ("How have you been since we last met?")


@requires_espeak
def test_long_pause_detected_and_rejected():
    y = synthesize("Yes. I do.", voice=default_voice(THERAPIST))
    assert longest_pause_s(y, sample_rate=SR) > 0.2  # the full stop makes a ~0.29 s pause
    with pytest.raises(ScenarioError, match="internal pause"):
        build_dialogue([Utterance(THERAPIST, "Yes. I do.", 0.5)])


@requires_espeak
def test_synthesize_is_trimmed_cached_and_read_only():
    y = synthesize("Tell me more about that.", voice=default_voice(THERAPIST))
    assert y.dtype == np.float32 and y.ndim == 1 and not y.flags.writeable
    peak = np.max(np.abs(y))
    assert abs(y[0]) > peak * 10 ** (-50 / 20) and abs(y[-1]) > peak * 10 ** (-50 / 20)
    # the first and last 10 ms already carry speech (> 30 dB above the trim level)
    db = frame_db(y / peak)
    assert db[0] > -45 and db[-1] > -45
    fresh = synthesize("Tell me more about that.", voice=default_voice(THERAPIST), use_cache=False)
    np.testing.assert_array_equal(y, fresh)


# --------------------------------------------------------------------------- truth vs audio


@requires_espeak
@pytest.mark.parametrize(
    "make",
    [lambda: scenario_mixed(seed=0), lambda: scenario_turns(12, seed=1), lambda: scenario_monologue(3, seed=2)],
    ids=["mixed", "turns", "monologue"],
)
def test_planted_truth_matches_channel_energy(make):
    d = build_dialogue(make(), noise_db=-70.0, seed=3)
    assert d.audio.dtype == np.float32 and d.audio.shape == (round(d.truth.duration_s * SR), 2)
    assert not d.audio.flags.writeable
    for speaker in SPEAKERS:
        check_channel(d.channel(speaker), d.speech_segments(speaker), noise_db=-70.0)


@requires_espeak
def test_each_utterance_sits_at_its_level():
    d = build_dialogue(scenario_mixed(seed=1), level_db=(-22.0, -28.0), noise_db=-70.0)
    for u in d.utterances:
        x = d.channel(u.speaker)[u.start_sample : u.end_sample].astype(np.float64)
        rms_db = 10 * np.log10(np.mean(x**2))
        assert rms_db == pytest.approx(-22.0 if u.speaker == THERAPIST else -28.0, abs=0.05)


@requires_espeak
def test_bleed_is_on_therapist_channel_only_when_asked():
    utts = scenario_turns(8, seed=2)
    dry = build_dialogue(utts, seed=5)
    wet = build_dialogue(utts, seed=5, bleed_db=-20.0, bleed_delay_s=0.03)
    # client channel and the truth are untouched; bleed is recorded separately
    np.testing.assert_array_equal(dry.channel(CLIENT), wet.channel(CLIENT))
    assert wet.truth.therapist_segments == dry.truth.therapist_segments
    assert dry.truth.bleed_segments == ()
    shifted = [x + 0.03 for seg in dry.truth.client_segments for x in seg]
    assert [x for seg in wet.truth.bleed_segments for x in seg] == pytest.approx(shifted, abs=1e-9)
    # without bleed the therapist channel is silent outside therapist speech (checked above);
    # with it, energy appears exactly where the delayed client speaks
    check_channel(
        wet.channel(THERAPIST), wet.speech_segments(THERAPIST), noise_db=-70.0, also_loud=wet.truth.bleed_segments
    )
    leak = wet.channel(THERAPIST).astype(np.float64) - dry.channel(THERAPIST)
    client = dry.channel(CLIENT).astype(np.float64)
    xc = signal.correlate(leak, client, mode="full", method="fft")
    lag = int(np.argmax(xc)) - (len(client) - 1)
    assert round(0.03 * SR) <= lag <= round(0.03 * SR) + 3  # + the low-pass group delay (~2 samples)
    for a, b in wet.truth.bleed_segments:
        seg = leak[int(a * SR) : int(b * SR)]
        level_db = 10 * np.log10(np.mean(seg**2))
        assert -44.0 < level_db < -40.0  # -20 dBFS speech - 20 dB, minus the 3 kHz low-pass loss
    check_channel(dry.channel(THERAPIST), dry.speech_segments(THERAPIST), noise_db=-70.0)


@requires_espeak
def test_deterministic_for_a_seed():
    assert scenario_mixed(seed=7) == scenario_mixed(seed=7)
    assert scenario_turns(10, seed=7) == scenario_turns(10, seed=7)
    assert scenario_mixed(seed=7) != scenario_mixed(seed=8)
    a = build_dialogue(scenario_mixed(seed=7), seed=11, bleed_db=-25.0)
    b = build_dialogue(scenario_mixed(seed=7), seed=11, bleed_db=-25.0)
    c = build_dialogue(scenario_mixed(seed=7), seed=12, bleed_db=-25.0)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.truth == b.truth == c.truth
    assert not np.array_equal(a.audio, c.audio)  # only the noise changes with the mix seed


# --------------------------------------------------------------------------- planted structure


@requires_espeak
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scenario_turns_plants_gaps_and_overlaps(seed):
    d = build_dialogue(scenario_turns(12, seed=seed), seed=seed)
    tr = d.truth.transitions
    assert len(tr) == 12 and d.truth.events == ()
    for i, t in enumerate(tr):
        assert (t.from_speaker, t.to_speaker) == (SPEAKERS[i % 2], SPEAKERS[(i + 1) % 2])
        assert t.offset_s == pytest.approx(t.to_start_s - t.from_end_s, abs=1e-9)
        assert t.from_end_s in [b for _, b in d.truth.segments(t.from_speaker)]
        assert t.to_start_s in [a for a, _ in d.truth.segments(t.to_speaker)]
        assert t.via == "turn"
        if t.kind == "gap":
            assert 0.1 - ONE_MS <= t.offset_s <= 1.5 + ONE_MS
        else:
            assert -0.25 - ONE_MS <= t.offset_s <= -0.1 + ONE_MS
    assert sum(t.kind == "overlap" for t in tr) == 3
    assert [(round(a, 6), round(b, 6)) for a, b in d.truth.overlaps] == [
        (round(t.to_start_s, 6), round(t.from_end_s, 6)) for t in tr if t.kind == "overlap"
    ]


@requires_espeak
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scenario_mixed_plants_every_event(seed):
    d = build_dialogue(scenario_mixed(seed=seed), seed=seed)
    truth = d.truth
    assert 38.0 < truth.duration_s < 50.0
    assert len(truth.transitions) == 14
    assert sum(t.kind == "gap" for t in truth.transitions) == 10
    assert sum(t.kind == "overlap" and t.via == "turn" for t in truth.transitions) == 2
    by_interruption = [t for t in truth.transitions if t.via == "interruption"]
    assert [(t.from_speaker, t.to_speaker) for t in by_interruption] == [(THERAPIST, CLIENT), (CLIENT, THERAPIST)]
    assert [e.speaker for e in truth.backchannels] == [CLIENT, THERAPIST, CLIENT]
    assert [e.speaker for e in truth.interruptions] == [CLIENT, THERAPIST]
    assert [e.speaker for e in truth.failed_interruptions] == [CLIENT]

    for t, e in zip(by_interruption, truth.interruptions):
        assert e.start_s == t.to_start_s and e.overlap_s == pytest.approx(-t.offset_s, abs=1e-9)
        assert 0.4 - ONE_MS <= e.overlap_s <= 0.8 + ONE_MS
        assert e.end_s > t.from_end_s  # the interrupter outlasts the interrupted speaker
    for e in truth.backchannels + truth.failed_interruptions:
        host = [(a, b) for a, b in truth.segments(e.other_speaker) if a < e.start_s and e.end_s < b]
        assert len(host) == 1, f"{e} is not inside one {e.other_speaker} segment"
        assert host[0][1] - e.end_s >= 0.5 - ONE_MS  # the other speaker continues after it
        assert e.overlap_s == pytest.approx(e.end_s - e.start_s, abs=1e-9)
    assert all(e.end_s - e.start_s < BACKCHANNEL_MAX_S for e in truth.backchannels)
    assert all(e.end_s - e.start_s >= 1.1 for e in truth.failed_interruptions)
    # every planted overlap interval is explained by a transition or an event
    for a, b in truth.overlaps:
        explained = any(t.to_start_s == a for t in truth.transitions if t.kind == "overlap") or any(
            e.start_s == a for e in truth.events
        )
        assert explained, (a, b)


@requires_espeak
def test_truth_json_round_trip():
    d = build_dialogue(scenario_mixed(seed=2), bleed_db=-20.0)
    blob = json.loads(json.dumps(d.to_json_dict()))
    assert DialogueTruth.from_json_dict(blob) == d.truth
    assert blob["channels"] == {THERAPIST: 0, CLIENT: 1}
    assert len(blob["utterances"]) == len(d.utterances)


# --------------------------------------------------------------------------- validation


def _host():
    """A long therapist turn and its end time."""
    return Utterance(THERAPIST, T_LONG, 0.5), 0.5 + dur_s(THERAPIST, T_LONG)


@requires_espeak
def test_valid_small_scenario_builds():
    host, end = _host()
    d = build_dialogue(
        [
            host,
            Utterance(CLIENT, "yeah", 1.5, role="backchannel"),
            Utterance(CLIENT, C_MID, end - 0.5, role="interruption"),
        ]
    )
    assert [e.kind for e in d.truth.events] == ["backchannel", "interruption"]
    assert d.truth.transitions[0].offset_s == pytest.approx(-0.5, abs=1 / SR)


def _invalid_cases():
    host, end = _host()
    return {
        "backchannel too long": ([host, Utterance(CLIENT, C_MID, 1.0, role="backchannel")], "backchannel must be <"),
        "backchannel after the other stopped": (
            [host, Utterance(CLIENT, "yeah", end + 0.2, role="backchannel")],
            "resume within",
        ),
        "interruption overlap too small": (
            [host, Utterance(CLIENT, C_MID, end - 0.1, role="interruption")],
            f">= {INTERRUPTION_MIN_OVERLAP_S}",
        ),
        "interruption after the other stopped": (
            [host, Utterance(CLIENT, C_MID, end + 0.3, role="interruption")],
            "tag it 'turn'",
        ),
        "turn overlapping like an interruption": (
            [host, Utterance(CLIENT, C_MID, end - 0.5)],
            "tag it 'interruption'",
        ),
        "turn ending before the other stops": ([host, Utterance(CLIENT, C_MID, 1.0)], "does not take the floor"),
        "failed interruption outlasting the other": (
            [host, Utterance(CLIENT, C_MID, end - 0.5, role="failed_interruption")],
            "must stop while",
        ),
        "failed interruption starting in a pause": (
            [host, Utterance(CLIENT, "But I", end + 0.1, role="failed_interruption")],
            "must start while",
        ),
        "speaker overlapping itself": ([host, Utterance(THERAPIST, C_SHORT, 2.0)], "min_pause_s"),
        "first utterance not a turn": (
            [Utterance(CLIENT, "yeah", 0.2, role="backchannel"), host],
            "must have role 'turn'",
        ),
        "backchannel by the floor holder": (
            [host, Utterance(THERAPIST, "yeah", end + 0.5, role="backchannel")],
            "client holds the floor",
        ),
        "unknown speaker": ([Utterance("patient", C_MID, 0.5)], "speaker='patient'"),
        "unknown role": ([Utterance(CLIENT, C_MID, 0.5, role="question")], "role='question'"),
        "negative start": ([Utterance(CLIENT, C_MID, -1.0)], "start_s=-1.0"),
    }


INVALID_CASE_NAMES = (
    "backchannel too long",
    "backchannel after the other stopped",
    "interruption overlap too small",
    "interruption after the other stopped",
    "turn overlapping like an interruption",
    "turn ending before the other stops",
    "failed interruption outlasting the other",
    "failed interruption starting in a pause",
    "speaker overlapping itself",
    "first utterance not a turn",
    "backchannel by the floor holder",
    "unknown speaker",
    "unknown role",
    "negative start",
)


@requires_espeak
def test_invalid_case_names_are_all_tested():
    assert set(_invalid_cases()) == set(INVALID_CASE_NAMES)


@requires_espeak
@pytest.mark.parametrize("name", INVALID_CASE_NAMES)
def test_inconsistent_scenarios_are_rejected(name):
    utterances, message = _invalid_cases()[name]
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")) as info:
        build_dialogue(utterances)
    assert isinstance(info.value, ProsodyError)


@requires_espeak
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"level_db": (-3.0, -20.0)}, "clip"),
        ({"duration_s": 1.0}, "shorter than the last utterance"),
        ({"bleed_db": 6.0}, "bleed_db=6.0"),
        ({"noise_db": 0.0}, "noise_db=0.0"),
        ({"level_db": (-20.0,)}, "two negative dBFS values"),
    ],
)
def test_bad_mix_arguments_are_rejected(kwargs, message):
    host, _ = _host()
    with pytest.raises(ScenarioError, match=message):
        build_dialogue([host], **kwargs)


# --------------------------------------------------------------------------- fixtures


def _espeak_version() -> str:
    return subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize(
    "audio_name, truth_name",
    [("dialogue.flac", "dialogue.truth.json"), ("mono_therapist.wav", "mono_therapist.truth.json")],
)
def test_fixture_truth_matches_fixture_audio(audio_name, truth_name):
    blob = json.loads((FIXTURES / truth_name).read_text())
    truth = DialogueTruth.from_json_dict(blob)
    audio, sr = sf.read(FIXTURES / audio_name, dtype="float32", always_2d=True)
    assert sr == truth.sample_rate == SR
    assert audio.shape[0] == round(truth.duration_s * SR)
    assert audio.shape[1] == len(blob["channels"])
    for speaker, column in blob["channels"].items():
        check_channel(audio[:, column], truth.segments(speaker), noise_db=blob["settings"]["noise_db"])


@requires_espeak
def test_fixtures_are_up_to_date_with_the_generator():
    blob = json.loads((FIXTURES / "dialogue.truth.json").read_text())
    if blob["espeak_ng"] != _espeak_version():
        pytest.skip("fixtures were made with another espeak-ng; regenerate with fixtures/make_fixtures.py")
    assert blob["scenario"] == "scenario_mixed"
    settings = blob["settings"]
    d = build_dialogue(
        scenario_mixed(seed=blob["scenario_seed"]),
        level_db=(settings["therapist_level_db"], settings["client_level_db"]),
        noise_db=settings["noise_db"],
        bleed_db=settings["bleed_db"],
        bleed_delay_s=settings["bleed_delay_s"],
        seed=settings["seed"],
    )
    assert DialogueTruth.from_json_dict(blob) == d.truth, "rerun fixtures/make_fixtures.py"
    audio, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float64", always_2d=True)
    assert np.max(np.abs(audio - d.audio)) <= 1.0 / 32768 + 1e-9, "rerun fixtures/make_fixtures.py"


def test_ami_dialogue_voice_fx_changes_the_voices_not_the_timing(corpus):
    """``ami_dialogue(voice_fx=...)`` passes each placed AMI stretch through the function (the unseen
    crosstalk split transforms voices so) and draws the same stretches, timing and truth as without it:
    here a function that reverses each stretch in time gives each placed utterance's samples reversed."""
    from tests.dialogue import ami_dialogue

    seen = []

    def fx(key, y):
        seen.append(key)
        return np.asarray(y)[::-1].copy()

    plain = ami_dialogue(corpus, seed=3, trim_db=30.0)
    moved = ami_dialogue(corpus, seed=3, trim_db=30.0, voice_fx=fx)
    assert moved.truth == plain.truth and len(seen) == len(plain.utterances)
    assert [(u.start_sample, u.end_sample, u.speaker) for u in moved.utterances] == \
        [(u.start_sample, u.end_sample, u.speaker) for u in plain.utterances]
    for u in plain.utterances:  # one speaker's utterances never overlap (a pause between them)
        ch = SPEAKERS.index(u.speaker)
        a, b = plain.audio[u.start_sample:u.end_sample, ch], moved.audio[u.start_sample:u.end_sample, ch]
        np.testing.assert_allclose(b, a[::-1], atol=1e-6)


def _loud_span_s(d, u, below_db: float) -> float:
    """First to last 10 ms frame of a placed utterance within ``below_db`` of its loudest one (s)."""
    y = d.audio[u.start_sample:u.end_sample, SPEAKERS.index(u.speaker)].astype(np.float64)
    n = len(y) // 160
    lv = 10 * np.log10(np.mean(y[:n * 160].reshape(n, 160) ** 2, axis=1) + 1e-20)
    on = np.flatnonzero(lv >= lv.max() - below_db)
    return (on[-1] - on[0] + 1) / 100


def test_ami_dialogue_audible_db_plants_no_turn_audible_under_the_limit(corpus):
    """``ami_dialogue(trim_db=30, audible_db=20)`` (benchmarks/crosstalk.py, sixty-second round): every planted turn's
    frames within 20 dB of its loudest span ``BACKCHANNEL_MAX_S`` + 0.2 s (1.2 s) or more, as its 30 dB extent must.
    With the 30 dB trim alone, seed 1436 plants AMI trn06 FEE083 at 7.58 s as a 1.25 s turn whose 20 dB span is
    1.06 s: 0.2-0.3 s of the recording's hiss at its edges counted as speech (a channel's noise hides it)."""
    from tests.dialogue import ami_dialogue

    plain = ami_dialogue(corpus, seed=1436, trim_db=30.0)
    short = [u for u in plain.utterances if u.role == "turn" and _loud_span_s(plain, u, 20.0) < 1.15]
    assert any(u.text.startswith("trn06:FEE083@7.5") and u.duration_s > 1.2 for u in short)
    for seed in (1436, 1505, 919):
        d = ami_dialogue(corpus, seed=seed, trim_db=30.0, audible_db=20.0)
        turns = [u for u in d.utterances if u.role == "turn"]
        assert len(turns) == 14 and min(_loud_span_s(d, u, 20.0) for u in turns) >= 1.18  # a frame of grid
