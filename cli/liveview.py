"""Live state -> terminal renderable (``live_view``) or one plain line
(``plain_line``). Pure: no audio, no threads, no printing.

Fits 80x24. Colours only mark the two speakers (cyan, magenta) and alarms
(red); everything else is bold/dim, so a light or a dark theme reads the same.
Provisional numbers (level meters, who is speaking now) are labelled apart
from the final ones (everything the pipeline has decided, ~0.7 s behind).
"""
from __future__ import annotations

import math

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.text import Text

from prosody.report.text import terminal_safe

from prosody.live.runner import LiveState
from prosody.measures import RollingWindow
from prosody.report.wording import WARMTH_SHORT as WORDING_SHORT
from prosody.report.wording import feature_word
from prosody.timebase import GRID, stopwatch_text

SPEAKER_STYLES = ("cyan", "magenta")
METER_LO_DB, METER_HI_DB = -70.0, -10.0
TRACE_RANGE_ST = 8.0        # pitch trace spans +-8 semitones around the speaker's median
TRACE_ROWS = 2              # text rows per speaker (4 braille dots each)
TRACE_S = 30.0             # the pitch trace shows the last 30 s
LABEL_W = 11
KEYS = "q save+quit · b bookmark · n bookmark+note · p pause"
_BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))  # [column][row from top]


def live_view(state: LiveState, *, keys: str | None = KEYS, note_input: str | None = None):
    """A renderable that lays itself out for the console's width.
    ``note_input``: the bookmark note being typed (shown in place of the keys)."""
    return _LiveView(state, keys, note_input)


class _LiveView:
    def __init__(self, state: LiveState, keys: str | None, note_input: str | None):
        self.state, self.keys, self.note_input = state, keys, note_input

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width)
        yield Group(*fit(_blocks(self.state, max(40, width), self.keys, self.note_input), width,
                         options.height or options.max_height))


# what a short terminal keeps longest (fit): the cues, then the header (time, PAUSED, SAVE FAILED) and the
# errors, the keys line (or the note being typed), the turn-taking and warmth, capture health, the meters
# "now", and the pitch trace first to go
KEEP_CUES, KEEP_HEADER, KEEP_KEYS, KEEP_ROLLING, KEEP_TURNS, KEEP_HEALTH, KEEP_NOW, KEEP_PITCH = 8, 7, 6, 5, 4, 3, 2, 1


def fit(blocks: list[tuple[int, list]], width: int, height: int | None) -> list:
    """The lines of ``blocks`` ((rank, lines), in display order) for a terminal ``width`` x ``height``: each line
    one row, cut at the width (a line wider than the terminal wrapped, and the view ran off the screen's
    foot: on 40x10 the cues were never seen, hostile sweep 20); while the lines are more than the rows, the
    lowest-ranked block goes (the later of two of one rank first), or its last lines where that is enough."""
    blocks = [(rank, list(lines)) for rank, lines in blocks if lines]
    if height is not None:
        height = max(1, height)
        while sum(len(x) for _, x in blocks) > height:
            low = min(range(len(blocks)), key=lambda i: (blocks[i][0], -i))
            over = sum(len(x) for _, x in blocks) - height
            if over < len(blocks[low][1]):
                blocks[low] = (blocks[low][0], blocks[low][1][:len(blocks[low][1]) - over])
            else:
                del blocks[low]
    out = []
    for _, lines in blocks:
        for t in lines:
            t = t.copy()
            t.no_wrap = True
            t.overflow = "ellipsis"
            if len(t) > width:
                t.truncate(width, overflow="ellipsis")
            out.append(t)
    return out


def _lines(state: LiveState, width: int, keys: str | None, note_input: str | None) -> list:
    """Every line of the view, unfitted."""
    return [t for _, lines in _blocks(state, width, keys, note_input) for t in lines]


def shared(state: LiveState) -> bool:
    """One channel carrying both people (one device or file, nobody said who it is: ``--speaker`` not given):
    its figures are the mix's, not the therapist's. The view said "therapist ● speaking" while the client spoke,
    under "who is speaking is not named live", and the warmth and cues addressed to the therapist were the
    mix's (a pace cue from the client's pace; hostile sweep 20): the channel is the mix, and no warmth or cue
    is said live (the session attributed on save with --record has them)."""
    return state.online is not None or bool(state.online_note)


