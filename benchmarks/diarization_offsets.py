"""Does the number of voices found depend on where a recording starts? (issue 9: "a recording
where one voice dominates or only one person speaks must not be split in two")

Each recording of a split of ``benchmarks/diarization.py`` (the espeak-ng and AMI two-voice
mixes, the one-voice recordings; the material of ``diarization_cost.py``, cached the same way)
is attributed (``speakers.attribute``) as it is and with its first 30, 70, 100, 150, 200 and
300 ms cut off: a recorder started a moment later. Those are whole 10 ms frames; ``--offsets sub``
cuts 3.7, 12.5, 37.1, 64.4, 113.9 and 251.3 ms instead (a real recording starts at any sample,
so its frames hold other samples too). The benchmark scores only the first start;
a user's recording starts anywhere. Prints per recording the voices found at each start and
the summary: one-voice recordings reported as one voice at every start, two-voice recordings
found to have two at every start, and the runs (recording x start) that got the count wrong.

    python benchmarks/diarization_offsets.py --split dev [--cache DIR] [--only one|two] [--offsets frames|sub]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from diarization_cost import material

from prosody.engine.speakers import attribute

OFFSETS_S = {"frames": (0.0, 0.03, 0.07, 0.1, 0.15, 0.2, 0.3),
             "sub": (0.0, 0.0037, 0.0125, 0.0371, 0.0644, 0.1139, 0.2513)}


def true_voices(name: str) -> int:
    return 1 if "one voice" in name else 2


def voices_found(x: np.ndarray) -> int:
    d = attribute(x).diarization
    return 0 if d is None else d.n_voices


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--only", choices=("one", "two"), help="only the one-voice or the two-voice recordings")
    ap.add_argument("--offsets", choices=tuple(OFFSETS_S), default="frames",
                    help="whole 10 ms frames (default) or cuts that fall inside a frame")
    args = ap.parse_args()
    offsets = OFFSETS_S[args.offsets]
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, x in material(args.split, args.cache):
        want = true_voices(name)
        if args.only and want != (1 if args.only == "one" else 2):
            continue
        found = [voices_found(x[int(round(off * 16000)):]) for off in offsets]
        rows.append((name, want, found))
        flag = "" if all(f == want for f in found) else "  <- wrong at " + ", ".join(
            f"{off * 1000:g} ms" for off, f in zip(offsets, found) if f != want)
        print(f"{name[:60]:60s} {want}  {' '.join(str(f) for f in found)}{flag}", flush=True)
    print(f"\n== split {args.split}: voices found with the first "
          f"{', '.join(f'{o * 1000:g}' for o in offsets)} ms cut off ==")
    for want, label in ((1, "one-voice recordings reported as one voice"),
                        (2, "two-voice recordings found to have two voices")):
        sel = [r for r in rows if r[1] == want]
        if not sel:
            continue
        at_first = sum(r[2][0] == want for r in sel)
        every = sum(all(f == want for f in r[2]) for r in sel)
        wrong_runs = sum(f != want for r in sel for f in r[2])
        print(f"  {label}: at the first start {at_first}/{len(sel)}, at every start {every}/{len(sel)}; "
              f"runs wrong {wrong_runs}/{len(sel) * len(offsets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
