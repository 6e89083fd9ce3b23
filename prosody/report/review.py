"""The report's review parts: moments to review (a list that marks a timeline),
optional audio clips of them, and supervisor notes. Pure: HTML text out
(clips are cut and encoded by ``make_clips`` before).

Everything a person typed (notes, bookmarks) is escaped with ``report.text.html_safe``.
"""
from __future__ import annotations


from .text import html_safe as escape
from ..moments import KIND_LABELS, Moment, numbers_text
from .wording import fmt_clock

KIND_COLOURS = {"interruption": "#b8202f", "monologue": "#7a4fa0", "silence": "#555", "quick_answers": "#e08a00",
                "warmth_dip": "#1f6fb2", "warmth_rise": "#4b8b3b", "cue": "#c0572b", "bookmark": "#2a9d8f",
                "note": "#7a5a00"}
CLIP_WARNING = ("This page holds audio clips of the session: the client's voice. Keep it as private as the "
                "recording itself (the file is readable by you only); do not send or upload it.")


def make_clips(doc: dict, ms: list[Moment], *, fmt: str = "opus", context_s: float = 3.0):
    """``{rank: (data URI, start_s, end_s)}`` of each moment's clip, or (None, why)
    when the session's audio is not at hand (moved, changed, never referenced)."""
    from ..clips import clip_span, data_uri, encode_clip, locate
    audio, why = locate(doc)
    if audio is None:
        return None, why
    out = {}
    for m in ms:
        a, b = clip_span(m.start_s, m.end_s, duration_s=float(doc["duration_s"]), context_s=context_s)
        x = audio.listen(a, b)
        out[m.rank] = (data_uri(encode_clip(x, audio.sample_rate, fmt), fmt), a, b)
    return out, ""


def _strip(ms: list[Moment], duration_s: float, width: int = 960, height: int = 46) -> str:
    """A timeline of the session with each moment marked by its rank."""
    d = max(duration_s, 1e-3)
    left, right = 10, 10
    span = width - left - right

    def x(t):
        return left + span * min(max(t / d, 0.0), 1.0)

    parts = [f'<svg class="plot moments-timeline" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="moments to review on the session timeline">',
             f'<line x1="{left}" x2="{width - right}" y1="30" y2="30" stroke="#bbb" stroke-width="2"/>']
    n_ticks = 6
    for k in range(n_ticks + 1):
        t = d * k / n_ticks
        parts.append(f'<text x="{x(t):.1f}" y="44" font-size="10" text-anchor="middle">{fmt_clock(t)}</text>')
    for m in sorted(ms, key=lambda m: -m.rank):
        c = KIND_COLOURS.get(m.kind, "#333")
        x0, x1 = x(m.start_s), max(x(m.end_s), x(m.start_s) + 3)
        parts.append(f'<a href="#moment-{m.rank}"><rect class="moment-mark" data-rank="{m.rank}" x="{x0:.1f}" y="24" '
                     f'width="{x1 - x0:.1f}" height="12" fill="{c}" opacity="0.8"><title>{m.rank}: '
                     f'{escape(KIND_LABELS.get(m.kind, m.kind))} at {fmt_clock(m.start_s)}</title></rect>'
                     f'<text x="{x0:.1f}" y="18" font-size="11" text-anchor="middle">{m.rank}</text></a>')
    parts.append("</svg>")
    return "".join(parts)


def moments_section(stored, ms: list[Moment], *, clips: dict | None = None) -> tuple[str, str, str]:
    """``(id, title, inner HTML)`` of the "Moments to review" section."""
    doc = stored.doc
    out = []
    if clips:
        out.append(f'<p class="disclaimer clip-warning"><b>Client audio.</b> {escape(CLIP_WARNING)}</p>')
    if not ms:
        out.append('<p class="muted">Nothing stood out by the current rules. '
                   "<code>prosody moments SESSION</code> with other weights finds more (docs/moments.md).</p>")
        return "moments", "Moments to review", "".join(out)
    out.append(f'<p>{len(ms)} moment{"" if len(ms) == 1 else "s"}, best first, picked and ranked by the rules in docs/moments.md. '
               f"Hear one: <code>prosody play {stored.info.id} RANK</code>.</p>")
    out.append(_strip(ms, float(doc["duration_s"])))
    items = []
    for m in ms:
        span = fmt_clock(m.start_s) + (f"–{fmt_clock(m.end_s)}" if m.end_s - m.start_s >= 1.0 else "")
        nums = escape(numbers_text(m.numbers))
        clip = ""
        if clips and m.rank in clips:
            uri, a, b = clips[m.rank]
            clip = (f'<div class="clip"><audio controls preload="auto" src="{uri}" data-start="{a:.3f}" '
                    f'data-end="{b:.3f}"></audio> <span class="muted">{fmt_clock(a)}–{fmt_clock(b)}</span></div>')
        c = KIND_COLOURS.get(m.kind, "#333")
        items.append(f'<li id="moment-{m.rank}" class="moment" data-kind="{escape(m.kind)}" '
                     f'data-start="{m.start_s:.3f}" data-end="{m.end_s:.3f}">'
                     f'<b>{span}</b> <span class="sw" style="background:{c}"></span>'
                     f'{escape(KIND_LABELS.get(m.kind, m.kind))}: {escape(m.what)}{clip}'
                     f'<details><summary>why this moment</summary>{escape(m.why)}'
                     f'{"<br>" + nums if nums else ""}</details></li>')
    out.append(f'<ol class="moments">{"".join(items)}</ol>')
    return "moments", "Moments to review", "".join(out)


def notes_html(notes) -> str:
    """Supervisor notes as a table (escaped)."""
    if not notes:
        return ('<p class="muted">No supervisor notes. Add one: <code>prosody note SESSION --at 12:30 '
                "\"...\"</code>.</p>")
    rows = "".join(
        f'<tr><td class="n">{fmt_clock(n.time_s)}{"–" + fmt_clock(n.end_s) if n.end_s is not None else ""}</td>'
        f"<td>{escape(n.text)}</td><td>{escape(n.author)}</td><td>{escape(n.moment)}</td></tr>" for n in notes)
    return ('<h3>Supervisor notes</h3><table class="supervisor-notes"><tr><th class="n">time</th><th>note</th>'
            f"<th>by</th><th>on</th></tr>{rows}</table>")


__all__ = ["CLIP_WARNING", "make_clips", "moments_section", "notes_html"]
