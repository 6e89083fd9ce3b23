"""Long two-person sessions (20-60 min, mono): is a false "more than two voices" warning given?

espeak-ng two-voice dialogues with no two turns the same samples (each turn its own sentence,
pitch and speed around the voice's own), several voice pairs, levels, rooms and noise floors
(benchmarks/more_voices.py's ``room``); AMI two-person dialogues from the corpus's single-speaker
stretches, each stretch used at most twice; and one-voice recordings (one espeak-ng voice, one AMI
person), which must be found one voice. Per recording: voices found, ``more_voices``, the turn
groups' separations and the two-model gains ``_more_voices`` measured (nats/frame, per voice tested), wrong-person % (of
frames one voice owns in truth and in the result, under the better voice mapping) and the talk
share error (percentage points).

    python benchmarks/long_two_voices.py [--minutes 20] [--seeds 300,301,302] [--cache /tmp/long74/cache]
    python benchmarks/long_two_voices.py --fixture-copies 1,15,90
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from diarization import cached
from more_voices import SENTENCES, SR, TEST_VOICES, Synth, alternate, corpus_pool, finish, place, room, voice_spec

import prosody.engine.diarize as dz

PITCH_SPREAD = 8  # espeak-ng pitch steps either side of the voice's own: no two turns the same samples
SPEED_WPM = (150, 191)  # each turn's speed, words per minute
HOP_S = 0.01


def espeak_long(synth: Synth, voices: list[str], seconds: float, rng: np.random.Generator):
    """Alternating turns of ``voices`` (1 or 2) until ``seconds`` of audio."""
    pieces, total, v = [], 0.0, 0
    while total < seconds:
        _, p0, _ = voice_spec(voices[v])
        y = synth(SENTENCES[int(rng.integers(len(SENTENCES)))], voices[v],
                  pitch=int(np.clip((p0 or 50) + rng.integers(-PITCH_SPREAD, PITCH_SPREAD + 1), 0, 99)),
                  speed=int(rng.integers(*SPEED_WPM)))
        pieces.append((v, y * 10 ** (rng.uniform(-3, 3) / 20)))
        total += len(y) / SR + 0.6
        v = (v + 1) % len(voices)
    tracks, segs = place(pieces, len(voices), rng)
    return finish(room(tracks, rng, shared=False)), segs


def ami_long(stock: dict, rng: np.random.Generator):
    """Turns from each speaker's stretches (each used at most twice) until one runs out."""
    tracks, segs = place(alternate(stock, rng), len(stock), rng)
    return finish(room(tracks, rng, shared=False)), segs


def cases(minutes: float, seeds: list[int]):
    synth = Synth()
    for seed in seeds:
        rng = np.random.default_rng(30_000 + seed)
        vs = [TEST_VOICES[i] for i in rng.choice(len(TEST_VOICES), 2, replace=False)]
        x, segs = espeak_long(synth, vs, minutes * 60, rng)
        yield f"espeak 2 long s{seed} {'/'.join(vs)}", x, {"voices": 2, "segments": segs}
    rng = np.random.default_rng(30_999)
    v1 = TEST_VOICES[int(rng.integers(len(TEST_VOICES)))]
    x, segs = espeak_long(synth, [v1], minutes * 60, rng)
    yield f"espeak 1 long {v1}", x, {"voices": 1, "segments": segs}
    pool = corpus_pool("AMI long dialogues")
    if pool is None:
        return
    people = sorted(pool)
    for seed in seeds:
        rng = np.random.default_rng(40_000 + seed)
        spk = [str(s) for s in rng.choice(people, 2, replace=False)]
        stock = {k: list(pool[s]) * 2 for k, s in enumerate(spk)}
        for k in stock:
            rng.shuffle(stock[k])
        x, segs = ami_long(stock, rng)
        yield f"AMI 2 long s{seed} {'/'.join(spk)}", x, {"voices": 2, "segments": segs}
    rng = np.random.default_rng(40_999)
    one = str(people[int(rng.integers(len(people)))])
    stock = {0: list(pool[one]) * 2}
    rng.shuffle(stock[0])
    x, segs = ami_long(stock, rng)
    yield f"AMI 1 long {one}", x, {"voices": 1, "segments": segs}


