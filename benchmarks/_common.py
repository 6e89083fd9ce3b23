"""Shared helpers for benchmark scripts: corpus location and reference loading."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def corpus_dir() -> Path | None:
    env = os.environ.get("PROSODY_CORPUS")
    p = Path(env) if env else REPO.parent / "shared" / "corpus"
    return p if p.is_dir() else None


AMI_FILES = ("dev00", "dev01", "trn04", "trn05", "trn06", "tst00")


def rttm_segments(uri: str, corpus: Path) -> list[tuple[str, float, float]]:
    """All speakers' (speaker, start_s, end_s) for ``uri`` from pyannote's debug RTTMs."""
    out = []
    for f in sorted((corpus / "pyannote-audio").glob("debug.*.rttm")):
        for line in f.read_text(encoding="utf-8").splitlines():
            p = line.split()
            if len(p) >= 8 and p[0] == "SPEAKER" and p[1] == uri:
                out.append((p[7], float(p[3]), float(p[3]) + float(p[4])))
    return out


def frame_mask(segments, n_frames: int, hop_s: float = 0.01) -> np.ndarray:
    """Frames whose centre lies inside any (start_s, end_s) interval."""
    t = (np.arange(n_frames) + 0.5) * hop_s
    m = np.zeros(n_frames, dtype=bool)
    for seg in segments:
        a, b = seg[-2], seg[-1]
        m |= (t >= a) & (t < b)
    return m


def f1(pred: np.ndarray, ref: np.ndarray) -> float:
    tp = np.sum(pred & ref)
    fp = np.sum(pred & ~ref)
    fn = np.sum(~pred & ref)
    return 2 * tp / max(2 * tp + fp + fn, 1)


def timed(acc: dict, name: str, fn):
    """``fn`` wrapped to add its process time to ``acc[name]`` (per-stage CPU of a benchmark run)."""
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            acc[name] = acc.get(name, 0.0) + time.process_time() - t
    return wrapper


def at_db(y: np.ndarray, db: float) -> np.ndarray:
    """``y`` scaled to an RMS of ``db`` dBFS (a silent ``y`` stays near silent)."""
    return y / max(float(np.sqrt(np.mean(y ** 2))), 1e-6) * 10 ** (db / 20)


def halves(pieces: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pieces of one voice in time order cut at half their total length: (the first half's pieces, the second's)."""
    total = sum(len(p) for p in pieces)
    first, second, at = [], [], 0
    for p in pieces:
        cut = min(max(total // 2 - at, 0), len(p))
        if cut > 0:
            first.append(p[:cut])
        if cut < len(p):
            second.append(p[cut:])
        at += len(p)
    return first, second
