"""``prosody`` command line: argument parsing, exit codes; the only place that prints."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from prosody import __version__
from prosody.config import AnalysisConfig, PitchConfig
from prosody.errors import ConfigError, InputError, ProsodyError

# The analysis libraries (numpy, scipy, soxr, webrtcvad) are imported inside the
# commands that need them, so that store commands start quickly.

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Other commands live in their own modules of this package; each has
# ``add_parser(subparsers)`` which registers its parser(s) and sets
# ``run=function(args, out, err) -> exit status`` as a default.
COMMAND_MODULES: tuple[str, ...] = ("live", "sessions", "batch")
PROGRESS_MIN_S = 5.0


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="prosody", description="On-device voice-tone and speech-dynamics analysis for psychotherapists.")
    p.add_argument("--version", action="version", version=f"prosody {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    a = sub.add_parser("analyze", help="analyse a recording (stereo file, two files, or mono)")
    a.add_argument("files", nargs="+", metavar="FILE",
                   help="one stereo/mono file, or two files: therapist then client")
    a.add_argument("--channels", metavar="MAP",
                   help="stereo layout, e.g. therapist=right,client=left (default therapist=left,client=right)")
    a.add_argument("--speaker", default=None, metavar="NAME",
                   help="a mono file holds this one speaker only (no diarization)")
    a.add_argument("--layout", choices=("auto", "separate", "shared", "mono"), default="auto",
                   help="how voices sit on the channels of one file: separate (one per channel), shared (both on "
                        "every channel) or mono; auto finds it from the audio (see docs/speakers.md)")
    a.add_argument("--offset-s", type=float, default=0.0,
                   help="with two files: the second file starts this many seconds later (negative: earlier)")
    a.add_argument("--pitch-range", action="append", default=[], metavar="SPEAKER=FMIN-FMAX",
                   help="pitch search range in Hz for a speaker, e.g. client=75-400 (default 50-600)")
    a.add_argument("--config", metavar="TOML", help="analysis configuration file (see docs)")
    a.add_argument("--json", metavar="PATH", help="write the session as JSON (prosody.session/2); - for stdout")
    a.add_argument("--rttm", metavar="PATH", help="write speech segments per speaker as RTTM")
    a.add_argument("--frames", metavar="PATH", help="write per-frame features as CSV")
    add_measures_arguments(a)
    a.add_argument("--save-baseline", metavar="JSON", help="write this session's baseline as a profile")
    a.add_argument("--quiet", action="store_true", help="no summary on the terminal")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    importlib.import_module(f"{__package__}.sessions").add_save_options(a)  # --save, --store, metadata
    a.set_defaults(run=cmd_analyze)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return p


def _layout(args, n_files: int, channels: int):
    from prosody.sources import Layout, parse_channel_map

    if n_files == 2:
        if args.channels:
            raise InputError("--channels applies to one stereo file; with two files the first is the therapist "
                             "and the second the client")
        return Layout(("therapist", "client"), ((0, 0), (1, 0)))
    if args.channels:
        m = parse_channel_map(args.channels, n_channels=channels)
        return Layout(tuple(m), tuple((0, c) for c in m.values()))
    if channels == 1:
        return Layout((args.speaker or "therapist",), ((0, 0),))
    if channels == 2:
        return Layout(("therapist", "client"), ((0, 0), (0, 1)))
    raise InputError(f"{args.files[0]} has {channels} channels: say which carry whom with "
                     "--channels therapist=N,client=M (1-based)")


def _config(args, speakers) -> AnalysisConfig:
    cfg = AnalysisConfig()
    if args.config:
        try:
            cfg = AnalysisConfig.from_toml(Path(args.config).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {args.config}: {exc.strerror}") from None
    ranges = dict(cfg.pitch_by_speaker)
    for item in args.pitch_range:
        try:
            spk, rng = item.split("=", 1)
            lo, hi = (float(v) for v in rng.split("-", 1))
        except ValueError:
            raise ConfigError(f"--pitch-range {item!r}: expected SPEAKER=FMIN-FMAX in Hz, e.g. client=75-400") from None
        if spk not in speakers:
            raise ConfigError(f"--pitch-range {item!r}: unknown speaker {spk!r}; speakers are {', '.join(speakers)}")
        ranges[spk] = PitchConfig(fmin_hz=lo, fmax_hz=hi)
    return AnalysisConfig(vad=cfg.vad, pitch=cfg.pitch, rate=cfg.rate, turns=cfg.turns,
                          pitch_by_speaker=tuple(ranges.items())).validate()


def add_measures_arguments(a) -> None:
    """Options of the measures layer, shared by ``analyze`` and ``live``."""
    a.add_argument("--network-delay-ms", type=float, default=0.0, metavar="MS",
                   help="one-way network delay of the call; the client's gaps are also shown corrected by the "
                        "round trip (2 x MS)")
    a.add_argument("--baseline", metavar="JSON",
                   help="personal baseline: a profile written by --save-baseline or an earlier session's JSON")
    a.add_argument("--cues", metavar="LIST",
                   help="cues to evaluate in the rolling windows: comma list of monologue, overlaps, pace, "
                        "quick_answers, or none (default: monologue,overlaps)")


def _measures_options(args):
    """MeasuresConfig and optional personal baseline from the command line."""
    import json

    import dataclasses

    from prosody.measures import Baseline, CueConfig, MeasuresConfig
    if not 0.0 <= args.network_delay_ms <= 2000.0:
        raise ConfigError(f"--network-delay-ms {args.network_delay_ms} must be within 0..2000 ms")
    profile = None
    if args.baseline:
        try:
            d = json.loads(Path(args.baseline).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read baseline {args.baseline}: {exc.strerror}") from None
        except ValueError:
            raise InputError(f"baseline {args.baseline} is not JSON") from None
        if isinstance(d, dict) and isinstance(d.get("measures"), dict):  # an earlier session
            d = d["measures"].get("baseline", {})
        if not isinstance(d, dict) or not isinstance(d.get("speakers"), dict):
            raise InputError(f"baseline {args.baseline} has no 'speakers' baselines; write one with --save-baseline")
        try:
            profile = Baseline.from_profile(d)
        except (TypeError, ValueError):
            raise InputError(f"baseline {args.baseline} is malformed") from None
    cues = CueConfig()
    if getattr(args, "cues", None):
        names = {"monologue", "overlaps", "pace", "quick_answers"}
        want = set() if args.cues.strip() == "none" else {c.strip() for c in args.cues.split(",") if c.strip()}
        if want - names:
            raise ConfigError(f"--cues {args.cues!r}: unknown cue(s) {', '.join(sorted(want - names))}; "
                              f"known: {', '.join(sorted(names))} or none")
        cues = dataclasses.replace(cues, **{n: n in want for n in names})
    return MeasuresConfig(network_delay_ms=args.network_delay_ms, cues=cues), profile


def cmd_analyze(args, out, err) -> int:
    from rich.console import Console

    from prosody.fileio import write_private
    from prosody.session import analyze_blocks, dumps
    from prosody.sources import FileSource, Layout

    from .view import summary_view

    if len(args.files) > 2:
        raise InputError(f"{len(args.files)} files given: give one stereo/mono file or two (therapist, client)")
    if args.offset_s and len(args.files) != 2:
        raise InputError("--offset-s needs two files (therapist, client)")
    src_probe = FileSource(args.files, Layout(("x",), ((0, 0),)))
    n_channels = src_probe.files[0].channels
    attribution, voices = None, None
    if len(args.files) == 1 and n_channels <= 2 and not (n_channels == 1 and args.speaker):
        from .speakers_cli import attribute_file
        attribution, voices = attribute_file(args, n_channels)
    elif len(args.files) == 2 and args.layout not in ("auto", "separate"):
        raise InputError(f"--layout {args.layout} applies to one file; two files are one speaker each")
    if voices is not None:  # shared / mono: speaker channels cut by diarization
        layout = Layout(voices.speakers, tuple((0, i) for i in range(len(voices.speakers))))
        source = voices
    else:
        layout = _layout(args, len(args.files), n_channels)
        source = FileSource(args.files, layout, offset_s=args.offset_s)
    config = _config(args, layout.speakers)
    from .sessions import check_save_args, save_analyzed
    check_save_args(args)
    inputs = {Path(f).resolve() for f in args.files}
    for target in (args.json, args.rttm, args.frames):
        if target and target != "-":
            parent = Path(target).resolve().parent
            if not parent.is_dir():
                raise InputError(f"cannot write {target}: folder {parent} does not exist")
            if Path(target).is_dir():
                raise InputError(f"cannot write {target}: it is a folder; give a file name")
            if Path(target).resolve() in inputs:
                raise InputError(f"cannot write {target}: it is an input recording and would be overwritten")

    mcfg, profile = _measures_options(args)
    err_console = Console(file=err, stderr=True)
    duration = source.duration_s or 0.0
    show_progress = (not args.no_progress and err_console.is_terminal and duration > PROGRESS_MIN_S)
    if show_progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
        with Progress(TextColumn("analysing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeRemainingColumn(), console=err_console, transient=True) as prog:
            task = prog.add_task("analyse", total=duration)
            session = analyze_blocks(source, layout.speakers, config, sources=[str(p) for p in args.files],
                                     on_block=lambda n: prog.update(task, completed=n / 16000),
                                     measures=mcfg, profile=profile, cross_talk=voices is None)
    else:
        session = analyze_blocks(source, layout.speakers, config, sources=[str(p) for p in args.files],
                                 measures=mcfg, profile=profile, cross_talk=voices is None)
    session.warnings += source.warnings
    if attribution is not None:
        session.attribution = attribution.to_dict()
        session.warnings += list(attribution.warnings)

    doc = session.to_json_dict()
    if args.json:
        text = dumps(doc)
        if args.json == "-":
            out.write(text)
        else:
            write_private(args.json, text)
    if args.save_baseline and doc.get("measures"):
        write_private(args.save_baseline, dumps({"schema": "prosody.baseline/1",
                                                 "speakers": doc["measures"]["baseline"]["speakers"]}))
    if args.rttm:
        write_private(args.rttm, session.to_rttm(Path(args.files[0]).stem))
    if args.frames:
        write_private(args.frames, session.to_frames_csv())
    save_analyzed(args, session, out, err)
    for w in session.warnings:
        err.write(f"prosody: warning: {w}\n")
    if not args.quiet:
        console = Console(file=err if args.json == "-" else out)
        console.print(summary_view(doc))
    return EXIT_OK


def main(argv=None) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help(out)
            return EXIT_USAGE
        return args.run(args, out, err)
    except _UsageError as exc:
        err.write(f"prosody: error: {exc}\n")
        return EXIT_USAGE
    except ProsodyError as exc:
        err.write(f"prosody: error: {exc}\n")
        return EXIT_USAGE if isinstance(exc, (InputError, ConfigError)) else EXIT_ERROR
    except KeyboardInterrupt:
        err.write("prosody: error: interrupted\n")
        return EXIT_INTERRUPTED
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        err.write(f"prosody: error: cannot access{where}: {exc.strerror or exc}\n")
        return EXIT_ERROR
    except Exception as exc:  # last line of defence: one line, no traceback
        if os.environ.get("PROSODY_DEBUG"):
            raise
        err.write(f"prosody: error: internal error ({type(exc).__name__}: {exc}); "
                  "set PROSODY_DEBUG=1 for details and please report it\n")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
