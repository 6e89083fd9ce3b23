"""Collect pipeline updates into a session and summarise it per speaker.

The session JSON schema (``prosody.session/2``) is documented in
``docs/session-schema.md``; ``to_json_dict`` is its one producer.
"""
from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass, field

import numpy as np

from .measures import Baseline, Measures, MeasuresConfig, RollingMeasures, RollingWindow, session_measures
from .engine.pipeline import Pipeline, Update
from .measures.slice import MIN_VOICED_FRAMES, MIN_VOICED_SHARE, enough_voiced, own_level_speech
from .timebase import GRID, Grid
from .typed_text import json_text
from .engine.turns import TurnOutput
from .types import FRAME_COLUMNS, FrameBlock, Segment, SpeakerStats

SCHEMA = "prosody.session/2"


@dataclass(frozen=True, slots=True)
class Session:
    """An analysed session: a frozen value (``SessionBuilder.build`` makes it;
    a changed copy is ``dataclasses.replace(session, ...)``). ``frames``: per
    speaker, the per-frame columns (``types.FRAME_COLUMNS``) as arrays of
    shape (n_frames,). ``to_json_dict`` is the JSON boundary."""

    speakers: tuple[str, ...]
    grid: Grid = GRID
    sources: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    turn_taking: bool = True
    config: dict = field(default_factory=dict)  # AnalysisConfig.to_dict() of the run
    n_frames: int = 0
    frames: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    segments: tuple[Segment, ...] = ()
    sounds: tuple[Segment, ...] = ()  # non-speech sounds kept out of the segments (engine.pipeline.is_sound)
    nuclei: tuple[tuple[str, float], ...] = ()
    turns: TurnOutput = TurnOutput()
    rolling: tuple[RollingWindow, ...] = ()
    voice_quality: tuple = ()  # VoiceQualityChunk per voiced run, in time order per speaker
    measures: Measures | None = None
    attribution: dict | None = None  # layout found and how speakers were attributed (prosody.speakers)
    # per speaker, the loudest frame in dBFS, not clipped at rms_db's floor (Pipeline.peak_db; -inf:
    # every sample zero or one constant value); known for a session just analysed, not stored
    peak_db: dict[str, float] = field(default_factory=dict)
    # two voices cut from one signal (Pipeline.one_signal): the level measures leave out the frames both hold
    # as speech (measures.slice.own_level_speech); known for a session just analysed, not stored
    one_signal: bool = False
    # per speaker, the gain (dB) its speech detection heard it with where a quiet recording was heard raised
    # (``engine.vad.hearing_gain_db``; {} for an ordinary recording): saved as the document's ``heard_raised_db``
    # and said in its notes (``heard_raised_note``)
    heard_raised_db: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.grid.frames_to_s(self.n_frames)

    def speaker_frames(self, speaker: str) -> dict[str, np.ndarray]:
        return self.frames[speaker]

    def segments_of(self, speaker: str) -> list[Segment]:
        return [s for s in self.segments if s.speaker == speaker]

    def _measures(self) -> Measures:
        return self.measures if self.measures is not None else session_measures(self)

    def stats(self) -> list[SpeakerStats]:
        """Per-speaker summary: a view of the whole-session measures (one
        computation: ``measures.voice`` and ``measures.timing``), plus the
        counts and medians that only this summary reports."""
        return self._stats_of(self._measures())

    def _stats_of(self, m: Measures) -> list[SpeakerStats]:
        return [self._stats(spk, m) for spk in self.speakers]

    def _stats(self, spk: str, m: Measures) -> SpeakerStats:
        fr = self.frames[spk]
        voice = m.voice[spk]
        timing = m.timing[spk] if self.turn_taking else {}
        speech = fr["is_speech"]
        f0 = fr["f0_hz"][speech]
        f0 = f0[np.isfinite(f0)]
        levels = fr["rms_db"][own_level_speech(self.frames, spk, self.speakers, one_signal=self.one_signal)]
        return SpeakerStats(
            speaker=spk,
            speech_s=voice["speech_s"],
            talk_share=timing.get("talk_share"),
            n_segments=len(self.segments_of(spk)),
            n_turns=sum(1 for t in self.turns.turns if t.speaker == spk) if self.turn_taking else None,
            f0_median_hz=float(np.median(f0)) if enough_voiced(len(f0), int(speech.sum())) else None,
            f0_sd_st=voice["f0_sd_st"],
            f0_range_st=voice["f0_range_st"],
            rms_db_median=float(np.median(levels)) if len(levels) else None,
            n_syllables=sum(1 for s, _ in self.nuclei if s == spk),
            speech_rate_syl_s=voice["speech_rate_syl_s"],
            articulation_rate_syl_s=voice["articulation_rate_syl_s"],
            gap_median_s=timing.get("gap_median_s"),
            overlaps=timing.get("overlaps"),
            interruptions=timing.get("interruptions"),
            failed_interruptions=timing.get("failed_interruptions"),
            backchannels=timing.get("backchannels"),
        )

    # -- outputs -------------------------------------------------------------
    def to_json_dict(self) -> dict:
        r = lambda x: None if x is None else round(float(x), 4)  # noqa: E731
        measures = self._measures()
        speakers = {}
        for s in self._stats_of(measures):
            d = {k: (r(v) if isinstance(v, float) else v) for k, v in s.__dict__.items() if k != "speaker"}
            speakers[s.speaker] = d
        notes = []
        if not self.turn_taking:
            # it said "needs one channel per speaker ... (null)": two voices on one channel are found too (not
            # with --speaker, which says one person speaks), and "(null)" is the JSON's word (walk-through)
            notes.append(ONE_SPEAKER_NOTE)
        for spk in self.speakers:  # the reason behind the "–" of pitch and pace (measures.slice.MIN_VOICED_SHARE)
            fr = self.frames[spk]
            n_speech = int(fr["is_speech"].sum())
            n_voiced = int((fr["is_speech"] & np.isfinite(fr["f0_hz"])).sum())
            if n_speech and not enough_voiced(n_voiced, n_speech):
                notes.append(f"{spk}: pitch and pace not shown, not enough voiced speech "
                             f"({100 * n_voiced / n_speech:.0f} % of the speech voiced, needs "
                             f"{100 * MIN_VOICED_SHARE:.0f} % and {MIN_VOICED_FRAMES} frames): whispering, "
                             f"or a voice outside the pitch search range (--pitch-range)")
        raised = {k: float(v) for k, v in self.heard_raised_db.items() if v}
        if raised:
            notes.append(heard_raised_note(raised, self.speakers))
        seg = lambda x: {"speaker": x.speaker, "start_s": r(x.start_s), "end_s": r(x.end_s)}  # noqa: E731
        return {
            "schema": SCHEMA,
            "duration_s": r(self.duration_s),
            "frame_hop_s": self.grid.hop_s,
            "sources": list(self.sources),
            **({"attribution": self.attribution} if self.attribution is not None else {}),
            "speaker_order": list(self.speakers),
            "turn_taking": self.turn_taking,
            "notes": notes,
            "warnings": list(self.warnings),
            "config": self.config,
            **({"heard_raised_db": raised} if raised else {}),
            "speakers": speakers,
            "segments": [seg(s) for s in self.segments],
            "turns": [seg(t) for t in self.turns.turns] if self.turn_taking else None,
            "pauses": [seg(p) for p in self.turns.pauses] if self.turn_taking else None,
            "transitions": [
                {"from_speaker": t.from_speaker, "to_speaker": t.to_speaker, "from_end_s": r(t.from_end_s),
                 "to_start_s": r(t.to_start_s), "offset_s": r(t.offset_s), "kind": t.kind}
                for t in self.turns.transitions] if self.turn_taking else None,
            "events": [{"kind": e.kind, "speaker": e.speaker, "start_s": r(e.start_s), "end_s": r(e.end_s)}
                       for e in self.turns.events] if self.turn_taking else None,
            "measures": measures.to_dict(),
        }


