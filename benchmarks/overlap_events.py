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

``--layout mono|shared`` (issue 9) runs each dialogue a second way, as one signal through speaker attribution
as ``prosody analyze`` does (``prosody.engine.speakers.attribute`` -> speaker channels -> the pipeline):
``mono``, the two channels' sum x 0.7 (bleed and noise as built); ``shared``, the clean voices on two table
microphones (``tests.dialogue.mix_room``: 0-6 dB level differences, RT60 0.3 s, noise at -60 dBFS). The
voices' names are the truth's where the no-profile naming put them the other way round (as
benchmarks/diarization.py scores them). Prints recall / precision per kind, separate vs that layout, and with
``--trace`` each planted failed interruption the layout misses, with its class (``miss_class``).

    python benchmarks/overlap_events.py [--seeds 100-123] [--layout mono|shared] [--no-tuning] [--trace]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import numpy as np

from _common import REPO  # noqa: F401  (puts the repo on sys.path)

from prosody.session import analyze_blocks
from prosody.engine.speakers import attribute, swap_names
from prosody.engine.turns import TurnTracker
from tests.dialogue import build_dialogue, mix_room, scenario_overlap_events

KINDS = ("backchannel", "failed_interruption", "interruption")
TUNING_SEEDS = range(0, 32)
HELD_OUT_SEEDS = range(100, 124)
TOL_S = 0.3


def dialogue(seed: int, *, clean: bool = False):
    rng = np.random.default_rng([seed, 7])
    level = (float(rng.uniform(-36, -28)), float(rng.uniform(-36, -28)))
    bleed = -22.0 if seed % 3 == 2 else None
    noise = -60.0 if bleed is not None else -70.0
    if clean:  # the voices alone, for mix_room
        bleed = noise = None
    return build_dialogue(scenario_overlap_events(seed=seed), seed=seed, level_db=level, bleed_db=bleed,
                          noise_db=noise), bleed


def one_signal(seed: int, d, layout: str) -> np.ndarray:
    """The dialogue ``d`` (as built by ``dialogue(seed)``) as one recording of ``layout``."""
    if layout == "mono":
        return (np.asarray(d.audio, np.float64).sum(axis=1) * 0.7).astype(np.float32)
    rng = np.random.default_rng([seed, 11])
    clean, _ = dialogue(seed, clean=True)
    ld = tuple(float(rng.uniform(0, 6) * rng.choice([-1, 1])) for _ in range(2))
    x, _ = mix_room(clean, layout="shared", level_diff_db=ld, delay_ms=tuple(rng.uniform(0, 1, 2)), rt60_s=0.3,
                    noise_db=-60.0, seed=seed)
    return x.astype(np.float32)


def _own_frames(spans, names, n: int) -> np.ndarray:
    """(n,) int8 on the 10 ms grid from (speaker, start_s, end_s): 0 / 1 where only names[0] / names[1]
    speaks, -1 elsewhere."""
    on = np.zeros((2, n), bool)
    for who, start, end in spans:
        a, b = int(round(start * 100)), int(round(end * 100))
        on[names.index(who), max(a, 0):max(min(b, n), 0)] = True
    return np.where(on[0] & ~on[1], 0, np.where(on[1] & ~on[0], 1, -1)).astype(np.int8)


def analyze_one_signal(x: np.ndarray, truth, names=("therapist", "client")):
    """``x`` attributed and analysed as ``prosody analyze`` does; the no-profile naming swapped where it
    put the voices the wrong way round (most of the frames one voice holds alone). Returns (session,
    attribution)."""
    att = attribute(x, layout="auto")
    s = analyze_blocks([att.channels(x)], att.speakers, cross_talk=att.diarization is None)
    if att.naming is None or att.diarization.n_voices != 2:
        return s, att
    n = len(x) // 160
    true = _own_frames([(w, a, b) for w in names for a, b in truth.segments(w)], names, n)
    found = _own_frames([(g.speaker, g.start_s, g.end_s) for g in s.segments], names, n)
    both = (true >= 0) & (found >= 0)
    if np.sum(true[both] != found[both]) > 0.5 * max(1, np.sum(both)):
        att = replace(att, naming=swap_names(att.naming))
        s = analyze_blocks([att.channels(x)], att.speakers, cross_talk=False)
    return s, att


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


def heard_share(att, speaker: str, start_s: float, end_s: float) -> float:
    """Share (0..1) of the frames ``start_s``..``end_s`` the diarizer of ``att`` gave ``speaker``, alone or with
    the other voice."""
    a, b = int(start_s * 100), int(np.ceil(end_s * 100))
    own = np.asarray(att.diarization.owner[a:b])
    k = att.naming.names.index(speaker)
    return float(np.mean((own == k) | (own == 2))) if len(own) else 0.0


