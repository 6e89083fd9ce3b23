"""Speaker attribution on a whole therapy session against planted truth, and on the same material in pieces.

The diarization benchmarks (benchmarks/diarization.py) score 30-90 s dialogues; benchmarks/long_session.py
measures an hour's memory and CPU only. This one builds sessions of ``--minutes`` (10, 30, 60) with one
planted truth (tests/dialogue.py ``scenario_session``: the client's 2-5 min monologues with the therapist's
backchannels, quick exchanges, the therapist's longer turns, silences of 5-30 s), each utterance at its
speaker's pitch +-4 and speed +-10 wpm (espeak -p / -s), one voice's pitch drifting by up to +-8 over the
session and one person's level drifting -6..+6 dB over minutes (knots every 2-5 min), mixed as
``mix_room`` does (mono or shared; rooms RT60 0.2-0.5 s or dry, level differences 0-6 dB, 0-1 ms delays)
with pink room noise at an SNR of 35, 25 or 15 dB re the speech level, rounded to 16-bit samples; and
one-voice sessions (the client's monologues alone: must be reported as one voice).

Each recording is attributed whole (``diarization.run_case``: attribution -> speaker channels -> the
pipeline, scored by ``diarization.score_session``: wrong-person speech with 0.25 s collars, change
counts, talk share, floor-transfer offsets, backchannels) and cut into pieces of about ``--piece-s``
(at the silence nearest each mark, truth clipped to the piece), each attributed and scored alone: where
the whole does worse than its pieces, length itself hurts.

Voice pairs (therapist, client): both pools the generators use: pairs of benchmarks/diarization.py's
splits (a man and a woman; two men of different pitch; two pairs alike in pitch from fresh14) and
pairs drawn from tests/dialogue.py ``VOICE_POOL`` with their own pitch and speed (``pool``).

    python benchmarks/long_accuracy.py [--minutes 10,30,60] [--seeds 0,1] [--pairs 0,1,2,3,pool]
        [--layouts mono,shared] [--one-voice N] [--piece-s 60] [--cache DIR] [--dump FILE] [--detail]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from _common import frame_mask
from diarization import CHANGES_MIN_N, as_16_bit, run_case, voice_spec

from prosody.engine.speakers import attribute
from tests.dialogue import CLIENT, SPEAKERS, THERAPIST, VOICE_POOL, ScenarioError, session_recording

SR = 16000
PAIRS = [  # (therapist, client), spelled as benchmarks/diarization.py's VOICE_PAIRS
    ("en-us+m7", "en+f2"),  # held: a man and a woman
    ("en-gb-x-gbclan+Mr", "en-us+Tweaky"),  # fresh14: alike in pitch
    ("en-us+m1 p40", "en+m4 p62"),  # held: two men, pitch bases apart
    ("en-029+Storm s165", "en-us+grandpa p45 s185"),  # fresh14: alike in pitch
]


def pool_pair(seed: int) -> tuple[str, str]:
    """Two voices of ``VOICE_POOL`` with a pitch base 25..75 and speed 150..190 wpm each (as
    ``scenario_overlap_events`` draws them), as voice specs."""
    rng = np.random.default_rng([seed, 31])
    a, b = rng.choice(len(VOICE_POOL), size=2, replace=False)
    return tuple(f"{VOICE_POOL[int(k)]} p{int(rng.integers(25, 76))} s{int(rng.integers(150, 191))}" for k in (a, b))


def build_session(pair: tuple[str, str], seed: int, minutes: float, layout: str, *, one_voice: bool = False):
    """(audio float32 (n, channels) on the 16-bit grid, truth dict, conditions dict): ``session_recording``."""
    x, d, cond = session_recording({THERAPIST: voice_spec(pair[0]), CLIENT: voice_spec(pair[1])}, seed=seed,
                                   duration_s=minutes * 60.0, layout=layout, one_voice=one_voice)
    return as_16_bit(x), d.truth.to_json_dict(), cond


def cut_points(truth: dict, n_frames: int, piece_s: float) -> list[int]:
    """Frame indices where the recording is cut: at the middle of the silence (no planted speech, >= 0.6 s)
    nearest each multiple of ``piece_s``; [0, ..., n_frames]."""
    speech = np.zeros(n_frames, bool)
    for s in SPEAKERS:
        speech |= frame_mask(truth["segments"][s], n_frames)
    quiet = np.flatnonzero(~speech)
    runs = np.split(quiet, np.flatnonzero(np.diff(quiet) > 1) + 1) if len(quiet) else []
    mids = np.array([int(r[len(r) // 2]) for r in runs if len(r) >= 60])
    cuts = [0]
    step = int(round(piece_s * 100))
    for mark in range(step, n_frames - step // 2, step):
        if len(mids) == 0:
            break
        c = int(mids[np.argmin(np.abs(mids - mark))])
        if c - cuts[-1] >= step // 2 and n_frames - c >= step // 2:
            cuts.append(c)
    return cuts + [n_frames]


def clip_truth(truth: dict, a_s: float, b_s: float) -> dict:
    """The truth of ``[a_s, b_s)`` on the piece's own timeline: segments clipped, the transitions and events
    lying wholly inside."""
    segs = {s: [(max(x, a_s) - a_s, min(y, b_s) - a_s) for x, y in truth["segments"][s] if y > a_s and x < b_s]
            for s in SPEAKERS}
    trans = [dict(t, from_end_s=t["from_end_s"] - a_s, to_start_s=t["to_start_s"] - a_s)
             for t in truth["transitions"]
             if min(t["from_end_s"], t["to_start_s"]) >= a_s and max(t["from_end_s"], t["to_start_s"]) < b_s]
    events = [dict(e, start_s=e["start_s"] - a_s, end_s=e["end_s"] - a_s)
              for e in truth["events"] if e["start_s"] >= a_s and e["end_s"] < b_s]
    return {"segments": segs, "transitions": trans, "events": events}


def pooled(rows: list[dict]) -> dict:
    """One figure per target over ``rows`` (scored recordings or pieces)."""
    single = sum(r["single_frames"] for r in rows)
    ct, cf = sum(r["changes_true"] for r in rows), sum(r["changes_found"] for r in rows)
    chg = [abs(r["changes_found"] - r["changes_true"]) / max(1, r["changes_true"]) for r in rows]
    many = [c for c, r in zip(chg, rows) if r["changes_true"] >= CHANGES_MIN_N]
    fto = [e for r in rows for e in r["fto_err"]]
    bt, bf = sum(r["bc_true"] for r in rows), sum(r["bc_found"] for r in rows)
    bp, bok = sum(r["bc_pred"] for r in rows), sum(r["bc_pred_ok"] for r in rows)
    share = [r["share_err"] for r in rows]
    return {"n": len(rows), "wrong": sum(r["wrong"] for r in rows) / max(1, single),
            "missed": sum(r["missed"] for r in rows) / max(1, single), "changes": (ct, cf),
            "chg_net": abs(cf - ct) / max(1, ct), "chg_worst": max(many) if many else float("nan"),
            "share_med": float(np.median(share)), "share_max": max(share),
            "fto_ms": 1000 * float(np.median(fto)) if fto else float("nan"),
            "bc_p": bok / bp if bp else float("nan"), "bc_r": bf / bt if bt else float("nan"),
            "two": sum(r["voices"] == 2 for r in rows)}


def fmt(p: dict) -> str:
    return (f"{100 * p['wrong']:6.2f} {100 * p['missed']:5.2f} {p['changes'][0]:4d}/{p['changes'][1]:<4d}"
            f"{100 * p['chg_net']:5.1f} {p['share_med']:.3f}/{p['share_max']:.3f} {p['fto_ms']:5.0f} "
            f"{p['bc_p']:.2f}/{p['bc_r']:.2f} {p['two']:3d}/{p['n']:<3d}")


HEAD = (f"{'wrong%':>6} {'miss%':>5} {'chg t/f':>9}{'err%':>5} {'share med/max':>13} {'fto':>5} "
        f"{'bc P/R':>9} {'2 voices':>7}")


def cached(cache: Path | None, name: str, make):
    if cache is None:
        return make()
    cache.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha1(name.encode()).hexdigest()[:16]
    if (cache / f"{h}.json").exists():
        meta = json.loads((cache / f"{h}.json").read_text())
        return np.load(cache / f"{h}.npy").astype(np.float32) / 32768.0, meta["truth"], meta["cond"]
    x, truth, cond = make()
    np.save(cache / f"{h}.npy", np.rint(x * 32768.0).astype(np.int16))
    (cache / f"{h}.json").write_text(json.dumps({"name": name, "truth": truth, "cond": cond}))
    return x, truth, cond


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", default="10", help="session lengths, comma-separated (10,30,60)")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--pairs", default="0,1,2,3,pool", help="indices of PAIRS and/or 'pool' (drawn per seed)")
    ap.add_argument("--layouts", default="mono,shared")
    ap.add_argument("--one-voice", type=int, default=2, help="one-voice sessions per length and layout")
    ap.add_argument("--piece-s", type=float, default=60.0, help="piece length (0: whole sessions only)")
    ap.add_argument("--cache", type=Path, help="folder (outside the repo) keeping the built sessions")
    ap.add_argument("--dump", type=Path, help="write every row (whole and pieces) as JSON here")
    ap.add_argument("--detail", action="store_true", help="print every piece's row")
    args = ap.parse_args()
    dump = []
    groups: dict[tuple, dict[str, list]] = {}
    print(f"{'recording':56} {'v':>1} {HEAD}  | pieces: {HEAD}")
    for minutes in (float(m) for m in args.minutes.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            pairs = [("pool", pool_pair(seed)) if p == "pool" else (p, PAIRS[int(p)]) for p in args.pairs.split(",")]
            for layout in args.layouts.split(","):
                todo = [(f"{pl}:{pair[0]}/{pair[1]}", pair, False) for pl, pair in pairs]
                todo += [(f"one:{v}", (v, v), True) for v in [p for _, pr in pairs for p in pr][:args.one_voice]]
                for label, pair, one in todo:
                    name = f"{label} s{seed} {minutes:g}min {layout}"
                    try:
                        x, truth, cond = cached(args.cache, name,
                                                lambda: build_session(pair, seed, minutes, layout, one_voice=one))
                    except ScenarioError as exc:
                        print(f"  skip {name}: {exc}", file=sys.stderr)
                        continue
                    audio = x[:, 0] if layout == "mono" else x
                    n_frames = len(x) // (SR // 100)
                    cuts = cut_points(truth, n_frames, args.piece_s) if args.piece_s else [0, n_frames]
                    cname = f"{name} snr{cond['snr_db']:g}"
                    key = (minutes, layout, "one" if one else "two")
                    g = groups.setdefault(key, {"whole": [], "pieces": []})
                    t0 = time.process_time()
                    if one:
                        att = attribute(audio)
                        v = att.diarization.n_voices if att.diarization else 2
                        pv = []
                        for a, b in zip(cuts, cuts[1:]) if args.piece_s else []:
                            pa = attribute(audio[a * 160:b * 160])
                            pv.append(pa.diarization.n_voices if pa.diarization else 2)
                        g["whole"].append(v)
                        g["pieces"] += pv
                        print(f"{cname:56} {v}  one voice: whole {'ok' if v == 1 else 'SPLIT'}; pieces "
                              f"reported as one voice {sum(q == 1 for q in pv)}/{len(pv)}  "
                              f"({time.process_time() - t0:.0f} s CPU)", flush=True)
                        dump.append({"name": cname, "cond": cond, "voices": v, "pieces": pv})
                        continue
                    r, _ = run_case(audio, truth)
                    pr = []
                    for a, b in zip(cuts, cuts[1:]) if args.piece_s else []:
                        q, _ = run_case(audio[a * 160:b * 160], clip_truth(truth, a / 100, b / 100))
                        q["piece_s"] = (a / 100, b / 100)
                        pr.append(q)
                        if args.detail:
                            print(f"    piece {a / 100:7.1f}-{b / 100:7.1f} s {q['voices']} {fmt(pooled([q]))}")
                    g["whole"].append(r)
                    g["pieces"] += pr
                    pp = f"{fmt(pooled(pr))}" if pr else ""
                    print(f"{cname:56} {r['voices']} {fmt(pooled([r]))}  | {pp}  "
                          f"({time.process_time() - t0:.0f} s CPU)", flush=True)
                    dump.append({"name": cname, "cond": cond, "whole": r, "pieces": pr})
    print("\n== summary: whole sessions vs the same material in pieces (targets: wrong <= 3 %, change count "
          "within 15 %, share within 0.03, FTO < 80 ms, backchannels P/R >= 0.8) ==")
    print(f"{'condition':24} {'':6} {HEAD}")
    for (minutes, layout, kind), g in groups.items():
        label = f"{minutes:g} min {layout}"
        if kind == "one":
            w, p = g["whole"], g["pieces"]
            print(f"{label + ' one voice':24} one voice reported: whole {sum(v == 1 for v in w)}/{len(w)}, "
                  f"pieces {sum(v == 1 for v in p)}/{len(p)}")
            continue
        print(f"{label:24} {'whole':6} {fmt(pooled(g['whole']))}")
        if g["pieces"]:
            print(f"{'':24} {'pieces':6} {fmt(pooled(g['pieces']))}")
    if args.dump:
        args.dump.write_text(json.dumps(dump, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
