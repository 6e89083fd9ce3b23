"""Voice quality of one speaker's voiced speech: local jitter, local shimmer,
harmonics-to-noise ratio (HNR) and smoothed cepstral peak prominence (CPPS),
with Praat's definitions (Boersma & Weenink, Praat manual: "Voice 2. Jitter",
"Voice 3. Shimmer", "Harmonicity", "PowerCepstrogram: Get CPPS...").

A streaming stage: ``push_samples`` gets the channel's samples as they
arrive, ``push_frames`` the pipeline's final per-frame decisions (speech and
F0). Each run of voiced speech frames (speech and F0 defined)::

    frames   . . v v v v v v . . . v v v v . .
    runs         |---------|       |-----|      analysed when the run ends
                                                (or every ``max_run_s``)

is analysed on the samples of exactly those frames, so the result is the same
whatever the block sizes; the result of a run is a ``VoiceQualityChunk`` of
sums (not means), so chunks add up over any stretch of time (session, phase,
window). Memory is bounded by the longest run (``max_run_s``).

Per run:

* glottal pulses: from the loudest extremum, step one period (from the
  run's F0) at a time and place the next pulse at the lag of highest
  normalised cross-correlation of one period of waveform, searched in
  [0.8, 1.25] x the expected period, refined by parabolic interpolation
  (as Praat's "To PointProcess (periodic, cc)");
* jitter (local) = mean |T_i - T_(i-1)| over consecutive periods both within
  [``period_floor_s``, ``period_ceiling_s``] and with ratio <= ``max_period_factor``,
  divided by the mean of such periods (Praat: 0.0001 s, 0.02 s, 1.3);
* shimmer (local) = mean |A_i - A_(i-1)| / mean A, A = Hann-windowed RMS
  around each pulse (0.2 period either side, as Praat), pairs with period
  conditions as jitter and amplitude ratio <= ``max_amplitude_factor`` (1.6);
* HNR (dB) = 10 log10(r / (1 - r)), r = the highest normalised
  cross-correlation of a ``1 / hnr_min_pitch_hz`` window with itself one
  period later (Boersma 1993; Praat "To Harmonicity (cc)", 1 period per
  window), mean over voiced frames;
* CPPS (dB): per frame, the sound at 10 kHz with pre-emphasis from 50 Hz, a
  Gaussian window of 6 / ``cpp_pitch_floor_hz`` s, power cepstrum in dB,
  smoothed over ``cpp_time_smooth_frames`` frames and 0.5 ms of quefrency,
  peak in [1/330, 1/60] s above the straight line fitted (robustly) to the
  cepstrum from 1 ms (Hillenbrand & Houde 1996; Praat's PowerCepstrogram),
  mean over voiced frames.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import resample_poly

from ..timebase import GRID, Grid


@dataclass(frozen=True)
class VoiceQualityConfig:
    period_floor_s: float = 0.0001
    period_ceiling_s: float = 0.02
    max_period_factor: float = 1.3
    max_amplitude_factor: float = 1.6
    hnr_min_pitch_hz: float = 75.0
    cpp_pitch_floor_hz: float = 60.0
    cpp_peak_range_hz: tuple[float, float] = (60.0, 330.0)
    cpp_fit_from_s: float = 0.001
    cpp_quefrency_smooth_s: float = 0.0005
    cpp_time_smooth_frames: int = 3
    min_run_s: float = 0.05           # shorter voiced runs are skipped (too few periods)
    max_run_s: float = 3.0            # longer runs are analysed in pieces of this length


@dataclass(frozen=True)
class VoiceQualityChunk:
    """Sums over one voiced run of ``speaker`` in [start_s, end_s)."""

    speaker: str
    start_s: float
    end_s: float
    n_jitter_pairs: int = 0
    sum_period_diff_s: float = 0.0
    n_periods: int = 0
    sum_period_s: float = 0.0
    n_shimmer_pairs: int = 0
    sum_amplitude_diff: float = 0.0
    n_amplitudes: int = 0
    sum_amplitude: float = 0.0
    n_hnr_frames: int = 0
    sum_hnr_db: float = 0.0
    n_cpp_frames: int = 0
    sum_cpp_db: float = 0.0


SUM_FIELDS = tuple(f.name for f in fields(VoiceQualityChunk) if f.name not in ("speaker", "start_s", "end_s"))


def summarize_chunks(chunks) -> dict:
    """Means over chunks: ``jitter_local`` and ``shimmer_local`` (ratios, e.g.
    0.01 = 1 %), ``hnr_db``, ``cpps_db``, and the counts behind them; a figure
    without enough data (fewer than 10 period pairs / 10 frames) is None."""
    s = {k: 0 for k in SUM_FIELDS}
    for c in chunks:
        for k in SUM_FIELDS:
            s[k] += getattr(c, k)
    jit = (s["sum_period_diff_s"] / s["n_jitter_pairs"]) / (s["sum_period_s"] / s["n_periods"]) \
        if s["n_jitter_pairs"] >= 10 and s["n_periods"] else None
    shim = (s["sum_amplitude_diff"] / s["n_shimmer_pairs"]) / (s["sum_amplitude"] / s["n_amplitudes"]) \
        if s["n_shimmer_pairs"] >= 10 and s["sum_amplitude"] > 0 else None
    return {
        "jitter_local": None if jit is None else round(float(jit), 6),
        "shimmer_local": None if shim is None else round(float(shim), 6),
        "hnr_db": round(s["sum_hnr_db"] / s["n_hnr_frames"], 3) if s["n_hnr_frames"] >= 10 else None,
        "cpps_db": round(s["sum_cpp_db"] / s["n_cpp_frames"], 3) if s["n_cpp_frames"] >= 10 else None,
        "n_periods": int(s["n_periods"]),
        "n_voiced_frames": int(s["n_hnr_frames"]),
    }


# -- the four measures on one stretch of samples ---------------------------------------------------------------------
def _parabolic(y_m: float, y_0: float, y_p: float) -> tuple[float, float]:
    """Offset (in [-0.5, 0.5] samples) and height of the parabola's vertex through three points."""
    den = y_m - 2 * y_0 + y_p
    if den >= 0:
        return 0.0, y_0
    d = 0.5 * (y_m - y_p) / den
    return d, y_0 - 0.25 * (y_m - y_p) * d


