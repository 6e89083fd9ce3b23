"""Hostile sweep 6: what the fifth sweep left open, then surfaces no sweep had tried. Each defect with
what happened before and what happens now (the house way of the earlier sweeps: one clear line on
stderr, a non-zero exit, no traceback; every file under tmp_path).

1. Ctrl-C or SIGTERM between the store's commit and the batch ledger's in ``prosody delete``: the
   KeyboardInterrupt (or SIGTERM's default death) came after the session's rows were gone but before its
   frames file was removed and the ledger's change committed; ``delete ID`` run again erased the ledger's
   rows but said nothing of the frames file (the session's per-frame pitch and loudness), which stayed.
   The signals now wait while the delete runs (milliseconds): the delete completes, says so, then the
   interruption is said (exit 130 / 143). A SIGKILL there still leaves both; ``delete ID`` run again now
   removes the frames file too (an unreferenced one older than a minute).
2. A frames folder alone on a read-only mount made the store unopenable ("cannot open STORE: Read-only
   file system"), reading included: its mode was set on every open. The mode is now set only when it
   differs; reading commands work and every change is refused in one line.
3. A whole number beyond 64 bits in an imported session JSON (10**400 as duration_s) was an internal error
   (OverflowError), or imported as it stood (a measure); it is now refused in one line.
4. 'C7' pasted with a bidi mark (U+200E) or tag characters was a second client listed as 'C7'; names and
   tags are now kept without them, and a stored name holding one shows them escaped.
5. The store folder moved and replaced by a link to another store while a batch ran: rows went into the
   moved store, frames files into the other one, exit 0. Changes are now refused once the folder opened
   is no longer at its path.
6. A frames folder, database or ledger inside the store that is a symbolic link: opening the store set
   the mode of the link's target. Refused now, before anything is changed.
7. Ctrl-C right after an import's commit left the imported rescue copy, which importing again could not
   remove; the signal now waits until the copy is removed.
8. A therapist, client or tag of invisible characters alone passed the command line, then failed the save
   after the analysis (a rescue copy import refused too), and cleared the client in ``edit``; refused first.
9. An output into a store the command does not use (``analyze --rttm STORE/batch.sqlite``) replaced that
   store's ledger: the store guard held for the command's own store only. Any store folder is guarded now.
10. SIGTERM between ``enrol --delete``'s commit and its checkpoint left the deleted voice profile in the
    database file; the signal now waits.
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import count_rows, one_line_error, planted_batch, run_cli

REPO = Path(__file__).parents[1]


def _one_line(rc, err, code=1):
    one_line_error(rc, err, code)


def stat_mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def _needles(store: Path, f0) -> list[str]:
    """Which of the planted names and figures are still in any file of the store folder, as bytes."""
    found = []
    for p in store.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            found += [f"{p.name}: {n}" for n in ("Zyxwv", "Qwvut", "Plmkj", "Quixote") if n.encode() in data]
            if repr(f0).encode() in data:
                found.append(f"{p.name}: f0")
    return found


# -- 1. a signal between the store's commit and the ledger's, in `prosody delete` ------------------------------
SIGNAL_AFTER_STORE_COMMIT = r"""
import os, signal, sys
from contextlib import contextmanager
from prosody.store import db as store_db
real_tx = store_db.Store._tx
@contextmanager
def tx(self, **kw):
    with real_tx(self, **kw) as d:
        yield d
    # committed: the session's rows are gone; its frames file and the ledger's rows not yet
    os.kill(os.getpid(), getattr(signal, os.environ["H6_SIGNAL"]))
