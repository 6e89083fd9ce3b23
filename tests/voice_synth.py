"""Synthetic voices with planted jitter, shimmer and noise (shared by
tests/test_voice_quality.py and benchmarks/voice_quality.py)."""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def synthetic_voice(*, f0_hz: float, dur_s: float = 2.5, jitter: float = 0.0, shimmer: float = 0.0,
                    snr_db: float | None = None, seed: int = 0, sample_rate: int = 16000):
    """A voiced signal with planted period and amplitude perturbation (Gaussian,
    scaled so that the expected local jitter / shimmer equal ``jitter`` /
    ``shimmer``) and white noise at ``snr_db`` (harmonics-to-noise power
    ratio). Returns (samples, planted jitter, planted shimmer, planted HNR dB)
    with the planted figures computed from the drawn periods and amplitudes."""
    rng = np.random.default_rng(seed)
    t0 = 1.0 / f0_hz
    n_p = int(dur_s / t0) + 2
    per = t0 * (1 + jitter * np.sqrt(np.pi) / 2 * rng.standard_normal(n_p))
    amp = 1 + shimmer * np.sqrt(np.pi) / 2 * rng.standard_normal(n_p)
    lead_s = 0.3
    times = lead_s + np.concatenate([[0.0], np.cumsum(per)])[:n_p]
    n = int((dur_s + 2 * lead_s) * sample_rate)
    x = np.zeros(n)
    k = np.arange(-32, 33)
    for ti, ai in zip(times, amp):
        c = ti * sample_rate
        idx = int(np.floor(c)) + k
        ok = (idx >= 0) & (idx < n)
        d = idx[ok] - c
        x[idx[ok]] += ai * np.sinc(0.9 * d) * (0.5 + 0.5 * np.cos(np.pi * d / 33))
    x = lfilter([1.0], [1, -0.95], x)
    r, fc = (0.9, 0.97)[seed % 2], 600.0 + 200.0 * rng.random()   # a broad or a ringing formant
    x = lfilter([1.0], [1, -2 * r * np.cos(2 * np.pi * fc / sample_rate), r * r], x)
    end = int((lead_s + dur_s - 2 * t0) * sample_rate)
    x[end:] = 0.0
    x[: int(lead_s * sample_rate)] = 0.0
    x = 0.3 * x / np.max(np.abs(x))
    inside = (times > lead_s) & (times < lead_s + dur_s - 2 * t0)
    p = np.diff(times[inside])
    a = amp[inside]
    planted_j = float(np.mean(np.abs(np.diff(p))) / np.mean(p))
    planted_s = float(np.mean(np.abs(np.diff(a))) / np.mean(a))
    hnr = None
    if snr_db is not None:
        voiced = x[int(lead_s * sample_rate):end]
        noise = rng.standard_normal(n) * np.sqrt(np.mean(voiced ** 2) / 10 ** (snr_db / 10))
        x = x + noise
        hnr = float(snr_db)
    return x.astype(np.float32), planted_j, planted_s, hnr
