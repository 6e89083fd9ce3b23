"""A recording whose file holds exactly its 16-bit samples at 16 kHz (WAV, FLAC) is read from that
file where the attribution needs it (``engine.filestore.FileSamples`` under ``views.Pcm16``), not
held in memory: every read gives numpy's values of the float32 recording, bit for bit, across the
file's blocks; the recording is never held whole while it is read; a file changed while it is
analysed stops with one line; other files (another rate, float or 24-bit samples) are held
in memory on the 16-bit grid; a damaged end is read exactly as before. (An hour of real voices in shared stereo: 585 -> 379 MB peak,
``benchmarks/long_session.py --voices ami``.)"""
from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from prosody.engine import filestore, views
from prosody.engine.filestore import FileSamples
from prosody.engine.views import ChannelMean, Pcm16
from prosody.errors import InputError
from prosody.speaker_channels import read_channels

SR = 16000


def _noise_speech(n: int, channels: int, seed: int = 0) -> np.ndarray:
    """Bursts of band-limited noise at speech levels with pauses (16-bit values), zeros between."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, channels)) * 0.05).astype(np.float32)
    env = (np.sin(np.arange(n) / SR * 2 * np.pi * 0.3) > -0.2).astype(np.float32)
    x *= env[:, None]
    return np.round(np.clip(x, -1, 32767 / 32768) * 32768) / np.float32(32768)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype == np.float32 and np.array_equal(a.view(np.uint32),
                                                                                        b.view(np.uint32))


@pytest.mark.parametrize("fmt,channels", [("wav", 2), ("flac", 2), ("wav", 1)])
def test_the_recording_is_read_from_its_file_with_numpys_values_across_blocks(tmp_path, monkeypatch, fmt, channels):
    # small blocks and cache: every kind of read crosses blocks and evicts them
    monkeypatch.setattr(filestore, "BLOCK", 1600)
    monkeypatch.setattr(filestore, "CACHE_BLOCKS", 3)
    x = _noise_speech(37_123, channels)
    path = str(tmp_path / f"rec.{fmt}")
    sf.write(path, x if channels == 2 else x[:, 0], SR, subtype="PCM_16")
    held, w1 = read_channels([path], channels, compact=True)
    flt, w2 = read_channels([path], channels)
    assert isinstance(held, Pcm16) and isinstance(held.q, FileSamples) and w1 == w2
    assert held.shape == flt.shape == x.shape
    assert _same_bits(np.asarray(held), flt)
    rng = np.random.default_rng(1)
    near = 20_000 + rng.integers(0, 900, (7, 33))          # close together: one range read
    far = rng.integers(0, len(x), (5, 41))                   # across the file: block by block
    for k in (slice(None), slice(5, 30_000), slice(1599, 1601), slice(30_000, 10), near, far, far[::-1],
              np.array([0, len(x) - 1, -1]), 17, (slice(100, 9000), 0), (far, -1), (np.array([3, 4]), slice(0, 1))):
        assert _same_bits(held.read(k), flt[k]), k
    n = len(x) // 160
    for hop, rows in ((160, np.arange(n)), (160, rng.integers(0, n, 50)), (160, np.array([n - 1, 0, 7, 7])),
                      (100, rng.integers(0, len(x) // 100, 40))):  # 100 does not divide the block: sample by sample
        m = len(x) // hop
        want = flt[: m * hop].reshape(m, hop, channels)[rows]
        assert _same_bits(held.frames_at(m, hop, rows), want), hop
    # parts (views) read the same way, and a channel read where read
    part = held[2_000:33_000]
    assert isinstance(part, Pcm16) and isinstance(part.q, FileSamples)
    assert _same_bits(np.asarray(part), flt[2_000:33_000])
    assert _same_bits(part.frames_at(100, 160, np.array([3, 99, 50])),
                      flt[2_000:2_000 + 16_000].reshape(100, 160, channels)[[3, 99, 50]])
    assert _same_bits(held[:, 0][123:4567], flt[:, 0][123:4567])
    if channels == 2:
        mean = (np.float32(0.0) + flt[:, 0] + flt[:, 1]) / np.float32(2.0)
        assert _same_bits(ChannelMean(held)[far], mean[far])
        assert _same_bits(np.asarray(held.inverted(1))[:, 1], -flt[:, 1])


def _peak_of_reading(path: str) -> tuple[int, object]:
    tracemalloc.start()
    try:
        held, _ = read_channels([path], 2, compact=True)
        n = len(held) // 160
        frames = held.frames_at(n, 160, np.arange(0, n, 50))  # frames spread over the recording
        return tracemalloc.get_traced_memory()[1], (held, frames)
    finally:
        tracemalloc.stop()


def test_reading_the_recording_never_holds_it_whole(tmp_path, monkeypatch):
    """Reading a recording twice as long costs no more memory at its peak: nothing of the length
    of the recording is held (holding its 16-bit samples: 9.6 MB more for the longer one)."""
    monkeypatch.setattr(filestore, "CACHE_BLOCKS", 4)
    peaks = []
    for minutes in (2.5, 5.0):
        path = str(tmp_path / f"rec{minutes}.wav")
        sf.write(path, _noise_speech(int(minutes * 60 * SR), 2), SR, subtype="PCM_16")
        peak, (held, frames) = _peak_of_reading(path)
        assert isinstance(held.q, FileSamples) and frames.shape[1:] == (160, 2)
        peaks.append(peak)
    assert peaks[1] - peaks[0] < 2e6, peaks


def test_a_file_changed_while_it_is_analysed_stops_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(filestore, "BLOCK", 1600)
    monkeypatch.setattr(filestore, "CACHE_BLOCKS", 2)
    x = _noise_speech(40_000, 2)
    path = tmp_path / "rec.wav"
    sf.write(str(path), x, SR, subtype="PCM_16")
    held, _ = read_channels([str(path)], 2, compact=True)
    flt = read_channels([str(path)], 2)[0]
    assert isinstance(held.q, FileSamples)
    # a recorder still writing: the file grows (here: bytes after its data); what was read reads the same
    with open(path, "ab") as f:
        f.write(b"\x00" * 10_000)
    assert _same_bits(held.read(slice(8_000, 8_100)), flt[8_000:8_100])
    # another program writes into what was analysed: the next read of that block stops, in one line
    with open(path, "r+b") as f:
        f.seek(44 + 4 * 12_000)  # the canonical header's 44 bytes, then 4 bytes a stereo sample
        f.write(b"\x01" * 4000)
    with pytest.raises(InputError, match="changed while it was being analysed") as e:
        held.read(slice(12_000, 12_100))  # a block no longer in the cache
    assert "\n" not in str(e.value)
    assert _same_bits(held.read(slice(0, 100)), flt[:100])  # the rest reads on as it was


@pytest.mark.parametrize("kind", ["48k", "float", "24bit", "short_data"])
def test_other_files_are_held_on_the_16_bit_grid(tmp_path, kind):
    """A file that does not hold the recording's 16 kHz 16-bit samples (another rate, float or 24-bit
    samples) is held in memory as int16 on the 16-bit grid: each value within half a step (2**-16) of
    the float32 recording's, the same warnings; a damaged end is read and held exactly as before."""
    x = _noise_speech(32_000, 2)
    path = str(tmp_path / f"{kind}.wav")
    if kind == "48k":
        sf.write(path, np.repeat(x, 3, axis=0), 48_000, subtype="PCM_16")
    elif kind == "float":
        sf.write(path, x * np.float32(0.7), SR, subtype="FLOAT")
    elif kind == "24bit":
        sf.write(path, x * np.float32(0.7), SR, subtype="PCM_24")
    else:  # a recorder stopped mid-write: the header claims more samples than the file holds
        sf.write(path, x, SR, subtype="PCM_16")
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - 10_001)
    held, w1 = read_channels([path], 2, compact=True)
    flt, w2 = read_channels([path], 2)
    assert w1 == w2 and isinstance(held, Pcm16)
    if kind == "short_data":  # its 16-bit samples, exactly (read from the file where it still holds them)
        assert _same_bits(np.asarray(held), flt)
    else:
        assert isinstance(held.q, np.ndarray) and held.q.dtype == np.int16
        err = np.abs(np.asarray(held).astype(np.float64) - flt)
        assert err.max() <= 2.0 ** -16 and err.max() > 0  # rounded to the grid, by at most half a step
        assert not _same_bits(np.asarray(held), flt)
    assert np.isfinite(flt).all()


