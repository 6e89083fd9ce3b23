"""HTML reports: one stored session, or several side by side (compare / trend).

Each report is one self-contained HTML file: inline CSS, plots as inline SVG
(``prosody.plots``), no script, no font, no image fetched from anywhere; a
Content-Security-Policy (``default-src 'none'``) makes the browser refuse any
request the page might still try. Printable (``@media print``).

Pure functions: stored data in, HTML text out. The numbers shown are the
stored ones (``Store.metrics`` and the session document); nothing is
recomputed here except per-frame traces reduced for plotting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .. import __version__
from ..config import TurnConfig
from ..timebase import GRID
from ..types import UNATTRIBUTED
from .text import html_safe as escape
from .plots import (colour_of, fmt_clock, bin_series, histogram, lanes, lines, timeline)
from ..formats.bundle import SRS_ITEMS
from ..store.db import SessionInfo, StoredSession, speaker_roles
from .review import notes_html
from .wording import (feature_word, layouts_note, measure_plain, metric_plain, session_warnings, speaker_plain,
                      timing_keys, warmth_plain)



TIMELINE_BINS = 900
GAP_RANGE_S = (-1.5, 3.0)
GAP_BIN_S = 0.1
DISCLAIMER = ("Descriptive measures of voice and timing, computed on this device. Not a clinical judgement: "
              "they describe how the conversation sounded, not how good the session was. Ask the client.")

def _disclaimer(measures, speakers) -> str:
    """The page's disclaimer: the stored one, but an unsure recording's says what its figures are (a session
    analysed before said "the therapist's own baseline" there too)."""
    from ..measures.registry import disclaimer_for
    if UNATTRIBUTED in speakers:
        return disclaimer_for(speakers)
    return (measures or {}).get("disclaimer") or DISCLAIMER


_TURNS = TurnConfig()  # the documented defaults (the report reads stored figures, not a session's config)


def _formula(measure_id: str) -> str:
    """A measure's definition as the registry (docs/measures.md) says it: the report and the compare / trend
    pages kept their own words beside it, which drifted (walk58: "articulation rate = syllable nuclei / speech
    time" where the figure is over phonation time; "longest monologue: longest turn held without the other
    speaker taking the floor" where a silence of 3 s or more also ends it; proximity and convergence described
    as another computation than the one made)."""
    from ..measures import MEASURES
    return next(d.formula for d in MEASURES if d.name == measure_id)

# Per-speaker keys of the session document: label, unit, definition, source.
# Mirrors docs/session-schema.md (tests/test_report.py checks the keys match).
SPEAKER_DEFINITIONS: dict[str, tuple[str, str, str, str]] = {
    "speech_s": ("speech time", "s", "total speech time (voice activity after bleed rejection and smoothing)",
                 "webrtcvad + level gate; pyannote Binarize smoothing"),
    "talk_share": ("talk share", "%", "share of all speakers' speech time", ""),
    "n_segments": ("speech segments", "count", "stretches of speech", ""),
    "n_turns": ("turns", "count", "floor holds: first to last segment before the other speaker takes the floor",
                "Heldner & Edlund 2010"),
    "f0_median_hz": ("pitch median", "Hz", "median F0 over voiced speech frames",
                     "prosody/engine/pitch.py (Boersma 1993)"),
    "f0_sd_st": ("pitch variability (SD)", "st", "standard deviation of F0 in semitones re the median", ""),
    "f0_range_st": ("pitch range", "st", "5th-95th percentile span of F0, semitones", ""),
    "rms_db_median": ("level", "dBFS", "median frame RMS level over speech frames", ""),
    "n_syllables": ("syllables", "count", "syllable nuclei", "de Jong & Wempe 2009"),
    "speech_rate_syl_s": ("speech rate", "syl/s", "syllable nuclei / (time holding the floor (turns, pauses included) + own speech outside it)",
                          "de Jong & Wempe 2009"),
    "articulation_rate_syl_s": ("articulation rate", "syl/s", _formula("voice.articulation_rate_syl_s"),
                                "de Jong & Wempe 2009"),
    "gap_median_s": ("median gap before answering", "s",
                     "median floor transfer offset when this speaker takes the floor (negative: starts in overlap)",
                     "de Ruiter et al. 2006; Heldner & Edlund 2010"),
    "overlaps": ("overlapping starts", "count", "this speaker's segments that start while the other speaks", ""),
    "interruptions": ("interruptions", "count",
                      "started while the holder speaks, the holder stops during it, overlap >= "
                      f"{_TURNS.interruption_min_overlap_s:g} s",
                      "Heldner & Edlund 2010; prosody/engine/turns.py"),
    "failed_interruptions": ("failed interruptions", "count", _formula("timing.failed_interruptions"),
                             "Gravano & Hirschberg 2011, 2012; prosody/engine/turns.py"),
    "backchannels": ("backchannels", "count", _formula("timing.backchannels"),
                     "Ward & Tsukahara 2000; prosody/engine/turns.py"),
}
MEASURE_DEFINITIONS: list[tuple[str, str, str]] = [
    ("warmth score", "0-100 composite of the therapist's vocal and timing cues whose direction research supports, "
     "each relative to the therapist's own baseline; components and their sources below",
     "see each component"),
    ("proximity", _formula("attunement.proximity") + "; within the chance interval reads as chance",
     "Levitan & Hirschberg 2011"),
    ("synchrony", _formula("attunement.synchrony") + "; higher is not better",
     "Levitan & Hirschberg 2011; Reich et al. 2014"),
    ("convergence", _formula("attunement.convergence"), "Levitan & Hirschberg 2011"),
    ("turns per minute", _formula("timing.turns_per_min"), ""),
    ("longest monologue", _formula("timing.longest_monologue_s"), ""),
    ("Session Rating Scale", "the client's rating of relationship, goals and topics, approach, overall (0-10 each, "
     "total 0-40)", "Duncan et al. 2003"),
]


@dataclass(frozen=True)
class Metric:
    """A number shown across sessions: ``key`` in ``Store.metrics``; shown as
    value * ``scale`` with ``fmt`` and ``unit``."""

    key: str
    label: str
    unit: str = ""
    fmt: str = ".2f"
    scale: float = 1.0
    group: str = "timing"

    def format(self, v) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "–"
        return f"{v * self.scale:{self.fmt}}"

    def text(self, values: dict) -> str:
        """The cell of one session (``values``: its ``Store.metrics``) as `compare` and `trend` show it, on the
        terminal and on the page alike: in the unit and rounding of the summary and `show` where the measure has
        plain words (``metric_plain``), else ``format``. The page had its own rounding and unit beside the
        terminal's (walk58: pitch variation "1.35" against "1.4 st", loudness "-24.2" against "-24 dBFS",
        pace "5.41 (syl/s)" against "5.4 syll./s", an interruption "1" against "1 (13.1/10 min)")."""
        p = metric_plain(self.key)
        v = values.get(self.key)
        return p.format(v, duration_s=values.get("duration_s")) if p.unit else self.format(v)

    @property
    def row_label(self) -> str:
        """The row's name: the plain words with the unit in the cells, else the label with its unit."""
        p = metric_plain(self.key)
        return p.label if p.unit else self.label + (f" ({self.unit})" if self.unit else "")


