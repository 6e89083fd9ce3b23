"""Batch analysis of an archive of recordings: discovery, planning, a ledger
for resuming, and execution on a local process pool or a Dask cluster.

Every recording goes through the same code as ``prosody analyze``
(``speaker_channels``: ``attribute_recording`` -> ``recording_plan`` ->
``analyze_recording`` -> ``Session.to_json_dict``), in a worker
process; the results come back to this process, which alone writes the
session store and the ledger.

The flow::

    inputs (folders, globs, manifest CSV)
      -> discover()              Job: paths, layout request, metadata
      -> plan()                  per job: content hash, header probe, layout and
                                 config resolved, options hash, skip decision
      -> execute                 analyze_task(Task) in worker processes
                                 (ProcessPoolExecutor, or distributed.Client)
      -> store.save + ledger     one transaction each, in that order

Idempotence: a session's uid is derived from (content hash, options hash), so
a result saved just before a crash is found in the store on the next run even
if the ledger never heard of it. The ledger (``batch.sqlite`` in the store
folder, owner-only) keeps the hash cache, each completed analysis and each
failure, per run.

The library never prints: progress is reported through ``on_event``.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import fnmatch
import glob
import hashlib
import io
import json
import math
import os
import resource
import signal
import socket
import sqlite3
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from .. import __version__
from ..analysis import check_files_differ, check_mono_speaker, resolve as resolve_analysis
from ..config import AnalysisConfig
from ..errors import BatchError, InputError, ProsodyError, StoreError
from ..fileio import (KEPT_BESIDE_TRIES, beside_names, file_mark_said, file_sha256, input_change, input_state,
                      kind_taking, marks_kept, missing_file_text, not_utf8_said, own_output, restrict_sqlite_sidecars,
                      sqlite_errors)
from ..engine.sources import FFMPEG_SUFFIXES, FileSource, Layout
from ..formats.bundle import SessionMeta
from ..types import SPEAKER_FIELDS, UNATTRIBUTED
from ..store.db import LEDGER_FILE
from ..typed_text import from_spreadsheet_cell, spreadsheet_cell

LEDGER_NAME = LEDGER_FILE  # the ledger beside the store's database: one name, the store's
AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".w64",
                            ".rf64", ".au", ".snd"} | FFMPEG_SUFFIXES)
MANIFEST_COLUMNS = ("file", "file2", "channels", "speaker", "offset_s", "pitch_range", "therapist", "client",
                    "date", "session_number", "notes", "tags", "layout", "voices")
LIST_SEPARATOR = ";"       # inside one manifest cell: tags, pitch ranges
# the longest cell of each column whose errors quote the cell (the metadata's checks shorten what they quote): a
# path (PATH_MAX), else a few names and numbers; a 120,000-character cell was echoed whole in a one-line error
MANIFEST_CELL_MAX = {"file": 4096, "file2": 4096, "channels": 256, "speaker": 256, "offset_s": 256,
                     "pitch_range": 256, "date": 256, "session_number": 256, "layout": 256, "voices": 256}
SCHEDULER_TIMEOUT_S = 20.0  # --scheduler: connecting and the Dask handshake, together, at most this long
NO_WORKERS_WARN_S = 30.0   # --scheduler: a cluster without a worker this long is said (again if it recurs)
NO_WORKERS_LIMIT_S = 600   # ... and after this long (--wait-for-workers) the batch stops, what finished kept
NO_WORKERS_MAX_S = 7 * 86400  # ... which is at most a week (10**23 s was taken, and said as 'none come within
                              # 27777777777777779234 h 8 min')
SCHEDULER_ANSWER_S = 2.0   # ... and waits this long for its answer
WORKER_POLL_S = 2.0        # how often a Dask batch waiting on its files asks the scheduler how many workers it has
LEDGER_BUSY_TIMEOUT_S = 10.0  # how long a ledger write waits for another prosody's (a batch's, a delete's)
RACY_S = 2.0               # a file changed this recently is hashed every time (Ledger.cached_sha256)
ROW_SPEAKER_COLUMNS = SPEAKER_FIELDS  # the session summary's per-speaker fields
ROW_TIMING_COLUMNS = ("turns_per_min", "longest_monologue_s")
ROLES = ("therapist", "client", UNATTRIBUTED)  # the table's per-role columns: an unsure recording's one voice too
TABLE_COLUMNS = (("session_id", "int"), ("uid", "str"), ("file", "str"), ("file2", "str"), ("duplicate_of", "str"),
                 ("content_sha256", "str"), ("options_sha256", "str"), ("duration_s", "float"),
                 ("speakers", "str"), ("turn_taking", "bool"), ("therapist", "str"), ("client", "str"),
                 ("recorded_at", "str"), ("session_number", "int"), ("tags", "str"), ("n_warnings", "int"),
                 *((f"{role}.{c}", "int" if c.startswith("n_") or c in ("overlaps", "interruptions",
                                                                        "failed_interruptions", "backchannels")
                    else "float")
                   for role in ROLES for c in ROW_SPEAKER_COLUMNS + ROW_TIMING_COLUMNS),
                 ("warmth_score", "float"),
                 # a video call's (--network-delay-ms): the delay given and the client's wait less the round trip,
                 # as `show`, the report and `compare` give it; empty where no delay was given. Last, so that every
                 # earlier column keeps its place (walk59)
                 ("network_delay_ms", "float"), ("client.gap_median_corrected_s", "float"),
                 # the layout found and how the speakers were named ("mono, rule": ``session.layout_named``), as
                 # `show` and the JSON say it (hostile sweep 62); last, as the delay's columns
                 ("layout", "str"))
# the headers of tables written before the call-delay columns and before the layout's: still the batch's own,
# written again in place
_TABLE_NAMES_BEFORE_LAYOUT = tuple(c for c, _ in TABLE_COLUMNS[:-1])
_TABLE_NAMES_BEFORE_DELAY = tuple(c for c, _ in TABLE_COLUMNS[:-3])
TABLE_MARK = {"table": "batch"}  # a batch table's record on its files (fileio.mark_output): written by a batch



# -- jobs -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One recording: one stereo/mono file, or two per-speaker files (therapist,
    client) with ``offset_s`` the second file's start in seconds. ``channels``,
    ``speaker`` and ``pitch_range`` are the strings ``prosody analyze`` takes
    for ``--channels``, ``--speaker`` and ``--pitch-range``."""

    paths: tuple[str, ...]
    channels: str | None = None
    speaker: str | None = None
    offset_s: float = 0.0
    pitch_range: tuple[str, ...] = ()
    meta: SessionMeta = SessionMeta()  # recorded_at None: the first file's modification time minus its length
    origin: str = ""               # where the job was listed, e.g. "manifest.csv line 4"
    layout: str = "auto"           # as ``prosody analyze --layout``: auto, separate, shared or mono
    voice_profile: str | None = None  # ``--profile NAME``; None: the profile of the therapist when one is stored
    voices: int | None = None      # as ``prosody analyze --voices``: 1 or 2 people speak; None: found from the audio
    cells: frozenset[str] = frozenset()  # the manifest columns whose cell gave this job a value (not empty)

    @property
    def label(self) -> str:
        return " + ".join(self.paths)

    def named(self, column: str, option: str, *, row: bool = True) -> str:
        """How a value of this job is named in an error: ``man.csv line 4: channels`` where its manifest
        cell gave it (``channels`` without ``row``), else the command line's ``option`` (a manifest's empty
        cell takes the option's value)."""
        return (f"{self.origin}: {column}" if row else column) if column in self.cells else option


def discover(inputs: Iterable[str], *, defaults: Job = Job(paths=()), skip: Iterable = ()) -> list[Job]:
    """Jobs for ``inputs``: audio files (by suffix, see ``AUDIO_SUFFIXES``) in
    folders (recursively, hidden entries skipped), paths matching glob patterns
    (``**`` recurses; every matched file is taken, whatever its suffix), files,
    and manifest CSVs (``*.csv``, columns ``MANIFEST_COLUMNS``, ``file`` required).

    ``defaults`` supplies the layout request and metadata for files not listed in
    a manifest, and for a manifest's empty cells. A file reached twice is taken
    once (the first time; a manifest may list one file twice with different
    layouts), unless the two carry other metadata. Raises InputError when an input
    does not exist, a pattern matches nothing, a manifest is malformed, one file is
    listed twice with other metadata, or nothing is found.

    ``skip``: files (and folders, with all they hold) a glob pattern's matches pass over: the batch's own
    table (``--table``'s CSV and Parquet) and store folder. ``prosody batch '**'`` wrote
    ``prosody-batch.csv`` where it ran, and running the same command again (to go on) took that table for a
    manifest ("unknown column(s) session_id, ...") and its Parquet, and a store folder there its database,
    ledger and frames files, for recordings, until 2026-12-04."""
    inputs = list(inputs)
    skipped = {os.path.realpath(x) for x in skip}
    jobs: list[Job] = []
    for inp in inputs:
        jobs += _jobs_of_pattern(inp, defaults, skipped) if glob.has_magic(inp) else _jobs_of_path(inp, defaults)
    unique = _each_once(jobs)
    if not unique:
        raise InputError(f"no audio files found in {', '.join(inputs)} (looked for "
                         f"{', '.join(sorted(AUDIO_SUFFIXES))})")
    return unique


def _jobs_of_pattern(inp: str, defaults: Job, skipped: set[str]) -> list[Job]:
    """The jobs of a glob pattern's matches (folders' audio, manifests, any other file), passing over ``skipped``
    (real paths of files and folders); InputError where it matches nothing."""
    hits = sorted(safe_glob(inp))
    if not hits:
        fixed = os.path.dirname(inp)  # the folder the pattern looks in, up to its first wildcard
        while glob.has_magic(fixed):
            fixed = os.path.dirname(fixed)
        unread = _unread_folder_why(fixed) if fixed and os.path.isdir(fixed) else None
        raise InputError(f"no files match {inp!r}" + (f": {unread}" if unread else ""))
    jobs: list[Job] = []
    for h in hits:
        real = os.path.realpath(h)
        if real in skipped or any(real.startswith(d.rstrip(os.sep) + os.sep) for d in skipped):
            continue
        hp = Path(h)
        if hp.is_dir():
            jobs += [dataclasses.replace(defaults, paths=(str(f),), origin=inp) for f in _audio_in(hp)]
        elif hp.suffix.lower() == ".csv":
            jobs += read_manifest(hp, defaults=defaults)
        else:
            jobs.append(dataclasses.replace(defaults, paths=(h,), origin=inp))
    return jobs


def _jobs_of_path(inp: str, defaults: Job) -> list[Job]:
    """The jobs of one named folder (its audio), manifest or file; InputError where it does not exist."""
    p = Path(inp)
    if p.is_dir():
        return [dataclasses.replace(defaults, paths=(str(f),), origin=inp) for f in _audio_in(p)]
    if p.suffix.lower() == ".csv" and p.is_file():
        return read_manifest(p, defaults=defaults)
    if p.exists():
        return [dataclasses.replace(defaults, paths=(inp,), origin=inp)]
    raise InputError(missing_file_text(inp, what="file or folder"))


def _each_once(jobs: list[Job]) -> list[Job]:
    """``jobs`` with the same file(s) under the same layout request taken once (the first); InputError where one
    recording comes with two sets of metadata."""
    seen: dict[tuple, Job] = {}
    unique = []
    for j in jobs:  # the same file(s) with the same layout request, reached twice
        key = (tuple(os.path.realpath(x) for x in j.paths), j.channels, j.speaker, j.offset_s, j.pitch_range,
               j.layout, j.voices)
        first = seen.get(key)
        if first is None:
            seen[key] = j
            unique.append(j)
        elif (first.meta, first.voice_profile) != (j.meta, j.voice_profile):
            # one recording, two sets of metadata (a manifest row, or the file reached again): which is meant
            # cannot be guessed, and keeping the first silently lost the second row's names and notes
            raise InputError(f"{j.origin or j.label}: {j.label} is also listed at {first.origin or first.label} "
                             "with other metadata (therapist, client, session number, date, notes, tags or "
                             "profile); give each recording one row")
    return unique


def safe_glob(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)``, except that ``**`` enters each
    folder once per position in the pattern (by (st_dev, st_ino)): symbolic
    links that loop back (even several, branching) end the search instead of
    multiplying it. Hidden entries are matched only by a pattern starting with '.'."""
    if "**" not in pattern:
        return glob.glob(pattern, recursive=True)
    parts = pattern.split(os.sep)
    if parts[0] == "":
        root, parts = os.sep, parts[1:]
    else:
        root = os.curdir
    parts = [p for p in parts if p not in ("", ".")]
    found: list[str] = []
    visited: set[tuple[int, int, int]] = set()

    def join(base: str, name: str) -> str:
        return name if base == os.curdir else os.path.join(base, name)

    def entries(folder: str) -> list[str]:
        try:
            return sorted(os.listdir(folder or os.curdir))
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR) and folder != os.curdir:
                found.append(folder)  # a folder that cannot be read: a job that fails saying so (``_audio_in``)
            return []

    def walk(base: str, i: int) -> None:
        if i == len(parts):
            if base != os.curdir:
                found.append(base)
            return
        part = parts[i]
        if part == "**":
            try:
                st = os.stat(base)
            except OSError:
                return
            key = (st.st_dev, st.st_ino, i)
            if key in visited:
                return
            visited.add(key)
            walk(base, i + 1)  # ** matches no folder
            for name in entries(base):
                child = join(base, name)
                if not name.startswith(".") and os.path.isdir(child):
                    walk(child, i)
                elif i + 1 == len(parts) and not name.startswith("."):
                    found.append(child)  # a trailing ** matches files too
            return
        if glob.has_magic(part):
            for name in entries(base):
                if (name.startswith(".") == part.startswith(".")) and fnmatch.fnmatchcase(name, part):
                    child = join(base, name)
                    if i + 1 == len(parts) or os.path.isdir(child):
                        walk(child, i + 1)
        else:
            child = join(base, part)
            if os.path.lexists(child):
                walk(child, i + 1)

    walk(root, 0)
    return list(dict.fromkeys(found))


def _audio_in(folder: Path) -> list[Path]:
    """The audio files in ``folder`` and the folders under it, and each folder there that cannot be read (no
    permission): a job of its own, which fails saying so (``_plan``). ``os.walk`` passed over such a folder, and the
    recordings in it were never analysed, unsaid (hostile sweep 62)."""
    out = []
    for root, dirs, files in os.walk(folder, onerror=lambda exc: out.append(Path(exc.filename))):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / f for f in sorted(files)
                if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES]
    return out


def unread_folder_text(folder: str) -> str | None:
    """Why the folder ``folder`` cannot be listed ("cannot read the folder in/sub (Permission denied): ..."), for the
    line of a batch's job that names it (``_audio_in``, ``safe_glob``); None where it can be."""
    why = _unread_folder_why(folder)
    return None if why is None else f"{why}: the recordings in it, if any, were not analysed"


