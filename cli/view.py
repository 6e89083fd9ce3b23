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
    table = Table(title=f"prosody · {session['duration_s']:.1f} s · {', '.join(session['sources'])}",
                  title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("measure")
    for spk in speakers:
        table.add_column(spk, justify="right")
    for label, key, spec, unit in ROWS:
        if key in TURN_KEYS and not session["turn_taking"]:
            continue
        table.add_row(label, *[_fmt(session["speakers"][s][key], spec, unit) for s in speakers])
    parts = [table]
    if session["turn_taking"]:
        tr = session["transitions"]
        n_ov = sum(1 for t in tr if t["kind"] == "overlap")
        parts.append(Text(f"{len(tr)} speaker changes ({len(tr) - n_ov} gaps, {n_ov} overlaps); "
                          f"{len(session['events'])} backchannels/interruptions", style="dim"))
    for note in session["notes"]:
        parts.append(Text(f"note: {note}", style="yellow"))
    for w in session["warnings"]:
        parts.append(Text(f"warning: {w}", style="yellow"))
    return Group(*parts)
