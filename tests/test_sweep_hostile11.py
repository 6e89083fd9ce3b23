"""Hostile sweep 11 (docs/store.md, "Hostile sweep 11"): the leftovers of sweeps 8-10, the live view's
signals, ``devices``. Through the real CLI where it can be; every file under tmp_path. Each defect with what
happened before and what happens now:

1. Ctrl-Z in the full-screen live view, then ``fg``: the shell gives the terminal back in the modes it keeps
   for itself (bash does, on every stop), so the resumed view read its keys only after Enter (a ``b`` typed
   made no bookmark) and the terminal's Ctrl-\\ was back: it killed the capture unsaved (SIGQUIT, no file).
   The view now leaves the terminal as it found it on Ctrl-Z, stops, and on resume takes its keys again
   (cbreak, Ctrl-\\ off) and redraws.
2. A terminal that says it is 10000 x 10000 (a window resized so: the size is read from the terminal, not
   ``COLUMNS``/``LINES``, which sweep 8 bounded): the view laid out 10^8 cells a frame; its first frame came
   after 4.3 s, 200 MB were written for a 4 s replay. The view's size is bounded as those variables are
   (2000 x 600): 19.7 MB, the first frame at 0.9 s.
3. ``prosody live`` with standard input closed (``<&-``) and standard output a terminal: an internal error
   (AttributeError on ``sys.stdin.isatty``), nothing captured. Now the plain view, as for a file.
4. The terminal of the full-screen view closed (SIGHUP) with standard error into a log: the session was saved
   (stopped: SIGHUP) but the log said ``internal error (error: (5, 'Input/output error'))`` (giving the gone
   terminal its modes back failed), not where. Now the log says the view's output was closed and ``saved PATH
   (...; stopped: SIGHUP)``.
5. ``live --device ''`` (or spaces): "" is part of every name; it said ``'' matches 3 input devices``. Now
   one line saying the name is empty.
6. ``import`` took a speaker's figures that its own frames contradict: a pitch median of 178 Hz over frames
   whose pitch is all NaN (the report then said the trace was missing beside 178 Hz), 7.0 s of speech over
   4.89 s of speech frames, a pitch median above every frame's pitch, a level median above every frame's.
   Refused in one line naming the field and what the frames hold (not recomputed: the other figures would be
   left disagreeing).
7. The batch table and the frames CSV guarded a typed cell starting with ``= + - @`` but not with their
   full-width forms ``＝ ＋ － ＠`` (U+FF1D, U+FF0B, U+FF0D, U+FF20), which a spreadsheet or an input method
   may normalise to the ASCII ones (not seen run here: no spreadsheet is installed). Guarded now, at a
   cell's start and after a separator, and read back exactly.
8. ``nohup prosody live ...`` (SIGHUP inherited ignored, to outlive the terminal): live took SIGHUP over, so
   the terminal closing stopped the capture (3.2 s of an 8 s replay saved, "stopped: SIGHUP"). An ignored
   SIGHUP is left ignored; capture runs on to its end. Not ignored, SIGHUP stops and saves as before. So for
   the store commands that wait for signals (``delete``, ``import``, ``enrol --delete``): a hangup under
   ``nohup`` was said as ``stopped by SIGHUP``, exit 129, after a delete that nothing had stopped.
9. ``live --therapist-device M --client-device M`` (one device named twice, or by two names, no channels or
   the same channel): both people were given the same sound; a PulseAudio monitor opened twice captured and
   saved a session of two identical speakers (a hardware device refuses its second opening: "cannot open
   device"). Refused before anything opens, in one line saying to give --device with --channels. One
   device's two different channels stay allowed (tests/test_live_capture.py's one-clock check).
10. Standard output or error closed when prosody starts (``>&-``, ``2>&-``: a cron job, a daemon): Python makes
    ``sys.stdout``/``sys.stderr`` None and every command ended in ``internal error (AttributeError: 'NoneType'
    object has no attribute 'write')``: ``analyze --json F 2>&-`` wrote no F (exit 1), ``live ... >&-``
    captured nothing. The descriptors are opened on /dev/null (no later file takes their number); a closed
    standard output is said as any failing one (``cannot write to standard output: Bad file descriptor``).
11. ``play SESSION MOMENT --device 99999999999999999999999``: ``internal error (OverflowError: int too big to
    convert)``; now one line (``cannot play on output device ...``), exit 2, as for any device not there.
12. The terminal of the *plain* view closed (SIGHUP), stderr into a log: saved, but the log said only
    ``cannot write to standard output: Input/output error`` (the ``saved PATH`` line failed on the dead
    terminal). Now that line goes to stderr with why: ``cannot write to standard output (...); saved PATH``.
13. A device capture stopped for more than 5 s (Ctrl-Z then ``fg``, SIGSTOP then SIGCONT) ended on resume as
    ``device lost: ... delivered no audio for 5 s``: the stall watchdog counted the time the process was
    stopped, though the sound server held what the device recorded meanwhile; all of it and everything after
    was lost (a 25 s Ctrl-Z of a 31 s session: 2.36 s saved). A gap in the reader's own checks (over 1 s) now
    moves the watchdog's clock on by that gap: 30.42 s saved of 31.0 s, the burst's overflow of the 10 s
    queue said as dropped blocks (replaced by silence, the timeline kept; 296 blocks, 5.9 s). A device's queue
    now holds 60 s: 30.3 s saved, nothing dropped. A real stall is still caught.
    (The end-to-end check under PulseAudio passes on the old code too when the first block after the resume
    beats the reader's check, a race; the check of the watchdog itself fails on it.)
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import struct
import termios
import time
from pathlib import Path

from tests.conftest import count_rows, export_saved, one_line_error, read_pty, run_cli

REPO = Path(__file__).resolve().parents[1]


# -- 1. Ctrl-Z and fg in the full-screen live view --------------------------------------------------------------

def _mini_shell(argv: list[str]) -> None:
    """In the pseudo-terminal's child: what an interactive shell does for a foreground job (bash's job
    control): the command in its own process group, the terminal's foreground; on its stop the terminal
    taken back with the modes the shell keeps, ``[stopped]`` said, then ``fg`` (the group made the
    foreground again, SIGCONT, ``[fg]`` said). Exits with the command's status (128 + N for signal N).
    The command's group is not orphaned (this process, its parent, is in the same session), so the
    terminal's Ctrl-Z stops it, as under a real shell."""
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    kept = termios.tcgetattr(0)
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)
        os.tcsetpgrp(0, os.getpid())
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
        os.execv(sys.executable, argv)
    os.setpgid(child, child)
    while True:
        _, st = os.waitpid(child, os.WUNTRACED)
        if os.WIFSTOPPED(st):
            os.tcsetpgrp(0, os.getpgrp())
            termios.tcsetattr(0, termios.TCSADRAIN, kept)
            os.write(1, b"\r\n[stopped]\r\n")
            time.sleep(0.5)
            os.tcsetpgrp(0, child)
            os.kill(-child, signal.SIGCONT)
            os.write(1, b"[fg]\r\n")
            continue
        os._exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))


