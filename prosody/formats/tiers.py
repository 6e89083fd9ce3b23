"""A session as annotation tiers: the one computation behind the TextGrid
(Praat) and EAF (ELAN) writers.

Per speaker (in speaker order) an interval tier of speech segments and, with
two channels, one of turns; then point tiers of events, bookmarks and any
extra point items a caller adds (supervisor notes, moments to review)::

    therapist speech   |==speech==|      |==speech==|
    therapist turns    |=======turn=============|
    client speech                 |=speech=|   |=speech=|
    changes in overlap                    *client
    interruptions                         *client
    bookmarks                   *"note text"

Times are seconds on the session's timeline, clipped to [0, duration_s].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

# "changes in overlap", not "overlaps": the summary's "started while the other spoke" (the JSON's
# ``overlaps``) counts every start in the other's speech, backchannels too; this tier holds the speaker
# changes made in overlap only (user walk-through: one word, two counts, 4 against 8)
EVENT_TIERS = (("changes in overlap", "overlap"), ("interruptions", "interruption"),
               ("failed interruptions", "failed_interruption"), ("backchannels", "backchannel"))


@dataclass(frozen=True)
class IntervalItem:
    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class PointItem:
    time_s: float
    label: str


@dataclass(frozen=True)
class Tier:
    """``kind``: "interval" (items are IntervalItem, sorted, not overlapping) or
    "point" (items are PointItem, sorted, distinct times). ``participant``: the
    speaker a tier belongs to, or None for session-wide tiers."""

    name: str
    kind: str
    items: tuple
    participant: str | None = None


def clean_label(text) -> str:
    """A label as one line of printable text (typed text is data: control
    characters and line breaks become spaces)."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))


def _intervals(items: Iterable[tuple[float, float, str]], duration_s: float) -> tuple[IntervalItem, ...]:
    out = []
    for a, b, label in sorted(items, key=lambda x: (x[0], x[1])):
        a, b = max(0.0, float(a)), min(duration_s, float(b))
        if out and a < out[-1].end_s:  # never overlap on one tier
            a = out[-1].end_s
        if b > a:
            out.append(IntervalItem(a, b, clean_label(label)))
    return tuple(out)


def _points(items: Iterable[tuple[float, str]], duration_s: float) -> tuple[PointItem, ...]:
    """Sorted points; items at the same time are joined into one label (" | ")."""
    by_time: dict[float, list[str]] = {}
    for t, label in items:
        t = min(max(0.0, float(t)), duration_s)
        by_time.setdefault(t, []).append(clean_label(label))
    return tuple(PointItem(t, " | ".join(labels)) for t, labels in sorted(by_time.items()))


def session_tiers(doc: dict, *, bookmarks: Sequence = (),
                  extra_points: Mapping[str, Iterable[tuple[float, str]]] | None = None) -> list[Tier]:
    """Tiers of a session document (``prosody.session/*``). ``bookmarks``:
    objects with ``time_s`` and ``note`` (``formats.bundle.Bookmark``).
    ``extra_points``: tier name -> [(time_s, label)], appended as point tiers
    in the order given (the hook for notes and moments)."""
    duration_s = float(doc.get("duration_s") or 0.0)
    speakers = list(doc.get("speaker_order") or [])
    tiers: list[Tier] = []
    turns = doc.get("turns")
    for spk in speakers:
        segs = [(x["start_s"], x["end_s"], "speech") for x in doc.get("segments") or [] if x["speaker"] == spk]
        tiers.append(Tier(f"{spk} speech", "interval", _intervals(segs, duration_s), spk))
        if turns is not None:
            tt = [(x["start_s"], x["end_s"], "turn") for x in turns if x["speaker"] == spk]
            tiers.append(Tier(f"{spk} turns", "interval", _intervals(tt, duration_s), spk))
    if doc.get("turn_taking") and doc.get("transitions") is not None:
        overlaps = [(t["to_start_s"], t["to_speaker"]) for t in doc["transitions"] if t.get("kind") == "overlap"]
        events = doc.get("events") or []
        for name, kind in EVENT_TIERS:
            items = overlaps if kind == "overlap" else [(e["start_s"], e["speaker"]) for e in events
                                                        if e["kind"] == kind]
            tiers.append(Tier(name, "point", _points(items, duration_s)))
    tiers.append(Tier("bookmarks", "point", _points(((b.time_s, b.note) for b in bookmarks), duration_s)))
    for name, items in (extra_points or {}).items():
        tiers.append(Tier(clean_label(name), "point", _points(items, duration_s)))
    return tiers
