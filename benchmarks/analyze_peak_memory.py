"""Peak memory of `prosody analyze` on a long mono recording, and what holds it (hostile sweep 43).

Makes ``--minutes`` of seeded pink noise at -64 dBFS, 16 kHz, 16 bits (as sweep 38's 10-hour file made by sox:
``synth pinknoise vol 0.003``; a mono file, so it goes through the attribution), written a block at a time so that
the benchmark never holds it, then runs ``prosody analyze FILE --json OUT --quiet`` in a fresh process and prints
its peak resident memory (VmHWM) and the recording's own size as 16-bit samples. With ``--trace`` the child runs
under tracemalloc and also prints the traced peak and the allocations held at it (the top sites, each by the line
of prosody that asked for it): slower (some 4 x).

    python benchmarks/analyze_peak_memory.py [--minutes 60] [--trace] [--keep DIR] [--json-out PATH]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from _common import REPO

SR = 16000
RMS = 6.2e-4  # the level of sox's `synth pinknoise vol 0.003` (sweep 38's file), as measured: -64 dBFS
BLOCK_S = 60  # written a minute at a time
# Paul Kellet's economy pinking filter as a direct-form IIR (-3 dB/octave within 1 dB above 10 Hz at 16 kHz)
PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
PINK_RMS = 0.0862  # the filter's output of unit white noise (the root of its impulse response's energy)

CHILD = """
import json, sys, threading, time, tracemalloc
sys.path.insert(0, {repo!r})
from prosody_cli.main import main
trace = {trace!r}
best = {{"bytes": 0, "snap": None}}
done = threading.Event()
def watch():  # a snapshot each time the traced memory passes its last high by 8 MB: the last is the peak's
    while not done.wait(0.05):
        now = tracemalloc.get_traced_memory()[0]
        if now > best["bytes"] + 8e6:
            best["bytes"], best["snap"] = now, tracemalloc.take_snapshot()
if trace:
    tracemalloc.start(12)
    threading.Thread(target=watch, daemon=True).start()
def peak_mb():  # this process's own high-water mark (VmHWM): ru_maxrss keeps the forking parent's
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
t = time.process_time()
rc = main(["analyze", {path!r}, "--json", {out!r}, "--quiet", "--no-progress"])
done.set()
result = {{"rc": rc, "cpu_s": time.process_time() - t, "peak_mb": peak_mb()}}
if trace:
    result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    sites = []
    for s in best["snap"].statistics("traceback")[:6]:
        ours = [f for f in s.traceback if "/prosody" in f.filename]
        where = ours[-1] if ours else s.traceback[-1]
        sites.append({{"mb": round(s.size / 1e6, 1), "at": f"{{where.filename.split('/')[-1]}}:{{where.lineno}}"}})
    result["held_at_peak"] = sites
print(json.dumps(result))
"""


def make(path: Path, minutes: float, seed: int = 43) -> None:
    """``minutes`` of pink noise at ``RMS`` into ``path`` (16-bit PCM WAV), a minute at a time."""
    rng = np.random.default_rng(seed)
    zi = np.zeros(len(PINK_A) - 1)
    n_total = int(round(minutes * 60 * SR))
    with sf.SoundFile(path, "w", samplerate=SR, channels=1, subtype="PCM_16") as f:
        for a in range(0, n_total, BLOCK_S * SR):
            white = rng.standard_normal(min(BLOCK_S * SR, n_total - a))
            pink, zi = lfilter(PINK_B, PINK_A, white, zi=zi)
            f.write(np.clip(pink * (RMS / PINK_RMS), -1.0, 1.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--trace", action="store_true", help="tracemalloc in the child: the sites held at the peak")
    ap.add_argument("--keep", type=Path, help="make the recording (and the JSON) in DIR, and reuse one there")
    ap.add_argument("--json-out", type=Path, help="the analysis's JSON here (to compare two versions' outputs)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        wav = folder / f"pink{args.minutes:g}m.wav"
        if not wav.exists():
            make(wav, args.minutes)
        out = args.json_out or folder / "out.json"
        out.unlink(missing_ok=True)
        child = CHILD.format(repo=str(REPO), path=str(wav), out=str(out), trace=args.trace)
        res = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=False)
        if res.returncode != 0 or not res.stdout.strip():
            raise SystemExit(f"analyze failed: {res.stderr.strip()[-2000:]}")
        got = json.loads(res.stdout.strip().splitlines()[-1])
        samples_mb = sf.info(str(wav)).frames * 2 / 1e6
        print(f"{args.minutes:g} min mono, 16-bit samples {samples_mb:.0f} MB: exit {got['rc']}, "
              f"{got['cpu_s']:.1f} s CPU, peak resident {got['peak_mb']:.0f} MB")
        if args.trace:
            print(f"traced peak {got['traced_peak_mb']:.0f} MB; held at it:")
            for s in got["held_at_peak"]:
                print(f"  {s['mb']:8.1f} MB  {s['at']}")


if __name__ == "__main__":
    main()
