"""Variable-size blocks -> whole frames on the fixed hop, remainder carried.

Blocks are whatever a capture callback or a file reader delivers; frames are
the analysis hop (``hop_length`` samples). Nothing is dropped: ``flush`` pads
the last partial frame with zeros.
"""
from __future__ import annotations

import functools

import numpy as np

from ..timebase import GRID, Grid


class Framer:
    """Cut 1-D sample blocks into ``(n_frames, hop_length)`` float32 arrays."""

    def __init__(self, *, grid: Grid = GRID):
        self.grid = grid
        self.reset()

    def reset(self) -> None:
        self._rest = np.zeros(0, dtype=np.float32)
        self.n_frames = 0  # frames emitted so far

    def push(self, samples: np.ndarray) -> np.ndarray:
        hop = self.grid.hop_length
        x = np.concatenate([self._rest, np.asarray(samples, dtype=np.float32)]) if len(self._rest) else \
            np.asarray(samples, dtype=np.float32)
        n = len(x) // hop
        self._rest = x[n * hop:].copy()
        self.n_frames += n
        return x[: n * hop].reshape(n, hop)

    def flush(self) -> np.ndarray:
        hop = self.grid.hop_length
        if len(self._rest) == 0:
            return np.zeros((0, hop), dtype=np.float32)
        frame = np.zeros((1, hop), dtype=np.float32)
        frame[0, : len(self._rest)] = self._rest
        self._rest = np.zeros(0, dtype=np.float32)
        self.n_frames += 1
        return frame


def frame_power(frames: np.ndarray) -> np.ndarray:
    """Mean square of each frame (full scale = 1.0), shape (n_frames,), float64, unclipped."""
    return np.mean(np.square(frames, dtype=np.float64), axis=1)


def power_db(power: np.ndarray, *, floor_db: float = -120.0) -> np.ndarray:
    """``frame_power`` in dBFS, shape (n_frames,), float32, clipped below at ``floor_db``."""
    with np.errstate(divide="ignore"):
        level = 10.0 * np.log10(power)
    return np.maximum(level, floor_db).astype(np.float32)


def rms_db(frames: np.ndarray, *, floor_db: float = -120.0) -> np.ndarray:
    """Frame RMS level in dBFS (full scale = 1.0), shape (n_frames,), float32,
    clipped below at ``floor_db``."""
    return power_db(frame_power(frames), floor_db=floor_db)


@functools.lru_cache(maxsize=8)
def _hf500_plan(n: int, sample_rate: int):
    """Hann window (n,), FFT length, and the bins below (DC excluded) and from 500 Hz."""
    nfft = 1 << int(np.ceil(np.log2(n)))
    freqs = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    window, lo_bins, hi_bins = np.hanning(n), (freqs > 0) & (freqs < 500.0), freqs >= 500.0
    for a in (window, lo_bins, hi_bins):  # cached and shared: read-only
        a.setflags(write=False)
    return window, nfft, lo_bins, hi_bins


def hf500_db(frames: np.ndarray, *, sample_rate: int, floor_db: float = -60.0) -> np.ndarray:
    """Spectral balance per frame: energy above 500 Hz over energy below
    (DC excluded), in dB, shape (n_frames,), float32; one input of vocal
    arousal in Bone, Lee & Narayanan (2014). Hann-windowed frame spectrum."""
    window, nfft, lo_bins, hi_bins = _hf500_plan(frames.shape[1], sample_rate)
    spec = np.abs(np.fft.rfft(frames * window, nfft, axis=1)) ** 2
    lo = spec[:, lo_bins].sum(axis=1)
    hi = spec[:, hi_bins].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 10.0 * np.log10(hi / lo)
    ratio[~np.isfinite(ratio)] = floor_db
    return np.clip(ratio, floor_db, -floor_db).astype(np.float32)
