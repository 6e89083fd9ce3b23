exec(open('/tmp/mvx/sweep.py').read().split("if __name__ == '__main__':")[0])
import sys
p = dict(T=3, S=float(sys.argv[1]), D=float(sys.argv[2]), G=float(sys.argv[3]))
from collections import defaultdict
def gated(v):  # passes all but gain
    return 'gain' in v and min(v['cnt']) >= p['T'] and min(v['sec']) >= p['S'] and v['dist'] >= p['D']
fp = defaultdict(lambda: [0, 0, -9])
for r in NEG:
    m = r['material'].split(' ')[0]
    if m in ('new', 'mv:long', 'mv:test', 'mv:tune', 'mv:amitest', 'mv:amitune'):
        m = m + ' ' + r['name'].split(' s')[0]
    fp[m][0] += warns(r, p); fp[m][1] += 1
    g = [v['gain'] for v in r['voices'] if gated(v)]
    if g: fp[m][2] = max(fp[m][2], max(g))
print('false warnings (k/N, max gain of a voice passing the other gates):')
for m, (k, n, g) in sorted(fp.items()): print(f'  {m:40} {k}/{n}  maxgain {g:.2f}')
print('old settings FP:', sum(warns(r, dict(T=3,S=4,D=0.12,G=0.4)) for r in NEG), '/', len(NEG))
print('detection, long (>=150 s) positives:')
for half in ('tune', 'held'):
    for grp in ('mv', 'new', 'amilong'):
        rs = [r for r in POS if r['half'] == half and r['material'].startswith(grp)]
        for nv in (3, 4):
            s = [r for r in rs if r['nv'] == nv]
            if s: print(f'  {half} {grp:8} {nv} voices: {sum(warns(r,p) for r in s)}/{len(s)}  old {sum(warns(r,dict(T=3,S=4,D=0.12,G=0.4)) for r in s)}/{len(s)}')
    for b, lo, hi in (('<20%', 0, .2), ('20-30%', .2, .3), ('>=30%', .3, 1)):
        s = [r for r in POS if r['half'] == half and r['nv'] >= 3 and lo <= r['share'] < hi]
        if s: print(f'  {half} least share {b}: {sum(warns(r,p) for r in s)}/{len(s)}')
rs = [r for r in recs if r['nv'] >= 3 and r['dur'] < 150]
print('positives < 150 s:', sum(warns(r,p) for r in rs), '/', len(rs), [ (r['name'][:30], round(r['dur'])) for r in rs if warns(r,p)])
am = [r for r in recs if r['material']=='amilong' and r['nv']==3]
print('amilong 3 (real AMI trios, ~2.2-2.5 min):', sum(warns(r,p) for r in am), '/', len(am), [round(r['dur']) for r in am])
print('misses long:', [(r['name'][:45], round(r['share'],2), [(v.get('cnt'), [round(x) for x in v.get('sec',[])], round(v.get('dist',0),2), round(v.get('gain',0),2)) for v in r['voices']]) for r in POS if not warns(r,p)])
