"""Export and import of stored sessions: JSON (document + store metadata),
CSV of frames, Parquet (frames as rows, metadata in the file), RTTM; export
only: Praat TextGrid and ELAN EAF (``textgrid.py``, ``eaf.py``)."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import InputError, StoreError
from ..errors import InvalidSessionError, parse_problem
from ..fileio import (PARQUET_EXPORT_KEY, check_input_file, discard_staged, erase_file, is_disk_full, replace_erasing,
                      stage_private, sweep_staged, sync_folder, write_private)
from ..timebase import GRID
from ..frames import (FRAME_DTYPES, FRAME_KEYS, MAX_COLUMN_FRAMES, MAX_FRAMES_SESSION_S, MAX_NPZ_BYTES, checked_frames,
                      frame_keys, frames_to_npz_bytes, n_frames_of, read_frames_npz)
from ..typed_text import alike_names, json_text
from ..types import UNATTRIBUTED
from .bundle import (EARLIEST_FILE_DATE, Bookmark, ExportBundle, Feedback, Note, SessionMeta, parse_when,
                     started_from_mtime, validate_doc)
from .schema import (MAX_TAGS, check_audio_record, check_bookmarks, check_recording_names, check_session_doc,
                     check_store_meta, check_supervisor_notes)

MAX_IMPORT_BYTES = 1 << 30  # a session JSON of hours is tens of MB

EXPORT_FORMAT = "prosody.store-export/1"
EXPORT_KEY = "prosody_store"          # top-level key of an exported JSON holding the store's metadata
PARQUET_META_KEY = PARQUET_EXPORT_KEY  # Parquet file metadata key holding the same JSON (frames are the rows)
EXPORT_FORMATS = ("json", "csv", "parquet", "rttm", "textgrid", "eaf")


def export_dict(b: ExportBundle, *, frames_file: str | None = None) -> dict:
    """The JSON export: the session document unchanged, ``bookmarks`` (as live
    capture writes them) and ``prosody_store`` (metadata, feedback, uid, and the
    name of the frames file written beside it, if any)."""
    m = b.meta
    return {**b.doc,
            "bookmarks": [{"time_s": k.time_s, "note": k.note} for k in b.bookmarks],
            EXPORT_KEY: {"format": EXPORT_FORMAT, "uid": b.uid, "therapist": m.therapist, "client": m.client,
                         "recorded_at": m.recorded_at, "session_number": m.session_number, "notes": m.notes,
                         "tags": list(m.tags),
                         "feedback": [{"kind": f.kind, "items": list(f.items), "given_at": f.given_at}
                                      for f in b.feedback],
                         "supervisor_notes": [{"time_s": n.time_s, "end_s": n.end_s, "text": n.text, "author": n.author,
                                    "created_at": n.created_at, "moment": n.moment} for n in b.notes],
                         "frames_file": frames_file,
                         # its frames file was lost in the store: none to look for beside it on import (review of
                         # hostile sweep 51: an earlier export's `x.frames.npz` left there was joined to it)
                         **({"has_frames": False} if b.frames_lost else {})}}


UNSAVED_PREFIX = "prosody-unsaved-"  # the name of a session kept after a failed save (``keep_unsaved``)


def is_unsaved_copy(path: str | os.PathLike) -> bool:
    """A session JSON ``keep_unsaved`` wrote (``prosody-unsaved-*.json``)."""
    name = Path(path).name
    return name.startswith(UNSAVED_PREFIX) and name.endswith(".json")


def keep_unsaved(doc: dict, frames, speakers, meta: SessionMeta, *, first: str | os.PathLike | None
                 ) -> tuple[Path | None, str]:
    """A session the store could not take, kept as an importable JSON (owner-only,
    ``prosody-unsaved-*.json``) with its frames beside it, in the first folder of
    ``fileio.write_rescue`` that takes it (``first``, e.g. beside the store).
    Returns (the JSON's path, a note on the frames) or (None, the folders tried)."""
    from ..fileio import write_rescue
    text = json_text(export_dict(ExportBundle(doc=doc, meta=meta)), indent=2) + "\n"
    path, tried = write_rescue(f"{UNSAVED_PREFIX}{datetime.now():%Y%m%d-%H%M%S}.json", text, first=first)
    if path is None:
        return None, "; ".join(tried)
    if frames is None:
        return path, ""
    try:  # the per-frame features beside it, where import looks for them
        write_private(path.with_name(path.stem + ".frames.npz"), frames_to_npz_bytes(frames, list(speakers)),
                      tmp_suffix=".npz")
    except (OSError, StoreError, InputError):
        return path, " (without its per-frame features: no room for them)"
    return path, ""


def remove_unsaved_copy(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Remove a ``keep_unsaved`` JSON and the frames file beside it (once the session
    is in the store), overwritten with zeros first (``fileio.erase_file``: a later ``delete``
    leaves none of its bytes on the disk); returns (paths removed, 'path: reason' for each left)."""
    p = Path(path)
    removed, left = [], []
    for q in (p, p.with_name(p.stem + ".frames.npz")):
        try:
            erase_file(q)
            removed.append(str(q))
        except FileNotFoundError:
            pass
        except OSError as exc:
            left.append(f"{q}: {exc.strerror or exc}")
    return removed, left


def bundle_from_dict(d: dict, *, frames=None, default_recorded_at: str | None = None) -> ExportBundle:
    """Inverse of ``export_dict``; also accepts a plain session JSON (from
    ``prosody analyze --json``) or one from live capture (with ``bookmarks``)."""
    if not isinstance(d, dict):
        raise InvalidSessionError("not a prosody session: the JSON is not an object")
    d = dict(d)
    st = d.pop(EXPORT_KEY, None)
    check_store_meta(st)
    st = st or {}
    raw_marks = d.pop("bookmarks", None) or []
    validate_doc(d)
    check_bookmarks(raw_marks, float(d["duration_s"]))
    check_supervisor_notes(st.get("supervisor_notes"), float(d["duration_s"]))
    check_audio_record(d.get("audio"), d["speaker_order"], where="session document: audio")
    check_recording_names(d)
    try:
        bookmarks = tuple(Bookmark(float(x["time_s"]), str(x.get("note") or "")) for x in raw_marks)
        feedback = tuple(Feedback(str(f["kind"]), tuple(int(v) for v in f["items"]), str(f["given_at"]))
                         for f in st.get("feedback") or [])
        notes = tuple(Note(float(n["time_s"]), str(n["text"]), None if n.get("end_s") is None else float(n["end_s"]),
                           str(n.get("author") or ""), str(n.get("created_at") or ""), str(n.get("moment") or ""))
                      for n in st.get("supervisor_notes") or [])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidSessionError(f"bookmarks, feedback or notes malformed ({exc!r}); expected bookmarks [{{time_s, note}}]") from None
    alike = alike_names(d.get("speaker_order") or ())
    if alike is not None:  # as --channels refuses them; kept out of the store, where `show` would print two alike
        raise InvalidSessionError(f"speaker_order names {alike[0]!r} and {alike[1]!r}, which differ only in spaces "
                                  "or control characters; rename one in the file before importing")
    order = list(d.get("speaker_order") or ())
    if UNATTRIBUTED in order and len(order) > 1:  # prosody names only the one voice of an unsure split so
        raise InvalidSessionError(  # (--channels, --speaker refuse the name); beside another, relabel swapped it
            f"speaker_order {order!r} names {UNATTRIBUTED!r} beside another speaker: prosody keeps that name for the "
            "one voice of a recording whose speakers are unsure; rename it in the file before importing")
    meta = SessionMeta(therapist=st.get("therapist"), client=st.get("client"),
                       # stored as the filters compare it: local time, extended ISO form (parse_when)
                       recorded_at=parse_when(st["recorded_at"]) if st.get("recorded_at") else default_recorded_at,
                       session_number=st.get("session_number"), notes=st.get("notes") or "",
                       tags=tuple(st.get("tags") or ()))
    return ExportBundle(doc=d, meta=meta, bookmarks=bookmarks, feedback=feedback, frames=frames, uid=st.get("uid"),
                        notes=notes)


def frames_table(frames: dict[str, dict[str, np.ndarray]], speakers, hop_s: float = GRID.hop_s):
    """Frames -> pyarrow Table, one row per speaker and frame: ``time_s`` (frame
    centre), ``speaker``, then one column per frame key (dtypes as stored; a key
    one speaker lacks is null for it)."""
    pa = _pyarrow()
    keys = frame_keys(frames) or list(FRAME_KEYS)
    n = n_frames_of(frames)
    centres = (np.arange(n) + 0.5) * hop_s
    cols = {"time_s": pa.array(np.tile(centres, len(speakers)), pa.float64()),
            "speaker": pa.array([spk for spk in speakers for _ in range(n)], pa.string())}
    for k in keys:
        parts = [pa.array(frames[spk][k]) if k in frames.get(spk, {}) else
                 pa.nulls(n, pa.from_numpy_dtype(np.dtype(FRAME_DTYPES.get(k, np.float32)))) for spk in speakers]
        cols[k] = pa.concat_arrays(parts) if parts else pa.array([], pa.float32())
    return pa.table(cols)


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise StoreError("Parquet needs pyarrow, which is not installed: pip install 'prosody[parquet]' "
                         "(or pip install pyarrow)") from None
    return pyarrow


def write_export(b: ExportBundle, fmt: str, path: str | os.PathLike, *, uri: str = "session",
                 extra_points=None, fresh: frozenset = frozenset()) -> list[Path]:
    """Write ``b`` as ``fmt`` (json | csv | parquet | rttm) to ``path``, owner-only
    and atomically; returns the files written. JSON writes the frames beside it as
    ``<stem>.frames.npz`` (when the session has frames). ``fresh``: the paths (as given) where no file was when
    they were checked, written only as new files (``fileio.write_private(new_only=True)``)."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"--format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    if not path.resolve().parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.resolve().parent} does not exist")
    if fmt == "parquet":
        _pyarrow()
        import pyarrow.parquet as pq
        speakers = b.doc["speaker_order"]
        table = frames_table(b.frames or {x: {} for x in speakers}, speakers, float(b.doc.get("frame_hop_s") or GRID.hop_s))
        meta = dict(table.schema.metadata or {})
        meta[PARQUET_META_KEY] = json.dumps({**export_dict(b), "has_frames": b.frames is not None},
                                            ensure_ascii=False).encode()
        table = table.replace_schema_metadata(meta)
        write_private(path, lambda f: pq.write_table(table, f, compression="zstd"), new_only=str(path) in fresh)
        return [path]
    if fmt == "json":  # the JSON and the frames it names: both written, or neither left (a full disk)
        if b.frames is None:
            write_private(path, json_text(export_dict(b), indent=2) + "\n", new_only=str(path) in fresh)
            return [path]
        frames_path = path.with_name(path.name.removesuffix(".json") + ".frames.npz")
        frames_real = frames_path.resolve().parent / frames_path.name
        try:
            # staged as `.x.frames.npz.RANDOM.tmp`: one a kill left is removed by a later export of that name
            # (`.tmp-RANDOM.npz`, as before, was left for good: the session's frames; hostile sweep 33)
            staged = stage_private(frames_real, frames_to_npz_bytes(b.frames, b.doc["speaker_order"]))
        except OSError as exc:  # said of the file asked for (was of the frames file beside it, never named)
            if is_disk_full(exc):
                raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
            raise
        try:
            write_private(path, json_text(export_dict(b, frames_file=frames_path.name), indent=2) + "\n",
                          new_only=str(path) in fresh)
        except BaseException:
            discard_staged(staged)
            raise
        _place_frames(staged, frames_real, path, new_only=str(frames_path) in fresh)
        sync_folder(frames_real.parent)
        sweep_staged(frames_real.parent, names=(frames_real.name,))
        return [path, frames_path]
    write_private(path, export_text(b, fmt, uri=uri, extra_points=extra_points), new_only=str(path) in fresh,
                  whose=None if b.uid is None else {"session_uid": b.uid})  # written again (hostile sweep 41)
    return [path]


def _place_frames(staged, frames_real: Path, json_path: Path, *, new_only: bool) -> None:
    """The staged frames file put at ``frames_real`` beside the JSON export ``json_path`` just written, the file
    it replaces zeroed (hostile sweep 33). Where a file was made there meanwhile (``new_only``: refused), the JSON,
    which names it and not its own frames, is erased too: neither is left (hostile sweep 39); the error raised."""
    try:
        replace_erasing(staged, frames_real, new_only=new_only)
    except FileExistsError as exc:
        discard_staged(staged)
        erase_file(json_path)
        raise FileExistsError(exc.errno, f"{exc.strerror}; the export {json_path} was not kept either (it would "
                              "name that file as its frames)", exc.filename) from None
    except BaseException:
        discard_staged(staged)
        raise


def review_points(b: ExportBundle) -> dict[str, list[tuple[float, str]]]:
    """Point tiers of what a reviewer added or was shown: supervisor notes and
    the ranked moments to review (``prosody.moments``), for TextGrid and EAF."""
    from ..moments import moments
    notes = [(n.time_s, (f"{n.author}: " if n.author else "") + n.text) for n in b.notes]
    picked = [(m.start_s, f"{m.rank}. {m.kind}: {m.what}")
              for m in moments(b.doc, bookmarks=b.bookmarks, notes=b.notes)]
    return {"notes": notes, "moments": sorted(picked)}


def export_text(b: ExportBundle, fmt: str, *, uri: str = "session", extra_points=None) -> str:
    """``fmt`` json (without frames), csv (per-frame, as ``prosody analyze
    --frames``), rttm (speech segments), textgrid (Praat) or eaf (ELAN) as
    text. ``extra_points``: more point tiers for TextGrid/EAF, name ->
    [(time_s, label)]; by default the supervisor notes and the moments to review."""
    from ..types import Segment
    from .frames_csv import frames_csv
    from .rttm import segments_rttm
    if fmt in ("textgrid", "eaf") and extra_points is None:
        extra_points = review_points(b)
    if fmt == "json":
        return json_text(export_dict(b), indent=2) + "\n"
    if fmt == "textgrid":
        from .textgrid import session_textgrid
        return session_textgrid(b.doc, bookmarks=b.bookmarks, extra_points=extra_points)
    if fmt == "eaf":
        from .eaf import session_eaf
        return session_eaf(b.doc, bookmarks=b.bookmarks, extra_points=extra_points, uid=b.uid)
    speakers = tuple(b.doc["speaker_order"])
    if fmt == "rttm":
        segments = tuple(Segment(x["speaker"], x["start_s"], x["end_s"]) for x in b.doc.get("segments") or [])
        return segments_rttm(segments, speakers=speakers, uri=uri)
    if fmt == "csv":
        if b.frames is None:  # its frames file lost: not "saved without" (hostile sweep 51)
            raise StoreError(b.frames_lost or "this session was saved without per-frame features: no CSV of "
                             "frames to export")
        # the one CSV writer is frames_csv (as analyze --frames); a key it reads that this
        # (older) session lacks is written empty (NaN)
        n = n_frames_of(b.frames)
        fr = {spk: dict(b.frames[spk]) for spk in speakers}
        for _ in range(16):
            try:
                return frames_csv(fr, speakers=speakers, n_frames=n)
            except KeyError as exc:
                for spk in speakers:
                    fr[spk][exc.args[0]] = np.full(n, np.nan, np.float32)
    raise InputError(f"--format {fmt!r} cannot be written as text; give -o PATH")


def with_meta_overrides(d: dict, overrides: dict | None, add_tags=()) -> dict:
    """``d`` (an export's JSON) with the store metadata replaced by ``overrides``
    (``therapist``, ``client``, ``session_number``, ``notes``, ``recorded_at``) and
    ``add_tags`` appended to its tags: what ``prosody import``'s flags say wins over
    the file, before the file's metadata is checked. A ``prosody_store`` that is not
    an object is left as it is (to be refused)."""
    if not overrides and not add_tags:
        return d
    st = d.get(EXPORT_KEY)
    if st is not None and not isinstance(st, dict):
        return d
    st = {**(st or {}), **(overrides or {})}
    if add_tags:
        tags = st.get("tags") or []
        if isinstance(tags, list):
            both = list(dict.fromkeys([*tags, *add_tags]))  # a tag the file has, given again, once
            if len(both) > MAX_TAGS >= len(tags):  # the file's are within; was said "prosody_store: 101 tags"
                raise InvalidSessionError(f"--tag: the file's {len(tags)} tags and the {len(both) - len(tags)} "
                                          f"given make {len(both)}, more than the {MAX_TAGS} a session may hold")
            st["tags"] = both
    return {**d, EXPORT_KEY: st}


def read_export(path: str | os.PathLike, *, frames_path: str | os.PathLike | None = None,
                meta_overrides: dict | None = None, add_tags=()) -> ExportBundle:
    """Read a session to import: an exported or analysed JSON (frames from
    ``frames_path``, the file named in the export, or ``<stem>.frames.npz`` /
    ``<stem>.npz`` / ``<stem>_frames.npz`` beside it), or an exported Parquet.
    ``meta_overrides`` / ``add_tags``: metadata that replaces the file's (and
    tags added to it) before it is checked (``with_meta_overrides``)."""
    path = Path(path)
    check_input_file(path, what="cannot import")
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise InputError(f"cannot import {path}: {path.stat().st_size} bytes is more than a session file holds "
                         f"({MAX_IMPORT_BYTES} at most)")
    mtime = path.stat().st_mtime
    if path.suffix.lower() == ".parquet":
        return _read_parquet_export(path, meta_overrides, add_tags)
    return _read_json_export(path, mtime, frames_path, meta_overrides, add_tags)


def _read_parquet_export(path: Path, meta_overrides: dict | None, add_tags) -> ExportBundle:
    """An exported Parquet: the session in its metadata, the frames in its rows (one speaker column)."""
    pa = _pyarrow()
    import pyarrow.parquet as pq
    _check_parquet_sizes(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InvalidSessionError(f"cannot read {path} as Parquet: {exc}") from None
    meta = (table.schema.metadata or {}).get(PARQUET_META_KEY)
    if meta is None:
        raise InvalidSessionError(f"{path} is a Parquet file but not a prosody export (no {PARQUET_META_KEY.decode()} "
                         "metadata)")
    d = _json_loads(meta, path)
    if not isinstance(d, dict):
        raise InvalidSessionError(f"cannot import {path}: its {PARQUET_META_KEY.decode()} metadata is not "
                                  "a prosody session object")
    d = with_meta_overrides(d, meta_overrides, add_tags)
    has_frames = d.pop("has_frames", True)
    b = bundle_from_dict(d)
    if has_frames:
        if "speaker" not in table.column_names:  # table.column() raised KeyError: an internal error
            raise InvalidSessionError(f"cannot import {path}: its frame table has no 'speaker' column "
                                      f"(columns: {', '.join(table.column_names) or 'none'})")
        b.frames = {}
        speaker_col = np.asarray(table.column("speaker").to_numpy(zero_copy_only=False))
        _check_speaker_column(table, speaker_col, b.doc["speaker_order"], where=path)
        keys = [c for c in table.column_names if c not in ("time_s", "speaker")]
        hop_s = float(b.doc.get("frame_hop_s") or GRID.hop_s)
        n_want = round(float(b.doc.get("duration_s") or 0.0) / hop_s)
        for spk in b.doc["speaker_order"]:
            mask = speaker_col == spk
            order = _rows_in_time(table, mask, spk, hop_s, n_want, where=path)
            b.frames[spk] = {}
            for k in keys:
                col = table.column(k).filter(pa.array(mask))
                if col.null_count < len(col) or len(col) == 0:
                    b.frames[spk][k] = np.asarray(col.to_numpy(zero_copy_only=False))[order]
        try:  # the rules of an .npz beside a JSON export: a column of text, rows of one speaker only, ...
            b.frames = checked_frames(b.frames, where=f"{path}'s frame columns")
        except StoreError as exc:
            raise InvalidSessionError(f"cannot import {exc}") from None
        _check_frames_cover(b, where=f"{path}'s frame columns")
    return b


def _check_parquet_sizes(path: Path) -> None:
    """Refuse a Parquet file whose footer declares more than a session's frames hold, before any row is read: the
    rule of an .npz (``frames._check_npz_sizes``) for a table of one row per speaker and frame. At most two
    speakers' frames of a day (``MAX_COLUMN_FRAMES`` each), the frame columns at most ``MAX_NPZ_BYTES`` as float64,
    the pages at most that unpacked, no column of lists. A column of one value repeated is encoded in a few bytes a
    million rows: a 973 kB file of 30 M rows took 4.8 GB and 14 s to be refused as "arrays differ in length" (hostile
    sweep 56)."""
    import pyarrow.parquet as pq
    try:
        md = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InvalidSessionError(f"cannot read {path} as Parquet: {exc}") from None
    nested = [md.schema.column(i).path.split(".")[0] for i in range(md.num_columns)
              if md.schema.column(i).max_repetition_level]
    if nested:  # its rows do not bound its values: a 218 kB file of 40 rows held 400 M values (9.8 GB read)
        raise InvalidSessionError(f"cannot import {path}: its column {nested[0]} holds lists, where a frame table "
                                  "holds a number a row; not read: it is no export prosody wrote")
    # the frame columns (less time_s and speaker) as float64, or the pages unpacked where more
    unpacked = max(md.num_rows * max(md.num_columns - 2, 1) * 8,
                   sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups)))
    if md.num_rows > 2 * MAX_COLUMN_FRAMES or unpacked > MAX_NPZ_BYTES:
        hours = f"{MAX_FRAMES_SESSION_S / 3600:.0f} hours"
        raise InvalidSessionError(
            f"cannot import {path}: its frame table declares {md.num_rows:,} rows of {md.num_columns} columns "
            f"({unpacked / 1e6:,.0f} MB unpacked), more than a session's frames hold (at most "
            f"{2 * MAX_COLUMN_FRAMES:,} rows and {MAX_NPZ_BYTES / 1e6:,.0f} MB: two speakers' frames of {hours}); "
            "not read: it is no export prosody wrote")


