"""What a session export carries (document, metadata, bookmarks, feedback,
frames) and the check of a session document before it is accepted."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from ..errors import InputError

SRS_ITEMS = ("relationship", "goals and topics", "approach or method", "overall")  # Duncan et al. 2003

@dataclass(frozen=True)
class SessionMeta:
    """Who and when. ``client`` is a pseudonym: prosody never needs a real name.
    ``recorded_at``: ISO 8601 local date-time of the session start."""

    therapist: str | None = None
    client: str | None = None
    recorded_at: str | None = None
    session_number: int | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bookmark:
    time_s: float
    note: str = ""


@dataclass(frozen=True)
class Note:
    """A supervisor's note on a time (``end_s`` None) or a stretch of the session.
    ``text`` and ``author`` are typed by a person: escape them wherever shown.
    ``moment``: what the note was attached to (e.g. ``"3: long silence"``), or ""."""

    time_s: float
    text: str
    end_s: float | None = None
    author: str = ""
    created_at: str = ""
    moment: str = ""


@dataclass(frozen=True)
class Feedback:
    """The client's view of the session: the Session Rating Scale (``kind="srs"``,
    four items 0-10, Duncan et al. 2003) or a simple rating (``kind="rating"``, 1-5)."""

    kind: str
    items: tuple[int, ...]
    given_at: str

    @property
    def total(self) -> int:
        return sum(self.items)


@dataclass
class ExportBundle:
    """What an export carries: document, metadata, bookmarks, feedback, frames, notes."""

    doc: dict
    meta: SessionMeta = field(default_factory=SessionMeta)
    bookmarks: tuple[Bookmark, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    frames: dict[str, dict[str, np.ndarray]] | None = None
    uid: str | None = None
    notes: tuple[Note, ...] = ()
    # why the session has no date when the file gave it none (a live capture under a clock before 1980, a file
    # dated year 10000): the importer says it, with the command that sets one
    no_date: str | None = None
    # why ``frames`` is None for a stored session whose frames file is lost (missing, cut short): said by `export`
    frames_lost: str | None = None


def validate_doc(doc) -> None:
    """Raise ``InvalidSessionError`` (a StoreError) unless ``doc`` is a session
    document as docs/session-schema.md describes it (``formats.schema``)."""
    from .schema import check_session_doc
    check_session_doc(doc)


# -- metadata values typed by a person ----------------------------------------------------------------------------
def iso_date(text: str) -> date | None:
    """``text`` as a calendar date when it names a day without a time of day
    (ISO 8601: ``2024-05-01``, ``20240501``, ``2024-W18-3``), else None."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


# a file's modification time before this is no recording's start: a recorder whose clock was never set writes
# 1970-01-01 (Unix) or 1980-01-01 (FAT, the memory card's file system)
EARLIEST_FILE_DATE = datetime(1980, 1, 2)


def started_from_mtime(mtime_s: float, duration_s: float, *, now: datetime | None = None,
                       what: str = "the recording") -> tuple[str | None, str | None]:
    """(local ISO date-time when a recording started, None) from its file's modification
    time ``mtime_s`` (seconds since the epoch) less its length ``duration_s``; or (None, why)
    when that time is no date: beyond what a date holds (year 10000, before year 1: was an
    internal error after the analysis, and the session unsaved) or before 1980-01-02 (a
    recorder's clock that was never set). A time after ``now`` (+ 1 day) is kept, with a
    ``why`` (this machine's clock may be the wrong one). The caller adds the command that
    sets a date."""
    try:
        mtime = datetime.fromtimestamp(mtime_s)
        start = mtime - timedelta(seconds=duration_s)
    except (ValueError, OverflowError, OSError):  # year 10000, year 0, beyond time_t
        return None, (f"{what}'s modification time ({mtime_s:.0f} s from 1970) is no date (beyond years 1-9999), "
                      "so the session has no date")
    now = now or datetime.now()
    if start > now + timedelta(days=1):  # which clock is wrong is not known: the file's date is kept, and said
        return start.isoformat(timespec="seconds"), (
            f"{what}'s modification time, {mtime:%Y-%m-%d %H:%M}, is after this machine's clock "
            f"({now:%Y-%m-%d %H:%M}): one of the two clocks is wrong; the session is dated by the file, check it")
    if start < EARLIEST_FILE_DATE:
        return None, (f"{what}'s modification time, {mtime:%Y-%m-%d %H:%M}, is before any digital recording: "
                      "the clock of the machine that wrote it was wrong or never set, so the session has no date")
    return start.isoformat(timespec="seconds"), None


