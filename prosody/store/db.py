"""Sessions on disk: one SQLite database plus one compressed frames file per session.

Layout of a store folder (0700; every file in it 0600)::

    <store>/sessions.db            SQLite, WAL mode; schema version in PRAGMA user_version
    <store>/sessions.db-wal, -shm  SQLite's own (same mode as the database)
    <store>/frames/<uid>.<n>.npz   per-frame features of one session, compressed NumPy

The database holds the whole session document (``prosody.session/*`` JSON,
exactly as produced, so nothing is lost) *and* normalised tables of what is
queried: speakers, segments, turns, pauses, transitions, events, measures
(flattened numeric leaves), rolling windows and phases, bookmarks, feedback.
The normalised tables are derived from the document; the document is the
source of truth for export.

Writes are transactions (``BEGIN IMMEDIATE`` ... ``COMMIT``); everything slow
(compressing frames, serialising JSON) happens before the transaction, so
writers hold the lock for milliseconds and readers in WAL mode never wait for
them. A frames file is written to a temporary name, fsynced and renamed before
the transaction that references it commits; a crash in between leaves an
unreferenced file, never a reference to a missing one (``Store.gc`` removes
such orphans).

Session IDs are small integers (``AUTOINCREMENT``: never reused after a
delete); each session also carries an 8-character ``uid`` that survives
export and import.
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import math
import os
import re
import secrets
import sqlite3
import stat
import sys
import time
import unicodedata
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np

from ..fileio import (erase_file, file_mark_said, folder_mark_said, free_space_text, is_disk_full, kind_taking,
                      is_past_size_limit, locked_mark, low_space, make_private_dirs, modes_refused, nearest_existing,
                      no_inodes_text, open_here, others_owner, past_size_limit, read_head, restrict_sqlite_sidecars,
                      sqlite_errors, user_home, write_error_text, write_private)
from ..errors import (FramesLostError, InputError, InvalidSessionError, SessionNotFoundError, SessionNumberTakenError,
                      SessionUnreadableError, SizeLimitError, StoreDamagedError, StoreError)
from ..formats.schema import MAX_SESSION_NUMBER, MAX_TAGS, check_meta_fields, check_note, check_session_doc, check_uid
from ..formats.bundle import (Bookmark, ExportBundle, Feedback, Note, SessionMeta, iso_date, parse_when, until_end,
                              validate_doc)
from ..frames import frames_to_npz_bytes, read_frames_npz
from ..typed_text import BIDI_MARKS, OTHER_UNSEEN, UNSEEN
from ..types import SPEAKER_FIELDS, UNATTRIBUTED, shows_nothing

DB_NAME = "sessions.db"
FRAMES_DIR = "frames"
LEDGER_FILE = "batch.sqlite"  # the batch ledger beside the database (``batch.runner`` names it so)
ENV_VAR = "PROSODY_STORE"
SPEAKER_COLUMNS = SPEAKER_FIELDS  # per-speaker columns of the speakers table: the session summary's fields
# the speakers table as schema version 1 created it (a shipped migration never changes)
_V1_SPEAKER_COLUMNS = ("speech_s", "talk_share", "n_segments", "n_turns", "f0_median_hz", "f0_sd_st", "f0_range_st",
                       "rms_db_median", "n_syllables", "speech_rate_syl_s", "articulation_rate_syl_s", "gap_median_s",
                       "overlaps", "interruptions", "failed_interruptions", "backchannels")
BUSY_TIMEOUT_S = 5.0
ORPHAN_MIN_AGE_S = 3600.0  # an unreferenced frames file younger than this may belong to a save in progress
READ_TRIES = 5  # Store.read: snapshots tried while another prosody keeps replacing the session's frames file
# the names save writes in the frames folder, the only ones gc removes: UID.TOKEN.npz, and its temporary
# .tmp-UID.TOKEN.npz.RANDOM.npz, RANDOM being tempfile's 8 characters (.tmp-RANDOM.npz before the temporary
# carried the name)
_FRAMES_NAME = re.compile(r"[0-9a-f]{8}(?:[0-9a-f]{8})?\.[0-9a-f]{6}\.npz"
                          r"|\.tmp-(?:[0-9a-f]{8}(?:[0-9a-f]{8})?\.[0-9a-f]{6}\.npz\.)?[A-Za-z0-9_]{8}\.npz")
OWN_ORPHAN_MIN_AGE_S = 60.0  # the same, for a deleted session's own (a save waits at most BUSY_TIMEOUT_S to commit)
# an empty file in the frames folder that names the frames file a delete is erasing: made in the delete's
# transaction, before its commit, removed after the frames file; one a kill left is finished at the next open
DELETING_PREFIX = ".deleting-"
# A save holds a shared flock on the frames folder from writing its frames file to its commit; gc takes the
# folder's exclusive flock, without waiting, before it erases a file dated after this machine's clock (a clock
# set back since a killed save wrote it: by age alone it would never be old enough): holding it, no save is
# between its file and its commit, so an unreferenced file is a dead one whatever its date (flock: Linux and
# the BSDs, on local folders; where it fails, such a file is kept, as before)


@contextmanager
def _frames_lock(folder: Path, *, exclusive: bool):
    """The frames folder's flock: shared (a save, waits) or exclusive (gc, does not wait). Yields True
    when held; False where it is not to be had (exclusive and held by a save, or no flock here)."""
    try:
        import fcntl
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (ImportError, OSError):
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
        except OSError:  # held by a save (EWOULDBLOCK), or a file system without flock
            yield False
            return
        yield True
    finally:
        os.close(fd)  # and the lock with it


# -- values ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionInfo:
    """One row of ``Store.list``: what a listing needs, without the document."""

    id: int
    uid: str
    meta: SessionMeta
    saved_at: str
    duration_s: float
    speakers: tuple[str, ...]
    warmth_score: float | None
    srs_total: int | None
    rating: int | None
    has_frames: bool


@dataclass(frozen=True)
class StoredSession:
    info: SessionInfo
    doc: dict                      # the prosody.session/* document, as saved (as read: store/unsure.py)
    bookmarks: tuple[Bookmark, ...]
    feedback: tuple[Feedback, ...]
    notes: tuple[Note, ...] = ()
    saved_as: str | None = None    # the name its stored document gives the one voice ``doc`` reads as unattributed


# -- location ----------------------------------------------------------------------------------------------------
def default_store_path(environ=None, platform: str | None = None, *, home_must_exist: bool = True) -> Path:
    """``$PROSODY_STORE``, else the platform's per-user data folder + ``prosody``:
    ``$XDG_DATA_HOME`` or ``~/.local/share`` (Linux, XDG Base Directory spec),
    ``~/Library/Application Support`` (macOS), ``%LOCALAPPDATA%`` (Windows)."""
    env = os.environ if environ is None else environ
    platform = platform or sys.platform
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "prosody"
    if platform == "win32":
        base = env.get("LOCALAPPDATA")
        return (Path(base) if base else Path.home() / "AppData" / "Local") / "prosody"
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else _home(env, home_must_exist) / ".local" / "share"
    return base / "prosody"


def _home(env, must_exist: bool = True) -> Path:
    """The user's home folder: ``$HOME`` where it is an absolute path, else the account's (the password
    database), as for an unset ``$HOME``. An empty ``$HOME`` made the default store ``/.local/share/prosody``
    (Python reads it as ``/``); a relative one, a store that moved with the working folder. StoreError
    where there is none, or (``must_exist``) it does not exist: the store would have made it."""
    home = user_home(env)
    said = "$HOME is " + (repr(env["HOME"]) if "HOME" in env else "not set")
    if not home:
        raise StoreError(f"no home folder for the session store ({said}, and this account has none): set "
                         f"${ENV_VAR} or give --store")
    if must_exist and not os.path.isdir(home):
        what = "is not a folder" if os.path.lexists(home) else "does not exist"
        raise StoreError(f"the home folder {home} {what} ({said}): the session store is kept under it; set "
                         f"${ENV_VAR} or give --store, or set $HOME to your home folder")
    return Path(home)


# -- schema and migrations ---------------------------------------------------------------------------------------
def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run ``;``-terminated statements one by one: ``executescript`` would commit
    the migration's transaction first."""
    for stmt in script.split(";\n"):
        if stmt.strip():
            db.execute(stmt)


# Version 1: the engine's output. Version 2: measures (issue 3), rolling windows and
# phases, client feedback, and two per-speaker timing columns; backfilled from the
# stored documents. Append a function to add a version; never edit a shipped one.
def _migrate_0_to_1(db: sqlite3.Connection) -> None:
    speaker_cols = ",\n".join(f"  {c} NUMERIC" for c in _V1_SPEAKER_COLUMNS)
    _run_script(db, f"""
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uid TEXT NOT NULL UNIQUE,
  saved_at TEXT NOT NULL,
  recorded_at TEXT,
  therapist TEXT,
  client TEXT,
  session_number INTEGER,
  notes TEXT NOT NULL DEFAULT '',
  duration_s REAL NOT NULL,
  turn_taking INTEGER NOT NULL,
  schema TEXT NOT NULL,
  doc TEXT NOT NULL,
  frames_file TEXT
);
CREATE INDEX sessions_therapist ON sessions(therapist, recorded_at);
CREATE INDEX sessions_client ON sessions(client, recorded_at);
CREATE INDEX sessions_recorded ON sessions(recorded_at);
CREATE TABLE tags (
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (session_id, tag)
);
CREATE INDEX tags_tag ON tags(tag);
CREATE TABLE speakers (
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  speaker TEXT NOT NULL,
  role TEXT NOT NULL,
{speaker_cols},
  PRIMARY KEY (session_id, position)
);
CREATE TABLE segments (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  speaker TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL);
CREATE INDEX segments_session ON segments(session_id);
CREATE TABLE turns (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  speaker TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL);
CREATE INDEX turns_session ON turns(session_id);
CREATE TABLE pauses (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  speaker TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL);
CREATE INDEX pauses_session ON pauses(session_id);
CREATE TABLE transitions (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  from_speaker TEXT NOT NULL, to_speaker TEXT NOT NULL, from_end_s REAL NOT NULL, to_start_s REAL NOT NULL,
  offset_s REAL NOT NULL, kind TEXT NOT NULL);
CREATE INDEX transitions_session ON transitions(session_id);
CREATE TABLE events (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  kind TEXT NOT NULL, speaker TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL);
CREATE INDEX events_session ON events(session_id);
CREATE TABLE bookmarks (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  time_s REAL NOT NULL, note TEXT NOT NULL DEFAULT '');
CREATE INDEX bookmarks_session ON bookmarks(session_id);
""")


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    _run_script(db, """
ALTER TABLE sessions ADD COLUMN warmth_score REAL;
ALTER TABLE speakers ADD COLUMN turns_per_min REAL;
ALTER TABLE speakers ADD COLUMN longest_monologue_s REAL;
CREATE TABLE measures (
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (session_id, key)
) WITHOUT ROWID;
CREATE TABLE rolling (
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,            -- 'window' (measures.rolling) or 'phase' (measures.phases)
  idx INTEGER NOT NULL,
  name TEXT,
  start_s REAL,
  end_s REAL,
  warmth_score REAL,
  doc TEXT NOT NULL,
  PRIMARY KEY (session_id, kind, idx)
);
CREATE TABLE feedback (
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('srs', 'rating')),
  items TEXT NOT NULL,           -- JSON list of integers
  total INTEGER NOT NULL,
  given_at TEXT NOT NULL,
  PRIMARY KEY (session_id, kind)
);
""")
    rows = db.execute("SELECT id, doc FROM sessions").fetchall()
    for sid, doc_text in rows:
        doc = _backfill_doc(doc_text)
        if doc is not None:
            _insert_measures(db, sid, doc)


