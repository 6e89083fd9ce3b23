"""Session summary -> terminal renderable. Pure: no audio, no printing.

Plain language (``prosody.report.wording``): each measure as a therapist
would say it, in units a person uses, with the direction of effect and the
source on the line below it (dim). Rows are laid out at fixed widths that fit
80 columns, so a row never wraps in the middle.
"""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from prosody.report.text import terminal_safe

from prosody.report.wording import (SEMITONE_NOTE, feature_word, fmt_value, measure_plain, session_warnings,
                                    speaker_plain, timing_keys, warmth_plain)

WIDTH = 80
LABEL_MAX = 36
VALUE_MAX = 19

SPEAKER_KEYS = ("talk_share", "speech_s", "n_turns", "gap_median_s", "overlaps", "interruptions",
                "failed_interruptions", "backchannels", "f0_median_hz", "f0_range_st", "f0_sd_st", "rms_db_median",
                "speech_rate_syl_s", "articulation_rate_syl_s")
TURN_KEYS = {"talk_share", "n_turns", "gap_median_s", "overlaps", "interruptions", "failed_interruptions",
             "backchannels"}



def _cell(s: str, w: int, right: bool) -> str:
    s = terminal_safe(s)  # headers are speaker labels, cells may come from an imported file: text only
    s = s if len(s) <= w else s[:w - 1] + "…"
    return s.rjust(w) if right else s.ljust(w)


def rows_block(headers: list[str], rows: list[tuple[str, list[str], str | None]], *, width: int = WIDTH) -> list:
    """Fixed-width rows: ``(label, values, why)``; ``why`` (direction · source)
    goes dim on the line below, cut to ``width``. Returns Text lines; no line is
    longer than ``width``."""
    n = len(headers) - 1
    headers = [terminal_safe(h) for h in headers]
    rows = [(terminal_safe(label), [terminal_safe(v) for v in values], why) for label, values, why in rows]
    lw = min(LABEL_MAX, max([len(headers[0])] + [len(r[0]) for r in rows]))
    vw = min(VALUE_MAX, max([len(h) for h in headers[1:]] + [len(v) for r in rows for v in r[1]] + [1]))
    while lw + n * (vw + 2) > width and lw > 16:
        lw -= 1
    out = [Text(_cell(headers[0], lw, False) + "".join("  " + _cell(h, vw, True) for h in headers[1:]),
                style="bold", no_wrap=True, overflow="ellipsis")]
    for label, values, why in rows:
        out.append(Text(_cell(label, lw, False) + "".join("  " + _cell(v, vw, True) for v in values),
                        no_wrap=True, overflow="ellipsis"))
        if why:
            out.append(_why(why, width))
    return out


def _why(text: str, width: int = WIDTH) -> Text:
    """``  ↳ direction · source``, dim; a long one continues indented on a second line."""
    import textwrap
    lines = textwrap.wrap(terminal_safe(text), width=width - 4, initial_indent="", subsequent_indent="") or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width=width - 4, placeholder="…")]
    return Text("\n".join(("  ↳ " if i == 0 else "    ") + x for i, x in enumerate(lines)), style="dim",
                no_wrap=True)


def summary_view(session: dict, *, explain: bool = True):
    """``session``: a ``prosody.session/2`` dict -> a rich renderable.
    ``explain``: the direction and source of each measure on the line below it.
    What the schema leaves optional (a document of an older version or another
    tool, docs/session-schema.md) is read with a default: blank, not a failure."""
    speakers = session["speaker_order"]
    dur = session.get("duration_s") or 0.0
    turn_taking = bool(session.get("turn_taking"))
    per = session.get("speakers") or {}
    rows = []
    for key in SPEAKER_KEYS:
        if key in TURN_KEYS and not turn_taking:
            continue
        p = speaker_plain(key)
        vals = [p.format((per.get(s) or {}).get(key), duration_s=dur) for s in speakers]
        rows.append((p.label, vals, p.why if explain else None))
    head = Text(f"prosody · {dur:.1f} s · {terminal_safe(', '.join(session.get('sources') or []))}", style="bold",
                no_wrap=True, overflow="ellipsis")
    parts = [head]
    att = session.get("attribution")
    if att:  # the layout found and how speakers were attributed (prosody.engine.speakers)
        detection = att.get("layout_detection") if isinstance(att.get("layout_detection"), dict) else {}
        reason = f" ({detection['reason']})" if detection.get("reason") else ""
        parts.append(Text(terminal_safe(f"layout: {att.get('layout')}{reason}; speakers: "
                                        f"{att.get('attribution') or '–'}"
                                        + (f"; naming: {att['naming'].get('rule')}"
                                           if isinstance(att.get("naming"), dict) else "")), style="dim"))
    parts += [*rows_block(["per speaker", *[terminal_safe(s) for s in speakers]], rows)]
    if explain:
        # (no counts on one speaker: no turn-taking figures)
        parts.append(Text(f"counts are per 10 minutes of the session; {SEMITONE_NOTE}" if turn_taking else
                          f"{SEMITONE_NOTE[0].upper()}{SEMITONE_NOTE[1:]}", style="dim"))
    if turn_taking:
        tr = session.get("transitions") or []
        n_ov = sum(1 for t in tr if t.get("kind") == "overlap")
        parts.append(Text(f"{len(tr)} speaker changes ({len(tr) - n_ov} after a pause, {n_ov} in overlap); "
                          f"{len(session.get('events') or [])} listening sounds and talk-overs", style="dim"))
    m = session.get("measures")
    if m:
        parts += measures_views(m, speakers, turn_taking, duration_s=dur, explain=explain)
    for note in session.get("notes") or []:
        parts.append(Text(f"note: {terminal_safe(note)}", style="yellow"))
    for w in session_warnings(session):  # a live session saved incomplete says so too
        parts.append(Text(f"warning: {terminal_safe(w)}", style="yellow"))
    return Group(*parts)


