"""Streaming pitch (F0) tracker on the fixed 10 ms grid.

One stage, ``PitchTracker``: ``push(samples) -> PitchFrames``, ``flush()``,
``reset()``. Frame ``i`` of the grid (samples ``[i * hop, (i + 1) * hop)``) gets
an F0 estimated from a window centred on the frame centre
``(i + 0.5) * hop / sample_rate`` s.

Method (after Boersma 1993, "Accurate short-term analysis of the fundamental
frequency and the harmonics-to-noise ratio of a sampled sound", with the
spectral compression of Tolonen & Karjalainen 2000)::

    samples --FIR low-pass + decimate--> analysis rate (4 kHz for fmax <= 800 Hz)
      --Hann window, 3 periods of fmin, centred on the frame centre-->
      --rfft--> |X|^2 --irfft--> r_plain(lag)   periodicity (voicing evidence)
               |X|^(2c) --irfft--> r_comp(lag)  candidates (c < 1 flattens formants,
                                                so a dominant harmonic cannot win)
      each divided by the window's own autocorrelation
      --> up to 4 peak candidates per frame + an "unvoiced" candidate
      --> Viterbi over a sliding window of frames [i - W, i + L] (octave-jump
          and voicing-transition costs, as in Praat's path finder), decision for
          frame i only: bounded look-ahead L, declared in ``latency_frames``
      --> chosen lag refined by windowed-sinc interpolation of r_comp.

Frames far below a running level reference (like Praat's silence threshold)
skip the FFTs. Every frame's result depends only on the samples and on fixed
per-frame operations, so any block sizes give bit-identical output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal
import scipy.ndimage

from .config import PitchConfig
from .errors import ConfigError, InputError
from .timebase import GRID, Grid

# ---- tuning constants (frozen; each names its role and unit) ----------------
_MIN_ANALYSIS_RATE_HZ = 4000.0  # decimated rate keeps harmonics up to ~1.7 kHz
_ANALYSIS_RATE_PER_FMAX = 5.0  # analysis rate >= 5 * fmax_hz
_FIR_HALF_TAPS_PER_FACTOR = 8  # anti-alias FIR: 2 * 8 * q + 1 taps
_FIR_CUTOFF_RATIO = 0.85  # of the analysis Nyquist frequency
_FIR_KAISER_BETA = 7.0
_PERIODS_PER_WINDOW = 3.0  # window length in periods of fmin (Praat: 3)
_SPECTRAL_COMPRESSION = 0.25  # exponent on the power spectrum for candidates
_N_CANDIDATES = 4
_MIN_CANDIDATE_STRENGTH = 0.05  # compressed NACF peak below this is no candidate
_PLAIN_WEIGHT = 0.4  # candidate strength = mix of r_comp and r_plain
_VOICING_MODE = "max"
_WHITEN_HZ = 0.0
_FLOOR_HZ = 60.0
_FLOOR_ALPHA = 1.0
_FLOOR_OPEN = False
_DEBUG = None
_PRIOR_MIN_STRENGTH = 0.4
_PRIOR_MIN_PERIODICITY = 0.5
_PRIOR_BINS_PER_OCTAVE = 6
_PRIOR_FRAMES = 500
_PRIOR_MIN_FRAMES = 10
_PRIOR_COST = 0.3
_PRIOR_TOLERANCE_OCT = 0.6
_WHITEN_GAMMA = 1.0
_SINC_HALF_WIDTH = 6  # taps each side for lag refinement
_FINE_STEPS = 8  # refinement grid: 1/8 of an analysis sample
_SILENCE_SKIP_DB = 50.0  # below the running reference: no FFT at all
_SILENCE_THRESHOLD_DB = 30.0  # below the reference: unvoiced becomes cheaper
_SILENCE_SLOPE_PER_DB = 0.05  # unvoiced bonus per dB below that threshold
_REF_DECAY_DB_PER_S = 0.5  # running reference level decays this fast
_ABS_FLOOR_DB = -100.0  # frames below this level (dBFS) are silent
_VOICING_THRESHOLD = 0.35  # unvoiced candidate strength (Praat: 0.45)
_OCTAVE_COST = 0.01  # per octave below fmax (Praat: 0.01)
_OCTAVE_JUMP_COST = 0.6  # per octave between frames (Praat: 0.35)
_VOICED_UNVOICED_COST = 0.14  # per voicing change (Praat: 0.14)
_LOOKBACK_FRAMES = 15  # W: Viterbi window before the decided frame
_LOOKAHEAD_FRAMES = 10  # L: Viterbi window after the decided frame
_PROB_SCALE = 0.1  # path-cost difference -> voiced_prob logistic scale
_BIG_COST = 1.0e6  # cost of an absent candidate


@dataclass(frozen=True)
class PitchFrames:
    """Pitch of consecutive grid frames ``start_frame .. start_frame + n - 1``.

    ``f0_hz``: float32, shape (n,), Hz, NaN where unvoiced.
    ``voiced_prob``: float32, shape (n,), in [0, 1]; ``f0_hz`` is finite exactly
    where ``voiced_prob >= 0.5``.
    """

    start_frame: int
    f0_hz: np.ndarray
    voiced_prob: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.f0_hz.shape[0])


class PitchTracker:
    """Streaming F0 tracker; see the module docstring for the method.

    ``latency_frames``: frame ``i`` is returned at the latest by the ``push``
    that brings the total sample count to ``(i + 1 + latency_frames) * hop_length``.
    """

    def __init__(self, config: PitchConfig = PitchConfig(), *, grid: Grid = GRID):
        if not isinstance(config, PitchConfig):
            raise ConfigError(f"config={config!r} is not a PitchConfig; pass PitchConfig(fmin_hz=..., fmax_hz=...)")
        config.validate()
        fs = int(grid.sample_rate)
        hop = int(grid.hop_length)
        if fs <= 0 or hop <= 0:
            raise ConfigError(f"grid sample_rate={fs}, hop_length={hop} must be positive")
        if config.fmax_hz * 2.0 >= fs / 2.0:
            raise ConfigError(
                f"pitch.fmax_hz={config.fmax_hz} is too high for sample_rate={fs} Hz; "
                f"use fmax_hz < {fs / 4:g} (a quarter of the sample rate)")
        need_hz = max(_MIN_ANALYSIS_RATE_HZ, _ANALYSIS_RATE_PER_FMAX * config.fmax_hz)
        q = 0
        for cand in range(hop, 0, -1):
            if hop % cand == 0 and (hop // cand) % 2 == 0 and fs / cand >= need_hz:
                q = cand
                break
        if q == 0:
            raise ConfigError(f"grid hop_length={hop} is odd; the pitch tracker needs an even hop_length")
        self.config = config
        self.grid = grid
        self._q = q
        self._fs_d = fs / q  # analysis rate, Hz
        self._hop_d = hop // q  # hop in analysis samples (even)
        if q > 1:
            self._half_taps = _FIR_HALF_TAPS_PER_FACTOR * q
            self._fir = scipy.signal.firwin(2 * self._half_taps + 1, _FIR_CUTOFF_RATIO * self._fs_d / 2.0,
                                            window=("kaiser", _FIR_KAISER_BETA), fs=fs)
        else:
            self._half_taps = 0
            self._fir = np.ones(1)
        half = int(round(_PERIODS_PER_WINDOW / config.fmin_hz * self._fs_d / 2.0))
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
        rw = np.concatenate([rw, np.full(max(0, self._n_lags - len(rw)), rw[-1])])[: self._n_lags]
        self._rw_inv = (1.0 / rw).astype(np.float32)
        self._win_energy = float(np.sum(w * w))
        offs = np.arange(-_FINE_STEPS, _FINE_STEPS + 1) / _FINE_STEPS
        taps = np.arange(-_SINC_HALF_WIDTH, _SINC_HALF_WIDTH + 1)
        d = offs[:, None] - taps[None, :]
        self._sinc = np.sinc(d) * (0.5 + 0.5 * np.cos(np.pi * d / (_SINC_HALF_WIDTH + 1)))  # (F, T)
        self._fine_offs = offs
        self._decay_per_frame = _REF_DECAY_DB_PER_S * grid.hop_s
        self._prior_lo = math.log2(config.fmin_hz) - 0.5
        self._prior_nb = int(math.ceil((math.log2(config.fmax_hz) + 0.5 - self._prior_lo) * _PRIOR_BINS_PER_OCTAVE))
        # look-ahead: frame i needs decimated samples up to its centre + half,
        # each needs raw samples up to q * m + half_taps; plus the Viterbi window.
        look_samples = q * half + self._half_taps - hop // 2 + 1
        self._acoustic_latency = int(math.ceil(look_samples / hop))
        self.latency_frames = self._acoustic_latency + _LOOKAHEAD_FRAMES
        self.reset()

    # ---- public stage interface -----------------------------------------
    def reset(self) -> None:
        """Forget all audio; the next sample pushed is sample 0 of frame 0."""
        self._n_in = 0
        self._flushed = False
        self._raw = np.zeros(self._half_taps, dtype=np.float64)
        self._raw_start = -self._half_taps
        self._n_dec = 0
        self._dec = np.zeros(self._win_half, dtype=np.float32)
        self._dec_start = -self._win_half
        self._n_feat = 0
        self._ref_acc = -np.inf
        self._n_out = 0
        self._prior_cum = np.zeros((_PRIOR_FRAMES + 1, self._prior_nb), dtype=np.int64)
        W = _LOOKBACK_FRAMES
        self._pend_start = -W
        self._p_logf = np.full((W, _N_CANDIDATES), np.nan)
        self._p_lag = np.zeros((W, _N_CANDIDATES), dtype=np.int64)
        self._p_cost = np.zeros((W, _N_CANDIDATES + 1), dtype=np.float32)
        self._p_cost[:, :_N_CANDIDATES] = _BIG_COST
        self._p_r = np.zeros((W, self._n_lags), dtype=np.float32)

    def push(self, samples: np.ndarray) -> PitchFrames:
        """Add mono samples; return the frames finalised by them.

        ``samples``: shape (n,), float32 or float64 at ``grid.sample_rate``, any
        n >= 0. Returns the frames that became final (contiguous after the last
        returned frame; possibly none).
        """
        x = self._check_samples(samples)
        if len(x):
            self._raw = np.concatenate([self._raw, x])
            self._n_in += len(x)
        num = self._n_in - 1 - self._half_taps
        self._decimate_to(num // self._q + 1 if num >= 0 else 0)
        self._features_to(self._n_feat_available())
        return self._emit_to(self._n_feat - _LOOKAHEAD_FRAMES)

    def flush(self) -> PitchFrames:
        """Finalise every remaining frame, up to ``ceil(total_samples / hop_length)``.

        Samples after the end are taken as zeros; frames after the last one are
        taken as unvoiced by the path search.
        """
        if self._flushed:
            return self._empty()
        self._flushed = True
        n_frames = -(-self._n_in // self.grid.hop_length)
        if n_frames > self._n_feat:
            last_dec = n_frames * self._hop_d - self._hop_d // 2 + self._win_half  # of frame n_frames - 1
            need_raw = self._q * last_dec + self._half_taps + 1
            pad = need_raw - (self._raw_start + len(self._raw))
            if pad > 0:
                self._raw = np.concatenate([self._raw, np.zeros(pad)])
            self._decimate_to(last_dec + 1)
            self._features_to(n_frames)
        L = _LOOKAHEAD_FRAMES
        self._append_pending(np.full((L, _N_CANDIDATES), np.nan), np.zeros((L, _N_CANDIDATES), np.int64),
                             np.concatenate([np.full((L, _N_CANDIDATES), _BIG_COST, np.float32),
                                             np.zeros((L, 1), np.float32)], axis=1),
                             np.zeros((L, self._n_lags), np.float32))
        return self._emit_to(n_frames)

    # ---- input ---------------------------------------------------------
    def _check_samples(self, samples) -> np.ndarray:
        if self._flushed:
            raise InputError("push() after flush(): the stream is finished; call reset() to start a new one")
        x = np.asarray(samples)
        if x.ndim != 1:
            raise InputError(f"samples has shape {x.shape}; the pitch tracker needs 1-D mono samples, "
                             f"e.g. x.mean(axis=1) for a (n, channels) block")
        if x.dtype not in (np.float32, np.float64):
            raise InputError(f"samples dtype is {x.dtype}; need float32 or float64 in [-1, 1], "
                             f"e.g. x.astype(np.float32) / 32768 for int16")
        x = x.astype(np.float64, copy=False)
        if len(x) and not np.isfinite(x).all():
            bad = int(np.flatnonzero(~np.isfinite(x))[0])
            raise InputError(f"samples[{bad}]={x[bad]} is not finite; samples must be finite; "
                             f"replace NaN/inf (e.g. np.nan_to_num) before push()")
        return x

    def _empty(self) -> PitchFrames:
        return PitchFrames(self._n_out, np.zeros(0, np.float32), np.zeros(0, np.float32))

    # ---- stage 1: anti-alias filter and decimation ------------------------
    def _decimate_to(self, n_dec: int) -> None:
        """Compute analysis samples ``[self._n_dec, n_dec)``; sample m is centred on raw sample q * m."""
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
        keep_from = q * m1 - D
        cut = keep_from - self._raw_start
        if cut > 0:
            self._raw = self._raw[cut:]
            self._raw_start = keep_from

    # ---- stage 2: per-frame candidates ---------------------------------------
    def _n_feat_available(self) -> int:
        num = self._n_dec - 1 - self._win_half - self._hop_d // 2
        return num // self._hop_d + 1 if num >= 0 else 0

    def _features_to(self, n_to: int) -> None:
        i0 = self._n_feat
        if n_to <= i0:
            return
        idx = np.arange(i0, n_to)
        starts = idx * self._hop_d + self._hop_d // 2 - self._win_half - self._dec_start
        view = np.lib.stride_tricks.sliding_window_view(self._dec, self._win_len)
        self._append_pending(*self._analyse(view[starts], idx))
        self._n_feat = n_to
        keep_from = n_to * self._hop_d + self._hop_d // 2 - self._win_half
        cut = keep_from - self._dec_start
        if cut > 0:
            self._dec = self._dec[cut:]
            self._dec_start = keep_from

    def _append_pending(self, logf, lag, cost, r) -> None:
        self._p_logf = np.concatenate([self._p_logf, logf])
        self._p_lag = np.concatenate([self._p_lag, lag])
        self._p_cost = np.concatenate([self._p_cost, cost])
        self._p_r = np.concatenate([self._p_r, r])

    def _analyse(self, frames: np.ndarray, idx: np.ndarray):
        """Candidates of frames ``idx`` from their windows ``frames`` (n, win_len).

        Returns log2 F0 (n, K) (NaN: no candidate), integer lags (n, K),
        costs (n, K + 1) (last column: unvoiced), compressed NACF (n, n_lags).
        """
        n = frames.shape[0]
        K = _N_CANDIDATES
        x = frames - frames.mean(axis=1, keepdims=True)
        xw = x * self._window
        energy = (xw * xw).sum(axis=1, dtype=np.float64)
        level_db = 10.0 * np.log10(energy / self._win_energy + 1e-30)
        vals = level_db + self._decay_per_frame * idx
        acc = np.maximum.accumulate(np.concatenate([[self._ref_acc], vals]))[1:]
        self._ref_acc = float(acc[-1])
        below_db = acc - self._decay_per_frame * idx - level_db  # >= 0
        logf = np.full((n, K), np.nan)
        lag = np.zeros((n, K), dtype=np.int64)
        cost = np.full((n, K + 1), _BIG_COST, dtype=np.float32)
        silence_bonus = _SILENCE_SLOPE_PER_DB * np.maximum(below_db - _SILENCE_THRESHOLD_DB, 0.0)
        cost[:, K] = -(_VOICING_THRESHOLD + silence_bonus)
        rr = np.zeros((n, self._n_lags), dtype=np.float32)
        active = (below_db < _SILENCE_SKIP_DB) & (level_db > _ABS_FLOOR_DB)
        ia = np.flatnonzero(active)
        conf_bin = np.full(n, -1, dtype=np.int64)
        if len(ia) == 0:
            self._update_prior(conf_bin)
            return logf, lag, cost, rr
        spec = scipy.fft.rfft(xw[ia], self._nfft, axis=1)
        pw = spec.real * spec.real + spec.imag * spec.imag
        ac = scipy.fft.irfft(pw, self._nfft, axis=1)[:, : self._n_lags]
        r_plain = ac / (ac[:, :1] + 1e-30) * self._rw_inv
        if _WHITEN_HZ > 0:
            B = max(1, int(round(_WHITEN_HZ * self._nfft / self._fs_d)))
            cs = np.concatenate([np.zeros((pw.shape[0], B + 1)), np.cumsum(pw, axis=1, dtype=np.float64), np.repeat(pw.sum(axis=1, keepdims=True, dtype=np.float64), B, axis=1)], axis=1)
            nb = pw.shape[1]
            env = (cs[:, 2 * B + 1: 2 * B + 1 + nb] - cs[:, :nb])
            cnt = np.minimum(np.arange(nb) + B, nb - 1) - np.maximum(np.arange(nb) - B, 0) + 1
            env = env / cnt
            env = env + 1e-6 * env.max(axis=1, keepdims=True) + 1e-30
            pwc = (pw / env ** _WHITEN_GAMMA).astype(np.float32) ** _SPECTRAL_COMPRESSION
        else:
            pwc = pw ** _SPECTRAL_COMPRESSION
        if _FLOOR_HZ > 0:
            B = max(1, int(round(_FLOOR_HZ * self._nfft / self._fs_d)))
            fl = scipy.ndimage.minimum_filter1d(pwc, 2 * B + 1, axis=1, mode="nearest")
            if _FLOOR_OPEN:
                fl = scipy.ndimage.maximum_filter1d(fl, 2 * B + 1, axis=1, mode="nearest")
            pwc = np.maximum(pwc - _FLOOR_ALPHA * fl, 0.0)
        ac = scipy.fft.irfft(pwc, self._nfft, axis=1)[:, : self._n_lags]
        r = ac / (ac[:, :1] + 1e-30) * self._rw_inv
        rr[ia] = r
        lo, hi = self._lag_lo, self._lag_hi
        seg = r[:, lo - 1: hi + 2]
        mid = seg[:, 1:-1]
        peak = (mid > seg[:, :-2]) & (mid >= seg[:, 2:]) & (mid > _MIN_CANDIDATE_STRENGTH)
        strength = np.where(peak, mid, -np.inf)
        kk = min(K, strength.shape[1])
        top = np.argpartition(-strength, kk - 1, axis=1)[:, :kk]  # (na, kk) lag offsets
        rows = np.arange(len(ia))[:, None]
        st = strength[rows, top]
        present = np.isfinite(st)
        li = top + lo  # integer lag of each candidate
        ym, y0, yp = r[rows, li - 1], r[rows, li], r[rows, li + 1]
        den = ym - 2.0 * y0 + yp
        delta = np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1.0), 0.0)
        delta = np.clip(delta, -0.5, 0.5)
        lagf = li + delta
        if _VOICING_MODE == "max":
            v = np.minimum(r_plain[:, lo:hi + 1].max(axis=1), 1.0)[:, None]
        else:
            v = np.minimum(np.where(present, r_plain[rows, li], -1.0).max(axis=1), 1.0)[:, None]
        s = (1.0 - _PLAIN_WEIGHT) * np.minimum(y0, 1.0) + _PLAIN_WEIGHT * v
        f = self._fs_d / lagf
        if _DEBUG is not None:
            _DEBUG.append((idx[ia], np.where(present, y0, np.nan), v[:, 0], f))
        c = -(s - _OCTAVE_COST * np.log2(self.config.fmax_hz / f))
        logf[ia, :kk] = np.where(present, np.log2(f), np.nan)
        lag[ia, :kk] = li
        cost[ia, :kk] = np.where(present, c, _BIG_COST)
        # speaker prior: histogram median of confident frames' best candidate
        bestj = np.argmax(np.where(present, y0, -np.inf), axis=1)
        yb = y0[rows[:, 0], bestj]
        conf = present[rows[:, 0], bestj] & (yb >= _PRIOR_MIN_STRENGTH) & (v[:, 0] >= _PRIOR_MIN_PERIODICITY)
        lb = np.log2(f[rows[:, 0], bestj])
        binj = np.clip(np.floor((lb - self._prior_lo) * _PRIOR_BINS_PER_OCTAVE).astype(np.int64), 0, self._prior_nb - 1)
        conf_bin[ia] = np.where(conf, binj, -1)
        prior = self._update_prior(conf_bin)
        dist = np.abs(logf - prior[:, None])
        pen = _PRIOR_COST * np.maximum(dist - _PRIOR_TOLERANCE_OCT, 0.0)
        ok = np.isfinite(pen)
        cost[:, :K] = np.where(ok, cost[:, :K] + pen.astype(np.float32), cost[:, :K])
        return logf, lag, cost, rr

    def _update_prior(self, conf_bin: np.ndarray) -> np.ndarray:
        """Append frames' confident bins (-1: none); return each frame's prior log2 F0 (NaN: none)."""
        n = len(conf_bin)
        nb = self._prior_nb
        onehot = np.zeros((n, nb), dtype=np.int64)
        has = conf_bin >= 0
        onehot[np.flatnonzero(has), conf_bin[has]] = 1
        cum = np.cumsum(np.concatenate([self._prior_cum[-1:], onehot]), axis=0)[1:]
        full = np.concatenate([self._prior_cum, cum])
        H = _PRIOR_FRAMES
        counts = full[H + 1:] - full[:n]  # frames x - H .. x
        self._prior_cum = full[-(H + 1):]
        cb = np.cumsum(counts, axis=1)
        total = cb[:, -1]
        med = np.argmax(2 * cb >= total[:, None], axis=1)
        centre = self._prior_lo + (med + 0.5) / _PRIOR_BINS_PER_OCTAVE
        return np.where(total >= _PRIOR_MIN_FRAMES, centre, np.nan)

    # ---- stage 3: windowed Viterbi, decision with bounded look-ahead ----------
    def _emit_to(self, n_to: int) -> PitchFrames:
        i0 = self._n_out
        if n_to <= i0:
            return self._empty()
        W, L, K = _LOOKBACK_FRAMES, _LOOKAHEAD_FRAMES, _N_CANDIDATES
        n = n_to - i0
        b0 = i0 - W - self._pend_start  # pending row of frame i0 - W
        b1 = n_to + L - self._pend_start  # one past the row of frame n_to - 1 + L
        logf = self._p_logf[b0:b1].T  # (K, T)
        cost = self._p_cost[b0:b1].T  # (K + 1, T)
        T = b1 - b0
        # A[s', s, t]: cost of moving from state s' at t - 1 to state s at t, plus emission at t
        A = np.empty((K + 1, K + 1, T), dtype=np.float32)
        jump = np.abs(logf[None, :, 1:] - logf[:, None, :-1])  # (K, K, T - 1)
        A[:K, :K, 1:] = np.where(np.isnan(jump), 0.0, _OCTAVE_JUMP_COST * jump)
        A[:K, K, 1:] = _VOICED_UNVOICED_COST
        A[K, :K, 1:] = _VOICED_UNVOICED_COST
        A[K, K, 1:] = 0.0
        A[:, :, 1:] += cost[None, :, 1:]
        # forward over [i - W, i]
        V = cost[:, 0:n].copy()  # (K + 1, n): emission at frame i - W
        for j in range(1, W + 1):
            Aj = A[:, :, j:j + n]
            Vn = V[0][None, :] + Aj[0]
            for s in range(1, K + 1):
                np.minimum(Vn, V[s][None, :] + Aj[s], out=Vn)
            V = Vn
        # backward over [i, i + L]
        U = np.zeros((K + 1, n), dtype=np.float32)
        for j in range(L, 0, -1):
            Aj = A[:, :, W + j:W + j + n]
            Un = Aj[:, 0] + U[0][None, :]
            for s in range(1, K + 1):
                np.minimum(Un, Aj[:, s] + U[s][None, :], out=Un)
            U = Un
        tot = V + U
        choice = np.argmin(tot, axis=0)
        best_voiced = tot[:K].min(axis=0)
        margin = (tot[K] - best_voiced) / _PROB_SCALE
        prob = (1.0 / (1.0 + np.exp(-np.clip(margin, -50.0, 50.0)))).astype(np.float32)
        voiced = choice < K
        prob = np.where(voiced, np.maximum(prob, 0.5), np.minimum(prob, np.nextafter(np.float32(0.5), 0)))
        f0 = np.full(n, np.nan, dtype=np.float32)
        rows_v = np.flatnonzero(voiced)
        if len(rows_v):
            pr = rows_v + W + b0  # pending rows of the voiced frames
            li = self._p_lag[pr, choice[rows_v]]
            f0[rows_v] = self._refine(self._p_r[pr], li)
        self._n_out = n_to
        keep_from = n_to - W
        cut = keep_from - self._pend_start
        if cut > 0:
            self._p_logf = self._p_logf[cut:]
            self._p_lag = self._p_lag[cut:]
            self._p_cost = self._p_cost[cut:]
            self._p_r = self._p_r[cut:]
            self._pend_start = keep_from
        return PitchFrames(i0, f0, prob.astype(np.float32))

    def _refine(self, r: np.ndarray, li: np.ndarray) -> np.ndarray:
        """F0 (Hz) at the windowed-sinc-interpolated maximum of ``r`` (m, n_lags) near integer lags ``li`` (m,)."""
        m = len(li)
        rows = np.arange(m)
        taps = np.clip(li[:, None] + np.arange(-_SINC_HALF_WIDTH, _SINC_HALF_WIDTH + 1)[None, :], 0, self._n_lags - 1)
        neigh = r[rows[:, None], taps].astype(np.float64)
        fine = (neigh[:, None, :] * self._sinc[None, :, :]).sum(axis=2)  # (m, F)
        k = np.clip(np.argmax(fine, axis=1), 1, fine.shape[1] - 2)
        ym, y0, yp = fine[rows, k - 1], fine[rows, k], fine[rows, k + 1]
        den = ym - 2.0 * y0 + yp
        delta = np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1.0), 0.0)
        lag = li + self._fine_offs[k] + delta / _FINE_STEPS
        return (self._fs_d / lag).astype(np.float32)
