"""``prosody sessions|show|report|compare|trend|export|import|edit|delete|feedback``:
the session store from the command line (``prosody.store.db``), and
``prosody analyze --save``. Views are pure functions returning rich renderables."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from prosody.errors import InputError
from prosody.formats.bundle import SessionMeta
from prosody.formats.export import EXPORT_FORMATS, export_text, read_export, write_export
from prosody.store.db import ENV_VAR, Store, default_store_path, parse_srs, parse_when

EXIT_OK = 0
TABLE_WIDTH = 160  # when not on a terminal: wide enough that tables are not cut


def _console(out) -> Console:
    return Console(file=out, width=None if getattr(out, "isatty", lambda: False)() else TABLE_WIDTH)


# -- shared options -----------------------------------------------------------------------------------------------
def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH", default=None,
                   help=f"session store folder (default ${ENV_VAR}, else {default_store_path(environ={})})")


def _open(args) -> Store:
    return Store(args.store if args.store else None)


def add_save_options(a: argparse.ArgumentParser) -> None:
    """Options of ``prosody analyze`` for saving the session into the store."""
    g = a.add_argument_group("saving into the session store")
    g.add_argument("--save", action="store_true", help="save the session in the store (see `prosody sessions`)")
    _store_option(g)
    _meta_options(g)


def _meta_options(g) -> None:
    g.add_argument("--therapist", metavar="NAME", help="therapist name or ID")
    g.add_argument("--client", metavar="PSEUDONYM", help="client pseudonym (never a real name)")
    g.add_argument("--session-number", type=int, metavar="N",
                   help="session number (default: the next for this therapist and client)")
    g.add_argument("--date", metavar="WHEN", help="date and time of the session, YYYY-MM-DD[THH:MM] "
                   "(default: the recording's modification time)")
    g.add_argument("--notes", metavar="TEXT", default=None, help="free-text notes")
    g.add_argument("--tag", action="append", default=[], metavar="TAG", help="a tag (repeatable)")


def _meta_from_args(args, *, default_when: str | None) -> SessionMeta:
    when = parse_when(args.date) if args.date else default_when
    if args.session_number is not None and args.session_number < 0:
        raise InputError(f"--session-number {args.session_number}: must be 0 or more")
    return SessionMeta(therapist=args.therapist, client=args.client, recorded_at=when,
                       session_number=args.session_number, notes=args.notes or "", tags=tuple(args.tag))


def check_save_args(args) -> None:
    """Fail before analysing when metadata is given without ``--save``, or is malformed."""
    given = [o for o, v in (("--therapist", args.therapist), ("--client", args.client),
                             ("--session-number", args.session_number), ("--date", args.date),
                             ("--notes", args.notes), ("--tag", args.tag)) if v]
    if given and not args.save:
        raise InputError(f"{', '.join(given)} describe a saved session: add --save")
    if args.date:
        parse_when(args.date)


def save_analyzed(args, session, out, err) -> int | None:
    """After ``prosody analyze``: save ``session`` when ``--save`` was given; returns its ID."""
    if not args.save:
        return None
    from datetime import datetime, timedelta
    mtime = datetime.fromtimestamp(os.stat(args.files[0]).st_mtime)
    default_when = (mtime - timedelta(seconds=session.duration_s)).isoformat(timespec="seconds")
    with _open(args) as store:
        sid = store.save_session(session, meta=_meta_from_args(args, default_when=default_when))
        err.write(f"prosody: saved as session {sid} in {store.path}\n")
    return sid


# -- views (pure) ---------------------------------------------------------------------------------------------------
def _v(v, spec: str, unit: str = "") -> str:
    return "–" if v is None else f"{v:{spec}}{unit}"


def text_table(headers, rows, right: set[int]) -> Text:
    """A plain fixed-width table: rich's Table measures every cell and takes over
    a second for 1,000 rows; this takes milliseconds."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    t = Text(line(headers).rstrip() + "\n", style="bold")
    t.append("  ".join("─" * w for w in widths) + "\n", style="dim")
    t.append("\n".join(line(r).rstrip() for r in rows))
    return t


