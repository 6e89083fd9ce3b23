"""CPU time of a full analysis vs the anchors, as ratios measured in one run,
plus memory growth 10 vs 60 minutes.

Each measurement runs in a fresh Python process (so each tool pays its own
imports, as a command-line run does), the three tools alternated, ``--repeats``
rounds; the minimum CPU time of each tool is kept (the machine is shared: the
minimum is the least disturbed run).

Audio: the bundled two-channel fixture dialogue repeated to the target
length, written as a 16 kHz 16-bit stereo WAV in a temp folder.

* ours: ``prosody analyze``'s work end to end (decode, pipeline, session
  summary), in process, CPU seconds (time.process_time);
* Praat: parselmouth ``to_pitch(time_step=0.01, pitch_floor=50,
  pitch_ceiling=600)`` + ``to_intensity(minimum_pitch=50, time_step=0.01)`` on
  each of the two channels;
* openSMILE: eGeMAPSv02 low-level descriptors on each channel.

Targets (issue 13): ours <= 0.8 x Praat pitch+intensity; ours <= 0.25 x
openSMILE; peak memory does not grow with length beyond the per-frame results.

    python benchmarks/speed.py [--minutes 10] [--repeats 3] [--memory]
    python benchmarks/speed.py --stages [--minutes 10] [--repeats 3]   # CPU per pipeline stage
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO, timed


def make_audio(path: Path, minutes: float) -> float:
    x, sr = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="int16")
    n = int(minutes * 60 * sr)
    reps = int(np.ceil(n / len(x)))
    with sf.SoundFile(path, "w", sr, 2, "PCM_16") as f:
        for _ in range(reps):
            f.write(x[: min(len(x), n)])
            n -= len(x)
            if n <= 0:
                break
    return sf.info(path).duration


PRAAT_MAX = 0.8
OPENSMILE_MAX = 0.25


def cpu_in_fresh_process(name: str, path: Path) -> float:
    """CPU seconds of ``name(path)`` (imports included) in a new interpreter."""
    code = ("import sys, time; sys.path.insert(0, %r); sys.path.insert(0, %r); import speed;"
            "t0 = time.process_time(); getattr(speed, %r)(__import__('pathlib').Path(%r));"
            "print(time.process_time() - t0)") % (str(REPO), str(Path(__file__).parent), name, str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def ours(path: Path):
    from prosody.session import analyze_blocks
    from prosody.engine.sources import FileSource, Layout
    src = FileSource([str(path)], Layout(("therapist", "client"), ((0, 0), (0, 1))))
    s = analyze_blocks(src, ("therapist", "client"))
    return s.to_json_dict()


def praat(path: Path):
    import parselmouth
    x, sr = sf.read(path, dtype="float64")
    for c in range(x.shape[1]):
        snd = parselmouth.Sound(x[:, c], sampling_frequency=sr)
        snd.to_pitch(time_step=0.01, pitch_floor=50.0, pitch_ceiling=600.0)
        snd.to_intensity(minimum_pitch=50.0, time_step=0.01)


def opensmile_lld(path: Path):
    import opensmile
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.LowLevelDescriptors)
    x, sr = sf.read(path, dtype="float32")
    for c in range(x.shape[1]):
        smile.process_signal(x[:, c], sr)


def peak_rss_mb(path: Path) -> float:
    code = ("import sys, resource; sys.path.insert(0, %r); sys.path.insert(0, %r);"
            "import speed; speed.ours(__import__('pathlib').Path(%r));"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)") % (
        str(REPO), str(Path(__file__).parent), str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


# --stages: the CPU of each pipeline stage inside ours(), process time within the named methods (a stage
# that calls another includes it: "cross-talk" is inside "voice activity + cross-talk")
STAGES = (("prosody.engine.pitch", "PitchTracker", "push", "pitch"),
          ("prosody.engine.vad", "RawVad", "push_detail", "voice activity (raw)"),
          ("prosody.engine.vad", "BleedDetector", "push", "voice activity + cross-talk"),
          ("prosody.engine.crosstalk", "CrossTalk", "push", "cross-talk"),
          ("prosody.engine.vad", "ClickMarks", "push", "click marks"),
          ("prosody.engine.vad", "SpeechSmoother", "push", "smoother"),
          ("prosody.engine.voice_quality", "VoiceQualityTracker", "push_frames", "voice quality"),
          ("prosody.measures.rolling", "RollingMeasures", "push", "rolling measures"))


def stage_cpu(path: Path, repeats: int) -> tuple[float, dict[str, float]]:
    """ours(path) in this process ``repeats`` times after one warm-up: the minimum total CPU and per
    stage the minimum CPU inside its method."""
    import importlib
    import time
    cpu: dict[str, float] = {}
    for mod, cls, meth, label in STAGES:
        c = getattr(importlib.import_module(mod), cls)
        setattr(c, meth, timed(cpu, label, getattr(c, meth)))
    ours(path)
    best: dict[str, float] = {}
    total = float("inf")
    for _ in range(repeats):
        cpu.clear()
        t = time.process_time()
        ours(path)
        total = min(total, time.process_time() - t)
        for k, v in cpu.items():
            best[k] = min(best.get(k, float("inf")), v)
    return total, best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--memory", action="store_true", help="also compare peak memory at 10 and 60 minutes")
    ap.add_argument("--repeats", type=int, default=3, help="alternated rounds; the minimum CPU time is kept")
    ap.add_argument("--stages", action="store_true",
                    help="only prosody's CPU per pipeline stage, in this process (no anchors, no target)")
    args = ap.parse_args()
    if args.stages:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "long.wav"
            dur = make_audio(path, args.minutes)
            total, best = stage_cpu(path, args.repeats)
            print(f"audio: {dur / 60:.1f} min, 2 channels; CPU s, minimum of {args.repeats} in-process runs")
            print(f"{'prosody (end to end, without imports)':40} {total:6.2f}")
            for _, _, _, label in STAGES:
                print(f"  {label:38} {best.get(label, 0.0):6.2f}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        dur = make_audio(path, args.minutes)
        print(f"audio: {dur / 60:.1f} min, 2 channels, 16 kHz; {args.repeats} alternated rounds, fresh process each")
        names = (("ours", "prosody (end to end)"), ("praat", "Praat pitch+intensity"),
                 ("opensmile_lld", "openSMILE eGeMAPS LLD"))
        runs: dict[str, list[float]] = {n: [] for n, _ in names}
        for _ in range(args.repeats):
            for n, _ in names:
                runs[n].append(cpu_in_fresh_process(n, path))
        t = {n: min(v) for n, v in runs.items()}
        print(f"{'':28} {'CPU s (min)':>12} {'s per audio-min':>16}   all runs")
        for n, label in names:
            print(f"{label:28} {t[n]:12.2f} {t[n] / (dur / 60):16.3f}   " + " ".join(f"{v:.2f}" for v in runs[n]))
        r1, r2 = t["ours"] / t["praat"], t["ours"] / t["opensmile_lld"]
        print(f"ratio prosody/Praat     = {r1:.2f}  (target <= {PRAAT_MAX:.2f}): {'PASS' if r1 <= PRAAT_MAX else 'FAIL'}")
        print(f"ratio prosody/openSMILE = {r2:.2f}  (target <= {OPENSMILE_MAX:.2f}): "
              f"{'PASS' if r2 <= OPENSMILE_MAX else 'FAIL'}")
        failures = int(r1 > PRAAT_MAX) + int(r2 > OPENSMILE_MAX)
        if args.memory:
            rss = {}
            for m in (10, 60):
                p = Path(tmp) / f"m{m}.wav"
                make_audio(p, m)
                rss[m] = peak_rss_mb(p)
                p.unlink()
            frames_mb = (60 - 10) * 60 * 100 * 2 * 13 / 1e6  # per-frame results: 13 bytes/frame/speaker
            growth = rss[60] - rss[10]
            print(f"peak RSS: 10 min {rss[10]:.0f} MB, 60 min {rss[60]:.0f} MB, growth {growth:.0f} MB "
                  f"(per-frame results for the extra 50 min: {frames_mb:.0f} MB)")
            ok = growth <= 3 * frames_mb + 20
            print(f"memory grows only with per-frame results: {'PASS' if ok else 'FAIL'}")
            failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
