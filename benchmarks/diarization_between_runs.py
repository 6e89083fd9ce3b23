"""Every run ``diarize._flip_overlap``'s ``flip_overlap_between`` reads, against the planted truth (issue 9:
speaker-change counts; docs/speakers.md, sixty-eighth round).

Runs each recording of a ``benchmarks/diarization.py`` split (its ``--cache DIR``) as ``run_case`` runs
it; at ``_flip_overlap`` (the last look) it runs the look with and without ``flip_overlap_between`` and
prints one line per run of one voice that only the rule with it gives "both" edges to (a run straight
out of the other voice's speech and straight back into it): where it lies, its length, the share of
its frames the planted tracks give to its own voice alone, to both voices and to the other voice alone,
who the planted tracks hear 0.08 s before its start and after its end, and whether the benchmark
found a backchannel there (a false one: AMI plants none).

    python benchmarks/diarization_between_runs.py --split S --cache DIR [--only TEXT] [--dump FILE]
"""
from __future__ import annotations

import dataclasses
import sys

import numpy as np

import diarization as bench
import diarization_gap_edges as gap
from prosody.engine import diarize as dz

HOP_S = 0.01
LOOK_S = 0.08  # who the planted tracks hear this far outside the run


class Differ:
    """Wraps ``_flip_overlap``: keeps (owners before the look, frames only ``flip_overlap_between`` moves)."""

    def __init__(self):
        self.hits: list[tuple[np.ndarray, np.ndarray]] = []
        self._orig = None

    def __enter__(self):
        self._orig = f = dz._flip_overlap

        def wrap(d, cfg, grid, memo):
            new = f(d, cfg, grid, memo)
            old = f(d, dataclasses.replace(cfg, flip_overlap_between=False), grid, memo)
            if new.owner is not None and not np.array_equal(new.owner, old.owner):
                self.hits.append((np.array(d.owner, copy=True), np.flatnonzero(new.owner != old.owner)))
            return new
        dz._flip_overlap = wrap
        return self

    def __exit__(self, *exc):
        dz._flip_overlap = self._orig


def _who(planted: dict, i: int, k: int) -> str:
    """Who the planted tracks hear at frame ``i``: the run's own voice ``k``, the other, both or nobody."""
    own, other = (0 <= i < len(planted[v]) and bool(planted[v][i]) for v in (k, 1 - k))
    return "both" if own and other else "own" if own else "other" if other else "-"


def runs(name: str, x: np.ndarray, truth: dict) -> list[dict]:
    with Differ() as rec:
        r, _ = bench.run_case(x, truth)
    out, seen = [], set()
    for owner, moved in rec.hits:
        n = len(owner)
        vmap = gap._voice_of_role(owner, truth, n)
        planted = {vmap[role]: bench.frame_mask(segs, n) for role, segs in truth["segments"].items()}
        for piece in np.split(moved, np.flatnonzero(np.diff(moved) > 1) + 1):
            b = int(piece[0])
            k = 1 - int(owner[b])
            if b == 0 or owner[b - 1] != k:
                continue  # the piece before a run; each run is read from the piece after it
            a = b
            while a > 0 and owner[a - 1] == k:
                a -= 1
            if (a, b) in seen:
                continue
            seen.add((a, b))
            own, other = planted[k][a:b], planted[1 - k][a:b]
            look = int(round(LOOK_S / HOP_S))
            role = next(ro for ro, v in vmap.items() if v == k)
            out.append({"name": name, "role": role, "start_s": round(a * HOP_S, 2), "end_s": round(b * HOP_S, 2),
                        "own_alone": round(float(np.mean(own & ~other)), 2), "both": round(float(np.mean(own & other)), 2),
                        "other_alone": round(float(np.mean(~own & other)), 2),
                        "before": _who(planted, a - look, k), "after": _who(planted, b + look, k),
                        "backchannel_found": any(e[1] < b * HOP_S and e[2] > a * HOP_S for e in r["bc_false"])})
    return out


def main() -> int:
    return gap.run_trace(runs, lambda split, rows: f"== {len(rows)} runs read by flip_overlap_between on {split}")


if __name__ == "__main__":
    sys.exit(main())