def parse_when(text: str) -> str:
    """A user date (``YYYY-MM-DD``, or any ISO 8601 date) or date-time (ISO 8601)
    -> the ISO string compared with ``recorded_at``: ``YYYY-MM-DD`` for a date,
    ``YYYY-MM-DDTHH:MM:SS`` for a date-time. Stored dates are local times, so a
    date-time with a time zone (``+02:00``, ``Z``) is converted to local time
    (compared as text, ``10:00+02:00`` would sort as 10:00 of any zone)."""
    d = iso_date(text)
    if d is not None:
        return d.isoformat()
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is not None:
            problem = local_zone_problem()
            if problem is not None:  # the date is fine: "expected YYYY-MM-DD" blamed it
                raise InputError(f"date {text!r} names a time zone, and {problem}")
            dt = dt.astimezone().replace(tzinfo=None)
        return dt.isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        raise InputError(f"date {text!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]") from None


def local_zone_problem() -> str | None:
    """Why local time cannot be told here, or None: a time zone 24 hours or more from UTC (``TZ=UTC+24``,
    which the C library takes and clamps to 24 h, and Python refuses: every conversion to local time raised
    ValueError, and ``prosody live`` stopped with an internal error before it captured)."""
    try:
        datetime.now().astimezone()
    except (ValueError, OverflowError, OSError):
        import os
        tz = os.environ.get("TZ")
        return (f"this machine's time zone{f' (TZ={tz!r})' if tz is not None else ''} lies 24 hours or more from "
                "UTC, which no clock does: set TZ to a zone such as Europe/Berlin, or unset it")
    return None


_ZONE = re.compile(r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:\.[0-9]+)?)?)?)$")


def until_end(text: str) -> tuple[bool, str | None]:
    """For ``--until TEXT``, a date-time (``parse_when``): (True, the first instant after the minute or
    hour it names) when typed without seconds, so that ``--until 2026-12-04T16:19`` includes the
    session that ``prosody sessions`` lists as ``2026-12-04 16:19`` (saved at 16:19:11: excluded until
    2026-12-04, as if it were after it), as ``--until 2026-12-04`` includes that day; (True, None) when
    that instant lies past year 9999 (every date is before it); (False, None) for a time typed to the
    second or finer (compared as it is)."""
    time_part = re.split(r"[T ]", _ZONE.sub("", text.strip()), maxsplit=1)[1:]
    digits = len(re.sub(r"[^0-9]", "", time_part[0].split(".")[0].split(",")[0])) if time_part else 0
    if digits not in (2, 4):
        return False, None
    try:
        return True, (datetime.fromisoformat(parse_when(text)) + timedelta(hours=1 if digits == 2 else 0,
                                                                             minutes=1 if digits == 4 else 0)
                      ).isoformat(timespec="seconds")
    except OverflowError:
        return True, None


_WHOLE = re.compile(r"[0-9]+")                           # ASCII digits only: int() also takes "١", "+1", "1_0"
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")  # and float() "nan", "1e3", "1_0"


def parse_clock(text: str) -> float:
    """A time typed by a person -> seconds from the session's start: ``"12:30"``
    (m:ss), ``"1:02:03"`` (h:mm:ss), ``"750"`` or ``"750.5s"``; digits 0-9 and
    one decimal point only (no signs, exponents, ``nan`` or digits of other scripts)."""
    parts = text.strip().removesuffix("s").split(":")
    if len(parts) > 3 or not all(_DECIMAL.fullmatch(p) for p in parts) \
            or any(float(p) >= 60 for p in parts[1:]):
        raise InputError(f"time {text!r}: expected m:ss, h:mm:ss or seconds, e.g. --at 12:30")
    s = 0.0
    for p in parts:
        s = s * 60 + float(p)
    return s


def parse_whole(text: str) -> int | None:
    """A whole number typed by a person (a session number, a count) -> int: digits 0-9 with an
    optional leading minus sign, spaces around allowed; None for anything else ("1_0", "١٢", "+5")."""
    t = text.strip()
    return int(t) if _WHOLE.fullmatch(t.removeprefix("-")) else None


# a number as a person types it: digits 0-9, a sign, a point, an exponent; nan and inf are left to the range
# checks that say them. float() also reads "1_0" as 10 and digits of other scripts ("١٠")
_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)", re.IGNORECASE)


def parse_number(text: str) -> float | None:
    """A number typed by a person (seconds, milliseconds) -> float; None for what only float() reads."""
    t = text.strip()
    return float(t) if _NUMBER.fullmatch(t) else None


def parse_rating(text: str) -> int:
    """``--rating``: a whole number 1-5 in digits 0-9."""
    if not _WHOLE.fullmatch(text.strip()) or not 1 <= int(text) <= 5:
        raise InputError(f"--rating {text!r}: expected a whole number 1-5, e.g. --rating 4")
    return int(text)


def parse_srs(text: str) -> tuple[int, ...]:
    cells = [v.strip() for v in text.split(",")]
    items = tuple(int(v) for v in cells) if all(_WHOLE.fullmatch(v) for v in cells) else ()
    if len(items) != 4 or not all(0 <= v <= 10 for v in items):
        raise InputError(f"--srs {text!r}: expected four whole numbers 0-10 separated by commas "
                         f"({', '.join(SRS_ITEMS)}), e.g. --srs 9,8,9,10")
    return items