def sessions_view(infos) -> Group:
    headers = ("id", "date", "therapist", "client", "no.", "length", "warmth", "SRS", "rating", "tags")
    rows = [(str(i.id), (i.meta.recorded_at or "").replace("T", " ")[:16], i.meta.therapist or "",
             i.meta.client or "", _v(i.meta.session_number, "d"), f"{i.duration_s / 60:.1f} min",
             _v(i.warmth_score, ".0f"), _v(i.srs_total, "d"), _v(i.rating, "d"), ", ".join(i.meta.tags))
            for i in infos]
    title = Text(f"{len(infos)} session{'' if len(infos) == 1 else 's'}", style="italic")
    return Group(title, text_table(headers, rows, {0, 4, 5, 6, 7, 8}))


def show_view(stored):
    from .view import summary_view
    info, doc = stored.info, stored.doc
    m = info.meta
    head = Text(f"session {info.id} ({info.uid})", style="bold")
    for label, v in (("date", (m.recorded_at or "").replace("T", " ")), ("therapist", m.therapist),
                     ("client", m.client), ("session no.", m.session_number), ("tags", ", ".join(m.tags)),
                     ("notes", m.notes)):
        if v not in (None, ""):
            head.append(f"\n{label}: {v}")
    parts = [head, summary_view(doc)]
    measures = doc.get("measures") if isinstance(doc.get("measures"), dict) else None
    if measures and isinstance(measures.get("warmth"), dict):
        w = measures["warmth"]
        parts.append(Text(f"warmth {_v(w.get('score'), '.0f')}/100 (relative to the therapist's own baseline; "
                          "not a clinical judgement)"))
    if measures and isinstance(measures.get("attunement"), dict):
        beyond = [f"{kind} {feat} {v.get('value'):+.2f}"
                  for kind in ("proximity", "synchrony", "convergence")
                  for feat, v in (measures["attunement"].get(kind) or {}).items()
                  if isinstance(v, dict) and v.get("value") is not None and v.get("chance_low") is not None
                  and v.get("chance_high") is not None and not v["chance_low"] <= v["value"] <= v["chance_high"]]
        parts.append(Text("attunement beyond chance: " + (", ".join(beyond) if beyond else "none")))
    for f in stored.feedback:
        parts.append(Text(f"client {'SRS' if f.kind == 'srs' else 'rating'}: "
                          f"{'/'.join(map(str, f.items))} (total {f.total}/{40 if f.kind == 'srs' else 5})"))
    for b in stored.bookmarks:
        parts.append(Text(f"bookmark {int(b.time_s) // 60}:{int(b.time_s) % 60:02d} {b.note}", style="magenta"))
    return Group(*parts)


def compare_view(infos, metrics, *, title: str = "compare") -> Table:
    from prosody.report.html import COMPARE_METRICS, session_label
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    t.add_column("measure")
    for i in infos:
        t.add_column(session_label(i), justify="right")
    t.add_row("client", *[i.meta.client or "–" for i in infos])
    for m in COMPARE_METRICS:
        vals = [metrics[i.id].get(m.key) for i in infos]
        if all(v is None for v in vals):
            continue
        cells = []
        for i, v in zip(infos, vals):
            cell = m.format(v)
            if m.group == "attunement" and v is not None:
                base = m.key.rsplit(".", 1)[0]
                lo, hi = metrics[i.id].get(base + ".chance_low"), metrics[i.id].get(base + ".chance_high")
                if lo is not None and hi is not None and not lo <= v <= hi:
                    cell += "*"
            cells.append(cell)
        t.add_row(m.label + (f" ({m.unit})" if m.unit else ""), *cells)
    if any(m.group == "attunement" for m in COMPARE_METRICS):
        t.caption = "* attunement beyond its chance interval"
        t.caption_justify = "left"
    return t


