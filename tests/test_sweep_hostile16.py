"""Hostile sweep 16 (2026-12-04): stop signals and failures into `prosody live` (docs/store.md).

The stepped real signals (SIGINT, SIGTERM, SIGHUP and pairs a few milliseconds apart, from start-up through
capture, the autosave, the final save, the re-attribution on save and after `saved`) ran outside the suite;
here each defect found is planted once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"


def _program(argv: list[str], at_exit: str = "") -> list[str]:
    """``prosody ARGV`` run as the program itself (main's own signal handlers), with ``at_exit`` (Python)
    run by ``atexit`` once main has returned, as the interpreter shuts down."""
    code = ("import atexit, os, signal, sys, time\n"
            f"sys.argv = ['prosody', *{argv!r}]\n"
            "from prosody_cli.main import main\n"
            f"atexit.register(lambda: ({at_exit or 'None'}))\n"
            "sys.exit(main())\n")
    return [sys.executable, "-c", code]


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_stop_signal_after_live_said_saved_leaves_the_exit_as_it_was(tmp_path, signame):
    """A signal in the shut-down, after `saved PATH`: the program's own handler was put back as live
    returned and raised in the interpreter's exit (Python's "Exception ignored in atexit callback"
    traceback; a little later, from the signal module's shut-down, the default action killed the process:
    exit -15 for a session saved with 0, 6 of 168 stepped runs into `live --input`). Planted: the signal
    sent to itself from an atexit callback, which then waits for it to land."""
    out = tmp_path / "s.json"
    wav = FIXTURES / "mono_therapist.wav"
    cmd = _program(["live", "--input", str(wav), "--speed", "max", "--plain", "--output", str(out)],
                   at_exit=f"os.kill(os.getpid(), signal.{signame}), time.sleep(0.3)")
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, (res.returncode, res.stderr[-600:])
    # the saved session's one warning, said after `saved` (hostile sweep 53), and nothing else
    assert res.stderr == (f"prosody: warning: one device (a replay of {wav}): speakers were taken from its channels "
                          f"as given (provisional); `prosody analyze {wav}` attributes the whole recording (layout, "
                          "diarization, voice profile), as --record would on save\n"), res.stderr[-600:]
    assert f"saved {out} (" in res.stdout
    doc = json.loads(out.read_text())
    assert doc["live"]["stop_reason"] == "end of input"
    assert doc["duration_s"] == pytest.approx(sf.info(str(wav)).duration, abs=0.011)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.frames.npz", "s.json"]


def test_a_stop_signal_after_analyze_said_its_line_leaves_the_exit_as_it_was(tmp_path):
    """The same for any command: sweep 15's leftover (exit -15, -2 or -1 after the line, 4 of 375 stepped runs
    into analyze/relabel/import/delete/enrol)."""
    wav = FIXTURES / "mono_therapist.wav"
    cmd = _program(["analyze", str(wav), "--json", str(tmp_path / "a.json")],
                   at_exit="os.kill(os.getpid(), signal.SIGTERM), time.sleep(0.3)")
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert res.returncode == 0, (res.returncode, res.stderr[-600:])
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, res.stderr[-600:]
    assert json.loads((tmp_path / "a.json").read_text())["duration_s"] == pytest.approx(
        sf.info(str(wav)).duration, abs=0.011)


def test_a_recording_whose_disk_was_full_from_the_start_is_not_said_to_hold_anything(tmp_path, monkeypatch, capsys):
    """`live --record` onto a disk already full (a 200 KB tmpfs a live session had filled): not even the
    WAV header reached the disk, and the run ended "the recording failed at 0.0 s (No space left on
    device); rec.wav holds what was recorded before then", over an empty file (0 bytes, no sound file;
    `import` of the session: "rec.wav is empty"). Now nothing is said to be kept, and the empty file the
    recording made is removed; the session itself is saved whole. Planted: every write of the recording's
    file fails with ENOSPC."""
    import errno

    import prosody.live.runner as runner_mod
    from prosody_cli.main import main

    class _FullRaw:
        def __init__(self, raw):
            self.raw = raw

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.raw, name)

    real = runner_mod._QuietFile.__init__
    monkeypatch.setattr(runner_mod._QuietFile, "__init__", lambda self, raw: real(self, _FullRaw(raw)))
    wav = FIXTURES / "mono_therapist.wav"
    out, rec = tmp_path / "s.json", tmp_path / "rec.wav"
    monkeypatch.chdir(tmp_path)
    status = main(["live", "--input", str(wav), "--speed", "max", "--plain", "--output", str(out),
                   "--record", str(rec)])
    got = capsys.readouterr()
    assert status == 1
    assert "holds what was recorded" not in got.err
    assert "the recording failed at 0.0 s (the disk holding it is full, " in got.err  # was "No space left on device"
    assert f"free); nothing of it could be kept ({rec} removed)" in got.err
    assert f"saved {out} (" in got.out
    assert not rec.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.frames.npz", "s.json"]
    doc = json.loads(out.read_text())
    live = doc["live"]
    assert live["recording_complete"] is False and live["recording_stopped_s"] == 0.0
    assert doc["duration_s"] == pytest.approx(sf.info(str(wav)).duration, abs=0.011)
    said = [w for w in doc["warnings"] if w.startswith("the recording stopped at")]
    assert said and all("nothing of it could be kept" in w and "holds what was recorded" not in w for w in said), said


def test_a_source_that_goes_away_while_another_is_there_ends_the_capture(tmp_path):
    """`live --device v1.monitor --record`, another sink's monitor on the server, v1's module unloaded 2 s into
    the capture (a USB microphone unplugged): the sound server moved the stream to the other source and the
    capture went on from it without a word (60 s more captured until stopped by hand). Now the source is
    looked for every second: "device lost", exit 1, the session up to then saved, its recording as long."""
    import subprocess as sp
    import time

    from tests.pulse import started_or_skip
    from prosody.live.runner import load_live_session

    pulse = started_or_skip()
    try:
        mon = pulse.null_sink("v1")
        pulse.null_sink("other")
        out, rec = tmp_path / "s.json", tmp_path / "rec.wav"
        p = sp.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--device", mon, "--plain", "--interval-s",
                      "0.25", "--output", str(out), "--record", str(rec)], env={**pulse.env, **_env()},
                     stdout=sp.PIPE, stderr=sp.PIPE, text=True, cwd=tmp_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            assert line, p.stderr.read()
            if line.startswith("[") and not line.startswith("[00:00]"):
                break
        pulse.play(FIXTURES / "dialogue.flac", "v1")
        time.sleep(1.0)
        pulse.unload("v1")
        unloaded = time.monotonic()
        try:
            o, e = p.communicate(timeout=20)
        except sp.TimeoutExpired:
            p.terminate()
            o, e = p.communicate(timeout=30)
            pytest.fail(f"the capture went on {time.monotonic() - unloaded:.0f} s after its source went away: "
                        f"{(o.strip().splitlines() or [''])[-1]}")
        assert p.returncode == 1, e
        assert f"device {mon} ({mon.removesuffix('.monitor')}" in e or f"device {mon}" in e, e
        assert "went away" in e and f"saved in {out}" in e, e
        doc, _ = load_live_session(out)
        assert doc["live"]["stop_reason"] == "device lost"
        assert doc["live"]["captured_s"] >= 2.0
        assert sf.info(str(rec)).duration == pytest.approx(doc["live"]["captured_s"], abs=0.05)
    finally:
        pulse.stop()


@pytest.mark.parametrize("how", ["folder removed", "file replaced"])
def test_a_recording_whose_file_went_away_is_not_said_whole(tmp_path, monkeypatch, how):
    """The folder holding `--output` and `--record` removed mid-session (real capture: 4.0 s analysed): the
    session was saved in the rescue folder and said so, but the recording had gone on into a file no name
    reached, and the session said it whole (`recording_complete` true, no word of the loss). Now the loss
    is seen at the next autosave or at the end and said (since hostile sweep 30: whole in the rescue copy, not
    where asked). Planted on a replay (the folder removed, or the file replaced by another, once the recording has begun)."""
    import shutil
    import time

    from prosody.engine.sources import Layout
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the rescue folder
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "session"
    folder.mkdir()
    out, rec = folder / "s.json", folder / "rec.wav"
    wav = FIXTURES / "dialogue.flac"
    stereo = Layout(("therapist", "client"), ((0, 0), (0, 1)))
    r = LiveRunner(ReplaySource([str(wav)], stereo, speed=4.0), output_path=out, record_path=rec, autosave_s=0.5,
                   duration_s=8.0)
    r.start()
    deadline = time.monotonic() + 30
    while not (rec.exists() and rec.stat().st_size > 64000) and time.monotonic() < deadline:
        time.sleep(0.02)
    if how == "folder removed":
        shutil.rmtree(folder)
    else:
        rec.unlink()
        rec.write_bytes(b"someone else's file")
    res = r.wait(60)
    assert res is not None and res.doc is not None
    # what it held up to the loss is kept in the rescue folder (hostile sweep 28: it was dropped), and the
    # recording goes on there (hostile sweep 30: it stopped at the autosave that saw the loss)
    kept = tmp_path / "data" / "prosody-rescue" / "rec.wav"
    assert res.record_error is not None and "but not where asked" in res.record_error \
        and res.record_error.endswith(f"all of it is kept in {kept}"), res.record_error
    assert str(rec) in res.record_error
    live = res.doc["live"]
    assert live["recording_complete"] is True and live["recording_file"] == str(kept)  # what `import` takes
    assert live["analysed_s"] == pytest.approx(8.0, abs=0.011)  # the analysis went on to the end
    assert any(f"all of it is kept in {kept}" in w for w in res.doc["warnings"])
    assert sf.info(str(kept)).frames == round(live["captured_s"] * 16000)  # all of it, the loss said
    if how == "file replaced":
        assert rec.read_bytes() == b"someone else's file"
        assert "is another file now" in res.record_error
    else:
        assert "is gone" in res.record_error
        assert res.wanted_path == str(out)  # saved elsewhere, said
        assert Path(res.output_path).parent == tmp_path / "data" / "prosody-rescue"


def test_a_stop_before_the_first_block_leaves_no_empty_recording(tmp_path):
    """A SIGTERM as two-device capture began (real capture, 2.5 s after the start under load): the session
    was saved, 0.0 s, beside an empty `--record` file (a 44-byte WAV), and `import` of the session refused
    it ("no audio in rec.wav"). Now the empty recording the session made is removed and the session names
    none, which `import` takes. Planted: a device that has delivered nothing when the stop comes."""
    import time

    from prosody.live.capture import LiveSource
    from prosody.live.runner import LiveRunner
    from prosody_cli.main import main

    class _Nothing(LiveSource):
        speakers = ("therapist", "client")

        def start(self):
            pass

        def read(self, timeout_s):
            time.sleep(timeout_s)
            return None

        def stop(self):
            pass

        def health(self):
            return {}

    out, rec = tmp_path / "s.json", tmp_path / "rec.wav"
    r = LiveRunner(_Nothing(), output_path=out, record_path=rec)
    r.start()
    r.stop("SIGTERM")
    res = r.wait(30)
    assert res is not None and res.doc is not None and res.error is None and res.record_error is None
    assert res.doc["live"]["analysed_s"] == 0.0
    assert not rec.exists()
    assert res.doc["live"]["recording_file"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.frames.npz", "s.json"]
    assert main(["import", str(out), "--store", str(tmp_path / "store")]) == 0