def _live_view_suspended(out: Path, wav: Path, after_fg: bytes) -> tuple[int, str]:
    """``prosody live --input WAV`` in its full-screen view under a mini shell on a pseudo-terminal: Ctrl-Z
    typed once the view is drawn, ``fg``, then ``after_fg`` typed. (the shell's exit status, what it showed)."""
    argv = [sys.executable, "-m", "prosody_cli.main", "live", "--input", str(wav), "--speed", "1.5",
            "--output", str(out)]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(PYTHONPATH=str(REPO), COLUMNS="100", LINES="40", TERM="xterm")
        try:
            _mini_shell(argv)
        finally:
            os._exit(99)
    shown, stage, t0 = b"", 0, time.monotonic()
    try:
        while time.monotonic() - t0 < 60:
            chunk = read_pty(fd)
            if chunk is None:
                break
            shown += chunk
            if stage == 0 and b"capture" in shown:  # the view is up (its "capture ..." health line)
                time.sleep(0.3)
                os.write(fd, b"\x1a")  # Ctrl-Z
                stage = 1
            elif stage == 1 and b"[fg]" in shown:
                time.sleep(0.5)
                os.write(fd, after_fg)
                stage = 2
    finally:
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        os.close(fd)
    text = shown.decode("utf-8", "replace")
    assert stage == 2, text[-500:]  # it was stopped, and resumed
    return status, text


