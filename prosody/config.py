"""Analysis configuration: frozen values, validated once, with defaults that name their source.

Load/save as TOML (``AnalysisConfig.from_toml`` / ``to_toml``).
"""
from __future__ import annotations

import dataclasses
import datetime
import math
import tomllib
from dataclasses import dataclass, field, fields

from .errors import ConfigError, parse_problem
from .types import UNATTRIBUTED, name_problem


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


@dataclass(frozen=True)
class VadConfig:
    """Voice activity: webrtcvad + level gate + bleed rejection + hysteresis.

    ``aggressiveness``: webrtcvad mode 0-3. ``gate_db``: a frame must be this far
    above the channel's own noise floor (a running 10th percentile of frame
    levels). ``min_duration_on_s`` / ``min_duration_off_s`` / ``pad_onset_s`` /
    ``pad_offset_s`` follow pyannote.audio's ``Binarize`` names.
    """

    aggressiveness: int = 2
    highpass_hz: float = 150.0  # VAD listens above this (rumble, breath and handling noise sit below)
    gate_db: float = 9.0
    floor_window_s: float = 8.0
    floor_percentile: float = 10.0
    # in noise, on a one-speaker channel (RawVad(noise_following=True)): the gate comes down with
    # the channel's own range (its loud frames' level, the range_percentile over range_window_s,
    # less the floor less gate_range_margin_db), never below gate_low_db (>= gate_db: a fixed gate)
    gate_low_db: float = 3.0
    gate_range_margin_db: float = 24.0
    range_window_s: float = 30.0
    range_percentile: float = 95.0
    gate_hold_s: float = 1.0  # ... within this long after a frame over gate_db
    min_duration_on_s: float = 0.10
    min_duration_off_s: float = 0.60
    pad_onset_s: float = 0.0
    pad_offset_s: float = 0.0
    # a room's reverberant tail at a stretch's end (SpeechSmoother, engine.vad.room_tail): the end moves back to
    # the direct sound's end by at most this much (0 turns it off). On two channels with a cross-talk stage
    # (separate microphones) only; within the cross-talk rule's wait there (bleed_short_s): no added latency.
    # Mono and shared recordings: the tail is found on the mix before attribution (speakers.room_tails,
    # bounded by Attribution.tail_trim_max_s, this default)
    tail_trim_max_s: float = 0.4
    # cross-talk (prosody.engine.crosstalk): a raw speech frame is the other channel's leak
    # when less than bleed_min_own of its power lies bleed_margin_db above the leak
    # predicted through the path learnt from the session (delay 0..bleed_max_lag_s);
    # bleed_min_own=0 turns cross-talk rejection off
    bleed_margin_db: float = 6.0
    bleed_min_own: float = 0.2
    bleed_max_lag_s: float = 0.15
    bleed_min_block_s: float = 0.30  # a cross-talk run this long ends this speaker's stretch (no merge across)
    bleed_min_duration_on_s: float = 0.15  # a stretch with cross-talk frames inside needs this much raw speech
    # with a cross-talk stage, a stretch shorter than this needs min_duration_on_s of raw speech frames, not
    # only of extent (leak passed as a few scattered frames that the merge bridges; 0 turns this off)
    bleed_short_s: float = 0.40
    # clicks (Pipeline channels, engine.vad.ClickMarks): keyboard clicks, taps and knocks, which webrtcvad and the
    # level gate take for speech. A click starts at a 2 ms block click_attack_db over the 20 ms before it whose
    # frame holds click_hf_share of its power above 1.5 kHz and whose level falls click_decay_db within 30 ms;
    # it lasts while the level falls (up to click_max_s) and takes the frames within click_spread_s of its own.
    # Click frames join no stretch, and a stretch whose extent holds click frames needs click_min_own_share of
    # its raw frames to be its own. click_attack_db = 0 turns the marks off
    click_attack_db: float = 10.0
    click_decay_db: float = 6.0
    click_hf_share: float = 0.3  # ... whose power lies this much above 1.5 kHz (a vowel's: under 0.2)
    click_max_s: float = 0.4
    click_spread_s: float = 0.06  # frames this close to a click's are the click's (its release, its resonances)
    click_min_own_share: float = 0.5
    # a gain (dB) on what the speech detection hears, and only there: webrtcvad's int16 samples and the absolute
    # bars (SPEECH_MIN_LEVEL_DB, the noise floor's digital silence; every other gate is relative to the channel's
    # own floor). A recording whose speech
    # lies far under ordinary levels is heard as if raised (engine.vad.hearing_gain_db); 0 for ordinary
    # recordings, whose decisions are then bit for bit as before. The levels reported stay the file's own
    hear_gain_db: float = 0.0

    def validate(self) -> None:
        _check(self.aggressiveness in (0, 1, 2, 3),
               f"vad.aggressiveness={self.aggressiveness} must be 0, 1, 2 or 3")
        for name in ("min_duration_on_s", "min_duration_off_s", "pad_onset_s", "pad_offset_s", "tail_trim_max_s"):
            v = getattr(self, name)
            _check(0.0 <= v <= 5.0, f"vad.{name}={v} must be within 0..5 s")
        _check(20.0 <= self.highpass_hz <= 1000.0,
               f"vad.highpass_hz={self.highpass_hz} must be within 20..1000 Hz")
        _check(0.0 <= self.gate_db <= 60.0, f"vad.gate_db={self.gate_db} must be within 0..60 dB")
        _check(0.0 <= self.hear_gain_db <= 80.0, f"vad.hear_gain_db={self.hear_gain_db} must be within 0..80 dB")
        _check(0.0 <= self.gate_low_db <= 60.0, f"vad.gate_low_db={self.gate_low_db} must be within 0..60 dB")
        _check(0.0 <= self.gate_range_margin_db <= 80.0,
               f"vad.gate_range_margin_db={self.gate_range_margin_db} must be within 0..80 dB")
        _check(0.0 <= self.gate_hold_s <= 5.0, f"vad.gate_hold_s={self.gate_hold_s} must be within 0..5 s")
        _check(1.0 <= self.range_window_s <= 300.0,
               f"vad.range_window_s={self.range_window_s} must be within 1..300 s")
        _check(50.0 <= self.range_percentile < 100.0,
               f"vad.range_percentile={self.range_percentile} must be within [50, 100)")
        _check(1.0 <= self.floor_window_s <= 120.0,
               f"vad.floor_window_s={self.floor_window_s} must be within 1..120 s")
        _check(0.0 < self.floor_percentile < 50.0,
               f"vad.floor_percentile={self.floor_percentile} must be within (0, 50)")
        _check(0.0 <= self.bleed_margin_db <= 40.0,
               f"vad.bleed_margin_db={self.bleed_margin_db} must be within 0..40 dB")
        _check(0.0 <= self.bleed_min_own < 1.0,
               f"vad.bleed_min_own={self.bleed_min_own} must be within [0, 1) (0 turns cross-talk rejection off)")
        _check(0.0 < self.bleed_max_lag_s <= 0.5,
               f"vad.bleed_max_lag_s={self.bleed_max_lag_s} must be within (0, 0.5] s")
        _check(0.0 <= self.bleed_min_block_s <= 5.0,
               f"vad.bleed_min_block_s={self.bleed_min_block_s} must be within 0..5 s "
               "(a longer run than min_duration_off_s acts as min_duration_off_s)")
        _check(0.0 <= self.bleed_min_duration_on_s <= 1.0,
               f"vad.bleed_min_duration_on_s={self.bleed_min_duration_on_s} must be within 0..1 s")
        _check(0.0 <= self.bleed_short_s <= 1.0,
               f"vad.bleed_short_s={self.bleed_short_s} must be within 0..1 s (0 turns the rule off)")
        _check(0.0 <= self.click_attack_db <= 60.0,
               f"vad.click_attack_db={self.click_attack_db} must be within 0..60 dB (0 turns the click rule off)")
        _check(0.0 <= self.click_decay_db <= 60.0, f"vad.click_decay_db={self.click_decay_db} must be within 0..60 dB")
        _check(0.0 <= self.click_hf_share <= 1.0, f"vad.click_hf_share={self.click_hf_share} must be within 0..1")
        _check(0.01 <= self.click_max_s <= 2.0, f"vad.click_max_s={self.click_max_s} must be within 0.01..2 s")
        _check(0.0 <= self.click_spread_s <= 0.2, f"vad.click_spread_s={self.click_spread_s} must be within 0..0.2 s")
        _check(0.0 <= self.click_min_own_share <= 1.0,
               f"vad.click_min_own_share={self.click_min_own_share} must be within 0..1")


