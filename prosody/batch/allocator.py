"""glibc malloc settings for an analysis worker.

Why: Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``) so that freed memory goes back to
the operating system at once. Setting any malloc threshold also switches off
glibc's *dynamic* mmap threshold (mallopt(3)). The analysis allocates and
frees arrays of up to a few MB on every block, so with those settings each
block's arrays are mapped, faulted in page by page and given back again: about
200 times the page faults, 0.5 s of system time and 1.6-2.0 s of CPU instead
of 1.0-1.2 s on a 3-minute two-channel file (``benchmarks/batch_throughput.py
--dask-only``).

``tune_for_analysis()`` sets fixed thresholds that keep those arrays on the
heap (``ANALYSIS_MMAP_THRESHOLD_BYTES``, ``ANALYSIS_TRIM_THRESHOLD_BYTES``);
``release_free_memory()`` (``malloc_trim(0)``) hands what the analysis freed
back to the operating system once a recording is done, which is what Dask's
setting is for. Both do nothing where the C library is not glibc (macOS,
musl, Windows). Results do not depend on any of this; only CPU time does.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from dataclasses import dataclass

M_TRIM_THRESHOLD = -1   # mallopt(3) parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
ANALYSIS_MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024   # arrays up to 4 MiB come from the heap
ANALYSIS_TRIM_THRESHOLD_BYTES = 8 * 1024 * 1024   # twice the mmap threshold, as glibc's dynamic rule keeps it
MALLOC_ENV = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


@functools.lru_cache(maxsize=1)
def _glibc():
    """The process's glibc, or None (another C library, or no mallopt)."""
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        gnu_get_libc_version = libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return None
    gnu_get_libc_version.restype = ctypes.c_char_p
    if not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):
        return None
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    libc.malloc_trim.restype = ctypes.c_int
    return libc


@dataclass(frozen=True)
class AllocatorState:
    """What ``tune_for_analysis`` did in this process.

    ``glibc``: the C library is glibc (otherwise nothing was changed);
    ``tuned``: both thresholds were set; ``environ``: the ``MALLOC_*_``
    variables the process was started with (e.g. Dask's
    ``MALLOC_TRIM_THRESHOLD_=65536``), as (name, value) pairs."""

    glibc: bool
    tuned: bool
    mmap_threshold_bytes: int | None
    trim_threshold_bytes: int | None
    environ: tuple[tuple[str, str], ...]


def tune_for_analysis() -> AllocatorState:
    """Set glibc's mmap and trim thresholds for the analysis (idempotent, a few
    microseconds; safe to call before every recording)."""
    env = tuple((k, os.environ[k]) for k in MALLOC_ENV if k in os.environ)
    libc = _glibc()
    if libc is None:
        return AllocatorState(False, False, None, None, env)
    ok = (libc.mallopt(M_MMAP_THRESHOLD, ANALYSIS_MMAP_THRESHOLD_BYTES) == 1
          and libc.mallopt(M_TRIM_THRESHOLD, ANALYSIS_TRIM_THRESHOLD_BYTES) == 1)
    return AllocatorState(True, ok, ANALYSIS_MMAP_THRESHOLD_BYTES if ok else None,
                          ANALYSIS_TRIM_THRESHOLD_BYTES if ok else None, env)


def release_free_memory() -> None:
    """Give the heap's free memory back to the operating system (glibc only)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def served_by_mmap(size_bytes: int) -> bool | None:
    """Whether a ``malloc(size_bytes)`` in this process is served by its own
    mmap (counted by glibc's ``mallinfo2().hblks``) rather than from the heap:
    the *effective* mmap threshold, whatever set it. None without glibc >= 2.33."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2
    libc.malloc.argtypes, libc.malloc.restype = (ctypes.c_size_t,), ctypes.c_void_p
    libc.free.argtypes, libc.free.restype = (ctypes.c_void_p,), None
    before = libc.mallinfo2().hblks
    p = libc.malloc(size_bytes)
    try:
        return libc.mallinfo2().hblks > before
    finally:
        libc.free(p)
