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

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..config import RateConfig
from .rate import SyllableNuclei
from ..timebase import GRID, Grid
from ..types import FrameBlock, Segment

PITCH_BINS_ST = np.arange(-36.0, 48.25, 0.25)      # semitones re 100 Hz
MIN_BASELINE_FRAMES = 100                          # 1 s of the speaker's speech before a level baseline counts
CUE_MIN_DIP_DB = 3.0           # syllable nuclei of a brief token: a stricter dip than rate's 2 dB (fewer ripples)

# The rule (``is_floor_bid``); tuned on generated dialogues (tests/dialogue.py scenario_overlap_events,
# seeds 0-31), checked on seeds 100-123 (benchmarks/overlap_events.py).
BID_RAISED_DB = 1.0            # louder than this re the listener's own speech level: a bid, however brief
BID_LEVEL_REL_DB = -3.0        # at least this loud re the listener's own speech level and more than a token: a bid
BID_PITCH_REL_ST = 2.0         # or pitch raised this much re own median F0 ...
BID_PITCH_MIN_LEVEL_REL_DB = -5.0   # ... while not soft
BID_MIN_SYLLABLES = 3          # and more than a backchannel token: at least this many syllable nuclei ...
BID_MIN_S = 0.5                # ... and this long
# in one signal (mono / shared), a token not soft re the listener's own level is a bid where it is also at least
# the holder's speech level: louder over the holder than the holder's usual speech (a competitive incoming).
# The listener's channel carries an excursion at its measured share 5 dB down (speakers.LISTENER_SHARE_MARGIN_DB),
# so this is its share 5 dB over the holder's level; planted backchannels of the tuning seeds read up to -1.1 dB.
BID_TOKEN_HOLDER_REL_DB = 0.0


@dataclass(frozen=True)
class ListenerCues:
    """Measured on one listener segment (frames ``[start, end)`` of the grid).

    ``n_syllables``: syllable nuclei in the segment (de Jong & Wempe 2009,
    ``rate.SyllableNuclei`` run on the segment's frames alone, with a dip of
    ``CUE_MIN_DIP_DB``);
    ``level_rel_db``: energy-mean level of its speech frames (dB of the mean
    frame power, as Praat's intensity mean "energy") minus the same over all
    the speaker's speech frames before it (None before ``MIN_BASELINE_FRAMES``
    of speech); ``f0_rel_st``: median F0 of its voiced frames minus the
    speaker's median F0 before it, in semitones (None when either has no
    voiced frame); ``holder_rel_db``: where the two voices are cut from one
    signal (a mono or shared recording: one microphone, one gain), the same
    level minus the other voice's (the holder's) speech level before it (None
    before the holder has ``MIN_BASELINE_FRAMES`` of speech, and on separate
    channels, whose gains say nothing of each other)."""

    n_syllables: int
    level_rel_db: float | None
    f0_rel_st: float | None
    holder_rel_db: float | None = None


