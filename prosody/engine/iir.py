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

import math

import numpy as np

from ..timebase import GRID
from .compiled import sosfilt


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


class DcBlocker:
    """Streaming DC removal: a first-order high-pass, ``y[n] = x[n] - x[n-1] +
    r * y[n-1]`` with its corner at ``cutoff_hz`` (-0.04 dB at the 50 Hz
    pitch floor), per channel. A recorder's DC offset otherwise enters every
    level: the channel level difference that tells separate channels from
    shared ones (a common offset makes two separate channels look alike), the
    loudness figures and the syllable nuclei. The state starts at the first
    sample, so an offset present from the start leaves no step at 0 s.
    Output is the same whatever the block sizes.

    ``push(x)``: x float32 (n_samples, channels) at ``sample_rate``; returns
    the same shape, float32."""

    def __init__(self, channels: int, *, sample_rate: int = GRID.sample_rate, cutoff_hz: float = 5.0):
        r = math.exp(-2.0 * math.pi * cutoff_hz / sample_rate)
        self._sos = np.array([[1.0, -1.0, 0.0, 1.0, -r, 0.0]])
        self._channels = channels
        self.reset()

    def reset(self) -> None:
        self._zi: list[np.ndarray] | None = None

    def push(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return x
        if self._zi is None:  # steady state for a constant input at the first sample: output 0 there
            self._zi = [np.array([[-float(x[0, c]), 0.0]]) for c in range(self._channels)]
        y = np.empty(x.shape, np.float32)
        for c in range(self._channels):
            y[:, c], self._zi[c] = sosfilt(self._sos, x[:, c], self._zi[c])
        return y
