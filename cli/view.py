"""Session summary -> terminal renderable. Pure: no audio, no printing."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text


def _fmt(v, spec: str, unit: str = "") -> str:
    if v is None:
        return "–"
    return f"{v:{spec}}{unit}"


ROWS = [
    # (label, key, format, unit)
    ("talk share", "talk_share", ".0%", ""),
    ("speech time", "speech_s", ".1f", " s"),
    ("turns", "n_turns", "d", ""),
    ("median gap before answering", "gap_median_s", "+.2f", " s"),
    ("overlapping starts", "overlaps", "d", ""),
    ("interruptions", "interruptions", "d", ""),
    ("failed interruptions", "failed_interruptions", "d", ""),
    ("backchannels", "backchannels", "d", ""),
    ("pitch median", "f0_median_hz", ".0f", " Hz"),
    ("pitch range (5-95 %)", "f0_range_st", ".1f", " st"),
    ("pitch variability (SD)", "f0_sd_st", ".1f", " st"),
    ("level (median, speech)", "rms_db_median", ".1f", " dBFS"),
    ("speech rate", "speech_rate_syl_s", ".1f", " syl/s"),
    ("articulation rate", "articulation_rate_syl_s", ".1f", " syl/s"),
]
TURN_KEYS = {"talk_share", "n_turns", "gap_median_s", "overlaps", "interruptions", "failed_interruptions",
             "backchannels"}


def summary_view(session: dict):
    """``session``: a ``prosody.session/1`` dict -> a rich renderable."""
    speakers = session["speaker_order"]
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("measure")
    for spk in speakers:
        table.add_column(spk, justify="right")
    for label, key, spec, unit in ROWS:
        if key in TURN_KEYS and not session["turn_taking"]:
            continue
        table.add_row(label, *[_fmt(session["speakers"][s][key], spec, unit) for s in speakers])
    head = Text(f"prosody · {session['duration_s']:.1f} s · {', '.join(session['sources'])}", style="bold")
    parts = [head]
    att = session.get("attribution")
    if att:  # layout found and how speakers were attributed (prosody.speakers)
        parts.append(Text(f"layout: {att['layout']} ({att['layout_detection']['reason']}); speakers: "
                          f"{att['attribution']}", style="dim"))
    parts.append(table)
    if session["turn_taking"]:
        tr = session["transitions"]
        n_ov = sum(1 for t in tr if t["kind"] == "overlap")
        parts.append(Text(f"{len(tr)} speaker changes ({len(tr) - n_ov} gaps, {n_ov} overlaps); "
                          f"{len(session['events'])} backchannels/interruptions", style="dim"))
    m = session.get("measures")
    if m:
        parts += measures_views(m, speakers, session["turn_taking"])
    for note in session["notes"]:
        parts.append(Text(f"note: {note}", style="yellow"))
    for w in session["warnings"]:
        parts.append(Text(f"warning: {w}", style="yellow"))
    return Group(*parts)


def measures_views(m: dict, speakers: list[str], turn_taking: bool) -> list:
    """Warmth, timing extras and attunement as renderables."""
    out = []
    w = m["warmth"]
    wt = Table(title=f"warmth {_fmt(w['score'], '.0f')}/100 (therapist, relative to own {m['baseline']['kind']} baseline)",
               title_justify="left", show_edge=False, pad_edge=False)
    for col, just in (("component", "left"), ("value", "right"), ("points", "right"), ("lower when", "left")):
        wt.add_column(col, justify=just)
    for c in w["components"]:
        v = "–" if c["value"] is None else f"{c['value']:.2f} {c['unit']}"
        pts = "–" if c["contribution"] is None else f"{c['contribution']:.1f}/{c['weight']:.1f}"
        wt.add_row(c["name"], v, pts, c["direction"].split(" -> ")[0])
    out.append(wt)
    if turn_taking and m.get("timing"):
        tt = Table(title="timing", title_justify="left", show_edge=False, pad_edge=False)
        tt.add_column("measure")
        for spk in speakers:
            tt.add_column(spk, justify="right")
        rows = [("turns per minute", "turns_per_min", ".1f", ""),
                ("longest monologue", "longest_monologue_s", ".1f", " s"),
                ("answers within 200 ms", "quick_answer_share", ".0%", ""),
                ("silences >= 2 s broken", "silences_broken", "d", "")]
        if m.get("network_delay_ms"):
            rows.insert(2, ("median gap, delay-corrected", "gap_median_corrected_s", "+.2f", " s"))
        for label, key, spec, unit in rows:
            tt.add_row(label, *[_fmt(m["timing"][s].get(key), spec, unit) for s in speakers])
        out.append(tt)
    a = m.get("attunement")
    if a:
        at = Table(title=f"attunement over {a['n_exchanges']} exchanges (95 % chance interval from shuffled turns)",
                   title_justify="left", show_edge=False, pad_edge=False)
        at.add_column("measure")
        for feat in ("pitch", "intensity", "rate"):
            at.add_column(feat, justify="right")
        for kind in ("proximity", "synchrony", "convergence"):
            cells = []
            for feat in ("pitch", "intensity", "rate"):
                x = a[kind][feat]
                cells.append("–" if x["value"] is None else
                             f"{x['value']:+.2f} [{x['chance_low']:+.2f},{x['chance_high']:+.2f}]"
                             + ("" if x["reading"] == "within chance" else " *"))
            at.add_row(kind, *cells)
        out.append(at)
        out.append(Text("* outside chance. " + a["note"], style="dim"))
    out.append(Text(m["disclaimer"], style="dim"))
    return out
