"""Synthetic non-speech sounds of a therapy room, with exactly known extents, for turn-taking tests
and benchmarks (``benchmarks/nonspeech_events.py``).

Body sounds (a person's own channel, or their voice's share of a mono recording):

* ``cough``: one to three bursts of 0.15-0.5 s (0.08-0.25 s apart), each a sharp attack
  (2-12 ms rise) of broadband noise through three vocal-tract-like formants (F1 350-800 Hz,
  F2 1100-2000, F3 2300-3200), decaying; in 4 of 10 a short voiced tail (60-150 ms of glottal
  pulses at 100-250 Hz through the same formants, 6-14 dB under the burst);
* ``throat``: throat clearing, 0.3-0.7 s of creaky voicing (irregular pulses at 35-70 Hz, 20 %
  jitter) through formants, plus turbulent noise at -6..0 dB re the pulses;
* ``sniff``: 0.12-0.4 s of noise high-passed at 1-2 kHz, a fast rise and slower fall; one or two
  (a crying client);
* ``breath``: an audible breath, 0.3-1.0 s of noise band-passed to 300-2500 Hz, a raised-cosine
  envelope;
* ``sigh``: 0.5-1.2 s, a breath with faint breathy voicing (F0 falling 200 -> 120 Hz, 12-20 dB
  under the noise);
* ``noseblow``: 0.4-1.0 s of low turbulent noise (150-3000 Hz) with 15-40 Hz flutter;
* ``laugh``: 3-6 voiced "ha" pulses (0.07-0.14 s, F0 180-350 Hz, an aspirated onset) 0.17-0.25 s
  apart. Laughter is a vocal response, not a noise: conversation analysis treats it as an
  answer placed in the sequence (Jefferson 1979: a speaker's laugh invites the other's; Holt 2010),
  and backchannel studies count laughter among the listener's responses (Truong & Trouvain 2012 on
  laughter annotations in conversational corpora). It is planted so that the analyser may keep
  it as speech: the benchmark reports it, no fix removes it.

Room sounds (on whichever microphone hears them):

* ``creak``: a chair, 0.2-0.8 s of stick-slip pulses whose rate sweeps (60-150 -> 120-300 Hz)
  through two resonances (0.8-3 kHz): periodic, so a pitch tracker may call some of it voiced;
* ``rustle``: paper, 0.3-1.5 s of broadband crackle (200-900 tiny high-passed clicks a second);
* ``knock``: a cup set down or a knock, one to two impacts 0.1-0.3 s apart exciting two or three
  resonances (200 Hz-4 kHz, 20-150 ms decays);
* ``door``: a low thump (60-150 Hz, 0.1-0.25 s decay) and a latch click 50-200 ms later;
* ``tone``: a phone notification, one to three beeps (0.08-0.2 s, 700-2500 Hz with a harmonic at
  -10 dB, 5 ms ramps) 0.05-0.15 s apart;
* ``clock``: three to six ticks 1 s apart (2 ms bursts with a 2-5 kHz ring).

Each sound is returned with its planted extent: the span from its first to its last sample above
-40 dB re its peak, before any room reverberation (``place`` applies it: tails after the extent
are the room's, as a real recording's would be).
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from tests.keyboard import room

SAMPLE_RATE = 16000
BODY = ("cough", "throat", "sniff", "breath", "sigh", "noseblow", "laugh")
ROOM = ("creak", "rustle", "knock", "door", "tone", "clock")
KINDS = BODY + ROOM
VOCAL = ("laugh",)  # vocal responses: may be speech
EXTENT_DB = -40.0


def _formants(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """``x`` through three vocal-tract-like resonances (a sum of band-passes, each 2nd order)."""
    out = np.zeros_like(x)
    for lo, hi, bw, g in ((350, 800, 120, 1.0), (1100, 2000, 180, 0.6), (2300, 3200, 250, 0.35)):
        f = rng.uniform(lo, hi)
        b, a = signal.iirpeak(f, f / bw, fs=sr)
        out += g * signal.lfilter(b, a, x)
    return out


def _pulses(f0_hz: np.ndarray, sr: int, rng: np.random.Generator, *, jitter: float = 0.0) -> np.ndarray:
    """A glottal-like pulse train following ``f0_hz`` (per sample): one decaying pulse a period."""
    n = len(f0_hz)
    x = np.zeros(n)
    t = 0.0
    while t < n:
        k = int(t)
        x[k] = 1.0
        t += sr / f0_hz[k] * (1.0 + jitter * rng.uniform(-1, 1))
    b, a = signal.butter(2, 1500, fs=sr)  # a rounded pulse, falling spectrum
    return signal.lfilter(b, a, x)


def _env(n: int, attack: int, decay_tau: float, sr: int) -> np.ndarray:
    t = np.arange(n)
    e = np.exp(-np.maximum(t - attack, 0) / (decay_tau * sr))
    e[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False) if attack else e[:attack]
    return e


def _raised(n: int, rise: float = 0.3) -> np.ndarray:
    """A smooth envelope: rising over ``rise`` of the span, falling over the rest."""
    k = max(1, int(rise * n))
    return np.concatenate([0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k)),
                           0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n - k))])


def _bandpass(x, lo, hi, sr, order=4):
    return signal.sosfilt(signal.butter(order, [lo, hi], btype="band", fs=sr, output="sos"), x)


def _cough(rng, sr):
    parts = []
    for i in range(int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))):
        n = int(rng.uniform(0.15, 0.5) * sr)
        burst = _formants(rng.standard_normal(n), rng, sr) * _env(n, int(rng.uniform(0.002, 0.012) * sr),
                                                                  rng.uniform(0.04, 0.12), sr)
        burst /= np.max(np.abs(burst)) + 1e-12
        if rng.random() < 0.4:
            m = int(rng.uniform(0.06, 0.15) * sr)
            f0 = np.full(m, rng.uniform(100, 250)) * np.linspace(1.0, 0.85, m)
            tail = _formants(_pulses(f0, sr, rng), rng, sr) * _raised(m, 0.1)
            tail *= 10 ** (-rng.uniform(6, 14) / 20) / (np.max(np.abs(tail)) + 1e-12)
            k = int(0.6 * n)
            burst = np.concatenate([burst, np.zeros(max(0, k + m - n))])
            burst[k:k + m] += tail
        parts.append(burst * rng.uniform(0.6, 1.0))
        parts.append(np.zeros(int(rng.uniform(0.08, 0.25) * sr)))
    return np.concatenate(parts[:-1])


def _throat(rng, sr):
    n = int(rng.uniform(0.3, 0.7) * sr)
    f0 = np.full(n, rng.uniform(35, 70))
    v = _formants(_pulses(f0, sr, rng, jitter=0.2), rng, sr)
    v /= np.std(v) + 1e-12
    noise = _formants(rng.standard_normal(n), rng, sr)
    noise *= 10 ** (rng.uniform(-6, 0) / 20) / (np.std(noise) + 1e-12)
    return (v + noise) * _raised(n, 0.15)


def _sniff(rng, sr):
    parts = []
    for _ in range(int(rng.choice([1, 2], p=[0.6, 0.4]))):
        n = int(rng.uniform(0.12, 0.4) * sr)
        x = signal.sosfilt(signal.butter(4, rng.uniform(1000, 2000), btype="high", fs=sr, output="sos"),
                           rng.standard_normal(n))
        parts += [x * _raised(n, 0.2), np.zeros(int(rng.uniform(0.1, 0.3) * sr))]
    return np.concatenate(parts[:-1])


def _breath(rng, sr):
    n = int(rng.uniform(0.3, 1.0) * sr)
    return _bandpass(rng.standard_normal(n), 300, 2500, sr) * _raised(n, rng.uniform(0.3, 0.6))


def _sigh(rng, sr):
    n = int(rng.uniform(0.5, 1.2) * sr)
    noise = _bandpass(rng.standard_normal(n), 300, 3000, sr)
    noise /= np.std(noise) + 1e-12
    f0 = np.linspace(rng.uniform(170, 220), rng.uniform(110, 130), n)
    v = _formants(_pulses(f0, sr, rng, jitter=0.03), rng, sr)
    v *= 10 ** (-rng.uniform(12, 20) / 20) / (np.std(v) + 1e-12)
    return (noise + v) * _raised(n, 0.25)


def _noseblow(rng, sr):
    n = int(rng.uniform(0.4, 1.0) * sr)
    x = _bandpass(rng.standard_normal(n), 150, 3000, sr)
    t = np.arange(n) / sr
    flutter = 1.0 + 0.6 * np.sin(2 * np.pi * rng.uniform(15, 40) * t)
    return x * flutter * _raised(n, 0.1)


def _laugh(rng, sr):
    parts = []
    base = rng.uniform(180, 350)
    for i in range(int(rng.integers(3, 7))):
        h = int(0.03 * sr)
        m = int(rng.uniform(0.07, 0.14) * sr)
        asp = _formants(rng.standard_normal(h), rng, sr)
        asp *= 0.3 / (np.max(np.abs(asp)) + 1e-12)
        f0 = np.full(m, base * (1.0 - 0.04 * i)) * np.linspace(1.05, 0.95, m)
        v = _formants(_pulses(f0, sr, rng), rng, sr) * _raised(m, 0.2)
        v /= np.max(np.abs(v)) + 1e-12
        parts += [asp * _raised(h, 0.5), v, np.zeros(int(rng.uniform(0.17, 0.25) * sr) - h - m)]
    return np.concatenate(parts[:-1])


def _creak(rng, sr):
    n = int(rng.uniform(0.2, 0.8) * sr)
    rate = np.linspace(rng.uniform(60, 150), rng.uniform(120, 300), n)
    x = _pulses(rate, sr, rng, jitter=0.05)
    out = np.zeros(n)
    for _ in range(2):
        f = rng.uniform(800, 3000)
        b, a = signal.iirpeak(f, f / 60, fs=sr)
        out += signal.lfilter(b, a, x)
    return out * _raised(n, 0.3)


def _rustle(rng, sr):
    n = int(rng.uniform(0.3, 1.5) * sr)
    x = np.zeros(n)
    k = rng.integers(0, n, size=int(rng.uniform(200, 900) * n / sr))
    x[k] = rng.standard_normal(len(k))
    x = signal.sosfilt(signal.butter(2, 1000, btype="high", fs=sr, output="sos"), x)
    x += 0.02 * rng.standard_normal(n)
    return x * _raised(n, 0.2)


def _impact(rng, sr, lo, hi, k_res):
    n = int(0.2 * sr)
    t = np.arange(n) / sr
    x = rng.standard_normal(n) * np.exp(-t / 0.002)
    for _ in range(k_res):
        x += rng.uniform(0.5, 1.5) * np.sin(2 * np.pi * rng.uniform(lo, hi) * t) * np.exp(-t / rng.uniform(0.02, 0.15))
    return x


def _knock(rng, sr):
    parts = []
    for _ in range(int(rng.integers(1, 3))):
        parts += [_impact(rng, sr, 200, 4000, int(rng.integers(2, 4))), np.zeros(int(rng.uniform(0.1, 0.3) * sr))]
    return np.concatenate(parts[:-1])


def _door(rng, sr):
    n = int(0.5 * sr)
    t = np.arange(n) / sr
    x = np.sin(2 * np.pi * rng.uniform(60, 150) * t) * np.exp(-t / rng.uniform(0.1, 0.25))
    x += 0.5 * rng.standard_normal(n) * np.exp(-t / 0.01)
    k = int(rng.uniform(0.05, 0.2) * sr)
    latch = _impact(rng, sr, 2000, 5000, 2)[: n - k] * 0.4
    x[k:k + len(latch)] += latch
    return x


def _tone(rng, sr):
    parts = []
    f = rng.uniform(700, 2500)
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.uniform(0.08, 0.2) * sr)
        t = np.arange(n) / sr
        x = np.sin(2 * np.pi * f * t) + 10 ** (-10 / 20) * np.sin(4 * np.pi * f * t)
        r = int(0.005 * sr)
        x[:r] *= np.linspace(0, 1, r)
        x[-r:] *= np.linspace(1, 0, r)
        parts += [x, np.zeros(int(rng.uniform(0.05, 0.15) * sr))]
        f *= rng.choice([1.0, 1.25, 0.8])
    return np.concatenate(parts[:-1])


def _clock(rng, sr):
    out = []
    for _ in range(int(rng.integers(3, 7))):
        t = np.arange(int(0.03 * sr)) / sr
        tick = rng.standard_normal(len(t)) * np.exp(-t / 0.001)
        tick += np.sin(2 * np.pi * rng.uniform(2000, 5000) * t) * np.exp(-t / 0.004)
        out += [tick, np.zeros(sr - len(t))]
    return np.concatenate(out[:-1])


_MAKERS = {"cough": _cough, "throat": _throat, "sniff": _sniff, "breath": _breath, "sigh": _sigh,
           "noseblow": _noseblow, "laugh": _laugh, "creak": _creak, "rustle": _rustle, "knock": _knock,
           "door": _door, "tone": _tone, "clock": _clock}


def sound(kind: str, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n,) float64 one sound of ``kind``, trimmed to its extent (first to last sample above
    ``EXTENT_DB`` re its peak), at unit RMS over that extent."""
    x = _MAKERS[kind](rng, sample_rate)
    above = np.flatnonzero(np.abs(x) >= np.max(np.abs(x)) * 10 ** (EXTENT_DB / 20))
    x = x[above[0]:above[-1] + 1]
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def place(channel: np.ndarray, x: np.ndarray, start: int, level_dbfs: float, rng: np.random.Generator, *,
          reverb: bool) -> tuple[int, int]:
    """Add ``x`` (unit RMS) into ``channel`` at sample ``start`` at ``level_dbfs`` RMS over its
    extent, through a room (``tests.keyboard.room``) when ``reverb``; returns the planted extent
    (samples, before the room's tail)."""
    y = x * 10 ** (level_dbfs / 20)
    if reverb:
        y = signal.fftconvolve(y, room(rng))
    end = min(len(channel), start + len(y))
    channel[start:end] += y[: end - start].astype(channel.dtype)
    return start, min(len(channel), start + len(x))
