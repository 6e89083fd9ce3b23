"""Streaming: the rolling-window stage the pipeline feeds (``RollingMeasures``)."""
from __future__ import annotations

import numpy as np

from ..timebase import GRID, Grid
from ..types import Event, Pause, Segment, Transition
from .baseline import Baseline, SpeakerBaseline
from .registry import MeasuresConfig
from .results import RollingWindow
from .slice import (PHONATION_BELOW_Q99_DB, PHONATION_MIN_PAUSE_S, Slice, enough_voiced, hold_start_s,
                    own_level_speech, phonation_under, rate_time_ok)
from .summary import first_holder, summarize


# a rolling window's baseline (pitch, level, HF500, articulation rate) is the speech before the window once there
# is this much of it; until then the running one (the window in it): a few seconds are a sentence or two (steady
# 160 wpm espeak: the rate -6 % at 20 s)
BEFORE_MIN_SPEECH_S = 30.0
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
    end known. The baseline is the speaker's speech before the window's start
    (``_before``) once there is ``BEFORE_MIN_SPEECH_S`` of it, until then their
    speech up to its end (``_running``), unless a profile is given: with the
    window in it, a change raised its own baseline and was under-read (planted
    160 -> 260 wpm: the pace cue in 1 window of 61; +6 dB read +4.4..+5.1 dB,
    +3 st +2.1..+2.5 st; docs/live.md).
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
        # the running baseline: the speakers' speech up to the last window's end, and before its start
        self._running = _Tally(self.speakers, self.grid, self.one_signal)
        self._before = _Tally(self.speakers, self.grid, self.one_signal)

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

    def _update_baseline(self, upto: int, before_from: int) -> Baseline:
        """The running baseline at a window ending at frame ``upto`` and starting at ``before_from``: each
        speaker's pitch, level, HF500 and articulation rate over their speech before the window's start once
        there is ``BEFORE_MIN_SPEECH_S`` of it (each figure that speech has enough for), else over their speech
        up to the window's end (the window in it)."""
        if self.profile is not None:
            return self.profile
        self._running.add(self, upto)
        self._before.add(self, before_from)
        out = []
        for s in self.speakers:
            run = self._running.baseline(s)
            if self._before.speech_s(s) < BEFORE_MIN_SPEECH_S:
                out.append((s, run))
                continue
            bef = self._before.baseline(s)
            pick = {}
            for pair in (("f0_median_hz", "f0_spread_st"), ("level_median_db", "level_spread_db"),
                         ("hf500_median_db", "hf500_spread_db"), ("articulation_rate_syl_s",)):
                src = bef if getattr(bef, pair[0]) is not None else run
                pick.update({k: getattr(src, k) for k in pair})
            out.append((s, SpeakerBaseline(**pick)))
        return Baseline("running", tuple(out))

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
            keep_from = max(0, min(self._running.keep_from(self), self._before.keep_from(self), keep_from))
        cut = keep_from - self._f0
        if cut > 0:
            for s in self.speakers:
                self._frames[s] = {k: v[cut:] for k, v in self._frames[s].items()}
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