def warmth_lines(w: dict, baseline_kind: str, *, explain: bool = True) -> list:
    """The warmth score and each component as the therapist's sentence."""
    score = w.get("score")
    head = Text(f"Warmth {fmt_value(score, '0-100')}" if score is not None else "Warmth –", style="bold")
    head.append(f"  (relative to your own {terminal_safe(baseline_kind)} baseline; not a clinical judgement)",
                style="dim")
    out = [head]
    if score is None and w.get("not_enough"):
        out.append(Text(f"  {terminal_safe(str(w['not_enough']))}", style="dim"))
    for c in w.get("components") or []:
        p = warmth_plain(str(c.get("name")))
        # a value without points: the score is withheld (too little speech), not missing data (walk-through:
        # "Pitch raised above your baseline: 3 % of your speech ... no data")
        pts = (("no data" if c.get("value") is None else "not scored") if c.get("contribution") is None else
               f"{c['contribution']:.0f} of {c['weight']:.0f} points")
        t = Text(f"  {terminal_safe(p.say(c.get('value')))}", no_wrap=True, overflow="ellipsis")
        room = WIDTH - len(t.plain) - 2
        if room >= len(pts):
            t.append(" " * (room - len(pts) + 2) + pts, style="dim")
        out.append(t)
        if explain:
            out.append(_why(p.why))
    return out


def measures_views(m: dict, speakers: list[str], turn_taking: bool, *, duration_s: float = 0.0,
                   explain: bool = True) -> list:
    """Warmth, timing extras and attunement as renderables."""
    out = warmth_lines(m.get("warmth") or {}, (m.get("baseline") or {}).get("kind", "default"), explain=explain)
    if turn_taking and m.get("timing"):
        rows = []
        for key in timing_keys(m):
            p = measure_plain(f"timing.{key}")
            rows.append((p.label, [p.format((m["timing"].get(s) or {}).get(key), duration_s=duration_s)
                                   for s in speakers],
                         p.why if explain else None))
        out += rows_block(["timing", *[terminal_safe(s) for s in speakers]], rows)
    a = m.get("attunement")
    if a:
        rows = []
        for kind in ("proximity", "synchrony", "convergence"):
            p = measure_plain(f"attunement.{kind}")
            cells = []
            for feat in ("pitch", "intensity", "rate"):
                x = a[kind][feat]
                if x["value"] is None:
                    cells.append("–")
                    continue
                mark = "~" if x["reading"] == "within chance" else ("↑" if x["value"] > x["chance_high"] else "↓")
                cells.append(f"{x['value']:+.2f} {mark}")
            rows.append((p.label, cells, p.why if explain else None))
        out += rows_block([f"attunement ({a['n_exchanges']} exchange{'s' * (a['n_exchanges'] != 1)})",
                           *(feature_word(f) for f in ("pitch", "intensity", "rate"))], rows)
        # the note and the disclaimer are stored words, and an imported file may have changed them
        out.append(Text("~ within chance (shuffled turns, 95 %), ↑↓ beyond it. " + terminal_safe(a["note"]),
                        style="dim"))
    if m.get("disclaimer"):
        out.append(Text(terminal_safe(m["disclaimer"]), style="dim"))
    return out
