"""What a summary reads: one stretch of time of a session (``Slice``), and
the small helpers every measure shares."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..timebase import Grid
from ..types import Event, Pause, Segment, Transition


# what a summary reads: per-speaker frames over [start_frame, end_frame) and event lists
@dataclass(frozen=True, slots=True)
class Slice:
    """Data of one stretch of time. ``frames[speaker][key]`` covers frames
    ``[frame0, frame1)``; tuples hold items whose (start) time lies in
    ``[start_s, end_s)`` except ``transitions_all`` (everything up to end_s,
    to find the floor holder and earlier answers)."""

    grid: Grid
    speakers: tuple[str, ...]
    frame0: int
    frame1: int
    frames: dict[str, dict[str, np.ndarray]]
    segments: tuple[Segment, ...]
    transitions: tuple[Transition, ...]
    transitions_all: tuple[Transition, ...]
    events: tuple[Event, ...]
    pauses: tuple[Pause, ...]
    nuclei: tuple[tuple[str, float], ...]
    turn_taking: bool
    # (speaker, first frame, end frame) of a segment wholly inside [frame0, frame1) -> its IPU pitch and
    # intensity (attunement): the same in every rolling window that holds all its frames
    ipu_cache: dict | None = field(default=None, repr=False, compare=False)
    # events starting in [look_s, end_s): what a cue that looks back further than the window reads
    events_look: tuple[Event, ...] = ()
    # two voices cut from one signal (a diarized mono or shared recording): ``level_speech``
    one_signal: bool = False
    _nuclei_by: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_nuclei_by", {
            s: np.sort(np.array([t for x, t in self.nuclei if x == s])) for s in self.speakers})

    @classmethod
    def cut(cls, *, grid: Grid, speakers: tuple[str, ...], frame0: int, frame1: int,
            frames: dict[str, dict[str, np.ndarray]], segments, transitions, events=(), pauses=(), nuclei=(),
            turn_taking: bool, look_s: float | None = None, ipu_cache: dict | None = None,
            one_signal: bool = False, segments_from_s: float | None = None) -> "Slice":
        """The Slice of frames ``[frame0, frame1)`` (``frames`` already cut to them), keeping of
        the timed items, by the one rule of every slice (session, phase, rolling window,
        relabel): segments overlapping ``[look_s, end_s)`` (``look_s`` default ``start_s``: a
        rolling window looks back for the floor holder), transitions and events starting in
        ``[start_s, end_s)``, every transition started before ``end_s`` (``transitions_all``),
        pauses ending in it (a pause is known only when its speaker resumes) and nuclei in it.
        ``segments_from_s`` (earlier than ``look_s``): segments from there too (a rolling window's
        floor hold that began before its look-back, for the monologue cue's silences)."""
        a, b = grid.frames_to_s(frame0), grid.frames_to_s(frame1)
        look = a if look_s is None else look_s
        seg_look = look if segments_from_s is None else min(look, segments_from_s)
        return cls(grid=grid, speakers=speakers, frame0=frame0, frame1=frame1, frames=frames,
                   segments=tuple(x for x in segments if x.end_s > seg_look and x.start_s < b),
                   transitions=tuple(t for t in transitions if a <= t.to_start_s < b),
                   transitions_all=tuple(t for t in transitions if t.to_start_s < b),
                   events=tuple(e for e in events if a <= e.start_s < b),
                   events_look=tuple(e for e in events if look <= e.start_s < b),
                   pauses=tuple(p for p in pauses if a <= p.end_s < b),
                   nuclei=tuple((x, t) for x, t in nuclei if a <= t < b),
                   turn_taking=turn_taking, ipu_cache=ipu_cache, one_signal=one_signal)

    def level_speech(self, speaker: str) -> np.ndarray:
        """The speech frames whose level is ``speaker``'s own (``own_level_speech``)."""
        return own_level_speech(self.frames, speaker, self.speakers, one_signal=self.one_signal)

    def phonation_of(self, speaker: str) -> np.ndarray:
        """``speaker``'s phonation frames (``phonation``; the quantile over the voice's own-level speech)."""
        fr = self.frames[speaker]
        return phonation(fr["rms_db"], fr["is_speech"], hop_s=self.grid.hop_s, q99_from=self.level_speech(speaker))

    def nuclei_of(self, speaker: str) -> np.ndarray:
        """Sorted nucleus times (s) of ``speaker``."""
        return self._nuclei_by.get(speaker, np.zeros(0))

    def count_nuclei(self, speaker: str, a: float, b: float) -> int:
        ts = self.nuclei_of(speaker)
        return int(np.searchsorted(ts, b, side="left") - np.searchsorted(ts, a, side="left"))

    @property
    def start_s(self) -> float:
        return self.grid.frames_to_s(self.frame0)

    @property
    def end_s(self) -> float:
        return self.grid.frames_to_s(self.frame1)


# Pitch needs voiced speech, and so does pace: a syllable nucleus is a voiced intensity peak (de Jong &
# Wempe 2009). Every pitch and pace figure of a speaker over a stretch of time needs
#   * at least MIN_VOICED_FRAMES voiced speech frames (0.1 s; the minimum every pitch figure used before), and
#   * voiced frames at least MIN_VOICED_SHARE of the speaker's speech frames.
# Vowels and voiced consonants make up most of speech: 75-79 % of the speech frames are voiced in the
# fixture dialogue and in espeak-ng voices from 75 to 280 Hz. A speaker under a quarter is whispering
# (0 %), or speaking below or above the pitch search range: the few frames then voiced are the tracker's
# catches at the edge of the range (a 44 Hz voice with a 50 Hz floor: 14 %, whose "typical pitch" of
# 53 Hz and 47-semitone "range" meant nothing). A quarter leaves room for creaky, breathy or noisy
# speech and keeps the figures of speech that is mostly unmeasurable out.
MIN_VOICED_FRAMES = 10
MIN_VOICED_SHARE = 0.25


def own_level_speech(frames: dict, speaker: str, speakers, *, one_signal: bool) -> np.ndarray:
    """``speaker``'s speech frames whose level (``rms_db``) is the voice's own: all of them, except, of two voices
    cut from one signal (``one_signal``: a diarized mono or shared recording), the frames both voices' channels
    hold as speech. There each channel carries the one mixture, turned down by the diarizer's overlap gains
    (``engine.speakers.overlap_gains``: 6 dB where both own a frame, 10.5 dB or its measured share on a listener's
    excursion), and the level measures read the mixture and its gains as the voice's (hostile sweep 22's
    leftovers, docs/store.md).
    As ``engine.pipeline.Pipeline._own_pitch`` leaves their pitch out; the VAD, the turns and the cues read
    them as ever."""
    sp = np.asarray(frames[speaker]["is_speech"], bool)
    others = [s for s in speakers if s != speaker]
    if not one_signal or len(others) != 1 or others[0] not in frames:
        return sp
    other = np.asarray(frames[others[0]]["is_speech"], bool)
    n = min(len(sp), len(other))
    out = sp.copy()
    out[:n] &= ~other[:n]
    return out


# de Jong & Wempe's (2009) phonation time: their script's silence threshold (the 0.99 quantile of the intensity
# minus 25 dB, as the nuclei's, ``RateConfig.silence_below_q99_db``) and shortest pause (0.3 s)
PHONATION_BELOW_Q99_DB = 25.0
PHONATION_MIN_PAUSE_S = 0.3
MIN_PHONATION_S = 0.5  # an articulation rate needs this much phonation (and 1 s of speech)


def rate_time_ok(speech_s: float, phonation_s: float) -> bool:
    """Whether a voice's speech time and phonation time (s) carry an articulation rate (voiced enough aside)."""
    return speech_s >= 1.0 and phonation_s >= MIN_PHONATION_S


def phonation(level_db: np.ndarray, speech: np.ndarray, *, hop_s: float, q99_from: np.ndarray | None = None
              ) -> np.ndarray:
    """The speech frames that are phonation in de Jong & Wempe's (2009) sense, the articulation rate's time:
    ``speech`` less the stretches inside it quieter than ``q99 - PHONATION_BELOW_Q99_DB`` lasting
    ``PHONATION_MIN_PAUSE_S`` or more, and less such quiet frames at either end of a speech run (there they join
    the silence outside). q99: the 0.99 quantile of ``level_db`` over ``q99_from`` (default ``speech``). The
    speech detector bridges pauses under ``vad.min_duration_off_s`` (0.6 s) and its edges reach into the
    silence around; counted as speech time they slowed the rate (0.45 s per sentence of a reading, the rate
    reading x1.18 for x1.35 planted; docs/live.md "The pace cue measured")::

        speech        |=============================|        |===|
        level >= thr    |====| |==|      |=======|             |==|
        phonation       |=========|      |=======|             |==|
                         (0.1 s gap kept; 0.45 s pause out; quiet edges out)

    A quiet stretch under 0.3 s at the stretch's first or last frame is kept (the speech may go on outside it).
    ``level_db`` (dB, -inf allowed), ``speech`` (bool) and ``q99_from`` are per frame, one shape."""
    speech = np.asarray(speech, bool)
    ref = level_db[speech if q99_from is None else np.asarray(q99_from, bool)]
    ref = ref[np.isfinite(ref)]
    if not len(ref):
        return speech.copy()
    return phonation_under(level_db, speech, hop_s=hop_s,
                           quiet_below_db=float(np.quantile(ref, 0.99)) - PHONATION_BELOW_Q99_DB)


def phonation_under(level_db: np.ndarray, speech: np.ndarray, *, hop_s: float, quiet_below_db: float) -> np.ndarray:
    """``phonation`` with its quiet threshold given (dB): the speech frames less the stretches under
    ``quiet_below_db`` of ``PHONATION_MIN_PAUSE_S`` or more and less such frames at a speech run's ends (the running
    baseline's, ``rolling.RollingMeasures``, gives the q99 of the speech so far)."""
    speech = np.asarray(speech, bool)
    out = speech.copy()
    quiet = speech & ~(level_db >= quiet_below_db)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], quiet, [False])).astype(np.int8)))
    min_frames = PHONATION_MIN_PAUSE_S / hop_s - 1e-9
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a >= min_frames or (a > 0 and not speech[a - 1]) or (b < len(speech) and not speech[b]):
            out[a:b] = False
    return out


