"""``prosody batch PATH...``: analyse an archive (folders, globs, manifest CSVs)
into the session store, in parallel, resumably; write one per-session table.

Layout and analysis options are resolved by the library functions ``prosody
analyze`` uses (``prosody.analysis``), so a file gives the same session either way.
"""
from __future__ import annotations

import dataclasses
import errno
import os
import signal
import time

from prosody.batch.runner import (MANIFEST_COLUMNS, NO_WORKERS_MAX_S, BatchEvent, Job, SessionMeta, discover,
                                  is_table_file, parquet_available, run_batch, table_beside, table_paths,
                                  tables_kept, write_table)
from prosody.analysis import load_config
from prosody.fileio import check_outputs, is_disk_full, locked_mark, write_error_text
from prosody.report.text import terminal_safe
from prosody.errors import BatchError, InputError
from prosody.store.db import Store

from .options import (add_measures_arguments, add_overwrite_option, channel_map, input_path, store_help, store_path,
                      voices_told, whole_number)
from .sessions import check_file_name_text, store_folder
from .stopping import SaidConsole, drop_output

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 130, 143


class _StopRequest:
    """The handler of Ctrl-C and SIGTERM while a batch runs: it notes the
    signal, and run_batch stops between steps (an exception raised at any
    bytecode could land inside the pool's own code and hang the exit)."""

    NAMES = {signal.SIGINT: "interrupted", signal.SIGTERM: "stopped by SIGTERM", signal.SIGHUP: "stopped by SIGHUP"}

    def __init__(self):
        self.signum: int | None = None

    def __call__(self, signum, frame) -> None:
        if self.signum is None or signum != signal.SIGINT:  # SIGTERM / SIGHUP (the terminal closed) say it
            self.signum = signum

    def reason(self) -> str | None:
        return self.NAMES.get(self.signum) if self.signum is not None else None
DEFAULT_TABLE = "prosody-batch"


def add_parser(sub) -> None:
    p = sub.add_parser("batch", help="analyse many recordings into the store, in parallel and resumably",
                       description="Analyse every recording in folders, glob patterns or manifest CSVs with the "
                                   "engine and options of `prosody analyze`, save each as a session in the store "
                                   "and write one table of per-session measures (CSV and Parquet). Files already "
                                   "analysed with the same content and options are skipped.")
    p.add_argument("inputs", nargs="+", metavar="PATH", type=input_path,
                   help="a folder (searched recursively for audio files), a glob pattern ('archive/**/*.wav'), "
                        "an audio file, or a manifest CSV with columns " + ", ".join(MANIFEST_COLUMNS))
    p.add_argument("--jobs", "-j", type=whole_number, default=None, metavar="N",
                   help=f"worker processes (default: the number of cores, here {os.cpu_count()}; at most 4 per "
                        "core: more only wait for the cores, each holding a recording in memory)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786 (pip install 'prosody[dask]'); "
                        "results are saved into the store on this machine")
    p.add_argument("--send-audio", action="store_true",
                   help="with --scheduler: send each file's bytes to the worker (when workers do not share the "
                        "paths)")
    p.add_argument("--wait-for-workers", type=whole_number, default=None, metavar="S",
                   help="with --scheduler: how long to wait, in seconds, while the cluster has no worker before "
                        "the batch stops, what finished kept (default 600, at most 604800: 7 days; it is said "
                        "after 30 s)")
    p.add_argument("--force", action="store_true", help="analyse again files already done (replaces their sessions)")
    p.add_argument("--table", metavar="PATH", default=DEFAULT_TABLE,
                   help=f"per-session table: writes PATH.csv and PATH.parquet (default {DEFAULT_TABLE})")
    p.add_argument("--no-parquet", action="store_true", help="write the table as CSV only")
    add_overwrite_option(p, what="the table")
    p.add_argument("--no-progress", action="store_true", help="plain progress lines even on a terminal")
    p.add_argument("--store", metavar="PATH", default=None, type=store_path,
                   help=store_help())
    a = p.add_argument_group("analysis (as `prosody analyze`; a manifest's cells override them per file)")
    a.add_argument("--channels", metavar="MAP", type=channel_map,
                   help="stereo layout, e.g. therapist=right,client=left")
    a.add_argument("--speaker", default=None, metavar="NAME", help="speaker name for mono files (default therapist)")
    a.add_argument("--layout", choices=("auto", "separate", "shared", "mono"), default="auto",
                   help="how voices sit on the channels of each file (as `prosody analyze --layout`; a manifest's "
                        "layout column overrides it per file)")
    a.add_argument("--voices", type=voices_told, default=None, metavar="N",
                   help="how many people speak on each shared or mono file (as `prosody analyze --voices`; a "
                        "manifest's voices column overrides it per file); default: found from the audio")
    a.add_argument("--profile", metavar="NAME", default=None,
                   help="voice profile naming the therapist in shared/mono files (default: each therapist's own)")
    a.add_argument("--pitch-range", action="append", default=[], metavar="SPEAKER=FMIN-FMAX",
                   help="pitch search range in Hz for a speaker, e.g. client=75-400 (default 50-600)")
    a.add_argument("--config", metavar="TOML", type=input_path, help="analysis configuration file (see docs/config.md)")
    add_measures_arguments(a)  # --network-delay-ms, --baseline and --cues, as analyze and live
    m = p.add_argument_group("metadata for every session (a manifest's cells override them)")
    m.add_argument("--therapist", metavar="NAME", help="therapist name or ID")
    m.add_argument("--client", metavar="PSEUDONYM", help="client pseudonym (never a real name)")
    m.add_argument("--notes", metavar="TEXT", default="", help="free-text notes")
    m.add_argument("--tag", action="append", default=[], metavar="TAG", help="a tag (repeatable)")
    p.set_defaults(run=cmd_batch)