def new_pipeline(speakers: tuple[str, ...], config=None, *, measures: MeasuresConfig | None = None,
                 profile: Baseline | None = None, grid: Grid = GRID, cross_talk: bool = True,
                 hear_gain_db: tuple[float, ...] = ()) -> Pipeline:
    """The analysis pipeline with the rolling measures attached as its window stage."""
    rolling = RollingMeasures(tuple(speakers), measures or MeasuresConfig(), grid=grid, profile=profile,
                              one_signal=len(speakers) == 2 and not cross_talk)
    return Pipeline(speakers, config, grid=grid, rolling=rolling, cross_talk=cross_talk, hear_gain_db=hear_gain_db)


class SessionBuilder:
    """Consumes pipeline updates; ``build()`` returns the Session so far (a
    frozen value; call it again after more updates for a newer one), its
    measures computed with ``measures`` and the personal baseline ``profile``
    (the same values the pipeline's rolling stage was made with)."""

    def __init__(self, pipeline: Pipeline, *, sources: list[str] = (), measures: MeasuresConfig | None = None,
                 profile: Baseline | None = None):
        self.pipeline = pipeline
        self.measures_config = measures or MeasuresConfig()
        self.profile = profile
        self.sources = tuple(sources)
        self._chunks: dict[str, list[FrameBlock]] = {s: [] for s in pipeline.speakers}
        self._segments: list[Segment] = []
        self._sounds: list[Segment] = []
        self._nuclei: list[tuple[str, float]] = []
        self._turns: list[TurnOutput] = []
        self._rolling: list[RollingWindow] = []
        self._voice_quality: list = []

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The closed speech segments so far, in the order they were final."""
        return tuple(self._segments)

    def add(self, up: Update) -> None:
        for fb in up.frames:
            if len(fb):
                self._chunks[fb.speaker].append(fb)
        self._segments += up.segments
        self._sounds += up.sounds
        self._nuclei += up.nuclei
        self._turns.append(up.turns)
        self._rolling += up.rolling
        self._voice_quality += up.voice_quality

    def build(self) -> Session:
        frames = {spk: {k: (np.concatenate([getattr(b, k) for b in blocks]) if blocks else np.zeros(0, dtype))
                        for k, dtype in FRAME_COLUMNS.items()}
                  for spk, blocks in self._chunks.items()}
        s = Session(speakers=self.pipeline.speakers, grid=self.pipeline.grid, sources=self.sources,
                    turn_taking=self.pipeline.turn_taking, config=self.pipeline.config.to_dict(),
                    n_frames=self.pipeline.n_frames, frames=frames,
                    segments=tuple(sorted(self._segments, key=lambda x: (x.start_s, x.speaker))),
                    sounds=tuple(sorted(self._sounds, key=lambda x: (x.start_s, x.speaker))),
                    nuclei=tuple(sorted(self._nuclei, key=lambda x: (x[1], x[0]))),
                    turns=TurnOutput.concat(self._turns), rolling=tuple(self._rolling),
                    voice_quality=tuple(self._voice_quality), peak_db=self.pipeline.peak_db,
                    one_signal=self.pipeline.one_signal)
        return dataclasses.replace(s, measures=session_measures(s, self.measures_config, profile=self.profile,
                                                                rolling=s.rolling))


SILENT_SPEAKER_MARK = " never speaks: "  # "<speaker> never speaks: ...", silent_speaker_warnings' wording


def is_silent_speaker_warning(text: str, speakers) -> bool:
    """Whether ``text`` is a ``silent_speaker_warnings`` line of one of ``speakers`` (a
    session attributed again drops those of the attribution it replaces)."""
    return any(str(text).startswith(f"{spk}{SILENT_SPEAKER_MARK}") for spk in speakers)


def silent_speaker_warnings(session: Session, *, channels_alike: bool = False,
                            channels: dict[str, int] | None = None) -> tuple[str, ...]:
    """Warnings for the speakers of a session who never speak: their channel
    (``attribution["channels"]``, 1-based, where known) carries no signal
    throughout (every frame at ``framing.rms_db``'s floor: zeros, or a constant that
    the DC removal and high-pass take away) or holds no speech.
    Their share of 0 % and their "0 listening sounds" are then no behaviour of
    theirs, and the other's figures toward them have no data. A one-speaker
    session with no speech says so too (a muted or far-too-quiet recording read
    "time speaking 0.0 s" with no word of why).
    ``channels_alike``: the two channels read carry both voices (``speaker_channels._named_channels_shared``
    warned): a channel of sound whose speech is all gone was taken for the other's leak, not found empty ("no
    speech was found on the channel" was said of channels full of it; hostile sweep 53). ``channels``: each
    speaker's channel (1-based) where no attribution names them (a file of more than two channels read by
    ``--channels``: "the channel" was said of its channel 3; hostile sweep 58)."""
    chans = (session.attribution or {}).get("channels") or channels or {}
    out = []
    for spk in session.speakers:
        fr = session.frames.get(spk) or {}
        if len(fr.get("is_speech", ())) == 0 or fr["is_speech"].any():
            continue
        where = f"channel {chans[spk]}" if spk in chans else ("the channel" if len(session.speakers) > 1
                                                               else "the recording")
        what = (_no_signal(where, session.peak_db.get(spk), session.grid) if float(np.max(fr["rms_db"])) <= DIGITAL_SILENCE_DB
                else _taken_for_leak(where, spk, session.speakers) if channels_alike
                else f"no speech was found on {where}")
        toward = (f", and figures toward the {spk} (answering, talking over) have no data"
                  if len(session.speakers) > 1 else "")
        out.append(f"{spk}{SILENT_SPEAKER_MARK}{what}, so the {spk}'s figures describe no behaviour{toward}")
    return tuple(out)


def _taken_for_leak(where: str, speaker: str, speakers) -> str:
    """The words for a channel of speech all taken for the other speaker's leak (both channels carry both voices)."""
    other = next(s for s in speakers if s != speaker)
    return (f"the speech on {where} was all taken for the {other}'s leak (the two channels named carry both voices, "
            "as said above)")