TREND_COLUMNS = (("therapist.talk_share", "talk %"), ("therapist.gap_median_s", "gap T"),
                 ("client.gap_median_s", "gap C"), ("therapist.interruptions", "int T"),
                 ("client.interruptions", "int C"), ("therapist.speech_rate_syl_s", "rate T"),
                 ("voice_quality.therapist.jitter_local", "jit% T"), ("voice_quality.therapist.shimmer_local", "shim% T"),
                 ("voice_quality.therapist.hnr_db", "HNR T"), ("voice_quality.therapist.cpps_db", "CPPS T"),
                 ("warmth.score", "warmth"), ("feedback.srs_total", "SRS"), ("feedback.rating", "rating"))


def trend_view(infos, metrics, *, title: str) -> Table:
    from prosody.report.html import METRICS_BY_KEY
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col, just in (("id", "right"), ("date", "left"), ("client", "left"), ("no.", "right")):
        t.add_column(col, justify=just)
    for _, label in TREND_COLUMNS:
        t.add_column(label, justify="right")
    for i in infos:
        t.add_row(str(i.id), (i.meta.recorded_at or "")[:10], i.meta.client or "", _v(i.meta.session_number, "d"),
                  *[METRICS_BY_KEY[k].format(metrics[i.id].get(k)) for k, _ in TREND_COLUMNS])
    t.caption = ("T therapist, C client; gap = median gap before answering (s); int = interruptions; "
                 "rate = speech rate (syl/s); jit/shim = jitter/shimmer (local, %); HNR = harmonics-to-noise (dB); "
                 "CPPS = cepstral peak prominence (dB); SRS 0-40, rating 1-5 (client feedback)")
    t.caption_justify = "left"
    return t


# -- commands -------------------------------------------------------------------------------------------------------
def _write_html(path: str, html: str) -> None:
    from prosody.fileio import write_private
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: folder {parent} does not exist")
    write_private(path, html)


def cmd_sessions(args, out, err) -> int:
    with _open(args) as store:
        infos = store.list(therapist=args.therapist, client=args.client, tag=args.tag, since=args.since,
                           until=args.until)
    _console(out).print(sessions_view(infos))
    return EXIT_OK


def cmd_show(args, out, err) -> int:
    with _open(args) as store:
        stored = store.get(args.session)
    Console(file=out).print(show_view(stored))
    return EXIT_OK


def cmd_report(args, out, err) -> int:
    from prosody.report.html import session_report
    with _open(args) as store:
        stored = store.get(args.session)
        frames = store.frames(stored.info.id)
    path = args.output or f"session-{stored.info.id}.html"
    _write_html(path, session_report(stored, frames))
    err.write(f"prosody: report written to {path}\n")
    return EXIT_OK


def cmd_compare(args, out, err) -> int:
    from prosody.report.html import compare_report
    with _open(args) as store:
        ids = [store.resolve(r) for r in args.sessions]
        infos = store.list(ids=ids)
        metrics = store.metrics(ids)
    order = {sid: k for k, sid in enumerate(ids)}
    infos.sort(key=lambda i: order[i.id])
    title = "compare: sessions " + ", ".join(str(i) for i in ids)
    _console(out).print(compare_view(infos, metrics, title=title))
    if args.output:
        _write_html(args.output, compare_report(infos, metrics, title=title))
        err.write(f"prosody: comparison written to {args.output}\n")
    return EXIT_OK


def cmd_trend(args, out, err) -> int:
    from prosody.report.html import compare_report
    with _open(args) as store:
        infos = store.list(therapist=args.therapist, client=args.client, tag=args.tag, since=args.since,
                           until=args.until)
        if args.last:
            infos = infos[-args.last:]
        if not infos:
            raise InputError(f"no sessions for therapist {args.therapist!r} with these filters; "
                             "`prosody sessions` lists them")
        metrics = store.metrics([i.id for i in infos])
    title = f"trend: {args.therapist}" + (f" with {args.client}" if args.client else "")
    _console(out).print(trend_view(infos, metrics, title=title))
    if args.output:
        _write_html(args.output, compare_report(infos, metrics, title=title))
        err.write(f"prosody: trend written to {args.output}\n")
    return EXIT_OK


