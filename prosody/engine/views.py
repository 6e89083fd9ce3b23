"""Strided views of a 1-D signal without ``as_strided``'s per-call cost.

``numpy.lib.stride_tricks.as_strided`` and ``sliding_window_view`` spend
~10 us per call building the view through Python; the engine makes a few
thousand such views per 10 minutes of audio (one per voiced run, one per
cross-talk chunk). ``strided_rows`` makes the same view with the ndarray
constructor, which also checks that every row lies inside the signal.
``moving_mean`` is the centred moving mean (edges repeated) that voice
quality and cross-talk both smooth with. ``ChannelMean`` is a stereo
recording's channel mean read piece by piece (the diarizer's signal), never
held whole beside the recording; ``Pcm16`` holds a recording of 16-bit samples
as they are (half the memory of float32) and serves them as float32 where read.
"""
from __future__ import annotations

import numpy as np


def strided_rows(x: np.ndarray, *, n_rows: int, width: int, step: int, start: int = 0) -> np.ndarray:
    """Read-only view of ``x`` (1-D), shape (n_rows, width): row i is
    ``x[start + i * step : start + i * step + width]`` (all in samples)."""
    if x.ndim == 1 and x.flags.c_contiguous and start >= 0:
        size = x.itemsize
        v = np.ndarray((n_rows, width), x.dtype, buffer=x, offset=start * size, strides=(step * size, size))
        v.flags.writeable = False
        return v
    return np.lib.stride_tricks.as_strided(x[start:], shape=(n_rows, width),
                                           strides=(step * x.strides[0], x.strides[0]), writeable=False)