UPSAMPLE = 8


def _refine_shift(yu: np.ndarray, a: int, b: int, w: int) -> float:
    """Shift (samples, fractional) between the window at ``a`` and the best
    integer match at ``b``, refined on the ``UPSAMPLE`` x signal ``yu`` over
    +-1 sample, then by a parabola through the three best upsampled lags."""
    u = UPSAMPLE
    ua, ub, uw = a * u, b * u, w * u
    lags = np.arange(-u, u + 1)
    if ub - u < 0 or ub + u + uw > len(yu) or ua + uw > len(yu):
        return float(b - a)
    ref = yu[ua:ua + uw]
    cands = sliding_window_view(yu[ub - u:ub + u + uw], uw)
    num = cands @ ref
    e = np.sqrt(np.einsum("ij,ij->i", cands, cands) * (ref @ ref)) + 1e-30
    r = num / e
    k = int(np.argmax(r[1:-1])) + 1
    d, _ = _parabolic(r[k - 1], r[k], r[k + 1])
    return float(b - a) + (lags[k] + d) / u


def glottal_pulses(x: np.ndarray, period_samples: np.ndarray) -> np.ndarray:
    """Pulse times (in fractional samples) in ``x``, shape (n_pulses,), sorted.
    ``period_samples``: expected period at each sample (from F0), shape (len(x),)."""
    n = len(x)
    if n < 3 or not np.all(np.isfinite(period_samples)):
        return np.zeros(0)
    edge = int(np.ceil(1.3 * float(np.max(period_samples)))) + 1
    if n <= 2 * edge:
        return np.zeros(0)
    i0 = edge + int(np.argmax(np.abs(x[edge:n - edge])))   # the loudest extremum away from the edges
    sign = 1.0 if x[i0] >= 0 else -1.0
    y = sign * x.astype(np.float64)
    c2 = np.concatenate([[0.0], np.cumsum(y * y)])
    yu = resample_poly(y, UPSAMPLE, 1)   # for sub-sample shifts (band-limited interpolation)
    pulses = [float(i0)]
    for direction in (1, -1):
        t = float(i0)
        while True:
            ti = int(round(t))
            per = float(period_samples[min(max(ti, 0), n - 1)])
            half = int(round(per / 2))
            lo, hi = int(np.floor(0.8 * per)), int(np.ceil(1.25 * per))
            a = ti - half
            if direction > 0:
                b_lo, b_hi = a + lo, a + hi
            else:
                b_lo, b_hi = a - hi, a - lo
            w = 2 * half
            if w < 4 or a < 0 or a + w > n or b_lo - 1 < 0 or b_hi + 1 + w > n:
                break
            ref = y[a:a + w]
            cands = sliding_window_view(y[b_lo - 1:b_hi + 2 + w - 1], w)   # lags b_lo-1 .. b_hi+1
            num = cands @ ref
            starts = np.arange(b_lo - 1, b_hi + 2)
            den = np.sqrt((c2[starts + w] - c2[starts]) * (c2[a + w] - c2[a])) + 1e-20
            r = num / den
            k = int(np.argmax(r[1:-1])) + 1
            if r[k] < 0.3:
                break
            shift = _refine_shift(yu, a, int(starts[k]), w)
            t_new = t + shift   # the waveform's shift between the two windows
            if (t_new - t) * direction <= 0.5 * per:
                break
            pulses.append(t_new)
            t = t_new
    return np.sort(np.array(pulses))