@dataclass(frozen=True)
class PitchConfig:
    """Pitch search range per speaker, in Hz (defaults 50-600 Hz)."""

    fmin_hz: float = 50.0
    fmax_hz: float = 600.0

    def validate(self, where: str = "pitch.") -> None:
        """``where`` names the range in messages: ``pitch.``, ``pitch_by_speaker.client.`` or
        ``--pitch-range 'client=75-400': ``."""
        lo, hi = self.fmin_hz, self.fmax_hz
        head = "" if where == "pitch." else where.rstrip(".: ") + ": "  # "pitch: pitch range" says it twice
        _check(30.0 <= lo, f"{where}fmin_hz={lo} is below 30 Hz; use fmin_hz>=30")
        _check(hi <= 2000.0, f"{where}fmax_hz={hi} is above 2000 Hz; use fmax_hz<=2000")
        # a reversed range is named so only where its swap lies within 30-2000 Hz (a fix that is one)
        _check(hi >= lo or not (30.0 <= hi and lo <= 2000.0),
               f"{head}pitch range {lo}-{hi} Hz is reversed (the lowest pitch first); "
               f"use {hi}-{lo}")
        _check(lo <= 1000.0, f"{where}fmin_hz={lo} is above 1000 Hz: the range needs one octave under the "
                             "2000 Hz ceiling; use fmin_hz<=1000")
        _check(hi >= 60.0, f"{where}fmax_hz={hi} is below 60 Hz: the range needs one octave over the "
                           "30 Hz floor; use fmax_hz>=60")
        _check(hi >= 2 * lo,
               f"{head}pitch range {lo}-{hi} Hz is narrower than one octave; "
               f"use fmax_hz >= 2 * fmin_hz")


