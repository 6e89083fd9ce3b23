"""Hostile sweep 46 (docs/store.md "Hostile sweep 46"): sweep 45's leftovers, then fresh hostile inputs.

1. A rename that failed in ``fileio.replace_erasing`` (an export's frames file) or in a live session's later saves
   (``write_claimed``) named the staged temporary (`.l.json.ktbl28x7.tmp`), a name never shown; ``_link_new`` and
   ``write_private`` each said the output in their own way. ``replace_erasing`` now says it, once, for all.
2. The refusal of another user's file in a sticky folder reached through a symbolic link named the link, not the
   folder it leads to.
3. ``batch`` on a store on a read-only mount was "cannot access ro/batch.sqlite: Read-only file system".
4. A store's frames folder marked immutable was "cannot be written (Permission denied)"; marked append-only, an
   `analyze --save` analysed, then "cannot write FRAMES: Operation not permitted", a temporary of the session's
   frames left there for good; both found after the work (`analyze --save`, `batch`). Now said as the mark,
   before any work.
5. An output into a folder marked append-only was "folder d is not writable (Operation not permitted)", and the
   check's probe file stayed there (none may be removed there), one more at each try; a store folder marked
   immutable, or its database file marked, was "read-only here" (the database: after the work). Now said as the
   mark, before any work.
6. On a file system that keeps no extended attributes (vfat) an RTTM, CSV or TextGrid run again needs --overwrite
   (nothing tells prosody's own file from the user's there): the refusal now says why. Where the file system
   cannot set a file's mode at all (a FUSE FAT driver: ``chmod`` ENOSYS), every output failed after the work;
   now refused before it. An output's name that a FAT file system refuses (`s 10:30.json`) passed the folder's
   check and failed after the work; the output's own name is now tried first.
7. A file system with room but no inode left was "folder F is not writable (No space left on device)" before the
   work, "the disk holding it is full, 26.2 MB free" after it, and its store unreadable ("cannot open the session
   store (unable to open database file; 26.0 MB free)"); now said as no room for another file, the store read.
"""
from __future__ import annotations

import errno
import os
import shutil

import pytest

from prosody import fileio
from prosody.store.db import Store
from tests import test_sweep_hostile44 as sweep44
from tests.conftest import one_line_error, run_cli
from tests.test_sweep_hostile6 import _on_read_only_mount
from tests.test_sweep_hostile42 import _two_recordings
from tests.test_sweep_hostile43 import FIXTURES, _chattr

QUIET = ("--quiet", "--no-progress")
nobody, shared = sweep44.nobody, sweep44.shared  # the fixtures that run prosody as the user nobody


# -- 1. a failed rename said of the output -----------------------------------------------------------------------------

def test_a_rename_refused_in_replace_erasing_names_the_output_not_its_temporary(tmp_path):
    """Before: the rename over a file marked immutable (an export's frames file, put in place by
    ``replace_erasing`` itself) raised "[Errno 1] Operation not permitted" naming no file, or the temporary.
    Now the file asked for; the file there as it was."""
    target = tmp_path / "x.frames.npz"
    target.write_bytes(b"kept")
    staged = fileio.stage_private(target, b"new")
    _chattr("+i", target)
    try:
        with pytest.raises(PermissionError) as caught:
            fileio.replace_erasing(staged, target)
    finally:
        _chattr("-i", target)
        fileio.discard_staged(staged)
    assert caught.value.filename == str(target), caught.value
    assert target.read_bytes() == b"kept"


def test_a_live_save_refused_by_a_mark_names_the_save_and_the_next_save_goes_through(tmp_path):
    """Before: a live session's save over its own earlier save, marked immutable meanwhile, raised naming the
    staged temporary (`.l.json.ktbl28x7.tmp`), which the session said as the file it could not save. Now the save's
    own name; nothing left beside it; with the mark off the next save replaces it (its claim kept)."""
    save = tmp_path / "l.json"
    claims: dict = {}
    fileio.write_claimed(save, "first", claims)
    _chattr("+i", save)
    try:
        with pytest.raises(PermissionError) as caught:
            fileio.write_claimed(save, "second", claims)
    finally:
        _chattr("-i", save)
    assert caught.value.filename == str(save), caught.value
    assert save.read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["l.json"]
    fileio.write_claimed(save, "third", claims)
    assert save.read_text() == "third"


