"""Pitch variety sweep: prosody's PitchTracker against Praat and pYIN on planted-truth material of many kinds.

Material (no corpus audio is copied; everything is generated here or read from
``PROSODY_CORPUS``):

* ``synth``: glottal-flow pulse trains (Rosenberg 1971 pulses with a variable
  open quotient and an exponential return phase, an LF-like shape: Fant,
  Liljencrants & Lin 1985), differentiated (lip radiation), with jitter,
  shimmer and aspiration noise, through five formant resonators (vowels
  /a e i o u/ scaled per voice), in syllables of 120-400 ms with planted
  unvoiced gaps (silence or fricative noise). Generated at 48 kHz. Voices:
  creak / low male (55-75 Hz, 2-3 % jitter, alternating pulse amplitudes
  and periods: mild period doubling, truth = the pulse rate), male,
  female, high female / child (330-500 Hz), fast glides (1-2 octaves per
  second over 80-520 Hz), vibrato (5-6 Hz, +-60 cents), breathy (strong
  aspiration, soft pulses). Truth: the planted F0 at each grid-frame centre;
  voiced where the syllable envelope is at least half open.
* ``ptdb``: the two PTDB-TUG sentences (F01, M01; laryngograph RAPT
  reference) shifted by sox ``speed`` (F0 and time scale by the ratio: the
  reference's F0 and times are scaled) and ``pitch`` (F0 scales, time kept);
  reference row k centred at 16 + 9 + 10 k ms (the +9 ms that
  ``benchmarks/pitch_accuracy.py`` estimates from Praat).

Conditions (each applied to every signal, then put on the 16 kHz grid):
``clean``; peak level -40 and -3 dBFS over a fixed -80 dBFS white floor
(``lvl-40``, ``lvl-3``); white noise 20, 10, 5 dB SNR; pink 10, 5 dB; babble
(six espeak-ng voices) 10, 5 dB; reverberation (exponentially decaying noise
impulse responses, RT60 0.4 and 0.9 s, direct path kept: ``rev0.4``,
``rev0.9``); opus at 12 and 24 kbit/s (opusenc, from 48 kHz); MP3 at 32
kbit/s (ffmpeg libmp3lame, 16 kHz); a telephone channel (300-3400 Hz band,
8 kHz, mu-law: ``tel8k``); and files at 8, 44.1 and 48 kHz read through prosody's file
reader (``sr8k``, ``sr44k``, ``sr48k``). Codec and sample-rate conditions go
through ``prosody.engine.sources.AudioFile`` + ``Resampler`` (as ``prosody
analyze`` reads a file: the codecs are decoded there); all methods see the
same 16 kHz samples.

Every method uses the same search range, 50-600 Hz (prosody's default):
Praat ``to_pitch(time_step=0.01, pitch_floor=50, pitch_ceiling=600)``
(voicing from the nearest Praat frame, F0 interpolated in log frequency
between the two around the grid centre: Praat's frames lie up to 5 ms off
the grid), pYIN with its frame centred on the grid centre (as in
``benchmarks/pitch_accuracy.py``).

Scores per condition, pooled over the set's signals, on frames with a
truth (voicing scored outside a 20 ms collar around each planted boundary):

* ``gross``  % of voiced-in-both frames off by more than 20 %
* ``c50`` / ``c90``  median and 90th percentile absolute error (cents) on
  voiced-in-both frames without a gross error
* ``P`` / ``R`` / ``F1``  voicing precision, recall and F1 (% , voiced = positive)

Summary ratios: prosody / anchor of gross %, c90 and the voicing error
(100 - F1), per condition; a condition where prosody is worse than the best
anchor by a factor over 1.5 (and by more than 1 point or 5 cents) is flagged.

Sets: ``tune`` (seeds 0..), ``heldout`` (seeds 1000.., other base F0s and noise
seeds). The shortest-lag candidate in ``prosody/engine/pitch.py`` was found
and its tolerance chosen on ``tune``; ``heldout`` is the check. Run:
``.venv/bin/python benchmarks/pitch_variety.py [--set tune|heldout] [--no-pyin]
[--only COND,...] [--kinds]`` (``--kinds``: also pooled per voice kind; about
4 minutes a set with pYIN, 1 without).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.pitch_noise import VOWELS_HZ, babble_source, pink, resonator_cascade  # noqa: E402
from prosody.config import PitchConfig  # noqa: E402
from prosody.engine.pitch import PitchTracker  # noqa: E402
from prosody.timebase import GRID  # noqa: E402

SR = GRID.sample_rate
HOP = GRID.hop_length
GEN_SR = 48000
FMIN_HZ, FMAX_HZ = 50.0, 600.0
GROSS_RATIO = 0.2
COLLAR_FRAMES = 2  # voicing is not scored within 20 ms of a planted boundary

CONDITIONS = ("clean", "lvl-40", "lvl-3", "white20", "white10", "white5", "pink10", "pink5",
              "babble10", "babble5", "rev0.4", "rev0.9", "opus12", "opus24", "mp3-32", "tel8k",
              "sr8k", "sr44k", "sr48k")

# voice kind -> (base F0s of the tune set, base F0s of the held-out set, formant scale)
VOICES = {
    "creak": ((58, 68), (55, 63), 0.95),
    "male": ((95, 130), (110, 145), 1.0),
    "female": ((190, 240), (205, 260), 1.17),
    "high": ((330, 420, 480), (360, 450, 500), 1.35),
    "glide": ((150, 260), (180, 300), 1.17),
    "vibrato": ((260, 420), (300, 380), 1.3),
    "breathy": ((120, 220), (160, 280), 1.1),
}
# PTDB-TUG transforms: (speaker, effect, ratio); speed scales time by 1/ratio
PTDB_TUNE = (("F01", "pitch", 1.35), ("M01", "pitch", 0.7), ("F01", "speed", 0.8), ("M01", "speed", 1.5))
PTDB_HELD = (("F01", "pitch", 1.2), ("M01", "pitch", 0.6), ("M01", "speed", 1.8), ("F01", "speed", 1.1))


@dataclass(frozen=True)
class Signal:
    name: str
    samples: np.ndarray  # float64 (n,) at 16 kHz, peak 0.3
    ref_f0_hz: np.ndarray  # float64 (n_frames,), 0 = unvoiced, NaN = not scored
    score_voicing: np.ndarray  # bool (n_frames,): outside the collar around planted boundaries


def n_frames(n_samples: int) -> int:
    return -(-n_samples // HOP)


# ---------------------------------------------------------------- synthetic voices

def _contour(rng, kind: str, base_hz: float, t: np.ndarray, dur_s: float) -> np.ndarray:
    """Planted F0 (Hz) at times ``t`` (s)."""
    if kind == "glide":
        # piecewise-linear in log F0: targets 0.3-1.2 octave apart, slopes 1-2 octaves per second
        oct_, tk, ok = [0.0], [0.0], 0.0
        while tk[-1] < dur_s:
            step = rng.uniform(0.4, 1.2) * rng.choice([-1, 1])
            if not -1.0 <= ok + step <= 1.0:
                step = -step
            slope = rng.uniform(1.0, 2.0)
            tk.append(tk[-1] + abs(step) / slope)
            ok += step
            oct_.append(ok)
            tk.append(tk[-1] + rng.uniform(0.03, 0.12))  # short plateau
            oct_.append(ok)
        f = base_hz * 2.0 ** np.interp(t, tk, oct_)
        return np.clip(f, 80.0, 520.0)
    o = -0.3 * t / dur_s + 0.12
    for c in rng.uniform(0.1, 0.9, rng.integers(2, 5)) * dur_s:
        o += rng.uniform(0.1, 0.45) * np.exp(-0.5 * ((t - c) / rng.uniform(0.08, 0.2)) ** 2)
    if kind == "vibrato":
        o += (rng.uniform(40, 70) / 1200.0) * np.sin(2 * np.pi * rng.uniform(5.0, 6.0) * t + rng.uniform(0, 6.3))
    if kind == "creak":
        o = 0.25 * o
    f = base_hz * 2.0 ** o
    return np.clip(f, 55.0, 540.0)


def synth_voice(seed: int, kind: str, base_hz: float, scale: float, dur_s: float = 2.6) -> Signal:
    rng = np.random.default_rng(seed)
    n = int(dur_s * GEN_SR)
    t = np.arange(n) / GEN_SR
    f0 = _contour(rng, kind, base_hz, t, dur_s)
    # pulse by pulse: period jitter, amplitude shimmer; creak alternates amplitude and period
    jitter = {"creak": 0.025, "breathy": 0.01}.get(kind, 0.006)
    shimmer = {"creak": 0.08, "breathy": 0.06}.get(kind, 0.03)
    src = np.zeros(n)
    flow_env = np.zeros(n)
    oq = rng.uniform(0.5, 0.65) if kind != "breathy" else rng.uniform(0.75, 0.85)  # open quotient
    skew = rng.uniform(0.65, 0.8)  # share of the open phase that is opening
    ta = rng.uniform(0.01, 0.03) if kind != "breathy" else 0.08  # return phase, share of the period
    start, k = 0.0, 0
    pulses = []
    while start < n - 1:
        i = min(int(start), n - 1)
        T = GEN_SR / f0[i] * (1.0 + jitter * rng.standard_normal())
        amp = 1.0 + shimmer * rng.standard_normal()
        if kind == "creak":
            T *= 1.0 + 0.02 * (-1) ** k
            amp *= 0.8 if k % 2 else 1.0
        pulses.append((start, T, amp))
        start += T
        k += 1
    # glottal flow of each period: opening (raised cosine), closing (quarter cosine), exponential return
    for s0, T, amp in pulses:
        a, b = int(np.ceil(s0)), min(int(np.ceil(s0 + T)), n)
        if a >= n:
            break
        u = (np.arange(a, b) - s0) / T
        to, tc = oq * skew, oq * (1 - skew)
        g = np.where(u < to, 0.5 * (1 - np.cos(np.pi * u / max(to, 1e-6))),
                     np.where(u < to + tc, np.cos(0.5 * np.pi * (u - to) / max(tc, 1e-6)), 0.0))
        src[a:b] += amp * g
        flow_env[a:b] = np.maximum(flow_env[a:b], (u < oq).astype(float))
    src = np.diff(src, prepend=0.0)
    if ta > 0:  # the return phase softens the closure: a one-pole low-pass of time constant ta * T
        tau = ta * GEN_SR / np.median(f0)
        src = scipy.signal.lfilter([1.0 - np.exp(-1.0 / tau)], [1.0, -np.exp(-1.0 / tau)], src)
    src /= np.abs(src).max() + 1e-12
    asp_db = -14.0 if kind == "breathy" else -30.0
    src += 10 ** (asp_db / 20) * rng.standard_normal(n) * (0.3 + flow_env)
    out = np.zeros(n)
    voiced_env = np.zeros(n)
    pos = int(rng.uniform(0.12, 0.25) * GEN_SR)
    while True:
        seg = int(rng.uniform(0.12, 0.4) * GEN_SR)
        if pos + seg > n - int(0.12 * GEN_SR):
            break
        ramp = int(0.012 * GEN_SR)
        env = np.ones(seg)
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
        vowel = VOWELS_HZ["aeiou"[rng.integers(5)]]
        piece = resonator_cascade(src[pos:pos + seg] * env, [f * scale for f in vowel], GEN_SR, bw_growth=0.3)
        out[pos:pos + seg] += piece * rng.uniform(0.4, 1.0) / (np.abs(piece).max() + 1e-12)
        voiced_env[pos:pos + seg] = env
        pos += seg
        gap = int(rng.uniform(0.05, 0.2) * GEN_SR) if rng.uniform() < 0.8 else int(rng.uniform(0.3, 0.5) * GEN_SR)
        if rng.uniform() < 0.5:  # a voiceless fricative in the gap
            fric = scipy.signal.lfilter(*scipy.signal.butter(2, 2500.0 * scale, "highpass", fs=GEN_SR),
                                        rng.standard_normal(min(gap, n - pos)))
            out[pos:pos + len(fric)] += rng.uniform(0.03, 0.1) * fric * np.hanning(len(fric))
        pos += gap
    y = soxr.resample(out, GEN_SR, SR, quality="HQ")
    y *= 0.3 / np.abs(y).max()
    centres = (np.arange(n_frames(len(y))) + 0.5) * HOP / SR
    kk = np.clip(np.rint(centres * GEN_SR).astype(int), 0, n - 1)
    voiced = voiced_env[kk] >= 0.5
    ref = np.where(voiced, f0[kk], 0.0)
    return Signal(f"{kind}-{int(base_hz)}-s{seed}", y, ref, _collar(voiced))


def _collar(voiced: np.ndarray) -> np.ndarray:
    change = np.flatnonzero(np.diff(voiced.astype(np.int8)) != 0)
    ok = np.ones(len(voiced), dtype=bool)
    for c in change:
        ok[max(0, c + 1 - COLLAR_FRAMES): c + 1 + COLLAR_FRAMES] = False
    return ok


# ---------------------------------------------------------------- PTDB-TUG, transformed

def corpus_dir() -> Path:
    env = os.environ.get("PROSODY_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"


def ptdb_voice(speaker: str, effect: str, ratio: float) -> Signal | None:
    base = corpus_dir() / "PTDB-TUG"
    wav = base / f"mic_{speaker}_sa1.wav"
    if not wav.exists() or not shutil.which("sox"):
        return None
    ref = np.loadtxt(base / f"ref_{speaker}_sa1.f0", ndmin=2)[:, 0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "o.wav"
        arg = ["speed", f"{ratio}"] if effect == "speed" else ["pitch", f"{1200.0 * np.log2(ratio):.1f}"]
        subprocess.run(["sox", str(wav), "-r", str(SR), "-b", "32", "-e", "float", str(out), *arg, "rate", "-v",
                        str(SR)], check=True, capture_output=True)
        y, _ = soundfile.read(out, dtype="float64")
    if y.ndim == 2:
        y = y.mean(axis=1)
    y *= 0.3 / np.abs(y).max()
    # reference row k centred at 16 ms + k * 10 ms (pitch_accuracy.py; +9 ms better matches Praat there)
    t_ref = 0.016 + 0.009 + 0.010 * np.arange(len(ref))
    tscale = 1.0 / ratio if effect == "speed" else 1.0
    centres = (np.arange(n_frames(len(y))) + 0.5) * HOP / SR
    pos = centres / tscale
    k = np.rint((pos - t_ref[0]) / 0.010).astype(int)
    inside = (k >= 0) & (k < len(ref))
    r = np.full(len(centres), np.nan)
    r[inside] = ref[k[inside]] * ratio
    voiced = np.nan_to_num(r) > 0
    ok = _collar(voiced) & inside
    return Signal(f"ptdb-{speaker}-{effect}{ratio:g}", y, r, ok)


def build_set(name: str) -> list[Signal]:
    held = name == "heldout"
    out = []
    seed = 1000 if held else 0
    for kind, (tune_f0, held_f0, scale) in VOICES.items():
        for b in (held_f0 if held else tune_f0):
            out.append(synth_voice(seed, kind, b, scale))
            seed += 1
    for spk, eff, ratio in (PTDB_HELD if held else PTDB_TUNE):
        s = ptdb_voice(spk, eff, ratio)
        if s is not None:
            out.append(s)
    return out


# ---------------------------------------------------------------- conditions

def _through_file(y: np.ndarray, suffix: str, rate: int, encode) -> np.ndarray:
    """Write ``y`` (16 kHz) at ``rate``, encode with ``encode(wav, out)`` (or not), read it back through
    prosody's file reader and resampler at 16 kHz."""
    from prosody.engine.sources import AudioFile, Resampler

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "in.wav"
        x = soxr.resample(y, SR, rate, quality="HQ") if rate != SR else y
        soundfile.write(wav, x, rate, subtype="PCM_16" if suffix != ".ulaw.wav" else "ULAW")
        path = wav
        if encode is not None:
            path = Path(tmp) / f"out{suffix}"
            encode(wav, path)
        f = AudioFile(path)
        rs = Resampler(f.sample_rate, 1)
        parts = [rs.push(b[:, :1]) for b in f.blocks(f.sample_rate * 10)]
        parts.append(rs.push(np.zeros((0, 1), np.float32), last=True))
    z = np.concatenate(parts)[:, 0].astype(np.float64)
    out = np.zeros(len(y))
    out[:min(len(y), len(z))] = z[:len(y)]
    return out


