"""Streaming pitch (F0) tracker on the fixed 10 ms grid.

One stage, ``PitchTracker``: ``push(samples) -> PitchFrames``, ``flush()``,
``reset()``. Frame ``i`` of the grid (samples ``[i * hop, (i + 1) * hop)``) gets
an F0 measured in a window centred on the frame centre
``(i + 0.5) * hop / sample_rate`` s::

    samples  |----------|----------|----------|----------|
    frames   |    i-1   |    i     |    i+1   |    i+2   |
    window        [=========== 60 ms ===========]           (3 periods of fmin)
                                ^ centre of frame i

Method: Boersma's (1993) normalised autocorrelation ("Accurate short-term
analysis of the fundamental frequency and the harmonics-to-noise ratio of a
sampled sound", IFA Proceedings 17) with the spectral compression of Tolonen &
Karjalainen (2000, "A computationally efficient multipitch analysis model",
IEEE TSAP 8(6)) and Praat's path costs, arranged for streaming::

    samples --FIR low-pass, decimate by q--> analysis rate (4 kHz for fmax <= 800 Hz)
      --Hann window centred on the frame centre--> rfft --> |X|^2
           inverse of |X|^2                    -> r_plain(lag): periodicity (voicing evidence)
                                                  and the fine period
           inverse of max(|X|^0.5 - floor, 0)  -> r_comp(lag):  candidates; compressing the
                                                  spectrum and removing its floor between
                                                  harmonics keeps one formant-boosted
                                                  harmonic from posing as F0 (telephone band)
      (the spectra are real and even, so each inverse is a DCT-I), each divided by
      the window's own autocorrelation
      --> up to 4 peaks of r_comp per frame, plus an "unvoiced" candidate: the strongest,
          and always the shortest-lag peak within 0.15 of the strongest (a high voice's
          r_comp peaks at every multiple of its period, up to ten of them at fmin 50 Hz,
          and in noise its subharmonics filled all four places: 480 Hz in white noise at
          5 dB was voiced on 54 % of its frames; see benchmarks/pitch_variety.py)
      --> subharmonic cost: a candidate at about 1/2, 1/3 ... of a near-best one pays
          0.4 per octave where the compressed spectrum between the higher one's
          harmonics is weak against the line in dB through them (Sun's 2002 subharmonic-to-harmonic ratio, "Pitch
          determination and voice quality analysis using subharmonic-to-harmonic
          ratio", ICASSP): in noise, and for PSOLA-processed speech, r_comp can peak
          at twice the period (octave-down errors of high voices); the frame's
          cheapest voiced cost is kept, so voicing is decided as before
      --> Viterbi over the frames [i - 10, i + 8]: octave-jump and voicing-change
          costs as in Praat's path finder, plus a speaker prior (median F0 of the
          last 5 s of confident frames) against octave errors at phrase onsets;
          only frame i is decided there: bounded look-ahead
      --> the chosen lag refined by windowed-sinc interpolation of r_plain, as in
          Boersma (1993): r_comp finds the right peak, r_plain places it. The plain
          autocorrelation weights each harmonic by its power, so harmonics buried
          in noise hardly move the peak; the compressed, floor-removed spectrum
          lifts them (and the noise between them) towards the strong ones, and its
          peak wanders with the noise (PTDB-TUG in white noise at 0 dB: median
          14 cents from the same frame's clean estimate, against 2 cents for r_plain).

Frames far below a running level reference (like Praat's silence threshold)
skip the FFTs. Frames are analysed in batches of at least 8 (numpy's per-call
overhead); ``latency_frames`` declares window, Viterbi look-ahead and batching
together (18 frames = 180 ms at the defaults). Each frame's result is a fixed
sequence of per-frame operations on its own samples and features, so any block
sizes give bit-identical output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import PitchConfig
from ..errors import ConfigError, InputError
from ..timebase import GRID, Grid
from .ckernels import KERNELS
from .compiled import dct1, fast_len, rfft

# ---- tuning constants (tuned on PTDB-TUG, see benchmarks/pitch_accuracy.py, and on the
# tuning set of benchmarks/pitch_noise.py) ----
# analysis rate and anti-alias filter
_MIN_ANALYSIS_RATE_HZ = 4000.0  # keeps harmonics up to ~1.7 kHz, where voiced speech is strongest
_ANALYSIS_RATE_PER_FMAX = 5.0  # and at least 5 * fmax_hz
_FIR_HALF_TAPS_PER_FACTOR = 8  # anti-alias FIR has 2 * 8 * q + 1 taps
_FIR_CUTOFF_RATIO = 0.85  # FIR cutoff as a share of the analysis Nyquist frequency
_FIR_KAISER_BETA = 7.0
# correlation analysis
_PERIODS_PER_WINDOW = 3.0  # window length in periods of fmin_hz (Praat: 3)
_FLOOR_HALF_WIDTH_HZ = 60.0  # spectral floor = minimum over +-60 Hz of the compressed spectrum
_N_CANDIDATES = 4  # r_comp peaks kept per frame
_MIN_CANDIDATE_STRENGTH = 0.05  # r_comp peaks below this are no candidates
_FIRST_PEAK_TOL = 0.15  # the shortest-lag peak this close to the strongest is always kept
_PERIODICITY_WEIGHT = 0.4  # candidate strength = 0.6 * r_comp + 0.4 * max r_plain
_SINC_HALF_WIDTH = 10  # taps each side for the lag refinement
_FINE_STEPS = 8  # refinement grid: 1/8 of an analysis sample, then a parabola
# level gates
_SILENCE_SKIP_DB = 50.0  # this far below the running reference: no FFT, unvoiced
_SILENCE_THRESHOLD_DB = 30.0  # from this far below, unvoiced gets cheaper ...
_SILENCE_SLOPE_PER_DB = 0.05  # ... by this much per further dB
_REF_DECAY_DB_PER_S = 1.0  # the running reference (a peak level) decays this fast
_ABS_FLOOR_DB = -100.0  # frames below this level (dB re full scale) are silent
# path costs (Praat's names and defaults in brackets)
_VOICING_THRESHOLD = 0.35  # strength of the unvoiced candidate [0.45]
_OCTAVE_COST = 0.01  # per octave below fmax_hz [0.01]
# subharmonic cost (see _candidates; tuned on benchmarks/pitch_noise.py's tuning set and PTDB-TUG)
_SUBHARMONIC_COST = 0.4  # per octave below a near-best candidate it is a subharmonic of
_NEAR_BEST = 0.1  # a candidate within this much strength of the frame's best is near-best
_HARMONIC_TOL = 0.05  # F0 ratio within 5 % of an integer m >= 2
_NEAR_BEST_SUB = 0.2  # ... and only a candidate within this much of the best pays (CPU)
_SHR_MIN = 0.25  # subharmonic-to-harmonic ratio below which the full cost applies ...
_SHR_MAX = 0.7  # ... above which none (0.5 before issue 13's second pass; see benchmarks/pitch_noise.py)
_SHR_HARMONICS = 32  # multiples of f_k examined ...
_SHR_BAND = 0.85  # ... up to this share of the analysis Nyquist frequency (the FIR's cutoff)
_OCTAVE_JUMP_COST = 0.6  # per octave between consecutive frames [0.35]
_VOICED_UNVOICED_COST = 0.25  # per voicing change [0.14]
_LOOKBACK_FRAMES = 10  # Viterbi window before the decided frame
_LOOKAHEAD_FRAMES = 8  # Viterbi window after the decided frame
_MIN_BATCH_FRAMES = 8  # analyse in batches of at least this many frames (per-call overhead)
_PROB_SCALE = 0.1  # path-cost margin -> voiced_prob logistic scale
_ABSENT_COST = 1.0e6  # cost of a missing candidate
# speaker prior
_PRIOR_FRAMES = 500  # frames [i - 500, i] vote
_PRIOR_MIN_FRAMES = 10  # votes needed before the prior acts
_PRIOR_MIN_STRENGTH = 0.4  # a frame votes when its best r_comp peak reaches this ...
_PRIOR_MIN_PERIODICITY = 0.5  # ... and its r_plain maximum reaches this
_PRIOR_BINS_PER_OCTAVE = 6
_PRIOR_TOLERANCE_OCT = 0.7  # no cost within 0.7 octave of the prior ...
_PRIOR_COST = 0.2  # ... then this much per further octave


@dataclass(frozen=True)
class PitchFrames:
    """Pitch of consecutive grid frames ``start_frame .. start_frame + n - 1``.

    ``f0_hz``: float32, shape (n,), Hz, within the tracker's ``[fmin_hz, fmax_hz]``; NaN where unvoiced
    (an F0 outside the search range is not measured: such a frame is unvoiced).
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
    """Streaming F0 tracker (see the module docstring for the method).

    ``config``: F0 search range (``fmin_hz`` .. ``fmax_hz``). ``grid``: the frame
    grid; its ``hop_length`` must be even.

    ``latency_frames``: frame ``i`` is returned, at the latest, by the ``push``
    that brings the total number of samples to ``(i + 1 + latency_frames) * hop_length``.
    Frames come out in order, each exactly once; ``flush`` returns the rest.
    """

    def __init__(self, config: PitchConfig = PitchConfig(), *, grid: Grid = GRID):
        if not isinstance(config, PitchConfig):
            raise ConfigError(f"config={config!r} is not a PitchConfig; pass PitchConfig(fmin_hz=..., fmax_hz=...)")
        config.validate()
        fs = int(grid.sample_rate)
        hop = int(grid.hop_length)
        if fs <= 0 or hop <= 0:
            raise ConfigError(f"grid sample_rate={fs} Hz, hop_length={hop} must both be positive")
        if config.fmax_hz >= fs / 4.0:
            raise ConfigError(
                f"pitch.fmax_hz={config.fmax_hz} is too high for sample_rate={fs} Hz; "
                f"use fmax_hz < {fs / 4:g} (a quarter of the sample rate)")
        need_hz = max(_MIN_ANALYSIS_RATE_HZ, _ANALYSIS_RATE_PER_FMAX * config.fmax_hz)
        q = 0  # decimation factor: the largest that keeps an even hop and enough bandwidth
        for cand in range(hop, 0, -1):
            if hop % cand == 0 and (hop // cand) % 2 == 0 and fs / cand >= need_hz:
                q = cand
                break
        if q == 0:
            raise ConfigError(f"grid hop_length={hop} is odd; the pitch tracker needs an even hop_length "
                              f"(e.g. {hop + 1})")
        self.config = config
        self.grid = grid
        self._q = q
        self._fs_d = fs / q  # analysis rate, Hz
        self._hop_d = hop // q  # hop in analysis samples (even)
        if q > 1:
            self._half_taps = _FIR_HALF_TAPS_PER_FACTOR * q  # 2 * half_taps divisible by q
            # windowed-sinc low-pass (as scipy.signal.firwin), unit gain at 0 Hz
            cutoff = _FIR_CUTOFF_RATIO / q  # share of the input Nyquist frequency
            taps = np.arange(2 * self._half_taps + 1) - self._half_taps
            fir = cutoff * np.sinc(cutoff * taps) * np.kaiser(len(taps), _FIR_KAISER_BETA)
            fir /= fir.sum()
            self._fir_phases = [fir[p::q].copy() for p in range(q)]  # polyphase: taps p, p + q, ...
            self._fir = fir
        else:
            self._half_taps = 0
        half = int(round(_PERIODS_PER_WINDOW / config.fmin_hz * self._fs_d / 2.0))
        self._win_half = half  # window: analysis samples [centre - half, centre + half]
        self._win_len = 2 * half + 1
        self._lag_lo = max(2, int(math.floor(self._fs_d / config.fmax_hz)))
        self._lag_hi = int(math.ceil(self._fs_d / config.fmin_hz))
        self._n_lags = self._lag_hi + _SINC_HALF_WIDTH + 2
        # candidate lags [lag_lo, lag_hi] whose F0 is at most fmax_hz (the first may lie above it)
        self._lag_in_range = np.arange(self._lag_lo, self._lag_hi + 1) >= self._fs_d / config.fmax_hz
        self._nfft = fast_len(self._win_len + self._n_lags)
        w = np.hanning(self._win_len + 2)[1:-1]
        self._window = w.astype(np.float32)
        self._win_energy = float(np.sum(w * w))
        rw = np.correlate(w, w, mode="full")[self._win_len - 1:]
        rw = rw / rw[0]
        rw = np.concatenate([rw, np.full(max(0, self._n_lags - len(rw)), rw[-1])])[: self._n_lags]
        self._rw_inv = (1.0 / rw).astype(np.float32)  # Boersma's window-autocorrelation correction
        self._floor_half_bins = max(1, int(round(_FLOOR_HALF_WIDTH_HZ * self._nfft / self._fs_d)))
        offs = np.arange(-_FINE_STEPS, _FINE_STEPS + 1) / _FINE_STEPS
        taps = np.arange(-_SINC_HALF_WIDTH, _SINC_HALF_WIDTH + 1)
        d = offs[:, None] - taps[None, :]
        self._sinc = np.sinc(d) * (0.5 + 0.5 * np.cos(np.pi * d / (_SINC_HALF_WIDTH + 1)))  # (fine, taps)
        self._fine_offs = offs
        self._decay_per_frame_db = _REF_DECAY_DB_PER_S * grid.hop_s
        self._prior_lo = math.log2(config.fmin_hz) - 0.5
        self._prior_nb = int(math.ceil((math.log2(config.fmax_hz) + 0.5 - self._prior_lo) * _PRIOR_BINS_PER_OCTAVE))
        # look-ahead: frame i's window ends at analysis sample centre_i + half, which needs
        # raw samples up to q * (centre_i + half) + half_taps; then the Viterbi window and
        # the batching (frames are analysed once _MIN_BATCH_FRAMES of them are complete).
        look_samples = q * half + self._half_taps - hop // 2 + 1
        self.latency_frames = int(math.ceil(look_samples / hop)) + _LOOKAHEAD_FRAMES + _MIN_BATCH_FRAMES - 1
        self.reset()

    @property
    def latency_s(self) -> float:
        """Declared look-ahead in seconds (``latency_frames`` hops)."""
        return self.grid.frames_to_s(self.latency_frames)

    # ---- public stage interface ---------------------------------------------
    def reset(self) -> None:
        """Forget all audio; the next sample pushed is sample 0 of frame 0."""
        self._n_in = 0  # samples pushed
        self._flushed = False
        self._raw = np.zeros(self._half_taps, dtype=np.float64)  # raw samples from _raw_start on
        self._raw_start = -self._half_taps
        self._n_dec = 0  # analysis samples computed
        self._dec = np.zeros(self._win_half, dtype=np.float32)  # analysis samples from _dec_start on
        self._dec_start = -self._win_half
        self._n_feat = 0  # frames analysed
        self._ref_acc = -np.inf  # running max of (level_db + decay * frame)
        self._prior_cum = np.zeros((_PRIOR_FRAMES + 1, self._prior_nb), dtype=np.int64)
        self._n_out = 0  # frames returned
        self._prov_next = 0  # next frame for provisional()
        W, K = _LOOKBACK_FRAMES, _N_CANDIDATES
        # pending features of frames _pend_start .. _n_feat - 1; W unvoiced frames before frame 0
        self._pend_start = -W
        self._p_logf = np.full((W, K), np.nan)
        self._p_lag = np.zeros((W, K), dtype=np.int64)
        self._p_cost = np.zeros((W, K + 1), dtype=np.float32)
        self._p_cost[:, :K] = _ABSENT_COST
        self._p_r = np.zeros((W, self._n_lags), dtype=np.float32)

    def push(self, samples: np.ndarray) -> PitchFrames:
        """Add mono samples; return the frames they finalise.

        ``samples``: shape (n,), float32 or float64 in [-1, 1] at
        ``grid.sample_rate``, any n >= 0. Returns the frames that became final,
        contiguous after the last returned frame (possibly none).
        """
        x = self._check_samples(samples)
        if len(x):
            self._raw = np.concatenate([self._raw, x])
            self._n_in += len(x)
        num = self._n_in - 1 - self._half_taps - self._q * self._win_half - self.grid.hop_length // 2
        n_ready = num // self.grid.hop_length + 1 if num >= 0 else 0  # frames whose window is complete
        if n_ready - self._n_feat < _MIN_BATCH_FRAMES:
            return self._empty()
        num = self._n_in - 1 - self._half_taps
        self._decimate_to(num // self._q + 1)
        self._analyse_to(n_ready)
        return self._decide_to(self._n_feat - _LOOKAHEAD_FRAMES)

    def flush(self) -> PitchFrames:
        """Finalise all remaining frames, up to ``ceil(total_samples / hop_length)``.

        Samples after the end count as zeros, frames after the last one as
        unvoiced. After ``flush``, ``push`` raises until ``reset``.
        """
        if self._flushed:
            return self._empty()
        self._flushed = True
        n_frames = -(-self._n_in // self.grid.hop_length)
        if n_frames > self._n_feat:
            last_dec = n_frames * self._hop_d - self._hop_d // 2 + self._win_half  # window end of the last frame
            pad = self._q * last_dec + self._half_taps + 1 - (self._raw_start + len(self._raw))
            if pad > 0:
                self._raw = np.concatenate([self._raw, np.zeros(pad)])
            self._decimate_to(last_dec + 1)
            self._analyse_to(n_frames)
        L, K = _LOOKAHEAD_FRAMES, _N_CANDIDATES
        cost = np.zeros((L, K + 1), dtype=np.float32)
        cost[:, :K] = _ABSENT_COST
        self._append_pending(np.full((L, K), np.nan), np.zeros((L, K), np.int64), cost,
                             np.zeros((L, self._n_lags), np.float32))
        return self._decide_to(n_frames)

    # ---- input ----------------------------------------------------------------
    def _check_samples(self, samples) -> np.ndarray:
        if self._flushed:
            raise InputError("push() after flush(): this stream is finished; call reset() to start a new one")
        x = np.asarray(samples)
        if x.ndim != 1:
            raise InputError(f"samples has shape {x.shape}; the pitch tracker needs 1-D mono samples, "
                             f"e.g. x.mean(axis=1) for a (n, channels) block")
        if x.dtype not in (np.float32, np.float64):
            raise InputError(f"samples dtype is {x.dtype}; it must be float32 or float64 in [-1, 1], "
                             f"e.g. x.astype(np.float32) / 32768 for int16")
        x = x.astype(np.float64, copy=False)
        if len(x) and not np.isfinite(x).all():
            bad = int(np.flatnonzero(~np.isfinite(x))[0])
            raise InputError(f"samples[{bad}]={x[bad]} is not finite; samples must be finite; "
                             f"replace NaN/inf (e.g. np.nan_to_num) before push()")
        return x

    def provisional(self) -> PitchFrames:
        """Frames analysed but not yet decided, each judged on its own (its
        cheapest candidate, without the path look-ahead): for a live display
        that cannot wait ``latency_frames``. The final values from ``push`` /
        ``flush`` replace them and may differ. ``voiced_prob`` is 1 where a
        voiced candidate won, else 0. Each frame is returned once."""
        i0, i1 = max(self._prov_next, self._n_out), self._n_feat
        if i1 <= i0:
            return PitchFrames(i0, np.zeros(0, np.float32), np.zeros(0, np.float32))
        rows = slice(i0 - self._pend_start, i1 - self._pend_start)
        best = np.argmin(self._p_cost[rows], axis=1)
        voiced = best < _N_CANDIDATES
        f0 = np.full(i1 - i0, np.nan, dtype=np.float32)
        v = np.flatnonzero(voiced)
        f0[v] = np.exp2(self._p_logf[rows][v, best[v]])
        self._prov_next = i1
        return PitchFrames(i0, f0, voiced.astype(np.float32))

    def _empty(self) -> PitchFrames:
        return PitchFrames(self._n_out, np.zeros(0, np.float32), np.zeros(0, np.float32))

    # ---- stage 1: anti-alias filter and decimation ---------------------------
    def _decimate_to(self, n_dec: int) -> None:
        """Compute analysis samples ``[_n_dec, n_dec)``; sample m is centred on raw sample q * m."""
        if n_dec <= self._n_dec:
            return
        q, D = self._q, self._half_taps
        m0, m1 = self._n_dec, n_dec
        if q == 1:
            a = m0 - self._raw_start
            y = self._raw[a:a + (m1 - m0)]
        else:
            # output m = sum_t fir[t] * seg[q * m + 2 D - t] over t = k q + p: one
            # 'valid' convolution per phase p of seg's every q-th sample (each output a
            # fixed-length dot product, so chunking cannot change it)
            seg = self._raw[q * m0 - D - self._raw_start: q * (m1 - 1) + D + 1 - self._raw_start]
            M = m1 - m0
            if KERNELS is not None:  # one direct sum per output in a compiled loop: the same to rounding
                y = np.empty(M)
                KERNELS.fir_decimate(np.ascontiguousarray(seg), self._fir, q, y)
            else:
                y = np.convolve(seg[::q], self._fir_phases[0], mode="valid")[:M]
                for p in range(1, q):
                    y += np.convolve(seg[q - p::q], self._fir_phases[p], mode="valid")[:M]
        self._dec = np.concatenate([self._dec, y.astype(np.float32)])
        self._n_dec = m1
        keep_from = q * m1 - D
        if keep_from > self._raw_start:
            self._raw = self._raw[keep_from - self._raw_start:]
            self._raw_start = keep_from

    # ---- stage 2: per-frame candidates --------------------------------------
    def _analyse_to(self, n_to: int) -> None:
        i0 = self._n_feat
        if n_to <= i0:
            return
        idx = np.arange(i0, n_to)
        starts = idx * self._hop_d + self._hop_d // 2 - self._win_half - self._dec_start
        frames = np.lib.stride_tricks.sliding_window_view(self._dec, self._win_len)[starts]
        self._append_pending(*self._analyse(frames, idx))
        self._n_feat = n_to
        keep_from = n_to * self._hop_d + self._hop_d // 2 - self._win_half
        if keep_from > self._dec_start:
            self._dec = self._dec[keep_from - self._dec_start:]
            self._dec_start = keep_from

    def _append_pending(self, logf, lag, cost, r) -> None:
        self._p_logf = np.concatenate([self._p_logf, logf])
        self._p_lag = np.concatenate([self._p_lag, lag])
        self._p_cost = np.concatenate([self._p_cost, cost])
        self._p_r = np.concatenate([self._p_r, r])

    def _analyse(self, frames: np.ndarray, idx: np.ndarray):
        """Candidates of frames ``idx`` (n,) from their windows ``frames`` (n, win_len).

        Returns log2 F0 (n, K) (NaN: no candidate), integer lags (n, K),
        path costs (n, K + 1) (last column: unvoiced) and r_plain (n, n_lags) for the refinement.
        """
        n, K = frames.shape[0], _N_CANDIDATES
        xw = np.zeros((n, self._nfft), dtype=np.float32)  # zero-padded for the FFT
        xw[:, : self._win_len] = frames
        xw[:, : self._win_len] -= frames.mean(axis=1, keepdims=True)
        xw[:, : self._win_len] *= self._window
        level_db = 10.0 * np.log10((xw * xw).sum(axis=1, dtype=np.float64) / self._win_energy + 1e-30)
        # running reference: peak level, decaying; exact (max) so chunking cannot change it
        acc = np.maximum.accumulate(np.concatenate([[self._ref_acc], level_db + self._decay_per_frame_db * idx]))[1:]
        self._ref_acc = float(acc[-1])
        below_db = acc - self._decay_per_frame_db * idx - level_db  # >= 0
        logf = np.full((n, K), np.nan)
        lag = np.zeros((n, K), dtype=np.int64)
        cost = np.full((n, K + 1), _ABSENT_COST, dtype=np.float32)
        cost[:, K] = -(_VOICING_THRESHOLD + _SILENCE_SLOPE_PER_DB * np.maximum(below_db - _SILENCE_THRESHOLD_DB, 0.0))
        r_keep = np.zeros((n, self._n_lags), dtype=np.float32)
        vote = np.full(n, -1, dtype=np.int64)
        ia = np.flatnonzero((below_db < _SILENCE_SKIP_DB) & (level_db > _ABS_FLOOR_DB))
        if len(ia):
            r_plain, r_comp, comp = self._correlations(xw[ia])
            r_keep[ia] = r_plain
            logf_a, lag_a, cost_a, vote_a = self._candidates(r_plain, r_comp, comp)
            logf[ia], lag[ia], cost[ia, :K], vote[ia] = logf_a, lag_a, cost_a, vote_a
        prior = self._speaker_prior(vote)
        penalty = _PRIOR_COST * np.maximum(np.abs(logf - prior[:, None]) - _PRIOR_TOLERANCE_OCT, 0.0)
        cost[:, :K] += np.where(np.isfinite(penalty), penalty, 0.0).astype(np.float32)
        return logf, lag, cost, r_keep

    def _correlations(self, xw: np.ndarray):
        """r_plain and r_comp (m, n_lags) of windowed, zero-padded frames ``xw`` (m, nfft), window-corrected."""
        spec = rfft(xw, axis=1)
        power = spec.real * spec.real + spec.imag * spec.imag
        mag = np.sqrt(np.sqrt(power))  # |X|^0.5: power compressed by 1/4
        comp = np.maximum(mag - _centred_min(mag, self._floor_half_bins), 0.0)
        # the power spectrum is real and even: its inverse FFT is a DCT-I of the half spectrum
        ac = dct1(power, axis=1)[:, : self._n_lags]
        r_plain = ac / (ac[:, :1] + 1e-30) * self._rw_inv
        ac = dct1(comp, axis=1)[:, : self._n_lags]
        r_comp = ac / (ac[:, :1] + 1e-30) * self._rw_inv
        return r_plain, r_comp, comp

    def _candidates(self, r_plain: np.ndarray, r_comp: np.ndarray, comp: np.ndarray):
        """Top-K peaks of ``r_comp`` (m, n_lags) in the lag range: log2 F0, lags, costs (m, K) and prior votes (m,)."""
        m, K = r_comp.shape[0], _N_CANDIDATES
        lo, hi = self._lag_lo, self._lag_hi
        seg = r_comp[:, lo - 1: hi + 2]
        mid = seg[:, 1:-1]
        peak = (mid > seg[:, :-2]) & (mid >= seg[:, 2:]) & (mid > _MIN_CANDIDATE_STRENGTH)
        strength = np.where(peak, mid, -np.inf)
        kk = min(K, strength.shape[1])
        rows = np.arange(m)[:, None]
        # the shortest-lag peak (of an F0 <= fmax_hz) within _FIRST_PEAK_TOL of the strongest is always
        # a candidate: a high voice's r_comp peaks at every multiple of its period (up to ten within
        # the lag range at fmin_hz=50), and in noise its subharmonics can fill all K places of a
        # top-K by strength; it takes a place (strength set to +inf for the ranking only)
        top_s = strength.max(axis=1, keepdims=True)
        eligible = (strength >= top_s - _FIRST_PEAK_TOL) & self._lag_in_range
        first = np.argmax(eligible, axis=1)
        forced = np.flatnonzero(eligible[rows[:, 0], first])
        strength[forced, first[forced]] = np.inf
        top = np.argpartition(-strength, kk - 1, axis=1)[:, :kk]
        present = peak[rows, top]
        li = top + lo  # integer lag of each candidate
        ym, y0, yp = r_comp[rows, li - 1], r_comp[rows, li], r_comp[rows, li + 1]
        den = ym - 2.0 * y0 + yp
        delta = np.clip(np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1.0), 0.0), -0.5, 0.5)
        f_hz = self._fs_d / (li + delta)
        # the integer lag range reaches half a lag beyond [fmin_hz, fmax_hz] at each end (so that a peak
        # at its edge is a peak); a candidate whose F0 lies outside the search range is none
        present &= (f_hz >= self.config.fmin_hz) & (f_hz <= self.config.fmax_hz)
        periodicity = np.minimum(r_plain[:, lo:hi + 1].max(axis=1), 1.0)  # (m,)
        s = (1.0 - _PERIODICITY_WEIGHT) * np.minimum(y0, 1.0) + _PERIODICITY_WEIGHT * periodicity[:, None]
        # Subharmonic cost: a candidate at about 1/m of a near-best candidate j's F0 (m = 2, 3 ...)
        # may be j's subharmonic. A periodic signal correlates as well at 2, 3 ... periods, and
        # where the compressed spectrum lifts noise (or the alternating pulses of PSOLA speech)
        # between the harmonics it may correlate even better there: octave-down errors in
        # noise. Whether the spectrum between j's harmonics holds harmonics of k decides, as in
        # Sun's (2002) subharmonic-to-harmonic ratio: at each multiple of f_k that is no multiple
        # of f_j (from f_j up, so that a missing fundamental is no evidence), the compressed
        # spectrum against the line in dB through j's neighbouring harmonics (so that the spectral
        # tilt is none). Below _SHR_MIN of it: k pays the full cost, above _SHR_MAX: none.
        # The cost moves the choice between candidates only; each frame's cheapest voiced cost
        # is kept, so the voicing evidence is unchanged.
        s_ok = np.where(present, s, -np.inf)
        near = present & (s_ok >= s_ok.max(axis=1, keepdims=True) - _NEAR_BEST)
        ratio = np.where(near[:, :, None] & present[:, None, :], f_hz[:, :, None], 0.0) / f_hz[:, None, :]  # (m, j, k)
        mult = np.rint(ratio)
        sub = (mult >= 2) & (np.abs(ratio - mult) <= _HARMONIC_TOL * mult)  # k may be a subharmonic of j
        sub &= (s_ok >= s_ok.max(axis=1, keepdims=True) - _NEAR_BEST_SUB)[:, None, :]  # only a competitive k matters
        below_oct = np.zeros(f_hz.shape)  # (m, kk)
        pr, pj, pk = np.nonzero(sub)
        if len(pr):
            w = self._subharmonic_weight(comp, pr, f_hz[pr, pk], mult[pr, pj, pk].astype(np.int64))
            np.maximum.at(below_oct, (pr, pk), w * np.log2(ratio[pr, pj, pk]))
        c0 = -(s - _OCTAVE_COST * np.log2(self.config.fmax_hz / f_hz))
        c = c0 + _SUBHARMONIC_COST * below_oct
        c_min, c0_min = np.where(present, c, np.inf).min(axis=1), np.where(present, c0, np.inf).min(axis=1)
        c = c - np.subtract(c_min, c0_min, out=np.zeros(m), where=present.any(axis=1))[:, None]
        logf = np.full((m, K), np.nan)
        lag = np.zeros((m, K), dtype=np.int64)
        cost = np.full((m, K), _ABSENT_COST)
        logf[:, :kk] = np.where(present, np.log2(f_hz), np.nan)
        lag[:, :kk] = li
        cost[:, :kk] = np.where(present, c, _ABSENT_COST)
        # a confident frame votes for the prior bin of its cheapest candidate
        best = np.argmin(np.where(present, c, np.inf), axis=1)
        r0 = rows[:, 0]
        confident = present[r0, best] & (y0[r0, best] >= _PRIOR_MIN_STRENGTH) & (periodicity >= _PRIOR_MIN_PERIODICITY)
        b = np.floor((np.log2(f_hz[r0, best]) - self._prior_lo) * _PRIOR_BINS_PER_OCTAVE).astype(np.int64)
        vote = np.where(confident, np.clip(b, 0, self._prior_nb - 1), -1)
        return logf, lag, cost, vote

    def _subharmonic_weight(self, comp: np.ndarray, rows: np.ndarray, f_k_hz: np.ndarray,
                            mult: np.ndarray) -> np.ndarray:
        """How much each candidate of F0 ``f_k_hz`` (p,) looks like the subharmonic at 1/``mult`` (p,)
        of another, in [0, 1], (p,); ``comp``: the floor-removed compressed spectra (m, bins),
        ``rows`` (p,): each candidate's row of ``comp``."""
        nb = comp.shape[1]
        top_bin = _SHR_BAND * (nb - 1)
        bin_per_hz = self._nfft / self._fs_d
        # the multiples examined: as many as fmin_hz has in band (+1), the same for every batch. Fewer,
        # from the batch's lowest candidate, changed no term used (those beyond a row's band are not)
        # but changed each row's sum's length, and numpy's pairwise sum rounds by length: the cost,
        # and voiced_prob, then moved by an ulp with the push sizes (docs/architecture.md)
        N = int(min(_SHR_HARMONICS, top_bin // (self.config.fmin_hz * bin_per_hz) + 1))  # beyond: out of band
        n = np.arange(1, N + 1)
        bins = f_k_hz[:, None] * n * bin_per_hz  # (p, N): the multiples of f_k
        inband = bins <= top_bin
        bi = np.clip(np.rint(bins).astype(np.int64), 1, nb - 2)
        rows = rows[:, None]
        val = np.maximum(np.maximum(comp[rows, bi - 1], comp[rows, bi]), comp[rows, bi + 1])  # peak within a bin
        rows = np.arange(len(f_k_hz))[:, None]
        mm = mult[:, None]
        lo_n = (n // mm) * mm  # the harmonics of f_j around multiple n of f_k
        hi_n = lo_n + mm
        hi_i = np.minimum(hi_n, N) - 1
        use = (n % mm != 0) & (n >= mm) & (hi_n <= N) & inband[rows, hi_i]
        log_val = np.log(val + 1e-12)
        lo_v = log_val[rows, np.maximum(lo_n - 1, 0)]
        hi_v = log_val[rows, hi_i]
        # the line between j's harmonics in dB (spectral tilt is straight in dB, not in amplitude:
        # next to one formant-boosted harmonic a straight amplitude line overrates the valley)
        line = np.exp(lo_v + (hi_v - lo_v) * ((n - lo_n) / mm))
        sh = np.where(use, line, 0.0).sum(axis=1)
        ss = np.where(use, val, 0.0).sum(axis=1)
        return np.clip((_SHR_MAX * sh - ss) / np.maximum((_SHR_MAX - _SHR_MIN) * sh, 1e-12), 0.0, 1.0)

    def _speaker_prior(self, vote: np.ndarray) -> np.ndarray:
        """Median log2 F0 of the votes (n,) (bin or -1) in frames [i - _PRIOR_FRAMES, i]; NaN when too few."""
        n, nb, H = len(vote), self._prior_nb, _PRIOR_FRAMES
        onehot = np.zeros((n, nb), dtype=np.int64)
        has = vote >= 0
        onehot[np.flatnonzero(has), vote[has]] = 1
        cum = np.concatenate([self._prior_cum, self._prior_cum[-1] + np.cumsum(onehot, axis=0)])  # exact integers
        self._prior_cum = cum[-(H + 1):]
        counts = np.cumsum(cum[H + 1:] - cum[:n], axis=1)  # (n, nb) cumulative over bins
        total = counts[:, -1]
        median_bin = np.argmax(2 * counts >= total[:, None], axis=1)
        centre = self._prior_lo + (median_bin + 0.5) / _PRIOR_BINS_PER_OCTAVE
        return np.where(total >= _PRIOR_MIN_FRAMES, centre, np.nan)

    # ---- stage 3: windowed Viterbi, bounded look-ahead -------------------------
    def _decide_to(self, n_to: int) -> PitchFrames:
        """Decide frames ``[_n_out, n_to)``, each by the best path over its own frame window."""
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
        # A[s', s, t]: moving from state s' at frame t - 1 to state s at t, plus s's cost at t
        A = np.empty((K + 1, K + 1, T), dtype=np.float32)
        jump = np.abs(logf[None, :, 1:] - logf[:, None, :-1])  # (K, K, T - 1), octaves
        A[:K, :K, 1:] = np.where(np.isnan(jump), 0.0, _OCTAVE_JUMP_COST * jump)
        A[:K, K, 1:] = _VOICED_UNVOICED_COST
        A[K, :K, 1:] = _VOICED_UNVOICED_COST
        A[K, K, 1:] = 0.0
        A[:, :, 1:] += cost[None, :, 1:]
        # forward: best cost of reaching each state of frame i from frame i - W
        V = cost[:, 0:n]
        for j in range(1, W + 1):
            V = (V[:, None, :] + A[:, :, j:j + n]).min(axis=0)
        # backward: best cost of continuing from each state of frame i to frame i + L
        U = np.zeros((K + 1, n), dtype=np.float32)
        for j in range(L, 0, -1):
            U = (A[:, :, W + j:W + j + n] + U[None, :, :]).min(axis=1)
        total = V + U
        choice = np.argmin(total, axis=0)
        voiced = choice < K
        margin = (total[K] - total[:K].min(axis=0)) / _PROB_SCALE
        prob = (1.0 / (1.0 + np.exp(-np.clip(margin, -50.0, 50.0)))).astype(np.float32)
        prob = np.where(voiced, np.maximum(prob, np.float32(0.5)), np.minimum(prob, np.nextafter(np.float32(0.5), 0)))
        f0 = np.full(n, np.nan, dtype=np.float32)
        rows_v = np.flatnonzero(voiced)
        if len(rows_v):
            pr = rows_v + W + b0  # pending rows of the voiced frames
            f0[rows_v] = self._refine(self._p_r[pr], self._p_lag[pr, choice[rows_v]])
            # the refinement may move a peak near the range's edge across it (up to one lag): an F0
            # outside [fmin_hz, fmax_hz] is not measured by this search, so the frame is unvoiced
            out = ~((f0 >= np.float32(self.config.fmin_hz)) & (f0 <= np.float32(self.config.fmax_hz)))
            out &= voiced
            if out.any():
                f0[out] = np.nan
                prob[out] = np.minimum(prob[out], np.nextafter(np.float32(0.5), np.float32(0)))
        self._n_out = n_to
        keep_from = n_to - W
        if keep_from > self._pend_start:
            cut = keep_from - self._pend_start
            self._p_logf = self._p_logf[cut:]
            self._p_lag = self._p_lag[cut:]
            self._p_cost = self._p_cost[cut:]
            self._p_r = self._p_r[cut:]
            self._pend_start = keep_from
        return PitchFrames(i0, f0, prob.astype(np.float32))

    def _refine(self, r: np.ndarray, li: np.ndarray) -> np.ndarray:
        """F0 (Hz), (m,), at the windowed-sinc-interpolated peak of ``r`` (m, n_lags) within 1 lag of ``li`` (m,).

        ``r``: r_plain of the frames, window-corrected; ``li``: the chosen r_comp peaks
        (integer lags). r_plain is band-limited like the analysis signal (below its
        Nyquist frequency), so sinc interpolation recovers it between lags; the parabola through the best point of
        the 1/8-sample grid and its neighbours gives the rest.
        """
        rows = np.arange(len(li))
        taps = np.clip(li[:, None] + np.arange(-_SINC_HALF_WIDTH, _SINC_HALF_WIDTH + 1)[None, :], 0, self._n_lags - 1)
        neigh = r[rows[:, None], taps].astype(np.float64)
        fine = (neigh[:, None, :] * self._sinc[None, :, :]).sum(axis=2)  # (m, fine)
        k = np.clip(np.argmax(fine, axis=1), 1, fine.shape[1] - 2)
        ym, y0, yp = fine[rows, k - 1], fine[rows, k], fine[rows, k + 1]
        den = ym - 2.0 * y0 + yp
        delta = np.clip(np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1.0), 0.0), -0.5, 0.5)
        return (self._fs_d / (li + self._fine_offs[k] + delta / _FINE_STEPS)).astype(np.float32)


def _centred_min(a: np.ndarray, half: int) -> np.ndarray:
    """Minimum of ``a`` (n, m) over ``[j - half, j + half]`` along axis 1, edges replicated; (n, m)."""
    w = 2 * half + 1
    p = np.concatenate([np.repeat(a[:, :1], half, axis=1), a, np.repeat(a[:, -1:], half, axis=1)], axis=1)
    span = 1  # p[:, j] holds the minimum of the padded row over [j, j + span)
    while span * 2 <= w:
        p = np.minimum(p[:, :-span], p[:, span:])
        span *= 2
    if span < w:
        p = np.minimum(p[:, :-(w - span)], p[:, w - span:])
    return p
