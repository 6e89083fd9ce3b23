"""Strided views of a 1-D signal without ``as_strided``'s per-call cost.

``numpy.lib.stride_tricks.as_strided`` and ``sliding_window_view`` spend
~10 us per call building the view through Python; the engine makes a few
thousand such views per 10 minutes of audio (one per voiced run, one per
cross-talk chunk). ``strided_rows`` makes the same view with the ndarray
constructor, which also checks that every row lies inside the signal.
``moving_mean`` is the centred moving mean (edges repeated) that voice
quality and cross-talk both smooth with.
"""
from __future__ import annotations

import numpy as np


def strided_rows(x: np.ndarray, *, n_rows: int, width: int, step: int, start: int = 0) -> np.ndarray:
    """Read-only view of ``x`` (1-D), shape (n_rows, width): row i is
    ``x[start + i * step : start + i * step + width]`` (all in samples)."""
    if x.ndim == 1 and x.flags.c_contiguous and start >= 0:
        size = x.itemsize
        v = np.ndarray((n_rows, width), x.dtype, buffer=x, offset=start * size, strides=(step * size, size))
        v.flags.writeable = False
        return v
    return np.lib.stride_tricks.as_strided(x[start:], shape=(n_rows, width),
                                           strides=(step * x.strides[0], x.strides[0]), writeable=False)


def moving_mean(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Centred moving mean of width ``k`` along ``axis`` (0 or 1) of a 2-D array ``a``, edges repeated
    (scipy's ``ndimage.uniform_filter1d(a, k, axis, mode="nearest")`` to rounding, without importing
    scipy.ndimage; a sum of ``k`` shifted copies: k is small)."""
    if k <= 1 or a.shape[axis] == 0:
        return a
    n = a.shape[axis]
    first, last = np.take(a, [0], axis=axis), np.take(a, [n - 1], axis=axis)
    p = np.concatenate([np.repeat(first, k // 2, axis=axis), a, np.repeat(last, k - 1 - k // 2, axis=axis)],
                       axis=axis)
    # the same additions in the same order along either axis (no transposed copies)
    if axis == 0:
        out = p[:n].copy()
        for d in range(1, k):
            out += p[d:d + n]
    else:
        out = p[:, :n].copy()
        for d in range(1, k):
            out += p[:, d:d + n]
    out /= k
    return out
