"""Where a split's wrong-person speech sits (issue 9: "at most 3 % of single-speaker speech given to the
wrong person", 0.25 s collars), by class (fifty-eighth round, docs/speakers.md).

Runs every two-voice recording of a ``benchmarks/diarization.py`` split as that benchmark does
(``run_case``: attribution, speaker channels, the analysis, the names swapped where the no-profile
rule named them the wrong way round), takes the frames it scores as wrong-person speech and says
where they lie:

* read as one: the recording was found to hold one voice (every frame of the voice not named is wrong);
* voices mixed: two voices found, but over ``MIXED_SHARE`` of the recording's single-speaker speech
  is wrong (the clustering split the speech along something else than who speaks);
* otherwise each run of wrong frames (contiguous, inside one planted utterance of its true speaker)
  by where it lies in that utterance (``run_class``): the whole utterance; its start, after the
  other voice (that voice's speech ended under ``NEAR_S`` before it) or after a pause; its end,
  before the other voice or before a pause; next to an overlap with the other voice; inside it.
  ``[both]`` where the diarizer gave the frames to both voices, ``[other]`` to the other voice
  alone; ``quiet`` where the run's mean level lies ``QUIET_DB`` or more under the utterance's
  median speech level.

    python benchmarks/diarization_wrong.py --split NAME [--cache DIR] [--only TEXT] [--runs]

Figures sum to the benchmark's own wrong-person line for the split (the same cases, the same scoring).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np

from _common import frame_mask

MIXED_SHARE = 0.25  # a recording with two voices found and more than this wrong: the voices mixed
EDGE_S = 0.35  # a run starting (ending) within this of its utterance's start (end): the utterance's edge
NEAR_S = 1.0  # the other voice's speech ending (starting) within this of the utterance: "after (before) the other"
OVERLAP_NEAR_S = 0.5  # a run within this of an overlap inside its utterance: at the overlap's edge
QUIET_DB = 10.0  # a run this far under its utterance's median speech level: quiet
WHOLE_SHARE = 0.8  # a run holding this share of its utterance's scored frames: the whole utterance


@dataclass(frozen=True)
class WrongRun:
    """One run of wrong-person frames: its true speaker (0 / 1), its frames [start, end) on the 10 ms
    grid, whether the diarizer gave it to both voices, and its class (``run_class``)."""

    speaker: int
    start: int
    end: int
    both: bool
    kind: str


def run_class(a: int, b: int, seg: tuple[float, float], own: list, other: list, scored: int, level_db: np.ndarray,
              *, hop_s: float = 0.01) -> str:
    """Where the wrong run of frames [a, b) lies in its planted utterance ``seg`` (start_s, end_s) of its
    true speaker: "whole utterance", "start (after other)", "start (after pause)", "end (before
    other)", "end (before pause)", "overlap edge" or "inside", with ", quiet" added where its mean
    frame level (``level_db``, dB per frame) lies ``QUIET_DB`` or more under the utterance's median speech
    level. ``own`` / ``other``: the true speaker's and the other voice's planted (start_s, end_s);
    ``scored``: the utterance's frames the benchmark scores::

        other   ######......                 ...######
        own          .....##################......
        run               ^^^                          start (after other)
        run                       ^^^^                 inside
        run                              ^^^^          end (before other)
    """
    t0, t1 = a * hop_s, b * hop_s
    if b - a >= WHOLE_SHARE * scored or (t0 - seg[0] <= EDGE_S and seg[1] - t1 <= EDGE_S):
        kind = "whole utterance"
    elif t0 - seg[0] <= EDGE_S:
        prev_other = max([e for s, e in other if e <= seg[0] + 0.05], default=-np.inf)
        prev_own = max([e for s, e in own if e <= seg[0] - hop_s], default=-np.inf)
        kind = ("start (after other)" if prev_other > prev_own and seg[0] - prev_other < NEAR_S
                else "start (after pause)")
    elif seg[1] - t1 <= EDGE_S:
        next_other = min([s for s, e in other if s >= seg[1] - 0.05], default=np.inf)
        kind = "end (before other)" if next_other - seg[1] < NEAR_S else "end (before pause)"
    else:
        ov = [(max(s, seg[0]), min(e, seg[1])) for s, e in other if s < seg[1] and e > seg[0]]
        near = any(t0 - OVERLAP_NEAR_S <= q and p <= t1 + OVERLAP_NEAR_S for p, q in ov)
        kind = "overlap edge" if near else "inside"
    sa, sb = int(seg[0] / hop_s), int(np.ceil(seg[1] / hop_s))
    lv = level_db[sa:sb]
    lv = lv[lv > lv.max() - 40] if len(lv) else lv  # the utterance's speech, not its silences
    if len(lv) and float(np.mean(level_db[a:b])) <= float(np.median(lv)) - QUIET_DB:
        kind += ", quiet"
    return kind


def wrong_runs(segments: tuple[list, list], heard: tuple[np.ndarray, np.ndarray], single: np.ndarray,
               level_db: np.ndarray, *, hop_s: float = 0.01) -> list[WrongRun]:
    """The runs of wrong-person frames of one recording, classed. ``segments``: each speaker's planted
    (start_s, end_s); ``heard``: (n_frames,) bool, each speaker's frames as the analysis heard them;
    ``single``: (n_frames,) bool, the frames the benchmark scores (one speaker planted, outside the
    collars); ``level_db``: (n_frames,) the mix's level per frame."""
    n = len(single)
    planted = [frame_mask(s, n, hop_s) for s in segments]
    out = []
    for k in (0, 1):
        wrong = single & planted[k] & heard[1 - k]
        x = np.concatenate([[0], wrong.astype(np.int8), [0]])
        starts, ends = np.flatnonzero(np.diff(x) > 0), np.flatnonzero(np.diff(x) < 0)
        for a, b in zip(starts, ends):
            mid = (a + b) / 2 * hop_s
            seg = min(segments[k], key=lambda s: 0.0 if s[0] <= mid <= s[1] else min(abs(s[0] - mid), abs(s[1] - mid)))
            sa, sb = int(seg[0] / hop_s), int(np.ceil(seg[1] / hop_s))
            kind = run_class(int(a), int(b), (float(seg[0]), float(seg[1])), segments[k], segments[1 - k],
                             int(single[sa:sb].sum()), level_db, hop_s=hop_s)
            both = bool(np.mean(heard[k][a:b] & heard[1 - k][a:b]) >= 0.5)
            out.append(WrongRun(k, int(a), int(b), both, kind))
    return sorted(out, key=lambda r: r.start)


