"""Hostile sweep 48 (docs/store.md "Hostile sweep 48"): sweep 47's leftovers, then fresh hostile inputs.

1. A file SQLite keeps beside the batch ledger or the store's database (``-wal``, ``-shm``) marked ``chattr +i`` or
   ``+a``: `batch` and `delete` said "the batch ledger ... is not readable (attempt to write a readonly database);
   move it aside" (a marked file cannot be moved); `analyze --save`, `batch` said "the session store ... is busy
   (...); another prosody is writing. Try again." after the work, a rescue copy written. Now the mark, the file
   and how to take the mark off, before any work.
2. A store copied onto a file system where no file takes a mode (fusefat) without its frames folder: the refusal
   came after ``frames/`` was made there. Now nothing is made.
"""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
import subprocess
import sys

import pytest

from tests.conftest import one_line_error, run_cli
from tests.test_sweep_hostile43 import FIXTURES, _chattr

QUIET = ("--quiet", "--no-progress")
RECORDING = FIXTURES / "mono_therapist.wav"
KIND = {"wal": "write-ahead log", "shm": "shared-memory index"}
LEAVE_WAL = ("import os, sqlite3, sys\n"
             "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "db.execute('PRAGMA journal_mode=WAL')\n"
             "db.execute('SELECT count(*) FROM sqlite_master').fetchall()\n"
             "os._exit(0)\n")  # a process gone without closing: its -wal and -shm stay, as after a crash


def _store_with_ledger(tmp_path):
    """A store holding session 1, made by `batch` (so its ledger exists), in ``tmp_path / "st"``."""
    store = tmp_path / "st"
    rc, _, err = run_cli("batch", RECORDING, "--store", store, "--table", tmp_path / "t.csv", "--no-progress")
    assert rc == 0, err
    return store


def _leave_companions(db) -> None:
    """``db``'s ``-wal`` and ``-shm`` left in place, as a process killed while it read leaves them."""
    subprocess.run([sys.executable, "-c", LEAVE_WAL, str(db)], check=True)
    assert os.path.exists(f"{db}-wal") and os.path.exists(f"{db}-shm")


# -- 1. a marked -wal or -shm -------------------------------------------------------------------------------------

@contextmanager
def _marked_beside(db, side: str, flag: str):
    """``db``'s ``-wal`` and ``-shm`` left in place, its ``-SIDE`` marked ``chattr FLAG`` while in the block."""
    _leave_companions(db)
    marked = f"{db}-{side}"
    _chattr(flag, marked)
    try:
        yield marked
    finally:
        _chattr(flag.replace("+", "-"), marked)


def _mark_said(label: str, db, side: str, flag: str, what: str) -> str:
    """``fileio.file_mark_said``'s line for ``db``'s ``-SIDE`` marked ``chattr FLAG``."""
    return (f"the {KIND[side]} of {label} {db}, {db}-{side}, is marked {what} (chattr {flag}), so no change can be "
            f"written to {label}; the store is unchanged: take the mark off (chattr -{flag[1]} {db}-{side}) to "
            "change it")


@pytest.mark.parametrize("side", ["wal", "shm"])
@pytest.mark.parametrize("flag, what", [("+i", "immutable"), ("+a", "append-only")])
def test_a_marked_companion_of_the_batch_ledger_is_said_as_marked(tmp_path, monkeypatch, side, flag, what):
    """Before: `batch` and `delete 1` "the batch ledger ST/batch.sqlite is not readable (attempt to write a readonly
    database); move it aside". Now the marked file and how to take the mark off; session 1 kept."""
    monkeypatch.chdir(tmp_path)
    store = _store_with_ledger(tmp_path)
    ledger = store / "batch.sqlite"
    with _marked_beside(ledger, side, flag):
        batch = run_cli("batch", RECORDING, "--store", store, "--table", tmp_path / "t2.csv", "--no-progress",
                        "--force")
        delete = run_cli("delete", "1", "--store", store)
    said = _mark_said("the batch ledger", ledger, side, flag, what)
    one_line_error(batch[0], batch[2], code=1)
    assert batch[2] == f"prosody: error: {said}\n", batch
    one_line_error(delete[0], delete[2], code=1)
    assert delete[2] == f"prosody: error: session 1 was not deleted: {said}\n", delete
    assert run_cli("show", "1", "--store", store)[0] == 0


