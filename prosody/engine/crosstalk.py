"""Cross-talk between two separate channels: which raw speech frames are the
other person's voice leaking in (loudspeaker, room, second microphone).

Method: residual-echo estimation in the spectral-envelope domain, as acoustic
echo suppressors do (Avendano 2001; Faller & Chen 2005), run in both
directions and learnt from the session itself (docs/crosstalk.md).

For each direction "B leaks into A" the leak path is a delay ``d_ab`` (whole
frames, 0 .. ``max_delay_s``) and a gain per mel band ``G_ab(f)`` (dB); the
leak predicted in A, per FFT bin, is B's level through it with a decaying
peak hold (the room's reverberant tail), widened by one bin::

    leak_a(t, f) = G_ab(band(f)) + Bhold(t - d_ab, f)                   (dB)
    Bhold(t, f)  = max(B(t, f-1..f+1), Bhold(t - 1, f) - decay_db_per_frame)

The path is learnt from the last ``history_s`` at fixed frame indices (every
``refresh_frames``; every ``startup_refresh_frames`` in the first
``startup_frames``, every ``first_refresh_frames`` while a direction is still
unsettled and its source young, see ``_refresh_step``), over the frames where B was raw-active and not itself
judged A's leak: the delay is the lag at which A's band spectra follow B's
best (per-frame spectral-shape correlation after removing each band's mean,
``delay_percentile`` over frames), the gain the ``gain_percentile``-th
percentile of ``A - B(t - d)`` per band. Another voice only ever *adds*
power to A, so a low percentile finds the leak alone even when both speak at
times (double talk pulls a mean estimate up). Nothing depends on absolute
levels: the leak may be louder than the other channel's own speech.

Decision per raw-active frame of A: the share of A's power in bins more than
``margin_db`` above the predicted leak, averaged over the last
``own_frames`` frames, is A's own speech; below ``min_own`` the frame is
cross-talk, above it A really speaks (double talk keeps both). Powers make
polarity irrelevant; the per-band gain absorbs loudspeaker band-pass and room
colouring.

Two more tests take what the level test passes: the same voice (A's harmonic
fine structure follows B's 0 .. ``max_delay_s`` earlier: B's F0, see
``_same_voice``) and the leak's onset (A's burst begins the learnt delay after
B's: its first ``leak_onset_frames``, see ``_leak_onset``).

Both directions at once: each voice is louder at its own microphone than at
the other, so the loop gain ``G_ab + G_ba`` is below 0 dB whatever the channel
gains; when the estimates exceed ``-min_loop_loss_db`` (median over bands),
the direction whose delay correlation is weaker (an echo of the other path
seen backwards) is lowered until the loop loss holds.

Causal: the window of every frame ends at that frame; ``latency_s`` = 0.
Chunked input gives exactly what whole input gives.

Sources: C. Avendano, "Acoustic echo suppression in the STFT domain", IEEE
WASPAA 2001; C. Faller and J. Chen, "Suppressing acoustic echo in a spectral
envelope space", IEEE Trans. Speech Audio Process. 13(5), 2005; on double
talk: T. Gänsler and J. Benesty, "Double-talk detection schemes for acoustic
echo cancellation", in Benesty & Huang (eds.), Adaptive Signal Processing,
Springer 2003.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..timebase import GRID, Grid
from .ckernels import KERNELS
from .compiled import rfft
from .views import moving_mean, strided_rows

_EPS = 1e-12
_UNKNOWN_DB = -200.0  # gain of a path not (yet) found: no leak predicted
_DB_TO_LN = math.log(10.0) / 10.0


_FFT_ROWS = 32  # rows per FFT call (CrossTalk._spectra)


def _causal_mean(x: np.ndarray, tail: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each value of ``x`` with the ``w - 1`` before it (``tail``: the last
    ``w - 1`` values of the previous block); returns the means and the new tail."""
    if w <= 1:
        return x, tail
    ext = np.concatenate([tail, x])
    cs = np.concatenate([[0.0], np.cumsum(ext)])
    return (cs[w:] - cs[:-w]) / w, ext[len(ext) - (w - 1):]


