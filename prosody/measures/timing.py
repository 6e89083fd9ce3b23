"""Timing measures of one speaker over a Slice: talk share, turns, gaps,
overlaps and events; silences and who broke them."""
from __future__ import annotations

import numpy as np

from ..engine.turns import overlapping_starts
from ..quantile import median, percentile
from ..types import Segment
from .registry import MeasuresConfig
from .slice import Slice, _clip, _holds, _r


def timing_measures(sl: Slice, speaker: str, cfg: MeasuresConfig, first: Segment | None) -> dict:
    a, e = sl.start_s, sl.end_s
    minutes = max((e - a) / 60.0, 1e-9)
    own = sum(s.duration_s for s in _segs_clipped(sl, speaker))
    both = sum(s.duration_s for spk in sl.speakers for s in _segs_clipped(sl, spk))
    holds = _holds(sl, speaker, first)
    in_win = [h for h in holds if a <= h[0] < e]
    clipped = _clip(holds, a, e)
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


def silences(sl: Slice, cfg: MeasuresConfig) -> list[dict]:
    """Stretches >= silence_min_s where nobody speaks, and who broke them."""
    segs = sorted(sl.segments, key=lambda s: s.start_s)
    out, covered = [], sl.start_s
    started = False
    for s in segs:
        if started and s.start_s - covered >= cfg.silence_min_s and s.start_s < sl.end_s:
            out.append({"start_s": _r(covered), "end_s": _r(s.start_s), "duration_s": _r(s.start_s - covered),
                        "broken_by": s.speaker})
        covered = max(covered, s.end_s)
        started = True
    return out
