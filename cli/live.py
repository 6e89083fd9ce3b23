"""``prosody devices`` and ``prosody live``: argument parsing, the terminal
loop (keys, refresh, signals) and the closing summary. Capture and analysis
live in ``prosody.live.capture`` and ``prosody.live.runner``; the view in ``liveview``."""
from __future__ import annotations

import datetime as _dt
import os
import select
import signal
import sys
import time
from pathlib import Path

from typing import TYPE_CHECKING

from prosody.errors import InputError, error_text
from prosody.report.text import message_safe, terminal_safe

from .options import channel_map, input_path, number, store_path, voices_told, whole_number
from .sessions import check_file_name_text, store_folder
from .stopping import drop_output, program_handlers, quiet_exit

if TYPE_CHECKING:  # the capture and analysis stack is imported when a command runs
    from prosody.live.runner import LiveRunner

AUTOSAVE_S = 30.0  # = prosody.live.AUTOSAVE_S (checked in tests/test_live.py)

REFRESH_S = 0.2            # the view is redrawn 5 times a second (and on every key)
PLAIN_INTERVAL_S = 5.0
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def add_parser(sub) -> None:
    d = sub.add_parser("devices", help="list audio inputs: microphones and monitor (loopback) sources")
    d.set_defaults(run=cmd_devices)

    p = sub.add_parser("live", help="analyse a session live from audio devices (or replay a file) in a terminal view",
                       description="Live capture with a terminal view. Layouts: one stereo device (therapist left, "
                                   "client right; --channels), two devices (--therapist-device, --client-device), "
                                   "one mono device (--mono). Keys: q save and quit, b bookmark, n bookmark with a "
                                   "note, p pause/resume.")
    p.add_argument("--device", metavar="DEV", help="input device: number, PulseAudio source name or part of a name "
                                                   "(see `prosody devices`; default: the system's default input)")
    p.add_argument("--channels", metavar="MAP", type=channel_map,
                   help="stereo layout, e.g. therapist=right,client=left (default therapist=left,client=right)")
    p.add_argument("--profile", metavar="NAME", default=None,
                   help="one device: the therapist's voice profile (`prosody enrol`); a mono or shared device "
                        "(--mono) names who is speaking live, provisionally, and with --record it names the "
                        "therapist when the whole session is attributed again on save")
    p.add_argument("--voices", type=voices_told, default=None, metavar="N",
                   help="one device: how many people speak (as `prosody analyze --voices`), used when the whole "
                        "session is attributed again on save (--record); default: found from the audio")
    p.add_argument("--store", metavar="PATH", default=None, type=store_path,
                   help="session store holding the voice profile")
    p.add_argument("--mono", action="store_true", help="one mono device: one speaker, no turn-taking figures")
    p.add_argument("--speaker", default=None, metavar="NAME", help="speaker name for mono (default therapist)")
    p.add_argument("--therapist-device", metavar="DEV", help="two devices: the therapist's microphone")
    p.add_argument("--client-device", metavar="DEV", help="two devices: the call's audio (e.g. a monitor source)")
    p.add_argument("--therapist-channel", type=whole_number, metavar="N", help="two devices: channel N (1-based) of the "
                                                                      "therapist device (default: mix of its first two)")
    p.add_argument("--client-channel", type=whole_number, metavar="N", help="two devices: channel N of the client device "
                                                                   "(default: mix of its first two)")
    p.add_argument("--rate-hz", type=whole_number, metavar="N", help="device sample rate (default 16000 when the device "
                                                            "can, else its own default rate)")
    p.add_argument("--input", nargs="+", metavar="FILE", type=input_path,
                   help="replay a recording (one stereo/mono file or two files) through the capture path instead "
                        "of a device")
    p.add_argument("--speed", default=None, metavar="X|max",
                   help="replay speed (--input): 1 = real time (default), 2 = twice as fast, max = as fast as possible")
    p.add_argument("--offset-s", type=number, default=0.0, help="replay of two files: the second starts this much later")
    p.add_argument("--output", metavar="PATH", help="session JSON to write (default ./prosody-live-<time>.json; "
                                                    "per-frame arrays go beside it, x.json: x.frames.npz)")
    p.add_argument("--record", metavar="PATH", help="also keep the raw audio in this owner-only .wav/.flac file "
                                                    "(off by default: prosody does not store audio)")
    p.add_argument("--overwrite", action="store_true",
                   help="let --record or --output replace an existing file (never a live session's file)")
    p.add_argument("--duration", type=number, metavar="S", help="stop by itself after S seconds")
    p.add_argument("--autosave-s", type=number, default=AUTOSAVE_S, metavar="S",
                   help=f"autosave interval (default and maximum {AUTOSAVE_S:.0f} s)")
    p.add_argument("--plain", action="store_true", help="plain periodic lines instead of the full-screen view "
                                                        "(automatic when stdout is not a terminal)")
    p.add_argument("--interval-s", type=number, default=PLAIN_INTERVAL_S, metavar="S",
                   help=f"seconds between plain lines (default {PLAIN_INTERVAL_S:.0f})")
    p.add_argument("--pitch-range", action="append", default=[], metavar="SPEAKER=FMIN-FMAX",
                   help="pitch search range in Hz for a speaker, e.g. client=75-400 (default 50-600)")
    p.add_argument("--config", metavar="TOML", type=input_path, help="analysis configuration file (see docs/config.md)")
    from .options import add_measures_arguments
    add_measures_arguments(p)
    p.set_defaults(run=cmd_live)


