"""prosody's command line (installed as the ``prosody_cli`` package).

Run as the ``prosody`` program, the stop signals (Ctrl-C, SIGTERM, SIGHUP) are held (blocked) from here, the
first of its modules imported, until ``main`` has set its handlers (``release_held_signals``): one that came
while the modules were imported (a Ctrl-C in the first third of a second) printed Python's traceback of
that import, or aborted the process in an extension's initialisation (``terminate called after throwing an
instance of 'nanobind::python_error'``, exit 134); it is now taken by ``main`` (hostile sweep 12). Imported
by anything else (tests, ``python -m``), nothing is held."""
import os as _os
import signal as _signal
import sys as _sys
import threading as _threading

_STOPS = {_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP}
_held = None  # the mask before, while the signals are held
if (_os.path.basename(_sys.argv[0] if _sys.argv else "").removesuffix(".exe") == "prosody"
        and hasattr(_signal, "pthread_sigmask") and _threading.current_thread() is _threading.main_thread()):
    _held = _signal.pthread_sigmask(_signal.SIG_BLOCK, _STOPS)


def release_held_signals() -> None:
    """The signals held since the program started are delivered now, to the handlers ``main`` has set."""
    global _held
    if _held is not None:
        before, _held = _held, None
        _signal.pthread_sigmask(_signal.SIG_SETMASK, before)
