"""How a person reads a measure: plain label, unit, direction of effect, source.

One place for the wording of every view (terminal summary, ``show``,
``compare``, ``trend``, the HTML report, the live view). The identifiers stay
in the JSON and the store; only what a person reads is worded here.

Definitions and sources are not written twice: they come from the measure
registry (``prosody.measures.MEASURES``, ``WARMTH_COMPONENTS``) and the
per-speaker definitions of the session document
(``prosody.report.html.SPEAKER_DEFINITIONS``); this module adds the plain
label, the unit a person uses and the sentence saying which way is which.

Units a person uses: shares as ``%``, counts as *per 10 minutes* (with the
total), times in seconds (minutes and seconds above a minute), pitch in
semitones (a semitone is one piano key; 2 semitones is a clearly audible
step), pace in syllables per second.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..measures import MEASURES, WARMTH_COMPONENTS
from ..timebase import clock_text as fmt_clock  # noqa: F401  the one rounded clock (report, lists, notes)

SEMITONE_NOTE = "a semitone is one piano key; 2 semitones is a clearly audible step"
COUNT_PER_S = 600.0  # counts are shown per 10 minutes


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fmt_duration(v_s) -> str:
    if not _finite(v_s):
        return "–"
    if abs(v_s) < 60:
        return f"{v_s:.1f} s"
    m, s = divmod(int(round(abs(v_s))), 60)
    return f"{'-' if v_s < 0 else ''}{m} min {s:02d} s"


# How a session's speakers were read, by its layout (``session.attribution_of``), for a comparison across layouts
LAYOUT_WORDS = {"separate": "a channel or file per speaker", "shared": "both voices on each of two channels",
                "mono": "one channel"}
LAYOUT_MARK = "layout."  # ``metrics[id]["layout.<layout>"] = 1.0``: the session's layout (``mark_layouts``)


def layouts_note(ids, metrics) -> str:
    """The words for sessions side by side that were recorded in different layouts ('' where all are alike):
    a speaker's own channel against voices told apart in one mix, and a level of one's own microphone against
    the mix's (the same voice -24 dBFS on its channel, -30 in the mix of the fixture dialogue), shown together
    with no word (hostile sweep 53). ``metrics``: ``store.metrics`` with each session's ``LAYOUT_MARK`` key."""
    by_layout: dict[str, list[str]] = {}
    for sid in ids:
        layout = next((k.removeprefix(LAYOUT_MARK) for k in metrics[sid] if k.startswith(LAYOUT_MARK)), None)
        if layout is not None:
            by_layout.setdefault(layout, []).append(str(sid))
    if len(by_layout) < 2:
        return ""
    each = "; ".join(f"session{'s' * (len(sids) > 1)} {', '.join(sids)}: {LAYOUT_WORDS.get(layout, layout)}"
                     for layout, sids in by_layout.items())
    return (f"recorded in different layouts ({each}): who spoke when is read from each speaker's own channel in "
            "one and told apart within a mix in another, and a level is of a speaker's own microphone or of the "
            "mix, so talk share, waits and loudness are not like for like across them")


def session_warnings(doc: dict) -> list[str]:
    """A session document's warnings as every view shows them: its own, and
    one more where it is a live capture saved before its end (``live.complete``
    false: an autosave left by a capture that never reached its final save, or
    a save after the analysis or the device failed), which no figure shows."""
    out = [w for w in doc.get("warnings") or [] if isinstance(w, str)]
    live = doc.get("live")
    if isinstance(live, dict) and live.get("complete") is False:
        out.append(live_incomplete(live))
    return out


def live_incomplete(live: dict) -> str:
    """The sentence for a live session saved incomplete (``live`` block of its document)."""
    analysed, captured = live.get("analysed_s"), live.get("captured_s")
    reason, error = live.get("stop_reason"), live.get("error")
    held = f"it holds the first {fmt_duration(analysed)}"
    if _finite(analysed) and _finite(captured) and captured > analysed + 0.5:
        held += f" of the {fmt_duration(captured)} captured"
    if not reason and not error:
        return ("this live session was saved part-way: it is an autosave, written before the capture's final save "
                "(the capture was still going on then, or it was stopped hard, or the machine went down: an "
                "autosave cannot tell which); "
                f"{held}, and anything captured after that save is not in it")
    why = f"the analysis failed ({error})" if error else f"it stopped ({reason})"
    return f"this live session was saved incomplete: {why}; {held}"