def _hann_rms(y: np.ndarray, t: float, left: float, right: float) -> float | None:
    i0, i1 = int(np.ceil(t - left)), int(np.floor(t + right))
    i0, i1 = max(i0, 0), min(i1, len(y) - 1)
    if i1 - i0 + 1 < 3:
        return None
    ii = np.arange(i0, i1 + 1)
    width = np.where(ii < t, left, right)
    win = 0.5 + 0.5 * np.cos(np.pi * (ii - t) / width)
    v = y[ii] * win
    return float(np.sqrt(np.sum(v * v) / np.sum(win * win)))


def jitter_shimmer_sums(x: np.ndarray, pulses: np.ndarray, *, sample_rate: int, cfg: VoiceQualityConfig) -> dict:
    """Sums behind local jitter and shimmer of pulses (fractional sample
    times) in ``x`` (Praat's period and amplitude conditions)."""
    out = dict(n_jitter_pairs=0, sum_period_diff_s=0.0, n_periods=0, sum_period_s=0.0, n_shimmer_pairs=0,
               sum_amplitude_diff=0.0, n_amplitudes=0, sum_amplitude=0.0)
    if len(pulses) < 3:
        return out
    p = np.diff(pulses) / sample_rate                       # periods (s)
    ok = (p >= cfg.period_floor_s) & (p <= cfg.period_ceiling_s)
    fac = np.maximum(p[1:] / p[:-1], p[:-1] / p[1:])
    pair = ok[1:] & ok[:-1] & (fac <= cfg.max_period_factor)
    out["n_jitter_pairs"] = int(pair.sum())
    out["sum_period_diff_s"] = float(np.sum(np.abs(np.diff(p))[pair]))
    # a period counts towards the mean when it is in range and each in-range neighbour is within the factor
    good = ok.copy()
    good[1:] &= ~(ok[:-1] & ~(fac <= cfg.max_period_factor))
    good[:-1] &= ~(ok[1:] & ~(fac <= cfg.max_period_factor))
    out["n_periods"] = int(good.sum())
    out["sum_period_s"] = float(p[good].sum())
    # amplitudes at the pulses with a valid period pair on both sides
    y = x.astype(np.float64)
    amps, times = [], []
    for i in np.flatnonzero(pair) + 1:
        a = _hann_rms(y, pulses[i], 0.2 * (pulses[i] - pulses[i - 1]), 0.2 * (pulses[i + 1] - pulses[i]))
        if a is not None and a > 0:
            amps.append(a)
            times.append(pulses[i])
    if len(amps) >= 2:
        amps_a, times_a = np.array(amps), np.array(times) / sample_rate
        dt = np.diff(times_a)
        af = np.maximum(amps_a[1:] / amps_a[:-1], amps_a[:-1] / amps_a[1:])
        ap = (dt >= cfg.period_floor_s) & (dt <= cfg.period_ceiling_s) & (af <= cfg.max_amplitude_factor)
        out["n_shimmer_pairs"] = int(ap.sum())
        out["sum_amplitude_diff"] = float(np.abs(np.diff(amps_a))[ap].sum())
        out["n_amplitudes"] = len(amps_a)
        out["sum_amplitude"] = float(amps_a.sum())
    return out


