"""The block-size invariant (docs/architecture.md, "Block sizes") on more material than the tests
hold: the pipeline's session for random push splits against pushes of 1600 samples, compared
exactly (every frame column, each speaker's voice-quality chunks, segments, sounds, nuclei,
windows, turns, measures: ``tests.test_push_splits.assert_same_session``).

Material (``--material``, comma-separated):

* ``room``: the fixture dialogue on a table device (tests/test_live_layout.py ``_table``), its
  first channel (``room1``) and both (``room2``);
* ``fixture``: fixtures/dialogue.flac as recorded (``fixture2``) and its channel mean (``fixture1``);
* ``noise``: white noise, pink noise (two channels), the fixture's first channel with noise at -40 dBFS;
* ``8k``: the fixture taken to 8 kHz and read back through ``sources.Resampler``;
* ``espeak``: an espeak-ng overlap dialogue (109 s, two channels and its mean) and a 316 s session
  (``scenario_session(120, seed=3)``);
* ``ami``: real AMI voices (``tests.dialogue.ami_dialogue``), two channels and their sum.

Splits: ``tests.test_push_splits.push_sizes`` (pushes of 1-39 samples, 40-1599, 0.1-0.75 s,
0.75-12.5 s and whole hops, mixed), ``--seeds`` of them. Printed per material: how many splits
gave another session, and the first difference.

    python benchmarks/push_splits.py [--material room,fixture,noise,8k,espeak,ami] [--seeds 6]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, corpus_dir  # noqa: E402

from prosody.engine.sources import Resampler  # noqa: E402
from prosody.session import analyze_blocks  # noqa: E402
from tests.test_push_splits import assert_same_session, every, push_sizes, pushes  # noqa: E402


def materials(which: set[str]):
    x, _ = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float32")
    if "room" in which:
        from tests.test_live_layout import _table
        t = _table()
        yield "room1", t[:, :1]
        yield "room2", t
    if "fixture" in which:
        yield "fixture2", x
        yield "fixture1", x.mean(axis=1, keepdims=True)
    if "noise" in which:
        from tests.dialogue import pink_noise
        rng = np.random.default_rng(5)
        n = 40 * 16000
        yield "white1", (rng.standard_normal((n, 1)) * 0.03).astype(np.float32)
        yield "pink2", (np.stack([pink_noise(rng, n), pink_noise(rng, n)], 1) * 0.05).astype(np.float32)
        yield "noisy_fixture1", (x[:, :1] + rng.standard_normal((len(x), 1)) * 0.01).astype(np.float32)
    if "8k" in which:
        y8 = soxr.resample(x, 16000, 8000).astype(np.float32)
        r = Resampler(8000, 2)
        y = np.concatenate([r.push(y8), r.push(y8[:0], last=True)])
        yield "8k2", y
        yield "8k1", y[:, :1]
    if "espeak" in which:
        from tests.dialogue import build_dialogue, scenario_overlap_events, scenario_session
        d = build_dialogue(scenario_overlap_events(seed=1), level_db=(-28.0, -30.0), noise_db=-60.0, seed=1)
        yield "espeak2", d.audio.astype(np.float32)
        yield "espeak1", d.audio.mean(axis=1, keepdims=True).astype(np.float32)
        d = build_dialogue(scenario_session(120, seed=3), noise_db=-60.0, seed=3)
        yield "session2", d.audio.astype(np.float32)
    if "ami" in which:
        corpus = corpus_dir()
        if corpus is None:
            print("ami: no corpus (../shared/corpus or $PROSODY_CORPUS): skipped")
            return
        from tests.dialogue import ami_dialogue
        d = ami_dialogue(corpus, seed=0)
        yield "ami2", d.audio.astype(np.float32)
        yield "ami1", d.audio.sum(axis=1, keepdims=True).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--material", default="room,fixture,noise,8k,espeak,ami")
    ap.add_argument("--seeds", type=int, default=6)
    a = ap.parse_args()
    bad_total = 0
    for name, x in materials(set(a.material.split(","))):
        t0 = time.process_time()
        spk = ("therapist", "client")[: x.shape[1]]
        ref = analyze_blocks(pushes(x, every(len(x), 1600)), spk)
        bad = []
        for seed in range(a.seeds):
            try:
                assert_same_session(ref, analyze_blocks(pushes(x, push_sizes(len(x), seed)), spk), f"seed {seed}")
            except AssertionError as exc:
                bad.append(str(exc).splitlines()[0])
        bad_total += len(bad)
        print(f"{name:15s} {len(x) / 16000:5.0f} s  {len(bad)}/{a.seeds} splits differ"
              f"{': ' + bad[0] if bad else ''}  ({time.process_time() - t0:.0f} s CPU)", flush=True)
    return 1 if bad_total else 0


if __name__ == "__main__":
    sys.exit(main())
