"""Per-frame features of a session and their one file codec (compressed ``.npz``).

``frames[speaker][key]`` holds arrays of shape (n_frames,) on the analysis grid
(10 ms hop, frame centre ``(k + 0.5) * hop_s``). ``FRAME_KEYS`` are the columns
every session has; the engine may add more (e.g. ``hf500_db``), and every key
present is kept by the codec.
"""
from __future__ import annotations

import io
import math
import re
import zipfile

import numpy as np

from .errors import FramesLostError, StoreError
from .timebase import GRID
from .types import FRAME_COLUMNS

FRAME_KEYS = tuple(FRAME_COLUMNS)
_FRAME_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
FRAME_DTYPES = dict(FRAME_COLUMNS)

# What an .npz of frames may declare, checked from its zip directory and each array's .npy header
# before any array is read: an .npz is a zip, and a column of zeros deflates about 1000:1 (200 kB on
# disk, 200 MB in memory). The bounds are what a real session holds, generously: a day of frames per
# column (six times a 4-hour session), and two speakers' columns (FRAME_COLUMNS) of a day each in the
# widest number type (float64) for the whole file. A 4-hour session of two speakers holds 1.44 M
# frames per column and 49 MB in all.
MAX_FRAMES_SESSION_S = 24 * 3600.0
MAX_COLUMN_FRAMES = GRID.s_to_frames(MAX_FRAMES_SESSION_S)           # 8,640,000
MAX_COLUMN_BYTES = MAX_COLUMN_FRAMES * 8                              # 69 MB
MAX_NPZ_BYTES = 2 * len(FRAME_COLUMNS) * MAX_COLUMN_BYTES            # 691 MB unpacked in all
_NPY_HEADER_MAX_BYTES = 10_000  # numpy's own bound on an .npy header (np.load's max_header_size)


