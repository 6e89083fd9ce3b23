"""Pitch accuracy and speed: prosody's PitchTracker against Praat, pYIN and SwiftF0.

Data: PTDB-TUG sentence ``sa1`` of speakers F01 and M01 (microphone signal,
48 kHz, resampled to 16 kHz with soxr HQ) with the database's RAPT-on-laryngograph
reference (Pirker et al. 2011). Reference row ``k`` is centred at
``k * 0.010 + 0.016`` s; it is scored against the grid frame whose centre
``(i + 0.5) * 0.010`` s is nearest (``i = k + 1``, 1 ms apart).

Conditions: clean; white noise at 20, 10 and 0 dB SNR (seeded, SNR over the
whole signal's power); band-limited 300-3400 Hz (telephone band, Butterworth
order 8, zero phase).

Scores (frames aligned to the reference):

* GPE   % of frames voiced in both whose estimate is off by more than 20 %
* VDE   % of frames whose voiced/unvoiced decision differs from the reference
* FPE   median absolute error in cents over voiced-in-both frames without gross error
* RPA50 % of reference-voiced frames estimated voiced and within 50 cents
* CPU   process CPU seconds per second of audio (``time.process_time``); ours
        includes building the tracker. Ours and Praat are timed first, alternately
        on each signal, keeping the minimum of ``--repeats`` runs; the speed target
        is their ratio.

Every method is put on the one 10 ms grid:

* Praat ``Sound.to_pitch(time_step=0.01, pitch_floor=50, pitch_ceiling=600)``:
  the Praat frame nearest to each grid centre (its frames are centred in the
  signal; for these files they fall exactly on grid centres).
* librosa ``pyin(fmin=50, fmax=600, sr=16000, hop_length=160, center=True)`` on
  the signal with its first 80 samples dropped, so that its frame ``j`` (centred
  at sample ``j * 160`` of the trimmed signal) is centred at grid centre ``j``.
* SwiftF0 (``swift_f0.SwiftF0(spin=False).detect``, 16 ms hop, frame ``k`` centred at
  ``k * 0.016`` s): voicing from the nearest frame (confidence >= 0.5), pitch
  interpolated linearly in log frequency at the grid centre.

A diagnostic table (no target) repeats the clean FPE with the reference taken
as centred 0-10 ms later than stated, to show how much of the fine error is the
reference's timing.

Run: ``.venv/bin/python benchmarks/pitch_accuracy.py [--quick] [--repeats N]``.
``--quick`` skips pYIN and SwiftF0. Exit status 0 when every target passes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prosody.config import PitchConfig  # noqa: E402
from prosody.engine.pitch import PitchTracker  # noqa: E402
from prosody.timebase import GRID  # noqa: E402

SPEAKERS = ("F01", "M01")
CONDITIONS = ("clean", "snr20", "snr10", "snr0", "band")
CONDITION_LABELS = {
    "clean": "clean",
    "snr20": "white 20 dB",
    "snr10": "white 10 dB",
    "snr0": "white 0 dB",
    "band": "300-3400 Hz",
}
FMIN_HZ = 50.0
FMAX_HZ = 600.0
REF_FIRST_CENTRE_S = 0.016
REF_HOP_S = 0.010
GROSS_RATIO = 0.2

# targets for our tracker
FPE_MAX_CENTS = 15.0
VDE_MAX_ABOVE_PRAAT = 2.0
BAND_GPE_MAX_PCT = 2.0
SPEED_RATIO_MAX = 0.5


def corpus_dir() -> Path:
    env = os.environ.get("PROSODY_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "corpus"


@dataclass(frozen=True)
class Utterance:
    speaker: str
    samples: np.ndarray  # float64, shape (n,), 16 kHz
    ref_f0_hz: np.ndarray  # float64, shape (rows,), 0 = unvoiced
    ref_frame: np.ndarray  # int, shape (rows,), grid frame index of each reference row


def load_utterance(speaker: str, *, root: Path | None = None) -> Utterance:
    """Read one PTDB-TUG microphone signal and its reference, on the 16 kHz grid."""
    base = (root or corpus_dir()) / "PTDB-TUG"
    x, sr = soundfile.read(base / f"mic_{speaker}_sa1.wav", dtype="float64")
    if x.ndim == 2:
        x = x.mean(axis=1)
    y = soxr.resample(x, sr, GRID.sample_rate, quality="HQ")
    ref = np.loadtxt(base / f"ref_{speaker}_sa1.f0", ndmin=2)
    centre_s = REF_FIRST_CENTRE_S + REF_HOP_S * np.arange(len(ref))
    frame = np.rint(centre_s / GRID.hop_s - 0.5).astype(int)
    return Utterance(speaker, y, ref[:, 0], frame)


def make_condition(y: np.ndarray, condition: str, *, seed: int) -> np.ndarray:
    """Degrade a clean 16 kHz signal ``y`` (shape (n,)) as named by ``condition``."""
    if condition == "clean":
        return y
    if condition.startswith("snr"):
        snr_db = float(condition[3:])
        rng = np.random.default_rng(seed)
        power = float(np.mean(y * y))
        return y + rng.standard_normal(len(y)) * np.sqrt(power / 10.0 ** (snr_db / 10.0))
    if condition == "band":
        sos = scipy.signal.butter(8, [300.0, 3400.0], btype="bandpass", fs=GRID.sample_rate, output="sos")
        return scipy.signal.sosfiltfilt(sos, y)
    raise ValueError(f"unknown condition {condition!r}")


def n_grid_frames(n_samples: int) -> int:
    return -(-n_samples // GRID.hop_length)


# ---- methods: each returns (f0_hz on the grid with NaN = unvoiced, cpu_s) ----

def run_ours(y: np.ndarray) -> tuple[np.ndarray, float]:
    t0 = time.process_time()
    tracker = PitchTracker(PitchConfig(fmin_hz=FMIN_HZ, fmax_hz=FMAX_HZ))
    a = tracker.push(y)
    b = tracker.flush()
    cpu_s = time.process_time() - t0
    return np.concatenate([a.f0_hz, b.f0_hz]).astype(np.float64), cpu_s


def run_praat(y: np.ndarray) -> tuple[np.ndarray, float]:
    import parselmouth

    sound = parselmouth.Sound(y, sampling_frequency=GRID.sample_rate)
    t0 = time.process_time()
    pitch = sound.to_pitch(time_step=0.01, pitch_floor=FMIN_HZ, pitch_ceiling=FMAX_HZ)
    cpu_s = time.process_time() - t0
    f = pitch.selected_array["frequency"].astype(np.float64)
    f[f <= 0] = np.nan
    times = pitch.xs()
    centres = GRID.frame_centre_s(np.arange(n_grid_frames(len(y))))
    j = np.rint((centres - times[0]) / pitch.dx).astype(int)
    ok = (j >= 0) & (j < len(f))
    out = np.full(len(centres), np.nan)
    out[ok] = f[j[ok]]
    return out, cpu_s


def run_pyin(y: np.ndarray) -> tuple[np.ndarray, float]:
    import librosa

    half_hop = GRID.hop_length // 2
    t0 = time.process_time()
    f0, _, _ = librosa.pyin(y[half_hop:], fmin=FMIN_HZ, fmax=FMAX_HZ, sr=GRID.sample_rate,
                            frame_length=1024, hop_length=GRID.hop_length, center=True)
    cpu_s = time.process_time() - t0
    n = n_grid_frames(len(y))
    out = np.full(n, np.nan)
    m = min(n, len(f0))
    out[:m] = f0[:m]
    return out, cpu_s


_SWIFT = None


def run_swift(y: np.ndarray) -> tuple[np.ndarray, float]:
    global _SWIFT
    import swift_f0

    if _SWIFT is None:
        _SWIFT = swift_f0.SwiftF0(spin=False)  # spinning pool threads would bill CPU to later timings
        _SWIFT.detect(np.zeros(GRID.sample_rate, np.float32), GRID.sample_rate)
    t0 = time.process_time()
    res = _SWIFT.detect(y.astype(np.float32), GRID.sample_rate, fmin=FMIN_HZ, fmax=FMAX_HZ)
    cpu_s = time.process_time() - t0
    centres = GRID.frame_centre_s(np.arange(n_grid_frames(len(y))))
    near = np.clip(np.rint(centres / swift_f0.FRAME_PERIOD).astype(int), 0, len(res.pitch_hz) - 1)
    voiced = res.confidence[near] >= 0.5
    log_f = np.interp(centres, res.timestamps, np.log(np.maximum(res.pitch_hz, 1e-3)))
    return np.where(voiced, np.exp(log_f), np.nan), cpu_s


METHODS = {"ours": run_ours, "praat": run_praat, "pyin": run_pyin, "swift": run_swift}


def score(est_f0_hz: np.ndarray, utt: Utterance) -> dict[str, float]:
    """GPE, VDE, FPE (median cents), RPA50 of a grid track against the reference."""
    ok = (utt.ref_frame >= 0) & (utt.ref_frame < len(est_f0_hz))
    ref = utt.ref_f0_hz[ok]
    est = est_f0_hz[utt.ref_frame[ok]]
    ref_v = ref > 0
    est_v = np.isfinite(est) & (est > 0)
    both = ref_v & est_v
    ratio = np.where(both, est, 1.0) / np.where(both, ref, 1.0)
    gross = both & (np.abs(ratio - 1.0) > GROSS_RATIO)
    fine = both & ~gross
    cents = np.abs(1200.0 * np.log2(ratio))
    return {
        "gpe": 100.0 * gross.sum() / max(both.sum(), 1),
        "vde": 100.0 * (ref_v != est_v).sum() / len(ref),
        "fpe": float(np.median(cents[fine])) if fine.any() else float("nan"),
        "rpa": 100.0 * (ref_v & est_v & (cents <= 50.0)).sum() / max(ref_v.sum(), 1),
    }


def alignment_diagnostic(signals) -> None:
    """FPE (cents) on the clean signals if the reference rows were centred ``delay_ms`` later.

    Not a target: it shows how much of the fine error is the reference's timing.
    Both trackers are re-run on the signal with its first ``delay_ms`` dropped,
    so that grid frame ``i`` is centred at ``(i + 0.5) * 10 ms + delay_ms``.
    """
    delays_ms = (0, 2, 4, 6, 8, 10)
    print("diagnostic (not a target): clean FPE in cents if the reference were centred d ms later")
    print(f"{'':<12} {'spk':<4}" + "".join(f"{f'd={d}':>8}" for d in delays_ms))
    for cond, spk, utt, y in signals:
        if cond != "clean":
            continue
        for m in ("ours", "praat"):
            row = f"{m:<12} {spk:<4}"
            for d in delays_ms:
                f0, _ = METHODS[m](y[d * GRID.sample_rate // 1000:])
                f0 = np.concatenate([f0, np.full(d + 2, np.nan)])
                row += f"{score(f0, utt)['fpe']:8.1f}"
            print(row)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip pYIN and SwiftF0")
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats for ours and Praat (min is kept)")
    args = ap.parse_args(argv)
    if not (corpus_dir() / "PTDB-TUG").is_dir():
        print(f"corpus not found at {corpus_dir()}; set PROSODY_CORPUS")
        return 2
    methods = ["ours", "praat"] if args.quick else ["ours", "praat", "pyin", "swift"]
    signals = []
    for si, spk in enumerate(SPEAKERS):
        utt = load_utterance(spk)
        for ci, cond in enumerate(CONDITIONS):
            signals.append((cond, spk, utt, make_condition(utt.samples, cond, seed=1000 * si + ci)))
    audio_s = sum(len(y) for *_, y in signals) / GRID.sample_rate
    # timing pass first, ours and Praat interleaved on the same signal (fair under
    # background load), min over repeats; the baselines run only afterwards
    cpu: dict[str, list[float]] = {m: [] for m in methods}
    for *_, y in signals:
        best = {"ours": np.inf, "praat": np.inf}
        for _ in range(args.repeats):
            for m in best:
                best[m] = min(best[m], METHODS[m](y)[1])
        for m in best:
            cpu[m].append(best[m])
    results: dict[tuple[str, str, str], dict[str, float]] = {}
    for cond, spk, utt, y in signals:
        for m in methods:
            f0, c = METHODS[m](y)
            if m not in ("ours", "praat"):
                cpu[m].append(c)
            results[(cond, spk, m)] = score(f0, utt)

    metrics = [("gpe", "GPE %", "{:6.1f}"), ("vde", "VDE %", "{:6.1f}"),
               ("fpe", "FPE cents", "{:6.1f}"), ("rpa", "RPA50 %", "{:6.1f}")]
    head1 = f"{'condition':<12} {'spk':<4}"
    head2 = " " * 17
    for _, title, _ in metrics:
        w = 7 * len(methods)
        head1 += f"|{title:^{w}}"
        head2 += "|" + "".join(f"{m:>7}" for m in methods)
    print(head1)
    print(head2)
    for cond in CONDITIONS:
        for spk in SPEAKERS:
            line = f"{CONDITION_LABELS[cond]:<12} {spk:<4}"
            for key, _, fmt in metrics:
                line += "|" + "".join(" " + fmt.format(results[(cond, spk, m)][key]) for m in methods)
            print(line)
    print()
    print("CPU s per s of audio: " + "  ".join(f"{m} {sum(cpu[m]) / audio_s:.5f}" for m in methods))
    ratio = sum(cpu["ours"]) / sum(cpu["praat"])
    print(f"speed: ours / Praat to_pitch CPU = {ratio:.3f}")
    print()
    alignment_diagnostic(signals)
    print()

    failures = 0

    def verdict(ok: bool, text: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {text}")

    # The corpus notes call the reference centring (k*10 ms + 16 ms) rough. Estimate it
    # independently of our tracker: per speaker, the delay (0-10 ms) that minimises
    # Praat's clean FPE; then score every condition of ours and Praat at that delay.
    est_fpe: dict[tuple[str, str, str], float] = {}
    best_d: dict[str, int] = {}
    for cond, spk, utt, y in signals:
        if cond == "clean":
            def fpe_at(m, d, y=y, utt=utt):
                f0, _ = METHODS[m](y[d * GRID.sample_rate // 1000:])
                return score(np.concatenate([f0, np.full(d + 2, np.nan)]), utt)["fpe"]
            best_d[spk] = min(range(0, 11), key=lambda d: fpe_at("praat", d))
    for cond, spk, utt, y in signals:
        d = best_d[spk]
        for m in ("ours", "praat"):
            f0, _ = METHODS[m](y[d * GRID.sample_rate // 1000:])
            est_fpe[(cond, spk, m)] = score(np.concatenate([f0, np.full(d + 2, np.nan)]), utt)["fpe"]
    print("FPE (median cents) with the reference centring estimated from Praat (clean audio): "
          + ", ".join(f"{s_} +{d} ms" for s_, d in best_d.items()))
    print(f"{'condition':<12} {'spk':<4}{'ours':>8}{'praat':>8}")
    for cond in CONDITIONS:
        for spk in SPEAKERS:
            print(f"{CONDITION_LABELS[cond]:<12} {spk:<4}{est_fpe[(cond, spk, 'ours')]:8.1f}"
                  f"{est_fpe[(cond, spk, 'praat')]:8.1f}")
    print()

    for cond in CONDITIONS:
        for spk in SPEAKERS:
            o, p = results[(cond, spk, "ours")], results[(cond, spk, "praat")]
            tag = f"{CONDITION_LABELS[cond]:<12} {spk}"
            verdict(o["gpe"] <= p["gpe"], f"{tag}: GPE {o['gpe']:.2f} % <= Praat {p['gpe']:.2f} %")
            if cond == "band":
                verdict(o["gpe"] <= BAND_GPE_MAX_PCT, f"{tag}: GPE {o['gpe']:.2f} % <= {BAND_GPE_MAX_PCT} %")
            verdict(o["vde"] <= p["vde"] + VDE_MAX_ABOVE_PRAAT,
                    f"{tag}: VDE {o['vde']:.2f} % <= Praat {p['vde']:.2f} % + {VDE_MAX_ABOVE_PRAAT}")
            verdict(o["fpe"] <= FPE_MAX_CENTS, f"{tag}: FPE {o['fpe']:.1f} cents <= {FPE_MAX_CENTS} "
                                              f"(stated centring; Praat {p['fpe']:.1f})")
            e = est_fpe[(cond, spk, "ours")]
            verdict(e <= FPE_MAX_CENTS, f"{tag}: FPE {e:.1f} cents <= {FPE_MAX_CENTS} "
                                        f"(Praat-estimated centring; Praat {est_fpe[(cond, spk, 'praat')]:.1f})")
    verdict(ratio <= SPEED_RATIO_MAX, f"speed ratio {ratio:.3f} <= {SPEED_RATIO_MAX}")
    print(f"{failures} target(s) failed" if failures else "all targets pass")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
