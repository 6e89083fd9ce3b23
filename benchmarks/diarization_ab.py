"""The diarizer's cost before and after a change, measured on a shared, noisy machine (issue 9:
at most 0.02 CPU s per audio s).

Two source trees (``--before DIR``: a copy of the code before, e.g. ``git archive``; ``--after
DIR``: this checkout) are run in turn, ``--rounds`` times each, ABAB..., each in a fresh process:
the 10-minute mono probe of ``diarization.peak_memory_mb`` diarized and attributed, and the same
10 minutes as shared stereo (second channel 0.7 x, 1 ms late) attributed (``speakers.attribute``:
layout detection + diarization; ``--ten``: which of the three), and an anchor timed in the same
process beside them: the encoder's forward pass over a fixed 256 windows of 1.5 s under one BLAS
thread, as ``diarize`` runs it (each tree's own encoder: where a change is the encoder's, the ratio
to the anchor hides it, and the paired ratio is the figure; the least of its runs, one before the
workloads and one after each), so that a figure divided by the anchor's moves with the code more
than with what else the machine runs.
Process time (CPU s, all threads) per audio second (``--split``: also each named split's
recordings, attributed one after the other, pooled per split); the peak resident memory of the
whole child over its baseline after loading (after the 10 minutes' workloads, and at the end with
a split's recordings held beside them).
Printed per figure: the medians, and the paired ratio after / before of each round (its median
and range: the steadier figure where the anchor moves with the machine's load).

    python benchmarks/diarization_ab.py --before /tmp/NAME/base --after . [--rounds 3] \
        [--ten attribute_mono] [--split tune,held --cache DIR]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TEN_MINUTES = ("diarize_mono", "attribute_mono", "attribute_shared")  # the child's 10-minute workloads

CHILD = r"""
import json, resource, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
sys.path.insert(0, {tree!r}); sys.path.insert(0, {bench!r})
from prosody.engine import diarize as D, embedding as E
from prosody.engine.speakers import attribute
from diarization_same import ten_minutes
E._weights()
enc = E.VoiceEncoder.load()
ten = ten_minutes()
shared = np.stack([ten, np.concatenate([np.zeros(16, np.float32), ten[:-16]]) * np.float32(0.7)], axis=1)
mel = E.mel_frames(ten[:16000 * 120] * np.float32(3.0))
starts = np.arange(256) * 29
D.diarize(ten[:16000 * 20])  # first calls' imports and caches outside the figures
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {{"module": D.__file__}}
def cpu(f):
    t = time.process_time(); f(); return time.process_time() - t
def anchor():  # under one BLAS thread, as diarize runs the encoder (OpenBLAS's default threads moved it 1.4-2.0 CPU s)
    with threadpool_limits(limits=1, user_api="blas"):
        enc.embed_windows(mel, starts=starts, n_frames=150)
work = {{"diarize_mono": lambda: D.diarize(ten), "attribute_mono": lambda: attribute(ten),
        "attribute_shared": lambda: attribute(shared)}}
out["anchor"] = [cpu(anchor)]
for k in {workloads!r}:
    out[k] = cpu(work[k]) / 600
    out["anchor"].append(cpu(anchor))
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base  # the 10 minutes' workloads
for split in {splits!r}:  # each split's recordings (cached by diarization_same.py / diarization_cost.py), pooled
    from diarization_cost import material
    from pathlib import Path
    cases = list(material(split, Path({cache!r})))
    total = sum(cpu(lambda: attribute(x)) for _, x in cases)
    out["attribute_" + split] = total / sum(len(x) / 16000 for _, x in cases)
    out["anchor"].append(cpu(anchor))
    del cases
out["peak_mb_splits"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base  # a split's material held too
print(json.dumps(out))
"""


def run(tree: Path, workloads: list[str], splits: list[str], cache: Path | None) -> dict:
    code = CHILD.format(tree=str(tree.resolve()), bench=str(REPO / "benchmarks"), workloads=workloads,
                        splits=splits, cache=str(cache) if cache else "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    if not r.pop("module").startswith(str(tree.resolve())):
        raise SystemExit(f"the child did not import prosody from {tree}")
    r["anchor"] = min(r["anchor"])  # the least disturbed
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, default=REPO)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ten", default=",".join(TEN_MINUTES),
                    help="the 10-minute workloads, comma-separated (default: all of " + ", ".join(TEN_MINUTES) + ")")
    ap.add_argument("--split", help="also these splits' recordings, pooled per split (e.g. tune,held; needs --cache)")
    ap.add_argument("--cache", type=Path, help="the material cache of diarization_same.py / diarization_cost.py")
    args = ap.parse_args()
    rows = {"before": [], "after": []}
    splits = args.split.split(",") if args.split else []
    ten = [k for k in args.ten.split(",") if k]
    if set(ten) - set(TEN_MINUTES):
        raise SystemExit(f"--ten {args.ten}: the workloads are {', '.join(TEN_MINUTES)}")
    keys = tuple(ten) + tuple(f"attribute_{s}" for s in splits)
    for i in range(args.rounds):
        for label, tree in (("before", args.before), ("after", args.after)):
            r = run(tree, ten, splits, args.cache)
            rows[label].append(r)
            print(f"round {i + 1} {label:6}  anchor {r['anchor']:.3f} CPU s  "
                  + "  ".join(f"{k} {r[k]:.4f} ({r[k] / r['anchor']:.4f} x anchor)" for k in keys)
                  + f"  peak {r['peak_mb']:.0f} MB ({r['peak_mb_splits']:.0f} MB with a split held)", flush=True)
    print("\nmedians (CPU s per audio s; ratio to the anchor's CPU s)")
    for k in keys + ("peak_mb", "peak_mb_splits"):
        b = [r[k] for r in rows["before"]]
        a = [r[k] for r in rows["after"]]
        line = f"  {k:18} before {np.median(b):.4f}  after {np.median(a):.4f}"
        if not k.startswith("peak_mb"):
            rb = np.median([r[k] / r["anchor"] for r in rows["before"]])
            ra = np.median([r[k] / r["anchor"] for r in rows["after"]])
            line += f"   x anchor: before {rb:.4f}  after {ra:.4f}  ({100 * (ra / rb - 1):+.1f} %)"
            paired = np.array(a) / np.array(b)  # round by round: after / before
            line += f"   after / before paired: median {np.median(paired):.3f} ({paired.min():.3f}-{paired.max():.3f})"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