def _rir(rng, rt60_s: float) -> np.ndarray:
    n = int(rt60_s * SR)
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * 10 ** (-3.0 * t / rt60_s)  # -60 dB at rt60
    h[: int(0.003 * SR)] = 0.0
    h *= 0.7 / np.sqrt(np.sum(h * h))  # reverberant energy about 3 dB under the direct path
    h[0] = 1.0
    return h


def degrade(y: np.ndarray, cond: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if cond == "clean":
        return y
    if cond.startswith("lvl"):
        z = y / np.abs(y).max() * 10 ** (float(cond[3:]) / 20)
        return z + 10 ** (-80 / 20) * rng.standard_normal(len(y))
    for kind in ("white", "pink", "babble"):
        if cond.startswith(kind):
            snr_db = float(cond[len(kind):])
            noise = (rng.standard_normal(len(y)) if kind == "white" else pink(rng, len(y)) if kind == "pink"
                     else _babble(rng, len(y)))
            p = float(np.mean(y * y))
            return y + noise * np.sqrt(p / (float(np.mean(noise * noise)) * 10 ** (snr_db / 10)))
    if cond.startswith("rev"):
        z = scipy.signal.fftconvolve(y, _rir(rng, float(cond[3:])))[: len(y)]
        return z * 0.3 / np.abs(z).max()
    if cond.startswith("opus"):
        kbps = cond[4:]

        def enc(wav, out):
            subprocess.run(["opusenc", "--quiet", "--bitrate", kbps, str(wav), str(out)], check=True)
        return _through_file(y, ".opus", 48000, enc)
    if cond.startswith("mp3"):
        def enc(wav, out):
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a",
                            "32k", str(out)], check=True)
        return _through_file(y, ".mp3", 16000, enc)
    if cond == "tel8k":
        sos = scipy.signal.butter(6, [300.0, 3400.0], btype="bandpass", fs=SR, output="sos")
        return _through_file(scipy.signal.sosfilt(sos, y), ".ulaw.wav", 8000, None)
    if cond.startswith("sr"):
        rate = {"sr8k": 8000, "sr44k": 44100, "sr48k": 48000}[cond]
        return _through_file(y, ".wav", rate, None)
    raise ValueError(cond)


