"""Short recordings (8-25 s), one voice or two (fifty-sixth round, docs/speakers.md).

CI's stop 52 found ``tests/online_dialogue.mono_dialogue(6, 4)`` (10.4 s, two espeak voices on one
microphone) read as one voice: the frame models' held-out gain (``diarize._two_model_gain``) of two
8-Gaussian models fitted on 2-4 s of each voice is dominated by overfitting. This script measures
how often short recordings are read wrong, with the diarizer alone (``prosody.engine.diarize.diarize``):

* two voices: ``mono_dialogue`` over many seeds and exchange counts (default voices, one mic, a
  room); espeak dialogues of voice pairs (``scenario_turns``, mono or shared, levels, rooms, noise);
  ``benchmarks/diarization_single.py``'s hard two-voice recordings (near-alike pairs, quick turns,
  short answers) cut to 8-25 s; AMI speakers' turns placed as ``benchmarks/diarization.py`` places
  them (``ami_cases``), cut to 8-25 s. A cut is kept where each voice holds at least 1 s of it;
* one voice: ``diarization_single.py``'s one-voice recordings (espeak voices, pauses, levels,
  rooms, noise; AMI speakers' single-speaker stretches joined) cut to 8-25 s.

Counted: two-voice recordings read as one, one-voice recordings split in two, and the share of
single-speaker speech (0.25 s collars) given to the wrong voice where two are found (best mapping).

Parts: ``tune`` (mono_dialogue seeds 0-9, pairs of diarization_single's ``wide`` variants,
its ``wide`` recordings, AMI trn04/trn05), ``held`` (seeds 20-29, ``fresh6`` variants and
recordings, AMI trn06/tst00: run on final settings only) and ``held2`` (seeds 30-59, more ``fresh6``
pairs, the ``fresh6`` one-voice recordings cut at other points: made after ``held``, whose dialogues
were all read right before the change, had been run).

    python benchmarks/diarization_short.py [--part tune|held|held2] [--cache DIR] [--dump FILE]
        [--only TEXT] [--config FIELD=VALUE ...]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from diarization_single import VARIANTS, BASES, _field_value, cached, finish, single_cases, two_cases, wrong_share
from prosody.engine.diarize import DiarizeConfig, diarize
from tests.dialogue import CLIENT, THERAPIST, build_dialogue, mix_room, scenario_turns
from tests.online_dialogue import mono_dialogue

PARTS = {
    "tune": dict(dlg_seeds=range(0, 10), pair_seed0=0, set="wide", ami="tune"),
    "held": dict(dlg_seeds=range(20, 30), pair_seed0=500, set="fresh6", ami="held"),
    # held2: made after held had been run on the final settings (held's dialogues were all read right before the
    # change): more dialogue seeds and pairs, held's one-voice recordings cut elsewhere; no AMI placements
    "held2": dict(dlg_seeds=range(30, 60), pair_seed0=800, set="fresh6", ami=None, cut_seed0=9000, hard=False),
}
N_PAIRS = 24  # drawn; those that would clip or whose turns overlap too long are skipped
MIN_S, MAX_S = 8.0, 25.0
MIN_VOICE_S = 1.0  # a cut keeps two voices only where each holds this much of it


def _cut_segs(segs, a: float, b: float):
    return [[(max(s, a) - a, min(e, b) - a) for s, e in sg if e > a and s < b] for sg in segs]


def cuts(name: str, x: np.ndarray, segs, seed: int):
    """Two cuts of 8-25 s (one from the start, one from a random later point) of a recording;
    (name, audio, segs) with each two-voice cut holding ``MIN_VOICE_S`` of each voice."""
    rng = np.random.default_rng(seed)
    dur = len(x) / 16000
    if dur < MIN_S:
        return
    for k in range(2):
        L = float(rng.uniform(MIN_S, min(MAX_S, dur)))
        a = 0.0 if k == 0 else float(rng.uniform(0, max(0.0, dur - L)))
        if k == 1 and a < 2.0:
            continue
        y = x[int(a * 16000):int((a + L) * 16000)]
        s = None if segs is None else _cut_segs(segs, a, a + L)
        if s is not None and min(sum(e - b for b, e in sg) for sg in s) < MIN_VOICE_S:
            continue
        yield f"{name[:70]} cut{a:.0f}+{L:.0f}s", y, s


def dialogue_cases(seeds):
    """mono_dialogue(seed, n): default voices, one microphone, 8-25 s."""
    for seed in seeds:
        for n in (3, 4, 5, 6, 8, 10):
            x, truth = mono_dialogue(seed, n_exchanges=n)
            if not MIN_S <= len(x) / 16000 <= MAX_S:
                continue
            yield f"mono_dialogue({seed}, {n}) {len(x) / 16000:.1f}s", x, \
                [truth["segments"][THERAPIST], truth["segments"][CLIENT]]


def pair_cases(split: str, seed0: int):
    """Espeak dialogues of two voices (diarization_single's variants of ``split``): 3-9 exchanges,
    mono or shared, voice levels +-6 dB, -35..-15 dBFS, rooms, noise 20-45 dB below."""
    from diarization import spoken_by
    for i in range(N_PAIRS):
        seed = seed0 + i
        rng = np.random.default_rng(seed)
        va, vb = (f"{rng.choice(BASES)}+{rng.choice(VARIANTS[split])}".rstrip("+") + f" p{rng.integers(20, 80)}"
                  for _ in range(2))
        n = int(rng.integers(3, 10))
        utts = spoken_by(scenario_turns(n, seed=seed), {THERAPIST: va, CLIENT: vb})
        level = float(rng.uniform(-35, -15))
        try:
            d = build_dialogue(utts, noise_db=None, level_db=(level, level))
        except Exception as exc:  # a voice whose peaks would clip at this level
            print(f"  skip {va}/{vb}: {exc}", file=sys.stderr)
            continue
        layout = ("mono", "shared")[i % 2]
        ld = tuple(float(rng.uniform(-6, 6)) for _ in range(2))
        rt60 = None if rng.uniform() < 0.3 else float(rng.uniform(0.2, 0.6))
        noise = max(-70.0, level - float(rng.uniform(20, 45)))
        x, _ = mix_room(d, layout=layout, level_diff_db=ld, rt60_s=rt60, noise_db=noise, seed=seed)
        x = x[:, 0] if layout == "mono" else x
        if not MIN_S <= len(x) / 16000 <= MAX_S:
            continue
        tr = d.truth.to_json_dict()
        yield f"pair {va}/{vb} x{n} {len(x) / 16000:.0f}s {layout} rt{rt60 or 0:.1f} {level:.0f}/{noise:.0f}dB", x, \
            [tr["segments"][THERAPIST], tr["segments"][CLIENT]]


def ami_two(split: str):
    from diarization import ami_cases
    for i, (nm, x, tr) in enumerate(ami_cases(split, False)):
        yield from cuts(nm, x, [tr["segments"][THERAPIST], tr["segments"][CLIENT]], 7000 + i)


def cut_group(gen, seed0: int):
    for i, (nm, x, segs) in enumerate(gen):
        yield from cuts(nm, x, segs, seed0 + i)


def groups(part: str, cache):
    p = PARTS[part]
    s = p["set"]
    c0 = p.get("cut_seed0", 0)
    out = [
        (f"{part}-dialogue", cached(f"short-{part}-dialogue", dialogue_cases(p["dlg_seeds"]), cache)),
        (f"{part}-pairs", cached(f"short-{part}-pairs", pair_cases(s, p["pair_seed0"]), cache)),
    ]
    if p.get("hard", True):
        out.append((f"{part}-hard-two", cut_group(cached(f"{s}-two", two_cases(s), cache), c0 + 3000)))
    if p["ami"] is not None:
        out.append((f"{part}-ami-two", cached(f"short-{part}-ami", ami_two(p["ami"]), cache)))
    out.append((f"{part}-one", cut_group(cached(f"{s}-one", single_cases(s), cache), c0 + 5000)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=tuple(PARTS), default="tune")
    ap.add_argument("--cache", help="folder (outside the repo), shared with diarization_single.py's --cache")
    ap.add_argument("--dump", help="write per-recording results as JSON to this file")
    ap.add_argument("--only", help="run only the recordings whose name contains this")
    ap.add_argument("--config", action="append", default=[], metavar="FIELD=VALUE",
                    help="a DiarizeConfig field for this run (repeatable)")
    args = ap.parse_args()
    cfg = DiarizeConfig(**dict(_field_value(c) for c in args.config))
    rows = []
    for gname, gen in groups(args.part, args.cache):
        for nm, x, segs in gen:
            if args.only and args.only not in nm:
                continue
            t0 = time.process_time()
            d = diarize(x, config=cfg)
            cpu = time.process_time() - t0
            w, tot = wrong_share(d, segs) if segs is not None else (0, 0)
            r = {"group": gname, "name": nm, "truth": 1 if segs is None else 2, "voices": int(d.n_voices),
                 "separation": float(d.separation), "gain": float(d.model_gain), "wrong": w, "single": tot,
                 "cpu": cpu, "audio_s": len(x) / 16000}
            rows.append(r)
            ok = r["voices"] == r["truth"]
            print(f"{'  ' if ok else '!!'} {gname:15} {nm[:84]:84} v{r['voices']} sep {r['separation']:.3f}"
                  + (f" wrong {100 * w / max(tot, 1):5.1f} %" if segs is not None else ""), flush=True)
    print()
    for gname in dict.fromkeys(r["group"] for r in rows):
        g = [r for r in rows if r["group"] == gname]
        one = [r for r in g if r["truth"] == 1]
        two = [r for r in g if r["truth"] == 2]
        if one:
            print(f"{gname:16} one voice split in two   {sum(r['voices'] == 2 for r in one):3d}/{len(one)}")
        if two:
            found = [r for r in two if r["voices"] == 2]
            wf = sum(r["wrong"] for r in found) / max(1, sum(r["single"] for r in found))
            w = sum(r["wrong"] for r in two) / max(1, sum(r["single"] for r in two))
            print(f"{gname:16} two voices read as one   {len(two) - len(found):3d}/{len(two)}   wrong-voice "
                  f"where split {100 * wf:5.2f} %   over all (one voice: the other's speech wrong) {100 * w:5.2f} %")
    one = [r for r in rows if r["truth"] == 1]
    two = [r for r in rows if r["truth"] == 2]
    found = [r for r in two if r["voices"] == 2]
    print(f"{'all':16} one voice split in two   {sum(r['voices'] == 2 for r in one):3d}/{len(one)}")
    print(f"{'all':16} two voices read as one   {len(two) - len(found):3d}/{len(two)}   wrong-voice where split "
          f"{100 * sum(r['wrong'] for r in found) / max(1, sum(r['single'] for r in found)):5.2f} %")
    return finish(rows, args.dump)


if __name__ == "__main__":
    sys.exit(main())