def frames_to_npz_bytes(frames: dict[str, dict[str, np.ndarray]], speakers) -> bytes:
    """Frames -> compressed ``.npz`` bytes: ``speakers`` (names, channel order) and
    ``s{i}_{key}`` per speaker index and frame key. Every key present is kept
    (``FRAME_KEYS`` and any the engine adds, e.g. ``hf500_db``), dtype unchanged."""
    arrays = {"speakers": np.array(list(speakers), dtype=str)}
    for i, spk in enumerate(speakers):
        for key, arr in frames.get(spk, {}).items():
            if not _FRAME_KEY_RE.fullmatch(key):
                raise StoreError(f"frame key {key!r} of {spk}: keys must be lower-case letters, digits and _")
            arrays[f"s{i}_{key}"] = np.asarray(arr)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _table_kind(path_or_file) -> str | None:
    """'CSV' or 'Parquet' where the file is one of prosody's frames tables (its first bytes), else None."""
    try:
        if hasattr(path_or_file, "read"):
            return None
        with open(path_or_file, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if head.startswith((b"time_s,", b"\xef\xbb\xbftime_s,")):  # with or without a byte order mark
        return "CSV"
    return "Parquet" if head.startswith(b"PAR1") else None


def read_frames_npz(path_or_file, speakers, *, importing: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Read frames from an ``.npz``: this module's layout (``speakers`` +
    ``s{i}_{key}``) or one keyed by speaker name (``{speaker}/{key}``,
    ``{speaker}.{key}``, ``{speaker}__{key}``, ``{speaker}_{key}``). Returns
    ``frames[speaker][key]``, arrays of shape (n_frames,). ``importing`` (``import --frames``): one of
    prosody's frames tables given instead is said as what it is, with what import takes."""
    try:
        _check_npz_sizes(path_or_file)
        with np.load(path_or_file, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        # numpy reads a file that is not an .npz as a pickle, which it refuses: say what the file is not
        # (an empty file: EOFError, which was an internal error);
        # an OSError's reason alone ('Permission denied'): its own text repeats the path named here
        why = "not a frames file (.npz) prosody wrote; it was replaced or damaged" if (
            isinstance(exc, EOFError) or isinstance(exc, ValueError) and "pickle" in str(exc)) else (
            (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc))
        if isinstance(exc, zipfile.BadZipFile) and _zip_start(path_or_file):  # was zipfile's "File is not a zip file"
            why = ("it is cut short: a zip file's start without its end, where its directory lies (a copy or save "
                   "interrupted?)")
        kind = _table_kind(path_or_file) if importing and why.startswith("not a frames file") else None
        if kind == "CSV":  # prosody's own frames table (analyze --frames, export --format csv), for reading
            why = ("a frames CSV (as `analyze --frames` and `export --format csv` write it), which is for reading, "
                   "not importing: import takes the .npz that `export -o FILE.json` writes beside it (to store a "
                   "recording's frames, `analyze --save`)")
        elif kind == "Parquet":  # export --format parquet: the whole session, frames and all
            why = ("a Parquet file; an exported session's Parquet holds its frames itself: import it alone "
                   f"(`prosody import {path_or_file}`)")
        # damaged (cut short, replaced): its features are lost, a stored session's document still reads (its
        # export and report go on without them); a file the system will not read now (an OSError) is said only
        lost = FramesLostError if not isinstance(exc, OSError) else StoreError
        raise lost(f"cannot read frames file {path_or_file}: {why}") from None
    names = [str(x) for x in data.pop("speakers")] if "speakers" in data else list(speakers)
    if list(speakers) and names != list(speakers):
        raise StoreError(f"frames file {path_or_file} holds speakers {names}, the session {list(speakers)}")
    frames: dict[str, dict[str, np.ndarray]] = {x: {} for x in names}
    for k, arr in data.items():
        # a position (s{i}_, as written here) before any name: a first speaker named "s1" took the second's
        # s1_* by its name, and the store's file of speakers s1 and s0 was unreadable ("no frames for s0")
        for prefixes in ([(i, f"s{i}_") for i in range(len(names))],
                         [(i, p) for i, name in enumerate(names)
                          for p in (f"{name}/", f"{name}.", f"{name}__", f"{name}_")]):
            i, prefix = next(((i, p) for i, p in prefixes
                              if k.startswith(p) and _FRAME_KEY_RE.fullmatch(k[len(p):])), (None, None))
            if prefix:
                frames[names[i]][k[len(prefix):]] = arr
                break
    empty = [x for x, f in frames.items() if not f]
    if empty:
        raise StoreError(f"frames file {path_or_file} has no frames for {', '.join(empty)} "
                         f"(keys found: {', '.join(sorted(data)) or 'none'}; expected e.g. s0_f0_hz or "
                         f"{names[0] if names else 'therapist'}/f0_hz)")
    return checked_frames(frames, where=f"frames file {path_or_file}")


ZIP_LOCAL_HEADER = b"PK\x03\x04"  # how a zip file, and so an .npz, begins


def _zip_start(path_or_file) -> bool:
    """``path_or_file`` begins as a zip file does (a path, read by ``fileio.file_head``; a file object is read where
    it stands, put back)."""
    if not hasattr(path_or_file, "read"):
        from .fileio import file_head
        return file_head(path_or_file, len(ZIP_LOCAL_HEADER)) == ZIP_LOCAL_HEADER
    try:
        start = path_or_file.tell()
        head = path_or_file.read(len(ZIP_LOCAL_HEADER))
        path_or_file.seek(start)
    except OSError:
        return False
    return head == ZIP_LOCAL_HEADER


def _check_npz_sizes(path_or_file) -> None:
    """Raise StoreError where the .npz ``path_or_file`` declares more than a session's frames hold
    (``MAX_COLUMN_FRAMES`` per array, ``MAX_COLUMN_BYTES`` per array unpacked, ``MAX_NPZ_BYTES`` in
    all), read from its zip directory (each member's uncompressed size, which bounds what zipfile
    inflates) and each member's .npy header (its shape and dtype, which numpy allocates before it
    reads the data). Nothing is inflated beyond the headers. A file that is no zip is left to
    ``np.load``, which says what it is not; a file object is read from where it stands and put back."""
    tell = getattr(path_or_file, "tell", None)
    start = tell() if tell is not None else None
    hours = f"{MAX_FRAMES_SESSION_S / 3600:.0f} hours"

    def refused(what: str, limit: str) -> StoreError:
        return StoreError(f"frames file {path_or_file}: {what}, more than a session's frames hold ({limit}); "
                          "not read: it is no frames file prosody wrote")
    try:
        if not zipfile.is_zipfile(path_or_file):
            return
        if start is not None:
            path_or_file.seek(start)
        with zipfile.ZipFile(path_or_file) as zf:
            members = zf.infolist()
            total = sum(m.file_size for m in members)
            if total > MAX_NPZ_BYTES:
                raise refused(f"it unpacks to {total / 1e6:,.0f} MB",
                              f"at most {MAX_NPZ_BYTES / 1e6:,.0f} MB: two speakers' columns of {hours}")
            for m in members:
                if m.file_size > MAX_COLUMN_BYTES + _NPY_HEADER_MAX_BYTES:
                    raise refused(f"{m.filename} unpacks to {m.file_size / 1e6:,.0f} MB",
                                  f"at most {MAX_COLUMN_BYTES / 1e6:,.0f} MB a column: {hours} of float64")
                if not m.filename.endswith(".npy"):
                    continue  # np.load reads the others as bytes, bounded by the size above
                try:
                    with zf.open(m) as f:
                        count, nbytes = _npy_header(f)
                # zipfile's own errors: RuntimeError for an encrypted member, NotImplementedError for a
                # compression method it cannot read; each is one line, not an internal error
                except (RuntimeError, NotImplementedError) as exc:
                    raise StoreError(f"cannot read frames file {path_or_file}: {exc}") from None
                if count > MAX_COLUMN_FRAMES or nbytes > MAX_COLUMN_BYTES:
                    raise refused(f"{m.filename} declares {count:,} values ({nbytes / 1e6:,.0f} MB)",
                                  f"at most {MAX_COLUMN_FRAMES:,} frames a column: {hours}")
    finally:
        if start is not None:
            path_or_file.seek(start)


def _npy_header(f) -> tuple[int, int]:
    """(number of values, bytes) an .npy stream declares in its header; ValueError where
    it is no .npy numpy writes for numbers or text (format 1.0 or 2.0)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=_NPY_HEADER_MAX_BYTES)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=_NPY_HEADER_MAX_BYTES)
    else:
        raise ValueError(f"an .npy of format {version[0]}.{version[1]}, which prosody does not write")
    count = math.prod(int(d) for d in shape)
    return count, count * dtype.itemsize


def checked_frames(frames: dict[str, dict], *, where: str) -> dict[str, dict[str, np.ndarray]]:
    """``frames[speaker][key]`` as the store keeps them, or StoreError naming ``where``: every
    speaker has frames, each a 1-D column of numbers (known keys in their dtype), all of one length.
    The rule of every way in (an .npz beside an export, a Parquet export's columns)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, f in frames.items():
        if not f:
            raise StoreError(f"{where} has no frames for {name}")
        out[name] = {}
        for key, arr in f.items():
            if not _FRAME_KEY_RE.fullmatch(key):
                raise StoreError(f"{where}: frame key {key!r} of {name}: keys must be lower-case letters, digits and _")
            a = np.asarray(arr)
            if a.ndim != 1 or a.dtype.kind not in "biuf":
                raise StoreError(f"{where}: {name}'s {key} is not a column of numbers (shape {a.shape}, dtype {a.dtype})")
            # a value beyond the column's type (1e300 as float32) becomes an infinity, which an import refuses
            # (formats.export); numpy's RuntimeWarning about it was a second line, and the only word of it
            with np.errstate(over="ignore", invalid="ignore"):
                out[name][key] = a.astype(FRAME_DTYPES[key], copy=False) if key in FRAME_DTYPES else a
    lengths = {len(a) for f in out.values() for a in f.values()}
    if len(lengths) > 1:
        raise StoreError(f"{where}: arrays differ in length {sorted(lengths)}; "
                         "every speaker and key must cover the same frames")
    return out


def frame_keys(frames: dict[str, dict[str, np.ndarray]]) -> list[str]:
    """Keys present in any speaker's frames: ``FRAME_KEYS`` first, then others sorted."""
    present = {k for f in frames.values() for k in f}
    return [k for k in FRAME_KEYS if k in present] + sorted(present - set(FRAME_KEYS))


def n_frames_of(frames: dict[str, dict[str, np.ndarray]]) -> int:
    return next((len(a) for f in frames.values() for a in f.values()), 0)
