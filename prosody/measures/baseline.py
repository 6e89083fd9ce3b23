"""Baselines: per-speaker medians and robust spreads that every prosodic
measure is relative to (session, session so far, or a saved profile)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..timebase import GRID, Grid
from .slice import enough_voiced


# baselines
@dataclass(frozen=True)
class SpeakerBaseline:
    f0_median_hz: float | None
    f0_spread_st: float | None       # robust SD (1.4826 MAD) of F0 in semitones
    level_median_db: float | None
    level_spread_db: float | None
    hf500_median_db: float | None
    hf500_spread_db: float | None
    articulation_rate_syl_s: float | None


@dataclass(frozen=True)
class Baseline:
    kind: str   # "session" | "running" | "profile"
    speakers: tuple[tuple[str, SpeakerBaseline], ...]

    def of(self, speaker: str) -> SpeakerBaseline | None:
        return dict(self.speakers).get(speaker)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "speakers": {s: dataclasses.asdict(b) for s, b in self.speakers}}

    @classmethod
    def from_profile(cls, d: dict) -> "Baseline":
        """A saved personal profile: ``{"speakers": {name: {f0_median_hz: ..., ...}}}``
        (e.g. the ``measures.baseline`` of an earlier session)."""
        names = {f.name for f in dataclasses.fields(SpeakerBaseline)}
        sp = []
        for name, vals in d.get("speakers", {}).items():
            sp.append((name, SpeakerBaseline(**{k: vals.get(k) for k in names})))
        return cls("profile", tuple(sp))


def _robust_sd(x: np.ndarray) -> float | None:
    if len(x) < 10:
        return None
    mad = float(np.median(np.abs(x - np.median(x))))
    return max(1.4826 * mad, 1e-3)


def speaker_baseline(fr: dict[str, np.ndarray], n_syllables: int, *, grid: Grid = GRID) -> SpeakerBaseline:
    """Baseline from per-frame arrays (speech frames only) on ``grid``."""
    sp = fr["is_speech"]
    f0 = fr["f0_hz"][sp]
    f0 = f0[np.isfinite(f0)]
    lv = fr["rms_db"][sp]
    hf = fr["hf500_db"][sp]
    speech_s = len(lv) * grid.hop_s
    voiced_ok = enough_voiced(len(f0), len(lv))  # pitch and nuclei need voiced speech (slice.MIN_VOICED_SHARE)
    st = 12 * np.log2(f0 / np.median(f0)) if voiced_ok else np.zeros(0)
    return SpeakerBaseline(
        f0_median_hz=float(np.median(f0)) if voiced_ok else None,
        f0_spread_st=_robust_sd(st),
        level_median_db=float(np.median(lv)) if len(lv) >= 10 else None,
        level_spread_db=_robust_sd(lv),
        hf500_median_db=float(np.median(hf)) if len(hf) >= 10 else None,
        hf500_spread_db=_robust_sd(hf),
        articulation_rate_syl_s=n_syllables / speech_s if speech_s >= 1.0 and voiced_ok else None,
    )