# -- devices -----------------------------------------------------------------------------------

KIND_LABEL = {"microphone": "microphone", "monitor": "monitor (call/output audio)",
              "server": "sound server (its default source)"}


def cmd_devices(args, out, err) -> int:
    from .library_lines import held_back
    with held_back(args, doing="listing the devices"):
        return _devices(out)


def _devices(out) -> int:
    from prosody.live.devices import list_input_devices
    devs = list_input_devices()
    if not devs:
        out.write("no audio input devices found\n")
        _output_devices(out)
        return EXIT_OK
    pa = [d for d in devs if d.backend == "portaudio"]
    pulse = [d for d in devs if d.backend == "pulse"]
    out.write("Input devices (pass the number or a unique part of the name to --device, "
              "--therapist-device or --client-device):\n")
    out.write(f"  {'':1} {'ref':>4}  {'kind':<33} {'ch':>3} {'rate Hz':>8}  name\n")
    for d in pa:
        rate = f"{d.default_rate_hz:.0f}" if d.default_rate_hz else "?"
        out.write(f"  {'*' if d.is_default else ' '} {d.ref:>4}  {KIND_LABEL[d.kind]:<33} {d.channels:>3} {rate:>8}  "
                  f"{terminal_safe(d.name)}\n")
    if pulse:
        out.write("\nPulseAudio/PipeWire sources (pass the name; a monitor carries what the computer plays, "
                  "e.g. the call):\n")
        for d in pulse:
            rate = f"{d.default_rate_hz:.0f}" if d.default_rate_hz else "?"
            out.write(f"  {'*' if d.is_default else ' '} {KIND_LABEL[d.kind]:<33} {d.channels:>3} {rate:>8}  "
                      f"{terminal_safe(d.ref)}  ({terminal_safe(d.name)})\n")
    out.write("\n* = default input\n")
    _output_devices(out)
    return EXIT_OK


def _output_devices(out) -> None:
    """PortAudio's output devices, for ``prosody play --device`` (none listed where PortAudio is missing)."""
    try:
        import sounddevice as sd
        devs = sd.query_devices()
        default_out = sd.default.device[1]
    except Exception:  # noqa: BLE001  no PortAudio (ImportError, OSError, PortAudioError): play says so itself
        return
    outs = [(k, d) for k, d in enumerate(devs) if d.get("max_output_channels", 0) > 0]
    if not outs:
        return
    out.write("\nOutput devices (pass the number or a unique part of the name to `prosody play --device`):\n")
    for k, d in outs:
        out.write(f"  {'*' if k == default_out else ' '} {k:>4}  {d['max_output_channels']:>3} ch  "
                  f"{terminal_safe(str(d['name']))}\n")


# -- live --------------------------------------------------------------------------------------

def _speed(text: str) -> float | None:
    if text.strip().lower() == "max":
        return None
    from prosody.formats.bundle import parse_number
    v = parse_number(text)  # digits 0-9: float() read "1_0" as 10 and "٣" or "３" as 3
    if v is None:
        raise InputError(f"--speed {text!r}: give a number (digits 0-9; 1 = real time) or max")
    from prosody.live.capture import MIN_REPLAY_SPEED
    if not v >= MIN_REPLAY_SPEED:  # 1e-300 made each block's wait overflow the clock (an internal error)
        raise InputError(f"--speed {text!r}: must be {MIN_REPLAY_SPEED} (100 times slower than real time) or more "
                         "(1 = real time), or max")
    return v


