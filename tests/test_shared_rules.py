"""The rules that several views share, each written once: silent stretches and
runs of quick answers (``measures.timing``, read by the session measures, the
live cues and the moments to review) and the two clocks (``timebase``, read by
the report, the lists, the live view and the live messages). Planted inputs,
known answers."""
from __future__ import annotations

import pytest

from prosody.measures import CueConfig, MeasuresConfig, cues, silences
from prosody.measures.slice import Slice
from prosody.measures.timing import quick_answer_runs, silent_stretches
from prosody.moments import MomentsConfig, candidates
from prosody.timebase import GRID, clock_text, stopwatch_text
from prosody.types import Segment, Transition

T, C = "therapist", "client"

#   therapist |==|      |=|            ||        (one character a second)
#   client       ||       ||      |======|
#   seconds   0   4     10 13     20     27
SPANS = [(0.0, 3.0, T), (2.5, 4.0, C), (10.0, 12.0, T), (12.5, 13.0, C), (20.0, 27.0, C), (25.0, 26.0, T)]


def test_silent_stretches_planted():
    # 4 -> 10 broken by the therapist, 13 -> 20 by the client; 12 -> 12.5 is too short
    assert silent_stretches(SPANS, start_s=0.0, end_s=None, min_s=5.0) == [(4.0, 10.0, T), (13.0, 20.0, C)]
    assert silent_stretches(SPANS, start_s=0.0, end_s=None, min_s=0.5) == [(4.0, 10.0, T), (12.0, 12.5, C),
                                                                         (13.0, 20.0, C)]
    # any order in, the same out; a stretch starts at the latest end so far (27, not the nested 26)
    assert silent_stretches(reversed(SPANS + [(35.0, 36.0, C)]), start_s=0.0, end_s=None, min_s=5.0) == [
        (4.0, 10.0, T), (13.0, 20.0, C), (27.0, 35.0, C)]
    # end_s: a silence broken at or after it does not count
    assert silent_stretches(SPANS, start_s=0.0, end_s=20.0, min_s=5.0) == [(4.0, 10.0, T)]
    assert silent_stretches(SPANS, start_s=0.0, end_s=20.001, min_s=5.0) == [(4.0, 10.0, T), (13.0, 20.0, C)]
    # no silence before the first speech (nobody had spoken), none after the last (nobody broke it)
    assert silent_stretches([(8.0, 9.0, C)], start_s=0.0, end_s=None, min_s=1.0) == []
    assert silent_stretches([], start_s=0.0, end_s=None, min_s=1.0) == []
    # start_s: coverage starts there (a slice that begins after the first speech ended)
    assert silent_stretches([(0.0, 1.0, T), (9.0, 10.0, C)], start_s=3.0, end_s=None, min_s=5.0) == [(3.0, 9.0, C)]


def _slice(segments=(), transitions=(), *, end_s=60.0) -> Slice:
    return Slice(grid=GRID, speakers=(T, C), frame0=0, frame1=GRID.s_to_frames(end_s), frames={T: {}, C: {}},
                 segments=tuple(segments), transitions=tuple(transitions), transitions_all=tuple(transitions),
                 events=(), pauses=(), nuclei=(), turn_taking=True)


def _doc(segments=(), transitions=()) -> dict:
    return {"speaker_order": [T, C], "turn_taking": True,
            "segments": [{"speaker": s, "start_s": a, "end_s": b} for a, b, s in segments],
            "transitions": [{"from_speaker": t.from_speaker, "to_speaker": t.to_speaker, "from_end_s": t.from_end_s,
                             "to_start_s": t.to_start_s, "offset_s": t.offset_s} for t in transitions]}


def test_session_silences_and_moments_read_the_one_rule():
    sl = _slice([Segment(s, a, b) for a, b, s in SPANS])
    assert silences(sl, MeasuresConfig(silence_min_s=5.0)) == [
        {"start_s": 4.0, "end_s": 10.0, "duration_s": 6.0, "broken_by": T},
        {"start_s": 13.0, "end_s": 20.0, "duration_s": 7.0, "broken_by": C}]
    got = [(c.start_s, c.end_s, c.speaker, c.numbers["length_s"])
           for c in candidates(_doc(SPANS), cfg=MomentsConfig(silence_min_s=5.0)) if c.kind == "silence"]
    assert got == [(4.0, 10.0, T, 6.0), (13.0, 20.0, C, 7.0)]
    # and a slice that ends before the second silence is broken does not hold it
    assert [x["end_s"] for x in silences(_slice([Segment(s, a, b) for a, b, s in SPANS], end_s=15.0),
                                         MeasuresConfig(silence_min_s=5.0))] == [10.0]


