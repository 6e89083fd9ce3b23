"""Pitch in noise on generated voices with exactly known F0: prosody vs Praat (vs pYIN).

Issue 13, part 1: octave errors of high voices in heavy noise. No corpus audio
is copied; the material is generated here, each signal with its planted F0
on the 10 ms grid:

* ``glottal``: a Rosenberg (1971) glottal-flow pulse train, differentiated
  (lip radiation), with 0.5 % jitter, 3 % shimmer and aspiration noise, on a
  planted contour (declination, pitch accents, drift) of base F0 70-400 Hz
  (clipped to 70-450 Hz), through a cascade of five formant resonators
  (vowels /a e i o u/ scaled for the speaker: male, female, child) in
  syllables of 100-350 ms with unvoiced gaps (silence or fricative noise);
  generated at 48 kHz and resampled, so the pulses do not alias;
* ``psola``: espeak-ng speech resynthesised with Praat's Manipulation
  (PSOLA overlap-add, via parselmouth) onto a planted contour; voiced where
  the manipulation's pulses are at most 20 ms apart (Praat's own pulse
  analysis of the clean espeak output: the one reference not independent
  of Praat).

Conditions: clean; white noise at 10 dB; white, pink and babble (a sum of six
other espeak-ng voices speaking other texts) at 5, 2.5 and 0 dB SNR (SNR over
the whole signal's power; each signal and condition has its own noise seed);
the telephone band (300-3400 Hz, Butterworth order 8, zero phase).

Sets: ``tune`` (glottal seeds 0-9, espeak voices en-us+f1, en+m3, en+f4 ...,
noise seeds from 0) and ``heldout`` (glottal seeds 100-111 on other base F0s,
other espeak voices and texts, noise seeds from 100000). The tracker's
constants were chosen on ``tune`` (and PTDB-TUG); ``heldout`` is the check.
``heldout2`` (glottal seeds 200-211 on yet other base F0s, six further espeak
voices, noise seeds from 200000) was added after the first round of tuning and
never used to choose a constant; ``--set all`` runs the three.

Scores per condition, pooled over the set's signals:

* GPE  % of frames voiced in reference and estimate whose estimate is off by
       more than 20 %
* VDE  % of frames whose voiced/unvoiced decision differs from the reference

Target (issue 13): prosody's GPE <= Praat's GPE + 0.5 points in every
condition of the held-out set (Praat: ``Sound.to_pitch(time_step=0.01,
pitch_floor=50, pitch_ceiling=600)``, the same range as prosody's default).

Run: ``.venv/bin/python benchmarks/pitch_noise.py [--set heldout|tune|both] [--pyin]``.
Exit status 0 when every target passes.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
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

SR = GRID.sample_rate
HOP = GRID.hop_length
FMIN_HZ, FMAX_HZ = 50.0, 600.0
GROSS_RATIO = 0.2
GPE_MARGIN_PTS = 0.5
GEN_SR = 48000

CONDITIONS = ("clean", "white10", "white5", "white2.5", "white0", "pink5", "pink2.5", "pink0",
              "babble5", "babble2.5", "babble0", "band")

# (F1, F2, F3, F4, F5) Hz of an adult male (Peterson & Barney 1952, rounded), scaled per speaker
VOWELS_HZ = {"a": (730, 1090, 2440, 3400, 4200), "e": (530, 1840, 2480, 3400, 4200),
             "i": (270, 2290, 3010, 3500, 4300), "o": (570, 840, 2410, 3400, 4200),
             "u": (300, 870, 2240, 3400, 4200)}
BANDWIDTHS_HZ = (80, 100, 140, 200, 260)

TEXTS_TUNE = ("The north wind and the sun were disputing which was the stronger.",
              "When a traveller came along wrapped in a warm cloak.",
              "They agreed that the one who first succeeded in making the traveller take his cloak off "
              "should be considered stronger than the other.")
TEXTS_HELD = ("Then the north wind blew as hard as he could, but the more he blew "
              "the more closely did the traveller fold his cloak around him.",
              "And at last the north wind gave up the attempt.",
              "Then the sun shined out warmly, and immediately the traveller took off his cloak.")
BABBLE_TEXTS = ("Please call Stella and ask her to bring these things with her from the store.",
                "Six spoons of fresh snow peas, five thick slabs of blue cheese.",
                "We also need a small plastic snake and a big toy frog for the kids.",
                "She can scoop these things into three red bags, and we will go meet her.",
                "A rainbow is a division of white light into many beautiful colours.",
                "These take the shape of a long round arch, with its path high above.")
BABBLE_VOICES = ("en+m1", "en+f2", "en-us+m4", "en+f5", "en-gb+m6", "en+klatt")

# set -> (glottal specs (seed, base_hz, speaker), psola specs (voice, espeak pitch, text, base_hz), noise seed base)
SETS = {
    "tune": (
        [(i, b, s) for i, (b, s) in enumerate([(85, "male"), (110, "male"), (140, "male"), (180, "female"),
                                                 (210, "female"), (240, "female"), (270, "female"),
                                                 (300, "child"), (340, "child"), (390, "child")])],
        [("en-us+f1", 70, TEXTS_TUNE[0], 230), ("en+m3", 40, TEXTS_TUNE[1], 120),
         ("en+f4", 60, TEXTS_TUNE[2], 300), ("en-gb+m2", 50, TEXTS_TUNE[0], 95)],
        0),
    "heldout": (
        [(100 + i, b, s) for i, (b, s) in enumerate([(75, "male"), (95, "male"), (125, "male"), (160, "male"),
                                                       (195, "female"), (225, "female"), (255, "female"),
                                                       (285, "female"), (320, "child"), (360, "child"),
                                                       (400, "child"), (250, "child")])],
        [("en-us+f3", 80, TEXTS_HELD[0], 260), ("en+m7", 35, TEXTS_HELD[1], 105),
         ("en+f1", 75, TEXTS_HELD[2], 330), ("en-gb+f2", 55, TEXTS_HELD[1], 210),
         ("en-us+m1", 45, TEXTS_HELD[2], 140)],
        100000),
    # a second held-out set, added after the subharmonic cost was tuned: new seeds, base F0s,
    # espeak voices and noise seeds (never used to choose a constant)
    "heldout2": (
        [(200 + i, b, s) for i, (b, s) in enumerate([(80, "male"), (105, "male"), (135, "male"), (175, "female"),
                                                       (205, "female"), (235, "female"), (265, "female"),
                                                       (295, "child"), (330, "child"), (375, "child"),
                                                       (420, "child"), (150, "male")])],
        [("en+f5", 85, TEXTS_HELD[0], 280), ("en-us+m5", 40, TEXTS_TUNE[1], 115),
         ("en+f2", 70, TEXTS_TUNE[2], 350), ("en-gb+m4", 50, TEXTS_HELD[2], 125),
         ("en+annie", 65, TEXTS_TUNE[0], 240), ("en-us+m8", 45, TEXTS_HELD[1], 90)],
        200000),
}
SPEAKER_SCALE = {"male": 1.0, "female": 1.17, "child": 1.3}


@dataclass(frozen=True)
class Signal:
    name: str
    samples: np.ndarray  # float64 (n,), 16 kHz
    ref_f0_hz: np.ndarray  # float64 (n_frames,), 0 = unvoiced, one per grid frame


def n_frames(n_samples: int) -> int:
    return -(-n_samples // HOP)


# ---------------------------------------------------------------- glottal voices

def _contour(rng, base_hz: float, t_s: np.ndarray, dur_s: float) -> np.ndarray:
    """Planted F0 (Hz) at times ``t_s``: declination, 2-4 accents, slow drift; within 70-450 Hz."""
    oct_ = -0.35 * t_s / dur_s + 0.15
    for c in rng.uniform(0.1, 0.9, rng.integers(2, 5)) * dur_s:
        oct_ += rng.uniform(0.15, 0.5) * np.exp(-0.5 * ((t_s - c) / rng.uniform(0.08, 0.2)) ** 2)
    knots = rng.normal(0.0, 0.06, int(dur_s / 0.25) + 2)
    oct_ += np.interp(t_s, np.linspace(0, dur_s, len(knots)), knots)
    return np.clip(base_hz * 2.0 ** oct_, 70.0, 450.0)


def resonator_cascade(x: np.ndarray, formants_hz, fs: int, *, bw_growth: float = 0.0) -> np.ndarray:
    """``x`` through one two-pole resonator per formant (bandwidths ``BANDWIDTHS_HZ``, unity gain at
    DC); ``bw_growth``: each bandwidth times max(1, f / 1500 Hz) ** bw_growth (0: as listed)."""
    for f, bw in zip(formants_hz, BANDWIDTHS_HZ):
        if f >= 0.45 * fs:
            continue
        r = np.exp(-np.pi * (bw * max(1.0, f / 1500.0) ** bw_growth if bw_growth else bw) / fs)
        a = [1.0, -2.0 * r * np.cos(2 * np.pi * f / fs), r * r]
        x = scipy.signal.lfilter([sum(a)], a, x)
    return x


def glottal_voice(seed: int, base_hz: float, speaker: str, dur_s: float = 3.0) -> Signal:
    """A synthetic voice with planted F0 (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = int(dur_s * GEN_SR)
    t = np.arange(n) / GEN_SR
    f0 = _contour(rng, base_hz, t, dur_s) * (1.0 + 0.005 * rng.standard_normal(n).cumsum() / np.sqrt(GEN_SR / 50))
    f0 = np.clip(f0, 70.0, 450.0)
    phase = np.cumsum(f0) / GEN_SR
    period = np.floor(phase).astype(np.int64)
    u = phase - period  # position in the period, 0..1
    tp, tn = rng.uniform(0.35, 0.45), rng.uniform(0.12, 0.2)  # opening and closing shares of the period
    flow = np.where(u < tp, 0.5 * (1 - np.cos(np.pi * u / tp)),
                    np.where(u < tp + tn, np.cos(0.5 * np.pi * (u - tp) / tn), 0.0))
    shimmer = 1.0 + 0.03 * rng.standard_normal(period[-1] + 2)
    src = np.diff(flow * shimmer[period], prepend=0.0)
    src = src / (np.abs(src).max() + 1e-12)
    src += 10 ** (-30 / 20) * rng.standard_normal(n) * (flow > 0.1)  # aspiration during the open phase
    # syllables
    voiced_env = np.zeros(n)
    out = np.zeros(n)
    scale = SPEAKER_SCALE[speaker]
    pos = int(rng.uniform(0.15, 0.3) * GEN_SR)
    while True:
        seg = int(rng.uniform(0.10, 0.35) * GEN_SR)
        if pos + seg > n - int(0.15 * GEN_SR):
            break
        ramp = int(0.015 * GEN_SR)
        env = np.ones(seg)
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
        vowel = VOWELS_HZ["aeiou"[rng.integers(5)]]
        piece = resonator_cascade(src[pos:pos + seg] * env, [f * scale for f in vowel], GEN_SR)
        out[pos:pos + seg] += piece * rng.uniform(0.5, 1.0) / (np.abs(piece).max() + 1e-12)
        voiced_env[pos:pos + seg] = env
        pos += seg
        gap = int(rng.uniform(0.04, 0.2) * GEN_SR) if rng.uniform() < 0.8 else int(rng.uniform(0.3, 0.6) * GEN_SR)
        if rng.uniform() < 0.5 and gap > 0:  # a voiceless fricative in the gap
            fric = scipy.signal.lfilter(*scipy.signal.butter(2, 3000.0 * scale, "highpass", fs=GEN_SR),
                                        rng.standard_normal(min(gap, n - pos)))
            out[pos:pos + len(fric)] += 0.08 * fric * np.hanning(len(fric))
        pos += gap
    y = soxr.resample(out, GEN_SR, SR, quality="HQ")
    y *= 0.3 / np.abs(y).max()
    centres = (np.arange(n_frames(len(y))) + 0.5) * HOP / SR
    k = np.clip(np.rint(centres * GEN_SR).astype(int), 0, n - 1)
    ref = np.where(voiced_env[k] >= 0.5, f0[k], 0.0)
    return Signal(f"glottal-{speaker}-{int(base_hz)}-s{seed}", y, ref)


# ---------------------------------------------------------------- espeak voices

def espeak(text: str, voice: str, pitch: int) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "160", "-w", str(wav), text],
                       check=True, capture_output=True)
        x, sr = soundfile.read(wav, dtype="float64")
    return x, sr


