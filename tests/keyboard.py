"""Synthetic keyboard typing, for voice activity tests and benchmarks: a therapist taking notes
on the laptop that carries the microphone.

A keystroke is a press transient (a few ms of broadband noise) with one to three decaying
resonances of the key and the case (0.8-6 kHz mostly, sometimes a 150-700 Hz thump), and a
quieter release 60-150 ms later. Keys come in words of 2-8 strokes 80-250 ms apart, words in
bursts of 1.5-8 s, bursts between pauses of typing. The room: an exponentially decaying noise
tail (reverberation time 0.15-0.6 s) at a direct-to-reverberant ratio of 0-10 dB (a keyboard
a hand's width to an arm's length from the microphone). Nothing here is voiced: no stretch of
it has a pitch.
"""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000


def keystroke(rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One transient, 40 ms, its first 5 ms at unit RMS."""
    n = int(0.04 * sample_rate)
    t = np.arange(n) / sample_rate
    x = rng.standard_normal(n) * np.exp(-t / rng.uniform(0.0015, 0.006))
    for _ in range(int(rng.integers(1, 4))):
        f = rng.uniform(800, 6000) if rng.random() < 0.8 else rng.uniform(150, 700)
        x += (rng.uniform(0.3, 1.5) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
              * np.exp(-t / rng.uniform(0.002, 0.012)))
    return x / (np.sqrt(np.mean(x[: int(0.005 * sample_rate)] ** 2)) + 1e-12)


def room(rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """An impulse response: the direct sound, then a decaying noise tail whose energy stands
    0-10 dB below it."""
    rt60 = rng.uniform(0.15, 0.6)
    n = int(rt60 * sample_rate)
    tail = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / (rt60 * sample_rate))
    tail[0] = 0.0
    drr_db = rng.uniform(0.0, 10.0)
    tail *= 10 ** (-drr_db / 20) / np.sqrt(np.sum(tail ** 2))
    tail[0] = 1.0
    return tail


def typing(rng: np.random.Generator, n: int, *, busy: float = 0.7, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n,) float64 typing with its pauses, in a room; peaks near 1 before scaling."""
    out = np.zeros(n + sample_rate)
    pos = float(rng.uniform(0.0, 1.0))
    while pos < n / sample_rate:
        if rng.random() > busy:  # a pause in typing
            pos += rng.uniform(1.0, 4.0)
            continue
        burst_end = pos + rng.uniform(1.5, 8.0)
        while pos < min(burst_end, n / sample_rate):
            for _ in range(int(rng.integers(2, 9))):
                g = rng.uniform(0.5, 1.0)
                i = int(pos * sample_rate)
                k = keystroke(rng, sample_rate)
                if i + len(k) < len(out):
                    out[i:i + len(k)] += g * k
                j = i + int(rng.uniform(0.06, 0.15) * sample_rate)  # the release
                k = keystroke(rng, sample_rate)
                if j + len(k) < len(out):
                    out[j:j + len(k)] += g * rng.uniform(0.2, 0.5) * k
                pos += rng.uniform(0.08, 0.25)
            pos += rng.uniform(0.2, 0.5)  # between words
        pos += rng.uniform(0.5, 3.0)
    y = np.convolve(out[:n], room(rng, sample_rate))[:n]
    return y / (np.max(np.abs(y)) + 1e-12)


def with_typing(speech: np.ndarray, keys: np.ndarray, peak_db: float) -> np.ndarray:
    """``speech + keys``, the keys' 99.9th-percentile magnitude ``peak_db`` relative to the speech's."""
    ps = np.percentile(np.abs(speech), 99.9)
    pk = np.percentile(np.abs(keys), 99.9) + 1e-12
    return (speech + keys * (ps / pk) * 10 ** (peak_db / 20)).astype(np.float32)