SHARED_NOTE = "– on one shared channel (nobody's own: --speaker NAME says who it is)"


def _style(state: LiveState, i: int) -> str:
    return SPEAKER_STYLES[i % len(SPEAKER_STYLES)]


def _section(title: str, width: int) -> Text:
    t = Text("─ ", style="dim")
    t.append(title, style="bold")
    t.append(" " + "─" * max(0, width - len(title) - 3), style="dim")
    return t


def _blocks(state: LiveState, width: int, keys: str | None, note_input: str | None) -> list[tuple[int, list]]:
    """The view's lines in blocks, (rank, lines) in display order (``fit``)."""
    blocks: list[tuple[int, list]] = [(KEEP_HEADER, [_header(state, width)]), (KEEP_NOW, _now_lines(state, width))]
    if state.layout_note:  # the layout found live (one stereo device; two inputs of one sound), on every redraw
        blocks.append((KEEP_HEADER, _rows(state.layout_note, width, 3, "bold yellow")))
    for note in state.input_notes:  # a replayed file found cut short as it is read (hostile sweep 33)
        blocks.append((KEEP_HEADER, _rows(note, width, 3, "bold yellow")))
    # -- who is speaking: one mono/shared device (provisional online attribution) --
    if state.online is not None:
        blocks.append((KEEP_TURNS, _online_lines(state, width)))
    else:
        blocks.append((KEEP_TURNS, [Text(terminal_safe(state.online_note)[:width], style="dim")]
                       if state.online_note else []))
    blocks.append((KEEP_PITCH, _pitch_lines(state, width)))
    blocks.append((KEEP_TURNS, _final_lines(state, width)))
    # -- rolling measures --
    att = state.rolling.attunement if state.rolling is not None else None
    title = "warmth · attunement" + (f" ({att['n_exchanges']} exchange{'s' * (att['n_exchanges'] != 1)})" if att is not None else "") + " · cues"
    if state.rolling is not None:
        title += f" · {stopwatch_text(state.rolling.start_s)}–{stopwatch_text(state.rolling.end_s)}"
    rolling = _rolling_lines(state.rolling, width, shared=shared(state))
    n_cues = _N_CUE_LINES if state.rolling is not None else 0
    blocks.append((KEEP_ROLLING, [_section(title, width), *rolling[:len(rolling) - n_cues]]))
    blocks.append((KEEP_CUES, rolling[len(rolling) - n_cues:]))
    # -- footer --
    blocks.append((KEEP_HEALTH, [_health_line(state, width)]))
    alerts = []
    if state.save_error:  # loud, on every redraw, until a save works again
        alerts.extend(_rows(state.save_error, width, 2, "reverse bold red"))
    if state.record_error:  # the recording stopped for good: on every redraw
        alerts.extend(_rows(state.record_error, width, 2, "reverse bold red"))
    blocks.append((KEEP_HEADER, alerts))
    blocks.append((KEEP_KEYS, _keys_lines(state, width, keys, note_input)))
    return blocks


def _now_lines(state: LiveState, width: int) -> list:
    """Now (provisional): per channel, speaking or quiet, a level meter, its level and pitch."""
    out: list = [_section("now · provisional, last 0.1 s", width)]
    meter_w = max(10, width - LABEL_W - 29)
    for i, n in enumerate(state.now):
        name = "mix" if shared(state) else terminal_safe(n.name)  # one mix: who it is comes below
        t = Text(f"{name[:LABEL_W - 1]:<{LABEL_W}}", style=_style(state, i))
        if state.paused:
            t.append("paused", style="dim")
        else:
            t.append("● speaking " if n.speaking else "  quiet    ", style=("bold " + _style(state, i)) if n.speaking else "dim")
            frac = (min(max(n.level_db, METER_LO_DB), METER_HI_DB) - METER_LO_DB) / (METER_HI_DB - METER_LO_DB)
            k = int(round(frac * meter_w))
            t.append("▕", style="dim")
            t.append("█" * k, style=_style(state, i))
            t.append("░" * (meter_w - k), style="dim")
            t.append("▏", style="dim")
            t.append(f"{n.level_db:5.0f} dB" if n.level_db > -119 else "   -∞ dB")
            t.append(f" {n.f0_hz:4.0f} Hz" if n.f0_hz else "       ", style=_style(state, i))
        out.append(t)
    return out


