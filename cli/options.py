"""Command-line options shared by ``analyze``, ``batch`` and ``live``: parse
them into the plain values the library takes (``prosody.analysis``)."""
from __future__ import annotations

import argparse

from prosody.config import AnalysisConfig


def session_ref(text: str) -> str:
    """argparse type of a SESSION argument: refused while parsing when it can name
    no session (``prosody.store.db.check_session_ref``)."""
    from prosody.errors import ProsodyError
    from prosody.store.db import check_session_ref
    try:
        check_session_ref(text)
    except ProsodyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def store_path(text: str) -> str:
    """argparse type of ``--store``: an empty path (``--store "$UNSET"``) is refused while
    parsing, not taken for the default store."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} names no folder; give the store's folder, or leave --store out "
                                         "for the default")
    return text


def store_help() -> str:
    """The ``--store`` option's help: ``$PROSODY_STORE`` named, then the folder used without it, as this
    environment makes it (``$XDG_DATA_HOME`` counts: ``prosody.store.db.default_store_path``)."""
    import os
    from prosody.errors import ProsodyError
    from prosody.store.db import ENV_VAR, default_store_path
    from prosody.report.text import terminal_safe
    rest = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    # the folder comes from the environment ($HOME, $XDG_DATA_HOME): shown as data (no terminal control),
    # and its % doubled, as argparse formats a help text with %
    try:
        where = terminal_safe(str(default_store_path(environ=rest, home_must_exist=False))).replace("%", "%%")
    except ProsodyError:  # no home folder: said by the command that needs the store
        where = "none: no home folder"
    return f"session store folder (default ${ENV_VAR}, else {where})"


def input_path(text: str) -> str:
    """argparse type of a file (or folder) to read: an empty name (``"$UNSET"``) is refused while
    parsing; batch took it for the working folder and analysed every recording under it, and
    --config / --baseline for the option left out."""
    if not text:
        raise argparse.ArgumentTypeError("'' is an empty name: give a file's name")
    return text


def channel_map(text: str) -> str:
    """argparse type of ``--channels``: an empty map (``--channels "$UNSET"``) is refused while
    parsing, not taken for the default layout (its pairs are checked where the channels are known)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} names no channels; give e.g. therapist=right,client=left, or "
                                         "leave --channels out for the default (therapist=left,client=right)")
    return text


def voices_told(text: str) -> int | None:
    """argparse type of ``--voices``: 1 or 2 people speak on a shared or mono recording; ``auto``
    (the default): found from the audio."""
    from prosody.speaker_channels import VOICES_TOLD
    t = text.strip().lower()
    if t not in VOICES_TOLD:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or 2 (how many people speak on the recording), or auto")
    return VOICES_TOLD[t]


def filter_value(text: str) -> str:
    """argparse type of a listing filter (``--therapist``, ``--client``, ``--tag`` of ``sessions``, ``trend``,
    ``compare``...): a blank value is refused while parsing; it was read as a name no session has ("no
    sessions ... with these filters"), as if the store held none (``--tag "$UNSET"``; hostile sweep 37)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is blank: names and tags are never blank; give one, or leave "
                                         "this filter out")
    return text


def whole_number(text: str) -> int:
    """argparse type of a whole number (a count, a rank, a channel): digits 0-9 with an optional
    minus sign (``formats.bundle.parse_whole``); int() also read "1_0" as 10 and "١" as 1."""
    from prosody.formats.bundle import parse_whole
    n = parse_whole(text)
    if n is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return n


def number(text: str) -> float:
    """argparse type of a number of seconds or milliseconds (``formats.bundle.parse_number``):
    refused while parsing when only float() reads it ("1_0" was an offset of 10 s)."""
    from prosody.formats.bundle import parse_number
    x = parse_number(text)
    if x is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (digits 0-9, e.g. 1.5 or -0.25)")
    return x


def add_overwrite_option(p, *, what: str = "an output") -> None:
    """``--overwrite``: without it no output replaces an existing file (but for a page or table prosody made,
    written again): one flag of one meaning for every command that writes files (``prosody.fileio.check_outputs``)."""
    p.add_argument("--overwrite", action="store_true",
                   help=f"let {what} replace an existing file (else refused; a prosody page or table is written "
                        "again)")


def add_measures_arguments(a) -> None:
    """Options of the measures layer, shared by ``analyze`` and ``live``."""
    a.add_argument("--network-delay-ms", type=number, default=0.0, metavar="MS",
                   help="one-way network delay of the call; the client's gaps are also shown corrected by the "
                        "round trip (2 x MS)")
    a.add_argument("--baseline", metavar="JSON", type=input_path,
                   help="personal baseline: a profile written by --save-baseline or an earlier session's JSON")
    a.add_argument("--cues", metavar="LIST",
                   help="cues to evaluate in the rolling windows: comma list of monologue, overlaps, pace, "
                        "quick_answers, or none (default: monologue,overlaps)")


def layout_from_args(args, n_files: int, channels: int):
    from prosody.analysis import default_layout

    return default_layout(n_files=n_files, n_channels=channels, channel_map=args.channels, speaker=args.speaker,
                          file_label=str(args.files[0]))


def config_from_args(args, speakers) -> AnalysisConfig:
    from prosody.analysis import load_config, with_pitch_ranges

    return with_pitch_ranges(load_config(args.config), args.pitch_range, speakers)


def measures_from_args(args):
    """MeasuresConfig and optional personal baseline from the command line."""
    from prosody.analysis import load_baseline, measures_config

    cfg = measures_config(network_delay_ms=args.network_delay_ms, cues=getattr(args, "cues", None))
    return cfg, (load_baseline(args.baseline) if args.baseline else None)