def test_ctrl_z_then_fg_gives_the_live_view_its_keys_back(tmp_path, short_wav):
    out = tmp_path / "b.json"
    status, shown = _live_view_suspended(out, short_wav, b"b")
    assert status == 0 and f"saved {out}" in shown, (status, shown[-400:])
    doc = json.loads(out.read_text())
    assert doc["duration_s"] == 8.0
    assert len(doc["bookmarks"]) == 1, doc["bookmarks"]  # before: 0 (the key waited for an Enter never typed)


def test_ctrl_backslash_after_ctrl_z_and_fg_loses_no_capture(tmp_path, short_wav):
    out = tmp_path / "q.json"
    status, shown = _live_view_suspended(out, short_wav, b"\x1c")
    assert status == 0, (status, shown[-400:])  # before: 131 (killed by SIGQUIT), no file at all
    assert f"saved {out}" in shown and "stopped: end of input" in shown, shown[-400:]
    assert json.loads(out.read_text())["duration_s"] == 8.0


# -- 2, 3. a terminal of 10000 x 10000; standard input closed ---------------------------------------------------

def _live_on_terminal(out: Path, wav: Path, *, rows: int, cols: int, close_stdin: bool = False) -> tuple[int, int, str]:
    """``prosody live --input WAV --speed 2`` on a pseudo-terminal of ``rows`` x ``cols`` (no COLUMNS or
    LINES: the terminal's own size), standard input closed if asked: (exit status, bytes it wrote, the last
    of them as text)."""
    pid, fd = pty.fork()
    if pid == 0:
        # the environment given whole: COLUMNS and LINES may be in the C environment without being in
        # os.environ (set under pytest by a library after Python read it), where os.environ.pop leaves them
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env.update(PYTHONPATH=str(REPO), TERM="xterm")
        if close_stdin:
            os.close(0)
        time.sleep(0.2)  # the size is set before the CLI starts
        os.execve(sys.executable, [sys.executable, "-m", "prosody_cli.main", "live", "--input", str(wav),
                                   "--speed", "2", "--output", str(out)], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    n, tail, t0 = 0, b"", time.monotonic()
    try:
        while time.monotonic() - t0 < 90:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    chunk = os.read(fd, 1 << 20)
                except OSError:
                    break
                if not chunk:
                    break
                n += len(chunk)
                tail = (tail + chunk)[-4000:]
    finally:
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        os.close(fd)
    return status, n, tail.decode("utf-8", "replace")


def test_a_terminal_of_ten_thousand_columns_and_lines_is_drawn_as_an_8k_screen(tmp_path, short_wav):
    out = tmp_path / "big.json"
    status, n_bytes, tail = _live_on_terminal(out, short_wav, rows=10000, cols=10000)
    assert status == 0 and f"saved {out}" in tail, (status, tail[-300:])
    assert json.loads(out.read_text())["duration_s"] == 8.0
    # 4 s of replay, 5 frames a second of at most 2000 x 600 cells: 19.7 MB measured; before, 200 MB
    assert n_bytes < 60_000_000, n_bytes


def test_live_with_standard_input_closed_runs_the_plain_view(tmp_path, short_wav):
    out = tmp_path / "noin.json"
    status, n_bytes, tail = _live_on_terminal(out, short_wav, rows=40, cols=100, close_stdin=True)
    assert "internal error" not in tail and "Traceback" not in tail, tail  # before: AttributeError, no file
    assert status == 0 and f"saved {out}" in tail and "stopped: end of input" in tail, (status, tail[-300:])
    assert json.loads(out.read_text())["duration_s"] == 8.0
    assert "\x1b[?1049h" not in tail  # the plain view: no full screen


# -- 4. the terminal closed under the full-screen view ----------------------------------------------------------

def _hung_up_with_a_log(out: Path, log: Path, wav: Path, extra: list[str], drawn: bytes) -> int:
    """``prosody live --input WAV EXTRA 2>LOG`` on a pseudo-terminal that is closed (SIGHUP, every write to it
    failing) once ``drawn`` is shown: the exit status."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(PYTHONPATH=str(REPO), COLUMNS="100", LINES="40", TERM="xterm")
        e = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(e, 2)  # prosody live ... 2>live.log
        os.execv(sys.executable, [sys.executable, "-m", "prosody_cli.main", "live", "--input", str(wav),
                                  "--speed", "1", "--output", str(out), *extra])
    shown, t0 = b"", time.monotonic()
    try:
        while drawn not in shown and time.monotonic() - t0 < 30:
            if select.select([fd], [], [], 0.05)[0]:
                shown += os.read(fd, 65536)
        time.sleep(0.5)
    finally:
        os.close(fd)  # the terminal window closed: SIGHUP, and every write to it fails
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return status


def test_the_terminal_closed_under_the_plain_view_says_where_it_saved_in_the_log(tmp_path, short_wav):
    out, log = tmp_path / "plain.json", tmp_path / "plain.log"
    status = _hung_up_with_a_log(out, log, short_wav, ["--plain", "--interval-s", "0.3"], b"[00:0")
    said = log.read_text()
    assert status == 1 and "Traceback" not in said, (status, said)
    # before: no "saved" line at all. The closed terminal is met by the closing line's write, or (a loaded
    # machine) first by the plain loop's next line: either way one error, then where the session was saved
    heads = ("prosody: error: cannot write to standard output (Input/output error); ",
             "prosody: error: the output of the live view was closed (Input/output error): capture stopped; the "
             "session is saved as on any other stop (the line below says where)\n")
    head = next((h for h in heads if said.startswith(h)), "")
    assert head and said[len(head):].startswith(f"saved {out} ("), said
    saved, *warned = said[len(head):].splitlines()
    assert saved.endswith("; stopped: SIGHUP)"), said
    # then the saved session's warnings, as analyze says them after its save (hostile sweep 53): the replay's note,
    # and (the client's first words come at 2.39 s; about 0.8 s is read before the hang-up) "client never speaks"
    doc = json.loads(out.read_text())
    assert warned[0] == (f"prosody: warning: one device (a replay of {short_wav}): speakers were taken from its "
                         f"channels as given (provisional); `prosody analyze {short_wav}` attributes the whole "
                         "recording (layout, diarization, voice profile), as --record would on save"), said
    assert warned == [f"prosody: warning: {w}" for w in doc["warnings"]], said
    assert doc["duration_s"] > 2.9 or warned[1:] == [
        "prosody: warning: client never speaks: no speech was found on channel 2, so the client's figures describe "
        "no behaviour, and figures toward the client (answering, talking over) have no data"], said  # sweep 61
    assert doc["live"]["stop_reason"] == "SIGHUP"


def test_the_terminal_closed_under_the_view_saves_and_says_where_in_the_log(tmp_path, short_wav):
    out, log = tmp_path / "hup.json", tmp_path / "live.log"
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(PYTHONPATH=str(REPO), COLUMNS="100", LINES="40", TERM="xterm")
        e = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(e, 2)  # prosody live ... 2>live.log
        os.execv(sys.executable, [sys.executable, "-m", "prosody_cli.main", "live", "--input", str(short_wav),
                                  "--speed", "1", "--output", str(out)])
    shown, t0 = b"", time.monotonic()
    try:
        while b"capture" not in shown and time.monotonic() - t0 < 30:
            if select.select([fd], [], [], 0.05)[0]:
                shown += os.read(fd, 65536)
        time.sleep(0.5)
    finally:
        os.close(fd)  # the terminal window closed: SIGHUP, and every write to it fails
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    said = log.read_text()
    assert "internal error" not in said and "Traceback" not in said, said  # before: internal error (EIO)
    assert f"saved {out} (" in said and "stopped: SIGHUP" in said, said
    assert said.startswith("prosody: error: the output of the live view was closed"), said
    assert status == 1
    doc = json.loads(out.read_text())
    assert doc["live"]["stop_reason"] == "SIGHUP" and 0 < doc["duration_s"] < 8.0


# -- 5. --device of nothing but spaces ----------------------------------------------------------------------------

def test_an_empty_device_name_picks_no_device(tmp_path, monkeypatch, capsys):
    """``--device ''`` (or spaces): "" is part of every name, and the line said
    ``'' matches 3 input devices (0 = ...; 1 = ...)``, as if a longer name would do. Now it says the name is
    empty; one line, exit 2, no session file."""
    import prosody.live.devices as devices
    from prosody.live.devices import InputDevice
    from prosody_cli.main import main
    inputs = [InputDevice("0", "USB Mic (ALSA)", "microphone", 1, 48000.0, "portaudio", True),
              InputDevice("1", "USB Mic 2 (ALSA)", "microphone", 2, 48000.0, "portaudio"),
              InputDevice("2", "Webcam (ALSA)", "microphone", 1, 48000.0, "portaudio")]
    monkeypatch.setattr(devices, "portaudio_inputs", lambda: inputs)
    monkeypatch.setattr(devices, "pulse_sources", lambda: [])
    for argv in (["--device", ""], ["--device", "   "]):
        out = tmp_path / "s.json"
        rc = main(["live", "--plain", "--duration", "1", "--output", str(out), *argv])
        err = capsys.readouterr().err
        one_line_error(rc, err)
        assert "empty device name" in err and "matches" not in err, err
        assert not out.exists()



# -- 6. an imported speaker's figures checked against its frames ------------------------------------------------

def test_import_refuses_speaker_figures_its_frames_contradict(tmp_path, short_wav):
    import numpy as np
    js, npz = export_saved(tmp_path, short_wav)
    doc = json.loads(js.read_text())
    th = doc["speakers"]["therapist"]
    arrays = dict(np.load(npz))
    names = [str(x) for x in arrays["speakers"]]
    i = names.index("therapist")
    n_speech = int(arrays[f"s{i}_is_speech"].sum())
    assert th["speech_s"] == round(n_speech * 0.01, 4) and 100.0 < th["f0_median_hz"] < 300.0
    store = tmp_path / "dst"

    def attempt(name: str, change_doc=None, change_frames=None) -> tuple[int, str]:
        d, a = json.loads(json.dumps(doc)), {k: v.copy() for k, v in arrays.items()}
        if change_doc:
            change_doc(d)
        if change_frames:
            change_frames(a)
        d["prosody_store"]["frames_file"] = f"{name}.frames.npz"
        np.savez_compressed(tmp_path / f"{name}.frames.npz", **a)
        (tmp_path / f"{name}.json").write_text(json.dumps(d))
        rc, out, err = run_cli("import", tmp_path / f"{name}.json", "--new-id", "--store", store)
        return rc, err

    def no_pitch(a):
        a[f"s{i}_f0_hz"][:] = np.nan

    rc, err = attempt("nan", change_frames=no_pitch)  # before: imported, "Typical pitch 177 Hz" shown
    one_line_error(rc, err)
    assert f"speakers.therapist.f0_median_hz = {th['f0_median_hz']!r}, but none of therapist's {n_speech} speech " \
           "frames" in err and "holds a f0_hz value" in err, err
    rc, err = attempt("long", change_doc=lambda d: d["speakers"]["therapist"].update(speech_s=7.0))
    one_line_error(rc, err)
    assert "speakers.therapist.speech_s = 7.0, but" in err and f"holds {n_speech} speech frames" in err, err
    rc, err = attempt("high", change_doc=lambda d: d["speakers"]["therapist"].update(f0_median_hz=900.0))
    one_line_error(rc, err)
    assert "speakers.therapist.f0_median_hz = 900.0, but therapist's speech frames" in err, err
    rc, err = attempt("loud", change_doc=lambda d: d["speakers"]["client"].update(rms_db_median=-1.0))
    one_line_error(rc, err)
    assert "speakers.client.rms_db_median = -1.0, but client's speech frames" in err, err
    assert not (store / "sessions.db").exists() \
        or count_rows(store / "sessions.db", "SELECT COUNT(*) FROM sessions") == 0
    rc, err = attempt("same")  # as exported: taken
    assert rc == 0, err
    assert count_rows(store / "sessions.db", "SELECT COUNT(*) FROM sessions") == 1



# -- 7. full-width formula signs in the CSVs ---------------------------------------------------------------------

FULL_WIDTH = ("\uff1dHYPERLINK(\"http://x/\"&A1)", "\uff0b1+1", "\uff0dcmd", "\uff20SUM(A1)")


def _full_width_formula_cells(text: str) -> list[str]:
    """Cells of ``text`` as a spreadsheet may cut them (at ",", ";", tab and every line break, whatever the
    quotes) that start with a full-width formula sign."""
    import re
    cells = [c[1:] if c.startswith('"') else c
             for line in re.split(r"\r\n|\r|\n", text) for sep in (",", ";", "\t") for c in line.split(sep)]
    return [c for c in cells if c.startswith(("\uff1d", "\uff0b", "\uff0d", "\uff20"))]


def test_full_width_formula_signs_are_guarded_in_the_batch_table_and_read_back(tmp_path):
    from prosody.batch.runner import LIST_SEPARATOR, TABLE_COLUMNS, read_table_csv, write_table
    rows = []
    for i, name in enumerate(FULL_WIDTH):
        r = {c: None for c in dict(TABLE_COLUMNS)}
        r.update(session_id=i + 1, uid=f"u{i}", file=f"/a/{name}.wav", therapist=name, client="C-1",
                 speakers=LIST_SEPARATOR.join(("therapist", name)), tags=LIST_SEPARATOR.join(("intake", name)),
                 duration_s=61.25, turn_taking=True)
        rows.append(r)
    (path,) = write_table(rows, tmp_path / "t", parquet=False)
    text = path.read_bytes().decode("utf-8")
    assert _full_width_formula_cells(text) == []  # before: every name, at a cell's start and after ";"
    assert "'\uff1dHYPERLINK" in text
    back = read_table_csv(path)
    assert [r["therapist"] for r in back] == list(FULL_WIDTH)
    assert [r["tags"] for r in back] == [f"intake;{n}" for n in FULL_WIDTH]


def test_full_width_formula_signs_are_guarded_in_the_frames_csv(tmp_path, short_wav):
    out = tmp_path / "f.csv"
    rc, _, err = run_cli("analyze", short_wav, "--frames", out, "--quiet", "--no-progress",
                         "--channels", "\uff1dA1=left,c;\uff20SUM(A1)=right")
    assert rc == 0, err
    text = out.read_bytes().decode("utf-8")
    assert _full_width_formula_cells(text) == []
    assert text.split("\r\n")[1].split(",")[1] == "'\uff1dA1"


def test_the_guard_with_full_width_signs_is_undone_exactly():
    import random

    from prosody.typed_text import from_spreadsheet_cell, spreadsheet_cell
    rnd = random.Random(11)
    alphabet = "=+-@\t\r\n',;a\uff1d\uff0b\uff0d\uff20\uff07"
    for _ in range(20000):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 9)))
        assert from_spreadsheet_cell(spreadsheet_cell(s)) == s, s
    for s in ("a\uff1db", "x\uff0d1", "Zo\u00eb", "\uff21\uff22"):  # not at a cell's start: unchanged
        assert spreadsheet_cell(s) == s



# -- 8. nohup ----------------------------------------------------------------------------------------------------

def _live_hung_up(out: Path, wav: Path, *, hup_ignored: bool) -> dict:
    """``prosody live --input WAV --plain`` (as ``nohup`` starts it when ``hup_ignored``), SIGHUP sent once its
    first line is out; the saved session."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--input", str(wav), "--plain",
                             "--interval-s", "0.5", "--speed", "2", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            preexec_fn=(lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)) if hup_ignored else None)
    first = proc.stdout.readline()
    assert first.startswith(b"[00:0"), first
    proc.send_signal(signal.SIGHUP)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"saved " in rest, (proc.returncode, rest)
    return json.loads(out.read_text())