def moving_mean(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Centred moving mean of width ``k`` along ``axis`` (0 or 1) of a 2-D array ``a``, edges repeated
    (scipy's ``ndimage.uniform_filter1d(a, k, axis, mode="nearest")`` to rounding, without importing
    scipy.ndimage; a sum of ``k`` shifted copies: k is small)."""
    if k <= 1 or a.shape[axis] == 0:
        return a
    n = a.shape[axis]
    first, last = np.take(a, [0], axis=axis), np.take(a, [n - 1], axis=axis)
    p = np.concatenate([np.repeat(first, k // 2, axis=axis), a, np.repeat(last, k - 1 - k // 2, axis=axis)],
                       axis=axis)
    # the same additions in the same order along either axis (no transposed copies)
    if axis == 0:
        out = p[:n].copy()
        for d in range(1, k):
            out += p[d:d + n]
    else:
        out = p[:, :n].copy()
        for d in range(1, k):
            out += p[:, d:d + n]
    out /= k
    return out


PCM16_SCALE = np.float32(1.0 / 32768.0)  # a 16-bit sample's float32 value (exact: a power of two)
_HOLD_MAX = 0  # samples a Pcm16 may turn into float32 at once (0: any; tests lower it to find a whole copy)
GRID_MAX_SHIFT = 4  # the coarsest grid a recording is held on: 16 / 32768 (values up to 16 x full scale)
_COARSEN_CHUNK = 1 << 20  # samples put on a coarser grid at once


def grid_scale(shift: int) -> np.float32:
    """The value of one step of the grid ``2**shift / 32768`` (exact: a power of two)."""
    return np.float32(2.0 ** shift * PCM16_SCALE)


def on_grid(x: np.ndarray, shift: int) -> np.ndarray | None:
    """int16 of ``x`` (float32 or float64, any shape) on the grid ``grid_scale(shift)``: each value
    rounded to the nearest step (ties to even), at most half a step off; None where a value falls
    outside int16's range (or is not finite)."""
    s = np.rint(x * (1.0 / float(grid_scale(shift))))  # a power of two: exact in either type
    if s.size and not (float(s.min()) >= -32768.0 and float(s.max()) <= 32767.0):
        return None
    return s.astype(np.int16)


def coarsen(q: np.ndarray, by: int) -> None:
    """In place: the int16 samples ``q`` put on a grid ``2**by`` times coarser (``q / 2**by`` rounded to
    the nearest step, ties to even), a chunk at a time (no copy of the whole)."""
    flat = q.reshape(-1)
    f = np.float32(2.0 ** -by)
    for a in range(0, len(flat), _COARSEN_CHUNK):
        flat[a:a + _COARSEN_CHUNK] = np.rint(flat[a:a + _COARSEN_CHUNK] * f)


def _check_size(n: int) -> None:
    if _HOLD_MAX and n > _HOLD_MAX:
        raise MemoryError(f"{n} samples made float32 at once (views._HOLD_MAX {_HOLD_MAX})")


class Pcm16:
    """A recording held as int16 samples (n_samples, n_channels) on a grid, in half the memory of
    float32 (an hour of stereo: 230 MB, not 461): a 16-bit recording's own (``q / 32768``, what every
    decoder gives: its float32 values, bit for bit), or a coarser one (``scale``: ``grid_scale``). Read as numpy reads a float32 array:
    ``h[a:b]`` and ``h[a:b, c:d]`` are views (held the same way), ``h[rows, c]`` is that
    channel read where read (a ``ChannelMean`` of one channel), any other key float32 rows.
    Arithmetic wants ``np.asarray(h)``: the whole recording in float32 (what holding it
    this way avoids; the rare path that needs it: a layout found separate only over the
    whole session). ``inverted(c)``: channel ``c`` read in opposite polarity;
    ``without_offset(m)``: a recorder's DC offset taken out where read. ``q``: the
    int16 array, or the file that holds exactly those samples (``filestore.FileSamples``, read
    where read: the recording not held at all)."""

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, q: np.ndarray, *, scale: np.ndarray | None = None, offset: np.ndarray | None = None):
        self.q = q
        self.shape = q.shape
        # each channel's factor: 1 / 32768, or its negative for a channel taken in opposite polarity
        # (``inverted``: -(q / 32768) exactly, the float32 recording's values with that channel negated)
        self._scale = np.full(q.shape[1], PCM16_SCALE, np.float32) if scale is None else scale
        # each channel's DC offset taken out (``without_offset``; 0: none)
        self._offset = np.zeros(q.shape[1], np.float32) if offset is None else offset
        self._uniform = bool(np.all(self._scale == PCM16_SCALE) and not np.any(self._offset))  # one factor, no offset

    def inverted(self, channel: int) -> "Pcm16":
        """The same samples with ``channel`` read in opposite polarity (``speakers.in_phase``): its
        factor and its offset negated (``-(x - m)`` is ``(-x) - (-m)`` exactly: rounding is symmetric)."""
        scale, offset = self._scale.copy(), self._offset.copy()
        scale[channel], offset[channel] = -scale[channel], -offset[channel]
        return Pcm16(self.q, scale=scale, offset=offset)

    def without_offset(self, offset: np.ndarray) -> "Pcm16":
        """The same samples with ``offset`` (float32, one per channel; 0: none) taken out where read:
        each value ``x - m`` in float32, what ``speaker_channels.remove_dc`` leaves in a float32
        recording, bit for bit, without that copy of the recording."""
        return Pcm16(self.q, scale=self._scale, offset=np.asarray(offset, np.float32))

    def held_samples(self) -> tuple[np.ndarray, int, np.ndarray]:
        """(the int16 samples in memory: its own array, or a copy of those its file holds; the
        grid's shift, ``grid_scale(shift)`` being every channel's factor; each channel's offset, a copy)."""
        shift = int(round(np.log2(abs(float(self._scale[0])) / float(PCM16_SCALE))))
        if not np.all(self._scale == grid_scale(shift)):
            raise ValueError("held_samples: every channel on one grid, none inverted")
        q = self.q if isinstance(self.q, np.ndarray) else self.q.get(slice(None))
        return q, shift, self._offset.copy()

    def __len__(self) -> int:
        return len(self.q)

    def _float(self, q: np.ndarray) -> np.ndarray:
        """float32 of int16 samples ``q`` whose last axis is this recording's channels."""
        _check_size(q.size)
        if self._uniform:
            return np.multiply(q, PCM16_SCALE, dtype=np.float32)
        x = np.multiply(q, self._scale, dtype=np.float32)
        for c in np.flatnonzero(self._offset):  # as remove_dc takes it out: in float32, channel by channel
            x[..., c] -= self._offset[c]
        return x

    def _get(self, key) -> np.ndarray:
        """int16 ``q[key]`` (the samples, of an array or of a ``filestore.FileSamples``)."""
        return self.q[key] if isinstance(self.q, np.ndarray) else self.q.get(key)

    def _sub(self, key):
        """``q[key]`` for rows and channels as slices: a view (of an array) or a part (of a file)."""
        return self.q[key] if isinstance(self.q, np.ndarray) else self.q.sub(key)

    def read(self, key) -> np.ndarray:
        """float32 of ``q[key]`` (any numpy key)."""
        if self._uniform or not isinstance(key, tuple):  # one factor (any key), or rows: channels last
            return self._float(self._get(key))
        if len(key) == 2 and key[0] is not None and key[0] is not Ellipsis \
                and isinstance(key[1], (int, np.integer, slice)):  # rows, then a channel or channels
            return self._float(self._get(key[0]))[..., key[1]]
        return self._float(np.asarray(self.q))[key]  # any other key: the whole recording's values, then the key

    def frames_at(self, n: int, hop: int, rows) -> np.ndarray:
        """float32 (k, hop, n_channels): the 10 ms frames ``rows`` of the first ``n * hop`` samples."""
        if not isinstance(self.q, np.ndarray):
            return self._float(self.q.frames_at(n, hop, rows))
        return self._float(self.q[: n * hop].reshape(n, hop, self.shape[1])[np.asarray(rows, np.int64)])

    def __getitem__(self, key):
        if isinstance(key, slice):
            return Pcm16(self._sub(key), scale=self._scale, offset=self._offset)
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], slice):
            if isinstance(key[1], slice):
                return Pcm16(self._sub(key), scale=self._scale[key[1]], offset=self._offset[key[1]])
            if isinstance(key[1], (int, np.integer)):
                c = int(key[1])
                c = c + self.shape[1] if c < 0 else c
                return ChannelMean(Pcm16(self._sub((key[0], slice(c, c + 1))), scale=self._scale[c:c + 1],
                                         offset=self._offset[c:c + 1]))
        return self.read(key)

    def __array__(self, dtype=None, copy=None):
        out = self.read(slice(None))
        return out if dtype is None else out.astype(dtype, copy=False)