def cmd_export(args, out, err) -> int:
    with _open(args) as store:
        sid = store.resolve(args.session)
        bundle = store.bundle(sid)
    uri = f"session{sid}"
    if args.output in (None, "-"):
        if args.format == "parquet":
            raise InputError("Parquet is binary: give -o PATH.parquet")
        out.write(export_text(bundle, args.format, uri=uri))
        if args.format == "json" and bundle.frames is not None:
            err.write("prosody: note: per-frame features are not in JSON on stdout; "
                      "-o PATH.json writes them beside it\n")
        return EXIT_OK
    written = write_export(bundle, args.format, args.output, uri=uri)
    err.write(f"prosody: exported session {sid} to {', '.join(str(p) for p in written)}\n")
    return EXIT_OK


def cmd_import(args, out, err) -> int:
    bundle = read_export(args.path, frames_path=args.frames)
    overrides = {k: v for k, v in (("therapist", args.therapist), ("client", args.client),
                                   ("session_number", args.session_number), ("notes", args.notes)) if v is not None}
    if args.date:
        overrides["recorded_at"] = parse_when(args.date)
    if args.tag:
        overrides["tags"] = tuple(bundle.meta.tags) + tuple(args.tag)
    if overrides:
        bundle.meta = SessionMeta(**{**bundle.meta.__dict__, **overrides})
    with _open(args) as store:
        sid = store.import_bundle(bundle, new_id=args.new_id)
        out.write(f"imported {args.path} as session {sid}"
                  f"{'' if bundle.frames is not None else ' (no per-frame features found beside it)'}\n")
    return EXIT_OK


def cmd_delete(args, out, err) -> int:
    with _open(args) as store:
        sid = store.delete(args.session)
    out.write(f"deleted session {sid}\n")
    return EXIT_OK


def cmd_feedback(args, out, err) -> int:
    if (args.srs is None) == (args.rating is None):
        raise InputError("give either --srs A,B,C,D (Session Rating Scale, 0-10 each) or --rating 1-5")
    with _open(args) as store:
        fb = store.add_feedback(args.session, srs=parse_srs(args.srs) if args.srs else None, rating=args.rating)
        sid = store.resolve(args.session)
    what = f"SRS {'/'.join(map(str, fb.items))} (total {fb.total}/40)" if fb.kind == "srs" else f"rating {fb.total}/5"
    out.write(f"session {sid}: client {what}\n")
    return EXIT_OK


def cmd_edit(args, out, err) -> int:
    given = {k: getattr(args, k) for k in ("therapist", "client", "session_number", "date", "notes")}
    if all(v is None for v in given.values()) and not args.tag and not args.untag:
        raise InputError("nothing to change: give --therapist, --client, --session-number, --date, --notes, "
                         "--tag or --untag")
    for t in args.tag + args.untag:
        if not t.strip():
            raise InputError("--tag/--untag: a tag cannot be empty")
    with _open(args) as store:
        info = store.edit_meta(args.session, therapist=args.therapist, client=args.client,
                               session_number=args.session_number,
                               recorded_at=parse_when(args.date) if args.date else None, notes=args.notes,
                               add_tags=args.tag, remove_tags=args.untag)
    Console(file=out).print(show_view_head(info))
    return EXIT_OK


def show_view_head(info) -> Text:
    """The metadata lines of ``show`` (typed text as data: no markup)."""
    m = info.meta
    head = Text(f"session {info.id} ({info.uid})", style="bold")
    for label, v in (("date", (m.recorded_at or "").replace("T", " ")), ("therapist", m.therapist),
                     ("client", m.client), ("session no.", m.session_number), ("tags", ", ".join(m.tags)),
                     ("notes", m.notes)):
        if v not in (None, ""):
            head.append(f"\n{label}: " + "".join(ch for ch in str(v) if ch.isprintable()))
    return head