def _pitch_lines(state: LiveState, width: int) -> list:
    """The pitch trail (final): per speaker, the last ``TRACE_S`` around its own median."""
    out: list = [_section(f"pitch · last {TRACE_S:.0f} s, ±{TRACE_RANGE_ST:.0f} st around own median", width)]
    trace_w = max(10, width - LABEL_W - 1)
    for i, f in enumerate(state.final):
        rows = pitch_trace(state.trail_f0_hz.get(f.name, np.zeros(0)), ref_hz=f.f0_ref_hz, width=trace_w,
                           rows=TRACE_ROWS, n_frames=GRID.s_to_frames(TRACE_S))
        for r, row in enumerate(rows):
            if r == 0:
                label = f"{'mix' if shared(state) else terminal_safe(f.name)[:LABEL_W - 1]:<{LABEL_W}}"
            elif f.f0_ref_hz:
                label = f"{f.f0_ref_hz:>4.0f} Hz".ljust(LABEL_W)
            else:
                label = "   – Hz".ljust(LABEL_W)
            t = Text(label, style=_style(state, i) if r == 0 else "dim")
            t.append(row, style=_style(state, i))
            out.append(t)
    return out


def _final_lines(state: LiveState, width: int) -> list:
    """Turn-taking (final) of two speakers, or one speaker's speech and rate with its notes."""
    if state.turn_taking:
        return [_section("turn-taking · final", width), *_turn_lines(state, width)]
    f = state.final[0]
    return [_section(f"{'mix' if shared(state) else terminal_safe(state.speakers[0])} · final", width),
            Text(f"speech {f.speech_s:.0f} s · rate " + (f"{f.rate_syl_s:.1f} syl/s" if f.rate_syl_s else "–")),
            *(Text(terminal_safe(note), style="dim") for note in state.notes)]


def _keys_lines(state: LiveState, width: int, keys: str | None, note_input: str | None) -> list:
    """The last line: the note being typed, else a fresh message (bookmark saved, paused, ...), else the keys."""
    if note_input is not None:
        t = Text("note: ", style="bold")
        t.append(terminal_safe(note_input)[-(width - 30):])
        t.append("▏  Enter save · Esc no note", style="dim")
        return [t]
    if state.message:
        return [Text(terminal_safe(state.message)[:width], style="bold")]
    return [Text(keys[:width], style="dim")] if keys else []


def _rows(text: str, width: int, rows: int, style: str) -> list:
    """``text`` (typed or quoted: made terminal-safe) over at most ``rows`` lines of ``width``."""
    text = terminal_safe(text)[:width * rows]
    return [Text(text[i:i + width], style=style) for i in range(0, len(text), width)] or [Text("", style=style)]


def _header(state: LiveState, width: int) -> Text:
    t = Text("prosody live ", style="bold")
    t.append(stopwatch_text(state.elapsed_s), style="bold")
    kind = {"two-device": "two devices", "replay": "replay"}.get(state.source_kind, state.source_kind)
    if kind:
        t.append(f" · {kind}", style="dim")
    if state.save_error:
        t.append(" · SAVE FAILED", style="reverse bold red")
    if state.record_error:
        t.append(" · RECORDING FAILED", style="reverse bold red")
    if state.saved_at_s is not None:
        t.append(f" · saved at {stopwatch_text(state.saved_at_s)}", style="dim")
    if state.bookmarks:
        n = len(state.bookmarks)
        t.append(f" · {n} bookmark{'s' if n > 1 else ''}", style="dim")
    tag = {"paused": " PAUSED ", "stopping": " SAVING… ", "saved": " SAVED ", "failed": " SAVE FAILED "}.get(state.status)
    if tag:
        pad = max(1, width - len(t.plain) - len(tag))
        t.append(" " * pad)
        t.append(tag, style="reverse bold" if state.status != "failed" else "reverse bold red")
    return t