def live_request(args):
    """Arguments -> the plain values of ``prosody.live.layout.LiveRequest`` (the rules live there)."""
    from prosody.formats.bundle import local_zone_problem
    from prosody.live.layout import LiveRequest
    problem = local_zone_problem()  # the capture's start is kept as a local time: an internal error at the start
    if problem is not None:
        raise InputError(f"a live session's start is kept in local time, and {problem}")
    if args.speed is not None and not args.input:  # a device delivers its sound as it comes
        raise InputError("--speed applies to a replayed file (--input); a device runs in real time")
    speed = _speed("1" if args.speed is None else args.speed) if args.input else 1.0
    return LiveRequest(input_files=tuple(args.input or ()), device=args.device, channels=args.channels,
                       mono=args.mono, speaker=args.speaker, therapist_device=args.therapist_device,
                       client_device=args.client_device, therapist_channel=args.therapist_channel,
                       client_channel=args.client_channel, speed=speed, offset_s=args.offset_s, rate_hz=args.rate_hz)


def build_source(args):
    """Arguments -> (live source, source names for the JSON, warnings), by ``prosody.live.layout.plan_capture``."""
    from prosody.live.layout import plan_capture
    return plan_capture(live_request(args))


def cmd_live(args, out, err) -> int:
    """``prosody live``: the audio libraries' own lines (PortAudio / ALSA, from C) held back from opening the
    devices to the end of capture (`cli.library_lines`), one note said instead after the session's lines."""
    from .library_lines import held_back
    with held_back(args, doing="capturing") as library:
        return _live(args, out, err, library)


def _check_live_args(args, request) -> Path:
    """``live``'s arguments and outputs checked before any device is opened; returns the session's path
    (``--output``, else ``prosody-live-DATE-TIME.json`` here)."""
    from prosody.analysis import check_files_differ
    from prosody.fileio import check_input_file, check_outputs
    from prosody.live.runner import frames_path_for
    from prosody.speaker_channels import check_voices_told
    request.check()
    if args.voices == 1 and (request.therapist_device or request.client_device):
        raise InputError("--voices 1 contradicts two devices, which carry one person each")
    # two files (one person each), --voices 2 with --speaker; --voices 1 with --speaker agrees with it (it was
    # refused as "two devices": hostile sweep 52)
    check_voices_told(args.voices, n_files=len(request.input_files) or 1, speaker=args.speaker, layout="auto")
    if not 0.05 <= args.interval_s <= 3600:  # nan, inf and tiny values too (nan spun the view and could hang the stop)
        raise InputError(f"--interval-s {args.interval_s}: must be within 0.05..3600 seconds")
    for f in args.input or ():
        check_input_file(f)
        check_file_name_text(f)  # the live session JSON names its recording
    check_files_differ(args.input or ())  # as analyze: the same file twice is one person's twice
    inputs = list(args.input or ()) + [p for p in (args.config, args.baseline) if p]
    if args.output is not None:  # "", "." refused (the one output rule) before a frames name is made from it
        check_outputs([("--output", args.output)], inputs=inputs, overwrite=args.overwrite, stdout_ok=False,
                      protected=[store_folder(args)])
    output = Path(args.output or f"prosody-live-{_dt.datetime.now():%Y%m%d-%H%M%S}.json")
    check_outputs([("--output", output), ("--output (frames beside it)", frames_path_for(output)),
                   ("--record", args.record)],
                  inputs=inputs, overwrite=args.overwrite, stdout_ok=False, protected=[store_folder(args)])
    return output


