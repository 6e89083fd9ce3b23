"""Turn timing in a reverberant room: where the floor-transfer-offset error comes from.

Material (seeded, made here): espeak-ng dialogues (``tests.dialogue.scenario_turns``, seeds 0-2)
and AMI turns placed as a dialogue (``benchmarks.diarization.ami_dialogue``, trn06 and tst00,
seeds 0-1), each in a synthetic room (``tests.dialogue._room_response``: direct path + a
Gaussian tail decaying 60 dB over RT60, 6 dB under the direct path) at RT60 dry / 0.2 / 0.4 /
0.7 / 1.0 s, in three layouts:

* ``separate``: one channel a speaker, each hearing its own voice in the room (a headset or
  lapel in a room hears its own voice's tail), no leak: no diarizer; the pipeline as
  ``prosody analyze`` runs two channels;
* ``mono`` / ``shared``: ``tests.dialogue.mix_room`` (one mic / two mics, both voices, each
  path its own room), attributed by the diarizer (``benchmarks.diarization.run_case``'s way).

Per planted speaker change (matched as ``tests.conftest.match_transitions`` does) it prints the
error split in two: the ending turn's end (``from_end_s`` found - planted) and the next turn's
start (``to_start_s`` found - planted); their difference is the FTO error. On ``separate`` it
also prints where each stage puts the ending turn's end on that speaker's channel: the level
gate alone (a frame 9 dB over the channel's 10th-percentile level), the raw VAD (webrtcvad AND
the gate, ``RawVad``), and the smoothed speech frames (``SpeechSmoother``: the session's
``is_speech``), and the 10th / 90th percentiles of the end's error. The truth is the dry turn's extent
(the direct sound). Findings and figures: docs/speakers.md, forty-eighth round.

    python benchmarks/room_timing.py [--quick] [--layouts separate,mono,shared] [--espeak-seeds 0,1,2] [--ami-seeds 0,1]
                                     [--trace] [--dump FILE]

``--trace`` (mono and shared): each planted change classed by where its error lies (``change_class``: missed,
matched elsewhere, within 40 ms, the ending turn's end late with its tail cut on the mix or not, the end early, the
next turn's start late or early), a table by class per material and layout over the RT60s run (sixty-second round).

Mono and shared recordings: the tail is cut on the mix before attribution (``speakers.room_tails``, forty-ninth
round; tails with no step too where their prediction residual is near Gaussian and under the voice's, fifty-second
round: ``speakers._MIX_TAIL_KURTOSIS = False`` gives the forty-ninth round's cut); ``Attribution.tail_trim_max_s = 0``
gives the channels as before either. Once a room is found, each tail within ``vad._MIX_TAIL_AGREE`` (x2.5) of its
median rate is cut (sixty-second round; 1.6 gives the cut before it).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from scipy import signal

from _common import REPO  # noqa: F401  (puts the repo on sys.path)

from prosody.config import VadConfig
from prosody.engine.vad import RawVad
from prosody.session import analyze_blocks
from prosody.timebase import GRID
from tests.conftest import match_transitions
from tests.dialogue import _room_response, build_dialogue, mix_room, scenario_turns

RT60S = (None, 0.2, 0.4, 0.7, 1.0)
NOISE_DB = -60.0


def espeak_material(seeds):
    for seed in seeds:
        d = build_dialogue(scenario_turns(12, seed=seed), noise_db=None, level_db=(-22.0, -22.0), seed=seed)
        yield f"espeak s{seed}", d.audio.astype(np.float32), d.truth.to_json_dict(), seed


def ami_material(seeds, uris=("trn06", "tst00")):
    from diarization import ami_dialogue, corpus_dir
    corpus = corpus_dir()
    if corpus is None:
        print("  (no corpus: AMI turns skipped)", file=sys.stderr)
        return
    for uri in uris:
        for seed in seeds:
            got = ami_dialogue(uri, corpus, seed)
            if got is not None:
                yield f"AMI {uri} s{seed}", got[0], got[1], seed


def separate_room(tracks: np.ndarray, rt60_s, seed: int) -> np.ndarray:
    """Each speaker's own channel, its voice through its own room response; white noise at NOISE_DB."""
    rng = np.random.default_rng(seed)
    n = len(tracks)
    out = np.zeros((n, 2))
    for s in (0, 1):
        y = tracks[:, s].astype(np.float64)
        if rt60_s is not None:
            y = signal.fftconvolve(y, _room_response(rng, rt60_s=rt60_s, sample_rate=16000, drr_db=6.0))[:n]
        out[:, s] = y
    out += rng.standard_normal(out.shape) * 10 ** (NOISE_DB / 20)
    return out.astype(np.float32)