def _turn_lines(state: LiveState, width: int) -> list:
    a, b = state.final
    a_name, b_name = terminal_safe(a.name), terminal_safe(b.name)  # typed labels: text, never escapes
    out = []
    t = Text("talk share ".ljust(LABEL_W), style="dim")
    if a.talk_share is None:
        t.append("no speech yet", style="dim")
    else:
        bar_w = max(10, width - LABEL_W - len(a_name) - len(b_name) - 12)
        k = int(round(a.talk_share * bar_w))
        t.append(f"{a_name} {a.talk_share:4.0%} ", style=_style(state, 0))
        t.append("█" * k, style=_style(state, 0))
        t.append("█" * (bar_w - k), style=_style(state, 1))
        t.append(f" {b.talk_share:4.0%} {b_name}", style=_style(state, 1))
    out.append(t)
    t = Text("last gaps ".ljust(LABEL_W), style="dim")
    if not state.last_gaps:
        t.append("none yet", style="dim")
    else:
        parts = []
        for to, off, kind in reversed(state.last_gaps):
            parts.append((f"{off:+.2f} s→{terminal_safe(to)}" + (" (overlap)" if kind == "overlap" else ""), to))
        used = LABEL_W
        for j, (txt, to) in enumerate(parts):
            sep = " · " if j else ""
            if used + len(sep) + len(txt) > width:
                break
            t.append(sep, style="dim")
            t.append(txt, style=_style(state, state.speakers.index(to)) if to in state.speakers else "")
            used += len(sep) + len(txt)
    out.append(t)
    for i, f in enumerate(state.final):
        t = Text(f"{terminal_safe(f.name)[:LABEL_W - 1]:<{LABEL_W}}", style=_style(state, i))
        tried = f", tried {f.failed_interruptions}" if f.failed_interruptions is not None else ""
        t.append(f"turns {f.turns} · overlap {f.overlaps} · talked over {f.interruptions}{tried} · "
                 f"mm-hm {f.backchannels} · " + (f"{f.rate_syl_s:.1f} syl/s" if f.rate_syl_s else "– syl/s"))
        t.truncate(width)
        out.append(t)
    return out


ONLINE_MARK = {"therapist": "● therapist", "other": "● other", "unsure": "? unsure", "silence": "  quiet"}


def _online_lines(state: LiveState, width: int) -> list:
    """Who is speaking on one mono/shared device, provisional (``LiveState.online``)."""
    o = state.online
    out = [_section(f"who · provisional, {o.latency_s:.1f} s behind · profile {terminal_safe(o.profile)}"[:width - 4],
                    width)]
    t = Text("now".ljust(LABEL_W), style="dim")
    style = {"therapist": "bold " + SPEAKER_STYLES[0], "other": "bold " + SPEAKER_STYLES[1]}.get(o.now, "dim")
    t.append(ONLINE_MARK.get(o.now, o.now), style=style)
    if not o.other_heard:
        t.append(" · the other voice not heard yet", style="dim")
    out.append(t)
    t = Text("share".ljust(LABEL_W), style="dim")
    share = o.talk_share
    if share is None:
        t.append("nobody named yet", style="dim")
    else:
        t.append(f"therapist {share:.0%}", style=SPEAKER_STYLES[0])
        t.append(" · ", style="dim")
        t.append(f"other {1 - share:.0%}", style=SPEAKER_STYLES[1])
    t.append(f" · unsure {o.speech_s.get('unsure', 0.0):.0f} s · changes {o.changes} · final on save", style="dim")
    t.truncate(width)
    out.append(t)
    return out


def _num(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v)):
        return float(v)
    if isinstance(v, dict):
        for k in ("score", "value", "mean"):
            if k in v:
                return _num(v[k])
    return None


WARMTH_SHORT = WORDING_SHORT  # plain words, from prosody.report.wording
ATTUNE_KINDS = ("proximity", "synchrony", "convergence")


def _value_unit(v, unit: str | None) -> str:
    x = _num(v)
    if x is None:
        return "–"
    if unit == "share":
        return f"{x:.0%}"
    if unit == "count/10 min":
        return f"{x:.1f}/10 min"
    return f"{x:.2g}{unit}" if unit else f"{x:.2g}"


def _wrap(prefix: str, items: list[str], width: int, max_lines: int, style: str = "", sep: str = " · ") -> list:
    lines, cur = [], (prefix.ljust(LABEL_W) if len(prefix) < LABEL_W else prefix + " ")
    for it in items:
        add = ("" if not cur.strip() or cur.strip() == prefix.strip() else sep) + it
        # a line holding only the prefix takes the item however long it is (cut below): a cue longer than the
        # line was moved to a second line and, on the one line cues have, shown as a bare "…" (walk-through)
        if len(cur) + len(add) > width and cur.strip() and cur.strip() != prefix.strip():
            lines.append(cur)
            cur = " " * LABEL_W + it
        else:
            cur += add
    lines.append(cur)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:width - 1] + "…"
    return [Text(x if len(x) <= width else x[:width - 1] + "…", style=style) for x in lines]


