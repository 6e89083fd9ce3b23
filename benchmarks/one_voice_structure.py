"""Two alike voices read as one: the structure of the best 2-way split (eighty-first round, docs/speakers.md, av89).

For every recording the diarizer reads as one voice, the first pass's split (``prosody.engine.diarize._diarize``:
its k-means labels of the window embeddings, ``km``, and its resegmented path, ``p3``, the split the 1-vs-2
figures are read on) is measured for how it lies over the recording's utterances and pauses
(``split_structure``): a dialogue of two alike voices should give a split that follows utterances (each
utterance mostly one voice, changes at pauses, the voices alternating across pauses, both spread over the
whole recording); one voice's best split cuts inside utterances (head against tail, a level direction) or
groups by time. Positives: two-voice recordings read as one; negatives: one-voice recordings read as one. Also read:
the finer restart's split (``fine``: ``_finer_restart`` called on every such recording, whatever the first pass found)
and, on two-voice recordings, the planted split (``planted``: what a right split reads).

Recordings come from caches of ``benchmarks/diarization.py`` / ``diarization_single.py`` (``--cache DIR``,
read only: a folder holding ``index.json``, ``<sha1>.npy``, ``<sha1>.json``) or are made (``--make SET``, written
to ``--out DIR/SET``):

* ``single-SPLIT``: ``diarization.py``'s one-voice recordings of SPLIT (its espeak voices' monologues, its AMI
  speakers);
* ``fresh6-one`` / ``fresh6-two``: ``diarization_single.py --set fresh6``'s one-voice / hard two-voice recordings
  (voices used nowhere else); ``fresh6-one@SEED``: the same drawn from other seeds (``SEED``, ``SEED + 500``, ...);
* ``alike-one``: monologues of the alike pairs' own voices (fresh2's paul / robert, fresh14's Mr / Tweaky and
  others), seeds 890-...;
* ``pairs-SPLIT[:VOICE]``: ``diarization.py``'s espeak dialogues of SPLIT on fresh seeds (``FRESH_SEEDS``), with
  VOICE only the pairs naming it;
* ``unseen-VOICE``: ``unseen_material``'s rooms (five conditions) of the pairs naming VOICE (e.g. ``FEO072>M``) on
  fresh seeds.

``--dump FILE`` writes the rows as JSON; ``--table FILE ...`` reads dumps and prints, per cue, the AUC of
positives against negatives and the positives found at a bar no negative passes (both directions tried; the
direction is the one the ``--pick`` rows give, read on the rest).

    python benchmarks/one_voice_structure.py --cache /tmp/mv88/dc/cache_wide-one/wide-one --dump rows.json
    python benchmarks/one_voice_structure.py --make single-fresh14 --out /tmp/av89/made --dump rows.json
    python benchmarks/one_voice_structure.py --table rows1.json rows2.json [--pick TEXT]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _common import frame_mask

PAUSE_FRAMES = 15  # a gap of this many frames (0.15 s) or more between speech frames ends an utterance
MIN_UTT_FRAMES = 30  # utterances shorter than this (0.3 s) give no majority of their own
FRESH_SEEDS = (890, 891, 892, 893, 894, 895)
ALIKE_VOICES = ("en-us+paul", "en-gb-scotland+robert", "en-gb-x-gbclan+Mr", "en-us+Tweaky", "en-us+Mike",
                "en-gb-x-gbclan+f3", "en-029+f5", "en-gb-x-gbcwmd+m7")
CUES = ("purity", "pure_utt", "pause_chg", "alt_rate", "alt_z", "mix_time", "head_tail", "level_r", "inside_ps",
        "minority", "utt_eta", "utt_alt_z")


def utterance_bounds(idx: np.ndarray, pause: int = PAUSE_FRAMES) -> list[tuple[int, int]]:
    """(a, b) compact bounds of the runs of speech frames ``idx`` with no gap of ``pause`` frames or more."""
    cut = np.flatnonzero(np.diff(idx) >= pause) + 1
    edges = np.concatenate([[0], cut, [len(idx)]])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def runs_z(seq: np.ndarray) -> float:
    """Wald-Wolfowitz runs test z of a 0/1 sequence: > 0 where it alternates more than a random order would."""
    n1 = int(np.sum(seq))
    n0 = len(seq) - n1
    n = n0 + n1
    if n0 == 0 or n1 == 0 or n < 3:
        return 0.0
    runs = 1 + int(np.sum(seq[1:] != seq[:-1]))
    mu = 2.0 * n0 * n1 / n + 1
    var = (mu - 1) * (mu - 2) / (n - 1)
    return float((runs - mu) / np.sqrt(var)) if var > 0 else 0.0


def split_structure(p: np.ndarray, idx: np.ndarray, lv: np.ndarray) -> dict:
    """How a 2-way split lies over the speech. ``p``: (m,) 0 / 1 (2: both, left out) per speech frame, ``idx``:
    their frame numbers (10 ms), ``lv``: their level (dB). Figures:

    * purity: speech-weighted mean over utterances of the share of its frames in its own majority voice;
    * pause_chg: the share of the split's changes (between consecutive frames it labels) across a gap;
    * alt_rate / alt_z: how often consecutive utterances' majorities differ, and that as a runs-test z;
    * mix_time: 1 - the Kolmogorov-Smirnov distance between the two voices' frame times (1: spread alike);
    * head_tail: |mean over mixed utterances of corr(position in the utterance, voice)|;
    * level_r: |corr(level, voice)| over the frames;
    * inside_ps: changes between consecutive speech frames per second of speech;
    * minority: the smaller voice's share of the frames;
    * pure_utt: the share of utterances (>= ``MIN_UTT_FRAMES``) with 90 % of their frames in one voice.
    """
    keep = p != 2
    p, idx, lv = p[keep].astype(np.int64), idx[keep], lv[keep]
    if len(p) < 2 or p.min() == p.max():
        return {}
    chg = np.flatnonzero(p[1:] != p[:-1])
    gap = np.diff(idx)[chg] > 1
    utts = utterance_bounds(idx)
    pur_num, maj, ht_r, ht_w = 0.0, [], [], []
    for a, b in utts:
        s = p[a:b]
        share = s.mean()
        pur_num += max(share, 1 - share) * (b - a)
        if b - a >= MIN_UTT_FRAMES:
            maj.append(int(share > 0.5))
            if 0.1 < share < 0.9:
                pos = np.arange(b - a, dtype=float)
                ht_r.append(float(np.corrcoef(pos, s)[0, 1]))
                ht_w.append(b - a)
    maj = np.asarray(maj)
    shares = [p[a:b].mean() for a, b in utts if b - a >= MIN_UTT_FRAMES]
    t0, t1 = np.sort(idx[p == 0]), np.sort(idx[p == 1])
    grid = np.union1d(t0, t1)
    ks = np.max(np.abs(np.searchsorted(t0, grid, side="right") / len(t0)
                       - np.searchsorted(t1, grid, side="right") / len(t1)))
    lr = np.corrcoef(lv, p)[0, 1] if np.std(lv) > 0 else 0.0
    return {"purity": pur_num / len(p),
            "pause_chg": float(np.mean(gap)) if len(chg) else 1.0,
            "alt_rate": float(np.mean(maj[1:] != maj[:-1])) if len(maj) > 1 else 0.0,
            "alt_z": runs_z(maj),
            "mix_time": 1.0 - float(ks),
            "head_tail": abs(float(np.average(ht_r, weights=ht_w))) if ht_r else 0.0,
            "level_r": abs(float(lr)),
            "inside_ps": float(np.sum(~gap)) / (len(p) * 0.01),
            "minority": float(min(p.mean(), 1 - p.mean())),
            "pure_utt": float(np.mean([(q <= 0.1) | (q >= 0.9) for q in shares])) if shares else 0.0,
            "n_utt": len(maj)}


def utterance_eta(emb: np.ndarray, lab: np.ndarray, starts: np.ndarray, w: int, idx: np.ndarray) -> dict:
    """How the windows' position along the split's direction (``emb`` (n, d) window embeddings, ``lab`` (n,) their
    0 / 1 labels; the direction: centroid 1 less centroid 0) groups by utterance: of the windows wholly inside one
    utterance (``utterance_bounds`` of the speech frames ``idx``; windows ``[s, s + w)`` over compact frames),
    utt_eta: the share of their variance between utterances, less what as many groups give by chance (0: none);
    utt_alt_z: the runs-test z of the utterances' mean positions above / below their median, in time order."""
    cents = np.stack([emb[lab == k].mean(axis=0) for k in (0, 1)])
    proj = emb @ (cents[1] - cents[0])
    groups, means = [], []
    for a, b in utterance_bounds(idx):
        inside = (starts >= a) & (starts + w <= b)
        if inside.sum() >= 2:
            groups.append(proj[inside])
            means.append(float(proj[inside].mean()))
    if len(groups) < 3:
        return {"utt_eta": 0.0, "utt_alt_z": 0.0}
    allp = np.concatenate(groups)
    total = float(np.sum((allp - allp.mean()) ** 2))
    between = float(sum(len(g) * (g.mean() - allp.mean()) ** 2 for g in groups))
    chance = (len(groups) - 1) / (len(allp) - 1)
    eta = (between / max(total, 1e-12) - chance) / max(1 - chance, 1e-12)
    means = np.asarray(means)
    return {"utt_eta": float(eta), "utt_alt_z": runs_z((means > np.median(means)).astype(np.int64))}


