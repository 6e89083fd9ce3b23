"""Hostile sweep 10 (docs/store.md, "Hostile sweep 10"): export/import bundles made by hand, reports of odd
sessions, ``live --input`` with odd keys. Through the real CLI where it can be; every file under tmp_path.
Each defect with what happened before and what happens now:

1. The report's "Pitch and level over the session" drew an empty chart, without a word, for a speaker with no
   voiced speech (a silent channel, a one-speaker recording's second channel, an imported frames file whose
   pitch is all NaN) and an invisible single point for a one-frame session's level. It now draws no chart and
   says which trace is missing and why.
2. An import took frames holding infinities (``inf`` in an .npz, or a float64 column of 1e300 that became
   ``inf`` as float32 with numpy's "RuntimeWarning: overflow encountered in cast" printed as a second line):
   the session was stored and its pitch chart drawn empty. Prosody writes no infinity (a frame without a value
   is NaN): such an import is refused in one line, naming the speaker, the column and the count.
3. A live bookmark's note longer than a session document holds (100,000 characters: a paste into the view's
   note) was saved whole, and ``import`` of that live session refused it ("longer than 100000 characters"):
   the capture could not reach the store without editing its JSON. The note is cut to its first 100,000
   characters when it is set, and the view says so.
4. An import took a session whose speakers' figures no analysis gives: a session of 0 s with 23.4 s of the
   therapist's speech and 62 % of the talking, a talk share of 3.8, -3 stretches of speech; ``show`` and the
   report said them as figures. Each is refused in one line naming the field (imports only: a session stored
   before stays readable).
5. The trend page left out each chart that no session had a value for (sessions of silence: all but one)
   without a word; it now names them ("No chart of ...: none of these 2 sessions holds those measures.").
6. In the full-screen live view, Ctrl-\\ (the terminal's SIGQUIT) killed the process unsaved: the whole
   capture lost (no JSON at all before the first autosave). The view turns that key off while it runs (a byte
   it ignores); Ctrl-C still stops and saves (exit 130).
"""
from __future__ import annotations

import json
import os
import pty
import re
import signal
import sys
import time
from pathlib import Path
import warnings

import numpy as np
import soundfile as sf

from tests.conftest import read_pty, run_cli


def _save(tmp_path, name: str, audio: np.ndarray) -> tuple[str, str]:
    wav = tmp_path / f"{name}.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    page = tmp_path / f"{name}.html"
    rc, out, err = run_cli("report", "last", "--store", store, "-o", page)
    assert rc == 0, err
    html = page.read_text()
    return html, html[html.index('<section id="timelines">'):html.index('<section id="turns">')]


def _traces(section: str) -> list[str]:
    return re.findall(r'class="trace" d="([^"]*)"', section)


# -- 1. the report says which trace is missing ---------------------------------------------------------------

def test_report_of_a_silent_channel_says_it_has_no_pitch_trace(tmp_path, fixture_dialogue):
    audio, _ = fixture_dialogue
    one = audio[: 12 * 16000].copy()
    one[:, 1] = 0.0  # the client's channel digital silence: one speaker only
    html, section = _save(tmp_path, "one", one)
    # the therapist's pitch and level, the client's level (-120 dB throughout): drawn, none empty
    traces = _traces(section)
    assert len(traces) == 3 and all(d.strip() for d in traces), traces
    assert "client: no pitch trace: no speech frame holds a pitch (no voiced speech)." in section
    assert "therapist: no pitch trace" not in section


def test_report_of_silence_and_of_one_frame_draws_no_empty_chart(tmp_path):
    html, section = _save(tmp_path, "silence", np.zeros((5 * 16000, 2), dtype=np.float32))
    assert all(d.strip() for d in _traces(section)), _traces(section)
    for who in ("therapist", "client"):
        assert f"{who}: no pitch trace: no speech frame holds a pitch (no voiced speech)." in section
    # a session of one 10 ms frame: its level is one point (was a path "M496 52", drawn as nothing)
    html, section = _save(tmp_path, "oneframe", np.full((160, 2), 0.01, dtype=np.float32))
    assert _traces(section) == [], _traces(section)
    for who in ("therapist", "client"):
        assert (f"{who}: no pitch trace: no speech frame holds a pitch (no voiced speech); no level trace: "
                "a level in one stretch of the session only, too little to draw.") in section


# -- 2. frames holding infinities are refused on import --------------------------------------------------------