def miss_class(e, s, att) -> tuple[str, float]:
    """Why a planted failed interruption ``e`` was not found as one on a diarized recording, and the share of
    its frames the diarizer gave its speaker (alone or with the holder): "not heard" (< 20 % of its frames),
    "heard, no segment" (no segment of the speaker overlaps it), "backchannel" / "interruption" (found as
    that), "start off" (found as a failed interruption starting >= 0.3 s away), "no event" (a segment, no
    event of the speaker there: a turn, or merged with the speaker's next speech)."""
    heard = heard_share(att, e.speaker, e.start_s, e.end_s)
    if heard < 0.2:
        return "not heard", heard
    if not any(g.speaker == e.speaker and g.end_s > e.start_s and g.start_s < e.end_s for g in s.segments):
        return "heard, no segment", heard
    near = [x for x in s.turns.events if x.speaker == e.speaker and x.end_s > e.start_s - 0.3
            and x.start_s < e.end_s + 0.3]
    kinds = {x.kind for x in near}
    for kind in ("backchannel", "interruption"):
        if kind in kinds and "failed_interruption" not in kinds:
            return kind, heard
    if "failed_interruption" in kinds:
        return "start off", heard
    return "no event", heard


def run_layout(seeds, layout: str, trace: bool = False) -> tuple[dict, list]:
    """Per kind, the figures of each dialogue as one ``layout`` signal; with ``trace``, each missed failed
    interruption as (seed, start_s, end_s, speaker, class, share heard)."""
    total = {k: np.zeros(4, int) for k in KINDS}
    misses = []
    for seed in seeds:
        d, _ = dialogue(seed)
        x = one_signal(seed, d, layout)
        s, att = analyze_one_signal(x, d.truth)
        sc = score(d.truth.events, s.turns.events)
        for k in KINDS:
            total[k] += sc[k]
        if trace and att.diarization is not None and att.diarization.n_voices == 2:
            for e in d.truth.failed_interruptions:
                if not any(x.kind == e.kind and x.speaker == e.speaker and abs(x.start_s - e.start_s) < TOL_S
                           for x in s.turns.events):
                    misses.append((seed, e.start_s, e.end_s, e.speaker) + miss_class(e, s, att))
        elif trace:
            misses += [(seed, e.start_s, e.end_s, e.speaker, "one voice found", 0.0)
                       for e in d.truth.failed_interruptions]
        print(f"  {layout} seed {seed}: " + ", ".join(f"{k} {v[2]}/{v[0]} ({v[1]})" for k, v in sc.items()),
              file=sys.stderr, flush=True)
    return total, misses


def report_layout(title: str, sep: dict, one: dict, layout: str) -> dict:
    print(title)
    print(f"  {'kind':20} {'planted':>7}   separate: {'recall':>6} {'precision':>9}   {layout}: {'found':>5} "
          f"{'recall':>6} {'precision':>9}")
    fig = {}
    for k in KINDS:
        n, m, tr, tp = sep[k]
        _, m1, tr1, tp1 = one[k]
        fig[k] = (rate(tr, n), rate(tp, m), rate(tr1, n), rate(tp1, m1))
        print(f"  {k:20} {n:7d}   {'':10}{fig[k][0]:6.2f} {fig[k][1]:9.2f}   {'':{len(layout) + 2}}{m1:5d} "
              f"{fig[k][2]:6.2f} {fig[k][3]:9.2f}")
    return fig


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
    ap.add_argument("--layout", choices=("mono", "shared"), default=None,
                    help="also run each dialogue as one recording of this layout, through speaker attribution")
    ap.add_argument("--no-tuning", action="store_true", help="leave out the tuning seeds' reference run")
    ap.add_argument("--trace", action="store_true", help="with --layout: each missed failed interruption's class")
    args = ap.parse_args()
    try:
        a, b = (int(x) for x in args.seeds.split("-"))
    except ValueError:
        print(f"--seeds {args.seeds!r}: give FIRST-LAST, e.g. 100-123", file=sys.stderr)
        return 2
    if args.layout:
        return main_layout(range(a, b + 1), args)
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


def main_layout(seeds, args) -> int:
    sep, _, _ = run(seeds)
    one, misses = run_layout(seeds, args.layout, args.trace)
    fig = report_layout(f"seeds {seeds.start}-{seeds.stop - 1}, separate channels vs {args.layout}:", sep, one,
                        args.layout)
    if args.trace:
        print(f"missed failed interruptions ({args.layout}): seed start-end speaker class (share of its frames "
              "the diarizer gave the speaker)")
        for seed, t0, t1, who, why, heard in misses:
            print(f"  {seed:4d} {t0:7.2f}-{t1:<7.2f} {who:10} {why:18} {heard:.2f}")
        classes: dict[str, int] = {}
        for m in misses:
            classes[m[4]] = classes.get(m[4], 0) + 1
        print("  by class: " + ", ".join(f"{k} {v}" for k, v in sorted(classes.items(), key=lambda kv: -kv[1])))
    if not args.no_tuning:
        t_sep, _, _ = run(TUNING_SEEDS)
        t_one, _ = run_layout(TUNING_SEEDS, args.layout)
        report_layout(f"tuning seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1}, separate vs {args.layout}:",
                      t_sep, t_one, args.layout)
    bc_p, bc_r = fig["backchannel"][3], fig["backchannel"][2]
    print(f"{args.layout}: backchannel precision {bc_p:.2f}, recall {bc_r:.2f} (issue 9 target >= 0.8): "
          f"{'PASS' if min(bc_p, bc_r) >= 0.8 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
