"""The audio libraries' own lines, held back from the terminal while ``live`` captures.

PortAudio's ALSA host API and alsa-lib print their diagnostics from C straight to the process's standard error
(file descriptor 2), past Python: when the sound server goes away mid-session PortAudio writes three to six
lines such as::

    Expression 'alsa_snd_pcm_poll_descriptors_revents( self->pcm, pfds, self->nfds, &revents )' failed in
    'src/hostapi/alsa/pa_linux_alsa.c', line: 3665

before prosody's one "device lost" line, and on many machines opening PortAudio lists every ALSA plugin it could
not open ("ALSA lib pcm_dsnoop.c:...: unable to open slave") and JACK's "Cannot connect to server socket".
They are not prosody's (they name C source lines, not what happened or what to do) and in the full-screen view
they tear its rows. :class:`LibraryLines` points descriptor 2 at a pipe while capture runs; a thread passes
every other line through unchanged, in order, and counts those it holds back; :meth:`LibraryLines.note` is the
one line said instead. ``PROSODY_AUDIO_DIAGNOSTICS=1`` shows them as they come (nothing held back). ``play`` and
``devices`` hold them back too (:func:`held_back`): killing the server under ``play`` put the same three lines out.

Limits: POSIX only (elsewhere nothing is held back); a line is held back only when it starts with one of
:data:`LIBRARY_PREFIXES` (an ``Expression '...`` line only when it also names ``failed in``); a line without its
end is passed on as soon as it cannot be one of them; a fatal crash's dump (``faulthandler``) written while the
pipe is in place may be lost with the process.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

from prosody.fileio import _FD2_LOCK

SHOW_ENV = "PROSODY_AUDIO_DIAGNOSTICS"

# the starts of the lines held back: PortAudio's ALSA host API (its PA_ENSURE / PaUtil_DebugPrint lines),
# alsa-lib's error handler, JACK's client library (PortAudio probes a JACK server where it is built with it)
LIBRARY_PREFIXES = (b"Expression '", b"ALSA lib ", b"Cannot connect to server socket",
                    b"Cannot connect to server request channel", b"jack server is not running",
                    b"JackShmReadWritePtr")

_KEPT = 20  # the first lines held back are kept (`held_lines`), the rest only counted


def library_line(line: bytes) -> bool:
    """Whether one line (bytes, with or without its end) is an audio library's own diagnostic."""
    if not line.startswith(LIBRARY_PREFIXES):
        return False
    return not line.startswith(b"Expression '") or b"' failed in '" in line


def _may_become_library_line(part: bytes) -> bool:
    """Whether a line's beginning (no end yet) could still turn out to be one held back."""
    return any(p.startswith(part) or part.startswith(p) for p in LIBRARY_PREFIXES)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:  # the terminal or pipe went away: nothing more can be shown there
            return
        data = data[n:]