def _chance_mark(d: dict) -> str:
    """~ within the permutation chance interval, ↑ above it, ↓ below it."""
    v, lo, hi = _num(d.get("value")), _num(d.get("chance_low")), _num(d.get("chance_high"))
    if v is None:
        return ""
    if lo is None or hi is None:
        return ""
    return "↑" if v > hi else "↓" if v < lo else "~"


def _rolling_lines(rolling: RollingWindow | None, width: int, *, shared: bool = False) -> list:
    """The newest rolling window: warmth with its components, attunement
    (proximity, synchrony, convergence per feature, marked against chance),
    cues. One speaker: no attunement. ``shared``: one channel of both people
    (``shared``): no warmth, no cue."""
    if rolling is None:
        return [Text("waiting for the first rolling window (every few seconds once speech is in)", style="dim")]
    if shared:
        return [Text("warmth".ljust(LABEL_W) + SHARED_NOTE, style="dim"),
                Text("cues".ljust(LABEL_W) + SHARED_NOTE, style="dim")]
    out = []
    warmth = rolling.warmth
    if warmth is not None:
        score = _num(warmth)
        t = Text()
        t.append("warmth".ljust(LABEL_W), style="bold")
        if score is not None:
            bar_w = 10
            k = int(round(min(max(score, 0.0), 100.0) / 100.0 * bar_w))
            t.append(f"{score:3.0f}/100 ", style="bold")
            t.append("▰" * k + "▱" * (bar_w - k))
        else:
            t.append("– (not enough speech yet)", style="dim")
        items = []
        for c in warmth["components"]:
            name = WARMTH_SHORT.get(c["name"], str(c["name"]).replace("_", " "))
            contrib, weight = _num(c.get("contribution")), _num(c.get("weight"))
            share = f" +{contrib:.0f}" if contrib is not None and weight else ""
            items.append(f"{name} {_value_unit(c.get('value'), c.get('unit'))}{share}")
        lines = [t]
        for it in items:  # components follow the bar, over at most 3 lines
            cur = lines[-1]
            if len(cur.plain) + 2 + len(it) <= width:
                cur.append("  " + it, style="dim")
            elif len(lines) < 3:
                lines.append(Text(" " * LABEL_W + it, style="dim"))
            else:
                cur.truncate(width - 1)
                cur.append("…", style="dim")
                break
        out.extend(lines)
    att = rolling.attunement
    if att is not None:
        for kind in ATTUNE_KINDS:
            items = []
            for feat, d in att[kind].items():
                v = _num(d.get("value"))
                word = feature_word(feat)
                items.append(f"{word} {v:+.2f}{_chance_mark(d)}" if v is not None else f"{word} –")
            line = _wrap(kind, items, width, 1)[0]
            legend = "   ~ chance, ↑↓ beyond"
            if kind == ATTUNE_KINDS[0] and len(line.plain) + len(legend) <= width:
                line.append(legend, style="dim")
            out.append(line)
    if rolling.cues:  # _N_CUE_LINES
        out.extend(_wrap("cues", [_cue_text(c) for c in rolling.cues], width, _N_CUE_LINES, style="bold"))
    else:
        out.append(Text("cues".ljust(LABEL_W) + "none", style="dim"))
    return out


_N_CUE_LINES = 1  # the cues' lines, the last of _rolling_lines


def _cue_text(c: dict) -> str:
    """A cue's message; it may quote a speaker's typed label."""
    return terminal_safe(c.get("message") or c.get("kind"))


CLIPPING_CUE = "input clips: lower the recording level"