def timing_keys(measures: dict | None) -> list[str]:
    """The session timing rows (``measures.timing.SPEAKER.KEY``) that the terminal summary, `show` and the
    report show, in their order: the client's wait with the call's delay taken out where a delay was given
    (docs/measures.md: "both raw and corrected figures are shown"; the report showed neither the timing
    rows nor the corrected wait, walk58)."""
    keys = ["turns_per_min", "longest_monologue_s", "quick_answer_share", "silences_broken"]
    if (measures or {}).get("network_delay_ms"):
        keys.insert(2, "gap_median_corrected_s")
    return keys


def fmt_value(v, unit: str, *, duration_s: float | None = None) -> str:
    """A value in the unit a person uses. ``unit`` is the registry's unit
    (``share``, ``count``, ``s``, ``st``, ``dB``, ``Hz``, ``dBFS``, ``syl/s``,
    ``1/min``, ``ratio``, ``z``, ``r``, ``0-100``, ``count/10 min``).
    Counts become a rate per 10 minutes when ``duration_s`` is known."""
    if not _finite(v):
        return "–"
    if unit in ("share", "%"):
        return f"{v * 100:.0f} %"
    if unit == "fine_share":  # small fractions such as jitter and shimmer
        return f"{v * 100:.2f} %"
    if unit == "ratio":
        return f"{v * 100:+.0f} %"
    if unit == "count":
        if duration_s and duration_s > 0:
            return f"{v:.0f} ({v / (duration_s / COUNT_PER_S):.1f}/10 min)"
        return f"{v:.0f}"
    if unit == "n":
        return f"{v:.0f}"
    if unit == "count/10 min":
        return f"{v:.1f} times per 10 min"
    if unit == "s":
        return fmt_duration(v)
    if unit == "signed_s":
        return f"{v:+.2f} s"
    if unit == "st":
        return f"{v:.1f} semitones"
    if unit == "rel_st":
        return f"{v:+.1f} semitones"
    if unit in ("dB", "rel_dB"):
        return f"{v:+.1f} dB" if unit == "rel_dB" else f"{v:.1f} dB"
    if unit == "dBFS":
        return f"{v:.0f} dBFS"
    if unit == "Hz":
        return f"{v:.0f} Hz"
    if unit == "syl/s":
        return f"{v:.1f} syll./s"
    if unit == "1/min":
        return f"{v:.1f} per min"
    if unit == "z":
        return f"{v:+.1f} SD"
    if unit in ("r", "-|dz|"):
        return f"{v:+.2f}"
    if unit in ("0-100", "score"):
        return f"{v:.0f} / 100"
    if unit == "0-40":
        return f"{v:.0f} / 40"
    if unit == "1-5":
        return f"{v:.0f} / 5"
    if unit == "min":
        return f"{v / 60:.1f} min"
    return f"{v:.2f} {unit}".strip()


@dataclass(frozen=True)
class Plain:
    """The wording of one measure. ``label``: what a therapist would call it,
    neutral (fits a table row); ``sentence``: the same for the therapist, with
    ``{v}`` for the value (``None``: use ``label: value``); ``unit``: how the
    value is shown (see ``fmt_value``); ``direction``: which way is which, in a
    sentence; ``source``: where the measure comes from (short)."""

    key: str
    label: str
    unit: str
    direction: str
    source: str
    definition: str = ""
    sentence: str | None = None

    def format(self, v, *, duration_s: float | None = None) -> str:
        return fmt_value(v, self.unit, duration_s=duration_s)

    def say(self, v, *, duration_s: float | None = None) -> str:
        """One plain sentence with the value, e.g. "Pitch raised above your baseline: 8 % of your speech"."""
        text = self.format(v, duration_s=duration_s)
        if self.key == "gap_median_s" and self.sentence and _finite(v) and v < 0:
            return f"You typically started {-v:.2f} s before the client had finished"
        if self.key == "gap_median_s" and _finite(v):
            text = f"{v:.2f} s"
        if self.sentence and text != "–":
            return self.sentence.format(v=text)
        return f"{self.label}: {text}"

    @property
    def why(self) -> str:
        """Direction and the first source in one line."""
        first = self.source.split(";")[0].strip()
        return f"{self.direction}" + (f" · {first}" if first else "")