COMPARE_METRICS: tuple[Metric, ...] = (
    Metric("duration_s", "duration", "min", ".1f", 1 / 60, "session"),
    Metric("therapist.talk_share", "therapist talk share", "%", ".0f", 100),
    Metric("timing.therapist.turns_per_min", "therapist turns per minute", "/min", ".1f"),
    Metric("timing.therapist.longest_monologue_s", "therapist longest monologue", "s", ".1f"),
    Metric("therapist.gap_median_s", "median gap before therapist answers", "s", "+.2f"),
    Metric("client.gap_median_s", "median gap before client answers", "s", "+.2f"),
    # a video call's (--network-delay-ms): `show` and the report give both; compare and trend gave the raw one only
    Metric("timing.client.gap_median_corrected_s", "client's wait less the call delay", "s", "+.2f"),
    Metric("therapist.overlaps", "therapist overlapping starts", "", ".0f"),
    Metric("therapist.interruptions", "therapist interruptions", "", ".0f"),
    Metric("client.interruptions", "client interruptions", "", ".0f"),
    Metric("therapist.failed_interruptions", "therapist failed interruptions", "", ".0f"),
    Metric("therapist.backchannels", "therapist backchannels", "", ".0f"),
    Metric("client.backchannels", "client backchannels", "", ".0f"),
    Metric("therapist.f0_median_hz", "therapist pitch median", "Hz", ".0f", 1, "voice"),
    Metric("therapist.f0_sd_st", "therapist pitch variability", "st", ".2f", 1, "voice"),
    Metric("therapist.rms_db_median", "therapist level", "dBFS", ".1f", 1, "voice"),
    Metric("therapist.speech_rate_syl_s", "therapist speech rate", "syl/s", ".2f", 1, "voice"),
    Metric("therapist.articulation_rate_syl_s", "therapist articulation rate", "syl/s", ".2f", 1, "voice"),
    Metric("voice_quality.therapist.jitter_local", "therapist jitter (local)", "%", ".2f", 100, "voice"),
    Metric("voice_quality.therapist.shimmer_local", "therapist shimmer (local)", "%", ".1f", 100, "voice"),
    Metric("voice_quality.therapist.hnr_db", "therapist harmonics-to-noise", "dB", ".1f", 1, "voice"),
    Metric("voice_quality.therapist.cpps_db", "therapist CPPS", "dB", ".1f", 1, "voice"),
    Metric("voice_quality.client.hnr_db", "client harmonics-to-noise", "dB", ".1f", 1, "voice"),
    Metric("voice_quality.client.cpps_db", "client CPPS", "dB", ".1f", 1, "voice"),
    Metric("warmth.score", "warmth", "0-100", ".0f", 1, "warmth"),
    *(Metric(f"attunement.{kind}.{feat}.value", f"{kind} · {feature_word(feat)}", "", "+.2f", 1, "attunement")
      for kind in ("proximity", "synchrony", "convergence") for feat in ("pitch", "intensity", "rate")),
    Metric("feedback.srs_total", "client SRS total", "0-40", ".0f", 1, "feedback"),
    Metric("feedback.rating", "client rating", "1-5", ".0f", 1, "feedback"),
)
TREND_PLOTS: tuple[tuple[str, tuple[str, ...], tuple[float, float] | None], ...] = (
    ("Warmth (0-100)", ("warmth.score",), (0.0, 100.0)),
    ("Client feedback: Session Rating Scale total (0-40)", ("feedback.srs_total",), (0.0, 40.0)),
    ("Client feedback: rating (1-5)", ("feedback.rating",), (1.0, 5.0)),
    ("Talk share (%)", ("therapist.talk_share",), None),
    ("Gaps before answering (s)", ("therapist.gap_median_s", "client.gap_median_s"), None),
    ("Overlaps and interruptions", ("therapist.overlaps", "therapist.interruptions", "client.interruptions"), None),
    ("Therapist pace (syl/s)", ("therapist.speech_rate_syl_s", "therapist.articulation_rate_syl_s"), None),
    ("Voice quality: harmonics-to-noise and CPPS (dB)", ("voice_quality.therapist.hnr_db",
                                                          "voice_quality.therapist.cpps_db"), None),
    ("Attunement: synchrony", ("attunement.synchrony.pitch.value", "attunement.synchrony.intensity.value",
                               "attunement.synchrony.rate.value"), None),
)
METRICS_BY_KEY = {m.key: m for m in COMPARE_METRICS}

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0 auto;
       max-width: 1000px; padding: 16px 24px 48px; background: #fff; }
h1 { font-size: 22px; margin: 8px 0 2px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd;
     padding-bottom: 3px; } h3 { font-size: 14px; margin: 14px 0 4px; }