def _check_speaker_column(table, speaker_col: np.ndarray, order, *, where: Path) -> None:
    """A Parquet export's ``speaker`` column names the speakers of ``speaker_order``: one of numbers (0 and 1,
    as a table written back by pandas with its speakers coded), or of names none of the session's, was refused
    as "holds 0 frames ... give the session's own with --frames" (an option of JSON exports)."""
    if len(speaker_col) == 0:
        return
    known = set(order)
    stray = [v for v in dict.fromkeys(speaker_col.tolist()) if not (isinstance(v, str) and v in known)]
    if not stray:
        return
    shown = ", ".join(repr(v)[:40] for v in stray[:4]) + (f" and {len(stray) - 4} more" if len(stray) > 4 else "")
    kind = table.schema.field("speaker").type
    raise InvalidSessionError(f"cannot import {where}: its speaker column ({kind}) holds {shown}, where each row "
                              f"names one of the session's speakers ({', '.join(order)}); write the speakers' "
                              "names back into it")


def _rows_in_time(table, mask: np.ndarray, spk: str, hop_s: float, n_want: int, *, where: Path) -> np.ndarray:
    """The order that puts speaker ``spk``'s rows (``mask``) of a Parquet export in time: by its ``time_s``
    (the frame centres ``frames_table`` writes), which must then be the frame grid, one row a frame. The rows
    were taken as they lay: a table reversed or sorted by another column (a pandas ``sort_values``, written
    back with its metadata) was imported with every frame's pitch and level at another frame's time, the
    figures checked (their medians do not see the order) and nothing said (hostile sweep 36). A table without
    ``time_s`` keeps its rows' order; one of more or fewer rows than the session's ``n_want`` frames is put in
    time and left to ``_check_frames_cover`` to refuse."""
    n = int(mask.sum())
    if "time_s" not in table.column_names:
        return np.arange(n)
    import pyarrow as pa
    col = table.column("time_s").filter(pa.array(mask))
    try:
        t = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidSessionError(f"cannot import {where}: its time_s column is not a column of numbers "
                                  f"({col.type})") from None
    order = np.argsort(t, kind="stable")
    if n != n_want:
        return order
    grid = (np.arange(n) + 0.5) * hop_s
    off = np.abs(t[order] - grid) > hop_s / 4  # NaN is off too
    if off.any():
        k = int(np.argmax(off))
        raise InvalidSessionError(
            f"cannot import {where}: {spk}'s rows are not one per frame: taken in time, its row {k + 1} has time_s "
            f"{float(t[order][k]):g} where frame {k + 1} is at {grid[k]:.3f} s (a row repeated, left out or its time "
            "changed); import the Parquet as `prosody export` wrote it")
    return order