def add_parser(sub) -> None:
    def filters(p, *, therapist_required=False):
        p.add_argument("--therapist", metavar="NAME", required=therapist_required, help="therapist name or ID")
        p.add_argument("--client", metavar="PSEUDONYM", help="client pseudonym")
        p.add_argument("--tag", metavar="TAG", help="only sessions with this tag")
        p.add_argument("--since", metavar="DATE", help="on or after this date (YYYY-MM-DD[THH:MM])")
        p.add_argument("--until", metavar="DATE", help="on or before this date")

    p = sub.add_parser("sessions", help="list stored sessions")
    filters(p)
    _store_option(p)
    p.set_defaults(run=cmd_sessions)

    p = sub.add_parser("show", help="a stored session's summary in the terminal")
    p.add_argument("session", metavar="SESSION", help="session ID (see `prosody sessions`), uid, or 'last'")
    _store_option(p)
    p.set_defaults(run=cmd_show)

    p = sub.add_parser("report", help="a stored session as one self-contained HTML page")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("-o", "--output", metavar="PATH", help="HTML file (default session-ID.html)")
    _store_option(p)
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("compare", help="stored sessions side by side")
    p.add_argument("sessions", nargs="+", metavar="SESSION")
    p.add_argument("-o", "--output", metavar="PATH", help="also write an HTML page")
    _store_option(p)
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("trend", help="a therapist's measures across sessions, with client feedback")
    filters(p, therapist_required=True)
    p.add_argument("--last", type=int, metavar="N", help="only the last N sessions")
    p.add_argument("-o", "--output", metavar="PATH", help="also write an HTML page")
    _store_option(p)
    p.set_defaults(run=cmd_trend)

    p = sub.add_parser("export", help="write a stored session as json, csv (frames), parquet, rttm, textgrid (Praat) or eaf (ELAN)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="json")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="file to write (default stdout); JSON writes PATH's frames beside it as STEM.frames.npz")
    _store_option(p)
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("import", help="add an exported (or analysed, or live-captured) session to the store")
    p.add_argument("path", metavar="PATH", help="session JSON (frames .npz found beside it) or exported .parquet")
    p.add_argument("--frames", metavar="NPZ", help="per-frame features file, when not beside the JSON")
    p.add_argument("--new-id", action="store_true", help="import as a new session even if its uid is stored")
    g = p.add_argument_group("metadata (overrides what the file says)")
    _meta_options(g)
    _store_option(p)
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("edit", help="correct a stored session's metadata")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--therapist", metavar="NAME", help="therapist name or ID ('' clears it)")
    p.add_argument("--client", metavar="PSEUDONYM", help="client pseudonym ('' clears it)")
    p.add_argument("--session-number", type=int, metavar="N", help="session number")
    p.add_argument("--date", metavar="WHEN", help="date and time of the session, YYYY-MM-DD[THH:MM]")
    p.add_argument("--notes", metavar="TEXT", default=None, help="free-text notes (replaces them; '' clears)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="add a tag (repeatable)")
    p.add_argument("--untag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    _store_option(p)
    p.set_defaults(run=cmd_edit)

    p = sub.add_parser("delete", help="remove a stored session and every file of it")
    p.add_argument("session", metavar="SESSION")
    _store_option(p)
    p.set_defaults(run=cmd_delete)

    p = sub.add_parser("feedback", help="attach the client's rating of the session")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--srs", metavar="A,B,C,D",
                   help="Session Rating Scale: relationship, goals and topics, approach, overall (0-10 each)")
    p.add_argument("--rating", type=int, metavar="1-5", help="a simple 1-5 rating")
    _store_option(p)
    p.set_defaults(run=cmd_feedback)


__all__ = ["add_parser", "add_save_options", "check_save_args", "save_analyzed"]