def hnr_frames_db(x: np.ndarray, centres: np.ndarray, periods: np.ndarray, *, sample_rate: int,
                  cfg: VoiceQualityConfig) -> np.ndarray:
    """HNR (dB) at each frame centre (sample index), from the highest normalised
    cross-correlation of a ``1 / hnr_min_pitch_hz`` window with the same window
    0.8-1.25 expected periods later; NaN where the windows do not fit in ``x``
    or r <= 0. Shape (n_frames,)."""
    y = x.astype(np.float64)
    w = int(round(sample_rate / cfg.hnr_min_pitch_hz))
    c2 = np.concatenate([[0.0], np.cumsum(y * y)])
    out = np.full(len(centres), np.nan)
    for j, (c, per) in enumerate(zip(centres, periods)):
        lo, hi = max(2, int(np.floor(0.8 * per)) - 1), int(np.ceil(1.25 * per)) + 1
        a = int(round(c - (w + per) / 2))
        if a < 0 or a + hi + w > len(y):
            continue
        ref = y[a:a + w]
        lags = np.arange(lo, hi + 1)
        num = sliding_window_view(y[a + lo:a + hi + w], w) @ ref
        den = np.sqrt((c2[a + lags + w] - c2[a + lags]) * (c2[a + w] - c2[a])) + 1e-30
        r = num / den
        k = int(np.argmax(r[1:-1])) + 1
        _, rmax = _parabolic(r[k - 1], r[k], r[k + 1])
        rmax = min(rmax, 1.0 - 1e-9)
        if rmax > 0:
            out[j] = 10.0 * np.log10(rmax / (1.0 - rmax))
    return out


CPP_RATE_HZ = 10000


def _gaussian_window(n: int) -> np.ndarray:
    """Praat's Gaussian window (edges at exp(-12))."""
    i = np.arange(1, n + 1)
    mid = 0.5 * (n + 1)
    edge = np.exp(-12.0)
    return (np.exp(-48.0 * (i - mid) ** 2 / (n + 1) ** 2) - edge) / (1.0 - edge)


