"""Who speaks on which channel of one recording, for every command that reads files
(``prosody analyze``, ``prosody batch``): the layout is found (or taken from the
override) and, for shared or mono audio, speaker channels are cut by diarization
(``prosody.engine.speakers.attribute``); the speaker channels are then analysed
and the session's warnings assembled (``recording_plan``, ``analyze_recording``).
What a recorder adds below or beside the voices (a DC offset, sub-speech rumble, mains
hum and steady low tones) is taken out as a recording is read (``read_channels``), only
where it is there: the diarizer reads a mono or shared mix as it is.
One implementation, so that batch gives exactly what analyze gives for the same file."""
from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from .errors import InputError
from .timebase import GRID
from .types import UNATTRIBUTED

PROBE_S = 60.0
_FIRST_ALLOC_S = 3 * 3600.0  # read_channels' first array at most this long (a header may claim anything)
LAYOUT_REQUESTS = ("auto", "separate", "shared", "mono")


class VoiceChannels:
    """Speaker channels cut from one file, served in 2 s blocks like ``FileSource``:
    ``blocks()`` makes them in order (a diarized recording's from its mix,
    ``Attribution.voice_blocks``), so that they are never held whole beside the
    recording; ``n_samples`` long."""

    BLOCK_SAMPLES = 2 * GRID.sample_rate

    def __init__(self, blocks, n_samples: int, speakers: tuple[str, ...], warnings: list[str],
                 picks: tuple[tuple[int, int], ...]):
        self._blocks = blocks
        self.n_samples = n_samples
        self.speakers = speakers
        self.warnings = warnings
        self.picks = picks  # (file index, channel index) each voice was cut from
        self.hear_gain_db = 0.0  # what the voices' speech detection hears them with (the mix's, ``hearing_gain_db``)

    @classmethod
    def of_signal(cls, signal, speakers, warnings, picks) -> "VoiceChannels":
        """One voice's channel: ``signal`` (n_samples,) float32, or a ``ChannelMean`` read a block
        at a time (a one-voice stereo recording's mean is not made whole beside it)."""
        step = cls.BLOCK_SAMPLES
        return cls(lambda: (np.ascontiguousarray(signal[a:a + step], dtype=np.float32)[:, None]
                            for a in range(0, len(signal), step)), len(signal), speakers, warnings, picks)

    @property
    def duration_s(self) -> float:
        return self.n_samples / GRID.sample_rate

    def __iter__(self):
        return iter(self._blocks())


def read_channels(paths, n_channels: int, *, limit_s: float | None = None, offset_s: float = 0.0,
                  compact: bool = False):
    """(n_samples, n_channels) float32 at 16 kHz of one file (the first ``limit_s``), and the source's warnings.
    Two files: the channel of each that carries its voice (``voiced_channel``: its first, unless silent), ``offset_s``
    shifting the second, as ``FileSource``.

    ``compact``: the recording comes back as a ``Pcm16``, int16 samples on a grid, in half the
    memory of float32 (an hour of stereo: 230 MB, not 461), or in none where the file holds exactly
    those samples (``_read_from_file``: read from the file where read). A recording whose every
    sample is a 16-bit one (a 16-bit file at 16 kHz) is held exactly (its float32 values, bit for
    bit; a DC offset taken out where read, ``_dc_taken_out``); any other (another rate, 24-bit or
    float, decoded by FFmpeg) on the 16-bit grid, each value rounded to the nearest step (at most
    half a step, 2**-16 of full scale, off: -101 dBFS of rounding noise), on a grid 2, 4, 8 or 16
    times coarser where its values go beyond full scale (``views.GRID_MAX_SHIFT``), in float32 as
    before beyond that. A recording with rumble, hum or a tone to take out is filtered on its grid
    (``_cleaned``)."""
    from .engine.sources import FileSource, Layout, with_voiced_channels
    from .engine.views import Pcm16, grid_scale

    if len(paths) == 2:  # the channel of each that carries its voice, as the analysis reads (hostile sweep 39)
        names = ("c0", "c1")
        layout = with_voiced_channels(Layout(names, ((0, 0), (1, 0))), paths)
    else:
        names = tuple(f"c{i}" for i in range(n_channels))
        layout = Layout(names, tuple((0, i) for i in range(n_channels)))
    src = FileSource(list(paths), layout, offset_s=offset_s)
    if compact and len(paths) == 1 and limit_s is None and _holds_its_samples(src.files[0], len(names)):
        got = _read_from_file(paths[0], src, len(names))
        if got is not None:
            return got
        src = FileSource(list(paths), layout, offset_s=offset_s)  # read through in part: again
    limit = None if limit_s is None else int(math.ceil(limit_s * GRID.sample_rate))
    # one array filled as read (grown where the header said less), not a list of blocks joined at the end:
    # an hour is held once, not twice
    expected = int(min(src.duration_s or 0.0, _FIRST_ALLOC_S) * GRID.sample_rate) + GRID.sample_rate
    held = compact  # the samples held as int16 on a grid (a 16-bit recording's own: exactly its values)
    exact = True  # every sample held so far is a 16-bit one (held exactly)
    shift = 0  # the grid: grid_scale(shift)
    audio = np.empty((expected if limit is None else min(expected, limit + 2 * GRID.sample_rate), len(names)),
                     np.int16 if held else np.float32)
    got = 0
    for b in src:
        if held:
            q = _pcm16_of(b) if exact else None
            if q is None:  # a sample no 16-bit one (a float or 24-bit file, resampled or decoded audio)
                exact = False
                q, shift = _put_on_grid(b, audio[:got], shift)
            if q is None:  # beyond the coarsest grid: float32 from here
                f = np.empty(audio.shape, np.float32)
                np.multiply(audio[:got], grid_scale(shift), out=f[:got], dtype=np.float32)
                audio, held = f, False
            else:
                b = q
        if got + len(b) > len(audio):
            audio = np.concatenate([audio[:got], np.empty((max(len(audio), got + len(b)), len(names)), audio.dtype)])
        audio[got:got + len(b)] = b
        got += len(b)
        if limit is not None and got >= limit:
            break
    audio = audio[:got]
    if held:
        return _cleaned(Pcm16(audio, scale=np.full(len(names), grid_scale(shift), np.float32))), src.warnings
    remove_dc(audio)
    remove_rumble(audio)
    remove_hum(audio)
    return audio, src.warnings


def _all_sixteen_bit(paths, n_channels: int) -> bool:
    """Whether every file of ``paths`` holds 16-bit samples at 16 kHz (``_holds_its_samples``): what
    ``read_channels(compact=True)`` holds exactly; any other is rounded to the 16-bit grid there."""
    from .engine.sources import AudioFile
    return all(_holds_its_samples(AudioFile(p), 1 if len(paths) == 2 else n_channels) for p in paths)


def _holds_its_samples(f, n_channels: int) -> bool:
    """Whether the file ``f`` (an ``AudioFile``) holds 16-bit samples at 16 kHz that libsndfile reads
    (WAV, FLAC, AIFF...), ``n_channels`` of them or more: what ``_read_from_file`` reads from it."""
    return f.subtype == "PCM_16" and f.sample_rate == GRID.sample_rate and f.channels >= n_channels


