"""Hostile sweep 20 (docs/store.md): the live monitoring user, the view and its gentle cues against planted truth.

1. The view's keys were read a character at a time: a terminal's escape sequence was taken for its letters (the
   down arrow, ESC [ B, made a bookmark; F1, ESC O P, paused; F2, ESC O Q, saved and quit), and a paste into a
   note ended the note at its first line end and ran the rest as keys ("line one\\rqpb" saved "line one", then
   quit, paused and bookmarked). ``cli.liveview.KeyInput`` reads sequences and pastes as such.
2. The monologue cue counted a silence in the floor hold: 11 s of talk, 85 s of nobody, 4 s more read
   "monologue 101 s"; a silence of ``cues.monologue_silence_s`` (3 s) ends a monologue.
3. Small terminals: lines wrapped and the cues ran off the screen (40x10: 30 rows); lines are cut at the width
   and the lowest-ranked blocks go, the cues and the header last.
4. The view counted interruptions only, under a cue that counts failed ones too: ``talked over N, tried M``.
5. ``TERM=dumb``: the full-screen view drew nothing; the plain lines.
6. One shared channel with nobody named: the view said "therapist ● speaking" and gave warmth and cues of the
   mix; the channel is the mix, and no warmth or cue is said live.
"""
from __future__ import annotations

import json


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


# -- 3. the view on small terminals ----------------------------------------------------------------------------

def _render(state, width: int, height: int, **kw) -> list[str]:
    import os

    from rich.console import Console

    from prosody_cli.liveview import live_view
    con = Console(width=width, height=height, record=True, color_system=None, file=open(os.devnull, "w"))
    con.print(live_view(state, **kw))
    return con.export_text().rstrip("\n").split("\n")


def test_a_small_terminal_keeps_the_cues_in_sight():
    """On 40x10 the view laid itself out 40 wide and its lines wrapped: 30 rows, the screen showed the first
    10 (header, meters, pitch) and never the cues; on 20 columns, 59 rows. Each line now is one row cut at
    the width, and the lowest-ranked blocks go (pitch trace first): the cues and the header stay."""
    from tests.test_live import _state
    lines = _render(_state(), 80, 24)  # 80x24: everything, as before
    assert len(lines) == 23 and max(map(len, lines)) <= 80 and "cues       monologue 95 s" in lines
    assert any(x.startswith("─ pitch") for x in lines) and lines[-1].startswith("q save+quit")
    for w, h in ((40, 10), (20, 5), (60, 12), (80, 3)):
        lines = _render(_state(), w, h)
        assert len(lines) <= h and max(map(len, lines)) <= w, (w, h, lines)  # before (40x10): 30 rows
        assert lines[0].startswith("prosody live 12:34"), (w, h, lines)
        assert any(x.startswith("cues       monolog") for x in lines), (w, h, lines)
    lines = _render(_state(), 40, 10)
    assert lines[-1].startswith("q save+quit") and not any(x.startswith("─ pitch") for x in lines), lines
    assert _render(_state(), 80, 1) == ["cues       monologue 95 s"]
    # a save failure is said whole on two rows, on a short terminal too
    from dataclasses import replace
    err = "SAVE FAILED: disk full writing /tmp/x.json; the session is kept in memory; retrying every 30 s"
    lines = _render(replace(_state(), save_error=err), 60, 8)
    assert err in "".join(lines) and len(lines) <= 8, lines


# -- 4. the view's figures against the planted truth -----------------------------------------------------------

def test_the_view_counts_tried_interruptions_as_the_cue_does(tmp_path):
    """The overlaps cue counts interruptions and failed interruptions ("you talked over the client, or tried
    to, 3 times"), and the view showed the interruptions only (three failed ones: "talked over 0"). The
    fixture dialogue plants the client's one interruption and one failed interruption, the therapist's one
    interruption and none failed; the view shows them, and the offline session of the same audio agrees."""
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    from prosody.session import analyze_blocks
    from tests.test_live import DIALOGUE, STEREO
    truth = json.loads((DIALOGUE.parent / "dialogue.truth.json").read_text())
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=tmp_path / "s.json")
    r.start()
    assert r.wait(120) is not None
    st = r.snapshot()
    want = {(s, k): sum(1 for e in truth["events"] if e["speaker"] == s and e["kind"] == k)
            for s in ("therapist", "client") for k in ("interruption", "failed_interruption", "backchannel")}
    for f in st.final:
        assert (f.interruptions, f.failed_interruptions, f.backchannels) == (
            want[f.name, "interruption"], want[f.name, "failed_interruption"], want[f.name, "backchannel"]), f
    text = "\n".join(_render(st, 80, 24))
    assert "client     turns" in text and "talked over 1, tried 1 · mm-hm 2" in text, text  # before: no "tried"
    import soundfile as sf
    audio, _ = sf.read(DIALOGUE, dtype="float32")
    doc = analyze_blocks([audio], ("therapist", "client")).to_json_dict()
    for f in st.final:
        sp = doc["speakers"][f.name]
        assert (sp["interruptions"], sp["failed_interruptions"], sp["backchannels"]) == (
            f.interruptions, f.failed_interruptions, f.backchannels)
        assert abs(sp["talk_share"] - f.talk_share) < 0.005, (sp["talk_share"], f.talk_share)