def _lenient_doc(doc_text) -> dict | None:
    """A stored document read leniently (no schema check: a malformed one still names what it can), None where
    it is no JSON object."""
    try:
        doc = json.loads(doc_text)
    except (TypeError, ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _named_audio(doc: dict | None) -> tuple[tuple[str, str | None, bool], ...]:
    """(path, SHA-256 or None, whether prosody recorded it) of each recording the document ``doc`` names: its
    ``audio.files`` (absolute paths, as analysed) and a live session's ``live.recording_file`` (the file ``live
    --record`` wrote, or its rescue copy: recorded); () where it names none."""
    if doc is None:
        return ()
    audio = doc.get("audio") if isinstance(doc.get("audio"), dict) else {}
    live = doc.get("live") if isinstance(doc.get("live"), dict) else {}
    files = audio.get("files") if isinstance(audio.get("files"), list) else []
    named = {}  # a path that is no text names nothing (a damaged document's list or object: no key either)
    for path, sha, recorded in [(live.get("recording_file"), live.get("recording_sha256"), True),
                                *((f.get("path"), f.get("sha256"), False) for f in files if isinstance(f, dict))]:
        if isinstance(path, str) and path:
            named.setdefault(path, (sha if isinstance(sha, str) else None, recorded))
    return tuple((path, sha, recorded) for path, (sha, recorded) in named.items())


def analysed_hashes(named) -> list[str | None]:
    """Of ``_named_audio``'s recordings, the SHA-256 of each file analysed (those prosody recorded left out)."""
    return [sha for _, sha, recorded in named if not recorded]


def _insert_audio_hashes(db, sid: int, doc: dict | None) -> None:
    """Session ``sid``'s rows of ``audio_hashes``: each analysed file's SHA-256 in order (none where one has no
    hash: such a session is nobody's same audio, ``Store.same_audio``)."""
    hashes = analysed_hashes(_named_audio(doc))
    if hashes and None not in hashes:
        db.executemany("INSERT INTO audio_hashes (session_id, position, sha256) VALUES (?,?,?)",
                       [(sid, i, sha) for i, sha in enumerate(hashes)])


def _refuse_constant(name: str):
    """``json.loads`` ``parse_constant``: NaN and Infinity are no numbers a session holds."""
    raise ValueError(f"{name} is not a number a session can hold")


def _backfill_doc(doc_text) -> dict | None:
    """A stored document for a migration to fill new tables from; None for one that
    cannot be read (``Store._doc``): left out of the backfill, its session opens the
    store all the same and is named when read."""
    try:
        doc = json.loads(doc_text, parse_constant=_refuse_constant)
        check_session_doc(doc, every_value=False)
    except (TypeError, ValueError, RecursionError, InvalidSessionError):
        return None
    return doc


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Version 3: supervisor notes (issue 12), on a time or a stretch of a session."""
    _run_script(db, """
CREATE TABLE notes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  time_s REAL NOT NULL,
  end_s REAL,
  text TEXT NOT NULL,
  author TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  moment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notes_session ON notes(session_id, time_s);
""")


def _migrate_3_to_4(db: sqlite3.Connection) -> None:
    """Version 4 (issue 9): which layout was found and how speakers were attributed
    (backfilled from the stored documents), and the therapists' voice profiles."""
    _run_script(db, """
ALTER TABLE sessions ADD COLUMN layout TEXT;
ALTER TABLE sessions ADD COLUMN attribution TEXT;
CREATE TABLE voice_profiles (
  name TEXT PRIMARY KEY,
  profile TEXT NOT NULL,          -- VoiceProfile.to_dict() as JSON
  source TEXT NOT NULL,           -- where it was built from, in words
  session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
  created_at TEXT NOT NULL
);
""")
    from ..session import attribution_of  # a lower floor, imported where used (start-up time)
    for sid, doc_text in db.execute("SELECT id, doc FROM sessions").fetchall():
        doc = _backfill_doc(doc_text)
        if doc is None:
            continue
        layout, method = attribution_of(doc)
        db.execute("UPDATE sessions SET layout = ?, attribution = ? WHERE id = ?", (layout, method, sid))


def _migrate_4_to_5(db: sqlite3.Connection) -> None:
    """Version 5 (session 39): a session saved unsure before the forty-sixth round (its one voice named the
    therapist, with her warmth) has its derived rows (speakers and their roles, segments, measures, rolling
    windows and phases, warmth score) made again as it is read now, its voice ``unattributed``
    (``store/unsure.py``). Its stored document, tags, bookmarks, feedback and notes are not touched."""
    from .unsure import as_unattributed
    for sid, doc_text in db.execute("SELECT id, doc FROM sessions").fetchall():
        doc = _backfill_doc(doc_text)
        view = as_unattributed(doc) if doc is not None else None
        if view is None:
            continue
        for table in ("speakers", "segments", "turns", "pauses", "transitions", "events", "measures", "rolling"):
            db.execute(f"DELETE FROM {table} WHERE session_id = ?", (sid,))
        _insert_derived(db, sid, view)


def _migrate_5_to_6(db: sqlite3.Connection) -> None:
    """Version 6 (hostile sweep 40): the SHA-256 of each file a session was analysed from, indexed, filled from
    the stored documents, so that `analyze --save`'s same-audio note (``Store.same_audio``) looks one hash up
    instead of scanning every stored document's text (0.76 s at 100 sessions of 2.5 MB, an hour's each)."""
    _run_script(db, """
CREATE TABLE audio_hashes (
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,     -- the file's place among those analysed (0: the first)
  sha256 TEXT NOT NULL,
  PRIMARY KEY (session_id, position)
) WITHOUT ROWID;
CREATE INDEX audio_hashes_sha256 ON audio_hashes(sha256);
""")
    for sid, doc_text in db.execute("SELECT id, doc FROM sessions").fetchall():
        _insert_audio_hashes(db, sid, _lenient_doc(doc_text))


MIGRATIONS = (_migrate_0_to_1, _migrate_1_to_2, _migrate_2_to_3, _migrate_3_to_4, _migrate_4_to_5, _migrate_5_to_6)
SCHEMA_VERSION = len(MIGRATIONS)
# the migrations from this version on change nothing a read uses: the rows of sessions saved unsure before the
# forty-sixth round (the fifth), the audio hashes only a save looks up (the sixth): a read-only store at such a
# version that holds no unsure session reads as migrated (move it up to SCHEMA_VERSION when a migration changes
# a table that reads use)
ROWS_ONLY_FROM = 4


def _reads_as_current(db: sqlite3.Connection, version: int) -> bool:
    """Whether the store ``db`` at ``version`` reads exactly as the current schema without migrating (a
    read-only one cannot be migrated): the migrations after ``version`` change rows only, and of no session
    it holds (``_migrate_4_to_5``: none saved unsure before the forty-sixth round)."""
    if not ROWS_ONLY_FROM <= version < SCHEMA_VERSION:
        return False
    from .unsure import stored_unsure_name
    for (doc_text,) in db.execute("SELECT doc FROM sessions"):
        doc = _backfill_doc(doc_text)
        if doc is not None and stored_unsure_name(doc) is not None:
            return False
    return True


# -- flattening ----------------------------------------------------------------------------------------------------
def speaker_roles(speaker_order) -> dict[str, str]:
    """Speaker name -> role ('therapist' / 'client'), so sessions compare by role:
    the names themselves when they are these roles, else channel order. A voice left
    ``UNATTRIBUTED`` (who spoke when is unsure) has that role, never the therapist's or
    the client's: its figures may be both people's."""
    names = list(speaker_order)
    roles = {}
    for i, name in enumerate(names):
        if name == UNATTRIBUTED:
            roles[name] = UNATTRIBUTED
        elif name in ("therapist", "client"):
            roles[name] = name
        else:
            taken = set(roles.values()) | {n for n in names if n in ("therapist", "client")}
            roles[name] = next((r for r in ("therapist", "client") if r not in taken), f"speaker{i + 1}")
    return roles


MAX_SESSION_ID = 2**63 - 1  # SQLite's INTEGER
MAX_REF_CHARS = 64


def check_session_ref(ref) -> str:
    """A session reference as typed (``12``, ``#12``, a uid or its prefix, ``last``),
    stripped; SessionNotFoundError (bad input, one line) for one that can name no
    session: an ID beyond SQLite's integers, an empty or overlong text."""
    text = str(ref).strip().lstrip("#")
    # IDs, uids and "last" are ASCII: "٣" or "３" (digits of other scripts, which int() reads) names no session
    if not text or len(text) > MAX_REF_CHARS or not text.isascii():
        raise SessionNotFoundError(f"session {str(ref)[:MAX_REF_CHARS]!r}: expected a session ID, a uid (or its "
                                   "first 4+ characters) or 'last'; `prosody sessions` lists them")
    if text.isdigit() and len(text) > 16 and int(text) > MAX_SESSION_ID:  # 16 digits: an all-digit uid
        raise SessionNotFoundError(f"session {text}: no such session (IDs are whole numbers below 2^63); "
                                   "`prosody sessions` lists them")
    return text


def _num(v) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
        return float(v)
    return None


def flatten_measures(measures: dict, roles: dict[str, str]) -> dict[str, float | None]:
    """``measures`` (session JSON) -> {dotted key: number}. Lists of dicts with a
    ``name`` are keyed by name (warmth components); ``rolling`` and ``phases``
    are left out (they go to their own table); speaker names under ``timing``
    and ``voice_quality`` become roles. Non-numeric leaves are skipped."""
    out: dict[str, float | None] = {}

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if not path and k in ("rolling", "phases"):
                    continue
                k = roles.get(k, k) if path and path[0] in ("timing", "voice_quality") and len(path) == 1 else k
                walk(v, path + (str(k),))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    walk({k: v for k, v in item.items() if k != "name"}, path + (item["name"],))
                elif isinstance(item, dict):
                    walk(item, path + (str(i),))
        elif node is None or isinstance(node, (int, float, bool)):
            out[".".join(path)] = _num(node)

    walk(measures, ())
    return out


def windows_of(measures: dict) -> list[tuple[str, int, str | None, dict]]:
    """(kind, idx, name, window) for ``measures.rolling`` and ``measures.phases``;
    phases may be a list of windows or a mapping name -> window."""
    out = []
    for i, w in enumerate(measures.get("rolling") or []):
        if isinstance(w, dict):
            out.append(("window", i, w.get("name"), w))
    phases = measures.get("phases") or []
    items = list(phases.items()) if isinstance(phases, dict) else [(None, p) for p in phases]
    for i, (name, w) in enumerate(items):
        if isinstance(w, dict):
            out.append(("phase", i, name or w.get("name") or w.get("phase"), w))
    return out


def warmth_score_of(node: dict) -> float | None:
    w = node.get("warmth") if isinstance(node, dict) else None
    if isinstance(w, dict):
        return _num(w.get("score"))
    return _num(w)


def _insert_measures(db, sid: int, doc: dict) -> None:
    measures = doc.get("measures")
    if not isinstance(measures, dict):
        return
    roles = speaker_roles(doc.get("speaker_order", []))
    flat = flatten_measures(measures, roles)
    db.executemany("INSERT OR REPLACE INTO measures (session_id, key, value) VALUES (?, ?, ?)",
                   [(sid, k, v) for k, v in flat.items()])
    db.executemany(
        "INSERT INTO rolling (session_id, kind, idx, name, start_s, end_s, warmth_score, doc) VALUES (?,?,?,?,?,?,?,?)",
        [(sid, kind, i, name, _num(w.get("start_s")), _num(w.get("end_s")), warmth_score_of(w), json.dumps(w))
         for kind, i, name, w in windows_of(measures)])
    db.execute("UPDATE sessions SET warmth_score = ? WHERE id = ?", (warmth_score_of(measures), sid))
    timing = measures.get("timing")
    if isinstance(timing, dict):
        for spk, t in timing.items():
            if isinstance(t, dict):
                db.execute("UPDATE speakers SET turns_per_min = ?, longest_monologue_s = ? "
                           "WHERE session_id = ? AND speaker = ?",
                           (_num(t.get("turns_per_min")), _num(t.get("longest_monologue_s")), sid, spk))


def _insert_derived(db, sid: int, doc: dict) -> None:
    """The rows derived from a session's document: speakers (with their roles), segments, turns, pauses,
    transitions, events, measures and rolling windows, the warmth score, layout and attribution."""
    roles = speaker_roles(doc["speaker_order"])
    cols = ", ".join(SPEAKER_COLUMNS)
    marks = ", ".join("?" * (4 + len(SPEAKER_COLUMNS)))
    db.executemany(
        f"INSERT INTO speakers (session_id, position, speaker, role, {cols}) VALUES ({marks})",
        [(sid, i, spk, roles[spk], *(_num(doc["speakers"].get(spk, {}).get(c)) for c in SPEAKER_COLUMNS))
         for i, spk in enumerate(doc["speaker_order"])])
    for table in ("segments", "turns", "pauses"):
        db.executemany(f"INSERT INTO {table} (session_id, speaker, start_s, end_s) VALUES (?,?,?,?)",
                       [(sid, x["speaker"], x["start_s"], x["end_s"]) for x in doc.get(table) or []])
    db.executemany(
        "INSERT INTO transitions (session_id, from_speaker, to_speaker, from_end_s, to_start_s, offset_s, kind) "
        "VALUES (?,?,?,?,?,?,?)",
        [(sid, t["from_speaker"], t["to_speaker"], t["from_end_s"], t["to_start_s"], t["offset_s"], t["kind"])
         for t in doc.get("transitions") or []])
    db.executemany("INSERT INTO events (session_id, kind, speaker, start_s, end_s) VALUES (?,?,?,?,?)",
                   [(sid, e["kind"], e["speaker"], e["start_s"], e["end_s"]) for e in doc.get("events") or []])
    _insert_measures(db, sid, doc)
    from ..session import attribution_of  # a lower floor, imported where used (start-up time)
    db.execute("UPDATE sessions SET layout = ?, attribution = ? WHERE id = ?", (*attribution_of(doc), sid))


# Characters no listing shows, so that two names differing by them alone look alike ('C7' and 'C7'
# with a zero-width space pasted from a web page or a document): the zero-width space, word joiner,
# zero-width no-break space (a byte-order mark pasted along) and soft hyphen are dropped, and the
# no-break spaces are spaces. ZWJ and ZWNJ are kept: they change how some scripts and emoji are drawn.
_UNSEEN = re.compile(f"[{UNSEEN}]")
_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " "})
# In names and tags, also the other invisible format characters: the bidi marks (LRM, RLM, the Arabic
# letter mark), pasted along from a document written right to left ('C7' and 'C7<LRM>' were two clients
# listed alike, each with its session 1), the invisible operators, the Mongolian vowel separator and the
# tag characters (U+E0000..U+E007F: text no terminal shows). Notes keep the marks: they place the
# punctuation of a note written right to left.
_UNSEEN_IN_NAMES = re.compile(f"[{BIDI_MARKS}{OTHER_UNSEEN}]")


def nfc(text: str | None, *, note: bool = False) -> str | None:
    """Unicode NFC, without leading or trailing white space and without characters no
    listing shows (``_UNSEEN``; in a name, not a ``note``, ``_UNSEEN_IN_NAMES`` too): names typed
    on different systems (macOS gives NFD), with a stray space ('alex ' and 'alex'), or pasted
    with a zero-width space, a bidi mark or a no-break space, which the listing cannot tell
    apart, compare equal."""
    if text is None:
        return None
    text = _UNSEEN.sub("", unicodedata.normalize("NFC", text)).translate(_NO_BREAK_SPACES)
    return (text if note else _UNSEEN_IN_NAMES.sub("", text)).strip()


def _normalised(meta: SessionMeta) -> SessionMeta:
    return dataclasses.replace(meta, therapist=nfc(meta.therapist), client=nfc(meta.client),
                               notes=nfc(meta.notes or "", note=True) or "", tags=tuple(nfc(t) for t in meta.tags))


def _read_only_folder(path: Path) -> bool:
    """True when the store folder ``path`` exists and cannot be written: on a
    read-only file system (``ST_RDONLY``) or, for its user, a read-only folder."""
    on_read_only_fs = _on_read_only_fs(path)
    if on_read_only_fs is None:
        return False
    return on_read_only_fs or (path / DB_NAME).is_file() and not os.access(path, os.W_OK)


