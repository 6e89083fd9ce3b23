"""Backchannel or failed interruption: the cues of a listener segment measured
on planted frames, the rule, the turn tracker with and without cues, and a
generated dialogue with planted backchannels and failed interruptions
(whole vs random block sizes)."""
import numpy as np
import pytest

from prosody.engine.overlap_cues import (BID_LEVEL_REL_DB, BID_RAISED_DB, BID_TOKEN_HOLDER_REL_DB, CueStore, ListenerCues,
                                  MIN_BASELINE_FRAMES, is_floor_bid)
from prosody.engine.turns import TurnOutput, TurnTracker
from prosody.types import FrameBlock, Segment

T, C = "therapist", "client"
SEED = 44  # neither a tuning seed (0-31) nor a benchmark seed (100-123)


def frames(speaker, spans, n, *, f0_hz=200.0):
    """FrameBlock of ``n`` frames: silence at -90 dB, and for each (a, b, level_db, n_bumps) speech frames
    [a, b) at level_db with n_bumps syllable-like 6 dB bumps, voiced at f0_hz (a scalar or per span)."""
    rms = np.full(n, -90.0, np.float32)
    f0 = np.full(n, np.nan, np.float32)
    speech = np.zeros(n, bool)
    for k, (a, b, level, bumps) in enumerate(spans):
        t = np.arange(b - a)
        rms[a:b] = level - 6.0 + 6.0 * np.abs(np.sin(np.pi * bumps * t / (b - a))) if bumps else level
        f0[a:b] = f0_hz[k] if np.ndim(f0_hz) else f0_hz
        speech[a:b] = True
    return FrameBlock(speaker, 0, speech, f0, np.where(speech, 0.9, 0.0).astype(np.float32), rms,
                      np.zeros(n, np.float32))


def test_cues_measure_planted_level_pitch_and_syllables():
    # client: 3 s of speech at -30 dB (energy mean), 200 Hz; then a segment with 3 bumps peaking at -20 dB, 252 Hz
    fb = frames(C, [(0, 300, -30.0, 0), (400, 460, -20.0, 3)], 500, f0_hz=[200.0, 252.0])
    store = CueStore((T, C))
    store.push([fb, frames(T, [], 500)])
    c = store.cues(Segment(C, 4.0, 4.6))
    assert c.n_syllables == 3
    seg_db = 10 * np.log10(np.mean(10 ** (fb.rms_db[400:460].astype(float) / 10)))
    assert c.level_rel_db == pytest.approx(seg_db + 30.0, abs=1e-6)
    assert c.f0_rel_st == pytest.approx(12 * np.log2(252 / 200), abs=0.25)  # baseline from 0.25 st bins
    # before 1 s of the speaker's speech: no level baseline (a fresh store: segments are measured in time order)
    early = CueStore((T, C))
    early.push([fb, frames(T, [], 500)])
    assert early.cues(Segment(C, 0.5, 0.9)).level_rel_db is None


@pytest.mark.parametrize("cues, duration_s, bid", [
    (ListenerCues(2, BID_RAISED_DB, None), 0.3, True),           # raised: a bid however brief
    (ListenerCues(2, BID_RAISED_DB - 0.5, None), 0.45, False),   # own level, a token ("okay")
    (ListenerCues(4, BID_LEVEL_REL_DB, None), 0.7, True),        # own level, a real start ("Sorry can I")
    (ListenerCues(4, BID_LEVEL_REL_DB - 1.0, 0.0), 0.7, False),  # soft
    (ListenerCues(4, BID_LEVEL_REL_DB - 1.0, 3.0), 0.7, True),   # soft-ish but pitch raised
    (ListenerCues(5, None, None), 0.9, False),                   # no baseline yet: timing alone
    (ListenerCues(4, None, None, BID_LEVEL_REL_DB), 0.7, True),  # none of its own, in one signal: the holder's
    (ListenerCues(4, None, None, BID_LEVEL_REL_DB - 1.0), 0.7, False),  # soft re the holder
    (ListenerCues(2, None, None, BID_RAISED_DB + 5.0), 0.3, False),     # a token: the stand-in is not its own
    (ListenerCues(2, BID_LEVEL_REL_DB, None, BID_TOKEN_HOLDER_REL_DB), 0.3, True),  # a token loud over the holder
    (ListenerCues(2, BID_LEVEL_REL_DB - 1.0, None, BID_TOKEN_HOLDER_REL_DB + 5.0), 0.3, False),  # soft re own
    (ListenerCues(2, BID_LEVEL_REL_DB, None, BID_TOKEN_HOLDER_REL_DB - 1.0), 0.3, False),  # under the holder
])
def test_floor_bid_rule(cues, duration_s, bid):
    assert is_floor_bid(cues, duration_s=duration_s) is bid


def _tracker_events(client_spans, *, cues=True):
    """The client speaks 0-3 s at -30 dB (its baseline), the therapist takes the floor 4-7 s and 7.5-13 s at
    -30 dB; ``client_spans`` are the client's (start_frame, end_frame, level_db, n_bumps) after that."""
    n = 1400
    t_spans = [(400, 700, -30.0, 0), (750, 1300, -30.0, 0)]
    c_spans = [(0, 300, -30.0, 0)] + client_spans
    fbs = [frames(T, t_spans, n), frames(C, c_spans, n)]
    segs = [Segment(T, a / 100, b / 100) for a, b, *_ in t_spans] + [Segment(C, a / 100, b / 100)
                                                                      for a, b, *_ in c_spans]
    tr = TurnTracker((T, C), cues=CueStore((T, C)) if cues else None)
    out = tr.flush(sorted(segs, key=lambda s: s.start_s), frames=fbs)
    return [(e.kind, e.start_s) for e in out.events]