def _rows(x, key) -> np.ndarray:
    """float32 rows ``x[key]`` of a float32 array or a ``Pcm16``."""
    return x.read(key) if isinstance(x, Pcm16) else x[key]


class ChannelMean:
    """The mean of the channels of ``x`` (n_samples, n_channels) float32, computed where it is
    read: ``m[a:b]`` and ``m[positions]`` (integer arrays of any shape) give the values of
    ``channel_mean(x)[...]``, bit for bit (each sample's mean is its own row's), without the
    whole mean held beside the recording (an hour of stereo: 230 MB on top of 461 MB).
    ``frame_rows`` gives its 10 ms frames the same way. ``len(m)``: the samples.
    ``in_float64``: the mean taken in float64 and rounded to float32 (``detect_layout``'s).
    ``x`` may be a ``Pcm16``; of one channel, the mean is that channel (``Pcm16``'s column).
    ``np.asarray(m)``: the whole mean in float32 (what reading it piece by piece avoids)."""

    ndim = 1
    dtype = np.dtype(np.float32)

    def __init__(self, x: np.ndarray, *, in_float64: bool = False):
        self._x = x
        self._f64 = in_float64  # taken in float64, then rounded to float32 (as detect_layout takes it)
        self.shape = (len(x),)

    @property
    def source(self):
        """The channels this mean is read from (an array or a ``Pcm16``)."""
        return self._x

    def __len__(self) -> int:
        return len(self._x)

    def __getitem__(self, key) -> np.ndarray:
        return self.mean_of(_rows(self._x, key))

    def __array__(self, dtype=None, copy=None):
        _check_size(len(self))
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def astype(self, dtype) -> np.ndarray:
        return np.asarray(self, dtype=dtype)

    def mean_of(self, rows: np.ndarray) -> np.ndarray:
        """The mean over the last axis of ``rows`` (samples of the channels), as this mean takes it."""
        if rows.shape[-1] == 1:  # one channel (a Pcm16's column): its values as they are
            return np.ascontiguousarray(rows[..., 0])
        if rows.shape[-1] != 2:
            return (rows.astype(np.float64).mean(axis=-1).astype(np.float32) if self._f64 else rows.mean(axis=-1))
        # two channels: numpy's mean spelt out, 20 x quicker than its reduction over an axis of two
        # (from its identity 0, as numpy's reduce starts: -0 and -0 give +0; the same bits, tested)
        a, b = rows[..., 0], rows[..., 1]
        if self._f64:
            return ((0.0 + a.astype(np.float64) + b) / 2.0).astype(np.float32)
        return (np.float32(0.0) + a + b) / np.float32(2.0)


class _MeanFrames:
    """Rows of ``mean[: n * hop].reshape(n, hop)`` for a ``ChannelMean``: ``f[a:b]`` and
    ``f[rows]`` (an integer array) give (k, hop) float32, computed from the channels."""

    def __init__(self, mean: ChannelMean, n: int, hop: int):
        self._m, self._x, self.shape = mean, mean._x, (n, hop)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        n, hop = self.shape
        if isinstance(key, slice):
            a, b, step = key.indices(n)
            if step != 1:
                raise ValueError("frame rows are read in order")
            return self._m.mean_of(_rows(self._x, slice(a * hop, max(a, b) * hop))).reshape(-1, hop)
        if isinstance(self._x, Pcm16):
            return self._m.mean_of(self._x.frames_at(n, hop, key))
        n_ch = self._x.shape[1]
        # whole frames gathered (a row copy each), not sample by sample
        return self._m.mean_of(self._x[: n * hop].reshape(n, hop, n_ch)[np.asarray(key, np.int64)])


def frame_rows(signal, n: int, hop: int):
    """(n, hop) frames of a signal: ``signal[: n * hop].reshape(n, hop)`` (a view) for an
    array, rows computed where read for a ``ChannelMean``."""
    if isinstance(signal, ChannelMean):
        return _MeanFrames(signal, n, hop)
    return signal[: n * hop].reshape(n, hop)