DIGITAL_SILENCE_DB = -119.0   # rms_db clips exact zeros at -120 dBFS

# Speech this quiet (the median level of a voice's speech frames, dBFS) is partly missed by the voice activity
# detection: webrtcvad hears int16 samples of a few steps. The planted dialogue's separate channels (typical speech
# -24 dBFS) lowered: -54, -59, -64 dBFS the planted figures (waits 0.64 / 0.22 s, speech 24.1 / 15.1 s); -69 dBFS
# speech 23.1 / 13.3 s, the client's wait 0.07 s; -74 dBFS 11.9 / 2.9 s, talk share 0.81 for 0.62, the
# therapist's wait 1.39 s, no talk-over found: all without a word before (hostile sweep 22).
QUIET_SPEECH_DB = -65.0
QUIET_SPEECH_TARGET_DB = -30.0  # the level the advice raises typical speech to (20 dB and more of headroom)
# A file's analysis hears a quiet channel raised (``engine.vad.hearing_gain_db``; a live session does not): the
# planted figures came back down to -89 dBFS of typical speech in digital silence or under noise at -100 dBFS, and
# to -79 dBFS over noise at -90 dBFS; under this bar the speech stands too little over the recording's own noise
# (benchmarks/quiet_speech.py, hostile sweep 22's leftovers, docs/store.md)
QUIET_SPEECH_HEARD_RAISED_DB = -85.0


