"""The house invariant (docs/architecture.md, "Block sizes"): the pipeline's output is bit-identical
for any split of the audio into pushes: tiny ones, huge ones, ones that are no multiple of the hop.

Planted material: the fixture dialogue mixed to both channels through a room (the table device of
tests/test_live_layout.py), where the one-channel pipeline's voiced_prob once moved by 1.2e-7 and
1.9e-7 at frames 2537 and 2542 for pushes of 7778 or 9320 samples against 1600: the pitch tracker's
subharmonic check summed as many multiples as its batch's lowest candidate had in band, and numpy's
pairwise sum rounds by length. Also the fixture resampled from 8 kHz, and noise."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from prosody.config import AnalysisConfig
from prosody.engine.iir import DcBlocker
from prosody.engine.pitch import PitchTracker
from prosody.engine.sources import Resampler
from prosody.session import analyze_blocks
from prosody.types import FRAME_COLUMNS
from tests.conftest import FIXTURES
from tests.test_live_layout import _table

SPK = ("therapist", "client")


def push_sizes(n: int, seed: int) -> list[int]:
    """Random push sizes covering ``n`` samples: tiny (1-39), under a push of 0.1 s (40-1599, mostly no
    multiple of the 160-sample hop), 0.1-0.75 s, huge (0.75-12.5 s) and whole hops, mixed."""
    rng = np.random.default_rng(seed)
    out: list[int] = []
    while sum(out) < n:
        kind = int(rng.integers(5))
        lo, hi = ((1, 40), (40, 1600), (1600, 12000), (12000, 200000), (1, 20))[kind]
        k = int(rng.integers(lo, hi))
        out.append(k * 160 if kind == 4 else k)
    return out


def pushes(x: np.ndarray, sizes):
    i = 0
    for k in sizes:
        if i >= len(x):
            break
        yield x[i:i + k]
        i += k


def every(n: int, k: int) -> list[int]:
    return [k] * (n // k + 1)


def assert_same_session(a, b, what: str) -> None:
    """Every frame column, the segments and everything else the session holds, exactly."""
    assert a.n_frames == b.n_frames, what
    for spk in a.speakers:
        for key in FRAME_COLUMNS:
            u, v = a.frames[spk][key], b.frames[spk][key]
            assert np.array_equal(u, v, equal_nan=key != "is_speech"), (
                f"{what}: {spk} {key} differs at frames {np.flatnonzero(~((u == v) | (u != u) & (v != v)))[:5]}")
        # in time order per speaker (the speakers' chunks interleave as the pushes finalise them)
        assert ([c for c in a.voice_quality if c.speaker == spk]
                == [c for c in b.voice_quality if c.speaker == spk]), what
    assert a.segments == b.segments and a.sounds == b.sounds, what
    assert a.nuclei == b.nuclei and a.rolling == b.rolling, what
    assert a.turns == b.turns, what
    assert a.to_json_dict()["measures"] == b.to_json_dict()["measures"], what


@pytest.fixture(scope="module")
def room():
    return _table()


def _pitch(x: np.ndarray, sizes) -> tuple[np.ndarray, np.ndarray]:
    dc, pt = DcBlocker(1), PitchTracker(AnalysisConfig().pitch_for("therapist"))
    parts = [pt.push(dc.push(b[:, None])[:, 0]) for b in pushes(x, sizes)] + [pt.flush()]
    return np.concatenate([p.f0_hz for p in parts]), np.concatenate([p.voiced_prob for p in parts])


def test_the_pitch_tracker_does_not_depend_on_its_batches(room):
    """The room's first channel: pushes of 1600 against the pushes that moved voiced_prob (7778, 9320),
    one sample at a time for 3 s (batches of 8 frames, the least) and random splits."""
    x = room[:, 0]
    f_ref, p_ref = _pitch(x, every(len(x), 1600))
    assert np.isfinite(f_ref).sum() > 1000  # a voiced dialogue: the subharmonic check is exercised
    cases = {"7778": every(len(x), 7778), "9320": every(len(x), 9320),
             "1 then whole": [1] * 48000 + [len(x)]}
    cases.update({f"seed {s}": push_sizes(len(x), s) for s in range(8)})
    for what, sizes in cases.items():
        f0, prob = _pitch(x, sizes)
        assert np.array_equal(f0, f_ref, equal_nan=True), what
        assert np.array_equal(prob, p_ref), (what, np.flatnonzero(prob != p_ref)[:5])


@pytest.mark.parametrize("channels", [1, 2])
def test_the_pipeline_does_not_depend_on_the_push_split(room, channels):
    """One channel (the room's first microphone, as --mono reads the table device) and two: pushes of
    1600 against whole, 7778 / 9320 / 1633 and random splits of twelve seeds."""
    x = room[:, :channels]
    spk = SPK[:channels]
    ref = analyze_blocks(pushes(x, every(len(x), 1600)), spk)
    assert len(ref.segments) >= 4 and np.isfinite(ref.frames["therapist"]["f0_hz"]).sum() > 1000
    cases = {"whole": [len(x)], "7778": every(len(x), 7778), "9320": every(len(x), 9320),
             "1633": every(len(x), 1633)}
    cases.update({f"seed {s}": push_sizes(len(x), s) for s in range(12)})
    for what, sizes in cases.items():
        assert_same_session(ref, analyze_blocks(pushes(x, sizes), spk), f"{channels} channel(s), {what}")


@pytest.mark.parametrize("material", ["8 kHz", "noise"])
def test_other_material_does_not_depend_on_the_push_split(material):
    """The fixture dialogue taken to 8 kHz and resampled back to 16 kHz (as a phone recording is read),
    both channels and the first alone; white noise and pink noise (no speech: the level gates)."""
    if material == "8 kHz":
        x, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
        y = soxr.resample(x, 16000, 8000).astype(np.float32)
        r = Resampler(8000, 2)
        x = np.concatenate([r.push(y), r.push(y[:0], last=True)])
    else:
        from tests.dialogue import pink_noise
        rng = np.random.default_rng(5)
        n = 20 * 16000
        x = np.stack([rng.standard_normal(n) * 0.03, pink_noise(rng, n) * 0.05], axis=1).astype(np.float32)
    for channels in (1, 2):
        spk = SPK[:channels]
        ref = analyze_blocks(pushes(x[:, :channels], every(len(x), 1600)), spk)
        for s in range(3):
            b = analyze_blocks(pushes(x[:, :channels], push_sizes(len(x), 100 + s)), spk)
            assert_same_session(ref, b, f"{material}, {channels} channel(s), seed {100 + s}")