def truth_owner(segs, n_frames: int) -> np.ndarray:
    """(n_frames,) -1 none, 0/1 one voice, 2 both."""
    act = np.zeros((n_frames, 2), bool)
    for v, s in enumerate(segs):
        for a, b in s:
            act[int(a / HOP_S):int(b / HOP_S), v] = True
    return np.where(act.all(axis=1), 2, np.where(act[:, 0], 0, np.where(act[:, 1], 1, -1)))


def scores(d, segs) -> tuple[float, float]:
    """Wrong-person % and talk share error (points) under the better mapping of voices."""
    t = truth_owner(segs, d.n_frames)
    talk = [sum(b - a for a, b in s) for s in segs]
    best = (np.inf, np.inf)
    for o in (d.owner, np.where(d.owner == 2, 2, 1 - d.owner)):
        both = d.speech & (o < 2) & (t >= 0) & (t < 2)
        wrong = 100 * float(np.mean(o[both] != t[both])) if both.any() else 0.0
        sp = d.speech & (o < 2)
        share = float(np.mean(o[sp] == 0)) if sp.any() else 0.0
        best = min(best, (wrong, 100 * abs(share - talk[0] / sum(talk))))
    return best


class Traced:
    """The turn groups' separations and the gains ``_more_voices`` measured in its last run (a
    voice with fewer turns or less speech per group than its bars is measured neither)."""

    def __init__(self):
        self.seen: dict[str, list[float]] = {"sep": [], "gain": []}
        self.inside = False
        inner_check = dz._more_voices
        dz._separation_of = self._kept("sep", dz._separation_of)
        dz._two_model_gain = self._kept("gain", dz._two_model_gain)

        def check(*a, **k):
            self.seen, self.inside = {"sep": [], "gain": []}, True
            try:
                return inner_check(*a, **k)
            finally:
                self.inside = False
        dz._more_voices = check

    def _kept(self, key: str, inner):
        def call(*a, **k):
            v = inner(*a, **k)
            if self.inside:
                self.seen[key].append(v)
            return v
        return call

    def line(self) -> str:
        return " ".join(f"{k} " + (" ".join(f"{v:+.2f}" for v in vs) or "-") for k, vs in self.seen.items())


def repeated_fixture(copies: list[int], trace: Traced) -> None:
    """The bundled two-voice fixture's channel mean, tiled: the repeated clip's held-out frames equal
    training frames of another copy in ``_two_model_gain``."""
    x, sr = sf.read(Path(__file__).resolve().parent.parent / "fixtures" / "dialogue.flac", dtype="float32")
    x = x.mean(axis=1) if x.ndim == 2 else x
    for n in copies:
        d = dz.diarize(np.tile(x, n))
        print(f"  fixtures/dialogue.flac x{n:<3} {len(x) * n / sr / 60:5.1f} min found {d.n_voices} "
              f"more {d.more_voices} {trace.line()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="espeak-ng dialogues' length")
    ap.add_argument("--seeds", default="300,301,302")
    ap.add_argument("--cache", default=None, help="keep the synthesised material here (outside the repo)")
    ap.add_argument("--fixture-copies", default=None, help="instead: the fixture tiled, e.g. 1,15,90")
    args = ap.parse_args()
    trace = Traced()
    if args.fixture_copies:
        repeated_fixture([int(n) for n in args.fixture_copies.split(",")], trace)
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    false = n = 0
    print(f"== long two-person / one-person sessions ({args.minutes:g} min espeak-ng; AMI as long as the stock) ==")
    for name, x, truth in cached(cases(args.minutes, seeds), args.cache):
        d = dz.diarize(x)
        segs = truth["segments"]
        line = f"  {name[:52]:52} {len(x) / SR / 60:5.1f} min found {d.n_voices} more {d.more_voices} {trace.line()}"
        if truth["voices"] == 2:
            n += 1
            false += d.more_voices > 0
            wrong, share = scores(d, segs) if d.n_voices == 2 else (float("nan"), float("nan"))
            line += f" wrong {wrong:.1f}% share err {share:.1f} pts"
        print(line)
    print(f"  two-voice sessions warned of more voices: {false} of {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