def _fmt_s(s: float) -> str:
    s = max(0, int(round(s)))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class _Progress:
    """Renders BatchEvents: a rich progress bar on a terminal, plain lines otherwise."""

    def __init__(self, err, *, bar: bool):
        self.err = err
        self.console = SaidConsole(file=err, stderr=True)
        self.bar = bar and self.console.is_terminal
        self.t0 = time.perf_counter()
        self.total = self.done = 0
        self.total_audio_s = self.done_audio_s = 0.0
        self.prog = None
        self.task = None
        self.lost: OSError | None = None  # the error that took standard error away (its reader gone)

    def _status(self) -> str:
        elapsed = time.perf_counter() - self.t0
        rate = self.done_audio_s / elapsed if elapsed > 0 else 0.0
        left = (self.total_audio_s - self.done_audio_s) / rate if rate > 0 else None
        return (f"{self.done_audio_s / 3600:.2f}/{self.total_audio_s / 3600:.2f} h of audio, "
                f"{rate:.0f}x real time" + (f", about {_fmt_s(left)} left" if left is not None else ""))

    def __call__(self, e: BatchEvent) -> None:
        """One event said; once standard error is gone (``batch DIR 2>&1 | head -1``: its reader closed) the
        events are let go and the batch goes on: the write's BrokenPipeError left run_batch, which stopped after
        the first recording, unsaid, with no table and no summary (hostile sweep 49)."""
        if self.lost is not None:
            return
        try:
            self._say(e)
        except OSError as exc:
            self.lost = exc
            self.close()
            drop_output(self.err)  # Python's flush at exit must not fail again on it

    def _say(self, e: BatchEvent) -> None:
        # file names and reasons are shown as text (control characters escaped)
        e = dataclasses.replace(e, label=terminal_safe(e.label), reason=terminal_safe(e.reason),
                                warnings=tuple(terminal_safe(w) for w in e.warnings))
        if e.kind == "checking":
            if self.bar and self.prog is None:
                self._start_bar(e.total)
            if self.prog is not None:
                self.prog.update(self.task, description=f"checking {e.index + 1}/{e.total}")
            return
        if e.kind == "planned":
            self.total, self.total_audio_s, self.t0 = e.todo, e.todo_audio_s, time.perf_counter()
            msg = (f"prosody: {e.todo} of {e.total} recordings to analyse "
                   f"({e.todo_audio_s / 3600:.2f} h of audio)")
            if self.prog is not None:
                self.prog.reset(self.task, total=max(e.todo_audio_s, 1e-9), files=f"0/{e.todo} files",
                                status="", description="analysing")
                self.prog.console.print(msg)
            else:
                self.err.write(msg + "\n")
            return
        if e.kind == "skipped":
            return  # counted in the summary; a re-run of a big archive would print thousands of lines
        if e.kind == "done":
            self.done += 1
            self.done_audio_s += e.duration_s
            line = (f"prosody: [{self.done}/{self.total}] done {e.label} ({e.duration_s / 60:.1f} min) "
                    f"-> session {e.session_id}; {self._status()}")
            warn = [f"prosody: warning: {w}" for w in e.warnings]
            if self.prog is not None:
                for w in warn:
                    self.prog.console.print(w, markup=False, highlight=False)
                self.prog.update(self.task, completed=self.done_audio_s, files=f"{self.done}/{self.total} files",
                                 status=self._status())
            else:
                self.err.write(line + "\n" + "".join(w + "\n" for w in warn))
            return
        if e.kind in ("failed", "no_workers", "workers_back"):
            line = (f"prosody: failed: {e.label}: {e.reason}" if e.kind == "failed" else
                    f"prosody: warning: {e.reason}" if e.kind == "no_workers" else f"prosody: {e.reason}")
            if self.prog is not None:
                self.prog.console.print(line, markup=False, highlight=False)
            else:
                self.err.write(line + "\n")

    def _start_bar(self, total: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn
        self.prog = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]}"),
                             TextColumn("{task.fields[status]}"), console=self.console, transient=True)
        self.prog.start()
        self.task = self.prog.add_task("checking", total=None, files="", status="")

    def close(self) -> None:
        if self.prog is not None:
            prog, self.prog = self.prog, None
            try:
                prog.stop()
            except OSError:  # its last drawing on a terminal that went
                pass