def test_tracker_tells_failed_interruption_from_backchannel_by_cues():
    # inside the therapist's speech: soft 2-bump token, own-level 4-bump start, raised 2-bump start;
    # in the therapist's pause (7.0-7.5 s): an own-level 4-bump vocalisation
    spans = [(800, 840, -40.0, 2), (900, 965, -30.0, 4), (1000, 1040, -26.0, 2), (702, 745, -30.0, 4)]
    assert sorted(_tracker_events(spans)) == [("backchannel", 7.02), ("backchannel", 8.0),
                                              ("failed_interruption", 9.0), ("failed_interruption", 10.0)]
    # without frames, timing alone: all short ones are backchannels
    assert {k for k, _ in _tracker_events(spans, cues=False)} == {"backchannel"}
    assert MIN_BASELINE_FRAMES <= 300


def test_before_its_own_baseline_a_bid_in_one_signal_is_told_by_the_holder_level():
    # the therapist holds the floor 0-9 s at -30 dB; the client's first vocalisations, both inside it and
    # 4 bumps, 0.7 s (under 1 s of the client's speech in all): a soft "mm hm mm hm" at -42 dB at 3 s, a
    # start at -28 dB (the holder's level) at 5 s
    n = 1000
    fbs = [frames(T, [(0, 900, -30.0, 0)], n), frames(C, [(300, 370, -42.0, 4), (500, 570, -28.0, 4)], n)]
    segs = [Segment(T, 0.0, 9.0), Segment(C, 3.0, 3.7), Segment(C, 5.0, 5.7)]

    def events(one_signal):
        tr = TurnTracker((T, C), cues=CueStore((T, C), one_signal=one_signal))
        return [(e.kind, e.start_s) for e in tr.flush(segs, frames=fbs).events]

    assert events(True) == [("backchannel", 3.0), ("failed_interruption", 5.0)]
    # separate channels: the holder's level says nothing of the client's (independent gains), timing alone
    assert events(False) == [("backchannel", 3.0), ("backchannel", 5.0)]


def test_in_one_signal_a_token_at_own_level_louder_than_the_holder_is_a_bid():
    # the client speaks 0-3 s at -30 dB (its baseline); the therapist, quieter (-34 dB), holds the floor 4-13 s;
    # inside it two 2-bump tokens of the client, 0.4 s: at its own level (-30 dB, over the holder's) at 6 s,
    # soft (-40 dB) at 9 s
    n = 1400
    fbs = [frames(T, [(400, 1300, -34.0, 0)], n), frames(C, [(0, 300, -30.0, 0), (600, 640, -30.0, 2),
                                                          (900, 940, -40.0, 2)], n)]
    segs = [Segment(C, 0.0, 3.0), Segment(T, 4.0, 13.0), Segment(C, 6.0, 6.4), Segment(C, 9.0, 9.4)]

    def events(one_signal):
        tr = TurnTracker((T, C), cues=CueStore((T, C), one_signal=one_signal))
        return [(e.kind, e.start_s) for e in tr.flush(segs, frames=fbs).events]

    assert events(True) == [("failed_interruption", 6.0), ("backchannel", 9.0)]
    assert events(False) == [("backchannel", 6.0), ("backchannel", 9.0)]  # separate channels: a token


@pytest.fixture(scope="module")
def overlap_dialogue():
    if __import__("shutil").which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    from tests.dialogue import build_dialogue, scenario_overlap_events
    return build_dialogue(scenario_overlap_events(seed=SEED, n_floors=4), seed=SEED, level_db=(-30.0, -28.0))


def test_planted_backchannels_and_failed_interruptions_are_told_apart(overlap_dialogue):
    from prosody.session import analyze_blocks
    d = overlap_dialogue
    truth = [(e.kind, e.speaker, e.start_s) for e in d.truth.events if e.kind != "interruption"]
    assert {k for k, *_ in truth} == {"backchannel", "failed_interruption"}
    found = [(e.kind, e.speaker, e.start_s) for e in analyze_blocks([d.audio], (T, C)).turns.events
             if e.kind != "interruption"]
    assert len(found) == len(truth)
    for (kind, spk, t), (k2, s2, t2) in zip(sorted(truth, key=lambda x: x[2]), sorted(found, key=lambda x: x[2])):
        assert (kind, spk) == (k2, s2) and abs(t - t2) < 0.05, (kind, spk, t, k2, s2, t2)


def test_random_block_sizes_give_the_same_events(overlap_dialogue):
    from prosody.engine.pipeline import Pipeline
    audio = overlap_dialogue.audio
    rng = np.random.default_rng(SEED)

    def run(sizes):
        pipe, out, pos = Pipeline((T, C)), TurnOutput(), 0
        for n in sizes:
            out = out + pipe.push(audio[pos:pos + n]).turns
            pos += n
        out = out + pipe.flush().turns
        return out

    whole = run([len(audio)])
    sizes = np.diff(np.r_[0, np.sort(rng.choice(len(audio), size=len(audio) // 2000, replace=False)),
                          len(audio)]).tolist()  # 1 sample to several seconds
    chunked = run(sizes)
    assert chunked.events == whole.events and chunked.transitions == whole.transitions
    assert chunked.turns == whole.turns and chunked.pauses == whole.pauses