def quiet_speech_warnings(session: Session, *, source: str | None = None,
                          heard_raised_db: dict[str, float] | None = None,
                          channels: dict[str, int] | None = None) -> tuple[str, ...]:
    """Warnings for speech so quiet (``QUIET_SPEECH_DB``) that the voice activity detection misses part of
    it: per channel of separate channels, once for the voices of one mix (a shared or mono recording, whose
    voices are one signal). ``source``: the file, named in the advice to raise its level. ``heard_raised_db``:
    per speaker, the gain its speech detection heard it with (a file's analysis: ``VadConfig.hear_gain_db``);
    a voice heard raised is said only under ``QUIET_SPEECH_HEARD_RAISED_DB``, where raising it more helps no
    more, and the advice is to record louder. ``channels``: each speaker's channel (1-based) where no attribution
    names them (a live session: "the client's channel" was said where `analyze` says "channel 2 (client)";
    hostile sweep 61)."""
    raised = {s: g for s, g in (heard_raised_db or {}).items() if g}
    att = session.attribution or {}
    separate = att.get("layout") == "separate" or (not att and len(session.speakers) == 2)
    chans = att.get("channels") or channels or {}
    quiet = []
    for spk in session.speakers:
        fr = session.frames.get(spk) or {}
        sp = np.asarray(fr.get("is_speech", ()), bool)
        if sp.sum() < 100:  # under 1 s of speech: nothing to tell (silent speakers are said on their own)
            continue
        level = float(np.median(np.asarray(fr["rms_db"])[sp]))
        if level < (QUIET_SPEECH_HEARD_RAISED_DB if spk in raised else QUIET_SPEECH_DB):
            quiet.append((spk, level))
    if not quiet:
        return ()
    if any(spk in raised for spk, _ in quiet):
        too = (f"under about {QUIET_SPEECH_HEARD_RAISED_DB:.0f} dBFS, even heard louder, the speech stands too "
               "little over the recording's own noise for the voice activity detection to find all of it, so talk "
               "shares, waits and talk-overs may be wrong; record at a higher input level")
        if not separate:
            level = min(lv for _, lv in quiet)
            return (f"the recording is very quiet (its speech typically {level:.0f} dBFS): {too}",)
        return tuple(f"{f'channel {chans[spk]} ({spk})' if spk in chans else f'the {spk} channel'} is very quiet "
                     f"(its speech typically {level:.0f} dBFS): {too}" for spk, level in quiet)
    missed = (f"under about {QUIET_SPEECH_DB:.0f} dBFS the voice activity detection misses the quieter parts of "
              "speech (soft onsets and endings, short answers), so talk shares, waits and talk-overs may be wrong")
    if separate:
        out = []
        for spk, level in quiet:
            where = f"channel {chans[spk]} ({spk})" if spk in chans else f"the {spk}'s channel"
            out.append(f"{where} is very quiet (its speech typically {level:.0f} dBFS): {missed}; record it at a "
                       f"higher input level, or raise that channel's level by about "
                       f"{QUIET_SPEECH_TARGET_DB - level:.0f} dB before analysing it")
        return tuple(out)
    level = min(lv for _, lv in quiet)
    gain = QUIET_SPEECH_TARGET_DB - level
    how = (f" (e.g. `ffmpeg -i {shlex.quote(source)} -af volume={gain:.0f}dB louder.flac`)" if source else "")
    return (f"the recording is very quiet (its speech typically {level:.0f} dBFS): {missed}; record at a higher "
            f"input level, or raise the file's level by about {gain:.0f} dB before analysing it{how}",)