def summary_text(report, *, table_files, table_note: str | None = None) -> str:
    """The end summary: counts, throughput, every failure, the table's files. Pure."""
    n_dup = len(report.duplicates)
    lines = [f"batch: {report.n_jobs} recording{'s' if report.n_jobs != 1 else ''}: "
             f"{len(report.analysed)} analysed, {len(report.skipped)} skipped (already done), "
             + (f"{n_dup} duplicate{'s' if n_dup != 1 else ''} of other files in this run, " if n_dup else "")
             + f"{len(report.failed)} failed"]
    if report.analysed:
        rate = report.audio_s / report.wall_s if report.wall_s > 0 else 0.0
        lines.append(f"  {report.audio_s / 3600:.2f} h of audio in {_fmt_s(report.wall_s)} ({rate:.0f}x real time; "
                     f"{report.backend})")
    if report.duplicates:  # one session for the same audio: its metadata is the first file's
        lines.append("duplicates (the same audio and options; one session, a row each in the table):")
        lines += [f"  {terminal_safe(label)}: same as {terminal_safe(first)} (session {sid})"
                  for label, first, sid in report.duplicates]
    if report.meta_kept:
        lines.append("skipped (done, or a duplicate), with other metadata than the stored session's (the store "
                     "keeps its own; prosody edit N changes it):")
        lines += [f"  {terminal_safe(label)}: session {sid}: {', '.join(fields)}"
                  for label, sid, fields in report.meta_kept]
    if report.failed:
        lines.append("failed:")
        lines += [f"  {terminal_safe(label)}: {terminal_safe(reason)}" for label, reason in report.failed]
    if table_files:
        n_rows, n_sessions = len(report.rows), len({r["session_id"] for r in report.rows})
        what = (f"{n_sessions} session{'s' if n_sessions != 1 else ''}" if n_rows == n_sessions else
                f"{n_rows} rows, {n_sessions} session{'s' if n_sessions != 1 else ''}")
        lines.append(f"table ({what}): {terminal_safe(', '.join(str(p) for p in table_files))}")
    if table_note:
        lines.append(table_note)
    return "\n".join(lines) + "\n"


