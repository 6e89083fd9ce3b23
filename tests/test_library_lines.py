"""The audio libraries' own lines (PortAudio's ALSA layer, alsa-lib, JACK) held back while ``live`` captures.

Before, killing the sound server under a live capture put PortAudio's C lines on the terminal ahead of prosody's
"device lost" line (``Expression 'alsa_snd_pcm_poll_descriptors_revents( ...)' failed in
'src/hostapi/alsa/pa_linux_alsa.c', line: 3665`` and two more; docs/store.md, hostile sweep 16, "found and left").
The filter is checked on real descriptor-2 writes from C (libc's ``fputs`` to ``stderr``) in a child process,
and end to end with a PulseAudio server killed under ``prosody live``.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from prosody.live.runner import load_live_session

PROSODY = [sys.executable, "-m", "prosody_cli.main"]
PA_LINE = ("Expression 'alsa_snd_pcm_poll_descriptors_revents( self->pcm, pfds, self->nfds, &revents )' failed in "
           "'src/hostapi/alsa/pa_linux_alsa.c', line: 3665")


def _child(body: str, *, env=None) -> subprocess.CompletedProcess:
    """Runs ``body`` in a child Python with ``c_err(text)`` (libc fputs to stderr, flushed), ``os``, ``sys``,
    ``time`` and ``LibraryLines`` at hand; returns its completed process (stderr as text)."""
    script = textwrap.dedent("""
        import ctypes, os, sys, time
        from prosody_cli.library_lines import LibraryLines
        libc = ctypes.CDLL(None)
        c_stderr = ctypes.c_void_p.in_dll(libc, "stderr")
        def c_err(text):
            libc.fputs(text.encode(), c_stderr)
            libc.fflush(c_stderr)
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)


def test_library_lines_are_held_back_and_the_rest_passes_in_order():
    res = _child(f"""
        lines = LibraryLines().start()
        print("prosody: first", file=sys.stderr, flush=True)
        c_err({PA_LINE!r} + "\\n")
        c_err("ALSA lib pcm_dsnoop.c:566:(snd_pcm_dsnoop_open) unable to open slave\\n")
        c_err("Cannot connect to server socket err = No such file or directory\\n")
        c_err("Expression of grief is normal\\n")            # not PortAudio's: no "failed in"
        os.write(2, b"half a li")                             # a line written in two pieces
        time.sleep(0.05)
        os.write(2, b"ne: ALSA lib inside it\\n")             # its rest is not held back
        print("prosody: last", file=sys.stderr, flush=True)
        lines.stop()
        print("after", lines.held, file=sys.stderr)
        sys.stderr.write(lines.note())
    """)
    assert res.returncode == 0, res.stderr
    shown = res.stderr.splitlines()
    assert shown[:5] == ["prosody: first", "Expression of grief is normal", "half a line: ALSA lib inside it",
                         "prosody: last", "after 3"], shown
    assert "printed 3 lines of its own" in shown[5] and "PROSODY_AUDIO_DIAGNOSTICS=1" in shown[5]
    assert "pa_linux_alsa" not in res.stderr and "unable to open slave" not in res.stderr


def test_a_line_without_its_end_is_shown_while_capture_runs():
    """A prompt-like line with no end yet is passed on at once, not when the filter stops (a reader of the
    terminal sees it): the child waits for the parent to read it before it stops."""
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, sys
        from prosody_cli.library_lines import LibraryLines
        lines = LibraryLines().start()
        os.write(2, b"waiting for you? ")
        sys.stdin.readline()
        lines.stop()
        os.write(2, b"done\\n")
    """)], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        got = b""
        deadline = time.monotonic() + 20
        while not got.endswith(b"? ") and time.monotonic() < deadline:
            got += p.stderr.read1(100)
        assert got == b"waiting for you? "
        p.stdin.write(b"\n")
        p.stdin.flush()
        assert p.stderr.read() == b"done\n"
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()


def test_the_diagnostics_are_shown_when_asked_and_nothing_is_said_when_none_came():
    import os
    res = _child(f"""
        lines = LibraryLines().start()
        c_err({PA_LINE!r} + "\\n")
        lines.stop()
        sys.stderr.write(lines.note() or "no note\\n")
    """, env={**os.environ, "PROSODY_AUDIO_DIAGNOSTICS": "1"})
    assert res.stderr.splitlines() == [PA_LINE, "no note"], res.stderr
    res = _child("""
        with LibraryLines() as lines:
            print("only prosody", file=sys.stderr)
        sys.stderr.write(lines.note() or "no note\\n")
    """)
    assert res.stderr.splitlines() == ["only prosody", "no note"], res.stderr


def test_no_standard_error_at_all_is_no_error():
    res = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os
        from prosody_cli.library_lines import LibraryLines
        with LibraryLines() as lines:
            pass
        os.write(1, f"held {lines.held}".encode())
    """)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60, pass_fds=(), close_fds=True,
        preexec_fn=lambda: __import__("os").close(2))
    assert res.returncode == 0 and res.stdout == b"held 0"


