"""The material of the unseen splits (benchmarks/unseen_material.py, forty-seventh round): voices transformed
by Praat's "Change gender" keep their turns' timing, move to the pitch asked, and are the same on every run;
the MP3 condition is aligned to the recording it codes."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_change_gender_keeps_length_moves_pitch_and_repeats(corpus):
    import unseen_material as U
    pieces = U.voice_pieces("MEE009 low", corpus)  # dev00's MEE009 (113 Hz) moved to 88 Hz
    import soundfile as sf
    from diarization import turn_stretches
    x, sr = sf.read(corpus / "pyannote-audio" / "dev00.wav", dtype="float32")
    raw = [x[int(a * sr):int(b * sr)] for a, b in turn_stretches("dev00", corpus, x, sr)["MEE009"]]
    assert [len(p) for p in pieces] == [len(r) for r in raw]
    assert abs(12 * np.log2(U.median_f0_hz(np.concatenate(pieces)) / 88.0)) < 0.5
    once, again = (U.change_gender(raw[0], formant_ratio=0.92, median_hz=88.0, range_factor=0.8, seed=7)
                   for _ in range(2))
    np.testing.assert_array_equal(once, again)  # Praat's random draws seeded: the same samples each run


def test_unseen_truth_holds_each_voice_where_it_speaks(corpus):
    """The clean tracks of an unseen dialogue: the planted turns hold their voice's speech (at -24 dB rms), and
    nothing of that voice lies outside them."""
    import unseen_material as U
    from diarization import place_turns
    tracks, truth = place_turns(U.voice_pieces("FEO072>M", corpus), U.voice_pieces("MEE009", corpus), 470)
    for k, who in enumerate(("therapist", "client")):
        inside = np.zeros(len(tracks), bool)
        for a, b in truth["segments"][who]:
            inside[int(a * 16000):int(b * 16000)] = True
        assert np.all(tracks[~inside, k] == 0.0)
        assert np.sqrt(np.mean(tracks[inside, k] ** 2)) > 10 ** (-30 / 20)


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_mp3_round_trip_is_aligned():
    import unseen_material as U
    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    x = (0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(len(t)))
    x = x.astype(np.float32)[:, None]
    y = U.through_mp3(x)
    assert y.shape == x.shape
    err = [np.mean((np.roll(y[:, 0], s)[800:-800] - x[800:-800, 0]) ** 2) for s in (-1, 0, 1)]
    assert err[1] < min(err[0], err[2])
