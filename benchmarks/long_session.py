"""Memory and CPU of `prosody analyze` on a whole therapy session (an hour), by layout.

A session is 50-60 minutes; the diarization benchmarks measure 10 minutes of the
diarizer alone (benchmarks/diarization.py ``peak_memory_mb``). This one runs the
whole command, as a user does, on recordings of ``--minutes`` made from espeak-ng
dialogues (tests/dialogue.py ``scenario_mixed``, twelve seeds and their voices,
placed by ``mix_room``: ``mono``, ``shared`` stereo; ``separate`` is the dialogues'
own two channels), each in a fresh process, and prints its peak resident memory,
the recording's own size as float32 (the recordings are 16-bit, held as such while
attributed: half that), the CPU seconds
per audio second and what was found. Issue 9's budget for diarization: 500 MB
and 0.02 CPU s per audio s.

    python benchmarks/long_session.py [--minutes 60] [--layouts mono,shared,separate] [--rate HZ]
                                      [--voices espeak|ami] [--keep DIR]
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

from _common import REPO

from tests.dialogue import build_dialogue, mix_room, scenario_mixed

SR = 16000

CHILD = """
import json, sys, time
sys.path.insert(0, {repo!r})
from prosody_cli.main import main
def peak_mb():  # this process's own high-water mark (VmHWM), not ru_maxrss: that keeps the peak of the
    # parent this child was forked from (the kernel carries it across exec), here the benchmark holding
    # the hour it made
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
t = time.process_time()
rc = main(["analyze", {path!r}, "--json", {out!r}, "--quiet"])
print(json.dumps({{"rc": rc, "cpu_s": time.process_time() - t,
                  "peak_mb": peak_mb()}}))
"""


def make(layout: str, minutes: float, path: Path, rate: int = SR, voices: str = "espeak") -> None:
    """``minutes`` of dialogue laid out as ``layout``, the twelve dialogues repeated to length, as a
    16-bit file at ``rate`` (another rate than 16 kHz: resampled here, and by prosody on reading, so
    that the recording is held on the 16-bit grid, as a phone's 44.1 / 48 kHz recording is)."""
    parts = []
    if voices == "ami":  # real voices: benchmarks/diarization.py's amireal split (AMI dev00, dev01, tst00)
        from diarization import ami_cases
        if layout == "separate":
            raise SystemExit("--voices ami: mono or shared layouts only")
        parts = [x for name, x, _ in ami_cases("amireal", False) if name.endswith(layout)]
        if not parts:
            raise SystemExit("--voices ami needs the corpus (../shared/corpus or $PROSODY_CORPUS)")
    for seed in range(12 if voices == "espeak" else 0):
        d = build_dialogue(scenario_mixed(seed=seed), noise_db=None, level_db=(-24.0, -26.0), seed=seed)
        parts.append(d.audio if layout == "separate" else mix_room(d, layout=layout, seed=seed)[0])
    x = np.concatenate(parts)
    n = int(minutes * 60 * SR)
    x = np.tile(x, (int(np.ceil(n / len(x))), 1))[:n]
    if rate != SR:
        from math import gcd

        from scipy.signal import resample_poly
        g = gcd(rate, SR)
        x = np.concatenate([resample_poly(x[a:a + 600 * SR], rate // g, SR // g, axis=0).astype(np.float32)
                            for a in range(0, len(x), 600 * SR)])
    sf.write(path, x[:, 0] if layout == "mono" else x, rate, subtype="PCM_16")


def run(path: Path, out: Path) -> dict:
    code = CHILD.format(repo=str(REPO), path=str(path), out=str(out))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    if res.returncode != 0 or not res.stdout.strip():
        raise SystemExit(f"analyze failed on {path}: {res.stderr.strip()[-400:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--layouts", default="mono,shared,separate")
    ap.add_argument("--keep", type=Path, help="keep the recordings here (and reuse them)")
    ap.add_argument("--voices", choices=("espeak", "ami"), default="espeak",
                    help="ami: the amireal split's real voices (same-sex pairs; the utterance restart runs)")
    ap.add_argument("--rate", type=int, default=SR, help="the files' sample rate (default 16000: held as "
                    "16-bit samples; any other: resampled on reading and held as int16 on the 16-bit grid)")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="prosody-long-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'layout':9} {'minutes':>7} {'audio MB':>8} {'peak MB':>8} {'CPU s/s':>8}  found")
    for layout in args.layouts.split(","):
        path = folder / (f"{layout}-{args.minutes:g}min{'' if args.rate == SR else f'-{args.rate}Hz'}"
                         f"{'' if args.voices == 'espeak' else '-' + args.voices}.wav")
        if not path.exists():
            make(layout, args.minutes, path, args.rate, args.voices)
        out = folder / f"{layout}.json"
        out.unlink(missing_ok=True)
        r = run(path, out)
        doc = json.loads(out.read_text())
        info = sf.info(path)
        audio_mb = info.frames / info.samplerate * SR * info.channels * 4 / 1e6  # at 16 kHz, float32
        att = doc.get("attribution") or {}
        voices = (att.get("diarization") or {}).get("voices")
        shares = ", ".join(f"{k} {v['talk_share']:.2f}" for k, v in doc["speakers"].items())
        print(f"{layout:9} {args.minutes:7g} {audio_mb:8.0f} {r['peak_mb']:8.0f} "
              f"{r['cpu_s'] / doc['duration_s']:8.4f}  {att.get('layout')}"
              f"{f', {voices} voices' if voices is not None else ''}; {shares}")
        out.unlink(missing_ok=True)
        if args.keep is None:
            path.unlink()


if __name__ == "__main__":
    main()