def test_quick_answer_runs_planted():
    offs = [0.1, 0.1, 0.5, 0.1, 0.0, 0.1, 0.3, 0.1, 0.1]
    assert quick_answer_runs(offs, under_s=0.2, min_run=3) == [(3, 6)]
    assert quick_answer_runs(offs, under_s=0.2, min_run=2) == [(0, 2), (3, 6), (7, 9)]  # the last still going
    assert quick_answer_runs(offs, under_s=0.1, min_run=2) == []  # "under": 0.1 is not under 0.1
    assert quick_answer_runs(offs, under_s=1.0, min_run=9) == [(0, 9)]
    assert quick_answer_runs([], under_s=0.2, min_run=2) == []


def _answers(offsets_s, *, start_s=1.0, step_s=5.0):
    """Therapist answers with the given offsets, each after a client turn; a quick
    client answer in between each (it neither breaks nor counts in the therapist's run)."""
    out = []
    for i, off in enumerate(offsets_s):
        a = start_s + i * step_s
        out.append(Transition(C, T, a, a + off))
        out.append(Transition(T, C, a + 2.0, a + 2.05))
    return out


@pytest.mark.parametrize("offsets_s, fires", [([0.5, 0.1, 0.1, 0.1], True), ([0.1, 0.1, 0.1, 0.5], False),
                                              ([0.1, 0.1], False), ([0.1, 0.5, 0.1, 0.1], False),
                                              ([0.0, -0.3, 0.1], True)])
def test_quick_answers_cue_is_a_run_going_on_now(offsets_s, fires):
    cfg = MeasuresConfig(cues=CueConfig(monologue=False, overlaps=False, quick_answers=True, quick_answer_s=0.2,
                                        quick_answers_run=3))
    got = cues(_slice(transitions=_answers(offsets_s)), {}, {}, cfg, None, therapist=T)
    assert [c["kind"] for c in got] == (["quick_answers"] if fires else [])


def test_quick_answers_moment_is_the_same_run():
    trs = _answers([0.1, 0.1, 0.1, 0.5, 0.1, 0.0, 0.1, 0.1, 0.3])
    got = [(c.start_s, c.end_s, c.numbers["answers"]) for c in
           candidates(_doc(transitions=trs), cfg=MomentsConfig(quick_run=3, quick_answer_s=0.2))
           if c.kind == "quick_answers"]
    # runs of answers 0..2 (from the first client turn's end at 1 s to the third answer + 2 s) and 4..7
    assert got == [(1.0, 11.1 + 2.0, 3.0), (21.0, 36.1 + 2.0, 4.0)]


@pytest.mark.parametrize("t_s, clock, stopwatch", [
    (0.0, "0:00", "00:00"), (0.4, "0:00", "00:00"), (59.6, "1:00", "00:59"), (60.0, "1:00", "01:00"),
    (599.5, "10:00", "09:59"), (3599.5, "1:00:00", "59:59"), (3600.0, "1:00:00", "1:00:00"),
    (3661.7, "1:01:02", "1:01:01"), (-0.4, "0:00", "00:00"), (-61.0, "0:00", "00:00")])
def test_clocks(t_s, clock, stopwatch):
    """Rounded for a time on the timeline (0.5 rounds to even, as ``round``);
    truncated for a stopwatch (a second shows once it has passed)."""
    assert clock_text(t_s) == clock
    assert stopwatch_text(t_s) == stopwatch


def test_clock_rounds_half_to_even():
    assert [clock_text(t) for t in (0.5, 1.5, 2.5)] == ["0:00", "0:02", "0:02"]


def test_the_views_use_the_one_clock():
    from prosody.report import plots, wording
    assert wording.fmt_clock is clock_text and plots.fmt_clock is clock_text
