"""Voice quality against Praat (parselmouth) and against planted truth.

Ours: the full pipeline (``prosody.session.analyze_blocks``, one channel) and
its ``measures.voice_quality`` (jitter local, shimmer local, HNR, CPPS over
the voiced speech frames). Synthetic sustained voices are not speech to the
VAD (webrtcvad does not call a steady buzz speech), so for them the tracker
is fed the pipeline's F0 track with every frame taken as speech. Praat on the same 16 kHz samples, with its
defaults from the manual:

* ``To PointProcess (periodic, cc)`` 75-600 Hz; ``Get jitter (local)`` 0, 0,
  0.0001, 0.02, 1.3; ``Get shimmer (local)`` ... 1.3, 1.6 (whole file: pulses
  exist only where Praat finds voicing);
* ``To Harmonicity (cc)`` 0.01 s, 75 Hz, 0.1, 1.0; ``Get mean`` (Praat's own
  voiced frames);
* ``To PowerCepstrogram`` 60 Hz, 0.002 s, 5000 Hz, 50 Hz; ``Get CPPS`` no,
  0.02, 0.0005, 60-330 Hz, 0.05, Parabolic, 0.001-0, Straight, Robust, on the
  concatenation of the voiced runs ours analysed (Praat's CPPS averages every
  frame of what it is given, silence included).

Material: synthetic voices (band-limited pulse trains through a glottal
roll-off and one formant) with planted jitter, shimmer and white noise over
pitches 90-250 Hz, two formant bandwidths (pole radius 0.9 and 0.97, by
seed) and two seeds; PTDB-TUG sentences (F01, M01; 48 kHz
resampled to 16 kHz); the six 30 s AMI excerpts (mono mixes: several voices
in one channel, both tools given the same samples). Nothing in prosody's
voice-quality code was tuned on these files: its parameters are Praat's.

Tolerances (ours vs Praat): jitter within max(0.1 percentage points, 15 %),
shimmer within max(0.5 pp, 15 %), HNR within 1.5 dB, CPPS within 1.5 dB.
Against planted truth (synthetic): jitter within max(0.1 pp, 15 %) and
shimmer within max(0.5 pp, 15 %) on voices without noise (noise adds both);
HNR within 1.5 dB on voices without jitter and shimmer (both lower it).

Run: ``.venv/bin/python benchmarks/voice_quality.py [--quick]``; exit status 0
when every comparison passes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from _common import AMI_FILES, corpus_dir

from tests.voice_synth import synthetic_voice

from prosody.engine.voice_quality import VoiceQualityTracker, summarize_chunks
from prosody.session import analyze_blocks

TOL = {"jitter_local": (0.001, 0.15), "shimmer_local": (0.005, 0.15), "hnr_db": (1.5, 0.0), "cpps_db": (1.5, 0.0)}
KEYS = ("jitter_local", "shimmer_local", "hnr_db", "cpps_db")


def ours(x: np.ndarray, *, all_speech: bool = False):
    """The pipeline's voice quality of ``x`` (one speaker) and its voiced runs.
    ``all_speech``: feed the tracker the pipeline's F0 with every frame taken as
    speech (synthetic sustained voices: webrtcvad does not call a steady buzz
    speech, so the VAD would leave only fragments of them)."""
    s = analyze_blocks([x[:, None]], ("speaker",))
    if not all_speech:
        return s.measures.voice_quality["speaker"], list(s.voice_quality)
    tr = VoiceQualityTracker("speaker")
    tr.push_samples(x)
    f0 = s.frames["speaker"]["f0_hz"]
    runs = tr.push_frames(np.ones(len(f0), bool), f0) + tr.flush()
    return summarize_chunks(runs), runs


def praat(x: np.ndarray, runs) -> dict:
    """Praat's figures on the voiced runs ours analysed: the signal with
    everything else set to zero (jitter, shimmer, HNR: Praat finds no pulses and
    no harmonicity in digital silence) and the runs joined end to end (CPPS,
    which averages every frame it is given)."""
    import parselmouth
    from parselmouth.praat import call
    keep = np.zeros(len(x), bool)
    for c in runs:
        keep[int(round(c.start_s * 16000)):int(round(c.end_s * 16000))] = True
    snd = parselmouth.Sound(np.where(keep, x, 0.0).astype(np.float64), 16000)
    pp = call(snd, "To PointProcess (periodic, cc)", 75, 600)
    out = {"jitter_local": call(pp, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3),
           "shimmer_local": call([snd, pp], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6),
           "hnr_db": call(call(snd, "To Harmonicity (cc)", 0.01, 75, 0.1, 1.0), "Get mean", 0, 0)}
    voiced = x[keep]
    if len(voiced) > 0.2 * 16000:
        pc = call(parselmouth.Sound(voiced.astype(np.float64), 16000), "To PowerCepstrogram", 60, 0.002, 5000, 50)
        out["cpps_db"] = call(pc, "Get CPPS", False, 0.02, 0.0005, 60, 330, 0.05, "Parabolic", 0.001, 0,
                              "Straight", "Robust")
    else:
        out["cpps_db"] = None
    return {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in out.items()}


def within(key: str, a, b) -> bool | None:
    if a is None or b is None:
        return None
    abs_tol, rel_tol = TOL[key]
    return abs(a - b) <= max(abs_tol, rel_tol * abs(b))


def fmt(key: str, v) -> str:
    if v is None:
        return "–"
    return f"{v * 100:.2f}%" if key in ("jitter_local", "shimmer_local") else f"{v:.2f}"


def load_16k(path) -> np.ndarray:
    import soundfile as sf
    import soxr
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y[:, 0]
    return soxr.resample(y, sr, 16000).astype(np.float32) if sr != 16000 else y


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer synthetic voices, no AMI")
    args = ap.parse_args(argv)
    results = []   # (label, key, ours, reference, ok, against)

    print("Voice quality: prosody vs Praat (parselmouth) and vs planted truth\n")
    print(f"{'signal':<34} {'measure':<14} {'ours':>9} {'Praat':>9} {'planted':>9}  vs Praat  vs planted")
    # (f0, jitter, shimmer, SNR dB, which planted figures are truth)
    # jitter and shimmer are truth without noise (noise adds both); HNR is truth without jitter and
    # shimmer (both lower the harmonicity); the mixed voices are compared with Praat only
    conds = [(90, 0.005, 0.02, None, "js"), (120, 0.01, 0.05, None, "js"), (180, 0.02, 0.03, None, "js"),
             (240, 0.01, 0.1, None, "js"), (150, 0.003, 0.01, None, "js"),
             (100, 0.0, 0.0, 20, "h"), (140, 0.0, 0.0, 15, "h"), (200, 0.0, 0.0, 10, "h"), (250, 0.0, 0.0, 5, "h"),
             (120, 0.01, 0.03, 25, ""), (180, 0.02, 0.05, 15, ""), (110, 0.015, 0.1, 5, "")]
    seeds = (0,) if args.quick else (0, 1)
    for seed in seeds:
        for f0, jit, shim, snr, truth in conds:
            x, pj, ps, ph = synthetic_voice(f0_hz=f0, jitter=jit, shimmer=shim, snr_db=snr, seed=seed)
            vq, runs = ours(x, all_speech=True)
            pr = praat(x, runs)
            planted = {"jitter_local": pj if "j" in truth else None, "shimmer_local": ps if "s" in truth else None,
                       "hnr_db": ph if "h" in truth else None, "cpps_db": None}
            label = f"synth f0={f0} j={jit:.3f} s={shim:.2f} snr={snr} #{seed}"
            for key in KEYS:
                a, b, c = vq.get(key), pr.get(key), planted[key]
                ok_p, ok_t = within(key, a, b), within(key, a, c)
                results.append((label, key, ok_p, ok_t))
                print(f"{label:<34} {key:<14} {fmt(key, a):>9} {fmt(key, b):>9} {fmt(key, c):>9}  "
                      f"{_mark(ok_p):>8}  {_mark(ok_t):>9}")
    corpus = corpus_dir()
    if corpus is None:
        print("\n(corpus not found: PTDB-TUG and AMI comparisons skipped)")
    else:
        files = sorted((corpus / "PTDB-TUG").glob("mic_*.wav"))
        if not args.quick:
            files += [corpus / "pyannote-audio" / f"{u}.wav" for u in AMI_FILES]
        for f in files:
            x = load_16k(f)
            vq, runs = ours(x)
            pr = praat(x, runs)
            label = f.parent.name.split("-")[0] + "/" + f.stem
            for key in KEYS:
                a, b = vq.get(key), pr.get(key)
                ok_p = within(key, a, b)
                results.append((label, key, ok_p, None))
                print(f"{label:<34} {key:<14} {fmt(key, a):>9} {fmt(key, b):>9} {'':>9}  {_mark(ok_p):>8}")
    speed()
    print("\nTolerances: jitter max(0.1 pp, 15 %), shimmer max(0.5 pp, 15 %), HNR 1.5 dB, CPPS 1.5 dB")
    ok_all = True
    for key in KEYS:
        for idx, name in ((2, "vs Praat"), (3, "vs planted")):
            vals = [r[idx] for r in results if r[1] == key and r[idx] is not None]
            if not vals:
                continue
            n_ok = sum(vals)
            ok_all &= n_ok == len(vals)
            print(f"{key:<14} {name:<11} {n_ok}/{len(vals)} within tolerance  {'PASS' if n_ok == len(vals) else 'FAIL'}")
    print("overall:", "PASS" if ok_all else "FAIL")
    return 0 if ok_all else 1


def speed() -> None:
    """CPU cost on the fixture dialogue (40 s, two channels): the pipeline with
    and without the voice-quality stage, and Praat's four measures on the same
    channels as an anchor (process CPU seconds, best of 2)."""
    import time

    import parselmouth
    import soundfile as sf
    from parselmouth.praat import call

    from prosody.engine import voice_quality as vq
    audio, _ = sf.read(str(Path(__file__).resolve().parents[1] / "fixtures" / "dialogue.flac"), dtype="float32")

    def cpu(fn):
        best = float("inf")
        for _ in range(2):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
        return best

    def praat_all():
        for ch in range(audio.shape[1]):
            snd = parselmouth.Sound(audio[:, ch].astype(np.float64), 16000)
            pp = call(snd, "To PointProcess (periodic, cc)", 75, 600)
            call(pp, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
            call([snd, pp], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6)
            call(call(snd, "To Harmonicity (cc)", 0.01, 75, 0.1, 1.0), "Get mean", 0, 0)
            call(call(snd, "To PowerCepstrogram", 60, 0.002, 5000, 50), "Get CPPS", False, 0.02, 0.0005, 60, 330,
                 0.05, "Parabolic", 0.001, 0, "Straight", "Robust")

    with_vq = cpu(lambda: analyze_blocks([audio], ("therapist", "client")))
    push_frames, push_samples = vq.VoiceQualityTracker.push_frames, vq.VoiceQualityTracker.push_samples
    vq.VoiceQualityTracker.push_frames = lambda self, is_speech, f0_hz: []
    vq.VoiceQualityTracker.push_samples = lambda self, x: None
    try:
        without = cpu(lambda: analyze_blocks([audio], ("therapist", "client")))
    finally:
        vq.VoiceQualityTracker.push_frames, vq.VoiceQualityTracker.push_samples = push_frames, push_samples
    pr = cpu(praat_all)
    dur = len(audio) / 16000
    print(f"\nCPU on fixtures/dialogue.flac ({dur:.0f} s, 2 channels): pipeline {without:.2f} s without voice "
          f"quality, {with_vq:.2f} s with (+{with_vq - without:.2f} s, {(with_vq - without) / dur * 100:.1f} % of "
          f"real time); Praat's four measures on both whole channels: {pr:.2f} s "
          f"(ours / Praat = {(with_vq - without) / pr:.2f})")


def _mark(ok) -> str:
    return "–" if ok is None else ("PASS" if ok else "FAIL")


if __name__ == "__main__":
    sys.exit(main())