class _Tracks:
    def __init__(self, audio):
        self.audio = audio
        self.sample_rate = 16000

        class _S:
            noise_db = None
        self.settings = _S()


def stage_frames(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gate, raw) per 10 ms frame of one channel: level 9 dB over the channel's 10th percentile
    (high-passed as the VAD hears it), and RawVad's decision."""
    n = len(x) // GRID.hop_length
    frames = x[: n * GRID.hop_length].reshape(n, GRID.hop_length).astype(np.float64)
    raw, level_db, _, _ = RawVad(VadConfig()).push_detail(frames)
    gate = level_db > np.percentile(level_db, 10) + VadConfig().gate_db
    return gate, raw


def end_of(mask: np.ndarray, end_s: float, limit_s: float) -> float:
    """The end of the run of ``mask`` frames that reaches into [end_s - 0.3, limit_s): the last
    frame of it before ``limit_s`` (frame ends, s); nan when none."""
    hop = GRID.hop_s
    a, b = int((end_s - 0.3) / hop), min(len(mask), int(limit_s / hop))
    idx = np.flatnonzero(mask[a:b])
    if not len(idx):
        return float("nan")
    # the run that contains the last speech frame before the planted end, then onwards without a gap > 0.1 s
    k = idx[0]
    for j in idx[1:]:
        if j - k > 10:
            break
        k = j
    return (a + k + 1) * hop


# ``change_class``: an error this small is no error; a start or an early end this far off is another change's, and a
# late end past CLASS_LATE_END_S (a tail at RT60 1.0 s heard over 30 dB of its fall is 0.5 s)
CLASS_OK_S = 0.04
CLASS_ELSEWHERE_S = 0.25
CLASS_LATE_END_S = 0.8
CLASSES = ("missed", "matched elsewhere", "within 40 ms", "end late, no room found", "end late, tail not cut",
           "end late, cut too little", "end early, cut", "end early, not cut", "start late", "start early")


def change_class(end_err_s: float | None, start_err_s: float | None, *, cut_s: float, room: bool) -> str:
    """Where one planted speaker change's FTO error lies (one of ``CLASSES``).

    ``end_err_s`` / ``start_err_s``: the matched found change's ending-turn end and next-turn start
    less the planted ones (None: no found change matched, "missed"); ``cut_s``: seconds of the mix
    that ``room_tails`` cut round the planted end (0.3 s before it to 0.6 s after); ``room``: it found
    a room in the session (cut anything at all). A start or an early end over ``CLASS_ELSEWHERE_S`` off,
    or an end over ``CLASS_LATE_END_S`` late: the found change is another one, or a run of the wrong
    voice lies between ("matched elsewhere"); an end late by less, the start on time, is a late end
    (a long room's tail). The FTO error (start - end) within ``CLASS_OK_S``:
    "within 40 ms". Else the larger component names it: a late end where the session shows no room, or
    with a room and no tail cut there (this tail not taken), or cut and still late, an early end
    (cut or not: the cut's start or the mask's edge), a late or early start::

        planted  AAAAAAAAAA|      |BBBBBBB
        found    AAAAAAAAAAAAA|   |BBBBBBB     end late (+), start on time: "end late, ..."
        found    AAAAAAAAAA|         |BBBB     start late (+): "start late"
    """
    if end_err_s is None or start_err_s is None:
        return "missed"
    if not -CLASS_ELSEWHERE_S <= end_err_s <= CLASS_LATE_END_S or abs(start_err_s) > CLASS_ELSEWHERE_S:
        return "matched elsewhere"
    if abs(start_err_s - end_err_s) <= CLASS_OK_S:
        return "within 40 ms"
    if abs(end_err_s) >= abs(start_err_s):
        if end_err_s > 0:
            if not room:
                return "end late, no room found"
            return "end late, cut too little" if cut_s > 0 else "end late, tail not cut"
        return "end early, cut" if cut_s > 0 else "end early, not cut"
    return "start late" if start_err_s > 0 else "start early"


