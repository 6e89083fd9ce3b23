"""scipy's compiled kernels without scipy's package imports.

``import scipy.signal`` costs ~0.6 s of CPU and ``import scipy.fft`` ~0.2 s
(they pull in scipy.stats, scipy.special, array-API layers), more than whole
stages of a 10-minute analysis. The kernels the engine uses are single
compiled modules that need none of that: scipy's direct-form II transposed
biquad loop (``scipy/signal/_sosfilt``, what ``scipy.signal.sosfilt`` runs)
and pocketfft (``scipy/fft/_pocketfft/pypocketfft``, what ``scipy.fft.rfft``
and ``scipy.fft.dct`` run: the diarizer's MFCCs too, so that a separate-channel
analysis, which never diarizes, does not import ``scipy.fft`` with the diarizer's
module). They are loaded from their files on first use and checked on a small known case; if a scipy release moves or changes them, the
public functions are used instead (the same output, the slower import).
"""
from __future__ import annotations

import functools
import math
import importlib.machinery
import importlib.util
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=4)
def extension(folder: str, name: str):
    """The compiled module ``scipy/<folder>/<name>`` loaded on its own, or
    None when it is not there or does not load."""
    try:
        import scipy
        base = Path(scipy.__file__).parent / folder
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = base / f"{name}{suffix}"
            if path.is_file():
                full = "scipy." + ".".join(Path(folder).parts + (name,))
                loader = importlib.machinery.ExtensionFileLoader(full, str(path))
                module = importlib.util.module_from_spec(importlib.util.spec_from_loader(full, loader))
                loader.exec_module(module)
                return module
    except (ImportError, OSError, AttributeError):
        pass
    return None


@functools.lru_cache(maxsize=1)
def _sosfilt_kernel():
    """scipy's biquad loop, if it loads and filters a known case right (a
    one-pole section's impulse response); else None (the public function is
    used)."""
    m = extension("signal", "_sosfilt")
    if m is None or not hasattr(m, "_sosfilt"):
        return None
    try:
        y = np.zeros((1, 8))
        y[0, 0] = 1.0
        m._sosfilt(np.array([[1.0, 0.0, 0.0, 1.0, -0.5, 0.0]]), y, np.zeros((1, 1, 2)))
        ok = np.allclose(y[0], 0.5 ** np.arange(8), rtol=0, atol=1e-15)
    except Exception:  # a changed private signature: fall back, never fail the analysis
        return None
    return m if ok else None


@functools.lru_cache(maxsize=1)
def _pocketfft_kernel():
    """scipy's pocketfft module, if it loads and its real FFT and DCT-I give
    the known answers on a small case; else None (the public functions are
    used)."""
    m = extension("fft/_pocketfft", "pypocketfft")
    if m is None:
        return None
    try:
        x = np.array([1.0, 2.0, 0.5, -1.0, 3.0, 0.25])
        n = len(x)
        k = np.arange(1, n - 1)
        want_dct = np.array([x[0] + (-1) ** j * x[-1] + 2 * np.sum(x[1:-1] * np.cos(np.pi * j * k / (n - 1)))
                             for j in range(n)])
        ok = (np.allclose(m.r2c(x, (0,), True, 0, None, 1), np.fft.rfft(x), rtol=0, atol=1e-12)
              and np.allclose(m.dct(x, 1, (0,), 0, None, 1, None), want_dct, rtol=0, atol=1e-12))
    except Exception:  # a changed private signature: fall back, never fail the analysis
        return None
    return m if ok else None


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter ``x`` (shape (n,)) through the sections ``sos`` (shape
    (n_sections, 6)) from state ``zi`` (shape (n_sections, 2)); returns the
    output (shape (n,), float64) and the final state, as
    ``scipy.signal.sosfilt(sos, x, zi=zi)``. Sample by sample, so any split
    of a signal into blocks gives the same output."""
    m = _sosfilt_kernel()
    if m is None:
        from scipy.signal import sosfilt as scipy_sosfilt
        return scipy_sosfilt(sos, x, zi=zi)
    y = np.array(x, np.float64, order="C").reshape(1, -1)
    z = np.array(zi, np.float64, order="C").reshape(1, *np.shape(zi))
    m._sosfilt(np.ascontiguousarray(sos, np.float64), y, z)
    return y[0], z[0]


def _real(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def rfft(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """``scipy.fft.rfft(x, axis=axis)``: the spectrum of real ``x`` (float32
    stays single precision), shape ``x.shape`` with ``n // 2 + 1`` along
    ``axis``."""
    m = _pocketfft_kernel()
    if m is None:
        import scipy.fft
        return scipy.fft.rfft(x, axis=axis)
    return m.r2c(_real(x), (axis,), True, 0, None, 1)


def dct1(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """``scipy.fft.dct(x, type=1, axis=axis)`` (unnormalised DCT-I: for the
    half spectrum of a real even sequence, its inverse FFT times its length),
    shape ``x.shape``."""
    m = _pocketfft_kernel()
    if m is None:
        import scipy.fft
        return scipy.fft.dct(x, type=1, axis=axis)
    return m.dct(_real(x), 1, (axis,), 0, None, 1, None)


def dct2_ortho(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """``scipy.fft.dct(x, type=2, norm="ortho", axis=axis)`` (the orthonormal DCT-II of
    MFCCs), shape ``x.shape``."""
    m = _pocketfft_kernel()
    if m is None:
        import scipy.fft
        return scipy.fft.dct(x, type=2, norm="ortho", axis=axis)
    return m.dct(_real(x), 2, (axis,), 1, None, 1, None)  # norm 1: "ortho", as scipy.fft passes it


def fast_len(n: int) -> int:
    """Smallest 2^a * 3^b * 5^c >= n (a fast FFT size; ``scipy.fft.next_fast_len(n, real=True)``)."""
    best = 1 << max(0, math.ceil(math.log2(n)))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best