def test_a_stop_while_the_replaced_save_is_zeroed_keeps_the_claim(tmp_path, monkeypatch):
    """Guard of the change: ``write_claimed`` now puts its file in place through ``replace_erasing``, which zeroes
    the file it replaced before it returns. A stop there (Ctrl-C) comes after the new save is in place: the claim
    is the new file's, so the session's next save replaces it (said "another program wrote it" otherwise)."""
    save = tmp_path / "l.json"
    claims: dict = {}
    fileio.write_claimed(save, "first", claims)

    def stopped(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(fileio, "_zero", stopped)
    with pytest.raises(KeyboardInterrupt):
        fileio.write_claimed(save, "second", claims)
    monkeypatch.undo()
    assert save.read_text() == "second" and claims[save] == fileio.file_identity(save)
    fileio.write_claimed(save, "third", claims)
    assert save.read_text() == "third" and [p.name for p in tmp_path.iterdir()] == ["l.json"]


# -- 2. the sticky refusal through a link ------------------------------------------------------------------------------

def test_the_sticky_refusal_through_a_link_names_the_folder_it_leads_to(nobody, shared):
    """Before: `analyze r.wav --json nbh/link/s.json`, link a symbolic link to a sticky folder of root's holding
    root's s.json, said "in a folder with the sticky bit (SHARED/nbh/link, as /tmp)": the link, not the folder whose
    bit it is. Now the folder itself, and the link that leads there."""
    st = sweep44._sticky(shared / "st")
    sweep44._roots_file(st / "s.json")
    (shared / "nbh").mkdir(mode=0o755)
    (shared / "nbh" / "link").symlink_to(st)
    rc, err = nobody("analyze", "r.wav", "--json", "nbh/link/s.json", *QUIET, "--overwrite", cwd=shared)
    sweep44._one_line(rc, err)
    assert (f"the file there is another user's (root, uid 0), in a folder with the sticky bit ({st}, as /tmp; "
            f"{shared / 'nbh' / 'link'} leads there), where only its owner may replace it") in err, err
    rc, err = nobody("analyze", "r.wav", "--json", "st/s.json", *QUIET, "--overwrite", cwd=shared)
    sweep44._one_line(rc, err)
    assert f"sticky bit ({st}, as /tmp), where" in err, err  # no link: said as before


# -- 3. batch on a read-only store -------------------------------------------------------------------------------------

def test_batch_on_a_read_only_store_says_the_store_is_read_only(tmp_path):
    """Before: `batch r.wav --store ro`, ro a read-only bind mount of a store, "cannot access ro/batch.sqlite:
    Read-only file system" (the ledger, a path never given). Now the store's line, before any work; no table."""
    a, _ = _two_recordings(tmp_path)
    store = tmp_path / "st"
    assert run_cli("analyze", a, "--save", "--store", store, *QUIET)[0] == 0
    table = tmp_path / "t"
    (rc, out, err), = _on_read_only_mount(store, [["batch", str(a), "--store", str(store), "--table", str(table),
                                                   "--no-progress"]])
    one_line_error(rc, err)
    assert err == (f"prosody: error: the session store {store} is read-only here (a read-only file system or "
                   "folder); a batch saves each recording it analyses there: choose a writable store (--store)\n")
    assert out == "" and not list(tmp_path.glob("t.*"))


# -- 4. a frames folder marked immutable or append-only ----------------------------------------------------------------

@pytest.mark.parametrize("flag, what, keeps", [("+i", "immutable", "no file there can be made, renamed or removed"),
                                               ("+a", "append-only", "no file there can be renamed or removed")])
def test_a_marked_frames_folder_is_said_as_marked_before_any_work(tmp_path, flag, what, keeps):
    """Before: the store's frames folder marked immutable: `analyze --save` analysed, then "the session could not
    be saved (... frames folder FRAMES cannot be written (Permission denied) ...)", a rescue copy written; marked
    append-only: analysed, then "cannot write FRAMES/UID.X.npz: Operation not permitted", a temporary holding the
    session's frames left in the folder for good (no name there can be removed). `batch` the same after its first
    analysis. Now each is refused before any work, naming the mark and how to take it off; nothing written."""
    a, b = _two_recordings(tmp_path)
    store = tmp_path / "st"
    assert run_cli("analyze", a, "--save", "--store", store, *QUIET)[0] == 0
    frames = store / "frames"
    before = sorted(p.name for p in frames.iterdir())
    said = (f"prosody: error: the session store's frames folder {frames} is marked {what} (chattr {flag}), so "
            f"{keeps}; the store is unchanged: take the mark off (chattr -{flag[1]} {frames}) to change it\n")
    _chattr(flag, frames)
    try:
        results = [run_cli("analyze", b, "--save", "--store", store, *QUIET),
                   run_cli("batch", b, "--store", store, "--table", tmp_path / "t", "--no-progress"),
                   run_cli("edit", "1", "--notes", "x", "--store", store)]
        after = sorted(p.name for p in frames.iterdir())
    finally:
        _chattr("-" + flag[1], frames)
    for rc, out, err in results:
        one_line_error(rc, err, 1)
        assert err == said and out == "", err
    assert after == before
    assert not list(tmp_path.glob("prosody-unsaved-*")) and not list(tmp_path.glob("t.*"))
    with Store(store) as st:
        assert [s.id for s in st.list()] == [1]


# -- 5. an output's folder, or the store's, marked ---------------------------------------------------------------------

@pytest.mark.parametrize("flag, what, keeps", [("+i", "immutable", "no file there can be made, renamed or removed"),
                                               ("+a", "append-only", "no file there can be renamed or removed")])
def test_an_output_into_a_marked_folder_is_said_as_marked_and_leaves_nothing(tmp_path, flag, what, keeps):
    """Before: `analyze r.wav --json d/s.json`, d marked append-only, "folder d is not writable (Operation not
    permitted)", and the check's own probe file (`.prosody-probe-XXXX`), which no one may remove from such a
    folder, left there, one more at each try (`export -o`, `batch --table` alike); marked immutable, the same
    words. Now the mark and how to take it off, nothing made there."""
    folder = tmp_path / "d"
    folder.mkdir()
    _chattr(flag, folder)
    try:
        rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", folder / "s.json", *QUIET)
        listed = list(folder.iterdir())
    finally:
        _chattr("-" + flag[1], folder)
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot write --json {folder / 's.json'}: folder {folder} is marked {what} "
                   f"(chattr {flag}), so {keeps}; take the mark off (chattr -{flag[1]} {folder}), or choose another "
                   "folder\n"), err
    assert listed == []