def _read_from_file(path, src, n_channels: int):
    """``read_channels``' answer for a file that holds its samples (``_holds_its_samples``; ``src``
    its ``FileSource``, not yet read): a ``Pcm16`` whose samples are read from the file itself where
    needed (``engine.filestore``), not held (an hour of stereo: 230 MB), a DC offset taken out where
    read (``_cleaned``). The file is read through once as any recording is (its warnings), each block
    checked to be the samples the store reads there; None where any block differs (then it is read
    and held as before)."""
    from .engine.filestore import FileSamples
    from .engine.views import Pcm16

    try:
        store = FileSamples.open(path, n_channels)
    except Exception:  # noqa: BLE001 - cannot be opened so: read the usual way
        return None
    got = 0
    for b in src:
        q = _pcm16_of(b)
        if q is None or not store.matches(got, q):
            store.close()
            return None
        got += len(b)
    part = store.truncated(got)
    out = _cleaned(Pcm16(part))
    if out.q is not part:  # held to be filtered: the file is not read again
        store.close()
    return out, src.warnings


def _cleaned(rec):
    """A held ``Pcm16`` recording as ``remove_dc``, ``remove_rumble`` and ``remove_hum`` leave it: itself
    with its DC offset taken out where read (``_dc_taken_out``; bit for bit) where neither filter finds
    anything, else filtered on its grid (``_OnGrid``: each value within half a grid step of the float32
    recording's filtered one after one filter, within two after both, the first filter's rounding going
    through the notches), held as int16 (an hour of stereo: 230 MB, not 461 in float32)."""
    rec = _dc_taken_out(rec)
    grid = None
    if _rumble_found(rec):
        grid = _OnGrid(rec)
        grid.filter(_rumble_sos())
    found = _hum_sections(rec if grid is None else grid.recording())
    if found is not None:
        grid = grid or _OnGrid(rec)
        grid.filter(found[0])
    return rec if grid is None else grid.recording()


class _OnGrid:
    """A ``Pcm16`` recording's samples held as int16 on its grid (``views.grid_scale``; a recording read
    from its file is copied into memory once) and filtered in place: each channel a chunk at a time, in
    float64 from its float32 values (offset out), as ``remove_rumble`` and ``remove_hum`` filter them, and
    put back on the grid, which is made twice as coarse (every sample) where a filtered value would not
    fit."""

    def __init__(self, rec):
        from .engine.views import GRID_MAX_SHIFT
        self.q, self.shift, self.offset = rec.held_samples()
        self._max_shift = GRID_MAX_SHIFT

    def recording(self):
        """The samples as a ``Pcm16`` (float32 values where read)."""
        from .engine.views import Pcm16, grid_scale
        return Pcm16(self.q, scale=np.full(self.q.shape[1], grid_scale(self.shift), np.float32),
                     offset=self.offset.copy())

    def filter(self, sos: np.ndarray) -> None:
        """Every channel filtered by ``sos`` (second-order sections) in place, in order."""
        from .engine.compiled import sosfilt
        for c in range(self.q.shape[1]):
            zi = np.zeros((len(sos), 2))
            for a in range(0, len(self.q), _RUMBLE_CHUNK):
                x = np.asarray(self.recording()[a:a + _RUMBLE_CHUNK, c])  # this channel alone, as _highpassed reads it
                y, zi = sosfilt(sos, x, zi)
                self._put(a, c, y)
            self.offset[c] = 0.0  # the filtered values have none

    def _put(self, a: int, c: int, y: np.ndarray) -> None:
        from .engine.views import coarsen, grid_scale, on_grid
        v = on_grid(y, self.shift)
        while v is None and self.shift < self._max_shift:
            coarsen(self.q, 1)
            self.shift += 1
            v = on_grid(y, self.shift)
        if v is None:  # beyond the coarsest grid (16 x full scale): clipped there
            v = np.clip(np.rint(y / float(grid_scale(self.shift))), -32768, 32767).astype(np.int16)
        self.q[a:a + len(y), c] = v


def _put_on_grid(b: np.ndarray, held: np.ndarray, shift: int):
    """(``b`` (float32 block) as int16 on the grid ``grid_scale(shift)`` or a coarser one, the grid's
    shift), the samples ``held`` before it put on that coarser grid in place; (None, ``shift``) where
    ``b`` fits no grid up to ``views.GRID_MAX_SHIFT``."""
    from .engine.views import GRID_MAX_SHIFT, coarsen, on_grid
    for s in range(shift, GRID_MAX_SHIFT + 1):
        q = on_grid(b, s)
        if q is not None:
            if s > shift:
                coarsen(held, s - shift)
            return q, s
    return None, shift


def _pcm16_of(b: np.ndarray) -> np.ndarray | None:
    """``b`` (float32) as int16 where each sample is exactly a 16-bit one (``q / 32768``: the
    decoder's value of a 16-bit sample; no -0.0, which a 16-bit sample never gives), else None."""
    s = b * np.float32(32768.0)  # exact: a power of two
    if len(s) and (float(s.min()) < -32768.0 or float(s.max()) > 32767.0):
        return None
    q = s.astype(np.int16)
    if not np.array_equal(q, s) or np.signbit(s[q == 0]).any():
        return None
    return q


def _dc_taken_out(rec):
    """``rec`` (a ``Pcm16``) with each channel's offset taken out where read, where ``remove_dc`` would
    take it out of the float32 recording (the same means, the same values bit for bit: ``Pcm16.without_offset``);
    ``rec`` itself where no channel has one."""
    from .engine.speakers import _mean
    offset = np.zeros(rec.shape[1], np.float32)
    for c in range(rec.shape[1]):
        m = _mean(rec[:, c])
        if abs(m) > DC_REMOVE_ABOVE:
            offset[c] = np.float32(m)
    return rec.without_offset(offset) if offset.any() else rec


DC_REMOVE_ABOVE = 1e-3  # a channel's mean beyond -60 dBFS is a recorder's offset, taken out (remove_dc)


def remove_dc(audio: np.ndarray) -> None:
    """Subtract, in place, each channel's mean from ``audio`` (n_samples, n_channels) where it
    lies beyond ``DC_REMOVE_ABOVE``: a recorder's DC offset. The diarizer reads a mono or
    shared recording as it is, and its voices' channels are cut from that mix in steps, so
    an offset (0.03 made the fixture's mono mix 0.50 / 0.50 for 0.67 / 0.33) must go before
    both. A clean recording's mean (some 1e-5..1e-4) is left alone, bit for bit: the
    diarizer moves with any change of its input, however small."""
    from .engine.speakers import _mean
    for c in range(audio.shape[1]):
        m = _mean(audio[:, c])
        if abs(m) > DC_REMOVE_ABOVE:
            audio[:, c] -= np.float32(m)


RUMBLE_HIGHPASS_HZ = 40.0  # the rumble filter's corner (4th-order Butterworth: -0.02 dB at 80 Hz, a low male voice)
RUMBLE_MIN_SHARE_DB = -18.0  # power below the corner, re the channel's, beyond which it is filtered (remove_rumble)
_RUMBLE_CHUNK = 1 << 20  # samples filtered at once (float64)