@dataclass(frozen=True)
class CrossTalkSettings:
    """Parameters of ``CrossTalk`` (tuned on generated dialogues, see
    benchmarks/crosstalk.py)."""

    max_delay_s: float = 0.15
    n_fft: int = 512                 # analysis window (samples) ending at each frame's end
    fmin_hz: float = 150.0
    fmax_hz: float = 5000.0
    n_bands: int = 40                # mel-spaced bands between fmin_hz and fmax_hz
    decay_db_per_frame: float = 0.7  # reverberant tail of the leak (T60 ~0.85 s)
    history_s: float = 8.0
    refresh_frames: int = 300
    startup_frames: int = 500        # the first 5 s: refresh every startup_refresh_frames
    startup_refresh_frames: int = 50
    first_refresh_frames: int = 10   # ... and every 10 frames while a direction has no path yet
    first_refresh_until: int = 100   # (and its source has been heard for fewer frames than this)
    young_frames: int = 300          # a path learnt from fewer source frames than this: startup_refresh_frames
    min_frames: int = 25             # raw-active frames of the source before a path is learnt
    absent_frames: int = 300         # source frames without a path found: no leak that way
    gain_percentile: float = 30.0
    delay_percentile: float = 75.0
    min_delay_corr: float = 0.5
    min_loop_loss_db: float = 6.0
    margin_db: float = 6.0
    min_own: float = 0.2
    own_frames: int = 8              # causal mean of the own-speech share over this many frames
    weak_own: float = 0.5            # and each speech frame has at least min_own * weak_own of its own
    retro_frames: int = 70           # at each path update, the raw-active frames this far back are judged again
    change_frames: int = 200         # a path change is looked for in this many latest frames ...
    change_db: float = 4.0           # ... as a leak this much louder, or at another delay
    change_corr: float = 0.1         # that correlates this much better than the learnt one
    # same voice: a leak carries its source's harmonics (the same F0), own speech another voice's
    voice_fmax_hz: float = 1100.0    # harmonics resolved by the n_fft window: bins fmin_hz .. this
    voice_smooth_bins: int = 5       # fine structure = bin level less its moving mean over this many bins
    same_voice_corr: float = 0.65    # causal mean correlation (voice_frames) from which A carries B's voice
    voice_frames: int = 8            # (same_voice_corr >= 1 turns the test off)
    voice_quiet_source: bool = True  # the source's frames below its own VAD count as its voice too
    # the leak's onset: the first frames of a burst that begins the learnt path's delay after the source's
    leak_onset_frames: int = 8       # (the same-voice mean is still building up there; 0 turns this off)
    leak_onset_quiet_frames: int = 5     # the burst follows this many silent frames of its channel
    source_onset_quiet_frames: int = 10  # the source's burst this many of the source's
    leak_onset_slack_frames: int = 3     # onsets within the delay +- this many frames
    # a frame without spectra (neither channel raw-active within max_delay_s: nothing of the source can be
    # arriving) counts with this own share in the causal means (was 0: the first frames of every burst after
    # a silence were cross-talk, the other voice silent or not)
    silent_own: float = 1.0
    # the same-voice test also where a direction has no path (not yet learnt, or dropped: a leak buried in
    # the receiving channel's noise no longer correlates) unless it was found absent; the own share is 1 there
    voice_without_path: bool = True
    # ... but never where the frame's power stands this far above the leak the learnt path predicts (dB,
    # total power over the FFT bins): a leak's residue is a few dB, a voice this much louder than any leak
    # is the channel's own (double talk of two voices at close pitches, leak both ways: each channel's
    # harmonics then also match the other's, which carries them back); inf turns this off (ninth wave)
    voice_max_excess_db: float = 10.0