def _unread_folder_why(folder: str) -> str | None:
    """"cannot read the folder in/sub (Permission denied)" where ``folder`` cannot be listed, else None (a folder's
    name may hold a colon: the words are made, not cut from a longer line)."""
    try:
        os.listdir(folder)
    except OSError as exc:
        return f"cannot read the folder {folder} ({exc.strerror or exc})"
    return None


MANIFEST_MAX_BYTES = 64 << 20  # a row per recording, about 200 bytes: 300,000 recordings


def read_manifest(path: str | os.PathLike, *, defaults: Job = Job(paths=())) -> list[Job]:
    """Jobs listed in a manifest CSV (UTF-8, header row). Columns (only ``file``
    is required; empty cells take ``defaults``):

    ``file``, ``file2`` (with two files: therapist's, then client's), relative
    to the manifest's folder; ``channels`` (``therapist=right,client=left``);
    ``speaker`` (mono); ``offset_s``; ``pitch_range``
    (``client=75-400;therapist=60-300``); ``therapist``; ``client``; ``date``
    (``YYYY-MM-DD[THH:MM]``); ``session_number``; ``notes``; ``tags``
    (``intake;video``); ``layout`` (``auto``, ``separate``, ``shared`` or ``mono``,
    as ``prosody analyze --layout``); ``voices`` (``1``, ``2`` or ``auto``, as ``prosody
    analyze --voices``)."""
    path = Path(path)
    text = _manifest_text(path)
    lines = io.StringIO(text).readlines()  # as csv reads them: reader.line_num counts these
    spans = _quoted_spans(text)  # quoted cells holding a line break: (line opened, line closed or None)
    unclosed = next((a for a, b in spans if b is None), None)
    if unclosed is not None:  # csv would take the rest of the file into that one cell, silently
        raise InputError(f"{path} line {unclosed}: a quoted cell is never closed (its opening \" takes in every "
                         "line after it); close it with another \", or remove it")
    reader = csv.DictReader(io.StringIO(text))
    header = _manifest_header(path, reader, lines)
    reader.fieldnames = header
    jobs = []
    end = reader.line_num  # the last line of the record before (at first: the header's)
    for row in _csv_rows(path, reader):
        # a record that holds a quoted line break spans several lines: name its first
        start = next((k for k in range(end, reader.line_num) if lines[k].strip("\r\n")), end) + 1
        end = reader.line_num
        where = f"{path} line {start}"
        inside = [(a, b) for a, b in spans if start <= a < end]  # this record's quoted line breaks
        _check_record(path, where, row, header, inside, lines)
        cell = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(cell.values()):
            jobs.append(_manifest_job(where, cell, defaults=defaults, base=path.parent))
    return jobs


def _manifest_text(path: Path) -> str:
    """A manifest's text (UTF-8, a BOM dropped); one line where it is no small regular file or no UTF-8."""
    from ..fileio import small_file_problem
    # a FIFO named *.csv that a glob matched was read for ever (the batch hung before any work); a 160 MB
    # manifest took 57 s and 2.1 GB of memory (13 x its size: a 2 GB CSV export matched by '**' would not fit)
    problem = small_file_problem(path, max_bytes=MANIFEST_MAX_BYTES)
    if problem is not None:
        raise InputError(f"manifest {path} {problem}" + ("; split it into several manifests"
                                                          if "bytes" in problem else ""))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read manifest {path}: {exc.strerror}") from None
    said = not_utf8_said(data, save_as=MANIFEST_SAVE_AS)
    if said:  # UTF-16 with no BOM decodes as UTF-8 (its header read as 'f\x00i\x00l\x00e\x00'); Latin-1 did not
        raise InputError(f"manifest {path} is not UTF-8 text{said}")
    return data.decode("utf-8-sig")


MANIFEST_SAVE_AS = '"CSV UTF-8 (comma delimited)"'  # the spreadsheet's own name for a UTF-8 CSV


def _manifest_header(path: Path, reader, lines: list[str]) -> list[str]:
    """The header row's column names (stripped): a 'file' column, each column once and known; a batch table
    (``--table``) or a file separated by semicolons or tabs said as such."""
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise _manifest_csv_error(path, reader, exc) from None
    if "file" not in header:
        first = lines[0] if lines else ""
        sep = next((name for ch, name in ((";", "semicolons"), ("\t", "tabs")) if ch in first), None)
        if sep is not None and len(header) == 1:
            raise InputError(f"manifest {path}: the header has no comma, its columns are separated by {sep}; "
                             "use commas (a spreadsheet's \"CSV (comma delimited)\")")
        # a header 'File,Notes' was said as no 'file' column without saying what the header held
        found = ", ".join(repr(h) for h in header[:8]) + (f" and {len(header) - 8} more" if len(header) > 8 else "")
        cased = [h for h in header if h.lower() in MANIFEST_COLUMNS and h not in MANIFEST_COLUMNS]
        hint = (f"; column names are lower case: {', '.join(repr(h.lower()) for h in cased)}" if cased else
                f"; columns are {', '.join(MANIFEST_COLUMNS)}")
        raise InputError(f"manifest {path}: no 'file' column in the header row (it holds {found or 'nothing'})"
                         + hint)
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:  # a row would keep only the last cell of the column
        raise InputError(f"manifest {path}: column {', '.join(repr(h) for h in twice)} appears more than once "
                         "in the header row; give each column once (two files: file and file2)")
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    if unknown and {"session_id", "content_sha256"} <= set(header):  # 100+ columns were listed as unknown
        raise InputError(f"{path} is a table of sessions that `prosody batch` wrote (--table), not a manifest; "
                         "a manifest lists recordings: columns file, file2, ... (docs/batch.md)")
    if unknown:
        shown = ", ".join(unknown[:8]) + (f" and {len(unknown) - 8} more" if len(unknown) > 8 else "")
        raise InputError(f"manifest {path}: unknown column(s) {shown}; known: {', '.join(MANIFEST_COLUMNS)}")
    return header


def _check_record(path: Path, where: str, row: dict, header: list[str], inside: list[tuple], lines: list[str]):
    """A record's shape: no row taken into a quoted cell opened on a line of its own (``inside``: the record's
    quoted line breaks), as many cells as the header has (an empty record aside)."""
    for a, b in inside:  # a row taken into a quoted cell: its quote was meant to close on its own line
        k = next((k for k in range(a + 1, b + 1) if _reads_as_row(lines[k - 1], len(header))), None)
        if k is not None:
            raise InputError(f"{path} line {a}: a quoted cell is never closed on its line: it takes in line "
                             f"{k} ({lines[k - 1].strip()[:40]!r}), which reads as a row of its own; close the "
                             "quote on its line, or remove it")
    if None in row or any(v is None for v in row.values()):
        n = len(header) + len(row.get(None) or ()) - sum(v is None for k, v in row.items() if k is not None)
        if any((v or "").strip() for k, v in row.items() if k is not None) or row.get(None):
            why = (f"the quoted cell opened on line {inside[0][0]} runs on to line {inside[0][1]}: is its closing "
                   "quote missing?" if inside else
                   "quote a cell that holds a comma, e.g. \"arrived late, seemed tired\"" if n > len(header) else
                   # the comma hint was given for a short row too, which holds no comma to quote
                   "give every column its cell, empty ones too (a.wav,,), so that no cell is read under "
                   "another column")
            raise InputError(f"{where}: {n} cells, the header has {len(header)} ({', '.join(header)}); {why}")


def _manifest_job(where: str, cell: dict[str, str], *, defaults: Job, base: Path) -> Job:
    """One manifest row's job (files relative to the manifest's folder ``base``; empty cells take ``defaults``),
    every cell checked as the store and the analysis would check it, with its line (``where``)."""
    from ..analysis import check_speaker_label
    from ..formats.bundle import parse_number, parse_when, parse_whole
    from ..formats.schema import MAX_SESSION_NUMBER, check_meta_fields
    from ..speaker_channels import VOICES_TOLD
    if not cell.get("file"):
        raise InputError(f"{where}: empty 'file'")
    for k, v in cell.items():  # a cell no value of its column is that long: said by its length, not echoed
        limit = MANIFEST_CELL_MAX.get(k)
        if limit is not None and len(v) > limit:
            raise InputError(f"{where}: its {k} cell is {len(v):,} characters long (a {k} cell holds at most "
                             f"{limit:,}): is a quote left open, or a cell under the wrong column?")
    for k in ("file", "file2"):
        if "\0" in cell.get(k, ""):  # no file name holds one: os calls raised ValueError (an internal error)
            raise InputError(f"{where}: {k} {cell[k]!r} holds a NUL byte, which no file name can; remove it")
    paths = tuple(str(base / cell[k]) if not Path(cell[k]).is_absolute() else cell[k]
                  for k in ("file", "file2") if cell.get(k))
    d, m = defaults, defaults.meta
    offset_s = parse_number(cell["offset_s"]) if cell.get("offset_s") else d.offset_s
    if offset_s is None:  # digits 0-9: float() read "1_0" as 10
        raise InputError(f"{where}: offset_s {cell['offset_s']!r} is not a number of seconds (e.g. 1.5 or -0.25)")
    number = parse_whole(cell["session_number"]) if cell.get("session_number") else m.session_number
    if cell.get("session_number") and number is None:  # digits 0-9 only: int() read "1_0" as 10
        raise InputError(f"{where}: session_number {cell['session_number']!r} is not a whole number")
    if number is not None and not 0 <= number <= MAX_SESSION_NUMBER:
        raise InputError(f"{where}: session_number {number} is outside 0..{MAX_SESSION_NUMBER:,}")
    speaker = cell.get("speaker") or d.speaker
    try:  # a label the store would refuse is refused before any analysis; the name prosody keeps for an
        # unsure voice fails only its file (_plan), as `channels` naming it does
        if speaker != UNATTRIBUTED:
            check_speaker_label(speaker, flag="speaker")
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    layout = (cell.get("layout") or d.layout).lower()  # as typed, spaces and case aside ("Shared ")
    if layout not in ("auto", "separate", "shared", "mono"):
        raise InputError(f"{where}: layout {layout!r}; use auto, separate, shared or mono")
    told = (cell.get("voices") or "").strip().lower()  # as typed, spaces and case aside ("Auto ")
    if told and told not in VOICES_TOLD:
        raise InputError(f"{where}: voices {cell['voices']!r}; use 1, 2 or auto")
    voices = VOICES_TOLD[told] if told else d.voices
    if not math.isfinite(offset_s):
        raise InputError(f"{where}: offset_s {offset_s} is not a finite number of seconds")
    try:
        when = parse_when(cell["date"]) if cell.get("date") else m.recorded_at
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    split = lambda s: tuple(x.strip() for x in s.split(LIST_SEPARATOR) if x.strip())  # noqa: E731
    try:  # what the store will refuse is refused here, with its line
        check_meta_fields(therapist=cell.get("therapist") or m.therapist, client=cell.get("client") or m.client,
                          notes=cell.get("notes") or m.notes,
                          tags=split(cell["tags"]) if cell.get("tags") else m.tags, where="metadata")
    except ProsodyError as exc:
        raise InputError(f"{where}: {exc}") from None
    return Job(
        paths=paths, channels=cell.get("channels") or d.channels, speaker=cell.get("speaker") or d.speaker,
        offset_s=offset_s,
        pitch_range=split(cell["pitch_range"]) if cell.get("pitch_range") else d.pitch_range,
        meta=SessionMeta(therapist=cell.get("therapist") or m.therapist, client=cell.get("client") or m.client,
                         recorded_at=when, session_number=number, notes=cell.get("notes") or m.notes,
                         tags=split(cell["tags"]) if cell.get("tags") else m.tags),
        origin=where, layout=layout, voice_profile=d.voice_profile, voices=voices,
        cells=frozenset(k for k, v in cell.items() if v))


def _manifest_csv_error(path: Path, reader, exc: csv.Error) -> InputError:
    """One line for what Python's csv refuses in a manifest (a cell over its 128 KiB limit: was an internal
    error): no cell of a manifest is that long (notes hold at most 100,000 characters)."""
    line = reader.line_num + 1  # csv counts the lines of the records it finished: the failing one starts here
    if "field larger than field limit" in str(exc):
        return InputError(f"{path} line {line}: a cell of more than {csv.field_size_limit():,} "
                          "characters, more than any cell of a manifest holds (notes: at most 100,000); is a "
                          "quote left open, or is this a manifest at all?")
    return InputError(f"{path} line {line}: not CSV ({exc})")


