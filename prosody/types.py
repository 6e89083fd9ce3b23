"""Frozen values passed between stages and out of the pipeline."""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import unicodedata
from dataclasses import dataclass

import numpy as np


SPEAKER_NAME_MAX_CHARS = 64
# the one voice of a shared or mono recording whose split in two was withheld (who spoke when is unsure:
# ``engine.diarize.split_unsure``): its speech may be both people's, so it is neither the therapist nor the
# client, and no figure addressed to either (warmth, cues, a role in trends) is computed on it
UNATTRIBUTED = "unattributed"
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")
# lone surrogates: bytes that are not UTF-8, as Python decodes them from a command line or a file
# name (surrogateescape); they cannot be stored, written as UTF-8 or shown as what was meant
_NOT_UTF8 = re.compile("[\ud800-\udfff]")


# Unicode's format characters (ZWJ, ZWNJ, the bidi marks, embeddings, overrides and isolates, the deprecated format
# characters, the invisible operators, the tag characters, soft hyphen, zero-width space) and controls: none draws
INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc"})


def shows_nothing(text: str) -> bool:
    """Whether a listing of ``text`` would show nothing: it holds only white space, format characters and controls
    (``INVISIBLE_CATEGORIES``). Not only the characters a name is stored without (``store.db.nfc``): a client
    named ZWJ alone, a tag of ZWNJ, a note of one right-to-left override were kept, listed as nothing (hostile
    sweep 41)."""
    return all(c.isspace() or unicodedata.category(c) in INVISIBLE_CATEGORIES for c in text)


def text_problem(text) -> str | None:
    """What makes ``text`` (a note, a name) unfit to keep, or None: bytes that are not UTF-8 text."""
    if isinstance(text, str) and _NOT_UTF8.search(text):
        if _utf8_read_as_ascii(text):
            return (f"is UTF-8 text, but this Python reads the command line and file names as "
                    f"{sys.getfilesystemencoding()} (the C locale with PYTHONUTF8=0, or another locale that is not "
                    "UTF-8): run prosody with PYTHONUTF8=1 or a UTF-8 locale (LANG=C.UTF-8)")
        return "holds bytes that are not UTF-8 text"
    return None


def _utf8_read_as_ascii(text: str) -> bool:
    """Whether ``text`` (from the command line or a file name) is UTF-8 that Python read as bytes it
    could not decode because its file-system encoding is not UTF-8 (``LC_ALL=C PYTHONUTF8=0``)."""
    if sys.getfilesystemencoding().lower().replace("-", "") == "utf8":
        return False
    try:
        os.fsencode(text).decode("utf-8")
    except (UnicodeError, ValueError):
        return False
    return True


NOTHING_SHOWN = "empty but for characters no listing shows (zero-width spaces, bidi marks)"


def name_problem(text, *, limit: int = SPEAKER_NAME_MAX_CHARS) -> str | None:
    """What is wrong with ``text`` as a name (a speaker label, a therapist, a tag), or None.

    The one rule for names: text, not blank, at most ``limit`` characters, no
    control characters (they would end up in file names, RTTM lines and
    terminals). The command line checks labels with it before any analysis; the
    store checks the saved document with it (``formats.schema``)."""
    if not isinstance(text, str):
        return "expected text"
    if not text.strip():
        return "empty"
    if shows_nothing(text):  # nothing to see in a listing: refused before any work
        return NOTHING_SHOWN
    if len(text) > limit:
        return f"longer than {limit} characters"
    if _CONTROL_CHARS.search(text):
        return "holds control characters"
    return text_problem(text)


@dataclass(frozen=True)
class Segment:
    """A stretch of one speaker's speech, ``[start_s, end_s)``."""

    speaker: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Turn:
    """A speaker's hold of the floor: from its first to its last speech segment
    before the other speaker takes the floor (pauses inside it included)."""

    speaker: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Pause:
    """Silence between two segments of the same speaker inside one turn."""

    speaker: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Transition:
    """A speaker change (Heldner & Edlund 2010)::

        from  ====|            gap: offset_s > 0
        to           |=====
        from  ========|        overlap: offset_s < 0
        to         |=====

    ``offset_s`` = ``to_start_s`` - ``from_end_s`` is the floor transfer offset
    (de Ruiter et al. 2006).
    """

    from_speaker: str
    to_speaker: str
    from_end_s: float
    to_start_s: float

    @property
    def offset_s(self) -> float:
        return self.to_start_s - self.from_end_s

    @property
    def kind(self) -> str:
        return "overlap" if self.offset_s < 0 else "gap"


@dataclass(frozen=True)
class Event:
    """``kind``: backchannel | interruption | failed_interruption; ``speaker`` is
    the listener who produced it."""

    kind: str
    speaker: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class FrameBlock:
    """Final per-frame features of one speaker for frames
    ``[start_frame, start_frame + n)``. Arrays have shape (n,).

    ``rms_db``: frame RMS in dBFS (float32, floor -120). ``f0_hz``: NaN when
    unvoiced, and in the frames both of two voices cut from one mix hold as speech
    (``Pipeline._own_pitch``). ``voiced_prob`` in [0, 1]. ``is_speech``: final VAD decision.
    ``hf500_db``: energy above / below 500 Hz in dB (spectral balance).
    """

    speaker: str
    start_frame: int
    is_speech: np.ndarray
    f0_hz: np.ndarray
    voiced_prob: np.ndarray
    rms_db: np.ndarray
    hf500_db: np.ndarray

    def __len__(self) -> int:
        return len(self.is_speech)


# The per-frame columns of a FrameBlock, in order, with their dtypes: the one
# list that the pipeline, sessions, live saves, the store and exports share.
FRAME_COLUMNS: dict[str, type] = {"is_speech": np.bool_, "f0_hz": np.float32, "voiced_prob": np.float32,
                                  "rms_db": np.float32, "hf500_db": np.float32}


@dataclass(frozen=True)
class Provisional:
    """What a live display can show before the final decisions of one speaker:
    the frames ``[start_frame, start_frame + n)`` just cut (level and the raw
    speech decision: webrtcvad and level gate, cross-talk removed, before
    smoothing) and the frames ``[f0_start_frame, ...)`` just analysed by the
    pitch tracker (each frame's best candidate, before the path decision).
    Final values (``FrameBlock``) replace them."""

    speaker: str
    start_frame: int
    is_speech: np.ndarray
    rms_db: np.ndarray
    f0_start_frame: int
    f0_hz: np.ndarray


@dataclass(frozen=True)
class SpeakerStats:
    speaker: str
    speech_s: float
    talk_share: float | None       # share of all speakers' speech time; None for one speaker
    n_segments: int
    n_turns: int | None
    f0_median_hz: float | None
    f0_sd_st: float | None         # SD of F0 in semitones over voiced speech frames
    f0_range_st: float | None      # 5th-95th percentile span, semitones
    rms_db_median: float | None    # median frame level over speech frames, dBFS
    n_syllables: int
    speech_rate_syl_s: float | None        # syllables / (floor time + own speech outside it)
    articulation_rate_syl_s: float | None  # syllables / speech time
    gap_median_s: float | None     # median floor transfer offset when this speaker takes the floor
    overlaps: int | None           # this speaker's segments starting while the other speaks
    interruptions: int | None
    failed_interruptions: int | None
    backchannels: int | None


# The per-speaker summary columns: the one list that the JSON, the store and batch tables share.
SPEAKER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SpeakerStats) if f.name != "speaker")
