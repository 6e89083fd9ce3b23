"""``prosody sessions|show|report|compare|trend|export|import|edit|delete|feedback``:
the session store from the command line (``prosody.store.db``), and
``prosody analyze --save``. Views are pure functions returning rich renderables."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import threading
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text

from prosody.errors import InputError, ProsodyError
from prosody.fileio import (check_outputs, export_of, file_size_limit, file_size_limit_text, is_past_size_limit,
                            new_outputs)
from prosody.report.text import terminal_safe
from prosody.formats.bundle import SessionMeta, parse_rating, parse_srs, parse_when
from prosody.formats.export import EXPORT_FORMATS, export_text, read_export, write_export
from prosody.store.db import BUSY_TIMEOUT_S, OWN_ORPHAN_MIN_AGE_S, Store, default_store_path
from prosody.types import UNATTRIBUTED

from .stopping import SaidConsole, Stopped, program_handlers, stopping
from .options import add_overwrite_option, filter_value, input_path, session_ref, store_help, store_path, whole_number

EXIT_OK, EXIT_ERROR = 0, 1
TABLE_WIDTH = 160  # when not on a terminal: wide enough that the list of sessions is not cut


def _console(out) -> SaidConsole:
    return SaidConsole(file=out, width=None if getattr(out, "isatty", lambda: False)() else TABLE_WIDTH)


# -- shared options -----------------------------------------------------------------------------------------------
def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH", default=None, type=store_path,
                   help=store_help())


def _open(args, *, create: bool = False) -> Store:
    """The store of ``--store`` (else ``$PROSODY_STORE``, else the default folder). Only the
    commands that add a session (``create``) make a new one; the others say there is none
    (a mistyped ``--store`` creates no folder)."""
    return Store(args.store if args.store else None, create=create)


def add_save_options(a: argparse.ArgumentParser) -> None:
    """Options of ``prosody analyze`` for saving the session into the store."""
    g = a.add_argument_group("saving into the session store")
    g.add_argument("--save", action="store_true", help="save the session in the store (see `prosody sessions`)")
    _store_option(g)
    _meta_options(g)


def session_number(text: str) -> int:
    """argparse type of ``--session-number``: a whole number 0 or more (refused while parsing, before any work)."""
    n = whole_number(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is negative; session numbers count from 0")
    from prosody.formats.schema import MAX_SESSION_NUMBER
    if n > MAX_SESSION_NUMBER:  # the store's bound: refused here, not after the analysis
        raise argparse.ArgumentTypeError(f"{n} is more than {MAX_SESSION_NUMBER:,}; session numbers count "
                                         f"0..{MAX_SESSION_NUMBER:,}")
    return n


def _count(text: str) -> int:
    """argparse type of a count such as ``--last N``: a whole number 1 or more."""
    n = whole_number(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: give 1 or more")
    return n


def _t(text, style: str = "") -> Text:
    """Text a person typed, for rich: control characters shown as \\xNN, never markup."""
    return Text(terminal_safe(text), style=style)


def check_file_name_text(path) -> None:
    """Refuse, before any work, a recording whose name holds bytes that are not UTF-8 where its name is
    kept (the store, the batch ledger and a session JSON hold file names as UTF-8 text)."""
    from prosody.types import text_problem
    problem = text_problem(str(path))
    if problem is not None:
        if problem.startswith("is UTF-8 text"):  # read by a Python whose file names are ASCII: not the file's fault
            raise InputError(f"{terminal_safe(str(path))}: the file name {problem}")
        raise InputError(f"{terminal_safe(str(path))}: the file name {problem}; the store and session JSON "
                         "keep file names as text: rename the file (e.g. with convmv)")


def store_folder(args) -> Path:
    """The session store folder a command uses: ``--store``, else ``$PROSODY_STORE`` or the default."""
    return Path(args.store).expanduser() if getattr(args, "store", None) else default_store_path()


def _guard(args, *outputs, docs=(), stdout_ok: bool = False, page: bool = False, remade=None,
           overwrite: bool | None = None) -> None:
    """The one output rule (``prosody.fileio.check_outputs``) with the store folder protected (its
    database, ledger and frames files), and the recordings the stored sessions ``docs`` name
    (``prosody.clips.recording_paths``) and the command's ``--config`` as inputs. ``-`` is refused
    unless ``stdout_ok`` (export, which writes it to stdout itself): a page was written as a file
    named "-". ``remade``: which existing files the output may replace without --overwrite (a page: one prosody
    wrote); ``overwrite``: True where that is decided by a later call (export, before the session is known)."""
    from prosody.clips import recording_paths
    from prosody.report.html import is_prosody_page
    recordings = [p for doc in docs for p in recording_paths(doc)]
    read = [p for p in (getattr(args, "config", None),) if p]  # `report --config m.toml -o m.toml` replaced it
    check_outputs(outputs, inputs=recordings + read, protected=[store_folder(args)], stdout_ok=stdout_ok, page=page,
                  overwrite=args.overwrite if overwrite is None else overwrite,
                  remade=remade or (is_prosody_page if page else None))


def _meta_options(g) -> None:
    g.add_argument("--therapist", metavar="NAME", help="therapist name or ID")
    g.add_argument("--client", metavar="PSEUDONYM", help="client pseudonym (never a real name)")
    g.add_argument("--session-number", type=session_number, metavar="N",
                   help="session number (default: the next for this therapist and client); one already "
                        "given to another session of this therapist's client is refused")
    g.add_argument("--date", metavar="WHEN", help="date and time of the session, YYYY-MM-DD[THH:MM] "
                   "(default: the recording's modification time less its duration, i.e. when it started; "
                   "import: the date the file holds or a live capture's start, where it has one)")
    g.add_argument("--notes", metavar="TEXT", default=None, help="free-text notes")
    g.add_argument("--tag", action="append", default=[], metavar="TAG", help="a tag (repeatable)")


def _meta_from_args(args, *, default_when: str | None) -> SessionMeta:
    when = parse_when(args.date) if args.date is not None else default_when
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
        # README: `analyze table.m4a --save --therapist ann` uses ann's profile; without --save, --profile does
        raise InputError(f"{', '.join(given)} {'describes' if len(given) == 1 else 'describe'} a saved session: "
                         "add --save" + (" (--profile NAME names the therapist by a voice profile without saving)"
                                         if "--therapist" in given else ""))
    if args.date is not None:  # "" is refused, not taken for "no date given"
        parse_when(args.date)
    from prosody.formats.schema import check_meta_fields
    check_meta_fields(therapist=args.therapist, client=args.client, notes=args.notes or "", tags=list(args.tag),
                      where="command line")
    if args.save:  # the store must be usable before the analysis starts, not found broken after it
        with _open(args, create=True) as store:
            if store.readonly:
                state, mend = store.readonly_said()
                raise InputError(f"--store {store.path} {state}; {mend + ', or ' if mend else ''}choose a writable "
                                 "store to --save")
            store.check_writable()  # was found after the analysis, which went to a rescue copy (sweep 46)
            store.check_intact()
            store.check_session_number(therapist=args.therapist, client=args.client, number=args.session_number)


def rescue_unsaved(args, session, exc: BaseException, *, doc: dict | None = None) -> str:
    """After a failed ``--save``: keep the analysed session as an importable JSON
    (owner-only) beside the store, else in the user's data folder; returns the
    error line to print, saying where it is."""
    from prosody.formats.export import keep_unsaved
    why = str(exc) if isinstance(exc, ProsodyError) else f"{getattr(exc, 'strerror', None) or exc}"
    try:  # the date the store would have given it (session number: the next one when imported)
        meta = _meta_from_args(args, default_when=_default_when(args, session)[0])
    except ProsodyError:
        meta = SessionMeta()
    store = store_folder(args)
    path, note = keep_unsaved(doc if doc is not None else session.to_json_dict(), session.frames, session.speakers,
                              meta, first=store.parent)
    if path is None:
        limit = file_size_limit()
        if is_past_size_limit(exc) and limit is not None:  # the limit said once, and no other disk advised
            # (hostile sweep 54; told by the error, not by matching its words: hostile sweep 55)
            said = file_size_limit_text(limit)
            return f"the session could not be saved ({why}) nor kept anywhere ({note.replace(said, 'the same limit')})"
        return (f"the session could not be saved ({why}) nor kept anywhere ({note}); "
                "run again with --json PATH on another disk")
    return (f"the session could not be saved in the store ({why}); it is kept in {path}{note}: "
            f"`prosody import {path}` adds it to the store later")


def _default_when(args, session) -> tuple[str | None, str | None]:
    """(a saved session's date when ``--date`` is not given, why it has none): the recording's
    modification time minus its duration (``formats.bundle.started_from_mtime``: none when the
    recording cannot be read any more, or that time is no date or an impossible one)."""
    from prosody.formats.bundle import started_from_mtime
    if args.date is not None:
        return None, None
    try:
        mtime = os.stat(args.files[0]).st_mtime
    except OSError:
        return None, None
    return started_from_mtime(mtime, session.duration_s, what=str(args.files[0]))


def save_analyzed(args, session, out, err, *, doc: dict | None = None) -> int | None:
    """After ``prosody analyze``: save ``session`` when ``--save`` was given; returns its ID.
    ``doc``: its document when the caller added to it (the audio's reference)."""
    if not args.save:
        return None
    when, no_date = _default_when(args, session)
    with _signals_wait() as came:  # the save and its line: a signal after the commit said 'interrupted' alone
        with _open(args, create=True) as store:
            meta = _meta_from_args(args, default_when=when)
            sid = (store.save_session(session, meta=meta) if doc is None else
                   store.save(doc, session.frames, meta=meta))
            _said_after_commit(err, f"prosody: saved as session {sid} in {terminal_safe(store.path)}\n")
            try:  # the note is a courtesy: a store that cannot answer after the commit leaves the save said
                twins = store.same_audio(sid)
            except ProsodyError:
                twins = []
    if twins:
        _said_after_commit(err, f"prosody: note: the same audio is stored as session{'s' if len(twins) > 1 else ''} "
                           f"{', '.join(map(str, twins))} too, so it is now stored {len(twins) + 1} times (`batch` "
                           f"stores a recording once); `prosody delete {sid}` removes this copy\n")
    if no_date is not None:
        _said_after_commit(err, f"prosody: warning: {terminal_safe(no_date)} (`prosody edit {sid} --date "
                           "YYYY-MM-DD[THH:MM]` sets it)\n")
    if came:  # stop now, as asked, saying what was done first
        raise Stopped(came[0], f"the session was saved as session {sid} first")
    return sid


def _said_after_commit(err, line: str) -> None:
    """A line of ``save_analyzed`` once its session is committed; where standard error is gone (its reader closed:
    `analyze --save 2>&1 | head -1`) it is let go: its BrokenPipeError was taken for a failed save, and the saved
    session was kept again in a rescue copy beside it, "unsaved", which its `delete` did not erase (hostile sweep
    48). The exit status still tells (the command's next line fails the same way)."""
    try:
        err.write(line)
    except OSError:
        pass


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
    rows = [(str(i.id), (i.meta.recorded_at or "").replace("T", " ")[:16], terminal_safe(i.meta.therapist),
             terminal_safe(i.meta.client), _v(i.meta.session_number, "d"), f"{i.duration_s / 60:.1f} min",
             _v(i.warmth_score, ".0f"), _v(i.srs_total, "d"), _v(i.rating, "d"),
             terminal_safe(", ".join(i.meta.tags)))
            for i in infos]
    title = Text(f"{len(infos)} session{'' if len(infos) == 1 else 's'}", style="italic")
    return Group(title, text_table(headers, rows, {0, 4, 5, 6, 7, 8}))


def show_view(stored):
    from .view import summary_view
    info, doc = stored.info, stored.doc
    parts = [show_view_head(info), summary_view(doc)]
    if not isinstance(doc.get("attribution"), dict):  # older sessions: what the store says (schema 4)
        from prosody.session import attribution_of
        layout, method = attribution_of(doc)
        parts.insert(1, Text(terminal_safe(f"layout: {layout}; speakers: {method}"), style="dim"))
    measures = doc.get("measures") if isinstance(doc.get("measures"), dict) else None
    # a warmth that has no score (no therapist: an unattributed voice, the client alone; too little speech)
    # is said by the summary with why: '-/100 (relative to the therapist's own baseline ...)' after it named a
    # baseline that such a session does not have (hostile sweep 15)
    if measures and isinstance(measures.get("warmth"), dict) and measures["warmth"].get("score") is not None:
        w = measures["warmth"]
        parts.append(Text(f"warmth {_v(w.get('score'), '.0f')}/100 (relative to the therapist's own baseline; "
                          "not a clinical judgement)"))
    if measures and isinstance(measures.get("attunement"), dict):
        from prosody.report.wording import feature_word, measure_plain
        beyond = [f"{measure_plain(f'attunement.{kind}').label.lower()}: {feature_word(feat)} "
                  f"{measure_plain(f'attunement.{kind}').format(v.get('value'))}"
                  for kind in ("proximity", "synchrony", "convergence")
                  for feat, v in (measures["attunement"].get(kind) or {}).items()
                  if isinstance(v, dict) and v.get("value") is not None and v.get("chance_low") is not None
                  and v.get("chance_high") is not None and not v["chance_low"] <= v["value"] <= v["chance_high"]]
        # the feature names are the keys of a stored (perhaps imported) document: text only
        parts.append(_t("attunement beyond chance: " + (", ".join(beyond) if beyond else "none")))
    from prosody.moments import KIND_LABELS, count_by_kind, moments
    counts = {k: n for k, n in count_by_kind(moments(doc, bookmarks=stored.bookmarks, notes=stored.notes)).items()
              if n}
    n_moments = sum(counts.values())
    parts.append(Text(f"{n_moments} moment{'' if n_moments == 1 else 's'} to review"
                      + (": " + ", ".join(f"{KIND_LABELS[k]} {n}" for k, n in counts.items()) if counts else "")
                      + f" (`prosody moments {info.id}`)"))
    for f in stored.feedback:
        parts.append(Text(f"client {'SRS' if f.kind == 'srs' else 'rating'}: "
                          f"{'/'.join(map(str, f.items))} (total {f.total}/{40 if f.kind == 'srs' else 5})"))
    from prosody.report.wording import fmt_clock  # as the report and the notes below (it truncated: 59.6 s read 0:59)
    for b in stored.bookmarks:
        parts.append(Text(f"bookmark {fmt_clock(b.time_s)} {terminal_safe(b.note)}", style="magenta"))
    for n in stored.notes:
        end = fmt_clock(n.end_s) if n.end_s is not None else None
        when = fmt_clock(n.time_s) + (f"–{end}" if end not in (None, fmt_clock(n.time_s)) else "")  # not 0:28–0:28
        parts.append(Text(f"note {when}{' (' + terminal_safe(n.moment) + ')' if n.moment else ''}"
                          f"{' by ' + terminal_safe(n.author) if n.author else ''}: {terminal_safe(n.text, newlines=True)}",
                          style="yellow"))  # a note of several lines shows as such
    return Group(*parts)



COMPARE_LABEL_MIN = 48  # the measure column is its longest label wide, up to this: names are not cut


def compare_view(infos, metrics, *, title: str = "compare", notes=None) -> "CompareTables":
    """Sessions side by side in plain words. ``metrics`` may carry
    ``moments.{kind}`` counts (``moment_counts``); ``notes``: {session id:
    supervisor notes}, counted in a row. As many sessions as fit the console
    go in one table; more are folded into further tables, each with the
    measure column (``CompareTables``)."""
    from prosody.moments import KINDS
    from prosody.report.html import COMPARE_METRICS, UNATTRIBUTED_NOTE, session_label
    from prosody.report.wording import metric_plain
    # who the therapist is, as the compare page says it: sessions of two therapists side by side read as one
    # therapist's (hostile sweep 19)
    rows: list[tuple[str, list]] = [("therapist", [_t(i.meta.therapist or "–") for i in infos]),
                                    ("client", [_t(i.meta.client or "–") for i in infos]),
                                    ("session no.", ["–" if i.meta.session_number is None
                                                     else str(i.meta.session_number) for i in infos]),
                                    ("speakers", [_t(", ".join(i.speakers) or "–") for i in infos])]
    for m in COMPARE_METRICS:
        vals = [metrics[i.id].get(m.key) for i in infos]
        if all(v is None for v in vals):
            continue
        cells = []
        for i, v in zip(infos, vals):
            cell = m.text(metrics[i.id]).replace(" semitones", " st")
            if m.key == "warmth.score" and v is not None and metrics[i.id].get("warmth.profile"):
                cell += f" {PROFILE_MARK}"
            if m.group == "attunement" and v is not None:
                base = m.key.rsplit(".", 1)[0]
                lo, hi = metrics[i.id].get(base + ".chance_low"), metrics[i.id].get(base + ".chance_high")
                if lo is not None and hi is not None and not lo <= v <= hi:
                    cell += "*"
            cells.append(cell)
        rows.append((m.row_label, cells))
    for kind in KINDS:
        vals = [metrics[i.id].get(f"moments.{kind}") for i in infos]
        if any(vals):
            rows.append((metric_plain(f"moments.{kind}").label, ["–" if v is None else str(int(v)) for v in vals]))
    if notes is not None:
        rows.append(("Supervisor notes", [str(len(notes.get(i.id, ()))) for i in infos]))
    # the cells say "st" for room; the summary and the report say "semitones" (walk-through: "1.4 st" unexplained)
    caption = ("* attunement beyond its chance interval; counts: in all (per 10 minutes); st: semitones (one piano "
               "key; 2 are a clearly audible step); `prosody show ID` explains each measure")
    if any(UNATTRIBUTED in i.speakers for i in infos):
        caption += f"; {UNATTRIBUTED_NOTE}"  # the compare page's words
    if any(metrics[i.id].get("warmth.profile") for i in infos):
        caption += f"; {PROFILE_NOTE}"
    caption += heard_two_caption(infos, metrics) + layouts_caption(infos, metrics)
    return CompareTables(title, [_t(session_label(i)) for i in infos], rows, caption)


class CompareTables:
    """``compare``'s table, folded to the console's width when rendered: the
    measure column (its longest label wide, up to ``COMPARE_LABEL_MIN``) and as many session
    columns as fit beside it; the next sessions in a further table with the
    measure column again; the caption under the last. ``rows``: (label,
    one cell per session)."""

    def __init__(self, title: str, heads: list, rows: list[tuple[str, list]], caption: str):
        self.title, self.heads, self.rows, self.caption = title, heads, rows, caption

    @staticmethod
    def _len(x) -> int:
        from rich.cells import cell_len
        return x.cell_len if isinstance(x, Text) else cell_len(str(x))

    def label_width(self) -> int:
        """The measure column's least width: its longest label, at most ``COMPARE_LABEL_MIN``."""
        return min(COMPARE_LABEL_MIN, max((self._len(lab) for lab, _ in self.rows), default=0))

    def column_width(self, j: int) -> int:
        """Session ``j``'s column: its widest cell or heading, whole."""
        return max([self._len(self.heads[j])] + [self._len(cells[j]) for _, cells in self.rows])

    def chunks(self, width: int) -> list[list[int]]:
        """Session indices per table for a console ``width`` columns wide."""
        label_w = self.label_width()
        out: list[list[int]] = []
        used = label_w
        for j in range(len(self.heads)):
            w = 3 + self.column_width(j)  # " │ " and the cell
            if out and out[-1] and used + w <= width:
                out[-1].append(j)
                used += w
            else:
                out.append([j])
                used = label_w + w
        return out or [[]]

    def tables(self, width: int) -> list[Table]:
        chunks = self.chunks(width)
        out = []
        for k, chunk in enumerate(chunks):
            title = self.title if k == 0 else f"{self.title} (continued)"
            t = Table(title=_t(title), title_justify="left", show_edge=False, pad_edge=False)
            values_w = sum(3 + self.column_width(j) for j in chunk)
            t.add_column("measure", overflow="ellipsis", no_wrap=True, min_width=self.label_width(),
                         max_width=max(self.label_width(), width - values_w))
            for j in chunk:  # values whole: the measure column gives way, not them
                t.add_column(self.heads[j], justify="right", no_wrap=True, min_width=self.column_width(j))
            for label, cells in self.rows:
                t.add_row(label, *[cells[j] for j in chunk])
            if k == len(chunks) - 1:
                t.caption, t.caption_justify = self.caption, "left"
            out.append(t)
        return out

    def __rich_console__(self, console, options):
        for k, t in enumerate(self.tables(options.max_width)):
            if k:
                yield Text("")
            yield t


def stored_sessions(store, raw) -> dict:
    """Session id -> its ``StoredSession`` (what ``moment_counts`` reads) from ``store.get_raw`` of each
    (``raw``, read in the command's snapshot), or the ``SessionUnreadableError`` of one whose stored
    document cannot be read."""
    from prosody.errors import SessionUnreadableError
    out = {}
    for r in raw:
        try:
            out[r[0].id] = store.from_raw(r)
        except SessionUnreadableError as exc:
            out[r[0].id] = exc
    return out


def moment_counts(stored: dict, cfg=None, *, err=None) -> dict[int, dict[str, float]]:
    """``moments.{kind}`` counts per session of ``stored`` (``stored_sessions``; ``prosody moments``
    with the default ranking). A session whose stored document cannot be read gets no counts (blank in
    the table), and one warning line on ``err`` that names it; the other columns come from the store's
    tables."""
    from prosody.moments import count_by_kind
    from .review import session_moments
    out = {}
    for sid, st in stored.items():
        if isinstance(st, Exception):
            if err is not None:
                err.write(f"prosody: warning: {terminal_safe(st)}; its moment counts are left blank\n")
            out[sid] = {}
            continue
        out[sid] = {f"moments.{k}": float(v) for k, v in count_by_kind(session_moments(st, cfg)).items()}
    return out


PROFILE_MARK = "†"  # as the page's (prosody.report.html.PROFILE_MARK)

PROFILE_NOTE = (f"{PROFILE_MARK} warmth relative to a personal baseline profile (--baseline), not to the session's "
                "own: set it beside sessions of the same profile only")


def mark_profile_warmth(stored: dict, metrics: dict) -> None:
    """``warmth.profile`` = 1.0 in ``metrics`` of each session of ``stored`` (``stored_sessions``) whose warmth is
    relative to a personal baseline profile (``analyze --baseline``), not to the session's own: the same recording
    scored 68 against itself and 62 against a profile, and `compare` put both in one row "Warmth (own baseline)"
    (hostile sweep 19)."""
    for sid, st in stored.items():
        doc = getattr(st, "doc", None)
        measures = doc.get("measures") if isinstance(doc, dict) else None
        base = measures.get("baseline") if isinstance(measures, dict) else None
        if isinstance(base, dict) and base.get("kind") == "profile" and sid in metrics:
            metrics[sid]["warmth.profile"] = 1.0


def mark_heard_two(stored: dict, metrics: dict) -> None:
    """``voices.heard_two`` = 1.0 in ``metrics`` of each session of ``stored`` told one voice (``--voices 1``) whose
    audio alone gives two (``Diarization.heard_two``): the user's count may be wrong (older leftovers, 2026-12-05)."""
    for sid, st in stored.items():
        doc = getattr(st, "doc", None)
        att = doc.get("attribution") if isinstance(doc, dict) else None
        dia = att.get("diarization") if isinstance(att, dict) else None
        if isinstance(dia, dict) and isinstance(dia.get("heard_two"), dict) and sid in metrics:
            metrics[sid]["voices.heard_two"] = 1.0


def mark_layouts(stored: dict, metrics: dict) -> None:
    """``layout.<layout>`` = 1.0 in ``metrics`` of each session of ``stored`` (``session.attribution_of``), which
    ``wording.layouts_note`` reads."""
    from prosody.report.wording import LAYOUT_MARK
    from prosody.session import attribution_of
    for sid, st in stored.items():
        doc = getattr(st, "doc", None)
        if isinstance(doc, dict) and sid in metrics:
            metrics[sid][LAYOUT_MARK + attribution_of(doc)[0]] = 1.0


def layouts_caption(infos, metrics) -> str:
    """The caption's words on sessions of different layouts ('' where alike)."""
    from prosody.report.wording import layouts_note
    note = layouts_note([i.id for i in infos], metrics)
    return f"; {note}" if note else ""


def heard_two_caption(infos, metrics) -> str:
    """The caption's words on the sessions ``mark_heard_two`` marked ('' for none)."""
    ids = [str(i.id) for i in infos if metrics[i.id].get("voices.heard_two")]
    if not ids:
        return ""
    return (f"; session{'s' * (len(ids) > 1)} {', '.join(ids)}: told one voice (--voices 1), but the audio sounds "
            "like two people: the count told may be wrong and the figures may mix both (analyse again without "
            "--voices 1)")


TREND_COLUMNS = (("therapist.talk_share", "talk"), ("therapist.gap_median_s", "wait"),
                 ("client.gap_median_s", "c.wait"), ("therapist.interruptions", "over"),
                 ("therapist.speech_rate_syl_s", "pace"), ("warmth.score", "warmth"), ("feedback.srs_total", "SRS"),
                 ("feedback.rating", "rate"))
VQ_TREND_COLUMNS = (("voice_quality.therapist.jitter_local", "jitter"),
                    ("voice_quality.therapist.shimmer_local", "shimmer"),
                    ("voice_quality.therapist.hnr_db", "HNR"), ("voice_quality.therapist.cpps_db", "CPPS"))


def _per10(v, duration_s) -> str:
    return "–" if v is None or not duration_s else f"{v / (duration_s / 600):.1f}"


def trend_view(infos, metrics, *, title: str):
    """Sessions as rows, in plain words, fitting 80 columns; moments per kind
    below when ``metrics`` carries ``moments.{kind}``."""
    parts = [_trend_table(infos, metrics, title=title)]
    parts += _voice_quality_trend(infos, metrics) + _moments_trend(infos, metrics)
    return parts[0] if len(parts) == 1 else Group(*parts)


def _trend_table(infos, metrics, *, title: str) -> Table:
    """One row per session: id, date, client and the TREND_COLUMNS, with the caption that says the dashes."""
    t = Table(title=_t(title), title_justify="left", box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for col, just in (("id", "right"), ("date", "left"), ("client", "left")):
        t.add_column(col, justify=just, no_wrap=True, overflow="ellipsis", max_width=10 if col == "client" else None)
    for _, label in TREND_COLUMNS:
        t.add_column(label, justify="right", no_wrap=True)
    for i in infos:
        m = metrics[i.id]
        cells = [_trend_cell(k, m) for k, _ in TREND_COLUMNS]
        # the column is 10 wide: a long pseudonym is cut, never its session number (" #2" was cut off; sweep 19)
        name, num = terminal_safe(i.meta.client or ""), ("" if i.meta.session_number is None
                                                          else f" #{i.meta.session_number}")
        room = max(3, 10 - len(num))
        who = _t((name if len(name) <= room else name[:room - 1] + "…") + num)
        t.add_row(str(i.id), (i.meta.recorded_at or "")[:10], who, *cells)
    t.caption = _trend_caption(infos, metrics)
    t.caption_justify = "left"
    return t


def _trend_cell(k: str, m: dict) -> str:
    """One TREND_COLUMNS cell of a session's metrics ``m``."""
    from prosody.report.html import METRICS_BY_KEY
    if k == "therapist.interruptions":
        return _per10(m.get(k), m.get("duration_s"))
    if k.endswith("talk_share"):
        return METRICS_BY_KEY[k].format(m.get(k)) + ("" if m.get(k) is None else "%")
    if k.endswith("speech_rate_syl_s"):
        return _v(m.get(k), ".1f")
    if k == "warmth.score" and m.get(k) is not None and m.get("warmth.profile"):
        return METRICS_BY_KEY[k].format(m.get(k)) + PROFILE_MARK
    return METRICS_BY_KEY[k].format(m.get(k))


def _trend_caption(infos, metrics) -> str:
    """What the columns mean, and why a row shows dashes (unsure, one voice, no speech)."""
    caption = ("client #N = session number; talk = your share of the talking; wait / c.wait = your / the client's typical wait before "
               "answering (s); over = you talked over the client, per 10 min; pace = your syllables per second; "
               "SRS 0-40 and rate 1-5: the client's rating")
    unsure = [str(i.id) for i in infos if UNATTRIBUTED in i.speakers]
    if unsure:  # a row of dashes says why
        caption += (f"; session{'s' * (len(unsure) > 1)} {', '.join(unsure)}: who spoke when is unsure, the speech "
                    f"left {UNATTRIBUTED}, so no figures of yours")
    # rows of dashes say why, as the unsure ones do: a session of one voice (`--voices 1`, `--speaker`, one
    # channel) or of no speech showed dashes, or a talk-over rate of 0.0, without a word (hostile sweep 19)
    one = [str(i.id) for i in infos if len(i.speakers) == 1 and UNATTRIBUTED not in i.speakers]
    if one:
        caption += (f"; session{'s' * (len(one) > 1)} {', '.join(one)}: one voice, so no talk share, waits or "
                    "talking over")
    caption += heard_two_caption(infos, metrics) + layouts_caption(infos, metrics)
    if any(metrics[i.id].get("warmth.profile") for i in infos):
        caption += f"; {PROFILE_NOTE}"
    quiet = [str(i.id) for i in infos if len(i.speakers) != 1 and metrics[i.id].get("duration_s")
             and not any(metrics[i.id].get(f"{s}.speech_s") for s in ("therapist", "client"))]
    if quiet:
        caption += f"; session{'s' * (len(quiet) > 1)} {', '.join(quiet)}: no speech found"
    return caption + _call_delay_caption(infos, metrics)


def _call_delay_caption(infos, metrics) -> str:
    """A video call's (``--network-delay-ms``) c.wait is the client's wait as measured, the call's round trip in
    it; `show` and the report also give it less the delay, which trend did not say (walk58)."""
    said = []
    for i in infos:
        m = metrics[i.id]
        if m.get("network_delay_ms") and m.get("timing.client.gap_median_corrected_s") is not None:
            said.append(f"session {i.id}: a call ({m['network_delay_ms']:g} ms each way), the client's wait "
                        f"{m['timing.client.gap_median_corrected_s']:+.2f} s less its delay")
    return "".join(f"; {x}" for x in said) + ("; c.wait is as measured, with the call's delay in it" if said else "")


def _voice_quality_trend(infos, metrics) -> list:
    """The therapist's voice quality per session, as a heading and a table; nothing where no session has it."""
    from prosody.report.html import METRICS_BY_KEY
    if not any(metrics[i.id].get(k) is not None for i in infos for k, _ in VQ_TREND_COLUMNS):
        return []
    vt = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    vt.add_column("id", justify="right")
    for _, label in VQ_TREND_COLUMNS:
        vt.add_column(label, justify="right", no_wrap=True)
    for i in infos:
        vt.add_row(str(i.id), *[METRICS_BY_KEY[k].format(metrics[i.id].get(k)) for k, _ in VQ_TREND_COLUMNS])
    # `show` has no voice quality: the report has it, per phase too (walk59)
    return [Text("your voice quality (jitter and shimmer: local, %; HNR and CPPS: dB; `prosody report ID` gives "
                 "them per phase)", style="italic"), vt]


def _moments_trend(infos, metrics) -> list:
    """Moments to review per kind and session, as a heading and a table; nothing where no session has any."""
    from prosody.moments import KIND_SHORT, KINDS
    kinds = [k for k in KINDS if any(metrics[i.id].get(f"moments.{k}") for i in infos)]
    if not kinds:
        return []
    mt = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    mt.add_column("id", justify="right")
    for k in kinds:
        mt.add_column(KIND_SHORT[k], justify="right", no_wrap=True)
    for i in infos:  # a session whose document could not be read has no counts: blank, as said (was 0)
        counts = [metrics[i.id].get(f"moments.{k}") for k in kinds]
        mt.add_row(str(i.id), *["–" if v is None else str(int(v)) for v in counts])
    return [Text("moments to review, per kind (`prosody moments ID` lists them)", style="italic"), mt]


# -- commands -------------------------------------------------------------------------------------------------------
def _write_html(path: str, html: str, *, fresh: frozenset = frozenset()) -> None:
    """The page at ``path``; written only as a new file where it is in ``fresh`` (no file there when checked)."""
    from prosody.fileio import write_private
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: folder {parent} does not exist")
    write_private(path, html, new_only=str(Path(path)) in fresh)


def cmd_sessions(args, out, err) -> int:
    with _open(args) as store:
        infos = store.list(therapist=args.therapist, client=args.client, tag=args.tag, since=args.since,
                           until=args.until)
    _console(out).print(sessions_view(infos))
    return EXIT_OK


def cmd_show(args, out, err) -> int:
    with _open(args) as store:
        stored = store.get(args.session)
    SaidConsole(file=out, width=None if getattr(out, "isatty", lambda: False)() else 80).print(show_view(stored))
    return EXIT_OK


def cmd_report(args, out, err) -> int:
    from prosody.report.html import session_report
    from prosody.report.review import moments_section
    from .review import moments_config, session_moments
    if args.output is not None:  # -o "" is refused, not taken for the default name (a file there: decided below,
        _guard(args, ("-o", args.output), page=True, overwrite=True)  # once the recording is known as an input)
    with _open(args) as store:
        # one state of it (a relabel meanwhile mixed two, sweep 12); its frames file lost: the page without traces
        stored, frames, lost = store.read_document_kept(args.session)
    path = args.output if args.output is not None else f"session-{stored.info.id}.html"
    _guard(args, ("-o" if args.output else "report", path), docs=[stored.doc], page=True)
    fresh = frozenset() if args.overwrite else new_outputs([path])
    ms = session_moments(stored, moments_config(args))
    clips = None
    if args.clips:
        from prosody.report.review import make_clips
        clips, why = make_clips(stored.doc, ms, fmt=args.clips_format)
        if clips is None:
            err.write(f"prosody: no clips in the report: {terminal_safe(why)}\n")
    _write_html(path, session_report(stored, frames, extra_sections=[moments_section(stored, ms, clips=clips)],
                                     frames_lost=lost), fresh=fresh)
    if lost:
        err.write(f"prosody: warning: {terminal_safe(lost)}: the report has no pitch or level traces\n")
    if clips:
        err.write(f"prosody: warning: {terminal_safe(path)} now holds {len(clips)} clip{'s' if len(clips) != 1 else ''} "
                  "of the session's audio "
                  "(client audio): "
                  "keep it as private as the recording; it is readable by you only\n")
    err.write(f"prosody: report written to {terminal_safe(path)}\n")
    return EXIT_OK


def cmd_compare(args, out, err) -> int:
    from prosody.report.html import compare_report
    # a file there is decided below, once the recordings are known as inputs (said as one, not as a file there)
    _guard(args, ("-o", args.output), page=True, overwrite=True)
    # one state of the store (a session deleted or relabelled between two reads mixed two, sweep 12); the
    # moments are found after it, from the documents read in it (the read stays short: `delete` waits for it)
    with _open(args) as store, store.snapshot():
        given = [(r, store.resolve(r)) for r in args.sessions]
        ids = list(dict.fromkeys(sid for _, sid in given))  # `1 #1 last` name one session: one column, said below
        if args.output:  # nor over a recording of the sessions compared
            _guard(args, ("-o", args.output), docs=store.recording_fields(ids), page=True)
        fresh = frozenset() if args.overwrite else new_outputs([args.output])
        infos = store.list(ids=ids)
        metrics = store.metrics(ids)
        raw = [store.get_raw(sid) for sid in ids]  # documents checked after the snapshot: it stays short
        notes = {sid: store.notes(sid) for sid in ids}
    stored = stored_sessions(store, raw)
    for sid, counts in moment_counts(stored, err=err).items():
        metrics[sid].update(counts)
    mark_profile_warmth(stored, metrics)
    mark_heard_two(stored, metrics)
    mark_layouts(stored, metrics)
    # by date, as `trend` and `sessions` (undated last): given in another order, a week's change read backwards and
    # the page's charts ran against time (the walk-through's "found, not fixed"; hostile sweep 19)
    twice = _named_twice(given)
    if twice:
        err.write(f"prosody: note: {twice}\n")
    shown = [i.id for i in infos]
    if shown != ids:
        err.write(f"prosody: note: sessions shown by date, the earliest first ({', '.join(map(str, shown))}), not in "
                  "the order given\n")
    title = "compare: sessions " + ", ".join(str(i) for i in shown)
    if args.output:  # the page before the table: a table's reader gone (`| head`) ended the command, unwritten
        _write_html(args.output, compare_report(infos, metrics, title=title, notes=notes), fresh=fresh)
    _console(out).print(compare_view(infos, metrics, title=title, notes=notes))
    if args.output:
        err.write(f"prosody: comparison written to {terminal_safe(args.output)}\n")
    return EXIT_OK


def _named_twice(given: list[tuple[str, int]]) -> str:
    """The note of ``compare``'s sessions named more than once (``given``: (reference as typed, session ID)), each
    shown once; "" where none is: `compare 1 1` showed one column, unsaid (hostile sweep 57)."""
    refs: dict[int, list[str]] = {}
    for ref, sid in given:
        refs.setdefault(sid, []).append(ref)
    many = [(sid, r) for sid, r in refs.items() if len(r) > 1]
    if not many:
        return ""
    told = [(sid, f"{'twice' if len(r) == 2 else f'{len(r)} times'} ({', '.join(r)})") for sid, r in many]
    said = f"session {told[0][0]} is given {told[0][1]}" + "".join(f" and session {i} {t}" for i, t in told[1:])
    shown = ("one session, shown once, so nothing is compared" if len(refs) == 1
             else "each shown once" if len(many) > 1 else "shown once")
    return terminal_safe(f"{said}: {shown}")


def _sessions_said(ids: list[int]) -> str:
    """``session 4`` / ``sessions 4, 7`` / ``12 sessions (4, 7, 9, ...)``."""
    if len(ids) == 1:
        return f"session {ids[0]}"
    shown = ", ".join(str(i) for i in ids[:8]) + (", ..." if len(ids) > 8 else "")
    return f"sessions {shown}" if len(ids) <= 8 else f"{len(ids)} sessions ({shown})"


def cmd_trend(args, out, err) -> int:
    from prosody.report.html import compare_report
    # a file there is decided below, once the recordings are known as inputs (said as one, not as a file there)
    _guard(args, ("-o", args.output), page=True, overwrite=True)
    with _open(args) as store, store.snapshot():  # one state of the store, as compare
        infos = store.list(therapist=args.therapist, client=args.client, tag=args.tag, since=args.since,
                           until=args.until)
        undated = [i.id for i in infos if not i.meta.recorded_at]
        if args.last:  # the last N in time: a session without a date is not known to be among them
            dated = [i for i in infos if i.meta.recorded_at][-args.last:]
            if infos and not dated:
                none = ("the one session of these filters has no date" if len(infos) == 1 else
                        f"none of the {len(infos)} sessions of these filters has a date")
                raise InputError(f"--last {args.last}: {none} ({_sessions_said(undated)}); prosody edit N --date "
                                 "YYYY-MM-DD sets one, or leave out --last")
            infos = dated
            if undated:
                err.write(f"prosody: note: {_sessions_said(undated)} without a date left out of --last "
                          f"{args.last} (not known to be among the latest); prosody edit N --date YYYY-MM-DD "
                          "sets one\n")
        elif undated:
            err.write(f"prosody: note: {_sessions_said(undated)} without a date shown after the dated ones; "
                      "prosody edit N --date YYYY-MM-DD sets one\n")
        if not infos:
            raise InputError(f"no sessions for therapist {args.therapist!r} with these filters; "
                             "`prosody sessions` lists them")
        if args.output:  # nor over a recording of the sessions shown
            _guard(args, ("-o", args.output), docs=store.recording_fields([i.id for i in infos]), page=True)
        fresh = frozenset() if args.overwrite else new_outputs([args.output])
        metrics = store.metrics([i.id for i in infos])
        raw = [store.get_raw(i.id) for i in infos]  # documents checked after the snapshot: it stays short
    stored = stored_sessions(store, raw)
    for sid, counts in moment_counts(stored, err=err).items():
        metrics[sid].update(counts)
    mark_profile_warmth(stored, metrics)
    mark_heard_two(stored, metrics)
    mark_layouts(stored, metrics)
    title = f"trend: {args.therapist}" + (f" with {args.client}" if args.client else "")
    if args.output:  # the page before the table, as compare's (hostile sweep 49)
        _write_html(args.output, compare_report(infos, metrics, title=title), fresh=fresh)
    _console(out).print(trend_view(infos, metrics, title=title))
    if args.output:
        err.write(f"prosody: trend written to {terminal_safe(args.output)}\n")
    return EXIT_OK


_EXPORT_SUFFIXES = {f".{f}": f for f in EXPORT_FORMATS}  # each format's file suffix is its name


def _export_format(args) -> tuple[str, str | None]:
    """``--format``, or the one ``-o``'s suffix names (else json); and, for a suffix of
    another format than the one given, why it is refused (``-o notes.csv`` used to get JSON),
    else None. Refused after the output-path guards: an output over an input is said first."""
    named = _EXPORT_SUFFIXES.get(Path(args.output).suffix.lower()) if args.output not in (None, "-") else None
    if args.format is None:
        return named or "json", None
    if named is not None and named != args.format:
        return args.format, (f"-o {args.output} is named like {named} but --format is {args.format}: "
                             f"name the file for its format, or give --format {named}")
    return args.format, None


def cmd_export(args, out, err) -> int:
    args.format, mismatch = _export_format(args)
    frames_beside = None
    if args.output not in (None, "-"):
        # "", "." or "/" refused before a name is made from it; whether an existing file may be replaced is
        # decided once the session is known (its own earlier export is written again)
        _guard(args, ("-o", args.output), stdout_ok=True, overwrite=True)
        frames_beside = (str(Path(args.output).with_name(Path(args.output).name.removesuffix(".json") + ".frames.npz"))
                         if args.format == "json" else None)
        _guard(args, ("-o", args.output), ("-o (frames beside it)", frames_beside), stdout_ok=True, overwrite=True)
    with _open(args) as store:
        sid = store.resolve(args.session)
        bundle = store.bundle(sid)
    if args.output not in (None, "-"):  # nor over the session's own recording
        _guard(args, ("-o", args.output), ("-o (frames beside it)", frames_beside), docs=[bundle.doc],
               remade=export_of(bundle.uid),
               stdout_ok=True)
    if mismatch is not None:
        raise InputError(mismatch)
    uri = f"session{sid}"
    if args.output in (None, "-"):
        if args.format == "parquet":
            raise InputError("Parquet is binary: give -o PATH.parquet")
        getattr(out, "write_data", out.write)(export_text(bundle, args.format, uri=uri))  # UTF-8, whatever the locale
        if args.format == "json" and bundle.frames_lost:  # not "-o PATH.json writes them beside it"
            err.write(f"prosody: warning: {terminal_safe(bundle.frames_lost)}: session {sid} has no per-frame "
                      "features to export\n")
        elif args.format == "json" and bundle.frames is not None:
            err.write("prosody: note: per-frame features are not in JSON on stdout; "
                      "-o PATH.json writes them beside it\n")
        return EXIT_OK
    fresh = frozenset() if args.overwrite else new_outputs([args.output, frames_beside])
    with _signals_wait() as came:  # the JSON and its frames file, both or neither: a signal between them left
        written = write_export(bundle, args.format, args.output, uri=uri, fresh=fresh)  # the JSON alone (sweep 12)
        err.write(f"prosody: exported session {sid} to {terminal_safe(', '.join(str(p) for p in written))}"
                  f"{_without_frames(bundle, args.format)}\n")
    if came:
        return _signalled(came, err, f"session {sid} was exported first")
    return EXIT_OK


FRAMES_FORMATS = ("json", "parquet")  # the export formats that carry a session's per-frame features (CSV: only them)


def _without_frames(bundle, fmt: str) -> str:
    """What an export's line adds for a session whose frames file is lost: what it lacks, and why."""
    if not bundle.frames_lost or fmt not in FRAMES_FORMATS:  # RTTM, TextGrid, EAF never hold them
        return ""
    return (f" without per-frame features ({terminal_safe(bundle.frames_lost)}; the analysis, bookmarks, notes "
            "and feedback are whole)")


def cmd_import(args, out, err) -> int:
    overrides = {k: v for k, v in (("therapist", args.therapist), ("client", args.client),
                                   ("session_number", args.session_number), ("notes", args.notes)) if v is not None}
    if args.date is not None:
        overrides["recorded_at"] = parse_when(args.date)
    from prosody.formats.schema import check_meta_fields
    check_meta_fields(**overrides, tags=list(args.tag), where="command line")  # the flags' own errors name them
    bundle = read_export(args.path, frames_path=args.frames, meta_overrides=overrides, add_tags=args.tag)
    if "audio" not in bundle.doc and isinstance(bundle.doc.get("live"), dict):
        from prosody.clips import live_audio_record  # a live --record file: hash it now, to play moments later
        rec, changed = live_audio_record(bundle.doc)
        if rec is not None:
            bundle.doc = {**bundle.doc, "audio": rec}
        if changed is not None:
            err.write(f"prosody: warning: {terminal_safe(changed)}\n")
    with _signals_wait() as came:  # a signal between the commit and the rescue copy's removal left both
        with _open(args, create=True) as store:  # a number typed is refused when taken; the file's: the next
            replaced = None if args.new_id else _earlier_live_save(store, bundle, args.path)
            if replaced is None:
                sid = store.import_bundle(bundle, new_id=args.new_id, renumber=args.session_number is None)
            else:
                sid, swapped = _replace_live_save(store, bundle, replaced[0], overrides, args.tag)
                replaced = (sid, replaced[1] + swapped)
            number = store.info(sid).meta.session_number
            said = _confirm(out, err, f"imported {terminal_safe(args.path)} as session {sid}"
                            f"{'' if bundle.frames is not None else ' (no per-frame features found beside it)'}"
                            f"{'' if replaced is None else replaced[1]}\n")
        if bundle.no_date is not None:  # a live capture under a clock before 1980, a file dated year 10000
            err.write(f"prosody: warning: {terminal_safe(bundle.no_date)} (`prosody edit {sid} --date "
                      "YYYY-MM-DD[THH:MM]` sets it)\n")
        live = bundle.doc.get("live")
        if isinstance(live, dict) and live.get("complete") is False:  # `show` and the report say it too
            from prosody.report.wording import live_incomplete
            err.write(f"prosody: warning: {terminal_safe(live_incomplete(live))}\n")
        if bundle.meta.session_number is not None and number != bundle.meta.session_number:  # renumbered
            err.write(f"prosody: note: {_client_words(bundle.meta)} already has a session number "
                      f"{bundle.meta.session_number}: the imported session {sid} is number {number} "
                      f"(`prosody edit {sid} --session-number N` changes it)\n")
        from prosody.formats.export import is_unsaved_copy, remove_unsaved_copy
        if is_unsaved_copy(args.path):  # committed: the copy kept after a failed --save has done its job
            removed, left = remove_unsaved_copy(args.path)
            if removed:
                said = _confirm(out, err, f"removed the rescue copy {terminal_safe(', '.join(removed))}: "
                                "the session is in the store\n") and said
            for why in left:
                err.write(f"prosody: warning: could not remove the rescue copy {terminal_safe(why)}; "
                          "delete it by hand\n")
    if came:  # said last: the import and the removal were not cut short
        return _signalled(came, err, f"the session was imported as session {sid} first")
    return EXIT_OK if said else EXIT_ERROR


def _earlier_live_save(store, bundle, path) -> tuple[int, str] | None:
    """Where the store holds a save of the same live session (its ``live.session_id``) as the file imported:
    (its ID, the words saying what is replaced) when the file is a later save of it (an autosave imported,
    then the final save: two sessions of one recording, counted twice in trends; hostile sweep 33); an
    InputError where the file is that save again or an earlier one; None where none is stored (or it is an
    export of that very session: the uid's own refusal says it)."""
    from prosody.report.wording import fmt_duration
    from prosody.store.db import live_session_id
    live = bundle.doc.get("live") if isinstance(bundle.doc.get("live"), dict) else {}
    own = live_session_id(live)
    found = store.live_session(own) if own else None
    if found is None or (bundle.uid is not None and found[1] == bundle.uid):
        return None
    sid, _, stored = found

    def held(lv: dict) -> str:
        final = _final_save(lv)
        length = lv.get("captured_s" if final else "analysed_s")
        length = fmt_duration(length) if isinstance(length, (int, float)) else "an unknown length"
        return f"its final save, {length}" if final else f"an autosave of its first {length}"

    if live.get("started_at") != stored.get("started_at"):  # another recording that carries the id (an edited or
        # forged file): it replaced that session, its client given over it (hostile sweep 34)
        raise InputError(f"{path} carries the live session id of session {sid}, but it started at "
                         f"{_said_start(live)} and that session at {_said_start(stored)}: it is not a save of that "
                         "session, so nothing was imported (`prosody import --new-id` imports it as a session of "
                         "its own)")
    later = not _final_save(stored) and (
        (isinstance(live.get("captured_s"), (int, float)) and isinstance(stored.get("captured_s"), (int, float))
         and live["captured_s"] > stored["captured_s"]) or _final_save(live))
    if not later:  # a final save is a live session's last: no save of it comes after (hostile sweep 34)
        raise InputError(f"{path} is a save of the live session already in the store as session "
                         f"{sid} ({held(stored)}; this file: {held(live)}), so nothing was imported: one recording "
                         "is one session (`prosody import --new-id` keeps it as a second one)")
    return sid, (f", replacing the store's earlier save of this live session ({held(stored)}) with this one ({held(live)}); "
                 "its number, tags, notes and feedback are kept")


def _final_save(live: dict) -> bool:
    """Whether a live save is its session's final one (written as it ended), not an autosave."""
    return bool(live.get("complete") or live.get("stop_reason"))


def _said_start(live: dict) -> str:
    """A live save's ``started_at`` for an error line (``main`` says the line safely: typed into an edited file,
    it is data)."""
    when = live.get("started_at")
    return when if isinstance(when, str) and when else "an unknown time"


def _replace_live_save(store, bundle, sid: int, overrides: dict, tags) -> tuple[int, str]:
    """Session ``sid`` (an earlier save of the live session ``bundle`` is a later save of) replaced by it in
    place: its ID, uid, number, metadata and tags kept (the command line's given over them), its supervisor
    notes and feedback kept (``Store.save(session_id=...)``), and its two voices exchanged where `prosody
    relabel` had exchanged the stored one's (the replacement undid it without a word). Returns (its ID, the
    words on the exchange, or "")."""
    from prosody.relabel import SWAP_NOTE, relabel
    stamp = store.stamp(sid)
    meta = store.info(sid).meta
    meta = dataclasses.replace(meta, **overrides, tags=tuple(dict.fromkeys(tuple(meta.tags) + tuple(tags))))
    doc, frames, swapped = bundle.doc, bundle.frames, ""
    if SWAP_NOTE in (store.get(sid).doc.get("warnings") or []) and SWAP_NOTE not in (doc.get("warnings") or []):
        doc, frames = relabel(doc, frames)
        swapped = "; its two voices exchanged, as `prosody relabel` had exchanged those of the save it replaces"
    return store.save(doc, frames, meta=meta, bookmarks=bundle.bookmarks, session_id=sid, unchanged=stamp), swapped


@contextlib.contextmanager
def _signals_wait():
    """Ctrl-C, SIGTERM and SIGHUP wait while the block runs (a delete: milliseconds); yields the
    list of those that came. Raised between the store's commit and the ledger's (or before the
    frames file was removed), Ctrl-C left a session half erased; SIGTERM's default death the same."""
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    # a SIGHUP that comes ignored (`nohup prosody delete ...`) stays so: waited for, it was said as "stopped by
    # SIGHUP", exit 129, after a delete nothing had stopped (hostile sweep 11)
    old = {s: signal.signal(s, lambda signum, frame: came.append(signum))
           for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
           if not (s == signal.SIGHUP and signal.getsignal(s) == signal.SIG_IGN)}
    try:
        yield came
    finally:
        if came and program_handlers(old):
            # the program is stopping: a second signal just after the change (a Ctrl-C held by it, a SIGTERM a
            # few milliseconds later) raised before the change was said, and the one line said only 'stopped
            # by SIGTERM' after a delete that was made (hostile sweep 15); the first stands for both
            stopping(came[0])
        else:
            for s, handler in old.items():
                signal.signal(s, handler)


def _confirm(out, err, text: str) -> bool:
    """A store-changing command's line saying what it did (``text``, one line) to ``out``, flushed at
    once. Where standard output fails (a full disk, a reader gone), the change is made all the same:
    the line goes to ``err`` with why (it said only ``cannot write to standard output`` before, after a
    delete that had happened) and False is returned, for the command's exit status."""
    try:
        out.write(text)
        out.flush()
        return True
    except OSError as exc:
        _unsaid(err, exc, text)
        return False


def _unsaid(err, exc: OSError, done: str) -> None:
    err.write(f"prosody: error: cannot write to standard output ({exc.strerror or exc}); done: {done}")


def _signalled(came: list[int], err, done: str) -> int:
    """After a ``_signals_wait`` block that a signal came during: one line saying what was ``done``
    first, and the shell's status for the first signal (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
    what = "interrupted" if came[0] == signal.SIGINT else f"stopped by {signal.Signals(came[0]).name}"
    err.write(f"prosody: error: {what}; {done}\n")
    return 128 + came[0]


def _recordings_kept(audio) -> list[str]:
    """The recordings of ``Store.audio_files`` that ``live --record`` made and that are still there, the
    session's own (the same SHA-256: a file written under that name since is another's)."""
    from prosody.fileio import file_sha256
    kept = []
    for path, sha, recorded in audio:
        try:
            if recorded and sha and file_sha256(path) == sha:
                kept.append(path)
        except OSError:  # gone, or unreadable: nothing to say of a file prosody cannot tell is the session's
            pass
    return kept


def _live_files_kept(live_out) -> list[str]:
    """The live session's own file (``Store.live_output``: its JSON and the frames file it names) where it still
    holds that live session (its ``live.session_id``: a file written under that name since is another's, and a
    file prosody did not write is never named); [] otherwise."""
    from prosody.fileio import live_doc
    from prosody.store.db import live_session_id
    if live_out is None:
        return []
    path, own = live_out
    live = (live_doc(path) or {}).get("live")  # a FIFO put there is not waited on (hostile sweep 34)
    if not isinstance(live, dict) or live_session_id(live) != own:
        return []
    frames = live.get("frames_file")
    beside = Path(path).with_name(frames) if isinstance(frames, str) and frames and "/" not in frames else None
    return [path] + ([str(beside)] if beside is not None and beside.is_file() else [])


def _report_kept(sid: int, uid: str) -> tuple[str, bool | None] | None:
    """The page ``prosody report`` writes by default (``session-ID.html`` where it ran) found in this folder, where
    it is this session's (``is_report_of``: True) or a prosody report that names no session (None: one written
    before pages named theirs): (its name, which). A page the user named (``-o``) is theirs, not looked for; none
    is removed: a report is the user's copy (docs/store.md, *Delete erases every trace*)."""
    from prosody.report.html import is_report_of
    path = f"session-{sid}.html"
    if not os.path.isfile(path):  # a FIFO or a folder of that name is not read
        return None
    whose = is_report_of(path, uid)
    return None if whose is False else (path, whose)


def say_unerased(err, unerased, what: str) -> None:
    """What a delete left readable in the database file (``Store.delete``'s ``unerased``): gone from every query,
    the bytes not yet from the file. ``what``: "session 3's deleted rows are"."""
    for path in unerased:
        err.write(f"prosody: note: another program is reading the session store (a read open for over "
                  f"{BUSY_TIMEOUT_S:g} s), so {terminal_safe(what)} still readable in {terminal_safe(str(path))} "
                  "until it ends; then the next prosody command on the store (`prosody sessions`) erases them\n")


def cmd_delete(args, out, err) -> int:
    from prosody.batch.runner import forgetting_session, ledger_holds
    from prosody.errors import SessionNotFoundError
    built, recorded, live_files, tabled, came, said, report, unerased = [], [], [], False, [], True, None, []
    with _open(args) as store:
        try:
            info = store.info(args.session)
        except SessionNotFoundError:  # a delete killed after the store's commit left ledger rows, a frames file
            ref = str(args.session).removeprefix("#")
            if store.readonly or not (ref.isascii() and ref.isdigit()):
                raise
            sid = int(ref)
            with _signals_wait() as came:
                # the file a killed delete named (erased when the store was opened, whatever its age), then any
                # unreferenced and a minute old: no session's, no save's in progress (see Store.gc)
                swept = list(getattr(store, "finished_deletes", []))
                try:
                    swept += store.gc(min_age_s=OWN_ORPHAN_MIN_AGE_S)
                except (OSError, ProsodyError):  # unreadable, read-only or replaced: said by the command that needs it
                    pass
                left = ledger_holds(store.path, sid)
                if left:
                    with forgetting_session(store.path, sid, None) as tabled:
                        pass
            if not (left or swept):
                raise
            files = (f"{len(swept)} frames file{'s' if len(swept) != 1 else ''} that no session held (left by an "
                     "interrupted delete or save)")
            also = f" and {files}" if swept else ""
            said = _confirm(out, err, f"session {sid} was deleted already; its rows in the batch ledger{also} are "
                            "erased now\n" if left else f"no session {sid} in the store (deleted already); {files} "
                            "erased now\n")
        else:
            built = [name for name, _, from_sid, _ in store.profiles() if from_sid == info.id]  # NULL once deleted
            audio, unerased, live_out = store.audio_files(info.id), [], store.live_output(info.id)
            if store.readonly:  # a read-only (or full) store says so itself
                sid = store.delete(args.session)
            else:  # the ledger's change is committed after the store's, and not when the store's fails
                with _signals_wait() as came:
                    with forgetting_session(store.path, info.id, info.uid, audio, unerased=unerased) as tabled:
                        sid = store.delete(args.session, unerased=unerased)
            said = _confirm(out, err, f"deleted session {sid}\n")
            recorded, live_files = _recordings_kept(audio), _live_files_kept(live_out)
            report = _report_kept(sid, info.uid)
            say_unerased(err, unerased, f"session {sid}'s deleted rows are")
    if tabled:  # a copy prosody wrote without being asked for this session alone: never left unsaid
        err.write(f"prosody: note: session {sid} was analysed by `prosody batch`, whose per-session table "
                  f"(--table, by default prosody-batch.csv and .parquet in the folder it ran in) still holds its row "
                  "(names, file, measures); delete that row or the table yourself\n")
    for path in recorded:  # raw therapy audio prosody wrote itself: kept (the user asked for it), never unsaid
        err.write(f"prosody: note: session {sid}'s recording {terminal_safe(path)} (made by `prosody live "
                  "--record`) is kept: it holds the session's raw audio"
                  + ("; remove it yourself\n" if live_files else ", as the live session's own file (--output, and "
                     "its .frames.npz) holds its analysis wherever you kept it; remove them yourself\n"))
    if live_files:  # the analysis prosody wrote where the user asked: kept as the recording is, named (sweep 33)
        err.write(f"prosody: note: session {sid}'s own file{'s' if len(live_files) > 1 else ''} "
                  f"{' and '.join(terminal_safe(p) for p in live_files)} (written by `prosody live --output`) "
                  f"{'are' if len(live_files) > 1 else 'is'} kept: {'they hold' if len(live_files) > 1 else 'it holds'}"
                  " the session's analysis (pitch, level and speech, frame by frame); remove "
                  f"{'them' if len(live_files) > 1 else 'it'} yourself\n")
    if report is not None:  # a copy prosody wrote by its own name where delete runs: said, kept (hostile sweep 58)
        path, own = report
        holds = "the session's names and figures (with --clips its audio too)"
        err.write(f"prosody: note: session {sid}'s report {path} (written by `prosody report` by its default name) "
                  f"is kept here: it holds {holds}; remove it yourself\n" if own else
                  f"prosody: note: {path} here is a report by session {sid}'s default name, written before a page "
                  f"named its session (it may be another store's session {sid}); if it is this session's, it holds "
                  f"{holds}: remove it yourself\n")
    for name in built:  # the therapist's own voice, not the client's: kept, but never left unsaid
        err.write(f"prosody: note: the voice profile {terminal_safe(name)} was built from session {sid}; it holds "
                  f"the therapist's voice only and is kept (prosody enrol --delete NAME removes it)\n")
    if came:  # said last, after what was done: the delete was not cut short
        # "completely" where nothing is left: its rows kept readable by another program's read were just said
        return _signalled(came, err, f"session {sid} was deleted {'first' if unerased else 'completely first'}")
    return EXIT_OK if said else EXIT_ERROR


def cmd_feedback(args, out, err) -> int:
    if (args.srs is None) == (args.rating is None):
        raise InputError("give either --srs A,B,C,D (Session Rating Scale, 0-10 each) or --rating 1-5")
    srs = parse_srs(args.srs) if args.srs else None
    rating = None if args.rating is None else parse_rating(args.rating)
    with _signals_wait() as came:  # the change and its line (sweep 12)
        with _open(args) as store:
            replaced: list = []
            fb = store.add_feedback(args.session, srs=srs, rating=rating, replaced=replaced)
            sid = store.resolve(args.session)

        def what(fb) -> str:
            return (f"SRS {'/'.join(map(str, fb.items))} (total {fb.total}/40)" if fb.kind == "srs"
                    else f"rating {fb.total}/5")
        # the one it replaced, said: a second --rating took the first's place without a word (hostile sweep 19)
        was = "".join(f" (replacing the {what(r)} given {terminal_safe(r.given_at).replace('T', ' ')})"
                      for r in replaced)
        said = _confirm(out, err, f"session {sid}: client {what(fb)}{was}\n")
    if came:
        return _signalled(came, err, f"the feedback was recorded in session {sid} first")
    return EXIT_OK if said else EXIT_ERROR


def cmd_edit(args, out, err) -> int:
    given = {k: getattr(args, k) for k in ("therapist", "client", "session_number", "date", "notes")}
    if all(v is None for v in given.values()) and not args.tag and not args.untag:
        raise InputError("nothing to change: give --therapist, --client, --session-number, --date, --notes, "
                         "--tag or --untag")
    for t in args.tag + args.untag:
        if not t.strip():
            raise InputError("--tag/--untag: a tag cannot be empty")
    from prosody.store.db import nfc
    both = [t for t in args.tag if nfc(t) in {nfc(u) for u in args.untag}]
    if both:  # the tag was added, the --untag dropped without a word
        raise InputError(f"--tag and --untag both name {both[0]!r}: give one or the other")
    with _signals_wait() as came:  # the change and what says it (sweep 12)
        with _open(args) as store:
            old = store.info(args.session).meta
            before = old.session_number
            absent = [u for u in dict.fromkeys(args.untag) if nfc(u) not in {nfc(t) for t in old.tags}]
            info = store.edit_meta(args.session, therapist=args.therapist, client=args.client,
                                   session_number=args.session_number,
                                   recorded_at=parse_when(args.date) if args.date is not None else None,
                                   notes=args.notes, add_tags=args.tag, remove_tags=args.untag)
        try:
            SaidConsole(file=out).print(show_view_head(info))
            out.flush()
            said = True
        except OSError as exc:  # edited all the same: said, not left for 'cannot write to standard output' alone
            _unsaid(err, exc, f"session {info.id} edited\n")
            said = False
    if absent:  # `--untag intkae` (a typo) was exit 0, the session shown, the tag it meant still there
        err.write(terminal_safe(f"prosody: note: session {info.id} had no tag {', '.join(map(repr, absent))}; "
                                f"its tags: {', '.join(info.meta.tags) or 'none'}") + "\n")
    if before is not None and info.meta.session_number != before and args.session_number is None:
        err.write(f"prosody: note: {_client_words(info.meta)} already has a session number {before}: session "
                  f"{info.id} is now number {info.meta.session_number} (--session-number N gives another)\n")
    if came:
        return _signalled(came, err, f"session {info.id} was edited first")
    return EXIT_OK if said else EXIT_ERROR


def _client_words(meta) -> str:
    """'client 'C7' of therapist 'ann'' (names as data: shown through ``terminal_safe``)."""
    return terminal_safe(f"client {meta.client!r}" + (f" of therapist {meta.therapist!r}" if meta.therapist else ""))


def show_view_head(info) -> Text:
    """The metadata lines of ``show`` (typed text as data: no markup)."""
    m = info.meta
    head = Text(f"session {info.id} ({info.uid})", style="bold")
    for label, v in (("date", (m.recorded_at or "").replace("T", " ")), ("therapist", m.therapist),
                     ("client", m.client), ("session no.", m.session_number), ("tags", ", ".join(m.tags)),
                     ("notes", m.notes)):
        if v not in (None, ""):
            head.append(f"\n{label}: {terminal_safe(v, newlines=label == 'notes')}")
    return head


def add_parser(sub) -> None:
    """The store's commands: listing, pages, export / import, edit, delete and feedback."""
    _add_listing(sub)
    _add_pages(sub)
    _add_export_import(sub)
    _add_edit(sub)
    _add_delete_feedback(sub)


def _filter_options(p, *, therapist_required: bool = False) -> None:
    """Which sessions: by therapist, client, tag and date."""
    p.add_argument("--therapist", metavar="NAME", required=therapist_required, type=filter_value,
                   help="therapist name or ID")
    p.add_argument("--client", metavar="PSEUDONYM", type=filter_value, help="client pseudonym")
    p.add_argument("--tag", metavar="TAG", type=filter_value, help="only sessions with this tag")
    p.add_argument("--since", metavar="DATE", help="on or after this date (YYYY-MM-DD[THH:MM])")
    p.add_argument("--until", metavar="DATE", help="on or before this date")


def _add_listing(sub) -> None:
    """``sessions`` and ``show``."""
    p = sub.add_parser("sessions", help="list stored sessions")
    _filter_options(p)
    _store_option(p)
    p.set_defaults(run=cmd_sessions)

    p = sub.add_parser("show", help="a stored session's summary in the terminal")
    p.add_argument("session", type=session_ref, metavar="SESSION", help="session ID (see `prosody sessions`), uid, or 'last'")
    _store_option(p)
    p.set_defaults(run=cmd_show)


def _add_pages(sub) -> None:
    """``report``, ``compare`` and ``trend``: the terminal and HTML views of stored sessions."""
    p = sub.add_parser("report", help="a stored session as one self-contained HTML page")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    p.add_argument("-o", "--output", metavar="PATH", help="HTML file (default session-ID.html)")
    p.add_argument("--clips", action="store_true",
                   help="embed short audio clips of the moments (the page then holds client audio)")
    p.add_argument("--clips-format", choices=("opus", "flac"), default="opus", help="clip encoding (default opus)")
    add_overwrite_option(p, what="the page")
    from .review import _ranking_options
    _ranking_options(p)
    _store_option(p)
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("compare", help="stored sessions side by side")
    p.add_argument("sessions", nargs="+", type=session_ref, metavar="SESSION")
    p.add_argument("-o", "--output", metavar="PATH", help="also write an HTML page")
    add_overwrite_option(p, what="the page")
    _store_option(p)
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("trend", help="a therapist's measures across sessions, with client feedback")
    _filter_options(p, therapist_required=True)
    p.add_argument("--last", type=_count, metavar="N", help="only the last N dated sessions (1 or more; "
                   "sessions without a date are left out)")
    p.add_argument("-o", "--output", metavar="PATH", help="also write an HTML page")
    add_overwrite_option(p, what="the page")
    _store_option(p)
    p.set_defaults(run=cmd_trend)


def _add_export_import(sub) -> None:
    """``export`` and ``import``."""
    p = sub.add_parser("export", help="write a stored session as json, csv (frames), parquet, rttm, textgrid (Praat) or eaf (ELAN)")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    p.add_argument("--format", choices=EXPORT_FORMATS, default=None,
                   help="default: the one -o's suffix names (.json .csv .parquet .rttm .textgrid .eaf), else json")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="file to write (default stdout); JSON writes its frames beside it (x.json: x.frames.npz)")
    add_overwrite_option(p, what="-o (and a JSON's frames beside it)")
    _store_option(p)
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("import", help="add an exported (or analysed, or live-captured) session to the store",
                       description="Add an exported (or analysed, or live-captured) session to the store. "
                                   "(therapist, client, session number) names one session: when another session "
                                   "of the client already has the file's session number (a copy imported with "
                                   "--new-id), the imported one gets the client's next number and a note says "
                                   "so; a --session-number that is taken is refused.")
    p.add_argument("path", metavar="PATH", type=input_path,
                   help="session JSON (frames .npz found beside it) or exported .parquet")
    p.add_argument("--frames", metavar="NPZ", type=input_path, help="per-frame features file, when not beside the JSON")
    p.add_argument("--new-id", action="store_true", help="import as a new session even if its uid is stored")
    g = p.add_argument_group("metadata (overrides what the file says)")
    _meta_options(g)
    _store_option(p)
    p.set_defaults(run=cmd_import)