def _live_runner(args, request, output: Path):
    """The capture planned (devices or a replayed file) and its runner made, not started: (runner, source,
    config, measures config, baseline profile, voice profile), with the session's warnings said up front."""
    from prosody.live.layout import layout_watch, online_attribution, plan_capture
    from prosody.live.runner import LiveRunner

    from .options import config_from_args, measures_from_args
    source, sources, warnings = plan_capture(request)
    config = config_from_args(args, source.speakers)
    measures, profile = measures_from_args(args)
    if profile is not None:  # as analyze_recording: a baseline of none of these speakers is refused
        profile.check_speakers(source.speakers)
    warnings += list(getattr(source, "warnings", [])) + list(config.unused_pitch_ranges(source.speakers))
    one_device = request.one_device
    if one_device and args.voices is not None and not args.record:
        warnings.append(f"--voices {args.voices} is not used: it tells the attribution of the whole session from its "
                        "recording on save, which needs --record")
    if one_device and not args.record:
        from prosody.live.reattribute import PROVISIONAL_NOTE, provisional_replay_note
        warnings.append(provisional_replay_note(args.input) if args.input else PROVISIONAL_NOTE)
    voice_profile = None
    if one_device:
        from .voices import load_profile
        voice_profile = load_profile(args)
    online, online_note = online_attribution(request, source.speakers, voice_profile)
    runner = LiveRunner(source, output_path=output, config=config, autosave_s=args.autosave_s,
                        duration_s=args.duration, record_path=args.record, sources=sources, warnings=warnings,
                        measures=measures, profile=profile, online=online, online_profile=args.profile or "",
                        online_note=online_note, layout_watch=layout_watch(request, source.speakers),
                        voice_profile=voice_profile, record_overwrite=args.overwrite)
    return runner, source, config, measures, profile, voice_profile


def _live(args, out, err, library) -> int:
    request = live_request(args)
    output = _check_live_args(args, request)
    runner, source, config, measures, profile, voice_profile = _live_runner(args, request, output)
    # no standard input at all (`<&-`: Python's sys.stdin is None) is no terminal to read keys from: the plain
    # view, as for a file (it was an internal error, nothing captured)
    plain = args.plain or not out.isatty() or sys.stdin is None or not sys.stdin.isatty() or dumb_terminal()
    signals = _LiveSignals(runner)
    signals.take()
    try:
        runner.start()
        said: set[str] = set()  # the notes the plain lines said as they were found, not said again at the end
        out, view_lost = _view_until_done(runner, out, err, plain=plain, interval_s=args.interval_s, said=said)
        phase = signals.phase
        phase["now"] = "saving"  # the runner saves; a Ctrl-C now leaves the exit status as it is
        result = _wait(runner)
        library.stop()  # capture is over: what is said from here on is prosody's
        interrupted = phase["ctrl_c"]
        if request.one_device and args.record and result.doc is not None and not result.error \
                and not result.wanted_path:
            result, stopped_by = _reattribute(result, phase, err, config=config, measures=measures,
                                              baseline=profile, profile=voice_profile, voices_told=args.voices)
            interrupted = interrupted or stopped_by == "Ctrl-C"
        # still under the signal handlers: a Ctrl-C now must not hide the `saved PATH` line of a saved session
        changes = source.input_changes() if hasattr(source, "input_changes") else []
        said.update(_said_live_same_sound(runner, result.doc, said))
        said.update(w for w in (result.doc or {}).get("warnings") or () if _of_a_change(w, changes))
        status = _report(result, out, err, plain=plain or view_lost is not None, interrupted=interrupted,
                         said=said)
        status = _said_input_changes(changes, err, status)
        return EXIT_ERROR if view_lost is not None and status == EXIT_OK else status
    finally:
        signals.give_back()


