"""Variable-size blocks -> whole frames on the fixed hop, remainder carried.

Blocks are whatever a capture callback or a file reader delivers; frames are
the analysis hop (``hop_length`` samples). Nothing is dropped: ``flush`` pads
the last partial frame with zeros.
"""
from __future__ import annotations

import numpy as np

from .timebase import GRID, Grid


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


def rms_db(frames: np.ndarray, *, floor_db: float = -120.0) -> np.ndarray:
    """Frame RMS level in dBFS (full scale = 1.0), shape (n_frames,), float32,
    clipped below at ``floor_db``."""
    power = np.mean(np.square(frames, dtype=np.float64), axis=1)
    with np.errstate(divide="ignore"):
        level = 10.0 * np.log10(power)
    return np.maximum(level, floor_db).astype(np.float32)