# the level difference's spread over two channels carrying one sound: its 80th percentile of absolute deviation, over
# the frames where both channels stand 10 dB and more above their own floors (each's 5th percentile level), read with
# the second channel moved by the delay between them. Two inputs of one mix are commonly 1-20 ms apart (two devices,
# two files of one call): at 3 ms the onsets' and offsets' levels moved the median deviation to 1.05 dB, over the 1.0
# dB it was held to (sweep 60). Read so, one mix at 0-50 ms, 0-3 dB apart, each input with its own hiss: 1.35 dB at
# most; a channel each of one dialogue, the other's voice leaking at -3 to -20 dB and 0-150 ms late, and the cross-talk
# benchmark's dialogues: 4.26 dB at least (a median deviation cannot tell them: it aligns with one voice's leak and
# takes the other voice's frames, under half of them, for the onsets it forgives)
SAME_SOUND_MAX_SPREAD_DB = 2.5
SAME_SOUND_SPREAD_PCT = 80
SAME_SOUND_OVER_FLOOR_DB = 10.0
# the delay looked for between the two (frames of ``hop_s`` to either side), found on the first minute of frames at
# most (a device's delay holds; an hour's check stays cheap) to a tenth of a frame (the power read between frames)
SAME_SOUND_MAX_LAG_S = 0.06
SAME_SOUND_LAG_SPAN_S = 60.0
# read 2 ms late and more (0.2 frame), within this level difference only: a channel that hears only the other's voice
# through a path (a silent client's microphone, a call channel's echo: 10-20 dB under, 30 ms late) is one sound late
# by its levels as much as a second input of one mix is, and was not said before (hostile sweep 17's planting); two
# devices or files of one mix are a few dB apart (the planted: 0-3 dB)
SAME_SOUND_LATE_S = 0.002
SAME_SOUND_LATE_MAX_DIFF_DB = 5.0
SAME_SOUND_MIN_RANGE_DB = 6.0
SAME_SOUND_MARK = "'s channels carry the same sound throughout"  # same_sound_warning's wording


# a one-mix session's channels may each show some speech (the cross-talk rejection lets a frame through where one
# input's own noise or a path a millisecond longer tips it): the speech each shows keeps the whole's level difference,
# where a channel of its own voice is 10 dB and more louder while it speaks (hostile sweep 58: the mix 1 dB quieter
# and 1 ms later on one input, -50 dBFS hiss on each, showed 0.3 s and 9.4 s of speech, their level difference 0.9
# dB as the whole's 0.8; a channel each of the fixture dialogue: -21 dB and +16 dB)
SAME_SOUND_OWN_SPEECH_DB = 3.0