def _on_read_only_fs(path: Path) -> bool | None:
    """Whether ``path`` lies on a read-only file system (``ST_RDONLY``); None where that cannot be read."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return None


def _set_mode(path: Path, mode: int) -> None:
    """``chmod`` only when the mode differs: a folder that is already owner-only on a
    read-only mount (EROFS even for the same mode) is left as it is."""
    if stat.S_IMODE(os.stat(path).st_mode) != mode:
        os.chmod(path, mode)


def _looks_like_sqlite(path) -> bool:
    """The file is empty or starts as a SQLite database does (read keeping this process's locks on it: a failed
    open read it while another connection of this process had it open; hostile sweep 63)."""
    try:
        return read_head(path, 16) in (b"", b"SQLite format 3\x00")
    except OSError:
        return False


def _has_sqlite_header(path) -> bool:
    """The file starts as a SQLite database does (so an error reading it means damage)."""
    try:
        return read_head(path, 16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _has_wal_data(db_path) -> bool:
    try:
        return os.path.getsize(str(db_path) + "-wal") > 0
    except OSError:
        return False


def disk_full_error(path, *, needs: str = "") -> StoreError:
    """The full disk said in one line; ``needs``: how much room the change needs, where it is known."""
    no_inodes = no_inodes_text(path, holding=str(path))
    if no_inodes is not None:  # room, but no file can be made (its journal): files, not bytes, to free
        return StoreError(f"{no_inodes}; the store is unchanged. Remove some files from that file system and try "
                          "again")
    return StoreError(f"the disk holding {path} is full ({free_space_text(path)}); the store is unchanged. "
                      + (needs or "Free some space and try again"))


# A delete writes the session's pages, zeroed (secure_delete), to the write-ahead log before they reach the
# database; its share of the database, measured: 268 kB of WAL deleting one of two 40 s sessions from a 557 kB
# database (hostile sweep 38). Half as much again is asked, pages of the indexes and the free list with them.
DELETE_ROOM_MARGIN = 1.5


def damaged_error(db_path, why) -> StoreDamagedError:
    return StoreDamagedError(f"the session store database {db_path} is damaged ({why}); recover what it holds with "
                             f"`sqlite3 {db_path} .recover | sqlite3 recovered.db` and put recovered.db in its "
                             "place, or restore it from a backup")


def store_os_error(exc: OSError, path, doing: str, *, chosen: bool = True) -> StoreError:
    """An OSError while writing the store as one line: a full disk reads as one, a used-up quota as one
    (``fileio.write_error_text``: "full, 12.0 GB free" said both; hostile sweep 25). ``chosen``: False for the
    default store's folder, which a user denied it (a read-only home) is told how to move (hostile sweep 40)."""
    if exc.errno == errno.EDQUOT:
        return StoreError(f"cannot {doing} {path}: {write_error_text(exc, path)}; the store is unchanged. Free some "
                          "space and try again")
    if is_disk_full(exc):
        return disk_full_error(path)
    where = "" if chosen or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS) else (
        f" (the default store's folder; give --store or ${ENV_VAR} a folder you can write)")
    # a file-size limit named (was "File too large" alone; hostile sweep 54); else the system's reason
    kind = SizeLimitError if is_past_size_limit(exc) else StoreError
    return kind(f"cannot {doing} {path}: {write_error_text(exc, path)}{where}")


def _fsync_folder(folder: Path) -> None:
    """Make a file just made in ``folder`` survive a power cut (where the file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_private_bytes(folder: Path, name: str, data: bytes) -> None:
    """Write ``data`` to ``folder/name`` atomically, 0600, fsynced before the rename. The
    temporary file is ``.tmp-NAME.*.npz``: one a kill left is still known as that session's
    (``Store.gc``)."""
    write_private(folder / name, data, tmp_prefix=f".tmp-{name}.", tmp_suffix=".npz")


# -- session numbers: (therapist, client, session number) names one session ---------------------------------------
# The key the next number is counted in: a client seen by two therapists is numbered by each.
# A number typed by the user that another session holds is refused (SessionNumberTakenError);
# one carried along (from an imported file, or kept when a session moves to another client)
# becomes the next free one, and the command says so.
def _number_holder(db, *, therapist, client, number, sid: int | None = None) -> int | None:
    """The ID of a session other than ``sid`` of ``therapist``'s ``client`` with session
    number ``number``; None when there is none (or no client or number to clash)."""
    if client is None or number is None:
        return None
    row = db.execute("SELECT id FROM sessions WHERE client = ? AND therapist IS ? AND session_number = ? "
                     "AND id IS NOT ? ORDER BY id LIMIT 1", (client, therapist, number, sid)).fetchone()
    return None if row is None else row[0]


_WHOSE = "FROM sessions WHERE client = ? AND therapist IS ? AND id IS NOT ?"


def _highest_number(db, *, therapist, client, sid: int | None = None) -> int:
    """The highest session number of ``therapist``'s ``client`` (``sid`` aside), 0 where none."""
    return db.execute(f"SELECT COALESCE(MAX(session_number), 0) {_WHOSE}", (client, therapist, sid)).fetchone()[0]


def _next_number(db, *, therapist, client, sid: int | None = None) -> int:
    """One more than the highest session number of ``therapist``'s ``client`` (``sid`` aside); where that would pass
    ``MAX_SESSION_NUMBER`` (a session numbered 1,000,000 by hand), the lowest number free: 1,000,001 was saved, and
    the session's export refused by `import` ("outside 0..1e+06"; hostile sweep 63)."""
    top = _highest_number(db, therapist=therapist, client=client, sid=sid) + 1
    if top <= MAX_SESSION_NUMBER:
        return top
    taken = {n for (n,) in db.execute(f"SELECT session_number {_WHOSE}", (client, therapist, sid))}
    return min(set(range(1, len(taken) + 2)) - taken)


def _check_number_free(db, *, therapist, client, number, sid: int | None = None,
                       how: str = "--session-number") -> None:
    """Raise SessionNumberTakenError when a session other than ``sid`` of ``therapist``'s
    ``client`` holds session number ``number``. ``how``: where the user gives another."""
    holder = _number_holder(db, therapist=therapist, client=client, number=number, sid=sid)
    if holder is None:
        return
    after = _next_number(db, therapist=therapist, client=client, sid=sid)
    free = ("after the highest" if after == _highest_number(db, therapist=therapist, client=client, sid=sid) + 1
            else "the lowest free")
    who = f"client {client!r}" + (f" of therapist {therapist!r}" if therapist else "")
    raise SessionNumberTakenError(
        f"session number {number} is taken: {who} has it as session {holder}; give another with "
        f"{how} ({free}: {after}), or renumber session {holder} first "
        f"(`prosody edit {holder} --session-number N`)")


def _uid_taken(uid: str, sid) -> StoreError:
    return StoreError(f"session uid {uid} is already in the store as session {sid}; import it as a new session "
                      "(--new-id) or delete that one first")


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _after(now: datetime, rows) -> str:
    """``now`` (local, to the microsecond), or a microsecond after the latest of ``rows``' first column (notes'
    ``created_at`` as stored, read as ``moments.written_at`` reads them; one that cannot be read is passed over)
    when that is not before it: a time after every one given (``moments`` numbers notes in that order)."""
    from ..moments import written_at
    latest = now
    for (text,) in rows:
        t = written_at(text)
        if t is not None and t >= latest:
            latest = t + timedelta(microseconds=1) if t < datetime.max else t
    return latest.isoformat(timespec="microseconds")


def _missing_folders(path: Path) -> list[Path]:
    """``path`` and the folders above it that do not exist (yet), the deepest first."""
    missing, p = [], Path(os.path.abspath(path))
    while not p.exists() and p.parent != p:
        missing.append(p)
        p = p.parent
    return missing


def _unmake_new_store(made: list[Path]) -> None:
    """What opening a new store made, taken away after it failed: its database (with SQLite's files beside it)
    while nothing is written in it, its frames folder and the folders made for it, where empty. A store made on a
    full disk was said "the store is unchanged" and left a folder, an empty ``frames`` and a 0-byte
    ``sessions.db`` (hostile sweep 50). A database another prosody has written meanwhile (its schema, in the
    database or its write-ahead log) is kept, and the folders holding it."""
    for db in (p for p in made if p.name == DB_NAME):
        if not _holds_nothing(db):
            return
        for side in ("-wal", "-shm", "-journal", ""):
            with suppress(OSError):
                os.unlink(f"{db}{side}")
    for folder in (p for p in made if p.name != DB_NAME):
        with suppress(OSError):
            folder.rmdir()  # only an empty one


def _sidecars(db_path: Path) -> tuple[Path, Path]:
    """SQLite's write-ahead log and shared-memory file beside ``db_path``."""
    return Path(f"{db_path}-wal"), Path(f"{db_path}-shm")


# os_unix.c's "dead man switch": the byte of the -shm file every connection holds a read lock on while it has the
# file open (UNIX_SHM_BASE 120 + SQLITE_SHM_NLOCK 8); a write lock on it is to be had only where none has
SQLITE_SHM_DMS_BYTE = 128


def _unmake_sidecars(db_path: Path, made: list[Path]) -> None:
    """SQLite's ``-wal`` and ``-shm`` that a failed open of an existing store made, taken away: a refusal on a full
    disk ("the store is unchanged") left a 3-byte ``sessions.db-shm`` and an empty ``-wal`` beside it (SQLite
    deletes them as its last connection closes, after a checkpoint, which the full disk failed; hostile sweep
    51). Only those this open made, the log only while empty, and only while no other connection has them open
    (one opened meanwhile holds the shared memory's lock byte); else they are SQLite's, as before."""
    wal, shm = _sidecars(db_path)
    if db_path in made or shm not in made or wal not in made:  # a new database: ``_unmake_new_store``
        return
    with _shm_unused(shm) as unused:
        try:
            if not unused or wal.stat().st_size:
                return
        except OSError:
            return
        for side in (wal, shm):  # while the lock byte is held: no connection can begin meanwhile
            with suppress(OSError):
                side.unlink()


# the descriptors of a ``-shm`` file ``_shm_unused`` found in use, by (device, inode): never closed, as a close would
# drop every POSIX lock this process holds on the file (SQLite's on its lock byte, taken meanwhile by another thread)
_SHM_FDS: dict[tuple[int, int], int] = {}


@contextmanager
def _shm_unused(shm: Path):
    """Whether no connection has SQLite's shared-memory file ``shm`` open, held while the block runs: an open file
    description's write lock on its ``SQLITE_SHM_DMS_BYTE`` is had (it meets every other's read lock, this
    process's too, and no connection begins while it is held). False where it cannot be told (no such lock here).

    No descriptor of the file is closed while this process may hold a lock on it: closing any descriptor of a file
    drops every POSIX lock the process holds on it, and the open and close that asked it dropped the lock byte of
    a connection this process had open (the "dead man switch": another process's connection then takes itself for
    the first and starts the shared memory afresh under the one in use; hostile sweep 63). Where this process has
    the file open otherwise (``/proc/self/fd``) it is in use here, and the file is not opened; a descriptor whose
    lock was refused is kept open (one a file), as one this process has taken meanwhile may hold it."""
    import fcntl
    import struct
    ofd = getattr(fcntl, "F_OFD_SETLK", None)
    try:
        st = os.stat(shm)
    except OSError:
        st = None
    key = None if st is None else (st.st_dev, st.st_ino)
    if ofd is None or key is None or key in _SHM_FDS or open_here(key):
        yield False
        return
    try:
        fd = os.open(shm, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        yield False
        return
    try:  # struct flock: l_type, l_whence, l_start, l_len, l_pid (Linux, 64-bit offsets)
        fcntl.fcntl(fd, ofd, struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, SQLITE_SHM_DMS_BYTE, 1, 0))
    except OSError:  # held (EAGAIN), or no such lock on this file system
        _SHM_FDS[key] = fd
        yield False
        return
    try:
        yield True
    finally:  # nothing here holds a lock on it: none could be had while ours was held
        os.close(fd)


# SQLite's file header: the page size (2 bytes, big-endian; 1 for 65536) and the user version (4 bytes)
_HEADER_PAGE_SIZE, _HEADER_USER_VERSION, _HEADER_BYTES = slice(16, 18), slice(60, 64), 100


def _one_unversioned_page(db_path: Path) -> bool:
    """Whether a database file is its first page alone (``sqlite_master`` there, so no table: each has a root page
    of its own) with user version 0, read from its header without SQLite: a process at its file-size limit could
    not open it to tell, and a new store it failed to make was left behind (hostile sweep 53)."""
    head = read_head(db_path, _HEADER_BYTES)
    if len(head) < _HEADER_BYTES or not head.startswith(b"SQLite format 3\x00"):
        return False
    page_size = int.from_bytes(head[_HEADER_PAGE_SIZE], "big")
    page_size = 65536 if page_size == 1 else page_size
    return os.path.getsize(db_path) <= page_size and int.from_bytes(head[_HEADER_USER_VERSION], "big") == 0


def _holds_nothing(db_path: Path) -> bool:
    """Whether a database file holds no table and no schema version, its write-ahead log nothing (SQLite wrote
    its header alone: the write-ahead mode set); False where it cannot be told."""
    try:
        if os.path.exists(f"{db_path}-wal") and os.stat(f"{db_path}-wal").st_size:
            return False
        if db_path.stat().st_size == 0 or _one_unversioned_page(db_path):
            return True
        with closing(sqlite3.connect(f"file:{quote(str(db_path.resolve()))}?mode=ro", uri=True)) as db:
            return (db.execute("PRAGMA user_version").fetchone()[0] == 0
                    and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)
    except (OSError, sqlite3.Error):
        return False


