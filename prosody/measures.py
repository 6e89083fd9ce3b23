"""Warmth, attunement, timing and voice measures: rolling and per session.

Every measure is relative to the speaker's own baseline (median pitch and
level, spread, articulation rate) so that microphones, gain and voice type do
not masquerade as tone. A baseline is the whole session (session measures,
phases), the session so far (rolling windows, ``running``), or a saved
personal profile (``Baseline.from_profile``).

The registry ``MEASURES`` holds each measure's definition, unit, window,
source and direction; ``docs/measures.md`` is generated from it
(``python -m prosody.measures > docs/measures.md``, checked by a test).

Nothing here is a clinical judgement: the warmth score is a transparent sum
of components whose direction the cited research supports, each shown with
its value and contribution, on a scale relative to the therapist's own
baseline.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .timebase import GRID, Grid
from .engine.turns import overlapping_starts
from .types import Event, Pause, Segment, Transition

DISCLAIMER = ("Descriptive measures of voice and timing relative to the therapist's own baseline; "
              "not a clinical judgement of empathy or of the therapy.")


# --------------------------------------------------------------------------
# configuration
@dataclass(frozen=True)
class CueConfig:
    """Gentle cues for the live view. Those that could distract are off by default."""

    monologue: bool = True
    monologue_s: float = 90.0
    overlaps: bool = True
    overlaps_count: int = 3
    overlaps_window_s: float = 120.0
    pace: bool = False
    pace_above_baseline: float = 0.20   # articulation rate this much above baseline
    quick_answers: bool = False
    quick_answer_s: float = 0.2
    quick_answers_run: int = 3


@dataclass(frozen=True)
class MeasuresConfig:
    therapist: str = "therapist"
    client: str = "client"
    window_s: float = 60.0              # rolling window length
    window_step_s: float = 5.0          # rolling windows end every window_step_s
    phase_edges: tuple[float, float] = (0.2, 0.8)  # opening | middle | closing, as fractions of the session
    silence_min_s: float = 2.0          # Soma et al. 2022
    quick_answer_s: float = 0.2         # an answer faster than this is "quick"
    pitch_raised_st: float = 2.0        # a voiced frame this far above baseline counts as raised
    level_raised_db: float = 6.0
    rushed_ratio: float = 1.2           # a segment 20 % faster than baseline counts as rushed
    stable_bin_s: float = 1.0           # steadiness: SD of per-second medians
    network_delay_ms: float = 0.0       # one-way; client gaps are corrected by the round trip (2x)
    n_permutations: int = 1000
    n_nonadjacent: int = 10             # Levitan & Hirschberg 2011: 10 random non-adjacent partner turns
    min_exchanges: int = 6
    warmth_min_speech_s: float = 20.0   # rolling warmth: therapist speech needed inside the window
    warmth_min_exchanges: int = 2       # rolling warmth (two channels): speaker changes needed inside the window
    seed: int = 0
    cues: CueConfig = field(default_factory=CueConfig)

    @property
    def lookback_s(self) -> float:
        return max(self.window_s, self.cues.overlaps_window_s)


# --------------------------------------------------------------------------
# definitions (one source of truth for docs/measures.md)
@dataclass(frozen=True)
class MeasureDef:
    name: str
    unit: str
    formula: str
    window: str
    source: str
    direction: str


SRC_XIAO14 = "Xiao et al. 2014 (higher therapist pitch and energy went with lower rated empathy)"
SRC_TAO22 = "Tao et al. 2022 (steady tone and volume rated more empathic)"
SRC_SPOONER = "Spooner et al. 2025 (slower voices preferred); Tao et al. 2022 (short fast utterances less empathic)"
SRC_PATIENCE = "Stivers et al. 2009 (modal gap 0-200 ms); conversation analytics 'patience'; Soma et al. 2022 (silences)"
SRC_OVERLAP = "Heldner & Edlund 2010; Gravano & Hirschberg 2011 (interruptions)"
SRC_LH11 = "Levitan & Hirschberg 2011 (entrainment at turn exchanges)"
SRC_SYNC = ("Levitan & Hirschberg 2011; higher is NOT better: Reich et al. 2014 (more pitch synchrony, poorer "
            "alliance), Gaume et al. 2019 failed to replicate Imel et al. 2014")
SRC_BONE = "Bone, Lee & Narayanan 2014 (arousal from pitch, intensity and HF500 relative to the speaker's baseline)"
SRC_PAZ = "Paz et al. 2021 (arousal 'dampening' predicted better outcomes)"
SRC_DJW = "de Jong & Wempe 2009 (syllable nuclei)"
SRC_SOMA21 = "Soma et al. 2021 (therapist pitch, energy and rate differ by session phase)"
SRC_HE10 = "Heldner & Edlund 2010; de Ruiter et al. 2006 (floor transfer offset)"
SRC_PRAAT_VOICE = "Boersma & Weenink, Praat manual (Voice 2. Jitter, Voice 3. Shimmer); Teixeira et al. 2013"
SRC_HNR = "Boersma 1993 (autocorrelation harmonicity); Praat To Harmonicity (cc)"
SRC_CPPS = "Hillenbrand & Houde 1996; Maryn & Weenink 2015 (Praat PowerCepstrogram, Get CPPS)"


def _d(name, unit, formula, window, source, direction):
    return MeasureDef(name, unit, formula, window, source, direction)


MEASURES: tuple[MeasureDef, ...] = (
    _d("voice.f0_median_rel_st", "st", "12*log2(median F0 of voiced speech frames / baseline median F0)",
       "window / phase / session", SRC_XIAO14, "higher = pitch raised above own baseline"),
    _d("voice.f0_sd_st", "st", "SD of 12*log2(F0/median) over voiced speech frames", "window / session",
       "eGeMAPS (Eyben et al. 2016)", "higher = more pitch variation"),
    _d("voice.f0_range_st", "st", "95th - 5th percentile of F0 in semitones", "window / session",
       "eGeMAPS (Eyben et al. 2016)", "higher = wider range"),
    _d("voice.f0_instability_st", "st", "SD of per-second median F0 (st) over seconds with >= 20 voiced frames",
       "window / session", SRC_TAO22, "higher = less steady tone"),
    _d("voice.level_rel_db", "dB", "median speech-frame RMS level - baseline median level", "window / phase / session",
       SRC_XIAO14, "higher = louder than own baseline"),
    _d("voice.level_instability_db", "dB", "SD of per-second median speech level over seconds with >= 20 speech frames",
       "window / session", SRC_TAO22, "higher = less steady volume"),
    _d("voice.speech_rate_syl_s", "syl/s", "syllable nuclei / time holding the floor", "window / session", SRC_DJW,
       "higher = faster"),
    _d("voice.articulation_rate_syl_s", "syl/s", "syllable nuclei / speech time", "window / session", SRC_DJW,
       "higher = faster"),
    _d("voice.articulation_rate_rel", "ratio", "articulation rate / baseline articulation rate - 1", "window / session",
       SRC_SPOONER, "higher = faster than own baseline"),
    _d("voice.pause_rate_per_min", "1/min", "pauses inside own turns per minute of floor time", "window / session",
       SRC_HE10, "higher = more pausing"),
    _d("voice.pause_median_s", "s", "median length of pauses inside own turns", "window / session", SRC_HE10,
       "higher = longer pauses"),
    _d("voice.arousal_z", "z", "mean of (median - baseline median) / baseline robust SD for log-F0, intensity and HF500",
       "window / session", SRC_BONE, "higher = more aroused than own baseline"),
    _d("voice.pitch_raised_share", "share", "voiced speech frames with F0 > baseline + 2 st / voiced speech frames",
       "window / session", SRC_XIAO14, "higher = more time with raised pitch"),
    _d("voice.level_raised_share", "share", "speech frames with level > baseline + 6 dB / speech frames",
       "window / session", SRC_XIAO14, "higher = more time louder than usual"),
    _d("voice.rushed_share", "share", "speech time in segments whose articulation rate > 1.2 x baseline / speech time",
       "window / session", SRC_SPOONER, "higher = more rushed speech"),
    _d("timing.talk_share", "share", "own speech time / both speakers' speech time", "window / phase / session",
       "conversation analytics talk ratio", "higher = talks more"),
    _d("timing.turns_per_min", "1/min", "turns started / minutes", "window / session", SRC_HE10,
       "higher = more turn exchanges"),
    _d("timing.longest_monologue_s", "s", "longest own turn (clipped to the window)", "window / session",
       "conversation analytics longest monologue", "higher = longer monologues"),
    _d("timing.gap_median_s", "s", "median floor transfer offset when this speaker takes the floor (raw)",
       "window / session", SRC_HE10, "higher = waits longer before answering; negative = starts in overlap"),
    _d("timing.gap_median_corrected_s", "s",
       "client only: median of (offset - 2 x one-way network delay); the therapist's gaps need no correction",
       "window / session", "Stivers et al. 2009 on gap norms; network round trip", "as gap_median_s"),
    _d("timing.quick_answer_share", "share", "own answers with floor transfer offset < 0.2 s / own answers",
       "window / session", SRC_PATIENCE, "higher = less patient"),
    _d("timing.overlaps", "count", "own segments starting while the other speaks", "window / session", SRC_OVERLAP,
       "higher = more overlapping starts"),
    _d("timing.interruptions", "count", "interruptions produced", "window / session", SRC_OVERLAP,
       "higher = talks over the other more"),
    _d("timing.failed_interruptions", "count", "failed interruptions produced: starts inside the other's speech, "
       "gives up while the other talks on (see 'Backchannel or failed interruption')", "window / session",
       "Gravano & Hirschberg 2011, 2012; Schegloff 2000; French & Local 1983",
       "higher = more attempts to talk over"),
    _d("timing.backchannels", "count", "backchannels produced: short, the other keeps the floor; in a pause, or "
       "soft and brief in overlap (see 'Backchannel or failed interruption')", "window / session",
       "Ward & Tsukahara 2000; Gravano & Hirschberg 2011; Heldner & Edlund 2010", "higher = more listener feedback"),
    _d("timing.silences_broken", "count", "silences >= 2 s (neither speaking) ended by this speaker", "session",
       "Soma et al. 2022", "descriptive"),
    _d("attunement.proximity", "-|dz|", "mean over exchanges of -|z_A(end of turn) - z_B(start of next turn)|; "
       "chance = same with partner turns shuffled", "session / window", SRC_LH11,
       "above chance_high = partners more alike at exchanges than chance"),
    _d("attunement.synchrony", "r", "Pearson r of z_A(end of turn) and z_B(start of next turn) over exchanges; "
       "chance = shuffled partner turns", "session / window", SRC_SYNC,
       "descriptive: higher is not better"),
    _d("attunement.convergence", "r", "Pearson r of exchange time and proximity; chance = shuffled order",
       "session", SRC_LH11, "above chance_high = becoming more alike over the session"),
    _d("attunement.arousal_coregulation", "r",
       "Pearson r of the client's turn arousal and the therapist's next-turn arousal; chance = shuffled turns",
       "session", SRC_PAZ, "negative = therapist calmer when the client is aroused (dampening); descriptive"),
    _d("voice_quality.jitter_local", "ratio", "mean |T_i - T_(i-1)| over consecutive glottal periods (each in "
       "0.0001-0.02 s, ratio <= 1.3) / mean period; pulses by cross-correlation on voiced speech frames",
       "phase / session", SRC_PRAAT_VOICE, "higher = less regular vocal fold vibration (descriptive; "
       "recording quality and noise raise it)"),
    _d("voice_quality.shimmer_local", "ratio", "mean |A_i - A_(i-1)| / mean A, A = Hann-windowed RMS around each "
       "pulse, pairs with the period conditions of jitter and amplitude ratio <= 1.6", "phase / session",
       SRC_PRAAT_VOICE, "higher = less regular amplitude from cycle to cycle (descriptive)"),
    _d("voice_quality.hnr_db", "dB", "mean over voiced speech frames of 10*log10(r/(1-r)), r = highest normalised "
       "cross-correlation of a 1/75 s window with itself one period later", "phase / session", SRC_HNR,
       "higher = more harmonic, less breathy or noisy voice"),
    _d("voice_quality.cpps_db", "dB", "mean over voiced speech frames of the smoothed cepstral peak (60-330 Hz) "
       "above the robust straight-line trend of the power cepstrum (10 kHz, 0.1 s Gaussian window)",
       "phase / session", SRC_CPPS, "higher = clearer periodic voice; lower with breathiness or dysphonia"),
    _d("warmth.score", "0-100", "sum of component contributions; each component maps its value linearly "
       "between a warm and a cool anchor to 0..1, weights equal, missing components left out",
       "window / phase / session", "see components", "higher = the therapist's voice and timing moved in the "
       "directions the research associates with warmth, relative to their own baseline"),
    _d("warmth.score (rolling)", "0-100", "as warmth.score; null (\"not enough speech yet\") until the window holds "
       ">= warmth_min_speech_s (20 s, at most a third of the window) of therapist speech and, with two channels, >= warmth_min_exchanges (2) "
       "speaker changes", "window", "see components",
       "null = too little speech in the window to say anything (the running baseline is the window itself early on)"),
)


# --------------------------------------------------------------------------
# baselines
@dataclass(frozen=True)
class SpeakerBaseline:
    f0_median_hz: float | None
    f0_spread_st: float | None       # robust SD (1.4826 MAD) of F0 in semitones
    level_median_db: float | None
    level_spread_db: float | None
    hf500_median_db: float | None
    hf500_spread_db: float | None
    articulation_rate_syl_s: float | None


@dataclass(frozen=True)
class Baseline:
    kind: str   # "session" | "running" | "profile"
    speakers: tuple[tuple[str, SpeakerBaseline], ...]

    def of(self, speaker: str) -> SpeakerBaseline | None:
        return dict(self.speakers).get(speaker)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "speakers": {s: dataclasses.asdict(b) for s, b in self.speakers}}

    @classmethod
    def from_profile(cls, d: dict) -> "Baseline":
        """A saved personal profile: ``{"speakers": {name: {f0_median_hz: ..., ...}}}``
        (e.g. the ``measures.baseline`` of an earlier session)."""
        names = {f.name for f in dataclasses.fields(SpeakerBaseline)}
        sp = []
        for name, vals in d.get("speakers", {}).items():
            sp.append((name, SpeakerBaseline(**{k: vals.get(k) for k in names})))
        return cls("profile", tuple(sp))


def _robust_sd(x: np.ndarray) -> float | None:
    if len(x) < 10:
        return None
    mad = float(np.median(np.abs(x - np.median(x))))
    return max(1.4826 * mad, 1e-3)


def speaker_baseline(fr: dict[str, np.ndarray], n_syllables: int, *, grid: Grid = GRID) -> SpeakerBaseline:
    """Baseline from per-frame arrays (speech frames only) on ``grid``."""
    sp = fr["is_speech"]
    f0 = fr["f0_hz"][sp]
    f0 = f0[np.isfinite(f0)]
    lv = fr["rms_db"][sp]
    hf = fr["hf500_db"][sp]
    speech_s = len(lv) * grid.hop_s
    st = 12 * np.log2(f0 / np.median(f0)) if len(f0) else np.zeros(0)
    return SpeakerBaseline(
        f0_median_hz=float(np.median(f0)) if len(f0) >= 10 else None,
        f0_spread_st=_robust_sd(st),
        level_median_db=float(np.median(lv)) if len(lv) >= 10 else None,
        level_spread_db=_robust_sd(lv),
        hf500_median_db=float(np.median(hf)) if len(hf) >= 10 else None,
        hf500_spread_db=_robust_sd(hf),
        articulation_rate_syl_s=n_syllables / speech_s if speech_s >= 1.0 else None,
    )


# --------------------------------------------------------------------------
# what a summary reads: per-speaker frames over [start_frame, end_frame) and event lists
@dataclass
class Slice:
    """Data of one stretch of time. ``frames[speaker][key]`` covers frames
    ``[frame0, frame1)``; lists hold items whose (start) time lies in
    ``[start_s, end_s)`` except ``transitions_all`` (everything up to end_s,
    to find the floor holder and earlier answers)."""

    grid: Grid
    speakers: tuple[str, ...]
    frame0: int
    frame1: int
    frames: dict[str, dict[str, np.ndarray]]
    segments: list[Segment]
    transitions: list[Transition]
    transitions_all: list[Transition]
    events: list[Event]
    pauses: list[Pause]
    nuclei: list[tuple[str, float]]
    turn_taking: bool

    _nuclei_by: dict | None = None

    def nuclei_of(self, speaker: str) -> np.ndarray:
        """Sorted nucleus times (s) of ``speaker``."""
        if self._nuclei_by is None:
            self._nuclei_by = {s: np.sort(np.array([t for x, t in self.nuclei if x == s])) for s in self.speakers}
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


def _per_bin_sd(values: np.ndarray, mask: np.ndarray, bin_frames: int, min_count: int = 20) -> float | None:
    """SD across bins of ``bin_frames`` of the per-bin median of ``values[mask]``
    (bins with fewer than ``min_count`` masked frames are skipped)."""
    n = len(values) // bin_frames * bin_frames
    if n == 0:
        return None
    m = mask[:n].reshape(-1, bin_frames)
    keep = m.sum(axis=1) >= min_count
    if keep.sum() < 3:
        return None
    v = np.where(m[keep], values[:n].reshape(-1, bin_frames)[keep], np.nan)
    return float(np.std(np.nanmedian(v, axis=1)))


def _lin(value, warm, cool):
    """1 at the warm anchor, 0 at the cool anchor, linear and clipped."""
    if value is None:
        return None
    return float(np.clip((value - cool) / (warm - cool), 0.0, 1.0))


def _r(x):
    return None if x is None else round(float(x), 4)


def voice_measures(sl: Slice, speaker: str, base: SpeakerBaseline | None, cfg: MeasuresConfig,
                   first: Segment | None) -> dict:
    fr = sl.frames[speaker]
    sp = fr["is_speech"]
    f0 = fr["f0_hz"]
    voiced = sp & np.isfinite(f0)
    speech_s = float(sp.sum()) * sl.grid.hop_s
    out: dict = {"speech_s": round(speech_s, 3)}
    b = base or SpeakerBaseline(None, None, None, None, None, None, None)
    vf = f0[voiced]
    if len(vf) >= 10 and b.f0_median_hz:
        st = 12 * np.log2(vf / b.f0_median_hz)
        out["f0_median_rel_st"] = float(np.median(st))
        out["pitch_raised_share"] = float(np.mean(st > cfg.pitch_raised_st))
    else:
        out["f0_median_rel_st"] = out["pitch_raised_share"] = None
    if len(vf) >= 10:
        st_own = 12 * np.log2(vf / np.median(vf))
        out["f0_sd_st"] = float(np.std(st_own))
        out["f0_range_st"] = float(np.percentile(st_own, 95) - np.percentile(st_own, 5))
    else:
        out["f0_sd_st"] = out["f0_range_st"] = None
    bin_frames = max(1, sl.grid.s_to_frames(cfg.stable_bin_s))
    with np.errstate(divide="ignore", invalid="ignore"):
        f0_st_all = np.where(voiced, 12 * np.log2(np.where(voiced, f0, 1.0) / 100.0), 0.0)
    out["f0_instability_st"] = _per_bin_sd(f0_st_all, voiced, bin_frames)
    lv = fr["rms_db"]
    if sp.sum() >= 10 and b.level_median_db is not None:
        out["level_rel_db"] = float(np.median(lv[sp]) - b.level_median_db)
        out["level_raised_share"] = float(np.mean(lv[sp] > b.level_median_db + cfg.level_raised_db))
    else:
        out["level_rel_db"] = out["level_raised_share"] = None
    out["level_instability_db"] = _per_bin_sd(lv, sp, bin_frames)
    # rate
    a, e = sl.start_s, sl.end_s
    nuc = sl.nuclei_of(speaker)
    holds = _clip(_holds(sl, speaker, first), a, e) if sl.turn_taking else None
    segs = [s for s in sl.segments if s.speaker == speaker]
    if holds is None:
        floor_s = (segs[-1].end_s - segs[0].start_s) if segs else 0.0
    else:
        floor_s = sum(y - x for x, y in holds)
    out["speech_rate_syl_s"] = len(nuc) / floor_s if floor_s >= 1.0 else None
    out["articulation_rate_syl_s"] = len(nuc) / speech_s if speech_s >= 1.0 else None
    if out["articulation_rate_syl_s"] is not None and b.articulation_rate_syl_s:
        out["articulation_rate_rel"] = out["articulation_rate_syl_s"] / b.articulation_rate_syl_s - 1.0
    else:
        out["articulation_rate_rel"] = None
    # rushed: speech time in segments articulated > rushed_ratio x baseline
    if b.articulation_rate_syl_s and speech_s >= 1.0:
        rushed = 0.0
        for s in segs:
            x, y = max(s.start_s, a), min(s.end_s, e)
            if y - x < 0.3:
                continue
            n = sl.count_nuclei(speaker, x, y)
            if n / (y - x) > cfg.rushed_ratio * b.articulation_rate_syl_s:
                rushed += y - x
        out["rushed_share"] = min(1.0, rushed / speech_s)
    else:
        out["rushed_share"] = None
    # pauses inside own turns
    ps = [p for p in sl.pauses if p.speaker == speaker]
    if sl.turn_taking:
        out["pause_rate_per_min"] = len(ps) / (floor_s / 60.0) if floor_s >= 10.0 else None
        out["pause_median_s"] = float(np.median([p.end_s - p.start_s for p in ps])) if ps else None
    else:  # one channel: silences between own segments
        gaps = [y.start_s - x.end_s for x, y in zip(segs, segs[1:])]
        out["pause_rate_per_min"] = len(gaps) / (floor_s / 60.0) if floor_s >= 10.0 else None
        out["pause_median_s"] = float(np.median(gaps)) if gaps else None
    # arousal (Bone et al. 2014)
    parts = {}
    if len(vf) >= 10 and b.f0_median_hz and b.f0_spread_st:
        parts["pitch_z"] = float(np.median(12 * np.log2(vf / b.f0_median_hz)) / b.f0_spread_st)
    if sp.sum() >= 10 and b.level_median_db is not None and b.level_spread_db:
        parts["intensity_z"] = float((np.median(lv[sp]) - b.level_median_db) / b.level_spread_db)
    if sp.sum() >= 10 and b.hf500_median_db is not None and b.hf500_spread_db:
        parts["hf500_z"] = float((np.median(fr["hf500_db"][sp]) - b.hf500_median_db) / b.hf500_spread_db)
    out["arousal_z"] = float(np.mean(list(parts.values()))) if parts else None
    out["arousal_parts"] = {k: _r(v) for k, v in parts.items()}
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in out.items()}


def timing_measures(sl: Slice, speaker: str, cfg: MeasuresConfig, first: Segment | None) -> dict:
    a, e = sl.start_s, sl.end_s
    minutes = max((e - a) / 60.0, 1e-9)
    own = sum(s.duration_s for s in _segs_clipped(sl, speaker))
    both = sum(s.duration_s for spk in sl.speakers for s in _segs_clipped(sl, spk))
    holds = _holds(sl, speaker, first)
    in_win = [h for h in holds if a <= h[0] < e]
    clipped = _clip(holds, a, e)
    answers = [t for t in sl.transitions if t.to_speaker == speaker]
    offs = np.array([t.offset_s for t in answers])
    out = {
        "talk_share": own / both if both > 0 else None,
        "speech_s": own,
        "turns_per_min": len(in_win) / minutes,
        "longest_monologue_s": max([y - x for x, y in clipped], default=0.0),
        "n_answers": len(answers),
        "gap_median_s": float(np.median(offs)) if len(offs) else None,
        "gap_quantiles_s": ({f"p{q}": _r(np.percentile(offs, q)) for q in (10, 25, 50, 75, 90)}
                            if len(offs) else None),
        "quick_answer_share": float(np.mean(offs < cfg.quick_answer_s)) if len(offs) else None,
        "overlaps": _overlapping_starts(sl, speaker),
        "interruptions": sum(1 for x in sl.events if x.speaker == speaker and x.kind == "interruption"),
        "failed_interruptions": sum(1 for x in sl.events if x.speaker == speaker and x.kind == "failed_interruption"),
        "backchannels": sum(1 for x in sl.events if x.speaker == speaker and x.kind == "backchannel"),
    }
    if speaker == cfg.client and cfg.network_delay_ms:
        corr = offs - 2 * cfg.network_delay_ms / 1000.0
        out["gap_median_corrected_s"] = float(np.median(corr)) if len(corr) else None
        out["quick_answer_share_corrected"] = float(np.mean(corr < cfg.quick_answer_s)) if len(corr) else None
    return {k: (_r(v) if isinstance(v, float) else v) for k, v in out.items()}


def _segs_clipped(sl: Slice, speaker: str) -> list[Segment]:
    return [Segment(speaker, max(s.start_s, sl.start_s), min(s.end_s, sl.end_s))
            for s in sl.segments if s.speaker == speaker and s.end_s > sl.start_s and s.start_s < sl.end_s]


def _overlapping_starts(sl: Slice, speaker: str) -> int:
    return overlapping_starts(sl.segments, speaker, start_s=sl.start_s, end_s=sl.end_s)


def silences(sl: Slice, cfg: MeasuresConfig) -> list[dict]:
    """Stretches >= silence_min_s where nobody speaks, and who broke them."""
    segs = sorted(sl.segments, key=lambda s: s.start_s)
    out, covered = [], sl.start_s
    started = False
    for s in segs:
        if started and s.start_s - covered >= cfg.silence_min_s and s.start_s < sl.end_s:
            out.append({"start_s": _r(covered), "end_s": _r(s.start_s), "duration_s": _r(s.start_s - covered),
                        "broken_by": s.speaker})
        covered = max(covered, s.end_s)
        started = True
    return out


# --------------------------------------------------------------------------
# warmth
WARMTH_COMPONENTS = (
    # name, where, unit, warm anchor, cool anchor, source, direction
    ("pitch_raised_share", "voice", "share", 0.0, 0.4, SRC_XIAO14, "more time with pitch raised above baseline -> lower"),
    ("level_raised_share", "voice", "share", 0.0, 0.4, SRC_XIAO14, "more time louder than baseline -> lower"),
    ("f0_instability_st", "voice", "st", 1.0, 4.0, SRC_TAO22, "less steady pitch -> lower"),
    ("level_instability_db", "voice", "dB", 2.0, 8.0, SRC_TAO22, "less steady volume -> lower"),
    ("rushed_share", "voice", "share", 0.0, 0.5, SRC_SPOONER, "more rushed speech -> lower"),
    ("gap_median_s", "timing", "s", 0.6, 0.0, SRC_PATIENCE, "answering faster or in overlap -> lower"),
    ("talk_over_per_10min", "timing", "count/10 min", 0.0, 3.0, SRC_OVERLAP,
     "more interruptions and failed interruptions of the client -> lower"),
)


def warmth(voice: dict, timing: dict | None, minutes: float) -> dict:
    """Composite 0-100 of the therapist's components (see ``WARMTH_COMPONENTS``);
    components without data are left out and the weights renormalised."""
    values = dict(voice)
    if timing is not None:
        values["gap_median_s"] = timing.get("gap_median_s")
        n = (timing.get("interruptions") or 0) + (timing.get("failed_interruptions") or 0)
        values["talk_over_per_10min"] = n / (minutes / 10.0) if minutes > 0 else None
    comps = []
    for name, where, unit, warm, cool, source, direction in WARMTH_COMPONENTS:
        if where == "timing" and timing is None:
            continue
        v = values.get(name)
        s = _lin(v, warm, cool)
        comps.append({"name": name, "value": _r(v), "unit": unit, "score": _r(s), "warm_anchor": warm,
                      "cool_anchor": cool, "direction": direction, "source": source})
    used = [c for c in comps if c["score"] is not None]
    w = 100.0 / len(used) if used else 0.0
    for c in comps:
        c["weight"] = _r(w) if c["score"] is not None else 0.0
        c["contribution"] = _r(w * c["score"]) if c["score"] is not None else None
    score = sum(c["contribution"] for c in used) if used else None
    return {"score": _r(score), "components": comps, "n_components": len(used), "note": DISCLAIMER}


# --------------------------------------------------------------------------
# attunement (Levitan & Hirschberg 2011)
ATTUNE_FEATURES = ("pitch", "intensity", "rate")


def _ipu_features(sl: Slice, seg: Segment, base: SpeakerBaseline | None) -> dict:
    fr = sl.frames[seg.speaker]
    i0 = max(0, sl.grid.s_to_frames(seg.start_s) - sl.frame0)
    i1 = max(i0, sl.grid.s_to_frames(seg.end_s) - sl.frame0)
    f0 = fr["f0_hz"][i0:i1]
    f0 = f0[np.isfinite(f0)]
    lv = fr["rms_db"][i0:i1]
    n = sl.count_nuclei(seg.speaker, seg.start_s, seg.end_s)
    return {
        "pitch": float(np.mean(12 * np.log2(f0 / 100.0))) if len(f0) >= 5 else None,
        "intensity": float(np.mean(lv)) if len(lv) else None,
        "rate": n / seg.duration_s if seg.duration_s >= 0.3 else None,
    }


def exchanges(sl: Slice, cfg: MeasuresConfig) -> list[dict]:
    """For each speaker change: the previous speaker's last segment before it
    and the new speaker's first segment, with their features."""
    out = []
    segs = {s: sorted([x for x in sl.segments if x.speaker == s], key=lambda x: x.start_s) for s in sl.speakers}
    for t in sl.transitions:
        prev = [x for x in segs[t.from_speaker] if x.end_s <= t.from_end_s + 1e-6]
        nxt = [x for x in segs[t.to_speaker] if abs(x.start_s - t.to_start_s) < 1e-6]
        if not prev or not nxt:
            continue
        out.append({"time_s": t.to_start_s, "from": t.from_speaker, "to": t.to_speaker,
                    "a": _ipu_features(sl, prev[-1], None), "b": _ipu_features(sl, nxt[0], None)})
    return out


