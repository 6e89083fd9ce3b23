"""Strided views of a 1-D signal without ``as_strided``'s per-call cost.

``numpy.lib.stride_tricks.as_strided`` and ``sliding_window_view`` spend
~10 us per call building the view through Python; the engine makes a few
thousand such views per 10 minutes of audio (one per voiced run, one per
cross-talk chunk). ``strided_rows`` makes the same view with the ndarray
constructor, which also checks that every row lies inside the signal.
``moving_mean`` is the centred moving mean (edges repeated) that voice
quality and cross-talk both smooth with. ``ChannelMean`` is a stereo
recording's channel mean read piece by piece (the diarizer's signal), never
held whole beside the recording.
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


class ChannelMean:
    """The mean of the channels of ``x`` (n_samples, n_channels) float32, computed where it is
    read: ``m[a:b]`` and ``m[positions]`` (integer arrays of any shape) give the values of
    ``channel_mean(x)[...]``, bit for bit (each sample's mean is its own row's), without the
    whole mean held beside the recording (an hour of stereo: 230 MB on top of 461 MB).
    ``frame_rows`` gives its 10 ms frames the same way. ``len(m)``: the samples.
    ``in_float64``: the mean taken in float64 and rounded to float32 (``detect_layout``'s)."""

    ndim = 1
    dtype = np.dtype(np.float32)

    def __init__(self, x: np.ndarray, *, in_float64: bool = False):
        self._x = x
        self._f64 = in_float64  # taken in float64, then rounded to float32 (as detect_layout takes it)
        self.shape = (len(x),)

    def __len__(self) -> int:
        return len(self._x)

    def __getitem__(self, key) -> np.ndarray:
        return self.mean_of(self._x[key])

    def mean_of(self, rows: np.ndarray) -> np.ndarray:
        """The mean over the last axis of ``rows`` (samples of the channels), as this mean takes it."""
        if rows.shape[-1] != 2:
            return (rows.astype(np.float64).mean(axis=-1).astype(np.float32) if self._f64 else rows.mean(axis=-1))
        # two channels: numpy's mean spelt out, 20 x quicker than its reduction over an axis of two
        # (from its identity 0, as numpy's reduce starts: -0 and -0 give +0; the same bits, tested)
        a, b = rows[..., 0], rows[..., 1]
        if self._f64:
            return ((0.0 + a.astype(np.float64) + b) / 2.0).astype(np.float32)
        return (np.float32(0.0) + a + b) / np.float32(2.0)


class _MeanFrames:
    """Rows of ``mean[: n * hop].reshape(n, hop)`` for a ``ChannelMean``: ``f[a:b]`` and
    ``f[rows]`` (an integer array) give (k, hop) float32, computed from the channels."""

    def __init__(self, mean: ChannelMean, n: int, hop: int):
        self._m, self._x, self.shape = mean, mean._x, (n, hop)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        n, hop = self.shape
        if isinstance(key, slice):
            a, b, step = key.indices(n)
            if step != 1:
                raise ValueError("frame rows are read in order")
            return self._m.mean_of(self._x[a * hop:max(a, b) * hop]).reshape(-1, hop)
        n_ch = self._x.shape[1]
        # whole frames gathered (a row copy each), not sample by sample
        return self._m.mean_of(self._x[: n * hop].reshape(n, hop, n_ch)[np.asarray(key, np.int64)])


def frame_rows(signal, n: int, hop: int):
    """(n, hop) frames of a signal: ``signal[: n * hop].reshape(n, hop)`` (a view) for an
    array, rows computed where read for a ``ChannelMean``."""
    if isinstance(signal, ChannelMean):
        return _MeanFrames(signal, n, hop)
    return signal[: n * hop].reshape(n, hop)


def as_signal(samples):
    """``samples`` as float32 (n_samples,), or a ``ChannelMean`` as it is (read piece by piece)."""
    return samples if isinstance(samples, ChannelMean) else np.asarray(samples, dtype=np.float32)
