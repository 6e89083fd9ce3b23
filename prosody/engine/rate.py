"""Speech rate from syllable nuclei, after de Jong & Wempe (2009).

Intensity contour: frame power averaged over 5 frames (50 ms) centred on the
frame, in dB. A syllable nucleus is a local maximum of the contour that

* lies above ``q99 - silence_below_q99_db`` (q99: the 0.99 quantile of the
  speaker's speech-frame levels so far, refreshed every second),
* is followed by a dip of more than ``min_dip_db`` before the next peak,
* falls on a frame that is speech and voiced.

The original script decides peaks over a whole file; here a pending peak is
kept as soon as the contour drops ``min_dip_db`` below it, and dropped when a
next peak arrives first, which is the same rule applied as data arrives.
Like the original it undercounts unstressed syllables: use it for relative
change. Speech rate = nuclei / (time holding the floor + own speech outside it);
articulation rate = nuclei / speech time (see ``measures/voice.py``).
"""
from __future__ import annotations

import numpy as np

from ..config import RateConfig
from ..timebase import GRID, Grid

_HALF = 2  # contour half-width in frames (5-frame window)


class SyllableNuclei:
    """Stage: per-frame (rms_db, voiced, speech) -> frame indices of nuclei.

    ``latency_frames``: a frame's candidacy is known ``_HALF + 1`` frames later;
    acceptance can wait longer (until the dip), so nuclei are emitted as events.
    """

    latency_frames = _HALF + 1

    def __init__(self, config: RateConfig = RateConfig(), *, grid: Grid = GRID, update_every: int = 100):
        self.config = config
        self.update_every = update_every
        self._bins = np.arange(-120.0, 0.5, 0.5)
        self.reset()

    def reset(self) -> None:
        self._base = 0                     # absolute index of buffer position 0
        self._n = 0                        # frames pushed
        self._power = np.zeros(0)          # frame power, frames [_base, _n)
        self._ok = np.zeros(0, dtype=bool)  # speech & voiced
        self._thr = np.zeros(0)            # threshold (dB) in force at each frame
        self._hist = np.zeros(len(self._bins) + 1, dtype=np.int64)
        self._threshold_db = -np.inf
        self._pending: tuple[int, float] | None = None  # (frame, contour dB)
        self._next_peak = 0                # first frame whose peak test is still to be done

    def _thresholds(self, level_db: np.ndarray, speech: np.ndarray) -> np.ndarray:
        """Threshold (dB) in force for each incoming frame; q99 refreshed at fixed frame indices."""
        out = np.empty(len(level_db))
        pos, n = 0, self._n
        while pos < len(level_db):
            nxt = (n // self.update_every + 1) * self.update_every
            take = min(len(level_db) - pos, nxt - n)
            out[pos:pos + take] = self._threshold_db
            sl = slice(pos, pos + take)
            np.add.at(self._hist, np.searchsorted(self._bins, level_db[sl][speech[sl]]), 1)
            n += take
            pos += take
            if n == nxt and self._hist.sum() > 0:
                cdf = np.cumsum(self._hist) / self._hist.sum()
                q99 = self._bins[min(int(np.searchsorted(cdf, 0.99)), len(self._bins) - 1)]
                self._threshold_db = q99 - self.config.silence_below_q99_db
        return out

    def _append(self, power, ok, thr) -> None:
        self._power = np.concatenate([self._power, power])
        self._ok = np.concatenate([self._ok, ok])
        self._thr = np.concatenate([self._thr, thr])
        self._n += len(power)

    @property
    def decided_until_frame(self) -> int:
        """Every nucleus before this frame index has been reported: frames
        after the last tested one, and a peak waiting for its dip, are open."""
        return self._pending[0] if self._pending is not None else self._next_peak

    def push(self, rms_db: np.ndarray, voiced: np.ndarray, speech: np.ndarray) -> list[int]:
        """Per-frame arrays of equal length -> absolute frame indices of newly accepted nuclei."""
        level = np.asarray(rms_db, dtype=np.float64)
        speech = np.asarray(speech, dtype=bool)
        self._append(10.0 ** (level / 10.0), np.asarray(voiced, dtype=bool) & speech,
                     self._thresholds(level, speech))
        return self._advance(self._n - _HALF - 1)

    def flush(self) -> list[int]:
        n_real = self._n
        pad = _HALF + 1  # frames past the end are silence
        self._append(np.zeros(pad), np.zeros(pad, dtype=bool), np.full(pad, np.inf))
        out = self._advance(n_real)
        if self._pending is not None:  # the last peak has no next peak: keep it
            out.append(self._pending[0])
            self._pending = None
        return out

    def _advance(self, upto: int) -> list[int]:
        """Test frames [self._next_peak, upto) for peaks; needs contour at j-1..j+1."""
        found: list[int] = []
        lo = self._next_peak
        if upto <= lo:
            return found
        b = self._base
        p = self._power
        # contour for frames lo-1 .. upto (inclusive) where the 5-frame window is inside the buffer
        idx = np.arange(lo - 1, upto + 1)
        cs = np.concatenate([[0.0], np.cumsum(p)])
        a = np.clip(idx - _HALF - b, 0, len(p))
        e = np.clip(idx + _HALF + 1 - b, 0, len(p))
        cnt = np.maximum(e - a, 1)
        with np.errstate(divide="ignore"):
            contour = 10.0 * np.log10(np.maximum((cs[e] - cs[a]) / cnt, 1e-30))
        c_prev, c_mid, c_next = contour[:-2], contour[1:-1], contour[2:]
        mids = np.arange(lo, upto)
        peak = (c_mid > c_prev) & (c_mid >= c_next)
        thr = self._thr[lo - b:upto - b]
        ok = self._ok[lo - b:upto - b]
        cand = peak & (c_mid > thr) & ok
        dip = self.config.min_dip_db
        pos = 0  # position in mids already scanned for dips
        for k in np.flatnonzero(cand).tolist() + [len(mids)]:
            if self._pending is not None:
                seg = c_mid[pos:k]
                if len(seg):
                    drop = np.flatnonzero(seg < self._pending[1] - dip)
                    if len(drop):
                        found.append(self._pending[0])
                        self._pending = None
            if k == len(mids):
                break
            if self._pending is not None:
                self._pending = None  # next peak came before a dip: drop it
            self._pending = (int(mids[k]), float(c_mid[k]))
            pos = k + 1
        self._next_peak = upto
        # keep a margin of frames for the next contour windows
        keep_from = max(self._base, upto - _HALF - 2)
        cut = keep_from - self._base
        self._power = self._power[cut:]
        self._ok = self._ok[cut:]
        self._thr = self._thr[cut:]
        self._base = keep_from
        return found