def _energy_db(power: float) -> float:
    return 10.0 * float(np.log10(max(power, 1e-30)))


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
        self.power_sum = 0.0               # sum of speech-frame power (linear) before baseline_upto
        self.n_speech = 0
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
        self.power_sum += float(np.sum(10.0 ** (self.level[a:b][sp].astype(np.float64) / 10.0)))
        self.n_speech += int(sp.sum())
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
    speaker's speech-frame levels and F0 before that point. ``one_signal``: the
    speakers' frames are two voices cut from one recording (``holder_rel_db``)."""

    def __init__(self, speakers: tuple[str, ...], *, rate: RateConfig = RateConfig(), grid: Grid = GRID,
                 one_signal: bool = False):
        self.speakers = tuple(speakers)
        self.one_signal = one_signal  # the voices cut from one signal: their levels compare (``holder_rel_db``)
        self.rate = dataclasses.replace(rate, min_dip_db=max(rate.min_dip_db, CUE_MIN_DIP_DB))
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
        lv = (level[speech] if speech.any() else level).astype(np.float64)
        level_db = _energy_db(np.mean(10.0 ** (lv / 10.0))) if len(lv) else None
        level_rel = holder_rel = None
        if st.n_speech >= MIN_BASELINE_FRAMES and level_db is not None:
            level_rel = level_db - _energy_db(st.power_sum / st.n_speech)
        if self.one_signal and level_db is not None:
            holder_db = self._level_before(next(s for s in self.speakers if s != seg.speaker), a)
            holder_rel = None if holder_db is None else level_db - holder_db
        base_f0 = _hist_median(st.pitch_hist, PITCH_BINS_ST)
        f0_rel = None
        if base_f0 is not None and voiced.any():
            f0_rel = float(np.median(12.0 * np.log2(f0[voiced] / 100.0))) - base_f0
        return ListenerCues(n_syl, level_rel, f0_rel, holder_rel)

    def _level_before(self, speaker: str, frame: int) -> float | None:
        """Energy mean (dB) of ``speaker``'s speech frames before ``frame``; None before
        ``MIN_BASELINE_FRAMES`` of them. Reads the held frames without folding them into the baseline
        (that speaker's own segments may still be measured against what precedes them)."""
        st = self._sp[speaker]
        i, j = st.baseline_upto - st.base, max(min(frame, st.n) - st.base, 0)
        sp = st.speech[i:j]
        n = st.n_speech + int(sp.sum())
        if n < MIN_BASELINE_FRAMES:
            return None
        return _energy_db((st.power_sum + float(np.sum(10.0 ** (st.level[i:j][sp].astype(np.float64) / 10.0)))) / n)


def is_floor_bid(c: ListenerCues, *, duration_s: float) -> bool:
    """Is a short listener vocalisation that starts inside the holder's speech
    (and after which the holder keeps the floor) a failed interruption rather
    than a backchannel?

    * louder than the listener's own speech level by ``BID_RAISED_DB`` or
      more: yes, however brief (turn-competitive incomings are loud: French &
      Local 1983; higher intensity at interruption onsets: Gravano &
      Hirschberg 2012);
    * otherwise never when it is a token: fewer than ``BID_MIN_SYLLABLES``
      nuclei or shorter than ``BID_MIN_S`` (backchannel tokens are one or two
      syllables: "mm-hm", "yeah", "right", "okay"; Ward & Tsukahara 2000;
      Gravano & Hirschberg 2011), except in one signal where it is not soft
      (``BID_LEVEL_REL_DB``) and at least ``BID_TOKEN_HOLDER_REL_DB`` re the
      holder's speech level (``holder_rel_db``): loud over the holder, not
      the soft token a backchannel is (French & Local 1983);
    * a longer one: yes when its level is at least ``BID_LEVEL_REL_DB`` re
      the listener's own (a backchannel in overlap is soft), or its pitch is
      raised by ``BID_PITCH_REL_ST`` while it is not soft
      (``BID_PITCH_MIN_LEVEL_REL_DB``; raised pitch at interruption onsets:
      Gravano & Hirschberg 2012);
    * before the listener has ``MIN_BASELINE_FRAMES`` of speech (no
      baseline of its own to be loud against): in one signal, the longer
      ones measured against the holder's speech level (``holder_rel_db``)
      as the last case does against the listener's own; a token, or with no
      stand-in level (separate channels), timing alone: a backchannel. The
      "however brief" case needs the listener's own level: a stand-in is off
      by the two voices' level difference, more than ``BID_RAISED_DB``.
    """
    if c.n_syllables < BID_MIN_SYLLABLES or duration_s < BID_MIN_S:
        if c.level_rel_db is None:
            return False  # a token with no level of its own: timing alone
        return c.level_rel_db >= BID_RAISED_DB or (c.level_rel_db >= BID_LEVEL_REL_DB and c.holder_rel_db is not None
                                                   and c.holder_rel_db >= BID_TOKEN_HOLDER_REL_DB)
    if c.level_rel_db is None:
        return c.holder_rel_db is not None and _not_soft(c.holder_rel_db, c.f0_rel_st)
    return c.level_rel_db >= BID_RAISED_DB or _not_soft(c.level_rel_db, c.f0_rel_st)


