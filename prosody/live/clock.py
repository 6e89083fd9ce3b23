"""Two devices on one timeline: each device's clock from its block arrivals
(``ClockFit``, lower envelope) and the ``Aligner`` that lays the two streams
side by side and corrects the drift between their clocks."""
from __future__ import annotations


import numpy as np

from ..timebase import GRID

ALIGN_AFTER_S = 1.0            # audio per device before the first alignment (then refined every second)
DRIFT_MIN_SPAN_S = 10.0        # clock-rate fit needs this much audio before it is used
DRIFT_MAX_PPM = 1000.0         # larger apparent drift is not a clock: not corrected, reported
SAME_CLOCK_PPM = 2.0           # drift within max(3 x its uncertainty, this): one clock, ratio 1
FIT_FLOOR_S = 0.00005          # clock fit: jitter floor of the earliest arrivals, for the slope's uncertainty
B_HISTORY = 1600               # B samples kept behind the read position, for refits that move it back


class ClockFit:
    """A device clock against the system clock, from when its blocks arrive.

    A block whose last sample is device sample ``k`` (at the nominal rate:
    ``k_s`` = k / rate_nominal seconds) arrives at system time ``t_s``::

        t_s = t0_s + (1 + slope) * k_s + lateness,      lateness >= 0

    ``t0_s`` holds the (constant) delivery latency of the device's path,
    ``slope`` its rate error against the system clock (``-100e-6``: the
    device runs 100 ppm fast), ``lateness`` the scheduling delay of this
    callback (a loaded machine, a burst after a stall): never negative, often
    tens of ms. So the clock is the *lower envelope* of the arrivals, not
    their mean: per bucket of ``BUCKET_S`` of audio the earliest arrival is
    kept, and the clock is the lower hull of those minima (``_envelope_fit``).

    The sound server hands audio over in chunks; a block ending inside a
    chunk waits for the next one. When chunk and block boundaries keep the
    same phase for seconds (seen with PulseAudio null sinks), every block of
    a bucket is late by up to one block: the envelope is known to within one
    block, hence the short blocks of the two-device layout
    (``TWO_DEVICE_BLOCK_S``). Two streams of one source share the chunks, and
    with them the phase: that case is exact.

    PortAudio's ``inputBufferAdcTime`` is not used: through ALSA's ``pulse``
    plugin (how PulseAudio and PipeWire sources are opened) the capture delay
    it is computed from starts stale at ~230-250 ms, counts down by one block
    per callback to ~0 after ~1.3 s, and differs between two streams of one
    source by a block, which put one device tens of ms off the other."""

    BUCKET_S = 1.0

    def __init__(self):
        self.n = 0
        self._t_ref: float | None = None
        self._xs: list[float] = []        # per completed bucket: k_s of its earliest block
        self._ys: list[float] = []        # ... and t_s - k_s (relative to _t_ref)
        self._cur: tuple[int, float, float] | None = None   # open bucket: (index, k_s, y)
        self.k_last_s = 0.0
        self.buckets_done = 0

    def add(self, k_s: float, t_s: float) -> None:
        """Block ending at device time ``k_s`` (nominal seconds) arrived at ``t_s``."""
        if self._t_ref is None:
            self._t_ref = t_s
        y = (t_s - self._t_ref) - k_s
        b = int(np.ceil(k_s / self.BUCKET_S)) - 1     # a block ending at 1.0 s belongs to (0, 1]
        self.n += 1
        self.k_last_s = k_s
        if self._cur is not None and b != self._cur[0]:
            self._xs.append(self._cur[1])
            self._ys.append(self._cur[2])
            self.buckets_done += 1
            self._cur = None
        if self._cur is None or y < self._cur[2]:
            self._cur = (b, k_s, y)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket minima (k_s, t_s - k_s - t_ref); the open bucket counts
        once half of it is in (a few blocks' minimum is mostly lateness)."""
        xs, ys = list(self._xs), list(self._ys)
        if self._cur is not None and (not xs or self.k_last_s - self._cur[0] * self.BUCKET_S
                                      >= 0.5 * self.BUCKET_S):
            xs.append(self._cur[1])
            ys.append(self._cur[2])
        return np.asarray(xs), np.asarray(ys)

    @property
    def t_ref_s(self) -> float:
        return self._t_ref or 0.0


def _envelope_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """The line under all bucket minima that lies closest to them on average.

    Arrivals are never early, only late (scheduling, and chunks handed over
    with a phase that walks across a block for seconds: a sawtooth up to one
    block high), so the clock is the *lower* hull of the points, not their
    mean: the hull edge above the middle of the span. Any number of late
    buckets moves it not at all. Returns (a, b, se_b): ``y = a + b x`` and
    the slope's uncertainty, from how high the lowest quarter of points sits
    above the line (at least ``FIT_FLOOR_S``) over the span.
    """
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    hull: list[int] = []
    for i in range(len(x)):   # lower convex hull (monotone chain)
        while len(hull) >= 2:
            i0, i1 = hull[-2], hull[-1]
            if (x[i1] - x[i0]) * (y[i] - y[i0]) - (y[i1] - y[i0]) * (x[i] - x[i0]) <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    xm = float(np.mean(x))
    b = 0.0
    for i0, i1 in zip(hull[:-1], hull[1:]):
        if x[i0] <= xm <= x[i1] and x[i1] > x[i0]:
            b = float((y[i1] - y[i0]) / (x[i1] - x[i0]))
            break
    a = float(np.min(y - b * x))
    r = y - (a + b * x)
    span = float(x[-1] - x[0])
    se = (float(np.quantile(r, 0.25)) + FIT_FLOOR_S) / span if span > 0 else float("inf")
    return a, b, se


class Aligner:
    """Two mono 16 kHz streams -> one (n, 2) timeline.

    Each stream's clock is fitted from its block arrivals (``ClockFit``: the
    lower envelope of arrival time against sample position). Output sample
    ``i`` holds A's sample ``i`` and B read at the same instant::

        pos_B(i) = (t0_A - t0_B) * rate / (1 + slope_B)  +  (i - pad_A) * ratio,
        ratio = (1 + slope_A) / (1 + slope_B)

    interpolated linearly between B's samples. The offset is first set after
    ``ALIGN_AFTER_S`` of both streams, from the earliest arrivals (slopes 0),
    and refined every second of audio from all buckets so far. Once
    ``DRIFT_MIN_SPAN_S`` is in, the slopes are fitted; when the two slopes
    differ by less than 3 times their uncertainty (at least
    ``SAME_CLOCK_PPM``) the devices are taken to share a clock and one
    common slope is used (ratio exactly 1), so noise is never "corrected".
    ``ratio`` is applied to the whole position, which corrects the drift
    accumulated before it was known too. The timeline starts with whichever
    device started first (the other is silent before its first sample)::

        A      |a a a a a a a a|
        B   |b b b b b b b b b b b|     B earlier: A padded with pad_A zeros
    """

    def __init__(self, *, rate_hz: int = GRID.sample_rate, correct_drift: bool = True):
        self.rate_hz = rate_hz
        self.correct_drift = correct_drift
        self.fits = [ClockFit(), ClockFit()]
        self.n_in = [0, 0]
        self._buf = [np.zeros(0, np.float32), np.zeros(0, np.float32)]
        self._a_next = 0           # output index of A's buffer[0]
        self._b_base = 0           # B sample index of B's buffer[0]
        self._c = 0.0              # B position of A's first sample
        self._pad_a = 0
        self.ratio = 1.0
        self.started = False
        self._fitted_at = -1       # completed buckets (both streams) at the last refit
        self.start_offset_s: float | None = None  # B's first sample minus A's, seconds
        self.drift_ppm: float | None = None       # measured (B clock vs A clock)
        self.drift_se_ppm: float | None = None    # its standard error
        self.same_clock: bool | None = None       # drift within its noise: one clock, not corrected
        self.warnings: list[str] = []

    def stamp(self, i: int, t_s: float, k_s: float) -> None:
        """Stream ``i`` (0 = A, 1 = B): a device block whose last sample is
        at ``k_s`` seconds of device audio (nominal rate) was delivered at
        system time ``t_s`` (``time.monotonic()`` in the audio callback)."""
        self.fits[i].add(k_s, t_s)

    def push(self, i: int, x: np.ndarray, t_s: float | None = None) -> None:
        """Stream ``i``: mono 16 kHz samples ``x``; with ``t_s``, they are one
        device block delivered at ``t_s`` (else stamped by ``stamp``)."""
        self.n_in[i] += len(x)
        if t_s is not None:
            self.fits[i].add(self.n_in[i] / self.rate_hz, t_s)
        self._buf[i] = np.concatenate([self._buf[i], x.astype(np.float32, copy=False)])

    @property
    def pad_a_samples(self) -> int:
        """Output samples before A's first sample (B started first), fixed at the start."""
        return self._pad_a

    def _refit(self) -> None:
        """Offset and ratio from both clock fits (every completed bucket)."""
        done = min(self.fits[0].buckets_done, self.fits[1].buckets_done)
        # every second at first; every ~1/60 of the span later (the fit of an hour costs ~8 ms)
        if self.started and done - self._fitted_at < max(1, done // 60):
            return
        self._fitted_at = done
        (xa, ya), (xb, yb) = self.fits[0].points(), self.fits[1].points()
        span = min(self.fits[0].k_last_s, self.fits[1].k_last_s)
        slope_a = slope_b = 0.0
        if span < DRIFT_MIN_SPAN_S or min(len(xa), len(xb)) < 3:
            ia, ib = float(np.min(ya)), float(np.min(yb))   # the earliest arrivals (never early)
        else:
            fa, fb = _envelope_fit(xa, ya), _envelope_fit(xb, yb)
            se = float(np.hypot(fa[2], fb[2]))
            ppm = ((1 + fa[1]) / (1 + fb[1]) - 1.0) * 1e6
            self.drift_ppm, self.drift_se_ppm = float(ppm), se * 1e6
            self.same_clock = bool(abs(ppm) <= max(3.0 * se * 1e6, SAME_CLOCK_PPM))
            if abs(ppm) > DRIFT_MAX_PPM and not any(w.startswith("clock drift") for w in self.warnings):
                self.warnings.append(f"clock drift between the devices measured {ppm:+.0f} ppm "
                                     f"(over {DRIFT_MAX_PPM:.0f}): not corrected")
            if not self.same_clock and abs(ppm) <= DRIFT_MAX_PPM:
                slope_a, slope_b = fa[1], fb[1]
                ia, ib = fa[0], fb[0]
            else:  # one common slope: ratio 1, each stream's line under all its points
                slope_a = slope_b = 0.5 * (fa[1] + fb[1])
                ia = float(np.min(ya - slope_a * xa))
                ib = float(np.min(yb - slope_b * xb))
        if self.started and not self.correct_drift:
            return  # measured and reported only: offset and ratio stay as first set
        # time of each stream's sample 0 on the system clock (the block-end stamps
        # put sample n at k_s = n / rate, so sample 0 sits at the intercept)
        t0_a = self.fits[0].t_ref_s + ia
        t0_b = self.fits[1].t_ref_s + ib
        self.start_offset_s = t0_b - t0_a
        self.ratio = (1.0 + slope_a) / (1.0 + slope_b)
        self._c = -self.start_offset_s * self.rate_hz / (1.0 + slope_b)

    def _positions(self, i0: int, m: int) -> np.ndarray:
        return self._c + (np.arange(i0, i0 + m, dtype=np.float64) - self._pad_a) * self.ratio

    def pull(self) -> np.ndarray:
        """Aligned (n, 2) float32 samples available so far (may be empty)."""
        if not self.started:
            if min(self.n_in) < ALIGN_AFTER_S * self.rate_hz:
                return np.zeros((0, 2), np.float32)
            self._refit()
            if self._c > 0:  # B started first: silence in A before its first sample
                self._pad_a = int(np.floor(self._c))
                self._buf[0] = np.concatenate([np.zeros(self._pad_a, np.float32), self._buf[0]])
            self.started = True
        self._refit()
        a, b = self._buf
        b_end = self._b_base + len(b) - 2          # last B position that can be interpolated
        i0 = self._a_next
        i_max = int(np.floor((b_end - self._c) / self.ratio + self._pad_a)) if len(b) >= 2 else i0 - 1
        m = min(len(a), i_max - i0 + 1)
        if m <= 0:
            return np.zeros((0, 2), np.float32)
        pos = self._positions(i0, m) - self._b_base
        out = np.zeros((m, 2), np.float32)
        out[:, 0] = a[:m]
        ok = pos >= 0                              # before B's first sample: silence
        k = np.floor(pos[ok]).astype(np.int64)
        frac = (pos[ok] - k).astype(np.float32)
        out[ok, 1] = b[k] * (1.0 - frac) + b[k + 1] * frac
        self._buf[0] = a[m:]
        self._a_next += m
        nxt = self._positions(self._a_next, 1)[0] - self._b_base
        drop = max(0, min(len(b), int(np.floor(nxt)) - B_HISTORY))   # history for refits moving B back
        self._buf[1] = b[drop:]
        self._b_base += drop
        return out

    def flush(self) -> np.ndarray:
        """Whatever is left: A's rest, with B where it reaches (else silence)."""
        out = self.pull() if self.started else np.zeros((0, 2), np.float32)
        a, b = self._buf
        rest = np.zeros((len(a), 2), np.float32)
        rest[:, 0] = a
        if len(a) and len(b):
            pos = self._positions(self._a_next, len(a)) - self._b_base
            ok = (pos >= 0) & (pos <= len(b) - 1)
            rest[ok, 1] = np.interp(pos[ok], np.arange(len(b)), b)
        self._buf = [np.zeros(0, np.float32), np.zeros(0, np.float32)]
        self._a_next += len(a)
        return np.concatenate([out, rest])