def still_rows(rows: np.ndarray) -> np.ndarray:
    """(k,) bool: which rows of ``rows`` (k, hop) are digital silence, one value throughout (exact zeros, or one
    DC value: a capture's lead-in before the playback starts)."""
    return rows.max(axis=1) == rows.min(axis=1)


def silent_ends(signal, n: int, hop: int) -> tuple[int, int]:
    """(how many of the first ``n`` frames of ``signal`` (an array or a ``ChannelMean``) are digital silence
    (``still_rows``) from the start on, how many up to the end): a capture's zeros before the playback starts and
    after it ends, read from each end ``_STILL_ROWS`` frames at a time (digital silence inside the recording, a
    clean mix's pauses, is not counted)."""
    frames = frame_rows(signal, n, hop)
    lead = 0
    while lead < n:
        still = still_rows(np.asarray(frames[lead:lead + _STILL_ROWS]))
        lead += int(np.argmin(still)) if not still.all() else len(still)
        if not still.all():
            break
    tail = 0
    while tail < n - lead:
        b = n - tail
        still = still_rows(np.asarray(frames[max(lead, b - _STILL_ROWS):b]))[::-1]
        tail += int(np.argmin(still)) if not still.all() else len(still)
        if not still.all():
            break
    return lead, tail


_STILL_ROWS = 8192  # frames read at once by silent_ends


def sounding(mono, speech: np.ndarray, hop: int) -> np.ndarray:
    """``speech`` ((n,) bool, frames of ``hop`` samples) with the digital silence ``mono`` starts and ends with
    (``silent_ends``) taken as not pauses: the mask that a recording's pause statistics (its noise floor, the fill's
    level, shape and DC; ``diarize.speech_over_noise_db``'s noise) are read outside of. A capture's zeros are no
    floor: its 1.4 s of them before the playback put the fill's local floor 30 dB under the room's there, and the
    fill stepping up to the room's level after them was heard as the other voice's speech (ds92: a planted 0.41 s
    "mm-hm" read 1.52 s). ``speech`` itself (the same object) where there are none."""
    n = min(len(mono) // hop, len(speech))
    lead, tail = silent_ends(mono, n, hop)
    if lead == tail == 0:
        return speech
    out = np.array(speech, bool)
    out[:lead] = True
    out[n - tail:n] = True
    return out


def as_signal(samples):
    """``samples`` as float32 (n_samples,), or a ``ChannelMean`` as it is (read piece by piece;
    a ``Pcm16``'s column is one)."""
    return samples if isinstance(samples, ChannelMean) else np.asarray(samples, dtype=np.float32)


def windows_at(signal, starts: np.ndarray, width: int) -> np.ndarray:
    """(len(starts), ``width``) float32: row i ``signal[starts[i] : starts[i] + width]``, every row
    within the signal (``0 <= starts``, ``starts + width <= len(signal)``); ``signal`` a 1-D float32
    array or a ``ChannelMean`` (of an array or of a ``Pcm16``). The values of
    ``signal[starts[:, None] + np.arange(width)]``, bit for bit (a sample's channel mean, and a
    16-bit sample's float32 value, is its own), read as whole rows of a window view of the
    samples, not sample by sample (the diarizer's pitch and band figures read their frames so: a
    stereo mean's gather took a third of the pitch cue's CPU), ``_WINDOW_ROWS`` rows at a time (a
    ``Pcm16``'s reads stay pieces: ``_HOLD_MAX``). A mean of samples a file holds, or of more than
    two channels, is that gather, in the same pieces::

        signal   |....|==== row 0 ====|..........
                 |.........|==== row 1 ====|.....   rows may overlap; none reaches past an end
    """
    starts = np.asarray(starts, np.int64)
    if not isinstance(signal, ChannelMean):
        return np.lib.stride_tricks.sliding_window_view(signal, width)[starts]
    src = signal.source
    q = src.q if isinstance(src, Pcm16) else src
    pieces = [np.zeros((0, width), np.float32)]
    for a in range(0, len(starts), _WINDOW_ROWS):
        st = starts[a:a + _WINDOW_ROWS]
        if not isinstance(q, np.ndarray) or q.shape[1] > 2:
            pieces.append(signal[st[:, None] + np.arange(width)])
            continue
        rows = np.swapaxes(np.lib.stride_tricks.sliding_window_view(q, width, axis=0)[st], 1, 2)  # (k, width, ch)
        pieces.append(signal.mean_of(src._float(rows) if isinstance(src, Pcm16) else rows))
    return np.concatenate(pieces)


_WINDOW_ROWS = 512  # rows windows_at reads at once (stereo 25 ms rows: 1.6 MB)
