"""Turn-taking logic on planted segments (no audio): each rule of turns.py."""
import numpy as np
import pytest

from prosody.config import TurnConfig
from prosody.engine.turns import TurnTracker
from prosody.types import Segment

T, C = "therapist", "client"


def run(segs, *, stream=False, seed=0):
    """Offline: all segments at once. Streaming: segments revealed in time order
    with the watermark advancing in random steps (open segments reported)."""
    tr = TurnTracker((T, C), TurnConfig())
    if not stream:
        out = tr.flush([Segment(*s) for s in segs])
        return out
    rng = np.random.default_rng(seed)
    end = max(s[2] for s in segs) + 3.0
    t, times = 0.0, []
    while t < end:
        t = min(end, t + float(rng.uniform(0.01, 1.5)))
        times.append(t)
    return pushed(segs, times, tracker=tr)


def pushed(segs, times, *, tracker=None):
    """``segs`` (speaker, start_s, end_s) pushed as a live pipeline does: at each watermark of ``times``
    (rising) the segments closed by then, the open ones by their start; the rest flushed at the end."""
    from prosody.engine.turns import TurnOutput
    tr = tracker or TurnTracker((T, C), TurnConfig())
    out, shown = [], set()
    for t in times:
        new = [s for s in segs if s[2] <= t and s not in shown]
        shown.update(new)
        opens = {T: None, C: None}
        for spk, a, b in segs:
            if a < t < b:
                opens[spk] = a
        out.append(tr.push([Segment(*s) for s in sorted(new, key=lambda s: s[1])], open_start_s=opens, watermark_s=t))
    return TurnOutput.concat(out) + tr.flush([Segment(*s) for s in segs if s not in shown])


def kinds(out):
    return [(e.kind, e.speaker, round(e.start_s, 2)) for e in out.events]


def test_gap_transitions_and_offsets():
    out = run([(T, 0.0, 2.0), (C, 2.3, 4.0), (T, 4.9, 6.0)])
    assert [(x.from_speaker, x.to_speaker, round(x.offset_s, 3), x.kind) for x in out.transitions] == [
        (T, C, 0.3, "gap"), (C, T, 0.9, "gap")]
    assert [(t.speaker, t.start_s, t.end_s) for t in out.turns] == [(T, 0.0, 2.0), (C, 2.3, 4.0), (T, 4.9, 6.0)]
    assert out.events == ()


def test_short_overlap_at_turn_end_is_overlap_not_interruption():
    out = run([(T, 0.0, 2.0), (C, 1.8, 4.0)])
    assert [(round(x.offset_s, 3), x.kind) for x in out.transitions] == [(-0.2, "overlap")]
    assert out.events == ()


def test_interruption_needs_overlap_and_floor_taking():
    out = run([(T, 0.0, 3.0), (C, 2.0, 5.0)])
    assert kinds(out) == [("interruption", C, 2.0)]
    assert round(out.transitions[0].offset_s, 3) == -1.0


def test_failed_interruption_when_holder_talks_through():
    out = run([(T, 0.0, 5.0), (C, 1.0, 2.5), (T, 5.5, 6.0)])
    assert kinds(out) == [("failed_interruption", C, 1.0)]
    assert out.transitions == ()
    assert [(t.speaker, t.start_s, t.end_s) for t in out.turns] == [(T, 0.0, 6.0)]


def test_backchannels_in_overlap_and_in_pause():
    out = run([(T, 0.0, 3.0), (C, 1.0, 1.4), (T, 4.0, 6.0), (C, 3.2, 3.6)])
    assert kinds(out) == [("backchannel", C, 1.0), ("backchannel", C, 3.2)]
    assert [(p.speaker, p.start_s, p.end_s) for p in out.pauses] == [(T, 3.0, 4.0)]
    assert len(out.turns) == 1


def test_short_answer_that_keeps_going_is_a_turn():
    out = run([(T, 0.0, 2.0), (C, 2.5, 3.0), (C, 3.8, 6.0), (T, 6.5, 7.0)])
    assert out.events == ()
    assert [(x.from_speaker, x.to_speaker) for x in out.transitions] == [(T, C), (C, T)]


def test_interrupter_interrupted_back():
    # client holds, therapist interrupts (0.7 s overlap), client comes back in short overlap
    out = run([(C, 0.0, 3.0), (T, 2.3, 4.0), (C, 3.8, 6.0)])
    assert kinds(out) == [("interruption", T, 2.3)]
    assert [(x.to_speaker, round(x.offset_s, 2)) for x in out.transitions] == [(T, -0.7), (C, -0.2)]


@pytest.mark.parametrize("seed", range(5))
def test_streaming_equals_offline(seed):
    # random dialogue with overlaps, pauses, short and long segments (one speaker's never overlapping)
    clean = _random_dialogue(np.random.default_rng(seed), lengths=(0.3, 0.6, 1.5, 3.0))
    a, b = run(clean), run(clean, stream=True, seed=seed)
    assert a.transitions == b.transitions and a.events == b.events
    assert a.turns == b.turns and a.pauses == b.pauses


def test_overlapping_starts_counts_starts_inside_the_other_speech():
    from prosody.engine.turns import overlapping_starts
    segs = [Segment(T, 0.0, 2.0), Segment(C, 1.5, 3.0), Segment(T, 2.5, 4.0), Segment(C, 5.0, 6.0),
            Segment(T, 6.0, 7.0)]  # a start exactly at the other's end is not an overlap
    assert overlapping_starts(segs, C) == 1
    assert overlapping_starts(segs, T) == 1
    assert overlapping_starts(segs, T, start_s=3.0) == 0