.sub { color: #555; margin: 0 0 8px; } .muted { color: #666; } .note { color: #7a5a00; }
.disclaimer { background: #f4f1e8; border-left: 4px solid #c9b56b; padding: 6px 10px; margin: 10px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; overflow-wrap: anywhere; }
.card .v { font-size: 20px; font-weight: 600; } .card .k { color: #555; font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
td.n, th.n { text-align: right; } td.n { white-space: nowrap; }
th { overflow-wrap: break-word; }  /* headers wrap at their spaces (a long label), a long typed name where it must */
section { overflow-x: auto; }  /* a table still wider than a narrow window scrolls inside its section */
h1, h2, h3, p, li, summary { overflow-wrap: break-word; }  /* a long typed name or note wraps, never widens the page */
td { overflow-wrap: break-word; }
table.bookmarks td, table.supervisor-notes td, table.feedback td { overflow-wrap: anywhere; }  /* typed notes:
  a 3000-letter word is a tall cell, not a 44000 px row; other tables break words only where they must */
.typed { overflow-wrap: anywhere; white-space: normal; }  /* a typed name in a table of figures (a speaker, a
  client): a 64-letter word wraps in its cell instead of widening the table; the labels and figures keep theirs */
svg.plot { width: 100%; height: auto; display: block; margin: 4px 0 10px; }
svg.plot text { fill: #444; }
.chance { color: #777; } .beyond { font-weight: 600; }
.legend span { display: inline-block; margin-right: 14px; }
details.why summary { cursor: pointer; } details.why { color: #333; } details.why[open] { color: #555; }
ol.moments li { margin: 6px 0; } .clip { margin: 3px 0; } .clip audio { height: 32px; vertical-align: middle; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
section { break-inside: avoid-page; }
footer { margin-top: 32px; color: #777; font-size: 12px; }
@media print { body { max-width: none; padding: 0; font-size: 11px; } h2 { break-after: avoid; } section { overflow: visible; }
  svg.plot, table, .card { break-inside: avoid; } a { color: inherit; text-decoration: none; } }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src data:"


PAGE_HEAD_BYTES = 1024  # a page's <head> up to its generator line is some 400 bytes (the CSP the longest)


def is_prosody_page(path) -> bool:
    """``path`` holds an HTML page prosody wrote (a report, a comparison, a trend: ``_page``'s generator line in
    its head), which a report, compare or trend page may replace without --overwrite (written again)."""
    from ..fileio import file_head
    head = file_head(path, PAGE_HEAD_BYTES)
    return head.startswith(b"<!DOCTYPE html>") and b'<meta name="generator" content="prosody ' in head


SESSION_META = '<meta name="prosody-session" content="{}">'  # a session report's own session (its uid)


def is_report_of(path, uid: str) -> bool | None:
    """Whether ``path`` is the report page of the session ``uid`` (``SESSION_META`` in its head): None where it is
    a prosody page that names no session (a report written before 2026-12-07, a comparison, a trend)."""
    from ..fileio import file_head
    if not is_prosody_page(path):
        return False
    head = file_head(path, PAGE_HEAD_BYTES)
    if b'<meta name="prosody-session" ' not in head:
        return None
    return SESSION_META.format(escape(uid)).encode() in head


def _page(title: str, body: str, *, generated_at: str | None = None, session_uid: str | None = None) -> str:
    when = generated_at or datetime.now().isoformat(timespec="seconds")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="prosody {escape(__version__)}">'
            + (SESSION_META.format(escape(session_uid)) if session_uid else "") +
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}"
            f'<footer>prosody {escape(__version__)} · generated {escape(when)} on this device · '
            f"no data left it to make this page</footer></body></html>\n")


def _fmt(v, spec: str, unit: str = "", scale: float = 1.0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v * scale:{spec}}{(' ' + unit) if unit else ''}"


def _section(sid: str, title: str, inner: str) -> str:
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{inner}</section>'


def _meta_line(info: SessionInfo) -> str:
    m = info.meta
    bits = [f"session {info.id}"]
    if m.recorded_at:
        bits.append(m.recorded_at.replace("T", " "))
    if m.therapist:
        bits.append(f"therapist {m.therapist}")
    if m.client:
        bits.append(f"client {m.client}")
    if m.session_number is not None:
        bits.append(f"session no. {m.session_number}")
    bits.append(fmt_clock(info.duration_s))
    if m.tags:
        bits.append("tags: " + ", ".join(m.tags))
    return " · ".join(escape(b) for b in bits)


def _card(value: str, label: str) -> str:
    return f'<div class="card"><div class="v">{escape(value)}</div><div class="k">{escape(label)}</div></div>'


# -- one session --------------------------------------------------------------------------------------------------
def session_report(stored: StoredSession, frames: dict | None, *, generated_at: str | None = None,
                   extra_sections=None, frames_lost: str | None = None) -> str:
    """The HTML report of one stored session. ``frames``: ``Store.frames`` (None
    when the session was saved without per-frame features, or ``frames_lost`` says why they are lost: its
    frames file missing or unreadable). ``extra_sections``:
    ``[(id, title, inner HTML)]`` after "At a glance"; default: the moments to
    review with the default ranking (``prosody.report.review``)."""
    doc, info = stored.doc, stored.info
    speakers = list(doc["speaker_order"])
    roles = speaker_roles(speakers)
    measures = doc.get("measures") if isinstance(doc.get("measures"), dict) else None
    title = f"prosody · session {info.id}" + (f" · {info.meta.client}" if info.meta.client else "")
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="sub">{_meta_line(info)}</p>',
             f'<p class="disclaimer">{escape(_disclaimer(measures, speakers))}</p>']
    parts.append(_section("at-a-glance", "At a glance", _glance(doc, stored, measures, roles)))
    if extra_sections is None:
        from ..moments import moments
        from .review import moments_section
        extra_sections = [moments_section(stored, moments(doc, bookmarks=stored.bookmarks, notes=stored.notes))]
    for sid_, title_, inner_ in extra_sections:
        parts.append(_section(sid_, title_, inner_))
    parts.append(_section("speakers", "Per speaker", _speaker_table(doc) + _timing_table(doc, measures)))
    parts.append(_section("timelines", "Pitch and level over the session",
                          _timelines(doc, frames, stored, frames_lost)))
    if doc.get("turn_taking"):
        parts.append(_section("turns", "Turns", _turn_chart(doc, stored)))
        parts.append(_section("gaps", "Gaps before answering", _gap_plots(doc)))
    else:
        parts.append(_section("turns", "Turns", '<p class="muted">One speaker: turn-taking needs two people\'s '
                                                 "speech told apart (a channel each, or two voices found in shared "
                                                 "or mono audio), so turns and gaps are not shown.</p>"))
    parts.append(_section("warmth", "Warmth", _warmth(measures)))
    parts.append(_section("attunement", "Attunement", _attunement(measures)))
    parts.append(_section("phases", "Phases", _phases(measures, speakers, roles)))
    parts.append(_section("voice-quality", "Voice quality", _voice_quality(measures, speakers)))
    parts.append(_section("bookmarks", "Bookmarks and notes", _bookmarks(stored, doc) + notes_html(stored.notes)))
    parts.append(_section("feedback", "Client feedback", _feedback(stored)))
    parts.append(_section("definitions", "Definitions and sources", _definitions(measures)))
    return _page(title, "".join(parts), generated_at=generated_at, session_uid=info.uid)


def attribution_line(doc) -> str:
    """Who spoke when, in one line: the layout found and how speakers were attributed (issue 9)."""
    from ..session import attribution_of
    layout, method = attribution_of(doc)
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else {}
    reason = (att.get("layout_detection") or {}).get("reason") if isinstance(att.get("layout_detection"), dict) else None
    line = f"Who spoke when: {layout} layout" + (f" ({reason})" if reason else "") + f"; speakers: {method}"
    naming = att.get("naming") if isinstance(att.get("naming"), dict) else None
    if naming and naming.get("rule"):
        line += f"; which voice is the therapist: {naming['rule']}"
    return line + "."


def _glance(doc, stored: StoredSession, measures, roles) -> str:
    sp = {s: (doc.get("speakers") or {}).get(s) or {} for s in doc["speaker_order"]}  # an older document may lack one
    by_role = {r: n for n, r in roles.items()}
    cards = [_card(fmt_clock(doc["duration_s"]), "duration")]
    th, cl = by_role.get("therapist"), by_role.get("client")
    if doc.get("turn_taking") and th and cl:
        cards.append(_card(_fmt(sp[th].get("talk_share"), ".0f", "%", 100), f"{th}: share of the talking"))
        cards.append(_card(_fmt(sp[th].get("gap_median_s"), "+.2f", "s"), f"{th}: typical wait before answering"))
        cards.append(_card(_fmt(sp[cl].get("gap_median_s"), "+.2f", "s"), f"{cl}: typical wait before answering"))
        cards.append(_card(f"{sp[th].get('interruptions', 0)} / {sp[cl].get('interruptions', 0)}",
                           f"talked over the other: {th} / {cl}"))
        cards.append(_card(f"{sp[th].get('overlaps', 0)} / {sp[cl].get('overlaps', 0)}",
                           f"started while the other spoke: {th} / {cl}"))
    for name in doc["speaker_order"]:
        cards.append(_card(_fmt(sp[name].get("f0_median_hz"), ".0f", "Hz"), f"{name}: typical pitch"))
    if measures and isinstance(measures.get("warmth"), dict):
        cards.append(_card(_fmt(measures["warmth"].get("score"), ".0f"), "warmth (0-100, relative to own baseline)"))
    for f in stored.feedback:
        cards.append(_card(f"{f.total}/40" if f.kind == "srs" else f"{f.total}/5",
                           "client SRS" if f.kind == "srs" else "client rating"))
    if stored.bookmarks:
        cards.append(_card(str(len(stored.bookmarks)), "bookmarks"))
    notes = f'<p class="muted attribution">{escape(attribution_line(doc))}</p>'
    notes += "".join(f'<p class="note">note: {escape(n)}</p>' for n in doc.get("notes") or [])
    notes += "".join(f'<p class="note">warning: {escape(w)}</p>' for w in session_warnings(doc))
    return f'<div class="cards">{"".join(cards)}</div>{notes}'


def _speaker_table(doc) -> str:
    speakers = doc["speaker_order"]
    head = "<tr><th>measure</th>" + "".join(f'<th class="n">{_typed(s)}</th>' for s in speakers) + "</tr>"
    rows = []
    for key, (label, unit, _, _) in SPEAKER_DEFINITIONS.items():
        vals = [((doc.get("speakers") or {}).get(s) or {}).get(key) for s in speakers]
        if all(v is None for v in vals) and key in ("talk_share", "n_turns", "gap_median_s", "overlaps"):
            continue
        p = speaker_plain(key)
        cells = "".join(f'<td class="n">{escape(p.format(v, duration_s=doc.get("duration_s")))}</td>' for v in vals)
        rows.append(f"<tr><td>{_explained(p.label, p.definition, p.direction, p.source)}</td>{cells}</tr>")
    return (f"<table>{head}{''.join(rows)}</table><p class=\"muted\">Counts are per 10 minutes of the session. "
            "A semitone is one piano key; 2 semitones is a clearly audible step. Click a measure for what it is, "
            "which way is which, and its source.</p>")


def _timing_table(doc, measures) -> str:
    """The session's timing rows as the terminal summary and `show` have them (``timing_keys``): turns per
    minute, the longest stretch holding the floor, the client's wait less a call's delay, quick answers and
    silences broken. The report showed none of them: a video call's client waited "+0.79 s" on the page and
    "+0.59 s" less the call's delay in `show`, the page not saying that a delay was set (walk58)."""
    timing = (measures or {}).get("timing")
    if not doc.get("turn_taking") or not isinstance(timing, dict):
        return ""
    speakers = doc["speaker_order"]
    head = "<tr><th>timing</th>" + "".join(f'<th class="n">{_typed(s)}</th>' for s in speakers) + "</tr>"
    rows = []
    for key in timing_keys(measures):
        p = measure_plain(f"timing.{key}")
        vals = [p.format((timing.get(s) or {}).get(key), duration_s=doc.get("duration_s")) for s in speakers]
        cells = "".join(f'<td class="n">{escape(v)}</td>' for v in vals)
        rows.append(f"<tr><td>{_explained(p.label, p.definition, p.direction, p.source)}</td>{cells}</tr>")
    delay = measures.get("network_delay_ms")
    note = (f'<p class="muted">A call delay of {delay:g} ms (one way) was given: the client\'s wait is shown as '
            "measured and with the round trip taken out.</p>" if delay else "")
    return f"<table>{head}{''.join(rows)}</table>{note}"


def _typed(text) -> str:
    """A typed name (a speaker's, a client's) escaped for a table cell, in a span that wraps it anywhere
    where it does not fit (CSS ``.typed``): a long word of it never widens the table."""
    return f'<span class="typed">{escape(str(text))}</span>'


def _explained(label: str, definition: str, direction: str, source: str) -> str:
    """A measure's name; one click opens its definition, direction of effect and source."""
    body = " ".join(x for x in (escape(definition) + ("." if definition else ""),
                                f"<i>{escape(direction)}</i>." if direction else "",
                                f"Source: {escape(source)}." if source else "") if x)
    return f'<details class="why"><summary>{escape(label)}</summary>{body}</details>'



def _drawable(binned) -> bool:
    """Whether a binned trace (``bin_series``) draws a line: two finite bins at least. One of none, or a
    single point (a session of one frame), was drawn as an empty chart that said nothing."""
    return int(np.isfinite(binned).sum()) >= 2


def _timelines(doc, frames, stored: StoredSession, frames_lost: str | None = None) -> str:
    if frames_lost:  # not "saved without": it was saved with them (hostile sweep 51)
        return (f'<p class="muted">{escape(frames_lost)}: its per-frame features are lost, so no pitch or level '
                'traces.</p>')
    if not frames:
        return '<p class="muted">This session was saved without per-frame features: no pitch or level traces.</p>'
    duration = float(doc["duration_s"])
    hop = float(doc.get("frame_hop_s") or GRID.hop_s)
    out = []
    for i, spk in enumerate(doc["speaker_order"]):
        fr = frames.get(spk) or {}
        c = colour_of(spk if spk in ("therapist", "client") else i)
        segs = [(s["start_s"], s["end_s"]) for s in doc.get("segments") or [] if s["speaker"] == spk]
        out.append(f"<h3>{escape(spk)}</h3>")
        missing = []
        if "f0_hz" in fr:
            speech = fr.get("is_speech")
            start, f0 = bin_series(fr["f0_hz"], n_bins=TIMELINE_BINS, mask=speech)
            if _drawable(f0):
                out.append(timeline((start + 0.5) * hop, f0, duration_s=duration, segments=segs, colour=c,
                                    label=f"{spk}: pitch (Hz) over the session, speech shaded", y_label="pitch Hz",
                                    y_fmt=lambda v: f"{v:.0f}", bookmarks=stored.bookmarks))
            else:
                missing.append("no pitch trace: " + ("no speech frame holds a pitch (no voiced speech)"
                                                     if not np.isfinite(f0).any() else
                                                     "a pitch in one stretch of the session only, too little to draw"))
        else:
            missing.append("no pitch trace: the frames hold no pitch column")
        if "rms_db" in fr:
            start, lv = bin_series(fr["rms_db"], n_bins=TIMELINE_BINS, how="mean")
            if _drawable(lv):
                out.append(timeline((start + 0.5) * hop, lv, duration_s=duration, segments=segs, colour=c,
                                    label=f"{spk}: level (dBFS) over the session, speech shaded", y_label="level dBFS",
                                    y_fmt=lambda v: f"{v:.0f}", bookmarks=stored.bookmarks, height=120))
            else:
                missing.append("no level trace: " + ("no frame holds a level" if not np.isfinite(lv).any() else
                                                     "a level in one stretch of the session only, too little to draw"))
        else:
            missing.append("no level trace: the frames hold no level column")
        if missing:
            out.append(f'<p class="muted">{escape(spk)}: {"; ".join(missing)}.</p>')
    return "".join(out)


def _turn_chart(doc, stored: StoredSession) -> str:
    lanes_ = [(spk, [(t["start_s"], t["end_s"]) for t in doc.get("turns") or [] if t["speaker"] == spk],
               [(s["start_s"], s["end_s"]) for s in doc.get("segments") or [] if s["speaker"] == spk])
              for spk in doc["speaker_order"]]
    events = [(e["kind"], e["speaker"], e["start_s"], e["end_s"]) for e in doc.get("events") or []]
    svg_ = lanes(duration_s=float(doc["duration_s"]), lanes_=lanes_, events=events, bookmarks=stored.bookmarks,
                 label="turn chart: turns (light), speech (dark), events (triangles), bookmarks (dashed)")
    tr = doc.get("transitions") or []
    n_ov = sum(1 for t in tr if t["kind"] == "overlap")
    legend = ('<p class="legend muted">'
              + "".join(f'<span><span class="sw" style="background:{c}"></span>{escape(k.replace("_", " "))}'
                        f' ({sum(1 for e in events if e[0] == k)})</span>'
                        for k, c in (("interruption", "#b8202f"), ("failed_interruption", "#e08a00"),
                                     ("backchannel", "#4b8b3b")))
              + f"<span>{len(tr)} speaker changes: {len(tr) - n_ov} gaps, {n_ov} overlaps</span></p>")
    return svg_ + legend


def _gap_plots(doc) -> str:
    out = []
    for i, spk in enumerate(doc["speaker_order"]):
        offs = [t["offset_s"] for t in doc.get("transitions") or [] if t["to_speaker"] == spk]
        c = colour_of(spk if spk in ("therapist", "client") else i)
        med = float(np.median(offs)) if offs else None
        out.append(f"<h3>before {escape(spk)} answers · {len(offs)} changes · median "
                   f"{escape(_fmt(med, '+.2f', 's'))}</h3>")
        if offs:
            out.append(histogram(offs, lo=GAP_RANGE_S[0], hi=GAP_RANGE_S[1], bin_w=GAP_BIN_S, colour=c,
                                 marker=med, x_label="floor transfer offset, s (negative: overlap)",
                                 label=f"distribution of gaps before {spk} answers"))
    return "".join(out)


def _window_x(windows) -> list[float]:
    return [(w.get("start_s", 0.0) + w.get("end_s", 0.0)) / 2 for w in windows]


def _warmth(measures) -> str:
    if not measures or not isinstance(measures.get("warmth"), dict):
        return '<p class="muted">No warmth measures in this session (analysed before the measures layer).</p>'
    w = measures["warmth"]
    # no score: no baseline named (a session with no therapist, an unattributed voice or the client alone, has
    # none; its note says why: hostile sweep 15)
    basis = " relative to the therapist's own baseline" if w.get("score") is not None else ""
    out = [f'<p><b>Warmth {escape(_fmt(w.get("score"), ".0f"))}</b> / 100{basis}. '
           f'{escape(w.get("note") if w.get("note") != measures.get("disclaimer") else "")}</p>']
    if w.get("score") is None and w.get("not_enough"):
        out.append(f'<p class="muted">{escape(str(w["not_enough"]))}.</p>')
    comps = w.get("components") or []
    if comps:
        rows = "".join(
            f'<tr><td>{_explained(warmth_plain(str(c.get("name"))).say(c.get("value")), c.get("direction") or "", warmth_plain(str(c.get("name"))).direction, c.get("source") or "")}</td>'
            f'<td class="n">{escape(_fmt(c.get("contribution"), ".1f"))}'
            f'{escape(" / " + format(c["weight"], ".1f")) if isinstance(c.get("weight"), (int, float)) else ""}</td>'
            f'<td class="component-id muted">{escape(str(c.get("name", "")))}</td></tr>'
            for c in comps)
        out.append('<table class="components"><tr><th>what (click for direction and source)</th>'
                   f'<th class="n">points</th><th>id</th></tr>{rows}</table>')
    windows = [x for x in measures.get("rolling") or [] if isinstance(x, dict)]
    scored = [x for x in windows if isinstance(x.get("warmth"), dict)]
    if len(scored) >= 2:
        xs = _window_x(scored)
        out.append("<h3>Rolling warmth</h3>")
        early = [x for x in scored if x["warmth"].get("score") is None and x["warmth"].get("not_enough")]
        if early:  # (the reason is the measures' own words: "not enough speech yet: ...")
            out.append(f'<p class="muted">{len(early)} of {len(scored)} windows show no warmth score (the first, '
                       f'to {escape(fmt_clock(float(early[0].get("end_s") or 0.0)))}: '
                       f'{escape(early[0]["warmth"]["not_enough"])}).</p>')
        if all(x["warmth"].get("score") is None for x in scored):
            # no window has a score: two empty charts (axes, legends, no line) said nothing more (walk-through)
            out.append('<p class="muted">No rolling warmth chart: no window of the session has a score.</p>')
            return "".join(out)
        out.append(lines(xs, [("warmth", [x["warmth"].get("score") for x in scored], "#1f6fb2")],
                         label="rolling warmth score over the session", y_label="0-100", y_range=(0, 100),
                         x_fmt=fmt_clock))
        names = [c.get("name") for c in comps if c.get("name")]
        series = []
        for j, name in enumerate(names):
            vals = []
            for x in scored:
                cc = next((c for c in x["warmth"].get("components") or [] if c.get("name") == name), None)
                vals.append(cc.get("contribution") if cc else None)
            series.append((warmth_plain(name).label, vals, ["#1f6fb2", "#c0572b", "#4b8b3b", "#7a4fa0", "#b8202f",
                                                          "#e08a00", "#2a9d8f", "#555"][j % 8]))
        if series:
            out.append("<h3>Rolling warmth components (contribution)</h3>")
            out.append(lines(xs, series, label="rolling warmth components: contribution of each over the session",
                             y_label="points", x_fmt=fmt_clock, height=220, points=False))
    return "".join(out)


def _att(kind: str, v) -> str:
    """An attunement figure in the rounding of `show`, `compare` and `trend` (``Metric.text``: the registry's unit);
    the table had three decimals where they have two (walk59)."""
    return measure_plain(f"attunement.{kind}").format(v)


def _attunement(measures) -> str:
    if not measures or not isinstance(measures.get("attunement"), dict):
        return '<p class="muted">No attunement measures in this session.</p>'
    a = measures["attunement"]
    rows = []
    for kind in ("proximity", "synchrony", "convergence"):
        for feat, v in (a.get(kind) or {}).items():
            if not isinstance(v, dict):
                continue
            val, lo, hi = v.get("value"), v.get("chance_low"), v.get("chance_high")
            within = (val is not None and lo is not None and hi is not None and lo <= val <= hi)
            reading = v.get("reading") or ("within chance" if within else "beyond chance" if val is not None else "")
            rows.append(f'<tr class="{"chance" if within else "beyond"}"><td>{escape(measure_plain(f"attunement.{kind}").label)}</td>'
                        f'<td>{escape(feature_word(feat))}</td>'
                        f'<td class="n">{escape(_att(kind, val))}</td>'
                        f'<td class="n">{escape(_att(kind, lo))} … {escape(_att(kind, hi))}</td>'
                        f'<td>{escape(reading)}</td></tr>')
    extra = a.get("arousal_coregulation")
    if isinstance(extra, dict):
        rows.append(f'<tr><td>{escape(measure_plain("attunement.arousal_coregulation").label)}</td><td>arousal</td>'
                    f'<td class="n">{escape(_att("arousal_coregulation", extra.get("value")))}</td>'
                    f'<td class="n">{escape(_att("arousal_coregulation", extra.get("chance_low")))} … '
                    f'{escape(_att("arousal_coregulation", extra.get("chance_high")))}</td>'
                    f'<td>{escape(extra.get("reading") or "")}</td></tr>')
    out = [f'<p>{escape(str(a.get("n_exchanges", "?")))} exchanges. {escape(a.get("note") or "")}</p>',
           '<table class="attunement"><tr><th>measure</th><th>feature</th><th class="n">value</th>'
           f'<th class="n">chance interval</th><th>reading</th></tr>{"".join(rows)}</table>']
    windows = [x for x in measures.get("rolling") or [] if isinstance(x, dict) and isinstance(x.get("attunement"),
                                                                                                dict)]
    if len(windows) >= 2:
        xs = _window_x(windows)
        for kind in ("proximity", "synchrony"):
            series, bands = [], []
            for feat, c in (("pitch", "#1f6fb2"), ("intensity", "#c0572b"), ("rate", "#4b8b3b")):
                cell = [((x["attunement"].get(kind) or {}).get(feat) or {}) for x in windows]
                series.append((feature_word(feat), [v.get("value") for v in cell], c))
                bands.append(([v.get("chance_low") for v in cell], [v.get("chance_high") for v in cell], c))
            out.append(f"<h3>Rolling {kind} (shaded: chance interval)</h3>")
            out.append(lines(xs, series, bands=bands, label=f"rolling attunement {kind} per feature with chance",
                             y_label=kind, x_fmt=fmt_clock, height=180))
    return "".join(out)


def _phases(measures, speakers, roles) -> str:
    phases = (measures or {}).get("phases")
    if not phases:
        return '<p class="muted">No phase measures in this session.</p>'
    items = list(phases.items()) if isinstance(phases, dict) else [(p.get("name") or p.get("phase"), p)
                                                                   for p in phases if isinstance(p, dict)]
    th = next((n for n, r in roles.items() if r == "therapist"), None)
    cl = next((n for n, r in roles.items() if r == "client"), None)
    if th is None and len(speakers) == 1:  # the client alone, or a voice left unattributed: its own figures,
        th, cl = speakers[0], None         # under its name (the headings said 'None: share of the talking')
    rows = []
    for name, p in items:
        t = (p.get("timing") or {}).get(th) or {} if th else {}
        tc = (p.get("timing") or {}).get(cl) or {} if cl else {}
        v = (p.get("voice") or {}).get(th) or {} if th else {}
        warmth = p.get("warmth", {}).get("score") if isinstance(p.get("warmth"), dict) else p.get("warmth")
        rows.append(f'<tr><td>{escape(str(name or ""))}</td>'
                    f'<td class="n">{fmt_clock(p.get("start_s") or 0)}–{fmt_clock(p.get("end_s") or 0)}</td>'
                    f'<td class="n">{escape(_fmt(warmth, ".0f"))}</td>'
                    f'<td class="n">{escape(_fmt(t.get("talk_share"), ".0f", "%", 100))}</td>'
                    f'<td class="n">{escape(_fmt(t.get("turns_per_min"), ".1f"))}</td>'
                    f'<td class="n">{escape(_fmt(t.get("gap_median_s"), "+.2f", "s"))}</td>'
                    + (f'<td class="n">{escape(_fmt(tc.get("gap_median_s"), "+.2f", "s"))}</td>' if cl else "") +
                    f'<td class="n">{escape(_fmt(v.get("f0_median_rel_st"), "+.1f", "st"))}</td>'
                    f'<td class="n">{escape(_fmt(v.get("articulation_rate_syl_s"), ".1f"))}</td></tr>')
    return ('<table class="phases"><tr><th>phase</th><th class="n">time</th><th class="n">warmth</th>'
            f'<th class="n">{_typed(th or "-")}: share of the talking</th>'
            f'<th class="n">{_typed(th or "-")}: turns per minute</th>'
            f'<th class="n">{_typed(th or "-")}: wait before answering</th>'
            # a session of one voice has no other's wait (its column was headed '-: wait before answering')
            + (f'<th class="n">{_typed(cl)}: wait before answering</th>' if cl else "") +
            f'<th class="n">{_typed(th or "-")}: pitch compared with own baseline</th>'
            f'<th class="n">{_typed(th or "-")}: pace while speaking (syll./s)</th>'
            f'</tr>{"".join(rows)}</table>')


VOICE_QUALITY_COLUMNS = (("jitter_local", "jitter (local)", ".2f", "%", 100.0),
                         ("shimmer_local", "shimmer (local)", ".1f", "%", 100.0),
                         ("hnr_db", "harmonics-to-noise", ".1f", "dB", 1.0),
                         ("cpps_db", "CPPS", ".1f", "dB", 1.0))


def _voice_quality(measures, speakers) -> str:
    """Jitter, shimmer, HNR and CPPS per speaker, for the session and each phase."""
    vq = (measures or {}).get("voice_quality")
    if not isinstance(vq, dict):
        return '<p class="muted">No voice-quality measures in this session (analysed before they existed).</p>'
    phases = [p for p in (measures.get("phases") or []) if isinstance(p, dict)] \
        if isinstance(measures.get("phases"), list) else []
    rows = []
    for spk in speakers:
        spans = [("session", vq.get(spk))] + [(str(p.get("name") or ""), (p.get("voice_quality") or {}).get(spk))
                                              for p in phases]
        for label, v in spans:
            v = v if isinstance(v, dict) else {}
            cells = "".join(f'<td class="n">{escape(_fmt(v.get(k), spec, unit, scale))}</td>'
                            for k, _, spec, unit, scale in VOICE_QUALITY_COLUMNS)
            rows.append(f'<tr><td>{_typed(spk)}</td><td>{escape(label)}</td>{cells}'
                        f'<td class="n">{escape(_fmt(v.get("n_voiced_frames"), ".0f"))}</td></tr>')
    head = "".join(f'<th class="n">{escape(t)}</th>' for _, t, *_ in VOICE_QUALITY_COLUMNS)
    return ('<p>Over voiced speech frames, with Praat\'s definitions (jitter and shimmer: cycle-to-cycle '
            'change of period and amplitude; harmonics-to-noise: periodic over aperiodic energy; CPPS: '
            'smoothed cepstral peak prominence). Descriptive: microphone, room and noise move them too, so '
            'compare sessions recorded alike.</p>'
            f'<table class="voice-quality"><tr><th>speaker</th><th>span</th>{head}'
            f'<th class="n">voiced frames</th></tr>{"".join(rows)}</table>')


def _bookmarks(stored: StoredSession, doc) -> str:
    out = []
    if stored.info.meta.notes:
        out.append(f'<p class="session-notes"><b>Notes.</b> {escape(stored.info.meta.notes)}</p>')
    if stored.bookmarks:
        rows = "".join(f'<tr><td class="n">{fmt_clock(b.time_s)}</td><td>{escape(b.note) or "–"}</td></tr>'
                       for b in stored.bookmarks)
        out.append(f'<table class="bookmarks"><tr><th class="n">time</th><th>note</th></tr>{rows}</table>')
    else:
        out.append('<p class="muted">No bookmarks.</p>')
    if doc.get("sources"):
        out.append(f'<p class="muted">Analysed from: {escape(", ".join(doc["sources"]))}</p>')
    return "".join(out)


def _feedback(stored: StoredSession) -> str:
    if not stored.feedback:
        return ('<p class="muted">No client feedback recorded. After the session: '
                "<code>prosody feedback SESSION --srs 9,8,9,10</code> or <code>--rating 4</code>.</p>")
    out = []
    for f in stored.feedback:
        if f.kind == "srs":
            items = "".join(f"<tr><td>{escape(n)}</td><td class='n'>{v}/10</td></tr>" for n, v in zip(SRS_ITEMS, f.items))
            out.append(f"<p>Session Rating Scale (Duncan et al. 2003), given {escape(f.given_at.replace('T', ' '))}: "
                       f"<b>{f.total}/40</b></p><table>{items}</table>")
        else:
            out.append(f"<p>Rating, given {escape(f.given_at.replace('T', ' '))}: <b>{f.total}/5</b></p>")
    return "".join(out)


def _definitions(measures) -> str:
    rows = "".join(f"<tr><td>{escape(label)}</td><td>{escape(unit)}</td><td>{escape(d)}</td><td>{escape(src)}</td></tr>"
                   for label, unit, d, src in SPEAKER_DEFINITIONS.values())
    rows += "".join(f"<tr><td>{escape(n)}</td><td></td><td>{escape(d)}</td><td>{escape(s)}</td></tr>"
                    for n, d, s in MEASURE_DEFINITIONS)
    for c in ((measures or {}).get("warmth") or {}).get("components") or []:
        rows += (f'<tr><td>warmth: {escape(warmth_plain(str(c.get("name", ""))).label)}</td>'
                 f'<td>{escape(c.get("unit") or "")}</td><td>{escape(c.get("direction") or "")}</td>'
                 f'<td>{escape(c.get("source") or "")}</td></tr>')
    return (f'<table class="definitions"><tr><th>measure</th><th>unit</th><th>definition</th><th>source</th></tr>'
            f'{rows}</table><p class="muted">Times are seconds from the start of the recording on a 10 ms frame '
            "grid. Full definitions: docs/session-schema.md and docs/measures.md in prosody.</p>")


# -- several sessions ---------------------------------------------------------------------------------------------
def session_label(info: SessionInfo) -> str:
    # a session saved without a date is said to have none (it was labelled with the day it was saved, while
    # every listing puts it after the dated ones: see SessionStore.list)
    when = info.meta.recorded_at[:10] if info.meta.recorded_at else "(no date)"
    return f"#{info.id} {when}"


def _chart_labels(infos: list[SessionInfo]) -> dict[int, str]:
    """The trend charts' x labels (1-based position -> text): each session's month and day (``10-01``), with the
    year (``2026-10-01``) where the sessions shown lie in more than one year (a 1969 session read "12-31" before
    one of "10-01" 2026, and ten years of sessions repeated "01-01"; hostile sweep 19); ``#ID`` when undated."""
    days = [(i.meta.recorded_at or "")[:10] for i in infos]
    years = {d[:4] for d in days if d}
    cut = 0 if len(years) > 1 else 5
    return {x: d[cut:] if d else f"#{i.id}" for x, (d, i) in enumerate(zip(days, infos), start=1)}


PROFILE_MARK = "†"
PROFILE_PAGE_NOTE = (f"{PROFILE_MARK} Warmth relative to a personal baseline profile (analyze --baseline), not to the "
                     "session's own: set it beside sessions of the same profile only (the charts draw it apart).")


UNATTRIBUTED_NOTE = (f"A session whose speakers read {UNATTRIBUTED!r}: who spoke when is unsure there, so it has no "
                     "therapist's or client's figures.")


def _layouts_sentence(infos, metrics) -> str:
    """``layouts_note`` as a sentence of the page ('' where the sessions' layouts are alike)."""
    note = layouts_note([i.id for i in infos], metrics)
    return f" {escape(note[0].upper() + note[1:])}." if note else ""


def compare_report(infos: list[SessionInfo], metrics: dict[int, dict], *, title: str,
                   generated_at: str | None = None, notes: dict | None = None) -> str:
    """Sessions side by side (columns) with every ``COMPARE_METRICS`` row and,
    for two or more sessions, a chart per ``TREND_PLOTS`` group over them in
    order; client feedback alongside."""
    profile = [i.id for i in infos if metrics[i.id].get("warmth.profile")]  # `analyze --baseline`: another scale
    body = [f"<h1>{escape(title)}</h1>",
            f'<p class="sub">{len(infos)} sessions · '
            f'{escape(", ".join(sorted({i.meta.therapist for i in infos if i.meta.therapist})) or "therapist not set")}'
            "</p>", f'<p class="disclaimer">{escape(DISCLAIMER)}</p>',
            _section("table", "Measures by session",
                     f'<table class="compare">{"".join(_compare_rows(infos, metrics))}</table>'
                     '<p class="muted">Attunement in grey lies within its chance interval (shuffled partner turns); '
                     "bold lies beyond it. Higher synchrony is not better."
                     + (f" {escape(UNATTRIBUTED_NOTE)}" if any(UNATTRIBUTED in i.speakers for i in infos) else "")
                     + (f" {escape(PROFILE_PAGE_NOTE)}" if profile else "")
                     + _layouts_sentence(infos, metrics)
                     + "</p>")]
    if len(infos) >= 2:
        body.append(_section("trend", "Across sessions", _compare_charts(infos, metrics, profile)))
    body.append(_section("feedback", "Client feedback and notes", _feedback_table(infos, notes or {})))
    defs = "".join(f"<tr><td>{escape(n)}</td><td>{escape(d)}</td><td>{escape(s)}</td></tr>"
                   for n, d, s in MEASURE_DEFINITIONS)
    defs += "".join(f"<tr><td>{escape(label)}</td><td>{escape(d)}</td><td>{escape(src)}</td></tr>"
                    for label, _, d, src in SPEAKER_DEFINITIONS.values())
    body.append(_section("definitions", "Definitions and sources",
                         f'<table class="definitions"><tr><th>measure</th><th>definition</th><th>source</th></tr>'
                         f"{defs}</table>"))
    return _page(title, "".join(body), generated_at=generated_at)


def _compare_rows(infos: list[SessionInfo], metrics: dict[int, dict]) -> list[str]:
    """The comparison table's rows: its head, the sessions' details, each measure any session holds (attunement
    marked within or beyond its chance interval, warmth on a baseline profile marked), the moments per kind."""
    present = [m for m in COMPARE_METRICS if any(metrics[i.id].get(m.key) is not None for i in infos)]
    head = ("<tr><th>measure</th>" + "".join(f'<th class="n">{escape(session_label(i))}</th>' for i in infos)
            + "</tr>")
    meta_rows = [("therapist", [i.meta.therapist or "–" for i in infos]),
                 ("client", [i.meta.client or "–" for i in infos]),
                 ("session no.", ["–" if i.meta.session_number is None else str(i.meta.session_number)
                                  for i in infos]),
                 ("speakers", [", ".join(i.speakers) or "–" for i in infos])]
    rows = [head] + [f"<tr><td>{escape(k)}</td>" + "".join(f'<td class="n">{_typed(v)}</td>' for v in vals)
                     + "</tr>" for k, vals in meta_rows]
    for m in present:
        cells = "".join(_compare_cell(m, metrics[i.id]) for i in infos)
        p = metric_plain(m.key)
        label = (_explained(m.row_label, p.definition, p.direction, p.source) if p.label != m.key
                 else escape(m.row_label))
        rows.append(f'<tr data-key="{escape(m.key)}"><td>{label}</td>{cells}</tr>')
    from ..moments import KINDS
    for kind in KINDS:  # moments to review per kind, when counted (prosody moments)
        vals = [metrics[i.id].get(f"moments.{kind}") for i in infos]
        if any(vals):
            rows.append(f'<tr data-key="moments.{kind}"><td>{escape(metric_plain(f"moments.{kind}").label)}</td>'
                        + "".join(f'<td class="n">{"–" if v is None else int(v)}</td>' for v in vals) + "</tr>")
    return rows


def _compare_cell(m, values: dict) -> str:
    """One session's cell of measure ``m``: attunement in grey within its chance interval, bold beyond it; warmth
    relative to a baseline profile marked."""
    v = values.get(m.key)
    cls = ""
    if m.group == "attunement" and v is not None:
        base = m.key.rsplit(".", 1)[0]
        lo, hi = values.get(base + ".chance_low"), values.get(base + ".chance_high")
        if lo is not None and hi is not None:
            cls = " chance" if lo <= v <= hi else " beyond"
    profiled = m.key == "warmth.score" and v is not None and values.get("warmth.profile")
    return f'<td class="n{cls}">{escape(m.text(values))}{PROFILE_MARK if profiled else ""}</td>'


def _compare_charts(infos: list[SessionInfo], metrics: dict[int, dict], profile: list[int]) -> str:
    """A chart per ``TREND_PLOTS`` group over the sessions in order (warmth on a baseline profile drawn apart),
    and a line naming the groups no session holds."""
    xs = list(range(1, len(infos) + 1))
    labels = _chart_labels(infos)
    # at most 11 labels, or 8 where they carry the year (10 characters: more collided)
    most = 8 if max(map(len, labels.values())) > 6 else 11
    step = max(1, len(infos) // 10, -(-len(infos) // most))
    ticks = [x for x in xs if (x - 1) % step == 0]
    charts, empty = [], []
    for name, keys, y_range in TREND_PLOTS:
        keys = [k for k in keys if any(metrics[i.id].get(k) is not None for i in infos)]
        if not keys:  # a chart left out was left out without a word (sessions of silence: all but one)
            empty.append(name)
            continue
        colours = ["#1f6fb2", "#c0572b", "#4b8b3b", "#7a4fa0"]
        series = [(METRICS_BY_KEY[k].label, [None if metrics[i.id].get(k) is None
                                             else metrics[i.id][k] * METRICS_BY_KEY[k].scale for i in infos],
                   colours[j % 4]) for j, k in enumerate(keys)]
        if keys == ["warmth.score"] and profile:  # two scales, two lines: never one line across both
            _, own, c = series[0]
            series = [(name, vals, colour) for name, vals, colour in (
                ("warmth (own baseline)", [None if i.id in profile else v for i, v in zip(infos, own)], c),
                (f"warmth ({PROFILE_MARK} baseline profile)",
                 [v if i.id in profile else None for i, v in zip(infos, own)], colours[1]))
                if any(v is not None for v in vals)]  # a kind no session has: no empty legend entry
        charts.append(f"<h3>{escape(name)}</h3>")
        charts.append(lines(xs, series, label=f"{name} across sessions", y_label="", x_ticks=ticks,
                            x_fmt=lambda x, labels=labels: labels.get(int(x), ""), height=160,
                            y_range=y_range))
    if empty:
        charts.append(f'<p class="muted">No chart of {escape("; ".join(empty))}: none of these '
                      f'{len(infos)} sessions holds {"that measure" if len(empty) == 1 else "those measures"}.</p>')
    return "".join(charts)


def _feedback_table(infos: list[SessionInfo], notes: dict) -> str:
    """Each session's client feedback (SRS total, rating), its notes and the supervisor's notes."""
    def sup(i) -> str:
        return "<br>".join(f"{fmt_clock(n.time_s)} {escape(n.text)}" + (f" ({escape(n.author)})" if n.author else "")
                           for n in notes.get(i.id, ()))
    fb_rows = "".join(f"<tr><td>{escape(session_label(i))}</td><td class='n'>{'–' if i.srs_total is None else i.srs_total}"
                      f"</td><td class='n'>{'–' if i.rating is None else i.rating}</td>"
                      f"<td>{escape(i.meta.notes)}</td><td class='supervisor-notes'>{sup(i)}</td></tr>" for i in infos)
    return ('<table class="feedback"><tr><th>session</th><th class="n">SRS (0-40)</th>'
            f'<th class="n">rating (1-5)</th><th>notes</th><th>supervisor notes</th></tr>{fb_rows}</table>')