def test_a_store_folder_marked_immutable_is_said_as_marked(tmp_path):
    """Before: the store's folder marked immutable (no -wal file can be made: read-only to SQLite) was "the session
    store st is read-only here (a read-only file system or folder); copy it to a writable folder" (`edit`,
    `delete`), "--store st is read-only here" (`analyze --save`): a mark said as a mount. Now the mark and how to
    take it off, before any work; reading still works."""
    a, _ = _two_recordings(tmp_path)
    store = tmp_path / "st"
    assert run_cli("analyze", a, "--save", "--store", store, *QUIET)[0] == 0
    marked = f"{store} is marked immutable (chattr +i), so no file there can be made, renamed or removed; "
    _chattr("+i", store)
    try:
        save = run_cli("analyze", a, "--save", "--store", store, *QUIET)
        edit = run_cli("edit", "1", "--notes", "x", "--store", store)
        batch = run_cli("batch", a, "--store", store, "--no-progress", "--table", tmp_path / "t")
        listed = run_cli("sessions", "--store", store)
    finally:
        _chattr("-i", store)
    one_line_error(*save[::2])
    assert save[2] == f"prosody: error: --store {marked}take the mark off (chattr -i {store}), or choose a writable " \
                      "store to --save\n", save
    one_line_error(*edit[::2], 1)
    assert edit[2] == f"prosody: error: the session store {marked}take the mark off (chattr -i {store}) to change " \
                      "it, or copy it to a writable folder\n", edit
    one_line_error(*batch[::2])
    assert batch[2] == f"prosody: error: the session store {marked}a batch saves each recording it analyses there: " \
                       f"take the mark off (chattr -i {store}), or choose a writable store (--store)\n", batch
    assert listed[0] == 0 and listed[1].startswith("1 session\n"), listed


@pytest.mark.parametrize("flag, what", [("+i", "immutable"), ("+a", "append-only")])
def test_a_store_database_marked_is_said_as_marked_before_any_work(tmp_path, flag, what):
    """Before: the store's sessions.db marked (`chattr +i`/`+a`): `analyze --save` analysed, then "the session could
    not be saved in the store (the session store st is read-only here (attempt to write a readonly database); copy
    it to a writable folder ...)", a rescue copy written; `batch` the same after its first recording; `edit` "read-
    only here". Now the mark and how to take it off, before any work; reading works."""
    a, _ = _two_recordings(tmp_path)
    store = tmp_path / "st"
    assert run_cli("analyze", a, "--save", "--store", store, *QUIET)[0] == 0
    db = store / "sessions.db"
    said = (f"prosody: error: the session store's database {db} is marked {what} (chattr {flag}), so no change can "
            f"be written to it; the store is unchanged: take the mark off (chattr -{flag[1]} {db}) to change it\n")
    _chattr(flag, db)
    try:
        results = [run_cli("analyze", a, "--save", "--store", store, *QUIET),
                   run_cli("batch", a, "--store", store, "--force", "--table", tmp_path / "t", "--no-progress"),
                   run_cli("edit", "1", "--notes", "x", "--store", store)]
        listed = run_cli("sessions", "--store", store)
    finally:
        _chattr("-" + flag[1], db)
    for rc, out, err in results:
        one_line_error(rc, err, 1)
        assert err == said, err
    assert not list(tmp_path.glob("prosody-unsaved-*")) and not list(tmp_path.glob("t.*"))
    assert listed[0] == 0 and listed[1].startswith("1 session\n"), listed