@pytest.mark.parametrize("side", ["wal", "shm"])
@pytest.mark.parametrize("flag, what", [("+i", "immutable"), ("+a", "append-only")])
def test_a_marked_companion_of_the_store_is_said_before_any_work(tmp_path, monkeypatch, side, flag, what):
    """Before: `analyze --save` analysed, then "the session could not be saved in the store (the session store
    ST/sessions.db is busy (attempt to write a readonly database); another prosody is writing. Try again.)", a
    rescue copy written; `batch` alike; `delete 1` "busy". Now the mark, before any work: no rescue copy."""
    monkeypatch.chdir(tmp_path)
    store = _store_with_ledger(tmp_path)
    db = store / "sessions.db"
    with _marked_beside(db, side, flag):
        runs = [run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET),
                run_cli("batch", RECORDING, "--store", store, "--table", tmp_path / "t2.csv", "--no-progress",
                        "--force"),
                run_cli("delete", "1", "--store", store),
                run_cli("edit", "1", "--notes", "x", "--store", store)]
        listed = run_cli("sessions", "--store", store)
    said = _mark_said("the session store's database", db, side, flag, what)
    for rc, _, err in runs:
        one_line_error(rc, err, code=1)
        assert err == f"prosody: error: {said}\n", err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("prosody-unsaved")] == []
    assert listed[0] == 0 and listed[1].startswith("1 session\n"), listed  # reading goes on


# -- 2. a store copied where no file takes a mode, without its frames folder -------------------------------------

def _not_implemented(*args, **kwargs):
    raise OSError(errno.ENOSYS, "Function not implemented")


def test_a_store_copied_without_frames_where_files_take_no_mode_gets_no_frames_folder(tmp_path, monkeypatch):
    """Before: "cannot open the session store ST: its file system cannot set a file's mode ...", with ``frames/``
    made there first. Now the same line, nothing made."""
    store = tmp_path / "st"
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 0
    for f in (store / "frames").iterdir():
        f.unlink()
    (store / "frames").rmdir()
    os.chmod(store / "sessions.db", 0o700)  # as fusefat shows every file
    for name in ("fchmod", "chmod"):
        monkeypatch.setattr(os, name, _not_implemented)
    for argv in (("sessions",), ("analyze", RECORDING, "--save", *QUIET)):
        rc, _, err = run_cli(*argv, "--store", store)
        one_line_error(rc, err, code=1)
        assert "cannot set a file's mode (chmod: Function not implemented)" in err, err
    assert sorted(p.name for p in store.iterdir()) == ["sessions.db"]


def test_a_store_copied_onto_fuse_fat_without_frames_gets_no_frames_folder(tmp_path, fat_mount):
    store = tmp_path / "st"
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 0
    copy = fat_mount / "st"
    copy.mkdir()
    (copy / "sessions.db").write_bytes((store / "sessions.db").read_bytes())
    rc, _, err = run_cli("sessions", "--store", copy)
    one_line_error(rc, err, code=1)
    assert "cannot set a file's mode (chmod: Function not implemented)" in err, err
    assert sorted(p.name for p in copy.iterdir()) == ["sessions.db"]


# -- 3. a WebM/Matroska file cut short ---------------------------------------------------------------------------

def _write_matroska(path, seconds: float, *, fmt: str, codec: str, rate: int = 16000) -> None:
    """A tone of ``seconds`` in a finished Matroska/WebM file (its header's Duration written) through PyAV."""
    av = pytest.importorskip("av")
    import numpy as np
    t = np.arange(int(seconds * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[None, :]
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        for i in range(0, x.shape[1], 960):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, i:i + 960]), format="flt", layout="mono")
            frame.rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _read_all(path):
    from prosody.engine.sources import AudioFile
    f = AudioFile(path)
    n = sum(len(b) for b in f.blocks(4096))
    return n / f.sample_rate, f.warnings


@pytest.mark.parametrize("fmt, codec, name, header_s", [("matroska", "flac", "s.mka", "8.00"),
                                                        ("webm", "libopus", "s.webm", "8.01")])  # Opus: + its delay
def test_a_matroska_file_cut_short_is_said_truncated(tmp_path, fmt, codec, name, header_s):
    """Before: a finished 8 s WebM/Matroska cut to half its bytes decoded to some 4 s with no error and no word
    (its header's Duration, 8 s, unread). Now "is truncated: its header says 8.00 s, read ...". The whole file:
    no warning, 8 s within a codec frame."""
    whole = tmp_path / name
    _write_matroska(whole, 8.0, fmt=fmt, codec=codec)
    assert_cut_in_half_said(whole, tmp_path / f"cut-{name}", seconds=8.0, header_s=header_s, tolerance_s=0.05)