@dataclass(frozen=True)
class RateConfig:
    """Syllable nuclei after de Jong & Wempe (2009): threshold = q99 - 25 dB, 2 dB dip."""

    silence_below_q99_db: float = 25.0
    min_dip_db: float = 2.0

    def validate(self) -> None:
        _check(0.0 < self.silence_below_q99_db <= 60.0,
               f"rate.silence_below_q99_db={self.silence_below_q99_db} must be within (0, 60]")
        _check(0.0 < self.min_dip_db <= 20.0, f"rate.min_dip_db={self.min_dip_db} must be within (0, 20]")


@dataclass(frozen=True)
class TurnConfig:
    """Turn-taking (Heldner & Edlund 2010; Gravano & Hirschberg 2011).

    ``backchannel_max_s``: a listener vocalisation shorter than this after which
    the speaker keeps the floor is a backchannel. ``interruption_min_overlap_s``:
    a floor-taking start in overlap counts as an interruption when the overlap
    lasts at least this long (shorter ones are ordinary overlapping transitions).
    ``decision_horizon_s``: how long after a short listener segment the tracker
    looks for who speaks next; every turn decision is final this long after
    the segment ends.
    ``sound_max_s`` / ``sound_max_voiced_share``: a speech segment shorter than
    ``sound_max_s`` whose frames the pitch tracker calls voiced less than
    ``sound_max_voiced_share`` of the time is a non-speech sound (a cough, a
    sniff, a breath, a nose blow), not a turn, a backchannel or an
    interruption (``engine.pipeline.SoundFilter``; 0: off). Speech is voiced
    (Ladefoged & Johnson 2011: every English syllable nucleus is a voiced
    vowel or sonorant; "mm", "mhm", "yeah", "okay" are voiced throughout).
    """

    backchannel_max_s: float = 0.8
    interruption_min_overlap_s: float = 0.3
    decision_horizon_s: float = 5.0
    sound_max_s: float = 0.0
    sound_max_voiced_share: float = 0.3

    def validate(self) -> None:
        _check(0.1 <= self.backchannel_max_s <= 5.0,
               f"turns.backchannel_max_s={self.backchannel_max_s} must be within 0.1..5 s")
        _check(1.0 <= self.decision_horizon_s <= 60.0,
               f"turns.decision_horizon_s={self.decision_horizon_s} must be within 1..60 s")
        _check(0.0 <= self.interruption_min_overlap_s <= 5.0,
               f"turns.interruption_min_overlap_s={self.interruption_min_overlap_s} must be within 0..5 s")
        _check(0.0 <= self.sound_max_s <= 5.0, f"turns.sound_max_s={self.sound_max_s} must be within 0..5 s")
        _check(0.0 <= self.sound_max_voiced_share <= 1.0,
               f"turns.sound_max_voiced_share={self.sound_max_voiced_share} must be within 0..1")