def _random_dialogue(rng, n=40, lengths=(0.3, 0.6, 1.5, 3.0, 12.0, 40.0)):
    segs, t, spk = [], 0.0, T
    for _ in range(n):
        d = float(rng.choice(lengths))
        segs.append((spk, round(t, 2), round(t + d, 2)))
        t += d + float(rng.uniform(-0.8, 1.2))
        t = max(t, segs[-1][1] + 0.05)
        if rng.random() < 0.7:
            spk = C if spk == T else T
    clean, last = [], {T: -1.0, C: -1.0}
    for s in sorted(segs, key=lambda s: s[1]):
        if s[1] > last[s[0]] + 0.05:
            clean.append(s)
            last[s[0]] = s[2]
    return clean


@pytest.mark.parametrize("seed", range(12))
def test_items_decided_early_are_the_offline_ones_and_none_comes_before_decided_until(seed):
    """Open segments decided before they close (``TurnTracker._early``: the holder's own, another's
    that started in silence and outlasted a backchannel) give the offline items, and no item comes
    out with a time before what ``decided_until_s`` said was final (the rolling windows rely on it)."""
    rng = np.random.default_rng(100 + seed)
    segs = _random_dialogue(rng)
    tr = TurnTracker((T, C), TurnConfig())
    end = max(s[2] for s in segs) + 3.0
    t, shown, items, decided = 0.0, set(), [], 0.0
    while t < end:
        t = min(end, t + float(rng.uniform(0.01, 2.0)))
        new = [s for s in segs if s[2] <= t and s not in shown]
        shown.update(new)
        opens = {T: None, C: None}
        for spk, a, b in segs:
            if a < t < b:
                opens[spk] = a
        out = tr.push([Segment(*s) for s in sorted(new, key=lambda s: s[1])], open_start_s=opens, watermark_s=t)
        times = ([p.end_s for p in out.pauses] + [x.to_start_s for x in out.transitions]
                 + [e.start_s for e in out.events])
        assert all(x >= decided for x in times), (decided, times)
        decided = tr.decided_until_s
        items.append(out)
    from prosody.engine.turns import TurnOutput
    got = TurnOutput.concat(items) + tr.flush([Segment(*s) for s in segs if s not in shown])
    want = run(segs)
    assert got.transitions == want.transitions and got.events == want.events
    assert got.turns == want.turns and got.pauses == want.pauses


def test_an_open_monologue_does_not_hold_the_decisions_back():
    """The therapist talks from 0 s on (one open segment, pauses bridged): before, every turn item
    after 0 s waited for it to close (``decided_until_s`` 0); now only the open segment's end is
    unknown. The client then starts in silence and talks past a backchannel's length: the speaker
    change is out while the client still talks. One who starts in overlap, or is still short,
    waits for their end."""
    tr = TurnTracker((T, C), TurnConfig())
    tr.push([], open_start_s={T: 0.5, C: None}, watermark_s=60.0)
    assert tr.decided_until_s == 60.0
    # a "mm-hm" inside it: decided while the therapist talks on
    out = tr.push([Segment(C, 20.0, 20.4)], open_start_s={T: 0.5, C: None}, watermark_s=70.0)
    assert [e.kind for e in out.events] == ["backchannel"] and tr.decided_until_s == 70.0
    # the therapist stops at 100; the client starts at 101 and is still talking at 101.5: not yet a turn
    out = tr.push([Segment(T, 0.5, 100.0)], open_start_s={T: None, C: 101.0}, watermark_s=101.5)
    assert not out.transitions and tr.decided_until_s == 101.0
    out = tr.push([], open_start_s={T: None, C: 101.0}, watermark_s=103.0)
    assert [(x.from_speaker, x.to_speaker, x.from_end_s, x.to_start_s) for x in out.transitions] == [
        (T, C, 100.0, 101.0)]
    assert tr.decided_until_s == 103.0
    # the therapist starts in overlap with the client (open): that waits for its end
    out = tr.push([], open_start_s={T: 110.0, C: 101.0}, watermark_s=111.0)
    assert not out.events and tr.decided_until_s == 110.0


def test_a_talk_over_that_goes_on_is_decided_while_it_goes_on():
    """The client starts 0.5 s before the therapist stops and talks on: once the therapist has been
    quiet longer than a holder's gap and the client has outlasted a backchannel, it is an
    interruption and a speaker change, while the client still talks. While the therapist talks
    through it, it waits."""
    tr = TurnTracker((T, C), TurnConfig())
    tr.push([], open_start_s={T: 0.0, C: 9.5}, watermark_s=9.9)
    assert tr.decided_until_s == 9.5
    out = tr.push([Segment(T, 0.0, 10.0)], open_start_s={T: None, C: 9.5}, watermark_s=10.05)
    assert not out.events and tr.decided_until_s == 9.5  # the therapist may resume within 0.1 s
    out = tr.push([], open_start_s={T: None, C: 9.5}, watermark_s=10.6)
    assert [(e.kind, e.speaker, e.start_s, e.end_s) for e in out.events] == [("interruption", C, 9.5, 10.0)]
    assert [(x.from_speaker, x.to_speaker) for x in out.transitions] == [(T, C)]
    assert tr.decided_until_s == 10.6
    want = run([(T, 0.0, 10.0), (C, 9.5, 30.0)])
    assert [(e.kind, e.speaker, e.start_s, e.end_s) for e in want.events] == [("interruption", C, 9.5, 10.0)]