class _LiveSignals:
    """The stop signals during ``live``, by phase.

    Capture: a signal stops the runner, which saves (a Ctrl-C: exit 130); one more after that (capture stopped,
    saving) is kept in ``phase["signal"]`` and the re-attribution on save is not started; re-attribution: a
    signal stops that step (_StepInterrupted), the saved session stays; writing: a signal waits.
    """

    def __init__(self, runner: "LiveRunner") -> None:
        self.runner = runner
        self.phase = {"now": "capture", "signal": None, "ctrl_c": False}
        self.old: dict = {}

    def take(self) -> None:
        """The handlers set, SIGINT too, from before capture starts, whatever this process inherited."""
        # a script's background job (`prosody live ... &`) starts with SIGINT ignored and main() leaves it so;
        # taken over only on main's KeyboardInterrupt, every Ctrl-C was then ignored and capture ran on.
        # SIGHUP not where it comes ignored: `nohup prosody live ...` (or `trap '' HUP`) asks the capture to
        # outlive its terminal, and taking SIGHUP over stopped it when the terminal closed (hostile sweep 11:
        # 3.2 s of 8 saved)
        taken = [signal.SIGINT, signal.SIGTERM] + ([] if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
                                                   else [signal.SIGHUP])
        self.old = {s: signal.signal(s, self._on_signal) for s in taken}

    def give_back(self) -> None:
        # the program's own handlers are not put back: one of them raised on a signal between here and the
        # exit, after the session was saved and said ("stopped by SIGTERM", exit 143, or Python's traceback
        # while atexit ran), and from the interpreter's shut-down the default action killed it (exit -15 for
        # 0; 6 of 168 stepped runs, hostile sweep 16): the command is done, the stop signals are ignored
        if not (program_handlers(self.old) and quiet_exit()):
            for s, h in self.old.items():
                signal.signal(s, h)

    def _stop(self, name: str) -> None:
        if self.runner.stopping:
            self.phase["signal"] = self.phase["signal"] or name
        self.runner.stop(name)

    def _on_signal(self, signum, frame) -> None:
        phase = self.phase
        name = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP", signal.SIGINT: "Ctrl-C"}.get(signum, "signal")
        if phase["now"] == "reattribute":
            phase["now"], phase["signal"] = "writing", name
            raise _StepInterrupted(name)
        if phase["now"] == "writing":
            phase["signal"] = phase["signal"] or name
            return
        if phase["now"] == "capture" and signum == signal.SIGINT:
            phase["ctrl_c"] = True
        self._stop(name)


def _view_until_done(runner: "LiveRunner", out, err, *, plain: bool, interval_s: float, said: set[str]):
    """The plain or full-screen view until capture ends; returns (where the closing lines go, the view's
    OSError or None). ``said`` gathers the notes the plain lines said."""
    try:
        if plain:
            _plain_loop(runner, out, interval_s, said)
        else:
            _tui_loop(runner, out)
    except OSError as exc:  # the view's stream went away (`| head` closed the pipe): stop and save, as on
        runner.stop(OUTPUT_CLOSED)  # any stop; dying here lost the whole capture (no autosave before 30 s)
        drop_output(out)
        err.write(f"prosody: error: the output of the live view was closed "
                  f"({message_safe(exc.strerror or exc)}): capture stopped; the session is saved as on "
                  "any other stop (the line below says where)\n")
        return err, exc  # the closing `saved PATH` line goes where it can still be read
    return out, None


def _said_input_changes(changes: list[tuple[str, str]], err, status: int) -> int:
    """A replayed file replaced, cut short or written to meanwhile (``changes``: the source's (kind, why)), said
    (the saved session's warnings say it too, and are not said again: ``_of_a_change``); an error status where it
    was more than changed."""
    for kind, why in changes:
        err.write(message_safe(f"prosody: {'warning' if kind == 'changed' else 'error'}: {why}; the session "
                                "saved is of what was read: replay it again once nothing writes to it") + "\n")
    if status == EXIT_OK and any(kind != "changed" for kind, _ in changes):
        return EXIT_ERROR
    return status


class _StepInterrupted(BaseException):
    """A signal stopped the re-attribution on save (not an Exception: nothing on the way catches it)."""