def cmd_batch(args, out, err) -> int:
    from .options import measures_from_args
    _check_batch_options(args)
    jobs = _batch_jobs(args)
    mcfg, profile = measures_from_args(args)
    config = load_config(args.config)  # a bad file is refused before the store is opened (and made)
    want_parquet = not args.no_parquet
    _check_table_output(args, jobs)
    if args.scheduler:  # what leaves this machine is said before it leaves
        from prosody.batch.runner import unencrypted_cluster_note
        clear = unencrypted_cluster_note(args.scheduler, send_audio=args.send_audio)
        if clear:
            err.write(f"prosody: note: {terminal_safe(clear)}\n")
    progress = _Progress(err, bar=not args.no_progress)

    stop = _StopRequest()
    # SIGHUP too (its default killed the batch on the spot, sweep 12; where it is ignored, nohup, it stays so)
    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
           if s != signal.SIGHUP or signal.getsignal(s) is not signal.SIG_IGN}
    finished = False
    cluster = None
    try:
        if args.scheduler:  # before the store is opened (and made): an unreachable one leaves nothing behind
            from prosody.batch.runner import connect_scheduler
            cluster = connect_scheduler(args.scheduler)
        with Store(args.store if args.store else None) as store:
            store.check_intact()  # a damaged database is found before the work, not after it
            _check_store_writable(store)
            try:
                report = run_batch(jobs, store=store, config=config, measures=mcfg, profile=profile,
                                   n_jobs=args.jobs, scheduler=cluster, send_audio=args.send_audio,
                                   force=args.force, on_event=progress, stop=stop.reason,
                                   **({} if args.wait_for_workers is None else
                                      {"wait_for_workers_s": args.wait_for_workers}))
            finally:
                progress.close()
        finished = True
    except KeyboardInterrupt as exc:  # BatchStopped, or a Ctrl-C (a SIGTERM: Stopped) before the handler was set
        progress.close()
        signum = stop.signum if stop.signum is not None else getattr(exc, "signum", signal.SIGINT)
        signum = signum if signum in _StopRequest.NAMES else signal.SIGINT
        try:
            err.write(_stopped_line(_StopRequest.NAMES[signum], done=progress.done, cluster=bool(args.scheduler)))
        except OSError:  # standard error gone: the exit status still tells
            pass
        return 128 + signum  # 130 (Ctrl-C), 143 (SIGTERM: EXIT_TERMINATED), 129 (SIGHUP)
    finally:
        if cluster is not None:  # closed by run_batch; here where the store could not be opened
            cluster.close(cancel=True)
        if not finished:  # stopped, or an error: the handlers go back now
            for s, handler in old.items():
                signal.signal(s, handler)
    # the table and the summary are written under the batch's own handler too: a signal once every file was
    # done raised in them (the program's handler, put back), and the one line said 'stopped by SIGTERM' alone,
    # with no summary, no table and nothing of the finished batch (hostile sweep 15); said after them now
    try:
        rc = _table_and_summary(report, args, out, err, want_parquet)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if stop.signum is not None:
        err.write(f"prosody: error: {stop.reason()}; the batch had finished first (the summary above)\n")
        return 128 + stop.signum
    return EXIT_FAILED if progress.lost is not None else rc  # its lines were cut: said as analyze --save says it


def _check_store_writable(store: Store) -> None:
    """A store that cannot be written (a read-only mount or folder, its frames folder marked or read-only) refused
    before any work, in the store's words (was "cannot access ro/batch.sqlite: Read-only file system": the
    ledger's path, never given; hostile sweep 46). A store opened read-only because its disk is full is left to
    the ledger, which says so."""
    if store.readonly and not store.disk_full:
        state, mend = store.readonly_said()
        raise InputError(f"the session store {store.path} {state}; a batch saves each recording it analyses there: "
                         f"{mend + ', or ' if mend else ''}choose a writable store (--store)")
    store.check_writable()  # was found after the first analysis, kept in a rescue copy (sweep 46)