class Capture:
    """The first pass of one ``diarize`` call, caught on the way (nothing in the engine changed): the front
    end's memo (speech mask, windows, level), the k-means labels and the resegmented path the 1-vs-2 figures
    are read on, and those figures (separation)."""

    def __init__(self):
        import prosody.engine.diarize as D
        self.D = D
        self.orig = {k: getattr(D, k) for k in ("_diarize", "kmeans2", "_voices_own_windows", "_separation_of")}
        self.state: dict = {}

        def first(key, fn, pick):
            def wrapped(*a, **k):
                out = fn(*a, **k)
                self.state.setdefault(key, pick(a, k, out))
                return out
            return wrapped
        D._diarize = first("memo", self.orig["_diarize"], lambda a, k, out: k.get("memo"))
        D.kmeans2 = first("km", self.orig["kmeans2"], lambda a, k, out: np.asarray(out).copy())
        def every_path(*a, **k):  # every split whose separation is measured, in call order
            self.state.setdefault("paths", []).append(np.asarray(a[2]).copy())
            return self.orig["_voices_own_windows"](*a, **k)
        D._voices_own_windows = every_path
        D._separation_of = first("sep", self.orig["_separation_of"], lambda a, k, out: float(out))

    def run(self, x: np.ndarray):
        self.state = {}
        d = self.D.diarize(x)
        paths = self.state.get("paths", [])
        if paths:
            self.state["p3"] = paths[0]
        return d, self.state

    def finer_split(self, x: np.ndarray) -> np.ndarray | None:
        """The finer restart's split (``_finer_restart``: the whole first pass again on 1.0 s windows) of the
        recording ``run`` read last, made whatever the first pass found (the engine runs it only where the
        pieces test fires or two voices were found) and whatever its separation: its path, or None."""
        from prosody.engine.embedding import VoiceEncoder
        from prosody.timebase import GRID
        n0 = len(self.state.setdefault("paths", []))
        self.D._finer_restart(self.D.audio_2d(x), self.D.DiarizeConfig(), VoiceEncoder.load(), GRID, -np.inf,
                              memo=self.state["memo"])
        paths = self.state["paths"]
        return paths[n0] if len(paths) > n0 else None


