"""Every user-facing failure is a ProsodyError; the CLI prints its message on one line."""


class ProsodyError(Exception):
    """Base class: the message names the value, the constraint and a fix."""


class InputError(ProsodyError):
    """An input file or array cannot be analysed (missing, empty, undecodable, non-finite)."""


class ConfigError(ProsodyError):
    """A configuration value is out of range or inconsistent."""


class DecoderMissingError(InputError):
    """The file format needs a decoder that is not installed on this machine."""


class StoreError(ProsodyError):
    """The session store cannot be opened, read or written."""


class SizeLimitError(StoreError):
    """The store could not be written past this process's file-size limit (``ulimit -f``; ``EFBIG``, which SQLite
    says as a plain I/O error): the message names the limit. Told by ``fileio.is_past_size_limit`` as its
    OSError is, where no errno is carried (hostile sweep 55: the rescue matched the message's text)."""


class StoreDamagedError(StoreError):
    """The store's database is damaged (a corrupted page, a truncated file): it names the
    database and the way out (``sqlite3 sessions.db .recover``, a backup)."""


class SessionNotFoundError(StoreError, InputError):
    """A session reference does not name a stored session."""


class CaptureError(ProsodyError):
    """A device cannot be found or opened as asked."""


class DeviceChoiceError(CaptureError, InputError):
    """What was typed names no usable input: a --device value that matches no input
    device (or several), a --rate-hz the device cannot record at. Bad input (exit 2)."""


class DeviceLost(CaptureError):
    """A device stopped delivering audio mid-session (unplugged, server gone)."""


class BatchError(ProsodyError):
    """The batch as a whole cannot run (ledger, scheduler, missing extra)."""


class SessionUnreadableError(StoreError):
    """One stored session's document cannot be read back: it does not follow
    docs/session-schema.md (saved by an older or another program, or the database
    edited by hand). The store and its other sessions are unaffected."""


class FramesLostError(StoreError):
    """A stored session's frames file is missing or cannot be read (cut short, replaced): its per-frame features
    are lost, its document (the analysis, bookmarks, notes, feedback) reads all the same."""


class SessionNumberTakenError(StoreError, InputError):
    """A session number given for a therapist's client is already another session's:
    (therapist, client, session number) names one session. Bad input (exit 2)."""


class InvalidSessionError(StoreError, InputError):
    """A session document (e.g. a file to import) or a value typed for it does not follow
    docs/session-schema.md: bad input (exit 2), found before anything is written."""


def parse_problem(exc: BaseException) -> str:
    """A parser's error (JSON, TOML) for a person: Python's limit on the digits of an integer is
    named as such (its own message tells a programmer to raise the limit)."""
    if isinstance(exc, RecursionError):
        return "values nested too deeply (lists or tables within each other hundreds of times)"
    text = str(exc)
    return "a number of more than 4300 digits" if "4300 digits" in text else text


def error_text(exc: BaseException) -> str:
    """An exception as words for a person, on one line of its own: a ProsodyError's message as it
    is; an OSError as the file it names and its reason ('cannot access PATH: Permission denied',
    the path once); anything else is a bug, said as an internal error with its type (as the
    CLI's last line of defence says it), for a report."""
    if isinstance(exc, ProsodyError):
        return str(exc)
    if isinstance(exc, OSError):
        from .fileio import said_unwritten, unwritten_text
        # said plainly, and that it was not written (every write is atomic); a file-size limit and a file made at
        # an output's path while the command ran (``fileio.replace_erasing``'s new_only) too
        if said_unwritten(exc):
            return unwritten_text(exc, exc.filename)
        why = exc.strerror or str(exc) or "operating system error"
        return f"cannot access {exc.filename}: {why}" if exc.filename else why
    return f"internal error ({type(exc).__name__}: {exc})"
