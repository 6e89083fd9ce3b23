"""Why a recording's speaker-change count is off (issue 9: "speaker-change counts within 15 %").

Reads a ``benchmarks/diarization.py --dump FILE`` (each recording's planted and found changes of
speaker, ``trans_true`` / ``trans_found``) and the planted truth from that run's ``--cache DIR``,
and for every recording whose count is more than 15 % off says why (fifty-fourth round,
docs/speakers.md):

* one voice found: every change lost;
* lost: a planted change with no found change of the same direction within 0.3 s (the benchmark's
  match): into a short turn (under 1.2 s: a quick turn or short answer; ``near-limit`` when a false
  backchannel of that speaker lies on it: the turn found under the tracker's 0.8 s limit), at an
  overlap, found further off than 0.3 s (mistimed), or other;
* extra: a found change matched to none: at a planted backchannel or failed interruption, within 1 s
  of a planted change (mistimed or doubled), a spurious flip inside the other voice's turn, or other.

A lost change and an extra one that are the same change mistimed leave the count right; the count
error is the net of the two.

    python benchmarks/diarization_changes.py --dump FILE --cache DIR --split NAME [--brief]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

SHORT_TURN_S = 1.2
MATCH_S = 0.3  # as tests.conftest.match_transitions


def match(pred: list, truth: list, tol_s: float = MATCH_S):
    """(missed planted, extra found): the benchmark's match (same direction, start within ``tol_s``)."""
    used, missed = set(), []
    for t in truth:
        c = [(abs(p[2] - t[2]), i) for i, p in enumerate(pred) if p[0] == t[0] and abs(p[2] - t[2]) < tol_s]
        if c:
            used.add(min(c)[1])
        else:
            missed.append(t)
    return missed, [p for i, p in enumerate(pred) if i not in used]


def _cover(segs, a: float, b: float) -> float:
    return sum(max(0.0, min(y, b) - max(x, a)) for x, y in segs)


def causes(r: dict, truth: dict) -> list[str]:
    """Each lost and extra change of one recording, with its cause."""
    if r["voices"] == 1:
        return ["one voice found: every change lost"]
    segs, ev = truth["segments"], truth.get("events", [])
    tt, tf = [tuple(x) for x in r["trans_true"]], sorted((tuple(x) for x in r["trans_found"]), key=lambda p: p[2])
    missed, extra = match(tf, tt)
    out = []
    for p in extra:
        k = tf.index(p)
        dur = tf[k + 1][1] - p[2] if k + 1 < len(tf) else float("nan")
        own = _cover(segs[p[0]], p[2], p[2] + max(dur, 0.05)) / max(dur, 0.05) if dur == dur else 0.0
        near_ev = [e["kind"] for e in ev if e["speaker"] == p[0] and abs(e["start_s"] - p[2]) < 0.5]
        near_t = min((abs(t[2] - p[2]) for t in tt), default=99.0)
        w = (f"extra: at a planted {near_ev[0]}" if near_ev else "extra: mistimed or doubled" if near_t < 1.0
             else "extra: spurious flip inside a turn" if own < 0.3 else "extra: other")
        out.append(f"{w} (to {p[0]} at {p[2]:.2f} s, found turn {dur:.2f} s)")
    bc = [(s, a, b) for s, a, b in r.get("bc_false", [])]
    for t in missed:
        k = tt.index(t)
        dur = tt[k + 1][1] - t[2] if k + 1 < len(tt) else float("nan")
        prev_short = k > 0 and tt[k - 1] in missed and t[1] - tt[k - 1][2] < SHORT_TURN_S
        near_p = min((abs(p[2] - t[2]) for p in tf if p[0] == t[0]), default=99.0)
        near_bc = any(s == t[0] and a < t[2] + dur and b > t[2] for s, a, b in bc) if dur == dur else False
        if near_p < 1.0:
            w = "lost: mistimed (found > 0.3 s off)"
        elif dur == dur and dur < SHORT_TURN_S:
            w = "lost: into a short turn found as a backchannel (near-limit)" if near_bc else "lost: into a short turn"
        elif prev_short:
            w = "lost: out of that short turn"
        elif t[3] == "overlap":
            w = "lost: at an overlap"
        else:
            w = "lost: other"
        out.append(f"{w} (to {t[0]} at {t[2]:.2f} s, offset {t[2] - t[1]:+.2f} s, planted turn {dur:.2f} s)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True, help="a benchmarks/diarization.py --dump FILE")
    ap.add_argument("--cache", required=True, help="that run's --cache DIR")
    ap.add_argument("--split", required=True)
    ap.add_argument("--brief", action="store_true", help="the tally only")
    args = ap.parse_args()
    try:
        rows = json.loads(Path(args.dump).read_text())
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.dump}: {exc}", file=sys.stderr)
        return 2
    if rows and "trans_true" not in rows[0]:
        print(f"{args.dump} has no trans_true / trans_found: dump it again with this benchmarks/diarization.py",
              file=sys.stderr)
        return 2
    tally, n_in = Counter(), 0
    for r in rows:
        if abs(r["changes_found"] - r["changes_true"]) <= 0.15 * max(1, r["changes_true"]):
            n_in += 1
            continue
        h = hashlib.sha1(r["name"].encode()).hexdigest()[:16]
        f = Path(args.cache) / args.split / f"{h}.json"
        if not f.exists():
            print(f"no planted truth for {r['name']!r} in {f.parent}", file=sys.stderr)
            return 2
        why = causes(r, json.loads(f.read_text()))
        tally.update(w.split(" (")[0] for w in why)
        if not args.brief:
            print(f"{r['name']}: {r['changes_true']} planted / {r['changes_found']} found")
            for w in why:
                print(f"    {w}")
    print(f"== {args.split}: {n_in}/{len(rows)} recordings' change counts within 15 %")
    for k, v in tally.most_common():
        print(f"  {v:3d}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