def _add_edit(sub) -> None:
    """``edit``: a stored session's metadata corrected."""
    p = sub.add_parser("edit", help="correct a stored session's metadata",
                       description="Correct a stored session's metadata. (therapist, client, session number) "
                                   "names one session: a --session-number another session of the client has is "
                                   "refused, naming it; a session moved (--client, --therapist) to a client who "
                                   "already has its number gets that client's next number, and a note says so.")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    p.add_argument("--therapist", metavar="NAME", help="therapist name or ID ('' clears it)")
    p.add_argument("--client", metavar="PSEUDONYM", help="client pseudonym ('' clears it)")
    p.add_argument("--session-number", type=session_number, metavar="N",
                   help="session number (0 or more); one another session of the client has is refused")
    p.add_argument("--date", metavar="WHEN", help="date and time of the session, YYYY-MM-DD[THH:MM]")
    p.add_argument("--notes", metavar="TEXT", default=None, help="free-text notes (replaces them; '' clears)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="add a tag (repeatable)")
    p.add_argument("--untag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    _store_option(p)
    p.set_defaults(run=cmd_edit)


def _add_delete_feedback(sub) -> None:
    """``delete`` and ``feedback``."""
    p = sub.add_parser("delete", help="remove a stored session and every file of it")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    _store_option(p)
    p.set_defaults(run=cmd_delete)

    p = sub.add_parser("feedback", help="attach the client's rating of the session")
    p.add_argument("session", type=session_ref, metavar="SESSION")
    p.add_argument("--srs", metavar="A,B,C,D",
                   help="Session Rating Scale: relationship, goals and topics, approach, overall (0-10 each)")
    p.add_argument("--rating", metavar="1-5", help="a simple 1-5 rating")
    _store_option(p)
    p.set_defaults(run=cmd_feedback)


__all__ = ["add_parser", "add_save_options", "check_save_args", "save_analyzed"]
