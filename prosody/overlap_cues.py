"""Prosodic cues of a listener's short vocalisation: backchannel or failed interruption?

A listener who speaks briefly while the other speaker keeps the floor either
*backchannels* ("mm-hm", "yeah": attentive listening) or makes a *failed
interruption* (starts to take the floor, gives up, the holder talks on).
Timing alone does not separate them: both are short and the holder keeps the
floor; backchannels often overlap the holder's speech (Heldner & Edlund 2010:
within-speaker overlaps; Schegloff 2000: overlap that is not competitive).
What the literature finds separates them:

* where it starts: backchannels cluster in the holder's pauses and at
  low-pitch regions that invite them (Ward & Tsukahara 2000; Gravano &
  Hirschberg 2011), an attempt to take the floor starts inside the holder's
  speech (Gravano & Hirschberg 2012, Schegloff 2000);
* how loud: competitive overlap and interruptions are louder and higher than
  the speaker's usual speech (French & Local 1983; Gravano & Hirschberg 2012
  found higher intensity and pitch at the onset of interruptions), a
  backchannel is soft and short (Ward & Tsukahara 2000);
* how much is said: a backchannel is one or two syllables of a small set of
  tokens ("mm-hm", "yeah", "right", "okay"; Gravano & Hirschberg 2011), an
  attempt starts a real utterance ("But I ...", "Sorry can I ...").

``CueStore`` keeps each speaker's final frames and baseline; ``cues`` measures
one segment from its own frames and the speaker's frames before it only, so
the values do not depend on how the audio was cut into blocks.

    holder    ====== pause ======|    |=================
    listener           |mm|        |ok|       |But I|
                       ^ soft, in speech      ^ at/above own level, >= 2 syllables,
                         (backchannel)          in speech (failed interruption)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import RateConfig
from .rate import SyllableNuclei
from .timebase import GRID, Grid
from .types import FrameBlock, Segment

LEVEL_BINS_DB = np.arange(-120.0, 0.25, 0.25)      # histogram edges for the level baseline
PITCH_BINS_ST = np.arange(-36.0, 48.25, 0.25)      # semitones re 100 Hz
MIN_BASELINE_FRAMES = 150                          # 1.5 s of the speaker's speech before a level baseline counts
ONSET_FRAMES = 30                                  # the first 300 ms of speech: the onset

# The rule (``is_floor_bid``); tuned on generated dialogues (tests/dialogue.py scenario_overlap_events,
# seeds 0-7), checked on seeds 100-119 (benchmarks/overlap_events.py).
BID_LEVEL_REL_DB = -2.5        # at least this loud re the listener's own median speech level: a bid
BID_PITCH_REL_ST = 2.0         # or pitch raised this much re own median F0 ...
BID_PITCH_MIN_LEVEL_REL_DB = -6.0   # ... while not soft
NO_BASELINE_MIN_S = 0.6        # before a level baseline: this long ...
NO_BASELINE_MIN_SYLLABLES = 3  # ... and this many syllable nuclei


@dataclass(frozen=True)
class ListenerCues:
    """Measured on one listener segment (frames ``[start, end)`` of the grid).

    ``n_syllables``: syllable nuclei in the segment (de Jong & Wempe 2009,
    ``rate.SyllableNuclei`` run on the segment's frames alone);
    ``level_rel_db``: median level of its speech frames minus the median level
    of the speaker's speech frames before it (None before
    ``MIN_BASELINE_FRAMES`` of speech); ``onset_level_rel_db``: the same over
    its first ``ONSET_FRAMES`` speech frames; ``f0_rel_st``: median F0 of its
    voiced frames minus the speaker's median F0 before it, in semitones (None
    when either has no voiced frame)."""

    n_syllables: int
    level_rel_db: float | None
    onset_level_rel_db: float | None
    f0_rel_st: float | None


def _hist_median(hist: np.ndarray, edges: np.ndarray) -> float | None:
    n = int(hist.sum())
    if n == 0:
        return None
    k = int(np.searchsorted(np.cumsum(hist), (n + 1) / 2))
    return float(edges[min(k, len(edges) - 1)])


class _Speaker:
    def __init__(self):
        self.base = 0                      # absolute frame index of buffer position 0
        self.level = np.zeros(0, np.float32)
        self.f0 = np.zeros(0, np.float32)
        self.speech = np.zeros(0, bool)
        self.baseline_upto = 0             # frames before this are in the histograms
        self.level_hist = np.zeros(len(LEVEL_BINS_DB) + 1, np.int64)
        self.pitch_hist = np.zeros(len(PITCH_BINS_ST) + 1, np.int64)

    @property
    def n(self) -> int:
        return self.base + len(self.level)

    def advance_baseline(self, upto: int) -> None:
        upto = min(upto, self.n)
        if upto <= self.baseline_upto:
            return
        a, b = self.baseline_upto - self.base, upto - self.base
        sp = self.speech[a:b]
        lv = self.level[a:b][sp]
        np.add.at(self.level_hist, np.searchsorted(LEVEL_BINS_DB, lv), 1)
        f0 = self.f0[a:b][sp]
        f0 = f0[np.isfinite(f0) & (f0 > 0)]
        np.add.at(self.pitch_hist, np.searchsorted(PITCH_BINS_ST, 12.0 * np.log2(f0 / 100.0)), 1)
        self.baseline_upto = upto

    def drop_before(self, frame: int) -> None:
        cut = min(frame, self.baseline_upto) - self.base
        if cut > 0:
            self.level, self.f0, self.speech = self.level[cut:], self.f0[cut:], self.speech[cut:]
            self.base += cut


class CueStore:
    """Stage: final frames in (``push``), cues of a segment out (``cues``).

    Holds each speaker's frames from the earliest segment still to be measured
    (``release(t_s)`` says which are no longer needed) and histograms of the
    speaker's speech-frame levels and F0 before that point."""

    def __init__(self, speakers: tuple[str, ...], *, rate: RateConfig = RateConfig(), grid: Grid = GRID):
        self.speakers = tuple(speakers)
        self.rate = rate
        self.grid = grid
        self.reset()

    def reset(self) -> None:
        self._sp = {s: _Speaker() for s in self.speakers}

    def push(self, frames: list[FrameBlock]) -> None:
        for fb in frames:
            st = self._sp[fb.speaker]
            if fb.start_frame != st.n:
                raise ValueError(f"frames of {fb.speaker} start at {fb.start_frame}, expected {st.n}")
            st.level = np.concatenate([st.level, fb.rms_db.astype(np.float32)])
            st.f0 = np.concatenate([st.f0, fb.f0_hz.astype(np.float32)])
            st.speech = np.concatenate([st.speech, fb.is_speech.astype(bool)])

    def has_frames(self, speaker: str, end_s: float) -> bool:
        """All frames of ``speaker`` up to ``end_s`` are here (and a few after, for the nuclei)."""
        return self._sp[speaker].n >= self.grid.s_to_frames(end_s) + SyllableNuclei.latency_frames

    def release(self, t_s: float) -> None:
        """No segment starting before ``t_s`` will be measured: fold those frames into the baselines."""
        for st in self._sp.values():
            k = self.grid.s_to_frames(t_s) if np.isfinite(t_s) else st.n
            st.advance_baseline(k)
            st.drop_before(k)

    def cues(self, seg: Segment) -> ListenerCues:
        st = self._sp[seg.speaker]
        a, b = self.grid.s_to_frames(seg.start_s), self.grid.s_to_frames(seg.end_s)
        st.advance_baseline(a)
        if a < st.base or b > st.n:
            raise ValueError(f"frames {a}..{b} of {seg.speaker} are no longer / not yet held")
        i, j = a - st.base, b - st.base
        level, f0, speech = st.level[i:j], st.f0[i:j], st.speech[i:j]
        voiced = np.isfinite(f0) & (f0 > 0)
        nuc = SyllableNuclei(self.rate, grid=self.grid)
        n_syl = len(nuc.push(level, voiced, speech)) + len(nuc.flush())
        base_level = _hist_median(st.level_hist, LEVEL_BINS_DB) if st.level_hist.sum() >= MIN_BASELINE_FRAMES else None
        lv = level[speech] if speech.any() else level
        level_rel = onset_rel = None
        if base_level is not None and len(lv):
            level_rel = float(np.median(lv)) - base_level
            onset_rel = float(np.median(lv[:ONSET_FRAMES])) - base_level
        base_f0 = _hist_median(st.pitch_hist, PITCH_BINS_ST)
        f0_rel = None
        if base_f0 is not None and voiced.any():
            f0_rel = float(np.median(12.0 * np.log2(f0[voiced] / 100.0))) - base_f0
        return ListenerCues(n_syl, level_rel, onset_rel, f0_rel)


