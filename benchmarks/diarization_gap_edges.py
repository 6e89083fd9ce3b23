"""Where a short answer's edges go, frame by frame (issue 9: speaker-change counts; docs/speakers.md,
sixty-fourth round).

The fifty-fourth round found every AMI recording outside 15 % losing its changes in pairs round one
short answer (0.87-1.12 s of speech) that the turn tracker reads as a backchannel (under its 0.8 s
limit): half of them start in overlap (``diarize._flip_overlap`` now reads those), the other half come
after a gap and lose 0.1-0.3 s at an edge. This script runs ``benchmarks/diarization.py``'s recordings
(its ``--cache DIR``; each recording as ``run_case`` runs it), keeps the diarizer's frame owners after
each step inside ``_diarize`` (of the pass whose result is returned: the two-state path of each
resegmentation round, the three-state path with the overlap model, ``_drop_blips``, ``_second_look``,
``_dip_filled_look``, ``_pitch_look``, ``_lead_both``, ``_pause_bound_overlap``, ``_edge_runs``,
``_overlap_like_holder``, ``_tail_refit``) and after each look that follows it (``_run_look``,
``_quiet_run_look``, ``_onset_run_look``, ``_more_voices``, ``_flip_overlap``), and the analysis
pipeline's per-channel speech (the VAD on each diarized channel). For every planted turn under
``--max-s`` (1.2 s) it says how long its own channel alone hears it and what became of each other
frame, from its planted start to the first frame heard alone, from the last one to its planted end,
and in the holes between:

* ``other@STEP``: the other voice's channel alone hears it; STEP gave the frame to that voice
  (``_diarize:STEP`` for a step inside ``_diarize``, the step after which it stayed so);
* ``both@STEP``: both channels hear it (STEP gave it to "both" or to the other voice, whose
  channel's VAD then holds it while the answer's channel hears it too; ``both@channel-vad``: the
  answer's voice owns it, the other channel's VAD hangover hears it);
* ``nobody@mask``: not speech in the diarizer's speech mask; ``nobody@channel-vad``: owned, but
  neither channel's VAD hears it.

"Planted" is the AMI stretch cut to its speech (``turn_stretches``: first to last 10 ms frame within
30 dB of the loudest), so a few frames at each edge are soft; where the answer starts or ends in a
planted overlap, its frames there are both voices' in the truth too. ``benchmarks/_common.py`` puts
its own tree first on the path: run the copy in the tree you want to trace.

    python benchmarks/diarization_gap_edges.py --split S --cache DIR [--only TEXT] [--dump FILE]
        [--outside FILE]   (a diarization.py --dump: only its recordings outside 15 %)
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import diarization as bench
from prosody.engine import diarize as dz

STEPS = ("_diarize", "_run_look", "_quiet_run_look", "_onset_run_look", "_more_voices", "_flip_overlap")
HOP_S = 0.01


INNER = ("_viterbi2", "_viterbi", "_drop_blips", "_second_look", "_dip_filled_look", "_pitch_look", "_lead_both",
         "_pause_bound_overlap", "_edge_runs", "_overlap_like_holder", "_tail_refit")


class Recorder:
    """Wraps the diarizer's steps and keeps each one's frame owners: inside ``_diarize`` (compact speech
    index: the two-state path, the three-state path, each look on the owned path) for the pass whose
    result is returned, and the looks after it (``STEPS``, every frame)."""

    def __init__(self):
        self.chain: list[tuple[str, np.ndarray]] = []
        self.inner: list[tuple[str, np.ndarray]] = []
        self.speech = None
        self._orig = {}
        self._stack: list[list] = []
        self._of: dict[int, tuple[object, list]] = {}

    def _wrap_step(self, name, f):
        def wrap(*a, **k):
            if name == "_diarize":
                self._stack.append([])
            try:
                d = f(*a, **k)
            finally:
                mine = self._stack.pop() if name == "_diarize" else None
            if name == "_diarize":
                if id(d) not in self._of:  # a pass's own result (a restart's is registered by its own call)
                    self._of[id(d)] = (d, mine)
                if not self._stack:  # the outer call: the chain starts again from its result
                    self.chain, self.inner = [], self._of[id(d)][1]
                    memo = k.get("memo")
                    self.speech = None if memo is None else memo.get("speech")
                    self._of = {}
            if name in STEPS:
                self.chain.append((name, np.array(d.owner, copy=True) if d.n_voices == 2 else None))
            return d
        return wrap

    def _wrap_inner(self, name, f):
        def wrap(*a, **k):
            out = f(*a, **k)
            if self._stack:
                tag = name if name != "_drop_blips" or "min_change_overlap" in k else "_drop_blips(decision)"
                self._stack[-1].append((tag, np.array(out, copy=True)))
                if name == "_overlap_like_holder" and a[1] is not None:  # the three-state log-likelihoods
                    self._stack[-1].append(("ll", np.array(a[1], copy=True)))
            return out
        return wrap

    def __enter__(self):
        for name in STEPS + INNER:
            f = getattr(dz, name)
            self._orig[name] = f
            setattr(dz, name, self._wrap_step(name, f) if name in STEPS else self._wrap_inner(name, f))
        return self

    def __exit__(self, *exc):
        for name, f in self._orig.items():
            setattr(dz, name, f)


def _voice_of_role(owner: np.ndarray, truth: dict, n: int) -> dict:
    """role -> diarized voice (0 / 1), the mapping that agrees with the planted speech most."""
    a = bench.frame_mask(truth["segments"][bench.THERAPIST], n)
    b = bench.frame_mask(truth["segments"][bench.CLIENT], n)
    o = owner[:n]
    straight = np.sum(a & (o == 0)) + np.sum(b & (o == 1))
    swapped = np.sum(a & (o == 1)) + np.sum(b & (o == 0))
    v = 0 if straight >= swapped else 1
    return {bench.THERAPIST: v, bench.CLIENT: 1 - v}


def _inner_step(j: int, lab_to: int, inner) -> str:
    """The step inside ``_diarize`` after which compact frame ``j`` stays ``lab_to``."""
    labs = [(nm, int(ow[j])) for nm, ow in inner if nm not in ("_drop_blips(decision)", "ll") and j < len(ow)]
    step = "?"
    for q, (nm, lab) in enumerate(labs):
        if lab == lab_to and (q == 0 or labs[q - 1][1] != lab_to):
            step = nm
    return step


def _why(i: int, k: int, chain, inner, speech, heard, heard_other) -> str:
    """What became of frame ``i`` of voice ``k``'s answer: ``alone`` (its channel alone hears it), ``both``
    (both channels), ``other`` (the other channel alone), ``nobody``; with the step that gave it so."""
    if heard[i] and not heard_other[i]:
        return "alone"
    if speech is not None and not speech[i]:
        return "nobody@mask" if not heard_other[i] else "other@mask"
    last = chain[-1][1]
    if not heard[i] and not heard_other[i]:
        return "nobody@channel-vad"
    state = "both" if heard[i] else "other"
    to = int(last[i])
    if to == k:
        return f"{state}@channel-vad"
    step = "_diarize"
    for (name, ow), (_, prev) in zip(chain[1:], chain[:-1]):
        if ow[i] == to and prev[i] != to:
            step = name
    if step == "_diarize" and speech is not None and inner:
        step = "_diarize:" + _inner_step(int(np.sum(speech[:i])), to, inner)
    return f"{state}@{step}"


def edges(name: str, x: np.ndarray, truth: dict, max_s: float) -> list[dict]:
    """Every planted turn under ``max_s``: its edges' lost frames, by cause."""
    with Recorder() as rec:
        r, att = bench.run_case(x, truth)
        s = bench.analyze_blocks([att.channels(x)], att.speakers, cross_talk=att.diarization is None)
    d = att.diarization
    if d is None or d.n_voices != 2 or not rec.chain or rec.chain[-1][1] is None:
        return []
    chain = [(nm, ow) for nm, ow in rec.chain if ow is not None]
    owner = chain[-1][1]
    n = min(len(owner), s.n_frames)
    vmap = _voice_of_role(owner, truth, n)
    heard = dict(zip((bench.THERAPIST, bench.CLIENT), bench.heard_by_role(s, n)))
    speech = rec.speech
    out = []
    tr = truth["transitions"]
    other = {bench.THERAPIST: bench.CLIENT, bench.CLIENT: bench.THERAPIST}
    for role, segs in truth["segments"].items():
        k = vmap[role]
        for a_s, b_s in segs:
            if b_s - a_s >= max_s:
                continue
            a, b = int(round(a_s / HOP_S)), min(n, int(round(b_s / HOP_S)))
            h, ho = heard[role], heard[other[role]]
            why = [_why(i, k, chain, rec.inner, speech, h, ho) for i in range(a, b)]
            alone = np.flatnonzero([w == "alone" for w in why])
            lo, hi = (alone[0], alone[-1] + 1) if len(alone) else (b - a, b - a)
            before = [t for t in tr if t["to_speaker"] == role and abs(t["to_start_s"] - a_s) < 0.02]
            after = [t for t in tr if t["from_speaker"] == role and abs(t["from_end_s"] - b_s) < 0.02]
            row = {"name": name, "role": role, "start_s": round(a_s, 2), "end_s": round(b_s, 2),
                   "planted_s": round(b_s - a_s, 2), "alone_s": round(len(alone) * HOP_S, 2),
                   "before": round(before[0]["offset_s"], 2) if before else None,
                   "after": round(after[0]["offset_s"], 2) if after else None,
                   "lost_start": Counter(why[:lo]), "lost_end": Counter(why[hi:]),
                   "holes": Counter(w for w in why[lo:hi] if w != "alone")}
            bc = [e for e in r["bc_false"] if e[0] == role and e[1] < b_s and e[2] > a_s]
            row["found_as_backchannel"] = bool(bc)
            out.append(row)
    return out


