"""Owner-only, atomic file writes: therapy data never lands half-written or world-readable."""
from __future__ import annotations

import errno
import functools
import json
import os
import re
import stat
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Union

Data = Union[str, bytes, Callable]


def write_private(path: str | os.PathLike, data: Data, *, tmp_prefix: str | None = None,
                  tmp_suffix: str = ".tmp", new_only: bool = False, whose: dict | None = None) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``data``: text
    (UTF-8), bytes, or a callable that writes into the binary file object.
    The file is fsynced before the rename and the folder after it, so a crash
    leaves either the old file or the new one; the old one is then zeroed
    (``replace_erasing``: its blocks were freed holding it; hostile sweep 33). ``new_only``: put in place only
    where no file is (``replace_erasing``). ``whose``: what the output was written from (``mark_output``), so
    that prosody knows it for its own untouched output when asked to write it again."""
    path = Path(path)
    tmp = stage_private(path, data, tmp_prefix=tmp_prefix, tmp_suffix=tmp_suffix)
    try:
        if whose is not None:
            mark_output(tmp, whose)
        replace_erasing(tmp, path, new_only=new_only)
    except BaseException:
        discard_staged(tmp)
        raise
    if tmp_prefix is None and tmp_suffix == ".tmp":  # a write of this name killed before (export -o, report -o)
        sweep_staged(path.parent, names=(path.name,))


def file_identity(path: str | os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` names (a link itself, not followed), None when nothing does."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def being_recorded(path: str | os.PathLike) -> bool:
    """Whether a live session is recording into ``path`` now: it holds the file (``flock``, from its start to
    its end; ``prosody.live.runner``). False where it cannot be told (no such file, no flock there)."""
    import fcntl
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # a lock taken here goes with it
    return False


def write_claimed(path: str | os.PathLike, data: Data, claims: dict) -> None:
    """``write_private``, for a file that one writer keeps rewriting (a live session's saves):
    ``claims[path]`` is the identity (``file_identity``) of the file this writer may replace. When
    there is no file the name is taken exclusively (two writers starting alike cannot both take it);
    when another file is there (another program wrote it meanwhile) nothing is written and
    FileExistsError names ``path``. On success ``claims[path]`` is the file written."""
    path = Path(path)
    other = FileExistsError(errno.EEXIST, "another program wrote it meanwhile (another live session saving "
                                          "under the same name?)", str(path))

    def taken() -> tuple[int, int] | None:
        now = file_identity(path)
        if now is not None and now != claims.get(path):
            raise other
        return now

    taken()  # before writing the data (a session kept out of its name tries it at every save)
    tmp = stage_private(path, data)
    written = None
    try:
        st = os.stat(tmp)
        written = (st.st_dev, st.st_ino)
        now = taken()
        try:  # a new name taken only where none has it (a hard link; without them, an exclusive create)
            replace_erasing(tmp, path, new_only=now is None, replaced=now)
        except FileExistsError:  # a file or a link put there meanwhile: said as another writer's
            raise other from None
    except BaseException:
        discard_staged(tmp)
        raise
    finally:  # in place even where a stop cut the old file's zeroing short: the next save may replace it
        if written is not None and file_identity(path) == written:
            claims[path] = written


def replace_erasing(tmp: str | os.PathLike, path: str | os.PathLike, *, new_only: bool = False,
                    replaced: tuple[int, int] | None = None) -> None:
    """``os.replace(tmp, path)`` and the folder fsynced, then the file it replaced zeroed (``_erase_replaced``;
    ``replaced``: only where it is the file of that identity): the new file whole in its place before the old one
    is touched. ``new_only``: an output that was no file when the command checked it (``check_outputs``), without
    --overwrite: put there by a hard link, which no file made there meanwhile lets through (FileExistsError naming
    ``path``; a rename replaced it, unsaid: another prosody's export of that name, or the user's file, written
    during an hour's analysis; hostile sweep 38). An OSError is said of ``path``: a failed rename or link names
    its source, the staged temporary, a name never shown (hostile sweeps 43, 44, 46)."""
    try:
        _put_in_place(tmp, path, new_only=new_only, replaced=replaced)
    except OSError as exc:
        if exc.filename not in (None, os.fspath(tmp)):
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(path)) from exc


def _put_in_place(tmp: str | os.PathLike, path: str | os.PathLike, *, new_only: bool,
                  replaced: tuple[int, int] | None) -> None:
    """``replace_erasing``'s work, its errors as the system gives them."""
    if new_only and _link_new(tmp, path):
        sync_folder(Path(path).parent)
        return
    # no hard links here (vfat): the name taken by an exclusive create, then renamed over
    taken = _take_name(path) if new_only else None
    old = _replaced_file(Path(path), replaced)
    try:
        os.replace(tmp, path)
    except BaseException:
        _let_go(old)
        _give_up_name(path, taken)
        raise
    sync_folder(Path(path).parent)
    _erase_replaced(old)


MADE_MEANWHILE = ("a file of that name was made while this command ran (not replaced: choose a new name, or add "
                  "--overwrite)")


def _link_new(tmp: str | os.PathLike, path: str | os.PathLike) -> bool:
    """``tmp`` given the name ``path`` where nothing has it, its own name then removed: True; False where the file
    system makes no hard links (FAT, some network shares: the rename is left to do it). FileExistsError where a
    file is there."""
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, MADE_MEANWHILE, str(path)) from None
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            return False
        raise
    os.unlink(tmp)
    return True


def _take_name(path: str | os.PathLike) -> tuple[int, int]:
    """An empty file made at ``path`` where none is (``O_EXCL``), for a rename to replace: on a file system
    without hard links (vfat: ``_link_new``) a file made there meanwhile was replaced by the rename, unsaid
    (hostile sweep 40). Returns its identity (device, inode); FileExistsError naming ``path`` where one is."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, MADE_MEANWHILE, str(path)) from None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return st.st_dev, st.st_ino


def _give_up_name(path: str | os.PathLike, taken: tuple[int, int] | None) -> None:
    """After a failed rename, the empty file ``_take_name`` made at ``path`` (identity ``taken``) removed where it
    is still that file: one put there meanwhile is kept, and a name gone already raises nothing over the write's
    own error (the review of sweep 40: ``os.unlink`` there hid it, or removed another's file)."""
    if taken is None:
        return
    with suppress(OSError):
        if file_identity(path) == taken:
            os.unlink(path)


def _replaced_file(path: Path, identity: tuple[int, int] | None = None) -> int | None:
    """The file a rename is about to replace at ``path``, held open (a descriptor) to be zeroed once the new one
    is in place (``_erase_replaced``): a regular file of this user with no other name (``identity``, where
    given: only that file), on a file system that writes through a descriptor to its file (``_writes_by_inode``).
    None where there is none, or it is not one to zero."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # none, a link, a file not writable: left to the rename alone
        return None
    try:
        st = os.fstat(fd)
        if (stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1
                and (identity is None or (st.st_dev, st.st_ino) == identity) and _writes_by_inode(fd)):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


# statfs f_type (linux/magic.h) of FUSE, whose drivers may write through a descriptor by the name the file was opened
# by, not to the inode it was opened on: zeroing a replaced file held open there (fusefat) zeroed the new file under
# that name (hostile sweep 47). Every file system in the kernel (ext4, XFS, Btrfs, tmpfs, overlayfs, NFS, SMB, vfat,
# exfat...) writes through the descriptor to its own file.
FUSE_SUPER_MAGIC = 0x65735546
STATFS_BUFFER_BYTES = 256  # larger than struct statfs on any Linux ABI (120 bytes on x86-64); f_type comes first


def fs_magic(fd: int) -> int | None:
    """``fstatfs(fd).f_type``, the kind of file system holding the open file ``fd`` (Linux: a magic number of
    ``linux/magic.h``); None where it cannot be read (another system, no libc at hand)."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fstatfs = libc.fstatfs
    except (OSError, AttributeError):
        return None
    buf = ctypes.create_string_buffer(STATFS_BUFFER_BYTES)
    if fstatfs(fd, buf) != 0:
        return None
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def _writes_by_inode(fd: int) -> bool:
    """Whether the file system holding ``fd`` writes through a descriptor to its own file: every one but FUSE
    (``FUSE_SUPER_MAGIC``), where a replaced file is let go as it is, never zeroed; where the kind cannot be read
    (not Linux), as the kernel's."""
    return fs_magic(fd) != FUSE_SUPER_MAGIC


def _let_go(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _erase_replaced(fd: int | None) -> None:
    """The file a rename replaced (``_replaced_file``), zeroed and fsynced now that the new one is whole in its
    place, then let go: freed by the rename alone, its blocks kept what it held (a live session's autosaves,
    an export written over) on the disk till reused (hostile sweep 33). Only where no name reaches it any more
    and no other program has it open (a reader mid-read would read zeros): Linux's write lease is granted only
    then; elsewhere, or where it is refused, it is let go as it is. Best effort: the write stands either way."""
    if fd is None:
        return
    try:
        if os.fstat(fd).st_nlink == 0 and _alone(fd):
            _zero(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _alone(fd: int) -> bool:
    """Whether no other open file description holds the file ``fd`` (a write lease is granted only then)."""
    import fcntl
    lease = getattr(fcntl, "F_SETLEASE", None)
    if lease is None:
        return False
    try:
        fcntl.fcntl(fd, lease, fcntl.F_WRLCK)
    except OSError:
        return False
    fcntl.fcntl(fd, lease, fcntl.F_UNLCK)  # no name reaches it: nobody can open it from here on
    return True


def _zero(fd: int) -> None:
    """The open file ``fd`` overwritten with zeros where it holds data (``_data_extents``), fsynced. Its holes
    are left holes: zeroed over its whole length, a sparse file (`truncate -s 100G x.json`, then `export -o
    x.json`) had every block of it written, minutes of writing and the disk filled for a file of some kB
    (hostile sweep 34)."""
    zeros = bytes(ERASE_CHUNK_BYTES)
    for start, end in _data_extents(fd, os.fstat(fd).st_size):
        for at in range(start, end, ERASE_CHUNK_BYTES):
            os.pwrite(fd, zeros[: min(ERASE_CHUNK_BYTES, end - at)], at)
    os.fsync(fd)


def _data_extents(fd: int, size: int):
    """(start, end) byte ranges of the open file ``fd`` (``size`` bytes) that hold data, its holes left out
    (``SEEK_DATA``/``SEEK_HOLE``); the whole file where the system or file system cannot tell."""
    seek_data, seek_hole = getattr(os, "SEEK_DATA", None), getattr(os, "SEEK_HOLE", None)
    at = 0
    while at < size:
        try:
            start = os.lseek(fd, at, seek_data) if seek_data is not None else at
            end = min(os.lseek(fd, start, seek_hole), size) if seek_hole is not None else size
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data from ``at`` on: the rest is a hole
                return
            start, end = at, size  # unsupported here: all of it
        if end <= start:
            return
        yield start, end
        at = end


def stage_private(path: str | os.PathLike, data: Data, *, tmp_prefix: str | None = None,
                  tmp_suffix: str = ".tmp") -> Path:
    """The first half of ``write_private``: ``data`` written and fsynced into a new 0600
    temporary file beside ``path``, whose path is returned; the caller renames it over
    ``path`` (``os.replace``, then ``sync_folder``) or removes it (``discard_staged``).
    For files that belong together (an export's JSON and the frames it names): each is
    staged, and none is put in place unless all of them could be written. Raises OSError
    naming ``path`` (a full disk names no file), with nothing left behind."""
    path = Path(path)
    prefix = tmp_prefix or f".{_staged_stem(path.parent, path.name, tmp_suffix)}."
    try:
        fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=prefix, suffix=tmp_suffix)
    except OSError as exc:  # its folder removed meanwhile, unwritable: said of the file asked for, not of a
        # temporary name never shown (`cannot access DIR/.r.html.naw7wq4b.tmp`, sweep 12)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as exc:
        discard_staged(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # a full disk names no file: say which one
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    return Path(tmp)


# the temporary names stage_private gives by default: .NAME.RANDOM.tmp, RANDOM being tempfile's 8 characters
TEMP_RANDOM_CHARS = 8
NAME_MAX_BYTES = 255  # a file name's most bytes (ext4, XFS, Btrfs, tmpfs, vfat's long names), where not told


def name_max(folder: str | os.PathLike) -> int:
    """The most bytes a file name may have in ``folder`` (``pathconf``; ``NAME_MAX_BYTES`` where not told)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return NAME_MAX_BYTES


def _staged_stem(folder: str | os.PathLike, name: str, tmp_suffix: str) -> str:
    """``name`` as the temporary ``.NAME.RANDOM.tmp`` of a write to it holds it: cut (bytes, from its end) so that
    the temporary's name fits ``name_max``: an output of a 255-byte name (legal) failed after the work, "File
    name too long", its temporary's name 270 bytes (an hour's analysis without --save lost; hostile sweep 40)."""
    room = name_max(folder) - len(b"..") - TEMP_RANDOM_CHARS - len(os.fsencode(tmp_suffix))
    encoded = os.fsencode(name)
    return name if len(encoded) <= room else os.fsdecode(encoded[:max(room, 1)])


STAGED_MIN_AGE_S = 3600.0  # a temporary younger than this may belong to a write in progress (another prosody's)


def sweep_staged(folder: str | os.PathLike, *, suffixes: tuple[str, ...] = (), names: tuple[str, ...] = (),
                 min_age_s: float = STAGED_MIN_AGE_S) -> list[str]:
    """Remove from ``folder`` the temporaries a killed ``write_private`` left (SIGKILL, a power cut: its
    own clean-up never ran): ``.NAME.RANDOM.tmp`` for NAME ending in one of ``suffixes`` or equal to one
    of ``names``, a regular file of this user, owner-only (0600, as ``stage_private`` makes them), with
    one link, not changed for ``min_age_s``. With ``suffixes``, also one whose NAME was cut to fit the folder's
    ``name_max`` (``_staged_stem``): its suffix is cut off, but its name is exactly ``name_max`` bytes long, which no
    temporary of an uncut name is (hostile sweep 41: `live`'s sweep by suffix left those for good). Nothing
    else is touched (a user's file so named is not owner-only or not old, a link is not followed). Best effort:
    a folder that cannot be read is left as it is. Returns the names removed."""
    whole = [".+(?:" + "|".join(re.escape(s) for s in suffixes) + ")"] if suffixes else []
    whole += [re.escape(_staged_stem(folder, n, ".tmp")) for n in names]
    if not whole:
        return []
    tail = rf"\.[a-z0-9_]{{{TEMP_RANDOM_CHARS}}}\.tmp"  # tempfile's characters, then the default suffix
    name = re.compile(r"\.(?:" + "|".join(whole) + ")" + tail)
    cut = re.compile(r"\..+" + tail) if suffixes else None
    most = name_max(folder)
    cutoff = time.time() - min_age_s
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        if not (name.fullmatch(e.name) or cut is not None and len(os.fsencode(e.name)) == most
                and cut.fullmatch(e.name)):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if (stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o600
                    and st.st_nlink == 1 and st.st_mtime < cutoff):
                os.unlink(e.path)
                removed.append(e.name)
        except OSError:  # gone meanwhile (another prosody's sweep), or not ours to remove
            continue
    return removed


def discard_staged(tmp: str | os.PathLike) -> None:
    """Remove a file ``stage_private`` wrote (gone already is fine)."""
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def sync_folder(folder: str | os.PathLike) -> None:
    """fsync a folder, so that a rename in it survives a crash (best effort)."""
    try:
        dfd = os.open(str(folder), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def sqlite_errors(method):
    """Methods of an object holding a SQLite database (the store, the batch ledger) raise its own
    one-line error, never sqlite3's: a SQLite error met while reading or writing becomes
    ``self.sqlite_error(exc)``. Programming errors (``sqlite3.ProgrammingError``: a bug, not the
    database's state) pass through."""
    import functools
    import sqlite3

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self.sqlite_error(exc) from None
    return guarded


def restrict_sqlite_sidecars(db_path: str | os.PathLike) -> None:
    """Make an SQLite database's ``-wal`` and ``-shm`` files owner-only (SQLite
    creates them with the database file's mode, but an older file may differ)."""
    for suffix in ("-wal", "-shm"):
        p = Path(str(db_path) + suffix)
        if p.exists() and p.stat().st_mode & 0o077:
            os.chmod(p, 0o600)


# -- guards: what a command may read and write ---------------------------------------------------------------------
# One rule for every output of every command: never the same file as an input,
# never through a symbolic link, never a device node, FIFO or socket, two outputs
# never the same file, and an existing file is not replaced without an explicit
# --overwrite, but for one this output makes again (a prosody page, a batch's
# table: ``remade``). Checked before any work starts.

RECORDING_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".w64",
                                ".rf64", ".au", ".snd", ".m4a", ".mp4", ".aac", ".wma", ".webm", ".mkv", ".mov"})


def _kind_of(mode: int) -> str | None:
    """'a FIFO (pipe)' etc. for a special file's mode; None for a regular file or folder."""
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return None


def kind_taking(path: str | os.PathLike) -> str | None:
    """What holds ``path`` where a regular file belongs (a store's database, the batch ledger): "a folder", "a FIFO
    (named pipe)", ...; None where nothing, a regular file or a symbolic link (refused apart) is there."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else _kind_of(mode) or "no regular file"


def _identity(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def small_file_problem(path: str | os.PathLike, *, max_bytes: int) -> str | None:
    """What keeps ``path`` from being read whole as a small file (a config, a baseline), or None:
    a FIFO or device (the read would wait for a writer or never end) or a file over
    ``max_bytes``. A missing or unreadable file is left to the read, which names its error."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    kind = _kind_of(st.st_mode)
    if kind is not None:
        return f"is {kind}, not a regular file; save it to a file first"
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        return f"is {st.st_size} bytes, more than such a file holds ({max_bytes >> 20} MiB at most)"
    return None


def missing_file_text(path: str | os.PathLike, *, what: str = "file") -> str:
    """Why ``path``, which cannot be opened, is not there: "no such WHAT: PATH", or a symbolic link
    that leads nowhere said as one (a link loop was said "no such file", true to the OS, loose in words;
    hostile sweep 30)."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{path} is a symbolic link loop (its links lead back to themselves, never to a file)"
        if os.path.islink(path):
            return f"{path} is a symbolic link to {os.readlink(path)}, which does not exist"
    return f"no such {what}: {path}" + _windows_path_hint(str(path))


def _windows_path_hint(path: str) -> str:
    """Words for a missing path written as Windows writes one (a manifest made there lists ``sub\\a.wav``): where
    the same path with ``/`` exists, it is named; a drive letter (``C:\\``) is said. Every row of such a manifest
    was "no such file: sub\\a.wav" beside the file sub/a.wav, the backslash unsaid (hostile sweep 36)."""
    if os.sep != "/" or "\\" not in path:
        return ""
    alt = path.replace("\\", "/")
    if os.path.exists(alt):
        return f" (its folders are separated by \\, as on Windows; here they are separated by /: {alt} exists)"
    if re.match(r"[A-Za-z]:\\", path):
        return " (a Windows path, with a drive letter: give the file's path on this machine, folders separated by /)"
    return ""


UTF16_ZEROS_SHARE = 0.4  # UTF-16 text of Latin letters has a zero in every other byte; UTF-8 text has none


def not_utf8_said(data: bytes, *, save_as: str = "UTF-8") -> str:
    """Where the bytes ``data`` of a text file (a manifest, a config) are not UTF-8 (a BOM allowed), what they
    are and how to convert them, as a clause to follow "... is not UTF-8 text"; '' where they are UTF-8. UTF-16 (a
    BOM, or a zero in every other byte: a spreadsheet's "Unicode Text", Notepad's "Unicode") is named; any other,
    the line of its first byte that UTF-8 cannot have, said as Windows-1252 or Latin-1, which an older
    spreadsheet's "CSV" or editor saves (a Latin-1 manifest was "is not UTF-8 text" alone: hostile sweep 42).
    ``save_as``: what to save it as instead."""
    head = data[:4096]
    half = len(head) // 2
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (
            half and max(head[0::2].count(0), head[1::2].count(0)) > half * UTF16_ZEROS_SHARE):
        return (f": it is UTF-16 (a spreadsheet's \"Unicode Text\", Notepad's \"Unicode\"); save it as {save_as}, "
                "or convert it: iconv -f UTF-16 -t UTF-8")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return (f": its line {line} holds the byte 0x{data[exc.start]:02X}, which UTF-8 text has not there "
                f"(Windows-1252 or Latin-1?); save it as {save_as}, or convert it: iconv -f WINDOWS-1252 -t UTF-8")
    return ""


def check_input_file(path: str | os.PathLike, *, what: str = "") -> None:
    """Raise InputError unless ``path`` is an existing regular file, naming
    what it is instead (missing, a directory, a pipe, a device). ``what``
    prefixes the message, e.g. "cannot import"."""
    from .errors import InputError
    pre = f"{what}: " if what else ""
    try:
        st = os.stat(path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) or exc.errno == errno.ELOOP:
            raise InputError(pre + missing_file_text(path)) from None
        raise InputError(f"{pre}cannot read {path} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{pre}{path} is a directory, not a file")
    kind = _kind_of(st.st_mode)
    if kind is not None:
        raise InputError(f"{pre}{path} is {kind}, not a regular file: prosody reads a file it can open more "
                         "than once; save the stream to a file first")


def input_state(path: str | os.PathLike) -> tuple[int, int, int, int, int] | None:
    """(device, inode, kind of file, size, modification time in ns) of the file ``path`` names (links
    followed), None when it cannot be looked at: taken before an analysis and again after it
    (``input_change``)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns


def input_change(path: str | os.PathLike, before, *, doing: str = "analysed",
                 made: str = "the figures are") -> tuple[str, str] | None:
    """How the file at ``path`` differs from its ``input_state`` ``before``, taken when its analysis
    started: ("replaced", why) when another file is there now (renamed or copied over it: the analysis
    read the one it opened, which the path no longer names) or none is; ("truncated", why) when the same
    file was cut shorter (what was read may be gone from it); ("changed", why) when it was written to
    meanwhile, no shorter (a recorder still appending); None when unchanged. ``doing``: what was done
    with it, in the words said ("analysed", "replayed", "read"); ``made``: what came of it ("the figures
    are", "what was read is")."""
    now = input_state(path)
    if before is None:
        return None
    if now is None:
        return "replaced", f"{path} was removed or moved while it was being {doing}"
    if now[:3] != before[:3]:  # another file, or another kind of one (a FIFO there: hashing it waited for ever)
        # a folder made where the file was is said as one (it read 'another file renamed or copied over it')
        kind = _kind_of(now[2]) or ("a folder" if stat.S_ISDIR(now[2]) else None)
        return "replaced", (f"{path} was replaced while it was being {doing} (" + (
            f"it is {kind} now" if kind else "another file renamed or copied over it") + f"): {made} of "
            "the file it was, which that name no longer holds")
    if now[3] < before[3]:
        return "truncated", (f"{path} was cut short while it was being {doing}, from {before[3]} to {now[3]} "
                             "bytes: what was read may no longer be in it")
    if now[3:] != before[3:]:
        grew = f", from {before[3]} to {now[3]} bytes" if now[3] != before[3] else ""
        return "changed", f"{path} was written to while it was being {doing}{grew} (a recording still being made?)"
    return None


def _store_around(real: str) -> list[str]:
    """The session store folder (``sessions.db`` beside a ``frames`` folder) that the resolved output
    path ``real`` lies in, directly or in its frames folder, as a list of none or one: any store, not
    only the command's (``analyze --rttm STORE/batch.sqlite`` without --store replaced that store's
    ledger)."""
    folder = os.path.dirname(real)
    for f in (folder, os.path.dirname(folder) if os.path.basename(folder) == "frames" else None):
        if f and os.path.isfile(os.path.join(f, "sessions.db")) and os.path.isdir(os.path.join(f, "frames")):
            return [f]
    return []


def check_outputs(outputs, *, inputs=(), overwrite: bool = False, stdout_ok: bool = True,
                  protected=(), page: bool = False, remade=None) -> None:
    """Refuse, before any work, outputs that would destroy something.

    ``outputs``: (label, path) pairs, e.g. ("--json", "s.json"); a None path is
    skipped, "-" is stdout (allowed when ``stdout_ok``). ``inputs``: paths read
    by the command (compared by resolved path and by (st_dev, st_ino), so a hard
    link or another spelling is caught). ``overwrite`` (the command's --overwrite): an existing file may be
    replaced; without it only one ``remade(path)`` is true of (the kind of file this output writes, made by
    prosody before: a report page written again) may be. ``protected``: folders
    no output may be written into (the session store: its database, ledger and frames files are
    prosody's own, and a stored session's data would be replaced). Each output's folder must take
    a new file (tried for real, before any work). ``page``: the outputs are HTML pages, which never replace a
    saved session (a session JSON, analysed, exported or live, or its frames file). Raises InputError with one
    line naming the output, what is wrong and what to do instead."""
    from .errors import InputError
    guarded = [os.path.realpath(p) for p in protected if p]
    in_paths = {os.path.realpath(p) for p in inputs if p and p != "-"}
    in_ids = {i for i in (_identity(p) for p in inputs if p and p != "-") if i is not None}
    seen: dict[str, str] = {}
    seen_ids: dict[tuple[int, int], str] = {}
    for label, path in outputs:
        if path is None:
            continue
        path = str(path)
        if path == "-":
            if not stdout_ok:
                raise InputError(f"{label} -: this output cannot go to stdout; give a file name")
            if "-" in seen:
                raise InputError(f"{label} - and {seen['-']} - both write to stdout; give one of them a file name")
            seen["-"] = label
            continue
        if not path.strip():
            raise InputError(f"{label} {path!r}: an empty file name; give a file name")
        where = f"{label} {path}"
        if path.endswith(os.sep) or os.path.isdir(path) and not os.path.islink(path):
            raise InputError(f"cannot write {where}: it is a folder; give a file name")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise InputError(f"cannot write {where}: folder {parent} does not exist")
        n_bytes, most = len(os.fsencode(os.path.basename(path))), name_max(parent)
        if n_bytes > most:  # was "cannot access PATH: File name too long", exit 1 (hostile sweep 40)
            raise InputError(f"cannot write {where}: its name is {n_bytes} bytes long, more than the {most} a file "
                             "name may have there; choose a shorter name")
        st = _regular_or_none(path, where, stdout_ok=stdout_ok)
        real = os.path.realpath(path)
        for folder in [*guarded, *_store_around(real)]:
            if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
                raise InputError(f"cannot write {where}: it lies in the session store {folder}, whose files only "
                                 "prosody writes (a stored session's data would be replaced); choose a path outside it")
        check_writable_folder(parent, label=where, name=os.path.basename(path))
        ident = (st.st_dev, st.st_ino) if st is not None else None
        if real in in_paths or (ident is not None and ident in in_ids):
            raise InputError(f"cannot write {where}: it is an input of this command and would be overwritten; "
                             "choose another file name")
        other = seen.get(real) or (seen_ids.get(ident) if ident is not None else None)
        if other is not None:
            raise InputError(f"cannot write {where}: {other} names the same file; give each output its own name")
        seen[real] = label
        if ident is not None:
            seen_ids[ident] = label
        if st is not None:  # a file no write of this command can replace is said first: --overwrite cannot help
            _refuse_locked(path, where)
            _refuse_others_in_sticky(path, where, st)
            _refuse_replacing(path, where, overwrite=overwrite, page=page, remade=remade)


def new_outputs(paths) -> frozenset[str]:
    """Of the output ``paths`` (None and "-" left out), those where no file is now, each as ``str(Path(p))``:
    written there only as new files (``write_private(new_only=True)``) unless --overwrite."""
    return frozenset(str(Path(p)) for p in paths if p not in (None, "-") and not os.path.lexists(p))


def _regular_or_none(path: str, where: str, *, stdout_ok: bool):
    """``os.lstat`` of an output's path (None where nothing is there); refused where it is a link (prosody does
    not write through links) or no regular file (a FIFO, a device, a socket)."""
    from .errors import InputError
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"cannot write {where}: it is a symbolic link (to {os.readlink(path)}); "
                         "prosody does not write through links: give the real path or a new name")
    kind = _kind_of(st.st_mode)
    if kind is not None:
        raise InputError(f"cannot write {where}: it is {kind}, not a regular file"
                         + ("; use - for stdout" if stdout_ok else ""))
    return st


def _refuse_replacing(path: str, where: str, *, overwrite: bool, page: bool, remade) -> None:
    """An existing file an output would replace: refused where it is a live session (the only copy of a capture
    whose audio was not kept: ``--overwrite`` is for other files) or, for an HTML page, a saved session (`report 9
    -o s1.json` put a page where the export it was imported from was); else refused unless ``overwrite`` or
    ``remade(path)``. `export 2 -o s1.json` replaced session 1's export, and `-o notes.txt` a file of the user's,
    without a word (hostile sweep 38)."""
    from .errors import InputError
    live = _live_session_at(path)
    if live is not None:
        raise InputError(f"cannot write {where}: {live} and would be replaced, and what was captured may exist "
                         "nowhere else; choose a new name (or import it, `prosody import`, and remove the file "
                         "yourself)")
    saved = _session_doc_at(path)
    if saved is not None and page:
        raise InputError(f"cannot write {where}: {saved} and would be replaced by an HTML page; choose a new "
                         "name (reports end in .html)")
    if overwrite or (remade is not None and remade(path)):
        return
    recording = os.path.splitext(path)[1].lower() in RECORDING_SUFFIXES
    what = ("a recording of that name exists" if recording else saved if saved is not None
            else "a file of that name exists")
    if what == "a file of that name exists" and getattr(remade, BY_MARK, False) and not marks_kept(path):
        what += UNMARKED_HERE
    raise InputError(f"cannot write {where}: {what} and would be replaced; choose a new name, or add --overwrite "
                     "to replace it")


# why an output's own file, written again, needs --overwrite on a file system without user attributes (vfat, some
# network shares): the record ``mark_output`` puts on it is what tells it from the user's (hostile sweep 46);
# said only for a ``remade`` test that reads that record (``_by_mark``), not one that tells a file by its content
# (a page, a batch table)
BY_MARK = "tells_by_mark"


def _by_mark(remade):
    """The ``remade`` test ``remade``, marked as one that tells some files by ``mark_output``'s record."""
    setattr(remade, BY_MARK, True)
    return remade


UNMARKED_HERE = (" (this file system keeps no extended attributes, where prosody marks the files it writes, so an "
                 "RTTM, CSV, TextGrid or baseline it wrote cannot be told from a file of yours there)")


FS_IOC_GETFLAGS = 0x80086601  # Linux's inode flags (linux/fs.h, _IOR('f', 1, long)), as lsattr reads them
LOCKED_FLAGS = ((0x10, "immutable", "i"), (0x20, "append-only", "a"))  # FS_IMMUTABLE_FL, FS_APPEND_FL


def _refuse_locked(path: str, where: str) -> None:
    """An existing file an output would replace, refused before any work where its inode is marked immutable or
    append-only (``chattr +i``/``+a``, as a user protects a file): no rename replaces it, even as root, so an
    hour's analysis ended "cannot write s.json: Operation not permitted; it was not written", its output lost
    (hostile sweep 43). Where the flags cannot be read (another system, a file system without them): left to
    the write."""
    from .errors import InputError
    mark = locked_mark(path)
    if mark is not None:
        what, letter = mark
        raise InputError(f"cannot write {where}: the file there is marked {what} (chattr +{letter}), so it "
                         "cannot be replaced, even with --overwrite; choose a new name, or take the mark off "
                         f"(chattr -{letter} {path}) to replace it")


def locked_mark(path: str | os.PathLike) -> tuple[str, str] | None:
    """("immutable", "i") or ("append-only", "a"): the mark (``chattr +i``/``+a``) on the inode of the file or
    folder ``path`` that keeps it from being replaced or removed (a folder: its names), even by root; None where
    there is none or the flags cannot be read."""
    flags = _inode_flags(os.fspath(path))
    return next(((what, letter) for bit, what, letter in LOCKED_FLAGS if flags & bit), None)


SQLITE_COMPANIONS = (("-wal", "write-ahead log"), ("-shm", "shared-memory index"), ("-journal", "rollback journal"))


def file_mark_said(path: str | os.PathLike, label: str) -> str | None:
    """Where the file ``path`` (a store's database, the batch ledger: SQLite files written in place) or one of the
    files SQLite keeps beside it (``-wal``, ``-shm``, ``-journal``: every change goes through them) is marked
    immutable or append-only, a line saying which and how to take the mark off ("LABEL PATH is marked immutable
    (chattr +i), ..."); None where none is marked (hostile sweeps 46, 47; a marked ``-wal`` or ``-shm`` was "is
    busy ...; another prosody is writing" or "is not readable ...; move it aside", after the work: sweep 48)."""
    path = os.fspath(path)
    mark = locked_mark(path)
    if mark is not None:
        what, letter = mark
        return (f"{label} {path} is marked {what} (chattr +{letter}), so no change can be written to it; the store "
                f"is unchanged: take the mark off (chattr -{letter} {path}) to change it")
    for suffix, kind in SQLITE_COMPANIONS:
        mark = locked_mark(path + suffix)
        if mark is not None:
            what, letter = mark
            return (f"the {kind} of {label} {path}, {path}{suffix}, is marked {what} (chattr +{letter}), so no "
                    f"change can be written to {label}; the store is unchanged: take the mark off (chattr "
                    f"-{letter} {path}{suffix}) to change it")
    return None


CAP_FOWNER = 3  # linux/capability.h: the capability that lets a process (root) replace anyone's file in a sticky folder


def _refuse_others_in_sticky(path: str, where: str, st: os.stat_result) -> None:
    """An existing file an output would replace, refused before any work where it is another user's in a folder
    with the sticky bit (``/tmp``, mode 1777) that is not this user's either: there only the file's or the folder's
    owner may rename over it (the kernel's ``check_sticky``), so an hour's analysis ended "cannot write /tmp/s.json:
    Operation not permitted; it was not written", its output lost without --save (hostile sweep 44). A process
    holding ``CAP_FOWNER`` (root) may replace it: not refused."""
    from .errors import InputError
    folder = os.path.dirname(os.path.abspath(path))
    try:
        folder_st = os.stat(folder)
    except OSError:
        return
    owner = others_owner(st)
    if owner is None or not folder_st.st_mode & stat.S_ISVTX or others_owner(folder_st) is None:
        return
    real = os.path.realpath(folder)  # the folder itself, where a link leads (sweep 45 named the link alone)
    led = "" if real == folder else f"; {folder} leads there"
    raise InputError(f"cannot write {where}: the file there is another user's ({owner}), in a "
                     f"folder with the sticky bit ({real}, as /tmp{led}), where only its owner may replace it, so it "
                     "cannot be replaced, even with --overwrite; choose a new name, or another folder")


def others_owner(st: os.stat_result) -> str | None:
    """Whose a file or folder (its ``os.stat`` result ``st``) is, said ("root, uid 0"), where it is another user's
    and this process may not act as its owner (``CAP_FOWNER``); None where it may (its own, root's, another
    system)."""
    if not hasattr(os, "geteuid") or st.st_uid == os.geteuid() or _may_own_any():
        return None
    return _user_name(st.st_uid)


def _may_own_any() -> bool:
    """Whether this process holds ``CAP_FOWNER`` (its effective set, /proc/self/status); where that cannot be
    read, whether it is root."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_FOWNER & 1)
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


def _user_name(uid: int) -> str:
    """The login name of ``uid`` and the number ("root, uid 0"), or the number alone where no name is known."""
    import pwd
    try:
        return f"{pwd.getpwuid(uid).pw_name}, uid {uid}"
    except KeyError:
        return f"uid {uid}"


def _inode_flags(path: str) -> int:
    """The inode flags of the file or folder ``path`` (``FS_IOC_GETFLAGS``; where ``statx`` says them, its
    immutable and append-only bits alone, all ``locked_mark`` reads); 0 where they cannot be read.

    Read without closing a descriptor of the file: closing any descriptor of a file drops every POSIX lock this
    process holds on it, SQLite's too. Asked of a store's ``-shm`` while the store was open (``Store.check_writable``,
    before each `analyze --save` and `batch`), the open and close dropped SQLite's lock that says the store is in
    use: another prosody closing meanwhile took itself for the last, copied the log into the database and removed
    it, and the save that followed went into the removed log, lost though said saved (hostile sweep 62). The
    kernel says the two flags read here by name (``statx``); where it cannot (a file system that does not say
    them: FUSE), the descriptor the ioctl reads stays open for the rest of the process where the process has the
    file open otherwise (``descriptor_keeping_locks``)."""
    told = _statx_locked_flags(path)
    if told is not None:
        return told
    import fcntl
    try:
        with descriptor_keeping_locks(path, follow=False) as fd:
            return int.from_bytes(fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(8))[:4], sys.byteorder)
    except OSError:  # no such file; ENOTTY: no such flags here
        return 0


@contextmanager
def descriptor_keeping_locks(path, *, follow: bool = True):
    """A read-only descriptor of ``path`` (OSError where it cannot be opened), closed after the block only where
    that drops no lock: closing any descriptor of a file drops every POSIX lock this process holds on it, SQLite's
    on its database, log and shared memory among them (hostile sweeps 62 and 63). Where this process has the file
    open otherwise (``/proc/self/fd``: a connection's), the descriptor stays open for the rest of the process, one
    a file (``_KEPT_FDS``), and is the one read next time. ``follow``: False, a link is not followed."""
    st = os.stat(path) if follow else os.lstat(path)
    key = (st.st_dev, st.st_ino)
    fd = _KEPT_FDS.get(key)
    if fd is not None:
        yield fd
        return
    keep = stat.S_ISREG(st.st_mode) and open_here(key)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    if keep:
        _KEPT_FDS[key] = fd
    try:
        yield fd
    finally:
        if not keep:  # a folder, or a file this process holds no lock on
            os.close(fd)


def read_head(path, n_bytes: int) -> bytes:
    """The first ``n_bytes`` of ``path`` (fewer where it is shorter; OSError where it cannot be read), read through
    ``descriptor_keeping_locks``: a store's database read so while a connection of this process had it open lost
    that connection's lock, and a save after it (hostile sweep 63)."""
    with descriptor_keeping_locks(path) as fd:
        return os.pread(fd, n_bytes, 0)


def open_here(key: tuple[int, int]) -> bool:
    """Whether this process has the file of (device, inode) ``key`` open (``/proc/self/fd``); True where it cannot be
    told."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return True
    for name in names:
        try:
            st = os.stat(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == key:
            return True
    return False


# the descriptors ``descriptor_keeping_locks`` gave of a file this process has open otherwise, by (device, inode):
# never closed, as a close would drop this process's locks on the file (SQLite's on its database and log)
_KEPT_FDS: dict[tuple[int, int], int] = {}
_STATX_LOCKED = 0x30  # STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND: the bits of FS_IMMUTABLE_FL and FS_APPEND_FL
_STATX_ATTRIBUTES, _STATX_ATTRIBUTES_MASK = slice(8, 16), slice(56, 64)  # struct statx's stx_attributes, its mask


@functools.lru_cache(maxsize=None)
def _statx():
    """The C library's ``statx``; None where there is none (glibc before 2.28, another system)."""
    import ctypes
    try:
        return ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None


def _statx_locked_flags(path: str) -> int | None:
    """The immutable and append-only flags of ``path`` as ``statx(2)`` says them (its ``stx_attributes``), without
    opening it; None where it cannot say them (no statx, a file system whose ``stx_attributes_mask`` lacks them);
    0 where there is no such file."""
    import ctypes
    statx = _statx()
    if statx is None:
        return None
    buf = ctypes.create_string_buffer(256)
    at_fdcwd, at_symlink_nofollow = -100, 0x100
    if statx(at_fdcwd, os.fsencode(path), at_symlink_nofollow, 0, buf) != 0:
        return 0 if ctypes.get_errno() in (errno.ENOENT, errno.ENOTDIR) else None
    raw = buf.raw
    if int.from_bytes(raw[_STATX_ATTRIBUTES_MASK], sys.byteorder) & _STATX_LOCKED != _STATX_LOCKED:
        return None
    return int.from_bytes(raw[_STATX_ATTRIBUTES], sys.byteorder) & _STATX_LOCKED


def file_head(path: str | os.PathLike, n_bytes: int) -> bytes:
    """The first ``n_bytes`` of the regular file ``path`` (b"" where it cannot be read): what an output's
    ``remade`` test looks at to tell a file prosody wrote."""
    try:
        with open(path, "rb") as f:
            return f.read(n_bytes)
    except OSError:
        return b""


LIVE_DOC_MAX_BYTES = 256 << 20  # a live session document is a few MB an hour; a bigger file is not read to tell


def _live_session_at(path: str) -> str | None:
    """What ``path`` is when it is a live capture's saved session (its JSON, or
    the frames file that JSON names beside it): "it is a live session's file"
    / "it is the frames file of live session X"; None otherwise."""
    name = os.path.basename(path)
    if name.endswith(".frames.npz"):
        doc_path = _live_doc_naming(os.path.dirname(path), name)
        return None if doc_path is None else f"it is the frames file of the live session {doc_path}"
    return "it is a live session's saved file" if live_doc(path) is not None else None


def _live_doc_naming(folder: str, name: str) -> str | None:
    """The live session JSON in ``folder`` whose ``live.frames_file`` is ``name`` (the one of its stem first),
    None where none is. Not only the one of its stem: a live save renamed (`mv s.json keep.json`) still names
    ``s.frames.npz``, and `export 1 -o s.json` wrote over that capture's frames, zeroed (hostile sweep 34)."""
    same_stem = os.path.join(folder, name[:-len(".frames.npz")] + ".json")
    try:
        others = sorted(os.path.join(folder, e.name) for e in os.scandir(folder or ".")
                        if e.name.endswith(".json") and e.is_file())
    except OSError:
        others = []
    spelt = {json.dumps(name, ensure_ascii=ascii_only)[1:-1].encode("utf-8") for ascii_only in (True, False)}
    for doc_path in [same_stem] + [p for p in others if p != same_stem]:
        if doc_path != same_stem and not _file_mentions(doc_path, spelt):
            continue
        doc = live_doc(doc_path)
        if doc is not None and doc["live"].get("frames_file") == name:
            return doc_path
    return None


def _file_mentions(path: str, spelt: set[bytes]) -> bool:
    """Whether the regular file ``path`` (no bigger than a live session's JSON) holds one of the byte strings
    ``spelt`` (a name as a JSON file spells it, escaped or not)."""
    data = _regular_file_bytes(path)
    return data is not None and any(one in data for one in spelt)


def _session_doc_at(path: str) -> str | None:
    """What ``path`` is when it is a saved session (a ``prosody.session`` JSON: analysed, exported or live) or
    the frames file beside one; None otherwise."""
    name = os.path.basename(path)
    if name.endswith(".frames.npz"):
        doc_path = os.path.join(os.path.dirname(path), name[:-len(".frames.npz")] + ".json")
        return f"it is the frames file of the saved session {doc_path}" if _session_doc(doc_path) else None
    return "it is a saved session (prosody.session JSON)" if _session_doc(path) else None


def export_of(uid: str | None):
    """A ``remade`` test (``check_outputs``) for an export of the session ``uid``: true of a JSON, Parquet or EAF
    export of that same session (its ``prosody_store.uid``; a Parquet's in its file metadata, an EAF's in its
    header's ``prosody.session_uid`` property: hostile sweep 40), or the frames file beside a JSON one, which
    `export` writes again (re-exported after an edit or a relabel); never where ``uid`` is None. RTTM, CSV and
    TextGrid hold no uid (no place in them holds one harmlessly: docs/store.md, hostile sweeps 39 and 40): one is
    taken as written again by the record ``mark_output`` put on it, while it holds what was written (sweep 41)."""
    def same(path: str) -> bool:
        if uid is not None and own_output(path).get("session_uid") == uid:  # an RTTM, CSV, TextGrid (sweep 41)
            return True
        name = os.path.basename(path)
        doc_path = (os.path.join(os.path.dirname(path), name[:-len(".frames.npz")] + ".json")
                    if name.endswith(".frames.npz") else path)
        if uid is not None and eaf_marks(doc_path).get(EAF_UID_PROPERTY) == [uid]:
            return True
        doc = _parquet_export_at(doc_path) if file_head(doc_path, 4) == PARQUET_MAGIC else _json_object_at(doc_path)
        store = doc.get("prosody_store") if isinstance(doc, dict) else None
        return uid is not None and isinstance(store, dict) and store.get("uid") == uid
    return _by_mark(same)


OUTPUT_XATTR = "user.prosody.output"  # the extended attribute naming what prosody wrote a file from (mark_output)


def mark_output(path: str | os.PathLike, whose: dict) -> None:
    """Name on the file ``path`` (staged, not yet in place) what it was written from (``whose``: ``{"audio":
    [{"sha256", "bytes"}, ...]}`` for an ``analyze`` output, ``{"session_uid": uid}`` for an export) and the
    SHA-256 of its bytes, in the extended attribute ``OUTPUT_XATTR``: outside the file's bytes, so every reader of
    an RTTM, a CSV or a TextGrid reads it as before (none of them has a place to say whose it is harmlessly:
    hostile sweeps 39, 40). Where the file system keeps no user attributes (vfat, some network shares) or the
    system has no ``setxattr``, the file is written unmarked and needs ``--overwrite`` to be written again."""
    record = json.dumps({**whose, "sha256": file_sha256(path)}, sort_keys=True).encode()
    try:
        os.setxattr(path, OUTPUT_XATTR, record, follow_symlinks=False)
    except (OSError, AttributeError):  # ENOTSUP, E2BIG; no os.setxattr (not Linux): unmarked, as before
        pass


def own_output(path: str | os.PathLike) -> dict:
    """What the regular file ``path`` was written from (``mark_output``'s ``whose``) where prosody wrote it and
    nobody changed it since (its bytes' SHA-256 still the one named); {} otherwise: a file of the user's, one
    edited, another program's, or one whose attribute is not prosody's record. Such a file, written again for
    the same audio or session, loses nothing: it holds only what prosody made, and makes again (hostile sweep
    41: `analyze --rttm`, `--frames`, `--textgrid`, `--save-baseline` and `export --format csv|rttm|textgrid`
    run again needed --overwrite)."""
    try:
        record = json.loads(os.getxattr(path, OUTPUT_XATTR, follow_symlinks=False))
        if (not isinstance(record, dict) or not stat.S_ISREG(os.lstat(path).st_mode)
                or record.get("sha256") != file_sha256(path)):
            return {}
    except (OSError, AttributeError, ValueError, RecursionError):  # no attribute, no xattrs here, not JSON
        return {}
    return record


def marks_kept(path: str | os.PathLike) -> bool:
    """Whether the file system holding the file ``path`` keeps the record ``mark_output`` puts on a file (user
    extended attributes): False on vfat, some network shares, or a system without ``getxattr``, where no file
    prosody writes there can be told for its own by its record (a batch table is then told by what it lists
    alone: ``batch.runner.tables_kept``)."""
    try:
        os.getxattr(path, OUTPUT_XATTR, follow_symlinks=False)
    except AttributeError:
        return False
    except OSError as exc:
        return exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP)
    return True


EAF_UID_PROPERTY = "prosody.session_uid"  # an EAF header's PROPERTY naming the stored session it exports
EAF_AUDIO_PROPERTY = "prosody.audio_sha256"  # one per file the session was analysed from, in order
EAF_HEAD_BYTES = 64 << 10  # an EAF's header, where these are, lies in its first lines
_EAF_PROPERTY = re.compile(rb'<PROPERTY NAME="(prosody\.[a-z_0-9]+)">([0-9a-f]+)</PROPERTY>')


def eaf_marks(path: str | os.PathLike) -> dict[str, list[str]]:
    """The properties an EAF prosody wrote names itself by (``formats.eaf.session_eaf``), read from its head:
    {property name: [values, in order]}; {} where ``path`` is no EAF or names none."""
    head = file_head(path, EAF_HEAD_BYTES)
    if b"<ANNOTATION_DOCUMENT" not in head:
        return {}
    header = head.split(b"</HEADER>", 1)[0]
    marks: dict[str, list[str]] = {}
    for name, value in _EAF_PROPERTY.findall(header):
        marks.setdefault(name.decode(), []).append(value.decode())
    return marks


def analysis_of(inputs, *, json_path=None, eaf_path=None):
    """A ``remade`` test (``check_outputs``) for ``analyze``'s ``--json`` and ``--eaf`` (at ``json_path``,
    ``eaf_path``): true of an earlier ``analyze --json`` / ``--eaf`` of the same audio as the recordings
    ``inputs`` (as many files, each of the same SHA-256 and size, in order: its ``audio.files``, an EAF's
    ``prosody.audio_sha256`` properties; the same command run again, or the same recording under another name),
    which it writes again; never of the analysis of other audio, an export of a stored session (what was exported
    may be kept nowhere else) or a live save. The inputs are hashed only where the rest agrees (hostile sweep 40:
    rerunning `analyze s.wav --json s.json` needed --overwrite)."""
    def same(path: str) -> bool:
        if json_path is not None and path == str(json_path):  # not str(None): an output named "None"
            files = _analysis_files(path)
        elif eaf_path is not None and path == str(eaf_path):
            marks = eaf_marks(path)
            exported = EAF_UID_PROPERTY in marks
            files = None if exported else [{"sha256": h} for h in marks.get(EAF_AUDIO_PROPERTY, [])]
        else:  # --rttm, --frames, --textgrid, --save-baseline: by the record prosody put on it (sweep 41)
            files = _listed_files(own_output(path).get("audio"))
        if not files or len(files) != len(inputs):
            return False
        try:
            return (all(f.get("bytes", os.stat(p).st_size) == os.stat(p).st_size for f, p in zip(files, inputs))
                    and all(f.get("sha256") == file_sha256(p) for f, p in zip(files, inputs)))
        except OSError:  # an input gone meanwhile: said when it is read
            return False
    return _by_mark(same)


def _listed_files(files) -> list[dict] | None:
    """``files`` where it is a list of objects (an ``audio.files`` as prosody writes it), else None."""
    return files if isinstance(files, list) and files and all(isinstance(f, dict) for f in files) else None


def _analysis_files(path: str) -> list[dict] | None:
    """The ``audio.files`` of the plain ``analyze --json`` document at ``path``; None where it is none (not a
    session document, an export of a stored session, a live save) or names no files."""
    doc = _json_object_at(path)
    if not isinstance(doc, dict) or "prosody_store" in doc or "live" in doc or not _session_doc(path):
        return None
    audio = doc.get("audio") if isinstance(doc.get("audio"), dict) else {}
    return _listed_files(audio.get("files"))


KEPT_BESIDE_TRIES = 99  # NAME.kept-1 .. NAME.kept-99


def beside_names(stem: Path, suffix: str):
    """The names a file kept beside another is given, in order: ``stem`` (a path without its suffix) with
    ``.kept-N`` and ``suffix`` after it, N = 1 .. ``KEPT_BESIDE_TRIES``, the stem cut (bytes, from its end) where
    the name would pass ``name_max`` (an output's, ``kept_beside``; a batch table's, ``batch.runner.table_beside``)."""
    most = name_max(stem.parent)
    for n in range(1, KEPT_BESIDE_TRIES + 1):
        mark = os.fsencode(f".kept-{n}{suffix}")
        yield stem.with_name(os.fsdecode(os.fsencode(stem.name)[:max(most - len(mark), 1)] + mark))


def kept_beside(path: str | os.PathLike, text: str, *, whose: dict | None = None) -> Path:
    """``text`` written, owner-only, as a new file beside ``path``, named as it with ``.kept-N`` before its
    suffix (``s.json`` -> ``s.kept-1.json``, the first ``N`` free: ``beside_names``): where an output's own path
    was taken by a file made while the command ran (``replace_erasing``'s new_only), what it holds is not lost
    (an ``analyze`` without ``--save`` has no other copy; hostile sweep 40). ``whose``: what it was written from
    (``mark_output``), so that the same analysis run again onto it writes it again (hostile sweep 42). Returns
    the path written; FileExistsError where every name is taken, OSError where it cannot be written."""
    path = Path(path)
    for other in beside_names(path.with_suffix(""), path.suffix):
        if os.path.lexists(other):
            continue
        try:
            write_private(other, text, new_only=True, whose=whose)
        except FileExistsError:  # taken meanwhile too: the next name
            continue
        return other
    raise FileExistsError(errno.EEXIST, f"{KEPT_BESIDE_TRIES} names beside it are taken", str(path))


PARQUET_MAGIC = b"PAR1"  # a Parquet file's first (and last) four bytes
PARQUET_EXPORT_KEY = b"prosody.export"  # the file metadata key of the session JSON (``formats.export``)


def _parquet_export_at(path: str):
    """The session JSON a Parquet export at ``path`` holds in its file metadata (its footer alone is read), None
    where it holds none, cannot be read, or pyarrow is not installed."""
    try:
        import pyarrow.parquet as pq
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[PARQUET_EXPORT_KEY])
    except Exception:  # pyarrow raises several types for a damaged file; a missing key, bad JSON: not an export
        return None


def _session_doc(path: str) -> bool:
    """``path`` holds a session document (a JSON object whose ``schema`` starts ``prosody.session``)."""
    doc = _json_object_at(path)
    return isinstance(doc, dict) and str(doc.get("schema", "")).startswith("prosody.session")


def live_doc(path: str | os.PathLike) -> dict | None:
    """The document at ``path`` when it is a live capture's saved session JSON, else None."""
    doc = _json_object_at(path)
    ok = isinstance(doc, dict) and isinstance(doc.get("live"), dict) and "schema" in doc
    return doc if ok else None


def _json_object_at(path: str | os.PathLike):
    """The JSON at ``path`` where it is a regular file of at most ``LIVE_DOC_MAX_BYTES`` starting with ``{``, else
    None. Never waits: opened without blocking and read only where that open file is a regular one (a FIFO put
    at a live session's name, stat'ed as a regular file a moment before or not, held `prosody delete` for ever;
    hostile sweep 34)."""
    head = _regular_file_bytes(path, 4096)
    if head is None or not head.lstrip().startswith(b"{"):  # not a JSON object: not read further
        return None
    try:
        return json.loads(_regular_file_bytes(path) or b"")
    except (ValueError, RecursionError):
        return None


def _regular_file_bytes(path: str | os.PathLike, limit: int | None = None) -> bytes | None:
    """The bytes of the regular file ``path`` (its first ``limit``, where given), None where it is no regular
    file, is bigger than ``LIVE_DOC_MAX_BYTES`` or cannot be read. The open never waits (``O_NONBLOCK``)."""
    try:
        with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK)) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size > LIVE_DOC_MAX_BYTES:
                return None
            return f.read(LIVE_DOC_MAX_BYTES + 1 if limit is None else limit)
    except OSError:  # gone meanwhile, unreadable: not one to tell
        return None