def split_of_windows(lab: np.ndarray, starts: np.ndarray, w: int, m: int) -> np.ndarray:
    """(m,) 0 / 1 per speech frame: the majority of the k-means labels of the windows covering it."""
    import prosody.engine.diarize as D
    return (D._spread(lab.astype(float), starts, w, m) > 0.5).astype(np.int8)


def window_share(frames: np.ndarray, starts: np.ndarray, w: int) -> np.ndarray:
    import prosody.engine.diarize as D
    return D._window_mean(frames.astype(float), starts, w)


def truth_segments(tr) -> tuple[list, list] | None:
    if tr is None:
        return None
    if isinstance(tr, dict):
        from tests.dialogue import CLIENT, THERAPIST
        return tr["segments"][THERAPIST], tr["segments"][CLIENT]
    return tr[0], tr[1]


def truth_agreement(p: np.ndarray, idx: np.ndarray, segs, n: int) -> float:
    """The share of the split's frames (one voice planted alone) whose voice matches the planted one, best mapping."""
    a, b = frame_mask(segs[0], n)[idx], frame_mask(segs[1], n)[idx]
    use = (a ^ b) & (p != 2)
    if not use.any():
        return float("nan")
    hit = np.mean((p[use] == 1) == b[use])
    return float(max(hit, 1 - hit))