def trace_parser() -> argparse.ArgumentParser:
    """The options every trace over a cached split of benchmarks/diarization.py takes."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True)
    ap.add_argument("--cache", required=True, help="benchmarks/diarization.py's --cache DIR")
    ap.add_argument("--only", help="only the recordings whose name holds this")
    ap.add_argument("--dump", help="the rows as JSON into this file")
    return ap


def cached_split(args) -> Path | None:
    """``args.split``'s folder in ``args.cache``; None, said, where diarization.py has not cached it."""
    d = Path(args.cache) / args.split
    if (d / "index.json").exists():
        return d
    print(f"no cached split in {d}: run benchmarks/diarization.py --split {args.split} --cache {args.cache} first",
          file=sys.stderr)
    return None


def run_trace(rows_of, summary=None) -> int:
    """The main of a trace over a cached split (``trace_parser``'s options): ``rows_of(name, x, truth)``'s rows
    for each recording, printed as ``key=value`` lines and dumped as JSON; ``summary(split, rows)``: a last line."""
    args = trace_parser().parse_args()
    d = cached_split(args)
    if d is None:
        return 2
    allrows = []
    for name, x, truth in bench.cached(iter(()), str(d)):
        if args.only and args.only not in name:
            continue
        for row in rows_of(name, x, truth):
            allrows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if summary is not None:
        print(summary(args.split, allrows))
    if args.dump:
        Path(args.dump).write_text(json.dumps(allrows))
    return 0