def _check_batch_options(args) -> None:
    """The worker options checked together (each applies to local workers or to a cluster only)."""
    if args.jobs is not None:
        from prosody.batch.runner import check_n_jobs
        check_n_jobs(args.jobs)  # 1 to 4 x the cores: --jobs 1000 started 1,000 processes
    if args.send_audio and not args.scheduler:
        raise InputError("--send-audio applies to --scheduler (local workers read the files themselves)")
    if args.scheduler and args.jobs is not None:
        raise InputError("--jobs sets local worker processes; with --scheduler the cluster's workers do the work")
    if args.wait_for_workers is not None and not args.scheduler:
        raise InputError("--wait-for-workers applies to --scheduler (local workers are started by prosody)")
    if args.wait_for_workers is not None and args.wait_for_workers < 1:
        raise InputError(f"--wait-for-workers {args.wait_for_workers}: give at least 1 second")
    if args.wait_for_workers is not None and args.wait_for_workers > NO_WORKERS_MAX_S:
        raise InputError(f"--wait-for-workers {args.wait_for_workers}: give at most {NO_WORKERS_MAX_S} seconds "
                         f"({NO_WORKERS_MAX_S // 86400} days)")


def _batch_jobs(args) -> list:
    """The recordings named (files, folders, globs, manifests) as jobs, the command line's options their
    defaults; what was typed checked; the batch's own table and store files never among them."""
    defaults = Job(paths=(), channels=args.channels, speaker=args.speaker, pitch_range=tuple(args.pitch_range),
                   layout=args.layout, voice_profile=args.profile, voices=args.voices,
                   meta=SessionMeta(therapist=args.therapist, client=args.client, notes=args.notes or "",
                                tags=tuple(args.tag)))
    from prosody.formats.schema import check_meta_fields
    check_meta_fields(therapist=args.therapist, client=args.client, notes=args.notes or "", tags=list(args.tag),
                      where="command line")
    from prosody.analysis import check_speaker_label
    check_speaker_label(args.speaker)
    # its own table and store files are no inputs where a glob matches them (`batch '**'` run again)
    from prosody.batch.runner import LEDGER_NAME
    from prosody.store.db import DB_NAME, FRAMES_DIR
    folder = store_folder(args)
    store_files = [folder / FRAMES_DIR] + [folder / f"{name}{side}" for name in (DB_NAME, LEDGER_NAME)
                                           for side in ("", "-wal", "-shm", "-journal")]
    jobs = discover(args.inputs, defaults=defaults, skip=[*table_paths(args.table), *store_files])
    for j in jobs:
        for p in j.paths:
            check_file_name_text(p)
    return jobs

def _check_table_output(args, jobs: list) -> None:
    """The table (CSV, and Parquet unless ``--no-parquet``) never replaces a manifest, a recording, the
    configuration, the baseline or a store file."""
    manifests = [i for i in args.inputs if i.lower().endswith(".csv")] + \
        sorted({j.origin.rsplit(" line ", 1)[0] for j in jobs if " line " in j.origin})
    check_outputs([("--table", p) for p in table_paths(args.table)[:1 if args.no_parquet else 2]],
                  inputs=manifests + [p for j in jobs for p in j.paths] + [p for p in (args.config, args.baseline) if p],
                  stdout_ok=False, protected=[store_folder(args)], overwrite=args.overwrite, remade=is_table_file)


def _stopped_line(what: str, *, done: int, cluster: bool) -> str:
    """The one line of a batch stopped by ``what`` (a Ctrl-C, a signal) with ``done`` recordings saved. A Dask
    cluster's workers are its own: prosody cancels its tasks there (closing its client), and a file being
    analysed on a worker runs to its end there, unused (a re-run analyses it again)."""
    stopped = ("its tasks on the Dask cluster are cancelled (the cluster's workers keep running)" if cluster
               else "the workers are stopped")
    return (f"prosody: error: {what}; {done} recording{'s' if done != 1 else ''} finished and saved in the store, "
            f"{stopped}; run the same command again to continue where it stopped\n")


