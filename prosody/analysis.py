"""How an analysis is set up, from plain values: who is on which channel by
default, the configuration file merged with per-speaker pitch ranges, a
personal baseline read from disk, and the measures options.

``prosody analyze``, ``prosody batch`` and ``prosody live`` all call these
functions, so the three commands apply the same rules; the command line only
parses arguments into the plain values taken here.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from pathlib import Path
from typing import Iterable

from .config import AnalysisConfig, PitchConfig, read_toml_file
from .engine.sources import Layout, parse_channel_map
from .errors import ConfigError, InputError
from .fileio import LIVE_DOC_MAX_BYTES, small_file_problem
from .measures import Baseline, CueConfig, MeasuresConfig
from .moments import MomentsConfig
from .types import SPEAKER_NAME_MAX_CHARS, UNATTRIBUTED, name_problem

DEFAULT_SPEAKERS = ("therapist", "client")
CUE_NAMES = ("monologue", "overlaps", "pace", "quick_answers")
MAX_NETWORK_DELAY_MS = 2000.0
PROFILE_SCHEMA = "prosody.baseline/1"  # what --save-baseline writes


def default_layout(*, n_files: int, n_channels: int, channel_map: str | None = None, speaker: str | None = None,
                   file_label: str = "the file", channels_flag: str = "--channels") -> Layout:
    """Which channel carries whom when the user has not said otherwise.

    Two files: the first is the therapist, the second the client. One stereo
    file: therapist left, client right (``channel_map`` such as
    ``"therapist=right,client=left"`` overrides). One mono file: one speaker,
    ``speaker`` (default therapist). ``channels_flag``: how ``channel_map`` is
    named in an error (``prosody batch``: a manifest's row and column)."""
    check_speaker_label(speaker)
    if n_files == 2:
        if channel_map:
            raise InputError(f"{channels_flag} applies to one stereo file; with two files the first is the "
                             "therapist and the second the client")
        return Layout(DEFAULT_SPEAKERS, ((0, 0), (1, 0)))
    if channel_map:
        m = parse_channel_map(channel_map, n_channels=n_channels, flag=channels_flag)
        return Layout(tuple(m), tuple((0, c) for c in m.values()))
    if n_channels == 1:
        return Layout((speaker or DEFAULT_SPEAKERS[0],), ((0, 0),))
    if n_channels == 2:
        return Layout(DEFAULT_SPEAKERS, ((0, 0), (0, 1)))
    raise InputError(f"{file_label} has {n_channels} channels: say which carry whom with "
                     "--channels therapist=N,client=M (1-based)")


def check_speaker_label(name: str | None, *, flag: str = "--speaker") -> None:
    """Raise InputError unless ``name`` (None: not given) is a speaker name the
    store accepts (``types.name_problem``): checked before any analysis, so that a
    session is never analysed only to be refused when saved."""
    if name is None:
        return
    problem = name_problem(name)
    if problem is not None:
        raise InputError(f"{flag} {name!r}: {problem}; a speaker name is plain text of at most "
                         f"{SPEAKER_NAME_MAX_CHARS} characters")
    if name == UNATTRIBUTED:
        raise InputError(f"{flag} {name!r}: prosody keeps that name for speech it cannot attribute to anyone; "
                         "name the speaker otherwise")


def check_mono_speaker(speaker: str | None, *, n_files: int, n_channels: int, first_file,
                       flags: tuple[str, str] = ("--speaker", "--channels")) -> None:
    """Raise InputError where ``--speaker`` (the one speaker of a mono file) is given for files that
    cannot take it: two files (the therapist's and the client's) or a file of several channels;
    it was ignored without a word. ``flags``: the names of the speaker and channels options in the
    message (``prosody batch``: its manifest columns ``speaker`` and ``channels``)."""
    flag, channels = flags
    if speaker is not None and n_files == 2:
        raise InputError(f"{flag} {speaker} names the one speaker of a mono file; two files are the "
                         "therapist's and the client's, in that order")
    if speaker is not None and n_channels > 1:
        raise InputError(f"{flag} {speaker} names the one speaker of a mono file; {first_file} has "
                         f"{n_channels} channels: say whose each is with {channels} (e.g. {channels} "
                         f"{speaker}=left for that speaker alone on the left channel)")


def check_files_differ(paths) -> None:
    """Raise InputError where two files (one speaker each: the therapist's, then the client's) are one file: the
    same name twice, a link to the other or a hard link. ``analyze X X`` was refused only after reading it, as two
    files of one mix, with ``--layout separate`` offered (which analysed one voice as both people), and ``live
    --input X X`` replayed it with a warning at the end (hostile sweep 55)."""
    if len(paths) != 2:
        return
    try:
        same = os.path.samefile(paths[0], paths[1])
    except OSError:  # a missing or unreadable file is said by its own check
        return
    if same:
        a, b = paths
        what = f"{a} is given twice" if os.fspath(a) == os.fspath(b) else f"{a} and {b} are one file"
        raise InputError(f"{what}: two files are one speaker each, the therapist's then the client's; give each "
                         "person's own recording, or the one file alone (its voices are then told apart by "
                         "diarization)")


def load_config(path: str | None) -> AnalysisConfig:
    """The analysis configuration from a TOML file, or the defaults. The file's
    ``[moments]`` table, read by the review commands, is checked here too."""
    if not path:
        return AnalysisConfig()
    d = read_toml_file(path)
    cfg = AnalysisConfig.from_dict(d)
    MomentsConfig.from_table(d)  # one file serves every command: a bad [moments] is refused by each that reads it
    return cfg


_HZ = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e\+?[0-9]+)?|nan|inf", re.IGNORECASE)  # nan, inf: said below