def main() -> int:
    ap = trace_parser()
    ap.add_argument("--outside", help="a diarization.py --dump of this split: only its recordings outside 15 %%")
    ap.add_argument("--max-s", type=float, default=1.2)
    args = ap.parse_args()
    keep = None
    if args.outside:
        try:
            rows = json.loads(Path(args.outside).read_text())
        except (OSError, ValueError) as exc:
            print(f"cannot read {args.outside}: {exc}", file=sys.stderr)
            return 2
        keep = {r["name"] for r in rows if abs(r["changes_found"] - r["changes_true"]) > 0.15 * max(1, r["changes_true"])}
    d = cached_split(args)
    if d is None:
        return 2
    allrows, tally = [], Counter()
    for name, x, truth in bench.cached(iter(()), str(d)):
        if (keep is not None and name not in keep) or (args.only and args.only not in name):
            continue
        for row in edges(name, x, truth, args.max_s):
            allrows.append(row)
            cut = row["alone_s"] < 0.8 <= row["planted_s"]
            flag = "BC" if row["found_as_backchannel"] else ("cut" if cut else "")
            print(f"{name:34} {row['role'][:4]} {row['start_s']:7.2f} planted {row['planted_s']:.2f} alone "
                  f"{row['alone_s']:.2f} gap {row['before']} / {row['after']}  start {dict(row['lost_start'])} "
                  f"end {dict(row['lost_end'])} holes {dict(row['holes'])} {flag}", flush=True)
            if row["found_as_backchannel"]:
                for side in ("lost_start", "lost_end", "holes"):
                    for why, c in row[side].items():
                        tally[(side, why)] += c
    print("== frames lost by the answers found as backchannels (10 ms frames):")
    for (side, why), c in sorted(tally.items()):
        print(f"  {side:10} {why:24} {c:4d}")
    if args.dump:
        Path(args.dump).write_text(json.dumps(allrows, default=dict))
    return 0


if __name__ == "__main__":
    sys.exit(main())