def test_nohup_live_outlives_its_terminal(tmp_path, short_wav):
    doc = _live_hung_up(tmp_path / "nohup.json", short_wav, hup_ignored=True)
    assert doc["live"]["stop_reason"] == "end of input" and doc["duration_s"] == 8.0  # before: SIGHUP, ~3 s
    doc = _live_hung_up(tmp_path / "hup.json", short_wav, hup_ignored=False)  # as before: stops and saves
    assert doc["live"]["stop_reason"] == "SIGHUP" and 0 < doc["duration_s"] < 8.0



def test_nohup_delete_is_not_said_stopped_by_a_hangup(tmp_path, short_wav):
    from tests.conftest import planted_batch
    from tests.test_sweep_hostile6 import SIGNAL_AFTER_STORE_COMMIT
    store, _ = planted_batch(tmp_path, short_wav)
    r = subprocess.run([sys.executable, "-c", SIGNAL_AFTER_STORE_COMMIT, "delete", "1", "--store", str(store)],
                       capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, "H6_SIGNAL": "SIGHUP", "PYTHONPATH": str(REPO)},
                       preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # as nohup starts it
    assert r.returncode == 0 and r.stdout == "deleted session 1\n", (r.returncode, r.stdout, r.stderr)
    assert "stopped by SIGHUP" not in r.stderr, r.stderr  # before: "stopped by SIGHUP; ...", exit 129
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0
    assert os.listdir(store / "frames") == []