def test_import_refuses_frames_holding_infinities(tmp_path, short_wav):
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    assert run_cli("export", "1", "--format", "json", "--store", store, "-o", tmp_path / "e.json")[0] == 0
    frames = dict(np.load(tmp_path / "e.frames.npz"))
    doc = json.loads((tmp_path / "e.json").read_text())
    for name, key, change in (("inf", "s1_rms_db", lambda a: np.where(np.arange(len(a)) % 7 == 0, -np.inf, a)),
                              ("big", "s0_f0_hz", lambda a: np.where(np.arange(len(a)) == 3, 1e300,
                                                                      a.astype(np.float64)))):
        changed = dict(frames)
        changed[key] = change(frames[key])
        np.savez_compressed(tmp_path / f"{name}.frames.npz", **changed)
        doc["prosody_store"]["frames_file"] = f"{name}.frames.npz"
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
        with warnings.catch_warnings(record=True) as caught:  # pytest would take numpy's off stderr
            warnings.simplefilter("always")
            rc, out, err = run_cli("import", tmp_path / f"{name}.json", "--new-id", "--store", store)
        assert rc == 2 and err.count("\n") == 1 and "Warning" not in err, err
        assert not caught, [str(w.message) for w in caught]
        with np.errstate(over="ignore"):
            n_inf = int(np.isinf(changed[key].astype(np.float32)).sum())
        who, col = ("client", "rms_db") if name == "inf" else ("therapist", "f0_hz")
        assert n_inf == ((len(frames[key]) + 6) // 7 if name == "inf" else 1)
        assert (f"frames file {tmp_path / name}.frames.npz: {who}'s {col} holds {n_inf} infinite "
                f"value{'s' * (n_inf != 1)}") in err, err
    rc, out, err = run_cli("sessions", "--store", store)
    assert rc == 0 and "1 session\n" in out, out  # nothing stored but the first
    # the exported frames unchanged still import (as a new session)
    doc["prosody_store"]["frames_file"] = "e.frames.npz"
    (tmp_path / "e.json").write_text(json.dumps(doc))
    assert run_cli("import", tmp_path / "e.json", "--new-id", "--store", store)[0] == 0


# -- 3. a live note longer than a session holds ----------------------------------------------------------------

def test_live_note_longer_than_a_session_holds_is_cut_and_the_save_imports(tmp_path, short_wav):
    from prosody.engine.sources import Layout
    from prosody.formats.schema import MAX_TEXT_CHARS
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    out = tmp_path / "live.json"
    r = LiveRunner(ReplaySource([str(short_wav)], Layout(("therapist", "client"), ((0, 0), (0, 1))), speed=None),
                   output_path=out)
    r.start()
    b = r.bookmark("ab" * 75_000 + "END", time_s=1.0)  # a paste of 150,003 characters into the view's note
    said = r.snapshot().message
    assert r.wait(60).reason == "end of input"
    assert b.note == ("ab" * 75_000)[:MAX_TEXT_CHARS] and len(b.note) == 100_000
    assert said == "bookmark at 00:01: its note cut to its first 100,000 characters, what a session holds", said
    assert json.loads(out.read_text())["bookmarks"][0]["note"] == b.note
    rc, _, err = run_cli("import", out, "--store", tmp_path / "store")
    assert rc == 0, err  # was: "session document.bookmarks[0].note = ...: longer than 100000 characters"
    r2 = LiveRunner(ReplaySource([str(short_wav)], Layout(("therapist", "client"), ((0, 0), (0, 1))), speed=None),
                    output_path=tmp_path / "live2.json")
    r2.start()
    assert r2.bookmark("x" * MAX_TEXT_CHARS).note == "x" * MAX_TEXT_CHARS  # at the limit: kept whole
    r2.wait(60)


# -- 4. a speaker's figures no analysis gives are refused on import ----------------------------------------------

def test_import_refuses_speaker_figures_beyond_the_session(tmp_path, short_wav):
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    assert run_cli("export", "1", "--format", "json", "--store", store, "-o", tmp_path / "e.json")[0] == 0
    doc = json.loads((tmp_path / "e.json").read_text())
    speech_s = doc["speakers"]["therapist"]["speech_s"]
    assert 1.0 < speech_s <= doc["duration_s"] == 8.0
    cases = {
        "zero": (lambda d: d.update(duration_s=0.0, segments=[], turns=[], pauses=[], transitions=[], events=[],
                                    bookmarks=[], measures=None),
                 f"speakers.therapist.speech_s = {speech_s!r}: more than the session lasts (duration_s 0)"),
        "share": (lambda d: d["speakers"]["client"].update(talk_share=3.8),
                  "speakers.client.talk_share = 3.8: outside 0..1"),
        "negative": (lambda d: d["speakers"]["client"].update(n_segments=-3),
                     "speakers.client.n_segments = -3: below 0"),
    }
    for name, (change, said) in cases.items():
        d = json.loads(json.dumps(doc))
        change(d)
        d["prosody_store"]["frames_file"] = None
        (tmp_path / f"{name}.json").write_text(json.dumps(d))
        rc, out, err = run_cli("import", tmp_path / f"{name}.json", "--new-id", "--store", store)
        assert rc == 2 and err == f"prosody: error: session document: {said}\n", err
    rc, out, err = run_cli("import", tmp_path / "e.json", "--new-id", "--store", store)  # as exported: taken
    assert rc == 0, err


# -- 5. the trend page names the charts it leaves out -----------------------------------------------------------

def test_trend_page_names_the_charts_no_session_has(tmp_path):
    wav = tmp_path / "silence.wav"
    sf.write(wav, np.zeros((5 * 16000, 2), dtype=np.float32), 16000, subtype="PCM_16")
    store = tmp_path / "store"
    for _ in range(2):
        assert run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress",
                       "--therapist", "bob")[0] == 0
    rc, out, err = run_cli("trend", "--therapist", "bob", "--store", store, "-o", tmp_path / "t.html")
    assert rc == 0, err
    html = (tmp_path / "t.html").read_text()
    section = html[html.index('<section id="trend">'):]
    section = section[:section.index("</section>")]
    # the one chart drawn: counts of 0 (overlaps, interruptions); every other one named as left out
    assert re.findall(r"<h3>([^<]*)</h3>", section) == ["Overlaps and interruptions"]
    assert ("No chart of Warmth (0-100); Client feedback: Session Rating Scale total (0-40); Client feedback: "
            "rating (1-5); Talk share (%); Gaps before answering (s); Therapist pace (syl/s); Voice quality: "
            "harmonics-to-noise and CPPS (dB); Attunement: synchrony: none of these 2 sessions holds those "
            "measures.") in section, section


