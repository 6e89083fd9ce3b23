"""Non-speech sounds are not speech acts: a cough, a sniff or a breath on the listener's channel
while the other speaks is no backchannel, interruption or talk-over, and a sniff in a silence
does not take the floor; a real "mhm" at the same place still is a backchannel. The rule
(``engine.pipeline.is_sound``): a segment under ``turns.sound_max_s`` whose frames are voiced
under ``turns.sound_max_voiced_share`` of the time is a sound. Material: ``tests/nonspeech.py``
(planted extents), dialogues of ``tests/dialogue.py``."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.config import AnalysisConfig, TurnConfig
from prosody.engine.pipeline import Pipeline
from prosody.engine.turns import TurnOutput, overlapping_starts
from prosody.session import analyze_blocks
from tests.nonspeech import place, sound

T, C = "therapist", "client"
SR = 16000
OFF = AnalysisConfig(turns=TurnConfig(sound_max_s=0.0))
ON = AnalysisConfig(turns=TurnConfig(sound_max_s=1.5))  # off by default: AMI cross-talk regression (docs/measures.md)
NOISY = ("cough", "sniff", "breath", "noseblow")


@pytest.fixture(scope="module")
def base():
    import shutil
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from tests.dialogue import build_dialogue, scenario_turns
    utts = scenario_turns(10, seed=3)
    d = build_dialogue(utts, level_db=(-30.0, -30.0), noise_db=-65.0, seed=3)
    return utts, d


def _middles(d, min_s: float = 1.3) -> list[float]:
    """Inside the therapist's longer utterances, 0.8 s or more from the client's own speech (nearer,
    the smoother would join a sound or an "mhm" to the client's words)."""
    at = [(a + b) / 2 - 0.2 for a, b in d.truth.therapist_segments if b - a >= min_s]
    return [t for t in at if all(t + 0.45 + 0.8 <= a or t - 0.8 >= b for a, b in d.truth.client_segments)]


def _with_sounds(d, seed: int, at: list[float], channel: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = d.audio.astype(np.float64).copy()
    for k, t in enumerate(at):
        place(x[:, channel], sound(NOISY[k % len(NOISY)], rng)[: int(0.45 * SR)], int(t * SR), -24.0, rng,
              reverb=k % 2 == 1)
    return x.astype(np.float32)


def _client_acts(s) -> tuple[list, int]:
    return [e for e in s.turns.events if e.speaker == C], overlapping_starts(s.segments, C)


def test_sounds_during_the_other_s_turn_are_no_speech_acts(base):
    _, d = base
    at = _middles(d)
    assert len(at) >= 3
    x = _with_sounds(d, 5, at)
    on, off = analyze_blocks([x], (T, C), ON), analyze_blocks([x], (T, C), OFF)
    events, talk_over = _client_acts(on)
    planted = overlapping_starts(analyze_blocks([d.audio], (T, C)).segments, C)  # the planted overlapping turns
    assert events == [] and talk_over == planted, (events, talk_over, planted)
    # the sounds are kept apart, where they were planted
    assert sum(1 for g in on.sounds if g.speaker == C and any(abs(g.start_s - t) < 0.15 for t in at)) >= len(at) - 1
    # without the rule (before) every sound was a client talk-over and an event
    ev_off, over_off = _client_acts(off)
    assert over_off - planted >= len(at) - 1 and len(ev_off) >= len(at) - 1, (ev_off, over_off, planted)


def test_a_real_mhm_at_the_same_place_is_still_a_backchannel(base):
    from tests.dialogue import Utterance, build_dialogue
    utts, d = base
    at = _middles(d)
    mhm = [Utterance(C, "[[@m'hm]]", t, role="backchannel", gain_db=-6.0) for t in at]
    d2 = build_dialogue(tuple(utts) + tuple(mhm), level_db=(-30.0, -30.0), noise_db=-65.0, seed=3)
    s = analyze_blocks([d2.audio], (T, C), ON)
    found = [e for e in s.turns.events if e.kind == "backchannel" and e.speaker == C]
    assert len(found) == len(at) and all(any(abs(e.start_s - t) < 0.1 for e in found) for t in at), found
    assert not any(g.speaker == C for g in s.sounds)


def test_a_sniff_in_a_silence_does_not_take_the_floor(base):
    _, d = base
    gaps = [(t.from_end_s, t.to_start_s) for t in d.truth.transitions if t.to_start_s - t.from_end_s >= 1.0]
    assert gaps
    # on the incoming speaker's channel, just after the other stopped: it would open the turn early
    x = d.audio.copy()
    rng = np.random.default_rng(9)
    for a, b in gaps:
        ch = 1 if any(abs(b - g[0]) < 1e-6 for g in d.truth.client_segments) else 0
        y = x[:, ch].astype(np.float64)
        place(y, sound("sniff", rng)[: int(0.3 * SR)], int((a + 0.1) * SR), -26.0, rng, reverb=False)
        x[:, ch] = y.astype(np.float32)
    clean = analyze_blocks([d.audio], (T, C), ON).turns.transitions
    on = analyze_blocks([x], (T, C), ON).turns.transitions
    off = analyze_blocks([x], (T, C), OFF).turns.transitions
    assert [(t.to_speaker, t.to_start_s) for t in on] == [(t.to_speaker, t.to_start_s) for t in clean]
    # before: the sniffs opened turns up to a second early (measured: every one of them)
    early = sum(1 for a, b in gaps if any(abs(t.to_start_s - (a + 0.1)) < 0.1 for t in off))
    assert early >= 1, early


def test_sounds_give_the_same_turns_for_any_block_split(base):
    _, d = base
    x = _with_sounds(d, 6, _middles(d, 1.2))

    def run(sizes):
        pipe, out, pos, sounds = Pipeline((T, C), ON), TurnOutput(), 0, []
        for n in sizes:
            up = pipe.push(x[pos:pos + n])
            out, pos, sounds = out + up.turns, pos + n, sounds + list(up.sounds)
        up = pipe.flush()
        return out + up.turns, sorted(sounds + list(up.sounds), key=lambda g: (g.start_s, g.speaker))

    whole = run([len(x)])
    rng = np.random.default_rng(2)
    sizes = np.diff(np.r_[0, np.sort(rng.choice(len(x), size=len(x) // 1600, replace=False)), len(x)]).tolist()
    assert run(sizes) == whole
    assert run([160] * (len(x) // 160 + 1)) == whole
