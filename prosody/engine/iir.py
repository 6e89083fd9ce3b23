"""Butterworth high-pass design and a cascade of biquads (second-order
sections), without importing ``scipy.signal``: that import alone (~0.6 s CPU,
it pulls in scipy.stats, interpolate, optimize, ...) cost more than the voice
activity detection of a 10-minute session.

``butter_highpass_sos`` designs what ``scipy.signal.butter(order, cutoff_hz,
btype="highpass", fs=sample_rate, output="sos")`` designs (Butterworth
prototype, high-pass transform, bilinear transform with pre-warping; the same
coefficients to rounding). ``sosfilt`` runs scipy's compiled direct-form II
transposed loop (``scipy/signal/_sosfilt``, the routine ``scipy.signal.sosfilt``
calls), loaded on its own; if that private module is missing or changed it
falls back to the public ``scipy.signal.sosfilt`` (same output, slower import).
"""
from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
from pathlib import Path

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


@functools.lru_cache(maxsize=1)
def _compiled_sosfilt():
    """scipy's compiled ``_sosfilt(sos, x, zi)`` (in place on ``x`` of shape
    (n_signals, n_samples) and ``zi`` of shape (n_signals, n_sections, 2)),
    loaded without running ``scipy/signal/__init__``; None when unavailable."""
    try:
        import scipy
        folder = Path(scipy.__file__).parent / "signal"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = folder / f"_sosfilt{suffix}"
            if path.is_file():
                name = "scipy.signal._sosfilt"
                loader = importlib.machinery.ExtensionFileLoader(name, str(path))
                module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
                loader.exec_module(module)
                return module._sosfilt
    except (ImportError, OSError, AttributeError):
        pass
    return None


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter ``x`` (shape (n,)) through the sections ``sos`` (shape
    (n_sections, 6)) from state ``zi`` (shape (n_sections, 2)); returns the
    output (shape (n,), float64) and the final state, as
    ``scipy.signal.sosfilt(sos, x, zi=zi)``. Sample by sample, so any split
    of a signal into blocks gives the same output."""
    run = _compiled_sosfilt()
    if run is None:
        from scipy.signal import sosfilt as scipy_sosfilt
        return scipy_sosfilt(sos, x, zi=zi)
    y = np.array(x, np.float64, order="C").reshape(1, -1)
    z = np.array(zi, np.float64, order="C").reshape(1, *np.shape(zi))
    run(np.ascontiguousarray(sos, np.float64), y, z)
    return y[0], z[0]