def cpp_frames_db(x: np.ndarray, centres_s: np.ndarray, *, sample_rate: int, cfg: VoiceQualityConfig) -> np.ndarray:
    """Smoothed cepstral peak prominence (dB) at each time in ``centres_s``
    (seconds from the start of ``x``); NaN where the window does not fit.
    Shape (n_frames,)."""
    out = np.full(len(centres_s), np.nan)
    if len(centres_s) == 0:
        return out
    g = np.gcd(sample_rate, CPP_RATE_HZ)
    z = resample_poly(x.astype(np.float64), CPP_RATE_HZ // g, sample_rate // g) if sample_rate != CPP_RATE_HZ \
        else x.astype(np.float64)
    a = np.exp(-2 * np.pi * 50.0 / CPP_RATE_HZ)
    z = np.concatenate([z[:1], z[1:] - a * z[:-1]])
    n = int(round(6.0 / cfg.cpp_pitch_floor_hz * CPP_RATE_HZ))
    nfft = 1 << int(np.ceil(np.log2(n)))
    win = _gaussian_window(n)
    starts = np.round(centres_s * CPP_RATE_HZ - n / 2).astype(int)
    fit = (starts >= 0) & (starts + n <= len(z))
    if not fit.any():
        return out
    segs = np.stack([z[s:s + n] for s in starts[fit]])
    segs = (segs - segs.mean(axis=1, keepdims=True)) * win
    spec = np.abs(np.fft.rfft(segs, nfft, axis=1)) ** 2
    log_spec = np.log(spec + 1e-30)
    ceps = np.abs(np.fft.irfft(log_spec, nfft, axis=1)[:, : nfft // 2 + 1]) ** 2
    # smoothing of the power cepstrum (linear, as Praat): over neighbouring frames (time), then over quefrency
    k = max(1, cfg.cpp_time_smooth_frames)
    if k > 1 and len(ceps) > 1:
        pad = np.pad(ceps, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
        ceps = sliding_window_view(pad, k, axis=0).mean(axis=-1)
    kq = max(1, int(round(cfg.cpp_quefrency_smooth_s * CPP_RATE_HZ)))
    if kq > 1:
        padq = np.pad(ceps, ((0, 0), (kq // 2, kq - 1 - kq // 2)), mode="edge")
        ceps = sliding_window_view(padq, kq, axis=1).mean(axis=-1)
    ceps_db = 10.0 * np.log10(ceps + 1e-30)
    q = np.arange(ceps_db.shape[1]) / CPP_RATE_HZ
    sel = q >= cfg.cpp_fit_from_s
    slope, icept = _robust_lines(q[sel], ceps_db[:, sel])
    lo_q, hi_q = 1.0 / cfg.cpp_peak_range_hz[1], 1.0 / cfg.cpp_peak_range_hz[0]
    band = np.flatnonzero((q >= lo_q) & (q <= hi_q))
    sub = ceps_db[:, band]
    kk = np.argmax(sub, axis=1)
    res = np.empty(len(sub))
    for i, k0 in enumerate(kk):
        j = band[k0]
        d, peak = _parabolic(ceps_db[i, j - 1], ceps_db[i, j], ceps_db[i, j + 1]) if 0 < j < len(q) - 1 \
            else (0.0, ceps_db[i, j])
        qp = (j + d) / CPP_RATE_HZ
        res[i] = peak - (slope[i] * qp + icept[i])
    out[fit] = res
    return out


def _robust_lines(q: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight line fits y[i] ~ slope[i] * q + icept[i] for every row, robust
    (Theil-Sen, incomplete: the median slope of pairs half the range apart, and
    the median intercept), as Praat's "Robust" line fit."""
    h = len(q) // 2
    slopes = (y[:, h:2 * h] - y[:, :h]) / (q[h:2 * h] - q[:h])[None, :]
    slope = np.median(slopes, axis=1)
    icept = np.median(y - slope[:, None] * q[None, :], axis=1)
    return slope, icept


def _bisquare_lines(q: np.ndarray, y: np.ndarray, n_iter: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Straight line fits y[i] ~ slope[i] * q + icept[i] for every row, by
    iteratively reweighted least squares (Tukey bisquare)."""
    w = np.ones_like(y)
    slope = icept = None
    for _ in range(n_iter + 1):
        sw = w.sum(axis=1)
        qm = (w * q).sum(axis=1) / sw
        ym = (w * y).sum(axis=1) / sw
        dq = q[None, :] - qm[:, None]
        slope = (w * dq * (y - ym[:, None])).sum(axis=1) / ((w * dq * dq).sum(axis=1) + 1e-30)
        icept = ym - slope * qm
        r = y - (slope[:, None] * q[None, :] + icept[:, None])
        s = 1.4826 * np.median(np.abs(r), axis=1, keepdims=True) + 1e-12
        u = r / (4.685 * s)
        w = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
    return slope, icept


def analyse_run(x: np.ndarray, f0_hz: np.ndarray, *, speaker: str, start_s: float, sample_rate: int,
                hop_length: int, cfg: VoiceQualityConfig) -> VoiceQualityChunk:
    """All four measures on one voiced run: ``x`` the run's samples (shape
    (n_frames * hop_length,)), ``f0_hz`` its frames' F0 (shape (n_frames,))."""
    nf = len(f0_hz)
    per_frame = sample_rate / f0_hz
    period_samples = np.repeat(per_frame, hop_length)[: len(x)]
    pulses = glottal_pulses(x, period_samples)
    js = jitter_shimmer_sums(x, pulses, sample_rate=sample_rate, cfg=cfg)
    centres = (np.arange(nf) + 0.5) * hop_length
    hnr = hnr_frames_db(x, centres, per_frame, sample_rate=sample_rate, cfg=cfg)
    cpp = cpp_frames_db(x, centres / sample_rate, sample_rate=sample_rate, cfg=cfg)
    h, c = hnr[np.isfinite(hnr)], cpp[np.isfinite(cpp)]
    return VoiceQualityChunk(speaker=speaker, start_s=start_s, end_s=start_s + len(x) / sample_rate, **js,
                             n_hnr_frames=len(h), sum_hnr_db=float(h.sum()), n_cpp_frames=len(c),
                             sum_cpp_db=float(c.sum()))


class VoiceQualityTracker:
    """Stage: one speaker's samples and final frames -> ``VoiceQualityChunk``s,
    one per voiced run (``push_frames`` and ``flush`` return them)."""

    def __init__(self, speaker: str, cfg: VoiceQualityConfig | None = None, *, grid: Grid = GRID):
        self.speaker = speaker
        self.cfg = cfg or VoiceQualityConfig()
        self.grid = grid
        self.max_run_frames = max(1, grid.s_to_frames(self.cfg.max_run_s))
        self.min_run_frames = max(1, grid.s_to_frames(self.cfg.min_run_s))
        self.reset()

    def reset(self) -> None:
        self._audio = np.zeros(0, np.float32)
        self._audio0 = 0            # sample index of self._audio[0]
        self._run_start: int | None = None   # frame index
        self._run_f0: list[np.ndarray] = []
        self._n_frames = 0

    def push_samples(self, x: np.ndarray) -> None:
        self._audio = np.concatenate([self._audio, np.asarray(x, np.float32)])
        self._trim()

    def push_frames(self, is_speech: np.ndarray, f0_hz: np.ndarray) -> list[VoiceQualityChunk]:
        voiced = np.asarray(is_speech, bool) & np.isfinite(f0_hz)
        out = []
        for k in range(len(voiced)):
            idx = self._n_frames + k
            if voiced[k]:
                if self._run_start is None:
                    self._run_start, self._run_f0 = idx, []
                self._run_f0.append(f0_hz[k:k + 1])
                if idx + 1 - self._run_start >= self.max_run_frames:
                    out += self._close(idx + 1)
            elif self._run_start is not None:
                out += self._close(idx)
        self._n_frames += len(voiced)
        self._trim()
        return out

    def flush(self) -> list[VoiceQualityChunk]:
        out = self._close(self._n_frames) if self._run_start is not None else []
        self.reset()
        return out

    def _close(self, end_frame: int) -> list[VoiceQualityChunk]:
        a = self._run_start
        f0 = np.concatenate(self._run_f0).astype(np.float64)
        self._run_start, self._run_f0 = None, []
        if end_frame - a < self.min_run_frames:
            return []
        hop = self.grid.hop_length
        i0, i1 = a * hop - self._audio0, end_frame * hop - self._audio0
        x = self._audio[i0:i1]
        if len(x) < (end_frame - a) * hop:  # flush: the last partial frame was zero-padded by the framer
            x = np.concatenate([x, np.zeros((end_frame - a) * hop - len(x), np.float32)])
        return [analyse_run(x, f0, speaker=self.speaker, start_s=self.grid.frames_to_s(a),
                            sample_rate=self.grid.sample_rate, hop_length=hop, cfg=self.cfg)]

    def _trim(self) -> None:
        keep_from = (self._run_start if self._run_start is not None else self._n_frames) * self.grid.hop_length
        cut = keep_from - self._audio0
        if cut > 0:
            self._audio = self._audio[cut:]
            self._audio0 = keep_from