def remove_rumble(audio: np.ndarray) -> bool:
    """High-pass ``audio`` (n_samples, n_channels) in place at ``RUMBLE_HIGHPASS_HZ`` where
    the power below that corner reaches ``RUMBLE_MIN_SHARE_DB`` of a channel's power: a
    drifting offset, handling noise, a table's thumps, ventilation. The diarizer reads a mono
    or shared recording as it is (its voices' channels are cut from that mix), and such
    sub-speech power undid it: a 2 Hz wander at 0.01 (-43 dBFS) made the fixture's mono mix
    0.51 / 0.49 with 5 speaker changes for 0.63 / 0.37 and 14 (docs/speakers.md,
    twenty-seventh round). Filtered, it reads 0.62 / 0.38 and 14. Returns whether it filtered.

    The power below the corner is the power the filter takes away (for a Butterworth
    high-pass, ``1 - |H|^2`` is the matching low-pass). All channels are filtered alike
    when one is found, so that their level difference (the spatial cue) keeps its meaning.
    Below the threshold nothing is touched, bit for bit: real rooms (AMI: -27 .. -21 dB)
    and clean recordings (-33 .. -30 dB) keep the diarizer's results exactly."""
    found = _rumble_found(audio)
    if found:
        for c in range(audio.shape[1]):
            for a, y in _highpassed(audio, c):
                audio[a:a + len(y), c] = y
    return found


def _rumble_sos() -> np.ndarray:
    """The rumble filter's second-order sections (``remove_rumble``)."""
    from .engine.iir import butter_highpass_sos
    return butter_highpass_sos(4, RUMBLE_HIGHPASS_HZ, sample_rate=GRID.sample_rate)


def _highpassed(audio, c: int):
    """(start, float64 samples) of channel ``c`` of ``audio`` high-passed at ``RUMBLE_HIGHPASS_HZ``,
    a chunk at a time, in order."""
    from .engine.compiled import sosfilt

    sos = _rumble_sos()
    zi = np.zeros((len(sos), 2))
    for a in range(0, len(audio), _RUMBLE_CHUNK):
        y, zi = sosfilt(sos, audio[a:a + _RUMBLE_CHUNK, c], zi)
        yield a, y


def _rumble_found(audio) -> bool:
    """Whether a channel of ``audio`` has ``RUMBLE_MIN_SHARE_DB`` of its power below the corner
    (``remove_rumble``)."""
    for c in range(audio.shape[1]):
        chunks = (audio[a:a + _RUMBLE_CHUNK, c].astype(np.float64) for a in range(0, len(audio), _RUMBLE_CHUNK))
        total = math.fsum(float(np.dot(v, v)) for v in chunks)
        kept = math.fsum(float(np.dot(y, y)) for _, y in _highpassed(audio, c))
        if total > 0.0 and total - kept >= total * 10 ** (RUMBLE_MIN_SHARE_DB / 10):
            return True
    return False


HUM_FAMILIES_HZ = (50.0, 60.0)  # mains frequencies
HUM_HARMONICS = 8               # notched: the mains frequency and its harmonics up to 8 x (400 / 480 Hz)
HUM_MIN_LINE_DB = 20.0          # the strongest line this far above its neighbourhood: a hum, not a voice
HUM_MIN_SHARE_DB = -30.0        # and the lines together this near the recording's power
HUM_NOTCH_Q = 30.0              # notch quality: 1.7 Hz wide at 50 Hz
_HUM_NFFT = 8192                # 1.95 Hz bins
_HUM_MAX_FRAMES = 400           # spectra averaged (spread over the recording)