def measure(cap: Capture, name: str, x: np.ndarray, tr, group: str) -> dict:
    d, st = cap.run(x)
    segs = truth_segments(tr)
    row = {"group": group, "name": name, "truth": 1 if segs is None else 2, "voices": int(d.n_voices),
           "unsure": bool(d.unsure)}
    memo = st.get("memo")
    if d.n_voices != 1 or memo is None or "windows" not in memo or "level" not in memo:
        return row
    speech = memo["speech"]
    idx = np.flatnonzero(speech)
    lv = 10 * np.log10(memo["level"][idx] + 1e-12)
    starts, w, emb = memo["windows"]
    n = len(speech)
    row["sep"] = st.get("sep", float("nan"))
    km = None if "km" not in st else split_of_windows(st["km"], starts, w, len(idx))
    planted = None
    if segs is not None:  # the planted split itself: what the structure of a right split reads
        a, b = (frame_mask(sg, n)[idx] for sg in segs)
        planted = np.where(a & ~b, 0, np.where(b & ~a, 1, 2)).astype(np.int8)
    for key, p in (("p3", st.get("p3")), ("km", km), ("fine", cap.finer_split(x)), ("planted", planted)):
        if p is None or len(p) != len(idx):
            continue
        row[key] = split_structure(p, idx, lv)
        if row[key]:
            lab = (st["km"] if key == "km" else  # the fine split's windows read on the first pass's windows
                   (window_share(p == 1, starts, w) > 0.5).astype(np.int64))
            if 0 < lab.sum() < len(lab):
                row[key].update(utterance_eta(emb, lab, starts, w, idx))
            else:
                row[key].update({"utt_eta": 0.0, "utt_alt_z": 0.0})
        if segs is not None:
            row[key]["truth_agree"] = truth_agreement(p, idx, segs, n)
    return row


def read_cache(folder: str):
    """(name, audio, truth) of a cache folder, read only (``diarization.cached`` reads a folder with an index)."""
    if not (Path(folder) / "index.json").exists():
        raise SystemExit(f"{folder}: not a cache (no index.json)")
    yield from cached((), folder)


def cached(gen, folder):
    """``gen`` read from / written to ``folder`` (``diarization.cached``: a folder with an index is read)."""
    import diarization as B
    yield from B.cached(gen, folder)