def _csv_rows(path: Path, reader):
    """The rows of csv ``reader`` over manifest ``path``; csv.Error as InputError (``_manifest_csv_error``)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _manifest_csv_error(path, reader, exc) from None
        yield row


def _quoted_spans(text: str) -> list[tuple[int, int | None]]:
    """Quoted cells of CSV ``text`` (Python's csv reading of it: a ``"`` opens a quoted
    cell only where a cell starts; ``""`` inside is a quote) that hold a line break:
    (line it opens on, line its closing ``"`` is on, or None when none closes it),
    lines numbered from 1."""
    out: list[tuple[int, int | None]] = []
    line, opened, quoted, at_start, i = 1, 0, False, True, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1:i + 2] == '"':
                i += 1
            elif ch == '"':
                quoted = False
                if line > opened:
                    out.append((opened, line))
        elif ch == '"' and at_start:
            quoted, opened = True, line
        at_start = not quoted and ch in ",\r\n"
        line += ch == "\n"
        i += 1
    if quoted:
        out.append((opened, None))
    return out


def _reads_as_row(line: str, n_columns: int) -> bool:
    """A manifest line that would be a row of its own: a recording's file name first and
    the header's number of cells (a note that runs over lines rarely is both)."""
    cells = next(csv.reader([line]), [])
    return (len(cells) == n_columns > 1 and Path(cells[0].strip()).suffix.lower() in AUDIO_SUFFIXES)


# -- what a worker runs -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """Everything a worker needs to analyse one recording, fully resolved and
    picklable. ``paths``: absolute paths to read (a worker's working folder is
    not the client's); ``sources``: the paths as the user gave them, for the
    session document and messages; ``audio``: the files' bytes when the worker
    cannot read ``paths`` (Dask ``send_audio``)."""

    paths: tuple[str, ...]
    sources: tuple[str, ...]
    layout: Layout
    config: AnalysisConfig
    offset_s: float = 0.0
    measures: object = None        # prosody.measures.MeasuresConfig
    profile: object = None         # prosody.measures.Baseline | None
    audio: tuple[bytes, ...] | None = None
    layout_request: str = "separate"  # "separate": the channels of ``layout``; else found/diarized as analyze does
    channel_map: str | None = None    # the ``--channels`` text, for layout detection
    voice_profile: object = None      # prosody.engine.speakers.VoiceProfile naming the therapist, or None
    voices: int | None = None         # ``--voices``: how many people speak where the file is diarized


@dataclass
class TaskResult:
    """What comes back from a worker. ``doc``: the ``prosody.session/2``
    document (as ``prosody analyze --json`` writes it); ``frames``:
    ``frames[speaker][key]`` arrays of shape (n_frames,); ``reason``: one line
    when the recording could not be analysed."""

    ok: bool
    doc: dict | None = None
    frames: dict | None = None
    reason: str = ""
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0       # the worker process's peak resident memory so far
    worker: str = ""               # host:pid
    picks: tuple[tuple[int, int], ...] = ()  # (file, channel) each speaker of doc["speaker_order"] was read from


def analyze_task(task: Task) -> TaskResult:
    """Analyse one recording exactly as ``prosody analyze`` does. Never raises
    for a bad recording: the failure comes back as ``TaskResult(ok=False)``
    with a one-line reason."""
    from ..speaker_channels import analyze_recording, recording_plan
    from .allocator import release_free_memory, tune_for_analysis
    tune_for_analysis()  # Dask's MALLOC_TRIM_THRESHOLD_ would double the CPU time (prosody/batch/allocator.py)
    t0, c0 = time.perf_counter(), time.process_time()
    tmp = None
    paths = list(task.paths)
    unmap = lambda text: _unmap(text, paths, task.sources)  # noqa: E731
    try:
        if task.audio is not None:
            tmp = tempfile.TemporaryDirectory(prefix="prosody-batch-")
            local = []
            for i, (p, data) in enumerate(zip(task.sources, task.audio)):
                q = Path(tmp.name) / f"{i}{Path(p).suffix}"
                q.write_bytes(data)
                local.append(str(q))
            paths = local
        att, voices = None, None
        n_channels = FileSource(paths, Layout(("x",), ((0, 0),))).files[0].channels
        # the same attribution as `prosody analyze` (speaker_channels); separate channels forced are checked too
        if task.layout_request != "separate" or len(paths) == 2 or n_channels == 2:
            from ..speaker_channels import attribute_recording
            att, voices = attribute_recording(paths, n_channels=n_channels, layout=task.layout_request,
                                              channels=task.channel_map, profile=task.voice_profile,
                                              offset_s=task.offset_s, voices=task.voices,
                                              vad=task.config.vad if task.config is not None else None)
        rec = recording_plan(paths, task.layout, voices=voices, attribution=att, offset_s=task.offset_s)
        session = analyze_recording(rec, task.config, attribution=att, sources=task.sources, measures=task.measures,
                                    profile=task.profile, said=unmap)
        # where each voice was read, for doc["audio"] (added by the client: the worker may hold a copy)
        res = TaskResult(ok=True, doc=session.to_json_dict(), frames=session.frames, picks=tuple(rec.picks))
    except ProsodyError as exc:
        res = TaskResult(ok=False, reason=unmap(_own_line(exc)))
    except MemoryError:
        res = TaskResult(ok=False, reason="out of memory while analysing it")
    except Exception as exc:  # a bug or an unexpected decoder failure: report it, keep the batch going
        res = TaskResult(ok=False, reason=unmap(f"internal error ({type(exc).__name__}: {_one_line(exc)})"))
    finally:
        if tmp is not None:
            _erase_sent_audio(paths if task.audio is not None else [])
            tmp.cleanup()
        release_free_memory()
    res.cpu_s = time.process_time() - c0
    res.wall_s = time.perf_counter() - t0
    res.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    res.worker = f"{socket.gethostname()}:{os.getpid()}"
    return res


def _erase_sent_audio(paths) -> None:
    """The worker's copies of a recording sent with ``--send-audio``, overwritten with zeros before its
    temporary folder goes (``fileio.erase_file``): removed alone, the raw therapy audio stayed readable on the
    worker's disk (hostile sweep 32: an 8 MB ext4 image as its temporary folder held the recording's bytes)."""
    from ..fileio import erase_file
    for q in paths:
        try:
            erase_file(q)
        except OSError:
            pass  # not written (the task failed before), or gone: the folder's removal takes what is left


def _warm() -> None:
    from .. import session  # noqa: F401  (the pipeline and its stages)


def _worker_init() -> None:
    """A local worker leaves Ctrl-C to the parent, which stops the batch and
    terminates the workers: a terminal's Ctrl-C reaches the whole process group,
    and a worker interrupted on its own prints a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a terminal closed: the parent stops the batch (sweep 12)


@contextlib.contextmanager
def _spawned_ignoring_ctrl_c():
    """Workers started inside start with Ctrl-C ignored (an ignored signal stays ignored across
    exec, and Python then leaves it so): ``_worker_init`` runs only after a spawned worker has
    imported prosody, and a Ctrl-C to the process group in that second printed the worker's
    traceback. The parent ignores it only while it starts them (on a submit). SIGHUP alike (a terminal
    closed sends it to the whole process group): it killed the workers and multiprocessing's resource
    tracker (which ignores Ctrl-C and SIGTERM, not SIGHUP), whose death printed a traceback, where the
    parent stops the batch itself (sweep 12); the pool and its queues (which start the tracker) are made
    inside too."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in before.items():
            if handler is not None:  # None: a handler not set from Python, left as it was
                signal.signal(s, handler)


class BatchStopped(KeyboardInterrupt):
    """The batch was asked to stop (Ctrl-C, SIGTERM: ``reason``) and did, at a
    point between steps: nothing half-saved, the workers terminated."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


STOP_POLL_S = 0.2   # how often a running batch looks whether it was asked to stop


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _own_line(exc: BaseException) -> str:
    """A ProsodyError's line as it is: one line of prosody's own, in which a file name with a line break or two
    spaces in a row stays that name (the outputs show its controls as \\xNN). ``_one_line`` made a manifest's
    "a<line feed>b.wav" into "no such file: a b.wav", a file that was there (hostile sweep 29)."""
    return str(exc) or type(exc).__name__


def _unmap(text: str, local: list[str], original: tuple[str, ...]) -> str:
    for a, b in zip(local, original):
        if a != b:
            text = text.replace(a, b)
    return text


# -- hashing -----------------------------------------------------------------------------------------------------


def options_sha256(task: Task) -> str:
    """SHA-256 of everything besides the audio that decides the result: engine
    version, session schema, resolved layout and analysis config, offset,
    measures config and personal baseline. Session metadata is not part of it."""
    from ..session import SCHEMA
    d = {"prosody": __version__, "schema": SCHEMA, "n_files": len(task.paths),
         "layout": {"speakers": list(task.layout.speakers), "picks": [list(p) for p in task.layout.picks]},
         "config": task.config.to_dict(),
         "offset_s": float(task.offset_s) if len(task.paths) == 2 else 0.0,
         "measures": dataclasses.asdict(task.measures) if task.measures is not None else None,
         "profile": task.profile.to_dict() if task.profile is not None else None}
    if task.layout_request != "separate":  # issue 9: layout detection / diarization and the voice profile
        d["layout_request"] = task.layout_request
        d["channel_map"] = task.channel_map
        d["voice_profile"] = task.voice_profile.to_dict() if task.voice_profile is not None else None
        if task.voices is not None:  # only where told: the options of earlier runs hash as they did
            d["voices"] = task.voices
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=list).encode()).hexdigest()


def session_uid(content: str, options: str) -> str:
    """The store uid of the session analysed from (content, options): 16 hex digits."""
    return hashlib.sha256(f"{content}:{options}".encode()).hexdigest()[:16]


# -- the ledger ---------------------------------------------------------------------------------------------------
_LEDGER_SQL = """
CREATE TABLE IF NOT EXISTS hashes (
  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
  inode INTEGER NOT NULL, device INTEGER NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT, backend TEXT,
  n_jobs INTEGER, n_analysed INTEGER, n_skipped INTEGER, n_failed INTEGER);
CREATE TABLE IF NOT EXISTS done (
  content_sha256 TEXT NOT NULL, options_sha256 TEXT NOT NULL, uid TEXT NOT NULL, session_id INTEGER NOT NULL,
  files TEXT NOT NULL, row TEXT NOT NULL, run_id INTEGER, finished_at TEXT NOT NULL,
  PRIMARY KEY (content_sha256, options_sha256));
CREATE TABLE IF NOT EXISTS analyses (
  run_id INTEGER NOT NULL, files TEXT NOT NULL, content_sha256 TEXT NOT NULL, options_sha256 TEXT NOT NULL,
  session_id INTEGER NOT NULL, duration_s REAL, cpu_s REAL, wall_s REAL, peak_rss_mb REAL, worker TEXT,
  finished_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
  run_id INTEGER NOT NULL, files TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL)
"""


class LedgerError(BatchError):
    """The batch ledger cannot be read or written now (busy, full, damaged): the batch stops;
    what one recording did wrong is never this."""


def ledger_error(path: Path, exc: sqlite3.DatabaseError, *, doing: str = "use", full: bool = False) -> LedgerError:
    """A SQLite error met on the ledger at ``path``, as one line saying what to do: a busy ledger
    (another prosody writing it: a batch on the same store, a delete) is waited for, not moved aside.
    ``full``: the disk is known to be full (SQLite may say only 'disk I/O error')."""
    from ..fileio import free_space_text, is_disk_full, low_space, no_inodes_text
    text = str(exc)
    if full or is_disk_full(exc) or ("I/O error" in text and low_space(path.parent)):
        no_inodes = no_inodes_text(path)
        said = (f"{no_inodes}; remove some files there" if no_inodes
                else f"the disk is full ({free_space_text(path)}); free some space")
        return LedgerError(f"cannot {doing} the batch ledger {path}: {said} and run the same command again")
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return LedgerError(f"the batch ledger {path} is busy ({text}): another prosody is writing it (a batch on "
                           "the same store, or a delete); run the same command again when it has finished")
    return LedgerError(f"the batch ledger {path} is not readable ({text}); move it aside (the store itself is "
                       "unaffected; finished files are found there again)")


