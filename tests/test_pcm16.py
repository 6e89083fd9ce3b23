"""A mono or shared recording of 16-bit samples is held as they are (``engine.views.Pcm16``: half
the memory of float32) while it is attributed, and gives the float32 recording's results bit for
bit (held in memory, or read from its own file where that holds exactly those samples:
tests/test_filestore.py); a recording that is not all 16-bit samples, or that has something to take out (a DC
offset), is held in float32 as before. With the float32 conversions capped below one channel's
length, attributing a 3.6-minute recording never makes the whole recording, a whole channel or
their mean in float32 at once. (An hour of shared stereo: 732 -> 490 MB peak,
benchmarks/long_session.py.)"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from prosody.engine import views
from prosody.engine.speakers import attribute
from prosody.engine.views import Pcm16
from prosody.speaker_channels import read_channels
from tests.dialogue import build_dialogue, mix_room, scenario_mixed

SR = 16000


def _recording(layout: str, seeds=(3,)) -> np.ndarray:
    parts = []
    for seed in seeds:
        d = build_dialogue(scenario_mixed(seed=seed), noise_db=None, level_db=(-24.0, -27.0), seed=seed)
        parts.append(mix_room(d, layout=layout, seed=seed)[0])
    return np.concatenate(parts)


def _write(path, x: np.ndarray, subtype: str = "PCM_16") -> str:
    sf.write(path, x[:, 0] if x.shape[1] == 1 else x, SR, subtype=subtype)
    return str(path)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype == np.float32 and np.array_equal(a.view(np.uint32),
                                                                                        b.view(np.uint32))


@pytest.mark.parametrize("layout", ["shared", "mono"])
@pytest.mark.parametrize("from_file", [False, True])
def test_a_16_bit_recording_is_held_as_16_bit_samples_with_the_float_values(tmp_path, monkeypatch, layout, from_file):
    """Held in memory (int16: a 16-bit recording the file does not hold as such, e.g. decoded by
    FFmpeg) or read from its own file (``engine.filestore``, tests/test_filestore.py)."""
    import prosody.speaker_channels as sc
    from prosody.engine.filestore import FileSamples
    x = _recording(layout)
    path = _write(tmp_path / "rec.wav", x)
    if not from_file:
        monkeypatch.setattr(sc, "_read_from_file", lambda *a: None)
    held, w1 = read_channels([path], x.shape[1], compact=True)
    flt, w2 = read_channels([path], x.shape[1])
    assert isinstance(held, Pcm16) and held.q.dtype == np.int16 and w1 == w2
    assert isinstance(held.q, FileSamples) == from_file
    assert held.shape == flt.shape and (from_file or held.q.nbytes * 2 == flt.nbytes)
    assert _same_bits(np.asarray(held), flt)
    # numpy's reading: slices are views held alike, a column is read where read, other keys are float32
    assert isinstance(held[100:5000], Pcm16) and _same_bits(np.asarray(held[100:5000]), flt[100:5000])
    assert _same_bits(held[:, 0][7:9000], flt[:, 0][7:9000])
    pos = np.array([5, 5, 17, len(flt) - 1])
    assert _same_bits(held[pos], flt[pos])


def test_a_float_file_is_held_on_the_16_bit_grid_and_an_offset_taken_out_where_read(tmp_path, monkeypatch):
    """A float file is held as int16 on the 16-bit grid (each value within half a step of its float32
    value; it was held in float32, twice the memory). A 16-bit one with a recorder's DC offset was made
    float32 whole to take the offset out (an hour of stereo: 461 MB); its samples are now read as they
    are, the offset taken out where read (``Pcm16.without_offset``), the same values bit for bit, in
    either polarity of a channel, and the attribution the same, with no whole channel made float32."""
    x = _recording("shared", seeds=(0, 1, 2, 5, 7))
    fl = _write(tmp_path / "float.wav", x[:SR * 20] + np.float32(1e-5), subtype="FLOAT")  # not 16-bit samples
    a, _ = read_channels([fl], 2, compact=True)
    assert isinstance(a, Pcm16) and a.held_samples()[1] == 0
    assert np.abs(np.asarray(a).astype(np.float64) - read_channels([fl], 2)[0]).max() <= 2.0 ** -16
    y = x.copy()
    y[:, 0] += np.float32(0.02)   # a recorder's DC offset on one channel, another on the other
    y[:, 1] -= np.float32(0.011)
    dc = _write(tmp_path / "dc.wav", np.clip(y, -1.0, 0.99))
    b, _ = read_channels([dc], 2, compact=True)
    ref, _ = read_channels([dc], 2)
    assert isinstance(b, Pcm16) and _same_bits(np.asarray(b), ref)
    assert all(abs(float(ref[:, c].astype(np.float64).mean())) < 1e-4 for c in (0, 1))  # the offsets are out
    assert _same_bits(np.asarray(b.inverted(1))[:, 1], -ref[:, 1])
    assert _same_bits(b[:, 1][100:9000], ref[100:9000, 1]) and _same_bits(b.frames_at(50, 160, [3, 49]),
                                                                         ref[:8000].reshape(50, 160, 2)[[3, 49]])
    want = attribute(ref)
    monkeypatch.setattr(views, "_HOLD_MAX", 3_000_000)
    got = attribute(b)
    assert got.to_dict() == want.to_dict() and want.diarization.n_voices == 2
    for p, q in zip(got.voice_blocks(got.mix(b)), want.voice_blocks(want.mix(ref))):
        assert _same_bits(p, q)


@pytest.mark.parametrize("layout", ["shared", "mono"])
def test_attribution_from_16_bit_samples_is_the_same_and_never_converts_a_whole_channel(tmp_path, monkeypatch,
                                                                                       layout):
    x = _recording(layout, seeds=(0, 1, 2, 5, 7))
    n = len(x)
    assert n > 3.4 * 60 * SR, n / SR
    path = _write(tmp_path / "rec.wav", x)
    flt, _ = read_channels([path], x.shape[1])
    held, _ = read_channels([path], x.shape[1], compact=True)
    want = attribute(flt)
    # every float32 conversion capped below one channel's length: the reads the attribution makes are
    # pieces (at most 2.6 M samples: 8192 frames of 160 samples, two channels)
    cap = 3_000_000
    assert n > cap
    monkeypatch.setattr(views, "_HOLD_MAX", cap)
    with pytest.raises(MemoryError):
        np.asarray(held)  # the cap holds
    got = attribute(held)
    assert got.to_dict() == want.to_dict()
    assert want.diarization.n_voices == 2
    assert np.array_equal(got.diarization.owner, want.diarization.owner)
    assert np.array_equal(got.diarization.activity, want.diarization.activity)
    # the voices' channels cut from its mix, block by block, the same bits
    m_got, m_want = got.mix(held), want.mix(flt)
    for a, b in zip(got.voice_blocks(m_got), want.voice_blocks(m_want)):
        assert _same_bits(a, b)


def test_a_channel_in_opposite_polarity_is_read_so_from_16_bit_samples(tmp_path, monkeypatch):
    """A table recording with channel 2 wired the other way round (``in_phase``): from the held
    samples, channel 2 is read negated where read (``Pcm16.inverted``), the same attribution as
    from the float32 copy that used to be made, and no whole channel made float32."""
    parts = []
    for seed in (0, 1, 2, 5, 7):
        d = build_dialogue(scenario_mixed(seed=seed), noise_db=None, level_db=(-24.0, -27.0), seed=seed)
        parts.append(mix_room(d, layout="shared", rt60_s=None, delay_ms=(0.0, 0.3), seed=seed)[0])
    x = np.concatenate(parts)
    x[:, 1] *= -1.0
    path = _write(tmp_path / "inverted.wav", x)
    flt, _ = read_channels([path], 2)
    held, _ = read_channels([path], 2, compact=True)
    assert isinstance(held, Pcm16)
    want = attribute(flt)
    assert want.inverted and any("opposite polarity" in w for w in want.warnings)
    monkeypatch.setattr(views, "_HOLD_MAX", 3_000_000)
    got = attribute(held)
    assert got.to_dict() == want.to_dict()
    for a, b in zip(got.voice_blocks(got.mix(held)), want.voice_blocks(want.mix(flt))):
        assert _same_bits(a, b)


def test_every_key_reads_what_numpy_reads_of_the_float32_recording():
    """``Pcm16.read`` (and a ``ChannelMean`` of it) against numpy on the float32 values, for the
    keys readers use and odd ones (a new axis: ``m[:, None]`` makes a one-voice channel), plain and
    with channel 2 in opposite polarity."""
    from prosody.engine.views import ChannelMean
    rng = np.random.default_rng(0)
    q = rng.integers(-32768, 32768, (2000, 2)).astype(np.int16)
    q[::9] = 0
    f = q.astype(np.float32) / np.float32(32768)
    fi = f.copy()
    fi[:, 1] *= -1.0
    keys = [(slice(None), None), (slice(3, 50), None), np.array([1, 2, 3]), (np.array([1, 2]), 1),
            (np.array([1, 2]), [1, 0]), 5, (5, 1), (None,), Ellipsis, (slice(None), slice(None), None),
            (np.array([[1, 2], [3, 4]]), slice(0, 1)), (slice(None), -1)]
    for h, ref in ((Pcm16(q), f), (Pcm16(q).inverted(1), fi)):
        for k in keys:
            assert _same_bits(h.read(k), ref[k]), k
        mean = (np.float32(0.0) + ref[:, 0] + ref[:, 1]) / np.float32(2.0)
        assert _same_bits(ChannelMean(h)[:, None], mean[:, None])


def test_one_voice_on_a_16_bit_stereo_recording_gives_the_float32_voice(tmp_path, monkeypatch):
    """One person on a table recording: the voice's channel (the channels' mean, ``mono[:, None]``)
    from the held samples is the float32 path's, bit for bit."""
    import prosody.speaker_channels as sc
    from tests.dialogue import scenario_monologue
    d = build_dialogue(scenario_monologue(8, seed=4), noise_db=None, level_db=(-22.0, -22.0))
    x = mix_room(d, layout="shared", seed=4)[0]
    path = _write(tmp_path / "one.wav", x)
    att, voices = sc.attribute_recording([path], n_channels=2)
    monkeypatch.setattr(sc, "_pcm16_of", lambda b: None)  # the float32 path
    att_f, voices_f = sc.attribute_recording([path], n_channels=2)
    assert att.diarization.n_voices == 1 and att.to_dict() == att_f.to_dict()
    got, want = list(voices), list(voices_f)
    assert len(got) == len(want) and all(_same_bits(a, b) for a, b in zip(got, want))