def _read_later(pb: np.ndarray, lag: float, n: int) -> tuple[slice, np.ndarray]:
    """Frame levels (dB) of the powers ``pb`` read ``lag`` frames later (a fraction: the power between two frames,
    each frame's share of it) for frames ``t`` of ``range(n)`` where they exist: (those frames, the levels)."""
    k = int(np.floor(lag))
    f = lag - k
    lo, hi = max(0, -k), min(n, len(pb) - k - 1)
    q = (1.0 - f) * pb[lo + k:hi + k] + f * pb[lo + k + 1:hi + k + 1]
    return slice(lo, hi), 10.0 * np.log10(np.maximum(q, 1e-12))


def _level_spread(a, pb, ka, floor_b, lag):
    """(the level difference's spread, its ``SAME_SOUND_SPREAD_PCT`` percentile of deviation from its median; the
    difference on the frames kept; those frames; their slice) of levels ``a`` against the powers ``pb`` read ``lag``
    frames later, over the frames ``ka`` keeps where the other stands ``SAME_SOUND_OVER_FLOOR_DB`` over ``floor_b``
    too."""
    sl, b = _read_later(pb, lag, len(a))
    keep = ka[sl] & (b > floor_b + SAME_SOUND_OVER_FLOOR_DB)
    d = a[sl][keep] - b[keep]
    if not len(d):
        return np.inf, d, keep, sl
    return float(np.percentile(np.abs(d - np.median(d)), SAME_SOUND_SPREAD_PCT)), d, keep, sl


def same_sound_lag_span(hop_s: float) -> int:
    """The frames the delay between two channels of one sound is looked for on (``same_sound_read``): once both
    reach past them, the delay found is found again at every later read."""
    return int(round(SAME_SOUND_MAX_LAG_S / hop_s)) + int(round(SAME_SOUND_LAG_SPAN_S / hop_s))


def same_sound_db(a, b, *, min_s: float = 1.0, hop_s: float = 0.01, speech=None) -> float | None:
    """The level difference (dB, channel ``a`` less ``b``: the median) of two channels' frame levels (``rms_db``)
    that carry the same sound: one level difference throughout, within ``SAME_SOUND_MAX_SPREAD_DB`` (its
    ``SAME_SOUND_SPREAD_PCT`` percentile of deviation) over the frames where both stand ``SAME_SOUND_OVER_FLOOR_DB``
    over their floors, ``b`` read at its delay (up to ``SAME_SOUND_MAX_LAG_S`` either way: two devices or files of
    one mix; from ``SAME_SOUND_LATE_S`` on within ``SAME_SOUND_LATE_MAX_DIFF_DB`` of each other); of the frames
    above -60 dBFS at least ``min_s`` seconds, whose level varies by ``SAME_SOUND_MIN_RANGE_DB`` at least; else
    None. ``speech``: the two channels' ``is_speech``, where either may show some: the frames each shows as speech
    keep that difference (``SAME_SOUND_OWN_SPEECH_DB``), as no channel of its own voice does. One rule for the saved
    session and the live watch."""
    return same_sound_read(a, b, min_s=min_s, hop_s=hop_s, speech=speech)[0]