def short_source(source: str) -> str:
    """``"Xiao et al. 2014 (higher therapist pitch ...)"`` -> ``"Xiao et al. 2014"``;
    several sources joined by ``;`` keep their names."""
    parts = []
    for part in (source or "").split(";"):
        part = part.strip()
        cut = part.find(" (")
        parts.append(part[:cut] if cut > 0 else part)
    return "; ".join(p for p in parts if p)


_REGISTRY = {d.name: d for d in MEASURES}
_COMPONENTS = {c[0]: c for c in WARMTH_COMPONENTS}


def _speaker_defs() -> dict:
    from .html import SPEAKER_DEFINITIONS  # imported late: html.py imports this module
    return SPEAKER_DEFINITIONS


# Per-speaker keys of the session document (``speakers[name][key]``): plain label,
# unit, direction. Definitions and sources: SPEAKER_DEFINITIONS.
_SPEAKER_PLAIN: dict[str, tuple[str, str, str]] = {
    "speech_s": ("Time speaking", "s", "descriptive"),
    "talk_share": ("Share of the talking", "share", "higher = talks more of the time"),
    "n_segments": ("Stretches of speech", "n", "descriptive"),
    "n_turns": ("Turns taken", "n", "descriptive"),
    "f0_median_hz": ("Typical pitch", "Hz", "descriptive (voice type)"),
    "f0_sd_st": ("Pitch variation", "st", "higher = more melodic, lower = flatter"),
    "f0_range_st": ("Pitch range", "st", "higher = wider range (5th to 95th percentile)"),
    "rms_db_median": ("Loudness (typical)", "dBFS", "depends on the microphone: compare within a setup"),
    "n_syllables": ("Syllables", "n", "descriptive"),
    "speech_rate_syl_s": ("Pace, with pauses", "syl/s", "higher = faster; slower voices were preferred"),
    "articulation_rate_syl_s": ("Pace while speaking", "syl/s", "higher = faster"),
    "gap_median_s": ("Wait before answering", "signed_s",
                     "higher = waits longer; negative = starts before the other has finished"),
    "overlaps": ("Started while the other spoke", "count", "higher = more overlapping starts"),
    "interruptions": ("Talked over the other", "count", "higher = took the floor from the other more often"),
    "failed_interruptions": ("Tried to talk over", "count", "higher = more attempts to take the floor"),
    "backchannels": ("Listening sounds (mm-hm)", "count", "higher = more listener feedback"),
}
_SPEAKER_SOURCE_FALLBACK = {"speech_s": "voice activity", "talk_share": "conversation analytics talk ratio",
                            "f0_median_hz": "prosody's pitch tracker (prosody/engine/pitch.py)"}

# Measures of the measures layer (``measures.timing[name][key]``, ``measures.voice[name][key]``).
_MEASURE_PLAIN: dict[str, tuple[str, str]] = {
    "timing.turns_per_min": ("Turns per minute", "1/min"),
    "timing.longest_monologue_s": ("Longest stretch holding the floor", "s"),
    "timing.gap_median_s": ("Wait before answering", "signed_s"),
    "timing.gap_median_corrected_s": ("Wait, minus the call delay", "signed_s"),
    "timing.quick_answer_share": ("Answers within 0.2 s", "share"),
    "timing.talk_share": ("Share of the talking", "share"),
    "timing.overlaps": ("Started while the other spoke", "count"),
    "timing.interruptions": ("Talked over the other", "count"),
    "timing.failed_interruptions": ("Tried to talk over", "count"),
    "timing.backchannels": ("Listening sounds (mm-hm)", "count"),
    "timing.silences_broken": ("Silences (2 s or more) broken", "n"),
    "voice.f0_median_rel_st": ("Pitch compared with own baseline", "rel_st"),
    "voice.f0_sd_st": ("Pitch variation", "st"),
    "voice.f0_range_st": ("Pitch range", "st"),
    "voice.f0_instability_st": ("Pitch unsteadiness (per second)", "st"),
    "voice.level_rel_db": ("Loudness compared with own baseline", "rel_dB"),
    "voice.level_instability_db": ("Loudness unsteadiness (per second)", "dB"),
    "voice.speech_rate_syl_s": ("Pace, with pauses", "syl/s"),
    "voice.articulation_rate_syl_s": ("Pace while speaking", "syl/s"),
    "voice.articulation_rate_rel": ("Pace compared with own baseline", "ratio"),
    "voice.pause_rate_per_min": ("Pauses per minute of talking", "1/min"),
    "voice.pause_median_s": ("Typical pause length", "s"),
    "voice.arousal_z": ("Arousal compared with own baseline", "z"),
    "voice.pitch_raised_share": ("Pitch raised above own baseline", "share"),
    "voice.level_raised_share": ("Louder than own baseline", "share"),
    "voice.rushed_share": ("Rushed speech", "share"),
    "attunement.proximity": ("Alike at turn exchanges (proximity)", "-|dz|"),
    "attunement.synchrony": ("Moving together (synchrony)", "r"),
    "attunement.convergence": ("Becoming alike (convergence)", "r"),
    "attunement.arousal_coregulation": ("Calmer when the client is aroused (co-regulation)", "r"),
    "voice_quality.jitter_local": ("Pitch period jitter (cycle to cycle)", "fine_share"),
    "voice_quality.shimmer_local": ("Loudness shimmer (cycle to cycle)", "fine_share"),
    "voice_quality.hnr_db": ("Voice clarity (harmonics-to-noise)", "dB"),
    "voice_quality.cpps_db": ("Voice clarity (cepstral peak, CPPS)", "dB"),
    "warmth.score": ("Warmth", "0-100"),
    "warmth.score (rolling)": ("Warmth, minute by minute", "0-100"),
}

