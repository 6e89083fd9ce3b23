import json, glob, re, itertools, sys, zlib
import numpy as np
recs = []
for f in glob.glob('/tmp/mvx/*.jsonl'):
    if 'smoke' in f: continue
    for l in open(f):
        recs.append(json.loads(l))
def nvoices(r):
    t = r['truth']
    if not t or 'segments' not in t:
        return 1 if 'f6one' in r['material'] else 2
    segs = t['segments']; segs = segs.values() if isinstance(segs, dict) else segs
    talk = [sum(b - a for a, b in s) for s in segs]
    talk = [x for x in talk if x >= 3.0]
    r['share'] = min(talk) / sum(talk) if talk else 0
    return len(talk)
def seed(r):
    m = re.search(r' s(\d+)', r['name']); return int(m.group(1)) if m else None
for r in recs:
    r['nv'] = nvoices(r)
    r['seed'] = seed(r)
    # tune/held split: positives and new material by seed parity-half; others by name hash
    s = r['seed']
    if r['material'] == 'new': r['half'] = 'tune' if s <= 303 else 'held'
    elif r['material'] == 'amilong': r['half'] = 'tune' if s % 2 == 0 else 'held'
    elif r['material'] == 'mv:long': r['half'] = 'tune' if s <= 201 else 'held'
    else: r['half'] = 'tune' if zlib.crc32(r['name'].encode()) % 2 == 0 else 'held'
NEG = [r for r in recs if r['nv'] <= 2]
POS = [r for r in recs if r['nv'] >= 3 and r['dur'] >= 150]
POSS = [r for r in recs if r['nv'] >= 3 and r['dur'] < 150]

def mixed(v, p):
    if 'gain' not in v: return False
    T, S, D, G = p['T'], p['S'], p['D'], p['G']
    if min(v['cnt']) < T or min(v['sec']) < S or v['dist'] < D or v['gain'] < G: return False
    if p.get('R') is not None and v['runs'] / v['runs_exp'] < p['R']: return False
    if p.get('I') is not None and v['inside'] < p['I']: return False
    if p.get('M') is not None and v['gain'] - max(v['gain_alt'], v['gain_half']) < p['M']: return False
    if p.get('GT') is not None and v['gain_turn'] < p['GT']: return False
    if p.get('V') is not None and v['voice_s'] < p['V']: return False
    return True
def warns(r, p):
    if p.get('DUR') is not None and r['dur'] < p['DUR']: return False
    return any(mixed(v, p) for v in r['voices'])
def score(p, half=None):
    neg = [r for r in NEG if half is None or r['half'] == half]
    pos = [r for r in POS if half is None or r['half'] == half]
    fp = sum(warns(r, p) for r in neg); tp = sum(warns(r, p) for r in pos)
    return fp, len(neg), tp, len(pos)

def grid():
    extras = [{}] + [{'R': x} for x in (0.8, 1.0, 1.2)] + [{'I': x} for x in (0.5, 0.75)] + \
             [{'M': x} for x in (0.2, 0.4, 0.6, 0.8)] + [{'GT': x} for x in (0.3, 0.5, 0.8)] + [{'DUR': x} for x in (90, 120, 150)]
    for T, S, D, G in itertools.product((3, 4, 5, 6), (4, 6, 8, 12), (0.10, 0.12, 0.15, 0.18), (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5)):
        for e in extras:
            p = dict(T=T, S=S, D=D, G=G); p.update(e); yield p

if __name__ == '__main__':
    half = sys.argv[1] if len(sys.argv) > 1 else 'tune'
    res = []
    for p in grid():
        fp, nn, tp, npos = score(p, half)
        if fp == 0:
            res.append((tp, p))
    res.sort(key=lambda t: -t[0])
    print('neg', sum(r['half']==half for r in NEG), 'pos', sum(r['half']==half for r in POS))
    by_extra = {}
    for tp, p in res:
        k = tuple(sorted(set(p) - {'T','S','D','G'}))
        if k not in by_extra: by_extra[k] = []
        if len(by_extra[k]) < 4: by_extra[k].append((tp, p))
    for k, v in by_extra.items():
        for tp, p in v:
            fpa, nna, tpa, npa = score(p, None)
            fph, nnh, tph, nph = score(p, 'held')
            print(k, tp, p, '| held fp', fph, '/', nnh, 'tp', tph, '/', nph, '| all fp', fpa, '/', nna)