# -- the store ----------------------------------------------------------------------------------------------------
class Store:
    """A session store folder. ``Store(path)`` opens it (creating it and migrating
    its schema as needed); use as a context manager or call ``close()``."""

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True, readonly: bool | None = None):
        """``readonly``: open without writing anything (None: when the folder
        cannot be written, e.g. a read-only file system or backup medium)."""
        # False: the platform's default folder, neither a --store nor $PROSODY_STORE named one (store_os_error)
        self.chosen = path is not None or bool(os.environ.get(ENV_VAR))
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.db_path = self.path / DB_NAME
        self.frames_dir = self.path / FRAMES_DIR
        if readonly is None:
            readonly = _read_only_folder(self.path)
        self.readonly = readonly
        self.disk_full = False  # opened read-only because the disk is full (writes say so)
        self.frames_readonly: str | None = None  # why the frames folder cannot be written (changes say so)
        if readonly:
            self._open_read_only()
            return
        made = [p for p in (self.db_path, self.frames_dir, *_sidecars(self.db_path)) if not p.exists()] \
            + _missing_folders(self.path)
        try:
            self._open_writable(create, made)
        except BaseException:  # a new store that could not be made leaves nothing behind (hostile sweep 50)
            if getattr(self, "db", None) is not None:  # its schema's commit failed (a file-size limit): closed
                self.db.close()  # first, SQLite's log of the failed transaction is taken away (hostile sweep 53)
            _unmake_new_store(made)
            raise
        restrict_sqlite_sidecars(self.db_path)
        self._opened = self._folder_ident()
        self.finished_deletes = self._finish_deletes()
        self._settle_ledger_log()

    def _open_writable(self, create: bool, made: list[Path]) -> None:
        """``made``: what this open is about to make (``_unmake_sidecars`` takes SQLite's away where it fails)."""
        try:
            self._prepare_folder(create)
        except OSError as exc:
            raise store_os_error(exc, self.path, "open", chosen=self.chosen) from None
        try:
            self.db = sqlite3.connect(str(self.db_path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                      check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the session store {self.db_path}: {exc}") from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA secure_delete=ON")  # a deleted session's pages are zeroed
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            _unmake_sidecars(self.db_path, made)
            if is_disk_full(exc) or low_space(self.path):
                if create or not self._read_when_full():
                    raise disk_full_error(self.db_path) from None
                self._made = made  # taken away again as it closes
                return
            if not isinstance(exc, sqlite3.OperationalError) and _has_sqlite_header(self.db_path):
                raise damaged_error(self.db_path, exc) from None
            if (limit := past_size_limit(self._files())) is not None:
                raise SizeLimitError(f"cannot open the session store {self.db_path}: {limit}") from None
            if isinstance(exc, sqlite3.OperationalError) and _looks_like_sqlite(self.db_path):
                raise StoreError(f"cannot open the session store {self.db_path} ({exc}; "
                                 f"{free_space_text(self.db_path)})") from None
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise StoreError(f"the session store {self.db_path} is busy ({exc}); another prosody is "
                                 "writing. Try again.") from None
            raise StoreError(f"the session store {self.db_path} is not a readable prosody database ({exc}); "
                             "move it aside or choose another with --store") from None

    def _settle_ledger_log(self) -> None:
        """Copy the batch ledger's write-ahead log into it where it holds something: a delete's checkpoint kept
        from it by another program's read (``batch.runner.forgetting_session``'s ``unerased``) left the
        deleted session's file paths in batch.sqlite's bytes, and `delete` said the next command erases them
        (hostile sweep 56). Without waiting: a batch writing it meanwhile leaves it to the batch."""
        ledger = self.path / LEDGER_FILE
        try:
            if not (stat.S_ISREG(ledger.lstat().st_mode) and (self.path / f"{LEDGER_FILE}-wal").lstat().st_size):
                return
        except OSError:
            return
        try:  # passive: never in a batch's way; the last connection to close also removes the log
            with closing(sqlite3.connect(str(ledger), timeout=0, isolation_level=None)) as db:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass

    def _finish_deletes(self) -> list[str]:
        """Finish the deletes a kill cut short after their commit: a ``DELETING_PREFIX`` marker names the
        deleted session's frames file, which no session references once the delete committed: it is
        erased, then the marker. A marker whose file a session still references was left by a delete
        that did not commit (or is committing now, in another process, which erases the file itself):
        the marker alone goes. Only the file named is touched, whatever its age, so no save in
        progress is raced (an unreferenced file without a marker waits a minute: ``delete``, ``gc``).
        Returns the names of the frames files erased."""
        if self.frames_readonly:
            return []
        try:
            marks = [e.name for e in os.scandir(self.frames_dir) if e.name.startswith(DELETING_PREFIX)]
        except OSError:
            return []
        if not marks:
            return []
        erased = []
        try:
            referenced = {r[0] for r in self.db.execute("SELECT frames_file FROM sessions "
                                                        "WHERE frames_file IS NOT NULL")}
        except sqlite3.Error:
            return []
        for mark in marks:
            name = mark[len(DELETING_PREFIX):]
            try:
                if _FRAMES_NAME.fullmatch(name) and name not in referenced:
                    target = self.frames_dir / name
                    if stat.S_ISREG(target.lstat().st_mode):
                        erase_file(target)
                        erased.append(name)
                (self.frames_dir / mark).unlink()
            except FileNotFoundError:  # gone already (the file, or both: another prosody finished it)
                try:
                    (self.frames_dir / mark).unlink()
                except OSError:
                    pass
            except OSError:
                continue  # left for the next open
        return erased

    def _folder_ident(self):
        """(device, inode) of the store folder and of its frames folder, links followed; None where gone."""
        out = []
        for p in (self.path, self.frames_dir):
            try:
                st = os.stat(p)
                out.append((st.st_dev, st.st_ino))
            except OSError:
                out.append(None)
        return tuple(out)

    def _check_same_folder(self) -> None:
        """Refuse a change when the store folder (or its frames folder) at ``self.path`` is no longer
        the one opened: moved, replaced by a file or by a link to another folder while a long command
        (a batch, a live session) ran. The database is written through the file SQLite holds open, the
        frames files by their path: a batch went on saving its sessions' rows into the moved store and
        their frames files into the other folder (another store's, whose sweep then removes them)."""
        opened = getattr(self, "_opened", None)
        if opened is not None and self._folder_ident() != opened:
            raise StoreError(f"the session store folder {self.path} was moved or replaced while this command "
                             "ran (it is no longer the folder opened); nothing more was written. Put it back, or "
                             "run the command again on the store where it is now")

    def _read_when_full(self) -> bool:
        """The disk is full: open the store read-only to read it, when nothing needs
        writing (its schema is current). False when that cannot be done safely."""
        try:
            if self.db_path.stat().st_size == 0:
                return False
            self._open_read_only(immutable_ok=not _has_wal_data(self.db_path))
        except (OSError, StoreError):
            return False
        self.readonly = self.disk_full = True
        return True

    def _open_read_only(self, *, immutable_ok: bool = True) -> None:
        """Read-only: no folder or file is created or changed (``mode=ro``; on a
        read-only medium where SQLite cannot make its shared-memory file,
        ``immutable=1``, unless ``immutable_ok`` is False: a write-ahead log
        with data in it, which ``immutable`` would ignore)."""
        if not self.db_path.is_file():
            raise StoreError(f"no session store at {self.path} (and it cannot be created there: the folder is "
                             "read-only)")
        self._check_not_emptied()
        uri = "file:" + quote(str(self.db_path.resolve()))
        last = None
        for params in ("?mode=ro", "?mode=ro&immutable=1")[:2 if immutable_ok else 1]:
            try:
                self.db = sqlite3.connect(uri + params, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                          check_same_thread=False)
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                self.db.execute("SELECT count(*) FROM sessions").fetchone()
                break
            except sqlite3.DatabaseError as exc:
                last = exc
                try:
                    self.db.close()
                except Exception:
                    pass
        else:
            if not isinstance(last, sqlite3.OperationalError) and _has_sqlite_header(self.db_path):
                raise damaged_error(self.db_path, last)
            raise StoreError(f"cannot read the session store {self.db_path} read-only ({last})")
        if version != SCHEMA_VERSION and not _reads_as_current(self.db, version):
            self.db.close()
            raise StoreError(f"the session store {self.db_path} has schema version {version} and is read-only, "
                             f"so it cannot be brought to version {SCHEMA_VERSION}; copy it to a writable folder")

    # -- opening -------------------------------------------------------------------------------------------------
    def _prepare_folder(self, create: bool) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise StoreError(f"store {p} is a file; --store takes a folder")
        for q in (self.frames_dir, *(p / f"{db}{side}" for db in (DB_NAME, LEDGER_FILE)
                                     for side in ("", "-wal", "-shm"))):
            if q.is_symlink():  # its mode would be set on the link's target (a folder or file of anyone's)
                raise StoreError(f"{q} is a symbolic link (to {os.readlink(q)}); prosody makes no links in its "
                                 "store and does not follow them there: the store is unchanged. Put the real "
                                 "folder or file in its place")
        self._check_database_regular()
        if not self.db_path.exists():
            if p.exists() and any(x for x in p.iterdir() if x.name != FRAMES_DIR):
                raise StoreError(f"{p} is not empty and holds no {DB_NAME}: not a prosody store; "
                                 "choose a new or empty folder with --store")
            self._check_not_emptied()  # frames of sessions without their database
            if not create:  # a command that only uses a store creates none (a mistyped --store)
                raise StoreError(f"no session store at {p} (no {DB_NAME} there): check --store or ${ENV_VAR}; "
                                 "`prosody analyze --save` creates one")
        elif not create and self.db_path.stat().st_size == 0:
            self._check_not_emptied()  # beside frames of sessions: lost or truncated, said so
            # was given the store's schema, frames folder and modes by `sessions`, a listing (hostile sweep 50)
            raise StoreError(f"no session store at {p} (its {DB_NAME} is empty, 0 bytes, and no session's "
                             "file is beside it); it was left as it is: check --store or "
                             f"${ENV_VAR}; `prosody analyze --save` makes it a store")
        if not self.db_path.exists():
            self._check_modes()
        if not p.exists():
            make_private_dirs(p)
        self._check_not_emptied()
        owner = others_owner(p.stat())
        if owner is not None:  # was "cannot open STORE: Operation not permitted" (its mode not ours to set: sweep 44)
            raise StoreError(f"cannot open the session store {p}: it is another user's ({owner}), and a store is "
                             "its owner's alone (owner-only); give --store a folder of your own")
        _set_mode(p, 0o700)
        if not self.db_path.exists():
            # create the file ourselves so that it is 0600 from the start; SQLite
            # gives -wal and -shm the database file's mode
            fd = os.open(self.db_path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        try:  # before frames/ is made: a store copied onto FUSE FAT got one before this refusal (sweep 48)
            _set_mode(self.db_path, 0o600)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            raise StoreError(f"cannot open the session store {p}: its file system cannot set a file's mode (chmod: "
                             f"{exc.strerror}), and a store is its owner's alone (owner-only); copy it to a folder "
                             "on another file system") from None
        self.frames_dir.mkdir(mode=0o700, exist_ok=True)
        try:  # set only when it differs: a frames folder alone on a read-only mount still reads
            _set_mode(self.frames_dir, 0o700)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EPERM, errno.EACCES):
                raise
            self.frames_readonly = f"{exc.strerror or exc}"
        else:
            if not os.access(self.frames_dir, os.W_OK):
                self.frames_readonly = os.strerror(errno.EROFS if _on_read_only_fs(self.frames_dir)
                                                   else errno.EACCES)

    def _check_database_regular(self) -> None:
        """Refuse a store whose database's name is taken by a folder, a FIFO, a device or a socket, before anything
        is changed: a folder there was given the database's mode, 0600 (a folder no one but root can enter any
        more), then "cannot open the session store st/sessions.db: unable to open database file"; a FIFO was said
        an empty database (hostile sweep 50)."""
        what = kind_taking(self.db_path)
        if what is not None:
            raise StoreError(f"{self.db_path} is {what}, not the session store's database file; the store is "
                             "unchanged: move it aside, or give --store another folder")

    def _check_modes(self) -> None:
        """A new store refused, nothing made, where its folder's file system cannot set a file's mode (a FUSE FAT
        driver: ``chmod`` ENOSYS): its database's ``chmod`` failed after its folders and file were made, "cannot
        open STORE: Function not implemented", and they were left (hostile sweep 47)."""
        folder = nearest_existing(self.path)
        why = modes_refused(folder)
        if why is not None:
            raise StoreError(f"cannot make the session store {self.path}: the file system of folder {folder} cannot "
                             f"set a file's mode (chmod: {why}), and a store is its owner's alone (owner-only); "
                             "nothing was made: give --store a folder on another file system")

    def _session_traces(self) -> list[str]:
        """Files that only a store holding sessions has: frames files, the batch ledger,
        a write-ahead log with data in it."""
        try:
            found = [p.name for p in self.frames_dir.iterdir() if p.is_file()] if self.frames_dir.is_dir() else []
        except OSError:
            found = []
        found = [f"{len(found)} frames file{'s' if len(found) != 1 else ''} in {self.frames_dir}"] if found else []
        if (self.path / LEDGER_FILE).exists():
            found.append("the batch ledger batch.sqlite")
        if _has_wal_data(self.db_path):
            found.append(f"its write-ahead log {DB_NAME}-wal")
        return found

    def _check_not_emptied(self) -> None:
        """Refuse a missing or empty (0-byte) database beside the files of stored
        sessions: it was lost or truncated, and opening it would start a new store
        over them (and SQLite would delete a write-ahead log beside an empty file)."""
        try:
            missing = not self.db_path.exists()
            empty = not missing and self.db_path.stat().st_size == 0
        except OSError:
            return
        if not (missing or empty):
            return
        traces = self._session_traces()
        if traces:
            what = "missing" if missing else "empty (0 bytes)"
            raise StoreDamagedError(f"the session store database {self.db_path} is {what}, but the store holds "
                                    f"{' and '.join(traces)}: it was lost or truncated. Restore {DB_NAME} from a "
                                    "backup; nothing was changed")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"the session store {self.db_path} has schema version {version}, newer than this "
                             f"prosody understands ({SCHEMA_VERSION}); upgrade prosody")
        if version == SCHEMA_VERSION:
            return
        with self._tx(migrating=True):
            version = self.db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](self.db)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    @sqlite_errors
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()
        if self.disk_full:  # read on a full disk: what its read-only connection made (hostile sweep 51)
            _unmake_sidecars(self.db_path, self._made)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _files(self) -> tuple[Path, Path, Path]:
        """The database and SQLite's files beside it."""
        return (self.db_path, *_sidecars(self.db_path))

    def sqlite_error(self, exc: sqlite3.DatabaseError) -> StoreError:
        """A SQLite error met while using the store, as one line: a full disk, a busy
        or read-only store, a failing disk, else a damaged database."""
        text = str(exc)
        if is_disk_full(exc):
            return disk_full_error(self.db_path)
        if isinstance(exc, sqlite3.OperationalError):
            if "locked" in text or "busy" in text:
                return StoreError(f"the session store {self.db_path} is busy ({exc}); another prosody is writing. "
                                  "Try again.")
            if "readonly" in text or "read-only" in text:
                try:  # a database file marked (chattr) is said as such, with how to take the mark off
                    self._check_database_unmarked()
                except StoreError as marked:
                    return marked
                return StoreError(f"the session store {self.path} is read-only here ({exc}); copy it to a writable "
                                  "folder to change it")
            if "I/O error" in text:
                if low_space(self.path):
                    return disk_full_error(self.db_path)
                if (limit := past_size_limit(self._files())) is not None:
                    return SizeLimitError(f"cannot write the session store {self.db_path}: {limit}")
                return StoreError(f"cannot read or write the session store {self.db_path} ({exc}): the disk may be "
                                  "failing or gone; check it, then try again")
        if isinstance(exc, sqlite3.IntegrityError) and "FOREIGN KEY" in text:
            # not damage: a row it refers to went meanwhile (another prosody's delete; sweep 12)
            return StoreError(f"the session store {self.path} changed while this command ran (what it refers to "
                              f"was deleted by another prosody: {exc}); nothing was written. Try again")
        return damaged_error(self.db_path, exc)

    def check_writable(self) -> None:
        """Refuse, before any work (``analyze --save``, ``batch``), a store no save can be written to: its database
        file marked immutable or append-only (``chattr``: SQLite writes it in place, "attempt to write a readonly
        database" after the analysis, which went to a rescue copy; hostile sweep 46), or its frames folder marked or
        not writable (``check_frames_writable``)."""
        self._check_database_unmarked()
        self.check_frames_writable()

    def _check_database_unmarked(self) -> None:
        """Refuse a change while the database file is marked immutable or append-only, saying the mark."""
        marked = file_mark_said(self.db_path, "the session store's database")
        if marked is not None:
            raise StoreError(marked)

    def check_frames_writable(self) -> None:
        """Refuse a change while the frames folder cannot be written (a read-only mount of it
        alone, a mark on it): a save could not write its frames file, a delete could not remove one. A mark
        (``chattr +i``/``+a``, which even root's writes meet) is said as one, with how to take it off: it was
        "cannot be written (Permission denied)", or, append-only, a save's "cannot write FRAMES: Operation not
        permitted" after the work, its temporary left there for good (hostile sweep 46)."""
        marked = folder_mark_said(self.frames_dir)
        if marked is not None:
            state, remedy = marked
            raise StoreError(f"the session store's frames folder {self.frames_dir} {state}; the store is unchanged: "
                             f"{remedy} to change it")
        if getattr(self, "frames_readonly", None):
            raise StoreError(f"the session store's frames folder {self.frames_dir} cannot be written "
                             f"({self.frames_readonly}); the store is unchanged. Make it writable, or copy the store "
                             "to a writable folder, to change it")

    def _check_changeable(self) -> None:
        """Refuse a change to a store opened full or read-only, in the one line of each: a save checks this before
        it writes its frames file (a `relabel` on a read-only mount said "cannot write FRAMES: Read-only file
        system", after its work: hostile sweep 45)."""
        if getattr(self, "disk_full", False):
            raise disk_full_error(self.db_path)
        if getattr(self, "readonly", False):
            state, mend = self.readonly_said()
            raise StoreError(f"the session store {self.path} {state}; "
                             + (f"{mend} to change it, or copy it to a writable folder" if mend
                                else "copy it to a writable folder to change it"))

    def readonly_said(self) -> tuple[str, str | None]:
        """Why this store, opened read-only, takes no change, for a line: what it is ("is marked immutable (chattr
        +i), so no file there can be made, renamed or removed", or "is read-only here (a read-only file system or
        folder)") and what mends a mark ("take the mark off (chattr -i FOLDER)"; None for a read-only mount)."""
        return folder_mark_said(self.path) or ("is read-only here (a read-only file system or folder)", None)

    @contextmanager
    def _tx(self, *, migrating: bool = False):
        self._check_changeable()
        if not migrating:  # the migrations change tables only, never the frames folder
            self.check_frames_writable()
            self._check_same_folder()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise disk_full_error(self.db_path) from None
            self._check_database_unmarked()  # a marked -wal or -shm: "readonly", said as busy (sweep 48)
            raise StoreError(f"the session store {self.db_path} is busy ({exc}); another prosody is writing. "
                             "Try again.") from None
        try:
            yield self.db
        except BaseException as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite already rolled back (e.g. after SQLITE_FULL)
            if isinstance(exc, sqlite3.Error) and is_disk_full(exc):
                raise disk_full_error(self.db_path) from None
            raise
        else:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if is_disk_full(exc):
                    raise disk_full_error(self.db_path) from None
                if (limit := past_size_limit(self._files())) is not None:
                    raise SizeLimitError(f"the session store {self.db_path}: the change could not be committed: "
                                         f"{limit}") from None
                raise StoreError(f"the session store {self.db_path}: the change could not be committed ({exc})"
                                 ) from None

    # -- writing -------------------------------------------------------------------------------------------------
    @sqlite_errors
    def save(self, doc: dict, frames: dict[str, dict[str, np.ndarray]] | None = None, *,
             meta: SessionMeta = SessionMeta(), bookmarks=(), feedback=(), uid: str | None = None,
             session_id: int | None = None, notes=(), renumber: bool = False, unchanged: str | None = None,
             note_labels=None) -> int:
        """Store one session; returns its ID. ``doc``: a ``prosody.session/*``
        document (a top-level ``bookmarks`` list is taken out of it and stored
        as bookmarks). ``frames``: ``frames[speaker][key]`` arrays of shape
        (n_frames,), keys from ``FRAME_KEYS``; None when not available.

        ``session_id``: replace that stored session (document, frames,
        bookmarks) in one transaction, keeping its ID, uid and feedback: for
        periodic autosaves of a live session (its supervisor notes are kept too).
        A session number left None with a client given is the next one for that
        therapist and client. ``notes``: supervisor notes (``Note``) to add.
        A session number another session of the client holds is refused
        (SessionNumberTakenError), or with ``renumber`` (a number carried from an
        imported file, not typed) replaced by the next one. ``unchanged``: with
        ``session_id``, the session's ``stamp`` when it was read; a session changed
        since (another prosody's edit, relabel or delete) is not replaced
        (StoreError): the save would have undone that change without a word.
        ``note_labels``: with ``session_id``, a function given each stored note's moment label that returns
        it as it should now read (``relabel``: ``moments.swapped_label``), in the same transaction."""
        validate_doc(doc)
        check_uid(uid, where="session uid")
        meta = _normalised(meta)
        check_meta_fields(**{k: getattr(meta, k) for k in ("therapist", "client", "recorded_at", "session_number",
                                                          "notes", "tags")})
        doc = dict(doc)
        bookmarks = list(bookmarks) + [Bookmark(float(b["time_s"]), str(b.get("note") or ""))
                                       for b in (doc.pop("bookmarks", None) or [])]
        speakers = list(doc["speaker_order"])
        if frames is not None:
            missing = [s for s in speakers if s not in frames]
            if missing:
                raise StoreError(f"frames lack speaker(s) {', '.join(missing)}")
        doc_text = json.dumps(doc, ensure_ascii=False)
        if uid is None and session_id is not None:  # a replaced session keeps its uid, its frames file's name too
            row = self.db.execute("SELECT uid FROM sessions WHERE id = ?", (session_id,)).fetchone()
            uid = row[0] if row is not None else None
        uid = uid or secrets.token_hex(4)
        frames_name = f"{uid}.{secrets.token_hex(3)}.npz" if frames is not None else None
        self._check_changeable()
        self.check_frames_writable()
        self._check_same_folder()  # and again in the transaction, after the frames file is written
        with _frames_lock(self.frames_dir, exclusive=False):  # from the file to the commit: gc waits (see above)
            return self._save_locked(doc_text, doc, frames, frames_name, speakers, meta, bookmarks, feedback, uid,
                                     session_id, notes, renumber, unchanged, note_labels)

    def _save_locked(self, doc_text, doc, frames, frames_name, speakers, meta, bookmarks, feedback, uid,
                     session_id, notes, renumber, unchanged, note_labels=None) -> int:
        old_file = None
        try:  # from the frames file's writing on: an interruption (Ctrl-C, a signal raised) removes it, unless
            # the session that names it was committed (sweep 12: a Ctrl-C after the file's rename, during the
            # folder's fsync, left it unreferenced; one after COMMIT removed the committed session's file)
            if frames is not None:
                data = frames_to_npz_bytes(frames, speakers)
                try:
                    _write_private_bytes(self.frames_dir, frames_name, data)
                except OSError as exc:
                    raise store_os_error(exc, self.frames_dir / frames_name, "write") from None
            with self._tx() as db:
                if session_id is not None:
                    sid = session_id
                    old_file = self._replace_row(db, sid, doc_text, doc, frames_name, meta, unchanged, note_labels)
                else:
                    sid = self._insert_row(db, doc_text, doc, frames_name, meta, uid, renumber)
                from .unsure import as_unattributed  # the derived tables as the session is read (store/unsure.py)
                self._insert_children(db, sid, as_unattributed(doc) or doc, meta, bookmarks, feedback)
                _insert_audio_hashes(db, sid, doc)
                db.executemany("INSERT INTO notes (session_id, time_s, end_s, text, author, created_at, moment) "
                               "VALUES (?,?,?,?,?,?,?)",
                               [(sid, float(n.time_s), None if n.end_s is None else float(n.end_s), n.text,
                                 n.author, n.created_at or _now(), n.moment) for n in notes])
        except BaseException:
            if frames_name and not self._names_frames_file(frames_name):
                try:
                    erase_file(self.frames_dir / frames_name)
                except FileNotFoundError:
                    pass
            raise
        if old_file and old_file != frames_name:
            try:
                erase_file(self.frames_dir / old_file)
            except FileNotFoundError:
                pass
        return sid

    def _replace_row(self, db, sid: int, doc_text: str, doc: dict, frames_name, meta, unchanged,
                     note_labels) -> str | None:
        """Session ``sid``'s row rewritten in place (its number kept free of another's, its derived rows dropped,
        its notes' moment labels read with the names as they are now); returns its old frames file's name. Refused
        where the session is gone or was changed by another command since ``unchanged`` (its stamp)."""
        row = db.execute("SELECT frames_file, uid FROM sessions WHERE id = ?", (sid,)).fetchone()
        if row is None:
            raise SessionNotFoundError(f"no session {sid} in {self.path} to replace"
                                       + (" (deleted while this command ran)" if unchanged else ""))
        if unchanged is not None and self._stamp(db, sid) != unchanged:
            raise StoreError(f"session {sid} in {self.path} was changed by another prosody "
                             "command while this one ran (an edit, a relabel); nothing was written, "
                             "so that change is kept: run the command again")
        if db.execute("SELECT therapist IS ? AND client IS ? AND session_number IS ? FROM sessions "
                      "WHERE id = ?", (meta.therapist, meta.client, meta.session_number, sid)
                      ).fetchone()[0] != 1:  # a number it already holds is left alone
            _check_number_free(db, therapist=meta.therapist, client=meta.client,
                               number=meta.session_number, sid=sid)
        for table in ("tags", "speakers", "segments", "turns", "pauses", "transitions", "events",
                      "bookmarks", "measures", "rolling", "audio_hashes"):
            db.execute(f"DELETE FROM {table} WHERE session_id = ?", (sid,))
        db.execute("UPDATE sessions SET saved_at=?, recorded_at=?, therapist=?, client=?, "
                   "session_number=?, notes=?, duration_s=?, turn_taking=?, schema=?, doc=?, "
                   "frames_file=?, warmth_score=NULL WHERE id=?",
                   (_now(), meta.recorded_at, meta.therapist, meta.client, meta.session_number,
                    meta.notes or "", float(doc["duration_s"]), int(bool(doc.get("turn_taking"))),
                    doc["schema"], doc_text, frames_name, sid))
        if note_labels is not None:  # the notes' moment labels read with the names as they are now
            db.executemany("UPDATE notes SET moment = ? WHERE id = ?", [
                (note_labels(m), i) for i, m in db.execute(
                    "SELECT id, moment FROM notes WHERE session_id = ? AND moment != ''", (sid,)
                ).fetchall() if note_labels(m) != m])
        return row[0]

    def _insert_row(self, db, doc_text: str, doc: dict, frames_name, meta, uid: str, renumber: bool) -> int:
        """A new session's row (its number the next free one where none is given, or where ``renumber`` and it
        is taken); returns its id. Refused where a session of the same ``uid`` is stored."""
        taken = db.execute("SELECT id FROM sessions WHERE uid = ?", (uid,)).fetchone()
        if taken is not None:  # said before any clash of session numbers: it is the same session
            raise _uid_taken(uid, taken[0])
        number = meta.session_number
        if meta.client and (number is None or (renumber and _number_holder(
                db, therapist=meta.therapist, client=meta.client, number=number) is not None)):
            number = _next_number(db, therapist=meta.therapist, client=meta.client)
        _check_number_free(db, therapist=meta.therapist, client=meta.client, number=number)
        try:
            cur = db.execute(
                "INSERT INTO sessions (uid, saved_at, recorded_at, therapist, client, session_number, "
                "notes, duration_s, turn_taking, schema, doc, frames_file) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (uid, _now(), meta.recorded_at, meta.therapist, meta.client, number, meta.notes or "",
                 float(doc["duration_s"]), int(bool(doc.get("turn_taking"))), doc["schema"], doc_text,
                 frames_name))
        except sqlite3.IntegrityError:
            other = db.execute("SELECT id FROM sessions WHERE uid = ?", (uid,)).fetchone()
            raise _uid_taken(uid, other[0] if other else "?") from None
        return cur.lastrowid

    def _still_there(self, db, sid: int, *, what: str = "nothing was written") -> None:
        """Raise SessionNotFoundError when session ``sid``, resolved before, is gone: another prosody's
        `delete` committed meanwhile. Its row written regardless failed SQLite's foreign key, said as a
        damaged database (`recover what it holds with sqlite3 ... .recover`; sweep 12)."""
        if db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is None:
            raise SessionNotFoundError(f"session {sid} was deleted from {self.path} while this command ran; {what}")

    def stamp(self, ref) -> str:
        """A digest of what a replacing save (``save(session_id=...)``) rewrites of a session: its row
        (document, frames file, metadata) and its tags and bookmarks. Taken before reading the session and
        given to that save as ``unchanged``: two `prosody relabel` at once each exchanged the voices of the
        session as read, and the second's save undid the first's (both said so; sweep 12), and a relabel
        put back the metadata an `edit` had changed meanwhile."""
        return self._stamp(self.db, self.resolve(ref))

    def voices_stamp(self, ref) -> str:
        """A digest of what says whose voice is where in a stored session (its document and frames file),
        given to ``save_profile`` as ``voices``: a profile built from a session that another prosody's
        `relabel` changed meanwhile was saved as the therapist's, of the voice now the client's (sweep 35)."""
        return self._voices_stamp(self.db, self.resolve(ref))

    def _check_voices(self, db, sid: int | None, voices: str | None, *, what: str) -> None:
        """Raise StoreError where session ``sid``'s ``voices_stamp`` is no longer ``voices`` (None: unchecked)."""
        if voices is not None and self._voices_stamp(db, sid) != voices:
            raise StoreError(f"session {sid} in {self.path} was changed by another prosody command while this "
                             f"one ran (a relabel): whose voice is where may not be as it was read, so {what}: "
                             "run the command again")

    @staticmethod
    def _voices_stamp(db, sid: int) -> str:
        row = db.execute("SELECT doc, frames_file FROM sessions WHERE id = ?", (sid,)).fetchone()
        return hashlib.sha256(repr(row).encode("utf-8", "surrogatepass")).hexdigest()

    @staticmethod
    def _stamp(db, sid: int) -> str:
        h = hashlib.sha256()
        for sql in ("SELECT * FROM sessions WHERE id = ?", "SELECT tag FROM tags WHERE session_id = ? ORDER BY tag",
                    "SELECT time_s, note FROM bookmarks WHERE session_id = ? ORDER BY rowid"):
            h.update(repr(db.execute(sql, (sid,)).fetchall()).encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _names_frames_file(self, name: str) -> bool:
        """Whether a committed session names the frames file ``name`` (after a save was cut short: an
        interruption raised after its COMMIT leaves a session that needs its file). A transaction the
        interruption left open (raised before ``_tx`` rolled back) is rolled back first. Where the
        database cannot say, True: an unreferenced file is erased by a later ``gc``, while a session
        whose file was removed has lost its frames for good."""
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            return self.db.execute("SELECT 1 FROM sessions WHERE frames_file = ?", (name,)).fetchone() is not None
        except sqlite3.Error:
            return True

    def save_session(self, session, *, meta: SessionMeta = SessionMeta(), bookmarks=(),
                     session_id: int | None = None) -> int:
        """Store a ``prosody.session.Session`` (document and frames)."""
        return self.save(session.to_json_dict(), session.frames, meta=meta, bookmarks=bookmarks,
                         session_id=session_id)

    @staticmethod
    def _insert_children(db, sid: int, doc: dict, meta: SessionMeta, bookmarks, feedback) -> None:
        db.executemany("INSERT OR IGNORE INTO tags (session_id, tag) VALUES (?, ?)",
                       [(sid, t) for t in meta.tags])
        db.executemany("INSERT INTO bookmarks (session_id, time_s, note) VALUES (?,?,?)",
                       [(sid, b.time_s, b.note) for b in bookmarks])
        db.executemany("INSERT OR REPLACE INTO feedback (session_id, kind, items, total, given_at) "
                       "VALUES (?,?,?,?,?)",
                       [(sid, f.kind, json.dumps(list(f.items)), f.total, f.given_at) for f in feedback])
        _insert_derived(db, sid, doc)

    @sqlite_errors
    def add_feedback(self, ref, *, srs: tuple[int, ...] | None = None, rating: int | None = None,
                     given_at: str | None = None, replaced: list | None = None) -> Feedback:
        """Attach the client's feedback; a second one of the same kind replaces the first (appended to
        ``replaced`` when given: read in the same transaction)."""
        if (srs is None) == (rating is None):
            raise InputError("give either --srs A,B,C,D (Session Rating Scale, 0-10 each) or --rating 1-5")
        if srs is not None:
            srs = tuple(srs)
            if len(srs) != 4 or not all(isinstance(v, int) and 0 <= v <= 10 for v in srs):
                raise InputError(f"srs={srs}: the Session Rating Scale has four items, each 0-10")
            fb = Feedback("srs", srs, given_at or _now())
        else:
            if not (isinstance(rating, int) and 1 <= rating <= 5):
                raise InputError(f"--rating {rating}: expected a whole number 1-5")
            fb = Feedback("rating", (rating,), given_at or _now())
        sid = self.resolve(ref)
        with self._tx() as db:
            self._still_there(db, sid)
            if replaced is not None:
                replaced += [Feedback(fb.kind, tuple(json.loads(items)), g) for items, g in db.execute(
                    "SELECT items, given_at FROM feedback WHERE session_id = ? AND kind = ?", (sid, fb.kind))]
            db.execute("INSERT OR REPLACE INTO feedback (session_id, kind, items, total, given_at) VALUES (?,?,?,?,?)",
                       (sid, fb.kind, json.dumps(list(fb.items)), fb.total, fb.given_at))
        return fb

    @sqlite_errors
    def add_note(self, ref, text: str, *, time_s: float, end_s: float | None = None, author: str = "",
                 moment: str = "", voices: str | None = None) -> Note:
        """Add a supervisor's note on ``time_s`` (to ``end_s``) of a session. ``voices``: the session's
        ``voices_stamp`` taken before its ``moment`` label was made; refused where another prosody's `relabel`
        changed the voices meanwhile (the label, of the voices before, was kept unswapped; sweep 35)."""
        sid = self.resolve(ref)
        if not isinstance(text, str) or not nfc(text) or shows_nothing(text):  # no visible character: no text
            raise InputError("a note needs some text, e.g. prosody note 12 --at 12:30 \"client laughs here\"")
        try:  # the rules of every note and name the store keeps (control characters, length, UTF-8)
            check_note(text, author=author, where="note")
        except InvalidSessionError as exc:
            raise InputError(str(exc)) from None
        row = self.db.execute("SELECT duration_s FROM sessions WHERE id = ?", (sid,)).fetchone()
        if row is None:
            self._still_there(self.db, sid)
        duration = row[0]
        if not (isinstance(time_s, (int, float)) and math.isfinite(time_s) and 0.0 <= time_s <= duration + 1.0):
            raise InputError(f"note time {time_s} s is outside session {sid} (0 to {duration:.1f} s)")
        if end_s is not None and not (math.isfinite(end_s) and time_s <= end_s <= duration + 1.0):
            raise InputError(f"note end {end_s} s must lie between its start {time_s} s and the session's end")
        with self._tx() as db:
            self._still_there(db, sid)
            self._check_voices(db, sid, voices, what="no note was added")
            # written when, to the microsecond: the moments list numbers notes in the order they were written. Read
            # in the write transaction (two `note` at once were numbered by the times they read the clock, not the
            # order they were stored), and after every note of the session (a clock set back, or notes imported
            # from a machine whose clock ran ahead, put a new note before older ones: renumbered; sweep 19)
            written = _after(datetime.now(), db.execute("SELECT created_at FROM notes WHERE session_id = ?", (sid,)))
            note = Note(float(time_s), text, None if end_s is None else float(end_s), author, written, moment)
            db.execute("INSERT INTO notes (session_id, time_s, end_s, text, author, created_at, moment) "
                       "VALUES (?,?,?,?,?,?,?)",
                       (sid, note.time_s, note.end_s, note.text, note.author, note.created_at, note.moment))
        return note

    @sqlite_errors
    def notes(self, ref) -> tuple[Note, ...]:
        """A session's supervisor notes, in time order."""
        sid = self.resolve(ref)
        return tuple(Note(t, x, e, a, c, m) for t, e, x, a, c, m in self.db.execute(
            "SELECT time_s, end_s, text, author, created_at, moment FROM notes WHERE session_id = ? "
            "ORDER BY time_s, id", (sid,)))

    @sqlite_errors
    def edit_meta(self, ref, *, therapist: str | None = None, client: str | None = None,
                  session_number: int | None = None, recorded_at: str | None = None, notes: str | None = None,
                  add_tags=(), remove_tags=()) -> SessionInfo:
        """Correct a stored session's metadata in one transaction: the
        ``sessions`` row and the ``tags`` table (the session document holds no
        metadata). None leaves a field as it is; an empty ``therapist`` or
        ``client`` clears it. Returns the updated info. A ``session_number`` that
        another session of the (new) client holds is refused; the number a session
        keeps when it moves to a client who has it becomes that client's next."""
        if session_number is not None and (not isinstance(session_number, int) or session_number < 0):
            raise InputError(f"session number {session_number!r}: must be a whole number, 0 or more")
        # as typed first: a name of zero-width or bidi marks alone is refused, not read as '' (which clears it)
        check_meta_fields(therapist=therapist.strip() if therapist and therapist.strip() else None,
                          client=client.strip() if client and client.strip() else None,
                          notes=notes or "", tags=[t.strip() for t in add_tags], where="edit")
        therapist, client, notes = nfc(therapist), nfc(client), nfc(notes, note=True)
        add_tags, remove_tags = tuple(nfc(x) for x in add_tags), tuple(nfc(x) for x in remove_tags)
        check_meta_fields(therapist=therapist or None, client=client or None, recorded_at=recorded_at,
                          session_number=session_number, notes=notes or "", tags=list(add_tags), where="edit")
        sets, args = [], []
        for col, v in (("therapist", therapist), ("client", client)):
            if v is not None:
                sets.append(f"{col} = ?")
                args.append(v if v.strip() else None)
        for col, v in (("session_number", session_number), ("recorded_at", recorded_at), ("notes", notes)):
            if v is not None:
                sets.append(f"{col} = ?")
                args.append(v)
        sid = self.resolve(ref)
        with self._tx() as db:
            self._still_there(db, sid)
            if therapist is not None or client is not None or session_number is not None:
                before = db.execute("SELECT therapist, client, session_number FROM sessions WHERE id = ?",
                                    (sid,)).fetchone()
                after = (before[0] if therapist is None else therapist.strip() and therapist or None,
                         before[1] if client is None else client.strip() and client or None,
                         before[2] if session_number is None else session_number)
                if after != tuple(before):  # a number it already holds (even twice, from before) is left alone
                    if session_number is None and _number_holder(db, therapist=after[0], client=after[1],
                                                                 number=after[2], sid=sid) is not None:
                        # moved to a client who has its number: the next of theirs (it was not typed)
                        sets.append("session_number = ?")
                        args.append(_next_number(db, therapist=after[0], client=after[1], sid=sid))
                    else:
                        _check_number_free(db, therapist=after[0], client=after[1], number=after[2], sid=sid)
            if sets:
                db.execute(f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*args, sid))
            db.executemany("DELETE FROM tags WHERE session_id = ? AND tag = ?", [(sid, t) for t in remove_tags])
            db.executemany("INSERT OR IGNORE INTO tags (session_id, tag) VALUES (?, ?)",
                           [(sid, t) for t in add_tags])
            held = db.execute("SELECT count(*) FROM tags WHERE session_id = ?", (sid,)).fetchone()[0]
            if held > MAX_TAGS:  # its export was refused by import (hostile sweep 63)
                raise InputError(f"session {sid} would hold {held} tags, more than the {MAX_TAGS} a session may hold "
                                 "(an export of it could not be imported); nothing was changed: --untag some first")
        return self.info(sid)

    @sqlite_errors
    def check_session_number(self, *, therapist: str | None, client: str | None, number: int | None,
                             replacing: int | None = None, how: str = "--session-number") -> None:
        """Raise SessionNumberTakenError when a session of ``therapist``'s ``client`` could
        not take session number ``number`` (``replacing``: the ID of the session it would
        replace, which may keep its own): ``save`` checks it again; ``analyze --save``
        and ``batch`` ask before analysing, not after. ``how``: where another is given."""
        _check_number_free(self.db, therapist=nfc(therapist), client=nfc(client), number=number, sid=replacing,
                           how=how)

    @sqlite_errors
    def add_bookmark(self, ref, time_s: float, note: str = "") -> None:
        sid = self.resolve(ref)
        with self._tx() as db:
            db.execute("INSERT INTO bookmarks (session_id, time_s, note) VALUES (?,?,?)", (sid, float(time_s), note))

    @sqlite_errors
    def delete(self, ref, *, unerased: list | None = None) -> int:
        """Remove a session: its rows (zeroed on disk: ``secure_delete``), its
        frames file and any a killed save of it left (``gc``; older than a minute),
        and the copy SQLite may still hold in the WAL. Where another connection's read
        kept the zeroed pages from reaching the database file (``_checkpoint``, after
        waiting ``BUSY_TIMEOUT_S``), the database's path is appended to ``unerased``:
        the deleted rows' bytes are still in it until a later checkpoint. A frames file marked so that it cannot
        be erased is refused before anything is deleted (``_refuse_locked_frames``); one whose erasing fails after
        the commit is said (a StoreError), never passed over (hostile sweep 45)."""
        sid = self.resolve(ref)
        mark = None
        try:
            with self._tx() as db:
                frames_file, uid = db.execute("SELECT frames_file, uid FROM sessions WHERE id = ?", (sid,)).fetchone()
                self._refuse_locked_frames(sid, frames_file)
                if frames_file:  # said before the commit: a kill after it leaves the file named (_finish_deletes)
                    mark = self.frames_dir / f"{DELETING_PREFIX}{frames_file}"
                    try:
                        fd = os.open(mark, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
                        os.close(fd)
                        _fsync_folder(self.frames_dir)
                    except OSError as exc:
                        raise store_os_error(exc, mark, "write") from None
                db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
        except BaseException as exc:
            if mark is not None:  # not committed: the session and its frames file stay
                try:
                    mark.unlink()
                except OSError:
                    pass
            # a read-only medium (a CD, squashfs: no free space reported) is said as read-only, by _tx
            if isinstance(exc, StoreError) and (self.disk_full or not self.readonly and low_space(self.path)):
                raise disk_full_error(self.db_path, needs=self._delete_room_text()) from None
            raise
        kept = self._erase_deleted_frames(frames_file, mark)
        try:  # and the copies a killed save of it left (Store.gc), then any orphan older than an hour
            self.gc(uid=uid, min_age_s=OWN_ORPHAN_MIN_AGE_S)
            self.gc()
        except (OSError, StoreError):  # a folder replaced meanwhile: its files are not this store's
            pass  # the session is deleted; an unreadable frames folder is said by the next command that needs it
        if not self._checkpoint() and unerased is not None:
            unerased.append(self.db_path)
        if kept is not None:
            raise StoreError(f"session {sid}'s rows are deleted from the store, but its frames file "
                             f"{self.frames_dir / frames_file} could not be erased ({kept.strerror or kept}): it "
                             f"still holds the session's frames; once that is mended, `prosody delete {sid}` again "
                             "erases it and what else is left of the session")
        return sid

    def _refuse_locked_frames(self, sid: int, frames_file: str | None) -> None:
        """Refuse deleting session ``sid`` where its frames file, or the frames folder, is marked immutable or
        append-only (``chattr``): no one, root included, may erase or remove it, and the delete committed the rows'
        removal, then failed "cannot access ...: Operation not permitted", the frames file whole (hostile sweep
        45)."""
        if not frames_file:
            return
        for path, what in ((self.frames_dir / frames_file, "its frames file"),
                           (self.frames_dir, "the store's frames folder")):
            locked = locked_mark(path)
            if locked is not None:
                raise StoreError(f"cannot delete session {sid}: {what} {path} is marked {locked[0]} (chattr "
                                 f"+{locked[1]}), so its frames cannot be erased; nothing was deleted. Take the mark "
                                 f"off (chattr -{locked[1]} {path}) and delete it again")

    def _erase_deleted_frames(self, frames_file: str | None, mark: Path | None) -> OSError | None:
        """Erase a committed delete's frames file, then its marker; the error that kept the file (the marker then
        kept too, so that the next open finishes it: ``_finish_deletes``), None where it is erased or was gone."""
        if not frames_file:
            return None
        try:
            if not stat.S_ISDIR((self.frames_dir / frames_file).lstat().st_mode):
                erase_file(self.frames_dir / frames_file)
            # a folder put at its name holds none of the session: the delete was said undone, "it still holds the
            # session's frames" (hostile sweep 50); the folder is left as it is, not prosody's
        except FileNotFoundError:
            pass
        except OSError as exc:
            return exc
        try:
            mark.unlink()
        except FileNotFoundError:
            pass
        return None

    def _delete_room_text(self) -> str:
        """What a delete refused on a full disk needs: room for its journal, about the session's share of the
        database (``DELETE_ROOM_MARGIN``). Freeing its frames file first would not do (a third of that for a 40 s
        session) and would leave half a delete: the rows kept, the frames gone (hostile sweep 38)."""
        try:
            n = self.db.execute("SELECT count(*) FROM sessions").fetchone()[0]
            size = self.db_path.stat().st_size
        except (sqlite3.Error, OSError):
            return ""
        room = DELETE_ROOM_MARGIN * size / max(n, 1)
        return (f"A delete needs room too: the session's rows are overwritten with zeros through the store's "
                f"journal before they leave it (some {room / 1e3:.0f} kB here); free that much and try again")

    def _checkpoint(self) -> bool:
        """Copy the WAL into the database and empty it, so that the zeroed pages of a
        deletion replace the old ones in the database file now, not at some later checkpoint
        (while another process has the store open, closing this one does not checkpoint).
        False where it could not (a read still under way in another connection after SQLite's
        busy wait: its result says busy, no error is raised; the next checkpoint does it)."""
        try:
            busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:
            return False
        return not busy

    # -- voice profiles (issue 9): the therapist's voice, kept when sessions are deleted -------------------------
    @sqlite_errors
    def save_profile(self, name: str, profile: dict, *, source: str, session_id: int | None = None,
                     voices: str | None = None) -> tuple[str, str] | None:
        """Keep ``profile`` (``VoiceProfile.to_dict()``) under ``name``, replacing one of that name.
        ``session_id``: the stored session it was built from (set to NULL when that session is deleted).
        ``voices``: that session's ``voices_stamp`` taken before it was read; refused where another
        prosody's `relabel` (or a re-import) changed who spoke when meanwhile (hostile sweep 35).
        Returns (created_at, source) of the profile it replaced, read in the same transaction (read before
        it, another prosody's `enrol` of the same name meanwhile was replaced unsaid; sweep 12), else None."""
        name = nfc(str(name).strip())
        check_meta_fields(therapist=name)
        if not name:
            raise InputError("a voice profile needs a name (--therapist NAME)")
        with self._tx() as db:
            if session_id is not None:
                self._still_there(db, session_id, what="the voice profile was not saved")
            self._check_voices(db, session_id, voices, what="no voice profile was saved")
            replaced = db.execute("SELECT created_at, source FROM voice_profiles WHERE name = ?", (name,)).fetchone()
            db.execute("INSERT OR REPLACE INTO voice_profiles (name, profile, source, session_id, created_at) "
                       "VALUES (?,?,?,?,?)", (name, json.dumps(profile), source, session_id, _now()))
        return tuple(replaced) if replaced is not None else None

    @sqlite_errors
    def profile(self, name: str) -> dict | None:
        """The stored profile dict of ``name`` (with ``source``, ``session_id``, ``created_at``), or None."""
        row = self.db.execute("SELECT profile, source, session_id, created_at FROM voice_profiles WHERE name = ?",
                              (nfc(str(name).strip()),)).fetchone()
        if row is None:
            return None
        return {**json.loads(row[0]), "source": row[1], "session_id": row[2], "created_at": row[3]}

    @sqlite_errors
    def profiles(self) -> list[tuple[str, str, int | None, str]]:
        """(name, source, session_id, created_at) of every stored profile, by name."""
        return [tuple(r) for r in self.db.execute(
            "SELECT name, source, session_id, created_at FROM voice_profiles ORDER BY name")]

    @sqlite_errors
    def delete_profile(self, name: str, *, unerased: list | None = None) -> None:
        """Remove the voice profile ``name``, its row zeroed in the database file now, as ``delete`` erases a
        session; ``unerased`` as there: the database's path appended where another connection's read kept the
        zeroed page from it (`enrol --delete` said "deleted" with the profile's bytes still in the file, unsaid:
        hostile sweep 56)."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM voice_profiles WHERE name = ?", (nfc(str(name).strip()),))
            if cur.rowcount == 0:
                raise SessionNotFoundError(f"no voice profile named {name!r} in {self.path}; "
                                           "`prosody enrol --list` lists them")
        if not self._checkpoint() and unerased is not None:  # a voice profile is biometric
            unerased.append(self.db_path)

    @sqlite_errors
    def attribution(self, ref) -> tuple[str | None, str | None]:
        """(layout, how speakers were attributed) of a stored session."""
        sid = self.resolve(ref)
        return tuple(self.db.execute("SELECT layout, attribution FROM sessions WHERE id = ?", (sid,)).fetchone())

    @sqlite_errors
    def gc(self, *, min_age_s: float = ORPHAN_MIN_AGE_S, uid: str | None = None) -> list[str]:
        """Remove frames files no session references, older than ``min_age_s``: left by a
        kill between writing the file and committing (or while writing it: ``.tmp-*``), or
        between replacing a session's frames and removing the old file. ``uid``: only
        that session's. One dated after this machine's clock (written before the clock was
        set back) is removed whatever ``min_age_s`` when no save holds the frames folder's
        lock (``_frames_lock``). Returns the names removed."""
        self._check_same_folder()  # another folder's unreferenced files are not this store's orphans
        referenced = {r[0] for r in self.db.execute("SELECT frames_file FROM sessions WHERE frames_file IS NOT NULL")}
        mine = (f"{uid}.", f".tmp-{uid}.") if uid is not None else ("",)
        removed, future = [], []
        now = time.time()
        cutoff = now - min_age_s
        for p in self.frames_dir.iterdir():
            if not _FRAMES_NAME.fullmatch(p.name) or not p.name.startswith(mine) or p.name in referenced:
                continue  # only what save writes: nothing else that may lie there (a folder, another store) is touched
            try:
                st = p.lstat()
                if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                    erase_file(p)
                    removed.append(p.name)
                elif stat.S_ISREG(st.st_mode) and st.st_mtime > now + 1.0:
                    future.append(p)  # dated after this clock: never old enough by age (the clock was set back)
            except FileNotFoundError:  # removed meanwhile (another prosody's gc)
                continue
        if future:
            with _frames_lock(self.frames_dir, exclusive=True) as held:
                if held:  # no save is between its file and its commit: an unreferenced file is dead
                    referenced = {r[0] for r in self.db.execute("SELECT frames_file FROM sessions "
                                                                "WHERE frames_file IS NOT NULL")}
                    for p in future:
                        if p.name in referenced:
                            continue
                        try:
                            erase_file(p)
                            removed.append(p.name)
                        except FileNotFoundError:
                            continue
        return removed

    # -- reading -------------------------------------------------------------------------------------------------
    @sqlite_errors
    def resolve(self, ref) -> int:
        """A session reference -> its ID: the integer ID (``12`` or ``#12``),
        a uid or a unique uid prefix of at least 4 characters, or ``last``."""
        text = check_session_ref(ref)
        if text == "last":
            row = self.db.execute("SELECT id FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
            if row:
                return row[0]
            raise SessionNotFoundError(f"the store {self.path} holds no sessions yet")
        if text.isdigit():
            row = self.db.execute("SELECT id FROM sessions WHERE id = ?", (int(text),)).fetchone()
            if row:
                return row[0]
        if len(text) >= 4:  # a uid prefix (uids are hex, so they can be all digits too)
            rows = self.db.execute("SELECT id FROM sessions WHERE uid LIKE ? ESCAPE '\\'",
                                   (text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",)
                                   ).fetchall()
            if len(rows) == 1:
                return rows[0][0]
            if len(rows) > 1:
                raise SessionNotFoundError(f"session {ref!r} is ambiguous ({len(rows)} uids start with it); "
                                           "give more characters or the numeric ID")
        raise SessionNotFoundError(f"no session {ref!r} in {self.path}; `prosody sessions` lists them")

    _INFO_SQL = """
SELECT s.id, s.uid, s.therapist, s.client, s.recorded_at, s.session_number, s.notes,
       (SELECT group_concat(tag, char(31)) FROM tags t WHERE t.session_id = s.id),
       s.saved_at, s.duration_s,
       (SELECT group_concat(speaker, char(31)) FROM (SELECT speaker FROM speakers p WHERE p.session_id = s.id
                                                    ORDER BY position)),
       s.warmth_score,
       (SELECT total FROM feedback f WHERE f.session_id = s.id AND f.kind = 'srs'),
       (SELECT total FROM feedback f WHERE f.session_id = s.id AND f.kind = 'rating'),
       s.frames_file IS NOT NULL
FROM sessions s"""

    @staticmethod
    def _info(row) -> SessionInfo:
        (sid, uid, therapist, client, recorded_at, number, notes, tags, saved_at, duration_s, speakers, warmth,
         srs, rating, has_frames) = row
        meta = SessionMeta(therapist=therapist, client=client, recorded_at=recorded_at, session_number=number,
                           notes=notes or "", tags=tuple(sorted(tags.split("\x1f"))) if tags else ())
        return SessionInfo(id=sid, uid=uid, meta=meta, saved_at=saved_at, duration_s=duration_s,
                           speakers=tuple(speakers.split("\x1f")) if speakers else (), warmth_score=warmth,
                           srs_total=srs, rating=rating, has_frames=bool(has_frames))

    @sqlite_errors
    def list(self, *, therapist: str | None = None, client: str | None = None, tag: str | None = None,
             since: str | None = None, until: str | None = None, ids=None) -> list[SessionInfo]:
        """Sessions matching every filter given, oldest first (by ``recorded_at``,
        then ID); those saved without a date after every dated one, in the order
        saved (``trend --last N`` leaves them out: not known to be among the latest). ``since`` / ``until``: dates
        or date-times, inclusive."""
        where, args = [], []
        therapist, client, tag = nfc(therapist), nfc(client), nfc(tag)
        if therapist is not None:
            where.append("s.therapist = ?")
            args.append(therapist)
        if client is not None:
            where.append("s.client = ?")
            args.append(client)
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM tags t WHERE t.session_id = s.id AND t.tag = ?)")
            args.append(tag)
        lo = parse_when(since) if since is not None else None
        hi = parse_when(until) if until is not None else None
        hi_day = iso_date(until) if until is not None else None  # a bare date includes that day
        spans, end = until_end(until) if hi is not None and hi_day is None else (False, None)
        if lo is not None and hi is not None and (lo[:10] > hi if hi_day is not None else
                                                  (end is not None and lo >= end) if spans else lo > hi):
            raise InputError(f"--since {since} is after --until {until}: no session can match; "
                             "give the earlier date to --since")
        # a session dated by its day alone (`--date 2026-12-04`) spans that day: it is on or after a time of
        # that day, and on or before one (compared as text, "2026-12-04" sorted before "2026-12-04T00:00:00":
        # --since 2026-12-04T00:00 left it out, and --until 2026-12-03T23:59 took it once a minute was a span)
        day_end = "(CASE WHEN length(s.recorded_at) = 10 THEN s.recorded_at || 'T23:59:59' ELSE s.recorded_at END)"
        day_start = "(CASE WHEN length(s.recorded_at) = 10 THEN s.recorded_at || 'T00:00:00' ELSE s.recorded_at END)"
        if lo is not None:
            where.append(f"{day_end} >= ?")
            args.append(lo)
        if hi_day is not None:
            if hi_day < date.max:  # before the next day (9999-12-31 has none: every date is on or before it)
                where.append(f"{day_start} < ?")
                args.append((hi_day + timedelta(days=1)).isoformat())
        elif hi is not None:  # a time typed to the minute (or hour) includes that minute (until_end)
            if not spans:
                where.append(f"{day_start} <= ?")
                args.append(hi)
            elif end is not None:
                where.append(f"{day_start} < ?")
                args.append(end)
        if ids is not None:
            ids = [int(i) for i in ids]
            where.append(f"s.id IN ({', '.join('?' * len(ids))})")
            args.extend(ids)
        sql = self._INFO_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY s.recorded_at IS NULL, s.recorded_at, s.id"
        return [self._info(r) for r in self.db.execute(sql, args)]

    @sqlite_errors
    def info(self, ref) -> SessionInfo:
        sid = self.resolve(ref)
        return self._info(self.db.execute(self._INFO_SQL + " WHERE s.id = ?", (sid,)).fetchone())

    @sqlite_errors
    def same_audio(self, ref) -> list[int]:
        """The other sessions analysed from the same audio as session ``ref`` (every file's ``audio.files``
        sha256, in order, the same): `analyze --save` of one file twice stored it twice, unsaid, where `batch`
        stores it once (hostile sweep 39). [] where ``ref`` names no hashed audio (a live or imported session)."""
        hashes = self._analysed_hashes(ref)
        if not hashes or None in hashes:
            return []
        sid = self.resolve(ref)
        rows = self.db.execute("SELECT session_id FROM audio_hashes WHERE sha256 = ? AND position = 0 AND "
                               "session_id != ? ORDER BY session_id", (hashes[0], sid)).fetchall()
        return [other for (other,) in rows if self._analysed_hashes(other) == hashes]

    def _analysed_hashes(self, ref) -> list[str | None]:
        """The SHA-256 of each file session ``ref`` was analysed from (``analysed_hashes``)."""
        return analysed_hashes(self.audio_files(ref))

    @sqlite_errors
    def audio_files(self, ref) -> tuple[tuple[str, str | None, bool], ...]:
        """(path, SHA-256 or None, whether prosody recorded it) of each recording session ``ref``'s stored
        document names (``_named_audio``), for ``delete`` to find their traces."""
        sid = self.resolve(ref)
        return _named_audio(_lenient_doc(self.db.execute("SELECT doc FROM sessions WHERE id = ?",
                                                         (sid,)).fetchone()[0]))

    @sqlite_errors
    def live_output(self, ref) -> tuple[str, str] | None:
        """(the live session's own file, its ``live.session_id``) where session ``ref`` was imported from a
        ``prosody live`` save that names them (its ``live.output_file``: hostile sweep 33), for ``delete`` to
        name it; None otherwise. Read leniently, as ``audio_files``."""
        live = _live_block(self.db.execute("SELECT doc FROM sessions WHERE id = ?",
                                           (self.resolve(ref),)).fetchone()[0])
        path, own = live.get("output_file"), live.get("session_id")
        if isinstance(path, str) and path and "\0" not in path and live_session_id(live) is not None:
            return path, own
        return None

    @sqlite_errors
    def live_session(self, session_id: str) -> tuple[int, str, dict] | None:
        """(ID, uid, its document's ``live`` block) of the stored session saved by the live session ``session_id``
        (any of its saves: an autosave, the final one), None where none is. One live session imported twice
        (an autosave, then its final save) counted one recording as two sessions (hostile sweep 33)."""
        needle = json.dumps({"session_id": session_id}, ensure_ascii=False)[1:-1]  # as the stored text has it
        for sid, uid, text in self.db.execute("SELECT id, uid, doc FROM sessions WHERE instr(doc, ?) > 0 "
                                              "ORDER BY id", (needle,)):
            live = _live_block(text)
            if live_session_id(live) == session_id:
                return sid, uid, live
        return None

    def _doc(self, sid: int, doc_text) -> dict:
        """``_doc_read``'s document."""
        return self._doc_read(sid, doc_text)[0]

    def _doc_read(self, sid: int, doc_text) -> tuple[dict, str | None]:
        """Session ``sid``'s stored document ``doc_text``, parsed and checked against
        docs/session-schema.md as an import is (``formats.schema``), so that every view
        can read what it holds. A document saved by an older or another program, or
        edited by hand in the database, raises SessionUnreadableError naming the session.
        One saved unsure before the forty-sixth round is read as its voice unattributed
        (``store.unsure.as_unattributed``; the stored text is not changed): (document, the
        name the stored one gives that voice), else (document, None)."""
        try:
            doc = json.loads(doc_text, parse_constant=_refuse_constant)
        except (TypeError, ValueError, RecursionError) as exc:
            problem = f"not JSON: {exc}"
        else:
            try:
                check_session_doc(doc, every_value=False)
                from .unsure import as_unattributed, stored_unsure_name  # saved unsure before round 46: as now
                return as_unattributed(doc) or doc, stored_unsure_name(doc)
            except InvalidSessionError as exc:
                problem = str(exc)
        raise SessionUnreadableError(
            f"session {sid} in {self.path} cannot be read: its stored document is malformed ({problem}), saved by "
            f"another version of prosody or edited by hand; the other sessions are unaffected: restore {DB_NAME} "
            f"from a backup, or remove this one with `prosody delete {sid}`")

    @sqlite_errors
    @contextmanager
    def _snapshot(self):
        """The reads inside see one state of the database (a read transaction: WAL gives it a snapshot),
        not one another prosody's commit changed between two of them (sweep 12: a session deleted
        between its row and its document was `internal error (TypeError ...)`). Inside a transaction
        already: that one."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            if self.db.in_transaction:
                self.db.execute("COMMIT")

    def snapshot(self):
        """A context in which this store's reads see one state of it (``_snapshot``): for a command
        that reads several sessions (``compare``, ``trend``). Keep it short: a `delete` meanwhile
        commits, then waits for it to end to erase the deleted pages from the file (its checkpoint)."""
        return self._snapshot()

    def get(self, ref) -> StoredSession:
        """A stored session: its listing info, its document (checked: ``_doc``), bookmarks,
        feedback and supervisor notes."""
        with self._snapshot():
            return self._get(ref)

    def read(self, ref) -> tuple[StoredSession, dict[str, dict[str, np.ndarray]] | None]:
        """A stored session and its per-frame features, of one state of it. Read one after the other,
        a `relabel` (or `delete`) committed between them gave the document of before and the frames
        of after (sweep 12: an export whose therapist's figures were one voice's and frames the
        other's). Both come from one snapshot; its frames file, renamed away by a save committed after
        it (relabel writes a new file and removes the old), is read again from a new snapshot."""
        for _ in range(READ_TRIES):
            with self._snapshot():
                s = self._get(ref)
                name = self.db.execute("SELECT frames_file FROM sessions WHERE id = ?", (s.info.id,)).fetchone()[0]
            if name is None:
                return s, None
            path = self.frames_dir / name
            try:
                if s.saved_as is None:
                    return s, read_frames_npz(path, s.doc["speaker_order"])
                from .unsure import frames_as_unattributed  # the file holds the voice under its saved name
                return s, frames_as_unattributed(read_frames_npz(path, [s.saved_as]), s.saved_as)
            except StoreError:
                if path.exists():  # there, and unreadable: said as it was
                    raise
            now = self.db.execute("SELECT frames_file FROM sessions WHERE id = ?", (s.info.id,)).fetchone()
            if now is None:
                raise SessionNotFoundError(f"session {s.info.id} was deleted from {self.path} while this command "
                                           "read it")
            if now[0] == name:
                raise FramesLostError(f"session {s.info.id}: its frames file {path} is missing")
        raise StoreError(f"session {s.info.id} in {self.path} kept changing while this command read it (another "
                         "prosody rewrote it each time); try again")

    def _get(self, ref) -> StoredSession:
        return self.from_raw(self.get_raw(ref))

    @sqlite_errors
    def get_raw(self, ref) -> tuple:
        """What ``get`` reads of a session, its document still the stored text: for a command that reads
        several sessions in one ``snapshot`` and checks their documents (``from_raw``) after it, so that
        the snapshot stays short (100 documents: parsed and checked ~10 times longer than read)."""
        info = self.info(ref)
        doc_text = self.db.execute("SELECT doc FROM sessions WHERE id = ?", (info.id,)).fetchone()[0]
        bookmarks = tuple(Bookmark(t, n) for t, n in self.db.execute(
            "SELECT time_s, note FROM bookmarks WHERE session_id = ? ORDER BY time_s, rowid", (info.id,)))
        feedback = tuple((k, items, g) for k, items, g in self.db.execute(
            "SELECT kind, items, given_at FROM feedback WHERE session_id = ? ORDER BY kind", (info.id,)))
        return info, doc_text, bookmarks, feedback, self.notes(info.id)

    def from_raw(self, raw: tuple) -> StoredSession:
        """The ``StoredSession`` of ``get_raw``'s ``raw``, its document checked (``_doc``: raises
        SessionUnreadableError naming the session). It reads nothing from the database: the store may be
        closed by then."""
        info, doc_text, bookmarks, feedback, notes = raw
        doc, saved_as = self._doc_read(info.id, doc_text)
        return StoredSession(info=info, doc=doc, bookmarks=bookmarks,
                             feedback=tuple(Feedback(k, tuple(json.loads(items)), g) for k, items, g in feedback),
                             notes=notes, saved_as=saved_as)

    @sqlite_errors
    def recording_fields(self, ids) -> list[dict]:
        """Per stored session ``ids``, the parts of its document that name its recordings
        (``audio``, ``live``, ``sources``: what ``clips.recording_paths`` reads), without
        parsing whole documents (a trend over 100 sessions: 6 ms, against 95 ms for ``get``)."""
        ids = [int(i) for i in ids]
        if not ids:
            return []
        rows = dict(self.db.execute(  # a document that is not JSON (edited by hand) names none: {}
            "SELECT id, CASE WHEN json_valid(doc) THEN json_object('audio', json_extract(doc, '$.audio'), "
            "'live', json_extract(doc, '$.live'), 'sources', json_extract(doc, '$.sources')) ELSE '{}' END "
            f"FROM sessions WHERE id IN ({','.join('?' * len(ids))})", ids))
        return [json.loads(rows[i]) for i in ids if i in rows]

    @sqlite_errors
    def frames(self, ref) -> dict[str, dict[str, np.ndarray]] | None:
        """The session's per-frame features, or None when it was saved without."""
        sid = self.resolve(ref)
        name, doc_text = self.db.execute("SELECT frames_file, doc FROM sessions WHERE id = ?", (sid,)).fetchone()
        if name is None:
            return None
        path = self.frames_dir / name
        if not path.exists():
            raise StoreError(f"session {sid}: its frames file {path} is missing")
        try:  # only the speaker order is needed: get() checks the whole document
            order = json.loads(doc_text, parse_constant=_refuse_constant).get("speaker_order")
        except (AttributeError, TypeError, ValueError, RecursionError):
            order = None
        if not (isinstance(order, list) and order and all(isinstance(s, str) for s in order)):
            order = self._doc(sid, doc_text)["speaker_order"]  # raises, naming the session and the field
        frames = read_frames_npz(path, order)
        from .unsure import frames_as_unattributed, stored_unsure_name
        saved_as = stored_unsure_name(json.loads(doc_text, parse_constant=_refuse_constant))
        return frames if saved_as is None else frames_as_unattributed(frames, saved_as)

    def read_document_kept(self, ref) -> tuple[StoredSession, dict[str, dict[str, np.ndarray]] | None, str | None]:
        """``read``, where the session's frames file is missing or unreadable: (the session, None, why its
        frames are lost). `export` and `report` refused such a session whole, "its frames file ... is missing"
        or "is cut short": its analysis, notes and feedback, whole in the database, could not be taken out
        (hostile sweep 51). (session, frames, None) where they read."""
        try:
            s, frames = self.read(ref)
        except FramesLostError as exc:
            return self.get(ref), None, str(exc)
        return s, frames, None

    def bundle(self, ref) -> ExportBundle:
        """The session as exported; without its frames, and why, where its frames file is lost
        (``read_document_kept``)."""
        s, frames, lost = self.read_document_kept(ref)
        return ExportBundle(doc=s.doc, meta=s.info.meta, bookmarks=s.bookmarks, feedback=s.feedback,
                            frames=frames, uid=s.info.uid, notes=s.notes, frames_lost=lost)

    def import_bundle(self, b: ExportBundle, *, new_id: bool = False, renumber: bool = False) -> int:
        """``save`` an export; ``renumber``: its session number, when another session of
        the client holds it, becomes the next one (``save``)."""
        return self.save(b.doc, b.frames, meta=b.meta, bookmarks=b.bookmarks, feedback=b.feedback,
                         uid=None if new_id else b.uid, notes=b.notes, renumber=renumber)

    @sqlite_errors
    def metrics(self, ids) -> dict[int, dict[str, float | None]]:
        """Numbers to compare sessions by, per session ID: ``{role}.{speaker
        column}`` (e.g. ``therapist.gap_median_s``), every flattened measure
        (e.g. ``warmth.score``, ``attunement.proximity.pitch.value``,
        ``timing.client.turns_per_min``), ``duration_s``, ``feedback.srs_total``,
        ``feedback.srs.{i}`` and ``feedback.rating``. Read from the normalised
        tables only (no document parsing), so a trend over many sessions is fast."""
        ids = [int(i) for i in ids]
        out: dict[int, dict[str, float | None]] = {i: {} for i in ids}
        if not ids:
            return out
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            q = ", ".join("?" * len(chunk))
            for sid, duration_s in self.db.execute(f"SELECT id, duration_s FROM sessions WHERE id IN ({q})", chunk):
                out[sid]["duration_s"] = duration_s
            cols = SPEAKER_COLUMNS + ("turns_per_min", "longest_monologue_s")
            for row in self.db.execute(f"SELECT session_id, role, {', '.join(cols)} FROM speakers "
                                       f"WHERE session_id IN ({q})", chunk):
                for c, v in zip(cols, row[2:]):
                    out[row[0]][f"{row[1]}.{c}"] = v
            for sid, key, value in self.db.execute(f"SELECT session_id, key, value FROM measures "
                                                   f"WHERE session_id IN ({q})", chunk):
                out[sid][key] = value
            for sid, kind, items, total in self.db.execute(
                    f"SELECT session_id, kind, items, total FROM feedback WHERE session_id IN ({q})", chunk):
                if kind == "srs":
                    out[sid]["feedback.srs_total"] = total
                    for i, v in enumerate(json.loads(items)):
                        out[sid][f"feedback.srs.{i + 1}"] = v
                else:
                    out[sid]["feedback.rating"] = total
        return out

    @sqlite_errors
    def windows(self, ref, kind: str = "window") -> list[dict]:
        """Stored rolling windows (``kind="window"``) or phases (``"phase"``), in order."""
        sid = self.resolve(ref)
        return [json.loads(d) for (d,) in self.db.execute(
            "SELECT doc FROM rolling WHERE session_id = ? AND kind = ? ORDER BY idx", (sid, kind))]

    @sqlite_errors
    def check_intact(self) -> None:
        """Raise StoreDamagedError when SQLite's quick check finds a damaged page (it reads
        every page once: run before a long analysis is saved, not on every open)."""
        problem = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise damaged_error(self.db_path, " ".join(str(problem).split()))

    @sqlite_errors
    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


_LIVE_ID_RE = re.compile(r"[0-9a-f]{16}")


def live_session_id(live: dict) -> str | None:
    """A live save's ``live.session_id`` (16 hex digits, ``prosody.live.runner``), None where it has none (saved
    before hostile sweep 33) or another value."""
    own = live.get("session_id") if isinstance(live, dict) else None
    return own if isinstance(own, str) and _LIVE_ID_RE.fullmatch(own) else None


def _live_block(doc_text) -> dict:
    """A stored document's ``live`` block, read leniently ({} where there is none or it is not JSON)."""
    try:
        doc = json.loads(doc_text)
    except (TypeError, ValueError, RecursionError):
        return {}
    live = doc.get("live") if isinstance(doc, dict) else None
    return live if isinstance(live, dict) else {}
