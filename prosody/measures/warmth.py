"""Warmth: a transparent 0-100 composite of the therapist's components, each
with its value, score, weight, contribution, direction and source."""
from __future__ import annotations

from .registry import DISCLAIMER, SRC_OVERLAP, SRC_PATIENCE, SRC_SPOONER, SRC_TAO22, SRC_XIAO14
from .slice import _lin, _r


# warmth
WARMTH_COMPONENTS = (
    # name, where, unit, warm anchor, cool anchor, source, direction
    ("pitch_raised_share", "voice", "share", 0.0, 0.4, SRC_XIAO14, "more time with pitch raised above baseline -> lower"),
    ("level_raised_share", "voice", "share", 0.0, 0.4, SRC_XIAO14, "more time louder than baseline -> lower"),
    ("f0_instability_st", "voice", "st", 1.0, 4.0, SRC_TAO22, "less steady pitch -> lower"),
    ("level_instability_db", "voice", "dB", 2.0, 8.0, SRC_TAO22, "less steady volume -> lower"),
    ("rushed_share", "voice", "share", 0.0, 0.5, SRC_SPOONER, "more rushed speech -> lower"),
    ("gap_median_s", "timing", "s", 0.6, 0.0, SRC_PATIENCE, "answering faster or in overlap -> lower"),
    ("talk_over_per_10min", "timing", "count/10 min", 0.0, 3.0, SRC_OVERLAP,
     "more interruptions and failed interruptions of the client -> lower"),
)


TOWARD_PARTNER = ("gap_median_s", "talk_over_per_10min")   # behaviour toward the other person


def warmth(voice: dict, timing: dict | None, minutes: float, *, partner_spoke: bool = True) -> dict:
    """Composite 0-100 of the therapist's components (see ``WARMTH_COMPONENTS``);
    components without data are left out and the weights renormalised. When
    the other person never spoke (``partner_spoke`` False: a silent client
    channel) the components of behaviour toward them (``TOWARD_PARTNER``) have
    no data: no talking over is no merit when there was no one to talk over
    (nor when the therapist never spoke)."""
    values = dict(voice)
    spoke = voice.get("speech_s") is None or voice["speech_s"] > 0.0   # None: not known, as before
    if timing is not None and (not partner_spoke or not spoke):
        values.update({k: None for k in TOWARD_PARTNER})
    elif timing is not None:
        values["gap_median_s"] = timing.get("gap_median_s")
        n = (timing.get("interruptions") or 0) + (timing.get("failed_interruptions") or 0)
        values["talk_over_per_10min"] = n / (minutes / 10.0) if minutes > 0 else None
    comps = []
    for name, where, unit, warm, cool, source, direction in WARMTH_COMPONENTS:
        if where == "timing" and timing is None:
            continue
        v = values.get(name)
        s = _lin(v, warm, cool)
        comps.append({"name": name, "value": _r(v), "unit": unit, "score": _r(s), "warm_anchor": warm,
                      "cool_anchor": cool, "direction": direction, "source": source})
    used = [c for c in comps if c["score"] is not None]
    w = 100.0 / len(used) if used else 0.0
    for c in comps:
        c["weight"] = _r(w) if c["score"] is not None else 0.0
        c["contribution"] = _r(w * c["score"]) if c["score"] is not None else None
    score = sum(c["contribution"] for c in used) if used else None
    return {"score": _r(score), "components": comps, "n_components": len(used), "note": DISCLAIMER}