# -- 5. TERM=dumb --------------------------------------------------------------------------------------------

def _live_on_a_terminal(env: dict, *argv) -> tuple[int, str]:
    """``prosody live ARGV`` with stdin and stdout on a pseudo-terminal and ``env`` alone: (exit status, shown)."""
    import os
    import pty
    from tests.conftest import read_pty
    import sys
    import time

    from tests.test_sweep_hostile10 import REPO
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "prosody_cli.main", "live", *map(str, argv)],
                  {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "COLUMNS": "100",
                   "LINES": "30", "HOME": os.environ.get("HOME", "/tmp"), **env})
    shown, t0 = b"", time.monotonic()
    try:
        while time.monotonic() - t0 < 60:
            chunk = read_pty(fd)
            if chunk is None:
                break
            shown += chunk
    finally:
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        os.close(fd)
    return status, shown.decode("utf-8", "replace")


def test_a_dumb_terminal_gets_the_plain_lines(tmp_path, short_wav):
    """``TERM=dumb``: rich draws no live display there, and the full-screen view showed nothing for the whole
    session (then only the summary at its end); it now gets the plain lines, as a pipe does."""
    out = tmp_path / "dumb.json"
    status, shown = _live_on_a_terminal({"TERM": "dumb"}, "--input", short_wav, "--speed", "2", "--output", out,
                                        "--interval-s", "0.5")
    lines = [x for x in shown.splitlines() if x.startswith("[00:0")]
    assert status == 0 and len(lines) >= 4 and all("now: therapist" in x for x in lines), shown[-600:]  # before: 0
    assert "\x1b[?1049h" not in shown and "\x1b[" not in "".join(lines)  # no screen, no escapes
    assert json.loads(out.read_text())["duration_s"] == 8.0


# -- 6. one channel of both people, nobody named ---------------------------------------------------------------

def test_a_shared_channel_with_nobody_named_is_the_mix_and_gets_no_cue(tmp_path):
    """A mono mix of the fixture dialogue (both voices) replayed without --profile or --speaker: the view said
    "who is speaking is not named live" and, in the same screen, "therapist ● speaking" (the client
    speaking too), the therapist's pitch and warmth, and cues addressed to the therapist, all of the mix. The
    channel is now the mix, and no warmth or cue is said; with --speaker (the user says who it is) they are."""
    from dataclasses import replace

    import soundfile as sf

    from prosody.live.layout import NO_PROFILE_NOTE
    from prosody.measures import RollingWindow
    from prosody_cli.liveview import plain_line
    from tests.test_live import DIALOGUE, _state
    rolling = RollingWindow(start_s=0.0, end_s=60.0, baseline="running", voice={}, timing=None,
                            warmth={"score": 55.0, "components": []},
                            cues=({"kind": "pace", "message": "pace 30% above your baseline", "value": 0.3},))
    st = replace(_state(speakers=("therapist",), rolling=rolling), online_note=NO_PROFILE_NOTE)
    text = "\n".join(_render(st, 80, 24))
    assert "mix        ● speaking" in text and "therapist  ● speaking" not in text, text
    assert "pace 30%" not in text and "55/100" not in text and "cues       – on one shared channel" in text
    line = plain_line(st)
    assert "now: mix speaking" in line and "pace 30%" not in line and "warmth 55" not in line, line
    named = replace(st, online_note="")  # --speaker therapist: the user said who it is
    text = "\n".join(_render(named, 80, 24))
    assert "therapist  ● speaking" in text and "cues       pace 30% above your baseline" in text
    # the command: a replayed mono mix, plain lines
    audio, sr = sf.read(DIALOGUE, dtype="float32")
    mix = tmp_path / "mix.wav"
    sf.write(mix, audio.mean(axis=1), sr)
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "prosody_cli.main", "live", "--input", str(mix), "--speed", "max",
                          "--plain", "--interval-s", "0.05", "--output", str(tmp_path / "m.json")],
                         capture_output=True, text=True, timeout=120)
    lines = [x for x in res.stdout.splitlines() if x.startswith("[")]
    assert res.returncode == 0 and lines and all("now: mix " in x and "therapist" not in x.split("|")[2]
                                                 for x in lines), res.stdout[-500:]


def test_typed_labels_and_notes_with_escapes_markup_and_bidi_are_text():
    """Held (no fix): a speaker label and a note being typed with ANSI, rich markup and bidi controls show as
    text, in the view and the plain line; typed through the keys, the escape and the bidi control are not kept."""
    from dataclasses import replace

    from prosody_cli.liveview import plain_line
    from tests.test_live import _state
    acts, note = _feed(b"n", "[bold]hi[/bold] \u202eevil \x1b[31mred".encode())
    assert note == "[bold]hi[/bold] evil red", note
    st = _state(speakers=("[red]dr\x1b[2Jann\u202e", "client"))
    st = replace(st, final=tuple(replace(f, name=n) for f, n in zip(st.final, st.speakers)))
    lines = _render(st, 80, 24, note_input=note)
    text = "\n".join(lines)
    assert "\x1b" not in text and "\u202e" not in text and "[red]dr" in text and lines[-1].startswith("note: [bold]hi")
    assert "\x1b" not in plain_line(st) and "\u202e" not in plain_line(st)
