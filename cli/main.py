"""``prosody`` command line: argument parsing, exit codes; the only place that prints."""
from __future__ import annotations

import argparse
import dataclasses
import errno
import functools
import os
import signal
import sys
import threading
from pathlib import Path

from prosody import __version__
from prosody.errors import ConfigError, InputError, ProsodyError, error_text
from prosody.fileio import said_unwritten, unwritten_text

from . import batch, live, review, sessions, voices
from .stopping import (SaidConsole, Stopped, drop_output, first_ctrl_c, ignore_stop_signals, quiet_exit,
                       take_stop_signals, taken)
from .options import (add_measures_arguments, add_overwrite_option, channel_map, config_from_args, input_path,
                      layout_from_args, measures_from_args, number, voices_told)

# The analysis libraries (numpy, scipy, soxr, webrtcvad) are imported inside the
# commands that need them, so that store commands start quickly.

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Other commands live in their own modules of this package; each has
# ``add_parser(subparsers)`` which registers its parser(s) and sets
# ``run=function(args, out, err) -> exit status`` as a default. They import
# shared options from ``options``, never from this module.
PROGRESS_MIN_S = 5.0


class _Parser(argparse.ArgumentParser):
    """One line per usage error, no usage dump. argparse (before Python 3.13) reads a value such
    as -1e-1 or -.5 after an option as another option ("expected one argument"); the line then
    says how to write it (--offset-s=-1e-1), as -1.5, which argparse takes, needs nothing."""

    def parse_known_args(self, args=None, namespace=None):
        self._typed = list(sys.argv[1:] if args is None else args)  # a subcommand's parser gets its own
        return super().parse_known_args(args, namespace)

    def _print_message(self, message, file=None):
        """argparse's, whose failed write to standard output is raised, named (argparse let it go: `prosody --help
        | true`, `--version`, a command's `-h` exited 0 unsaid), and said by ``main`` as any ("cannot write to
        standard output: Broken pipe", exit 1; hostile sweep 51). Standard error's is let go, as ``_LastLines``
        lets it go."""
        if not message:
            return
        if file is None or file is sys.stdout:
            file = _NamedStream(sys.stdout, STDOUT_NAME)
        elif not isinstance(file, _NamedStream):
            return _LastLines(file).write(message)
        file.write(message)
        file.flush()

    def error(self, message):
        flags = message.removeprefix("argument ").removesuffix(": expected one argument")
        if message.startswith("argument ") and message.endswith(": expected one argument"):  # only that error
            typed = getattr(self, "_typed", [])
            value = next((v for k, v in zip(typed, typed[1:]) if k in flags.split("/") and _number(v)), None)
            if value is not None:
                message += f": {value} reads as an option there; write {flags.split('/')[-1]}={value}"
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="prosody", description="On-device voice-tone and speech-dynamics analysis for psychotherapists.")
    p.add_argument("--version", action="version", version=f"prosody {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    a = sub.add_parser("analyze", help="analyse a recording (stereo file, two files, or mono)")
    a.add_argument("files", nargs="+", metavar="FILE", type=input_path,
                   help="one stereo/mono file, or two files: therapist then client")
    a.add_argument("--channels", metavar="MAP", type=channel_map,
                   help="stereo layout, e.g. therapist=right,client=left (default therapist=left,client=right)")
    a.add_argument("--speaker", default=None, metavar="NAME",
                   help="a mono file holds this one speaker only (no diarization)")
    a.add_argument("--layout", choices=("auto", "separate", "shared", "mono"), default="auto",
                   help="how voices sit on the channels of one file: separate (one per channel), shared (both on "
                        "every channel) or mono; auto finds it from the audio (see docs/speakers.md)")
    a.add_argument("--voices", type=voices_told, default=None, metavar="N",
                   help="how many people speak on a shared or mono recording: 2 tells apart two voices the audio "
                        "alone could take for one (alike voices), 1 keeps one voice; default: found from the audio")
    a.add_argument("--profile", metavar="NAME", default=None,
                   help="voice profile that names the therapist in shared/mono audio (`prosody enrol`; default: "
                        "the profile of --therapist when one is stored)")
    a.add_argument("--offset-s", type=number, default=0.0,
                   help="with two files: the second file starts this many seconds later (negative: earlier)")
    a.add_argument("--pitch-range", action="append", default=[], metavar="SPEAKER=FMIN-FMAX",
                   help="pitch search range in Hz for a speaker, e.g. client=75-400 (default 50-600)")
    a.add_argument("--config", metavar="TOML", type=input_path, help="analysis configuration file (see docs/config.md)")
    a.add_argument("--json", metavar="PATH", help="write the session as JSON (prosody.session/2); - for stdout")
    a.add_argument("--rttm", metavar="PATH", help="write speech segments per speaker as RTTM; - for stdout")
    a.add_argument("--frames", metavar="PATH", help="write per-frame features as CSV; - for stdout")
    a.add_argument("--textgrid", metavar="PATH", help="write speech, turns and events as a Praat TextGrid; - for stdout")
    a.add_argument("--eaf", metavar="PATH", help="write speech, turns and events as an ELAN .eaf file; - for stdout")
    add_measures_arguments(a)
    a.add_argument("--save-baseline", metavar="JSON", help="write this session's baseline as a profile")
    add_overwrite_option(a, what="--json, --rttm, --frames, --textgrid, --eaf or --save-baseline")
    a.add_argument("--quiet", action="store_true", help="no summary on the terminal")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    sessions.add_save_options(a)  # --save, --store, metadata
    a.set_defaults(run=cmd_analyze)
    for module in (live, sessions, batch, review, voices):
        module.add_parser(sub)
    return p


def cmd_analyze(args, out, err) -> int:
    """``prosody analyze``: every argument and output checked before any audio is read, the recording's speakers
    found (attributed where shared or mono), analysed, each output written (one that fails loses neither the
    others, the save nor the summary), saved, and the summary shown."""
    states, n_channels = _check_analyze_args(args)
    from prosody.fileio import new_outputs
    fresh = frozenset() if args.overwrite else new_outputs(
        [args.json, args.rttm, args.frames, args.save_baseline, args.textgrid, args.eaf])
    rec, attribution = _recording(args, n_channels)
    config = config_from_args(args, rec.speakers)
    from .sessions import check_save_args, rescue_unsaved, save_analyzed
    check_save_args(args)
    session = _with_input_changes(_analyse(args, rec, config, attribution, err), args.files, states)
    doc = session.to_json_dict()
    audio = _audio_for_outputs(args, rec)
    if audio is not None and (args.json or args.save or args.eaf):
        doc["audio"] = audio
    whose = None if audio is None else {"audio": [{"sha256": f["sha256"], "bytes": f["bytes"]}
                                                  for f in audio["files"]]}
    unwritten = _write_outputs(args, session, doc, out, fresh=fresh, whose=whose)
    save_failure = None
    try:
        save_analyzed(args, session, out, err, doc=doc)
    except (ProsodyError, OSError) as exc:  # the analysis is not lost: kept beside the store, summary shown
        save_failure = rescue_unsaved(args, session, exc, doc=doc)
    for w in session.warnings:
        err.write(f"prosody: warning: {_safe(w)}\n")
    # what failed is said before the summary: after it, a summary whose reader went lost them (sweep 49), and a user
    # reading from the top saw "saved" and the summary, the failure under it (hostile sweep 50)
    failures = [_safe(f) for f in unwritten] + ([save_failure] if save_failure else [])
    for failure in failures:
        err.write(f"prosody: error: {failure}\n")
    if not args.quiet:
        from .view import summary_view
        to_stdout = "-" in (args.json, args.rttm, args.frames, args.save_baseline, args.textgrid, args.eaf)
        view = err if to_stdout else out
        SaidConsole(file=view).print(summary_view(doc))
        if failures and view.isatty():  # the summary on a screen, its top scrolled away: recalled in the last line
            err.write(f"prosody: error: {_failures_recalled(unwritten, save_failure)}\n")
    return EXIT_ERROR if failures else EXIT_OK


def _failures_recalled(unwritten: list[str], save_failure: str | None) -> str:
    """The last line of an ``analyze`` whose outputs or save failed, after its summary: what the lines above it say."""
    parts = [f"{len(unwritten)} output{'s' if len(unwritten) != 1 else ''} not written"] if unwritten else []
    if save_failure:
        parts.append("the session not saved in the store")
    return f"{' and '.join(parts)}: the summary above is the analysis, the lines before it say why"


def _check_analyze_args(args) -> tuple[list, int]:
    """``analyze``'s arguments and outputs checked before any audio is read: (each file's state, to tell a file
    written to meanwhile; the first file's channel count)."""
    from prosody.analysis import check_files_differ, check_mono_speaker, check_speaker_label
    from prosody.engine.sources import FileSource, Layout
    from prosody.fileio import analysis_of, check_input_file, check_outputs, input_state
    from prosody.speaker_channels import check_voices_told

    if len(args.files) > 2:
        raise InputError(f"{len(args.files)} files given: give one stereo/mono file or two (therapist, client)")
    if args.offset_s and len(args.files) != 2:
        raise InputError("--offset-s needs two files (therapist, client)")
    for f in args.files:
        check_input_file(f)
        if args.save or args.json:  # the session document names its recording
            sessions.check_file_name_text(f)
    check_files_differ(args.files)
    check_speaker_label(args.speaker)  # --channels names: checked where the map is read, before any analysis
    # every output is checked before any work: not an input, not a link, not a device, not another output; an
    # earlier --json or --eaf of the same audio is written again (hostile sweep 40)
    check_outputs([("--json", args.json), ("--rttm", args.rttm), ("--frames", args.frames),
                   ("--save-baseline", args.save_baseline), ("--textgrid", args.textgrid), ("--eaf", args.eaf)],
                  inputs=list(args.files) + [p for p in (args.config, args.baseline) if p],
                  protected=[sessions.store_folder(args)], overwrite=args.overwrite,
                  remade=analysis_of(args.files, json_path=args.json, eaf_path=args.eaf))
    states = [input_state(f) for f in args.files]  # a file replaced or written to meanwhile is said (sweep 12)
    n_channels = FileSource(args.files, Layout(("x",), ((0, 0),))).files[0].channels
    check_mono_speaker(args.speaker, n_files=len(args.files), n_channels=n_channels, first_file=args.files[0])
    if len(args.files) == 2:  # the arguments' own checks (--channels, ...) before any audio is read
        layout_from_args(args, 2, n_channels)
    check_voices_told(args.voices, n_files=len(args.files), speaker=args.speaker, layout=args.layout)
    return states, n_channels


def _recording(args, n_channels: int):
    """(the recording's plan, its attribution or None): shared / mono recordings get speaker channels cut by
    diarization (the voice profile naming the therapist); else the files' channels as --channels says."""
    from prosody.speaker_channels import recording_plan, wants_attribution
    attribution, voices = None, None
    if wants_attribution(n_files=len(args.files), n_channels=n_channels, speaker=args.speaker, layout=args.layout,
                         channels=args.channels):
        from prosody.analysis import load_config

        from .speakers_cli import attribute_file
        from .voices import load_profile
        args.voice_profile = load_profile(args)  # two files: checked against their order, said only
        attribution, voices = attribute_file(args, n_channels, vad=load_config(args.config).vad)
    layout = None if voices is not None else layout_from_args(args, len(args.files), n_channels)
    rec = recording_plan(args.files, layout, voices=voices, attribution=attribution, offset_s=args.offset_s)
    return rec, attribution


def _analyse(args, rec, config, attribution, err):
    """The recording analysed into a ``Session``, with a progress bar on a terminal for recordings over
    ``PROGRESS_MIN_S``."""
    from prosody.speaker_channels import analyze_recording
    from prosody.timebase import GRID
    mcfg, profile = measures_from_args(args)
    err_console = SaidConsole(file=err, stderr=True)
    duration = rec.source.duration_s or 0.0
    run = functools.partial(analyze_recording, rec, config, attribution=attribution,
                            sources=[str(p) for p in args.files], measures=mcfg, profile=profile)
    if args.no_progress or not err_console.is_terminal or duration <= PROGRESS_MIN_S:
        return run()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    with Progress(TextColumn("analysing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=err_console, transient=True) as prog:
        task = prog.add_task("analyse", total=duration)
        return run(on_block=lambda n: prog.update(task, completed=GRID.samples_to_s(n)))


def _with_input_changes(session, files, states):
    """The session as analysed, or an error where an input was replaced or truncated while it was read (its
    hash, size and date, what `play` and the saved session's date read, would be another's); a recorder
    appending is said in a warning (what was read is analysed)."""
    from prosody.fileio import input_change
    changes = [c for c in (input_change(f, st) for f, st in zip(files, states)) if c is not None]
    replaced = [why for kind, why in changes if kind in ("replaced", "truncated")]
    if replaced:
        raise InputError(f"{replaced[0]}; nothing was written: analyse it again once nothing writes to it")
    if not changes:
        return session
    return dataclasses.replace(session, warnings=session.warnings + tuple(
        f"{why}: the figures are of the {session.duration_s:.2f} s read; analyse it again once the recording "
        "is finished" for _, why in changes))


def _audio_for_outputs(args, rec) -> dict | None:
    """The audio record (``clips.audio_record``: each file's path, SHA-256 and size) where an output needs it, None
    where none does (the files not hashed): the session document, ``--json`` (standard output too) or ``--save``
    (where the audio is, so that moments can be played later: issue 12), an EAF's header, and each output file's
    mark (``fileio.mark_output``), by which it is written again for the same audio (hostile sweeps 40, 41)."""
    files = [args.json, args.rttm, args.frames, args.save_baseline, args.textgrid, args.eaf]
    if not (args.json or args.save or any(p not in (None, "-") for p in files)):
        return None
    from prosody.clips import audio_record
    return audio_record(args.files, rec.speakers, rec.picks, offset_s=args.offset_s)


def _write_outputs(args, session, doc, out, *, fresh: frozenset = frozenset(), whose: dict | None = None) -> list[str]:
    """``--json``, ``--save-baseline``, ``--rttm``, ``--frames``, ``--textgrid``, ``--eaf`` written (owner-only;
    "-" is standard output, at most one: ``check_outputs``); returns one line per output that could not be written
    (a full disk there loses neither the save nor the other outputs, and leaves the file as it was). ``fresh``:
    the paths where no file was when they were checked, written only as new files (one made there meanwhile
    is not replaced). ``whose``: the audio each file is marked as written from (``fileio.mark_output``)."""
    from prosody.analysis import PROFILE_SCHEMA
    from prosody.fileio import write_private
    from prosody.session import dumps
    unwritten = []

    def emit(name: str, text: str) -> None:
        path, option = getattr(args, name), "--" + name.replace("_", "-")
        try:
            if path == "-":  # a full disk there lost the save and the other outputs until 2026-12-04
                getattr(out, "write_data", out.write)(text)
                out.flush()
            else:
                write_private(path, text, new_only=str(Path(path)) in fresh, whose=whose)
        except FileExistsError:  # a file made at its path meanwhile: kept, and this output beside it
            unwritten.append(_kept_beside_text(path, text, whose))
        except OSError as exc:
            if path == "-":
                unwritten.append(f"cannot write {option} to {STDOUT_NAME}: {exc.strerror or exc}")
            else:  # a full disk said as one (was "No space left on device")
                unwritten.append(unwritten_text(exc, path))
    if args.json:
        emit("json", dumps(doc))
    if args.save_baseline and doc.get("measures"):
        emit("save_baseline", dumps({"schema": PROFILE_SCHEMA,
                                     "speakers": doc["measures"]["baseline"]["speakers"]}))
    if args.rttm:
        from prosody.formats.rttm import segments_rttm
        emit("rttm", segments_rttm(session.segments, speakers=session.speakers, uri=Path(args.files[0]).stem))
    if args.frames:
        from prosody.formats.frames_csv import frames_csv
        emit("frames", frames_csv(session.frames, speakers=session.speakers, n_frames=session.n_frames,
                                  grid=session.grid))
    if args.textgrid or args.eaf:
        from prosody.formats.bundle import ExportBundle
        from prosody.formats.eaf import session_eaf
        from prosody.formats.export import review_points
        from prosody.formats.textgrid import session_textgrid
        points = review_points(ExportBundle(doc=doc))
        if args.textgrid:
            emit("textgrid", session_textgrid(doc, extra_points=points))
        if args.eaf:
            emit("eaf", session_eaf(doc, extra_points=points))
    return unwritten


def _kept_beside_text(path: str, text: str, whose: dict | None) -> str:
    """The line for an output whose path was taken by a file made while ``analyze`` ran (not replaced): what it
    holds written beside it (``fileio.kept_beside``), so that an analysis without ``--save`` is not lost with it
    (it was "...; it was not written": an hour's analysis gone; hostile sweep 40), marked as written from
    ``whose`` as the output would have been (a rerun onto it needed --overwrite: hostile sweep 42)."""
    from prosody.fileio import kept_beside
    try:
        other = kept_beside(path, text, whose=whose)
    except OSError as exc:
        return unwritten_text(exc, path)
    return (f"cannot write {path}: a file of that name was made while this command ran (not replaced); this "
            f"output was written beside it, as {other}")


def _safe(text) -> str:
    from prosody.report.text import message_safe
    return message_safe(text)


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser | None:
    """The parser of ``command`` (a subcommand of ``parser``), or None."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command)
    return None


def _quiet_unraisable(unraisable) -> None:
    """``sys.unraisablehook`` once the program was interrupted: what a half-made object's ``__del__`` raises
    while the interrupted frames are freed is not shown (the line saying it stopped was)."""


STDOUT_NAME = "standard output"


# prosody's own signs, for a stream that cannot hold them: ASCII that reads the same; anything else as an escape
_PLAIN_SIGNS = {"\u2500": "-", "\u2501": "-", "\u2502": "|", "\u2013": "-", "\u2014": "--", "\u00b7": ".",
                "\u2026": "...", "\u21b3": "->", "\u2192": "->", "\u2190": "<-", "\u2248": "~", "\u2022": "*",
                "\u00d7": "x", "\u2265": ">=", "\u2264": "<=", "\u00b1": "+/-", "\u2212": "-", "\u2018": "'",
                "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2581": "_", "\u2588": "#", "\u00a0": " "}


def _plain_text_errors() -> str:
    """The name of the codec error handler that writes ``_PLAIN_SIGNS`` as ASCII and the rest as escapes."""
    import codecs

    def plain(exc):
        if not isinstance(exc, UnicodeEncodeError):
            raise exc
        part = exc.object[exc.start:exc.end]
        return "".join(_PLAIN_SIGNS.get(c) or c.encode("ascii", "backslashreplace").decode("ascii")
                       for c in part), exc.end
    try:
        codecs.lookup_error("prosody-plain")
    except LookupError:
        codecs.register_error("prosody-plain", plain)
    return "prosody-plain"


class _NamedStream:
    """``sys.stdout`` as the commands write to it: a write that fails (a full disk, a closed pipe)
    raises an OSError naming the stream, said as ``cannot write to standard output: ...`` (it was
    ``cannot access: No space left on device``). After a failure the stream's descriptor goes to
    /dev/null, so that Python's own flush at exit does not fail again (exit status 120)."""

    def __init__(self, stream, name: str):
        self._stream, self._name = stream, name

    def _failed(self, exc: OSError) -> OSError:
        drop_output(self._stream)
        return OSError(exc.errno, exc.strerror or str(exc), self._name)

    def write(self, text):
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:  # a stream that is not UTF-8 (PYTHONIOENCODING=ascii, a Latin-1 locale):
                # what it cannot hold is written as escapes (\xe9), as Python writes standard error; the
                # encoding fails before anything is written. Before: "internal error (UnicodeEncodeError ...)"
                enc = self._stream.encoding or "ascii"
                return self._stream.write(text.encode(enc, _plain_text_errors()).decode(enc))
        except OSError as exc:
            raise self._failed(exc) from None

    def write_data(self, text: str):
        """A file's text to standard output (JSON, CSV, RTTM, TextGrid, EAF: UTF-8 by their definition) as
        UTF-8 bytes whatever the locale's encoding: escapes (``write``) would make ``\xe9`` in a JSON
        string, which is no JSON."""
        buffer = getattr(self._stream, "buffer", None)
        if buffer is None or (self._stream.encoding or "").lower().replace("-", "").replace("_", "") == "utf8":
            return self.write(text)
        try:
            self._stream.flush()
            buffer.write(text.encode("utf-8", "surrogateescape"))
            buffer.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


# the most columns and lines a terminal has: an 8K screen (7680 x 4320 pixels) at 4 x 8 pixels a character
TERMINAL_SIZE_MAX = {"COLUMNS": 2000, "LINES": 600}


def _ignore_impossible_terminal_size(environ=os.environ) -> None:
    """``COLUMNS`` / ``LINES`` no terminal has (0, beyond ``TERMINAL_SIZE_MAX``) are dropped, so the terminal's
    own size (or 80 columns for a file) is used: rich took ``COLUMNS=0`` for a terminal 0 wide and printed
    nothing (``show``, ``sessions``, ``analyze``: exit 0), and ``COLUMNS=100000000`` for one that wide (``live``'s
    view laid out 10^8-column lines and never drew its first frame; ``LINES=10000`` with 10000 columns: 200 MB
    of frames in 3 s of replay). Text that is no number rich ignores itself."""
    for var, most in TERMINAL_SIZE_MAX.items():
        value = environ.get(var, "").strip()
        if value.isdigit() and not 1 <= int(value) <= most:
            environ.pop(var, None)


class _ClosedStream:
    """Standard output that was closed when prosody started (``prosody ... >&-``): every write fails as
    writing to a closed descriptor does (EBADF), so each command says it as any failing standard output
    (``cannot write to standard output: Bad file descriptor``) after its files and saves are written."""

    encoding, errors, buffer = "utf-8", "strict", None

    def write(self, text):
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def flush(self) -> None:  # nothing is ever held (and Python's flush at exit must not fail: exit 120)
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1


def _mend_closed_standard_streams() -> None:
    """Descriptors 0, 1 and 2 closed when prosody started (``<&-``, ``>&-``, ``2>&-``: a daemon, a cron job,
    a careless script) are opened on /dev/null, so that no file prosody opens later takes their number (a
    library's message to "standard error" would land in a session file, a recording, an export); Python had
    made ``sys.stdout``/``sys.stderr`` None, and every command ended in ``internal error (AttributeError:
    'NoneType' object has no attribute 'write')``: an ``analyze --json`` not written, a live capture never
    started (hostile sweep 11). Standard error closed: its lines go to /dev/null (nowhere to say them; the
    exit status still tells). Standard output closed: a stream whose writes fail (``_ClosedStream``).
    Standard input closed: ``sys.stdin`` stays None (``live`` runs its plain view)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_RDWR)
            except OSError:
                continue
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    if sys.stdout is None:
        sys.stdout = _ClosedStream()


def main(argv=None) -> int:
    _mend_closed_standard_streams()
    out, err = _NamedStream(sys.stdout, STDOUT_NAME), sys.stderr
    _ignore_impossible_terminal_size()
    if argv is None and threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, first_ctrl_c)  # the program itself; tests and libraries keep theirs
    if argv is None and threading.current_thread() is threading.main_thread():
        take_stop_signals()
    args = None
    last = _LastLines(err)  # main's own last lines
    try:
        from . import release_held_signals
        release_held_signals()  # one that came while the modules were imported: raised here, in this try
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # named with the command's own help, not the top level's
            sub = _subparser(parser, args.command)
            (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command is None:
            build_parser().print_help(out)
            return EXIT_USAGE
        return args.run(args, out, err)
    except _UsageError as exc:
        last.write(f"prosody: error: {_safe(exc)}\n")
        return EXIT_USAGE
    except Exception as exc:
        if taken() is None or argv is not None:
            return _error(exc, out, last)
        # a stop signal was taken and what it raised came out as another error (a library's ``except`` that
        # names what the interrupted import had not bound): the stop is what happened (hostile sweep 15)
        sys.unraisablehook = _quiet_unraisable
        ignore_stop_signals()
        last.write(f"prosody: error: {Stopped(taken()).line()}\n")
        return 128 + taken()
    except KeyboardInterrupt as exc:
        if argv is None:  # the program itself: a second Ctrl-C while it exits gives no traceback from the exit
            # nor do the objects the interruption left half made: a ZipFile cut in its constructor (np.load) printed
            # "Exception ignored in: <function ZipFile.__del__ ...> Traceback ... AttributeError" when freed (sweep 12)
            sys.unraisablehook = _quiet_unraisable
            ignore_stop_signals()  # nor a SIGTERM or SIGHUP after it: the shut-down's default action (sweep 15)
        if isinstance(exc, Stopped):  # SIGTERM, SIGHUP (or a signal held while a change ran: what was done)
            last.write(f"prosody: error: {_safe(exc.line())}\n")
            return 128 + exc.signum
        last.write("prosody: error: interrupted\n")
        return EXIT_INTERRUPTED
    finally:
        _say_closing_note(args, last)  # the audio libraries' held lines (`cli.library_lines.held_back`), last
        if argv is None:  # the program itself: its line is said; a stop signal in the shut-down (hostile sweep 16)
            quiet_exit()


def _say_closing_note(args, last: "_LastLines") -> None:
    note = getattr(args, "closing_note", "")
    if note:
        last.write(note)


class _LastLines:
    """``main``'s own last lines (the error, the closing note) on standard error ``stream``; where it is gone
    (closed, its reader gone: ``2>&1 | head -1``) they are let go and the exit status still tells (it was 1 for
    every error then, the interrupt's 130 and a usage error's 2 too: the write's BrokenPipeError left main;
    hostile sweep 26)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError, AttributeError):  # AttributeError: no standard error at all (None)
            pass


def _error(exc: Exception, out, err) -> int:
    """``main``'s one line for an error, and its exit status."""
    if isinstance(exc, ProsodyError):  # messages quote what was typed (names, file names): shown as text
        err.write(f"prosody: error: {_safe(exc)}\n")
        return EXIT_USAGE if isinstance(exc, (InputError, ConfigError)) else EXIT_ERROR
    if isinstance(exc, OSError):
        if exc.filename == STDOUT_NAME:
            err.write(f"prosody: error: cannot write to {STDOUT_NAME}: {_safe(exc.strerror or exc)}\n")
            return EXIT_ERROR
        # was "cannot access PATH: No space left on device" (open's words); a file-size limit, an output's file
        # made meanwhile too
        if said_unwritten(exc):
            err.write(f"prosody: error: {_safe(error_text(exc))}\n")
            return EXIT_ERROR
        where = f" {exc.filename}" if exc.filename else ""
        err.write(f"prosody: error: cannot access{_safe(where)}: {_safe(exc.strerror or exc)}\n")
        return EXIT_ERROR
    # last line of defence: one line, no traceback
    if os.environ.get("PROSODY_DEBUG"):
        raise exc
    err.write(f"prosody: error: internal error ({type(exc).__name__}: {_safe(exc)}); "
              "set PROSODY_DEBUG=1 for details and please report it\n")
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