def _psd_starts(n: int) -> np.ndarray:
    """Where the long-term spectrum's windows start in ``n`` >= ``_HUM_NFFT`` samples: half-overlapping,
    or ``_HUM_MAX_FRAMES`` of them spread evenly over a longer recording."""
    return np.linspace(0, n - _HUM_NFFT, min((n - _HUM_NFFT) // (_HUM_NFFT // 2) + 1, _HUM_MAX_FRAMES)).astype(int)


def _long_term_psd(x: np.ndarray) -> np.ndarray | None:
    """The mean power spectrum of ``x`` (n_samples,): Hann windows of ``_HUM_NFFT`` samples, up to
    ``_HUM_MAX_FRAMES`` of them spread over the recording; None when too short or silent."""
    n = len(x)
    if n < _HUM_NFFT:
        return None
    starts = _psd_starts(n)
    w = np.hanning(_HUM_NFFT)
    psd = np.zeros(_HUM_NFFT // 2 + 1)
    for a in starts:
        psd += np.abs(np.fft.rfft(x[a:a + _HUM_NFFT].astype(np.float64) * w)) ** 2
    return psd if psd.sum() > 0.0 else None


def _line(psd: np.ndarray, f: float) -> tuple[float, float]:
    """(how many times the bins around ``f`` Hz stand above the median of the bins 4-25 Hz either
    side, their power over that floor)."""
    df = GRID.sample_rate / _HUM_NFFT
    c = int(round(f / df))
    lo, hi = int(round((f - 25.0) / df)), int(round((f + 25.0) / df))
    floor = float(np.median(np.r_[psd[lo:c - 2], psd[c + 3:hi + 1]]))
    line = psd[c - 1:c + 2]
    return float(line.max()) / max(floor, 1e-300), float(line.sum()) - 3.0 * floor


def hum_frequency(x: np.ndarray, *, psd: np.ndarray | None = None) -> float | None:
    """The mains frequency (50 or 60 Hz) whose hum ``x`` (n_samples,) carries, or None: the
    long-term spectrum (``_long_term_psd``) has a line at one of the first ``HUM_HARMONICS``
    multiples ``HUM_MIN_LINE_DB`` above the median of the bins 4-25 Hz either side, and the
    lines that stand 10 dB out hold ``HUM_MIN_SHARE_DB`` of the power. Voices' harmonics move
    and average out; a hum's stay. Or, where the voices' own spectrum hides the lines (a hum
    with its harmonics 20 dB under real voices stands only 0-7 dB out of the long-term spectrum
    at 100-250 Hz, as the voices' harmonics do), on the pauses' spectrum (``_quiet_psd``): one
    multiple ``TONE_QUIET_MIN_LINE_DB`` out and ``HUM_QUIET_MIN_LINES`` of them 10 dB out, a family
    of lines at the mains' exact multiples that a voice in a pause does not hold (the 140 recordings
    of the amireal, tune, held and fresh14 splits: none; in their pauses the strongest multiple stands
    up to 16.6 dB out, the third 8.9 dB at most; docs/speakers.md, thirty-fourth round)."""
    psd = _long_term_psd(x) if psd is None else psd
    if psd is None:
        return None
    total = float(psd.sum())
    found = _mains_family(psd, total, min_line_db=HUM_MIN_LINE_DB, min_lines=1)
    if found is None:
        quiet = _quiet_psd(x)
        if quiet is not None:
            found = _mains_family(quiet, total / len(_psd_starts(len(x))), min_line_db=TONE_QUIET_MIN_LINE_DB,
                                  min_lines=HUM_QUIET_MIN_LINES)
    return found


HUM_QUIET_MIN_LINES = 3  # multiples standing 10 dB out of the pauses' spectrum, for hum_frequency's second test


def _mains_family(psd: np.ndarray, total: float, *, min_line_db: float, min_lines: int) -> float | None:
    """The mains frequency of ``HUM_FAMILIES_HZ`` whose first ``HUM_HARMONICS`` multiples in ``psd``
    include one ``min_line_db`` out of its neighbourhood and at least ``min_lines`` 10 dB out,
    these holding ``HUM_MIN_SHARE_DB`` of ``total`` (the recording's power in ``psd``'s scale); the
    strongest such family, or None."""
    best, found = 0.0, None
    for f0 in HUM_FAMILIES_HZ:
        strongest, power, lines = 0.0, 0.0, 0
        for k in range(1, HUM_HARMONICS + 1):
            ratio, p = _line(psd, k * f0)
            if ratio >= 10.0:
                power += p
                lines += 1
                strongest = max(strongest, ratio)
        if strongest >= 10 ** (min_line_db / 10) and lines >= min_lines \
                and power >= total * 10 ** (HUM_MIN_SHARE_DB / 10) and power > best:
            best, found = power, f0
    return found


TONE_BAND_HZ = (40.0, 1000.0)  # steady tones looked for here (a fan, a transformer, a projector)
TONE_MAX_LINES = 8
TONE_NOTCH_Q = 15.0            # 6 Hz wide at 90 Hz: the line's frequency is read to a fraction of a bin


def _band_peaks(psd: np.ndarray):
    """(bin, frequency in Hz) of each local maximum of ``psd`` in ``TONE_BAND_HZ``, the frequency read
    between bins (a parabola through the log powers of the bin and its neighbours)."""
    df = GRID.sample_rate / _HUM_NFFT
    for c in range(int(TONE_BAND_HZ[0] / df) + 1, int(TONE_BAND_HZ[1] / df)):
        if not (psd[c] >= psd[c - 1] and psd[c] > psd[c + 1]):
            continue
        la, lb, lc = np.log(psd[c - 1:c + 2] + 1e-300)
        den = la - 2.0 * lb + lc
        yield c, (c + (0.5 * (la - lc) / den if den < 0 else 0.0)) * df


def steady_tones(x: np.ndarray, *, psd: np.ndarray | None = None, skip: tuple[float, ...] = ()) -> list[float]:
    """Frequencies (Hz) of steady tones in ``x`` other than ``skip`` (within 3 Hz): local maxima of
    the long-term spectrum in ``TONE_BAND_HZ`` standing ``HUM_MIN_LINE_DB`` above the median of the
    bins 4-25 Hz either side, holding together ``HUM_MIN_SHARE_DB`` of the power; the strongest
    ``TONE_MAX_LINES``, each read between bins (a parabola through the log powers). None found in
    the voices of AMI, PTDB-TUG, the fixture or espeak mixes: a voice's harmonics move. And the
    tones that stand out of the pauses only (``_quiet_lines``: among the voices' harmonics)."""
    psd = _long_term_psd(x) if psd is None else psd
    if psd is None:
        return []
    df = GRID.sample_rate / _HUM_NFFT
    found = []
    for c, f in _band_peaks(psd):
        ratio, p = _line(psd, c * df)
        if ratio < 10 ** (HUM_MIN_LINE_DB / 10):
            continue
        if all(abs(f - s) > 3.0 for s in skip):
            found.append((p, f))
    found = sorted(found, reverse=True)[:TONE_MAX_LINES]
    if sum(p for p, _ in found) < float(psd.sum()) * 10 ** (HUM_MIN_SHARE_DB / 10):
        found = []
    tones = [f for _, f in found]
    quiet = [f for f in _quiet_lines(x, psd) if all(abs(f - s) > 3.0 for s in (*skip, *tones))]
    return sorted(tones + quiet[:TONE_MAX_LINES - len(tones)])


TONE_QUIET_SHARE = 0.25         # the quietest quarter of the long-term spectrum's windows (the pauses, mostly)
TONE_QUIET_MIN_WINDOWS = 20     # at least this many of them (some 40 s of recording)
TONE_QUIET_MIN_LINE_DB = 15.0   # a line this far above its neighbourhood in them
TONE_QUIET_MIN_SHARE_DB = -25.0  # as loud as this against the recording's mean power
TONE_STEADY = (0.5, 3.0)        # its power over the floor in all windows against in the quiet ones


def _quiet_lines(x: np.ndarray, psd: np.ndarray) -> list[float]:
    """Steady tones among the voices' own harmonics (150-250 Hz: there a tone stands only 9-16 dB out of
    the long-term spectrum, no more than the voices' harmonics do, so ``steady_tones``' first test cannot
    tell them apart): lines of the mean spectrum of the quietest ``TONE_QUIET_SHARE`` of the long-term
    spectrum's windows (the pauses, where no voice is) in ``TONE_BAND_HZ`` standing
    ``TONE_QUIET_MIN_LINE_DB`` above the median of the bins 4-25 Hz either side, as loud as
    ``TONE_QUIET_MIN_SHARE_DB`` against the recording's mean power, and as loud over their floor in every
    window as in the quiet ones (within ``TONE_STEADY``: a tone does not change where a voice speaks;
    a voice's harmonic heard in a pause is many times louder where that voice speaks). Frequencies
    (Hz), read between bins as ``steady_tones`` reads them; none where the recording has fewer than
    ``TONE_QUIET_MIN_WINDOWS`` quiet windows. None found in the 330 benchmark recordings traced
    (AMI voices of one sex, espeak dialogues; docs/speakers.md, twenty-ninth round)."""
    quiet = _quiet_psd(x)
    if quiet is None:
        return []
    mean = psd / len(_psd_starts(len(x)))  # _long_term_psd's sum over the same windows
    total = float(mean.sum())
    df = GRID.sample_rate / _HUM_NFFT
    out = []
    for c, f in _band_peaks(quiet):
        ratio, p = _line(quiet, c * df)
        if ratio < 10 ** (TONE_QUIET_MIN_LINE_DB / 10) or p < total * 10 ** (TONE_QUIET_MIN_SHARE_DB / 10):
            continue
        if not TONE_STEADY[0] * p <= _line(mean, c * df)[1] <= TONE_STEADY[1] * p:
            continue
        out.append((p, f))
    return [f for _, f in sorted(out, reverse=True)]


def _quiet_psd(x: np.ndarray) -> np.ndarray | None:
    """The mean power spectrum of the quietest ``TONE_QUIET_SHARE`` of the long-term spectrum's
    windows (``_psd_starts``; the pauses, mostly), or None where there are fewer than
    ``TONE_QUIET_MIN_WINDOWS`` of them."""
    starts = _psd_starts(len(x))
    k = int(len(starts) * TONE_QUIET_SHARE)
    if k < TONE_QUIET_MIN_WINDOWS:
        return None
    w = np.hanning(_HUM_NFFT)
    energy = np.array([float(np.dot(v, v)) for v in (x[a:a + _HUM_NFFT].astype(np.float64) * w for a in starts)])
    quiet = np.zeros(_HUM_NFFT // 2 + 1)
    for a in starts[np.sort(np.argsort(energy, kind="stable")[:k])]:
        quiet += np.abs(np.fft.rfft(x[a:a + _HUM_NFFT].astype(np.float64) * w)) ** 2
    return quiet / k


def notch_sos(f0: float, *, harmonics: int = HUM_HARMONICS, q: float = HUM_NOTCH_Q,
              freqs: tuple[float, ...] = ()) -> np.ndarray:
    """Second-order notches at ``f0`` and its multiples up to ``harmonics`` x, or at ``freqs``
    where given (RBJ's audio EQ cookbook notch: unit gain away from the line, zero on it),
    shape (n_notches, 6)."""
    rows = []
    for f in (freqs or tuple(k * f0 for k in range(1, harmonics + 1))):
        w0 = 2.0 * math.pi * f / GRID.sample_rate
        alpha = math.sin(w0) / (2.0 * q)
        a0 = 1.0 + alpha
        rows.append([1.0 / a0, -2.0 * math.cos(w0) / a0, 1.0 / a0, 1.0, -2.0 * math.cos(w0) / a0, (1.0 - alpha) / a0])
    return np.array(rows)


def remove_hum(audio: np.ndarray) -> tuple[float, ...] | None:
    """Notch out mains hum (``hum_frequency``: the mains frequency and its first
    ``HUM_HARMONICS`` multiples) and other steady tones (``steady_tones``) found on any channel
    from every channel of ``audio`` (n_samples, n_channels) in place; returns the frequencies
    notched, or None (nothing touched, bit for bit). The diarizer's voices' channels carry
    noise at the recording's floor where their voice is silent, shaped like its pauses at
    100 Hz resolution: a hum's or a tone's line became a band of noise that the voice activity
    (150 Hz high-pass) heard above the real line, as speech of the other voice; a 50 Hz hum
    at -35 dBFS put the fixture's mono mix at 0.52 / 0.48 for 0.67 / 0.33, a 90 Hz tone 0.51
    (docs/speakers.md, twenty-seventh round). Separate channels were not affected (their
    voice activity hears the line as it is)."""
    from .engine.compiled import sosfilt

    found = _hum_sections(audio)
    if found is None:
        return None
    sos, freqs = found
    for c in range(audio.shape[1]):
        zi = np.zeros((len(sos), 2))
        for a in range(0, len(audio), _RUMBLE_CHUNK):
            y, zi = sosfilt(sos, audio[a:a + _RUMBLE_CHUNK, c], zi)
            audio[a:a + len(y), c] = y
    return freqs


def _hum_sections(audio) -> tuple[np.ndarray, tuple[float, ...]] | None:
    """(the notches' sections, the frequencies notched) that ``remove_hum`` applies to ``audio``, or
    None where no hum or steady tone is found."""
    mains, tones = None, []
    for c in range(audio.shape[1]):
        psd = _long_term_psd(audio[:, c])
        if psd is None:
            continue
        mains = mains or hum_frequency(audio[:, c], psd=psd)
        skip = tuple(k * mains for k in range(1, HUM_HARMONICS + 1)) if mains else ()
        tones += [f for f in steady_tones(audio[:, c], psd=psd, skip=skip) if all(abs(f - t) > 3.0 for t in tones)]
    sections = []
    if mains:
        sections.append(notch_sos(mains))
    if tones:
        sections.append(notch_sos(0.0, freqs=tuple(tones), q=TONE_NOTCH_Q))
    if not sections:
        return None
    return np.concatenate(sections), tuple(sorted((tuple(k * mains for k in range(1, HUM_HARMONICS + 1)) if mains
                                                  else ()) + tuple(tones)))


def wants_attribution(*, n_files: int, n_channels: int, speaker: str | None, layout: str,
                      channels: str | None = None, flags: tuple[str, str] = ("--channels", "--layout")) -> bool:
    """Whether a recording goes through layout detection (``attribute_recording``): one file
    of one or two channels, unless a mono file names its one speaker (``--speaker``), and
    two files (one speaker each: checked that each carries its own voice). Raises
    InputError for a layout override that two files cannot take, that a file of more than
    two channels cannot take, or that ``channels`` (the ``--channels`` text: one speaker
    per channel) contradicts; each was ignored without a word. ``flags``: how ``channels`` and ``layout``
    are named in an error (``prosody batch``: a manifest's row and columns)."""
    channels_flag, layout_flag = flags
    if layout not in LAYOUT_REQUESTS:
        raise InputError(f"layout {layout!r}: use auto, separate, shared or mono")
    if n_files == 2:
        if layout not in ("auto", "separate"):
            raise InputError(f"{layout_flag} {layout} applies to one file; two files are one speaker each")
        return True
    if layout in ("shared", "mono") and channels:
        raise InputError(f"{channels_flag} {channels} names one speaker per channel, and {layout_flag} {layout} "
                         "says both voices are on every channel, told apart by voice: give one or the other "
                         f"({layout_flag} separate with {channels_flag} forces the channel mapping)")
    if n_files == 1 and n_channels == 1 and channels and not speaker and layout == "auto":
        check_one_channel_named(channels, channels_flag)
    if layout in ("shared", "mono") and n_channels > 2:
        raise InputError(f"{layout_flag} {layout} reads a file of one or two channels; this one has {n_channels}: "
                         f"name the speakers' channels with {channels_flag} therapist=N,client=M (one speaker per channel)")
    return n_files == 1 and n_channels <= 2 and not (n_channels == 1 and speaker)


def check_one_channel_named(channels: str, flag: str = "--channels") -> None:
    """Raise InputError for ``--channels`` naming the speaker of a one-channel file's channel: it was let go with
    "the audio looks mono ...; speakers are attributed by voice instead (use --layout separate to force the
    channel mapping)", the speaker named taken for the therapist, and ``--layout separate`` then refused ("needs
    two channels ... use --layout mono"), and ``--layout mono`` with ``--channels`` too; ``live --input`` took the
    name while live and dropped it on save with ``--record`` (hostile sweep 55).
    A mono file's one speaker is named with ``--speaker``. A map that names no channel of it is left to its own
    error where the map is read."""
    from .engine.sources import parse_channel_map
    try:
        names = list(parse_channel_map(channels, n_channels=1, flag=flag))
    except InputError:
        return
    name = names[0] if len(names) == 1 else "NAME"
    hint = f"--speaker {shlex.quote(name)}" if flag.startswith("--") else f"the speaker column ({name})"
    raise InputError(f"{flag} {channels} names the speaker of each channel, and the file has one: name its one "
                     f"speaker with {hint}, or give neither (its voices are then told apart by diarization)")


def _separate_claim(paths, layout: str, offset_s: float, *, channels: str | None = None, profile=None):
    """The Attribution of a recording taken as one speaker per channel (two files, or one
    stereo file under ``--layout separate``), after its first ``PROBE_S`` seconds were
    checked: where both channels carry both voices (``detect_layout`` says shared), the
    cross-talk rejection takes each voice for the other's leak on the channel where it is
    quieter, and on identical channels everywhere: both speakers come out with next to no
    speech. Two files so found are refused unless ``--layout separate`` insists (they
    cannot be diarized as one recording: two devices need not run in step); one stereo
    file under the override is analysed as asked, with a warning saying why its figures
    may be wrong. Two files are one speaker each in the order given; a ``profile`` that
    finds the therapist in the second file says so (``name_channels``), and changes nothing."""
    from .engine.sources import parse_channel_map
    from .engine.speakers import Attribution, detect_layout, name_channels

    two_files = len(paths) == 2
    head, _ = read_channels(paths, 2, limit_s=PROBE_S, offset_s=offset_s)
    rep = detect_layout(head)
    if two_files:
        spk, picks, how = ("therapist", "client"), (0, 1), "one speaker per file (cross-talk rejected per frame)"
    else:
        m = parse_channel_map(channels, n_channels=2) if channels else None
        spk = tuple(sorted(m, key=m.get)) if m else ("therapist", "client")
        picks = tuple(m[s] for s in spk) if m else (0, 1)
        how = "one speaker per channel (cross-talk rejected per frame)"
    warnings = ()
    if rep.layout != "separate":
        what = "both files carry both voices" if two_files else "both channels carry both voices"
        if two_files and layout == "auto":
            raise InputError(f"{what} ({rep.reason}), so they cannot be read as one speaker per file: analyse one "
                             "of them alone (its voices are then told apart by diarization), or give --layout "
                             "separate to analyse each file as one speaker anyway")
        warnings = (f"--layout separate overrides the detected layout ({rep.layout}: {rep.reason}): where {what}, "
                    "each voice is taken for the other's leak where it is quieter, and speaking time, turns and "
                    "every measure built on them can be far too low",)
        rep = replace(rep, reason=f"as given by --layout separate; the audio looked {rep.layout}: {rep.reason}")
    if two_files and layout == "auto" and {"silent_channel", "quiet_channel"} & set(rep.evidence):
        warnings += _one_file_of_two_voices(paths, spk, offset_s, silent="silent_channel" in rep.evidence)
    if two_files:
        warnings += files_of_own_voices(paths, spk)
    if two_files and profile is not None and rep.layout == "separate":
        naming = name_channels(head, profile=profile)
        if naming.names[0] != "therapist" and not naming.assumption:  # the order given is the user's: said only
            rule = naming.rule.replace("channel", "file")
            warnings += (f"the voice profile finds the therapist in the second file ({rule}): the files are read in "
                         f"the order given, therapist first; give them the other way round if {paths[1]} is the "
                         "therapist's",)
    return Attribution("separate", rep, spk, how, channel_picks=picks, warnings=warnings,
                       channels_alike=rep.layout != "separate")


def files_of_own_voices(paths, speakers) -> tuple[str, ...]:
    """Of two per-speaker files, the warning for each whose channels carry a voice each (``detect_layout`` over
    its first ``PROBE_S`` seconds: speech alternating between them, a dialogue recorded a channel each): one
    speaker's file is read from one channel (``voiced_channel``), and the other voice on it was dropped unsaid;
    the dialogue given as the client's file beside the therapist's was read from its channel 1, the therapist's
    own voice, and said "therapist never speaks: no speech was found on channel 1" (hostile sweep 54)."""
    from .engine.sources import AudioFile, voiced_channel
    from .engine.speakers import carries_own_voices, detect_layout
    out = []
    for path, who in zip(paths, speakers):
        if AudioFile(path).channels < 2:
            continue
        head, _ = read_channels([path], 2, limit_s=PROBE_S)
        rep = detect_layout(head)
        if carries_own_voices(rep):
            out.append(f"{path} (the {who}'s file) carries a voice on each of its first two channels ({rep.reason}): "
                       f"one speaker's file is read from one channel, so its channel {voiced_channel(path) + 1} "
                       f"alone is taken for the {who} and the other voice on it is not analysed; if it holds the "
                       f"whole session, analyse it alone (`prosody analyze {path}`)")
    return tuple(out)


def _one_file_of_two_voices(paths, speakers, offset_s: float, *, silent: bool) -> tuple[str, ...]:
    """Two files, one of them silent (or much quieter on every voice) where it overlaps the other: the warning,
    where the other file's own speech is two voices, or said unsure, that its speaker's figures (warmth
    included) are both people's; else (). The files stay one speaker each in the order given (the user's
    word, as a stereo file's ``--layout separate``); the loud one is diarized on its own as ``attribute`` does
    a stereo file's loud channel (a stereo file so made is read as that one channel). Costs one diarization of
    that file, only where the other is silent or that much quieter."""
    from .engine.speakers import attribute

    audio, _ = read_channels(paths, 2, offset_s=offset_s, compact=True)
    att = attribute(audio, layout="auto")
    del audio
    d, k = att.diarization, att.live_channel
    if d is None or k is None:  # one voice there (or the whole recording not so after all): as given
        return ()
    who, other = speakers[k], paths[1 - k]
    quiet = "is silent" if silent else "is much quieter on every voice"
    if d.unsure or d.n_voices != 2:
        return (f"{paths[k]} (the {who}'s file) may carry two voices: who spoke when in it is unsure, and {other} "
                f"{quiet}; read as given, one speaker per file, the {who}'s figures (warmth included) may be both "
                f"people's (analysed alone, `prosody analyze {paths[k]}`, its speech is left unattributed; record "
                "one file per person)",)
    return (f"{paths[k]} (the {who}'s file) carries two voices, and {other} {quiet}; read as given, one speaker "
            f"per file, the {who}'s figures (warmth included) are both people's: analysed alone (`prosody analyze "
            f"{paths[k]}`) its two voices are told apart",)


# ``--voices`` and a manifest's ``voices`` cell as typed (spaces and case aside) -> how many people speak
VOICES_TOLD = MappingProxyType({"auto": None, "1": 1, "2": 2})


def check_voices_told(voices: int | None, *, n_files: int, speaker: str | None, layout: str) -> None:
    """Raise InputError where ``--voices`` (how many people speak on one shared or mono file)
    contradicts the other arguments: two files or ``--layout separate`` are one person per file
    or channel, ``--speaker`` names a mono file's one speaker."""
    if voices is None:
        return
    if voices not in (1, 2):
        raise InputError(f"--voices {voices}: give 1 or 2 (how many people speak on the recording)")
    if voices == 1 and (n_files == 2 or layout == "separate"):
        raise InputError("--voices 1 contradicts " + ("two files" if n_files == 2 else "--layout separate")
                         + ", which carry one person per " + ("file" if n_files == 2 else "channel"))
    if voices == 2 and speaker:
        raise InputError("--voices 2 contradicts --speaker, which says one person speaks on the file")


def diarize_config(vad=None, *, hear_gain_db: float = 0.0):
    """The ``DiarizeConfig`` a recording is diarized with under the analysis' ``VadConfig`` ``vad`` (None: the
    defaults): the diarized voices' channels are heard by that VAD, so the short answers whose edges go to
    their own voice (``DiarizeConfig.flip_overlap_bridge_s``) are those under its ``min_duration_off_s``, not
    the default 0.6 s (a ``[vad]`` merge of 1.0 s bridged the holder's pause over a 0.8 s answer overlapped at
    both ends: two changes lost); ``hear_gain_db``: a quiet recording's speech detection hears it raised."""
    from .engine.diarize import DiarizeConfig
    cfg = DiarizeConfig()
    if vad is not None:
        cfg = replace(cfg, flip_overlap_bridge_s=vad.min_duration_off_s)
    return replace(cfg, vad=replace(cfg.vad, hear_gain_db=hear_gain_db)) if hear_gain_db else cfg


def attribute_recording(paths, *, n_channels: int, layout: str = "auto", channels: str | None = None,
                        profile=None, offset_s: float = 0.0, voices: int | None = None, vad=None):
    """(Attribution or None, VoiceChannels or None) for one file, or two (one speaker each:
    checked, ``_separate_claim``); None channels = analyse the file's channels as separate
    speakers (the streaming path).

    ``channels``: the ``--channels`` text (speaker=channel); ``profile``: a
    ``VoiceProfile`` naming the therapist among diarized voices, or checking which
    separate channel is the therapist's (``engine.speakers.name_channels``); ``voices``:
    ``--voices``, how many people speak where the file is diarized (None: from the audio); ``vad``: the
    analysis' ``VadConfig`` (None: the defaults), whose room-tail trim the diarized voices' channels take."""
    from .engine.sources import parse_channel_map
    from .engine.speakers import ONE_TOLD_SEPARATE, attribute, detect_layout, separate_attribution

    label = str(paths[0])
    if len(paths) == 2:
        return _separate_claim(paths, layout, offset_s, profile=profile), None
    if layout == "separate":
        if n_channels == 1:
            raise InputError(f"--layout separate needs two channels; {label} has one: use --layout mono")
        return _separate_claim(paths, layout, offset_s, channels=channels), None
    picks_map = parse_channel_map(channels, n_channels=n_channels) if channels else None
    if n_channels == 2 and layout == "auto":
        head, _ = read_channels(paths, n_channels, limit_s=PROBE_S)
        rep = detect_layout(head)
        # one channel silent (or as much quieter on every voice): the other's voices decide, in attribute()
        if rep.layout == "separate" and not {"silent_channel", "quiet_channel"} & set(rep.evidence):
            told = (ONE_TOLD_SEPARATE,) if voices == 1 else ()
            return separate_attribution(head, rep, channels=picks_map, profile=profile, warnings=told), None
        del head  # not held beside the whole recording
    if n_channels == 1 and layout == "shared":
        raise InputError(f"--layout shared needs two channels; {label} has one: use --layout mono")
    audio, warnings = read_channels(paths, n_channels, compact=True)  # 16-bit samples held as such (Pcm16)
    # a quiet recording: the diarizer's speech detection and the voices' hear the mix raised (``hearing_gain_db``)
    from .engine.speakers import _vad_levels_db
    from .engine.vad import hearing_gain_db
    from .engine.views import ChannelMean
    gain = hearing_gain_db(_vad_levels_db(ChannelMean(audio), len(audio) // GRID.hop_length))
    if gain and not _all_sixteen_bit(paths, n_channels):
        # a quiet recording of more than 16 bits (24-bit, float, another rate, decoded) is heard at its own
        # samples, not on the 16-bit grid: rounded to it, pauses under one step (-96 dBFS) became exact zeros
        # dotted with single steps, and raised by the gain that was a floor of steps, not the room (the fixture
        # dialogue as a float or 24-bit file whose loudest 1 % lies at -50.2 dBFS: the client's wait 0.245 s for
        # a planted 0.413, right at -49.8 unraised and from the same file in 16 bits; hostile sweep 23)
        del audio
        audio, warnings = read_channels(paths, n_channels)  # float32 (twice the memory: quiet files only)
        gain = hearing_gain_db(_vad_levels_db(ChannelMean(audio), len(audio) // GRID.hop_length))
    dcfg = diarize_config(vad, hear_gain_db=gain)
    att = attribute(audio, layout=layout, channels=picks_map, profile=profile, voices=voices,
                    config=dcfg).with_vad(vad)
    if gain:
        att = replace(att, hear_gain_db=gain)
    if att.diarization is None:  # the whole session says separate after all
        return att, None
    d = att.diarization
    # where each voice is read from, for the session's audio record: the channel diarized, or for a
    # shared recording each voice's own (both voices reach both), channel 1 for mono
    n_in = audio.shape[1]  # read_channels: (n_samples, n_channels)
    picks = (tuple((0, att.live_channel) for _ in range(d.n_voices)) if att.live_channel is not None
             else tuple((0, min(i, n_in - 1)) for i in range(d.n_voices)))
    mono = att.mix(audio)  # of stereo: the channels' mean read block by block (engine.views.ChannelMean)
    del audio  # only the mix reads the recording from here on
    if d.n_voices == 2:
        vc = VoiceChannels(lambda: att.voice_blocks(mono, block_samples=VoiceChannels.BLOCK_SAMPLES),
                           len(mono), att.speakers, warnings, picks)
    else:
        name = att.naming.names[0] if att.naming is not None else "therapist"
        vc = VoiceChannels.of_signal(mono, (name,), warnings, picks)
    vc.hear_gain_db = gain
    return att, vc


def _levels_of_blocks(blocks, n_channels: int) -> list[np.ndarray]:
    """Per channel, the 10 ms frames' levels (dBFS) of (n, n_channels) blocks high-passed as ``RawVad`` hears
    them (``VadConfig.highpass_hz``, 4th order, causal, its state carried from block to block)."""
    from .config import VadConfig
    from .engine.compiled import sosfilt
    from .engine.framing import rms_db
    from .engine.iir import butter_highpass_sos
    hop = GRID.hop_length
    sos = butter_highpass_sos(4, VadConfig().highpass_hz, sample_rate=GRID.sample_rate)
    zi = [np.zeros((sos.shape[0], 2)) for _ in range(n_channels)]
    rest = [np.zeros(0, np.float32) for _ in range(n_channels)]
    out: list[list[np.ndarray]] = [[] for _ in range(n_channels)]
    for block in blocks:
        block = np.asarray(block, np.float32).reshape(len(block), -1)
        for c in range(n_channels):
            x = np.concatenate([rest[c], block[:, c]])
            k = len(x) // hop * hop
            rest[c] = x[k:]
            if k:
                y, zi[c] = sosfilt(sos, x[:k].astype(np.float64), zi[c])
                out[c].append(rms_db(y.reshape(-1, hop)))
    return [np.concatenate(o) if o else np.zeros(0, np.float32) for o in out]


def hearing_gains(source) -> tuple[float, ...]:
    """Per speaker channel of a ``FileSource`` (read once more, from the start: the gain is the whole file's), the
    gain its speech detection hears it with (``hearing_gain_db``); () where every channel's is 0."""
    from .engine.sources import FileSource
    from .engine.vad import hearing_gain_db
    again = FileSource([f.path for f in source.files], source.layout, offset_s=source.offset_s)
    gains = tuple(hearing_gain_db(lv) for lv in _levels_of_blocks(again, len(source.layout.picks)))
    return gains if any(gains) else ()


@dataclass(frozen=True)
class Recording:
    """What one recording is analysed as once its attribution is known
    (``recording_plan``): ``source`` (2 s blocks of the speaker channels),
    ``speakers`` in pipeline order, ``picks``: where each speaker is read, as
    (file index, channel index) for the session's audio record (a diarized
    voice: the file's own channel, both voices from channel 1 of a mono file),
    and ``cross_talk``: whether the channels are separate speakers whose
    cross-talk is rejected per frame (diarized voices are not)."""

    source: object
    speakers: tuple[str, ...]
    picks: tuple[tuple[int, int], ...]
    cross_talk: bool
    hear_gain_db: tuple[float, ...] = ()  # per speaker channel, what its speech detection hears it with (() : none)
    warnings: tuple[str, ...] = ()  # what the plan found of the channels named (``_named_channels_shared``)
    # the two channels read one speaker each both carry both voices: the plan's warning of channels named
    # (``_named_channels_shared``) or ``--layout separate`` over a mix (``Attribution.channels_alike``), set by
    # those alone, not by any warning of the plan's (hostile sweep 54)
    channels_alike: bool = False


def recording_plan(paths, layout, *, voices: VoiceChannels | None, attribution=None,
                   offset_s: float = 0.0) -> Recording:
    """The speaker channels of one recording: ``voices`` (shared / mono, cut by
    ``attribute_recording``) when there are any, else the file's channels read
    by ``layout`` (``engine.sources.Layout``), the other way round where a voice
    profile found the therapist on channel 2 (``Attribution.channels_swapped``)."""
    if voices is not None:
        return Recording(voices, voices.speakers, voices.picks, cross_talk=False,
                         hear_gain_db=(voices.hear_gain_db,) * len(voices.speakers) if voices.hear_gain_db else ())
    from .engine.sources import FileSource, Layout, with_voiced_channels
    if attribution is not None and attribution.channels_swapped and len(layout.picks) == 2:
        layout = Layout(layout.speakers, layout.picks[::-1])
    layout = with_voiced_channels(layout, paths)  # a stereo file's second channel, where its first is silent
    shared = _named_channels_shared(paths, layout)
    return Recording(FileSource(list(paths), layout, offset_s=offset_s), layout.speakers, layout.picks, cross_talk=True,
                     warnings=shared,
                     channels_alike=bool(shared) or bool(attribution is not None and attribution.channels_alike))


def _named_channels_shared(paths, layout) -> tuple[str, ...]:
    """The warning for two channels of one file of more than two, named one speaker each (``--channels
    therapist=1,client=3``), whose first ``PROBE_S`` seconds both carry both voices (``detect_layout``, as a
    stereo file's are checked): the cross-talk rejection takes each voice for the other's leak where it is
    quieter, and on channels alike everywhere both speakers came out with no speech at all, "therapist never
    speaks: no speech was found on the channel" and the client alike, unexplained (a 3- or 64-channel file of one
    mix on every channel; hostile sweep 51). Nothing for a stereo file (detected before: ``attribute_recording``)."""
    from .engine.sources import FileSource
    from .engine.speakers import detect_layout
    if len(paths) != 1 or len(layout.picks) != 2:
        return ()
    source = FileSource(list(paths), layout)
    if source.files[0].channels <= 2:
        return ()
    head, limit = [], int(PROBE_S * GRID.sample_rate)
    for block in source:
        head.append(block)
        if sum(len(b) for b in head) >= limit:
            break
    rep = detect_layout(np.concatenate(head)[:limit]) if head else None
    if rep is None or rep.layout != "shared":
        return ()
    named = " and ".join(f"channel {c + 1} ({s})" for s, (_, c) in zip(layout.speakers, layout.picks))
    return (f"{paths[0]}: {named} are read as one speaker each, but both carry both voices ({rep.reason}): each "
            "voice is taken for the other's leak where it is quieter, and speaking time, turns and every measure "
            "built on them can be far too low; name the channels that each hold one speaker's own microphone",)


def analyze_recording(rec: Recording, config, *, attribution, sources, measures=None, profile=None, on_block=None,
                      said=None):
    """The session of ``rec`` (``recording_plan``), as analyze and batch both
    give it: analysed through the one pipeline, with the source's warnings, then
    the attribution (``Attribution.to_dict``) and its warnings, then a warning
    for each configured pitch range that names none of its speakers
    (``AnalysisConfig.unused_pitch_ranges``) and for each speaker who never
    speaks (``session.silent_speaker_warnings``).
    ``said`` maps each warning's text (batch: its local copies' paths back to
    the files named)."""
    from .session import analyze_blocks, quiet_speech_warnings, silent_speaker_warnings
    said = said or (lambda text: text)
    unused = ()
    if profile is not None and profile.kind == "profile" and rec.speakers == (UNATTRIBUTED,):  # who spoke when is unsure: nobody's baseline
        unused = (f"the personal baseline ({', '.join(s for s, _ in profile.speakers)}) is not used: who spoke when "
                  f"is unsure, and the speech left {UNATTRIBUTED} is compared with its own session instead",)
        profile = None  # as said: kept, the session's baseline was the profile's and the voice's figures blank
    elif profile is not None:  # a personal baseline of none of these speakers would be silently unused
        profile.check_speakers(rec.speakers)
    from .engine.sources import FileSource
    gains = rec.hear_gain_db or (hearing_gains(rec.source) if isinstance(rec.source, FileSource) else ())
    session = analyze_blocks(rec.source, rec.speakers, config, sources=list(sources), on_block=on_block,
                             measures=measures, profile=profile, cross_talk=rec.cross_talk, hear_gain_db=gains)
    said_first = [*rec.source.warnings, *rec.warnings]  # the files', then the channels named
    session = replace(session, warnings=session.warnings + tuple(said(w) for w in said_first),
                      heard_raised_db={s: float(g) for s, g in zip(rec.speakers, gains) if g})
    if attribution is not None:
        session = replace(session, attribution=attribution.to_dict(),
                          warnings=session.warnings + tuple(said(w) for w in attribution.warnings))
    # the channels named of one file (``--channels`` on a file of more than two: no attribution names them)
    named = ({s: c + 1 for s, (_, c) in zip(rec.speakers, rec.picks)}
             if rec.cross_talk and len(sources) == 1 and len(rec.speakers) > 1 else None)
    return replace(session, warnings=session.warnings + config.unused_pitch_ranges(rec.speakers)
                   + silent_speaker_warnings(session, channels_alike=rec.channels_alike, channels=named) + unused
                   + tuple(said(w) for w in quiet_speech_warnings(session, source=str(sources[0]) if len(sources) == 1
                                                                   else None,
                                                                   heard_raised_db=dict(zip(rec.speakers, gains)))))