def _write_table_keeping(rows: list[dict], args, want_parquet: bool) -> tuple[list, str | None]:
    """The table written at ``--table``, or beside it where the table there lists a session and recording this one
    does not (another batch's, or this batch's before it failed whole: its table of 0 sessions replaced it; hostile
    sweep 42) or is not as a batch wrote it (edited by hand: sweep 43), none where this one lists no session; the
    files written and the line saying what was kept (None where nothing was). ``--overwrite`` replaces whatever is
    there."""
    kept = [] if args.overwrite else tables_kept(args.table, rows, parquet=want_parquet)
    if not kept:
        return write_table(rows, args.table, parquet=want_parquet), None
    there = terminal_safe(kept[0])
    if not rows:
        return [], (f"prosody: error: no table was written: it would list no session; {there} (a table of "
                    "sessions this batch does not list) is kept as it was")
    files = write_table(rows, table_beside(args.table, parquet=want_parquet), parquet=want_parquet, new_only=True)
    written = terminal_safe(", ".join(str(p) for p in files))
    return files, (f"prosody: error: cannot write --table {there}: the table there lists recordings this batch does "
                   "not (another batch's table), or is not as a batch wrote it (changed since, or no table prosody "
                   f"wrote), and was kept; this batch's table was written beside it, as {written}")


TABLE_ELSEWHERE = "with --table in another folder"  # mends any cause: the saved sessions' table written there
TABLE_REMEDIES = {errno.EACCES: "with --table in a folder you can write",
                  errno.EROFS: "with --table on a file system that is not read-only",
                  errno.ENAMETOOLONG: "with a shorter --table name",
                  errno.ENOENT: f"once the folder is made again, or {TABLE_ELSEWHERE}",
                  errno.ENOTDIR: f"once the folder is made again, or {TABLE_ELSEWHERE}"}


def _table_remedy(exc: OSError, path: str | os.PathLike) -> str | None:
    """When running a batch again writes the table ``path`` that ``exc`` kept unwritten: "with --table in a folder
    you can write", "once the mark is off (chattr -i FOLDER), or with --table in another folder"; None where the
    same command mends it once there is room (a full disk, a quota). The same command alone fails the same for a
    cause no rerun mends (a folder marked immutable or made unwritable during the batch, a read-only file system:
    hostile sweep 45)."""
    if is_disk_full(exc):
        return None
    if exc.errno == errno.EPERM:
        for where in (os.fspath(path), os.path.dirname(os.path.abspath(path))):
            mark = locked_mark(where)
            if mark is not None:
                return (f"once {where} is no longer marked {mark[0]} (chattr -{mark[1]} {where}), "
                        f"or {TABLE_ELSEWHERE}")
    return TABLE_REMEDIES.get(exc.errno, TABLE_ELSEWHERE)


def _table_unwritten_text(exc: OSError, where) -> str:
    """The line saying that the table ``where`` was not written, and what writes it: the same command again once
    there is room (a full disk), else that command with what mends the cause (``_table_remedy``): a rerun alone
    failed the same (hostile sweep 45). The saved recordings are found done, not analysed again."""
    remedy = _table_remedy(exc, where)
    again = ("run the same command again to write the table" if remedy is None else
             f"run the same command again {remedy}, to write the table (the saved recordings are not analysed again)")
    return (f"prosody: error: cannot write {terminal_safe(where)}: {terminal_safe(write_error_text(exc, where))}; "
            f"the sessions are saved in the store: {terminal_safe(again)}")


def _table_and_summary(report, args, out, err, want_parquet: bool) -> int:
    """A finished batch's table and its summary; the exit status."""
    note = None
    if want_parquet and not parquet_available():
        want_parquet = False
        note = ("prosody: warning: the Parquet table was not written: it needs pyarrow, which is not installed "
                "(pip install 'prosody[parquet]'); the CSV has the same rows")
    unwritten = False
    try:
        files, kept_note = _write_table_keeping(report.rows, args, want_parquet)
        note, unwritten = "\n".join(n for n in (note, kept_note) if n) or None, kept_note is not None
    except BatchError as exc:  # pragma: no cover (checked above)
        files, note = [], f"prosody: warning: {terminal_safe(exc)}"
    except OSError as exc:  # a full disk, a folder made unwritable meanwhile: the sessions are in the store
        files, unwritten = [], True
        note = _table_unwritten_text(exc, exc.filename or args.table)
    out.write(summary_text(report, table_files=files))
    if note:
        err.write(note + "\n")
    return EXIT_FAILED if report.failed or unwritten else EXIT_OK


__all__ = ["add_parser", "cmd_batch", "summary_text"]
