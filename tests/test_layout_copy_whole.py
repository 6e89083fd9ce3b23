"""A late copy is a copy to the end (docs/speakers.md, eightieth round, wp87).

``copy_lag`` took two channels for one mix stored twice where their cross-correlation reached 0.995 at some lag
over the first 10 s of speech. One person speaking alone in a dry room reaches two microphones as a late copy of
themself (the paths' difference, a fraction of a millisecond), so a shared recording whose first 10 s held one
voice was read as a copy: its second microphone dropped and both people diarized on one channel (fresh2's
dominant s55 shared: 263 of 856 frames given to the wrong person). The lag must now hold over all the audio."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from prosody.engine.speakers import attribute, copy_lag
from tests.dialogue import CLIENT, Utterance, build_dialogue, mix_room, scenario_monologue
from tests.test_diarize import _right_share

SR = 16000


def _delayed(x: np.ndarray, k: int) -> np.ndarray:
    return np.concatenate([np.zeros(k), x[:len(x) - k]])


def _two_talkers_dry(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Channels (a, b) of two microphones in a dry room: talker 1 alone for 14 s (mic b hears them 2 samples
    later at 0.6), then talker 2 for 6 s from the other side (mic a hears them 3 samples later at 0.5)."""
    n1, n2 = 14 * SR, 6 * SR
    t1 = np.concatenate([rng.standard_normal(n1), np.zeros(n2)])
    t2 = np.concatenate([np.zeros(n1), rng.standard_normal(n2)])
    return t1 + 0.5 * _delayed(t2, 3), 0.6 * _delayed(t1, 2) + t2


def test_a_talker_alone_for_the_first_10_s_is_no_copy_of_the_mix():
    a, b = _two_talkers_dry(np.random.default_rng(0))
    # the first 10 s alone are a copy 2 samples late (what the test read before: fails there)
    assert copy_lag(a[:10 * SR], b[:10 * SR]) == 2
    assert copy_lag(a, b) is None  # the second talker breaks it: two microphones, not one mix twice


@pytest.mark.parametrize("lag", [2, 48, -640])
def test_the_whole_mix_stored_twice_is_still_a_copy(lag):
    a, _ = _two_talkers_dry(np.random.default_rng(1))
    late = 0.7 * _delayed(a, abs(lag))
    assert copy_lag(*((a, late) if lag > 0 else (late, a))) == lag


@pytest.fixture(scope="module")
def late_second_voice():
    """The therapist alone for five sentences, then the client: a shared recording in a dry room, the two
    voices reaching the second microphone 0.1 and 0.9 ms later, 6 dB apart either way."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    mono = scenario_monologue(8, seed=55)
    answer = Utterance(speaker=CLIENT, text="It was a hard week.", start_s=round(mono[5].start_s + 0.3, 3))
    utts = (list(mono[:5]) + [answer]
            + [Utterance(speaker=u.speaker, text=u.text, start_s=round(u.start_s + 2.6, 3)) for u in mono[5:]])
    d = build_dialogue(utts, noise_db=None, level_db=(-22.0, -22.0), seed=55)
    x, _ = mix_room(d, layout="shared", level_diff_db=(-6.0, 6.0), delay_ms=(0.1, 0.9), rt60_s=None,
                    noise_db=-60.0, seed=55)
    return d, x


def test_a_dry_shared_recording_opening_with_one_voice_keeps_both_microphones(late_second_voice):
    d, x = late_second_voice
    speech = np.flatnonzero(np.abs(x[:, 0]) > 1e-3)[0]
    assert d.truth.client_segments[0][0] - speech / SR > 10.0  # the copy test's 10 s hold the therapist alone
    att = attribute(x)
    assert att.layout == "shared" and "copy_lag_ms" not in att.layout_report.evidence
    assert att.live_channel is None and att.diarization.n_voices == 2
    assert _right_share(att.diarization.activity, d.truth) >= 0.97