class CrossTalk:
    """Per-frame cross-talk decision for two channels; ``push`` -> two bool arrays.

    ``push(frames, active)``: ``frames`` two (n, hop_length) float arrays,
    ``active`` two (n,) bool arrays (raw voice activity). Returns two (n,)
    bool arrays: True where a raw-active frame is the other channel's leak.
    """

    latency_s = 0.0

    def __init__(self, settings: CrossTalkSettings = CrossTalkSettings(), *, grid: Grid = GRID):
        self.s = settings
        self.grid = grid
        hop = grid.hop_length
        self.max_delay = int(np.ceil(settings.max_delay_s / grid.hop_s - 1e-9))
        self.history = max(grid.s_to_frames(settings.history_s), settings.refresh_frames + self.max_delay + 1)
        k = np.arange(settings.n_fft // 2 + 1) * grid.sample_rate / settings.n_fft
        sel = np.flatnonzero((k >= settings.fmin_hz) & (k < settings.fmax_hz))
        self._lo, self._hi = int(sel[0]), int(sel[-1]) + 1
        mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
        edges_mel = np.linspace(mel(settings.fmin_hz), mel(settings.fmax_hz), settings.n_bands + 1)
        edges_hz = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
        edges = np.unique(np.searchsorted(k, edges_hz))
        self._edges = edges  # band j = FFT bins [edges[j], edges[j+1])
        self._lo, self._hi = int(edges[0]), int(edges[-1])
        self.n_bins = len(edges) - 1  # number of bands actually used
        self._bin_band = np.repeat(np.arange(self.n_bins), np.diff(edges))  # band of each FFT bin
        self._window = np.hanning(settings.n_fft).astype(np.float64)
        self._n_voice = max(int(np.searchsorted(k, settings.voice_fmax_hz)) - self._lo, settings.voice_smooth_bins + 2)
        self._keep = settings.n_fft - hop  # samples of history needed before a frame
        self._decay = settings.decay_db_per_frame
        self.reset()

    def reset(self) -> None:
        H, F = self.history, self.n_bins
        self._n = 0
        self._tail = [np.zeros(self._keep), np.zeros(self._keep)]
        self._last_active = -10**9  # absolute index of the last frame where either channel was raw-active
        self._seen = [0, 0]
        self._seen_snap = (0, 0)  # _seen at the last update: what the update schedule reads
        nb = self._hi - self._lo
        self._hold = [np.full(nb, -1e9), np.full(nb, -1e9)]  # running max of level + decay * frame index
        # ring buffers over absolute frame index mod H
        self._L = [np.full((H, F), -120.0, dtype=np.float32) for _ in range(2)]
        self._Lh = [np.full((H, nb), -120.0, dtype=np.float32) for _ in range(2)]  # held bins, widened
        self._P = [np.full((H, nb), -120.0, dtype=np.float32) for _ in range(2)]  # bin levels
        self._act = [np.zeros(H, dtype=bool) for _ in range(2)]
        self._need = np.zeros(H, dtype=bool)  # frames whose spectra were computed (activity within max_delay)
        self._bl = [np.zeros(H, dtype=bool) for _ in range(2)]  # frames judged the other's leak
        self._bl0 = [np.zeros(H, dtype=bool) for _ in range(2)]  # ... by the leak-level test alone
        # harmonic fine structure, computed when the same-voice test first reads a frame (``_fine_of``)
        # from the bin levels kept at full precision (``_Pv``); ``_fine_at``: the frame each row holds
        self._fine = [np.zeros((H, self._n_voice), dtype=np.float32) for _ in range(2)]
        self._Pv = [np.full((H, self._n_voice), -120.0) for _ in range(2)]
        self._fine_at = [np.full(H, -1, dtype=np.int64) for _ in range(2)]
        self._voice_tail = [np.zeros(max(self.s.voice_frames - 1, 0)) for _ in range(2)]
        self._own2_tail = [np.ones(max(self.s.own_frames - 1, 0)) for _ in range(2)]
        self._own_tail = [np.ones(max(self.s.own_frames - 1, 0)) for _ in range(2)]
        # path into channel a (from the other channel): delay (frames), gain (dB per bin) or None
        self.delay = [0, 0]
        self.gain_db: list[np.ndarray | None] = [None, None]
        self.delay_corr = [0.0, 0.0]
        self.learnt = [np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)]
        # per direction: the source was heard long enough (absent_frames) and no path was found
        self.absent = [False, False]
        self._onset_at = [-10**9, -10**9]  # per channel: its latest burst onset ...
        self._onset_flag = [False, False]  # ... and whether it followed the source's onset by the path's delay
        self._since = [0, 0]  # per direction: learn only from frames from this index on (a path change)
        # per channel, set by each push: (frame index of a path update, absolute indices of the raw-active
        # frames before it that the new path shows to be leak although they were passed as speech)
        self.retro: list[list[tuple[int, np.ndarray]]] = [[], []]

    # -- features ---------------------------------------------------------
    def _spectra(self, c: int, frames: np.ndarray, need: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Band levels (n, n_bands) and bin levels (n, bins), dB, of the n_fft
        window ending at each frame's end; only for the frames in ``need``
        (activity nearby), the others at the -120 dB floor."""
        hop = self.grid.hop_length
        x = np.concatenate([self._tail[c], frames.reshape(-1).astype(np.float64)])
        self._tail[c] = x[-self._keep:]
        n = len(need)
        bands = np.full((n, self.n_bins), -120.0)
        bins = np.full((n, self._hi - self._lo), -120.0)
        rows = np.flatnonzero(need)
        if len(rows):
            # row i: the n_fft samples ending at frame i's end (len(x) = n_fft - hop + n * hop); a strided
            # view, its rows gathered a block at a time when some frames are skipped
            win = strided_rows(x, n_rows=n, width=self.s.n_fft, step=hop)
            some = len(rows) < n
            lev = np.empty((len(rows), self.n_bins + self._hi - self._lo))
            e = self._edges - self._lo
            # a few dozen rows per FFT call: its working set stays in the cache (per row, 1000 rows at once
            # cost 3 x what 32 do); the same values for any grouping of the rows
            for r0 in range(0, len(rows), _FFT_ROWS):
                spec = rfft((win[rows[r0:r0 + _FFT_ROWS]] if some else win[r0:r0 + _FFT_ROWS]) * self._window, axis=1)
                out = lev[r0:r0 + _FFT_ROWS]
                if KERNELS is not None:  # the same power and band sums in one compiled loop (engine/ckernels.py)
                    KERNELS.band_power(spec, self._lo, self._edges, _EPS, out)
                    continue
                spec = spec[:, self._lo:self._hi]
                p = spec.real ** 2 + spec.imag ** 2
                cs = np.empty((len(p), p.shape[1] + 1))
                cs[:, 0] = 0.0
                np.cumsum(p, axis=1, out=cs[:, 1:])
                out[:, :self.n_bins] = cs[:, e[1:]] - cs[:, e[:-1]] + _EPS
                out[:, self.n_bins:] = p + _EPS
            lev = 10.0 * np.log10(lev)
            bands[rows], bins[rows] = lev[:, :self.n_bins], lev[:, self.n_bins:]
        return bands, bins

    def _fine_structure(self, P: np.ndarray) -> np.ndarray:
        """The harmonic fine structure of bin levels (n, bins): the levels up to
        ``voice_fmax_hz`` less their moving mean over ``voice_smooth_bins`` (the
        envelope), normalised to zero mean and unit length per frame; a frame's
        F0 shows as the spacing of its peaks."""
        x = P[:, :self._n_voice].astype(np.float64)
        y = x - moving_mean(x, self.s.voice_smooth_bins, axis=1)
        y -= y.mean(axis=1, keepdims=True)
        return y / np.maximum(np.sqrt((y * y).sum(axis=1, keepdims=True)), 1e-9)

    def _same_voice(self, a: int, t: np.ndarray) -> np.ndarray:
        """Per absolute frame ``t`` of channel ``a``: how well its harmonic fine
        structure matches the source's own speech 0 .. ``max_delay`` frames earlier
        (the best lag; a source frame that the leak-level test judged a leak itself,
        or that is not raw-active, counts 0: B carrying A's own voice back is no
        match). A leak carries its source's F0, so it matches at the path's delay
        (whatever the path learnt so far: a path that just changed included);
        another voice does not (double talk: A's own voice dominates A's harmonics)."""
        b, H, K = 1 - a, self.history, self.max_delay
        if not len(t):
            return np.zeros(0)
        # t is contiguous: the source frames t[0] - K .. t[-1], zeroed where not the source's own speech
        src = np.arange(t[0] - K, t[-1] + 1)
        ok = ~self._bl0[b][src % H] & (src >= 0)
        if not self.s.voice_quiet_source:
            ok &= self._act[b][src % H]
        fb = self._fine_of(b, np.maximum(src, 0)) * ok[:, None]
        win = np.lib.stride_tricks.sliding_window_view(fb, K + 1, axis=0)  # row i: frames t[i] - K .. t[i]
        r = np.einsum("if,ifw->iw", self._fine_of(a, t), win)
        return np.maximum(r.max(axis=1), 0.0)

    def _fine_of(self, c: int, t: np.ndarray) -> np.ndarray:
        """The fine structure (``_fine_structure``) of channel ``c``'s absolute frames ``t`` (within
        the history), computed once per frame on first use: only the same-voice test reads it, and
        not where both directions are settled without it (a path found absent)."""
        i = t % self.history
        todo = self._fine_at[c][i] != t
        if todo.any():
            j = np.unique(i[todo])
            self._fine[c][j] = self._fine_structure(self._Pv[c][j])
            self._fine_at[c][j] = t[todo][np.unique(i[todo], return_index=True)[1]]
        return self._fine[c][i]

    def _holds_own(self, own: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """Speech of the channel's own: its share above the predicted leak holds
        ``min_own`` over the last ``own_frames`` frames (``mean``; a leak frame that
        happens to stand out alone is not speech), and the frame itself has more
        than next to nothing of its own (a leak even right after this speaker stopped)."""
        return (mean >= self.s.min_own) & (own >= self.s.min_own * self.s.weak_own)

    def _without_same_voice(self, a: int, t: np.ndarray, own: np.ndarray,
                            tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``own`` with 0 where frame ``t`` of channel ``a`` carries the source's voice
        (causal ``voice_frames`` mean of ``_same_voice`` >= ``same_voice_corr``: a frame
        carrying B's voice has none of its own); and the new tail of that mean."""
        same, tail = _causal_mean(self._same_voice(a, t), tail, self.s.voice_frames)
        hit = same >= self.s.same_voice_corr
        if hit.any() and self.gain_db[a] is not None and np.isfinite(self.s.voice_max_excess_db):
            i = np.flatnonzero(hit)
            hit[i] = self._excess_db(a, t[i]) < self.s.voice_max_excess_db
        return np.where(hit, 0.0, own), tail

    def _excess_db(self, a: int, t: np.ndarray) -> np.ndarray:
        """Per absolute frame ``t`` of channel ``a`` (within the history): its power over
        the 150-5000 Hz bins less the power of the leak that the learnt path predicts
        there (dB; the path must be learnt)."""
        H, b = self.history, 1 - a
        pred = self.gain_db[a][self._bin_band] + self._Lh[b][(t - self.delay[a]) % H]
        La = self._P[a][t % H].astype(np.float64)
        return (np.log(np.sum(np.exp(La * _DB_TO_LN), axis=1)) -
                np.log(np.sum(np.exp(pred * _DB_TO_LN), axis=1) + _EPS)) / _DB_TO_LN

    def _held(self, c: int, L: np.ndarray, n0: int, *, wide: bool = False) -> np.ndarray:
        """Decaying peak hold, vectorised: ``h(t) = max_s<=t (L(s) - decay (t - s))``
        is ``M(t) - decay t`` with ``M`` the running maximum of ``L(s) + decay s``
        over absolute frame indices (the same values whatever the block size).
        ``wide``: each inner bin then takes the largest of itself and its two
        neighbours (a leak's harmonics move a little within 10 ms and with the room)."""
        if not len(L):
            return L.copy()
        if KERNELS is not None:  # the same in one compiled loop (engine/ckernels.py)
            out, hold = np.empty(L.shape), self._hold[c].copy()
            run = KERNELS.held_peak_wide if wide else KERNELS.held_peak
            run(np.ascontiguousarray(L, np.float64), hold, n0, self._decay, out)
            self._hold[c] = hold
            return out
        t = (n0 + np.arange(len(L), dtype=np.float64))[:, None] * self._decay
        m = np.maximum.accumulate(np.concatenate([self._hold[c][None, :], L + t]), axis=0)[1:]
        self._hold[c] = m[-1]
        h = m - t
        if wide:
            h[:, 1:-1] = np.maximum(np.maximum(h[:, :-2], h[:, 2:]), h[:, 1:-1])
        return h

    # -- streaming ----------------------------------------------------------
    def push(self, frames: list[np.ndarray], active: list[np.ndarray]) -> list[np.ndarray]:
        n = len(active[0])
        out = [np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)]
        # per frame: path into the channel known, or searched for long enough and not there
        self.learnt = [np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)]
        self.retro = [[], []]
        pos = 0
        R = self.s.refresh_frames
        feats = self._features(frames, active)
        while pos < n:
            step, steady = self._refresh_step()
            take = min(n - pos, step - self._n % step)
            sl = slice(pos, pos + take)
            for a in (0, 1):
                self.learnt[a][sl] = self.gain_db[a] is not None or self.absent[a]
            res = self._chunk(sl, feats, [a[sl] for a in active])
            out[0][sl], out[1][sl] = res
            pos += take
            if self._n % step == 0:
                self._seen_snap = tuple(self._seen)
                if not steady or self._n % R == 0:
                    self._calibrate()
                    self._rejudge()
                elif self._check_change():
                    self._rejudge()
        return out

    def _refresh_step(self) -> tuple[int, bool]:
        """Frames between path updates: ``first_refresh_frames`` in the first
        seconds while a direction is still unsettled (neither learnt nor found
        absent) and its source has been heard for fewer than
        ``first_refresh_until`` frames, then ``startup_refresh_frames`` up to ``startup_frames``, then
        ``refresh_frames`` (but every ``startup_refresh_frames`` while a learnt path's source has been
        heard for fewer than ``young_frames``), with a path-change check (``_check_change``) every
        ``startup_refresh_frames`` between (returned: the step, and whether past start-up); the
        state it reads changes only at updates, so the update frames are the same for any block size."""
        seen = self._seen_snap
        young = any(self.gain_db[a] is not None and seen[1 - a] < self.s.young_frames for a in (0, 1))
        if self._n >= self.s.startup_frames and not young:
            return self.s.startup_refresh_frames, True  # a full update every refresh_frames, a change check between
        if any(self.gain_db[a] is None and not self.absent[a] and seen[1 - a] < self.s.first_refresh_until
               for a in (0, 1)):
            return self.s.first_refresh_frames, False
        return self.s.startup_refresh_frames, False

    def _features(self, frames, active):
        """The per-frame features of a push, which no path decision changes: whether spectra are
        needed (either channel raw-active within ``max_delay``: the leak of its last frames is still
        arriving; the other frames are neither decided nor learnt from), and per channel the band
        levels, bin levels and held bin levels (a neighbouring bin too: the leak's harmonics move a
        little within 10 ms and with the room). Computed once per push; ``_chunk`` stores its part."""
        n = len(active[0])
        t = self._n + np.arange(n)
        last = np.maximum.accumulate(np.where(active[0] | active[1], t, self._last_active))
        if n:
            self._last_active = int(last[-1])
        need = t - last <= self.max_delay
        out = []
        for c in (0, 1):
            Lc, Pc = self._spectra(c, frames[c], need)
            h = self._held(c, Pc, self._n, wide=True)
            out.append((Lc, Pc, h))
        return need, out

    def _chunk(self, sl: slice, feats, active):
        need_all, per_channel = feats
        need = need_all[sl]
        n = len(active[0])
        H = self.history
        idx = (self._n + np.arange(n)) % H
        L = []
        for c in (0, 1):  # raw-active frames of each channel seen so far
            self._seen[c] += int(np.count_nonzero(active[c]))
        self._need[idx] = need
        for c in (0, 1):
            Lc, Pc, h = (x[sl] for x in per_channel[c])
            L.append(Pc)
            self._L[c][idx] = Lc
            self._Lh[c][idx] = h
            self._P[c][idx] = Pc
            self._Pv[c][idx] = Pc[:, :self._n_voice]
            self._act[c][idx] = active[c]
            self._bl[c][idx] = False
            self._bl0[c][idx] = False
        res = []
        owns = [None, None]
        for a in (0, 1):
            g = self.gain_db[a]
            b = 1 - a
            if g is None:
                res.append(np.zeros(n, dtype=bool))
                self._own_tail[a] = np.ones(max(self.s.own_frames - 1, 0))
                if self.s.voice_without_path and not self.absent[a]:
                    owns[a] = np.ones(n)  # no level test: only the same-voice test below
                    self._bl0[a][idx] = False
                    continue
                self._own2_tail[a] = np.ones(max(self.s.own_frames - 1, 0))
                self._voice_tail[a] = np.zeros(max(self.s.voice_frames - 1, 0))
                continue
            pred = g[self._bin_band] + self._Lh[b][(self._n + np.arange(n) - self.delay[a]) % H]
            La = L[a]
            pa = np.exp(La * _DB_TO_LN)  # 10 ** (La / 10), several times faster as exp
            own = np.sum(pa * (La > pred + self.s.margin_db), axis=1) / np.sum(pa, axis=1)
            own = np.where(need, own, self.s.silent_own)  # no spectra: no leak arriving
            mean, self._own_tail[a] = _causal_mean(own, self._own_tail[a], self.s.own_frames)
            lk = ~self._holds_own(own, mean)
            res.append(active[a] & lk)
            self._bl0[a][idx] = lk
            owns[a] = own
        # same voice: power above the predicted leak that carries the source's harmonics is the leak's
        # residue (a path learnt too low in some bands, a room tail longer than the peak hold), not A's
        t = self._n + np.arange(n)
        for a in (0, 1):
            if owns[a] is not None and self.s.same_voice_corr < 1.0:
                own, self._voice_tail[a] = self._without_same_voice(a, t, owns[a], self._voice_tail[a])
                mean, self._own2_tail[a] = _causal_mean(own, self._own2_tail[a], self.s.own_frames)
                res[a] |= active[a] & ~self._holds_own(own, mean)
            if self.s.leak_onset_frames > 0:
                res[a] |= self._leak_onset(a, t, active[a])
            self._bl[a][idx] = res[a]
        self._n += n
        return res

    def _leak_onset(self, a: int, t: np.ndarray, act: np.ndarray) -> np.ndarray:
        """Frames of channel ``a`` (absolute ``t``, raw activity ``act``) in the first
        ``leak_onset_frames`` of a burst (after ``leak_onset_quiet_frames`` silent frames) that
        begins the path's delay (+- ``leak_onset_slack_frames``) after a burst of the source
        (after ``source_onset_quiet_frames`` silent frames): the leak's first frames, which the
        level test may pass (a path just changed, residue) and the same-voice test's causal mean
        has not yet caught. Only where the path is learnt; A's own speech that starts just then
        loses these frames (80 ms). Per-frame state: the same for any block size::

            B (source)  ____||||||||||||||____
            A (leak)    ______||||||||||||||__   (A's onset = B's onset + delay)
            cross-talk  ______xxxxxxxx________   (then the level and same-voice tests)
        """
        b, H, s = 1 - a, self.history, self.s
        n = len(t)
        out = np.zeros(n, dtype=bool)
        if not n or self.gain_db[a] is None:  # no path: no delay to follow (a burst begun now is not flagged)
            self._onset_flag[a] = False
            return out
        qa, qb, w = s.leak_onset_quiet_frames, s.source_onset_quiet_frames, s.leak_onset_slack_frames
        # per frame: activity of a over the qa frames before it; source onsets at t - d - w .. t - d + w
        prev_a = self._act[a][(t[:, None] - np.arange(1, qa + 1)[None, :]) % H]
        on_a = act & ~prev_a.any(axis=1) & (t >= qa)
        flag = np.zeros(n, dtype=bool)
        if on_a.any():
            d = self.delay[a]
            for i in np.flatnonzero(on_a):
                u = t[i] - d + np.arange(-w, w + 1)
                u = u[(u >= qb) & (u <= t[i])]
                if not len(u):
                    continue
                ub = self._act[b][u % H] & ~self._act[b][(u[:, None] - np.arange(1, qb + 1)[None, :]) % H].any(axis=1)
                flag[i] = bool(ub.any())
        ev = np.maximum.accumulate(np.where(on_a, np.arange(n), -1))
        at = np.where(ev >= 0, t[np.maximum(ev, 0)], self._onset_at[a])
        fl = np.where(ev >= 0, flag[np.maximum(ev, 0)], self._onset_flag[a])
        self._onset_at[a], self._onset_flag[a] = int(at[-1]), bool(fl[-1])
        return act & fl & (t - at < s.leak_onset_frames)

    def _rejudge(self) -> None:
        """After a path update at frame ``T = self._n``: the raw-active frames of
        the last ``retro_frames`` that were passed as speech are judged again
        through the new path (the first words of the other voice arrive before
        any path is known, or while an old one no longer holds); those now
        found to be leak go to ``self.retro`` so that a later stage still
        holding them undecided (``SpeechSmoother``) drops them. The update
        frames are fixed, so this is the same for any block size."""
        T, H, R, W = self._n, self.history, self.s.retro_frames, self.s.own_frames
        lo = max(0, T - R)
        if R <= 0 or T - lo < 1:
            return
        t = np.arange(lo, T)
        idx = t % H
        for a in (0, 1):
            g = self.gain_db[a]
            cand = self._act[a][idx] & ~self._bl[a][idx]
            if g is None or not cand.any():
                continue
            pred = g[self._bin_band] + self._Lh[1 - a][(t - self.delay[a]) % H]
            La = self._P[a][idx].astype(np.float64)
            pa = 10.0 ** (La / 10.0)
            own = np.sum(pa * (La > pred + self.s.margin_db), axis=1) / np.sum(pa, axis=1)
            own = np.where(self._need[idx], own, self.s.silent_own)
            speaking = self._holds_own(own, _causal_mean(own, np.ones(W - 1), W)[0])
            if self.s.same_voice_corr < 1.0:
                own = self._without_same_voice(a, t, own, np.zeros(max(self.s.voice_frames - 1, 0)))[0]
                speaking &= self._holds_own(own, _causal_mean(own, np.ones(W - 1), W)[0])
            leak = cand & ~speaking
            if leak.any():
                self._bl[a][idx[leak]] = True
                self.retro[a].append((T, t[leak]))

    # -- calibration ------------------------------------------------------------
    def _ordered(self):
        """History arrays in time order (oldest first), m frames."""
        m = min(self._n, self.history)
        idx = (self._n - m + np.arange(m)) % self.history
        # a source frame that is itself the other's leak says nothing about this path
        return m, [L[idx] for L in self._L], [A[idx] & ~B[idx] for A, B in zip(self._act, self._bl)]

    def _estimate(self, a: int, L: list[np.ndarray], actb: np.ndarray):
        """Path into ``a`` from the history ``L`` (time order, m frames) over the frames where
        the source was active (``actb``): (delay, gain per band, correlation), or "few" (too
        little of the source), or "none" (plenty of it and no leak follows it)."""
        K = self.max_delay
        b = 1 - a
        m = len(actb)
        t = np.arange(K, m)
        best, best_k = -2.0, 0
        self._score = np.full(K + 1, -2.0)  # per delay: the correlation that chose the best (for _check_change)
        if actb.sum() >= self.s.min_frames:
            # spectral shapes per frame, after removing each band's mean over the source's
            # active frames (the path's fixed colouring), normalised to unit length
            z = []
            for c in (a, b):
                x = L[c] - L[c][actb].mean(axis=0)
                x = x - x.mean(axis=1, keepdims=True)
                z.append(x / np.maximum(np.sqrt((x * x).sum(axis=1, keepdims=True)), 1e-9))
            # rho[k, i]: shape correlation of a's frame t[i] with b's frame t[i] - k
            lags = np.arange(K + 1)
            valid = actb[t[None, :] - lags[:, None]]
            # all lags at once: window i of z[1] holds frames t[i] - K .. t[i]
            win = np.lib.stride_tricks.sliding_window_view(z[1], K + 1, axis=0)
            rho = np.einsum("if,ifw->wi", z[0][K:], win)[::-1].copy()
            rho[~valid] = -2.0  # below any correlation: sorted first, skipped by the rank
            rho.sort(axis=1)
            n_valid = valid.sum(axis=1)
            rank = (len(t) - n_valid) + np.floor(self.s.delay_percentile / 100.0 * (n_valid - 1)).astype(int)
            # the best-matching frames (leak alone) decide; double talk only dilutes the rest
            score = np.where(n_valid >= self.s.min_frames, rho[lags, np.clip(rank, 0, len(t) - 1)], -2.0)
            self._score = score
            if score.max() > -2.0:
                best_k = int(np.argmax(score))
                best = float(score[best_k])
        if best == -2.0:
            return "few"
        if best < self.s.min_delay_corr:
            return "none"
        v = actb[t - best_k]
        tv = t[v]
        src = L[b][tv - best_k]
        ratio = L[a][tv] - src
        weak = src < src.max(axis=1, keepdims=True) - 30.0
        ratio[weak] = np.inf
        g = np.percentile(ratio, self.s.gain_percentile, axis=0, method="lower")
        ok = np.isfinite(g)
        if ok.any() and not ok.all():
            # a band where the source was mostly too weak to measure takes its nearest measured
            # neighbours' gain (no path has a notch of hundreds of dB; the leak predicted there
            # stays low where the source is weak)
            j = np.arange(len(g))
            g = np.interp(j, j[ok], g[ok])
        g = np.where(np.isfinite(g), g, _UNKNOWN_DB)
        return best_k, g, best

    def _calibrate(self) -> None:
        m, L, act = self._ordered()
        K = self.max_delay
        if m <= K + self.s.min_frames:
            return
        found = []
        recent = self.s.refresh_frames
        start = self._n - m  # absolute index of the first history frame
        for a in (0, 1):
            b = 1 - a
            if self.gain_db[a] is not None and not act[b][-recent:].any():
                # the source was silent since the last update: nothing new to learn
                found.append((self.delay[a], self.gain_db[a], self.delay_corr[a]))
                continue
            # frames from before a detected path change say nothing about the new path
            actb = act[b] & (start + np.arange(m) >= self._since[a])
            est = self._estimate(a, L, actb)
            if est == "few":  # too little of the source yet: keep what was learnt
                g = self.gain_db[a]
                found.append(None if g is None else (self.delay[a], g, self.delay_corr[a]))
                continue
            if est == "none":
                # plenty of the source and no leak follows it: the start-up guard is no longer needed
                self.absent[a] = self.absent[a] or int(actb.sum()) >= self.s.absent_frames
                found.append(None)
                continue
            self.absent[a] = False
            found.append(est)
        self._settle(found)

    def _check_change(self) -> bool:
        """Between full updates (every ``startup_refresh_frames`` once past start-up): a learnt
        path whose leak now comes louder (median over bands ``change_db`` or more) or at
        another delay, estimated from the last ``change_frames`` alone, was changed (someone
        moved): take the new one, and learn only from frames since then."""
        m, L, act = self._ordered()
        S = min(m, self.s.change_frames + self.max_delay)
        if S <= self.max_delay + self.s.min_frames:
            return
        found = [None if self.gain_db[a] is None else (self.delay[a], self.gain_db[a], self.delay_corr[a])
                 for a in (0, 1)]
        changed = False
        for a in (0, 1):
            b = 1 - a
            if self.gain_db[a] is None or not act[b][-self.s.startup_refresh_frames:].any():
                continue
            est = self._estimate(a, [x[-S:] for x in L], act[b][-S:])
            if not isinstance(est, tuple):
                continue
            k, g, r = est
            known = (g > _UNKNOWN_DB) & (self.gain_db[a] > _UNKNOWN_DB)
            louder = known.any() and float(np.median(g[known] - self.gain_db[a][known])) >= self.s.change_db
            # another delay fits the latest frames clearly better than the learnt one
            moved = abs(k - self.delay[a]) > 2 and r >= self._score[self.delay[a]] + self.s.change_corr
            if louder or moved:
                found[a] = est
                self._since[a] = self._n - S + self.max_delay
                changed = True
        if changed:
            self._settle(found)
        return changed

    def _settle(self, found) -> None:
        """Loop-loss check across both directions, then store the paths."""
        if found[0] is not None and found[1] is not None:
            loop = float(np.median(found[0][1] + found[1][1]))
            excess = loop + self.s.min_loop_loss_db
            if excess > 0:
                w = 0 if found[0][2] < found[1][2] else 1
                k, g, r = found[w]
                found[w] = (k, g - excess, r)
        for a in (0, 1):
            if found[a] is None:
                self.gain_db[a] = None
                self.delay_corr[a] = 0.0
            else:
                self.delay[a], self.gain_db[a], self.delay_corr[a] = found[a][0], found[a][1], found[a][2]