def made(kind: str):
    """(name, audio, truth) of a made set (see the module's docstring)."""
    import diarization as B
    if kind.startswith("single-"):
        yield from ((nm, x, None) for nm, x in B.single_voice_cases(kind[7:], False))
    elif kind.partition("@")[0] in ("fresh6-one", "fresh6-two"):
        import diarization_single as S
        kind, _, seed0 = kind.partition("@")
        if seed0:
            S.SEED0["fresh6"] = int(seed0)
        yield from (S.single_cases if kind == "fresh6-one" else S.two_cases)("fresh6")
    elif kind == "alike-one":
        from tests.dialogue import THERAPIST, build_dialogue, mix_room, scenario_monologue
        for i, v in enumerate(ALIKE_VOICES):
            for j, seed in enumerate(FRESH_SEEDS[:3]):
                utts = B.spoken_by(scenario_monologue(8, seed=seed + 10 * i), {THERAPIST: v})
                dl = build_dialogue(utts, noise_db=None, level_db=(-22.0, -22.0), seed=seed)
                layout = ("mono", "shared")[(i + j) % 2]
                rt60 = (None, 0.3, 0.5)[j]
                x, _ = mix_room(dl, layout=layout, rt60_s=rt60, noise_db=-55.0, seed=seed, level_diff_db=(3.0, 0.0))
                yield f"alike one {v} s{seed} {layout} rt{rt60}", x, None
    elif kind.startswith("pairs-"):
        split, _, voice = kind[6:].partition(":")
        B.SEEDS[split] = list(FRESH_SEEDS)
        B.VOICE_PAIRS[split] = [pr for pr in B.VOICE_PAIRS[split] if voice in " ".join(pr)]
        yield from ((nm, x, tr) for nm, x, tr, _ in B.espeak_cases(split, False))
    elif kind.startswith("unseen-"):
        import unseen_material as U
        U.PAIRS[:] = [pr for pr in U.PAIRS if kind[7:] in pr]
        U.SEEDS["unseen_rooms"] = FRESH_SEEDS[:3]
        yield from U.unseen_cases("unseen_rooms", False)
    else:
        raise SystemExit(f"--make {kind}: unknown set")


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive's value > a negative's), ties half."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    gt = (pos[:, None] > neg[None, :]).mean()
    eq = (pos[:, None] == neg[None, :]).mean()
    return float(gt + 0.5 * eq)


def found_at_zero(pos: np.ndarray, neg: np.ndarray, sign: float) -> int:
    """Positives past every negative, reading ``sign * value``."""
    return int(np.sum(sign * pos > np.max(sign * neg))) if len(neg) else len(pos)


SIGNS = {"purity": 1, "pure_utt": 1, "pause_chg": 1, "alt_rate": 1, "alt_z": 1, "mix_time": 1, "head_tail": -1,
         "level_r": -1, "inside_ps": -1, "minority": 1, "utt_eta": 1, "utt_alt_z": 1}  # a turn-like split's way


def combined(pick: list[dict], rest: list[dict], key: str = "p3", top: int = 6) -> None:
    """Sums of two or three cues (each a z over the picking negatives, read the way ``SIGNS`` gives), the
    combinations ranked by the picking rows' positives past every negative, each read on the rest at the
    picking rows' bar (the highest picking negative)."""
    from itertools import combinations

    def mat(rows, truth):
        m = [[r[key][c] * SIGNS[c] for c in CUES] for r in rows if r["truth"] == truth]
        return np.array(m).reshape(-1, len(CUES))
    pn, pp, rn, rp = mat(pick, 1), mat(pick, 2), mat(rest, 1), mat(rest, 2)
    if min(len(pn), len(pp)) == 0:
        return
    mu, sd = pn.mean(axis=0), np.maximum(pn.std(axis=0), 1e-9)
    out = []
    for k in (1, 2, 3):
        for comb in combinations(range(len(CUES)), k):
            c = list(comb)
            f = (lambda m: ((m[:, c] - mu[c]) / sd[c]).sum(axis=1))
            bar = float(f(pn).max())
            out.append((found_at_zero(f(pp), f(pn), 1.0), auc(f(pp), f(pn)), "+".join(CUES[i] for i in c),
                        int(np.sum(f(rp) > bar)), int(np.sum(f(rn) > bar)), auc(f(rp), f(rn)),
                        found_at_zero(f(rp), f(rn), 1.0)))
    out.sort(key=lambda t: (-t[0], -t[1]))
    print(f"\ncue sums ({key}), picked on {len(pp)} positives / {len(pn)} negatives, read on {len(rp)} / {len(rn)}:")
    for t in out[:top]:
        print(f"  {t[2]:34} pick {t[0]}/{len(pp)} past every negative, AUC {t[1]:.3f} | rest at that bar: positives "
              f"{t[3]}/{len(rp)}, negatives {t[4]}/{len(rn)}; AUC {t[5]:.3f}, past every negative {t[6]}")


def _read(r: dict, key: str) -> dict:
    """A row's figures of split ``key``; "planted": a two-voice recording's planted split, a one-voice recording's
    first pass (what a right split of a pair reads against what one voice's split reads)."""
    return r.get("p3" if key == "planted" and r["truth"] == 1 else key) or {}