def both_voices(sl: Slice, speaker: str, i0: int, i1: int) -> np.ndarray:
    """Of the slice's frames ``[i0, i1)`` (indices into ``sl.frames``), those whose level is not ``speaker``'s
    own: of two voices cut from one signal (``sl.one_signal``), the frames both voices' channels hold as speech
    (``own_level_speech``); none otherwise. The attunement's IPU intensity reads the rest (hostile sweep 22's
    leftovers, second part, docs/store.md)."""
    fr = sl.frames[speaker]
    n = max(0, min(i1, len(fr["is_speech"])) - i0)
    others = [s for s in sl.speakers if s != speaker]
    if not sl.one_signal or len(others) != 1 or others[0] not in sl.frames or n == 0:
        return np.zeros(n, bool)
    other = np.asarray(sl.frames[others[0]]["is_speech"][i0:i0 + n], bool)
    out = np.zeros(n, bool)
    out[:len(other)] = other
    return out & np.asarray(fr["is_speech"][i0:i0 + n], bool)


def enough_voiced(n_voiced: int, n_speech: int) -> bool:
    """Whether ``n_voiced`` voiced frames among ``n_speech`` speech frames are enough for pitch and pace
    figures (see ``MIN_VOICED_FRAMES``, ``MIN_VOICED_SHARE``)."""
    return n_voiced >= MIN_VOICED_FRAMES and n_voiced >= MIN_VOICED_SHARE * n_speech