def assert_cut_in_half_said(whole, cut, *, seconds: float, header_s: str, tolerance_s: float) -> None:
    """``whole`` reads ``seconds`` (within ``tolerance_s``) with no warning; ``cut``, its first half, reads some
    half of it and is said truncated against the header's ``header_s``, by the reader and by `analyze`."""
    got_s, warnings = _read_all(whole)
    assert abs(got_s - seconds) < tolerance_s and warnings == [], (got_s, warnings)
    data = whole.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    got_s, warnings = _read_all(cut)
    assert 0.25 * seconds < got_s < 0.75 * seconds, got_s
    assert warnings == [f"{cut} is truncated: its header says {header_s} s, read {got_s:.2f} s (every block it holds); "
                        "analysed the readable part"], warnings
    rc, _, err = run_cli("analyze", cut, "--json", cut.parent / "o.json", *QUIET)
    assert rc == 0 and f"prosody: warning: {cut} is truncated: its header says {header_s} s" in err, err


# -- 4. enrol --from-session without the session's audio; enrol's own rule -------------------------------------

def test_enrol_from_a_session_whose_recording_went_says_enrol_not_play(tmp_path):
    """Before: "session 1: the recording R is not there any more (moved or deleted): no audio to play" (and,
    changed, "...: not played"): `enrol` plays nothing. Now "no audio to build the voice profile from"."""
    rec = tmp_path / "r.flac"
    rec.write_bytes((FIXTURES / "dialogue.flac").read_bytes())
    store = tmp_path / "st"
    assert run_cli("analyze", rec, "--save", "--store", store, *QUIET)[0] == 0
    rec.write_bytes(rec.read_bytes()[:-1] + b"\0")
    rc, _, err = run_cli("enrol", "--from-session", "1", "--therapist", "T", "--store", store)
    one_line_error(rc, err)
    assert err == (f"prosody: error: session 1: the recording {rec} has changed since the analysis (its SHA-256 "
                   "differs): no audio to build the voice profile from\n"), err
    rec.unlink()
    rc, _, err = run_cli("enrol", "--from-session", "1", "--therapist", "T", "--store", store)
    one_line_error(rc, err)
    assert err == (f"prosody: error: session 1: the recording {rec} is not there any more (moved or deleted): no "
                   "audio to build the voice profile from\n"), err


def test_enrol_help_gives_the_speech_a_profile_needs(capsys):
    """Before: `enrol --help` asked for ">= 5 s speech"; a profile is built from 3 s (MIN_PROFILE_SPEECH_S)."""
    from prosody.engine.speakers import MIN_PROFILE_SPEECH_S
    from prosody_cli.main import main
    with pytest.raises(SystemExit):
        main(["enrol", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(>= {MIN_PROFILE_SPEECH_S:.0f} s speech)" in text, text


def test_enrol_from_a_recording_cut_short_says_so(tmp_path):
    """Before: `enrol` of a FLAC cut to a third of its bytes "enrolled T: 4 s of speech from recording R" and
    nothing more; `analyze` of it says it is truncated. Now `enrol` says it too, as `analyze` does."""
    cut = tmp_path / "cut.flac"
    data = (FIXTURES / "dialogue.flac").read_bytes()
    cut.write_bytes(data[:len(data) // 3])
    rc, out, err = run_cli("enrol", cut, "--therapist", "T", "--voices", "1", "--store", tmp_path / "st")
    assert rc == 0 and out.startswith("enrolled T: "), (out, err)
    assert err.startswith(f"prosody: warning: {cut} is truncated: header says 40.2"), err


# -- 5. standard error's reader gone after the save's line ------------------------------------------------------

class _ReaderGoneAfterOneLine:
    """Standard error read by `head -1`: its first line taken, every later write a broken pipe."""

    def __init__(self):
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        if self.lines:
            raise BrokenPipeError(32, "Broken pipe")
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        if len(self.lines) > 1:
            raise BrokenPipeError(32, "Broken pipe")


def test_a_save_whose_later_lines_meet_a_closed_reader_is_not_kept_again_unsaved(tmp_path, monkeypatch):
    """Before: `analyze R --save 2>&1 | head -1` with R's audio stored already: "saved as session 2" read, the note
    on the same audio met a broken pipe, taken for a failed save: exit 1 and a rescue copy
    prosody-unsaved-*.json (and its frames) of the saved session written beside, which `delete 2` does not erase.
    Now the line is let go: session 2 saved, no rescue copy."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "st"
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 0
    gone = _ReaderGoneAfterOneLine()
    monkeypatch.setattr(sys, "stderr", gone)
    rc = main(["analyze", str(RECORDING), "--save", "--store", str(store), *QUIET])
    monkeypatch.undo()
    assert gone.lines == [f"prosody: saved as session 2 in {store}\n"], gone.lines
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("prosody-unsaved")] == []
    assert rc == 1  # the warnings after it (one voice, an assumed therapist) could not be said
    assert run_cli("sessions", "--store", store)[1].startswith("2 sessions\n")
