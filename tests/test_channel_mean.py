"""A stereo recording's channel mean read piece by piece (``engine.views.ChannelMean``) gives
the values of the whole mean, bit for bit, to every reader the diarizer and the layout
detection have: slices, gathered positions, 10 ms frame rows, the voice activity, the
encoder's mel power and the pitch. (An hour of stereo no longer holds its 230 MB mean beside
its 461 MB: benchmarks/long_session.py.)"""
from __future__ import annotations

import numpy as np

from prosody.engine.diarize import (DiarizeConfig, _frame_f0_st, _speech_rms, channel_mean, frame_mean_square,
                                    speech_mask)
from prosody.engine.embedding import mel_frames
from prosody.engine.views import ChannelMean, frame_rows


def _stereo(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    voice = (0.2 * np.sin(2 * np.pi * 140 * t) * (np.sin(2 * np.pi * 0.4 * t) > 0)).astype(np.float32)
    x = np.stack([voice + 0.01 * rng.standard_normal(n), 0.6 * voice + 0.01 * rng.standard_normal(n)], axis=1)
    x = x.astype(np.float32)
    x[::997, 1] = np.float32(1e-42)    # subnormal samples: halving them rounds
    x[::1013, 0] = np.float32(-0.999)  # and near full scale
    x[::89] = np.float32(-0.0)         # negative zeros: numpy's mean of two gives +0
    return x


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def test_slices_positions_and_frame_rows_equal_the_whole_mean_bit_for_bit():
    x = _stereo(16000 * 3 + 77, 1)
    whole = channel_mean(x)
    whole64 = x.astype(np.float64).mean(axis=1).astype(np.float32)
    for m, ref in ((ChannelMean(x), whole), (ChannelMean(x, in_float64=True), whole64)):
        assert len(m) == len(ref) and m.shape == ref.shape
        for a, b in ((0, 160), (5, 16011), (47000, len(x) + 50), (len(x) - 3, len(x))):
            assert _same_bits(m[a:b], ref[a:b])
        pos = np.random.default_rng(2).integers(0, len(x), size=(31, 640))
        assert _same_bits(m[pos], ref[pos])
        n, hop = len(x) // 160, 160
        rows, want = frame_rows(m, n, hop), ref[: n * hop].reshape(n, hop)
        assert len(rows) == n and rows.shape == (n, hop)
        assert _same_bits(rows[3:250], want[3:250]) and _same_bits(rows[n - 2:n + 5], want[n - 2:])
        pick = np.array([0, 7, 7, n - 1, 100])
        assert _same_bits(rows[pick], want[pick])
        assert np.array_equal(frame_mean_square(rows, np.float64), frame_mean_square(want, np.float64))


def test_the_diarizers_front_end_reads_the_same_from_a_channel_mean():
    x = _stereo(16000 * 8, 3)
    whole, lazy = channel_mean(x), ChannelMean(x)
    cfg = DiarizeConfig().vad
    speech = speech_mask(whole, cfg)
    assert speech.any() and not speech.all()
    assert np.array_equal(speech_mask(lazy, cfg), speech)
    n, hop = len(x) // 160, 160
    assert _speech_rms(frame_rows(lazy, n, hop), speech) == _speech_rms(frame_rows(whole, n, hop), speech)
    assert np.array_equal(mel_frames(lazy, gain=np.float32(3.1)), mel_frames(whole, gain=np.float32(3.1)))
    idx = np.flatnonzero(speech)
    f0 = _frame_f0_st(whole, idx, gain=np.float32(2.0))
    assert np.isfinite(f0).any()
    assert np.array_equal(_frame_f0_st(lazy, idx, gain=np.float32(2.0)), f0, equal_nan=True)


def test_the_mel_power_of_chosen_frames_is_the_whole_ones_rows():
    """``mel_frames_at`` and the per-microphone mean mel power (``_mel_of_channels``) made a chunk
    of frames at a time give the rows of the whole recording's mel power, bit for bit (an hour's
    whole mel power, 58 MB per signal, is no longer made to read its speech frames)."""
    from prosody.engine.diarize import _mel_of_channels, _rows_mean_square
    from prosody.engine.embedding import mel_frames_at
    x = _stereo(16000 * 70 + 123, 5)  # more than one 4096-frame chunk
    n, hop = len(x) // 160, 160
    rng = np.random.default_rng(6)
    for rows in (np.arange(n), np.sort(rng.choice(n, 2500, replace=False)), np.array([0, n - 1]),
                 np.zeros(0, np.int64)):
        whole = mel_frames(x[:, 0], gain=np.float32(1.7))
        assert np.array_equal(mel_frames_at(x[:, 0], rows, gain=np.float32(1.7)), whole[rows])
    speech = np.zeros(n, bool)
    speech[np.sort(rng.choice(n, 4000, replace=False))] = True
    idx = np.flatnonzero(speech)
    p = [_rows_mean_square(frame_rows(x[:, c], n, hop), idx) for c in (0, 1)]
    scale = 10 ** (-30 / 20) / max(float(np.sqrt(np.mean(p))), 1e-9)
    want = ((0.0 + mel_frames(x[:, 0], gain=scale)[:n].astype(np.float64) + mel_frames(x[:, 1], gain=scale)[:n])
            / 2).astype(np.float32)[idx]
    assert np.array_equal(_mel_of_channels(x, speech, n, hop, idx), want)