def _read_json_export(path: Path, mtime: float, frames_path, meta_overrides: dict | None, add_tags) -> ExportBundle:
    """An exported or analysed JSON, checked whole before any of it is used; dated from its live capture's start
    or the file's time where it carries no date; its frames from ``frames_path`` or the file beside it."""
    try:
        d = _json_loads(path.read_text(encoding="utf-8"), path)
    except (UnicodeDecodeError, InvalidSessionError) as exc:
        other = _not_importable(path)  # one of prosody's other outputs, or a recording: said as what it is
        if other is not None:
            raise InvalidSessionError(f"cannot import {path}: {other}") from None
        if isinstance(exc, InvalidSessionError):
            raise
        raise InvalidSessionError(f"cannot import {path}: not JSON ({parse_problem(exc)})") from None
    if not isinstance(d, dict):
        raise InvalidSessionError(f"cannot import {path}: the JSON is not a prosody session object")
    d = with_meta_overrides(d, meta_overrides, add_tags)
    # the whole document is checked before any of it is used (the frames file it names, its times)
    check_store_meta(d.get(EXPORT_KEY))
    check_session_doc({k: v for k, v in d.items() if k != EXPORT_KEY})
    live = d.get("live") if isinstance(d.get("live"), dict) else {}
    default_when, no_date = _export_date(path, mtime, d, live)
    store_meta = d.get(EXPORT_KEY) or {}
    if frames_path is not None or store_meta.get("has_frames") is not False:  # else exported without: `export_dict`
        frames_path = _frames_beside(path, frames_path, store_meta.get("frames_file") or live.get("frames_file"))
    b = bundle_from_dict(d, default_recorded_at=default_when)
    if b.meta.recorded_at is None and default_when is None:  # the file's date (or the capture's) was taken: none
        b.no_date = no_date
    if frames_path is not None:
        b.frames = read_frames_npz(frames_path, b.doc["speaker_order"], importing=True)
        _check_frames_cover(b, where=f"frames file {frames_path}")
    return b


