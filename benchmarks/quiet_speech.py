"""Quiet recordings: the turn figures over a range of speech levels (hostile sweep 22's leftovers, docs/store.md).

Planted dialogues (tests/dialogue.py ``scenario_mixed``, espeak-ng, seeds below) built at a speech level of
``--levels`` dBFS (each utterance's RMS over its extent; the "typical speech" that prosody's warning names, the median
of a voice's speech frames, lies 3-4 dB under it) with white noise at ``--noises`` dBFS (none: digital silence in
the pauses of a float file), as three layouts: ``separate`` (a channel each), ``mono`` (the two summed x 0.7) and
``shared`` (a table recorder: both voices on both channels, the other voice 4 dB down and 0.5 ms later). Each is
written as a float WAV under ``--cache`` and analysed by ``prosody analyze --json`` in this process; printed per
case: the therapist's talk share, the median waits (s) and the talk-overs (therapist / client) against the planted
truth, the typical speech level the session read, and whether the "very quiet" warning was given.

    PYTHONPATH=. python benchmarks/quiet_speech.py [--levels -40 -70 -80] [--seeds 3 4] [--layouts separate mono]
    PYTHONPATH=. python benchmarks/quiet_speech.py --steadiness [--seeds 3 4] [--repeat 10]
    PYTHONPATH=. python benchmarks/quiet_speech.py --halves [--seeds 3 4 5] [--drop 45]

``--halves``: the dialogue at -20 dBFS with one half (first or second, cut at the middle sample) ``--drop`` dB
quieter (a recorder's gain turned down half way, two recordings joined), float WAV over ``--noises`` (hostile sweep
23's leftover, docs/store.md "Hostile sweep 22's leftovers, second part").
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO  # noqa: F401  (puts the repository on sys.path)
from tests.dialogue import CLIENT, THERAPIST, build_dialogue, scenario_mixed

SR = 16000
SHARE_TOL = 0.03  # a talk share this close to the planted one is right
WAIT_TOL = 0.10   # ... a median wait (s)


def planted(truth) -> dict:
    t = sum(b - a for a, b in truth.segments(THERAPIST))
    c = sum(b - a for a, b in truth.segments(CLIENT))
    waits = {s: float(np.median([x.offset_s for x in truth.transitions if x.to_speaker == s]))
             for s in (THERAPIST, CLIENT)}
    overs = {s: len([e for e in truth.interruptions if e.speaker == s]) for s in (THERAPIST, CLIENT)}
    return {"share": t / (t + c), "wait": waits, "over": overs}


def layout_audio(audio: np.ndarray, layout: str) -> np.ndarray:
    t, c = audio[:, 0].astype(np.float64), audio[:, 1].astype(np.float64)
    if layout == "separate":
        return np.stack([t, c], axis=1)
    if layout == "mono":
        return (0.7 * (t + c))[:, None]
    d, g = 8, 10 ** (-4 / 20)  # 0.5 ms and 4 dB: the far voice on each channel
    late = lambda x: np.concatenate([np.zeros(d), x[:-d]])  # noqa: E731
    return np.stack([t + g * late(c), g * late(t) + c], axis=1)


def analyse(path: Path) -> dict:
    from prosody_cli.main import main
    out = path.with_suffix(".json")
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        rc = main(["analyze", str(path), "--json", str(out), "--quiet", "--no-progress"])
    if rc != 0:
        raise SystemExit(f"{path}: exit {rc}: {err.getvalue().strip()}")
    return json.loads(out.read_text())


def steadiness(seeds, cache: Path, repeat: int) -> None:
    """``--steadiness``: "your volume moved from second to second" (``level_instability_db``) and the typical level
    of each voice on its separate channel, on the mono mix and on a table recorder (shared), the mix also repeated
    ``repeat`` times (a long memo): the voices' channels of one mix carry it turned down where both speak."""
    print("seed layout          | volume moved (dB) T / C | typical level (dBFS) T / C")
    for seed in seeds:
        dlg = build_dialogue(scenario_mixed(seed=seed), level_db=(-20.0, -20.0), noise_db=-80.0, seed=seed)
        x = np.asarray(dlg.audio)
        for layout in ("separate", "mono", "shared", f"mono x{repeat}"):
            y = layout_audio(x, layout.split()[0])
            if " x" in layout:
                y = np.tile(y, (repeat, 1))
            p = cache / f"steady_s{seed}_{layout.replace(' ', '_')}.wav"
            sf.write(p, y.astype(np.float32), SR, subtype="FLOAT")
            doc = analyse(p)
            v, sp = doc["measures"]["voice"], doc["speakers"]
            print(f"{seed:4d} {layout:15s} | {v[THERAPIST]['level_instability_db']:5.2f} / "
                  f"{v[CLIENT]['level_instability_db']:5.2f}           | {sp[THERAPIST]['rms_db_median']:6.1f} / "
                  f"{sp[CLIENT]['rms_db_median']:6.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", type=float, nargs="+", default=[-40, -50, -60, -65, -70, -75, -80, -85])
    ap.add_argument("--noises", nargs="+", default=["none", "-100", "-90"])
    ap.add_argument("--layouts", nargs="+", default=["separate", "mono", "shared"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 4])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/quiet_speech"))
    ap.add_argument("--steadiness", action="store_true", help="the volume steadiness of one mix's voices instead")
    ap.add_argument("--repeat", type=int, default=10, help="--steadiness: the mix repeated this many times too")
    ap.add_argument("--halves", action="store_true", help="one half of the file --drop dB quieter instead")
    ap.add_argument("--drop", type=float, default=45.0)
    a = ap.parse_args()
    a.cache.mkdir(parents=True, exist_ok=True)
    if a.steadiness:
        return steadiness(a.seeds, a.cache, a.repeat)
    if a.halves:
        a.levels = [-20.0]
    right: dict[tuple[str, str, float], list[bool]] = {}  # (layout, noise, level) -> every figure right, per seed
    print("seed layout   level noise | share (planted) | waits T / C (planted)       | talk-overs T / C (planted) "
          "| typical dBFS | warned")
    for seed in a.seeds:
        utts = scenario_mixed(seed=seed)
        for noise in a.noises:
            nz = None if noise == "none" else float(noise)
            for level in a.levels:
                dlg = build_dialogue(utts, level_db=(level, level), noise_db=None, seed=seed)
                truth = planted(dlg.truth)
                rng = np.random.default_rng(1000 + seed)
                for layout, half in ((lay, h) for lay in a.layouts for h in ((0, 1) if a.halves else (None,))):
                    x = layout_audio(np.asarray(dlg.audio), layout)
                    if half is not None:  # one half (0: the first, 1: the second) --drop dB down
                        mid = len(x) // 2
                        x[(slice(0, mid) if half == 0 else slice(mid, None))] *= 10 ** (-a.drop / 20)
                    if nz is not None:
                        x = x + rng.standard_normal(x.shape) * 10 ** (nz / 20)
                    tag = "" if half is None else f"_half{half}_{a.drop:g}"
                    p = a.cache / f"s{seed}_{layout}_{level:g}_{noise}{tag}.wav"
                    sf.write(p, x.astype(np.float32), SR, subtype="FLOAT")
                    doc = analyse(p)
                    sp = doc["speakers"]
                    T, C = sp.get(THERAPIST, {}), sp.get(CLIENT, {})
                    typ = [float(np.round(s.get("rms_db_median") or np.nan, 1)) for s in (T, C)]
                    warned = any("very quiet" in w for w in doc.get("warnings", ()))

                    def f(v):
                        return "  -  " if v is None else f"{v:5.2f}"
                    name = layout + ("" if half is None else f" q{half}")
                    print(f"{seed:4d} {name:8s} {level:5.0f} {noise:>5s} | {f(T.get('talk_share'))} "
                          f"({truth['share']:.2f}) | "
                          f"{f(T.get('gap_median_s'))} / {f(C.get('gap_median_s'))} "
                          f"({truth['wait'][THERAPIST]:.2f} / {truth['wait'][CLIENT]:.2f}) | "
                          f"{T.get('interruptions')} / {C.get('interruptions')} "
                          f"({truth['over'][THERAPIST]} / {truth['over'][CLIENT]}) | {typ} | {warned}", flush=True)
                    ok = (T.get("talk_share") is not None and C.get("gap_median_s") is not None
                          and T.get("gap_median_s") is not None
                          and abs(T["talk_share"] - truth["share"]) <= SHARE_TOL
                          and all(abs(x["gap_median_s"] - truth["wait"][s]) <= WAIT_TOL
                                  for x, s in ((T, THERAPIST), (C, CLIENT)))
                          and (T.get("interruptions"), C.get("interruptions"))
                          == (truth["over"][THERAPIST], truth["over"][CLIENT]))
                    right.setdefault((layout if half is None else f"{layout} q{half}", noise, level), []).append(ok)
    print(f"\nright (talk share within {SHARE_TOL}, both waits within {WAIT_TOL} s, talk-overs as planted), "
          "of the seeds:")
    print("layout   noise | " + " ".join(f"{lv:>6g}" for lv in a.levels))
    for layout in (a.layouts if not a.halves else [f"{x} q{h}" for x in a.layouts for h in (0, 1)]):
        for noise in a.noises:
            cells = [right.get((layout, noise, lv), []) for lv in a.levels]
            print(f"{layout:8s} {noise:>5s} | " + " ".join(f"{sum(c):>4d}/{len(c)}" for c in cells))


if __name__ == "__main__":
    sys.exit(main())
