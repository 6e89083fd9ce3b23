"""Attunement at turn exchanges (Levitan & Hirschberg 2011): proximity,
synchrony, convergence and arousal co-regulation, with chance intervals."""
from __future__ import annotations

import bisect
import functools

import numpy as np

from ..quantile import percentile
from ..types import Segment
from .baseline import SpeakerBaseline
from .registry import MeasuresConfig
from .slice import Slice, _r, both_voices


# attunement (Levitan & Hirschberg 2011)
ATTUNE_FEATURES = ("pitch", "intensity", "rate")


def _ipu_features(sl: Slice, seg: Segment, base: SpeakerBaseline | None) -> dict:
    fr = sl.frames[seg.speaker]
    f_a, f_b = sl.grid.s_to_frames(seg.start_s), sl.grid.s_to_frames(seg.end_s)
    n = sl.count_nuclei(seg.speaker, seg.start_s, seg.end_s)
    key = (seg.speaker, f_a, f_b)
    whole = sl.ipu_cache is not None and f_a >= sl.frame0 and f_b <= sl.frame1
    if whole and key in sl.ipu_cache:
        pitch, intensity = sl.ipu_cache[key]
    else:
        i0 = max(0, f_a - sl.frame0)
        i1 = max(i0, f_b - sl.frame0)
        f0 = fr["f0_hz"][i0:i1]
        f0 = f0[np.isfinite(f0)]
        lv = fr["rms_db"][i0:i1]
        lv = lv[~both_voices(sl, seg.speaker, i0, i1)[:len(lv)]]  # one mix's two voices: their own frames
        pitch = float(np.mean(12 * np.log2(f0 / 100.0))) if len(f0) >= 5 else None
        intensity = float(np.mean(lv)) if len(lv) else None
        if whole:
            sl.ipu_cache[key] = (pitch, intensity)
    # syllables over the time spoken inside the slice (the nuclei counted are the slice's): a segment
    # running on past a rolling window's end, or begun before its start, read the window's syllables over
    # its whole length (a rate too low; past the end, one a live window could not know before it ended)
    dur = min(seg.end_s, sl.end_s) - max(seg.start_s, sl.start_s)
    return {"pitch": pitch, "intensity": intensity, "rate": n / dur if dur >= 0.3 else None}


def exchanges(sl: Slice, cfg: MeasuresConfig) -> list[dict]:
    """For each speaker change: the previous speaker's last segment before it
    and the new speaker's first segment, with their features."""
    out = []
    segs = {s: sorted([x for x in sl.segments if x.speaker == s], key=lambda x: x.start_s) for s in sl.speakers}
    # one speaker's segments do not overlap: sorted by start they are sorted by end too (bisect on either)
    starts = {s: [x.start_s for x in v] for s, v in segs.items()}
    ends = {s: [x.end_s for x in v] for s, v in segs.items()}
    for t in sl.transitions:
        i_prev = bisect.bisect_right(ends[t.from_speaker], t.from_end_s + 1e-6) - 1
        j = bisect.bisect_left(starts[t.to_speaker], t.to_start_s - 1e-6)
        nxt = [x for x in segs[t.to_speaker][j:j + 2] if abs(x.start_s - t.to_start_s) < 1e-6]
        if i_prev < 0 or not nxt:
            continue
        out.append({"time_s": t.to_start_s, "from": t.from_speaker, "to": t.to_speaker,
                    "a": _ipu_features(sl, segs[t.from_speaker][i_prev], None), "b": _ipu_features(sl, nxt[0], None)})
    return out