def _export_date(path: Path, mtime: float, d: dict, live: dict) -> tuple[str | None, str | None]:
    """(the date a JSON session without its own takes, why it has none): its live capture's start as local time
    (none where the capturing machine's clock was never set: before any digital recording), else the file's."""
    default_when, no_date = started_from_mtime(mtime, float(d.get("duration_s") or 0), what=str(path))
    if not isinstance(live.get("started_at"), str):
        return default_when, no_date
    try:
        started = datetime.fromisoformat(live["started_at"])
        started = started.astimezone().replace(tzinfo=None) if started.tzinfo else started
    except (ValueError, OverflowError):
        return default_when, no_date
    if started < EARLIEST_FILE_DATE:
        return None, (f"{path}'s live capture started at {started:%Y-%m-%d %H:%M} by the clock of the machine that "
                      "ran it, before any digital recording: that clock was wrong or never set, so the session has "
                      "no date")
    return started.isoformat(timespec="seconds"), None


def _frames_beside(path: Path, frames_path, named) -> Path | None:
    """The frames file of a JSON session: ``frames_path`` as given (``--frames``), else the one the file names or
    ``<stem>.frames.npz`` / ``<stem>.npz`` / ``<stem>_frames.npz`` beside it; None where there is none. A FIFO or
    a folder there is said, not taken for "no frames found"."""
    if frames_path is not None:
        check_input_file(frames_path, what="--frames")
        return frames_path
    stem = path.name.removesuffix(path.suffix)
    candidates = ([path.with_name(Path(named).name)] if isinstance(named, str) else []) + [
        path.with_name(f"{stem}.frames.npz"), path.with_name(f"{stem}.npz"), path.with_name(f"{stem}_frames.npz"),
        path.with_name(f"{path.name}.frames.npz")]
    found = next((c for c in candidates if c.exists()), None)
    if found is not None:
        check_input_file(found, what=f"cannot import {path}'s frames file")
    return found