def same_sound_read(a, b, *, min_s: float = 1.0, hop_s: float = 0.01, speech=None,
                    lag: float | None = None) -> tuple[float | None, float | None]:
    """``same_sound_db``'s (level difference or None; the delay it read ``b`` at, in frames, or None where it
    looked for none). ``lag``: that delay, kept from an earlier read of the same channels past the first
    ``SAME_SOUND_LAG_SPAN_S`` (where it is looked for), not looked for again (the live watch: 24 level spreads
    over the first minute at every check, 5-8 ms an hour in; hostile sweep 61)."""
    n = min(len(a), len(b))
    a, b = np.asarray(a[:n], float), np.asarray(b[:n], float)
    louder = np.maximum(a, b)
    loud = louder > -60.0
    if loud.sum() * hop_s < min_s - 1e-9:  # under min_s of sound: nothing to tell
        return None, None
    if np.subtract(*np.percentile(louder[loud], [90, 10])) < SAME_SOUND_MIN_RANGE_DB:  # a steady noise: no evidence
        return None, None
    ka = loud & (a > np.percentile(a, 5) + SAME_SOUND_OVER_FLOOR_DB)
    floor_b, pb = float(np.percentile(b, 5)), 10.0 ** (b / 10.0)
    if lag is None:
        most = int(round(SAME_SOUND_MAX_LAG_S / hop_s))
        span = min(n, same_sound_lag_span(hop_s))

        def head(lag: float) -> float:  # the spread over the first SAME_SOUND_LAG_SPAN_S
            return _level_spread(a[:span], pb[:span], ka[:span], floor_b, lag)[0]

        whole = min(range(-most, most + 1), key=head)
        lag = min((whole + t / 10.0 for t in range(-5, 6)), key=head)
    spread, d, keep, sl = _level_spread(a, pb, ka, floor_b, lag)
    if len(d) * hop_s < 1.0 or spread > SAME_SOUND_MAX_SPREAD_DB:
        return None, lag
    diff = float(np.median(d))
    if abs(lag) * hop_s >= SAME_SOUND_LATE_S - 1e-9 and abs(diff) > SAME_SOUND_LATE_MAX_DIFF_DB:
        return None, lag
    for sp, at in zip(speech or (), (0, int(round(lag)))):  # b's frames where it is read (always there)
        own = np.asarray(sp[:n], bool)[sl.start + at:sl.stop + at][keep]
        if own.any() and abs(float(np.median(d[own])) - diff) > SAME_SOUND_OWN_SPEECH_DB:
            return None, lag
    return diff, lag


def same_sound_words(s1: str, s2: str, diff_db: float, *, span: str = "throughout") -> str:
    """How two speakers' channels of one sound are said (``same_sound_db``'s ``diff_db``; ``span``: over what)."""
    from .engine.speakers import level_words
    whose = f"the {s2}'s"
    return (f"the {s1}'s and {whose} channels carry the same sound {span} "
            f"({level_words(diff_db, whose, same='both at one level')})")


def same_sound_warning(session: Session) -> str | None:
    """The warning for a two-speaker session read channel by channel whose channels carry the same sound
    (``same_sound_db``): both voices on each channel, as on a table device, each taken for the other channel's leak
    (a live stereo device without ``--mono``: "never speaks" alone read as silence). Where neither channel is
    without speech, the speech shown is said to be no one's own (hostile sweep 58: said of none before)."""
    if len(session.speakers) != 2:
        return None
    frames = [session.frames.get(s) or {} for s in session.speakers]
    speech = [np.asarray(f.get("is_speech", ()), bool) for f in frames]
    diff = same_sound_db(*(f.get("rms_db", ()) for f in frames), hop_s=session.grid.hop_s, speech=speech)
    if diff is None:
        return None
    how = ("`--mono` reads such a device as one shared device (docs/live.md), `prosody analyze` attributes a "
           "recording of it")
    if silent_speaker_warnings(session):
        return (same_sound_words(*session.speakers, diff) + ": both voices on each channel, as on a table device, "
                "are each taken for the other channel's leak; " + how)
    shown = " and ".join(f"the {s}'s {float(sp.sum()) * session.grid.hop_s:.1f} s"
                         for s, sp in zip(session.speakers, speech))
    return (same_sound_words(*session.speakers, diff) + ": both voices on each channel, as on a table device, are "
            f"taken for the other channel's leak, and the speech shown ({shown}) is what slipped through, not who "
            "spoke: its turns, talk shares and talk-overs describe no one; " + how)


def _no_signal(where: str, peak_db: float | None, grid: Grid) -> str:
    """The words for a channel whose every frame is at rms_db's floor: digital silence only
    when nothing is left after DC removal (``peak_db`` -inf); a signal scaled far down (a float
    recording at -130 dBFS) is said as such, with its loudest frame's level."""
    if peak_db is None:  # a session whose levels below the floor are not known
        return (f"{where} carries no signal above -120 dBFS throughout (digital silence, or a signal far below "
                "any speech level)")
    if peak_db == -np.inf:
        return f"{where} is digital silence throughout (every sample zero, or one constant value)"
    return (f"{where} is far below any speech level throughout (its loudest {1000 * grid.hop_s:.0f} ms at "
            f"{peak_db:.0f} dBFS)")


HEARD_RAISED_MARK = "speech heard at "  # how the note of a recording heard raised begins (``heard_raised_note``)