def psola_voice(voice: str, pitch: int, text: str, base_hz: float, seed: int) -> Signal:
    """espeak-ng speech moved onto a planted contour by Praat's PSOLA; reference voicing from its pulses."""
    import parselmouth
    from parselmouth.praat import call

    x, sr = espeak(text, voice, pitch)
    x = soxr.resample(x, sr, SR, quality="HQ")
    snd = parselmouth.Sound(x, sampling_frequency=SR)
    dur_s = snd.duration
    manip = call(snd, "To Manipulation", 0.01, 60.0, 600.0)
    rng = np.random.default_rng(seed)
    tier = call("Create PitchTier", "planted", 0.0, dur_s)
    tk = np.arange(0.0, dur_s, 0.005)
    f0k = _contour(rng, base_hz, tk, dur_s)
    for a, b in zip(tk, f0k):
        call(tier, "Add point", float(a), float(b))
    call([tier, manip], "Replace pitch tier")
    y = call(manip, "Get resynthesis (overlap-add)").values[0].astype(np.float64)
    pulses = call(manip, "Extract pulses")
    pt = np.array([call(pulses, "Get time from index", i + 1) for i in range(call(pulses, "Get number of points"))])
    centres = (np.arange(n_frames(len(y))) + 0.5) * HOP / SR
    voiced = np.zeros(len(centres), dtype=bool)
    close = np.flatnonzero(np.diff(pt) <= 0.02)
    for i in close:  # a voiced interval between consecutive pulses
        voiced |= (centres >= pt[i]) & (centres < pt[i + 1])
    ref = np.where(voiced, np.interp(centres, tk, f0k), 0.0)
    y *= 0.3 / np.abs(y).max()
    return Signal(f"psola-{voice}-{int(base_hz)}", y, ref)