def is_floor_bid(c: ListenerCues, *, duration_s: float) -> bool:
    """Is a short listener vocalisation that starts inside the holder's speech
    (and after which the holder keeps the floor) a failed interruption rather
    than a backchannel?

    * with a level baseline: its median level is at least ``BID_LEVEL_REL_DB``
      re the listener's own median speech level (a backchannel in overlap is
      soft; competitive incomings are at or above normal loudness: French &
      Local 1983, Gravano & Hirschberg 2012), or its pitch is raised by
      ``BID_PITCH_REL_ST`` while it is not soft (``BID_PITCH_MIN_LEVEL_REL_DB``;
      raised pitch at interruption onsets: Gravano & Hirschberg 2012);
    * before the listener has ``MIN_BASELINE_FRAMES`` of speech: it lasts at
      least ``NO_BASELINE_MIN_S`` with ``NO_BASELINE_MIN_SYLLABLES`` syllable
      nuclei (a backchannel token is one or two syllables: Ward & Tsukahara
      2000; Gravano & Hirschberg 2011).
    """
    if c.level_rel_db is not None:
        if c.level_rel_db >= BID_LEVEL_REL_DB:
            return True
        return (c.f0_rel_st is not None and c.f0_rel_st >= BID_PITCH_REL_ST
                and c.level_rel_db >= BID_PITCH_MIN_LEVEL_REL_DB)
    return duration_s >= NO_BASELINE_MIN_S and c.n_syllables >= NO_BASELINE_MIN_SYLLABLES