def _check_frames_cover(b: ExportBundle, *, where: str) -> None:
    """The frames cover the session: one per hop of its ``duration_s`` (a session's
    duration is its frame count on the grid), else InvalidSessionError naming ``where``.
    A live session's frames beyond its ``duration_s`` are cut, as ``load_live_session`` cuts
    them: the live runner writes the frames file before the JSON that names it, so a capture
    killed between the two leaves a frames file newer (longer) than its JSON."""
    hop_s = float(b.doc.get("frame_hop_s") or GRID.hop_s)
    n_want, n = round(float(b.doc.get("duration_s") or 0.0) / hop_s), n_frames_of(b.frames)
    cut = n > n_want and b.doc.get("live") is not None
    if cut:
        b.frames = {spk: {k: a[:n_want] for k, a in cols.items()} for spk, cols in b.frames.items()}
        n = n_frames_of(b.frames)
    for spk, cols in b.frames.items():  # NaN marks a frame without a value; an infinity is none prosody writes
        for k, a in cols.items():
            n_inf = int(np.isinf(a).sum()) if a.dtype.kind == "f" else 0
            if n_inf:
                raise InvalidSessionError(
                    f"cannot import: {where}: {spk}'s {k} holds {n_inf} infinite value{'s' * (n_inf != 1)} (or ones "
                    "beyond its number type); prosody writes none (a frame without a value is NaN): it was "
                    "changed by hand or by another tool")
    if n != n_want:
        raise InvalidSessionError(f"cannot import: {where} holds {n} frames ({n * hop_s:.2f} s), the session "
                                  f"{b.doc.get('duration_s')} s ({n_want} frames); it belongs to another session "
                                  "or was cut short: give the session's own with --frames")
    live = b.doc.get("live")
    if not cut or (isinstance(live, dict) and live.get("complete") is True):
        # a live autosave older than its frames: its figures are of the frames as they were then (the later ones
        # may have changed its last decisions), not checked. A complete final save is written after its frames,
        # of the same frames: longer ones were another session's, cut and imported unchecked (hostile sweep 34)
        _check_figures_of_frames(b, hop_s, where=where)