def _reattribute(result, phase: dict, err, **options):
    """The saved one-device session attributed again from its recording
    (``prosody.live.reattribute``). Runs with ``phase["now"] == "reattribute"``:
    a signal then stops it (``_StepInterrupted``) and the saved session stays,
    with a warning that its attribution stayed provisional; writes are not
    interrupted. Returns (result, the signal that stopped it or None)."""
    import dataclasses

    from prosody.live.reattribute import STOPPED_EARLY, note_provisional, reattribute_document
    from prosody.live.runner import write_session

    path = result.output_path
    why, failure, got = None, None, None
    try:
        try:
            phase["now"] = "reattribute"
            if phase["signal"]:  # came while the session was being saved: not started
                raise _StepInterrupted(phase["signal"])
            got = reattribute_document(path, **options)
        except _StepInterrupted:
            raise
        except Exception as exc:  # noqa: BLE001  the session is saved; this step failing must not hide that
            failure = exc
        finally:
            phase["now"] = "writing"  # from here a signal waits (a signal before this line raised already)
    except _StepInterrupted:
        why = "re-attribution interrupted"
        err.write(f"prosody: warning: {phase['signal']} stopped the re-attribution from the recording; the "
                  "session keeps its live, provisional attribution\n")
    else:
        try:
            if got is not None:
                write_session(path, *got)
                result = dataclasses.replace(result, doc=got[0])
        except Exception as exc:  # noqa: BLE001  write_session replaces atomically: the saved session stays
            failure = exc
        if failure is not None:
            why = "re-attribution failed"
            err.write("prosody: warning: the session was not attributed again from its recording: "
                      f"{message_safe(error_text(failure))}\n")
        elif got is None and (result.doc.get("live") or {}).get("recording_complete") is False:
            why = STOPPED_EARLY
    if why is not None:
        try:
            result = dataclasses.replace(result, doc=note_provisional(path, why))
        except Exception as exc:  # noqa: BLE001  the saved session stays as it was
            err.write(f"prosody: warning: could not add to {terminal_safe(path)} that its attribution stayed "
                      f"provisional: {message_safe(getattr(exc, 'strerror', None) or exc)}\n")
    phase["now"] = "done"
    return result, phase["signal"]


def _wait(runner: "LiveRunner"):
    while True:
        try:
            return runner.wait()
        except KeyboardInterrupt:  # a second Ctrl-C while saving: keep saving
            runner.stop("Ctrl-C")


OUTPUT_CLOSED = "output closed"  # live.stop_reason when the view's output went away


def dumb_terminal(environ=os.environ) -> bool:
    """A terminal that cannot move its cursor (``TERM=dumb``, as rich reads it: ``dumb``, ``unknown``): the
    plain lines. The full-screen view drew nothing on one for the whole session (rich draws no live display
    there), and showed only the summary once it ended (hostile sweep 20)."""
    return environ.get("TERM", "").strip().lower() in ("dumb", "unknown")


def _of_a_change(warning: str, changes: list[tuple[str, str]]) -> bool:
    """Whether a saved session's warning is a replayed file's change, which ``_said_input_changes`` says in its
    own line (the source's health adds its advice to the same ``why``)."""
    return any(warning.startswith(why) for _, why in changes)


def _plain_loop(runner: "LiveRunner", out, interval_s: float, said: set[str]) -> None:
    from .liveview import plain_line
    next_t = time.monotonic() + interval_s
    while not runner.done:
        runner.wait(min(0.1, max(0.0, next_t - time.monotonic())))
        if time.monotonic() >= next_t and not runner.done:
            state = runner.snapshot()
            _say_notes(state, out, said)
            out.write(plain_line(state) + "\n")
            out.flush()
            next_t += interval_s
    _say_notes(runner.snapshot(), out, said)  # found after the last line (a short replay): said before the end's
    out.flush()


def _said_live_same_sound(runner: "LiveRunner", doc: dict | None, said: set[str]) -> list[str]:
    """The saved same-sound warning of two inputs of one sound where the plain lines said it live (its figure
    may differ by the end; ``SameSoundWatch``): said once, not again among the saved session's warnings."""
    from prosody.session import SAME_SOUND_MARK
    watch = runner.same_sound
    if watch is None or not watch.said or watch.said not in said:
        return []
    return [w for w in (doc or {}).get("warnings") or () if SAME_SOUND_MARK in w]


def _say_notes(state, out, said: set[str]) -> None:
    """The notes found live, each one line, once: the layout found (one stereo device; two inputs of one sound),
    and a replayed file's warnings found only as it was read (one cut short: said in the saved session alone before
    hostile sweep 33)."""
    for note in ([state.layout_note] if state.layout_note else []) + list(state.input_notes):
        if note not in said:
            said.add(note)
            out.write(terminal_safe(f"prosody: warning: {note}") + "\n")


def _view_console(out):
    """A rich console on ``out`` whose size is the terminal's, read at each frame, but never beyond
    ``TERMINAL_SIZE_MAX`` (2000 x 600, an 8K screen): a terminal that says 10000 x 10000 (its window
    resized so, or a pseudo-terminal set so) made the view lay out 10^8 cells a frame: its first frame came
    after 4.3 s, 200 MB written for a 4 s replay (hostile sweep 11). ``COLUMNS``/``LINES`` beyond it are
    dropped at start (``main._ignore_impossible_terminal_size``)."""
    from rich.console import Console, ConsoleDimensions

    from .main import TERMINAL_SIZE_MAX

    class BoundedConsole(Console):
        @property
        def size(self) -> ConsoleDimensions:
            width, height = Console.size.fget(self)
            return ConsoleDimensions(min(width, TERMINAL_SIZE_MAX["COLUMNS"]), min(height, TERMINAL_SIZE_MAX["LINES"]))

        @size.setter
        def size(self, new_size) -> None:
            Console.size.fset(self, new_size)

    return BoundedConsole(file=out)


