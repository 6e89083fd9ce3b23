"""Trial (issue 9, CAM++ second opinion): where the diarization found one voice, embed the speech in
1.5 s chunks with CAM++ (``prosody.engine.campplus``) and print what a two-cluster split of those chunks
reads: chunks, the smaller cluster's share, the cosine of the two clusters' mean directions (cc), the mean
within- and between-cluster cosines and their AUC, the cosine of one CAM++ embedding of each cluster's speech
(<= 20 s each: cos_long) and of alternate chunks (cos_alt: what one voice's two halves read); held out: the
split found on the chunks of alternate utterances applied to the others (ho_auc, ho_share, ho_cc); for two-voice
recordings the share of chunks the split puts with the truth and cos_long of the true split (cos_true)::

    python scripts/convert_campplus.py .../campplus_cn_en_common.pt /tmp/campplus.npz   # once (see there)
    python benchmarks/diarization_campplus_trial.py --groups fresh2,wide,fresh6s --cache /tmp/NAME/cache

Groups: diarization.py split names and ``wide`` / ``fresh6s`` (diarization_single.py's sets).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import prosody.engine.diarize as D  # noqa: E402
from diarization_single import one_voice_trial  # noqa: E402
from campplus_numpy import CamPlusPlus  # noqa: E402

CUR: dict = {}
_orig = D._odd_utterance_retry
CAM = CamPlusPlus.load()


def chunks(idx: np.ndarray, chunk: int = 150, min_len: int = 100, max_gap: int = 20):
    ua, ub = D._utterances(idx, max_gap=max_gap)
    out = []
    for a, b in zip(ua, ub):
        s, e = int(idx[a]), int(idx[b - 1]) + 1
        n = e - s
        if n < min_len:
            continue
        k = max(1, int(round(n / chunk)))
        edges = np.linspace(s, e, k + 1).astype(int)
        out += [(int(p), int(q), int(a)) for p, q in zip(edges[:-1], edges[1:])]
    return out


def spherical_kmeans(E: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(20):
        c = E[rng.choice(len(E), 2, replace=False)]
        for _ in range(30):
            lab = np.argmax(E @ c.T, axis=1)
            if np.bincount(lab, minlength=2).min() == 0:
                break
            c = np.stack([E[lab == k].mean(0) for k in (0, 1)])
            c /= np.linalg.norm(c, axis=1, keepdims=True)
        if np.bincount(lab, minlength=2).min() == 0:
            continue
        score = float(np.sum((E * c[lab]).sum(1)))
        if best is None or score > best[0]:
            best = (score, lab.copy(), c.copy())
    return best


def _auc(E, lab):
    cos = E @ E.T
    iu = np.triu_indices(len(E), 1)
    same = (lab[:, None] == lab[None])[iu]
    if same.all() or not same.any():
        return float("nan")
    return float(np.mean(cos[iu][same][:, None] > cos[iu][~same][None]))


def _held_out(E, utt) -> dict:
    """The split fitted on the chunks of every other utterance, read on the rest (both ways, averaged)."""
    order = {u: i for i, u in enumerate(np.unique(utt))}
    fold = np.array([order[u] % 2 for u in utt])
    auc, share, cc = [], [], []
    for k in (0, 1):
        A, B = fold == k, fold != k
        if A.sum() < 4 or B.sum() < 4:
            continue
        fit = spherical_kmeans(E[A])
        if fit is None:
            continue
        lb = np.argmax(E[B] @ fit[2].T, axis=1)
        auc.append(_auc(E[B], lb))
        share.append(float(min(lb.mean(), 1 - lb.mean())))
        if 0 < lb.mean() < 1:
            m0, m1 = E[B][lb == 0].mean(0), E[B][lb == 1].mean(0)
            cc.append(float(m0 @ m1 / np.linalg.norm(m0) / np.linalg.norm(m1)))
    nan = float("nan")
    return dict(ho_auc=float(np.nanmean(auc)) if auc and not np.all(np.isnan(auc)) else nan,
                ho_share=float(np.mean(share)) if share else nan, ho_cc=float(np.mean(cc)) if cc else nan)


def _stats(x, idx):
    ch = chunks(idx)
    if len(ch) < 4:
        return None
    if x.ndim == 2:
        x = x.mean(axis=1)
    t0 = time.process_time()
    E = np.stack([CAM.embed(x[a * 160:b * 160]) for a, b, _ in ch])
    utt = np.array([u for _, _, u in ch])
    ch = [(a, b) for a, b, _ in ch]
    cpu = time.process_time() - t0
    best = spherical_kmeans(E)
    if best is None:
        return None
    _, lab, c = best
    share = float(min(lab.mean(), 1 - lab.mean()))
    cos = E @ E.T
    iu = np.triu_indices(len(E), 1)
    same = (lab[:, None] == lab[None])[iu]
    r = dict(n=len(ch), share=share, cc=float(c[0] @ c[1]), within=float(cos[iu][same].mean()),
             between=float(cos[iu][~same].mean()) if (~same).any() else float("nan"),
             auc=float(np.mean(cos[iu][same][:, None] > cos[iu][~same][None])) if (~same).any() else float("nan"),
             cpu=cpu, speech_s=len(idx) / 100)
    def long_emb(sel):
        parts = [x[a * 160:b * 160] for (a, b), k in zip(ch, sel) if k]
        return CAM.embed(np.concatenate(parts)[:16000 * 20])
    r["cos_long"] = float(long_emb(lab == 0) @ long_emb(lab == 1))
    r.update(_held_out(E, utt))
    h = np.arange(len(ch)) % 2 == 0
    r["cos_alt"] = float(long_emb(h) @ long_emb(~h))
    if CUR.get("segs") is not None:
        a_mask = np.zeros(int(idx.max()) + 200, bool)
        for a0, b0 in CUR["segs"][0]:
            a_mask[int(a0 * 100):int(b0 * 100)] = True
        tl = np.array([a_mask[a:b].mean() > 0.5 for a, b in ch])
        r["agree"] = float(max(np.mean(tl == lab), np.mean(tl != lab)))
        r["true_share"] = float(min(tl.mean(), 1 - tl.mean()))
        if 0 < tl.mean() < 1:
            r["cos_true"] = float(long_emb(tl) @ long_emb(~tl))
    return r


def _hook(x, cfg, enc, grid, feats, idx, emb, melc, memo=None):
    out = _orig(x, cfg, enc, grid, feats, idx, emb, melc, memo=memo)
    CUR["st"] = _stats(x, idx)
    return out


def main() -> int:
    D._odd_utterance_retry = _hook
    return one_voice_trial(CUR, name_width=56)


if __name__ == "__main__":
    sys.exit(main())
