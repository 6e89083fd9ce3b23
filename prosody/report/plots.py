"""Hand-written inline SVG plots for the HTML reports. Pure: data in, SVG text out.

No plotting library: the report must be one self-contained file that makes no
network request, and a few hundred lines of SVG are smaller and more
predictable than a dependency. Every plot has a ``<title>`` and an
``aria-label`` (readable by screen readers, and checked by the browser test).
Coordinates are in SVG user units; the plots scale to the page width.
"""
from __future__ import annotations

import math

import numpy as np

from .text import html_safe as escape  # typed text (names, notes) as everywhere on the page
from .wording import fmt_clock  # the report's one clock (it read -1:59 for -1 s here)

WIDTH = 960
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 56, 24, 10, 26
PALETTE = {"therapist": "#1f6fb2", "client": "#c0572b", 0: "#1f6fb2", 1: "#c0572b", 2: "#4b8b3b", 3: "#7a4fa0"}
EVENT_COLOURS = {"interruption": "#b8202f", "failed_interruption": "#e08a00", "backchannel": "#4b8b3b"}


def colour_of(name_or_index) -> str:
    return PALETTE.get(name_or_index, PALETTE[hash(str(name_or_index)) % 4])


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _time_ticks(duration_s: float) -> list[float]:
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
    step = next((s for s in steps if duration_s / s <= 10), 3600)
    return [i * step for i in range(int(duration_s // step) + 1)]


class Frame:
    """Plot area of ``height`` with x in [x0, x1] (data units) and y in [y0, y1]."""

    def __init__(self, *, x0: float, x1: float, y0: float, y1: float, height: int, width: int = WIDTH):
        # an empty span widened by 1, or by its own size where +1 is lost to rounding (values of 1e30 in
        # imported frames: y0 + 1 == y0, and y() divided by zero)
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + max(1.0, abs(x0))
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + max(1.0, abs(y0))
        self.width, self.height = width, height
        self.pw = width - MARGIN_L - MARGIN_R
        self.ph = height - MARGIN_T - MARGIN_B

    def x(self, v: float) -> float:
        return MARGIN_L + (v - self.x0) / (self.x1 - self.x0) * self.pw

    def y(self, v: float) -> float:
        return MARGIN_T + (1 - (v - self.y0) / (self.y1 - self.y0)) * self.ph

    def axes(self, *, x_ticks, x_fmt, y_ticks=(), y_fmt=str, y_label: str = "") -> str:
        parts = [f'<rect class="plot-bg" x="{MARGIN_L}" y="{MARGIN_T}" width="{_f(self.pw)}" height="{_f(self.ph)}" '
                 'fill="#fafafa" stroke="#ccc"/>']
        for t in x_ticks:
            x = self.x(t)
            parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{MARGIN_T}" y2="{_f(MARGIN_T + self.ph)}" '
                         'stroke="#e4e4e4"/>')
            text = x_fmt(t)
            # a label wider than the margin beside it ends at its tick: a trend's last date, "2027-06-01", was cut
            # to "2027-06-0" at the right edge (11 px sans-serif: about 6.2 px a character; hostile sweep 19)
            anchor = "end" if len(text) * 3.1 > self.width - x else "middle"
            parts.append(f'<text x="{_f(x)}" y="{self.height - 8}" text-anchor="{anchor}">{escape(text)}</text>')
        for t in y_ticks:
            y = self.y(t)
            parts.append(f'<line x1="{MARGIN_L}" x2="{_f(MARGIN_L + self.pw)}" y1="{_f(y)}" y2="{_f(y)}" '
                         'stroke="#e4e4e4"/>')
            parts.append(f'<text x="{MARGIN_L - 4}" y="{_f(y + 4)}" text-anchor="end">{escape(y_fmt(t))}</text>')
        if y_label:
            parts.append(f'<text x="12" y="{_f(MARGIN_T + self.ph / 2)}" text-anchor="middle" '
                         f'transform="rotate(-90 12 {_f(MARGIN_T + self.ph / 2)})">{escape(y_label)}</text>')
        return "".join(parts)


def svg(body: str, *, height: int, label: str, cls: str, width: int = WIDTH) -> str:
    return (f'<svg class="plot {escape(cls)}" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
            f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">'
            f'<title>{escape(label)}</title>{body}</svg>')


def _path(fr: Frame, xs, ys) -> str:
    """SVG path through finite points; NaN breaks the line."""
    d, pen = [], False
    for x, y in zip(xs, ys):
        if y is None or not math.isfinite(y):
            pen = False
            continue
        d.append(f"{'L' if pen else 'M'}{_f(fr.x(x))} {_f(fr.y(y))}")
        pen = True
    return " ".join(d)


def bin_series(values: np.ndarray, *, n_bins: int, how: str = "median", mask: np.ndarray | None = None):
    """Reduce a per-frame array (shape (n_frames,)) to ``n_bins`` values over equal
    stretches of frames (NaN and masked-out frames ignored; NaN where none is left).
    Returns (bin_start_frame, values), both shape (n_bins,)."""
    n = len(values)
    n_bins = max(1, min(n_bins, n))
    edges = np.linspace(0, n, n_bins + 1).astype(int)
    v = values.astype(np.float64)
    if mask is not None:
        v = np.where(mask, v, np.nan)
    out = np.full(n_bins, np.nan)
    for i in range(n_bins):
        chunk = v[edges[i]:edges[i + 1]]
        chunk = chunk[np.isfinite(chunk)]
        if len(chunk):
            out[i] = np.median(chunk) if how == "median" else np.mean(chunk)
    return edges[:-1], out


def timeline(t_s: np.ndarray, values: np.ndarray, *, duration_s: float, segments, label: str, y_label: str,
             colour: str, y_fmt=lambda v: f"{v:g}", bookmarks=(), height: int = 150, y_range=None) -> str:
    """A per-speaker trace over the session: ``values`` (shape (n,)) at times
    ``t_s`` (s), NaN gaps; ``segments`` [(start_s, end_s)] shaded behind it."""
    finite = values[np.isfinite(values)]
    if y_range is None:
        if len(finite):
            lo, hi = np.percentile(finite, [1, 99])
            pad = max((hi - lo) * 0.15, 1.0)
            y_range = (float(lo - pad), float(hi + pad))
        else:
            y_range = (0.0, 1.0)
    fr = Frame(x0=0.0, x1=max(duration_s, 1e-3), y0=y_range[0], y1=y_range[1], height=height)
    parts = [fr.axes(x_ticks=_time_ticks(duration_s), x_fmt=fmt_clock,
                     y_ticks=nice_ticks(*y_range, 4), y_fmt=y_fmt, y_label=y_label)]
    for s, e in segments:
        parts.append(f'<rect class="speech" x="{_f(fr.x(s))}" y="{MARGIN_T}" width="{_f(max(fr.x(e) - fr.x(s), 0.5))}" '
                     f'height="{_f(fr.ph)}" fill="{colour}" fill-opacity="0.10"/>')
    parts.append(f'<path class="trace" d="{_path(fr, t_s, values)}" fill="none" stroke="{colour}" '
                 'stroke-width="1.4" stroke-linejoin="round"/>')
    parts += _bookmark_lines(fr, bookmarks)
    return svg("".join(parts), height=height, label=label, cls="timeline")


def _bookmark_lines(fr: Frame, bookmarks) -> list[str]:
    out = []
    for b in bookmarks:
        x = _f(fr.x(b.time_s))
        out.append(f'<line class="bookmark" x1="{x}" x2="{x}" y1="{MARGIN_T}" y2="{_f(MARGIN_T + fr.ph)}" '
                   f'stroke="#7a4fa0" stroke-dasharray="3 2"><title>{escape(fmt_clock(b.time_s))} '
                   f'{escape(b.note)}</title></line>')
    return out


def lanes(*, duration_s: float, lanes_, events=(), bookmarks=(), label: str) -> str:
    """Turn chart: one lane per speaker. ``lanes_``: [(name, turns [(s, e)],
    segments [(s, e)])]; turns drawn light, speech segments dark on top.
    ``events``: [(kind, speaker, start_s, end_s)] marked on the producer's lane."""
    lane_h = 30
    height = MARGIN_T + MARGIN_B + lane_h * len(lanes_) + 8
    fr = Frame(x0=0.0, x1=max(duration_s, 1e-3), y0=0, y1=1, height=height)
    parts = [fr.axes(x_ticks=_time_ticks(duration_s), x_fmt=fmt_clock)]
    index = {name: i for i, (name, _, _) in enumerate(lanes_)}
    for i, (name, turns, segments) in enumerate(lanes_):
        y = MARGIN_T + 4 + i * lane_h
        c = colour_of(name if name in PALETTE else i)
        parts.append(f'<text x="{MARGIN_L - 4}" y="{y + lane_h / 2 + 3}" text-anchor="end">{escape(name)}</text>')
        for s, e in turns:
            parts.append(f'<rect class="turn" x="{_f(fr.x(s))}" y="{y}" width="{_f(max(fr.x(e) - fr.x(s), 0.5))}" '
                         f'height="{lane_h - 6}" fill="{c}" fill-opacity="0.22"/>')
        for s, e in segments:
            parts.append(f'<rect class="segment" x="{_f(fr.x(s))}" y="{y + 5}" '
                         f'width="{_f(max(fr.x(e) - fr.x(s), 0.5))}" height="{lane_h - 16}" fill="{c}"/>')
    for kind, speaker, s, e in events:
        i = index.get(speaker)
        if i is None:
            continue
        y = MARGIN_T + 4 + i * lane_h
        c = EVENT_COLOURS.get(kind, "#333")
        x = fr.x(s)
        parts.append(f'<path class="event {escape(kind)}" d="M{_f(x)} {y - 1} l4 -6 h-8 z" fill="{c}">'
                     f'<title>{escape(kind.replace("_", " "))} by {escape(speaker)} at {fmt_clock(s)}</title></path>')
    parts += _bookmark_lines(fr, bookmarks)
    return svg("".join(parts), height=height, label=label, cls="lanes")


def histogram(values, *, lo: float, hi: float, bin_w: float, colour: str, label: str, x_label: str,
              marker: float | None = None, height: int = 150) -> str:
    """Counts of ``values`` in bins of ``bin_w`` over [lo, hi]; values outside
    are counted in the end bins. ``marker``: a vertical line (e.g. the median)."""
    edges = np.arange(lo, hi + bin_w / 2, bin_w)
    v = np.clip(np.asarray(values, dtype=float), lo, hi - 1e-9)
    counts, _ = np.histogram(v, bins=edges)
    top = max(1, int(counts.max()) if len(counts) else 1)
    fr = Frame(x0=lo, x1=hi, y0=0, y1=top * 1.1, height=height)
    parts = [fr.axes(x_ticks=nice_ticks(lo, hi, 8), x_fmt=lambda t: f"{t:+g}" if t else "0",
                     y_ticks=[t for t in nice_ticks(0, top, 3) if t == int(t)], y_fmt=lambda t: f"{t:g}",
                     y_label="count")]
    for c, e0 in zip(counts, edges[:-1]):
        if c:
            parts.append(f'<rect class="bar" x="{_f(fr.x(e0) + 1)}" y="{_f(fr.y(c))}" '
                         f'width="{_f(fr.x(e0 + bin_w) - fr.x(e0) - 2)}" height="{_f(fr.y(0) - fr.y(c))}" '
                         f'fill="{colour}"><title>{e0:+.2f} to {e0 + bin_w:+.2f} s: {c}</title></rect>')
    if 0 > lo and 0 < hi:
        parts.append(f'<line x1="{_f(fr.x(0))}" x2="{_f(fr.x(0))}" y1="{MARGIN_T}" y2="{_f(fr.y(0))}" stroke="#888"/>')
    if marker is not None and math.isfinite(marker):
        x = _f(fr.x(min(max(marker, lo), hi)))
        parts.append(f'<line class="median" x1="{x}" x2="{x}" y1="{MARGIN_T}" y2="{_f(fr.y(0))}" stroke="#222" '
                     f'stroke-dasharray="4 2"><title>median {marker:+.2f} s</title></line>')
    parts.append(f'<text x="{_f(MARGIN_L + fr.pw)}" y="{MARGIN_T + 12}" text-anchor="end">{escape(x_label)}</text>')
    return svg("".join(parts), height=height, label=label, cls="histogram")


def lines(xs, series, *, label: str, y_label: str, x_fmt=None, x_ticks=None, y_range=None, bands=(),
          height: int = 170, points: bool = True) -> str:
    """Line chart: ``series`` [(name, values, colour)] over ``xs`` (numbers; None
    values break the line). ``bands``: [(lows, highs, colour)] shaded intervals
    (e.g. a chance interval)."""
    xs = [float(x) for x in xs]
    allv = [v for _, vals, _ in series for v in vals if v is not None and math.isfinite(v)]
    allv += [v for lo, hi, _ in bands for v in (*lo, *hi) if v is not None and math.isfinite(v)]
    if y_range is None:
        if allv:
            lo, hi = min(allv), max(allv)
            pad = (hi - lo) * 0.1 or 1.0
            y_range = (lo - pad, hi + pad)
        else:
            y_range = (0.0, 1.0)
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    fr = Frame(x0=x0, x1=x1, y0=y_range[0], y1=y_range[1], height=height)
    x_fmt = x_fmt or (lambda t: f"{t:g}")
    parts = [fr.axes(x_ticks=x_ticks if x_ticks is not None else nice_ticks(x0, x1, 8), x_fmt=x_fmt,
                     y_ticks=nice_ticks(*y_range, 4), y_fmt=lambda t: f"{t:g}", y_label=y_label)]
    for lows, highs, c in bands:
        pts = [(x, lo_, hi_) for x, lo_, hi_ in zip(xs, lows, highs) if lo_ is not None and hi_ is not None]
        if len(pts) >= 2:
            d = "M" + " L".join(f"{_f(fr.x(x))} {_f(fr.y(h))}" for x, _, h in pts)
            d += " L" + " L".join(f"{_f(fr.x(x))} {_f(fr.y(lo_))}" for x, lo_, _ in reversed(pts)) + " Z"
            parts.append(f'<path class="band" d="{d}" fill="{c}" fill-opacity="0.15" stroke="none"/>')
    for name, vals, c in series:
        vals = [None if v is None else float(v) for v in vals]
        parts.append(f'<path class="series" d="{_path(fr, xs, [math.nan if v is None else v for v in vals])}" '
                     f'fill="none" stroke="{c}" stroke-width="1.6"><title>{escape(name)}</title></path>')
        if points:
            for x, v in zip(xs, vals):
                if v is not None and math.isfinite(v):
                    parts.append(f'<circle cx="{_f(fr.x(x))}" cy="{_f(fr.y(v))}" r="2.4" fill="{c}">'
                                 f'<title>{escape(name)}: {v:g}</title></circle>')
    legend_x = MARGIN_L + 6
    for name, _, c in series:
        parts.append(f'<rect x="{legend_x}" y="{MARGIN_T + 5}" width="10" height="3" fill="{c}"/>'
                     f'<text x="{legend_x + 14}" y="{MARGIN_T + 10}">{escape(name)}</text>')
        legend_x += 22 + 6.5 * len(name)
    return svg("".join(parts), height=height, label=label, cls="lines")