def heard_raised_note(gains: dict[str, float], speakers) -> str:
    """The note of a session whose speech detection heard a quiet recording raised (``heard_raised_db``: per
    speaker, the gain in dB, those heard at 0 left out): one gain for every voice (a mix's, or channels alike)
    is said once, else per voice in speaker order."""
    speakers = tuple(speakers)
    told = [(s, float(gains[s])) for s in speakers + tuple(k for k in gains if k not in speakers) if gains.get(s)]
    same = len({f"{g:.0f}" for _, g in told}) == 1 and len(told) == len(speakers)  # alike as said (79.6 and 80)
    where = f"+{told[0][1]:.0f} dB" if same else ", ".join(f"+{g:.0f} dB ({s})" for s, g in told)
    return (f"{HEARD_RAISED_MARK}{where}: the recording is very quiet (its loudest speech under -50 dBFS), and the "
            "speech detection heard it that much louder; the levels reported are the recording's own")


ONE_SPEAKER_NOTE = ("one speaker: turn-taking needs two people's speech told apart (a channel each, or two voices "
                    "found in shared or mono audio), so turns, speaker changes and listening sounds are not reported")


def analyze_blocks(blocks, speakers: tuple[str, ...], config=None, *, sources: list[str] = (), on_block=None,
                   measures=None, profile=None, cross_talk: bool = True,
                   hear_gain_db: tuple[float, ...] = ()) -> Session:
    """Run the pipeline over an iterable of (n, n_speakers) 16 kHz blocks
    (``cross_talk=False``: diarized speaker channels, see ``Pipeline``; ``hear_gain_db``: per channel, the gain
    its speech detection hears it with, ``Pipeline``)."""
    pipe = new_pipeline(speakers, config, measures=measures, profile=profile, cross_talk=cross_talk,
                        hear_gain_db=hear_gain_db)
    builder = SessionBuilder(pipe, sources=list(sources), measures=measures, profile=profile)
    for block in blocks:
        builder.add(pipe.push(block))
        if on_block is not None:
            on_block(pipe.n_samples)
    builder.add(pipe.flush())
    return builder.build()


def dumps(d: dict) -> str:
    return json_text(d, indent=2) + "\n"


def one_signal_of(doc: dict) -> bool:
    """Whether a session document's two voices were cut from one signal (``Session.one_signal``, not stored): a
    shared or mono recording diarized into two voices (its ``attribution`` with a ``diarization``). A measure
    recomputed from a stored session's frames (``relabel``) reads them as the analysis did."""
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else None
    return bool(att and att.get("layout") in ("shared", "mono") and isinstance(att.get("diarization"), dict)
                and len(doc.get("speaker_order") or ()) == 2)


def attribution_of(doc: dict) -> tuple[str, str]:
    """(layout, how speakers were attributed) of a session document: its
    ``attribution`` object (``prosody.engine.speakers.Attribution.to_dict``), else
    what the speaker order says (files or channels given as one speaker each)."""
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else None
    if att and isinstance(att.get("layout"), str):
        return att["layout"], str(att.get("attribution") or "")
    if len(doc.get("speaker_order") or ()) == 1:
        return "mono", "one speaker given (no diarization)"
    return "separate", "one speaker per channel or file, as given"


def layout_named(doc: dict) -> str:
    """The layout of a session document and how its speakers were named, in two words for a table's cell (`batch`'s
    ``layout`` column; ``show`` and the JSON say it whole): "mono, rule" (no voice profile: the voice heard first
    taken for the therapist; separate channels in their default order), "mono, profile" (a voice profile decided),
    "separate, given" (``--channels``, two files, ``--speaker``), "shared, relabelled" (`prosody relabel` set
    them), "mono, unattributed" (the speech left neither's)."""
    from .types import UNATTRIBUTED
    layout, _ = attribution_of(doc)
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else {}
    naming = att.get("naming") if isinstance(att.get("naming"), dict) else None
    if "relabelled" in att:  # exchanged by the user (or back again): named by hand, whatever the rule was
        how = "relabelled"
    elif naming is None:
        how = "given"
    elif UNATTRIBUTED in (naming.get("names") or ()):
        how = UNATTRIBUTED
    elif naming.get("assumption") is not True and naming.get("profile_distances"):
        how = "profile"
    else:
        how = "rule"
    return f"{layout}, {how}"
