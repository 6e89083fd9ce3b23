"""Turn-taking from two speakers' speech segments.

Vocabulary (Heldner & Edlund 2010; Gravano & Hirschberg 2011):

* **turn**: a speaker's hold of the floor, from its first to its last speech
  segment before the other speaker takes the floor;
* **pause**: silence between two segments of the same speaker inside a turn;
* **transition**: a speaker change; ``offset_s`` (floor transfer offset,
  de Ruiter et al. 2006) = new turn start - previous speaker's end; > 0 gap,
  < 0 overlap;
* **backchannel**: a listener segment shorter than ``backchannel_max_s`` after
  which the floor holder keeps the floor (speaks through it, or resumes within
  ``decision_horizon_s`` and before the listener speaks again);
* **interruption**: the listener starts while the holder speaks, the holder
  stops during the listener's segment, the listener keeps the floor, and the
  overlap lasts at least ``interruption_min_overlap_s``::

      holder    =========|
      listener       |==========      overlap >= min -> interruption

* **failed interruption**: the listener starts in overlap with a segment of at
  least ``backchannel_max_s`` but the holder talks on through it (one holder
  segment spans the whole listener segment); or a shorter listener segment
  after which the holder keeps the floor, that starts inside the holder's
  speech and is a bid for the floor by its prosody, not a soft backchannel
  (``overlap_cues.is_floor_bid``: level at or above the listener's own
  baseline, or raised pitch, on more than a token's syllables and length;
  never before the listener has a baseline: timing alone, a backchannel)::

      holder    ======== pause ========|   |===================
      listener            |mm|           |ok|         |But I|
                     backchannel (soft)  backchannel   failed interruption
                                         (in a pause)  (in speech, own level)

  Without per-frame features (``push`` given no ``frames``) short segments
  are backchannels, as timing alone cannot tell.

A listener segment is decided from the data up to ``decision_horizon_s``
after its end (who speaks next within that horizon), so every decision is
final a bounded time after the fact and streaming and offline runs make the
same decisions.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain

from ..config import TurnConfig
from ..types import Event, FrameBlock, Pause, Segment, Transition, Turn
from .overlap_cues import CueStore, is_floor_bid

HOLDER_MAX_GAP_S = 0.1  # a holder "talks through" a listener segment across gaps this short


def overlapping_starts(segments, speaker: str, *, start_s: float = float("-inf"),
                       end_s: float = float("inf")) -> int:
    """How many of ``speaker``'s segments starting in [start_s, end_s) start
    while another speaker is speaking. One speaker's segments never overlap
    each other, so the other side is searched by bisection."""
    others = sorted((s for s in segments if s.speaker != speaker), key=lambda s: s.start_s)
    starts = [s.start_s for s in others]
    one_other = len({s.speaker for s in others}) <= 1
    n = 0
    for s in segments:
        if s.speaker != speaker or not start_s <= s.start_s < end_s:
            continue
        k = bisect.bisect_left(starts, s.start_s) - 1  # the last other segment starting before this one
        # other speakers may overlap each other: look back over the ones still running
        while k >= 0:
            o = others[k]
            if o.start_s < s.start_s < o.end_s:
                n += 1
                break
            if o.end_s <= s.start_s and one_other:
                break  # one other speaker: its earlier segments end earlier still
            k -= 1
    return n


@dataclass(frozen=True, slots=True)
class TurnOutput:
    """Turn items made final by one ``push``/``flush`` (or, added up, by a run)."""

    turns: tuple[Turn, ...] = ()
    pauses: tuple[Pause, ...] = ()
    transitions: tuple[Transition, ...] = ()
    events: tuple[Event, ...] = ()

    def __add__(self, other: "TurnOutput") -> "TurnOutput":
        return TurnOutput.concat((self, other))

    @staticmethod
    def concat(outs: Iterable["TurnOutput"]) -> "TurnOutput":
        """All items of ``outs``, in order (one pass, for many)."""
        outs = tuple(outs)
        return TurnOutput(turns=tuple(chain.from_iterable(o.turns for o in outs)),
                          pauses=tuple(chain.from_iterable(o.pauses for o in outs)),
                          transitions=tuple(chain.from_iterable(o.transitions for o in outs)),
                          events=tuple(chain.from_iterable(o.events for o in outs)))


class _Items:
    """What one decision run collects before it is handed out as a ``TurnOutput``."""

    __slots__ = ("turns", "pauses", "transitions", "events")

    def __init__(self):
        self.turns: list[Turn] = []
        self.pauses: list[Pause] = []
        self.transitions: list[Transition] = []
        self.events: list[Event] = []

    def frozen(self) -> TurnOutput:
        return TurnOutput(tuple(self.turns), tuple(self.pauses), tuple(self.transitions), tuple(self.events))


class TurnTracker:
    """Stage: closed segments + open-segment starts + watermark -> turns, pauses,
    transitions, events (each emitted once, when final)."""

    def __init__(self, speakers: tuple[str, str], config: TurnConfig = TurnConfig(), *,
                 cues: CueStore | None = None):
        """``cues``: where the final frames go (``push(frames=...)``) to measure
        the prosodic cues of short listener segments; None: timing only."""
        if len(speakers) != 2:
            raise ValueError("turn-taking needs exactly two speakers")
        self.speakers = tuple(speakers)
        self.config = config
        self.cues = cues
        self.reset()

    def reset(self) -> None:
        self._segs: dict[str, list[Segment]] = {s: [] for s in self.speakers}  # closed, in order
        self._open: dict[str, float | None] = {s: None for s in self.speakers}
        self._queue: list[Segment] = []   # closed, undecided, sorted by start
        # speaker -> start of their open segment already decided (``_early``): its items are out, its end
        # (the holder's end) is taken when it closes
        self._early_open: dict[str, float | None] = {s: None for s in self.speakers}
        self._watermark_s = 0.0
        self._ended = False
        self._holder: str | None = None
        self._turn_start = 0.0
        self._holder_end = 0.0   # end of the holder's latest segment in the current turn
        if self.cues is not None:
            self.cues.reset()

    # -- data in ---------------------------------------------------------
    def push(self, segments: list[Segment], *, open_start_s: dict[str, float | None], watermark_s: float,
             frames: list[FrameBlock] = ()) -> TurnOutput:
        """``frames``: the final frames up to ``watermark_s`` not given before
        (needed when the tracker has a ``CueStore``)."""
        if self.cues is not None:
            self.cues.push(list(frames))
        for seg in segments:
            self._segs[seg.speaker].append(seg)
            self._queue.append(seg)
        self._queue.sort(key=self._key)
        self._open = dict(open_start_s)
        self._watermark_s = watermark_s
        return self._run()

    def flush(self, segments: list[Segment] = (), frames: list[FrameBlock] = ()) -> TurnOutput:
        out = self.push(list(segments), open_start_s={s: None for s in self.speakers}, watermark_s=float("inf"),
                        frames=frames)
        self._ended = True
        out = out + self._run()
        if self._holder is not None:
            out = out + TurnOutput(turns=(Turn(self._holder, self._turn_start, self._holder_end),))
            self._holder = None
        return out

    @property
    def decided_until_s(self) -> float:
        """Every turn item (transition, event, pause) with a time before this is final."""
        if self._ended:
            return float("inf")
        opens = self._undecided_opens()
        bounds = [self._watermark_s] + opens + ([self._queue[0].start_s] if self._queue else [])
        return min(bounds)

    def _undecided_opens(self) -> list[float]:
        return [o for s, o in self._open.items() if o is not None and self._early_open[s] != o]

    def _holder_end_now(self) -> float:
        """The holder's end so far; while the holder's open segment is decided early (``_early``) they
        are still speaking (to the watermark at least): no end yet."""
        return float("inf") if self._early_open[self._holder] is not None else self._holder_end

    # -- queries over what is known ----------------------------------------
    def _active_at(self, speaker: str, t: float) -> bool:
        o = self._open[speaker]
        if o is not None and o <= t < self._watermark_s:
            return True
        for seg in reversed(self._segs[speaker]):
            if seg.start_s <= t < seg.end_s:
                return True
            if seg.end_s <= t:
                break
        return False

    def _covers(self, speaker: str, a: float, b: float) -> bool:
        """``speaker``'s speech spans all of [a, b], but for gaps of at most
        ``HOLDER_MAX_GAP_S`` (a frame or two that cross-talk removal took out
        of the holder's speech while the other was loud)."""
        spans = [(seg.start_s, seg.end_s) for seg in self._segs[speaker] if seg.end_s > a and seg.start_s < b]
        o = self._open[speaker]
        if o is not None and o < b:
            spans.append((o, self._watermark_s))
        reach = a
        for start, end in sorted(spans):
            if start - reach > (HOLDER_MAX_GAP_S if reach > a else 0.0):
                return False
            reach = max(reach, end)
        return reach >= b

    def _next_onset(self, speaker: str, t: float) -> float | None:
        best = None
        for seg in reversed(self._segs[speaker]):
            if seg.start_s > t:
                best = seg.start_s
            else:
                break
        o = self._open[speaker]
        if o is not None and o > t and (best is None or o < best):
            best = o
        return best

    # -- decisions ---------------------------------------------------------
    def _run(self) -> TurnOutput:
        out = _Items()
        while True:
            pending = sorted((o, self.speakers.index(s), s) for s, o in self._open.items()
                             if o is not None and self._early_open[s] != o)
            # the offline order is (start, speaker's index): a closed segment starting with the first open
            # one comes before it only when its speaker's index is lower
            limit = pending[0][:2] if pending else (float("inf"), 0)
            while self._queue and self._key(self._queue[0]) < limit:
                seg = self._queue[0]
                if not self._decide(seg, out):
                    break
                self._queue.pop(0)
            # every closed segment before the first open one is decided: decide the open one too, where its
            # items cannot depend on its end (then the windows need not wait for it to close)
            if (pending and not (self._queue and self._key(self._queue[0]) < limit)
                    and self._early(pending[0][2], pending[0][0], out)):
                continue
            break
        if self.cues is not None:  # frames before anything still to be measured go into the baselines
            opens = self._undecided_opens()
            limit = min(opens) if opens else float("inf")
            self.cues.release(min([limit, self._watermark_s] + [q.start_s for q in self._queue[:1]]))
        return out.frozen()

    def _key(self, seg: Segment) -> tuple[float, int]:
        """A segment's place in the offline order (the queue's sort)."""
        return seg.start_s, self.speakers.index(seg.speaker)

    def _early(self, speaker: str, start_s: float, out: _Items) -> bool:
        """Decide ``speaker``'s open segment (from ``start_s``) before it closes, where what ``_decide``
        would make of it does not depend on its end: the first segment; the holder's own (a pause
        before it, if any); another's that has already outlasted a backchannel and either started after
        the holder's speech ended (it takes the floor) or started in overlap with a holder who has since
        stopped for longer than ``HOLDER_MAX_GAP_S`` (the holder did not talk through it: an interruption
        if the overlap was long enough, and it takes the floor). Its end only updates the holder's end,
        when it closes (``_decide``). Other open segments (still short enough to be a backchannel, or
        started in overlap while the holder talks on) wait for their end, as before."""
        cfg = self.config
        if self._holder is not None and speaker != self._holder:
            if self._watermark_s - start_s < cfg.backchannel_max_s:
                return False
            holder = self._holder
            if start_s < self._holder_end_now():  # started in overlap: did the holder talk through it?
                if self._early_open[holder] is not None:
                    return False
                reach = self._known_reach(holder, start_s)
                # the holder's speech stopped at ``reach`` and nothing of theirs starts within the gap allowed
                # (all of it before the watermark is known): the segment, longer still, is not talked through
                if reach is not None and not self._watermark_s - reach > HOLDER_MAX_GAP_S:
                    return False
                if self._holder_end - start_s >= cfg.interruption_min_overlap_s:
                    out.events.append(Event("interruption", speaker, start_s, self._holder_end))
            self._take_floor(Segment(speaker, start_s, start_s), out, holder)
        elif self._holder is None:
            self._take_floor(Segment(speaker, start_s, start_s), out, None)
        elif start_s > self._holder_end:
            out.pauses.append(Pause(speaker, self._holder_end, start_s))
        self._early_open[speaker] = start_s
        return True

    def _known_reach(self, speaker: str, a: float) -> float | None:
        """How far ``speaker``'s speech known so far (closed segments, the open one to the watermark)
        reaches from ``a`` without a gap over ``HOLDER_MAX_GAP_S`` (``_covers``' walk); None: a gap
        before the last known piece ends it (then no later speech can cover more)."""
        spans = [(seg.start_s, seg.end_s) for seg in self._segs[speaker] if seg.end_s > a]
        o = self._open[speaker]
        if o is not None:
            spans.append((o, self._watermark_s))
        reach = a
        for start, end in sorted(spans):
            if start - reach > (HOLDER_MAX_GAP_S if reach > a else 0.0):
                return None
            reach = max(reach, end)
        return reach

    def _decide(self, s: Segment, out: _Items) -> bool:
        """Apply one segment; False when it cannot be decided yet."""
        cfg = self.config
        if self._early_open[s.speaker] == s.start_s:  # decided while open (``_early``): now its end
            self._early_open[s.speaker] = None
            self._holder_end = max(self._holder_end, s.end_s)
            return True
        if self._holder is None:
            self._take_floor(s, out, None)
            return True
        if s.speaker == self._holder:
            if s.start_s > self._holder_end:
                out.pauses.append(Pause(s.speaker, self._holder_end, s.start_s))
            self._holder_end = max(self._holder_end, s.end_s)
            return True
        holder = self._holder
        started_in_overlap = s.start_s < self._holder_end_now()
        short = s.duration_s < cfg.backchannel_max_s
        if not short and not started_in_overlap:
            self._take_floor(s, out, holder)
            return True
        # does the holder keep the floor? A long segment started in overlap only
        # fails when the holder talks through it; a short one is a backchannel
        # when the holder talks through it or resumes before the listener goes on.
        if self._watermark_s <= s.end_s and not self._ended:
            return False
        if not short:
            holder_keeps = self._covers(holder, s.start_s, s.end_s)
        elif self._active_at(holder, s.end_s):
            holder_keeps = True
        else:
            horizon = s.end_s + cfg.decision_horizon_s
            a, b = self._next_onset(holder, s.end_s), self._next_onset(s.speaker, s.end_s)
            a = a if a is not None and a <= horizon else None
            b = b if b is not None and b <= horizon else None
            if a is None and b is None and not self._ended and self._watermark_s < horizon:
                return False
            holder_keeps = a is not None and (b is None or a < b)
        if holder_keeps:
            kind = "backchannel" if short else "failed_interruption"
            if short and started_in_overlap and self.cues is not None:
                if not self._ended and not self.cues.has_frames(s.speaker, s.end_s):
                    return False
                if is_floor_bid(self.cues.cues(s), duration_s=s.duration_s):
                    kind = "failed_interruption"
            out.events.append(Event(kind, s.speaker, s.start_s, s.end_s))
            return True
        if started_in_overlap and self._holder_end - s.start_s >= cfg.interruption_min_overlap_s:
            out.events.append(Event("interruption", s.speaker, s.start_s, self._holder_end))
        self._take_floor(s, out, holder)
        return True

    def _take_floor(self, s: Segment, out: _Items, previous: str | None) -> None:
        if previous is not None:
            out.turns.append(Turn(previous, self._turn_start, self._holder_end))
            out.transitions.append(Transition(previous, s.speaker, self._holder_end, s.start_s))
        self._holder = s.speaker
        self._turn_start = s.start_s
        self._holder_end = s.end_s