_POSIX_VDISABLE = b"\x00"  # a control character set to it is off (Linux, macOS: 0; termios takes bytes)


def _tui_loop(runner: "LiveRunner", out) -> None:
    """The full-screen view until the runner is done: keys read in cbreak mode, the terminal left as found."""
    _TerminalView(runner, out).run()


class _TerminalView:
    """The terminal's keys taken for the live view and given back, across Ctrl-Z / ``fg`` too."""

    def __init__(self, runner: "LiveRunner", out) -> None:
        import termios

        from .liveview import KeyInput

        self.runner, self.out = runner, out
        self.console = _view_console(out)
        self.fd = sys.stdin.fileno()
        self.saved = termios.tcgetattr(self.fd)
        self.keys = KeyInput()  # the note being typed is keys.note
        self.note_time_s = 0.0
        self.live = None  # the rich Live while the screen is shown

    def run(self) -> None:
        import termios

        from rich.live import Live

        from .liveview import live_view

        old_tstp = signal.signal(signal.SIGTSTP, self._on_suspend)
        try:
            self._take_keys()
            with Live(console=self.console, screen=True, auto_refresh=False, redirect_stdout=False,
                      redirect_stderr=False) as live:
                self.live = live
                while not self.runner.done:
                    r, _, _ = select.select([self.fd], [], [], REFRESH_S)
                    if r:
                        for action in self.keys.feed(os.read(self.fd, 65536)):
                            self._act(action)
                    live.update(live_view(self.runner.snapshot(), note_input=self.keys.note), refresh=True)
                live.update(live_view(self.runner.snapshot(), keys=None), refresh=True)
                self.live = None  # leaving the screen (the with keeps its own reference): a Ctrl-Z from here
                #                   on gives back the terminal's keys only, and does not enter the screen again
        finally:
            signal.signal(signal.SIGTSTP, old_tstp)
            try:
                self._bracketed_paste(False)
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error as exc:  # the terminal is gone (closed: SIGHUP): nothing to give back; the
                # saved session is said on stderr, where it may still be read (a log); this was an internal error
                if sys.exc_info()[0] is None:
                    raise OSError(exc.args[0], f"the terminal is gone ({exc.args[-1]})") from None

    def _act(self, action: tuple) -> None:
        """One key's action on the runner."""
        if action[0] == "save_note":
            self.runner.bookmark(action[1], time_s=self.note_time_s)
        elif action[0] == "quit":
            self.runner.stop("quit")
        elif action[0] == "bookmark":
            self.runner.bookmark("")
        elif action[0] == "note":
            self.note_time_s = self.runner.snapshot().elapsed_s
        elif action[0] == "pause":
            self.runner.toggle_pause()

    def _take_keys(self) -> None:
        import termios
        import tty

        tty.setcbreak(self.fd)
        # Ctrl-\ (the terminal's SIGQUIT) killed the process unsaved, the whole capture lost: it is no key of
        # the view while it runs, a byte it ignores; Ctrl-C stops and saves
        attrs = termios.tcgetattr(self.fd)
        attrs[6][termios.VQUIT] = _POSIX_VDISABLE
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self._bracketed_paste(True)

    def _bracketed_paste(self, on: bool) -> None:
        # the terminal marks a paste (ESC [ 200~ ... ESC [ 201~): a paste is a note's text, never keys (KeyInput)
        if os.environ.get("TERM", "") not in ("", "dumb"):
            try:
                self.out.write("\x1b[?2004h" if on else "\x1b[?2004l")
                self.out.flush()
            except (OSError, ValueError):  # the terminal is gone: nothing to mark
                pass

    def _on_suspend(self, signum, frame) -> None:
        # Ctrl-Z stays the shell's (job control), but the shell gives the terminal back as it keeps it, and
        # `fg` resumes a view whose keys then waited for Enter and whose Ctrl-\ killed the capture unsaved
        # (hostile sweep 11): the terminal is left as found, the process stops, and on resume the view takes
        # its keys again and redraws the whole screen
        import termios

        try:
            if self.live is not None:
                self.console.set_alt_screen(False)
                self.console.show_cursor(True)
            self._bracketed_paste(False)
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        except (OSError, termios.error):  # the terminal is gone: nothing to leave as found
            pass
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        try:
            os.kill(os.getpid(), signal.SIGTSTP)  # stops here until `fg` (or `bg`)
        finally:
            signal.signal(signal.SIGTSTP, self._on_suspend)
        try:
            self._take_keys()
            if self.live is not None:
                self.console.set_alt_screen(True)
                self.console.show_cursor(False)
                self.live.refresh()
        except (OSError, termios.error):
            pass