def _clip(segs, a, b):
    return [(max(s, a), min(e, b)) for s, e in segs if e > a and s < b]


def _holds(sl: Slice, speaker: str, first: Segment | None) -> list[tuple[float, float]]:
    """Floor holds of ``speaker`` (turns) up to ``sl.end_s``, from transitions;
    a hold lasts from taking the floor to the speaker's last speech before
    the next transition (or the window end). ``first``: the session's first
    segment; its speaker holds the floor from its start (as ``TurnTracker``'s
    first turn does)."""
    trs = sl.transitions_all
    holds = []
    starts = []
    if first is not None:
        starts.append((first.speaker, first.start_s))
    starts += [(t.to_speaker, t.to_start_s) for t in trs]
    ends = [t.from_end_s for t in trs] + [None]
    for (spk, a), b in zip(starts, ends):
        if spk != speaker:
            continue
        if b is None:  # ongoing: to the speaker's last speech so far
            segs = [s for s in sl.segments if s.speaker == speaker and s.start_s >= a]
            b = max([s.end_s for s in segs], default=a)
            b = min(b, sl.end_s)
        holds.append((a, b))
    return holds


def hold_start_s(transitions, first: Segment | None, end_s: float) -> float | None:
    """Where the floor hold going on at ``end_s`` began: the start of the last transition before it (any
    speaker's), else the session's first segment's (``first``; None without one). A rolling window keeps the
    segments from there (``Slice.cut``'s ``segments_from_s``) for the monologue cue's silences."""
    starts = [t.to_start_s for t in transitions if t.to_start_s < end_s]
    if starts:
        return max(starts)
    return None if first is None else first.start_s


