"""Backchannels vs failed interruptions on generated dialogues with planted truth.

Dialogues from ``tests/dialogue.py`` ``scenario_overlap_events``: two espeak
voices drawn per seed from 12 (pitch 25-75, 150-190 wpm), channel levels
-36..-28 dBFS, backchannels ("mm hmm", "yeah", "right", ...) in the holder's
pauses and softly (-14..-5 dB) overlapping the holder's speech, failed
interruptions (a real start of 0.3-1.2 s at -1..+6 dB inside the holder's
speech, the holder talking on), interruptions and ordinary turns, both ways.
The rule (``prosody/overlap_cues.py``) was tuned on seeds 0-31; this reports
held-out seeds 100-123 (every third with -22 dB loudspeaker bleed into the
therapist channel and noise at -60 dBFS), and the tuning seeds for reference.

A detected event matches a planted one of the same speaker starting within
0.3 s. Prints, per kind, recall (planted found as that kind) and precision
(detected of that kind that are planted as that kind), for prosody's rule and
for the timing-only rule it replaces (the same segments through a
``TurnTracker`` without cues). Targets: failed-interruption recall >= 0.8 and
backchannel precision >= 0.8 on the held-out seeds, with backchannel recall
and interruption recall no worse than timing only.

    python benchmarks/overlap_events.py [--seeds 100-123]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import REPO  # noqa: F401  (puts the repo on sys.path)

from prosody.session import analyze_blocks
from prosody.engine.turns import TurnTracker
from tests.dialogue import build_dialogue, scenario_overlap_events

KINDS = ("backchannel", "failed_interruption", "interruption")
TUNING_SEEDS = range(0, 32)
HELD_OUT_SEEDS = range(100, 124)
TOL_S = 0.3


def dialogue(seed: int):
    rng = np.random.default_rng([seed, 7])
    level = (float(rng.uniform(-36, -28)), float(rng.uniform(-36, -28)))
    bleed = -22.0 if seed % 3 == 2 else None
    noise = -60.0 if bleed is not None else -70.0
    return build_dialogue(scenario_overlap_events(seed=seed), seed=seed, level_db=level, bleed_db=bleed,
                          noise_db=noise), bleed


def score(truth_events, detected) -> dict:
    """Per kind: planted, detected, true positives (matched by speaker, kind and start within TOL_S)."""
    out = {}
    for kind in KINDS:
        planted = [e for e in truth_events if e.kind == kind]
        found = [e for e in detected if e.kind == kind]
        tp_recall = sum(1 for t in planted if any(d.speaker == t.speaker and abs(d.start_s - t.start_s) < TOL_S
                                                   for d in found))
        tp_precision = sum(1 for d in found if any(t.speaker == d.speaker and abs(d.start_s - t.start_s) < TOL_S
                                                   for t in planted))
        out[kind] = np.array([len(planted), len(found), tp_recall, tp_precision])
    return out


def run(seeds) -> tuple[dict, dict, list]:
    total = {k: np.zeros(4, int) for k in KINDS}
    timing = {k: np.zeros(4, int) for k in KINDS}
    rows = []
    for seed in seeds:
        d, bleed = dialogue(seed)
        s = analyze_blocks([d.audio], ("therapist", "client"))
        ours = score(d.truth.events, s.turns.events)
        old = TurnTracker(("therapist", "client")).flush(sorted(s.segments, key=lambda g: g.start_s))
        base = score(d.truth.events, old.events)
        for k in KINDS:
            total[k] += ours[k]
            timing[k] += base[k]
        rows.append((seed, d.duration_s, bleed, ours))
    return total, timing, rows


def rate(num, den) -> float:
    return num / den if den else float("nan")


def report(title: str, total: dict, timing: dict) -> dict:
    print(title)
    print(f"  {'kind':20} {'planted':>7} {'detected':>8} {'recall':>7} {'precision':>9}"
          "   timing only: recall precision")
    fig = {}
    for k in KINDS:
        n, m, tr, tp = total[k]
        bn, bm, btr, btp = timing[k]
        fig[k] = (rate(tr, n), rate(tp, m), rate(btr, bn), rate(btp, bm))
        print(f"  {k:20} {n:7d} {m:8d} {fig[k][0]:7.2f} {fig[k][1]:9.2f}   {fig[k][2]:19.2f} {fig[k][3]:9.2f}")
    return fig


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default=f"{HELD_OUT_SEEDS.start}-{HELD_OUT_SEEDS.stop - 1}",
                    help="held-out seeds, FIRST-LAST (default %(default)s)")
    args = ap.parse_args()
    a, b = (int(x) for x in args.seeds.split("-"))
    total, timing, rows = run(range(a, b + 1))
    print(f"{'seed':>4} {'dur s':>6} {'bleed':>6}  backchannel found/planted  failed_interruption found/planted "
          "(detected)")
    for seed, dur, bleed, sc in rows:
        bc, fi = sc["backchannel"], sc["failed_interruption"]
        print(f"{seed:4d} {dur:6.1f} {bleed if bleed is not None else '-':>6}  {bc[2]:>12d}/{bc[0]:<12d}"
              f"{fi[2]:>12d}/{fi[0]:<4d} ({fi[1]})")
    held = report(f"held-out seeds {a}-{b} ({sum(r[1] for r in rows) / 60:.1f} min of dialogue):", total, timing)
    tune_total, tune_timing, _ = run(TUNING_SEEDS)
    report(f"tuning seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1} (for reference):", tune_total, tune_timing)
    fi_recall, bc_precision = held["failed_interruption"][0], held["backchannel"][1]
    ok = fi_recall >= 0.8 and bc_precision >= 0.8
    print(f"failed-interruption recall {fi_recall:.2f} (target >= 0.8), backchannel precision {bc_precision:.2f} "
          f"(target >= 0.8): {'PASS' if ok else 'FAIL'}")
    keep = (held["backchannel"][0] >= held["backchannel"][2] - 1e-9
            and held["interruption"][0] >= held["interruption"][2] - 1e-9)
    print(f"backchannel recall {held['backchannel'][0]:.2f} (timing only {held['backchannel'][2]:.2f}), interruption "
          f"recall {held['interruption'][0]:.2f} (timing only {held['interruption'][2]:.2f}): "
          f"{'PASS' if keep else 'FAIL'} (no worse)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
