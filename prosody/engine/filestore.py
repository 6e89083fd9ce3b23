"""A recording's 16-bit samples read from its own file where they are needed, not held.

An hour of stereo at 16 kHz is 230 MB of 16-bit samples. Where the file itself holds
exactly those samples (16-bit PCM at 16 kHz: WAV, FLAC, AIFF and the like, read by
libsndfile, whose seek is exact), the attribution reads them from the file, a block
at a time, through a small cache (``CACHE_BLOCKS`` blocks of ``BLOCK`` samples),
instead of holding the whole recording (``speaker_channels.read_channels``: the file
is first read through once as every recording is, and each block checked to be the
samples read from the file here; anything else is held as before).

``FileSamples`` is read as the int16 array it stands for (``views.Pcm16`` holds one
or the other): ``s.get(key)`` gives ``q[key]`` (a slice, rows and a channel, or sample
positions), ``s.sub(key)`` a part of the same file (rows and channels as slices) read
the same way. Nothing is written anywhere: the input file is the only copy. A block
read again that differs from its first read (a CRC-32 of each is kept) means the file
was changed while it was analysed: the analysis stops with one line (``InputError``);
a file that only grew (a recorder still writing) is read as it was.
"""
from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import InputError

BLOCK = 64_000         # samples per block read from the file (4 s at 16 kHz: 400 frames of 10 ms)
CACHE_BLOCKS = 48      # blocks kept (stereo: 12 MB)


class _File:
    """The open file, its blocks and the cache of the last ones read (shared by every part)."""

    def __init__(self, path: Path, n_channels: int):
        import soundfile as sf
        self.path = Path(path)
        self._fh = open(self.path, "rb")  # noqa: SIM115 - held open for the store's lifetime
        try:
            self._sf = sf.SoundFile(self._fh)
        except Exception:
            self._fh.close()
            raise
        self.n_channels = n_channels
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._first: dict[int, tuple[int, int]] = {}  # block: (samples, CRC-32) as first read
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
            try:
                self._sf.close()
            finally:
                self._fh.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit, nothing left to do
            pass

    def read_direct(self, start: int, n: int) -> np.ndarray:
        """int16 (m, n_channels) of samples ``[start, start + n)`` (m < n where the file ends), not cached."""
        import soundfile as sf
        with self._lock:
            try:
                self._sf.seek(start)
                return np.ascontiguousarray(self._sf.read(n, dtype="int16", always_2d=True)[:, :self.n_channels])
            except (sf.LibsndfileError, RuntimeError, OSError) as exc:
                raise InputError(f"{self.path} could not be read again while it was being analysed ({exc})") from exc

    def block(self, b: int) -> np.ndarray:
        """int16 (<= BLOCK, n_channels): block ``b`` of the file (cached)."""
        with self._lock:
            got = self._cache.get(b)
            if got is not None:
                self._cache.move_to_end(b)
                return got
        x = self.read_direct(b * BLOCK, BLOCK)
        with self._lock:
            first = self._first.get(b)
            if first is None:
                self._first[b] = (len(x), zlib.crc32(x))
            else:  # read before: the same samples, or the file was changed (a file that only grew is read as it was)
                x = x[:first[0]]
                if len(x) < first[0] or zlib.crc32(x) != first[1]:
                    raise InputError(f"{self.path} changed while it was being analysed; "
                                     "analyse a copy that nothing writes to")
            x.setflags(write=False)
            self._cache[b] = x
            while len(self._cache) > CACHE_BLOCKS:
                self._cache.popitem(last=False)
        return x


def _by_block(blocks: np.ndarray) -> list[np.ndarray]:
    """The indices of ``blocks`` (each read's block number) grouped by block, each block once."""
    if len(blocks) == 0:
        return []
    # in order already (rows read in order, the common case): no sort
    order = (np.arange(len(blocks)) if bool(np.all(blocks[1:] >= blocks[:-1]))
             else np.argsort(blocks, kind="stable"))
    return np.split(order, np.flatnonzero(np.diff(blocks[order])) + 1)


