"""SIGTERM and SIGHUP as the program takes them: raised where they land, as Ctrl-C is (hostile sweep 12).

Their default action killed prosody on the spot, silently: what a command was writing stayed behind (a
frames file written before its commit, with the per-frame pitch and loudness of a session that was not
saved; an output's temporary), and nothing said whether a save had happened. Now ``Stopped`` is raised,
every clean-up runs (``except BaseException`` / ``finally``), and ``main`` says one line, exit 128 + the
signal's number (143, 129). Where a change must not be cut short (a save and its line, a delete), the
command holds the signals (``sessions._signals_wait``) and says the change first.

At the end too: :func:`drop_output` points a stream whose reader went (a closed pipe) at /dev/null, so that
Python's own flush at exit does not fail on it again."""
from __future__ import annotations

import os
import signal
import sys
import threading

from rich.console import Console

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stopping signal (``signum``: SIGTERM, SIGHUP, or SIGINT held while a change ran); ``done``:
    what was completed first, said after the line that says it stopped."""

    def __init__(self, signum: int, done: str = ""):
        super().__init__(signum)
        self.signum, self.done = signum, done

    def line(self) -> str:
        what = "interrupted" if self.signum == signal.SIGINT else f"stopped by {signal.Signals(self.signum).name}"
        return f"{what}; {self.done}" if self.done else what


_taken: int | None = None  # the first stopping signal the program took (``stopping``)


def _stop_signal(signum, frame):
    """From the first stopping signal on, the others are let pass (``stopping``), so that a second one
    cannot cut the clean-up short."""
    stopping(signum)
    raise Stopped(signum)


def first_ctrl_c(signum, frame):
    """The program's Ctrl-C: from the first, another (or a SIGTERM, a SIGHUP) is let pass at once
    (``stopping``), so that a double Ctrl-C cannot interrupt the cleanup run while the first unwinds (an
    object's __del__ then printed 'Exception ignored ... KeyboardInterrupt'). A command with a handler of
    its own (batch, live) sets it while it runs."""
    stopping(signal.SIGINT)
    raise KeyboardInterrupt


def program_handlers(handlers) -> bool:
    """Whether ``handlers`` (signal -> handler, as ``signal.signal`` returned them) are the program's own
    (``main`` run as ``prosody``), not a test's or a library's caller's."""
    return any(h is first_ctrl_c or h is _stop_signal for h in handlers.values())


def taken() -> int | None:
    """The stopping signal the program took, if any: an error that reaches ``main`` after it is what the
    stop made of the code it landed in (hostile sweep 15: a SIGHUP while ``webrtcvad`` was imported, in a
    ``try`` whose ``except PackageNotFoundError`` names what the interrupted import had not bound yet, came
    out as "internal error (NameError: name 'PackageNotFoundError' is not defined)", exit 1)."""
    return _taken


def _late(signum, frame):
    """A stopping signal after the first: the program is stopping already (its clean-up runs)."""


def stopping(signum: int) -> None:
    """The first stopping signal (Ctrl-C, SIGTERM, SIGHUP) is being taken: the three are let pass from now
    on, by a handler that does nothing rather than ignored (hostile sweep 15). Two that come together are
    both pending in Python (held while the modules were imported, or a Ctrl-C and the SIGTERM of a
    supervisor a few milliseconds apart): the second's handler ran inside the ``except`` that took the
    first, and a SIGTERM after a Ctrl-C raised ``Stopped`` there (Python's traceback, exit 1); one made
    ignored while pending prints Python's 'Signal 15 ignored due to race condition'. A signal its caller
    had ignored (``nohup``: SIGHUP) stays ignored. ``signum``: the one taken (``taken``)."""
    global _taken
    if _taken is None:
        _taken = signum
    for s in (signal.SIGINT, *STOP_SIGNALS):
        if signal.getsignal(s) is not signal.SIG_IGN:
            signal.signal(s, _late)


def ignore_stop_signals() -> None:
    """As the program returns after a stop: the three are ignored. A Python handler is put back to the
    default action while the interpreter shuts down, and a second signal then killed the process after
    it had said it stopped (a shell's 'Terminated', exit -15 for 'interrupted'; hostile sweep 15)."""
    for s in (signal.SIGINT, *STOP_SIGNALS):
        signal.signal(s, signal.SIG_IGN)


def take_stop_signals() -> None:
    """The program's own SIGTERM / SIGHUP handler, where they have their default action: one the caller
    set ignored (``nohup`` ignores SIGHUP) stays ignored. For the main thread of the program itself."""
    for s in STOP_SIGNALS:
        if signal.getsignal(s) is signal.SIG_DFL:
            signal.signal(s, _stop_signal)


def quiet_exit() -> bool:
    """The command has returned and said what it did: from here to the process's end the stop signals are
    ignored, where nothing is left that could hang the exit (no thread the interpreter waits for but this
    one, no child process that ``multiprocessing`` joins at exit). Returns whether they are ignored now.

    Python puts its handlers back to the default action as the interpreter shuts down (50-105 ms after
    ``main`` returns): a SIGTERM, SIGHUP or Ctrl-C then killed the process after the command's last line (a
    live session saved and said: exit -15 for 0; sweep 15 left it, sweep 16 met it in 6 of 168 stepped runs
    into ``live``), and one a little earlier, while ``atexit`` ran, printed Python's "Exception ignored in
    atexit callback" traceback. Where something could still hang (a pool's workers), they keep their handler,
    so that the exit stays stoppable (hostile sweep 16). For the main thread of the program itself."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if any(t.is_alive() and not t.daemon and t is not threading.current_thread() for t in threading.enumerate()):
        return False
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.active_children():
        return False
    ignore_stop_signals()
    return True


def drop_output(out) -> None:
    """After an output stream broke (a closed pipe: ``live``'s view, ``batch``'s progress, ``main``'s named
    streams): its file descriptor goes to /dev/null, so that Python's flush of what is still buffered for it, at
    exit, does not fail again ("Exception ignored ... BrokenPipeError", exit status 120). Nothing is done for a
    stream without one (tests)."""
    try:
        fd = out.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both OSError and ValueError
        return
    try:
        os.dup2(null, fd)
    except OSError:
        pass
    finally:
        os.close(null)


class SaidConsole(Console):
    """rich's Console, whose stream's reader going (a closed pipe: ``sessions | head -1``) is the stream's error,
    said by ``main`` as any failed write ("cannot write to standard output: Broken pipe", exit 1). rich's own
    end put /dev/null on *standard output* whatever the console's stream and left with ``SystemExit(1)``,
    nothing said: `sessions`, `show`, `moments` exited 1 unsaid where `export` said it, and a console on standard
    error whose reader went threw away what was still to come on standard output (hostile sweep 50)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more is written to it
        drop_output(self.file)  # Python's flush at exit must not fail again on it
        raise sys.exc_info()[1]  # called while rich handles the stream's BrokenPipeError
