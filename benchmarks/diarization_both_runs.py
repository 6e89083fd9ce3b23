"""Every "both voices" run the diarizer keeps, against the planted truth (issue 9; docs/speakers.md,
sixty-seventh round).

Runs each recording of a ``benchmarks/diarization.py`` split (its ``--cache DIR``) as ``run_case`` runs
it, keeps the speech-frame owners of the returned pass after ``_tail_refit`` (the last step inside
``_diarize``) and the three-state log-likelihoods (``benchmarks/diarization_gap_edges.py``'s
``Recorder``), and prints one line per "both" run: its length, whether the planted tracks hold both
voices there (``overlap``: half its frames or more) or one (``one:NEAR`` where the voice alone is the
run's left or right neighbour), the voices on either side and how far (seconds of audio) each voice's
nearest own frame lies before and after the run, the pause before and after its utterance
(``brk``: any gap in the speech mask), and the three-state margins (mean per frame: "both" over the
better voice, the left and right neighbours' models over each other).

    python benchmarks/diarization_both_runs.py --split S --cache DIR [--only TEXT] [--dump FILE]
"""
from __future__ import annotations

import sys

import numpy as np

import diarization as bench
import diarization_gap_edges as gap

HOP_S = 0.01


def _nearest(owned: np.ndarray, idx: np.ndarray, a: int, b: int, v: int) -> tuple[float, float]:
    """Seconds of audio from the run [a, b) (compact) back to voice v's last frame before it and on to its
    first frame after it (inf where none)."""
    before = np.flatnonzero(owned[:a] == v)
    after = np.flatnonzero(owned[b:] == v)
    lo = (idx[a] - idx[before[-1]] - 1) * HOP_S if len(before) else np.inf
    hi = (idx[b + after[0]] - idx[b - 1] - 1) * HOP_S if len(after) else np.inf
    return round(float(lo), 2), round(float(hi), 2)


def planted_by_voice(owned: np.ndarray, idx: np.ndarray, truth: dict) -> tuple[dict, dict]:
    """The planted speech frames of each diarized voice (0 / 1; every frame up to the last speech frame
    ``idx[-1]``) and the role -> voice map, the one that agrees with the owners ``owned`` (compact) most."""
    n = int(idx[-1]) + 1
    full = np.full(n, -1, np.int64)
    full[idx] = owned
    vmap = gap._voice_of_role(full, truth, n)
    return {vmap[role]: bench.frame_mask(segs, n) for role, segs in truth["segments"].items()}, vmap


def both_spans(owned: np.ndarray) -> list[tuple[int, int]]:
    """Each run [a, b) of "both" (2) in the compact owners ``owned``."""
    cuts = np.flatnonzero(np.diff(owned) != 0) + 1
    return [(int(a), int(b)) for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(owned)]]))
            if owned[a] == 2]


def runs(name: str, x: np.ndarray, truth: dict) -> list[dict]:
    with gap.Recorder() as rec:
        r, att = bench.run_case(x, truth)
    d = att.diarization
    inner = dict(rec.inner) if rec.inner else {}
    if d is None or d.n_voices != 2 or "_tail_refit" not in inner or "ll" not in inner or rec.speech is None:
        return []
    owned, ll = inner["_tail_refit"], inner["ll"]
    idx = np.flatnonzero(rec.speech)
    planted, _ = planted_by_voice(owned, idx, truth)
    brk = np.concatenate([[True], np.diff(idx) > 1, [True]])
    out = []
    for a, b in both_spans(owned):
        fr = idx[a:b]
        p0, p1 = planted[0][fr], planted[1][fr]
        both = float(np.mean(p0 & p1))
        if both >= 0.5:
            kind = "overlap"
        else:
            alone = 0 if np.sum(p0 & ~p1) >= np.sum(p1 & ~p0) else 1
            left = int(owned[a - 1]) if a > 0 else -1
            right = int(owned[b]) if b < len(owned) else -1
            near = ("L" if alone == left else "") + ("R" if alone == right else "")
            kind = "one:" + (near or "?")
        ua = a
        while not brk[ua]:
            ua -= 1
        ub = b
        while not brk[ub]:
            ub += 1
        seg = ll[a:b]
        row = {"name": name, "t_s": round(float(idx[a]) * HOP_S, 2), "len_s": round((b - a) * HOP_S, 2),
               "kind": kind, "planted_both": round(both, 2),
               "left": int(owned[a - 1]) if a > 0 and not brk[a] else None,
               "right": int(owned[b]) if b < len(owned) and not brk[b] else None,
               "utt_before_s": round((a - ua) * HOP_S, 2), "utt_after_s": round((ub - b) * HOP_S, 2),
               "v0": _nearest(owned, idx, a, b, 0), "v1": _nearest(owned, idx, a, b, 1),
               "both_nats": round(float(np.mean(seg[:, 2] - seg[:, :2].max(axis=1))), 2),
               "v1_over_v0_nats": round(float(np.mean(seg[:, 1] - seg[:, 0])), 2)}
        out.append(row)
    return out


def main() -> int:
    return gap.run_trace(runs)


if __name__ == "__main__":
    sys.exit(main())