# ---------------------------------------------------------------- noises

def pink(rng, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0.0
    return np.fft.irfft(spec, n)


_BABBLE: np.ndarray | None = None


def babble_source() -> np.ndarray:
    """A long babble track: six other espeak-ng voices, each its texts in a loop, summed at equal power."""
    global _BABBLE
    if _BABBLE is None:
        tracks = []
        for i, v in enumerate(BABBLE_VOICES):
            parts = []
            for j in range(len(BABBLE_TEXTS)):
                x, sr = espeak(BABBLE_TEXTS[(i + j) % len(BABBLE_TEXTS)], v, 30 + 8 * i)
                parts.append(soxr.resample(x, sr, SR, quality="HQ"))
            t = np.concatenate(parts)
            tracks.append(t / np.sqrt(np.mean(t * t)))
        m = min(len(t) for t in tracks)
        _BABBLE = np.sum([np.roll(t[:m], 4000 * i) for i, t in enumerate(tracks)], axis=0)
    return _BABBLE


def degrade(y: np.ndarray, condition: str, seed: int) -> np.ndarray:
    if condition == "clean":
        return y
    if condition == "band":
        sos = scipy.signal.butter(8, [300.0, 3400.0], btype="bandpass", fs=SR, output="sos")
        return scipy.signal.sosfiltfilt(sos, y)
    rng = np.random.default_rng(seed)
    for kind in ("white", "pink", "babble"):
        if condition.startswith(kind):
            snr_db = float(condition[len(kind):])
            break
    else:
        raise ValueError(condition)
    if kind == "white":
        noise = rng.standard_normal(len(y))
    elif kind == "pink":
        noise = pink(rng, len(y))
    else:
        b = babble_source()
        start = int(rng.integers(0, len(b) - len(y)))
        noise = b[start:start + len(y)]
    p_sig = float(np.mean(y * y))
    noise = noise * np.sqrt(p_sig / (float(np.mean(noise * noise)) * 10.0 ** (snr_db / 10.0)))
    return y + noise


def build_set(name: str) -> list[Signal]:
    glottal, psola, _ = SETS[name]
    out = [glottal_voice(seed, base, spk) for seed, base, spk in glottal]
    if shutil.which("espeak-ng"):
        out += [psola_voice(v, p, t, b, seed=7 + i + {"tune": 0, "heldout": 1000, "heldout2": 2000}[name])
                for i, (v, p, t, b) in enumerate(psola)]
    return out


# ---------------------------------------------------------------- trackers and scores

def run_ours(y: np.ndarray) -> np.ndarray:
    tr = PitchTracker(PitchConfig(fmin_hz=FMIN_HZ, fmax_hz=FMAX_HZ))
    return np.concatenate([tr.push(y).f0_hz, tr.flush().f0_hz]).astype(np.float64)


def run_praat(y: np.ndarray) -> np.ndarray:
    import parselmouth

    p = parselmouth.Sound(y, sampling_frequency=SR).to_pitch(time_step=0.01, pitch_floor=FMIN_HZ,
                                                            pitch_ceiling=FMAX_HZ)
    f = p.selected_array["frequency"].astype(np.float64)
    f[f <= 0] = np.nan
    centres = (np.arange(n_frames(len(y))) + 0.5) * HOP / SR
    j = np.rint((centres - p.xs()[0]) / p.dx).astype(int)
    ok = (j >= 0) & (j < len(f))
    out = np.full(len(centres), np.nan)
    out[ok] = f[j[ok]]
    return out


def run_pyin(y: np.ndarray) -> np.ndarray:
    import librosa

    f0, _, _ = librosa.pyin(y[HOP // 2:], fmin=FMIN_HZ, fmax=FMAX_HZ, sr=SR, frame_length=1024,
                            hop_length=HOP, center=True)
    out = np.full(n_frames(len(y)), np.nan)
    m = min(len(out), len(f0))
    out[:m] = f0[:m]
    return out


METHODS = {"prosody": run_ours, "praat": run_praat, "pyin": run_pyin}


def counts(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(gross, voiced-in-both, voicing errors, frames) of one track."""
    m = min(len(est), len(ref))
    est, ref = est[:m], ref[:m]
    rv, ev = ref > 0, np.isfinite(est) & (est > 0)
    both = rv & ev
    gross = both & (np.abs(np.where(both, est, 1.0) / np.where(both, ref, 1.0) - 1.0) > GROSS_RATIO)
    return np.array([gross.sum(), both.sum(), (rv != ev).sum(), m], dtype=np.int64)


def evaluate(signals: list[Signal], methods: list[str], set_name: str) -> dict:
    seed0 = SETS[set_name][2]
    res = {}
    for ci, cond in enumerate(CONDITIONS):
        for m in methods:
            res[(cond, m)] = np.zeros(4, dtype=np.int64)
        for si, s in enumerate(signals):
            y = degrade(s.samples, cond, seed0 + 100 * si + ci)
            for m in methods:
                res[(cond, m)] += counts(METHODS[m](y), s.ref_f0_hz)
    return res


def report(res: dict, methods: list[str], set_name: str, n_signals: int) -> int:
    print(f"set {set_name}: {n_signals} signals")
    w = 9 * len(methods)
    print(f"{'condition':<11}|{'GPE %':^{w}}|{'VDE %':^{w}}| target: GPE <= Praat + {GPE_MARGIN_PTS}")
    print(" " * 11 + ("|" + "".join(f"{m:>9}" for m in methods)) * 2 + "|")
    failures = 0
    for cond in CONDITIONS:
        g = {m: 100.0 * res[(cond, m)][0] / max(res[(cond, m)][1], 1) for m in methods}
        v = {m: 100.0 * res[(cond, m)][2] / max(res[(cond, m)][3], 1) for m in methods}
        ok = g["prosody"] <= g["praat"] + GPE_MARGIN_PTS
        failures += not ok
        print(f"{cond:<11}|" + "".join(f"{g[m]:9.2f}" for m in methods) + "|"
              + "".join(f"{v[m]:9.2f}" for m in methods) + f"| {'PASS' if ok else 'FAIL'}")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=("heldout", "heldout2", "tune", "both", "all"),
                    default="heldout")
    ap.add_argument("--pyin", action="store_true", help="also run librosa's pYIN (slow)")
    args = ap.parse_args(argv)
    methods = ["prosody", "praat"] + (["pyin"] if args.pyin else [])
    failures = 0
    sets = {"both": ("tune", "heldout"), "all": ("tune", "heldout", "heldout2")}.get(args.set, (args.set,))
    for set_name in sets:
        signals = build_set(set_name)
        res = evaluate(signals, methods, set_name)
        f = report(res, methods, set_name, len(signals))
        if set_name.startswith("heldout"):
            failures += f
        print()
    print(f"{failures} held-out condition(s) failed" if failures else "all held-out conditions pass")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