def level_per_frame(x: np.ndarray, n: int, hop: int = 160) -> np.ndarray:
    """(n,) the mean power in dB of each 10 ms frame of ``x`` (channels averaged first); -120 past its end."""
    xm = np.asarray(x, np.float64)
    xm = xm.mean(axis=1) if xm.ndim == 2 else xm
    m = min(n, len(xm) // hop)
    out = np.full(n, -120.0)
    out[:m] = 10 * np.log10(np.mean(xm[:m * hop].reshape(m, hop) ** 2, axis=1) + 1e-12)
    return out


def classify_case(x: np.ndarray, truth: dict) -> tuple[dict, list[WrongRun] | str]:
    """The benchmark's figures for one recording and its wrong runs, or "read as one" / "voices mixed"."""
    import diarization as B
    r, att = B.run_case(x, truth)  # names already swapped where the no-profile rule failed
    s = B.analyze_blocks([att.channels(x)], att.speakers, cross_talk=att.diarization is None)
    n = s.n_frames
    segs = (truth["segments"][B.THERAPIST], truth["segments"][B.CLIENT])
    heard = (np.asarray(s.frames[B.THERAPIST]["is_speech"][:n], bool), np.asarray(s.frames[B.CLIENT]["is_speech"][:n], bool))
    single = (frame_mask(segs[0], n) ^ frame_mask(segs[1], n)) & B.collar_keep(n, list(segs))
    if r["voices"] == 1:
        return r, "read as one"
    if r["wrong"] > MIXED_SHARE * r["single_frames"]:
        return r, "voices mixed"
    return r, wrong_runs(segs, heard, single, level_per_frame(x, n))


def main() -> int:
    import diarization as B
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=tuple(B.SEEDS), default="held")
    ap.add_argument("--cache", help="as diarization.py's --cache (the split's cases read from / written to DIR/SPLIT)")
    ap.add_argument("--only", help="only the two-voice recordings whose name contains this")
    ap.add_argument("--runs", action="store_true", help="print every wrong run")
    args = ap.parse_args()
    frames, runs, total, scored = Counter(), Counter(), 0, 0
    for name, x, truth in B.cached(B.two_voice_cases(args.split, False),
                                   None if args.cache is None else f"{args.cache}/{args.split}"):
        if args.only is not None and args.only not in name:
            continue
        r, got = classify_case(x, truth)
        total += r["wrong"]
        scored += r["single_frames"]
        if isinstance(got, str):
            frames[got] += r["wrong"]
            runs[got] += 1
        else:
            for w in got:
                k = f"{w.kind} [{'both' if w.both else 'other'}]"
                frames[k] += w.end - w.start
                runs[k] += 1
        print(f"{name:60} voices {r['voices']}  wrong {r['wrong']:5d} of {r['single_frames']:5d} "
              f"({100 * r['wrong'] / max(1, r['single_frames']):5.2f} %)" + (f"  {got}" if isinstance(got, str) else ""),
              flush=True)
        if args.runs and not isinstance(got, str):
            for w in got:
                print(f"    {('therapist', 'client')[w.speaker]:9} {w.start / 100:7.2f}-{w.end / 100:7.2f} s "
                      f"{'both' if w.both else 'other':5} {w.kind}")
    print(f"\n== split {args.split}: wrong-person speech {total} of {scored} frames "
          f"({100 * total / max(1, scored):.2f} %), by class ==")
    for k, v in frames.most_common():
        print(f"  {k:42} {v:6d} frames  {100 * v / max(1, total):5.1f} % of it  {100 * v / max(1, scored):5.2f} points"
              f"  ({runs[k]} {'recordings' if k in ('read as one', 'voices mixed') else 'runs'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
