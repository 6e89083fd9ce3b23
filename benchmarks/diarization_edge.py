"""One voice with one odd stretch, or a dominant voice with one short answer at the recording's start or end
(issue 9; docs/speakers.md, fiftieth round).

The one-voice recordings split in two that the earlier rounds left (AMI dev00 MEE009 alone: his quiet last
stretch; FEE078 made lively in ``diarization.py --split unseen``: her first turn) give the second voice one
run of speech, at an edge of the recording. The dominant-voice dialogues of ``diarization_single.py`` and
``diarization.py`` put their short answers in the middle (25-85 % of the way through), so no split asks
what a real short answer at an edge looks like. This script makes both kinds from the AMI speakers'
own turns (``turn_stretches``, mono, each turn at -24 dB +- 3 dB, 0.3-0.9 s pauses, noise 62 dB under):

* ``one``: each AMI speaker (4 s or more) alone, twice: once made livelier with Praat's "Change gender"
  (pitch range x1.3-1.7, formants x0.95-1.08, each turn's own pitch median kept), once as recorded; each
  turn at its own level, -32..-20 dB (nearer, further, softer). Seeds 7000+.
* ``same``: same-sex dominant pairs: every turn of one speaker, one 0.8-4 s turn of another of the same
  sex before the first turn or after the last (seeds 7600+).
* ``cross``: pairs drawn over all speakers (about half of them skipped by the draw), one 0.8-3.5 s answer at
  the start, the middle or the end (seeds 7500+).

Runs the diarizer alone and prints, per recording, the voices found, the separation, the frame models'
gain, how the second voice's speech lies (its runs of 0.3 s or more, and whether one of them is the first
or last), the two voices' pitch medians' distance in semitones where the second voice holds one run, and
the wrong-voice share (0.25 s collars, ``diarization_single.wrong_share``).

    python benchmarks/diarization_edge.py [--set one,same,cross] [--cache DIR] [--dump FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import at_db, corpus_dir
from diarization_single import cached, wrong_share
from prosody.engine.diarize import diarize

SR = 16000
MEN = ("MEE009", "MEE012", "MEE073", "MEE075", "MEE076")
WOMEN = ("FEE078", "FEE083", "FEO070", "FEO072")
SETS = ("one", "same", "cross")


def _pools(corpus: Path) -> dict[str, list[np.ndarray]]:
    from diarization import turn_stretches
    pools: dict[str, list[np.ndarray]] = {}
    for uri in ("dev00", "dev01", "trn04", "trn05", "trn06", "tst00"):
        x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        for spk, st in turn_stretches(uri, corpus, x, sr).items():
            pools.setdefault(spk, []).extend(x[int(a * sr):int(b * sr)] for a, b in st)
    return pools



def _noisy(y: np.ndarray, seed: int) -> np.ndarray:
    return y + np.random.default_rng(seed).standard_normal(len(y)).astype(np.float32) * 10 ** (-62 / 20)


def one_cases(pools):
    from unseen_material import change_gender, median_f0_hz
    k = 0
    for spk in sorted(pools):
        if sum(len(p) for p in pools[spk]) / SR < 4:
            continue
        for rep in range(2):
            seed = 7000 + k
            k += 1
            rng = np.random.default_rng(seed)
            raw = [pools[spk][j] for j in rng.permutation(len(pools[spk]))]
            rf = float(rng.uniform(1.3, 1.7)) if rep == 0 else 1.0
            fr = float(rng.uniform(0.95, 1.08)) if rep == 0 else 1.0
            parts = []
            for i, y in enumerate(raw):
                if rep == 0:
                    med = median_f0_hz(y)
                    y = change_gender(y, formant_ratio=fr, median_hz=med if med == med else 0.0, range_factor=rf,
                                      seed=seed * 10 + i)
                gap = np.zeros(int(SR * rng.uniform(0.3, 1.0)), np.float32)
                parts += [at_db(y, -24 + float(rng.uniform(-8, 4))), gap]
            y = _noisy(np.concatenate(parts).astype(np.float32), seed)
            yield f"one {spk} {f'lively x{rf:.2f}' if rep == 0 else 'levels'} s{seed} {len(y) / SR:.0f}s", y, None


def _dialogue(rng, a_turns, answer, pos: int, seed: int):
    seq = [(0, y) for y in a_turns]
    seq.insert(pos, (1, answer))
    parts, segs, at = [np.zeros(int(0.3 * SR), np.float32)], [[], []], int(0.3 * SR)  # at: samples
    for w, y in seq:
        y = at_db(y, -24 + float(rng.uniform(-3, 3)))
        segs[w].append((at / SR, (at + len(y)) / SR))
        g = np.zeros(int(SR * rng.uniform(0.3, 0.9)), np.float32)
        parts += [y, g]
        at += len(y) + len(g)
    return _noisy(np.concatenate(parts).astype(np.float32), seed), segs


def same_cases(pools):
    k = 0
    for sex in (MEN, WOMEN):
        for a in sex:
            for b in sex:
                if a == b or a not in pools or b not in pools or sum(len(p) for p in pools[a]) / SR < 8:
                    continue
                for where in ("end", "start"):
                    seed = 7600 + k
                    k += 1
                    rng = np.random.default_rng(seed)
                    turns = [pools[a][j] for j in rng.permutation(len(pools[a]))]
                    ans = [p for p in pools[b] if 0.8 * SR <= len(p) <= 4 * SR] or [min(pools[b], key=len)]
                    y, segs = _dialogue(rng, turns, ans[int(rng.integers(len(ans)))],
                                        len(turns) if where == "end" else 0, seed)
                    yield f"same {a}+{b} answer@{where} s{seed} {len(y) / SR:.0f}s", y, segs


def cross_cases(pools):
    k = 0
    for a in [s for s in sorted(pools) if sum(len(p) for p in pools[s]) / SR >= 10]:
        for b in sorted(pools):
            if a == b or k >= 40:
                continue
            seed = 7500 + k
            k += 1
            rng = np.random.default_rng(seed)
            if rng.uniform() < 0.5:
                continue
            turns = [pools[a][j] for j in rng.permutation(len(pools[a]))]
            ans = [p for p in pools[b] if 0.8 * SR <= len(p) <= 3.5 * SR]
            if not ans:
                continue
            answer = ans[int(rng.integers(len(ans)))]
            where = ("end", "start", "mid")[k % 3]
            y, segs = _dialogue(rng, turns, answer, {"end": len(turns), "start": 0, "mid": len(turns) // 2}[where],
                                seed)
            yield f"cross {a}+{b} answer@{where} s{seed} {len(y) / SR:.0f}s", y, segs


def second_voice_runs(d) -> tuple[int, bool, float]:
    """(runs of 0.3 s or more of the smaller voice's own speech, whether one of them is the first or the last
    such run of either voice, its share of the one-voice speech) over the speech frames of ``d``."""
    act = d.activity[d.activity.any(axis=1)]
    ex = np.where(act[:, 1], 1, 0)[act.sum(axis=1) == 1]
    if len(ex) == 0:
        return 0, False, 0.0
    share = np.bincount(ex, minlength=2) / len(ex)
    mino = int(np.argmin(share))
    cut = np.flatnonzero(np.diff(ex)) + 1
    runs = []
    for a, b in zip(np.r_[0, cut], np.r_[cut, len(ex)]):
        if b - a < 30:
            continue
        if runs and runs[-1] == ex[a]:
            continue
        runs.append(int(ex[a]))
    n = sum(1 for r in runs if r == mino)
    return n, bool(runs) and mino in (runs[0], runs[-1]), float(share[mino])


def pitch_apart_st(x: np.ndarray, d) -> float:
    """The smaller voice's pitch median against the larger's, semitones (Praat, each voice's own frames)."""
    from unseen_material import median_f0_hz
    m = x if x.ndim == 1 else x.mean(axis=1)
    act = d.activity
    mino = int(np.argmin(act.sum(axis=0)))
    med = []
    for k in (0, 1):
        own = np.flatnonzero(act[:, k] & ~act[:, 1 - k])
        med.append(median_f0_hz(np.concatenate([m[i * 160:(i + 1) * 160] for i in own])) if len(own) else np.nan)
    return float(12 * np.log2(med[mino] / med[1 - mino]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="one,same,cross", help="comma-separated, of: " + ", ".join(SETS))
    ap.add_argument("--cache", help="folder (outside the repo) to keep the made cases in between runs")
    ap.add_argument("--dump", help="write per-recording results as JSON to this file")
    args = ap.parse_args()
    sets = [s for s in args.set.split(",") if s]
    bad = [s for s in sets if s not in SETS]
    if bad or not sets:
        print(f"diarization_edge: unknown set {', '.join(bad) or '(none)'}; sets: {', '.join(SETS)}", file=sys.stderr)
        return 2
    corpus = corpus_dir()
    if corpus is None:
        print("diarization_edge: no corpus (set PROSODY_CORPUS): this material is made from AMI speakers",
              file=sys.stderr)
        return 2
    pools = _pools(corpus)
    gens = {"one": one_cases, "same": same_cases, "cross": cross_cases}
    rows = []
    for s in sets:
        for nm, x, segs in cached(f"edge-{s}", gens[s](pools), args.cache):
            d = diarize(x)
            w, tot = wrong_share(d, segs) if segs is not None else (0, 0)
            runs, edge, share = second_voice_runs(d) if d.n_voices == 2 else (0, False, 0.0)
            st = pitch_apart_st(x, d) if d.n_voices == 2 and runs == 1 else float("nan")
            r = {"set": s, "name": nm, "truth": 1 if segs is None else 2, "voices": int(d.n_voices),
                 "separation": float(d.separation), "gain": float(d.model_gain), "second_runs": runs,
                 "second_at_edge": edge, "second_share": share, "pitch_apart_st": st, "wrong": w, "single": tot}
            rows.append(r)
            ok = r["voices"] == r["truth"]
            print(f"{'  ' if ok else '!!'} {nm[:48]:48} v{r['voices']} sep {r['separation']:.3f} "
                  f"gain {r['gain']:6.2f} runs {runs} {'edge' if edge else '    '} {st:+6.2f} st"
                  + (f" wrong {100 * w / max(tot, 1):5.1f} %" if segs is not None else ""), flush=True)
    print()
    for s in sets:
        g = [r for r in rows if r["set"] == s]
        if s == "one":
            print(f"{s:6} one voice kept whole {sum(r['voices'] == 1 for r in g)}/{len(g)}")
        else:
            e = [r for r in g if r["voices"] == 2 and r["second_runs"] == 1 and r["second_at_edge"]]
            print(f"{s:6} two voices found {sum(r['voices'] == 2 for r in g)}/{len(g)}, of which the answer one run "
                  f"at an edge {len(e)}; wrong-voice speech "
                  f"{100 * sum(r['wrong'] for r in g) / max(1, sum(r['single'] for r in g)):.2f} %")
    if args.dump:
        Path(args.dump).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
