"""Strided views of a 1-D signal without ``as_strided``'s per-call cost.

``numpy.lib.stride_tricks.as_strided`` and ``sliding_window_view`` spend
~10 us per call building the view through Python; the engine makes a few
thousand such views per 10 minutes of audio (one per voiced run, one per
cross-talk chunk). ``strided_rows`` makes the same view with the ndarray
constructor, which also checks that every row lies inside the signal.
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
