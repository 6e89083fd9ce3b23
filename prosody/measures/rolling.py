"""Streaming: the rolling-window stage the pipeline feeds (``RollingMeasures``)."""
from __future__ import annotations

import numpy as np

from ..timebase import GRID, Grid
from ..types import Event, Pause, Segment, Transition
from .baseline import Baseline, SpeakerBaseline
from .registry import MeasuresConfig
from .results import RollingWindow
from .slice import (PHONATION_BELOW_Q99_DB, PHONATION_MIN_PAUSE_S, Slice, enough_voiced, hold_start_s,
                    own_level_speech, phonation_under)
from .summary import first_holder, summarize


# the articulation rate's baseline is the speech before the window once there is this much of it; until then the
# running one (the window in it): a few seconds are a sentence or two (steady 160 wpm espeak: -6 % at 20 s)
RATE_BEFORE_MIN_SPEECH_S = 30.0
ROLLING_N_PERMUTATIONS = 100  # permutations of a rolling window's chance intervals (the session's: cfg.n_permutations)


# streaming: rolling windows emitted by the pipeline
class RollingMeasures:
    """Stage: the pipeline's final frames, segments, turn items and nuclei ->
    window summaries every ``window_step_s`` over the last ``window_s``.

    A window ending at ``t`` is emitted once every frame before ``t`` is final
    and every turn decision about segments starting before ``t`` is made
    (``decided_until_s``), so the windows are the same whatever the block
    sizes. A speech segment still open at ``t`` (``open_starts``; the turn
    tracker decides an open segment early where it can, ``TurnTracker._early``)
    is read as ending at ``t``: every measure of a window clips its segments to
    the window's end, so the window is the one it would be with the segment's
    end known. The baseline is the speaker's data so far (``running``) unless
    a profile is given; its articulation rate is that of the speech before the
    window (``_rate_before``) once there is ``RATE_BEFORE_MIN_SPEECH_S`` of it:
    with the window in it, a fast stretch raised its own baseline and hardly
    stood out (planted 160 -> 260 wpm: the pace cue in 1 window of 61; docs/live.md).
    """

    def __init__(self, speakers: tuple[str, ...], cfg: MeasuresConfig | None = None, *, grid: Grid = GRID,
                 profile: Baseline | None = None, n_permutations: int = ROLLING_N_PERMUTATIONS,
                 one_signal: bool = False):
        self.speakers = tuple(speakers)
        self.one_signal = one_signal  # two voices cut from one signal: their own levels (slice.own_level_speech)
        self.cfg = cfg or MeasuresConfig()
        self.grid = grid
        self.profile = profile
        self.n_permutations = n_permutations
        self.step_frames = grid.s_to_frames(self.cfg.window_step_s)
        self.keep_frames = grid.s_to_frames(self.cfg.lookback_s)
        self.reset()

    def reset(self) -> None:
        self._frames = {s: {} for s in self.speakers}     # buffered arrays, from frame self._f0
        self._f0 = 0
        self._n = 0
        self._segments: list[Segment] = []
        self._transitions: list[Transition] = []
        self._events: list[Event] = []
        self._pauses: list[Pause] = []
        self._nuclei: list[tuple[str, float]] = []
        self._next_end = self.step_frames
        self._open: dict[str, float] = {}   # speaker -> start (s) of their open speech segment
        self._first: Segment | None = None
        self._ipu_cache: dict = {}   # attunement's per-segment figures, shared by overlapping windows
        # running baseline: histograms of all speech frames so far, per speaker
        self._hist = {s: {k: np.zeros(len(e) + 1, dtype=np.int64) for k, e in _BASE_BINS.items()}
                      for s in self.speakers}
        self._base_upto = 0
        self._base_nuclei = {s: 0 for s in self.speakers}
        self._base_speech = {s: 0 for s in self.speakers}
        self._base_phon = {s: 0 for s in self.speakers}  # phonation frames (slice.phonation; _phonation_step)
        # each speaker's phonation frames decided so far (bool per frame from self._f0 up to self._phon_from)
        self._phon_mask = {s: np.zeros(0, bool) for s in self.speakers}
        self._phon_from = {s: 0 for s in self.speakers}
        # the articulation rate's baseline: the speaker's speech before the window's start
        self._rate_upto = 0
        self._rate_nuclei = {s: 0 for s in self.speakers}
        self._rate_speech = {s: 0 for s in self.speakers}
        self._rate_phon = {s: 0 for s in self.speakers}
        self._rate_voiced = {s: 0 for s in self.speakers}

    def push(self, frames, segments, turns, nuclei, *, decided_until_s: float, turn_taking: bool,
             final: bool = False, open_starts: dict[str, float] | None = None) -> list[RollingWindow]:
        for fb in frames:
            buf = self._frames[fb.speaker]
            for k in ("is_speech", "f0_hz", "rms_db", "hf500_db"):
                buf[k] = np.concatenate([buf[k], getattr(fb, k)]) if k in buf else getattr(fb, k).copy()
        if frames:
            self._n = frames[0].start_frame + len(frames[0])
        self._segments += segments
        self._open = dict(open_starts or {})
        self._nuclei += nuclei
        if turns is not None:
            self._transitions += turns.transitions
            self._events += turns.events
            self._pauses += turns.pauses
        out = []
        limit_frames = self._n if final else min(self._n, self.grid.s_to_frames(decided_until_s) if
                                                 np.isfinite(decided_until_s) else self._n)
        while self._next_end <= limit_frames:
            out.append(self._window(self._next_end, turn_taking))
            self._next_end += self.step_frames
        if final and self._n > self._next_end - self.step_frames:
            out.append(self._window(self._n, turn_taking))
            self._next_end = self._n + self.step_frames
        self._prune()
        return out

    def _rate_before(self, upto: int) -> dict[str, float | None]:
        """Each speaker's articulation rate (syl/s) over their speech before frame ``upto`` (a window's start),
        None under ``RATE_BEFORE_MIN_SPEECH_S`` of speech or too little of it voiced (as ``speaker_baseline``)."""
        lo, hi = self._rate_upto - self._f0, upto - self._f0
        t_prev, t_now = self.grid.frames_to_s(self._rate_upto), self.grid.frames_to_s(upto)
        if hi > lo:
            for s in self.speakers:
                fr = self._frames[s]
                if not fr:
                    continue
                sp = fr["is_speech"][lo:hi]
                self._rate_speech[s] += int(sp.sum())
                self._rate_phon[s] += int(self._phon_mask[s][lo:hi].sum())  # decided by _update_baseline
                self._rate_voiced[s] += int(np.isfinite(fr["f0_hz"][lo:hi][sp]).sum())
            for s, t in self._nuclei:
                if t_prev <= t < t_now:
                    self._rate_nuclei[s] += 1
            self._rate_upto = upto
        out = {}
        for s in self.speakers:
            speech_s = self._rate_speech[s] * self.grid.hop_s
            ok = speech_s >= RATE_BEFORE_MIN_SPEECH_S and enough_voiced(self._rate_voiced[s], self._rate_speech[s])
            phon_s = self._rate_phon[s] * self.grid.hop_s
            out[s] = self._rate_nuclei[s] / phon_s if ok and phon_s else None
        return out

    def _update_baseline(self, upto: int, rate_from: int) -> Baseline:
        if self.profile is not None:
            return self.profile
        lo, hi = self._base_upto - self._f0, upto - self._f0
        for s in self.speakers:
            fr = self._frames[s]
            if not fr:
                continue
            sp = fr["is_speech"][lo:hi]
            f0 = fr["f0_hz"][lo:hi][sp]
            f0 = f0[np.isfinite(f0)]
            h = self._hist[s]
            own = own_level_speech({k: {"is_speech": v["is_speech"][lo:hi]} for k, v in self._frames.items() if v},
                                   s, self.speakers, one_signal=self.one_signal)
            for key, vals in (("f0_st", 12 * np.log2(f0 / 100.0)), ("level_db", fr["rms_db"][lo:hi][own]),
                              ("hf500_db", fr["hf500_db"][lo:hi][sp])):
                h[key] += np.bincount(np.searchsorted(_BASE_BINS[key], vals), minlength=len(h[key]))
            self._base_speech[s] += int(sp.sum())
            self._base_phon[s] += self._phonation_step(s, upto)
        t_prev, t_now = self.grid.frames_to_s(self._base_upto), self.grid.frames_to_s(upto)
        for s, t in self._nuclei:
            if t_prev <= t < t_now:
                self._base_nuclei[s] += 1
        self._base_upto = upto
        rate = self._rate_before(rate_from)  # after the step: its frames' phonation is decided
        out = []
        for s in self.speakers:
            h = self._hist[s]
            # pitch and nuclei need voiced speech (slice.MIN_VOICED_SHARE)
            voiced_ok = enough_voiced(int(h["f0_st"].sum()), self._base_speech[s])
            f0_med, f0_sd = _hist_median_sd(h["f0_st"], _BASE_BINS["f0_st"]) if voiced_ok else (None, None)
            lv_med, lv_sd = _hist_median_sd(h["level_db"], _BASE_BINS["level_db"])
            hf_med, hf_sd = _hist_median_sd(h["hf500_db"], _BASE_BINS["hf500_db"])
            speech_s = self._base_speech[s] * self.grid.hop_s
            out.append((s, SpeakerBaseline(
                f0_median_hz=None if f0_med is None else float(100.0 * 2 ** (f0_med / 12)),
                f0_spread_st=f0_sd, level_median_db=lv_med, level_spread_db=lv_sd,
                hf500_median_db=hf_med, hf500_spread_db=hf_sd,
                articulation_rate_syl_s=rate[s] if rate[s] is not None else (
                    self._base_nuclei[s] / (self._base_phon[s] * self.grid.hop_s)
                    if speech_s >= 1.0 and self._base_phon[s] * self.grid.hop_s >= 0.5 and voiced_ok else None))))
        return Baseline("running", tuple(out))

    def _phonation_step(self, s: str, upto: int) -> int:
        """``s``'s phonation frames (``slice.phonation``) from ``self._phon_from[s]`` to frame ``upto``, decided
        as over the speech so far: quiet is under the 0.99 quantile of the voice's own-level speech so far (the
        running level histogram) - 25 dB, and a quiet stretch that crosses a step's edge is judged whole (a pause
        >= 0.3 s cut in two by the edge, or a quiet speech edge at it, was kept as phonation). Read step by step,
        each with its own quantile, the running baseline's articulation rate lay up to 23 % under the session's
        over the same speech and every window read faster than it (AMI tst00: +0.31; hostile sweep 24). Frames of
        a quiet stretch still open at ``upto`` (under 0.3 s so far) wait for the next step. Returns the count."""
        fr = self._frames[s]
        ctx = int(np.ceil(PHONATION_MIN_PAUSE_S / self.grid.hop_s)) + 1  # frames before: where a quiet run began
        a = self._phon_from[s]
        b0 = max(self._f0, a - ctx)
        i0, i1 = b0 - self._f0, upto - self._f0
        lv, sp = fr["rms_db"][i0:i1], np.asarray(fr["is_speech"][i0:i1], bool)
        q = _hist_quantile(self._hist[s]["level_db"], _BASE_BINS["level_db"], 0.99)
        if q is None:
            ph = sp.copy()
            cut = len(sp)
        else:
            thr = q - PHONATION_BELOW_Q99_DB
            ph = phonation_under(lv, sp, hop_s=self.grid.hop_s, quiet_below_db=thr)
            quiet = sp & ~(lv >= thr)
            k = len(quiet) - int(np.flatnonzero(~quiet)[-1]) - 1 if (~quiet).any() else len(quiet)
            cut = len(sp) - k if 0 < k < PHONATION_MIN_PAUSE_S / self.grid.hop_s - 1e-9 else len(sp)
        cut = max(cut, a - b0)
        got = ph[a - b0:cut]
        self._phon_mask[s] = np.concatenate([self._phon_mask[s], got])
        self._phon_from[s] = b0 + cut
        return int(got.sum())

    def _window(self, end_frame: int, turn_taking: bool) -> RollingWindow:
        start_frame = max(0, end_frame - self.grid.s_to_frames(self.cfg.window_s))
        base = self._update_baseline(end_frame, start_frame)
        look_frame = max(0, end_frame - self.keep_frames)
        i0, i1 = start_frame - self._f0, end_frame - self._f0
        end_s = self.grid.frames_to_s(end_frame)
        # open segments, up to the window's end (they run on past it: frames up to it are all speech)
        segments = self._segments + [Segment(spk, o, end_s) for spk, o in self._open.items() if o < end_s]
        if self._first is None and segments:
            self._first = first_holder(segments, self.speakers)
        # a pause counts where it ends (Slice.cut): it is known only when its speaker resumes, and the
        # windows wait for that (decided_until_s); by its start, a window could be emitted before it
        sl = Slice.cut(
            grid=self.grid, speakers=self.speakers, frame0=start_frame, frame1=end_frame,
            frames={s: {k: v[i0:i1] for k, v in self._frames[s].items()} for s in self.speakers},
            segments=segments, transitions=self._transitions, events=self._events, pauses=self._pauses,
            nuclei=self._nuclei, turn_taking=turn_taking, look_s=self.grid.frames_to_s(look_frame),
            ipu_cache=self._ipu_cache, one_signal=self.one_signal,
            segments_from_s=self._hold_start_s(end_s) if turn_taking else None,
        )
        w = summarize(sl, base, self.cfg, with_cues=True, n_permutations=self.n_permutations, first=self._first)
        return RollingWindow.from_summary(w)

    def _hold_start_s(self, end_s: float) -> float | None:
        """Where the floor hold going on at ``end_s`` began (the last transition before it, else the first
        holder's start), when the monologue cue is on: its segments are kept past the look-back, so that the
        cue sees a silence in a hold older than ``lookback_s`` (it read "monologue 200 s" for the 150 s since
        one)."""
        return hold_start_s(self._transitions, self._first, end_s) if self.cfg.cues.monologue else None

    def _prune(self) -> None:
        # keep frames still needed by the next window and by the running baseline (none with a profile: with
        # one, the baseline's marks stayed at 0 and every frame, nucleus and segment was kept all session)
        keep_from = max(0, self._next_end - self.keep_frames)
        if self.profile is None:
            ctx = int(np.ceil(PHONATION_MIN_PAUSE_S / self.grid.hop_s)) + 1  # _phonation_step's look back
            keep_from = max(0, min(self._base_upto, self._rate_upto, keep_from,
                                   *(self._phon_from[s] - ctx for s in self.speakers if self._frames[s])))
        cut = keep_from - self._f0
        if cut > 0:
            for s in self.speakers:
                self._frames[s] = {k: v[cut:] for k, v in self._frames[s].items()}
                self._phon_mask[s] = self._phon_mask[s][cut:]
            self._f0 = keep_from
        start_next = self._next_end - self.grid.s_to_frames(self.cfg.window_s)
        self._ipu_cache = {k: v for k, v in self._ipu_cache.items() if k[1] >= start_next}
        t = self.grid.frames_to_s(keep_from) - 1.0
        hold_s = self._hold_start_s(self.grid.frames_to_s(self._next_end))
        seg_from = t - self.cfg.lookback_s if hold_s is None else min(t - self.cfg.lookback_s, hold_s)
        self._segments = [s for s in self._segments if s.end_s > seg_from]
        self._nuclei = [x for x in self._nuclei if x[1] >= t]
        self._events = [e for e in self._events if e.end_s >= t]
        self._pauses = [p for p in self._pauses if p.end_s >= t]
        # transitions are few (a few per minute): keep them all for floor holders and answer runs