_DIRECTIONS = {
    "attunement.proximity": "above chance: more alike at turn exchanges than chance would make them",
    "attunement.synchrony": "descriptive: higher is not better (Reich et al. 2014)",
    "attunement.convergence": "above chance: becoming more alike over the session",
    "attunement.arousal_coregulation": "negative: calmer when the client is aroused (dampening); descriptive",
    "timing.silences_broken": "descriptive: who ends the silences",
    "timing.gap_median_corrected_s": ("The client's wait with the call's round trip (twice the "
                                      "network delay) taken out; higher = waits longer"),
    "timing.quick_answer_share": "higher = answers before the other has had time to pause; less patient",
}

# Warmth components: the therapist's sentence (``{v}``: the value) and the plain direction.
_WARMTH_SENTENCES: dict[str, tuple[str, str, str]] = {
    "pitch_raised_share": ("Pitch raised above your baseline", "Pitch raised above your baseline: {v} of your speech",
                           "share"),
    "level_raised_share": ("Louder than your baseline", "Louder than your baseline (6 dB+): {v} of your speech",
                           "share"),
    "f0_instability_st": ("Pitch unsteadiness", "Your pitch moved {v} from second to second", "st"),
    "level_instability_db": ("Volume unsteadiness", "Your volume moved {v} from second to second", "dB"),
    "rushed_share": ("Rushed speech", "Rushed (20 % above your usual pace): {v} of your speech", "share"),
    "gap_median_s": ("Wait before you answered", "You typically waited {v} before answering", "signed_s"),
    "talk_over_per_10min": ("Talking over the client, or trying to", "You talked over the client, or tried to, {v}",
                            "count/10 min"),  # interruptions and failed interruptions: the table's two rows
}


# The attunement features in the therapist's words (the session document keys them pitch, intensity, rate:
# the report, show, compare, trend and the live view said "intensity" and "rate" where the terminal summary
# said "loudness" and "pace")
FEATURE_WORDS = {"pitch": "pitch", "intensity": "loudness", "rate": "pace"}


def feature_word(feature: str) -> str:
    """An attunement feature (``pitch``, ``intensity``, ``rate``) as the views say it."""
    return FEATURE_WORDS.get(feature, str(feature).replace("_", " "))


# Short labels where room is scarce (the live view's 80x24 screen).
WARMTH_SHORT = {"pitch_raised_share": "pitch raised", "level_raised_share": "louder",
                "f0_instability_st": "pitch unsteady", "level_instability_db": "volume unsteady",
                "rushed_share": "rushed", "gap_median_s": "wait", "talk_over_per_10min": "talked over"}


def speaker_plain(key: str) -> Plain:
    """Wording of a per-speaker key of the session document (``speakers[name][key]``)."""
    label, unit, direction = _SPEAKER_PLAIN[key]
    d = _speaker_defs().get(key)
    definition, source = (d[2], d[3]) if d else ("", "")
    if not source or source.startswith("prosody/"):
        source = _SPEAKER_SOURCE_FALLBACK.get(key, source.replace("prosody/", "prosody "))
    reg = _REGISTRY.get(f"timing.{key}")
    if reg is not None:
        source = short_source(reg.source)
    return Plain(key, label, unit, direction, short_source(source), definition)