store_db.Store._tx = tx
from prosody_cli.main import main
sys.exit(main())
"""


def _delete_with_signal(store: Path, how: str) -> tuple[int, str, str]:
    r = subprocess.run([sys.executable, "-c", SIGNAL_AFTER_STORE_COMMIT, "delete", "1", "--store", str(store)],
                       capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, "H6_SIGNAL": how, "PYTHONPATH": str(REPO)})
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("how,code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_after_the_store_commit_waits_for_the_delete_to_finish(tmp_path, short_wav, how, code):
    """Ctrl-C or SIGTERM planted right after the store's delete committed: before, the session's frames
    file and its ledger rows (the file path with the client's real name) stayed, with 'interrupted' (or
    no word: SIGTERM), and ``delete 1`` run again erased the ledger's rows but left the frames file. Now
    the delete completes (no session row, no frames file, no ledger row, no planted byte in any file of
    the store), says 'deleted session 1', then the interruption in one line, exit 130 / 143."""
    store, f0 = planted_batch(tmp_path, short_wav)
    assert len(os.listdir(store / "frames")) == 1
    rc, out, err = _delete_with_signal(store, how)
    assert rc == code, (rc, out, err)
    assert out == "deleted session 1\n", out
    lines = err.splitlines()
    assert lines[-1].startswith("prosody: error: ") and "session 1 was deleted" in lines[-1], err
    assert "Traceback" not in err
    assert all(ln.startswith("prosody: note: ") for ln in lines[:-1]), err  # the batch table's note
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0
    assert os.listdir(store / "frames") == []
    for table in ("done", "analyses", "hashes", "failures"):
        assert count_rows(store / "batch.sqlite", f"SELECT count(*) FROM {table}") == 0, table
    assert _needles(store, f0) == []


def test_a_delete_killed_after_the_store_commit_is_finished_by_delete_again(tmp_path, short_wav):
    """SIGKILL (nothing waits for it) right after the store's commit leaves the frames file and the
    ledger's rows; ``delete 1`` run again erases both and says so (before, the frames file stayed)."""
    store, f0 = planted_batch(tmp_path, short_wav)
    old = time.time() - 120  # a session saved two minutes before (a save in progress is younger)
    for p in (store / "frames").iterdir():
        os.utime(p, (old, old))
    rc, out, err = _delete_with_signal(store, "SIGKILL")
    assert rc == -signal.SIGKILL and out == "", (rc, out, err)
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0
    # what the kill left: the frames file, and the mark naming it (hostile sweep 8: erased at the next open)
    assert len([n for n in os.listdir(store / "frames") if not n.startswith(".deleting-")]) == 1
    assert count_rows(store / "batch.sqlite", "SELECT count(*) FROM done") == 1
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0, err
    assert "session 1 was deleted already" in out and "frames file" in out, out
    assert os.listdir(store / "frames") == []
    for table in ("done", "analyses", "hashes", "failures"):
        assert count_rows(store / "batch.sqlite", f"SELECT count(*) FROM {table}") == 0, table
    assert _needles(store, f0) == []
    rc, out, err = run_cli("delete", "1", "--store", store)  # nothing left: the plain 'no session' line
    _one_line(rc, err, 2)
    assert "no session '1'" in err and out == ""


def test_a_killed_delete_of_a_session_no_batch_analysed_is_finished_by_delete_again(tmp_path, short_wav):
    """The same kill for a session ``analyze --save`` stored (no ledger): ``delete 1`` said 'no session'
    and left the frames file for an hour (until some other delete's sweep); it now removes it and says
    so, exit 0. A younger unreferenced file (a save in progress) is left."""
    store = tmp_path / "store"
    rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                         "--therapist", "Therapist-Zyxwv", "--client", "Pseudo-Qwvut")
    assert rc == 0, err
    (frames,) = (store / "frames").iterdir()
    old = time.time() - 120
    os.utime(frames, (old, old))
    assert _delete_with_signal(store, "SIGKILL")[0] == -signal.SIGKILL
    assert frames.exists() and count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0
    young = store / "frames" / "0123abcd.0a1b2c.npz"  # unreferenced and a second old: a save in progress
    young.write_bytes(b"in progress")
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0 and err == "", (rc, err)
    assert out == ("no session 1 in the store (deleted already); 1 frames file that no session held (left by an "
                   "interrupted delete or save) erased now\n"), out
    assert sorted(os.listdir(store / "frames")) == [young.name]
    assert not any(b"Zyxwv" in p.read_bytes() for p in store.rglob("*") if p.is_file())


# -- 2. a frames folder alone on a read-only mount --------------------------------------------------------------
RUN_MANY = r"""
import io, json, sys
from prosody_cli.main import main
res = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = out, err
    try:
        rc = main(argv)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    res.append([rc, out.getvalue(), err.getvalue()])
print(json.dumps(res))
"""


