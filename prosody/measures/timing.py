"""Timing measures of one speaker over a Slice: talk share, turns, gaps,
overlaps and events; silences and who broke them; runs of quick answers.

``silent_stretches`` and ``quick_answer_runs`` are the one implementation of
each rule: ``silences`` (the session's measures) and the moments to review
(``prosody.moments``) call the first; the quick-answers cue (``cues``) and the
moments to review call the second."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..engine.turns import overlapping_starts
from ..quantile import median, percentile
from ..types import Segment
from .registry import MeasuresConfig
from .slice import Slice, _clip, _hold_pieces, _holds, _r


def timing_measures(sl: Slice, speaker: str, cfg: MeasuresConfig, first: Segment | None) -> dict:
    a, e = sl.start_s, sl.end_s
    minutes = max((e - a) / 60.0, 1e-9)
    own = sum(s.duration_s for s in _segs_clipped(sl, speaker))
    both = sum(s.duration_s for spk in sl.speakers for s in _segs_clipped(sl, spk))
    holds = _holds(sl, speaker, first)
    in_win = [h for h in holds if a <= h[0] < e]
    # a monologue ends at a silence of cues.monologue_silence_s (nobody speaking), as the live cue's does
    clipped = _clip([p for h in holds for p in _hold_pieces(sl, h, cfg.cues.monologue_silence_s)], a, e)
    answers = [t for t in sl.transitions if t.to_speaker == speaker]
    offs = np.array([t.offset_s for t in answers])
    out = {
        "talk_share": own / both if both > 0 else None,
        "speech_s": own,
        "turns_per_min": len(in_win) / minutes,
        "longest_monologue_s": max([y - x for x, y in clipped], default=0.0),
        "n_answers": len(answers),
        "gap_median_s": float(median(offs)) if len(offs) else None,
        "gap_quantiles_s": ({f"p{q}": _r(percentile(offs, q)) for q in (10, 25, 50, 75, 90)}
                            if len(offs) else None),
        "quick_answer_share": float(np.mean(offs < cfg.quick_answer_s)) if len(offs) else None,
        "overlaps": _overlapping_starts(sl, speaker),
        "interruptions": sum(1 for x in sl.events if x.speaker == speaker and x.kind == "interruption"),
        "failed_interruptions": sum(1 for x in sl.events if x.speaker == speaker and x.kind == "failed_interruption"),
        "backchannels": sum(1 for x in sl.events if x.speaker == speaker and x.kind == "backchannel"),
    }
    if speaker == cfg.client and cfg.network_delay_ms:
        corr = offs - 2 * cfg.network_delay_ms / 1000.0
        out["gap_median_corrected_s"] = float(median(corr)) if len(corr) else None
        out["quick_answer_share_corrected"] = float(np.mean(corr < cfg.quick_answer_s)) if len(corr) else None
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in out.items()}


def _segs_clipped(sl: Slice, speaker: str) -> list[Segment]:
    return [Segment(speaker, max(s.start_s, sl.start_s), min(s.end_s, sl.end_s))
            for s in sl.segments if s.speaker == speaker and s.end_s > sl.start_s and s.start_s < sl.end_s]


def _overlapping_starts(sl: Slice, speaker: str) -> int:
    return overlapping_starts(sl.segments, speaker, start_s=sl.start_s, end_s=sl.end_s)


def silent_stretches(spans: Iterable[tuple[float, float, str]], *, start_s: float, end_s: float | None,
                     min_s: float) -> list[tuple[float, float, str]]:
    """Stretches of at least ``min_s`` seconds where nobody speaks, and who broke them.

    ``spans``: (start_s, end_s, speaker) of every speaker's speech, in any order
    (taken by start, ties in the order given). Returns (from_s, to_s, broken_by)
    in time order: ``from_s`` is where the speech before it ended (the latest end
    so far, not earlier than ``start_s``), ``to_s`` the start of the speech that
    broke it, by ``broken_by``. Only silence that speech broke counts: none
    before the first span (nobody had spoken yet) or after the last (nobody
    broke it), and none broken at or after ``end_s`` (None: no end)::

        A   |=====|          |====|
        B      |====|                    |===|
                    ^--------^    ^------^
                    silence       silence
                    broken by A   broken by B
    """
    out, covered, started = [], start_s, False
    for a, b, spk in sorted(spans, key=lambda x: x[0]):
        if started and a - covered >= min_s and (end_s is None or a < end_s):
            out.append((covered, a, spk))
        covered = max(covered, b)
        started = True
    return out


def quick_answer_runs(offsets_s: Sequence[float], *, under_s: float, min_run: int) -> list[tuple[int, int]]:
    """Runs of at least ``min_run`` answers in a row, each with a floor transfer
    offset under ``under_s`` seconds.

    ``offsets_s``: the offsets (s) of one speaker's answers, in time order (the
    other speaker's answers in between neither break nor count). Returns
    ``(i, j)`` per run: the answers ``offsets_s[i:j]``, in order. A run still
    going at the last answer ends at ``j == len(offsets_s)``::

        offsets   0.1  0.1  0.5  0.1  0.0  0.1     under_s = 0.2, min_run = 3
        runs                     [------------)    -> [(3, 6)]
    """
    runs, first = [], None
    for i, off in enumerate(offsets_s):
        if off < under_s:
            if first is None:
                first = i
        else:
            if first is not None and i - first >= min_run:
                runs.append((first, i))
            first = None
    if first is not None and len(offsets_s) - first >= min_run:
        runs.append((first, len(offsets_s)))
    return runs


def silences(sl: Slice, cfg: MeasuresConfig) -> list[dict]:
    """Stretches >= silence_min_s where nobody speaks in the slice, and who broke them
    (``silent_stretches``)."""
    return [{"start_s": _r(a), "end_s": _r(b), "duration_s": _r(b - a), "broken_by": spk}
            for a, b, spk in silent_stretches(((s.start_s, s.end_s, s.speaker) for s in sl.segments),
                                              start_s=sl.start_s, end_s=sl.end_s, min_s=cfg.silence_min_s)]
