"""CSV of per-frame features: one row per speaker and frame (writer only;
the frames' own file codec is ``prosody.frames``)."""
from __future__ import annotations

import csv
import io
from typing import Mapping, Sequence

import numpy as np

from ..timebase import GRID, Grid
from ..typed_text import spreadsheet_cell


def frames_csv(frames: Mapping[str, Mapping[str, np.ndarray]], *, speakers: Sequence[str], n_frames: int,
               grid: Grid = GRID) -> str:
    """Per-frame features, one row per speaker and frame. ``frames[speaker][key]``:
    arrays of shape (n_frames,) on ``grid``; the keys read are ``is_speech``,
    ``f0_hz``, ``voiced_prob``, ``rms_db`` and ``hf500_db`` (a missing one raises
    ``KeyError``). ``time_s`` is the frame centre; ``rms_rel_db`` the level
    relative to the speaker's median speech level. Rows end in CRLF (RFC 4180),
    so that a typed label holding a CR or LF is quoted, never a row break; a
    label a spreadsheet would run as a formula gets a leading ``'``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["time_s", "speaker", "is_speech", "f0_hz", "voiced_prob", "rms_db", "rms_rel_db", "hf500_db"])
    centres = grid.frame_centre_s(np.arange(n_frames))
    for spk in speakers:
        fr = frames[spk]
        speech_levels = fr["rms_db"][fr["is_speech"]]
        ref = float(np.median(speech_levels)) if len(speech_levels) else float("nan")
        cell = spreadsheet_cell(spk)  # a typed label: never a formula in a spreadsheet
        for t, sp, f0, vp, lv, hf in zip(centres.tolist(), fr["is_speech"].tolist(), fr["f0_hz"].tolist(),
                                         fr["voiced_prob"].tolist(), fr["rms_db"].tolist(),
                                         fr["hf500_db"].tolist()):
            w.writerow([f"{t:.3f}", cell, int(sp), "" if f0 != f0 else f"{f0:.2f}", f"{vp:.3f}",
                        f"{lv:.2f}", "" if ref != ref else f"{lv - ref:.2f}", f"{hf:.2f}"])
    return buf.getvalue()
