"""Per-frame features of a session and their one file codec (compressed ``.npz``).

``frames[speaker][key]`` holds arrays of shape (n_frames,) on the analysis grid
(10 ms hop, frame centre ``(k + 0.5) * hop_s``). ``FRAME_KEYS`` are the columns
every session has; the engine may add more (e.g. ``hf500_db``), and every key
present is kept by the codec.
"""
from __future__ import annotations

import io
import re
import zipfile

import numpy as np

from .errors import StoreError
from .types import FRAME_COLUMNS

FRAME_KEYS = tuple(FRAME_COLUMNS)
_FRAME_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
FRAME_DTYPES = dict(FRAME_COLUMNS)


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


def read_frames_npz(path_or_file, speakers) -> dict[str, dict[str, np.ndarray]]:
    """Read frames from an ``.npz``: this module's layout (``speakers`` +
    ``s{i}_{key}``) or one keyed by speaker name (``{speaker}/{key}``,
    ``{speaker}.{key}``, ``{speaker}__{key}``, ``{speaker}_{key}``). Returns
    ``frames[speaker][key]``, arrays of shape (n_frames,)."""
    try:
        with np.load(path_or_file, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        # numpy reads a file that is not an .npz as a pickle, which it refuses: say what the file is not
        # (an empty file: EOFError, which was an internal error);
        # an OSError's reason alone ('Permission denied'): its own text repeats the path named here
        why = "not a frames file (.npz) prosody wrote; it was replaced or damaged" if (
            isinstance(exc, EOFError) or isinstance(exc, ValueError) and "pickle" in str(exc)) else (
            (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc))
        raise StoreError(f"cannot read frames file {path_or_file}: {why}") from None
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