def table(rows: list[dict], pick: str | None, agree: float = 0.0) -> None:
    rows = [r for r in rows if r["voices"] == 1 and "p3" in r and r["p3"]
            and (r["truth"] == 1 or r["p3"].get("truth_agree", 0.0) >= agree)]
    seen: set = set()  # diarization.py's AMI single voices are the same audio in every split: counted once
    rows = [r for r in rows
            if not (r["name"].startswith("AMI one voice") and (r["name"] in seen or seen.add(r["name"])))]
    print(f"read as one with a first-pass split: {len(rows)} "
          f"(two voices {sum(r['truth'] == 2 for r in rows)}, one voice {sum(r['truth'] == 1 for r in rows)})")
    for key in ("p3", "km", "fine", "planted"):
        rs = [dict(r, **{key: _read(r, key)}) for r in rows if _read(r, key)]
        sets = [("all", rs)]
        if pick:
            sets = [("pick", [r for r in rs if pick in r["group"]]),
                    ("rest", [r for r in rs if pick not in r["group"]])]
        print(f"\nsplit {key}")
        print(f"{'cue':10} " + " ".join(f"{s + ' AUC':>9} {s + ' @0neg':>11} {'pos':>4} {'neg':>4}" for s, _ in sets)
              + "   pos median / neg median")
        for cue in CUES + ("sep",):
            out, sign = [], None
            for s, rr in sets:
                get = (lambda r: r.get("sep", np.nan)) if cue == "sep" else (lambda r: r[key][cue])
                pos = np.array([get(r) for r in rr if r["truth"] == 2], float)
                neg = np.array([get(r) for r in rr if r["truth"] == 1], float)
                a = auc(pos, neg)
                if sign is None:
                    sign = 1.0 if not a < 0.5 else -1.0
                out.append(f"{(a if sign > 0 else 1 - a):9.3f} {found_at_zero(pos, neg, sign):11d} {len(pos):4d} "
                           f"{len(neg):4d}")
                med = f"{np.median(pos) if len(pos) else np.nan:.3f} / {np.median(neg) if len(neg) else np.nan:.3f}"
            print(f"{cue + ('+' if sign > 0 else '-'):10} " + " ".join(out) + "   " + med)
        if pick and key in ("p3", "fine"):
            combined(*(r for _, r in sets), key=key)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", action="append", default=[], help="a cache folder (read only), repeatable")
    ap.add_argument("--make", action="append", default=[], help="a set to make (see the docstring), repeatable")
    ap.add_argument("--out", help="folder the made sets are written to (outside the repo)")
    ap.add_argument("--dump", help="write the rows as JSON")
    ap.add_argument("--only", help="only the recordings whose name contains this")
    ap.add_argument("--table", nargs="+", help="dumps to read; print the cue table")
    ap.add_argument("--pick", help="with --table: rows whose dump file or group holds this pick the direction; AUC on "
                    "the rest")
    ap.add_argument("--agree", type=float, default=0.0,
                    help="with --table: only the positives whose split agrees with the planted one this much")
    args = ap.parse_args()
    if args.table:
        table([dict(r, group=f"{f}:{r['group']}") for f in args.table for r in json.loads(Path(f).read_text())],
              args.pick, args.agree)
        return 0
    sources = [(Path(c).name, read_cache(c)) for c in args.cache]
    for kind in args.make:
        if args.out is None:
            raise SystemExit("--make needs --out")
        folder = Path(args.out) / kind
        sources.append((kind, cached(made(kind), folder)))
    cap = Capture()
    rows = []
    for group, gen in sources:
        for nm, x, tr in gen:
            if args.only and args.only not in nm:
                continue
            r = measure(cap, nm, x, tr, group)
            rows.append(r)
            fig = " ".join(f"{k} {v:.2f}" for k, v in r.get("p3", {}).items())
            print(f"{group[:14]:14} t{r['truth']} v{r['voices']} {nm[:70]:70} {fig}", flush=True)
            if args.dump:
                Path(args.dump).write_text(json.dumps(rows, indent=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
