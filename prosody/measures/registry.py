"""The registry of measures (definition, unit, window, source, direction), the
measures configuration, and docs/measures.md generated from them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..types import UNATTRIBUTED


DISCLAIMER = ("Descriptive measures of voice and timing relative to the therapist's own baseline; "
              "not a clinical judgement of empathy or of the therapy.")
# an unsure recording's one voice is no one's: its figures are relative to the recording's own medians (a
# personal baseline is not used on it), and they may be both people's
UNATTRIBUTED_DISCLAIMER = ("Descriptive measures of voice and timing relative to this recording's own medians: "
                           f"who spoke when is unsure, so its speech is one voice, {UNATTRIBUTED}, that may be "
                           "either person's or both people's; not a clinical judgement of empathy or of the therapy.")


def disclaimer_for(speakers) -> str:
    """The disclaimer that says what a recording's figures are relative to."""
    return UNATTRIBUTED_DISCLAIMER if UNATTRIBUTED in tuple(speakers or ()) else DISCLAIMER


# --------------------------------------------------------------------------
# configuration
@dataclass(frozen=True)
class CueConfig:
    """Gentle cues for the live view. Those that could distract are off by default."""

    monologue: bool = True
    monologue_s: float = 90.0
    # a silence this long (nobody speaking) ends a monologue: the therapist who waited 85 s in silence and
    # then spoke again was told "monologue 101 s" (hostile sweep 20); 3 s, the therapeutic silences of
    # psychotherapy research (Levitt 2001: pauses of 3 s or more)
    monologue_silence_s: float = 3.0
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
    warmth_min_session_speech_s: float = 10.0  # session warmth: therapist speech needed in the whole session
    warmth_min_phase_speech_s: float = 2.0     # phase warmth: in the phase (and the session's own need met)
    warmth_min_components: int = 3     # warmth: components with data needed for a score
    seed: int = 0
    cues: CueConfig = field(default_factory=CueConfig)

    @property
    def lookback_s(self) -> float:
        return max(self.window_s, self.cues.overlaps_window_s)


def roles(speakers, *, therapist: str = "therapist", client: str = "client") -> tuple[str | None, str | None]:
    """(therapist, client) among ``speakers`` (names, channel order): the speaker named
    ``therapist``, else the first not named ``client`` (as ``store.db.speaker_roles``),
    None when there is none (a recording of the client alone); the client the one named
    ``client``, else the first other speaker (None when there is none). A voice left
    ``UNATTRIBUTED`` (who spoke when is unsure) is neither."""
    names = [s for s in speakers if s != UNATTRIBUTED]
    th = therapist if therapist in names else next((s for s in names if s != client), None)
    cl = client if client in names else next((s for s in names if s != th), None)
    return th, cl


def therapist_of(speakers, cfg: MeasuresConfig) -> str | None:
    """The therapist among ``speakers`` (``roles``). Warmth, cues and baseline
    comparisons addressed to "you" are the therapist's and are never computed on
    another voice."""
    return roles(speakers, therapist=cfg.therapist, client=cfg.client)[0]


def with_roles(speakers, cfg: MeasuresConfig) -> MeasuresConfig:
    """``cfg`` whose ``therapist`` / ``client`` are the names this recording uses
    (``--channels dr_ann=left,mr_x=right``; ``roles``, a client by order only where
    one other speaker is left). The measures per direction (client -> therapist
    attunement, arousal co-regulation) and the client's network-delay correction
    look the two up by name, and with other names found nobody. ``cfg`` itself
    where the default names are used or a role is missing."""
    names = list(speakers)
    th, cl = roles(names, therapist=cfg.therapist, client=cfg.client)
    if cl != cfg.client and len([s for s in names if s != th]) != 1:
        cl = None
    if th is None or cl is None or (th, cl) == (cfg.therapist, cfg.client):
        return cfg
    return replace(cfg, therapist=th, client=cl)