def _on_read_only_mount(folder: Path, commands: list[list[str]]) -> list[tuple[int, str, str]]:
    """``commands`` run in one process in a mount namespace of its own where ``folder`` is a read-only
    bind mount of itself (EROFS for every write, root's included); skips where that cannot be made."""
    import json
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) here")
    probe = subprocess.run([unshare, "-m", "sh", "-c", f"mount --bind '{folder}' '{folder}' && "
                            f"mount -o remount,bind,ro '{folder}' && ! touch '{folder}/.probe'"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here ({probe.stderr.strip()})")
    script = (f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && "
              f"exec '{sys.executable}' -c \"$0\" \"$1\"")
    r = subprocess.run([unshare, "-m", "sh", "-c", script, RUN_MANY, json.dumps(commands)], capture_output=True,
                       text=True, cwd=REPO, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    return [tuple(x) for x in json.loads(r.stdout)]


@pytest.mark.parametrize("frames_mode", [0o700, 0o755])
def test_reading_works_with_the_frames_folder_alone_read_only(tmp_path, short_wav, frames_mode):
    """The store folder writable, its frames folder a read-only mount (owner-only already, or 0755: a
    mode to set, which a read-only mount refuses). Before: every command said 'cannot open STORE:
    Read-only file system'. Now sessions, show, moments, trend, compare, export (with its frames file)
    and report work; delete, edit, note and a save are refused in one line each, and nothing changed:
    the session's row and frames file are there (the save refused before its analysis since hostile sweep 46:
    it analysed, then wrote a rescue copy)."""
    store = tmp_path / "store"
    rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                         "--therapist", "Ann", "--client", "C7")
    assert rc == 0, err
    (frames,) = (store / "frames").iterdir()
    os.chmod(store / "frames", frames_mode)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    s = str(store)
    reading = [["sessions", "--store", s], ["show", "1", "--store", s], ["moments", "1", "--store", s],
               ["trend", "--therapist", "Ann", "--store", s], ["compare", "1", "1", "--store", s],
               ["export", "1", "--store", s, "-o", str(out_dir / "x.json")],
               ["report", "1", "--store", s, "-o", str(out_dir / "r.html")]]
    changing = [["delete", "1", "--store", s], ["edit", "1", "--notes", "changed", "--store", s],
                ["note", "1", "a note", "--at", "1", "--store", s]]
    save = [["analyze", str(short_wav), "--save", "--store", s, "--quiet", "--no-progress"]]
    results = _on_read_only_mount(store / "frames", reading + changing + save)
    for argv, (rc, out, err) in zip(reading, results):
        assert rc == 0, (argv, err)
        assert "Read-only" not in err, (argv, err)
    assert "C7" in results[0][1] and "Ann" in results[1][1]
    assert (out_dir / "x.frames.npz").read_bytes() != b"" and (out_dir / "r.html").stat().st_size > 0
    for argv, (rc, out, err) in zip(changing, results[len(reading):]):
        _one_line(rc, err)
        assert "frames folder" in err and "Read-only file system" in err and "unchanged" in err, (argv, err)
    rc, out, err = results[-1]  # refused before the analysis since sweep 46 (was: analysed, then a rescue copy)
    _one_line(rc, err)
    assert "frames folder" in err and "Read-only file system" in err and "unchanged" in err, err
    assert not list(tmp_path.glob("prosody-unsaved-*.json"))  # nothing analysed, nothing to rescue
    assert list((store / "frames").iterdir()) == [frames]
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 1
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM notes") == 0
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions WHERE notes = 'changed'") == 0
    assert stat_mode(store / "frames") == frames_mode and stat_mode(store / "sessions.db") == 0o600


# -- 3. a session JSON with a whole number beyond 64 bits ------------------------------------------------------
@pytest.mark.parametrize("where,value", [(("duration_s",), 10 ** 400), (("segments", 0, "end_s"), 10 ** 30),
                                         (("measures", "extra"), 10 ** 30),
                                         (("speakers", "therapist", "n_turns"), -(10 ** 25)),
                                         (("prosody_store", "session_number"), 2 ** 64)])
def test_a_whole_number_beyond_64_bits_in_an_imported_json_is_one_line(tmp_path, short_wav, where, value):
    """JSON has no limit on whole numbers; Python reads 10**400 exactly. As ``duration_s`` (or any time
    checked against a range) it was an internal error (OverflowError: int too large to convert to
    float); elsewhere (a measure, a speaker's count) it was imported as it stood. Now each is refused
    in one line naming the field, and the store is unchanged."""
    import json
    from tests.conftest import export_saved
    exported, _ = export_saved(tmp_path, short_wav)
    doc = json.loads(exported.read_text())
    node = doc
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = value
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps(doc))
    store = tmp_path / "store"
    assert run_cli("import", exported, "--store", store)[0] == 0
    rc, out, err = run_cli("import", planted, "--store", store, "--new-id")
    _one_line(rc, err, 2)
    assert "beyond 64 bits" in err and where[-1] in err, err
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 1


# -- 4. invisible bidi marks and tag characters in names -------------------------------------------------------
def test_a_bidi_mark_pasted_into_a_name_is_the_same_client(tmp_path, short_wav):
    """'C7' pasted with a left-to-right mark (U+200E, common in text copied from a document written right to
    left) was stored as another client, listed as 'C7' beside the real one, with its own session 1;
    so with a right-to-left mark, the Arabic letter mark or tag characters (U+E0041: invisible text).
    Names and tags are now stored without them (the same client: session number 2), and a name that
    holds one (an older store, planted in the database) is shown with it escaped: `C7\\u200e`. A note
    keeps its marks (they place a right-to-left note's punctuation)."""
    store = tmp_path / "store"
    base = ["--save", "--store", store, "--quiet", "--no-progress", "--therapist", "Ann"]
    assert run_cli("analyze", short_wav, *base, "--client", "C7")[0] == 0
    note = "\u05e9\u05dc\u05d5\u05dd.\u200f"
    rc, _, err = run_cli("analyze", short_wav, *base, "--client", "\u200eC7\u200f\u061c\U000e0041",
                         "--tag", "t\u200e", "--notes", note)
    assert rc == 0, err
    db = sqlite3.connect(store / "sessions.db")
    assert db.execute("SELECT client, session_number, notes FROM sessions WHERE id = 2").fetchone() == \
        ("C7", 2, note)
    assert db.execute("SELECT tag FROM tags WHERE session_id = 2").fetchall() == [("t",)]
    db.execute("UPDATE sessions SET client = ? WHERE id = 1", ("C7\u200e\U000e0041",))  # an older store's
    db.commit()
    db.close()
    rc, out, err = run_cli("sessions", "--store", store)
    assert rc == 0, err
    assert "C7\\u200e\\U000e0041" in out and "\u200e" not in out and "\U000e0041" not in out, out
    rc, out, _ = run_cli("show", "2", "--store", store)
    assert f"notes: {note}" in out  # the note as typed, its mark kept
    rc, out, _ = run_cli("sessions", "--store", store, "--client", "C7\u200f")  # the filter: the same client
    assert [ln.split()[0] for ln in out.splitlines()[3:]] == ["2"], out


# -- 5. the store folder replaced while a batch runs -----------------------------------------------------------
@pytest.mark.parametrize("replacement", ["link to another store", "file"])
def test_a_store_folder_replaced_while_a_batch_runs_stops_it(tmp_path, short_wav, monkeypatch, replacement):
    """The store folder moved away and replaced by a link to another store (or by a file) after a
    batch's first save. Before: the batch went on, its sessions' rows went into the moved store (the
    database file SQLite holds open) and their frames files into the other store's folder (a client's
    per-frame data in another store, which its sweep removes an hour later as orphans), and it said
    every recording was analysed, exit 0. Now the next save is refused: one line, the analysis kept as
    a rescue copy, exit 1; the moved store holds the first session with its frames file, the other
    store is as it was."""
    import soundfile as sf
    from prosody.store import db as store_db
    audio, sr = sf.read(short_wav, dtype="float32")
    recs = tmp_path / "recs"
    recs.mkdir()
    for i in range(3):  # three recordings, not duplicates of each other
        sf.write(recs / f"r{i}.wav", audio[i * 1600:], sr, subtype="PCM_16")
    other = tmp_path / "other"
    assert run_cli("analyze", short_wav, "--save", "--store", other, "--quiet", "--no-progress")[0] == 0
    other_before = sorted(os.listdir(other / "frames"))
    store, moved = tmp_path / "store", tmp_path / "store.moved"
    real_save, saves = store_db.Store.save, []

    def save(self, *a, **kw):
        if saves:  # after the first save: the folder is moved and replaced
            os.rename(store, moved)
            if replacement == "file":
                store.write_text("not a store")
            else:
                os.symlink(other, store)
        saves.append(1)
        return real_save(self, *a, **kw)
    monkeypatch.setattr(store_db.Store, "save", save)
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli("batch", recs, "--jobs", "1", "--store", store, "--table", tmp_path / "t",
                           "--no-progress")
    assert rc == 1, (rc, out, err)
    last = err.splitlines()[-1]
    assert "was moved or replaced while this command ran" in last and "prosody-unsaved-" in last, err
    assert "Traceback" not in err
    assert sorted(os.listdir(other / "frames")) == other_before
    assert count_rows(other / "sessions.db", "SELECT count(*) FROM sessions") == 1
    assert count_rows(moved / "sessions.db", "SELECT count(*) FROM sessions") == 1
    (frames_file,) = [r for r in os.listdir(moved / "frames")]
    db = sqlite3.connect(moved / "sessions.db")
    assert db.execute("SELECT frames_file FROM sessions").fetchall() == [(frames_file,)]
    db.close()
    (rescue,) = tmp_path.glob("prosody-unsaved-*.json")
    assert stat_mode(rescue) == 0o600


# -- 6. links inside the store folder --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["frames", "sessions.db", "batch.sqlite", "sessions.db-wal"])
def test_a_link_inside_the_store_is_refused_before_any_mode_is_set(tmp_path, short_wav, name):
    """A store whose frames folder, database, batch ledger or a side file of these is a symbolic link (a
    store received from someone, a folder tidied by hand): opening it set the mode of the link's target,
    a folder or file of anyone's (a frames link to a shared 0755 folder made it 0700; a database link to
    a 0644 file made that file 0600, then 'not a readable prosody database'), and frames files were then
    written there; a batch would set the mode of a ledger link's target (or create a missing one). Now
    every command on it is refused in one line naming the link; the target keeps its mode and content."""
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    target = tmp_path / "target"
    if name == "frames":
        target.mkdir()
        os.chmod(target, 0o755)
    else:
        target.write_text("someone's file\n")
        os.chmod(target, 0o644)
    if (store / name).exists():
        os.rename(store / name, tmp_path / "aside")
    os.symlink(target, store / name)  # the ledger's link: a batch or delete would set its mode, then use it
    for argv in (["sessions"], ["show", "1"], ["edit", "1", "--notes", "x"]):
        rc, out, err = run_cli(*argv, "--store", store)
        _one_line(rc, err)
        assert f"{store / name} is a symbolic link" in err and "unchanged" in err, err
    assert stat_mode(target) == (0o755 if name == "frames" else 0o644)
    assert (os.listdir(target) == []) if name == "frames" else target.read_text() == "someone's file\n"


# -- 7. a signal between an import's commit and the removal of the rescue copy it imported ---------------------
SIGNAL_AFTER_IMPORT = r"""
import os, signal, sys
from prosody.store import db as store_db
real = store_db.Store.import_bundle
def import_bundle(self, *a, **kw):
    sid = real(self, *a, **kw)
    os.kill(os.getpid(), signal.SIGINT)  # committed; the rescue copy not yet removed
    return sid
store_db.Store.import_bundle = import_bundle
from prosody_cli.main import main
sys.exit(main())
"""


def test_ctrl_c_after_an_import_commit_still_removes_the_rescue_copy(tmp_path, short_wav):
    """Importing a rescue copy (``prosody-unsaved-*.json``, kept after a failed save) removes it once the
    session is in the store. A Ctrl-C right after the commit left it (the session's words and per-frame
    data twice; imported again: 'uid already in the store', so never removed by prosody, and kept after
    a `delete` of the session). Now the import finishes, removes it, then says 'interrupted', exit 130."""
    from tests.conftest import export_saved
    exported, frames = export_saved(tmp_path, short_wav)
    rescue = tmp_path / "prosody-unsaved-20261204-101010.json"
    os.rename(exported, rescue)
    os.rename(frames, tmp_path / "prosody-unsaved-20261204-101010.frames.npz")
    store = tmp_path / "store"
    r = subprocess.run([sys.executable, "-c", SIGNAL_AFTER_IMPORT, "import", str(rescue), "--store", str(store)],
                       capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 130, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.startswith(f"imported {rescue} as session 1") and "removed the rescue copy" in r.stdout
    assert r.stderr == "prosody: error: interrupted; the session was imported as session 1 first\n", r.stderr
    assert list(tmp_path.glob("prosody-unsaved-*")) == []
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 1


@pytest.mark.parametrize("flag,value", [("--tag", "\u200e"), ("--client", "\U000e0041\U000e0042"),
                                        ("--therapist", "\u200b\u200f")])
def test_a_name_of_invisible_characters_alone_is_refused_before_any_work(tmp_path, short_wav, flag, value):
    """A therapist, client or tag of zero-width spaces, bidi marks or tag characters alone (stored without
    them: empty). Before: ``analyze --save`` analysed, then failed to save (`tags[0] = '': empty`) and
    kept a rescue copy that ``import`` refused for the same reason (a tag cannot be taken off there);
    ``edit --client`` with it cleared the client, as ``''`` does. Now both are refused in one line before
    any work: no session, no rescue copy; the stored client is kept."""
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                   "--therapist", "Ann", "--client", "C7", "--tag", "t")[0] == 0
    rc, out, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress", flag, value)
    _one_line(rc, err, 2)
    assert "empty but for characters no listing shows" in err, err
    rc, out, err = run_cli("edit", "1", "--store", store, flag, value)
    _one_line(rc, err, 2)
    assert "empty but for characters no listing shows" in err, err
    rc, out, err = run_cli("note", "1", value, "--at", "1", "--store", store)  # a supervisor's note: the same
    _one_line(rc, err, 2)
    assert "a note needs some text" in err, err
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM notes") == 0
    assert list(tmp_path.rglob("prosody-unsaved-*")) == []
    db = sqlite3.connect(store / "sessions.db")
    assert db.execute("SELECT id, therapist, client FROM sessions").fetchall() == [(1, "Ann", "C7")]
    assert db.execute("SELECT tag FROM tags").fetchall() == [("t",)]
    db.close()


# -- 9. an output into another store's folder ------------------------------------------------------------------
@pytest.mark.parametrize("argv,inside", [
    (["analyze", "{wav}", "--rttm", "{store}/batch.sqlite"], "batch.sqlite"),
    (["analyze", "{wav}", "--json", "{store}/frames/x.json"], "frames/x.json"),
    (["live", "--input", "{wav}", "--output", "{store}/s.json", "--plain", "--speed", "max", "--duration", "1"],
     "s.json"),
    (["export", "1", "--store", "{other}", "-o", "{store}/sessions.db"], "sessions.db")])
def test_an_output_into_a_store_the_command_does_not_use_is_refused(tmp_path, short_wav, argv, inside):
    """The guard 'it lies in the session store' held for the command's own store only: ``analyze --rttm
    STORE/batch.sqlite`` without --store replaced another store's batch ledger with RTTM lines (its next
    ``delete`` said 'the batch ledger is not readable' and deleted nothing), and ``live --output`` wrote
    into a store's folder. Every output into any store folder (``sessions.db`` beside ``frames/``), or its
    frames folder, is now refused in one line before any work; the store's files are unchanged."""
    store, other = tmp_path / "store", tmp_path / "other"
    for s in (store, other):
        assert run_cli("analyze", short_wav, "--save", "--store", s, "--quiet", "--no-progress")[0] == 0
    (store / "batch.sqlite").write_bytes(b"a ledger")
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    rc, out, err = run_cli(*[a.format(wav=short_wav, store=store, other=other) for a in argv])
    _one_line(rc, err, 2)
    assert f"{store / inside}: it lies in the session store {store}" in err, err
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


# -- 10. a signal between a voice profile's delete and the checkpoint that erases it --------------------------
SIGNAL_BEFORE_CHECKPOINT = r"""
import os, signal, sys
from prosody.store import db as store_db
real = store_db.Store._checkpoint
def checkpoint(self):
    os.kill(os.getpid(), signal.SIGTERM)  # the profile's row deleted and committed; its old pages in the file
    return real(self)  # its answer (busy or not) is said by the caller (sweep 56)
store_db.Store._checkpoint = checkpoint
from prosody_cli.main import main
sys.exit(main())
"""


def test_sigterm_before_the_checkpoint_of_a_profile_delete_waits(tmp_path, short_wav):
    """``enrol --delete`` commits, then checkpoints so that the profile's zeroed pages replace the old ones
    in the database file now. SIGTERM between the two killed it (default action): the deleted profile's
    bytes stayed in ``sessions.db`` until some later command closed the store. Now it waits: the profile
    is gone from every file of the store, then 'stopped by SIGTERM', exit 143."""
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "Voice-Kqzxw", "--store", store)
    assert rc == 0, err
    assert any(b"Voice-Kqzxw" in p.read_bytes() for p in store.rglob("*") if p.is_file())
    r = subprocess.run([sys.executable, "-c", SIGNAL_BEFORE_CHECKPOINT, "enrol", "--delete", "Voice-Kqzxw",
                        "--store", str(store)], capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 143, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == "deleted the voice profile Voice-Kqzxw\n"
    assert r.stderr == "prosody: error: stopped by SIGTERM; the voice profile was deleted completely first\n"
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM voice_profiles") == 0
    assert [p.name for p in store.rglob("*") if p.is_file() and b"Voice-Kqzxw" in p.read_bytes()] == []