def _z_by_speaker(ex: list[dict], feat: str, direction: tuple[str, str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-score each speaker's IPU values of ``feat`` (over all IPUs in the
    exchanges); keep the exchanges in ``direction`` (from, to) if given."""
    vals: dict[str, list[float]] = {}
    for x in ex:
        for side, spk in (("a", x["from"]), ("b", x["to"])):
            v = x[side][feat]
            if v is not None:
                vals.setdefault(spk, []).append(v)
    stats = {s: (np.mean(v), np.std(v) if np.std(v) > 0 else 1.0) for s, v in vals.items()}
    a, b, t = [], [], []
    for x in ex:
        va, vb = x["a"][feat], x["b"][feat]
        if va is None or vb is None or (direction is not None and (x["from"], x["to"]) != direction):
            continue
        ma, sa = stats[x["from"]]
        mb, sb = stats[x["to"]]
        a.append((va - ma) / sa)
        b.append((vb - mb) / sb)
        t.append(x["time_s"])
    return np.array(a), np.array(b), np.array(t)


def _pearson(x, y) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _pearson_rows(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pearson r of ``x`` with each row of ``ys`` (rows are permutations of one
    vector, so they share its mean and SD)."""
    if len(x) < 3 or np.std(x) == 0 or np.std(ys[0]) == 0:
        return np.zeros(len(ys))
    zx = (x - x.mean()) / x.std()
    zy = (ys - ys[0].mean()) / ys[0].std()
    return zy @ zx / len(x)


def _with_chance(value: float, null: np.ndarray, higher_label: str, lower_label: str) -> dict:
    lo, hi = float(np.percentile(null, 2.5)), float(np.percentile(null, 97.5))
    reading = higher_label if value > hi else lower_label if value < lo else "within chance"
    return {"value": _r(value), "chance_low": _r(lo), "chance_high": _r(hi), "reading": reading}


def attunement(sl: Slice, cfg: MeasuresConfig, *, n_permutations: int | None = None,
               by_direction: bool = True) -> dict:
    """Proximity, synchrony and convergence per feature with permutation
    chance intervals (95 %), plus arousal co-regulation."""
    n_perm = n_permutations or cfg.n_permutations
    ex = exchanges(sl, cfg)
    out_ar = _arousal_coregulation(ex, cfg, n_perm)
    out: dict = {"n_exchanges": len(ex), "proximity": {}, "synchrony": {}, "convergence": {},
                 "note": "Synchrony is descriptive: higher is not better (Reich et al. 2014; "
                         "Gaume et al. 2019 did not replicate Imel et al. 2014)."}
    for feat in ATTUNE_FEATURES:
        a, b, t = _z_by_speaker(ex, feat)
        prox, sync, conv = _entrainment(a, b, t, cfg, n_perm)
        out["proximity"][feat], out["synchrony"][feat], out["convergence"][feat] = prox, sync, conv
    # the same per direction: does the therapist follow the client, and the client the therapist?
    out["by_direction"] = {}
    for frm, to in ((cfg.client, cfg.therapist), (cfg.therapist, cfg.client)) if by_direction else ():
        d = {"proximity": {}, "synchrony": {}}
        for feat in ATTUNE_FEATURES:
            a, b, t = _z_by_speaker(ex, feat, (frm, to))
            prox, sync, _ = _entrainment(a, b, t, cfg, n_perm)
            d["proximity"][feat], d["synchrony"][feat] = prox, sync
        out["by_direction"][f"{frm}->{to}"] = d
    out["arousal_coregulation"] = out_ar
    return out


def _entrainment(a: np.ndarray, b: np.ndarray, t: np.ndarray, cfg: MeasuresConfig, n_perm: int):
    """Proximity, synchrony, convergence of paired z-scores ``a`` (end of one
    turn) and ``b`` (start of the partner's next turn) at times ``t``."""
    if len(a) < cfg.min_exchanges:
        none = {"value": None, "chance_low": None, "chance_high": None,
                "reading": f"too few exchanges ({len(a)} < {cfg.min_exchanges})", "n": len(a)}
        return dict(none), dict(none), dict(none)
    rng = np.random.default_rng(cfg.seed)
    perms = rng.permuted(np.tile(np.arange(len(b)), (n_perm, 1)), axis=1)
    bp = b[perms]                                   # (n_perm, n) shuffled partner turns
    sim = -np.abs(a - b)
    prox_null = np.mean(-np.abs(a[None, :] - bp), axis=1)
    # Levitan & Hirschberg's non-adjacent comparison: K random other partner turns
    k = min(cfg.n_nonadjacent, len(b) - 1)
    offs = rng.permuted(np.tile(np.arange(1, len(b)), (len(a), 1)), axis=1)[:, :k]
    nonadj = -np.abs(a[:, None] - b[(np.arange(len(a))[:, None] + offs) % len(b)])
    prox = {**_with_chance(float(np.mean(sim)), prox_null, "more alike than chance", "less alike than chance"),
            "nonadjacent": _r(np.mean(nonadj)), "n": len(a)}
    sync = {**_with_chance(_pearson(a, b), _pearson_rows(a, bp), "synchronous beyond chance",
                           "anti-synchronous beyond chance"), "n": len(a)}
    conv = {**_with_chance(_pearson(t, sim), _pearson_rows(t, sim[perms]), "converging beyond chance",
                           "diverging beyond chance"), "n": len(a)}
    return prox, sync, conv


def _arousal_coregulation(ex: list[dict], cfg: MeasuresConfig, n_perm: int) -> dict:
    pairs = []
    for x in ex:
        if x["from"] == cfg.client and x["to"] == cfg.therapist:
            ca = _ipu_arousal(x["a"])
            tb = _ipu_arousal(x["b"])
            if ca is not None and tb is not None:
                pairs.append((ca, tb))
    if len(pairs) < cfg.min_exchanges:
        return {"value": None, "chance_low": None, "chance_high": None,
                "reading": f"too few client-to-therapist exchanges ({len(pairs)})", "n": len(pairs)}
    c, t = np.array(pairs).T
    c = (c - c.mean()) / (c.std() or 1.0)
    t = (t - t.mean()) / (t.std() or 1.0)
    rng = np.random.default_rng(cfg.seed + 1)
    null = _pearson_rows(c, t[rng.permuted(np.tile(np.arange(len(t)), (n_perm, 1)), axis=1)])
    return {**_with_chance(_pearson(c, t), null, "therapist mirrors the client's arousal",
                           "therapist calmer when the client is aroused (dampening)"), "n": len(pairs)}


def _ipu_arousal(f: dict) -> float | None:
    if f["pitch"] is None or f["intensity"] is None:
        return None
    return f["pitch"] / 12.0 + f["intensity"] / 20.0  # octaves + 20 dB units, z-scored later


# --------------------------------------------------------------------------
# cues
def cues(sl: Slice, voice: dict, timing: dict | None, cfg: MeasuresConfig, first: Segment | None) -> list[dict]:
    c = cfg.cues
    out = []
    th = cfg.therapist
    if timing is not None and c.monologue:
        holds = _holds(sl, th, first)
        if holds and holds[-1][1] >= sl.end_s - 1.0:  # holding the floor now
            dur = sl.end_s - holds[-1][0]
            if dur >= c.monologue_s:
                out.append({"kind": "monologue", "message": f"monologue {dur:.0f} s", "value": _r(dur)})
    if timing is not None and c.overlaps:
        a = sl.end_s - c.overlaps_window_s
        n = overlapping_starts(sl.segments, th, start_s=a)
        if n >= c.overlaps_count:
            out.append({"kind": "overlaps", "message": f"{n} overlaps in the last {c.overlaps_window_s / 60:.0f} minutes",
                        "value": n})
    if c.pace and voice.get("articulation_rate_rel") is not None and voice["articulation_rate_rel"] >= c.pace_above_baseline:
        out.append({"kind": "pace", "message": f"pace {voice['articulation_rate_rel'] * 100:.0f}% above your baseline",
                    "value": voice["articulation_rate_rel"]})
    if timing is not None and c.quick_answers:
        answers = [t for t in sl.transitions_all if t.to_speaker == th][-c.quick_answers_run:]
        if len(answers) == c.quick_answers_run and all(t.offset_s < c.quick_answer_s for t in answers):
            out.append({"kind": "quick_answers",
                        "message": f"you answered within {c.quick_answer_s * 1000:.0f} ms {c.quick_answers_run} times running",
                        "value": c.quick_answers_run})
    return out


# --------------------------------------------------------------------------
# summaries
def first_holder(segments: list[Segment], speakers: tuple[str, ...]) -> Segment | None:
    """The segment that opens the floor before the first speaker change: the
    first segment (as in ``TurnTracker``); ties go to the earlier speaker."""
    if not segments:
        return None
    order = {s: i for i, s in enumerate(speakers)}
    return min(segments, key=lambda s: (s.start_s, order.get(s.speaker, len(order))))


def summarize(sl: Slice, baseline: Baseline, cfg: MeasuresConfig, *, with_attunement: bool = True,
              with_cues: bool = False, n_permutations: int | None = None, first: Segment | None = None) -> dict:
    """All measures over one stretch of time."""
    minutes = (sl.end_s - sl.start_s) / 60.0
    voice = {spk: voice_measures(sl, spk, baseline.of(spk), cfg, first) for spk in sl.speakers}
    timing = {spk: timing_measures(sl, spk, cfg, first) for spk in sl.speakers} if sl.turn_taking else None
    th = cfg.therapist if cfg.therapist in sl.speakers else sl.speakers[0]
    out = {"start_s": _r(sl.start_s), "end_s": _r(sl.end_s), "baseline": baseline.kind, "voice": voice,
           "timing": timing,
           "warmth": warmth(voice[th], timing[th] if timing else None, minutes)}
    if with_attunement and sl.turn_taking:
        # rolling windows (with_cues) carry the pooled figures only; sessions also per direction
        out["attunement"] = attunement(sl, cfg, n_permutations=n_permutations, by_direction=not with_cues)
    if with_cues:
        _gate_rolling_warmth(out["warmth"], voice[th], sl, cfg)
        out["cues"] = cues(sl, voice[th], timing[th] if timing else None, cfg, first)
    return out


def warmth_min_speech_s(cfg: MeasuresConfig) -> float:
    """Therapist speech a rolling window needs before it shows warmth:
    ``warmth_min_speech_s``, at most a third of the window."""
    return min(cfg.warmth_min_speech_s, cfg.window_s / 3.0)


def _gate_rolling_warmth(w: dict, voice_th: dict, sl: Slice, cfg: MeasuresConfig) -> None:
    """A rolling window's warmth says nothing until the window holds enough of
    the therapist's speech (and speaker changes): early in a session the running
    baseline is the window itself, so every component reads "as usual" and the
    score would read ~100. Then ``score`` is None and ``not_enough`` says why."""
    speech_s = voice_th.get("speech_s") or 0.0
    n_ex = len(sl.transitions)
    need_s = warmth_min_speech_s(cfg)
    short = [f"{speech_s:.0f} s of therapist speech (needs {need_s:.0f} s)"] if speech_s < need_s else []
    if sl.turn_taking and n_ex < cfg.warmth_min_exchanges:
        short.append(f"{n_ex} speaker changes (needs {cfg.warmth_min_exchanges})")
    if not short:
        return
    w["score"] = None
    w["n_components"] = 0
    for c in w["components"]:
        c["weight"], c["contribution"] = 0.0, None
    w["not_enough"] = "not enough speech yet: " + ", ".join(short) + " in the window"


def session_slice(session, t0_s: float | None = None, t1_s: float | None = None) -> Slice:
    """A Slice of a built Session (``prosody.session.Session``)."""
    g = session.grid
    f0 = 0 if t0_s is None else g.s_to_frames(t0_s)
    f1 = session.n_frames if t1_s is None else min(session.n_frames, g.s_to_frames(t1_s))
    a, b = g.frames_to_s(f0), g.frames_to_s(f1)
    tt = session.turn_taking
    trs = session.turns.transitions if tt else []
    return Slice(
        grid=g, speakers=session.speakers, frame0=f0, frame1=f1,
        frames={s: {k: v[f0:f1] for k, v in session.frames[s].items()} for s in session.speakers},
        segments=[s for s in session.segments if s.end_s > a and s.start_s < b],
        transitions=[t for t in trs if a <= t.to_start_s < b],
        transitions_all=[t for t in trs if t.to_start_s < b],
        events=[e for e in (session.turns.events if tt else []) if a <= e.start_s < b],
        pauses=[p for p in (session.turns.pauses if tt else []) if a <= p.start_s < b],
        nuclei=[(s, t) for s, t in session.nuclei if a <= t < b],
        turn_taking=tt,
    )


def voice_quality_measures(chunks, speakers, t0_s: float = 0.0, t1_s: float | None = None) -> dict:
    """Jitter, shimmer, HNR and CPPS per speaker over the voiced runs starting
    in [t0_s, t1_s) (``engine.voice_quality.summarize_chunks``)."""
    from .engine.voice_quality import summarize_chunks
    return {spk: summarize_chunks(c for c in chunks if c.speaker == spk and c.start_s >= t0_s
                                  and (t1_s is None or c.start_s < t1_s)) for spk in speakers}


def session_baseline(session) -> Baseline:
    return Baseline("session", tuple(
        (s, speaker_baseline(session.frames[s], sum(1 for x, _ in session.nuclei if x == s), grid=session.grid))
        for s in session.speakers))


def session_measures(session, cfg: MeasuresConfig | None = None, *, profile: Baseline | None = None,
                     rolling: list[dict] | None = None) -> dict:
    """The ``measures`` block of a session: whole session, phases, rolling."""
    cfg = cfg or MeasuresConfig()
    base = profile or session_baseline(session)
    whole = session_slice(session)
    first = first_holder(whole.segments, whole.speakers)
    top = summarize(whole, base, cfg, first=first)
    d = session.duration_s
    phases = []
    for name, (x, y) in zip(("opening", "middle", "closing"),
                            ((0.0, cfg.phase_edges[0]), cfg.phase_edges, (cfg.phase_edges[1], 1.0))):
        sl = session_slice(session, x * d, y * d)
        ph = summarize(sl, base, cfg, with_attunement=False, first=first)
        ph["name"] = name
        phases.append(ph)
    vq = getattr(session, "voice_quality", None)
    if vq:
        for ph, (x, y) in zip(phases, ((0.0, cfg.phase_edges[0]), cfg.phase_edges, (cfg.phase_edges[1], 1.0))):
            ph["voice_quality"] = voice_quality_measures(vq, session.speakers, x * d, y * d if y < 1.0 else None)
    out = {
        "disclaimer": DISCLAIMER,
        "baseline": base.to_dict(),
        "network_delay_ms": cfg.network_delay_ms,
        "network_delay_note": ("client gaps corrected by the round trip (2 x one-way delay): the client heard the "
                               "therapist late and the answer arrived late; therapist gaps need no correction"),
        "voice": top["voice"],
        "timing": top["timing"],
        "warmth": top["warmth"],
        "attunement": top.get("attunement"),
        "voice_quality": voice_quality_measures(vq, session.speakers) if vq else None,
        "silences": silences(whole, cfg) if session.turn_taking else None,
        "phases": phases,
        "rolling": rolling or [],
        "config": dataclasses.asdict(cfg),
    }
    if session.turn_taking:
        for spk in session.speakers:
            out["timing"][spk]["silences_broken"] = sum(1 for s in out["silences"] if s["broken_by"] == spk)
    return out


# --------------------------------------------------------------------------
# streaming: rolling windows emitted by the pipeline
class RollingMeasures:
    """Stage: the pipeline's final frames, segments, turn items and nuclei ->
    window summaries every ``window_step_s`` over the last ``window_s``.

    A window ending at ``t`` is emitted once every frame before ``t`` is final
    and every turn decision about segments starting before ``t`` is made
    (``decided_until_s``), so the windows are the same whatever the block
    sizes. The baseline is the speaker's data so far (``running``) unless a
    profile is given.
    """

    def __init__(self, speakers: tuple[str, ...], cfg: MeasuresConfig | None = None, *, grid: Grid = GRID,
                 profile: Baseline | None = None, n_permutations: int = 100):
        self.speakers = tuple(speakers)
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
        self._first: Segment | None = None
        # running baseline: histograms of all speech frames so far, per speaker
        self._hist = {s: {k: np.zeros(len(e) + 1, dtype=np.int64) for k, e in _BASE_BINS.items()}
                      for s in self.speakers}
        self._base_upto = 0
        self._base_nuclei = {s: 0 for s in self.speakers}
        self._base_speech = {s: 0 for s in self.speakers}

    def push(self, frames, segments, turns, nuclei, *, decided_until_s: float, turn_taking: bool,
             final: bool = False) -> list[dict]:
        for fb in frames:
            buf = self._frames[fb.speaker]
            for k in ("is_speech", "f0_hz", "rms_db", "hf500_db"):
                buf[k] = np.concatenate([buf[k], getattr(fb, k)]) if k in buf else getattr(fb, k).copy()
        if frames:
            self._n = frames[0].start_frame + len(frames[0])
        self._segments += segments
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

    def _update_baseline(self, upto: int) -> Baseline:
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
            for key, vals in (("f0_st", 12 * np.log2(f0 / 100.0)), ("level_db", fr["rms_db"][lo:hi][sp]),
                              ("hf500_db", fr["hf500_db"][lo:hi][sp])):
                np.add.at(h[key], np.searchsorted(_BASE_BINS[key], vals), 1)
            self._base_speech[s] += int(sp.sum())
        t_prev, t_now = self.grid.frames_to_s(self._base_upto), self.grid.frames_to_s(upto)
        for s, t in self._nuclei:
            if t_prev <= t < t_now:
                self._base_nuclei[s] += 1
        self._base_upto = upto
        out = []
        for s in self.speakers:
            h = self._hist[s]
            f0_med, f0_sd = _hist_median_sd(h["f0_st"], _BASE_BINS["f0_st"])
            lv_med, lv_sd = _hist_median_sd(h["level_db"], _BASE_BINS["level_db"])
            hf_med, hf_sd = _hist_median_sd(h["hf500_db"], _BASE_BINS["hf500_db"])
            speech_s = self._base_speech[s] * self.grid.hop_s
            out.append((s, SpeakerBaseline(
                f0_median_hz=None if f0_med is None else float(100.0 * 2 ** (f0_med / 12)),
                f0_spread_st=f0_sd, level_median_db=lv_med, level_spread_db=lv_sd,
                hf500_median_db=hf_med, hf500_spread_db=hf_sd,
                articulation_rate_syl_s=self._base_nuclei[s] / speech_s if speech_s >= 1.0 else None)))
        return Baseline("running", tuple(out))

    def _window(self, end_frame: int, turn_taking: bool) -> dict:
        base = self._update_baseline(end_frame)
        start_frame = max(0, end_frame - self.grid.s_to_frames(self.cfg.window_s))
        look_frame = max(0, end_frame - self.keep_frames)
        a, b, look = (self.grid.frames_to_s(x) for x in (start_frame, end_frame, look_frame))
        i0, i1 = start_frame - self._f0, end_frame - self._f0
        if self._first is None and self._segments:
            self._first = first_holder(self._segments, self.speakers)
        sl = Slice(
            grid=self.grid, speakers=self.speakers, frame0=start_frame, frame1=end_frame,
            frames={s: {k: v[i0:i1] for k, v in self._frames[s].items()} for s in self.speakers},
            segments=[s for s in self._segments if s.end_s > look and s.start_s < b],
            transitions=[t for t in self._transitions if a <= t.to_start_s < b],
            transitions_all=[t for t in self._transitions if t.to_start_s < b],
            events=[e for e in self._events if a <= e.start_s < b],
            pauses=[p for p in self._pauses if a <= p.start_s < b],
            nuclei=[(s, t) for s, t in self._nuclei if a <= t < b],
            turn_taking=turn_taking,
        )
        w = summarize(sl, base, self.cfg, with_cues=True, n_permutations=self.n_permutations, first=self._first)
        return w

    def _prune(self) -> None:
        # keep frames still needed by the next window and by the running baseline
        keep_from = min(self._base_upto, max(0, self._next_end - self.keep_frames))
        cut = keep_from - self._f0
        if cut > 0:
            for s in self.speakers:
                self._frames[s] = {k: v[cut:] for k, v in self._frames[s].items()}
            self._f0 = keep_from
        t = self.grid.frames_to_s(keep_from) - 1.0
        self._segments = [s for s in self._segments if s.end_s > t - self.cfg.lookback_s]
        self._nuclei = [x for x in self._nuclei if x[1] >= t]
        self._events = [e for e in self._events if e.end_s >= t]
        self._pauses = [p for p in self._pauses if p.end_s >= t]
        # transitions are few (a few per minute): keep them all for floor holders and answer runs


_BASE_BINS = {
    "f0_st": np.arange(-40.0, 40.0, 0.05),      # semitones re 100 Hz
    "level_db": np.arange(-120.0, 10.0, 0.1),
    "hf500_db": np.arange(-60.0, 60.0, 0.1),
}


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


# --------------------------------------------------------------------------
def docs_markdown() -> str:
    """docs/measures.md, generated from the registry and the defaults."""
    cfg = MeasuresConfig()
    lines = ["# Measures", "", "Generated by `python -m prosody.measures > docs/measures.md` from `prosody/measures.py`;",
             "a test checks that this file matches the code.", "", f"> {DISCLAIMER}", "",
             "Every prosodic measure is relative to the speaker's own baseline: the session's medians and robust",
             "spreads (session and phase figures), the session so far (rolling windows), or a saved profile.",
             "", "## Definitions", "",
             "| measure | unit | formula | window | direction | source |", "|---|---|---|---|---|---|"]
    for m in MEASURES:
        lines.append(f"| `{m.name}` | {m.unit} | {m.formula} | {m.window} | {m.direction} | {m.source} |")
    from .engine.overlap_cues import rule_markdown
    lines += [""] + rule_markdown()
    lines += ["", "## Warmth components", "",
              "Each component maps its value linearly from the warm anchor (score 1) to the cool anchor (score 0),",
              "clipped; weights are equal over the components that have data; contribution = weight x score.",
              "The anchors are prosody's defaults, chosen to span typical values; the directions come from the sources.",
              "", "| component | unit | warm anchor | cool anchor | direction | source |", "|---|---|---|---|---|---|"]
    for name, where, unit, warm, cool, source, direction in WARMTH_COMPONENTS:
        lines.append(f"| `{name}` | {unit} | {warm} | {cool} | {direction} | {source} |")
    lines += ["", "## Defaults", "", "| setting | value |", "|---|---|"]
    for f in dataclasses.fields(MeasuresConfig):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            for g in dataclasses.fields(v):
                lines.append(f"| `{f.name}.{g.name}` | {getattr(v, g.name)} |")
        else:
            lines.append(f"| `{f.name}` | {v} |")
    lines += ["", "## Caveats", "",
              "* Network delay: in a video call the client hears the therapist one network delay late and the answer",
              "  reaches the therapist one more delay later, so the client's measured gaps are too long by the round",
              "  trip. `--network-delay-ms` (one-way) subtracts 2 x delay from the client's gaps; both raw and",
              "  corrected figures are shown. The therapist's gaps are measured on the therapist's side and need no",
              "  correction.",
              "* Synchrony is shown, never scored: more pitch synchrony went with a poorer alliance in one study",
              "  (Reich et al. 2014) and arousal synchrony findings did not replicate (Gaume et al. 2019).",
              "* A figure inside its chance interval (shuffled partner turns, 95 %) reads as chance.",
              "* Syllable nuclei undercount unstressed syllables (de Jong & Wempe 2009): use rates for relative change.",
              "* Session phases are fractions of the session (opening / middle / closing); compare like with like",
              "  (Soma et al. 2021).",
              "* One channel: turn-taking, attunement and the timing components of warmth are not available.",
              ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(docs_markdown(), end="")