# -- 6. a file system without attributes, or without modes -------------------------------------------------------------

def _no_attributes(monkeypatch) -> None:
    """As on vfat: user extended attributes unsupported (ENOTSUP)."""
    def unsupported(*a, **k):
        raise OSError(errno.ENOTSUP, "Operation not supported")
    monkeypatch.setattr(os, "setxattr", unsupported)
    monkeypatch.setattr(os, "getxattr", unsupported)


def test_where_no_attributes_are_kept_the_refusal_of_a_rerun_says_why(tmp_path, monkeypatch):
    """Before: on vfat, `analyze r.wav --rttm s.rttm` run again was "a file of that name exists and would be
    replaced; ... add --overwrite", every time, though prosody wrote it: nothing said that there no file can
    carry the record that tells prosody's own. Now the line says so; a user's file refused for a page, which is
    told by what it holds, is said as before."""
    _no_attributes(monkeypatch)
    r = tmp_path / "s.rttm"
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--rttm", r, *QUIET)[0] == 0
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--rttm", r, *QUIET)
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot write --rttm {r}: a file of that name exists (this file system keeps no "
                   "extended attributes, where prosody marks the files it writes, so an RTTM, CSV, TextGrid or "
                   "baseline it wrote cannot be told from a file of yours there) and would be replaced; choose a new "
                   "name, or add --overwrite to replace it\n"), err
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--rttm", r, "--overwrite", *QUIET)[0] == 0
    store, page = tmp_path / "st", tmp_path / "notes.html"
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET)[0] == 0
    page.write_text("mine\n")
    rc, out, err = run_cli("report", "1", "--store", store, "-o", page)
    one_line_error(rc, err)
    assert "a file of that name exists and would be replaced" in err and "extended attributes" not in err, err


def test_a_folder_whose_files_cannot_be_given_a_mode_is_refused_before_the_work(tmp_path, monkeypatch):
    """Before: on a FAT file system mounted by a FUSE driver that sets no modes (fusefat: chmod ENOSYS), `analyze
    r.wav --json vf/s.json` analysed, then "cannot write vf/s.json: Function not implemented; it was not written",
    exit 1 (the analysis lost); `batch --table`, `export -o`, `report -o` alike. Now refused before any work."""
    def no_modes(fd, mode):
        raise OSError(errno.ENOSYS, "Function not implemented")
    monkeypatch.setattr(os, "fchmod", no_modes)
    out = tmp_path / "s.json"
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", out, *QUIET)
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot write --json {out}: the file system of folder {tmp_path} cannot set a "
                   "file's mode (chmod: Function not implemented), and prosody writes every file owner-only; choose "
                   "another folder\n"), err
    assert list(tmp_path.iterdir()) == []


REFUSED_NAME = ("takes no file of that name ({why}); FAT and exFAT (memory cards, USB sticks) and Windows shares "
                'take none of \\ : * ? " < > | in a name (some no letters beyond ASCII either): choose another name')


def test_a_name_the_file_system_refuses_is_refused_before_the_work(tmp_path, monkeypatch):
    """Before: on a FAT file system (a USB stick), `analyze r.wav --json "s 10:30.json"` (a time in the name, as
    people write it) passed the folder's check (its probe file's name is plain), analysed, then "cannot write s
    10:30.json: Invalid argument; it was not written", exit 1: the analysis lost. Now the output's own name is
    tried before the work (its temporary's), and said as a name the file system refuses."""
    real = os.open

    def fat_open(path, flags, mode=0o777, *, dir_fd=None):
        if ":" in os.path.basename(os.fsdecode(path)):  # as vfat refuses it (EINVAL)
            raise OSError(errno.EINVAL, "Invalid argument", path)
        return real(path, flags, mode, dir_fd=dir_fd)
    monkeypatch.setattr(os, "open", fat_open)
    out = tmp_path / "s 10:30.json"
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", out, *QUIET)
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot write --json {out}: the file system of folder {tmp_path} "
                   + REFUSED_NAME.format(why="Invalid argument") + "\n"), err
    assert list(tmp_path.iterdir()) == []
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", tmp_path / "s 10h30.json", *QUIET)[0] == 0


