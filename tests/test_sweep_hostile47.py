"""Hostile sweep 47 (docs/store.md "Hostile sweep 47"): sweep 46's leftovers.

1. A file replaced by a rename was zeroed through a descriptor held open on it (``fileio._erase_replaced``, sweep
   33). A path-based FUSE driver (fusefat) writes through a descriptor by the name it was opened by: the zeroing
   after the rename zeroed the NEW file (`write_private` twice onto one name there: the second read back as
   4,096 zeros). Zeroing is now kept to the file systems known to write by inode (``statfs``'s ``f_type``).
2. A store on such a file system (``chmod``: ENOSYS) was "cannot open vf/st: Function not implemented", its
   folder, frames folder and empty database left there. Now one line, nothing made.
3. The batch ledger marked ``chattr +i``/``+a``: `batch` said "cannot access ST/batch.sqlite: Operation not
   permitted" (the ledger's chmod), `delete` "the batch ledger ... is not readable (attempt to write a readonly
   database); move it aside" (it reads, and a marked file cannot be moved). Now the mark and how to take it off.
"""
from __future__ import annotations

import errno
import os

import pytest

from prosody import fileio
from tests.conftest import one_line_error, run_cli
from tests.test_sweep_hostile43 import FIXTURES, _chattr

QUIET = ("--quiet", "--no-progress")
FUSEBLK_MAGIC = 0x65735546  # statfs f_type of a FUSE block-device file system (fusefat), linux/magic.h
PROC_MAGIC = 0x9FA0  # /proc's, linux/magic.h
EXT4_MAGIC = 0xEF53
OVERLAYFS_MAGIC = 0x794C7630  # a container's root (Docker), linux/magic.h
NFS_MAGIC = 0x6969


# -- 1. a replaced file zeroed but on FUSE (whose drivers may write by path) -------------------------------------

def _zeroings(monkeypatch) -> list[int]:
    """Each ``fileio._zero`` call recorded (and done)."""
    calls: list[int] = []
    real = fileio._zero

    def counted(fd):
        calls.append(fd)
        real(fd)
    monkeypatch.setattr(fileio, "_zero", counted)
    return calls


def test_the_kind_of_file_system_is_read():
    """``fs_magic`` reads statfs's f_type: /proc's is PROC_SUPER_MAGIC."""
    fd = os.open("/proc", os.O_RDONLY)
    try:
        assert fileio.fs_magic(fd) == PROC_MAGIC
    finally:
        os.close(fd)


@pytest.mark.parametrize("magic, zeroed", [(FUSEBLK_MAGIC, 0), (EXT4_MAGIC, 1), (OVERLAYFS_MAGIC, 1), (NFS_MAGIC, 1),
                                           (None, 1)])
def test_a_replaced_file_is_zeroed_only_where_the_file_system_writes_by_inode(tmp_path, monkeypatch, magic, zeroed):
    """Before: the replaced file was zeroed on any file system; on fusefat (path-based) that zeroed the new file.
    Now, the file system planted as a FUSE one, the old file is let go unzeroed, the new one whole; planted as
    any file system of the kernel's (ext4, a container's overlayfs, NFS) or unread, zeroed as before."""
    monkeypatch.setattr(fileio, "fs_magic", lambda fd: magic)
    calls = _zeroings(monkeypatch)
    out = tmp_path / "z.bin"
    fileio.write_private(out, b"A" * 9927)
    fileio.write_private(out, b"B" * 9927)
    assert len(calls) == zeroed
    assert out.read_bytes() == b"B" * 9927


def test_a_file_written_twice_on_a_path_based_fuse_driver_keeps_the_new_bytes(fat_mount, monkeypatch):
    """Before, on fusefat with its refused chmod let through (a path-based driver that sets modes): the second
    write read back as 4,096 zeros. Now it reads back whole."""
    real = os.fchmod

    def lax(fd, mode):
        try:
            real(fd, mode)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
    monkeypatch.setattr(os, "fchmod", lax)
    out = fat_mount / "z.bin"
    fileio.write_private(out, b"A" * 9927)
    fileio.write_private(out, b"B" * 9927)
    assert out.read_bytes() == b"B" * 9927


