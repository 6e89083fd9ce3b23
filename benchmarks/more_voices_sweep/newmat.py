"""New material: long multi-voice espeak, long 2-voice espeak (varied; pink 15 dB + per-turn +-10 dB),
long AMI real 2/3-voice (each piece used <= twice). Runs collect on each; caches audio."""
import sys, json
sys.path.insert(0, '/tmp/mvx'); sys.path.insert(0, '/work/wt/voices3/benchmarks')
import numpy as np
from collect import run
import more_voices as MV
from more_voices import Synth, place, room, with_pink, finish, SENTENCES, voice_spec, TUNE_VOICES, TEST_VOICES, ami_pool, SR
from diarization import cached
from _common import corpus_dir

VOICES = TUNE_VOICES + TEST_VOICES

def plan_long(rng, n, minor_share, total_s, synth, voices, *, vary=False, level_db=0.0):
    w = np.ones(n)
    if minor_share is not None:
        w[:-1] = (1 - minor_share) / (n - 1); w[-1] = minor_share
    pieces, t, last = [], 0.0, None
    talk = np.zeros(n)
    while t < total_s:
        # choose voice furthest below its target share (with randomness), never the last one
        target = w / w.sum()
        cur = talk / max(talk.sum(), 1e-9)
        score = (target - cur) + rng.uniform(0, 0.15, n)
        if last is not None: score[last] = -np.inf
        v = int(np.argmax(score))
        text = SENTENCES[int(rng.integers(len(SENTENCES)))]
        if vary:
            _, p0, s0 = voice_spec(voices[v])
            y = synth(text, voices[v], pitch=int(np.clip((p0 or 50) + rng.integers(-12, 13), 0, 99)),
                      speed=int(rng.integers(140, 201)))
        else:
            y = synth(text, voices[v])
        if level_db:
            y = y * 10 ** (rng.uniform(-level_db, level_db) / 20)
        pieces.append((v, y)); talk[v] += len(y) / SR
        t += len(y) / SR + 0.6; last = v
    return pieces

def espeak_long(seed):
    synth = Synth()
    rng = np.random.default_rng(77_000 + seed)
    for kind in ("3 minor", "3 even", "4 minor", "2 varied", "2 pinklevel"):
        n = int(kind[0])
        vs = [VOICES[i] for i in rng.choice(len(VOICES), n, replace=False)]
        shared = bool(rng.uniform() < 0.3)
        total = float(rng.uniform(150, 300))
        share = float(rng.uniform(0.10, 0.35)) if kind.endswith("minor") else None
        try:
            pieces = plan_long(rng, n, share, total, synth, vs, vary=(kind == "2 varied"),
                               level_db=10.0 if kind == "2 pinklevel" else 0.0)
        except Exception as exc:
            print('skip', kind, seed, vs, exc, file=sys.stderr); continue
        tracks, segs = place(pieces, n, rng)
        x = room(tracks, rng, shared=shared)
        if kind == "2 pinklevel":
            x = with_pink(x, 15.0, rng)
        yield (f"new {kind} s{seed} {'/'.join(vs)} {'shared' if shared else 'mono'}", finish(x),
               {"voices": n, "kind": kind, "segments": segs})

def pieces_of(pool, spk, rng):
    out = []
    for y in pool[spk]:
        i = 0
        while len(y) - i >= int(1.2 * SR):
            L = int(rng.uniform(1.5, 4.0) * SR)
            if len(y) - (i + L) < int(1.2 * SR): L = len(y) - i
            out.append(y[i:i + L]); i += L
    return out

def ami_long(seed, pool):
    rng = np.random.default_rng(88_000 + seed)
    combos = [("MEE009", "FEE078"), ("MEE009", "FEE083"), ("FEE078", "FEE083"), ("MEE009", "MEE012"),
              ("MEE009", "MEE075"), ("MEE009", "FEE078", "FEE083")]
    for spk in combos:
        n = len(spk)
        stock = {k: pieces_of(pool, s, rng) * 2 for k, s in enumerate(spk)}
        for k in stock: rng.shuffle(stock[k])
        ps, last = [], None
        while True:
            left = [k for k in stock if stock[k] and k != last]
            if not left: break
            k = int(rng.choice(left)); y = stock[k].pop().astype(np.float64)
            ps.append((k, y / max(np.sqrt(np.mean(y ** 2)), 1e-9) * 0.05 * 10 ** (rng.uniform(-3, 3) / 20))); last = k
        tracks, segs = place(ps, n, rng)
        shared = bool(rng.uniform() < 0.3)
        yield (f"amilong {n} s{seed} {'/'.join(spk)} {'shared' if shared else 'mono'}", finish(room(tracks, rng, shared=shared)),
               {"voices": n, "kind": f"amilong {n}", "segments": segs})

if __name__ == '__main__':
    what, out = sys.argv[1], sys.argv[2]
    seeds = [int(s) for s in sys.argv[3].split(',')] if what != 'mv' else []
    if what == 'espeak':
        for s in seeds:
            run('new', cached(espeak_long(s), f'/tmp/mvx/cache/espeak_s{s}'), out)
    elif what == 'ami':
        pool = ami_pool(corpus_dir())
        print({k: round(sum(len(y) for y in v)/SR, 1) for k, v in pool.items()}, file=sys.stderr)
        for s in seeds:
            run('amilong', cached(ami_long(s, pool), f'/tmp/mvx/cache/ami_s{s}'), out)
    elif what == 'mv':
        for split in sys.argv[3].split(','):
            run('mv:' + split, cached(iter(()), f'/tmp/mv_cache/{split}'), out)