_BASE_BINS = {
    "f0_st": np.arange(-40.0, 40.0, 0.05),      # semitones re 100 Hz
    "level_db": np.arange(-120.0, 10.0, 0.1),
    "hf500_db": np.arange(-60.0, 60.0, 0.1),
}


def _hist_quantile(hist: np.ndarray, edges: np.ndarray, q: float) -> float | None:
    """The ``q`` quantile from a histogram over ``edges`` (bin k holds values in [edges[k-1], edges[k])): the
    centre of the bin it falls in; None when empty."""
    n = int(hist.sum())
    if not n:
        return None
    step = edges[1] - edges[0]
    centres = np.concatenate([[edges[0] - step / 2], edges + step / 2])
    return float(centres[min(int(np.searchsorted(np.cumsum(hist), q * n)), len(centres) - 1)])


def _hist_median_sd(hist: np.ndarray, edges: np.ndarray) -> tuple[float | None, float | None]:
    """Median and robust SD (1.4826 x MAD) from a histogram over ``edges``
    (bin k holds values in [edges[k-1], edges[k]))."""
    n = int(hist.sum())
    if n < 10:
        return None, None
    step = edges[1] - edges[0]
    centres = np.concatenate([[edges[0] - step / 2], edges + step / 2])
    cdf = np.cumsum(hist)
    med = float(centres[int(np.searchsorted(cdf, n / 2))])
    dist = np.abs(centres - med)
    order = np.argsort(dist, kind="stable")
    cdf_d = np.cumsum(hist[order])
    mad = float(dist[order][int(np.searchsorted(cdf_d, n / 2))])
    return med, max(1.4826 * mad, 1e-3)
