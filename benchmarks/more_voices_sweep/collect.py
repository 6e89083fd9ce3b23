"""Run diarize on material; record per-voice features of the more-voices check (all, ungated)."""
import json, sys, os, time
sys.path.insert(0, '/work/wt/voices3/benchmarks')
import numpy as np


import prosody.engine.diarize as dz
from prosody.engine.diarize import (kmeans_cos, _separation_of, _frame_features, _two_model_gain,
                                    _DiagGmm, DiarizeConfig)

REC = {}
orig = dz._more_voices

def gain_turnfold(feats, spans, lab, cfg):
    """held-out by turn: within each group, alternate turns train/test."""
    fold = np.zeros(len(lab), int)
    for k in (0, 1):
        ii = np.flatnonzero(lab == k)
        fold[ii[1::2]] = 1
    gains = []
    for f in (0, 1):
        tr = [i for i in range(len(lab)) if fold[i] != f]
        te = [i for i in range(len(lab)) if fold[i] == f]
        def frames(ix):
            return np.concatenate([np.arange(*spans[i]) for i in ix]) if ix else np.zeros(0, int)
        trf = frames(tr); tef = frames(te)
        if len(tef) == 0: return float('-inf')
        one = _DiagGmm(feats[trf], cfg.n_gauss, cfg.gmm_iterations)
        ll1 = one.loglik(feats[tef])
        ll2 = []
        for k in (0, 1):
            a = frames([i for i in tr if lab[i] == k]); b = frames([i for i in te if lab[i] == k])
            if len(a) < 20: return float('-inf')
            if len(b) == 0: continue
            g = _DiagGmm(feats[a], cfg.n_gauss, cfg.gmm_iterations)
            ll2.append(g.loglik(feats[b]))
        gains.append(float(np.mean(np.concatenate(ll2) - ll1)))
    return float(np.mean(gains))

def patched(d, cfg, memo):
    out = orig(d, cfg, memo)
    REC.clear()
    REC['more'] = int(out.more_voices)
    REC['n_voices'] = int(d.n_voices)
    vs = []
    REC['voices'] = vs
    got = dz._turns_of(d, memo) if d.n_voices == 2 else None
    if got is None:
        return out
    turns, idx = got
    raw = _frame_features(memo["mel"][idx], None, cfg.n_mfcc)
    feats = (raw - raw.mean(axis=0)) / (raw.std(axis=0) + 1e-6)
    fps = d.grid.s_to_frames(1.0)
    for v in (0, 1):
        mine = [t for t in turns if t[0] == v]
        r = {'nt': len(mine), 'voice_s': float(sum(t[2]-t[1] for t in mine))/fps}
        vs.append(r)
        if len(mine) < 4:
            continue
        e = np.stack([t[3] for t in mine])
        n = np.array([t[2] - t[1] for t in mine], np.float64)
        lab = kmeans_cos(e, 2, n_init=6)
        cnt = np.bincount(lab, minlength=2)
        r['cnt'] = [int(cnt[0]), int(cnt[1])]
        r['sec'] = [float(n[lab == k].sum())/fps for k in (0, 1)]
        if min(cnt) == 0:
            continue
        c = np.stack([(e[lab == k] * n[lab == k, None]).sum(axis=0) for k in (0, 1)])
        c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
        r['dist'] = float(_separation_of(c))
        sel = np.concatenate([np.arange(t[1], t[2]) for t in mine])
        path = np.concatenate([np.full(t[2] - t[1], k, np.int8) for t, k in zip(mine, lab)])
        r['gain'] = _two_model_gain(feats[sel], path, cfg)
        alt = np.arange(len(mine)) % 2
        r['gain_alt'] = _two_model_gain(feats[sel], np.concatenate([np.full(t[2]-t[1], k, np.int8) for t, k in zip(mine, alt)]), cfg)
        half = (np.arange(len(mine)) >= len(mine)//2).astype(int)
        r['gain_half'] = _two_model_gain(feats[sel], np.concatenate([np.full(t[2]-t[1], k, np.int8) for t, k in zip(mine, half)]), cfg)
        spans = []; o = 0
        for t in mine:
            spans.append((o, o + t[2]-t[1])); o += t[2]-t[1]
        r['gain_turn'] = gain_turnfold(feats[sel], spans, lab, cfg)
        runs = 1 + int(np.sum(lab[1:] != lab[:-1]))
        n0, n1 = cnt
        r['runs'] = runs
        r['runs_exp'] = 1 + 2 * n0 * n1 / (n0 + n1)
        tm = np.array([(t[1]+t[2])/2 for t in mine], float)
        r['tsep'] = float(abs(tm[lab == 0].mean() - tm[lab == 1].mean()) / max(len(idx), 1))
        # fraction of minority-group turns inside the other group's time span (10..90 pct)
        mk = int(np.argmin(cnt)); ok = 1 - mk
        lo, hi = np.percentile(tm[lab == ok], [10, 90])
        r['inside'] = float(np.mean((tm[lab == mk] >= lo) & (tm[lab == mk] <= hi)))
    return out

dz._more_voices = patched

def run(material, items, outpath):
    with open(outpath, 'a') as f:
        for name, x, truth in items:
            t0 = time.time()
            d = dz.diarize(x)
            rec = dict(REC)
            rec.update(material=material, name=name, dur=len(x)/16000, truth=truth, t=time.time()-t0)
            f.write(json.dumps(rec) + '\n'); f.flush()
