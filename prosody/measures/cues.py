"""Gentle cues evaluated over rolling windows (monologue, overlaps, pace,
quick answers)."""
from __future__ import annotations

from ..types import Segment
from .registry import MeasuresConfig
from .slice import Slice, _hold_pieces, _holds, _r
from .timing import quick_answer_runs


def _minutes(s: float) -> str:
    m = f"{s / 60:.0f}"
    return f"{m} minute" if m == "1" else f"{m} minutes"


def _since_silence(sl: Slice, start_s: float, silence_s: float) -> float:
    """When the floor hold that began at ``start_s`` began again after its last silence of ``silence_s`` or
    more in which nobody spoke (``_hold_pieces``: the start of its last piece up to the slice's end)."""
    return _hold_pieces(sl, (start_s, sl.end_s), silence_s)[-1][0]


# cues
def cues(sl: Slice, voice: dict, timing: dict | None, cfg: MeasuresConfig, first: Segment | None, *,
         therapist: str | None = None) -> list[dict]:
    """The cues addressed to the therapist (``therapist``, default
    ``cfg.therapist``) whose ``voice`` and ``timing`` these are. A monologue
    is the floor held up to the window's end since its last silence of
    ``cues.monologue_silence_s`` (nobody speaking)."""
    c = cfg.cues
    out = []
    th = therapist or cfg.therapist
    if timing is not None and c.monologue:
        holds = _holds(sl, th, first)
        if holds and holds[-1][1] >= sl.end_s - 1.0:  # holding the floor now
            dur = sl.end_s - _since_silence(sl, holds[-1][0], c.monologue_silence_s)
            if dur >= c.monologue_s:
                out.append({"kind": "monologue", "message": f"monologue {dur:.0f} s", "value": _r(dur)})
    if timing is not None and c.overlaps:
        # talking over the client, or trying to: the therapist's interruptions and failed interruptions
        # (the warmth component's two counts). Not every overlapping start: a "mm-hm" inside the client's
        # speech (a backchannel) is listening, and it set this cue off (a user's walk-through, 2026-12-04)
        a = sl.end_s - c.overlaps_window_s
        n = sum(1 for e in (sl.events_look or sl.events) if e.speaker == th and a <= e.start_s
                and e.kind in ("interruption", "failed_interruption"))
        if n >= c.overlaps_count:
            out.append({"kind": "overlaps", "message": f"you talked over the client, or tried to, {n} times in "
                                                       f"{_minutes(c.overlaps_window_s)}", "value": n})
    if c.pace and voice.get("articulation_rate_rel") is not None and voice["articulation_rate_rel"] >= c.pace_above_baseline:
        out.append({"kind": "pace", "message": f"pace {voice['articulation_rate_rel'] * 100:.0f}% above your baseline",
                    "value": voice["articulation_rate_rel"]})
    if timing is not None and c.quick_answers:
        # a run of quick answers (the one rule, quick_answer_runs) going on at the last answer
        offs = [t.offset_s for t in sl.transitions_all if t.to_speaker == th]
        runs = quick_answer_runs(offs, under_s=c.quick_answer_s, min_run=c.quick_answers_run)
        if runs and runs[-1][1] == len(offs):
            out.append({"kind": "quick_answers",
                        # an answer in overlap counts (the rule's offset < 0.2 s): a run of three talk-overs read
                        # "you answered within 200 ms" (user walk-through)
                        "message": f"you answered within {c.quick_answer_s * 1000:.0f} ms (or in overlap) "
                                   f"{c.quick_answers_run} times running",
                        "value": c.quick_answers_run})
    return out