def test_a_real_fat_file_system_by_fuse_when_at_hand(fat_mount):
    """The same on a real FAT image mounted by fusefat (``conftest.fat_mount``), where mkfs.vfat and fusefat are
    installed and FUSE mounts can be made (root): `analyze --json` there refused before any work, for its modes,
    or first for a name FAT refuses; the folder as it was."""
    mount = fat_mount
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", mount / "s.json", *QUIET)
    named = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", mount / "s 10:30.json", *QUIET)
    listed = sorted(p.name for p in mount.iterdir())
    one_line_error(rc, err)
    assert "cannot set a file's mode (chmod: Function not implemented)" in err, err
    one_line_error(*named[::2])
    assert REFUSED_NAME.format(why="Operation not permitted") in named[2], named  # fusefat's word for it
    assert listed == []


# -- 7. a file system with room but no inode left ----------------------------------------------------------------------

@pytest.fixture
def few_inodes(tmp_path):
    """A 16 MB ext4 file system of 32 inodes, loop-mounted at ``tmp_path / "ino"`` (root, mkfs.ext4, a loop device;
    skipped where not), with a store of one session saved in it; every inode then used by empty files."""
    import subprocess
    image, mount = tmp_path / "ino.img", tmp_path / "ino"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    if shutil.which("mkfs.ext4") is None or os.geteuid() != 0:
        pytest.skip("needs root and mkfs.ext4")
    subprocess.run(["mkfs.ext4", "-q", "-N", "32", str(image)], check=True, capture_output=True)
    if subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot loop-mount here")
    try:
        assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", mount / "st", *QUIET)[0] == 0
        n = 0
        while True:
            try:
                (mount / f"f{n}").touch()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
            n += 1
        assert os.statvfs(mount).f_favail == 0 and os.statvfs(mount).f_bavail > 0
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_no_inode_left_is_said_as_such_and_the_store_still_reads(few_inodes):
    """Before: `analyze r.wav --json ino/s.json` there "folder ino is not writable (No space left on device)",
    with megabytes free; the store in it "cannot open the session store ino/st/sessions.db (unable to open
    database file; 13.0 MB free)" for every command, reading ones too. Now the line says no file can be made there
    (its inodes all used), and `sessions` and `show` read the store (read-only, as on a full disk)."""
    out = few_inodes / "s.json"
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", out, *QUIET)
    one_line_error(rc, err)
    assert err.startswith(f"prosody: error: cannot write --json {out}: the file system holding it can hold no more "
                          "files (all 32 of its inodes are used; "), err
    assert err.endswith(" MB free); make room there, or choose another folder\n"), err
    store = few_inodes / "st"
    rc, out, err = run_cli("sessions", "--store", store)
    assert rc == 0 and out.startswith("1 session\n"), (out, err)
    rc, out, err = run_cli("edit", "1", "--notes", "x", "--store", store)
    one_line_error(rc, err, 1)
    assert err.startswith(f"prosody: error: the file system holding {store / 'sessions.db'} can hold no more files "
                          "(all 32 of its inodes are used; "), err
    assert err.endswith("; the store is unchanged. Remove some files from that file system and try again\n"), err


def test_an_output_unwritten_for_want_of_an_inode_says_so(tmp_path, monkeypatch):
    """After the work: the one inode left taken meanwhile, the write's ENOSPC was "the disk holding it is full,
    26.2 MB free". Now said as no room for another file (planted: the file system reports no inode free)."""
    from collections import namedtuple
    real = os.statvfs
    fields = namedtuple("statvfs", "f_bsize f_frsize f_blocks f_bfree f_bavail f_files f_ffree f_favail f_flag "
                                   "f_namemax")

    def no_inodes(path):
        st = real(path)
        return fields(st.f_bsize, st.f_frsize, st.f_blocks, st.f_bfree, st.f_bavail, 32, 0, 0, st.f_flag,
                      st.f_namemax)
    monkeypatch.setattr(os, "statvfs", no_inodes)
    said = fileio.unwritten_text(OSError(errno.ENOSPC, "No space left on device"), tmp_path / "s.rttm")
    assert said.startswith(f"cannot write {tmp_path / 's.rttm'}: the file system holding it can hold no more "
                           "files (all 32 of its inodes are used; "), said