def test_the_sound_server_killed_under_live_shows_prosodys_lines_only(pulse, tmp_path):
    """`prosody live` on a null sink's monitor, the PulseAudio server told to exit 3 s in: exit 1, the session
    saved, "device lost" and one note about the held lines; none of PortAudio's "Expression ... failed in
    'src/hostapi/alsa/...'" lines (3 of them before, in every run seen)."""
    mon = pulse.null_sink("v1")
    out = tmp_path / "s.json"
    p = subprocess.Popen(PROSODY + ["live", "--device", mon, "--output", str(out), "--plain", "--interval-s",
                                    "0.25"], env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # capture delivering
        line = p.stdout.readline()
        assert line, p.stderr.read()
        if line.startswith("[") and not line.startswith("[00:00]"):
            break
    time.sleep(1.0)
    pulse.pactl("exit", check=False)
    o, e = p.communicate(timeout=60)
    assert p.returncode == 1, e
    assert "Expression '" not in e and "pa_linux_alsa" not in e, e
    lines = e.splitlines()
    doc, _ = load_live_session(out)
    # the saved session's warnings first ("therapist never speaks" on a silent sink), as analyze says them after
    # its save and before what failed (hostile sweep 53), then the device's line and the note
    warned = [f"prosody: warning: {w}" for w in doc["warnings"]]
    assert lines[:len(warned)] == warned, e
    lines = lines[len(warned):]
    assert lines[0].startswith("prosody: error: device lost") and f"saved in {out}" in lines[0], e
    assert len(lines) == 2 and lines[1].startswith("prosody: note: the audio library (PortAudio / ALSA) printed")
    assert doc["live"]["stop_reason"] == "device lost" and doc["live"]["captured_s"] > 1.0


def test_the_sound_server_killed_under_play_is_said_and_its_lines_held_back(pulse, tmp_path):
    """`prosody play` of a 20 s moment, the server told to exit once it plays: before, exit 0 with nothing said
    but PortAudio's three "Expression ... failed in 'src/hostapi/alsa/...'" lines (sounddevice's blocking play
    returned as if done). Now exit 1, prosody's line saying the device stopped and how much was handed to it,
    then the one note; none of the C lines."""
    from tests.test_review import noise_session
    noise_session(tmp_path / "st", tmp_path / "rec.wav", seconds=40, bookmark_s=20.0, seed=3)
    pulse.null_sink("out1")
    p = subprocess.Popen(PROSODY + ["play", "1", "1", "--store", str(tmp_path / "st"), "--device", "out1",
                                    "--context-s", "10"], env=pulse.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    first = p.stderr.readline()
    assert first.startswith("prosody: playing moment 1"), first + p.stderr.read()
    time.sleep(3.0)  # the stream opened and playing
    pulse.pactl("exit", check=False)
    o, e = p.communicate(timeout=60)
    assert p.returncode == 1, first + e
    assert "Expression '" not in e and "pa_linux_alsa" not in e, e
    lines = e.splitlines()
    assert lines[0].startswith("prosody: error: output device 'out1' stopped while playing"), e
    played_s = float(lines[0].split("; ")[-1].split(" of ")[0])
    assert 0.0 <= played_s < 20.0 and "of 20.0 s were handed to it" in lines[0], e
    assert len(lines) == 2 and lines[1].startswith("prosody: note: the audio library (PortAudio / ALSA) printed")
    assert "while playing" in lines[1]
