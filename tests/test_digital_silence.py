"""ds92 (2026-12-07): a live capture starts with digital silence (exact zeros: 1.4 s before the playback, 0.7 s
after it; walk60, docs/store.md). The figures must not depend on it, only shift in time (docs/speakers.md,
"Eighty-third round ... leading digital silence (ds92)")."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from prosody.config import VadConfig
from prosody.engine.diarize import speech_over_noise_db
from prosody.engine.vad import NoiseFloor

SR = 16000


def _padded(x: np.ndarray, lead_s: float, tail_s: float) -> np.ndarray:
    pad = lambda s: np.zeros((int(round(s * SR)),) + x.shape[1:], x.dtype)  # noqa: E731
    return np.concatenate([pad(lead_s), x, pad(tail_s)])


@pytest.mark.parametrize("lead", [0, 30, 140, 300])
@pytest.mark.parametrize("block", [7, 50, 10_000])
def test_the_floors_warm_up_starts_after_a_lead_in_of_digital_silence(lead, block):
    """The speech gate's noise floor (``NoiseFloor(warm_up=True)``) over a steady noise at -58 dBFS from its first
    frame takes the noise's level at its first look (10 frames on), whatever digital silence comes before it
    and however the frames are pushed: the floor of the padded levels is the unpadded one's, shifted. Before,
    the warm-up's looks and its first refresh fell in the zeros and the gate stayed open over the noise for
    0.5 s (the room noise before the first word of a live capture read as the first voice's speech)."""
    rng = np.random.default_rng(4)
    noise = (-58.0 + rng.uniform(-1.5, 1.5, 400)).astype(np.float32)
    levels = np.concatenate([np.full(lead, -120.0, np.float32), noise])

    def floors(lv):
        f = NoiseFloor(window_s=8.0, percentile=10.0, warm_up=True)
        return np.concatenate([f.push(lv[a:a + block]) for a in range(0, len(lv), block)]), f

    plain, f0 = floors(noise)
    padded, f1 = floors(levels)
    assert np.all(np.isneginf(padded[:lead]))
    np.testing.assert_array_equal(padded[lead:], plain)
    assert np.all(np.abs(plain[10:] + 58.0) < 1.5)  # the planted noise's level from the first look on
    assert f1.warm_end == f0.warm_end + lead


def test_speech_over_noise_leaves_digital_silence_out():
    """How far the speech stands over the noise (a tone at -23 dBFS over white noise at -50 dBFS: planted about
    27 dB) does not move with zeros before or after the recording (3 s of them made it 177 dB: the median pause
    frame was a frame of zeros)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(4 * SR) * 10 ** (-50 / 20)
    t = np.arange(SR) / SR
    x[2 * SR:3 * SR] += 0.1 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    got = []
    for lead, tail in ((0, 0), (0.3, 0), (1.4, 0.7), (3.0, 0), (0, 0.7)):
        y = _padded(x.astype(np.float32), lead, tail)
        truth = np.zeros(len(y) // 160, bool)
        k = int(round(lead * 100))
        truth[k + 200:k + 300] = True
        got.append(speech_over_noise_db(y, truth, highpass_hz=VadConfig().highpass_hz))
    assert 25.0 < got[0] < 30.0
    np.testing.assert_allclose(got, got[0], atol=0.3)


def _need_espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")


@pytest.fixture(scope="module")
def mono_dialogue():
    """walk60's mono mix (``scenario_mixed(seed=3)``, ``mix_room`` mono) as a 16-bit file holds it, and its planted
    truth: the second voice's talk share and utterances."""
    _need_espeak()
    from tests.dialogue import CLIENT, THERAPIST, build_dialogue, mix_room, scenario_mixed
    d = build_dialogue(scenario_mixed(seed=3), noise_db=None, seed=3)
    x, _ = mix_room(d, layout="mono", seed=3)
    x = (np.round(np.clip(x, -1, 1) * 32767) / 32767).astype(np.float32)
    first, second = sorted((THERAPIST, CLIENT), key=lambda s: d.truth.segments(s)[0][0])
    speech = {s: sum(b - a for a, b in d.truth.segments(s)) for s in (first, second)}
    return {"x": x, "share": speech[second] / sum(speech.values()), "second": d.truth.segments(second)}


def _figures(x: np.ndarray, lead_s: float):
    """Each voice's speech (s) and segments (start, end; shifted back by ``lead_s``) from the pipeline over the
    voices' channels (``Attribution.channels``), as ``prosody analyze`` reads a mono recording."""
    from prosody.engine.speakers import attribute
    from prosody.session import analyze_blocks
    att = attribute(x, layout="mono")
    ch = att.channels(x)
    session = analyze_blocks([ch[a:a + 2 * SR] for a in range(0, len(ch), 2 * SR)], att.speakers,
                             cross_talk=False)
    segs = {s: [(g.start_s - lead_s, g.end_s - lead_s) for g in session.segments if g.speaker == s]
            for s in att.speakers}
    return {s: sum(b - a for a, b in v) for s, v in segs.items()}, segs


@pytest.mark.parametrize("lead,tail", [(1.4, 0.7), (3.0, 0.0), (0.3, 0.0)])
def test_a_captures_digital_silence_only_shifts_the_figures(mono_dialogue, lead, tail):
    """The mono dialogue with a live capture's zeros before and after it: each voice's speech within 0.15 s of the
    unpadded file's, the second voice's talk share within 0.005 of it and within 0.01 of the planted, and its
    first utterance (a planted 0.41 s "mm-hm" inside the first voice's turn) read under 0.6 s long, where it
    starts. Before: the fill standing for the silent voice took the zeros for the recording's floor there, and
    stepping up to the room's noise after them was heard as that voice's speech (the "mm-hm" read 1.52 s; talk
    share 0.391 for 0.377), and the first voice's speech began at the file's first sample."""
    x = mono_dialogue["x"]
    speech0, segs0 = _figures(x, 0.0)
    speech1, segs1 = _figures(_padded(x, lead, tail), lead)
    names = list(speech0)
    for s in names:
        assert abs(speech1[s] - speech0[s]) < 0.15, (s, speech0, speech1)
    share0, share1 = (speech[names[1]] / sum(speech.values()) for speech in (speech0, speech1))
    assert abs(share1 - share0) < 0.005 and abs(share1 - mono_dialogue["share"]) < 0.01, (share0, share1)
    a, b = mono_dialogue["second"][0]
    mm = [(s, e) for s, e in segs1[names[1]] if s < b and e > a]
    assert len(mm) == 1 and mm[0][1] - mm[0][0] < 0.6 and abs(mm[0][0] - a) < 0.25, (mm, (a, b))
    assert abs(segs1[names[0]][0][0] - segs0[names[0]][0][0]) < 0.05, (segs0[names[0]][:1], segs1[names[0]][:1])


def test_only_the_silence_a_recording_starts_and_ends_with_is_counted():
    """``silent_ends``: the frames of one value (zeros, or one DC value) before the first sound and after the last,
    planted; zeros between sounds (a clean mix's pauses) are not counted, nor is anything in a recording without
    them; a mean of two channels (``ChannelMean``) reads as its array does."""
    from prosody.engine.views import ChannelMean, silent_ends
    rng = np.random.default_rng(2)
    x = np.concatenate([np.zeros(1600), rng.standard_normal(3200), np.zeros(800), rng.standard_normal(160),
                        np.full(480, 0.25), rng.standard_normal(100)]).astype(np.float32)
    assert silent_ends(x, len(x) // 160, 160) == (10, 3)  # the last 100 samples are no whole frame
    assert silent_ends(x[1600:4800], 20, 160) == (0, 0)
    assert silent_ends(np.zeros(1600, np.float32), 10, 160) == (10, 0)
    long = np.concatenate([np.zeros(160 * 9000), rng.standard_normal(160 * 20000), np.zeros(160 * 8500)])
    two = np.stack([long, long], axis=1).astype(np.float32)
    assert silent_ends(ChannelMean(two), len(long) // 160, 160) == (9000, 8500)
