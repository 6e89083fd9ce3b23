"""Hostile sweep 20 (docs/store.md): the live monitoring user, the view and its gentle cues against planted truth.

1. The view's keys were read a character at a time: a terminal's escape sequence was taken for its letters (the
   down arrow, ESC [ B, made a bookmark; F1, ESC O P, paused; F2, ESC O Q, saved and quit), and a paste into a
   note ended the note at its first line end and ran the rest as keys ("line one\\rqpb" saved "line one", then
   quit, paused and bookmarked). ``cli.liveview.KeyInput`` reads sequences and pastes as such.
"""
from __future__ import annotations

import json

import pytest

from cli.liveview import KeyInput
from tests.test_sweep_hostile10 import _live_view_with_keys


# -- 1. keys: escape sequences and pastes ----------------------------------------------------------------------

def _feed(*chunks: bytes) -> tuple[list, str | None]:
    k = KeyInput()
    out = []
    for c in chunks:
        out += k.feed(c)
    return out, k.note


def test_escape_sequences_are_no_keys_of_the_view():
    # arrows (normal and application mode), F1-F4, Home/End/PgDn, Alt+q: nothing
    for seq in (b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1bOB", b"\x1bOP", b"\x1bOQ", b"\x1bOR",
                b"\x1b[15~", b"\x1b[1;5B", b"\x1b[6~", b"\x1b[H", b"\x1bq"):
        assert _feed(seq) == ([], None), seq  # before: B/P/Q/R... read as bookmark, pause, quit
    assert _feed(b"b\x1b[Bq") == ([("bookmark",), ("quit",)], None)
    # inside a note an arrow neither ends it nor makes a bookmark; Esc alone ends it without a note
    assert _feed(b"n", b"abc", b"\x1b[D", b"d", b"\r") == ([("note",), ("save_note", "abcd")], None)
    assert _feed(b"n", b"abc", b"\x1b") == ([("note",), ("save_note", "")], None)
    assert _feed(b"q", b"q") == ([("quit",), ("quit",)], None)  # keys pressed fast are each a key


def test_a_paste_is_a_notes_text_never_keys():
    # a burst (no bracketed paste): a line end with more after it in the same read continues the note
    assert _feed(b"n", b"line one\rqpb", b"\r") == ([("note",), ("save_note", "line one qpb")], None)
    # bracketed paste: in a note whole, line ends as spaces; outside one, ignored
    assert _feed(b"n", b"\x1b[200~q p\r\nb\x1b[201~", b"\r") == ([("note",), ("save_note", "q p  b")], None)
    assert _feed(b"\x1b[200~qpbn\r\x1b[201~") == ([], None)
    assert _feed(b"\x1b[200~qp", b"bn\r\x1b[201~", b"p") == ([("pause",)], None)  # a paste over two reads
    # a typed line end at the end of a read ends the note, as before; what follows is keys again
    assert _feed(b"n", b"ok\r", b"q") == ([("note",), ("save_note", "ok"), ("quit",)], None)
    # a character split between two reads is kept (before: dropped by each read's own decoding)
    e = "é".encode()
    assert _feed(b"n", b"caf" + e[:1], e[1:] + b"\r") == ([("note",), ("save_note", "café")], None)


def test_a_10_kb_paste_and_a_note_longer_than_a_session_holds():
    from prosody.formats.schema import MAX_TEXT_CHARS
    text = ("word " * 2048).encode()  # 10 KB
    acts, note = _feed(b"n", b"\x1b[200~" + text + b"\x1b[201~", b"\r")
    assert acts == [("note",), ("save_note", ("word " * 2048).strip())] and note is None
    k = KeyInput()
    k.feed(b"n")
    for _ in range(30):
        k.feed(b"x" * 4096)
    assert len(k.note) == MAX_TEXT_CHARS + 1  # held to one over: the runner cuts it and says so


def test_arrows_f2_and_a_pasted_note_in_the_live_view(tmp_path, short_wav):
    """The full-screen view on a pseudo-terminal: the down arrow, F2, then a note pasted as a burst."""
    out = tmp_path / "keys.json"
    status, shown = _live_view_with_keys(out, short_wav, b"\x1b[B\x1bOQ" + b"n" + b"line one\rqpb\r")
    doc = json.loads(out.read_text())
    assert status == 0 and doc["duration_s"] == 8.0, (status, doc["duration_s"])  # before: quit at 1.06 s (F2)
    assert [b["note"] for b in doc["bookmarks"]] == ["line one qpb"], doc["bookmarks"]  # before: '', '' (arrow)
    assert doc["live"]["paused"] == []
    assert shown.count("\x1b[?2004h") == 1 and shown.count("\x1b[?2004l") == 1  # bracketed paste on, then off


# -- 2. the monologue cue and a long silence -------------------------------------------------------------------

def _monologue_cue(segments, end_s: float, transitions=()):
    import numpy as np

    from prosody.measures import MeasuresConfig
    from prosody.measures.cues import cues
    from prosody.measures.slice import Slice
    from prosody.timebase import GRID
    from prosody.types import Segment
    f1 = GRID.s_to_frames(end_s)
    f0 = max(0, f1 - GRID.s_to_frames(60.0))
    n = f1 - f0
    frames = {s: {"f0_hz": np.full(n, 150.0), "rms_db": np.full(n, -30.0), "is_speech": np.ones(n, bool),
                  "hf500_db": np.zeros(n)} for s in ("therapist", "client")}
    segs = [Segment(*x) for x in segments]
    sl = Slice.cut(grid=GRID, speakers=("therapist", "client"), frame0=f0, frame1=f1, frames=frames,
                   segments=segs, transitions=list(transitions), turn_taking=True, look_s=max(0.0, end_s - 120.0))
    first = min(segs, key=lambda s: s.start_s)
    return [c["message"] for c in cues(sl, {}, {}, MeasuresConfig(), first) if c["kind"] == "monologue"]


def test_a_long_silence_ends_a_monologue():
    """The therapist spoke 11 s, then nobody for 85 s, then the therapist again for 4 s: the cue said
    "monologue 114 s" (the floor held since 0.5 s, the silence in it); a silence of 3 s or more
    (``cues.monologue_silence_s``) ends the monologue."""
    T, C = "therapist", "client"
    assert _monologue_cue([(T, 0.5, 11.5), (T, 12.0, 25.0), (T, 110.4, 114.8)], 115.0) == []  # before: 114 s
    # pauses of 2.9 s do not: 95 s of talk in 10 s sentences is a monologue (held: "monologue 94 s")
    talk = [(T, 0.5 + 10 * k, 7.6 + 10 * k) for k in range(10)]
    assert _monologue_cue(talk, 95.0) == ["monologue 94 s"]
    # a 5 s silence with a client's "mm" in it is two silences over 3 s: the monologue starts after them
    assert _monologue_cue([(T, 0.5, 40.0), (C, 45.0, 45.5), (T, 50.0, 150.0)], 150.0) == ["monologue 100 s"]
