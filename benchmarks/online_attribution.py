"""Provisional online speaker attribution for live capture from one mono or
shared device (issue 9, item 5): frame accuracy and CPU cost.

Material (generated, planted truth): two-voice espeak-ng dialogues mixed onto
one microphone (``tests/dialogue.mix_room``, mono) or two table mics (shared,
whose channel mean the live stage hears): voices drawn from
``tests.dialogue.VOICE_POOL`` with espeak pitch 25-75 and speed 150-190 wpm
(``scenario_overlap_events``: backchannels, failed interruptions, overlaps) or
voice pairs on ``scenario_turns`` / ``scenario_mixed``; each speaker's level
+-0..6 dB around -22 dBFS, synthetic rooms RT60 0.2-0.5 s or dry, noise
-65..-45 dBFS. The therapist's profile is enrolled (``build_profile``) from a
separate recording of their voice alone (other sentences, its own room and
noise), as ``prosody enrol`` would.

Scored per 10 ms frame against the truth, over frames where exactly one
planted speaker speaks, leaving out 0.25 s around every planted boundary
(the diarization benchmark's collar) and, second figure, without the collar:

* accuracy: labelled with the right speaker (therapist / other);
* wrong: labelled with the other speaker; unsure; missed (labelled silence);

and the CPU seconds per audio second of the stage (process time, one thread).

The voice model and thresholds of ``OnlineAttributionConfig`` were chosen on
the ``tune`` split (seeds 0-13 and 20-31, 19 dialogues once the seeds whose
voices break a planted role or clip are skipped; ``--calibrate`` searches the
two thresholds); the figures printed against the target are the ``held``
split (seeds 40-55, voices drawn afresh), not looked at while tuning.

Start offsets (``--offsets 0,0.05,...``): the same dialogues again with that
much digital silence put before them (where a dialogue starts on the 10 ms
grid, and so where the stage's windows fall on it); per offset the figures,
the worst dialogue's wrong share, and how many decided speech frames carry the
same label as at the first offset (labels moved back by the offset). Split
``live``: the planted dialogues of tests/test_live_capture.py (seed 6, eight
exchanges) and tests/test_online_attribution.py (seed 3) with their enrolment.
Split ``fresh`` (seeds 60-79): made for the eleventh round before its change.

    python benchmarks/online_attribution.py [--split tune|held|fresh|live] [--calibrate] [--quick]
        [--offsets 0,0.05,0.1]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from _common import frame_mask

from prosody.engine.online_speakers import OTHER, SILENCE, UNSURE, OnlineAttributionConfig, OnlineAttributor
from prosody.engine.online_speakers import THERAPIST as THERAPIST_LABEL
from prosody.engine.speakers import build_profile
from tests.dialogue import (CLIENT, CLIENT_LONG_SENTENCES, VOICE_POOL, THERAPIST, build_dialogue, mix_room,
                            scenario_mixed, scenario_overlap_events, scenario_turns, synthesize)

SEEDS = {"tune": list(range(0, 14)) + list(range(20, 32)), "held": list(range(40, 56)),
         "fresh": list(range(60, 80))}
COLLAR_S = 0.25
TARGET_ACCURACY = 0.85   # our own target for a provisional view (the issue names none for live)
TARGET_WRONG = 0.05
TARGET_CPU = 0.15        # CPU seconds per audio second, one core


def _voices(rng) -> dict:
    k = rng.choice(len(VOICE_POOL), size=2, replace=False)
    return {s: (VOICE_POOL[int(i)], int(rng.integers(25, 76)), int(rng.integers(150, 191)))
            for s, i in zip((THERAPIST, CLIENT), k)}


def espeak_dialogue(seed: int):
    """The dry espeak dialogue of ``seed``: (kind, the seed's random stream as the dialogue left it, the
    dialogue, the therapist's voice (voice, pitch, speed)); ``case`` and benchmarks/live_layout.py mix it."""
    rng = np.random.default_rng([seed, 77])
    kind = ("events", "turns", "mixed")[seed % 3]
    if kind == "events":
        utts = scenario_overlap_events(seed=seed, n_floors=4)
    else:
        v = _voices(rng)
        utts = scenario_turns(10, seed=seed) if kind == "turns" else scenario_mixed(seed=seed)
        utts = tuple(dataclasses.replace(u, voice=v[u.speaker][0], pitch=v[u.speaker][1],
                                         speed_wpm=None) for u in utts)
    tv = next((u.voice, u.pitch, u.speed_wpm) for u in utts if u.speaker == THERAPIST)
    return kind, rng, build_dialogue(utts, noise_db=None, level_db=(-22.0, -22.0), seed=seed), tv


def case(seed: int):
    """One dialogue: (name, mono mix (n,), truth dict, therapist voice (voice, pitch, speed))."""
    kind, rng, d, tv = espeak_dialogue(seed)
    layout = ("mono", "shared")[seed % 2]
    ld = tuple(float(rng.uniform(0, 6)) * float(rng.choice([-1, 1])) for _ in range(2))
    rt60 = None if rng.uniform() < 0.25 else float(rng.uniform(0.2, 0.5))
    x, _ = mix_room(d, layout=layout, level_diff_db=ld, delay_ms=tuple(rng.uniform(0, 1, 2)), rt60_s=rt60,
                    noise_db=float(rng.uniform(-65, -45)), seed=seed)
    truth = d.truth.to_json_dict()
    return f"{kind} s{seed} {layout} {tv[0]}", x.mean(axis=1).astype(np.float32), truth, tv


def enrolment(voice: tuple, seed: int) -> np.ndarray:
    """About 20 s of the therapist alone: other sentences than the dialogue's, own room and noise."""
    rng = np.random.default_rng([seed, 5])
    v, pitch, speed = voice
    parts = []
    for text in rng.permutation(CLIENT_LONG_SENTENCES)[:4]:
        y = synthesize(str(text), voice=v, pitch=pitch, speed_wpm=speed)
        parts += [y / max(np.sqrt(np.mean(y ** 2)), 1e-9) * 10 ** (-24 / 20), np.zeros(8000, np.float32)]
    x = np.concatenate(parts).astype(np.float32)
    return x + (rng.standard_normal(len(x)) * 10 ** (-60 / 20)).astype(np.float32)


def run(x: np.ndarray, profile, config: OnlineAttributionConfig, block_s: float = 0.1):
    """Labels and similarities for the whole mix, fed in live-sized blocks; CPU seconds."""
    att = OnlineAttributor(profile, config)
    step = int(block_s * 16000)
    t0 = time.process_time()
    outs = [att.push(x[a:a + step]) for a in range(0, len(x), step)] + [att.flush()]
    cpu = time.process_time() - t0
    return np.concatenate([o.label for o in outs]), np.concatenate([o.score for o in outs]), cpu


def truth_masks(truth: dict, n: int, collar_s: float):
    ta, tb = truth["segments"][THERAPIST], truth["segments"][CLIENT]
    A, B = frame_mask(ta, n), frame_mask(tb, n)
    keep = np.ones(n, bool)
    if collar_s:
        t = (np.arange(n) + 0.5) * 0.01
        for a, b in list(ta) + list(tb):
            keep &= (np.abs(t - a) >= collar_s) & (np.abs(t - b) >= collar_s)
    return A & ~B & keep, B & ~A & keep


def score(label: np.ndarray, truth: dict, collar_s: float) -> dict:
    A, B = truth_masks(truth, len(label), collar_s)
    n = int(A.sum() + B.sum())
    return {"n": n, "correct": int(np.sum(A & (label == THERAPIST_LABEL)) + np.sum(B & (label == OTHER))),
            "wrong": int(np.sum(A & (label == OTHER)) + np.sum(B & (label == THERAPIST_LABEL))),
            "unsure": int(np.sum((A | B) & (label == UNSURE))), "missed": int(np.sum((A | B) & (label == SILENCE)))}


def relabel(label: np.ndarray, sim: np.ndarray, hi: float, lo: float) -> np.ndarray:
    out = label.copy()
    speech = label != SILENCE
    out[speech] = UNSURE
    with np.errstate(invalid="ignore"):
        out[speech & (sim >= hi)] = THERAPIST_LABEL
        out[speech & (sim <= lo)] = OTHER
    return out


def material(split: str, quick: bool):
    if split == "live":
        from tests.online_dialogue import enrolment as live_enrolment, mono_dialogue
        prof = build_profile(live_enrolment())
        for seed, n_ex in ((6, 8), (3, 6)):
            x, truth = mono_dialogue(seed, n_exchanges=n_ex)
            yield f"live s{seed} x{n_ex} mono", x, truth, prof
        return
    seeds = SEEDS[split][:3] if quick else SEEDS[split]
    for seed in seeds:
        try:
            name, x, truth, tv = case(seed)
        except Exception as exc:  # a voice's timing breaks a planted role: skip this seed
            print(f"  skip seed {seed}: {exc}", file=sys.stderr)
            continue
        yield name, x, truth, build_profile(enrolment(tv, seed))


def shifted(x: np.ndarray, offset_s: float):
    """``x`` with ``offset_s`` of digital silence before it (any whole number of samples),
    and the number of frames to drop from its labels (the nearest whole frame)."""
    n = int(round(offset_s * 16000))
    return np.concatenate([np.zeros(n, np.float32), x]), int(round(n / 160))


def sweep(cases, cfg: OnlineAttributionConfig, offsets, detail: bool = False) -> None:
    """Per start offset: the figures over all dialogues, the worst dialogue, and the
    labels' agreement with the first offset's (decided speech frames, moved back)."""
    first = {}
    print(f"start offsets {', '.join(f'{o:g}' for o in offsets)} s (silence before the dialogue):")
    rows = []
    for off in offsets:
        tot, worst, same, n_same = {}, (0.0, ""), 0, 0
        for name, x, truth, prof in cases:
            xs, k = shifted(x, off)
            label = run(xs, prof, cfg)[0][k:k + -(-len(x) // 160)]
            r = score(label, truth, COLLAR_S)
            for key in r:
                tot[key] = tot.get(key, 0) + r[key]
            w = r["wrong"] / max(r["n"], 1)
            if detail:
                print(f"    {name:<40} accuracy {r['correct'] / max(r['n'], 1):.3f}  wrong {w:.3f}")
            worst = max(worst, (w, name))
            if name not in first:
                first[name] = label
            ref = first[name]
            m = min(len(ref), len(label))
            sp = (ref[:m] != SILENCE) | (label[:m] != SILENCE)
            same += int(np.sum(sp & (ref[:m] == label[:m])))
            n_same += int(sp.sum())
        n = max(tot["n"], 1)
        rows.append((tot["correct"] / n, tot["wrong"] / n))
        print(f"  offset {off:5.2f} s: accuracy {tot['correct'] / n:.3f}  wrong {tot['wrong'] / n:.3f}  "
              f"unsure {tot['unsure'] / n:.3f}  worst dialogue wrong {worst[0]:.3f} ({worst[1]})  "
              f"same labels as offset {offsets[0]:g}: {same / max(n_same, 1):.3f}", flush=True)
    acc, wrong = np.array(rows).T
    print(f"over offsets: accuracy {acc.min():.3f}-{acc.max():.3f} (mean {acc.mean():.3f}), "
          f"wrong {wrong.min():.3f}-{wrong.max():.3f} (mean {wrong.mean():.3f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("tune", "held", "fresh", "live"), default="held")
    ap.add_argument("--calibrate", action="store_true", help="search the two thresholds on this split")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--offsets", default="", help="comma-separated start offsets in seconds")
    ap.add_argument("--detail", action="store_true", help="with --offsets: each dialogue's figures")
    args = ap.parse_args()
    cfg = OnlineAttributionConfig()
    if args.offsets:
        offsets = [float(v) for v in args.offsets.split(",")]
        print(f"online attribution, split {args.split}: window {cfg.window_s} s every {cfg.step_s} s, "
              f"latency {cfg.latency_s} s")
        sweep(list(material(args.split, args.quick)), cfg, offsets, args.detail)
        return 0
    tot, tot0, cpu, audio_s = {}, {}, 0.0, 0.0
    kept = []
    print(f"online attribution, split {args.split}: window {cfg.window_s} s every {cfg.step_s} s, "
          f"latency {cfg.latency_s} s, therapist score >= {cfg.therapist_min_score}, "
          f"other <= {cfg.other_max_score}")
    for name, x, truth, prof in material(args.split, args.quick):
        label, sim, c = run(x, prof, cfg)
        cpu += c
        audio_s += len(x) / 16000
        r, r0 = score(label, truth, COLLAR_S), score(label, truth, 0.0)
        for k in r:
            tot[k] = tot.get(k, 0) + r[k]
            tot0[k] = tot0.get(k, 0) + r0[k]
        kept.append((label, sim, truth))
        A, B = truth_masks(truth, len(label), COLLAR_S)   # 10th/50th/90th percentile score of each speaker
        qa, qb = np.nanpercentile(sim[A], [10, 50, 90]), np.nanpercentile(sim[B], [10, 50, 90])
        print(f"  {name:<40} {len(x) / 16000:5.1f} s  accuracy {r['correct'] / max(r['n'], 1):.3f}  "
              f"wrong {r['wrong'] / max(r['n'], 1):.3f}  unsure {r['unsure'] / max(r['n'], 1):.3f}  "
              f"missed {r['missed'] / max(r['n'], 1):.3f}  (profile spread {prof.spread:.3f}) "
              f"scores T {qa.round(2)} C {qb.round(2)}", flush=True)
    if args.calibrate:
        best = None
        for hi in np.arange(-0.1, 0.3, 0.02):
            for lo in np.arange(-0.3, min(hi, 0.05) + 1e-9, 0.02):
                t = {"correct": 0, "wrong": 0, "n": 0}
                for label, sim, truth in kept:
                    r = score(relabel(label, sim, hi, lo), truth, COLLAR_S)
                    for k in t:
                        t[k] += r[k]
                obj = (t["correct"] - 4 * t["wrong"]) / max(t["n"], 1)
                if best is None or obj > best[0]:
                    best = (obj, hi, lo, t["correct"] / t["n"], t["wrong"] / t["n"])
        print(f"calibration (objective accuracy - 4 x wrong): therapist >= {best[1]:.2f}, other <= {best[2]:.2f}: "
              f"accuracy {best[3]:.3f}, wrong {best[4]:.3f}")
    n, n0 = max(tot.get("n", 0), 1), max(tot0.get("n", 0), 1)
    acc, wrong = tot["correct"] / n, tot["wrong"] / n
    per_s = cpu / max(audio_s, 1e-9)
    print(f"\nsummary ({len(kept)} dialogues, {audio_s:.0f} s, latency {cfg.latency_s:.2f} s):")
    print(f"  frame accuracy, single-speaker speech, 0.25 s collars: {acc:.3f} (target >= {TARGET_ACCURACY}) "
          f"{'PASS' if acc >= TARGET_ACCURACY else 'FAIL'}")
    print(f"  wrong speaker: {wrong:.3f} (target <= {TARGET_WRONG}) {'PASS' if wrong <= TARGET_WRONG else 'FAIL'}; "
          f"unsure {tot['unsure'] / n:.3f}; missed by the speech mask {tot['missed'] / n:.3f}")
    print(f"  without collars: accuracy {tot0['correct'] / n0:.3f}, wrong {tot0['wrong'] / n0:.3f}, "
          f"unsure {tot0['unsure'] / n0:.3f}, missed {tot0['missed'] / n0:.3f}")
    print(f"  CPU: {per_s:.4f} s per audio second (target <= {TARGET_CPU}) {'PASS' if per_s <= TARGET_CPU else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
