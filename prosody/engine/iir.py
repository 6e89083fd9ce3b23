"""Butterworth high-pass design and a cascade of biquads (second-order
sections), without importing ``scipy.signal``: that import alone (~0.6 s CPU,
it pulls in scipy.stats, interpolate, optimize, ...) cost more than the voice
activity detection of a 10-minute session.

``butter_highpass_sos`` designs what ``scipy.signal.butter(order, cutoff_hz,
btype="highpass", fs=sample_rate, output="sos")`` designs (Butterworth
prototype, high-pass transform, bilinear transform with pre-warping; the same
coefficients to rounding). The filter loop itself is ``compiled.sosfilt``
(scipy's compiled biquad loop, without importing ``scipy.signal``).
"""
from __future__ import annotations

import numpy as np


def butter_highpass_sos(order: int, cutoff_hz: float, *, sample_rate: int) -> np.ndarray:
    """Digital Butterworth high-pass of ``order`` (even) as second-order
    sections, shape (order // 2, 6): rows [b0, b1, b2, 1, a1, a2], poles
    farthest from the unit circle first, the gain in the first section."""
    if order < 2 or order % 2:
        raise ValueError(f"order={order}: an even order >= 2 is needed")
    fs = 2.0                                                   # scipy designs at fs=2 with Wn = cutoff / Nyquist
    warped = 2.0 * fs * np.tan(np.pi * (2.0 * cutoff_hz / sample_rate) / fs)
    m = np.arange(-order + 1, order, 2)
    p = -np.exp(1j * np.pi * m / (2 * order))                 # analog low-pass prototype poles
    k = np.real(1.0 / np.prod(-p))                            # low-pass -> high-pass gain (1 for Butterworth)
    p = warped / p                                            # low-pass -> high-pass: zeros at s = 0
    fs2 = 2.0 * fs
    k = k * np.real(fs2 ** order / np.prod(fs2 - p))           # bilinear transform gain
    pz = (fs2 + p) / (fs2 - p)                                # bilinear transform; zeros at z = 1
    upper = pz[np.imag(pz) > 0]
    upper = upper[np.argsort(-np.abs(upper))[::-1]]           # farthest from the unit circle first
    sos = np.zeros((order // 2, 6))
    for i, q in enumerate(upper):
        sos[i] = [1.0, -2.0, 1.0, 1.0, -2.0 * q.real, abs(q) ** 2]
    sos[0, :3] *= k
    return sos