def _check_figures_of_frames(b: ExportBundle, hop_s: float, *, where: str) -> None:
    """A speaker's figures that its frames decide (hostile sweep 11): ``speech_s`` is its speech frames
    times the hop (within two hops), ``f0_median_hz`` a median of the pitch of its speech frames and
    ``rms_db_median`` of their level, so each lies within their range (not their exact median: how few
    voiced frames give a median has changed between versions). A document edited by hand or joined to
    another session's frames was imported and shown as it stood (``Typical pitch 177 Hz`` over frames
    without a pitch; 23.4 s of speech over 5 s of speech frames); refused in one line, not recomputed: the
    other figures (segments, rates, shares) would be left disagreeing."""
    for spk, fig in (b.doc.get("speakers") or {}).items():
        cols = b.frames.get(spk)
        if not isinstance(fig, dict) or not cols or "is_speech" not in cols:
            continue
        speech = np.asarray(cols["is_speech"]).astype(bool)
        n_speech = int(speech.sum())
        said = fig.get("speech_s")
        if said is not None and abs(float(said) - n_speech * hop_s) > 2 * hop_s + 1e-6:
            raise InvalidSessionError(
                f"cannot import: speakers.{spk}.speech_s = {said!r}, but {where} holds {n_speech} speech frames of "
                f"{spk}'s ({n_speech * hop_s:.2f} s): the document's figures are not those of these frames (edited "
                "by hand, or the frames are another session's)")
        for key, col, unit in (("f0_median_hz", "f0_hz", "Hz"), ("rms_db_median", "rms_db", "dB")):
            value = fig.get(key)
            if value is None or col not in cols:
                continue
            x = np.asarray(cols[col], dtype=np.float64)[speech]
            x = x[np.isfinite(x)]
            if not len(x):
                raise InvalidSessionError(
                    f"cannot import: speakers.{spk}.{key} = {value!r}, but none of {spk}'s {n_speech} speech frames "
                    f"in {where} holds a {col} value: the document's figures are not those of these frames "
                    "(edited by hand, or the frames are another session's)")
            lo, hi = float(x.min()), float(x.max())
            slack = 0.01 + 1e-4 * max(abs(lo), abs(hi))  # the document's figures are rounded to 4 decimals
            if not lo - slack <= float(value) <= hi + slack:
                raise InvalidSessionError(
                    f"cannot import: speakers.{spk}.{key} = {value!r}, but {spk}'s speech frames in {where} hold "
                    f"{col} from {lo:.2f} to {hi:.2f} {unit}, and a median lies within them: the document's figures "
                    "are not those of these frames (edited by hand, or the frames are another session's)")


