"""Baselines: per-speaker medians and robust spreads that every prosodic
measure is relative to (session, session so far, or a saved profile)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..timebase import GRID, Grid
from ..types import name_problem
from .slice import enough_voiced, phonation, rate_time_ok


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
        (e.g. the ``measures.baseline`` of an earlier session). Each value is null (not
        known) or a number within ``PROFILE_RANGES``, what ``speaker_baseline`` gives;
        anything else (text, NaN, a negative spread) raises InputError naming it."""
        speakers = d.get("speakers")
        if not isinstance(speakers, dict) or not speakers:
            raise InputError("has no 'speakers' baselines")
        names = [f.name for f in dataclasses.fields(SpeakerBaseline)]
        sp = []
        for name, vals in speakers.items():
            problem = name_problem(name)
            if problem is not None:
                raise InputError(f"speaker name {name!r}: {problem}")
            if not isinstance(vals, dict):
                raise InputError(f"speakers.{name} = {_shown(vals)}: expected a table of values such as "
                                 "f0_median_hz")
            unknown = sorted(set(vals) - set(names), key=str)
            if unknown:  # a misspelt value would be read as "not known" in silence
                raise InputError(f"speakers.{name}: unknown value(s) {', '.join(map(_shown, unknown))}; "
                                 f"known: {', '.join(names)}")
            for k in names:
                v, (lo, hi, unit) = vals.get(k), PROFILE_RANGES[k]
                ok = v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi)
                if not ok:
                    raise InputError(f"speakers.{name}.{k} = {_shown(v)}: expected null or a number within "
                                     f"{lo:g}..{hi:g} {unit}")
            sp.append((name, SpeakerBaseline(**{k: None if vals.get(k) is None else float(vals[k])
                                                for k in names})))
        return cls("profile", tuple(sp))

    def check_speakers(self, speakers) -> None:
        """Refuse a profile that names none of ``speakers`` (a recording's): every measure
        relative to it would be missing without a word."""
        mine = [s for s, _ in self.speakers]
        if self.kind == "profile" and not set(mine) & set(speakers):
            raise InputError(f"the personal baseline is of {', '.join(map(repr, mine))}, none of this recording's "
                             f"speakers ({', '.join(map(repr, speakers))}): name the channels as the baseline does "
                             "(--channels, --speaker) or write a baseline of these speakers with --save-baseline")


# the values a profile may hold: (lowest, highest, unit); speaker_baseline keeps a spread >= 1e-3,
# a level within rms_db's -120 dBFS floor (float audio may pass full scale) and hf500 within +-60 dB
PROFILE_RANGES = {
    "f0_median_hz": (30.0, 2000.0, "Hz"),
    "f0_spread_st": (1e-3, 120.0, "semitones"),
    "level_median_db": (-120.0, 40.0, "dBFS"),
    "level_spread_db": (1e-3, 250.0, "dB"),
    "hf500_median_db": (-60.0, 60.0, "dB"),
    "hf500_spread_db": (1e-3, 250.0, "dB"),
    "articulation_rate_syl_s": (0.0, 50.0, "syllables/s"),
}


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _robust_sd(x: np.ndarray) -> float | None:
    if len(x) < 10:
        return None
    mad = float(np.median(np.abs(x - np.median(x))))
    return max(1.4826 * mad, 1e-3)


def speaker_baseline(fr: dict[str, np.ndarray], n_syllables: int, *, grid: Grid = GRID,
                     level_speech: np.ndarray | None = None) -> SpeakerBaseline:
    """Baseline from per-frame arrays (speech frames only) on ``grid``; the level's from the speech frames
    ``level_speech`` (None: all; ``measures.slice.own_level_speech``)."""
    sp = fr["is_speech"]
    f0 = fr["f0_hz"][sp]
    f0 = f0[np.isfinite(f0)]
    lv = fr["rms_db"][sp if level_speech is None else level_speech]
    hf = fr["hf500_db"][sp]
    speech_s = len(hf) * grid.hop_s
    # the articulation rate's time: phonation, as the voice measures' (slice.phonation)
    phon_s = float(phonation(fr["rms_db"], sp, hop_s=grid.hop_s, q99_from=level_speech).sum()) * grid.hop_s
    voiced_ok = enough_voiced(len(f0), len(hf))  # pitch and nuclei need voiced speech (slice.MIN_VOICED_SHARE)
    st = 12 * np.log2(f0 / np.median(f0)) if voiced_ok else np.zeros(0)
    return SpeakerBaseline(
        f0_median_hz=float(np.median(f0)) if voiced_ok else None,
        f0_spread_st=_robust_sd(st),
        level_median_db=float(np.median(lv)) if len(lv) >= 10 else None,
        level_spread_db=_robust_sd(lv),
        hf500_median_db=float(np.median(hf)) if len(hf) >= 10 else None,
        hf500_spread_db=_robust_sd(hf),
        articulation_rate_syl_s=n_syllables / phon_s if rate_time_ok(speech_s, phon_s) and voiced_ok else None,
    )