def _babble(rng, n: int) -> np.ndarray:
    b = babble_source()
    start = int(rng.integers(0, len(b) - n))
    return b[start:start + n]


# ---------------------------------------------------------------- trackers

def run_prosody(y: np.ndarray) -> np.ndarray:
    tr = PitchTracker(PitchConfig(fmin_hz=FMIN_HZ, fmax_hz=FMAX_HZ))
    return np.concatenate([tr.push(y).f0_hz, tr.flush().f0_hz]).astype(np.float64)


def run_praat(y: np.ndarray) -> np.ndarray:
    import parselmouth

    p = parselmouth.Sound(y, sampling_frequency=SR).to_pitch(time_step=0.01, pitch_floor=FMIN_HZ,
                                                            pitch_ceiling=FMAX_HZ)
    f = p.selected_array["frequency"].astype(np.float64)
    f[f <= 0] = np.nan
    centres = (np.arange(n_frames(len(y))) + 0.5) * HOP / SR
    # Praat centres its frames in the signal, up to 5 ms off the grid: voicing from the nearest
    # frame, F0 interpolated in log frequency between the two frames around the grid centre
    # where both are voiced (a glide of 2 octaves/s moves 24 cents per ms)
    pos = (centres - p.xs()[0]) / p.dx
    j = np.rint(pos).astype(int)
    ok = (j >= 0) & (j < len(f))
    out = np.full(len(centres), np.nan)
    out[ok] = f[j[ok]]
    j0 = np.clip(np.floor(pos).astype(int), 0, len(f) - 2)
    w = np.clip(pos - j0, 0.0, 1.0)
    lf = np.log2(f)
    interp = np.exp2((1.0 - w) * lf[j0] + w * lf[j0 + 1])
    both = ok & np.isfinite(interp)
    out[both & np.isfinite(out)] = interp[both & np.isfinite(out)]
    return out