IMPORTABLE = "import takes the JSON (its .frames.npz beside it) or the Parquet that `prosody export` writes"


def _not_importable(path: Path) -> str | None:
    """What ``path`` is, where its first bytes show one of prosody's other outputs or a recording, and what
    import takes (hostile sweep 15: an exported TextGrid, EAF, RTTM or frames CSV, the frames .npz beside a
    JSON export, a WAV were each 'not JSON (Expecting value: line 1 column 1 (char 0))' or '(... codec can't
    decode byte 0xed in position 14 ...)'); None: nothing recognised."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    out = {b"File type = \"ooTextFile\"": "a Praat TextGrid (as `export --format textgrid` writes it)",
           b"SPEAKER ": "an RTTM file (as `export --format rttm` writes it)",
           b"time_s,": "a frames CSV (as `export --format csv` and `analyze --frames` write it)"}
    what = next((w for k, w in out.items() if text.startswith(k)), None)
    if what is None and text.startswith(b"<?xml") and b"<ANNOTATION_DOCUMENT" in head:
        what = "an ELAN EAF file (as `export --format eaf` writes it)"
    if what is not None:
        return f"{what}, which is for reading in other tools, not importing: {IMPORTABLE}"
    if head.startswith(b"PK\x03\x04") and path.suffix.lower() == ".npz":
        return (f"a frames file (.npz), which holds no session: {IMPORTABLE} (import the JSON; its frames are "
                "read from beside it, or named with --frames)")
    if head[:4] in (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM") or head.startswith(b"ID3"):
        return "a recording, not a session: `prosody analyze FILE --save` analyses it and stores the session"
    return None


def _json_loads(text, path) -> object:
    """JSON -> value; a document nested too deep for the parser is refused in one line, and one that ends inside
    an object, a list or a string as cut short (it was "not JSON (Expecting ',' delimiter: line 3995 column 1)":
    an export copied in part, a save interrupted; hostile sweep 38)."""
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and a number of over 4300 digits (int conversion limit)
        if isinstance(exc, json.JSONDecodeError) and _ends_inside(text):
            raise InvalidSessionError(f"cannot import {path}: it is cut short: its JSON ends inside an object, a "
                                      f"list or a text after {len(text.encode('utf-8'))} bytes (a copy or save "
                                      "interrupted?); export the session again, or import the whole file") from None
        raise InvalidSessionError(f"cannot import {path}: not JSON ({parse_problem(exc)})") from None
    except RecursionError:
        raise InvalidSessionError(f"cannot import {path}: the JSON is nested too deep to be a prosody "
                                  "session") from None


def _ends_inside(text: str) -> bool:
    """``text`` (JSON that does not parse) opens an object or list it never closes, or ends inside a string:
    the start of a document whose end is missing."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:  # a backslash escapes the character after it; an unescaped quote ends the string
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_string or depth > 0