def test_values_beyond_full_scale_put_the_recording_on_a_coarser_grid(tmp_path):
    """A float file whose first half is 16-bit samples and whose second half goes to 3 x full scale:
    the first half is held exactly until the first value no 16-bit sample, then everything is put on
    the grid 4 / 32768 (each value within half of that step); beyond 16 x full scale the recording
    is held in float32 as before (its values exactly)."""
    x = _noise_speech(64_000, 2)
    y = x.copy()
    y[40_000:] = x[40_000:] * np.float32(0.7)  # no longer 16-bit values
    y[50_000] = (3.0, -2.5)
    path = _write_float(tmp_path / "loud.wav", y)
    held, _ = read_channels([path], 2, compact=True)
    flt, _ = read_channels([path], 2)
    assert isinstance(held, Pcm16) and held.held_samples()[1] == 2
    assert np.abs(np.asarray(held).astype(np.float64) - flt).max() <= 2.0 ** -14
    y[60_000] = (20.0, 0.0)
    path = _write_float(tmp_path / "louder.wav", y)
    held, _ = read_channels([path], 2, compact=True)
    assert isinstance(held, np.ndarray) and _same_bits(held[:40_000], read_channels([path], 2)[0][:40_000])


def _write_float(path, x: np.ndarray) -> str:
    sf.write(path, x, SR, subtype="FLOAT")
    return str(path)


def test_views_hold_max_still_catches_a_whole_conversion(tmp_path, monkeypatch):
    x = _noise_speech(50_000, 2)
    path = str(tmp_path / "rec.wav")
    sf.write(path, x, SR, subtype="PCM_16")
    held, _ = read_channels([path], 2, compact=True)
    monkeypatch.setattr(views, "_HOLD_MAX", 20_000)
    with pytest.raises(MemoryError):
        np.asarray(held)
    assert held.read(slice(0, 9_000)).shape == (9_000, 2)