class Ledger:
    """``batch.sqlite`` in the store folder (0600): the hash cache, finished
    analyses (``done``: one row per content+options, with its table row), and
    a per-run log (``runs``, ``analyses``, ``failures``). Its SQLite errors are
    LedgerError (``sqlite_error``; a busy ledger was an 'internal error')."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LEDGER_NAME
        self._failed_paths: dict[str, set[int]] | None = None  # forget_failures' index, read on first use
        if self.path.is_symlink():  # its target's mode would be set, a missing one created (Store refuses it too)
            raise LedgerError(f"the batch ledger {self.path} is a symbolic link (to {os.readlink(self.path)}); "
                              "prosody does not follow links in its store: put the real file in its place")
        taken = kind_taking(self.path)
        if taken is not None:  # a folder there was given the ledger's mode, 0600, then "is not readable" (sweep 50)
            raise LedgerError(f"the batch ledger {self.path} is {taken}, not a file; the store is unchanged: move it "
                              "aside (finished files are found again from the store)")
        marked = file_mark_said(self.path, "the batch ledger")
        if marked is not None:  # was "cannot access ST/batch.sqlite: Operation not permitted" (its chmod; sweep 47)
            raise LedgerError(marked)
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(self.path, 0o600)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=LEDGER_BUSY_TIMEOUT_S, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA secure_delete=ON")  # replaced and deleted rows are zeroed on disk
            with self.db:
                cols = {r[1] for r in self.db.execute("PRAGMA table_info(hashes)")}
                if cols and "ctime_ns" not in cols:  # a ledger of an earlier version: its cache keys are too weak
                    self.db.execute("DROP TABLE hashes")
                for stmt in _LEDGER_SQL.split(";\n"):
                    if stmt.strip():
                        self.db.execute(stmt)
        except sqlite3.DatabaseError as exc:
            from ..fileio import low_space  # SQLite says a full disk on opening as a plain I/O error
            raise ledger_error(self.path, exc, doing="open", full=low_space(self.path.parent)) from None
        restrict_sqlite_sidecars(self.path)

    def sqlite_error(self, exc: sqlite3.DatabaseError) -> LedgerError:
        """A SQLite error met on the ledger, as one line (``ledger_error``; ``fileio.sqlite_errors``)."""
        return ledger_error(self.path, exc)

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, args=()) -> sqlite3.Cursor:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(sql, args)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return cur

    @sqlite_errors
    def cached_sha256(self, path: str) -> str:
        """The file's SHA-256, from the cache when its size, mtime, ctime, inode
        and device are unchanged. mtime alone is not enough: ``cp -p``, ``rsync
        -t``, ``touch -r`` and unzip put new bytes under the old size and mtime,
        but writing a file always sets its ctime (which no program can set back)
        and replacing it by a rename changes its inode. A file changed within
        the last ``RACY_S`` is hashed but not cached: a second write in the same
        clock tick would leave even its ctime unchanged."""
        real = os.path.realpath(path)
        st = os.stat(real)
        key = (real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        if not all(-2 ** 63 <= v < 2 ** 63 for v in key[1:]):  # a time past 2262 (in ns), a 64-bit inode or device
            return file_sha256(real)  # beyond SQLite's INTEGER (each such file failed: an internal error)
        row = self.db.execute("SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ? "
                              "AND ctime_ns = ? AND inode = ? AND device = ?", key).fetchone()
        if row:
            return row[0]
        digest = file_sha256(real)
        if time.time_ns() - st.st_ctime_ns > RACY_S * 1e9:
            self._write("INSERT OR REPLACE INTO hashes (path, size, mtime_ns, ctime_ns, inode, device, sha256) "
                        "VALUES (?,?,?,?,?,?,?)", (*key, digest))
        else:  # a cache entry of an older state of this path must not outlive it
            self._write("DELETE FROM hashes WHERE path = ?", (real,))
        return digest

    @sqlite_errors
    def start_run(self, backend: str, n_jobs: int) -> int:
        return self._write("INSERT INTO runs (started_at, backend, n_jobs) VALUES (?,?,?)",
                           (_now(), backend, n_jobs)).lastrowid

    @sqlite_errors
    def finish_run(self, run_id: int, *, analysed: int, skipped: int, failed: int) -> None:
        self._write("UPDATE runs SET finished_at=?, n_analysed=?, n_skipped=?, n_failed=? WHERE id=?",
                    (_now(), analysed, skipped, failed, run_id))

    @sqlite_errors
    def done_row(self, content: str, options: str) -> tuple[int, dict] | None:
        row = self.db.execute("SELECT session_id, row FROM done WHERE content_sha256=? AND options_sha256=?",
                              (content, options)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    @sqlite_errors
    def record_done(self, run_id: int | None, content: str, options: str, *, uid: str, session_id: int,
                    files: tuple[str, ...], row: dict, result: TaskResult | None = None) -> None:
        now = _now()
        files_text = json.dumps(list(files))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR REPLACE INTO done (content_sha256, options_sha256, uid, session_id, files, "
                            "row, run_id, finished_at) VALUES (?,?,?,?,?,?,?,?)",
                            (content, options, uid, session_id, files_text, json.dumps(row), run_id, now))
            if result is not None:
                self.db.execute("INSERT INTO analyses (run_id, files, content_sha256, options_sha256, session_id, "
                                "duration_s, cpu_s, wall_s, peak_rss_mb, worker, finished_at) "
                                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                (run_id, files_text, content, options, session_id, row.get("duration_s"),
                                 result.cpu_s, result.wall_s, result.peak_rss_mb, result.worker, now))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @sqlite_errors
    def forget_failures(self, files: tuple[str, ...]) -> None:
        """Drop the failures logged for ``files`` (by path or resolved path): the file went through
        later (analysed, already done, or found the duplicate of a session), so its old failure says
        nothing now; and its path would outlive ``prosody delete`` of that session."""
        if self._failed_paths is None:  # path -> rowids, read once (a re-run skips thousands)
            self._failed_paths = {}
            for rowid, f in self.db.execute("SELECT rowid, files FROM failures"):
                for x in json.loads(f):
                    for n in {x, os.path.realpath(x)}:
                        self._failed_paths.setdefault(n, set()).add(rowid)
        if not self._failed_paths:
            return
        gone = sorted({r for f in files for n in {f, os.path.realpath(f)} for r in self._failed_paths.pop(n, ())})
        if gone:
            self.db.execute("PRAGMA secure_delete=ON")
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("DELETE FROM failures WHERE rowid = ?", [(r,) for r in gone])
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    @sqlite_errors
    def record_failure(self, run_id: int, files: tuple[str, ...], reason: str) -> None:
        cur = self._write("INSERT INTO failures (run_id, files, reason, at) VALUES (?,?,?,?)",
                          (run_id, json.dumps(list(files)), reason, _now()))
        if self._failed_paths is not None:
            for x in files:
                for n in {x, os.path.realpath(x)}:
                    self._failed_paths.setdefault(n, set()).add(cur.lastrowid)

    @sqlite_errors
    def analyses(self, run_id: int | None = None) -> list[dict]:
        """Completed analyses (all runs, or one), oldest first."""
        q = "SELECT run_id, files, content_sha256, session_id, duration_s, cpu_s, wall_s, peak_rss_mb, worker " \
            "FROM analyses" + (" WHERE run_id = ?" if run_id is not None else "") + " ORDER BY rowid"
        keys = ("run_id", "files", "content_sha256", "session_id", "duration_s", "cpu_s", "wall_s", "peak_rss_mb",
                "worker")
        out = []
        for r in self.db.execute(q, (run_id,) if run_id is not None else ()):
            d = dict(zip(keys, r))
            d["files"] = tuple(json.loads(d["files"]))
            out.append(d)
        return out


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


@contextlib.contextmanager
def forgetting_session(store_path: str | os.PathLike, session_id: int, uid: str | None,
                       audio: Iterable[tuple] = (), *, unerased: list | None = None):
    """Erase every trace of a deleted session from the batch ledger: its
    ``done`` and ``analyses`` rows, the cached hashes of its files and of any
    other path holding the same audio (a copy found as its duplicate), and any
    failures logged for those paths (file paths often carry a client's name), zeroed
    on disk (``secure_delete``), the WAL checkpointed and truncated.

    ``prosody delete`` deletes the session from the store inside this block: the ledger's
    rows are deleted (its write lock taken) on entering, and committed only when the
    block ends without an error. A ledger that cannot be changed (busy with a batch,
    damaged: LedgerError on entering) deletes nothing, and neither does a store that
    cannot be (a full disk: the ledger's change is rolled back), so the same delete can be
    run again; the ledger changed first and committed alone, a failed store delete left a
    session whose ledger rows were gone (and the batch table's note with them). A commit
    that fails after the store's (a disk filled meanwhile, a kill between) leaves the
    rows, which ``prosody delete ID`` then erases (``uid`` None: by session ID alone).

    ``audio``: (absolute path, SHA-256 or None, ...) of the recordings the session's stored document names
    (``Store.audio_files``): a batch records its files as typed (``batch .`` run in the client's
    folder: ``C7_s3.wav``), the hash cache by absolute path, so the cached path of a file typed
    relative was kept when the delete ran in another folder (hostile sweep 32).

    ``unerased``: the ledger's path is appended where another connection's read kept the zeroed pages from the
    file (its checkpoint busy: "deleted session 1" was said with the session's file paths, a client's name, still
    in batch.sqlite; hostile sweep 56), as ``Store.delete`` does for the database; the next open of the store
    checkpoints it (``Store._settle_ledger_log``).

    Yields whether a batch had analysed it: its row is then in the per-session tables
    that batch wrote (``--table``), files this function does not know."""
    path = Path(store_path) / LEDGER_NAME
    # a folder at its name holds no ledger: the delete was refused, "is not readable" (hostile sweep 50)
    if not path.exists() or kind_taking(path) is not None:
        yield False
        return
    marked = file_mark_said(path, "the batch ledger")
    if marked is not None:  # was "... is not readable (attempt to write a readonly database); move it aside"
        raise LedgerError(f"session {session_id} was not deleted: {marked}")
    try:
        db = sqlite3.connect(str(path), timeout=LEDGER_BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise LedgerError(f"session {session_id} was not deleted: "
                          f"{ledger_error(path, exc, doing='open')}") from None
    try:
        try:
            db.execute("PRAGMA secure_delete=ON")
            db.execute("BEGIN IMMEDIATE")  # first: what is read below cannot change before the commit
            tabled = _erase_ledger_rows(db, session_id, uid, audio)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"session {session_id} was not deleted: "
                              f"{ledger_error(path, exc, doing='change')}") from None
        try:
            yield tabled
        except BaseException:
            db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"session {session_id} was deleted from the store, but its rows in the batch ledger "
                              f"(file paths) are still there: {ledger_error(path, exc, doing='change')} "
                              f"(`prosody delete {session_id}` erases them)") from None
        if busy and unerased is not None:
            unerased.append(path)
    finally:
        db.close()


def _erase_ledger_rows(db: sqlite3.Connection, session_id: int, uid: str | None,
                       audio: Iterable[tuple] = ()) -> bool:
    """The ledger's rows of a session deleted (in the caller's transaction): done, analyses, the hashes of its
    files (``audio``: as the store names them, see ``forgetting_session``) and of every path that held the
    same audio, the failures logged for those paths. Returns whether a batch had analysed it."""
    audio = tuple(audio)
    files: set[str] = {path for path, *_ in audio}
    shas = {sha for _, sha, *_ in audio if sha}
    tabled = False
    for f, content in db.execute("SELECT files, content_sha256 FROM done WHERE session_id = ? OR uid = ? "
                                 "UNION ALL SELECT files, content_sha256 FROM analyses WHERE session_id = ?",
                                 (session_id, uid, session_id)):
        files.update(json.loads(f))
        shas.add(content)  # a one-file job's content is its file's hash (any cwd finds it; two files' is neither's)
        tabled = True
    names = files | {os.path.realpath(f) for f in files}
    # and every other path whose content was the same recording (a copy found as a duplicate of this
    # session: its path is in no done or analyses row, but in the hash cache and perhaps in a failure
    # logged when that path held something else)
    shas |= {s for n in names for (s,) in db.execute("SELECT sha256 FROM hashes WHERE path = ?", (n,))}
    names |= {p for s in shas for (p,) in db.execute("SELECT path FROM hashes WHERE sha256 = ?", (s,))}
    names |= {os.path.realpath(n) for n in names}
    db.execute("DELETE FROM done WHERE session_id = ? OR uid = ?", (session_id, uid))
    db.execute("DELETE FROM analyses WHERE session_id = ?", (session_id,))
    db.executemany("DELETE FROM hashes WHERE path = ?", [(n,) for n in names])
    gone = [rowid for rowid, f in db.execute("SELECT rowid, files FROM failures")
            if names & set(json.loads(f)) or names & {os.path.realpath(x) for x in json.loads(f)}]
    db.executemany("DELETE FROM failures WHERE rowid = ?", [(r,) for r in gone])
    return tabled


def ledger_holds(store_path: str | os.PathLike, session_id: int) -> bool:
    """Whether the batch ledger still has rows of session ``session_id`` (one deleted from the
    store whose ledger commit failed, see ``forgetting_session``)."""
    path = Path(store_path) / LEDGER_NAME
    if not path.exists():
        return False
    try:
        from urllib.parse import quote  # a folder named with ? or # is still that folder
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=LEDGER_BUSY_TIMEOUT_S)
    except sqlite3.Error:
        return False
    try:
        return db.execute("SELECT 1 FROM done WHERE session_id = ? UNION ALL SELECT 1 FROM analyses "
                          "WHERE session_id = ? LIMIT 1", (session_id, session_id)).fetchone() is not None
    except sqlite3.DatabaseError:
        return False
    finally:
        db.close()


# -- the per-session table ----------------------------------------------------------------------------------------
def session_row(doc: dict, *, session_id: int, uid: str, files: tuple[str, ...], content: str, options: str,
                meta: SessionMeta) -> dict:
    """One row of the per-session table (``TABLE_COLUMNS``): identity, files
    (``duplicate_of``: None here; see ``_row_for``), hashes,
    duration, metadata, then per role (therapist, client) the speaker summary of
    ``doc["speakers"]`` and ``doc["measures"]["timing"]``, and the warmth score.
    Values are those of the document, unchanged (``prosody analyze --json``)."""
    from ..session import layout_named
    from ..store.db import speaker_roles
    row = {"session_id": session_id, "uid": uid, "file": files[0], "file2": files[1] if len(files) > 1 else None,
           "duplicate_of": None,
           "content_sha256": content, "options_sha256": options, "duration_s": doc.get("duration_s"),
           "speakers": LIST_SEPARATOR.join(doc.get("speaker_order") or []),
           "turn_taking": bool(doc.get("turn_taking")), "therapist": meta.therapist, "client": meta.client,
           "recorded_at": meta.recorded_at, "session_number": meta.session_number,
           "tags": LIST_SEPARATOR.join(meta.tags) or None, "n_warnings": len(doc.get("warnings") or [])}
    measures = doc.get("measures") if isinstance(doc.get("measures"), dict) else {}
    timing = measures.get("timing") if isinstance(measures.get("timing"), dict) else {}
    by_role = {role: spk for spk, role in speaker_roles(doc.get("speaker_order") or []).items()}
    for role in ROLES:
        spk = by_role.get(role)
        stats = (doc.get("speakers") or {}).get(spk) or {}
        tim = timing.get(spk) if isinstance(timing.get(spk), dict) else {}
        for c in ROW_SPEAKER_COLUMNS:
            row[f"{role}.{c}"] = stats.get(c)
        for c in ROW_TIMING_COLUMNS:
            row[f"{role}.{c}"] = tim.get(c)
    warmth = measures.get("warmth")
    row["warmth_score"] = warmth.get("score") if isinstance(warmth, dict) else None
    row["network_delay_ms"] = measures.get("network_delay_ms") or None
    client = timing.get(by_role.get("client")) if isinstance(timing.get(by_role.get("client")), dict) else {}
    row["client.gap_median_corrected_s"] = client.get("gap_median_corrected_s") if row["network_delay_ms"] else None
    row["layout"] = layout_named(doc)
    return row


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def table_paths(stem: str | os.PathLike) -> tuple[Path, Path]:
    """(CSV, Parquet) paths for a table stem; a .csv or .parquet suffix is dropped. InputError for a
    stem with no file name ("", ".", "/", "dir/")."""
    if not str(stem).strip() or not Path(stem).name or Path(stem).name in (".", "..") or str(stem).endswith(os.sep):
        raise InputError(f"--table {str(stem)!r}: give a file name (a stem such as results: results.csv and "
                         "results.parquet are written)")
    if str(stem).strip() == "-":  # wrote "-.csv" and "-.parquet" where it ran, after the whole batch
        raise InputError("--table -: this output cannot go to stdout; give a file name (a stem such as "
                         "results: results.csv and results.parquet are written)")
    p = Path(stem)
    if p.suffix.lower() in (".csv", ".parquet"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".csv"), p.with_name(p.name + ".parquet")


def is_table_file(path) -> bool:
    """``path`` holds a per-session table ``write_table`` wrote (the CSV by its header row, the Parquet by its
    columns), which a batch may write again without --overwrite (each run writes its table anew)."""
    from ..fileio import file_head
    headers = ([c for c, _ in TABLE_COLUMNS], list(_TABLE_NAMES_BEFORE_LAYOUT), list(_TABLE_NAMES_BEFORE_DELAY))
    if str(path).endswith(".csv"):
        return any(file_head(path, len(h)) == h.encode("ascii") for h in (",".join(n) + "\r\n" for n in headers))
    if not parquet_available():
        return False
    import pyarrow.parquet as pq
    try:
        return pq.read_schema(path).names in headers
    except (OSError, ValueError):  # not Parquet, or not readable: not a table prosody wrote
        return False


def _table_listing(path: str | os.PathLike) -> list[tuple] | None:
    """What each row of the table ``write_table`` wrote at ``path`` lists (a CSV, or a Parquet where pyarrow is
    installed): (its session's uid, (file, file2)); None where ``path`` holds no such table or cannot be read."""
    try:
        if not is_table_file(path):
            return None
        if str(path).endswith(".csv"):
            rows = read_table_csv(path)
        else:
            import pyarrow.parquet as pq
            rows = pq.read_table(path, columns=["uid", "file", "file2"]).to_pylist()
        return [(r["uid"], (r["file"], r["file2"])) for r in rows]
    except (OSError, ValueError, KeyError, csv.Error):  # cut short, not UTF-8, a row of the wrong shape
        return None


def tables_kept(stem: str | os.PathLike, rows: list[dict], *, parquet: bool = True) -> list[Path]:
    """Of the files the table of ``rows`` would be written to at ``stem`` (``table_paths``), those it must not
    replace: a table with a row of a session and recording it lists neither of (another batch's table, or this
    batch's before it failed whole: hostile sweep 42), or no table ``write_table`` wrote as it is now (a file made
    there while the batch ran; a table edited by hand since: ``_untouched_table``, hostile sweep 43). The same
    batch run again lists each recording again (to go on, with files added, with other options or a file changed,
    whose sessions are new) or each session (the same files under other names)."""
    uids, files = {r["uid"] for r in rows}, {(r["file"], r["file2"]) for r in rows}
    kept = []
    for path in table_paths(stem)[:2 if parquet else 1]:
        if not os.path.lexists(path):
            continue
        listed = _table_listing(path) if _untouched_table(path) else None
        if listed is None or any(uid not in uids and pair not in files for uid, pair in listed):
            kept.append(path)
    return kept


def _untouched_table(path: Path) -> bool:
    """Whether the table at ``path`` holds exactly what a batch wrote there (its record, ``TABLE_MARK``, and the
    SHA-256 of its bytes: ``fileio.own_output``): one edited by hand since, a copy, or one written before tables
    were marked (2026-12-06) is the user's, kept (hostile sweep 43). Where the file system keeps no such record
    (vfat), a table is told by what it lists alone, as before."""
    return own_output(path).get("table") == TABLE_MARK["table"] or not marks_kept(path)


def table_beside(stem: str | os.PathLike, *, parquet: bool = True) -> Path:
    """A stem beside ``stem`` whose table files are all free (``results`` -> ``results.kept-1``, the first ``N``
    free: ``fileio.beside_names``, room kept for ``.parquet``), for a table ``tables_kept`` says may not replace
    the one at ``stem``. FileExistsError where all are taken."""
    base = table_paths(stem)[0].with_suffix("")
    for name in beside_names(base, ".parquet"):
        other = name.with_suffix("")
        if not any(os.path.lexists(p) for p in table_paths(other)[:2 if parquet else 1]):
            return other
    raise FileExistsError(errno.EEXIST, f"{KEPT_BESIDE_TRIES} names beside it are taken", str(base))


def write_table(rows: list[dict], stem: str | os.PathLike, *, parquet: bool = True,
                new_only: bool = False) -> list[Path]:
    """Write the per-session table as ``STEM.csv`` (floats written so that they
    read back exactly; empty cell = no value; text that a spreadsheet would run
    as a formula, such as a therapist typed as ``=HYPERLINK(...)``, gets a
    leading ``'``: ``typed_text.spreadsheet_cell``) and, when ``parquet``,
    ``STEM.parquet`` (typed columns, nulls). Owner-only, atomic. Raises
    BatchError when Parquet is asked for and pyarrow is missing (the CSV is
    written first)."""
    from ..fileio import write_private
    csv_path, pq_path = table_paths(stem)
    if not csv_path.resolve().parent.is_dir():
        raise InputError(f"cannot write {csv_path}: folder {csv_path.resolve().parent} does not exist")
    names = [c for c, _ in TABLE_COLUMNS]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180: a CR or LF in a file name is quoted, not a row break
    w.writerow(names)
    for r in rows:
        w.writerow(["" if r.get(c) is None else (repr(float(r[c])) if t == "float" else
                                                  int(r[c]) if t in ("int", "bool") else spreadsheet_cell(str(r[c])))
                    for c, t in TABLE_COLUMNS])
    write_private(csv_path, buf.getvalue(), new_only=new_only, whose=TABLE_MARK)
    written = [csv_path]
    if parquet:
        if not parquet_available():
            raise BatchError(f"wrote {csv_path}; the Parquet table needs pyarrow, which is not installed: "
                             "pip install 'prosody[parquet]' (or pip install pyarrow), or pass --no-parquet")
        import pyarrow as pa
        import pyarrow.parquet as pq
        types = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}
        conv = {"int": int, "float": float, "str": str, "bool": bool}
        table = pa.table({c: pa.array([None if r.get(c) is None else conv[t](r[c]) for r in rows], types[t])
                          for c, t in TABLE_COLUMNS})
        write_private(pq_path, lambda f: pq.write_table(table, f), new_only=new_only, whose=TABLE_MARK)
        written.append(pq_path)
    return written


def read_table_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of a table written by ``write_table``, typed as ``TABLE_COLUMNS`` say
    (text as it was typed: the spreadsheet guard taken off)."""
    conv = {"int": int, "float": float, "str": from_spreadsheet_cell, "bool": lambda s: bool(int(s))}
    types = dict(TABLE_COLUMNS)
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: (None if v == "" else conv[types.get(k, "str")](v)) for k, v in r.items()}
                for r in csv.DictReader(f)]


# -- planning -------------------------------------------------------------------------------------------------------


@dataclass
class Planned:
    job: Job
    task: Task
    content: str
    options: str
    uid: str
    duration_s: float              # from the header; 0 when unknown
    audio_files: tuple[dict, ...] = ()  # doc["audio"]["files"]: path (resolved), sha256, bytes of each file
    states: tuple = ()              # fileio.input_state of each file before it was hashed: checked after its analysis


@dataclass(frozen=True)
class BatchEvent:
    """Progress, for the caller to show. ``kind``: ``checking`` (planning job
    ``index`` of ``total``), ``planned`` (``total`` jobs, ``todo`` to analyse,
    ``todo_audio_s``), ``skipped``, ``done``, ``failed``; on a Dask cluster
    ``no_workers`` (it has had no worker for a while: ``reason`` says it) and
    ``workers_back`` (it has some again, after ``no_workers``)."""

    kind: str
    label: str = ""
    index: int = 0
    total: int = 0
    todo: int = 0
    todo_audio_s: float = 0.0
    duration_s: float = 0.0
    session_id: int | None = None
    reason: str = ""
    warnings: tuple[str, ...] = ()


@dataclass
class BatchReport:
    run_id: int
    n_jobs: int
    analysed: list[tuple[str, int]] = field(default_factory=list)   # (label, session id)
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (label, why): already done before this run
    duplicates: list[tuple[str, str, int]] = field(default_factory=list)  # (label, first label, session id):
    #                                    the same audio and options as an earlier file of this run, analysed once
    failed: list[tuple[str, str]] = field(default_factory=list)     # (label, one-line reason)
    meta_kept: list[tuple[str, int, tuple[str, ...]]] = field(default_factory=list)  # (label, session id, fields):
    #                                    skipped, and the metadata typed for it now differs from the store's
    rows: list[dict] = field(default_factory=list)                  # the table: a row per job not failed, in order
    audio_s: float = 0.0           # audio analysed in this run
    wall_s: float = 0.0
    cpu_s: float = 0.0             # workers' CPU on analyses in this run
    peak_rss_mb: dict[str, float] = field(default_factory=dict)     # worker -> peak resident MB
    backend: str = ""


# -- running ------------------------------------------------------------------------------------------------------
WORKER_GONE_UNHEARD_S = 2.0  # a local worker dead this long with its pool not broken: the pool's thread is stuck


def _pool_parts(pool):
    """A ``ProcessPoolExecutor``'s worker processes, its own thread and its result pipe's write end in this
    process (the executor's private attributes, each taken where present: None or [] where not)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    return procs, manager, writer


def _cut_loose(procs, writer) -> None:
    """The pool's result pipe's write end here closed and its workers terminated (killed after 5 s).

    A worker killed while it sends a result (megabytes of frames; SIGKILL, the OOM killer) leaves the pool's
    thread waiting for the rest of the message on a pipe whose write end this process and the other workers
    hold: it would wait for ever, no future would end, and the interpreter joins that thread at exit. With every
    write end closed, the cut message reads as the pipe's end and the pool breaks as on any crash."""
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass
    for p in procs:
        try:
            p.terminate()
        except Exception:
            pass
    for p in procs:
        p.join(timeout=5.0)
        if p.is_alive():
            p.kill()
            p.join(timeout=1.0)


class _PoolWatch:
    """Whether a local pool's worker died unheard: the pool's thread notices a dead worker at once (the pool
    breaks, its futures fail) unless it is reading a result that worker was sending (hostile sweep 27: a batch
    of 16 one-minute files, a worker SIGKILLed while it wrote its result, 4 of 4 runs still waiting 120 s on).
    A worker found dead for ``WORKER_GONE_UNHEARD_S`` with the pool not broken: the pool is cut loose
    (``_cut_loose``), and breaks."""

    def __init__(self, pool):
        self.pool = pool
        self.dead_since: float | None = None

    def check(self) -> None:
        procs, _, writer = _pool_parts(self.pool)
        if getattr(self.pool, "_broken", False) or not any(p.exitcode is not None for p in procs):
            self.dead_since = None
            return
        now = time.monotonic()
        if self.dead_since is None:
            self.dead_since = now
        elif now - self.dead_since >= WORKER_GONE_UNHEARD_S:
            _cut_loose(procs, writer)


class _LocalBackend:
    def __init__(self, jobs: int):
        import concurrent.futures as cf
        import multiprocessing as mp
        self._cf = cf
        self.jobs = jobs
        self.window = 2 * jobs
        self.name = f"{jobs} local process{'es' if jobs != 1 else ''}"
        # spawn: workers do not inherit this process's open databases, threads or locks
        self._ctx = mp.get_context("spawn")
        self.pool = self._new_pool(jobs)
        self.pool_watch = _PoolWatch(self.pool)

    def _new_pool(self, jobs: int):
        with _spawned_ignoring_ctrl_c():  # its queues start multiprocessing's resource tracker
            return self._cf.ProcessPoolExecutor(max_workers=jobs, mp_context=self._ctx, initializer=_worker_init)

    def submit(self, task: Task):
        """The task's future; failed with ``BrokenProcessPool`` where the pool broke since it was last looked at
        (a worker died while this process saved a result: the submit raised it, and the batch ended as an
        internal error), so that the task runs alone with those in flight, as on any crash."""
        from concurrent.futures.process import BrokenProcessPool
        try:
            with _spawned_ignoring_ctrl_c():  # a submit may start a worker
                return self.pool.submit(analyze_task, task)
        except BrokenProcessPool as exc:
            future = self._cf.Future()
            future.set_exception(exc)
            return future

    def warm(self) -> None:
        """Start every worker and import the engine in it (about a second each)."""
        with _spawned_ignoring_ctrl_c():
            for _ in range(self.jobs):
                self.pool.submit(_warm)

    def wait(self, futures, timeout: float, *, watch: _PoolWatch | None = None):
        """The futures of ``futures`` done within ``timeout`` seconds (a set, maybe empty); where none is, the
        pool (``watch``'s, by default the batch pool's) looked at for a worker that died unheard."""
        done = self._cf.wait(futures, timeout=timeout, return_when=self._cf.FIRST_COMPLETED).done
        if not done:
            (watch or self.pool_watch).check()
        return done

    def is_crash(self, exc: BaseException) -> bool:
        from concurrent.futures.process import BrokenProcessPool
        return isinstance(exc, BrokenProcessPool)

    def restart(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool(self.jobs)
        self.pool_watch = _PoolWatch(self.pool)

    def run_alone(self, task: Task, *, stop: Callable[[], None] | None = None) -> TaskResult:
        """Run one task in its own fresh process: which of the tasks in flight killed the pool? ``stop``: called
        at each look while it runs; what it raises (``BatchStopped``) ends the lone process and goes on up (a
        Ctrl-C there waited for every file that was in flight, each analysed alone: 10.5 s for four 5-minute
        files, hostile sweep 29)."""
        pool = self._new_pool(1)
        try:
            result = self._alone_in(pool, task, stop)
        except BaseException:
            _stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        return result

    def _alone_in(self, pool, task: Task, stop: Callable[[], None] | None) -> TaskResult:
        try:
            with _spawned_ignoring_ctrl_c():
                future = pool.submit(analyze_task, task)
            watch = _PoolWatch(pool)
            while not self.wait((future,), STOP_POLL_S, watch=watch):
                if stop is not None:
                    stop()
            return future.result()
        except self._cf.process.BrokenProcessPool:
            return TaskResult(ok=False, reason="the analysing process died on it (a crash in a decoder, "
                                               "or out of memory)")

    def close(self, *, cancel: bool = False) -> None:
        if not cancel:
            self.pool.shutdown(wait=True)
            return
        _stop_pool(self.pool)


def _stop_pool(pool) -> None:
    """A local pool stopped (Ctrl-C, SIGTERM): its workers terminated, not left blocked on a queue (a worker
    terminated while it sends a result: a stopped batch that said so and never ended; ``_cut_loose``)."""
    procs, manager, writer = _pool_parts(pool)  # shutdown() forgets them: taken first
    pool.shutdown(wait=False, cancel_futures=True)
    _cut_loose(procs, writer)
    # the pool's own thread sees its workers gone and ends; the interpreter joins it at exit
    if manager is not None:
        manager.join(timeout=5.0)


class _SchedulerLost(BatchError):
    """The Dask client lost its scheduler (stopped, killed, the network gone): Dask cancels every task in
    flight. ``run_batch`` says it in one line with what was saved."""


class _DaskBackend:
    """A connection to the Dask scheduler at ``address`` (``connect_scheduler``); BatchError in one line when
    there is none to be had. ``close`` is safe to call twice."""

    def __init__(self, address: str):
        self.address = address
        self._closed = False
        try:
            import distributed
        except ImportError:
            raise BatchError("--scheduler needs Dask's distributed scheduler client, which is not installed: "
                             "pip install 'prosody[dask]' (or pip install 'dask[distributed]')") from None
        self._distributed = distributed
        _check_reachable(address)
        _check_handshake(address)
        try:
            self.client = distributed.Client(address, set_as_default=False, timeout=f"{SCHEDULER_TIMEOUT_S:g}s")
        except Exception as exc:  # noqa: BLE001 - a scheduler that answered the probe and then failed
            raise BatchError(_unreachable(address, "the client could not connect", exc)) from None
        import logging
        # the client's own log of a lost scheduler (its reconnection, then a traceback from closing while it
        # reconnects) reached the terminal beside prosody's one line; restored on close
        self._log = logging.getLogger("distributed.client")
        self._log_level = self._log.level
        self._log.setLevel(logging.CRITICAL)
        threads = sum(self.client.nthreads().values())
        self.window = 2 * max(threads, 1)
        self.name = f"Dask at {address} ({threads} worker thread{'s' if threads != 1 else ''})"
        self._pause = None
        try:  # the workers' 10 ms stack sampler costs CPU on every file and tells nothing here (batch/dask_plugin.py)
            from .dask_plugin import pause_profiler
            self._pause = pause_profiler(self.client)
        except Exception:  # an older or locked-down cluster: run with the profiler on, results are the same
            self._pause = None

    def submit(self, task: Task):
        return self.client.submit(analyze_task, task, pure=False)

    def wait(self, futures, timeout: float):
        import asyncio
        import concurrent.futures as cf
        with self.client.as_current():  # not the process-wide default client: this one
            try:
                return self._distributed.wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                return set()
            except (asyncio.CancelledError, cf.CancelledError):  # Dask's FuturesCancelledError among them
                if self.client.status == "running":
                    raise
                raise _SchedulerLost(f"lost the connection to the Dask scheduler at {self.address} (it stopped, "
                                     "or the network between failed): its tasks are gone") from None

    def is_crash(self, exc: BaseException) -> bool:
        return False  # Dask retries lost work itself and then raises KilledWorker for that task alone

    def restart(self) -> None:
        pass

    def run_alone(self, task: Task, *, stop: Callable[[], None] | None = None) -> TaskResult:
        return analyze_task(task)  # never asked: Dask's crashes are not the pool's (``is_crash``)

    def threads(self) -> int | None:
        """The worker threads the cluster has now, as its scheduler says; None when it does not answer within
        ``SCHEDULER_ANSWER_S`` (``scheduler_info`` waited for ever on a frozen scheduler, and the batch with it,
        Ctrl-C too: hostile sweep 27)."""
        try:
            self.client.sync(self.client._update_scheduler_info, n_workers=0, callback_timeout=SCHEDULER_ANSWER_S)
            return int(self.client._scheduler_identity.get("total_threads", 0))
        except Exception:  # noqa: BLE001 - a lost or frozen scheduler: its futures fail, said per file
            return None

    def close(self, *, cancel: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._close(cancel=cancel)
        finally:
            self._log.setLevel(self._log_level)

    def _close(self, *, cancel: bool) -> None:
        # a frozen scheduler (one that does not answer: threads() None) is asked nothing more, and the client's
        # close is waited for SCHEDULER_ANSWER_S at most: both waited for ever on it (hostile sweep 27)
        if self._pause is not None and self.threads() is not None:
            try:
                from .dask_plugin import resume_profiler
                resume_profiler(self.client, self._pause)
            except Exception:  # a lost scheduler: nothing to restore there
                pass
        try:
            self.client.close(timeout=SCHEDULER_ANSWER_S)
        except Exception:  # noqa: BLE001 - a frozen scheduler's close timed out: the connection is left
            pass


# what a spell without workers / without the scheduler's answer is said in: (stopped, how to go on, warned),
# formatted with the scheduler's address, the spell's length and the files waiting
_NO_WORKERS_WORDS = ("the Dask cluster at {address} has had no workers for {gone}",
                     "start the cluster's workers and run the same command again",
                     "the Dask cluster at {address} has no workers (none for {gone}): {files} wait for one; the "
                     "batch stops if none come within")
_UNANSWERED_WORDS = ("the Dask scheduler at {address} has not answered for {gone}",
                     "run the same command again once the scheduler answers",
                     "the Dask scheduler at {address} has not answered for {gone} (frozen, or the network between "
                     "down?): {files} wait; the batch stops if it does not answer within")


class _WorkerWatch:
    """Whether a Dask cluster still has workers while files wait on it. With every worker gone (stopped,
    killed, scaled to zero) the client waited without a word for ever. A cluster may get workers again (a
    restart, an autoscaler, a job queue), so it is said, not ended, at first: after ``NO_WORKERS_WARN_S``
    without a worker (at half ``limit_s`` where that is shorter) a ``no_workers`` event, ``workers_back`` when
    some return; after ``limit_s`` the batch stops (BatchError), every finished file saved. Asked every
    ``WORKER_POLL_S``; an unanswered question (None) neither starts nor ends a spell without workers."""

    def __init__(self, backend, address: str, *, limit_s: float):
        self.backend, self.address, self.limit_s = backend, address, limit_s
        self.asked = -float("inf")
        self.since: float | None = None  # when the cluster was first seen without a worker, this spell
        self.said = False
        self.unanswered_since: float | None = None  # when the scheduler first left the question unanswered
        self.said_unanswered = False

    def check(self, emit, *, waiting: int, saved: int) -> None:
        now = time.monotonic()
        if now - self.asked < WORKER_POLL_S:
            return
        self.asked = now
        threads = self.backend.threads()
        if threads is None:
            self._unanswered(emit, now, waiting=waiting, saved=saved)
            return
        self._answered(emit)
        if threads > 0:
            self._back(emit, threads)
            return
        if self.since is None:
            self.since = now
        self.said = self._warn_or_stop(emit, _NO_WORKERS_WORDS, now - self.since, self.said, waiting=waiting,
                                       saved=saved)

    def _warn_or_stop(self, emit, words: tuple[str, str, str], gone_s: float, said: bool, *, waiting: int,
                      saved: int) -> bool:
        """A spell of ``gone_s``, said in ``words`` (``_NO_WORKERS_WORDS`` or ``_UNANSWERED_WORDS``): from
        ``limit_s`` on, BatchError; once from ``NO_WORKERS_WARN_S`` (half ``limit_s`` where that is shorter), the
        ``no_workers`` event. Returns whether the spell is said."""
        files = f"{waiting} recording{'s' if waiting != 1 else ''}"
        stopped, go_on, warned = (w.format(address=self.address, gone=_span(gone_s), files=files) for w in words)
        if gone_s >= self.limit_s:
            raise BatchError(f"{stopped}: stopped; {_kept_and_left(saved, files)}; {go_on} to continue where it "
                             "stopped (--wait-for-workers sets how long to wait)")
        if gone_s >= min(NO_WORKERS_WARN_S, self.limit_s / 2) and not said:
            emit(BatchEvent("no_workers", reason=f"{warned} {_span(self.limit_s)} (finished files are kept), "
                                                 "Ctrl-C stops it now"))
            return True
        return said

    def _unanswered(self, emit, now: float, *, waiting: int, saved: int) -> None:
        """The scheduler left the question unanswered, nothing came back: a loaded scheduler answers later, a
        frozen one (SIGSTOPped, hung) never did, and the batch waited on it for ever in silence (hostile sweep
        27). Said after ``NO_WORKERS_WARN_S`` (half ``limit_s`` where shorter), stopped after ``limit_s``."""
        if self.unanswered_since is None:
            self.unanswered_since = now
        self.said_unanswered = self._warn_or_stop(emit, _UNANSWERED_WORDS, now - self.unanswered_since,
                                                  self.said_unanswered, waiting=waiting, saved=saved)

    def _answered(self, emit) -> None:
        """The scheduler answers (or files came back): a spell without its answer over, said where it was said."""
        if self.said_unanswered:
            emit(BatchEvent("workers_back", reason=f"the Dask scheduler at {self.address} answers again; the batch "
                            "goes on"))
        self.unanswered_since, self.said_unanswered = None, False

    def results_came(self, emit) -> None:
        """Files came back: the cluster has workers, whatever its scheduler answers now (a loaded scheduler left
        the question unanswered until both files were done, and "workers again" was never said: CI, 2026-12-05)."""
        threads = self.backend.threads() if self.said else None
        self._answered(emit)
        self._back(emit, threads if threads else None)

    def _back(self, emit, threads: int | None) -> None:
        """A spell without workers over; said where it was said (``threads``: how many, where known)."""
        if self.said:
            count = "" if threads is None else f" ({threads} thread{'s' if threads != 1 else ''})"
            emit(BatchEvent("workers_back", reason=f"the Dask cluster at {self.address} has workers again{count}; "
                            "the batch goes on"))
        self.since, self.said = None, False


def _kept_and_left(saved: int, files: str) -> str:
    """What a stopped Dask batch kept and left, in words (``files``: the recordings left, counted)."""
    return f"{saved} recording{'s' if saved != 1 else ''} finished and saved in the store, {files} not analysed"


def _span(s: float) -> str:
    """A wait, in words: '45 s', '10 min', '1 h 30 min'."""
    s = int(round(s))
    if s < 120:
        return f"{s} s"
    m = int(round(s / 60))
    return f"{m} min" if m < 120 else f"{m // 60} h" + (f" {m % 60} min" if m % 60 else "")


def connect_scheduler(address: str) -> _DaskBackend:
    """Connect to the Dask scheduler at ``address`` for ``run_batch(scheduler=...)``: done before the store
    is opened, an unreachable scheduler leaves no store folder and no batch ledger behind (it left both)."""
    return _DaskBackend(address)


def _unreachable(address: str, what: str, why) -> str:
    """The one line for a scheduler address that gave no working Dask connection."""
    why = why if isinstance(why, str) else (getattr(why, "strerror", None) or _one_line(why))
    return f"cannot reach a Dask scheduler at {address} ({what}): {why}"


def _check_handshake(address: str) -> None:
    """Within SCHEDULER_TIMEOUT_S, connect and ask the scheduler who it is, on a
    loop of our own: an endpoint that is silent, answers garbage (an HTTP
    server) or is not a scheduler fails here in one line, before a
    ``distributed.Client`` is made (its own timeout does not cover a silent
    handshake, and its failed construction leaves a client whose ``__del__``
    waits again and prints)."""
    import asyncio

    from distributed.comm import connect
    from distributed.security import Security

    # the client's TLS settings from Dask's configuration, as distributed.Client takes them: without them a
    # tls:// scheduler configured as Dask documents was refused here ("TLS expects a `ssl_context` argument")
    args = Security().get_connection_args("client")
    if address.startswith("tls://") and args.get("ssl_context") is None:
        raise BatchError(_unreachable(address, "no TLS settings", "a tls:// address needs Dask's TLS client "
                                      "settings (distributed.comm.tls.ca-file, .client.cert, .client.key in Dask's "
                                      "configuration or DASK_DISTRIBUTED__COMM__TLS__... variables)")) from None

    async def identity():
        comm = await connect(address, timeout=SCHEDULER_TIMEOUT_S, **args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded():
        return await asyncio.wait_for(identity(), SCHEDULER_TIMEOUT_S)

    not_dask = "something answers there, but not as a Dask scheduler; check the address and port"
    try:
        info = asyncio.run(bounded())
    except (asyncio.TimeoutError, TimeoutError):
        raise BatchError(_unreachable(address, f"no Dask handshake within {SCHEDULER_TIMEOUT_S:g} s",
                                      not_dask)) from None
    except OSError as exc:
        raise BatchError(_unreachable(address, "the connection failed", exc)) from None
    except Exception:  # noqa: BLE001 - garbage read as Dask frames fails in many ways, none of them worth saying
        # ("MemoryError: Unable to allocate 2.82 EiB for an array ...", "ValueError: Maximum allowed dimension
        # exceeded", "error: unpack_from requires a buffer ...": an SSH server's banner read as frame sizes; hostile
        # sweep 58)
        raise BatchError(_unreachable(address, "its answer is not the Dask protocol", not_dask)) from None
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        kind = info.get("type") if isinstance(info, dict) else type(info).__name__
        raise BatchError(_unreachable(address, f"a Dask {kind} answered, not a scheduler" if isinstance(kind, str)
                                      else "an unexpected answer", "give the scheduler's address")) from None


def unencrypted_cluster_note(address: str, *, send_audio: bool) -> str | None:
    """What travels in clear to the Dask cluster at ``address``, in words, when the connection is
    plain TCP to another machine; None for ``tls://`` (or another protocol) and for this machine's
    own addresses (loopback). Each task carries the file's paths and the analysis settings (and the
    therapist's voice profile where one is used; with ``send_audio`` the file's bytes), and each
    result the whole session: who spoke when, per-frame pitch and level."""
    import ipaddress
    protocol, sep, loc = address.partition("://")
    if not sep:
        protocol, loc = "tcp", address  # Dask's default
    if protocol.lower() != "tcp":
        return None
    host = (loc.rsplit(":", 1)[0] if loc.count(":") == 1 or loc.startswith("[") else loc).strip("[]")
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: another machine, as far as anyone here can tell
    sent = "each recording's audio (--send-audio), " if send_audio else ""
    return (f"the connection to {address} is not encrypted: {sent}each file's path and the analysis of it (who "
            "spoke when, per-frame pitch and level) travel in clear between this machine and the workers; across "
            "a network you do not control use a tls:// address with Dask's TLS settings")


def _check_reachable(address: str) -> None:
    """Fail in a moment, not after the client's timeout, when nothing listens at a tcp:// address."""
    from distributed.comm import parse_address
    try:
        protocol, loc = parse_address(address)
    except ValueError as exc:
        raise BatchError(f"--scheduler {address!r} is not a scheduler address ({exc}); "
                         "e.g. tcp://10.0.0.5:8786") from None
    from distributed.comm.registry import backends
    if protocol not in backends:  # http://HOST:8787 (the dashboard's page) was said "not the Dask protocol"
        raise BatchError(f"--scheduler {address!r} is not a scheduler address: {protocol or 'no'} protocol, Dask "
                         f"speaks {', '.join(sorted(b for b in backends if b != 'inproc'))}; e.g. "
                         "tcp://10.0.0.5:8786 (the scheduler's port, not the dashboard's web page)") from None
    if protocol != "tcp":
        return
    host, _, port = loc.rpartition(":")
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        # "127.0.0.1" was said "(nothing listens there): invalid literal for int() with base 10: '127.0.0.1'",
        # a port of 99999 "nothing listens there" (hostile sweep 27)
        raise BatchError(f"--scheduler {address!r} is not a scheduler address: it needs a port (1-65535) "
                         "after the host; e.g. tcp://10.0.0.5:8786") from None
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5.0).close()
    except socket.gaierror as exc:  # a host name nobody knows: nothing to listen
        raise BatchError(_unreachable(address, "no host of that name is known here", exc)) from None
    except OSError as exc:
        raise BatchError(_unreachable(address, "nothing listens there", exc)) from None


JOBS_PER_CORE = 4  # local workers beyond this many per core only wait for the cores (and each holds a recording)


def check_n_jobs(n: int) -> None:
    """InputError unless ``n`` local worker processes is 1 to ``JOBS_PER_CORE`` x the cores: ``--jobs 1000``
    started 1,000 processes (about 70 MB each before any audio, hundreds more for an hour's recording), all
    sharing the same cores."""
    cores = os.cpu_count() or 1
    if n < 1:
        raise InputError(f"--jobs {n}: give 1 or more worker processes")
    if n > JOBS_PER_CORE * cores:
        raise InputError(f"--jobs {n}: at most {JOBS_PER_CORE * cores} worker processes here ({JOBS_PER_CORE} per "
                         f"core, {cores} core{'s' if cores != 1 else ''}): more only wait for the cores, and each "
                         f"holds a recording in memory; give --jobs {cores} (the default) or fewer")


def run_batch(jobs: list[Job], *, store, config: AnalysisConfig | None = None, measures=None, profile=None, n_jobs: int | None = None,
              scheduler: str | _DaskBackend | None = None, send_audio: bool = False, force: bool = False,
              wait_for_workers_s: float = NO_WORKERS_LIMIT_S,
              on_event: Callable[[BatchEvent], None] | None = None,
              stop: Callable[[], str | None] | None = None) -> BatchReport:
    """Analyse ``jobs`` into ``store`` (a ``prosody.store.Store``).

    ``config``: the analysis configuration (from ``--config``); each job's
    layout and pitch ranges are resolved from it by ``prosody.analysis.resolve``,
    the rules ``prosody analyze`` uses. ``measures`` / ``profile``: the
    MeasuresConfig and personal Baseline for every file. ``n_jobs``: local
    worker processes (default: the number of cores); ``scheduler``: a Dask
    scheduler address, or a ``connect_scheduler`` connection (closed here),
    instead (workers read ``paths``, or receive the bytes when ``send_audio``;
    ``wait_for_workers_s``: how long the cluster may be without a worker
    before the batch stops, ``_WorkerWatch``). ``force``: analyse again what
    is already done (the stored session is replaced, keeping its ID). ``stop``: asked between
    steps (each file planned, every STOP_POLL_S while the workers run); when
    it returns a reason, the workers are terminated and BatchStopped is raised,
    with every finished analysis saved. A signal handler that only notes the
    request keeps an exception from landing inside the pool's own code, where
    it can leave a lock held or a worker unstarted and the exit hanging.

    Never raises for a bad recording; returns a BatchReport listing each
    failure. Raises BatchError when the batch as a whole cannot run."""
    run = _BatchRun(jobs, store=store, config=config or AnalysisConfig(), measures=measures, profile=profile,
                    send_audio=send_audio, force=force, emit=on_event or (lambda e: None), stop=stop)
    try:
        run.open(scheduler, n_jobs)
        run.plan()
        if run.todo:
            run.analyse(wait_for_workers_s)
        return run.close()
    finally:
        run.release()


class _BatchRun:
    """One ``run_batch``: its ledger and run, its workers (``backend``), the report and its table rows (job index
    -> row), and what planning found: the jobs to analyse (``todo``: (index, Planned)), and the duplicates
    ((index, job, index of the first, its label): one session, a row for each file)."""

    def __init__(self, jobs: list[Job], *, store, config: AnalysisConfig, measures, profile, send_audio: bool,
                 force: bool, emit: Callable[[BatchEvent], None], stop: Callable[[], str | None] | None):
        self.jobs, self.store, self.config, self.measures, self.profile = jobs, store, config, measures, profile
        self.send_audio, self.force, self.emit, self.stop = send_audio, force, emit, stop
        self.t_start = time.perf_counter()
        self.ledger: Ledger | None = None
        self.backend = None
        self.scheduler: str | None = None
        self.n_jobs = 0
        self.completed = False
        self.report: BatchReport | None = None
        self.run_id = 0
        self.rows: dict[int, dict] = {}
        self.profiles: dict[str, object] = {}
        self.todo: list[tuple[int, Planned]] = []
        self.duplicates: list[tuple[int, Job, int, str]] = []

    def open(self, scheduler, n_jobs: int | None) -> None:
        """The workers' scheduler reached (before the ledger: an unreachable scheduler leaves none made), or the
        local worker count checked; the ledger opened and the run started in it."""
        if scheduler is not None:
            self.backend = scheduler if isinstance(scheduler, _DaskBackend) else _DaskBackend(scheduler)
            self.scheduler = self.backend.address
        else:
            self.n_jobs = n_jobs if n_jobs is not None else (os.cpu_count() or 1)
            check_n_jobs(self.n_jobs)
        self.ledger = Ledger(self.store.path)
        self.run_id = self.ledger.start_run("dask" if self.scheduler else "local", len(self.jobs))
        self.report = BatchReport(run_id=self.run_id, n_jobs=len(self.jobs))

    def release(self) -> None:
        if self.backend is not None:
            self.backend.close(cancel=not self.completed)
        if self.ledger is not None:
            self.ledger.close()

    def check_stop(self) -> None:
        reason = self.stop() if self.stop is not None else None
        if reason:
            raise BatchStopped(reason)

    def fail(self, job: Job, reason: str) -> None:
        _fail(self.report, self.ledger, self.run_id, job, reason, self.emit)

    def profile_of(self, job: Job):
        """The voice profile naming this job's therapist (``--profile``, else the therapist's own)."""
        name = job.voice_profile or job.meta.therapist
        if not name:
            return None
        if name not in self.profiles:
            from ..engine.speakers import VoiceProfile
            d = self.store.profile(name)
            if d is None and job.voice_profile:
                raise InputError(f"--profile {name}: no voice profile of that name in {self.store.path}; "
                                 "`prosody enrol --list` lists them")
            self.profiles[name] = VoiceProfile.from_dict(d) if d is not None else None
        return self.profiles[name]

    def plan(self) -> None:
        """Each job hashed, probed and resolved; a duplicate, one already done (unless ``force``) or one whose
        session number is taken is set aside; the local workers started at the first job to analyse (they
        import while the rest is planned)."""
        seen: dict[tuple[str, str], tuple[int, str]] = {}   # (content, options) -> first job index, its label
        numbered: dict[tuple, str] = {}  # (therapist, client, session number) -> the job given it, as a place
        for i, job in enumerate(self.jobs):
            self.check_stop()
            self.emit(BatchEvent("checking", job.label, index=i, total=len(self.jobs)))
            pj = self._planned(job)
            if pj is None:
                continue
            key = (pj.content, pj.options)
            if key in seen:  # the same audio and options under another name: one session, a row for each file
                first, first_label = seen[key]
                self.duplicates.append((i, job, first, first_label))
                self.emit(BatchEvent("skipped", job.label, reason=f"same recording and options as {first_label}"))
                continue
            seen[key] = (i, job.label)
            if not self.force and self._skipped_as_done(i, job, pj):
                continue
            problem = _number_problem(job, pj, self.store, numbered)
            if problem is not None:  # refused now, not found after the analysis
                self.fail(job, problem)
                continue
            self.todo.append((i, pj))
            if self.backend is None:
                self.backend = _LocalBackend(min(self.n_jobs, len(self.jobs) - i))
                self.backend.warm()
        self.emit(BatchEvent("planned", total=len(self.jobs), todo=len(self.todo),
                             todo_audio_s=sum(pj.duration_s for _, pj in self.todo)))

    def _planned(self, job: Job) -> Planned | None:
        """The job planned, or None where it failed (said in the report); the ledger's own failure stops the
        batch."""
        try:
            return _plan(job, ledger=self.ledger, config=self.config, measures=self.measures, profile=self.profile,
                         voice_profile_of=self.profile_of)
        except LedgerError:  # the ledger, not this file: the batch stops
            raise
        except ProsodyError as exc:
            self.fail(job, _own_line(exc))
        except OSError as exc:
            self.fail(job, f"cannot read {exc.filename or job.label}: {exc.strerror or exc}")
        except Exception as exc:  # an unexpected failure probing one file must not stop the others
            self.fail(job, f"internal error ({type(exc).__name__}: {_one_line(exc)})")
        return None

    def _skipped_as_done(self, i: int, job: Job, pj: Planned) -> bool:
        """Whether the job was analysed before (its row taken from the store, the skip said)."""
        prior = _already_done(pj, store=self.store, ledger=self.ledger)
        if prior is None:
            return False
        self.rows[i] = _row_for(prior, job)  # the row names this job's files, not those it was first done as
        self.report.skipped.append((job.label, f"already analysed: session {prior['session_id']}"))
        self.ledger.forget_failures(job.paths)
        unapplied = _unapplied_meta(self.store, prior["session_id"], job.meta)
        if unapplied:  # said in the summary: the skip must not drop what was typed in silence
            self.report.meta_kept.append((job.label, prior["session_id"], tuple(unapplied)))
        self.emit(BatchEvent("skipped", job.label, session_id=prior["session_id"], reason="already analysed"))
        return True

    def analyse(self, wait_for_workers_s: float) -> None:
        """The jobs to analyse sent to the workers, longest first (the last worker to finish is not left with a
        long file alone), at most the backend's window in flight; each result saved as it comes. A broken local
        pool is restarted and the jobs it held run one by one (the culprit found)."""
        backend = self.backend
        pending = deque(sorted(self.todo, key=lambda t: -t[1].duration_s))
        inflight: dict = {}
        watch = _WorkerWatch(backend, self.scheduler, limit_s=wait_for_workers_s) \
            if self.scheduler is not None else None
        while pending or inflight:
            while pending and len(inflight) < backend.window:
                i, pj = pending.popleft()
                task = self._task(pj)
                if task is not None:
                    inflight[backend.submit(task)] = (i, pj)
            if not inflight:
                continue
            try:
                done = backend.wait(inflight, STOP_POLL_S)
            except _SchedulerLost as exc:
                n_saved, waiting = len(self.report.analysed), len(inflight) + len(pending)
                raise BatchError(f"{exc}; {n_saved} recording{'s' if n_saved != 1 else ''} finished and saved in the "
                                 f"store, {waiting} recording{'s' if waiting != 1 else ''} not analysed; run the same "
                                 "command again once the scheduler runs to continue where it stopped") from None
            self.check_stop()
            if watch is not None and not done:
                watch.check(self.emit, waiting=len(inflight) + len(pending), saved=len(self.report.analysed))
            elif watch is not None:
                watch.results_came(self.emit)
            crashed = []
            for fut in done:
                i, pj = inflight.pop(fut)
                res = self._result(fut)
                if res is None:
                    crashed.append((i, pj))
                else:
                    self.finish(i, pj, res)
            if crashed:
                # the pool is broken: every task in flight failed with it; find the culprit(s) one by one
                for fut in list(inflight):
                    crashed.append(inflight.pop(fut))
                backend.restart()
                for i, pj in crashed:
                    self.finish(i, pj, backend.run_alone(pj.task, stop=self.check_stop))

    def _task(self, pj: Planned):
        """The task to send: with the audio's bytes where ``send_audio`` on a cluster (read when sent: memory holds
        only the window); None where they cannot be read (the job failed)."""
        if not (self.send_audio and self.scheduler is not None):
            return pj.task
        try:
            return dataclasses.replace(pj.task, audio=tuple(Path(p).read_bytes() for p in pj.job.paths))
        except OSError as exc:
            self.fail(pj.job, f"cannot read {exc.filename or pj.job.label}: {exc.strerror or exc}")
            return None

    def _result(self, fut) -> TaskResult | None:
        """A finished task's result; None where the local pool crashed under it."""
        try:
            return fut.result()
        except Exception as exc:
            if self.backend.is_crash(exc):
                return None
            # Dask's KilledWorker (a task key, a worker address, a web link) said as the local pool's crash
            return TaskResult(ok=False, reason=(
                "the Dask worker process analysing it died, each time it was tried (a crash in a decoder, "
                "out of memory, or the worker stopped: the cluster's worker logs say which); a re-run "
                "tries it again" if type(exc).__name__ == "KilledWorker" else
                f"the worker could not analyse it ({type(exc).__name__}: {_one_line(exc)})"))

    def finish(self, i: int, pj: Planned, res: TaskResult) -> None:
        """One result saved in the store and the ledger, its row and figures in the report (or its failure)."""
        if not res.ok:
            self.fail(pj.job, res.reason)
            return
        changed = [(p, c[0]) for p, st in zip(pj.job.paths, pj.states) if (c := input_change(p, st))]
        if changed:  # the content hash (the ledger's "done", the session's recording) is no longer what was
            # analysed: saved, a re-run analysed the new bytes into a second session (sweep 12)
            path, kind = changed[0]
            how = {"replaced": "replaced or removed", "truncated": "cut short"}.get(kind, "written to")
            self.fail(pj.job, f"{path} was {how} while it was being analysed (a recording still being made?); "
                      "not saved: run the same command again once nothing writes to it")
            return
        store, report = self.store, self.report
        res.doc["audio"] = _audio_record(pj, res)  # as `prosody analyze --save`: moments can be played
        _warnings_as_given(res.doc, pj.job)
        meta, no_date = _meta_for(pj, res.doc)
        sid = _existing_session(store, pj.uid)
        if sid is not None:  # --force: what was typed since (prosody edit) stays unless this job gives new values
            meta = _kept_meta(_stored_meta(store, sid), pj.job.meta, meta)
        try:
            sid = store.save(res.doc, res.frames, meta=meta, uid=pj.uid, session_id=sid)
        except StoreError as exc:  # the store cannot take it (full, damaged): the analysis is kept
            said = str(exc).removesuffix(" Try again.").removesuffix(".")  # "Try again.; ...": the line says how
            raise StoreError(f"{said}; {_kept_unsaved(pj, res, meta, store, saved=len(report.analysed))}") from None
        row = session_row(res.doc, session_id=sid, uid=pj.uid, files=pj.job.paths, content=pj.content,
                          options=pj.options, meta=_stored_meta(store, sid))
        self.ledger.record_done(self.run_id, pj.content, pj.options, uid=pj.uid, session_id=sid, files=pj.job.paths,
                                row=_stamped(row, store, sid), result=res)
        self.ledger.forget_failures(pj.job.paths)
        self.rows[i] = row
        dur = float(res.doc.get("duration_s") or 0.0)
        report.analysed.append((pj.job.label, sid))
        report.audio_s += dur
        report.cpu_s += res.cpu_s
        report.peak_rss_mb[res.worker] = max(report.peak_rss_mb.get(res.worker, 0.0), res.peak_rss_mb)
        dateless = () if no_date is None or _stored_meta(store, sid).recorded_at != meta.recorded_at else (
            f"{no_date} (`prosody edit {sid} --date YYYY-MM-DD[THH:MM]` sets it)",)
        self.emit(BatchEvent("done", pj.job.label, duration_s=dur, session_id=sid,
                             warnings=tuple(res.doc.get("warnings") or ()) + dateless))

    def close(self) -> BatchReport:
        """The duplicates given their first's session, the rows in job order, the run finished in the ledger."""
        report = self.report
        _resolve_duplicates(self.duplicates, self.rows, report, self.ledger, self.run_id, self.emit,
                            store=self.store)
        report.rows = [self.rows[i] for i in sorted(self.rows)]
        self.ledger.finish_run(self.run_id, analysed=len(report.analysed),
                               skipped=len(report.skipped) + len(report.duplicates), failed=len(report.failed))
        report.backend = self.backend.name if self.backend else "none (nothing to analyse)"
        report.wall_s = time.perf_counter() - self.t_start
        self.completed = True
        return report


def _row_for(row: dict, job: Job, *, duplicate_of: str | None = None) -> dict:
    """A table row of a stored session, for ``job``: its own files (the session
    may have been analysed from a file of the same content under another name)."""
    return {**row, "file": job.paths[0], "file2": job.paths[1] if len(job.paths) > 1 else None,
            "duplicate_of": duplicate_of}


def _resolve_duplicates(duplicates, rows: dict, report: BatchReport, ledger: Ledger, run_id: int, emit, *,
                        store) -> None:
    """Give each file whose audio and options equal an earlier file's in this
    run that file's session, in a row of its own marked ``duplicate_of``; when
    the first failed, the duplicate fails with it (it was not analysed either).
    Metadata the duplicate's row typed that the session does not have is said
    (``report.meta_kept``), as for a file skipped as already done: a copy listed
    as another client's session lost that client without a word until 2026-12-04."""
    for i, job, first, first_label in duplicates:
        if first in rows:
            rows[i] = _row_for(rows[first], job, duplicate_of=first_label)
            sid = rows[first]["session_id"]
            report.duplicates.append((job.label, first_label, sid))
            unapplied = _unapplied_meta(store, sid, job.meta)
            if unapplied:
                report.meta_kept.append((job.label, sid, tuple(unapplied)))
            ledger.forget_failures(job.paths)
        else:
            _fail(report, ledger, run_id, job, f"the same recording as {first_label}, which was not analysed "
                                               "(see its failure)", emit)


def _kept_unsaved(pj: Planned, res: TaskResult, meta: SessionMeta, store, *, saved: int) -> str:
    """Keep a finished analysis the store could not take (``formats.export.keep_unsaved``,
    beside the store); returns the end of the error line, saying where and how to go on."""
    from ..formats.export import keep_unsaved
    path, note = keep_unsaved(res.doc, res.frames, res.doc["speaker_order"], meta, first=Path(store.path).parent)
    kept = (f"the analysis of {pj.job.label} is kept in {path}{note} (`prosody import` adds it later)"
            if path is not None else f"the analysis of {pj.job.label} could not be kept anywhere ({note})")
    return (f"{kept}; the batch stopped after saving {saved} recording{'s' if saved != 1 else ''}: "
            "run the same command again to continue")


def _fail(report: BatchReport, ledger: Ledger, run_id: int, job: Job, reason: str, emit) -> None:
    report.failed.append((job.label, reason))
    ledger.record_failure(run_id, job.paths, reason)
    emit(BatchEvent("failed", job.label, reason=reason))


def _plan(job: Job, *, ledger: Ledger, config: AnalysisConfig, measures, profile, voice_profile_of=None) -> Planned:
    """Hash the job's files, probe their headers, resolve layout and config as
    ``prosody analyze`` does. Raises ProsodyError (or OSError) for a job that
    cannot be analysed."""
    if len(job.paths) > 2:
        raise InputError(f"{len(job.paths)} files in one job: give one stereo/mono file or two (therapist, client)")
    if job.offset_s and len(job.paths) != 2:
        raise InputError("offset_s needs two files (therapist, client)")
    from ..analysis import check_speaker_label
    # `unattributed`, let through by read_manifest (the command line's --speaker is refused before the batch)
    check_speaker_label(job.speaker, flag=job.named("speaker", "--speaker"))
    for p in job.paths:  # a folder passed over unread (``_audio_in``), said as one
        if os.path.isdir(p):
            raise InputError(unread_folder_text(p) or f"{p} is a folder, not a recording")
    check_files_differ(job.paths)
    probe = FileSource(list(job.paths), Layout(("x",), ((0, 0),)))
    # a speaker (the one person of a mono file) where the files cannot take it fails the row, as analyze
    # refuses --speaker there (it was ignored without a word: a stereo file analysed as therapist + client)
    check_mono_speaker(job.speaker, n_files=len(job.paths), n_channels=probe.files[0].channels,
                       first_file=job.paths[0], flags=("speaker", "channels"))
    states = tuple(input_state(p) for p in job.paths)  # before the hash: a change from here on is found
    hashes = [ledger.cached_sha256(p) for p in job.paths]
    audio_files = tuple({"path": str(Path(p).resolve()), "sha256": h, "bytes": os.stat(p).st_size}
                        for p, h in zip(job.paths, hashes))
    content = hashes[0] if len(hashes) == 1 else hashlib.sha256(":".join(hashes).encode()).hexdigest()
    layout, config = resolve_analysis(n_files=len(job.paths), n_channels=probe.files[0].channels, base=config,
                                      channel_map=job.channels, speaker=job.speaker,
                                      pitch_ranges=job.pitch_range, file_label=job.paths[0],
                                      channels_flag=job.named("channels", "--channels"),
                                      pitch_flag=job.named("pitch_range", "--pitch-range"))
    source = FileSource(list(job.paths), layout, offset_s=job.offset_s)  # channel and offset checks
    from ..speaker_channels import check_voices_told, wants_attribution
    n_channels = probe.files[0].channels
    check_voices_told(job.voices, n_files=len(job.paths), speaker=job.speaker, layout=job.layout)
    try:
        wanted = wants_attribution(n_files=len(job.paths), n_channels=n_channels, speaker=job.speaker,
                                   layout=job.layout, channels=job.channels,
                                   flags=(job.named("channels", "--channels", row=False),
                                          job.named("layout", "--layout", row=False)))
    except InputError as exc:  # the row named once, before the columns its cells gave
        if {"channels", "layout"} & job.cells:
            raise InputError(f"{job.origin}: {exc}") from None
        raise
    request = job.layout if wanted else "separate"
    if len(job.paths) == 1 and n_channels == 1 and job.layout in ("separate", "shared") and not job.speaker:
        # named as given, the manifest's row or the option (the row's layout was unplaced, and shared was
        # said as "--layout" from a worker: hostile sweep 52)
        mono = "layout mono" if "layout" in job.cells else "--layout mono"
        raise InputError(f"{job.named('layout', '--layout')} {job.layout} needs two channels; {job.paths[0]} "
                         f"has one: use {mono}")
    vp = (voice_profile_of(job) if (voice_profile_of is not None and (request != "separate" or len(job.paths) == 2))
          else None)  # two files: one speaker each in their order, which a profile only checks
    task = Task(paths=tuple(os.path.abspath(p) for p in job.paths), sources=tuple(job.paths), layout=layout,
                config=config, offset_s=job.offset_s, measures=measures, profile=profile,
                layout_request=request, channel_map=job.channels, voice_profile=vp,
                voices=job.voices if request != "separate" else None)
    options = options_sha256(task)
    return Planned(job=job, task=task, content=content, options=options, uid=session_uid(content, options),
                   duration_s=float(source.duration_s or 0.0), audio_files=audio_files, states=states)


# the options the engine's warnings open with, and the manifest column that gives each per file
_WARNING_OPTIONS = (("--layout", "layout"), ("--voices", "voices"), ("--channels", "channels"))


def _warnings_as_given(doc: dict, job: Job) -> None:
    """The analysis' warnings (``doc["warnings"]`` and the attribution's) naming what the user gave: a warning
    that opens with an option (``--layout shared overrides the detected layout ...``, as `prosody analyze`
    says it) names the manifest's cell where the row gave the value (``man.csv line 3: layout shared
    overrides ...``), as the batch's errors do (``Job.named``); it named an option the user never typed
    (walk60)."""
    def given(w):
        for option, column in _WARNING_OPTIONS:
            if isinstance(w, str) and w.startswith(option + " ") and column in job.cells:
                return job.named(column, option) + w[len(option):]
        return w
    for holder in (doc, doc.get("attribution")):
        if isinstance(holder, dict) and isinstance(holder.get("warnings"), list):
            holder["warnings"] = [given(w) for w in holder["warnings"]]


def _audio_record(pj: Planned, res: TaskResult) -> dict:
    """``doc["audio"]`` as ``prosody analyze --save`` writes it (``prosody.clips.audio_record``):
    the files on this machine (their resolved paths, not a worker's copy), the
    SHA-256 the batch planned with, the (file, channel) of each speaker."""
    speakers = list(res.doc.get("speaker_order") or [])
    return {"files": [dict(f) for f in pj.audio_files],
            "picks": {s: [int(fi), int(ci)] for s, (fi, ci) in zip(speakers, res.picks)},
            "offset_s": float(pj.task.offset_s)}


def _number_problem(job: Job, pj: Planned, store, numbered: dict) -> str | None:
    """Why ``job`` cannot be saved with its session number: another stored session of
    the client holds it, or an earlier job of this batch was given it; else None (and
    the number is noted in ``numbered``)."""
    from ..errors import SessionNumberTakenError
    m = job.meta
    if m.client is None or m.session_number is None:
        return None
    key = (m.therapist, m.client, m.session_number)
    if key in numbered:
        return (f"session number {m.session_number} of client {m.client!r} is also given to {numbered[key]}; "
                "give each session of a client its own number in the manifest's session_number column")
    try:
        store.check_session_number(therapist=m.therapist, client=m.client, number=m.session_number,
                                   replacing=_existing_session(store, pj.uid),
                                   how="the manifest's session_number column")
    except SessionNumberTakenError as exc:
        return str(exc)
    numbered[key] = job.label + (f" ({job.origin})" if job.origin and job.origin != job.label else "")
    return None


def _existing_session(store, uid: str) -> int | None:
    from ..errors import SessionNotFoundError
    try:
        return store.resolve(uid)
    except SessionNotFoundError:
        return None


def _already_done(pj: Planned, *, store, ledger: Ledger) -> dict | None:
    """The table row of an earlier analysis of the same content and options
    whose session is still in the store; None when it must be analysed."""
    sid = _existing_session(store, pj.uid)
    if sid is None:
        return None
    prior = ledger.done_row(pj.content, pj.options)
    if (prior is not None and prior[0] == sid and prior[1].get("speakers") == _stored_speakers(store, sid)
            and prior[1].get(_STORED_STAMP) == store.stamp(sid)
            and all(c in prior[1] for c, _ in TABLE_COLUMNS)):  # a row recorded before a column was added: anew
        return {c: v for c, v in prior[1].items() if c != _STORED_STAMP}
    # saved, but the ledger never heard of it (killed in between) or it was moved, or the store now reads its
    # speakers otherwise (a session saved unsure before the forty-sixth round: store/unsure.py), or the session
    # changed since its row was recorded (`relabel`, `edit`): rebuild the row
    row = session_row(store.get(sid).doc, session_id=sid, uid=pj.uid, files=pj.job.paths, content=pj.content,
                      options=pj.options, meta=_stored_meta(store, sid))
    ledger.record_done(None, pj.content, pj.options, uid=pj.uid, session_id=sid, files=pj.job.paths,
                       row=_stamped(row, store, sid))
    return row


# a ledger row's record of the stored session it was made from (``Store.stamp``: its document, metadata, tags);
# a session changed since (a `relabel` exchanged its voices, an `edit` its client) gives its row anew: the table
# of a batch run again gave the figures of before the relabel, where every other view gave those after (walk60)
_STORED_STAMP = "stored_stamp"


def _stamped(row: dict, store, sid: int) -> dict:
    """``row`` as the ledger keeps it: with the stamp of stored session ``sid`` (not a table column)."""
    return {**row, _STORED_STAMP: store.stamp(sid)}


def _stored_speakers(store, sid: int) -> str:
    """The table's ``speakers`` cell of stored session ``sid``, from the store's listing (no document read)."""
    return LIST_SEPARATOR.join(store.info(sid).speakers)


def _stored_meta(store, sid: int) -> SessionMeta:
    """The metadata as the store holds it (session number assigned, tags sorted)."""
    return store.info(sid).meta


_META_FIELDS = ("therapist", "client", "recorded_at", "session_number", "notes", "tags")


def _given(v) -> bool:
    return v not in (None, "", ())


def _kept_meta(stored: SessionMeta, typed: SessionMeta, computed: SessionMeta) -> SessionMeta:
    """A session analysed again (``--force``): each field as this job typed it, else as the store
    holds it (a therapist, notes or tags added by ``prosody edit`` were lost), else as computed (the
    date from the file's time)."""
    return SessionMeta(**{f: getattr(typed, f) if _given(getattr(typed, f)) else
                          getattr(stored, f) if _given(getattr(stored, f)) else getattr(computed, f)
                          for f in _META_FIELDS})


def _unapplied_meta(store, sid: int, typed: SessionMeta) -> list[str]:
    """The fields this job typed that differ from those of the stored session it skips."""
    try:
        stored = _stored_meta(store, sid)
    except Exception:  # a session gone or unreadable: nothing to compare (the skip stands as before)
        return []

    from ..store.db import nfc

    def norm(m, f):  # as the store keeps them: names in NFC (store.db.nfc), tags sorted
        v = getattr(m, f)
        return tuple(sorted(nfc(t) for t in v)) if f == "tags" else (nfc(v) if isinstance(v, str) else v)
    return [f.replace("_", " ") for f in _META_FIELDS if _given(getattr(typed, f)) and norm(typed, f) != norm(stored, f)]


def _meta_for(pj: Planned, doc: dict) -> tuple[SessionMeta, str | None]:
    """(the metadata to save a job's session with, why it has no date where its file's time gives none)."""
    from ..formats.bundle import started_from_mtime
    m = pj.job.meta
    if m.recorded_at is not None:
        return m, None
    try:  # as `prosody analyze --save`: the recording's modification time minus its length
        mtime = os.stat(pj.job.paths[0]).st_mtime
    except OSError:
        return dataclasses.replace(m, recorded_at=None), None
    when, why = started_from_mtime(mtime, float(doc.get("duration_s") or 0.0), what=pj.job.paths[0])
    return dataclasses.replace(m, recorded_at=when), why