def check_writable_folder(folder: str | os.PathLike, *, label: str = "output", name: str | None = None) -> None:
    """Raise InputError unless a file can be created in ``folder`` (tried for
    real: permission bits say nothing to root, and a read-only mount says no
    whatever they are); ``name``: a file of that name (the output's: its temporary, named after it, is made)."""
    from .errors import InputError
    try:
        _probe(folder, name=name)
    except _FolderMarked:
        state, remedy = folder_mark_said(folder)
        raise InputError(f"cannot write {label}: folder {folder} {state}; {remedy}, or choose another folder") from None
    except _NoModesError as exc:
        raise InputError(f"cannot write {label}: the file system of folder {folder} cannot set a file's mode "
                         f"(chmod: {exc.strerror or exc}), and prosody writes every file owner-only; choose "
                         "another folder") from None
    except OSError as exc:
        if name is not None and _takes_files(folder):
            raise InputError(f"cannot write {label}: the file system of folder {folder} takes no file of that name "
                             f"({exc.strerror or exc}); {NAMES_REFUSED}: choose another name") from None
        if is_disk_full(exc):  # was "folder F is not writable (No space left on device)"
            raise InputError(f"cannot write {label}: {write_error_text(exc, folder)}; make room there, or "
                             "choose another folder") from None
        raise InputError(f"cannot write {label}: folder {folder} is not writable ({exc.strerror or exc}); "
                         "choose another folder") from None