def _health_line(state: LiveState, width: int) -> Text:
    h = state.health
    bad = (h.get("overruns") or 0) + (h.get("dropped_blocks") or 0)
    t = Text("capture ".ljust(LABEL_W), style="dim")
    t.append(f"overruns {h.get('overruns', 0)} · dropped {h.get('dropped_blocks', 0)}",
             style="bold red" if bad else "")
    drift = h.get("drift_ppm")
    if state.source_kind == "two-device":
        t.append(" · drift " + (f"{drift:+.0f} ppm" if drift is not None else "measuring")
                 + (" (corrected)" if h.get("drift_corrected") else " (one clock)" if h.get("same_clock") else ""))
    else:
        t.append(" · drift n/a (one clock)", style="dim")
    d = (h.get("now_delay_ms") or {}).get("median")
    if d is None:
        d = (h.get("state_delay_ms") or {}).get("median")
    if d is not None:  # sound -> what "now" shows
        t.append(f" · delay {d:.0f} ms")
    if h.get("clipping_now"):  # the input gain is too high: said while it clips (and 3 s after)
        t.append(" · " + CLIPPING_CUE, style="bold yellow")
    t.truncate(width)
    return t


def pitch_trace(f0_hz: np.ndarray, *, ref_hz: float | None, width: int, rows: int, n_frames: int) -> list[str]:
    """Braille trace of the last ``n_frames`` of ``f0_hz`` (NaN: no voiced
    speech), newest at the right: ``width`` characters x ``rows`` lines, 2
    time bins per character, 4 dot rows per line, semitones re ``ref_hz``
    clipped to +-TRACE_RANGE_ST. Returns ``rows`` strings."""
    n_bins = 2 * width
    levels = 4 * rows
    grid = [[0] * width for _ in range(rows)]
    f = np.asarray(f0_hz, dtype=np.float64)[-n_frames:]
    if ref_hz and len(f):
        f = np.concatenate([np.full(n_frames - len(f), np.nan), f])
        edges = np.linspace(0, n_frames, n_bins + 1).astype(int)
        for b in range(n_bins):
            seg = f[edges[b]:edges[b + 1]]
            seg = seg[np.isfinite(seg)]
            if len(seg) < max(1, (edges[b + 1] - edges[b]) // 4):
                continue
            st = 12.0 * math.log2(float(np.median(seg)) / ref_hz)
            frac = (min(max(st, -TRACE_RANGE_ST), TRACE_RANGE_ST) + TRACE_RANGE_ST) / (2 * TRACE_RANGE_ST)
            level = min(levels - 1, int(frac * levels))          # 0 = bottom
            row_from_top = levels - 1 - level
            grid[row_from_top // 4][b // 2] |= _BRAILLE_BITS[b % 2][row_from_top % 4]
    return ["".join(chr(0x2800 + c) if c else " " for c in row) for row in grid]


def plain_line(state: LiveState) -> str:
    """One line for a log or a pipe."""
    parts = [f"[{stopwatch_text(state.elapsed_s)}]"]
    if state.paused:
        parts.append("PAUSED")
    kind = {"two-device": "two devices"}.get(state.source_kind, state.source_kind)
    if kind:
        parts.append(kind)
    now = ", ".join(f"{'mix' if shared(state) else n.name} {'speaking' if n.speaking else 'quiet'} "
                    f"({n.level_db:.0f} dB"
                    + (f", {n.f0_hz:.0f} Hz)" if n.f0_hz else ")") for n in state.now)
    parts.append(f"now: {now}")
    if state.online is not None:
        o = state.online
        who = f"who (provisional, {o.latency_s:.1f} s behind): {o.now}"
        if o.talk_share is not None:
            who += f", share therapist {o.talk_share:.0%} other {1 - o.talk_share:.0%}"
        parts.append(who + f", changes {o.changes}")
    elif state.online_note:
        parts.append("who: not named live (no voice profile)")
    if state.turn_taking:
        a, b = state.final
        if a.talk_share is not None:
            parts.append(f"share {a.name} {a.talk_share:.0%} {b.name} {b.talk_share:.0%}")
        if state.last_gaps:
            to, off, kind = state.last_gaps[-1]
            parts.append(f"last gap {off:+.2f} s->{to}" + (" (overlap)" if kind == "overlap" else ""))
    else:
        parts.append(f"speech {state.final[0].speech_s:.0f} s (one channel: no turn-taking)")
    for f in state.final:
        if f.f0_ref_hz:
            parts.append(f"{'mix' if shared(state) else f.name} pitch {f.f0_ref_hz:.0f} Hz")
    if state.rolling is not None and shared(state):
        parts.append("warmth and cues: none on one shared channel")
    elif state.rolling is not None:
        w = _num(state.rolling.warmth)
        if w is not None:
            parts.append(f"warmth {w:.0f}")
        if state.rolling.cues:
            parts.append("cues: " + "; ".join(_cue_text(c) for c in state.rolling.cues))
    h = state.health
    parts.append(f"overruns {h.get('overruns', 0)} dropped {h.get('dropped_blocks', 0)}"
                 + (f" drift {h['drift_ppm']:+.0f} ppm" if h.get("drift_ppm") is not None else "")
                 + (f" {CLIPPING_CUE}" if h.get("clipping_now") else ""))
    if state.saved_at_s is not None:
        parts.append(f"saved {stopwatch_text(state.saved_at_s)}")
    if state.save_error:
        parts.append(state.save_error)
    if state.record_error:
        parts.append(state.record_error)
    if state.bookmarks:
        parts.append(f"bookmarks {len(state.bookmarks)}")
    # speaker labels, cue messages and errors quote typed text: one line, no escapes
    return terminal_safe(" | ".join(parts))


class KeyInput:
    """The view's keys from the terminal's bytes: ``feed(bytes)`` -> actions, ``("quit",)``, ``("bookmark",)``,
    ``("note",)`` (a note begins: the caller takes its time), ``("save_note", text)``, ``("pause",)``; ``note``
    is the note being typed (None: keys are keys).

    A terminal's escape sequence is one key, not its letters: the down arrow (ESC [ B) made a bookmark, F1
    (ESC O P) paused and F2 (ESC O Q) saved and quit, and an arrow inside a note ended it (its ESC) and made a
    second bookmark (hostile sweep 20). A paste is text, not keys: inside the terminal's bracketed paste
    (ESC [ 200~ ... ESC [ 201~) it goes into a note whole (line ends as spaces) and is ignored outside one; a
    terminal without it sends a paste as a burst, so a line end followed by more in the same read continues the
    note (a pasted "I felt\\rquiet" saved "I felt" and then quit, paused and bookmarked). Bytes are decoded
    across reads (a character split between two reads was dropped)."""

    def __init__(self) -> None:
        import codecs
        self.note: str | None = None
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="ignore").decode
        self._seq: str | None = None   # None, "esc", "ss3" or "csi": inside an escape sequence
        self._csi = ""
        self._paste = False

    def feed(self, data: bytes) -> list[tuple]:
        text = self._decode(data)
        out: list[tuple] = []
        for i, ch in enumerate(text):
            if self._seq == "esc":  # ESC [ (CSI), ESC O (SS3), else Alt+key: none of them a key of the view
                self._seq, self._csi = {"[": "csi", "O": "ss3"}.get(ch), ""
                continue
            if self._seq == "ss3":
                self._seq = None
                continue
            if self._seq == "csi":
                if "\x40" <= ch <= "\x7e":  # the final byte
                    self._seq = None
                    self._paste = {"200~": True, "201~": False}.get(self._csi + ch, self._paste)
                else:
                    self._csi += ch
                continue
            if ch == "\x1b":
                if i + 1 < len(text):  # a sequence (written at once by the terminal), or Alt+key
                    self._seq = "esc"
                elif self.note is not None:  # Esc alone: the bookmark keeps no note
                    out.append(("save_note", ""))
                    self.note = None
                continue
            if self._paste:
                if self.note is not None:
                    self._add(" " if ch in "\r\n\t" else ch)
                continue
            if self.note is not None:
                if ch in "\r\n":
                    if text[i + 1:].strip("\r\n"):  # more after it in the same read: a pasted line end
                        self._add(" ")
                    else:
                        out.append(("save_note", self.note.strip()))
                        self.note = None
                elif ch in "\x7f\b":
                    self.note = self.note[:-1]
                else:
                    self._add(ch)
            elif ch in "qQ":
                out.append(("quit",))
            elif ch in "bB":
                out.append(("bookmark",))
            elif ch in "nN":
                self.note = ""
                out.append(("note",))
            elif ch in "pP ":
                out.append(("pause",))
        return out

    def _add(self, ch: str) -> None:
        from prosody.formats.schema import MAX_TEXT_CHARS
        if ch.isprintable() and len(self.note) <= MAX_TEXT_CHARS:  # one over: the runner says it cut the note
            self.note += ch
