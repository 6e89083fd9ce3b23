"""Streaming pitch (F0) tracker on the fixed 10 ms grid (scratch v1)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from .config import PitchConfig
from .errors import ConfigError, InputError
from .timebase import GRID, Grid

_MIN_ANALYSIS_RATE_HZ = 4000.0
_ANALYSIS_RATE_PER_FMAX = 5.0
_PERIODS_PER_WINDOW = 3.0
_N_CANDIDATES = 4
_MIN_PEAK_R = 0.25
_SINC_HALF_WIDTH = 6
_FINE_STEPS = 8
_SILENCE_BELOW_REF_DB = 45.0
_REF_DECAY_DB_PER_S = 0.5
_ABS_FLOOR_DB = -110.0
_COMPRESS = 1.0
_ORACLE = False
_DEBUG = None
_SELECT = 'first'
_ALPHA = 0.9
_OCTAVE_COST = 0.01


@dataclass(frozen=True)
class PitchFrames:
    start_frame: int
    f0_hz: np.ndarray
    voiced_prob: np.ndarray


class PitchTracker:
    def __init__(self, config: PitchConfig = PitchConfig(), *, grid: Grid = GRID):
        config.validate()
        self.config = config
        self.grid = grid
        fs = grid.sample_rate
        hop = grid.hop_length
        q = 1
        for cand in range(hop, 0, -1):
            if hop % cand == 0 and (hop // cand) % 2 == 0 and fs / cand >= max(_MIN_ANALYSIS_RATE_HZ, _ANALYSIS_RATE_PER_FMAX * config.fmax_hz):
                q = cand
                break
        else:
            raise ConfigError("hop_length must be even")
        self._q = q
        self._fs_d = fs / q
        self._hop_d = hop // q
        if q > 1:
            self._half_taps = 8 * q
            self._fir = scipy.signal.firwin(2 * self._half_taps + 1, 0.85 * self._fs_d / 2, window=("kaiser", 7.0), fs=fs)
        else:
            self._half_taps = 0
            self._fir = np.ones(1)
        half = int(round(_PERIODS_PER_WINDOW / config.fmin_hz * self._fs_d / 2))
        self._win_half = half
        self._win_len = 2 * half + 1
        self._lag_lo = max(2, int(math.floor(self._fs_d / config.fmax_hz)))
        self._lag_hi = int(math.ceil(self._fs_d / config.fmin_hz))
        self._n_lags = self._lag_hi + _SINC_HALF_WIDTH + 2
        self._nfft = scipy.fft.next_fast_len(self._win_len + self._n_lags, real=True)
        w = np.hanning(self._win_len + 2)[1:-1]
        self._window = w.astype(np.float32)
        rw = np.correlate(w, w, mode="full")[self._win_len - 1:]
        rw = rw / rw[0]
        self._rw = np.concatenate([rw, np.full(max(0, self._n_lags - len(rw)), rw[-1])])[: self._n_lags].astype(np.float32)
        self._win_energy = float(np.sum(w * w))
        # sinc interpolation matrix: fine offsets x taps
        offs = np.arange(-_FINE_STEPS, _FINE_STEPS + 1) / _FINE_STEPS
        taps = np.arange(-_SINC_HALF_WIDTH, _SINC_HALF_WIDTH + 1)
        d = offs[:, None] - taps[None, :]
        kw = 0.5 + 0.5 * np.cos(np.pi * d / (_SINC_HALF_WIDTH + 1))
        self._sinc = (np.sinc(d) * kw).astype(np.float64)
        self._fine_offs = offs
        self._decay_per_frame = _REF_DECAY_DB_PER_S * grid.hop_s
        look = q * half + self._half_taps - hop // 2 + 1
        self.latency_frames = int(math.ceil(look / hop))
        self.reset()

    def reset(self) -> None:
        self._n_in = 0
        self._raw = np.zeros(self._half_taps, dtype=np.float64)
        self._raw_start = -self._half_taps
        self._n_dec = 0
        self._dec = np.zeros(self._win_half, dtype=np.float32)
        self._dec_start = -self._win_half
        self._n_feat = 0
        self._ref_acc = -np.inf

    # ---- stages -----------------------------------------------------------
    def push(self, samples: np.ndarray) -> PitchFrames:
        x = np.asarray(samples)
        if x.ndim != 1:
            raise InputError(f"samples has shape {x.shape}; must be 1-D mono")
        if not np.issubdtype(x.dtype, np.floating):
            raise InputError(f"samples dtype {x.dtype} must be float")
        x = x.astype(np.float64, copy=False)
        if not np.all(np.isfinite(x)):
            raise InputError("samples contain NaN/inf")
        self._raw = np.concatenate([self._raw, x])
        self._n_in += len(x)
        n_dec = (self._n_in - 1 - self._half_taps) // self._q + 1 if self._n_in - 1 - self._half_taps >= 0 else 0
        self._decimate_to(max(n_dec, 0))
        return self._frames_to(self._n_feat_available())

    def flush(self) -> PitchFrames:
        n_frames = -(-self._n_in // self.grid.hop_length)
        if n_frames <= self._n_feat:
            return self._empty()
        last_dec = (2 * (n_frames - 1) + 1) * self._hop_d // 2 + self._win_half
        need_raw = self._q * last_dec + self._half_taps + 1
        pad = need_raw - (self._raw_start + len(self._raw))
        if pad > 0:
            self._raw = np.concatenate([self._raw, np.zeros(pad)])
        self._decimate_to(last_dec + 1)
        out = self._frames_to(n_frames)
        return out

    def _empty(self) -> PitchFrames:
        return PitchFrames(self._n_feat, np.zeros(0, np.float32), np.zeros(0, np.float32))

    def _decimate_to(self, n_dec: int) -> None:
        if n_dec <= self._n_dec:
            return
        q, D = self._q, self._half_taps
        m0, m1 = self._n_dec, n_dec
        if q == 1:
            a = m0 - self._raw_start
            y = self._raw[a:a + (m1 - m0)]
        else:
            a = q * m0 - D - self._raw_start
            b = q * (m1 - 1) + D + 1 - self._raw_start
            y = scipy.signal.upfirdn(self._fir, self._raw[a:b], down=q)
            skip = 2 * D // q
            y = y[skip:skip + (m1 - m0)]
        self._dec = np.concatenate([self._dec, y.astype(np.float32)])
        self._n_dec = m1
        keep_from = q * m1 - D  # absolute raw index still needed
        cut = keep_from - self._raw_start
        if cut > 0:
            self._raw = self._raw[cut:]
            self._raw_start = keep_from

    def _n_feat_available(self) -> int:
        # frame i needs decimated samples up to i*hop_d + hop_d/2 + win_half
        num = self._n_dec - 1 - self._win_half - self._hop_d // 2
        return num // self._hop_d + 1 if num >= 0 else 0

    def _frames_to(self, n_to: int) -> PitchFrames:
        i0 = self._n_feat
        if n_to <= i0:
            return self._empty()
        idx = np.arange(i0, n_to)
        centres = (2 * idx + 1) * self._hop_d // 2
        starts = centres - self._win_half - self._dec_start
        view = np.lib.stride_tricks.sliding_window_view(self._dec, self._win_len)
        frames = view[starts]
        f0, prob = self._analyse(frames, idx)
        self._n_feat = n_to
        keep_from = (2 * n_to + 1) * self._hop_d // 2 - self._win_half
        cut = keep_from - self._dec_start
        if cut > 0:
            self._dec = self._dec[cut:]
            self._dec_start = keep_from
        return PitchFrames(i0, f0, prob)

    def _analyse(self, frames: np.ndarray, idx: np.ndarray):
        n = frames.shape[0]
        x = frames - frames.mean(axis=1, keepdims=True)
        xw = x * self._window
        energy = (xw * xw).sum(axis=1, dtype=np.float64)
        level_db = 10.0 * np.log10(energy / self._win_energy + 1e-20)
        # running reference with decay
        vals = level_db + self._decay_per_frame * idx
        acc = np.maximum.accumulate(np.concatenate([[self._ref_acc], vals]))[1:]
        self._ref_acc = acc[-1]
        ref_db = acc - self._decay_per_frame * idx
        active = (level_db > ref_db - _SILENCE_BELOW_REF_DB) & (level_db > _ABS_FLOOR_DB)
        f0 = np.full(n, np.nan, dtype=np.float32)
        prob = np.zeros(n, dtype=np.float32)
        ia = np.flatnonzero(active)
        if len(ia) == 0:
            return f0, prob
        spec = scipy.fft.rfft(xw[ia], self._nfft, axis=1)
        pw = spec.real * spec.real + spec.imag * spec.imag
        ac = scipy.fft.irfft(pw, self._nfft, axis=1)[:, : self._n_lags]
        r_plain = ac / (ac[:, :1] + 1e-30) / self._rw
        pwc = pw ** _COMPRESS
        ac = scipy.fft.irfft(pwc, self._nfft, axis=1)[:, : self._n_lags]
        r = ac / (ac[:, :1] + 1e-30) / self._rw
        lo, hi = self._lag_lo, self._lag_hi
        seg = r[:, lo - 1: hi + 2]
        mid = seg[:, 1:-1]
        peak = (mid > seg[:, :-2]) & (mid >= seg[:, 2:]) & (mid > (-np.inf if _ORACLE else _MIN_PEAK_R))
        strength = np.where(peak, mid, -np.inf)
        if _SELECT == "first":
            rmax = strength.max(axis=1)
            ok = strength >= _ALPHA * rmax[:, None]
            first = np.argmax(ok, axis=1)
        else:
            lags = np.arange(lo, hi + 1)
            sc = strength - _OCTAVE_COST * np.log2(lags / lo)[None, :]
            first = np.argmax(sc, axis=1)
        has = np.isfinite(strength.max(axis=1))
        if _DEBUG is not None:
            _DEBUG.append((idx[ia], strength, lo))
        lag_i = first + lo
        # sinc refine
        rows = np.arange(len(ia))
        taps = lag_i[:, None] + np.arange(-_SINC_HALF_WIDTH, _SINC_HALF_WIDTH + 1)[None, :]
        taps = np.clip(taps, 0, self._n_lags - 1)
        neigh = r[rows[:, None], taps].astype(np.float64)
        fine = (neigh[:, None, :] * self._sinc[None, :, :]).sum(axis=2)
        k = np.argmax(fine, axis=1)
        k = np.clip(k, 1, fine.shape[1] - 2)
        ym, y0, yp = fine[rows, k - 1], fine[rows, k], fine[rows, k + 1]
        den = ym - 2 * y0 + yp
        delta = np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1), 0.0)
        lag = lag_i + self._fine_offs[k] + delta / _FINE_STEPS
        neigh = r_plain[rows[:, None], taps].astype(np.float64)
        fine = (neigh[:, None, :] * self._sinc[None, :, :]).sum(axis=2)
        y0 = fine[rows, k]
        rpk = y0
        rpk = np.where(rpk > 1, 1 / rpk, rpk)
        voiced = has & ((rpk > 0.45) | _ORACLE)
        f0a = np.where(voiced, self._fs_d / lag, np.nan)
        f0[ia] = f0a
        prob[ia] = np.where(has, np.clip(rpk, 0, 1), 0)
        return f0, prob
