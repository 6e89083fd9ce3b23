"""A noise floor that steps within a file: the turn figures of a mono mix and a table recorder (shared) whose pauses
hold white noise at one level in the first half and another in the second (hostile sweep 24, docs/store.md).

Planted dialogues (tests/dialogue.py ``scenario_mixed``, espeak-ng) at -40 dBFS speech, laid out and judged as
``benchmarks/quiet_speech.py`` does (talk share within 0.03, both median waits within 0.1 s, talk-overs as
planted). ``--real-min-db -90`` empties ``speakers.REAL_FLOOR_MIN_DB``'s band (every floor under -90 dBFS raised to
-90, as before 2026-12-05's "The fill's floor under -90 dBFS") for the comparison.

``--shapes``: instead of halves, the floors of ``SHAPES`` (hostile sweep 25): white noise at -100 dBFS with 8 s at
-85 dBFS at the start or the end, or 10 s at -88 dBFS around the middle; quarters at -100 / -85 / -100 / -85 dBFS;
thirds at -110 / -95 / -80 dBFS.

    PYTHONPATH=. python benchmarks/noise_step.py [--seeds 3 4 5] [--real-min-db -90] [--shapes]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO  # noqa: F401  (puts the repository on sys.path)
from quiet_speech import SHARE_TOL, WAIT_TOL, analyse, layout_audio, planted
from tests.dialogue import CLIENT, THERAPIST, build_dialogue, scenario_mixed

STEPS = ((-100, -85), (-85, -100), (-104, -95), (-110, -100), (-96, -104))  # dBFS: first half, second half
SHAPES = ("lead-85", "tail-85", "mid-88", "4step", "3lvl")


def noise_db(step, n: int, sample_rate: int = 16000) -> np.ndarray:
    """(n,) the noise's level (dBFS) per sample: a ``STEPS`` pair (first half, second half) or a ``SHAPES`` name."""
    db = np.full(n, -100.0)
    if not isinstance(step, str):
        db[:n // 2], db[n // 2:] = step
    elif step in ("lead-85", "tail-85"):
        db[slice(None, 8 * sample_rate) if step == "lead-85" else slice(-8 * sample_rate, None)] = -85.0
    elif step == "mid-88":
        db[n // 2 - 5 * sample_rate:n // 2 + 5 * sample_rate] = -88.0
    elif step == "4step":
        db[n // 4:n // 2] = db[3 * (n // 4):] = -85.0
    else:  # 3lvl
        db[:n // 3], db[n // 3:2 * (n // 3)], db[2 * (n // 3):] = -110.0, -95.0, -80.0
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 4, 5])
    ap.add_argument("--real-min-db", type=float, default=None, help="speakers.REAL_FLOOR_MIN_DB for this run")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/noise_step"))
    ap.add_argument("--shapes", action="store_true", help="the floors of SHAPES instead of halves")
    a = ap.parse_args()
    a.cache.mkdir(parents=True, exist_ok=True)
    if a.real_min_db is not None:
        import prosody.engine.speakers as speakers
        speakers.REAL_FLOOR_MIN_DB = a.real_min_db
    n_right = n = 0
    print("seed layout  noise (halves or shape) | share (planted) | waits T / C (planted) | "
          "talk-overs T / C (planted) | right")
    for seed in a.seeds:
        dlg = build_dialogue(scenario_mixed(seed=seed), level_db=(-40, -40), noise_db=None, seed=seed)
        truth = planted(dlg.truth)
        for step in SHAPES if a.shapes else STEPS:
            rng = np.random.default_rng(1000 + seed)
            name = step if a.shapes else f"{step[0]:5d} / {step[1]:5d}"
            for layout in ("mono", "shared"):
                x = layout_audio(np.asarray(dlg.audio), layout)
                noise = rng.standard_normal(x.shape) * 10 ** (noise_db(step, len(x)) / 20)[:, None]
                p = a.cache / f"s{seed}_{layout}_{step if a.shapes else '%d_%d' % step}.wav"
                sf.write(p, (x + noise).astype(np.float32), 16000, subtype="FLOAT")
                sp = analyse(p)["speakers"]
                T, C = sp.get(THERAPIST, {}), sp.get(CLIENT, {})
                ok = (T.get("gap_median_s") is not None and C.get("gap_median_s") is not None
                      and abs(T["talk_share"] - truth["share"]) <= SHARE_TOL
                      and all(abs(v["gap_median_s"] - truth["wait"][s]) <= WAIT_TOL
                              for v, s in ((T, THERAPIST), (C, CLIENT)))
                      and (T.get("interruptions"), C.get("interruptions"))
                      == (truth["over"][THERAPIST], truth["over"][CLIENT]))
                n, n_right = n + 1, n_right + ok
                print(f"{seed:4d} {layout:7s} {name:19s} | {T.get('talk_share'):.2f} "
                      f"({truth['share']:.2f}) | {T.get('gap_median_s')} / {C.get('gap_median_s')} "
                      f"({truth['wait'][THERAPIST]:.2f} / {truth['wait'][CLIENT]:.2f}) | {T.get('interruptions')} / "
                      f"{C.get('interruptions')} ({truth['over'][THERAPIST]} / {truth['over'][CLIENT]}) | {ok}",
                      flush=True)
    print(f"right: {n_right} of {n}")


if __name__ == "__main__":
    sys.exit(main())