def run_pyin(y: np.ndarray) -> np.ndarray:
    import librosa

    f0, _, _ = librosa.pyin(y[HOP // 2:], fmin=FMIN_HZ, fmax=FMAX_HZ, sr=SR, frame_length=1024,
                            hop_length=HOP, center=True)
    out = np.full(n_frames(len(y)), np.nan)
    m = min(len(out), len(f0))
    out[:m] = f0[:m]
    return out


METHODS = {"prosody": run_prosody, "praat": run_praat, "pyin": run_pyin}


# ---------------------------------------------------------------- scores

def frame_scores(est: np.ndarray, s: Signal):
    """(gross flags, cents of non-gross voiced-in-both frames, tp, fp, fn) of one track."""
    m = min(len(est), len(s.ref_f0_hz))
    est, ref, sv = est[:m], s.ref_f0_hz[:m], s.score_voicing[:m]
    known = np.isfinite(ref)
    rv = known & (np.nan_to_num(ref) > 0)
    ev = np.isfinite(est) & (est > 0)
    both = rv & ev
    ratio = est[both] / ref[both]
    gross = np.abs(ratio - 1.0) > GROSS_RATIO
    cents = np.abs(1200.0 * np.log2(ratio[~gross]))
    sc = known & sv
    return (int(gross.sum()), int(both.sum()), cents, int((rv & ev & sc).sum()), int((~rv & ev & sc).sum()),
            int((rv & ~ev & sc).sum()))


@dataclass
class Tally:
    gross: int = 0
    both: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __post_init__(self):
        self.cents: list[np.ndarray] = []

    def add(self, r) -> None:
        g, b, c, tp, fp, fn = r
        self.gross += g
        self.both += b
        self.cents.append(c)
        self.tp += tp
        self.fp += fp
        self.fn += fn

    def summary(self) -> dict[str, float]:
        c = np.concatenate(self.cents) if self.cents else np.zeros(0)
        p = 100.0 * self.tp / max(self.tp + self.fp, 1)
        r = 100.0 * self.tp / max(self.tp + self.fn, 1)
        return {"gross": 100.0 * self.gross / max(self.both, 1),
                "c50": float(np.median(c)) if len(c) else np.nan,
                "c90": float(np.percentile(c, 90)) if len(c) else np.nan,
                "P": p, "R": r, "F1": 2 * p * r / max(p + r, 1e-9)}


def evaluate(signals: list[Signal], conds, methods, seed0: int, *, by_kind: bool = False):
    res: dict = {}
    cpu = {m: 0.0 for m in methods}
    for cond in conds:
        ci = CONDITIONS.index(cond)  # each condition its own noise seed, with or without --only
        for si, s in enumerate(signals):
            y = degrade(s.samples, cond, seed0 + 100 * si + ci)
            kind = s.name.split("-")[0]
            for m in methods:
                t0 = time.process_time()
                est = METHODS[m](y)
                cpu[m] += time.process_time() - t0
                r = frame_scores(est, s)
                for key in [(cond, m), ("all", m)] + ([(f"kind:{kind}", m)] if by_kind else []):
                    res.setdefault(key, Tally()).add(r)
    return res, cpu


def report(res: dict, methods, rows) -> list[str]:
    keys = ("gross", "c50", "c90", "P", "R", "F1")
    w = 7 * len(methods)
    print(f"{'condition':<14}" + "".join(f"|{k:^{w}}" for k in keys))
    print(" " * 14 + ("|" + "".join(f"{m[:6]:>7}" for m in methods)) * len(keys))
    flags = []
    for cond in rows:
        if (cond, methods[0]) not in res:
            continue
        sm = {m: res[(cond, m)].summary() for m in methods}
        print(f"{cond:<14}" + "".join("|" + "".join(f"{sm[m][k]:7.1f}" for m in methods) for k in keys))
        anchors = [m for m in methods if m != "prosody"]
        o = sm["prosody"]
        for name, val, worse_by in (("gross %", lambda d: d["gross"], 1.0), ("c90 cents", lambda d: d["c90"], 5.0),
                                    ("voicing error (100-F1)", lambda d: 100.0 - d["F1"], 1.0)):
            best = min(val(sm[a]) for a in anchors)
            if val(o) > 1.5 * best and val(o) - best > worse_by:
                flags.append(f"{cond}: prosody {name} {val(o):.1f} vs best anchor {best:.1f}")
    print()
    print("ratios prosody / anchor (gross %, c90, 100 - F1):")
    for cond in rows:
        if (cond, methods[0]) not in res:
            continue
        sm = {m: res[(cond, m)].summary() for m in methods}
        parts = []
        for a in methods[1:]:
            g = (sm["prosody"]["gross"] + 0.1) / (sm[a]["gross"] + 0.1)
            c = sm["prosody"]["c90"] / max(sm[a]["c90"], 1e-9)
            v = (100.0 - sm["prosody"]["F1"] + 0.1) / (100.0 - sm[a]["F1"] + 0.1)
            parts.append(f"vs {a}: {g:5.2f} {c:5.2f} {v:5.2f}")
        print(f"  {cond:<14}" + "   ".join(parts))
    return flags


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=("tune", "heldout"), default="heldout")
    ap.add_argument("--no-pyin", action="store_true", help="skip librosa's pYIN (the slowest)")
    ap.add_argument("--only", default="", help="comma-separated conditions (default: all)")
    ap.add_argument("--kinds", action="store_true", help="also pool per voice kind")
    args = ap.parse_args(argv)
    conds = tuple(c for c in args.only.split(",") if c) or CONDITIONS
    methods = ["prosody", "praat"] + ([] if args.no_pyin else ["pyin"])
    signals = build_set(args.set)
    print(f"set {args.set}: {len(signals)} signals, "
          f"{sum(len(s.samples) for s in signals) / SR:.1f} s; conditions: {', '.join(conds)}")
    res, cpu = evaluate(signals, conds, methods, 0 if args.set == "tune" else 500000, by_kind=args.kinds)
    rows = list(conds) + ["all"]
    if args.kinds:
        rows += sorted({k[0] for k in res if k[0].startswith("kind:")})
    flags = report(res, methods, rows)
    print()
    print("CPU s: " + "  ".join(f"{m} {cpu[m]:.1f}" for m in methods))
    print("\n".join(["flagged (prosody clearly worse than the best anchor):"] + ["  " + f for f in flags])
          if flags else "no condition flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