MAX_PITCH_RANGES = 64  # [pitch_by_speaker] tables in one config (one file may serve several recordings' names)


@dataclass(frozen=True)
class AnalysisConfig:
    vad: VadConfig = field(default_factory=VadConfig)
    pitch: PitchConfig = field(default_factory=PitchConfig)
    rate: RateConfig = field(default_factory=RateConfig)
    turns: TurnConfig = field(default_factory=TurnConfig)
    # per-speaker pitch ranges override ``pitch`` (e.g. {"client": PitchConfig(75, 400)})
    pitch_by_speaker: tuple[tuple[str, PitchConfig], ...] = ()

    def validate(self) -> "AnalysisConfig":
        self.vad.validate()
        self.pitch.validate()
        self.rate.validate()
        self.turns.validate()
        for name, pc in self.pitch_by_speaker:
            pc.validate(f"pitch_by_speaker.{name}.")
        return self

    def unused_pitch_ranges(self, speakers) -> tuple[str, ...]:
        """A warning for each ``[pitch_by_speaker.NAME]`` that names none of
        ``speakers`` (a recording's): its range would go unused without a word."""
        # an unsure recording's one voice: naming it as the table does (--speaker) would give a person speech
        # that may be both people's; the way out is the table of that name, or --voices 2
        unsure = tuple(speakers) == (UNATTRIBUTED,)
        how = (f"who spoke when is unsure, so no voice is named {{name!r}} ([pitch_by_speaker.{UNATTRIBUTED}] "
               "sets the range of its one voice; --voices 2 keeps the split in two)" if unsure
               else "name the channels as the configuration does (--channels, --speaker) or rename its table")
        # [pitch_by_speaker.unattributed] on a recording whose voices are told apart: --channels and --speaker
        # refuse that name, so say what the table is for instead of how to name it
        only_unsure = (f"[pitch_by_speaker.{UNATTRIBUTED}] applies only to a recording where who spoke when is "
                       "unsure (its one voice), which this one is not; name its speakers' tables to set their "
                       "ranges")
        return tuple(f"the configuration's pitch range for {name!r} ([pitch_by_speaker]) was not used: this "
                     f"recording's speakers are {', '.join(map(repr, speakers))}; "
                     f"{only_unsure if name == UNATTRIBUTED and not unsure else how.format(name=name)}"
                     for name, _ in self.pitch_by_speaker if name not in speakers)

    def pitch_for(self, speaker: str) -> PitchConfig:
        for name, pc in self.pitch_by_speaker:
            if name == speaker:
                return pc
        return self.pitch

    def to_dict(self) -> dict:
        d = {s: dataclasses.asdict(getattr(self, s)) for s in ("vad", "pitch", "rate", "turns")}
        d["pitch_by_speaker"] = {n: dataclasses.asdict(pc) for n, pc in self.pitch_by_speaker}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AnalysisConfig":
        """A configuration from parsed TOML; every malformed shape (a section that is
        not a table, a value of the wrong type, an unknown key) raises ConfigError
        naming the key. A ``[moments]`` table is left to ``prosody.moments``."""
        sections = {"vad": VadConfig, "pitch": PitchConfig, "rate": RateConfig, "turns": TurnConfig}
        if not isinstance(d, dict):
            raise ConfigError(f"a config is a TOML table of sections, not {type(d).__name__}")
        kw = {}
        for key, value in d.items():
            if key == "pitch_by_speaker":
                _table(value, key, example='[pitch_by_speaker.client] with fmin_hz = 75.0, fmax_hz = 400.0')
                if len(value) > MAX_PITCH_RANGES:  # 15,000 were taken: a warning each, 45,000 lines of `show`
                    raise ConfigError(f"[pitch_by_speaker] names {len(value):,} speakers; at most "
                                      f"{MAX_PITCH_RANGES} are taken (a recording has at most 8)")
                ranges = []
                for n, v in value.items():
                    problem = name_problem(n)
                    if problem is not None:
                        raise ConfigError(f"[pitch_by_speaker] speaker name {n!r}: {problem}")
                    ranges.append((n, _build(PitchConfig, v, f"pitch_by_speaker.{n}")))
                kw[key] = tuple(ranges)
            elif key in sections:
                kw[key] = _build(sections[key], value, key)
            elif key == "moments":
                continue  # read by moments, play, note and report (prosody.moments): one file serves every command
            else:
                raise ConfigError(f"unknown config section {key!r}; known: {', '.join(sorted(sections))}, "
                                  "pitch_by_speaker, moments (see docs/config.md)")
        return cls(**kw).validate()

    def to_toml(self) -> str:
        lines = []
        for section, values in self.to_dict().items():
            if section == "pitch_by_speaker":
                for name, pc in values.items():
                    lines.append(f'[pitch_by_speaker."{name}"]')
                    lines += [f"{k} = {v!r}" for k, v in pc.items()]
                continue
            lines.append(f"[{section}]")
            lines += [f"{k} = {v!r}" for k, v in values.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> "AnalysisConfig":
        try:
            return cls.from_dict(tomllib.loads(text))
        except (ValueError, RecursionError) as exc:  # TOMLDecodeError, over 4300 digits, deep nesting
            raise ConfigError(f"config is not valid TOML: {parse_problem(exc)}") from None


CONFIG_MAX_BYTES = 1 << 20  # a config file is a few dozen lines


def read_toml_file(path, *, what: str = "config") -> dict:
    """The parsed TOML of file ``path``; ConfigError (one line) when it cannot be
    read, is not UTF-8 text or is not TOML."""
    from pathlib import Path

    from .fileio import not_utf8_said, small_file_problem
    problem = small_file_problem(path, max_bytes=CONFIG_MAX_BYTES)
    if problem is not None:
        raise ConfigError(f"{what} {path} {problem}")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    said = not_utf8_said(data)  # UTF-16, Latin-1: named, with how to convert it (hostile sweep 42)
    if said:
        raise ConfigError(f"{what} {path} is not UTF-8 text{said}")
    # a byte-order mark first (Windows Notepad's "UTF-8 with BOM") was "not valid TOML ... line 1, column 1"
    text = data.decode("utf-8-sig")
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, over 4300 digits, deep nesting
        raise ConfigError(f"{what} {path} is not valid TOML: {parse_problem(exc)}") from None


def _table(value, where: str, *, example: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} = {value!r}: expected a table of settings, e.g. {example}")


def check_setting(value, *, kind: type, where: str):
    """A TOML value for a setting of type ``kind`` (int: a whole number; float: a
    finite number; str: text), or ConfigError naming ``where``. Booleans are not
    numbers here and a float is never truncated to an int."""
    if kind is bool:
        ok = isinstance(value, bool)
        want = "true or false"
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "a whole number"
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        want = "a finite number"
    elif kind is str:
        ok = isinstance(value, str)
        want = "text"
    else:  # pragma: no cover - a setting of another type is a programming error
        raise TypeError(kind)
    if not ok:
        shown = _as_typed(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise ConfigError(f"{where} = {shown}: expected {want}")
    return float(value) if kind is float else value


def _as_typed(value) -> str:
    """A TOML value spelt as the file spells it: `true`, `1979-05-27`, `07:32:00` (was Python's `True`,
    `datetime.date(1979, 5, 27)`; hostile sweep 39); text, numbers and lists as Python writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.time)):  # a datetime is a date
        return value.isoformat()
    return repr(value)


def unknown_keys(keys) -> str:
    """Unknown config keys for an error line, quoted: `floor_window_s ` (a space after it) or a zero-width space
    inside read as the known key they resemble ("unknown key(s) in [vad]: floor_window_s , ...")."""
    return ", ".join(repr(k) for k in sorted(keys))


def _build(kind, values, where: str):
    first = fields(kind)[0]
    _table(values, where, example=f"[{where}] then lines such as {first.name} = {first.default!r}")
    names = {f.name for f in fields(kind)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"unknown key(s) in [{where}]: {unknown_keys(unknown)}; known: {', '.join(sorted(names))}")
    defaults = kind()
    return kind(**{k: check_setting(v, kind=type(getattr(defaults, k)), where=f"{where}.{k}")
                   for k, v in values.items()})