def cut_near(tails: np.ndarray | None, end_s: float) -> float:
    """Seconds of ``tails`` (the mix's tail frames, or None) from 0.3 s before ``end_s`` to 0.6 s after."""
    if tails is None:
        return 0.0
    a, b = max(0, GRID.s_to_frames(end_s - 0.3)), GRID.s_to_frames(end_s + 0.6)
    return float(np.count_nonzero(tails[a:b])) * GRID.hop_s


def trace_rows(pairs, missed, tails) -> list[dict]:
    """One row per planted change (matched ``pairs`` and ``missed``, as ``match_transitions`` gives
    them): its class, the errors (s; nan where missed), the planted gap and the tail cut round its end."""
    rows = []
    for t, p in list(pairs) + [(t, None) for t in missed]:
        end = None if p is None else p["from_end_s"] - t["from_end_s"]
        start = None if p is None else p["to_start_s"] - t["to_start_s"]
        cut = cut_near(tails, t["from_end_s"])
        rows.append({"class": change_class(end, start, cut_s=cut, room=tails is not None),
                     "end": np.nan if end is None else end, "start": np.nan if start is None else start,
                     "fto": np.nan if p is None else p["offset_s"] - t["offset_s"], "gap": t["offset_s"],
                     "cut": cut, "at": t["from_end_s"]})
    return rows


def run(name, tracks, truth, seed, rt60, layout, trace=None):
    if layout == "separate":
        x = separate_room(tracks, rt60, seed)
        s = analyze_blocks([x], ("therapist", "client"))
        doc = s.to_json_dict()
        chans = {"therapist": x[:, 0], "client": x[:, 1]}
    else:
        from diarization import attribute
        x, _ = mix_room(_Tracks(tracks), layout=layout, level_diff_db=(3.0, -3.0), rt60_s=rt60, drr_db=6.0,
                        noise_db=NOISE_DB, seed=seed)
        att = attribute(x, layout=layout, profile=None, voices=None)
        tails = None
        if trace is not None and att.diarization is not None and att.diarization.n_voices == 2:
            from prosody.engine.speakers import room_tails
            tails = room_tails(att.mix(x), att.diarization, max_s=att.tail_trim_max_s,
                               highpass_hz=att.tail_highpass_hz)
        s = analyze_blocks([att.channels(x)], att.speakers, cross_talk=att.diarization is None)
        doc = s.to_json_dict()
        chans = None
    pairs, missed = match_transitions(doc["transitions"] or [], truth["transitions"])
    if chans is None:  # the no-profile naming may be the wrong way round: score with the names swapped then
        sw = {"therapist": "client", "client": "therapist"}
        swapped = [dict(t, from_speaker=sw.get(t["from_speaker"]), to_speaker=sw.get(t["to_speaker"]))
                   for t in doc["transitions"] or []]
        p2, m2 = match_transitions(swapped, truth["transitions"])
        if len(p2) > len(pairs):
            pairs, missed = p2, m2
        if trace is not None:
            trace += [dict(r, name=name, rt60=rt60) for r in trace_rows(pairs, missed, tails)]
    rows = []
    stages = {}
    if chans is not None:
        for spk, c in chans.items():
            stages[spk] = stage_frames(c) + (np.asarray(s.frames[spk]["is_speech"], bool),)
    for t, p in pairs:
        r = {"end": p["from_end_s"] - t["from_end_s"], "start": p["to_start_s"] - t["to_start_s"],
             "fto": p["offset_s"] - t["offset_s"], "gap": t["offset_s"]}
        if stages:
            spk = t["from_speaker"]
            nxt = [a for a, _ in truth["segments"][spk] if a > t["from_end_s"]]
            limit = min([t["from_end_s"] + 2.0] + [a - 0.05 for a in nxt])
            for k, m in zip(("gate", "raw", "smooth"), stages[spk]):
                r[k] = end_of(m, t["from_end_s"], limit) - t["from_end_s"]
        rows.append(r)
    return rows, len(missed)


def med(v):
    v = [e for e in v if np.isfinite(e)]
    return 1000 * float(np.median(v)) if v else float("nan")


def pct(v, q):
    return 1000 * float(np.percentile(v, q))