# -- 9. one device given as both people's ---------------------------------------------------------------------

def test_one_device_given_twice_for_the_same_sound_is_refused(tmp_path):
    from tests.pulse import started_or_skip
    server = started_or_skip()
    try:
        mon = server.null_sink("room")
        env = {**server.env, "PYTHONPATH": str(REPO)}
        for i, extra in enumerate(([], ["--therapist-channel", "2", "--client-channel", "2"])):
            out = tmp_path / f"s{i}.json"
            r = subprocess.run([sys.executable, "-m", "prosody_cli.main", "live", "--therapist-device", mon,
                                "--client-device", mon, *extra, "--output", str(out), "--plain", "--duration", "1"],
                               env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
            one_line_error(r.returncode, r.stderr)  # before: exit 0, a session of two identical speakers saved
            assert "give both people the same sound" in r.stderr and "--device with --channels" in r.stderr, r.stderr
            assert ("the mix of its channels" if not extra else "its channel 2") in r.stderr, r.stderr
            assert not out.exists()
    finally:
        server.stop()


def test_a_device_channel_that_does_not_exist_names_the_device_not_a_file(monkeypatch, capsys, tmp_path):
    import prosody.live.devices as devices
    from prosody.live.devices import InputDevice
    from prosody_cli.main import main
    monkeypatch.setattr(devices, "portaudio_inputs",
                        lambda: [InputDevice("1", "Headset (ALSA)", "microphone", 2, 48000.0, "portaudio", True)])
    monkeypatch.setattr(devices, "pulse_sources", lambda: [])
    rc = main(["live", "--plain", "--duration", "1", "--output", str(tmp_path / "s.json"), "--device", "1",
               "--channels", "therapist=3,client=1"])
    err = capsys.readouterr().err
    one_line_error(rc, err)
    assert err.endswith("channel '3' does not exist; device Headset (ALSA) has 2 channel(s)\n"), err  # "the file"



# -- 10. standard output or error closed -------------------------------------------------------------------------

def _run_closed(argv: list[str], *, close: tuple[int, ...], cwd: Path) -> subprocess.CompletedProcess:
    """``prosody ARGV`` with the descriptors ``close`` closed, as ``>&-`` / ``2>&-`` leave them."""
    def closing():
        for fd in close:
            os.close(fd)
    return subprocess.run([sys.executable, "-m", "prosody_cli.main", *argv], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=closing)


def test_closed_standard_error_loses_no_output(tmp_path, short_wav):
    out = tmp_path / "a.json"
    r = _run_closed(["analyze", str(short_wav), "--json", str(out), "--quiet", "--no-progress"], close=(2,),
                    cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ""  # before: exit 1 (an internal error no one could read), no file
    assert json.loads(out.read_text())["duration_s"] == 8.0


def test_closed_standard_output_is_said_as_a_failing_one(tmp_path, short_wav):
    store = tmp_path / "st"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    r = _run_closed(["sessions", "--store", str(store)], close=(1,), cwd=tmp_path)
    one_line_error(r.returncode, r.stderr, code=1)  # before: internal error (AttributeError ...)
    assert r.stderr == "prosody: error: cannot write to standard output: Bad file descriptor\n"
    r = _run_closed(["delete", "1", "--store", str(store)], close=(1,), cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == ("prosody: error: cannot write to standard output (Bad file "
                                              "descriptor); done: deleted session 1\n"), r.stderr
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0


def test_live_with_standard_output_closed_saves_what_it_captured(tmp_path, short_wav):
    out = tmp_path / "l.json"
    r = _run_closed(["live", "--input", str(short_wav), "--speed", "4", "--interval-s", "0.5", "--output", str(out)],
                    close=(1,), cwd=tmp_path)
    assert "internal error" not in r.stderr, r.stderr  # before: internal error, nothing captured, no file
    assert r.returncode == 1 and f"saved {out} (" in r.stderr and "stopped: output closed" in r.stderr, r.stderr
    doc = json.loads(out.read_text())
    assert doc["live"]["stop_reason"] == "output closed" and 0 < doc["duration_s"] <= 8.0



# -- 11. play --device beyond a C int -----------------------------------------------------------------------------

def test_play_on_a_device_number_beyond_any_is_one_line(tmp_path):
    store = tmp_path / "st"
    rc, _, err = run_cli("analyze", REPO / "fixtures" / "dialogue.flac", "--save", "--store", store, "--quiet",
                         "--no-progress")
    assert rc == 0, err
    rc, out, err = run_cli("moments", "1", "--store", store)
    assert rc == 0 and " 1  0:" in out, out  # the fixture has a moment to play
    for device in ("99999999999999999999999", str(2 ** 31)):
        rc, out, err = run_cli("play", "1", "1", "--store", store, "--device", device)
        one_line_error(rc, err)  # before: internal error (OverflowError: int too big to convert), exit 1
        assert err.startswith(f"prosody: error: cannot play on output device {device}: "), err



# -- 13. a device capture stopped and resumed ---------------------------------------------------------------------

def test_a_device_capture_stopped_and_resumed_is_not_taken_for_a_lost_device(tmp_path):
    from tests.pulse import started_or_skip
    server = started_or_skip()
    try:
        mon = server.null_sink("room")
        wav = tmp_path / "dlg.wav"
        import soundfile as sf
        audio, sr = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float32")
        sf.write(wav, audio, sr, subtype="PCM_16")
        server.play(wav, "room")
        out = tmp_path / "s.json"
        proc = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--device", mon, "--plain",
                                 "--interval-s", "0.5", "--output", str(out)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={**server.env, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
        first = proc.stdout.readline()
        assert first.startswith(b"[00:0"), first
        t0 = time.monotonic()
        proc.send_signal(signal.SIGSTOP)  # as Ctrl-Z does, without the view's own handling
        time.sleep(7.0)                    # past the 5 s stall watchdog
        proc.send_signal(signal.SIGCONT)
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        wall_s = time.monotonic() - t0
        _, err = proc.communicate(timeout=60)
        doc = json.loads(out.read_text())
        assert doc["live"]["stop_reason"] == "SIGTERM", (doc["live"], err)  # before: "device lost", at ~1 s
        assert proc.returncode == 0, err
        assert doc["duration_s"] >= wall_s - 1.5, (doc["duration_s"], wall_s)  # the stopped stretch is there
        assert doc["capture"]["dropped_blocks"] == 0, doc["capture"]
    finally:
        server.stop()


def test_a_device_that_stalls_while_the_reader_runs_is_still_lost():
    import queue
    import threading
    from types import SimpleNamespace

    import pytest

    from prosody.live.capture import STALL_TIMEOUT_S, DeviceLost, DeviceSource
    src = DeviceSource.__new__(DeviceSource)
    stream = SimpleNamespace(finished=threading.Event(), stopping=False, q=queue.Queue(),
                             dev=SimpleNamespace(spec=SimpleNamespace(label="mic")))
    src.streams, src._started_s = [stream], time.monotonic() - 60
    now = time.monotonic()
    src._last_check_s, src._last_item_s = now - 0.05, [now - STALL_TIMEOUT_S - 1]  # the reader ran; no audio
    with pytest.raises(DeviceLost, match="delivered no audio for 5 s"):
        src._check_alive()
    now = time.monotonic()
    src._last_check_s, src._last_item_s = now - 7.0, [now - 7.05]  # the whole process was away 7 s
    src._check_alive()  # not lost: the stall counts from now
    assert src._last_item_s[0] >= now - 0.1



def test_a_device_queue_holds_what_a_sound_server_delivers_after_a_long_stop(monkeypatch):
    """The burst on resume after a 25 s stop (PulseAudio, 16 kHz stereo) overflowed the 10 s queue between a
    device's callback and the analysis: 5.9 s replaced by silence. One device (20 ms blocks) and two (5 ms)
    hold 60 s now."""
    import prosody.live.capture as capture
    from prosody.live.devices import DeviceSpec

    class _SD:
        @staticmethod
        def check_input_settings(**kwargs):
            return None

    monkeypatch.setattr(capture, "load_sounddevice", lambda: _SD)
    spec = DeviceSpec(label="mic", portaudio=0, pulse_source=None, max_channels=2, default_rate_hz=48000.0)
    for block_s in (capture.DEVICE_BLOCK_S, capture.TWO_DEVICE_BLOCK_S):
        stream = capture._DeviceStream(capture.DeviceInput(spec, 2, (0, 1)), rate_hz=None, block_s=block_s)
        assert stream.q.maxsize * block_s >= 60.0, (block_s, stream.q.maxsize)  # before: 10 s