class OnsetGuard:
    """Cross-talk before a direction's leak path is known: a burst on channel A
    that begins just after a burst on channel B (A's onset 0 .. ``max_lag``
    frames after B's, both after ``quiet_frames`` of silence) and is quieter
    than B at its start is B's voice arriving through the path (the leak
    follows its source's onset by the path's delay); its frames are cross-talk
    until A has been silent ``quiet_frames`` again or B for longer than the
    lag (a leak ends with its source: A going on is A's own speech). Meant only for the frames
    of a direction whose path is neither learnt nor found absent (the first
    words of the other voice arrive before ``CrossTalk`` can learn a path;
    the waveform rule of ``vad.StartupBleed`` misses them in a reverberant
    room). Real speech of A that starts within ``max_lag`` of B's start, while
    quieter, is lost until the path is learnt (a fraction of a second).

    ``push(active, level_db, eligible)``: two (n,) bool arrays of raw
    activity, two (n,) level arrays (dBFS), two (n,) bool arrays (frames the
    guard may judge). Returns two (n,) bool arrays. Causal, no latency; the
    state is per frame, so chunked input gives what whole input gives.
    """

    def __init__(self, *, max_lag: int, quiet_frames: int = 30, slack: int = 10):
        self.max_lag = max_lag
        self.slack = slack
        self.quiet_frames = quiet_frames
        self.reset()

    def reset(self) -> None:
        K = self.max_lag
        self._n = 0
        self._last = [-10**9, -10**9]    # per channel: absolute index of its latest raw-active frame
        self._onset = [-10**9, -10**9]   # ... and of its latest burst onset
        self._lv = [np.full(K, -200.0), np.full(K, -200.0)]  # levels of the last K frames (-200 where inactive)
        self._suspect = [False, False]   # the current burst of the channel follows the other's onset

    def push(self, active: list[np.ndarray], level_db: list[np.ndarray],
             eligible: list[np.ndarray]) -> list[np.ndarray]:
        n = len(active[0])
        if n == 0:
            return [np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)]
        K = self.max_lag
        t = self._n + np.arange(n)
        onset, onset_at, quiet, peak = [], [], [], []
        for c in (0, 1):
            last = np.maximum.accumulate(np.where(active[c], t, self._last[c]))
            before = np.concatenate([[self._last[c]], last[:-1]])
            on = active[c] & (t - before - 1 >= self.quiet_frames)  # first frame after quiet_frames of silence
            onset.append(on)
            onset_at.append(np.maximum.accumulate(np.where(on, t, self._onset[c])))
            quiet.append(t - last)  # silent frames in a row up to each frame
            lv = np.concatenate([self._lv[c], np.where(active[c], level_db[c], -200.0)])
            peak.append(np.lib.stride_tricks.sliding_window_view(lv, K + 1).max(axis=1))  # last K+1 frames
            self._last[c], self._onset[c] = int(last[-1]), int(onset_at[c][-1])
            self._lv[c] = lv[len(lv) - K:]
        out = []
        for a in (0, 1):
            b = 1 - a
            lag = t - onset_at[b]
            start = onset[a]
            value = (lag >= 0) & (lag <= K + self.slack) & (level_db[a] < peak[b])
            # A silent again, or A goes on after B stopped (a leak ends with its source): A's own
            clear = ~start & ((quiet[a] >= self.quiet_frames) | (quiet[b] > K + self.slack))
            ev = np.maximum.accumulate(np.where(start | clear, np.arange(n), -1))
            sus = np.where(ev >= 0, (start & value)[np.maximum(ev, 0)], self._suspect[a])
            self._suspect[a] = bool(sus[-1])
            out.append(active[a] & eligible[a] & sus)
        self._n += n
        return out
