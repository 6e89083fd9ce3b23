"""The one place where samples <-> frames <-> seconds are converted.

The analysis grid is fixed: ``sample_rate`` = 16000 Hz and a hop of 10 ms
(``hop_length`` = 160 samples). Frame ``i`` covers samples
``[i * hop_length, (i + 1) * hop_length)``; its centre is
``(i + 0.5) * hop_length / sample_rate`` seconds::

    samples  |----------|----------|----------|
    frames   |    0     |    1     |    2     |
    centre        ^ 0.005 s  ^ 0.015 s  ^ 0.025 s

Times are always computed from integer indices, never accumulated.

Two ways of writing a time for a person (``clock_text``, ``stopwatch_text``)
live here too, so that every view writes the same time the same way.
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


def clock_text(t_s: float) -> str:
    """A time on the session's timeline (seconds from the start) as a person
    reads it in a report or a list: ``m:ss``, ``h:mm:ss`` from an hour.

    Rounded to the nearest second (a moment at 59.6 s is nearer 1:00 than 0:59;
    0.5 rounds to even, as ``round``); a negative time reads ``0:00``::

        clock_text(59.6) == "1:00"    clock_text(3599.5) == "1:00:00"
    """
    t = max(0, int(round(t_s)))
    h, rem = divmod(t, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"


def stopwatch_text(t_s: float) -> str:
    """Time elapsed (seconds) as a running stopwatch shows it (the live view,
    live messages): ``mm:ss``, ``h:mm:ss`` from an hour.

    Truncated, not rounded: a stopwatch never shows a second before it has
    passed (at 59.6 s the 60th second is not over: ``00:59``); a negative
    time reads ``00:00``::

        stopwatch_text(59.6) == "00:59"    stopwatch_text(3599.5) == "59:59"
    """
    t = int(max(t_s, 0.0))
    return f"{t // 3600:d}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60:02d}:{t % 60:02d}"