def _not_soft(level_rel_db: float, f0_rel_st: float | None) -> bool:
    """A vocalisation longer than a token, at ``level_rel_db`` re the reference level: a bid when not soft
    (``BID_LEVEL_REL_DB``), or pitch raised (``BID_PITCH_REL_ST``) while not quite soft."""
    if level_rel_db >= BID_LEVEL_REL_DB:
        return True
    return f0_rel_st is not None and f0_rel_st >= BID_PITCH_REL_ST and level_rel_db >= BID_PITCH_MIN_LEVEL_REL_DB


def rule_markdown() -> list[str]:
    """The rule as documentation lines (docs/measures.md is generated from these and the constants)."""
    return [
        "## Backchannel or failed interruption", "",
        "A listener segment after which the floor holder keeps the floor (the holder talks through it, or resumes",
        "first within the decision horizon) is one of the two. Timing alone cannot tell them apart: both are short,",
        "and backchannels often overlap the holder's speech (Heldner & Edlund 2010: within-speaker overlap;",
        "Schegloff 2000: not all overlap is competitive). To a therapist they are opposites: a backchannel is",
        "attentive listening, a failed interruption is talking over the other. The rule (`prosody/engine/overlap_cues.py`):",
        "",
        "| case | decided as | source |", "|---|---|---|",
        "| starts in the holder's pause (the holder is silent at its start) | backchannel | Ward & Tsukahara 2000; "
        "Gravano & Hirschberg 2011 (backchannels follow pauses and backchannel-inviting cues) |",
        "| starts inside the holder's speech and lasts `turns.backchannel_max_s` or longer, the holder talking "
        "through it | failed interruption | Gravano & Hirschberg 2011 (failed interruption: the overlapping "
        "speaker gives up) |",
        f"| starts inside the holder's speech before the speaker has {MIN_BASELINE_FRAMES / 100:.0f} s of speech "
        "(no baseline to be loud against) | backchannel (timing alone), except on a mono or shared recording "
        "(both voices through one microphone and gain) where it is longer than a token (below) and, measured "
        "against the holder's speech level in its place, not soft (the last two rows) | |",
        f"| starts inside the holder's speech, shorter, at least {BID_RAISED_DB:+.0f} dB louder than the speaker's "
        "own speech level so far (energy means of speech frames) | failed interruption | French & Local 1983 "
        "(turn-competitive incomings are loud and high); Gravano & Hirschberg 2012 (higher intensity at "
        "interruption onsets) |",
        f"| otherwise, on a mono or shared recording, a token at least {BID_LEVEL_REL_DB:+.0f} dB re own level and "
        f"at least {BID_TOKEN_HOLDER_REL_DB:+.0f} dB re the holder's speech level so far | failed interruption | "
        "French & Local 1983 (turn-competitive incomings are loud) |",
        f"| otherwise a token: fewer than {BID_MIN_SYLLABLES} syllable nuclei or shorter than {BID_MIN_S} s | "
        "backchannel | Ward & Tsukahara 2000, Gravano & Hirschberg 2011 (backchannel tokens: mm-hm, yeah, right, "
        f"okay); de Jong & Wempe 2009 (nuclei, here with a {CUE_MIN_DIP_DB:.0f} dB dip) |",
        f"| otherwise at least {BID_LEVEL_REL_DB:+.0f} dB re own level (not soft) | failed interruption | "
        "French & Local 1983; Gravano & Hirschberg 2012 |",
        f"| otherwise pitch raised by {BID_PITCH_REL_ST:.0f} st or more re own median F0 with level at least "
        f"{BID_PITCH_MIN_LEVEL_REL_DB:+.0f} dB | failed interruption | French & Local 1983; Gravano & Hirschberg "
        "2012 (higher pitch at interruption onsets) |",
        "| any other short segment inside the holder's speech (soft) | backchannel | Ward & Tsukahara 2000 |",
        "",
        "Every cue is measured on the segment's own frames and the speaker's frames before it, and the decision",
        "waits at most the decision horizon, so live and offline analyses decide alike. Measured on generated",
        "dialogues (many voices and levels, backchannels in pauses and softly in overlap, failed interruptions of",
        "0.3-1.2 s): `python benchmarks/overlap_events.py` (tuned on seeds 0-31, reported on held-out seeds 100-123).",
        "Real backchannels can be loud and real attempts soft; read single events with care.",
    ]