# -- 2. a store where no file can be given a mode ----------------------------------------------------------------

def _not_implemented(*args, **kwargs):
    raise OSError(errno.ENOSYS, "Function not implemented")


def _no_modes(monkeypatch) -> None:
    """chmod and fchmod refused as fusefat refuses them."""
    for name in ("fchmod", "chmod"):
        monkeypatch.setattr(os, name, _not_implemented)


def test_a_new_store_where_files_take_no_mode_is_refused_and_nothing_made(tmp_path, monkeypatch):
    """Before: "cannot open vf/st: Function not implemented", exit 1, `st`, `st/frames` and `st/sessions.db`
    left. Now one line saying why, nothing made (a store's parent folders neither)."""
    _no_modes(monkeypatch)
    for store in (tmp_path / "st", tmp_path / "a" / "b" / "st"):
        rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET)
        one_line_error(rc, err, code=1)
        assert err == (f"prosody: error: cannot make the session store {store}: the file system of folder "
                       f"{tmp_path} cannot set a file's mode (chmod: Function not implemented), and a store is its "
                       "owner's alone (owner-only); nothing was made: give --store a folder on another file "
                       "system\n"), err
    assert list(tmp_path.iterdir()) == []


def test_a_store_copied_where_files_take_no_mode_is_said_so(tmp_path, monkeypatch):
    """A store copied onto such a file system (its database's mode not 0600 there): was "cannot open ST:
    Function not implemented"; now the file system's want and the way out."""
    store = tmp_path / "st"
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET)[0] == 0
    os.chmod(store / "sessions.db", 0o700)  # as fusefat shows every file
    _no_modes(monkeypatch)
    rc, _, err = run_cli("sessions", "--store", store)
    one_line_error(rc, err, code=1)
    assert err == (f"prosody: error: cannot open the session store {store}: its file system cannot set a file's "
                   "mode (chmod: Function not implemented), and a store is its owner's alone (owner-only); copy it "
                   "to a folder on another file system\n"), err


def test_a_store_on_a_real_fuse_fat_file_system_is_refused_and_nothing_made(fat_mount):
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", fat_mount / "st", *QUIET)
    one_line_error(rc, err, code=1)
    assert "cannot set a file's mode (chmod: Function not implemented)" in err, err
    assert list(fat_mount.iterdir()) == []


# -- 3. the batch ledger marked ---------------------------------------------------------------------------------

@pytest.mark.parametrize("flag, what", [("+i", "immutable"), ("+a", "append-only")])
def test_a_marked_batch_ledger_is_said_as_marked(tmp_path, monkeypatch, flag, what):
    """Before: `batch` "cannot access ST/batch.sqlite: Operation not permitted"; `delete 1` "... the batch ledger
    ST/batch.sqlite is not readable (attempt to write a readonly database); move it aside". Now both say the
    mark and how to take it off; the store unchanged (session 1 still there)."""
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "st"
    assert run_cli("batch", FIXTURES / "mono_therapist.wav", "--store", store, "--table", tmp_path / "t.csv",
                   "--no-progress")[0] == 0
    ledger = store / "batch.sqlite"
    _chattr(flag, ledger)
    try:
        batch = run_cli("batch", FIXTURES / "mono_therapist.wav", "--store", store, "--table", tmp_path / "t2.csv",
                        "--no-progress", "--force")
        delete = run_cli("delete", "1", "--store", store)
    finally:
        _chattr(flag.replace("+", "-"), ledger)
    said = (f"the batch ledger {ledger} is marked {what} (chattr {flag}), so no change can be written to it; the "
            f"store is unchanged: take the mark off (chattr -{flag[1]} {ledger}) to change it")
    one_line_error(batch[0], batch[2], code=1)
    assert batch[2] == f"prosody: error: {said}\n", batch
    one_line_error(delete[0], delete[2], code=1)
    assert delete[2] == f"prosody: error: session 1 was not deleted: {said}\n", delete
    assert "1" in run_cli("sessions", "--store", store)[1]