@pytest.mark.parametrize("what", ["rumble", "hum", "both"])
def test_a_16_bit_recording_with_rumble_or_hum_is_filtered_on_its_grid(tmp_path, monkeypatch, what):
    """A 16-bit recording with sub-speech rumble or mains hum to filter out was made float32 whole and
    filtered in place (an hour of stereo: 461 MB); it is now filtered a chunk at a time and held as
    int16 on its grid: each value within half a grid step of the float32 path's filtered value after
    one filter, two steps after both (the first filter's rounding goes through the notches), no whole
    channel ever made float32, and the same voices."""
    x = _recording("shared", seeds=(0, 1, 2, 5))
    t = np.arange(len(x)) / SR
    y = x.astype(np.float64)
    if what in ("rumble", "both"):
        y += (0.02 * np.sin(2 * np.pi * 2.0 * t))[:, None]  # a 2 Hz wander at -37 dBFS
    if what in ("hum", "both"):
        y += (0.01 * np.sin(2 * np.pi * 50.0 * t + 0.3))[:, None]  # 50 Hz mains hum at -43 dBFS
    path = _write(tmp_path / "rec.wav", np.clip(y, -1.0, 0.99).astype(np.float32))
    ref, _ = read_channels([path], 2)
    monkeypatch.setattr(views, "_HOLD_MAX", 2_200_000)  # below one channel (2.9 M samples)
    held, _ = read_channels([path], 2, compact=True)
    monkeypatch.setattr(views, "_HOLD_MAX", 0)
    assert isinstance(held, Pcm16) and isinstance(held.q, np.ndarray) and held.q.dtype == np.int16
    err = np.abs(np.asarray(held).astype(np.float64) - ref)
    assert 0 < err.max() <= (2.0 ** -14 if what == "both" else 2.0 ** -16)
    raw = sf.read(path, dtype="float32")[0]
    assert np.abs(np.asarray(held) - raw).max() > 0.005  # filtered: the wander or the hum is gone
    want, got = attribute(ref), attribute(held)
    assert got.diarization.n_voices == want.diarization.n_voices == 2
    assert abs(got.diarization.voice_share[0] - want.diarization.voice_share[0]) <= 0.03
