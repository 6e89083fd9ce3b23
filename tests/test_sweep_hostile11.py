"""Hostile sweep 11 (docs/store.md, "Hostile sweep 11"): the leftovers of sweeps 8-10, the live view's
signals, ``devices``. Through the real CLI where it can be; every file under tmp_path. Each defect with what
happened before and what happens now:

1. Ctrl-Z in the full-screen live view, then ``fg``: the shell gives the terminal back in the modes it keeps
   for itself (bash does, on every stop), so the resumed view read its keys only after Enter (a ``b`` typed
   made no bookmark) and the terminal's Ctrl-\\ was back: it killed the capture unsaved (SIGQUIT, no file).
   The view now leaves the terminal as it found it on Ctrl-Z, stops, and on resume takes its keys again
   (cbreak, Ctrl-\\ off) and redraws.
"""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import termios
import time
from pathlib import Path

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
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
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