# -- 6. Ctrl-\\ in the live view ---------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def _live_view_with_keys(out: Path, wav: Path, keys: bytes) -> tuple[int, str]:
    """``prosody live --input WAV`` in its full-screen view on a pseudo-terminal (its controlling terminal, so
    the terminal's signal keys act), ``keys`` typed once the view is drawn: (exit status as waitpid gives it,
    what it showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI, nothing else
        os.environ.update(PYTHONPATH=str(REPO), COLUMNS="100", LINES="40", TERM="xterm")
        os.execv(sys.executable, [sys.executable, "-m", "prosody_cli.main", "live", "--input", str(wav),
                                  "--speed", "2", "--output", str(out)])
    shown, sent, t0, status = b"", False, time.monotonic(), None  # status: an exit code, or "stopped"
    try:
        while time.monotonic() - t0 < 60:
            if status is None:
                done, st = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
                if done and os.WIFSTOPPED(st):  # Ctrl-Z took: the capture stopped (killed here, as a user would)
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    status = "stopped"
                    break
                if done:  # exited: what it showed is still read, to the terminal's end
                    status = os.waitstatus_to_exitcode(st)
            chunk = read_pty(fd)
            if chunk is None:
                break
            shown += chunk
            if not sent and b"capture" in shown:  # the view is up (its "capture ..." health line)
                time.sleep(0.3)
                os.write(fd, keys)
                sent = True
    finally:
        if status is None:
            status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        os.close(fd)
    assert sent, shown[-500:]
    return status, shown.decode("utf-8", "replace")


def test_ctrl_backslash_in_the_live_view_loses_no_capture(tmp_path, short_wav):
    out = tmp_path / "quit.json"
    status, shown = _live_view_with_keys(out, short_wav, b"\x1c")
    assert status == 0, (status, shown[-400:])  # before: -3 (killed by SIGQUIT), no file
    assert f"saved {out}" in shown and "stopped: end of input" in shown, shown[-400:]
    doc = json.loads(out.read_text())
    assert doc["duration_s"] == 8.0 and doc["bookmarks"] == []
    out = tmp_path / "ctrl_c.json"
    status, shown = _live_view_with_keys(out, short_wav, b"\x03")  # Ctrl-C stops and saves, as before
    assert status == 130 and f"saved {out}" in shown and "stopped: Ctrl-C" in shown, (status, shown[-400:])
    assert 0 < json.loads(out.read_text())["duration_s"] < 8.0
