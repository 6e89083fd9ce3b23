"""How long after its end a rolling window (warmth, attunement, cues) comes out of the streaming
pipeline, as `prosody live` runs it (docs/live.md, "Window lag").

Planted material (espeak, tests/dialogue.py; separate channels, -70 dB noise):

* ``monologue``: the live-cue dialogue of the user walk-through (docs/store.md): the therapist talks
  for about 100 s with 0.4 s pauses between sentences (one open segment: pauses under 0.6 s are
  bridged), the client then talks about 60 s with 0.5 s pauses, then a few short turns;
* ``session``: ``scenario_session(180, seed=3)`` and ``scenario_session(240)`` seeds 5, 6, 8 (pauses
  0.4-1.6 s; the walk-through measured 7.0-9.3 s of lag on these four);
* the monologue dialogue's therapist channel alone, as one channel (a one-voice live session: no
  turn-taking).

Each is pushed in 0.1 s blocks (the live capture's) and, for comparison of the figures, in one block
(``analyze``) and 1-frame / 2 s blocks. Printed: per window, the audio time at which it came out minus its
end (the lag), its maximum and median, when the monologue cue first came (and the monologue's planted
end), and whether every window is bit-identical across the block sizes.

    python benchmarks/live_window_lag.py [--quick]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prosody.session import SessionBuilder, new_pipeline  # noqa: E402

SPK = ("therapist", "client")
SR = 16000


def monologue_dialogue(seed: int = 11):
    """The live-cue dialogue: the therapist's ~100 s monologue (pauses 0.4 s), the client's ~60 s
    (pauses 0.5 s), a few turns. Returns (Dialogue, monologue (start, end) s)."""
    from tests.dialogue import (CLIENT_LONG_SENTENCES, CLIENT_SENTENCES, THERAPIST_LONG_SENTENCES,
                                THERAPIST_SENTENCES, _Planner, build_dialogue)
    p = _Planner(seed)
    T, C = SPK
    first = p.turn(T, p.pick(T, THERAPIST_LONG_SENTENCES), 0.0)
    while p.floor_end_s - first.start_s < 100.0:
        p.turn(T, p.pick(T, THERAPIST_SENTENCES + THERAPIST_LONG_SENTENCES), 0.4)
    mono = (first.start_s, p.floor_end_s)
    c0 = p.floor_end_s + 0.8
    p.turn(C, p.pick(C, CLIENT_LONG_SENTENCES), 0.8)
    while p.floor_end_s - c0 < 60.0:
        p.turn(C, p.pick(C, CLIENT_LONG_SENTENCES + CLIENT_SENTENCES), 0.5)
    for k in range(6):
        p.turn(T if k % 2 == 0 else C, p.pick(T if k % 2 == 0 else C,
                                              THERAPIST_SENTENCES if k % 2 == 0 else CLIENT_SENTENCES), 0.7)
    return build_dialogue(p.utterances, noise_db=-70.0, seed=seed), mono


def stream(audio: np.ndarray, block: int, speakers: tuple[str, ...] = SPK):
    """Push ``audio`` in blocks of ``block`` samples (0: whole); returns (session, [(window, emitted_s)]).
    ``speakers``: one per channel of ``audio`` (one: a one-channel session, no turn-taking)."""
    pipe = new_pipeline(speakers)
    b = SessionBuilder(pipe)
    out = []
    step = block or len(audio)
    for i in range(0, len(audio), step):
        up = pipe.push(audio[i:i + step])
        b.add(up)
        out += [(w, pipe.n_samples / SR) for w in up.rolling]
    up = pipe.flush()
    b.add(up)
    out += [(w, pipe.n_samples / SR) for w in up.rolling]
    return b.build(), out


def report(name: str, audio: np.ndarray, mono: tuple[float, float] | None, *, compare: bool,
           speakers: tuple[str, ...] = SPK) -> bool:
    s, wins = stream(audio, SR // 10, speakers)
    lags = np.array([t - w.end_s for w, t in wins])
    print(f"{name}: {len(audio) / SR:.1f} s, {len(wins)} windows (0.1 s blocks)")
    print(f"  lag after the window end: max {lags.max():.1f} s, median {np.median(lags):.2f} s, "
          f"p95 {np.percentile(lags, 95):.1f} s, windows later than 3 s: {int(np.sum(lags > 3.0))}")
    worst = sorted(wins, key=lambda x: x[0].end_s - x[1])[:3]
    print("  latest: " + ", ".join(f"window to {w.end_s:.0f} s out at {t:.1f} s" for w, t in worst))
    cue = [(w.end_s, t) for w, t in wins if any(c["kind"] == "monologue" for c in w.cues)]
    if mono is not None:
        print(f"  planted monologue {mono[0]:.1f}-{mono[1]:.1f} s; first monologue cue: "
              + (f"window to {cue[0][0]:.0f} s, out at {cue[0][1]:.1f} s" if cue else "none"))
    ok = True
    if compare:
        ref = [w for w, _ in wins]
        doc = s.to_json_dict()["measures"]
        for blk, label in ((0, "whole"), (1, "1 sample"), (160, "1 frame"), (2 * SR, "2 s")):
            if blk == 1:
                continue  # 1-sample blocks take too long on a 3-minute recording; 1 frame is the grid's unit
            s2, w2 = stream(audio, blk, speakers)
            same = [w for w, _ in w2] == ref and s2.to_json_dict()["measures"] == doc
            ok &= same
            print(f"  {label} blocks: windows and session measures {'identical' if same else 'DIFFER'}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the monologue dialogue only, no block-size comparison")
    args = ap.parse_args()
    d, mono = monologue_dialogue()
    ok = report("monologue dialogue", d.audio, mono, compare=not args.quick)
    # one channel (no turn-taking): the therapist's channel alone, as a one-voice live session
    ok &= report("monologue dialogue, the therapist's channel alone (one channel)",
                 np.ascontiguousarray(d.audio[:, 0]), None, compare=not args.quick, speakers=SPK[:1])
    if not args.quick:
        from tests.dialogue import build_dialogue, scenario_session
        d2 = build_dialogue(scenario_session(180, seed=3), noise_db=-70.0, seed=3)
        ok &= report("scenario_session(180, seed=3)", d2.audio, None, compare=True)
        for seed in (5, 6, 8):
            d3 = build_dialogue(scenario_session(240, seed=seed), noise_db=-70.0, seed=seed)
            ok &= report(f"scenario_session(240, seed={seed})", d3.audio, None, compare=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