class LibraryLines:
    """Holds back the audio libraries' own lines from descriptor ``fd`` between :meth:`start` and :meth:`stop`
    (also a context manager). ``held`` counts the lines held back, ``held_lines`` keeps the first 20 (bytes).
    Both methods may be called more than once; :meth:`stop` waits for the lines still in the pipe as long as they
    are being passed on (a slow reader of standard error: `2>&1 | less`), and up to ``drain_s`` seconds for the
    pipe's end while nothing comes (a child process started meanwhile holds it)."""

    def __init__(self, *, fd: int = 2, environ=os.environ, drain_s: float = 2.0):
        self.fd = fd
        self.drain_s = drain_s
        self.held = 0
        self.held_lines: list[bytes] = []
        self._wanted = os.name == "posix" and not environ.get(SHOW_ENV, "").strip()
        self._saved: int | None = None
        self._thread: threading.Thread | None = None
        self._writing = False  # the thread is passing lines on (it may wait there for a slow reader)
        self._moved = 0.0      # time.monotonic() of the thread's last read or write

    def start(self) -> "LibraryLines":
        if not self._wanted or self._saved is not None:
            return self
        _flush(sys.stderr)
        with _FD2_LOCK:  # not while a decoder call has descriptor 2 (fileio.c_stderr_captured)
            try:
                saved = os.dup(self.fd)
            except OSError:  # no standard error at all (`2>&-`): nothing to show, nothing to hold back
                return self
            read_end, write_end = os.pipe()
            thread = threading.Thread(target=self._pass_on, args=(read_end, saved), daemon=True,
                                      name="prosody-library-lines")
            os.dup2(write_end, self.fd)
            os.close(write_end)
            try:
                thread.start()
            except RuntimeError:  # no thread to be had ("can't start new thread"): nothing held back, as before
                # (descriptor 2 was left at the pipe nobody read: what was said after, the error too, was lost)
                os.dup2(saved, self.fd)
                os.close(saved)
                os.close(read_end)
                return self
        self._saved, self._thread = saved, thread
        return self

    def stop(self) -> None:
        if self._saved is None:
            return
        _flush(sys.stderr)
        saved, thread = self._saved, self._thread
        self._saved = self._thread = None
        with _FD2_LOCK:  # a decoder call that has descriptor 2 puts back what it found: the pipe, unless waited for
            os.dup2(saved, self.fd)  # closes the pipe's write end at fd: the thread reads the rest, then its end
        # the lines in the pipe are prosody's: waited for while they are passed on, however slow their reader
        # (given up after 2 s, the thread died with the process at its exit: 775 of 2,000 lines lost to a reader
        # 4 s late, hostile sweep 24); given up once nothing has come for drain_s (a child holds the pipe)
        self._moved = time.monotonic()
        while True:
            thread.join(0.05)
            if not thread.is_alive() or (not self._writing and time.monotonic() - self._moved >= self.drain_s):
                break
        if not thread.is_alive():  # else a child still holds the pipe: the thread may still write to `saved`
            os.close(saved)

    def __enter__(self) -> "LibraryLines":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False

    def note(self, doing: str = "capturing") -> str:
        """One line saying what was held back while ``doing`` ("" when nothing was)."""
        if not self.held:
            return ""
        return (f"prosody: note: the audio library (PortAudio / ALSA) printed {self.held} line"
                f"{'' if self.held == 1 else 's'} of its own while {doing}, not shown (set {SHOW_ENV}=1 to see "
                "them)\n")

    def _pass_on(self, read_end: int, saved: int) -> None:
        pending, passing = b"", False  # passing: the current line's start is already shown, so is its rest
        try:
            while True:
                try:
                    chunk = os.read(read_end, 65536)
                except InterruptedError:
                    continue
                if not chunk:
                    break
                self._moved = time.monotonic()
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if passing:
                        self._write(saved, line + b"\n")
                        passing = False
                    else:
                        self._one(line + b"\n", saved)
                if pending and (passing or not _may_become_library_line(pending)):
                    self._write(saved, pending)  # a prompt or a line still being written: shown now
                    pending, passing = b"", True
            if pending and passing:
                self._write(saved, pending)
            elif pending:
                self._one(pending, saved)
        finally:
            os.close(read_end)

    def _one(self, line: bytes, saved: int) -> None:
        if library_line(line):
            self.held += 1
            if len(self.held_lines) < _KEPT:
                self.held_lines.append(line)
        else:
            self._write(saved, line)

    def _write(self, saved: int, data: bytes) -> None:
        self._writing = True
        try:
            _write_all(saved, data)
        finally:
            self._writing = False
            self._moved = time.monotonic()


@contextlib.contextmanager
def held_back(args, *, doing: str):
    """A command's audio-device work with the libraries' lines held back (yields the :class:`LibraryLines`); its
    note is left in ``args.closing_note`` for ``main`` to say last, after the command's error line if it raised
    (a device lost while playing: prosody's error, then the note)."""
    library = LibraryLines()
    try:
        with library:
            yield library
    finally:
        args.closing_note = library.note(doing)


def _flush(stream) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):  # None (no stderr), closed, or a broken pipe
        pass
