"""What the measures hand out: frozen values, plain dicts only through ``to_dict()``.

* ``RollingWindow``: one window summary of the rolling stage (``RollingMeasures``),
  what ``Update.rolling``, ``Session.rolling`` and the live view carry;
* ``Measures``: the ``measures`` block of a session (whole session, phases,
  rolling windows, the baseline and the configuration used).

The per-speaker blocks inside (``voice[speaker]``, ``timing[speaker]``),
``warmth``, ``attunement``, the phases and the cues are the JSON-shaped
figures of the measure functions (``voice_measures``, ``timing_measures``,
``warmth``, ``attunement``, ``cues``), built once and never changed after;
``to_dict()`` gives the document the JSON, the store and the exports write
(``docs/session-schema.md``), key for key as before these types.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .baseline import Baseline
from .registry import MeasuresConfig


@dataclass(frozen=True, slots=True)
class RollingWindow:
    """All measures over one rolling window ``[start_s, end_s)`` (seconds on
    the analysis grid, rounded to 0.1 ms); ``baseline``: the baseline's kind
    (``running`` or ``profile``). ``timing`` and ``attunement`` are None with
    one speaker (no turn-taking); ``cues``: the cues active in the window."""

    start_s: float
    end_s: float
    baseline: str
    voice: dict
    timing: dict | None
    warmth: dict
    cues: tuple[dict, ...]
    attunement: dict | None = None

    @classmethod
    def from_summary(cls, d: dict) -> "RollingWindow":
        """From ``summarize(..., with_cues=True)``'s dict."""
        return cls(start_s=d["start_s"], end_s=d["end_s"], baseline=d["baseline"], voice=d["voice"],
                   timing=d["timing"], warmth=d["warmth"], cues=tuple(d["cues"]), attunement=d.get("attunement"))

    def to_dict(self) -> dict:
        out = {"start_s": self.start_s, "end_s": self.end_s, "baseline": self.baseline, "voice": self.voice,
               "timing": self.timing, "warmth": self.warmth}
        if self.attunement is not None:
            out["attunement"] = self.attunement
        out["cues"] = list(self.cues)
        return out


@dataclass(frozen=True, slots=True)
class Measures:
    """The ``measures`` block of a session (``session_measures``). ``timing``,
    ``attunement`` and ``silences`` are None with one speaker; ``voice_quality``
    is None when no voiced run was measured."""

    disclaimer: str
    baseline: Baseline
    network_delay_ms: float
    network_delay_note: str
    voice: dict
    timing: dict | None
    warmth: dict
    attunement: dict | None
    voice_quality: dict | None
    silences: tuple[dict, ...] | None
    phases: tuple[dict, ...]
    rolling: tuple[RollingWindow, ...]
    config: MeasuresConfig

    def to_dict(self) -> dict:
        return {
            "disclaimer": self.disclaimer,
            "baseline": self.baseline.to_dict(),
            "network_delay_ms": self.network_delay_ms,
            "network_delay_note": self.network_delay_note,
            "voice": self.voice,
            "timing": self.timing,
            "warmth": self.warmth,
            "attunement": self.attunement,
            "voice_quality": self.voice_quality,
            "silences": None if self.silences is None else list(self.silences),
            "phases": list(self.phases),
            "rolling": [w.to_dict() for w in self.rolling],
            "config": dataclasses.asdict(self.config),
        }