# what a file system that takes some files refuses of a name: a FAT or exFAT one (a memory card, a USB stick), an
# SMB share of Windows (EINVAL, or EPERM through some drivers), found before the work (hostile sweep 46: `--json
# "s 10:30.json"` there analysed, then "Operation not permitted; it was not written")
NAMES_REFUSED = ('FAT and exFAT (memory cards, USB sticks) and Windows shares take none of \\ : * ? " < > | in a '
                 "name (some no letters beyond ASCII either)")


def _takes_files(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` takes a file of the probe's own plain name (``_probe``), whatever its mode."""
    try:
        _probe(folder)
    except _NoModesError:  # made (and removed), its mode unset
        return True
    except OSError:
        return False
    return True


def modes_refused(folder: str | os.PathLike) -> str | None:
    """Why a file made in ``folder`` cannot be given a mode (``chmod``'s error: "Function not implemented" on a
    FUSE FAT driver), None where it can, or where no file can be made there at all (left to the write's own
    error). The file made to find out is removed; nothing is made in a marked folder (``_probe``)."""
    try:
        _probe(folder)
    except _NoModesError as exc:
        return exc.strerror or str(exc)
    except OSError:
        return None
    return None


class _NoModesError(OSError):
    """A file made in a folder whose mode cannot be set (``chmod`` refused: a FUSE FAT driver, ENOSYS), as
    ``stage_private`` sets every file's (owner-only): such a write failed only after the work (hostile sweep 46)."""


class _FolderMarked(PermissionError):
    """A folder marked immutable or append-only (``locked_mark``)."""


# what a mark on a folder keeps from being done there: every write here stages its file under a temporary name and
# renames it (or links it, then removes the temporary), and the probe (``_probe``) removes the file it made
MARK_KEEPS = {"i": "no file there can be made, renamed or removed",
              "a": "no file there can be renamed or removed"}


def folder_mark_said(folder: str | os.PathLike) -> tuple[str, str] | None:
    """Where the folder ``folder`` is marked immutable or append-only (``chattr +i``/``+a``, which even root's
    writes meet), what that is and what mends it, for a line: ("is marked immutable (chattr +i), so no file there
    can be made, renamed or removed", "take the mark off (chattr -i FOLDER)"); None where it is not marked. Such a
    folder was said "not writable (Operation not permitted)" or "read-only here (a read-only file system or
    folder)" (hostile sweep 46)."""
    mark = locked_mark(folder)
    if mark is None:
        return None
    what, letter = mark
    return (f"is marked {what} (chattr +{letter}), so {MARK_KEEPS[letter]}",
            f"take the mark off (chattr -{letter} {folder})")


def _probe(folder: str | os.PathLike, *, name: str | None = None) -> None:
    """A file made in ``folder``, its mode set owner-only as every write here does, and removed; OSError where
    none can be made, ``_NoModesError`` where its mode cannot be set, ``_FolderMarked`` (no file made) where the
    folder is marked immutable or append-only: there the probe's file could not be removed, one more left at each
    try (hostile sweep 46). ``name``: the file made is named as ``stage_private``'s temporary of a file of that name
    (``.NAME.RANDOM.tmp``), so that a name the file system refuses is found; else ``.prosody-probe-RANDOM``."""
    if locked_mark(folder) is not None:
        raise _FolderMarked(errno.EPERM, "the folder is marked (chattr)")
    prefix, suffix = (f".{_staged_stem(folder, name, '.tmp')}.", ".tmp") if name else (".prosody-probe-", "")
    with _stops_held():  # a stop between the probe's making and its removal left it in the folder (sweep 15)
        fd, tmp = tempfile.mkstemp(dir=str(folder), prefix=prefix, suffix=suffix)
        try:
            os.fchmod(fd, 0o600)
        except OSError as exc:
            raise _NoModesError(exc.errno, exc.strerror) from exc
        finally:  # a stop taken by another thread's handler is raised here still: removed all the same
            os.close(fd)
            os.unlink(tmp)


@contextmanager
def _stops_held():
    """Ctrl-C, SIGTERM and SIGHUP held (blocked) in this thread while the block runs, delivered after it: for
    a step of a few system calls that must not be cut in two."""
    import signal
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def make_private_dirs(path: str | os.PathLike) -> None:
    """Create ``path`` and every missing folder above it as 0700, whatever the
    umask (``Path.mkdir(parents=True)`` gives the parents the umask's mode)."""
    path = Path(os.path.abspath(path))
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(p, 0o700)


def nearest_existing(path: str | os.PathLike) -> Path:
    """``path`` made absolute, or its nearest parent that exists (the folder a new file or store would be in)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def free_space_text(path: str | os.PathLike) -> str:
    """'12.0 kB free' on the file system holding ``path`` (or its nearest existing parent)."""
    st = _statvfs_near(path)
    if st is None:
        return "free space unknown"
    free = st.f_bavail * st.f_frsize
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if free >= size:
            return f"{free / size:.1f} {unit} free"
    return f"{free} bytes free"


def is_disk_full(exc: BaseException) -> bool:
    """An OSError ENOSPC/EDQUOT or SQLite's 'database or disk is full'."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "disk is full" in str(exc) or "No space left" in str(exc)


# SQLite's largest write: a page of up to 64 KiB (the shared-memory file grows by 32 KiB); a write past this
# process's file-size limit starts within this of it
SQLITE_LARGEST_WRITE_BYTES = 65536


def file_size_limit() -> int | None:
    """This process's file-size limit in bytes (``RLIMIT_FSIZE``, `ulimit -f`), None where there is none."""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        return None
    return None if limit == resource.RLIM_INFINITY else limit


def is_past_size_limit(exc: BaseException) -> bool:
    """Whether ``exc`` is a write refused by this process's file-size limit (``EFBIG``, `File too large`): the
    system's error, or the store's error said of it (``SizeLimitError``)."""
    from .errors import SizeLimitError
    return isinstance(exc, SizeLimitError) or (isinstance(exc, OSError) and exc.errno == errno.EFBIG)


def file_size_limit_text(limit: int) -> str:
    """The file-size limit as the cause of a failed write, and what to do."""
    return (f"File too large: this process may write no file beyond {limit:,} bytes (its file-size limit, "
            "`ulimit -f`); raise the limit (`ulimit -f unlimited`) and try again")


def past_size_limit(paths) -> str | None:
    """``file_size_limit_text`` where one of ``paths`` (a database and SQLite's files beside it) has grown to
    within one SQLite write of this process's file-size limit, else None: SQLite says a write past the limit
    (``EFBIG``, `File too large`) as a plain "disk I/O error", which read as a failing disk (hostile sweep 53)."""
    limit = file_size_limit()
    if limit is None:
        return None
    for path in paths:
        try:
            if os.stat(path).st_size + SQLITE_LARGEST_WRITE_BYTES > limit:
                return file_size_limit_text(limit)
        except OSError:
            continue
    return None


def write_error_text(exc: BaseException, path: str | os.PathLike) -> str:
    """Why writing ``path`` failed, for a person: a full disk said as one, with the space left ('the disk
    holding it is full, 0 bytes free'; the system's words were `No space left on device`), else the
    system's reason. A quota used up (EDQUOT, `Disk quota exceeded`) is said as one: the disk itself may have room,
    and "the disk holding it is full, 12.0 GB free" said both (hostile sweep 25)."""
    if isinstance(exc, OSError) and exc.errno == errno.EDQUOT:
        return f"your disk quota there is used up (the disk holding it has {free_space_text(path)})"
    if is_disk_full(exc):
        return no_inodes_text(path) or f"the disk holding it is full, {free_space_text(path)}"
    if is_past_size_limit(exc) and (limit := file_size_limit()) is not None:
        return file_size_limit_text(limit)
    return getattr(exc, "strerror", None) or str(exc) or "operating system error"


def no_inodes_text(path: str | os.PathLike, *, holding: str = "it") -> str | None:
    """Where the file system holding ``path`` (or its nearest existing parent) has no inode left for another file
    (ext4 made with few, filled with small files), that said of ``holding``, with the space it has: "the file
    system holding it can hold no more files (all 32 of its inodes are used; 26.2 MB free)"; None otherwise, or
    where it does not count them (btrfs: 0). ENOSPC there was "the disk holding it is full, 26.2 MB free", and the
    store's SQLite "unable to open database file" (hostile sweep 46)."""
    st = _statvfs_near(path)
    if st is None or st.f_files == 0 or st.f_favail > 0:
        return None
    return (f"the file system holding {holding} can hold no more files (all {st.f_files} of its inodes are used; "
            f"{free_space_text(path)})")


def _statvfs_near(path: str | os.PathLike) -> os.statvfs_result | None:
    """``os.statvfs`` of ``path`` or of its nearest existing parent; None where it cannot be read."""
    try:
        return os.statvfs(nearest_existing(path))
    except OSError:
        return None


def said_unwritten(exc: BaseException) -> bool:
    """Whether the OSError ``exc`` of an output is said by ``unwritten_text``: a full disk, a file-size limit (was
    "cannot access PATH: File too large", the limit unnamed; hostile sweep 54), a file made at the output's path
    meanwhile (``replace_erasing``'s new_only)."""
    return isinstance(exc, OSError) and bool(exc.filename) and (
        is_disk_full(exc) or is_past_size_limit(exc) or isinstance(exc, FileExistsError))


def unwritten_text(exc: BaseException, path: str | os.PathLike) -> str:
    """"cannot write PATH: <why>; it was not written" (``write_error_text``): every write here is atomic, so a
    failed one leaves the file as it was."""
    return f"cannot write {path}: {write_error_text(exc, path)}; it was not written"


def low_space(path, min_bytes: int = 1 << 20) -> bool:
    """Less than ``min_bytes`` free where ``path`` is, or no inode for a new file (``no_inodes_text``). SQLite
    reports a full disk on opening as a plain 'disk I/O error' (it cannot size its shared-memory
    file), so a database that fails to open is called full only when this holds."""
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < min_bytes or no_inodes_text(path) is not None  # no file can be made either


def user_home(environ=None) -> str:
    """The user's home folder: ``$HOME`` where it is an absolute path, else the account's (the password
    database), as for an unset ``$HOME``; "" where there is none. Python reads an empty ``$HOME`` as "/"
    (the store and rescue copies went to /.local/share) and a relative one against the working folder."""
    env = os.environ if environ is None else environ
    home = env.get("HOME", "")
    if not (home and os.path.isabs(home)):
        try:
            import pwd
            home = pwd.getpwuid(os.getuid()).pw_dir
        except (ImportError, KeyError, OSError):
            home = ""
    return home if home and os.path.isabs(home) else ""


def rescue_folders() -> list[Path]:
    """Where to keep a session that could not be written where asked, in order:
    the user's data folder (``$XDG_DATA_HOME`` or ``~/.local/share``, then
    ``prosody-rescue``), the home folder (``user_home``: none where there is none), the temporary folder."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    home = user_home()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path(home) / ".local" / "share" if home else None
    return ([base / "prosody-rescue"] if base else []) + ([Path(home)] if home else []) + \
        [Path(tempfile.gettempdir())]


def rescue_folder_writable() -> bool:
    """Whether a file can be made now in one of ``rescue_folders`` (made where missing; tried for real: a probe
    file made and removed), before a recording is closed to be copied there (``prosody.live.runner``)."""
    for folder in rescue_folders():
        try:
            make_private_dirs(folder)
            _probe(folder)
        except OSError:
            continue
        return True
    return False


def write_rescue(name: str, data: Data, *, first: str | os.PathLike | None = None) -> tuple[Path | None, list[str]]:
    """Write ``data`` (owner-only, atomically) as ``name`` in the first folder
    that takes it: ``first`` (e.g. beside the store), then ``rescue_folders()``.
    Returns (the path written or None, one 'folder: reason' per failure)."""
    tried = []
    stem, dot, ext = name.partition(".")
    for folder in ([Path(first)] if first is not None else []) + rescue_folders():
        try:
            make_private_dirs(folder)
            again = f"{stem}-{os.getpid()}-{int(time.time() * 1000) % 100000}{dot}{ext}"
            for target in (folder / name, folder / again):
                try:  # taken exclusively: another prosody's copy of the same second is never replaced
                    write_claimed(target, data, {})
                    return target, tried
                except FileExistsError:
                    continue
            raise FileExistsError(errno.EEXIST, "both names taken", str(folder / name))
        except OSError as exc:
            if is_past_size_limit(exc):  # this process's file-size limit: every folder refuses it alike
                tried.append(f"{folder}: {write_error_text(exc, folder)}; no other folder was tried")
                break
            tried.append(f"{folder}: {exc.strerror or exc}")
    return None, tried


HASH_CHUNK_BYTES = 1 << 20


ERASE_CHUNK_BYTES = 1 << 20  # zeros written at a time over a file being erased (erase_file)


def erase_file(path: "str | os.PathLike") -> None:
    """Overwrite a file of a session (a store's frames file, a rescue copy) with zeros (fsynced), then remove
    it. Unlinked alone, its blocks kept the session on the disk, readable from the raw device (a
    file-recovery tool) until reused, where the store's ``secure_delete`` leaves no byte of its rows (hostile
    sweep 32: an 8 s session's frames file found in an ext4 image after ``delete``). A link is removed as a
    link, and a file with another name (a hard link someone made) only unlinked: its other name still holds
    it. A file system that writes elsewhere (copy-on-write: btrfs, ZFS; an SSD's remapping) may keep the old
    blocks: full-disk encryption covers that. Raises FileNotFoundError where the file is gone."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError:  # a symbolic link (ELOOP), or not writable: removed as it is
        fd = None
    if fd is not None:
        try:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                _zero(fd)
        except OSError:
            pass  # overwriting failed (a copy-on-write disk full): removed all the same
        finally:
            os.close(fd)
    os.unlink(path)


def file_sha256(path: "str | os.PathLike") -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks (recordings are large). Raises OSError naming
    ``path`` where it is no regular file: a FIFO put where a session's recording was waited for a writer for
    ever, a device (``/dev/zero``) never ended (`prosody delete` hashes the recording it names to say it is
    kept; hostile sweep 34). The open never waits (``O_NONBLOCK``)."""
    import hashlib
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"it is {_kind_of(mode) or 'a directory'}, not a regular file", str(path))
        while chunk := f.read(HASH_CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


# -- what C libraries print ----------------------------------------------------------------------------------------
# libmpg123 (libsndfile's MP3 decoder) writes its complaints about a damaged MP3 straight
# to file descriptor 2 ("Note: Illegal Audio-MPEG-Header ... Trying to resync...",
# "[src/libmpg123/layer3.c:INT123_do_layer3():1804] error: dequantization failed!"),
# and offers libsndfile's callers no switch to stop it. The reader runs each decoder
# call with descriptor 2 sent to a temporary file and says what matters in its own words.
_LIBRARY_LINE = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:error|warning|note)\s*:", re.I)
_FD2_LOCK = threading.RLock()  # descriptor 2 is one per process: one redirection at a time


@contextmanager
def c_stderr_captured(said: list[str]):
    """Run the block with file descriptor 2 (what C code writes to as ``stderr``)
    pointing at a temporary file; afterwards (also when the block raises) append
    the lines shaped like a C library's message (``Note: ...``, ``Warning: ...``,
    ``[file:function():line] error: ...``, kept without the ``[...]`` source
    location) to ``said``, and write any other text
    (another thread's output in the meantime) on to descriptor 2, late but not lost.

    Keep the block short (one decoder call): while it runs, all of the process's
    descriptor-2 output is held back. Without a descriptor 2 it runs the block as is."""
    with _FD2_LOCK:
        _flush_stderr()
        try:
            saved = os.dup(2)
        except OSError:
            saved = None
        if saved is None:
            yield
            return
        held = tempfile.TemporaryFile()
        try:
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                _flush_stderr()
                os.dup2(saved, 2)
                held.seek(0)
                _sort_library_lines(held.read().decode("utf-8", "replace"), said)
        finally:
            os.close(saved)
            held.close()


def _flush_stderr() -> None:
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def _sort_library_lines(text: str, said: list[str]) -> None:
    """Lines of ``text`` shaped like a C library's message onto ``said``; the rest to descriptor 2."""
    other = []
    for line in text.splitlines(keepends=True):
        if _LIBRARY_LINE.match(line):
            said.append(re.sub(r"^\s*\[[^\]]*\]\s*", "", line).strip())  # without the C source location
        else:
            other.append(line)
    if other:
        try:
            os.write(2, "".join(other).encode("utf-8", "replace"))
        except OSError:
            pass