def with_pitch_ranges(cfg: AnalysisConfig, ranges: Iterable[str], speakers: tuple[str, ...], *,
                      flag: str = "--pitch-range") -> AnalysisConfig:
    """``cfg`` with per-speaker pitch search ranges ``SPEAKER=FMIN-FMAX`` (Hz) added. ``flag``: how a range is
    named in an error (``prosody batch``: a manifest's row and column where its ``pitch_range`` cell gave it)."""
    by_speaker = dict(cfg.pitch_by_speaker)
    for item in ranges:
        try:
            spk, rng = item.split("=", 1)
            parts = rng.split("-", 1)
            if len(parts) != 2 or not all(_HZ.fullmatch(v.strip()) for v in parts):  # float() read '7_5' as 75
                raise ValueError(item)
            lo, hi = (float(v) for v in parts)
        except ValueError:
            raise ConfigError(f"{flag} {item!r}: expected SPEAKER=FMIN-FMAX in Hz, e.g. client=75-400") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ConfigError(f"{flag} {item!r}: the range must be two finite numbers of Hz, e.g. client=75-400")
        if spk not in speakers and tuple(speakers) == (UNATTRIBUTED,):  # no therapist or client to give it to
            raise ConfigError(f"{flag} {item!r}: who spoke when is unsure in this recording, so no voice is "
                              f"named {spk!r}: its speech is one voice left {UNATTRIBUTED} (--pitch-range "
                              f"{UNATTRIBUTED}=FMIN-FMAX sets its range; --voices 2 keeps the split in two)")
        if spk not in speakers:
            raise ConfigError(f"{flag} {item!r}: unknown speaker {spk!r}; speakers are {', '.join(speakers)}")
        by_speaker[spk] = PitchConfig(fmin_hz=lo, fmax_hz=hi)
        by_speaker[spk].validate(f"{flag} {item!r}: ")  # the flag named, not [pitch_by_speaker]
    return AnalysisConfig(vad=cfg.vad, pitch=cfg.pitch, rate=cfg.rate, turns=cfg.turns,
                          pitch_by_speaker=tuple(by_speaker.items())).validate()


def resolve(*, n_files: int, n_channels: int, base: AnalysisConfig, channel_map: str | None = None,
            speaker: str | None = None, pitch_ranges: Iterable[str] = (),
            file_label: str = "the file", channels_flag: str = "--channels",
            pitch_flag: str = "--pitch-range") -> tuple[Layout, AnalysisConfig]:
    """Layout and configuration of one recording, by the rules above (``channels_flag``, ``pitch_flag``: how
    ``channel_map`` and ``pitch_ranges`` are named in an error)."""
    layout = default_layout(n_files=n_files, n_channels=n_channels, channel_map=channel_map, speaker=speaker,
                            file_label=file_label, channels_flag=channels_flag)
    return layout, with_pitch_ranges(base, pitch_ranges, layout.speakers, flag=pitch_flag)


def load_baseline(path: str) -> Baseline:
    """A personal baseline: a profile written by ``--save-baseline`` or an earlier session's JSON."""
    problem = small_file_problem(path, max_bytes=LIVE_DOC_MAX_BYTES)  # a profile, or a whole session's JSON
    if problem is not None:
        raise InputError(f"baseline {path} {problem}")
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read baseline {path}: {exc.strerror}") from None
    except (ValueError, RecursionError):  # not UTF-8 or JSON, an integer of over 4300 digits, nested too deep
        raise InputError(f"baseline {path} is not JSON") from None
    if isinstance(d, dict) and isinstance(d.get("measures"), dict):  # an earlier session
        d = d["measures"].get("baseline", {})
    elif isinstance(d, dict) and "measures" not in d and d.get("schema", PROFILE_SCHEMA) != PROFILE_SCHEMA:
        raise InputError(f"baseline {path} is {str(d['schema'])[:40]!r}, not a baseline profile ({PROFILE_SCHEMA}); "
                         "write one with --save-baseline or give an earlier session's JSON")
    if not isinstance(d, dict) or not isinstance(d.get("speakers"), dict) or not d["speakers"]:
        raise InputError(f"baseline {path} has no 'speakers' baselines; write one with --save-baseline")
    try:
        return Baseline.from_profile(d)
    except InputError as exc:
        raise InputError(f"baseline {path}: {exc}; write one with --save-baseline") from None


def measures_config(*, network_delay_ms: float = 0.0, cues: str | None = None) -> MeasuresConfig:
    """Measures options: the call's one-way delay (ms) and the cues to evaluate
    (comma list of ``CUE_NAMES``, ``"none"``, or None for the defaults)."""
    if not 0.0 <= network_delay_ms <= MAX_NETWORK_DELAY_MS:
        raise ConfigError(f"--network-delay-ms {network_delay_ms} must be within 0..{MAX_NETWORK_DELAY_MS:.0f} ms")
    cue_cfg = CueConfig()
    if cues is not None:
        want = set() if cues.strip() == "none" else {c.strip() for c in cues.split(",") if c.strip()}
        if not want and cues.strip() != "none":  # "," turned every cue off unasked
            raise ConfigError(f"--cues {cues!r} names no cue: give a comma list of "
                              f"{', '.join(sorted(CUE_NAMES))}, or none to evaluate none")
        unknown = want - set(CUE_NAMES)
        if unknown:
            raise ConfigError(f"--cues {cues!r}: unknown cue(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(sorted(CUE_NAMES))} or none")
        cue_cfg = dataclasses.replace(cue_cfg, **{n: n in want for n in CUE_NAMES})
    return MeasuresConfig(network_delay_ms=network_delay_ms, cues=cue_cfg)