def _z_by_speaker(ex: list[dict], feat: str, direction: tuple[str, str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-score each speaker's IPU values of ``feat`` (over all IPUs in the
    exchanges); keep the exchanges in ``direction`` (from, to) if given."""
    vals: dict[str, list[float]] = {}
    for x in ex:
        for side, spk in (("a", x["from"]), ("b", x["to"])):
            v = x[side][feat]
            if v is not None:
                vals.setdefault(spk, []).append(v)
    stats = {s: (np.mean(v), sd if (sd := np.std(v)) > 0 else 1.0) for s, v in vals.items()}
    a, b, t = [], [], []
    for x in ex:
        va, vb = x["a"][feat], x["b"][feat]
        if va is None or vb is None or (direction is not None and (x["from"], x["to"]) != direction):
            continue
        ma, sa = stats[x["from"]]
        mb, sb = stats[x["to"]]
        a.append((va - ma) / sa)
        b.append((vb - mb) / sb)
        t.append(x["time_s"])
    return np.array(a), np.array(b), np.array(t)


def _pearson(x, y) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _pearson_rows(x: np.ndarray, ys: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    """Pearson r of ``x`` with each row of ``ys`` (rows are permutations of one
    vector, so they share its mean and SD, taken from ``ref``: by default the
    first row)."""
    ref = ys[0] if ref is None else ref
    if len(x) < 3:
        return np.zeros(len(ys))
    sx, sr = x.std(), ref.std()
    if sx == 0 or sr == 0:
        return np.zeros(len(ys))
    zx = (x - x.mean()) / sx
    zy = (ys - ref.mean()) / sr
    return zy @ zx / len(x)


def _null_rows(n_perm: int, n: int) -> int:
    """Permutations per slice of a null distribution: the float work arrays
    stay ~1 MB whatever the number of exchanges (a multiple of 8 rows)."""
    return max(8, min(n_perm, (131_072 // max(n, 1)) // 8 * 8))


def _with_chance(value: float, null: np.ndarray, higher_label: str, lower_label: str) -> dict:
    lo, hi = (float(v) for v in percentile(null, (2.5, 97.5)))
    reading = higher_label if value > hi else lower_label if value < lo else "within chance"
    return {"value": _r(value), "chance_low": _r(lo), "chance_high": _r(hi), "reading": reading}


def attunement(sl: Slice, cfg: MeasuresConfig, *, n_permutations: int | None = None,
               by_direction: bool = True) -> dict:
    """Proximity, synchrony and convergence per feature with permutation
    chance intervals (95 %), plus arousal co-regulation."""
    n_perm = n_permutations or cfg.n_permutations
    ex = exchanges(sl, cfg)
    out_ar = _arousal_coregulation(ex, cfg, n_perm)
    out: dict = {"n_exchanges": len(ex), "proximity": {}, "synchrony": {}, "convergence": {},
                 "note": "Synchrony is descriptive: higher is not better (Reich et al. 2014; "
                         "Gaume et al. 2019 did not replicate Imel et al. 2014)."}
    for feat in ATTUNE_FEATURES:
        a, b, t = _z_by_speaker(ex, feat)
        prox, sync, conv = _entrainment(a, b, t, cfg, n_perm)
        out["proximity"][feat], out["synchrony"][feat], out["convergence"][feat] = prox, sync, conv
    # the same per direction: does the therapist follow the client, and the client the therapist?
    out["by_direction"] = {}
    for frm, to in ((cfg.client, cfg.therapist), (cfg.therapist, cfg.client)) if by_direction else ():
        d = {"proximity": {}, "synchrony": {}}
        for feat in ATTUNE_FEATURES:
            a, b, t = _z_by_speaker(ex, feat, (frm, to))
            prox, sync, _ = _entrainment(a, b, t, cfg, n_perm)
            d["proximity"][feat], d["synchrony"][feat] = prox, sync
        out["by_direction"][f"{frm}->{to}"] = d
    out["arousal_coregulation"] = out_ar
    return out


def _entrainment(a: np.ndarray, b: np.ndarray, t: np.ndarray, cfg: MeasuresConfig, n_perm: int):
    """Proximity, synchrony, convergence of paired z-scores ``a`` (end of one
    turn) and ``b`` (start of the partner's next turn) at times ``t``."""
    if len(a) < cfg.min_exchanges:
        none = {"value": None, "chance_low": None, "chance_high": None,
                "reading": f"too few exchanges ({len(a)} < {cfg.min_exchanges})", "n": len(a)}
        return dict(none), dict(none), dict(none)
    k = min(cfg.n_nonadjacent, len(b) - 1)
    sim = -np.abs(a - b)
    # null distributions over the (n_perm, n) shuffled partner turns, a slice of permutations at a time
    prox_null, sync_null, conv_null = [], [], []
    draws = _shuffles(cfg.seed, len(b), n_perm, k)
    first = None
    for perms in draws.perms:
        first = perms[0] if first is None else first
        bp = b[perms]
        prox_null.append(np.mean(-np.abs(a[None, :] - bp), axis=1))
        sync_null.append(_pearson_rows(a, bp, b[first]))
        conv_null.append(_pearson_rows(t, sim[perms], sim[first]))
    offs = draws.offsets()
    # Levitan & Hirschberg's non-adjacent comparison: K random other partner turns
    nonadj = -np.abs(a[:, None] - b[(np.arange(len(a))[:, None] + offs) % len(b)])
    prox = {**_with_chance(float(np.mean(sim)), np.concatenate(prox_null), "more alike than chance",
                           "less alike than chance"), "nonadjacent": _r(np.mean(nonadj)), "n": len(a)}
    sync = {**_with_chance(_pearson(a, b), np.concatenate(sync_null), "synchronous beyond chance",
                           "anti-synchronous beyond chance"), "n": len(a)}
    conv = {**_with_chance(_pearson(t, sim), np.concatenate(conv_null), "converging beyond chance",
                           "diverging beyond chance"), "n": len(a)}
    return prox, sync, conv


class _Draws:
    """The random draws of ``_entrainment`` for ``n`` exchanges, from one
    generator seeded with ``seed``, in this order: ``n_perm`` shuffles of
    0..n-1 (``perms`` yields them in slices of rows, as they are used), then
    for each exchange ``k`` offsets 1..n-1 of non-adjacent partner turns
    (``offsets()``, once the shuffles are used). ``permuted`` shuffles row
    after row, so drawing in slices gives the numbers of one (n_perm, n) and
    one (n, n - 1) draw without holding either: a session's draws are
    O(exchanges x 1000) and O(exchanges^2) numbers. Rolling windows (a few
    dozen exchanges) with the same count share one kept draw."""

    def __init__(self, seed: int, n: int, n_perm: int, k: int):
        self.n, self.n_perm, self.k = n, n_perm, k
        self._rng = np.random.default_rng(seed)
        self._rows = _null_rows(n_perm, n)

    @property
    def perms(self):
        for i in range(0, self.n_perm, self._rows):
            m = min(self._rows, self.n_perm - i)
            yield self._rng.permuted(np.tile(np.arange(self.n), (m, 1)), axis=1)

    def offsets(self) -> np.ndarray:
        step = max(1, 131_072 // max(self.n, 1))
        return np.concatenate([self._rng.permuted(np.tile(np.arange(1, self.n), (min(step, self.n - i), 1)),
                                                  axis=1)[:, :self.k] for i in range(0, self.n, step)]
                              or [np.zeros((0, self.k), np.int64)])


class _KeptDraws:
    """``_Draws`` made once and kept (read-only arrays), for small counts."""

    def __init__(self, seed: int, n: int, n_perm: int, k: int):
        d = _Draws(seed, n, n_perm, k)
        self._perms = [p for p in d.perms]
        self._offs = d.offsets()
        for x in self._perms + [self._offs]:
            x.setflags(write=False)

    @property
    def perms(self):
        return iter(self._perms)

    def offsets(self) -> np.ndarray:
        return self._offs


def _shuffles(seed: int, n: int, n_perm: int, k: int):
    """The draws for ``n`` exchanges (see ``_Draws``)."""
    if n * max(n, n_perm) <= _SHUFFLE_CACHE_MAX:
        return _kept_draws(seed, n, n_perm, k)
    return _Draws(seed, n, n_perm, k)


_SHUFFLE_CACHE_MAX = 40_000   # numbers in the larger draw: at most ~320 kB per kept draw


@functools.lru_cache(maxsize=32)
def _kept_draws(seed: int, n: int, n_perm: int, k: int) -> _KeptDraws:
    return _KeptDraws(seed, n, n_perm, k)


def arousal_coregulation(sl: Slice, cfg: MeasuresConfig, *, n_permutations: int | None = None) -> dict:
    """Arousal co-regulation alone, as ``attunement`` gives it: the client's arousal in
    the client-to-therapist exchanges of ``sl`` against the therapist's answer. It reads
    frames, segments and transitions only (not the syllable nuclei), so ``prosody
    relabel`` recomputes it from a stored session when the two voices are exchanged."""
    return _arousal_coregulation(exchanges(sl, cfg), cfg, n_permutations or cfg.n_permutations)


def _arousal_coregulation(ex: list[dict], cfg: MeasuresConfig, n_perm: int) -> dict:
    pairs = []
    for x in ex:
        if x["from"] == cfg.client and x["to"] == cfg.therapist:
            ca = _ipu_arousal(x["a"])
            tb = _ipu_arousal(x["b"])
            if ca is not None and tb is not None:
                pairs.append((ca, tb))
    if len(pairs) < cfg.min_exchanges:
        return {"value": None, "chance_low": None, "chance_high": None,
                "reading": f"too few client-to-therapist exchanges ({len(pairs)})", "n": len(pairs)}
    c, t = np.array(pairs).T
    c = (c - c.mean()) / (c.std() or 1.0)
    t = (t - t.mean()) / (t.std() or 1.0)
    null, first = [], None
    for perms in _shuffles(cfg.seed + 1, len(t), n_perm, 0).perms:
        first = perms[0] if first is None else first
        null.append(_pearson_rows(c, t[perms], t[first]))
    null = np.concatenate(null)
    return {**_with_chance(_pearson(c, t), null, "therapist mirrors the client's arousal",
                           "therapist calmer when the client is aroused (dampening)"), "n": len(pairs)}


def _ipu_arousal(f: dict) -> float | None:
    if f["pitch"] is None or f["intensity"] is None:
        return None
    return f["pitch"] / 12.0 + f["intensity"] / 20.0  # octaves + 20 dB units, z-scored later