def _hold_pieces(sl: Slice, hold: tuple[float, float], silence_s: float) -> list[tuple[float, float]]:
    """A floor hold ``(start_s, end_s)`` cut at each silence of ``silence_s`` or more in which nobody spoke (the
    speech of every speaker the slice holds): the pieces, each from the speech that began it (the hold's start
    for the first) to the end of the speech before the next silence (the hold's end for the last). A monologue
    is one piece: the live cue reads the last (``cues``), the session's ``longest_monologue_s`` the longest
    (a silence before the first segment the slice holds is not seen)."""
    a, b = hold
    segs = sorted((s.start_s, s.end_s) for s in sl.segments if s.end_s > a and s.start_s < b)
    pieces, since, reach = [], a, None
    for x, y in segs:
        # 1e-6 s: times are frame edges as floats (a silence of 300 frames from 1.02 s read 2.9999999999999996 s
        # and did not cut, at 708 of 360,000 start frames; hostile sweep 24)
        if reach is not None and x - max(reach, a) >= silence_s - 1e-6:
            pieces.append((since, max(reach, a)))
            since = x
        reach = y if reach is None else max(reach, y)
    pieces.append((since, b))
    return pieces


def _per_bin_sd(values: np.ndarray, mask: np.ndarray, bin_frames: int, min_count: int = 20,
                of: np.ndarray | None = None) -> float | None:
    """SD across bins of ``bin_frames`` of the per-bin median of ``values[mask]``
    (bins with fewer than ``min_count`` masked frames are skipped; given ``of``, a wider mask that ``mask`` is
    part of, so are bins where ``mask`` holds half of its frames or fewer: what is left of them is no bin's own)."""
    n = len(values) // bin_frames * bin_frames
    if n == 0:
        return None
    m = mask[:n].reshape(-1, bin_frames)
    keep = m.sum(axis=1) >= min_count
    if of is not None:
        keep &= 2 * m.sum(axis=1) > np.asarray(of[:n]).reshape(-1, bin_frames).sum(axis=1)
    if keep.sum() < 3:
        return None
    # per-bin median of the masked values: sort each bin with the unmasked values last (as inf), pick the middle
    v = np.sort(np.where(m[keep], values[:n].reshape(-1, bin_frames)[keep], np.inf), axis=1)
    c = m[keep].sum(axis=1)
    rows = np.arange(len(v))
    med = (v[rows, (c - 1) // 2] + v[rows, c // 2]) / 2
    return float(np.std(med))


def _lin(value, warm, cool):
    """1 at the warm anchor, 0 at the cool anchor, linear and clipped."""
    if value is None:
        return None
    return float(np.clip((value - cool) / (warm - cool), 0.0, 1.0))


def _r(x):
    return None if x is None else round(float(x), 4)
