"""CPU cost of speaker attribution / diarization, per stage, and a check that a
change of the code leaves its output as it was (issue 9: at most 0.02 CPU s per
audio s and 500 MB).

For every recording of a split of ``benchmarks/diarization.py`` (espeak-ng and AMI
two-voice mixes, one-voice recordings) plus AMI dev00 / dev01 as they are: the CPU
seconds of ``speakers.attribute`` per audio second, split by stage (process time
inside the named functions; the retry's and the restart's figures include the stages they run), and
the labels it gave (voices, per-frame owner and activity). ``--save`` writes the
labels, ``--compare`` checks a later run gives exactly the same; ``--ten`` adds
the 10-minute mono cost and peak-memory probe of ``benchmarks/diarization.py``.

    python benchmarks/diarization_cost.py --split tune [--cache DIR] [--save F.npz | --compare F.npz] [--ten]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import corpus_dir, timed
from diarization import ami_cases, espeak_cases, peak_memory_mb, single_voice_cases

import prosody.engine.diarize as D
from prosody.engine import embedding as E
from prosody.engine.speakers import attribute

STAGES = {D: ("speech_mask", "mel_frames_at", "_frame_f0_st", "_viterbi", "_viterbi2", "_two_model_gain",
              "_minority_seed", "_seed_embedding_z", "_minority_retry", "_finer_restart", "_subcluster_restart",
              "_utterance_restart", "_run_look",
              "kmeans2")}
CPU: dict[str, float] = defaultdict(float)


def instrument() -> None:
    for mod, names in STAGES.items():
        for nm in names:
            setattr(mod, nm, timed(CPU, nm, getattr(mod, nm)))
    E.VoiceEncoder.embed_windows = timed(CPU, "encoder", E.VoiceEncoder.embed_windows)
    E.VoiceEncoder.embed_windows_and_prefixes = timed(CPU, "encoder", E.VoiceEncoder.embed_windows_and_prefixes)
    D._DiagGmm._fit = timed(CPU, "gmm fit", D._DiagGmm._fit)  # every fit, of copied rows or of_rows
    D._DiagGmm.loglik = timed(CPU, "gmm score", D._DiagGmm.loglik)


def material(split: str, cache: Path | None):
    """(name, audio) of every recording; cached as .npy under ``cache`` (the material is
    deterministic; espeak-ng synthesis is the slow part)."""
    if cache is not None and (cache / f"{split}.txt").exists():
        for i, name in enumerate((cache / f"{split}.txt").read_text().splitlines()):
            yield name, np.load(cache / f"{split}_{i}.npy")
        return
    names = []

    def gen():
        for nm, x, _, _ in espeak_cases(split, False):
            yield nm, x
        for nm, x, _ in ami_cases(split, False):
            yield nm, x
        yield from single_voice_cases(split, False)
        corpus = corpus_dir()
        if corpus is not None and split == "tune":
            for uri in ("dev00", "dev01"):
                yield f"AMI {uri} as is", sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")[0]
    for nm, x in gen():
        if cache is not None:
            np.save(cache / f"{split}_{len(names)}.npy", x)
        names.append(nm)
        yield nm, x
    if cache is not None:
        (cache / f"{split}.txt").write_text("\n".join(names))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="tune")
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--save", type=Path)
    ap.add_argument("--compare", type=Path)
    ap.add_argument("--ten", action="store_true", help="also the 10-minute mono cost / memory probe")
    args = ap.parse_args()
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
    if args.ten:
        mem = peak_memory_mb()
        print(f"10 min mono: {mem['cpu_per_s']:.4f} CPU s per audio s, peak {mem['peak_mb'] - mem['base_mb']:.0f} MB "
              f"over baseline, voices {mem['voices']}", flush=True)
    instrument()
    ref = dict(np.load(args.compare)) if args.compare else None
    saved, same, differ, rates = {}, 0, [], []
    total = defaultdict(float)
    audio_total = 0.0
    for i, (name, x) in enumerate(material(args.split, args.cache)):
        CPU.clear()
        t = time.process_time()
        att = attribute(x)
        cpu = time.process_time() - t
        audio_s = len(x) / 16000
        audio_total += audio_s
        for k, v in CPU.items():
            total[k] += v
        d = att.diarization
        lab = np.zeros(0, np.int8) if d is None else np.concatenate([[d.n_voices], d.owner, d.activity.ravel()])
        saved[f"r{i}"] = lab.astype(np.int8)
        ok = None
        if ref is not None:
            ok = f"r{i}" in ref and np.array_equal(ref[f"r{i}"], saved[f"r{i}"])
            same += bool(ok)
            if not ok:
                differ.append(name)
        rates.append(cpu / audio_s)
        stages = " ".join(f"{k}={v / audio_s:.4f}" for k, v in sorted(CPU.items(), key=lambda kv: -kv[1]) if v > 0.01)
        print(f"{name:52} {audio_s:6.1f} s  {cpu / audio_s:.4f} CPU s/s  voices "
              f"{d.n_voices if d else '-'}  {'' if ok is None else ('same' if ok else 'DIFFERENT')}  [{stages}]",
              flush=True)
    print(f"\nsplit {args.split}: {len(rates)} recordings, CPU s per audio s min {min(rates):.4f} "
          f"median {np.median(rates):.4f} max {max(rates):.4f}; pooled stages per audio s: "
          + " ".join(f"{k}={v / audio_total:.4f}" for k, v in sorted(total.items(), key=lambda kv: -kv[1])))
    if ref is not None:
        print(f"labels identical to {args.compare}: {same}/{len(rates)}" + (f"; different: {differ}" if differ else ""))
    if args.save:
        np.savez_compressed(args.save, **saved)
    return 0 if not differ else 1


if __name__ == "__main__":
    sys.exit(main())
