"""A check that a change meant to cost less leaves speaker attribution's output exactly as it was
(issue 9's cost rounds: "no behaviour change" proved, not assumed).

Every recording is attributed (``speakers.attribute``: layout detection, diarization and its
post-passes) and the whole result kept bit for bit: the layout and its evidence, the method, the
warnings, and every field of the diarization (voices, per-frame owner and activity, centroids,
separation, shares, the figures the warnings come from). ``--save F`` writes them (run it on the
code before the change), ``--compare F`` runs again and names every recording and field that
differs (exit 1 if any does). The material, espeak-ng and AMI, mono and shared, one voice and two,
clean and noisy:

* the ``tune`` and ``amireal`` splits of ``benchmarks/diarization.py`` (``diarization_cost.material``;
  ``--splits``): espeak-ng dialogues mono and shared (rooms, -65..-45 dBFS noise), AMI two-voice
  mixes (amireal: real voices of one sex), one-voice espeak and AMI recordings, AMI dev00 / dev01
  as they are;
* six of the two-voice ones again in white noise at 10 dB SNR over the speech (a fixed draw);
* two two-voice recordings attributed with ``voices=2`` (``--voices 2``);
* the 10-minute mono probe of ``diarization.peak_memory_mb`` and the same 10 minutes as shared
  stereo (two gains, the second channel 1 ms late).

    python benchmarks/diarization_same.py --cache /tmp/NAME/same [--save F.pkl | --compare F.pkl] [--splits tune,amireal] [--only TEXT]
"""
from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from diarization_cost import material

from prosody.engine.speakers import attribute


def canonical(v):
    """A value as plain, exactly comparable data: arrays as (dtype, shape, bytes), floats by their bits."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return (type(v).__name__, tuple((f.name, canonical(getattr(v, f.name))) for f in dataclasses.fields(v)))
    if isinstance(v, np.ndarray):
        return ("array", str(v.dtype), v.shape, v.tobytes())
    if isinstance(v, (float, np.floating)):
        return ("float", float(v).hex())
    if isinstance(v, np.generic):
        return ("scalar", str(v.dtype), v.tobytes())
    if isinstance(v, dict):
        return ("dict", tuple((str(k), canonical(x)) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(canonical(x) for x in v))
    return v


def differences(a, b, path=""):
    """The paths at which two canonical values differ."""
    if type(a) is not type(b) or not isinstance(a, tuple) or len(a) != len(b):
        return [] if a == b else [path or "."]
    if len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], tuple) and a[0] == b[0] and a[0] != "array":
        items_a, items_b = a[1], b[1]
        if all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in items_a + items_b):
            out = []
            for (ka, va), (kb, vb) in zip(items_a, items_b):
                out += differences(va, vb, f"{path}.{ka}") if ka == kb else [f"{path}.{ka}/{kb}"]
            return out
    return [] if a == b else [path or "."]


def cases(cache: Path | None, splits: list[str]):
    """(name, audio, voices told) of every recording of the check."""
    kept = []
    for split in splits:
        for name, x in material(split, cache):
            kept.append((name, x))
            yield name, x, None
    rng = np.random.default_rng(37)
    two = [(nm, x) for nm, x in kept if "one voice" not in nm and "as is" not in nm]
    for name, x in two[::max(1, len(two) // 6) | 1][:6]:  # an odd step: mono and shared alike
        speech_rms = float(np.sqrt(np.mean(np.square(x[np.abs(x) > 1e-3], dtype=np.float64))))
        noise = rng.standard_normal(x.shape) * speech_rms * 10 ** (-10 / 20)
        yield f"{name} + white noise 10 dB", (x + noise).astype(np.float32), None
    for name, x in two[1:3]:
        yield f"{name}, voices=2", x, 2
    ten = ten_minutes()
    yield "10 min mono", ten, None
    lag = 16  # 1 ms
    stereo = np.stack([ten, np.concatenate([np.zeros(lag, np.float32), ten[:-lag]]) * np.float32(0.7)], axis=1)
    yield "10 min shared", stereo, None


def ten_minutes() -> np.ndarray:
    """The 10-minute mono probe of ``diarization.peak_memory_mb`` (espeak dialogue tiled)."""
    from tests.dialogue import build_dialogue, mix_room, scenario_mixed
    d = build_dialogue(scenario_mixed(seed=5), noise_db=None, level_db=(-22.0, -22.0))
    x, _ = mix_room(d, layout="mono", seed=5)
    return np.tile(x[:, 0], int(np.ceil(600 * 16000 / len(x))))[:600 * 16000]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--save", type=Path)
    ap.add_argument("--compare", type=Path)
    ap.add_argument("--only")
    ap.add_argument("--splits", default="tune,amireal", help="splits of benchmarks/diarization.py, comma-separated")
    args = ap.parse_args()
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
    ref = pickle.loads(args.compare.read_bytes()) if args.compare else None
    out, differ, cpu_total, audio_total = {}, [], 0.0, 0.0
    for name, x, voices in cases(args.cache, args.splits.split(",")):
        if args.only and args.only not in name:
            continue
        t = time.process_time()
        att = attribute(x, voices=voices)
        cpu = time.process_time() - t
        cpu_total += cpu
        audio_total += len(x) / 16000
        out[name] = canonical(att)
        verdict = ""
        if ref is not None:
            if name not in ref:
                verdict = "NOT IN REFERENCE"
                differ.append(name)
            else:
                d = differences(ref[name], out[name])
                verdict = "same" if not d else "DIFFERENT: " + ", ".join(d[:6])
                if d:
                    differ.append(name)
        d = att.diarization
        print(f"{name:62} {len(x) / 16000:6.1f} s  {att.layout:8} voices {d.n_voices if d else '-'}  "
              f"{cpu / (len(x) / 16000):.4f} CPU s/s  {verdict}", flush=True)
    print(f"\n{len(out)} recordings, {audio_total:.0f} s of audio, {cpu_total / audio_total:.4f} CPU s per audio s")
    if ref is not None:
        print(f"identical to {args.compare}: {len(out) - len(differ)}/{len(out)}"
              + (f"; different: {differ}" if differ else ""))
    if args.save:
        args.save.write_bytes(pickle.dumps(out))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