def print_trace(trace: list[dict], kind: str, layout: str) -> None:
    """The ``--trace`` table of one material and layout: per class, the changes (per RT60), the median
    |FTO error|, end, start and planted gap (ms), the median tail cut round the end."""
    if not trace:
        return
    rts = sorted({r["rt60"] for r in trace}, key=lambda v: -1 if v is None else v)
    print(f"\n{kind} {layout}: {len(trace)} planted changes by class (counts per RT60 "
          f"{' / '.join('dry' if v is None else str(v) for v in rts)}); medians in ms")
    print(f"  {'class':26} {'n':>4} {'per RT60':>18} {'|FTO|':>6} {'end':>6} {'start':>6} {'gap':>6} {'cut':>5}")
    for c in CLASSES:
        rows = [r for r in trace if r["class"] == c]
        if not rows:
            continue
        per = " / ".join(str(sum(r["rt60"] == v for r in rows)) for v in rts)
        print(f"  {c:26} {len(rows):4d} {per:>18} {med([abs(r['fto']) for r in rows]):6.0f} "
              f"{med([r['end'] for r in rows]):+6.0f} {med([r['start'] for r in rows]):+6.0f} "
              f"{med([r['gap'] for r in rows]):+6.0f} {med([r['cut'] for r in rows]):5.0f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one espeak seed and one AMI dialogue")
    ap.add_argument("--layouts", default="separate,mono,shared")
    ap.add_argument("--material", default="espeak,ami")
    ap.add_argument("--rt60", default="dry,0.2,0.4,0.7,1.0")
    ap.add_argument("--espeak-seeds", default="0,1,2", help="other draws of the espeak dialogues (and their rooms)")
    ap.add_argument("--ami-seeds", default="0,1", help="other draws of the AMI turns' placement (and their rooms)")
    ap.add_argument("--trace", action="store_true", help="mono and shared: each planted change classed (change_class)")
    ap.add_argument("--dump", metavar="FILE", help="every classed change as a JSON line to FILE (implies --trace)")
    a = ap.parse_args()
    a.trace = a.trace or bool(a.dump)
    layouts = a.layouts.split(",")
    rts = [None if r == "dry" else float(r) for r in a.rt60.split(",")]
    mats = []
    es, ams = [int(v) for v in a.espeak_seeds.split(",")], [int(v) for v in a.ami_seeds.split(",")]
    if "espeak" in a.material:
        mats += list(espeak_material(es[:1] if a.quick else es))
    if "ami" in a.material:
        mats += list(ami_material(ams[:1] if a.quick else ams, ("trn06",) if a.quick else ("trn06", "tst00")))
    print("median error per speaker change, ms (found - planted): end of the ending turn, start of the next, "
          "|FTO error|; separate also: the end by the level gate, the raw VAD, the smoothed frames")
    print(f"{'material':7} {'layout':8} {'RT60':>4} {'n':>4} {'miss':>4} {'end':>6} {'start':>6} {'|FTO|':>6} "
          f"{'FTO':>6} {'gate':>6} {'raw':>6} {'smooth':>6} {'end p10/p90':>12}")
    traces = {}
    for layout in layouts:
        for kind in ("espeak", "AMI"):
            for rt in rts:
                rows, nmiss = [], 0
                trace = [] if a.trace and layout != "separate" else None
                for name, tracks, truth, seed in mats:
                    if not name.startswith(kind):
                        continue
                    r, m = run(name, tracks, truth, seed, rt, layout, trace)
                    rows += r
                    nmiss += m
                if not rows:
                    continue
                g = lambda k: med([r.get(k, np.nan) for r in rows])  # noqa: E731
                print(f"{kind:7} {layout:8} {'dry' if rt is None else rt:>4} {len(rows):4d} {nmiss:4d} "
                      f"{g('end'):+6.0f} {g('start'):+6.0f} {med([abs(r['fto']) for r in rows]):6.0f} "
                      f"{g('fto'):+6.0f} {g('gate'):+6.0f} {g('raw'):+6.0f} {g('smooth'):+6.0f} "
                      f"{pct([r['end'] for r in rows], 10):+5.0f}/{pct([r['end'] for r in rows], 90):+5.0f}",
                      flush=True)
                if trace is not None:
                    traces.setdefault((kind, layout), []).extend(trace)
    for (kind, layout), trace in traces.items():
        print_trace(trace, kind, layout)
    if a.dump:
        with open(a.dump, "w") as f:
            for (kind, layout), trace in traces.items():
                for r in trace:
                    f.write(json.dumps(dict(r, layout=layout), default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
