"""Owner-only, atomic file writes: therapy data never lands half-written or world-readable."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Union

Data = Union[str, bytes, Callable]


def write_private(path: str | os.PathLike, data: Data, *, tmp_prefix: str | None = None,
                  tmp_suffix: str = ".tmp") -> None:
    """Replace ``path`` atomically with a 0600 file holding ``data``: text
    (UTF-8), bytes, or a callable that writes into the binary file object.
    The file is fsynced before the rename and the folder after it, so a crash
    leaves either the old file or the new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=tmp_prefix or f".{path.name}.", suffix=tmp_suffix)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(str(path.parent), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def restrict_sqlite_sidecars(db_path: str | os.PathLike) -> None:
    """Make an SQLite database's ``-wal`` and ``-shm`` files owner-only (SQLite
    creates them with the database file's mode, but an older file may differ)."""
    for suffix in ("-wal", "-shm"):
        p = Path(str(db_path) + suffix)
        if p.exists() and p.stat().st_mode & 0o077:
            os.chmod(p, 0o600)
