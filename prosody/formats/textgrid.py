"""Praat TextGrid writer (long text format, UTF-8) of a session's tiers
(``formats.tiers.session_tiers``): interval tiers per speaker for speech and
turns, point tiers ("TextTier") for events, bookmarks and extra items.

An interval tier covers [0, duration] without holes: stretches without a
segment are empty intervals, as Praat expects. Labels and tier names are
quoted with ``"`` doubled (Praat's escape), on one line (``tiers.clean_label``:
a typed line break or control character is a space), so a speaker label never
adds a line to the file."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from .tiers import IntervalItem, Tier, clean_label, session_tiers


def _q(text: str) -> str:
    return '"' + clean_label(text).replace('"', '""') + '"'


def _num(x: float) -> str:
    return repr(float(x))


def _filled(items: Sequence[IntervalItem], duration_s: float) -> list[IntervalItem]:
    out, t = [], 0.0
    for it in items:
        if it.start_s > t:
            out.append(IntervalItem(t, it.start_s, ""))
        out.append(it)
        t = it.end_s
    if t < duration_s or not out:
        out.append(IntervalItem(t, max(duration_s, t), ""))
    return out


def tiers_to_textgrid(tiers: list[Tier], duration_s: float) -> str:
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
             "xmin = 0", f"xmax = {_num(duration_s)}", "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    for i, tier in enumerate(tiers, 1):
        lines += [f"    item [{i}]:",
                  f'        class = "{"IntervalTier" if tier.kind == "interval" else "TextTier"}"',
                  f"        name = {_q(tier.name)}", "        xmin = 0", f"        xmax = {_num(duration_s)}"]
        if tier.kind == "interval":
            items = _filled(tier.items, duration_s)
            lines.append(f"        intervals: size = {len(items)}")
            for k, it in enumerate(items, 1):
                lines += [f"        intervals [{k}]:", f"            xmin = {_num(it.start_s)}",
                          f"            xmax = {_num(it.end_s)}", f"            text = {_q(it.label)}"]
        else:
            lines.append(f"        points: size = {len(tier.items)}")
            for k, it in enumerate(tier.items, 1):
                lines += [f"        points [{k}]:", f"            number = {_num(it.time_s)}",
                          f"            mark = {_q(it.label)}"]
    return "\n".join(lines) + "\n"


def session_textgrid(doc: dict, *, bookmarks: Sequence = (),
                     extra_points: Mapping[str, Iterable[tuple[float, str]]] | None = None) -> str:
    """A session document (and its bookmarks, and extra point tiers: name ->
    [(time_s, label)]) as a Praat TextGrid."""
    return tiers_to_textgrid(session_tiers(doc, bookmarks=bookmarks, extra_points=extra_points),
                             float(doc.get("duration_s") or 0.0))
