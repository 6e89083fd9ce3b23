"""False and missed backchannels on mono / shared recordings, each by class (issue 9; docs/speakers.md,
sixty-first round).

Runs the two-voice recordings of ``benchmarks/diarization.py --split S`` (its cache, ``run_case``: names
swapped where the no-profile rule failed) or the held-out dialogues of ``benchmarks/overlap_events.py
--layout mono|shared`` (``analyze_one_signal``) and says, for each backchannel found where none was planted,
what was planted there (``false_class``), and for each planted one missed, how the output holds it
(``diarization.miss_cause`` and the share of its frames the diarizer gave the listener).

False classes (the fifty-seventh round's, from the truth and the diarizer's owner path):

* "bid read as a backchannel": a planted failed interruption of that speaker overlaps it;
* "shifted": a planted backchannel of that speaker within 1 s, its start >= 0.3 s off;
* "near-limit turn" / "cut utterance": a planted turn of that speaker (under / over 1.0 s);
* "other's backchannel": the other voice's planted backchannel there, given to the listener;
* "holder's first syllables" / "holder's last syllables": only the other voice (the holder) was planted,
  the run within 0.35 s of its utterance's onset / end;
* "inside the holder's utterance": only the holder was planted, further inside;
* "nobody": no one was planted there (noise, a room's tail).

Each line also gives the found run's length, the share of it the diarizer gave both voices, its level re
the holder's own frames within 1 s (dB, of the channels' mean) and the time since the speech mask's onset
before it and to its next pause.

    python benchmarks/backchannel_false.py --split fresh10 [--cache DIR] [--condition call|service|phone]
    python benchmarks/backchannel_false.py --overlap-events mono|shared [--seeds 100-123]
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

import diarization as bench
import overlap_events as oe
from tests.dialogue import CLIENT, THERAPIST

EDGE_S = 0.35  # within this of the holder's planted onset / end: its first / last syllables
NEAR_S = 1.0


def _other(who: str) -> str:
    return CLIENT if who == THERAPIST else THERAPIST


def _over(segs, a: float, b: float) -> list:
    return [(float(x), float(y)) for x, y in segs if y > a and x < b]


def false_class(e: dict, truth: dict) -> str:
    """What was planted where the backchannel ``e`` (speaker, start_s, end_s) was found (module doc)."""
    who, a, b = e["speaker"], e["start_s"], e["end_s"]
    ev = [x for x in truth["events"] if x["speaker"] == who]
    if any(x["kind"] == "failed_interruption" and x["end_s"] > a and x["start_s"] < b for x in ev):
        return "bid read as a backchannel"
    if any(x["kind"] == "backchannel" and abs(x["start_s"] - a) < NEAR_S for x in ev):
        return "shifted"
    own = _over(truth["segments"][who], a, b)
    if own:
        x, y = max(own, key=lambda s: min(s[1], b) - max(s[0], a))
        return "near-limit turn" if y - x < 1.0 else "cut utterance"
    other = _other(who)
    if any(x["kind"] == "backchannel" and x["speaker"] == other and x["end_s"] > a and x["start_s"] < b
           for x in truth["events"]):
        return "other's backchannel"
    held = _over(truth["segments"][other], a, b)
    if not held:
        return "nobody"
    x, y = max(held, key=lambda s: min(s[1], b) - max(s[0], a))
    if a - x < EDGE_S:
        return "holder's first syllables"
    if y - b < EDGE_S:
        return "holder's last syllables"
    return "inside the holder's utterance"


def frame_levels_db(x: np.ndarray) -> np.ndarray:
    """(n_frames,) dB of the channels' mean per 10 ms frame (160 samples at 16 kHz)."""
    m = np.asarray(x, np.float64)
    m = m.mean(axis=1) if m.ndim == 2 else m
    n = len(m) // 160
    return 10 * np.log10(np.mean(m[:n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)


def run_figures(e: dict, att, lv: np.ndarray) -> dict:
    """The found run's make-up: length, share of "both", level re the holder's own frames within 1 s,
    time since the speech onset before it and to the next pause."""
    d = att.diarization
    a, b = int(round(e["start_s"] * 100)), int(round(e["end_s"] * 100))
    own = np.asarray(d.owner)
    speech = np.asarray(d.speech)
    n = min(len(own), len(lv))
    a, b = min(a, n - 1), max(min(b, n), min(a, n - 1) + 1)
    h = 1 - att.naming.names.index(e["speaker"])
    ctx = np.r_[max(0, a - 100):a, b:min(n, b + 100)]
    ctx = ctx[(own[ctx] == h) & speech[ctx]]
    rel = float(np.median(lv[a:b]) - np.median(lv[ctx])) if len(ctx) >= 10 else float("nan")
    on = a
    while on > 0 and speech[on - 1]:
        on -= 1
    off = b
    while off < n and speech[off]:
        off += 1
    return {"len_s": (b - a) / 100, "both": float(np.mean(own[a:b] == 2)), "rel_db": rel,
            "since_onset_s": (a - on) / 100, "to_pause_s": (off - b) / 100}


def trace_one(name: str, x: np.ndarray, truth: dict, att, false: list, missed: list, out: dict) -> None:
    """Print and count one recording's false backchannels (dicts: speaker, start_s, end_s) and missed
    ones ((dict, cause) pairs)."""
    if att.diarization is None or att.diarization.n_voices != 2 or att.naming is None:
        out["missed"]["one voice found"] += len(missed)
        return
    lv = frame_levels_db(x)
    for e in false:
        c = false_class(e, truth)
        f = run_figures(e, att, lv)
        out["false"][c] += 1
        print(f"  FALSE {name} {e['speaker']:9} {e['start_s']:7.2f}-{e['end_s']:<7.2f} {c:30} len {f['len_s']:.2f} "
              f"both {f['both']:.2f} re holder {f['rel_db']:+.1f} dB onset+{f['since_onset_s']:.2f} "
              f"pause-{f['to_pause_s']:.2f}", flush=True)
    for e, c in missed:
        out["missed"][c] += 1
        print(f"  MISSED {name} {e['speaker']:9} {e['start_s']:7.2f}-{e['end_s']:<7.2f} {c:30} "
              f"heard {oe.heard_share(att, e['speaker'], e['start_s'], e['end_s']):.2f}", flush=True)


def _as_events(rows) -> list:
    return [{"kind": "backchannel", "speaker": s, "start_s": a, "end_s": b} for s, a, b in rows]


def split_cases(split: str, cache: str | None, condition: str | None = None):
    """(name, audio, truth, attribution, false, missed) of each two-voice recording of ``split``; with
    ``condition``, as ``diarization_calls.py`` codes them (``condition_cases``)."""
    from diarization_wrong import split_cases as two_voice
    for name, x, truth in two_voice(split, cache, condition):
        r, att = bench.run_case(x, truth)
        yield name, x, truth, att, _as_events(r["bc_false"]), list(zip(_as_events(r["bc_missed"]),
                                                                       r["bc_why"]["missed"]))


def overlap_cases(layout: str, seeds):
    """The same of each held-out dialogue of overlap_events.py as one ``layout`` recording."""
    for seed in seeds:
        d, _ = oe.dialogue(seed)
        x = oe.one_signal(seed, d, layout)
        s, att = oe.analyze_one_signal(x, d.truth)
        truth, doc = d.truth.to_json_dict(), s.to_json_dict()
        pb = [e for e in doc["events"] or [] if e["kind"] == "backchannel"]
        tb = [e for e in truth["events"] if e["kind"] == "backchannel"]
        yield (f"oe {layout} s{seed}", x, truth, att, bench.match_events(tb, pb, tol_s=oe.TOL_S),
               [(e, bench.miss_cause(e, doc)) for e in bench.match_events(pb, tb, tol_s=oe.TOL_S)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", help="a split of benchmarks/diarization.py")
    ap.add_argument("--cache", help="diarization.py's --cache folder")
    ap.add_argument("--overlap-events", choices=("mono", "shared"), help="overlap_events.py's dialogues, this layout")
    ap.add_argument("--seeds", default="100-123", help="with --overlap-events: FIRST-LAST")
    ap.add_argument("--condition", choices=("call", "service", "phone"),
                    help="with --split: its dialogues as diarization_calls.py codes them, this condition")
    args = ap.parse_args()
    if (args.split is None) == (args.overlap_events is None):
        print("give one of --split S or --overlap-events mono|shared", file=sys.stderr)
        return 2
    if args.condition is not None and args.split is None:
        print("--condition: give it with --split S", file=sys.stderr)
        return 2
    if args.split:
        if args.split not in bench.VOICE_PAIRS:
            print(f"--split {args.split!r}: not a split of benchmarks/diarization.py", file=sys.stderr)
            return 2
        cases = split_cases(args.split, args.cache, args.condition)
    else:
        try:
            a, b = (int(v) for v in args.seeds.split("-"))
        except ValueError:
            print(f"--seeds {args.seeds!r}: give FIRST-LAST, e.g. 100-123", file=sys.stderr)
            return 2
        cases = overlap_cases(args.overlap_events, range(a, b + 1))
    out = {"false": Counter(), "missed": Counter()}
    for case in cases:
        trace_one(*case, out)
    print(f"false {sum(out['false'].values())} by class: "
          + ", ".join(f"{k} {v}" for k, v in out["false"].most_common()))
    print(f"missed {sum(out['missed'].values())} by class: "
          + ", ".join(f"{k} {v}" for k, v in out["missed"].most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