def no_therapist_note(speakers) -> str:
    """Why a recording without a therapist has no warmth."""
    if UNATTRIBUTED in speakers:
        return (f"who spoke when is unsure in this recording: its speech is left {UNATTRIBUTED} (it may be "
                "either person's or both people's), and warmth is the therapist's measure, never computed on speech "
                "that may be another's")
    return (f"no therapist in this recording (speakers: {', '.join(speakers) or 'none'}): "
            "warmth is the therapist's measure")


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
    _d("voice.speech_rate_syl_s", "syl/s", "syllable nuclei / (time holding the floor, pauses included, + own speech outside it)", "window / session", SRC_DJW,
       "higher = faster"),
    _d("voice.articulation_rate_syl_s", "syl/s", "syllable nuclei / phonation time (speech time less its pauses of "
       ">= 0.3 s and its quiet edges, quiet = under the speech's 0.99 level quantile - 25 dB)", "window / session",
       SRC_DJW, "higher = faster"),
    _d("voice.articulation_rate_rel", "ratio", "articulation rate / baseline articulation rate - 1", "window / session",
       SRC_SPOONER, "higher = faster than own baseline"),
    _d("voice.pause_rate_per_min", "1/min", "pauses inside own turns (each where it ends) per minute of floor time",
       "window / session", SRC_HE10, "higher = more pausing"),
    _d("voice.pause_median_s", "s", "median length of pauses inside own turns (each where it ends)",
       "window / session", SRC_HE10, "higher = longer pauses"),
    _d("voice.arousal_z", "z", "mean of (median - baseline median) / baseline robust SD for log-F0, intensity and HF500",
       "window / session", SRC_BONE, "higher = more aroused than own baseline"),
    _d("voice.pitch_raised_share", "share", "voiced speech frames with F0 > baseline + 2 st / voiced speech frames",
       "window / session", SRC_XIAO14, "higher = more time with raised pitch"),
    _d("voice.level_raised_share", "share", "speech frames with level > baseline + 6 dB / speech frames",
       "window / session", SRC_XIAO14, "higher = more time louder than usual"),
    _d("voice.rushed_share", "share", "phonation time in segments whose articulation rate > 1.2 x baseline / "
       "phonation time",
       "window / session", SRC_SPOONER, "higher = more rushed speech"),
    _d("timing.talk_share", "share", "own speech time / both speakers' speech time", "window / phase / session",
       "conversation analytics talk ratio", "higher = talks more"),
    _d("timing.turns_per_min", "1/min", "turns started / minutes", "window / session", SRC_HE10,
       "higher = more turn exchanges"),
    _d("timing.longest_monologue_s", "s", "longest own turn (clipped to the window), a turn cut at each silence "
       "of `cues.monologue_silence_s` or more in which nobody speaks", "window / session",
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
       "above the robust straight-line trend of the power cepstrum (10 kHz, 0.1 s Gaussian window, every 40 ms, "
       "smoothed over 3 such frames)",
       "phase / session", SRC_CPPS, "higher = clearer periodic voice; lower with breathiness or dysphonia"),
    _d("warmth.score", "0-100", "sum of component contributions; each component maps its value linearly "
       "between a warm and a cool anchor to 0..1, weights equal, missing components left out",
       "window / phase / session", "see components", "higher = the therapist's voice and timing moved in the "
       "directions the research associates with warmth, relative to their own baseline; null (\"not enough "
       "speech\") when the session holds < warmth_min_session_speech_s (10 s) of therapist speech, or a phase < "
       "warmth_min_phase_speech_s (2 s); null (\"not enough data\") when fewer than warmth_min_components (3) "
       "components have data; the wait before answering and talking over the client have no data when the "
       "client never spoke; null with no components (\"no therapist in this recording\") when no speaker is the "
       "therapist: the one named therapist, else the first not named client (a recording of the client alone)"),
    _d("warmth.score (rolling)", "0-100", "as warmth.score; null (\"not enough speech yet\") until the window holds "
       ">= warmth_min_speech_s (20 s, at most a third of the window) of therapist speech and, with two channels, >= warmth_min_exchanges (2) "
       "speaker changes", "window", "see components",
       "null = too little speech in the window to say anything (the running baseline is the window itself early on)"),
)


# --------------------------------------------------------------------------
