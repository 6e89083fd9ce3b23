"""PTDB-TUG (Pirker et al. 2011) read sentences for tests: 16 kHz audio and the laryngograph pitch reference."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SR = 16000


def ptdb_sentence(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Speaker `name`'s sentence sa1: audio at 16 kHz (float64), the reference f0 per row (Hz, 0 unvoiced) and each
    row's nearest 10 ms grid frame (row k is centred at k * 10 ms + 16 ms: frame k + 1). Skips where the corpus is
    absent (`$PROSODY_CORPUS`, else ../shared/corpus)."""
    env = os.environ.get("PROSODY_CORPUS")
    base = (Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus") / "PTDB-TUG"
    wav, ref_path = base / f"mic_{name}_sa1.wav", base / f"ref_{name}_sa1.f0"
    if not (wav.is_file() and ref_path.is_file()):
        pytest.skip(f"PTDB-TUG files not found under {base}; set PROSODY_CORPUS to the corpus folder")
    soundfile = pytest.importorskip("soundfile")
    soxr = pytest.importorskip("soxr")
    x, sr = soundfile.read(wav, dtype="float64")
    y = soxr.resample(x, sr, SR, quality="HQ")
    ref = np.loadtxt(ref_path, ndmin=2)[:, 0]
    frames = np.rint((0.016 + 0.010 * np.arange(len(ref))) / 0.010 - 0.5).astype(int)
    return y, ref, frames
