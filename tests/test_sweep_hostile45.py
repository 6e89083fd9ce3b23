"""Hostile sweep 45 (docs/store.md "Hostile sweep 45"): sweep 44's leftover, then fresh hostile inputs.

1. A batch whose table could not be written after its work said "run the same command again to write the table"
   for every cause but a full disk too: a folder marked immutable, made unwritable or taken away during the batch,
   a read-only file system, a name too long fail the same on a rerun. The line now says what mends each cause
   (``cli.batch._table_remedy``), the sessions saved as they were.
2. ``delete`` of a session whose frames file was marked immutable (``chattr +i``) deleted its rows, then failed
   "cannot access FRAMES: Operation not permitted", the frames file whole. Now refused before anything is deleted;
   a frames file whose erasing fails after the commit (a mark set meanwhile) is said, and the next delete erases it.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from prosody.store.db import Store
from tests.conftest import run_cli
from tests.test_sweep_hostile42 import _two_recordings
from tests.test_sweep_hostile43 import FIXTURES, _chattr

SAVED = "the sessions are saved in the store: run the same command again"
NOT_AGAIN = ", to write the table (the saved recordings are not analysed again)"


def _batch(tmp_path: Path, table: Path) -> tuple[int, str, str]:
    a, b = _two_recordings(tmp_path)
    return run_cli("batch", a, b, "--store", tmp_path / "st", "--table", table, "-j", "1", "--no-progress")


def _saved(tmp_path: Path) -> list[int]:
    with Store(tmp_path / "st") as st:
        return sorted(i.id for i in st.list())


def test_a_table_folder_marked_immutable_during_the_batch_says_to_take_the_mark_off(tmp_path, monkeypatch):
    """Before: the table's folder marked immutable while the batch ran (`chattr +i`: the kernel refuses any new
    name there, even to root) ended "cannot write d/t.csv: Operation not permitted; the sessions are saved in the
    store: run the same command again to write the table", and the same command was refused again. Now the line
    names the mark and what mends it; the sessions are saved; the command with --table in another folder writes
    their table without analysing them again."""
    import prosody_cli.batch as batch_cli
    folder = tmp_path / "d"
    folder.mkdir()
    real = batch_cli.write_table

    def marked_first(rows, path, **kw):
        _chattr("+i", folder)  # as a user would during the batch: the folder's mark set before the table's write
        return real(rows, path, **kw)

    monkeypatch.setattr(batch_cli, "write_table", marked_first)
    try:
        rc, out, err = _batch(tmp_path, folder / "t")
    finally:
        _chattr("-i", folder)
    assert rc == 1, err
    assert "batch: 2 recordings: 2 analysed, 0 skipped (already done), 0 failed" in out
    assert err.splitlines()[-1] == (
        f"prosody: error: cannot write {folder / 't.csv'}: Operation not permitted; {SAVED} once {folder} is no "
        f"longer marked immutable (chattr -i {folder}), or with --table in another folder{NOT_AGAIN}"), err
    assert "Traceback" not in err and list(folder.iterdir()) == []
    assert _saved(tmp_path) == [1, 2]
    monkeypatch.setattr(batch_cli, "write_table", real)
    other = tmp_path / "e"
    other.mkdir()
    rc, out, err = _batch(tmp_path, other / "t")
    assert rc == 0 and "0 analysed, 2 skipped (already done)" in out, (out, err)
    assert sorted(p.name for p in other.iterdir()) == ["t.csv", "t.parquet"]


@pytest.mark.parametrize("code, remedy", [
    (errno.EACCES, "with --table in a folder you can write"),
    (errno.EROFS, "with --table on a file system that is not read-only"),
    (errno.ENAMETOOLONG, "with a shorter --table name"),
    (errno.ENOENT, "once the folder is made again, or with --table in another folder"),
    (errno.EIO, "with --table in another folder"),
])
def test_a_table_unwritten_for_a_cause_no_rerun_mends_says_what_does(tmp_path, monkeypatch, code, remedy):
    """Each cause the write met after the work (planted: the write raising it), said with what mends it rather than
    "run the same command again" alone; exit 1, the sessions saved."""
    import prosody_cli.batch as batch_cli
    table = tmp_path / "t.csv"

    def refused(rows, path, **kw):
        raise OSError(code, os.strerror(code), str(table))

    monkeypatch.setattr(batch_cli, "write_table", refused)
    rc, out, err = _batch(tmp_path, tmp_path / "t")
    assert rc == 1 and "2 analysed" in out, err
    assert err.splitlines()[-1] == (f"prosody: error: cannot write {table}: {os.strerror(code)}; {SAVED} "
                                    f"{remedy}{NOT_AGAIN}"), err
    assert _saved(tmp_path) == [1, 2]


def test_a_full_disk_still_says_to_run_the_same_command_again(tmp_path, monkeypatch):
    """Guard: a full disk is mended by room, so the line stays "run the same command again to write the table"."""
    import prosody_cli.batch as batch_cli
    table = tmp_path / "t.csv"

    def full(rows, path, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(table))

    monkeypatch.setattr(batch_cli, "write_table", full)
    rc, _, err = _batch(tmp_path, tmp_path / "t")
    assert rc == 1
    assert err.splitlines()[-1].endswith("; the sessions are saved in the store: run the same command again to "
                                         "write the table"), err


# -- 2. delete of a session whose frames file is marked immutable -----------------------------------------------------

def _stored(tmp_path: Path, recording: Path | None = None) -> tuple[Path, Path]:
    """A store of one analysed session (of ``recording``, else one voice alone), and its frames file."""
    a = recording or _two_recordings(tmp_path)[0]
    assert run_cli("analyze", a, "--save", "--store", tmp_path / "st", "--quiet", "--no-progress")[0] == 0
    (frames,) = (tmp_path / "st" / "frames").iterdir()
    return tmp_path / "st", frames


def test_delete_of_a_session_whose_frames_file_is_immutable_is_refused_before_anything_is_deleted(tmp_path):
    """Before: `delete 1` committed the rows' removal, then "cannot access FRAMES: Operation not permitted", exit 1:
    the session gone from every list, its frames file whole (every frame of it readable), nothing said of either.
    Now refused in one line naming the mark, nothing deleted; with the mark off the same command deletes it all."""
    store, frames = _stored(tmp_path)
    before = frames.read_bytes()
    _chattr("+i", frames)
    try:
        rc, out, err = run_cli("delete", "1", "--store", store)
    finally:
        _chattr("-i", frames)
    assert rc == 1 and out == "", (out, err)
    assert err == (f"prosody: error: cannot delete session 1: its frames file {frames} is marked immutable (chattr "
                   f"+i), so its frames cannot be erased; nothing was deleted. Take the mark off (chattr -i {frames}) "
                   "and delete it again\n"), err
    assert _saved(tmp_path) == [1] and frames.read_bytes() == before
    assert [p.name for p in frames.parent.iterdir()] == [frames.name]  # no marker of a delete left
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0 and out == "deleted session 1\n", (out, err)
    assert _saved(tmp_path) == [] and list(frames.parent.iterdir()) == []


def test_a_frames_file_that_cannot_be_erased_after_the_commit_is_said_and_erased_by_the_next_delete(tmp_path,
                                                                                                    monkeypatch):
    """A mark set between the check and the erasing (planted: set just before the erase): the rows are deleted,
    and the line says so and that the frames file still holds the session's frames (it said "cannot access ...");
    with the mark off, `delete 1` again erases it."""
    import prosody.store.db as db
    store, frames = _stored(tmp_path)
    real = db.erase_file

    def marked_first(path):
        _chattr("+i", frames)
        return real(path)

    monkeypatch.setattr(db, "erase_file", marked_first)
    try:
        rc, out, err = run_cli("delete", "1", "--store", store)
    finally:
        _chattr("-i", frames)
    monkeypatch.setattr(db, "erase_file", real)
    assert rc == 1 and "deleted session" not in out, (out, err)
    assert err == (f"prosody: error: session 1's rows are deleted from the store, but its frames file {frames} could "
                   "not be erased (Operation not permitted): it still holds the session's frames; once that is "
                   "mended, `prosody delete 1` again erases it and what else is left of the session\n"), err
    assert frames.exists()  # whole; the next open of the store (its marker left) erases it
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0 and "frames file that no session held" in out, (out, err)
    assert _saved(tmp_path) == []
    assert list(frames.parent.iterdir()) == []


# -- 3. relabel of a session in a store on a read-only mount -----------------------------------------------------------

def test_relabel_in_a_store_on_a_read_only_mount_says_the_store_is_read_only(tmp_path):
    """The whole store folder a read-only bind mount after a session was saved. Before: `relabel 1` recomputed the
    measures, then "cannot write STORE/frames/UID.X.npz: Read-only file system" (a frames file's name the user never
    gave). Now the store's one line, as edit, note and delete say it; reading commands work; nothing changed."""
    from tests.test_sweep_hostile6 import _on_read_only_mount
    store, _ = _stored(tmp_path, FIXTURES / "dialogue.flac")  # two voices
    before = {p.name: p.read_bytes() for p in (store, store / "frames") for p in p.iterdir() if p.is_file()}
    s = str(store)
    results = _on_read_only_mount(store, [["relabel", "1", "--store", s], ["show", "1", "--store", s],
                                          ["edit", "1", "--therapist", "Ann", "--store", s]])
    said = (f"prosody: error: the session store {store} is read-only here (a read-only file system or folder); "
            "copy it to a writable folder to change it\n")
    assert results[0][0] == 1 and results[0][2] == said, results[0]
    assert results[1][0] == 0 and "session 1" in results[1][1], results[1]
    assert results[2][:1] == (1,) and results[2][2] == said, results[2]
    assert {p.name: p.read_bytes() for p in (store, store / "frames") for p in p.iterdir() if p.is_file()} == before