class _Tally:
    """The speakers' speech up to a frame (``upto``, moved on by ``add``), as a baseline reads it: histograms of
    each speaker's pitch (semitones re 100 Hz, voiced speech), level (own-level speech, ``own_level_speech``) and
    HF500 (speech), and their speech frames, phonation frames (``phonation``, as over the speech taken in so far:
    ``_phonation``) and nuclei. ``RollingMeasures`` keeps two: up to each window's end and up to its start."""

    def __init__(self, speakers: tuple[str, ...], grid: Grid, one_signal: bool):
        self.speakers, self.grid, self.one_signal = speakers, grid, one_signal
        self.upto = 0
        self.hist = {s: {k: np.zeros(len(e) + 1, dtype=np.int64) for k, e in _BASE_BINS.items()} for s in speakers}
        self.speech = {s: 0 for s in speakers}
        self.phon = {s: 0 for s in speakers}
        self.phon_from = {s: 0 for s in speakers}  # phonation decided up to this frame (a quiet stretch may wait)
        self.nuclei = {s: 0 for s in speakers}

    def add(self, stage: "RollingMeasures", upto: int) -> None:
        """Take in ``stage``'s frames and nuclei from ``self.upto`` to frame ``upto``."""
        lo, hi = self.upto - stage._f0, upto - stage._f0
        if hi <= lo:
            return
        frames = stage._frames
        for s in self.speakers:
            fr = frames[s]
            if not fr:
                continue
            sp = fr["is_speech"][lo:hi]
            f0 = fr["f0_hz"][lo:hi][sp]
            f0 = f0[np.isfinite(f0)]
            h = self.hist[s]
            own = own_level_speech({k: {"is_speech": v["is_speech"][lo:hi]} for k, v in frames.items() if v},
                                   s, self.speakers, one_signal=self.one_signal)
            for key, vals in (("f0_st", 12 * np.log2(f0 / 100.0)), ("level_db", fr["rms_db"][lo:hi][own]),
                              ("hf500_db", fr["hf500_db"][lo:hi][sp])):
                h[key] += np.bincount(np.searchsorted(_BASE_BINS[key], vals), minlength=len(h[key]))
            self.speech[s] += int(sp.sum())
            self.phon[s] += self._phonation(stage, s, upto)
        t_prev, t_now = self.grid.frames_to_s(self.upto), self.grid.frames_to_s(upto)
        for s, t in stage._nuclei:
            if t_prev <= t < t_now:
                self.nuclei[s] += 1
        self.upto = upto

    def _phonation(self, stage: "RollingMeasures", s: str, upto: int) -> int:
        """``s``'s phonation frames (``slice.phonation``) from ``self.phon_from[s]`` to frame ``upto``, decided as
        over the speech taken in so far: quiet is under the 0.99 quantile of the voice's own-level speech so far
        (the level histogram) - 25 dB, and a quiet stretch across a step's edge is judged whole. Read step by step,
        each step with its own quantile, a pause >= 0.3 s cut in two by the edge (or a quiet speech edge at it) was
        kept as phonation, and a quieter step's quiet frames too: the baseline's articulation rate lay up to 23 %
        under the session's over the same speech, and every window read faster than it (AMI tst00: +0.31 for 0;
        hostile sweep 24). Each step is read with the 0.3 s before it; frames of a quiet stretch still open at
        ``upto`` (under 0.3 s so far) wait for the next step. Returns the count."""
        fr = stage._frames[s]
        ctx = _phonation_context(self.grid)
        a = self.phon_from[s]
        b0 = max(stage._f0, a - ctx)
        i0, i1 = b0 - stage._f0, upto - stage._f0
        lv, sp = fr["rms_db"][i0:i1], np.asarray(fr["is_speech"][i0:i1], bool)
        q = _hist_quantile(self.hist[s]["level_db"], _BASE_BINS["level_db"], 0.99)
        cut = len(sp)
        if q is None:
            ph = sp.copy()
        else:
            thr = q - PHONATION_BELOW_Q99_DB
            ph = phonation_under(lv, sp, hop_s=self.grid.hop_s, quiet_below_db=thr)
            loud = ~(sp & ~(lv >= thr))
            k = len(sp) - int(np.flatnonzero(loud)[-1]) - 1 if loud.any() else len(sp)  # the quiet run at the end
            if 0 < k < PHONATION_MIN_PAUSE_S / self.grid.hop_s - 1e-9:
                cut = len(sp) - k
        cut = max(cut, a - b0)
        self.phon_from[s] = b0 + cut
        return int(ph[a - b0:cut].sum())

    def keep_from(self, stage: "RollingMeasures") -> int:
        """The first frame this tally still reads (``RollingMeasures._prune``)."""
        ctx = _phonation_context(self.grid)
        return min([self.upto] + [self.phon_from[s] - ctx for s in self.speakers if stage._frames[s]])

    def speech_s(self, speaker: str) -> float:
        return self.speech[speaker] * self.grid.hop_s

    def baseline(self, speaker: str) -> SpeakerBaseline:
        """``speaker``'s baseline from what is taken in (the rules of ``speaker_baseline``)."""
        h = self.hist[speaker]
        # pitch and nuclei need voiced speech (slice.MIN_VOICED_SHARE)
        voiced_ok = enough_voiced(int(h["f0_st"].sum()), self.speech[speaker])
        f0_med, f0_sd = _hist_median_sd(h["f0_st"], _BASE_BINS["f0_st"]) if voiced_ok else (None, None)
        lv_med, lv_sd = _hist_median_sd(h["level_db"], _BASE_BINS["level_db"])
        hf_med, hf_sd = _hist_median_sd(h["hf500_db"], _BASE_BINS["hf500_db"])
        phon_s = self.phon[speaker] * self.grid.hop_s
        return SpeakerBaseline(
            f0_median_hz=None if f0_med is None else float(100.0 * 2 ** (f0_med / 12)),
            f0_spread_st=f0_sd, level_median_db=lv_med, level_spread_db=lv_sd,
            hf500_median_db=hf_med, hf500_spread_db=hf_sd,
            articulation_rate_syl_s=self.nuclei[speaker] / phon_s
            if rate_time_ok(self.speech_s(speaker), phon_s) and voiced_ok else None)


_BASE_BINS = {
    "f0_st": np.arange(-40.0, 40.0, 0.05),      # semitones re 100 Hz
    "level_db": np.arange(-120.0, 10.0, 0.1),
    "hf500_db": np.arange(-60.0, 60.0, 0.1),
}


def _phonation_context(grid: Grid) -> int:
    """Frames read before a step's first (``_Tally._phonation``): where a quiet stretch running into it began."""
    return int(np.ceil(PHONATION_MIN_PAUSE_S / grid.hop_s)) + 1


def _hist_centres(edges: np.ndarray) -> np.ndarray:
    """The centres of a histogram's bins over ``edges`` (bin k holds values in [edges[k-1], edges[k]))."""
    step = edges[1] - edges[0]
    return np.concatenate([[edges[0] - step / 2], edges + step / 2])


def _hist_quantile(hist: np.ndarray, edges: np.ndarray, q: float) -> float | None:
    """The ``q`` quantile from a histogram over ``edges`` (bin k holds values in [edges[k-1], edges[k])): the
    centre of the bin it falls in (at ``q`` 0 the lowest bin that holds any: the first count's, as for any ``q``
    under 1 / n; it was the underflow bin's, held or not, hostile sweep 25); None when empty."""
    n = int(hist.sum())
    if not n:
        return None
    centres = _hist_centres(edges)
    return float(centres[min(int(np.searchsorted(np.cumsum(hist), max(q * n, 1))), len(centres) - 1)])


def _hist_median_sd(hist: np.ndarray, edges: np.ndarray) -> tuple[float | None, float | None]:
    """Median and robust SD (1.4826 x MAD) from a histogram over ``edges``
    (bin k holds values in [edges[k-1], edges[k]))."""
    n = int(hist.sum())
    if n < 10:
        return None, None
    med = _hist_quantile(hist, edges, 0.5)
    dist = np.abs(_hist_centres(edges) - med)
    order = np.argsort(dist, kind="stable")
    cdf_d = np.cumsum(hist[order])
    mad = float(dist[order][int(np.searchsorted(cdf_d, n / 2))])
    return med, max(1.4826 * mad, 1e-3)