class FileSamples:
    """Rows ``[start, start + n)`` and channels ``[c0, c1)`` of a 16-bit file, read as int16
    (see the module's text). ``shape``, ``size``, ``len`` as the array's."""

    dtype = np.dtype(np.int16)
    ndim = 2

    def __init__(self, file: _File, start: int, n: int, c0: int, c1: int):
        self._f, self._start, self._c0, self._c1 = file, start, c0, c1
        self.shape = (n, c1 - c0)
        self.size = n * (c1 - c0)

    @classmethod
    def open(cls, path, n_channels: int) -> "FileSamples":
        """The file's first ``n_channels`` channels, its length not yet known (``truncated``)."""
        return cls(_File(Path(path), n_channels), 0, 0, 0, n_channels)

    def truncated(self, n: int) -> "FileSamples":
        """The same channels, ``n`` samples long (what the read through the file found)."""
        return FileSamples(self._f, self._start, n, self._c0, self._c1)

    def matches(self, start: int, q: np.ndarray) -> bool:
        """Whether ``q`` (int16, its rows samples from ``start``, every channel) is what the file
        holds there, read as this store reads it."""
        try:  # through the blocks the analysis will read (each read here once, as it will be)
            x = self._range(start, start + len(q))
        except InputError:  # the file ends early or cannot be read so
            return False
        return x.shape == q.shape and np.array_equal(x, q)

    def close(self) -> None:
        self._f.close()

    def __len__(self) -> int:
        return self.shape[0]

    # -- parts --------------------------------------------------------------------------------------
    def sub(self, key) -> "FileSamples | np.ndarray":
        """``q[key]`` for rows as a slice (and channels as a slice): a part read the same way;
        any other key: the samples (``get``)."""
        rows, chans = (key if isinstance(key, tuple) and len(key) == 2 else (key, slice(None)))
        if not (isinstance(rows, slice) and isinstance(chans, slice)):
            return self.get(key)
        a, b, step = rows.indices(self.shape[0])
        c0, c1, cstep = chans.indices(self.shape[1])
        if step != 1 or cstep != 1:
            return self.get(key)
        b, c1 = max(a, b), max(c0, c1)
        return FileSamples(self._f, self._start + a, b - a, self._c0 + c0, self._c0 + c1)

    # -- samples ------------------------------------------------------------------------------------
    def _range(self, a: int, b: int) -> np.ndarray:
        """int16 (b - a, channels) of rows ``[a, b)`` (0 <= a <= b <= n)."""
        out = np.empty((b - a, self.shape[1]), np.int16)
        s, e = self._start + a, self._start + b
        at = s
        while at < e:
            blk = self._f.block(at // BLOCK)
            lo = at - (at // BLOCK) * BLOCK
            m = min(len(blk) - lo, e - at)
            if m <= 0:
                raise InputError(f"{self._f.path} ended early while it was being analysed")
            out[at - s:at - s + m] = blk[lo:lo + m, self._c0:self._c1]
            at += m
        return out

    def _positions(self, pos: np.ndarray) -> np.ndarray:
        """int16 (*pos.shape, channels) of the rows at ``pos`` (integers, any shape, 0 <= pos < n)."""
        flat = pos.ravel() + self._start
        out = np.empty((len(flat), self.shape[1]), np.int16)
        if len(flat) == 0:
            return out.reshape(*pos.shape, self.shape[1])
        lo, hi = int(flat.min()), int(flat.max())
        if hi - lo < 2 * BLOCK:  # close together (a few windows): the rows between read, then gathered
            return self._range(lo - self._start, hi + 1 - self._start)[flat - lo].reshape(*pos.shape, self.shape[1])
        blocks = flat // BLOCK
        for seg in _by_block(blocks):
            b = int(blocks[seg[0]])
            blk = self._f.block(b)
            within = flat[seg] - b * BLOCK
            if len(within) and int(within.max()) >= len(blk):
                raise InputError(f"{self._f.path} ended early while it was being analysed")
            out[seg] = blk[within, self._c0:self._c1]
        return out.reshape(*pos.shape, self.shape[1])

    def get(self, key) -> np.ndarray:
        """int16 ``q[key]`` of the array this stands for."""
        n = self.shape[0]
        rows, chans = (key if isinstance(key, tuple) and len(key) == 2 else (key, slice(None)))
        if isinstance(rows, slice):
            a, b, step = rows.indices(n)
            x = self._range(a, max(a, b)) if step == 1 else self._range(0, n)[rows]
        elif isinstance(rows, (int, np.integer)):
            i = int(rows) + (n if int(rows) < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(f"index {int(rows)} is out of bounds for {n} samples")
            x = self._range(i, i + 1)[0]
            return x[chans]
        else:
            pos = np.asarray(rows)
            if pos.dtype == bool:
                pos = np.flatnonzero(pos)
            pos = pos.astype(np.int64, copy=False)
            if pos.size and (int(pos.min()) < -n or int(pos.max()) >= n):
                raise IndexError(f"positions out of bounds for {n} samples")
            x = self._positions(np.where(pos < 0, pos + n, pos))
        return x if chans == slice(None) else x[..., chans]

    def frames_at(self, n: int, hop: int, rows) -> np.ndarray:
        """int16 (k, hop, channels): ``q[: n * hop].reshape(n, hop, channels)[rows]``."""
        r = np.asarray(rows, np.int64)
        r = np.where(r < 0, r + n, r)
        if r.size and (int(r.min()) < 0 or int(r.max()) >= n):
            raise IndexError(f"frame rows out of bounds for {n} frames")
        if BLOCK % hop or self._start % hop:  # frames may cross blocks: sample by sample
            return self._positions(r.reshape(-1, 1) * hop + np.arange(hop)).reshape(*r.shape, hop, self.shape[1])
        flat = r.ravel() + self._start // hop  # frames of the file
        per = BLOCK // hop
        out = np.empty((len(flat), hop, self.shape[1]), np.int16)
        blocks = flat // per
        for seg in _by_block(blocks):
            b = int(blocks[seg[0]])
            blk = self._f.block(b)
            whole = len(blk) // hop
            within = flat[seg] - b * per
            if int(within.max()) >= whole:
                raise InputError(f"{self._f.path} ended early while it was being analysed")
            out[seg] = blk[:whole * hop].reshape(whole, hop, blk.shape[1])[within, :, self._c0:self._c1]
        return out.reshape(*r.shape, hop, self.shape[1])

    def __getitem__(self, key) -> np.ndarray:
        return self.get(key)

    def __array__(self, dtype=None, copy=None):
        out = self._range(0, self.shape[0])
        return out if dtype is None else out.astype(dtype, copy=False)
