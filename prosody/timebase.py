"""The one place where samples <-> frames <-> seconds are converted.

The analysis grid is fixed: ``sample_rate`` = 16000 Hz and a hop of 10 ms
(``hop_length`` = 160 samples). Frame ``i`` covers samples
``[i * hop_length, (i + 1) * hop_length)``; its centre is
``(i + 0.5) * hop_length / sample_rate`` seconds::

    samples  |----------|----------|----------|
    frames   |    0     |    1     |    2     |
    centre        ^ 0.005 s  ^ 0.015 s  ^ 0.025 s

Times are always computed from integer indices, never accumulated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANALYSIS_RATE_HZ = 16000
HOP_S = 0.010


@dataclass(frozen=True)
class Grid:
    sample_rate: int = ANALYSIS_RATE_HZ
    hop_length: int = 160  # samples

    @property
    def hop_s(self) -> float:
        return self.hop_length / self.sample_rate

    def frame_start_s(self, frame):
        """Start time (s) of frame index/indices ``frame``."""
        return np.asarray(frame) * self.hop_length / self.sample_rate

    def frame_centre_s(self, frame):
        return (np.asarray(frame) + 0.5) * self.hop_length / self.sample_rate

    def frames_to_s(self, n_frames):
        """Duration (s) of ``n_frames`` frames; also the time of a frame boundary."""
        return float(n_frames) * self.hop_length / self.sample_rate

    def s_to_frames(self, seconds: float) -> int:
        """Nearest whole number of frames for a duration in seconds."""
        return int(round(seconds * self.sample_rate / self.hop_length))

    def s_to_samples(self, seconds: float) -> int:
        """Nearest whole number of samples for a duration in seconds."""
        return int(round(seconds * self.sample_rate))

    def samples_to_s(self, n_samples: int) -> float:
        return n_samples / self.sample_rate


GRID = Grid()