def measure_plain(measure_id: str) -> Plain:
    """Wording of a registry measure (``prosody.measures.MEASURES`` name, e.g. ``voice.pitch_raised_share``)."""
    reg = _REGISTRY.get(measure_id)
    label, unit = _MEASURE_PLAIN.get(measure_id, (measure_id.split(".")[-1].replace("_", " "), reg.unit if reg else ""))
    if reg is None:
        return Plain(measure_id, label, unit, "", "")
    direction = _DIRECTIONS.get(measure_id, reg.direction)
    return Plain(measure_id, label, unit, direction, short_source(reg.source), reg.formula)


def warmth_plain(name: str) -> Plain:
    """Wording of a warmth component (``WARMTH_COMPONENTS``), in the therapist's words."""
    comp = _COMPONENTS.get(name)
    label, sentence, unit = _WARMTH_SENTENCES.get(name, (name.replace("_", " "), None, comp[2] if comp else ""))
    if comp is None:
        return Plain(name, label, unit, "", "", sentence=sentence)
    _, _, _, warm, cool, source, direction = comp
    more = "more" if cool > warm else "less"
    lo, hi = fmt_value(warm, unit), fmt_value(cool, unit)
    plain_dir = f"{more.capitalize()} of it lowers warmth ({lo}: all points, {hi}: none)"
    if name == "gap_median_s":
        plain_dir = f"Answering sooner or in overlap lowers warmth ({lo}: all points, {hi}: none)"
    return Plain(name, label, unit, plain_dir, short_source(source), direction, sentence)


# -- keys of Store.metrics (compare, trend) -------------------------------------------------------------------
_ROLE_WORDS = {"therapist": "therapist", "client": "client"}


def metric_plain(key: str) -> Plain:
    """Wording of a ``Store.metrics`` key: ``{role}.{speaker key}``,
    ``timing.{role}.{key}``, ``warmth.score``, ``attunement.{kind}.{feature}.value``,
    ``duration_s``, ``feedback.*``, ``moments.{kind}``."""
    parts = key.split(".")
    if key == "duration_s":
        return Plain(key, "Length of the session", "min", "descriptive", "")
    if key == "feedback.srs_total":
        return Plain(key, "Client's rating (SRS)", "0-40", "higher = the client rated the session better",
                     "Duncan et al. 2003")
    if key == "feedback.rating":
        return Plain(key, "Client's rating", "1-5", "higher = the client rated the session better", "")
    if key == "warmth.score":
        p = measure_plain("warmth.score")
        return Plain(key, "Warmth (own baseline)", "0-100", p.direction, "see its components")
    if parts[0] == "moments" and len(parts) == 2:
        from ..moments import KIND_LABELS
        return Plain(key, f"Moments: {KIND_LABELS.get(parts[1], parts[1])}", "n", "count", "prosody moments")
    if parts[0] == "attunement" and len(parts) == 4:
        p = measure_plain(f"attunement.{parts[1]}")
        return Plain(key, f"{p.label.split(' (')[0]}: {feature_word(parts[2])}", p.unit, p.direction, p.source)
    if parts[0] == "timing" and len(parts) == 3:
        p = measure_plain(f"timing.{parts[2]}")
        return Plain(key, f"{_ROLE_WORDS.get(parts[1], parts[1]).capitalize()}: {p.label[0].lower()}{p.label[1:]}",
                     p.unit, p.direction, p.source, p.definition)
    if len(parts) == 2 and parts[1] in _SPEAKER_PLAIN:
        p = speaker_plain(parts[1])
        return Plain(key, f"{_ROLE_WORDS.get(parts[0], parts[0]).capitalize()}: {p.label[0].lower()}{p.label[1:]}",
                     p.unit, p.direction, p.source, p.definition)
    return Plain(key, key, "", "", "")


__all__ = ["FEATURE_WORDS", "Plain", "WARMTH_SHORT", "SEMITONE_NOTE", "feature_word", "fmt_clock", "fmt_duration",
           "fmt_value", "measure_plain", "metric_plain",
           "short_source", "speaker_plain", "warmth_plain"]