def _said_session_warnings(result, err, said: set[str]) -> None:
    """The saved session's warnings, each one line on stderr as ``analyze`` says them, but those said already
    (``said``: the plain lines' notes, a replayed file's change): a plain run (``--plain``, a log, a pipe) said
    none of them, "therapist never speaks" or "--voices 1 is not used" kept in the JSON alone, where the
    full-screen view's summary shows them (hostile sweep 53). A session whose analysis failed is not said
    "saved incomplete: the analysis failed (...)": the error line after these says it, and where it is saved; nor a
    recording stopped early or moved, which its own error line says."""
    from prosody.live.runner import RECORDING_STOPPED_MARK
    from prosody.report.wording import live_incomplete, session_warnings
    if result.error:
        said = said | {live_incomplete(result.doc["live"])}
    if result.record_error:  # its line says it: the session's warning is the same words (a recording moved) or
        said = said | {result.record_error}  # its own of the stop (RECORDING_STOPPED_MARK)
    for w in session_warnings(result.doc):
        if w not in said and not (result.record_error and w.startswith(RECORDING_STOPPED_MARK)):
            err.write(f"prosody: warning: {message_safe(w)}\n")


def _report(result, out, err, *, plain: bool, interrupted: bool, said: set[str]) -> int:
    """The closing lines: the saved session (its summary on the full-screen view's terminal, ``saved PATH``),
    its warnings where no summary shows them (``plain``), then what failed; returns the exit status."""
    from .view import summary_view

    if result.wanted_path:
        why = f": {message_safe(result.wanted_why)}" if result.wanted_why else ""
        err.write(f"prosody: error: could not write {terminal_safe(result.wanted_path)}{why}; the session is saved "
                  f"in {terminal_safe(result.output_path)} instead\n")
    unsaid = False
    if result.doc is not None:
        live = result.doc["live"]
        saved = (f"saved {terminal_safe(result.output_path)} ({live['analysed_s']:.1f} s analysed, "
                 f"{len(result.doc['segments'])} speech segments, {len(result.doc['bookmarks'])} bookmarks; "
                 f"stopped: {result.reason})\n")
        try:
            if not plain:
                _view_console(out).print(summary_view(result.doc))
            out.write(saved)
            out.flush()
        except OSError as exc:  # the terminal closed under the plain view (SIGHUP), a reader gone after the view:
            # where the session is saved is said on stderr (a log), not lost with the line (hostile sweep 11)
            drop_output(out)
            err.write(f"prosody: error: cannot write to standard output ({message_safe(exc.strerror or exc)}); "
                      f"{saved}")
            unsaid = True
        if plain or unsaid:  # after `saved`, before what failed: as analyze orders them
            _said_session_warnings(result, err, said)
    if result.record_error:
        err.write(f"prosody: error: {message_safe(result.record_error)}\n")
    if result.error:
        where = (f"; the session up to then is saved in {terminal_safe(result.output_path)}"
                 if result.doc is not None else "")
        err.write(f"prosody: error: {message_safe(result.reason)}: {message_safe(result.error)}{where}\n")
        return EXIT_ERROR
    if result.record_error or unsaid:
        return EXIT_ERROR
    if result.wanted_path:
        return EXIT_ERROR
    if result.doc is None:
        err.write(f"prosody: error: the session could not be saved to {terminal_safe(result.output_path)}\n")
        return EXIT_ERROR
    return EXIT_INTERRUPTED if interrupted else EXIT_OK
