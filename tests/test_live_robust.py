"""Live sessions when things go wrong on the way out: a recording on a disk
that fills up, a save after analysis broke, a signal during the re-attribution
on save, and devices or rates that cannot be used (bad input, exit 2).
Without audio devices: replays, in-process fakes and planted signals."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import prosody.live.runner as runner_mod
from prosody.engine.sources import Layout
from prosody.live.capture import ReplaySource
from prosody.live.runner import LiveRunner, _Recording, load_live_session
from prosody_cli.liveview import live_view, plain_line
from prosody_cli.main import main
from tests.test_live import _Crashing

REPO = Path(__file__).resolve().parents[1]
DIALOGUE = REPO / "fixtures" / "dialogue.flac"
STEREO = Layout(("therapist", "client"), ((0, 0), (0, 1)))
PROSODY = [sys.executable, "-m", "prosody_cli.main"]
RATE = 16000


# -- 1. the recording's disk fills up during capture ---------------------------------------

class _FillingDisk:
    """A real ``_Recording`` on a disk with room for ``room_s`` seconds of audio:
    the write that would pass it writes what fits and raises ENOSPC, as a full
    disk does; every later write raises at once."""

    def __init__(self, path: Path, channels: int, *, room_s: float):
        self.rec = _Recording(path, channels)
        self.room = int(room_s * RATE)
        self.written = 0
        self.closed = False

    def write(self, x):
        if self.written + len(x) > self.room:
            fits = self.room - self.written
            if fits > 0:
                self.rec.write(x[:fits])
                self.written += fits
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.rec.write(x)
        self.written += len(x)

    def flush(self):
        self.rec.flush()

    def close(self):
        self.closed = True
        self.rec.close()


def test_full_disk_stops_the_recording_only(tmp_path, monkeypatch):
    """The recording's disk fills at 3 s of a 40 s replay: the recording stops
    there (closed, readable, holding exactly the first 3 s), the capture and
    analysis go on to the end of input and a normal save; the view, the plain
    line, the result and the JSON all say the recording failed at 3.0 s."""
    disks = []

    def filling(path, channels, **kwargs):
        disks.append(_FillingDisk(path, channels, room_s=3.0))
        return disks[-1]

    monkeypatch.setattr(runner_mod, "_open_recording", filling)
    out, rec = tmp_path / "s.json", tmp_path / "rec.wav"
    seen = []
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=out, record_path=rec)
    r.start()
    deadline = time.monotonic() + 120
    while not r.done and time.monotonic() < deadline:
        st = r.snapshot()
        if st.record_error:
            seen.append(st)
        time.sleep(0.02)
    res = r.wait(1)
    assert res is not None and res.reason == "end of input" and res.error is None
    assert disks[0].closed and disks[0].written == 3 * RATE
    # the partial recording is a whole, readable file: the first 3 s as captured (PCM_16)
    audio, sr = sf.read(rec, dtype="float32")
    orig, _ = sf.read(DIALOGUE, dtype="float32", frames=3 * RATE)
    assert sr == RATE and audio.shape == (3 * RATE, 2) and np.max(np.abs(audio - orig)) < 1e-4
    # analysis went on: the whole file, the same session as without a recording
    doc, frames = load_live_session(out)
    live = doc["live"]
    assert live["complete"] is True and live["stop_reason"] == "end of input"
    assert doc["duration_s"] == pytest.approx(sf.info(DIALOGUE).frames / RATE, abs=0.011)
    ref_out = tmp_path / "ref.json"
    ref = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=ref_out)
    ref.start()
    ref.wait(120)
    assert doc["segments"] == json.loads(ref_out.read_text())["segments"]
    # ... and the JSON does not claim a whole recording
    assert live["recording_file"] == str(rec)
    assert live["recording_complete"] is False and live["recording_stopped_s"] == pytest.approx(3.0, abs=0.1)
    (w,) = [w for w in doc["warnings"] if "recording stopped" in w]
    assert "the disk holding it is full" in w and str(rec) in w  # was "No space left on device" (2026-12-05)
    assert res.record_error.startswith("the recording failed at 3.0 s (the disk holding it is full, ")
    assert str(rec) in res.record_error
    # shown while live: the plain line and the full view
    assert seen, "the failure never reached the live state"
    st = seen[0]
    assert "RECORDING FAILED at 00:03" in plain_line(st) and str(rec) in plain_line(st)
    from rich.console import Console
    console = Console(width=100, height=40, record=True, file=open(os.devnull, "w"))
    console.print(live_view(st))
    assert "RECORDING FAILED" in console.export_text()


def test_recording_write_on_a_full_disk_is_quiet_and_leaves_a_readable_file(tmp_path, monkeypatch, capfd):
    """libsndfile writes through a Python file object; an ENOSPC raised in its
    callback could not be caught and would be printed as a traceback. The real
    recorder reports it as one RecordingError naming the reason, and what
    reached the disk closes into a readable WAV."""
    import prosody.live.runner as r

    class _Full:  # the file's raw writes: room for ``room`` bytes, then ENOSPC
        def __init__(self, raw, room):
            self.raw, self.room = raw, room

        def write(self, data):
            if self.raw.tell() + len(data) > self.room:
                n = max(0, self.room - self.raw.tell())
                if n == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return self.raw.write(bytes(data)[:n])
            return self.raw.write(data)

        def __getattr__(self, name):
            return getattr(self.raw, name)

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    path = tmp_path / "rec.wav"
    rec = r._Recording(path, 2)
    rec._fileobj.raw = _Full(rec._fileobj.raw, room=100_000)
    x = (np.random.default_rng(0).standard_normal((1600, 2)) * 0.1).astype(np.float32)
    with pytest.raises(r.RecordingError) as info:
        for _ in range(100):
            rec.write(x)
    assert info.value.errno == errno.ENOSPC and info.value.strerror == os.strerror(errno.ENOSPC)
    try:
        rec.close()
    except r.RecordingError:
        pass
    assert not unraisable and "Traceback" not in capfd.readouterr().err
    got, sr = sf.read(path, dtype="float32")
    assert sr == RATE and 0 < len(got) <= (100_000 - 44) // 4
    k = len(got) // 1600 * 1600
    assert np.max(np.abs(got[:k] - np.tile(x, (k // 1600, 1)))) < 1e-4


def test_crash_save_closes_the_open_speech_segment(tmp_path):
    """Analysis breaks at 4 s, while the therapist's first turn (0.5-5.4 s) is
    still going: the crash save closes that segment at the analysed end, as the
    Ctrl-C save and the autosave do, instead of dropping it."""
    out = tmp_path / "s.json"
    pipe = _Crashing(STEREO.speakers, crash_after_s=4.0)
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=8.0), output_path=out, pipeline=pipe)
    r.start()
    res = r.wait(60)
    assert res.reason == "analysis error"
    doc, frames = load_live_session(out)
    assert doc["live"]["complete"] is False and 2.5 <= doc["duration_s"] <= pipe.n_samples / RATE < 5.3
    th = [s for s in doc["segments"] if s["speaker"] == "therapist"]
    assert len(th) == 1 and th[0]["start_s"] == pytest.approx(0.5, abs=0.05)
    assert th[0]["end_s"] == pytest.approx(doc["duration_s"], abs=1e-6)
    # the frames agree: the therapist speaks from 0.5 s to the analysed end
    speech = frames["therapist"]["is_speech"]
    assert speech[int(0.6 / 0.01):].all()


# -- 2. a signal while the saved session is attributed again from its recording -------------

@pytest.fixture(scope="module")
def table_wav(tmp_path_factory, fixture_dialogue):
    """12 s of the fixture dialogue mixed to one mono channel: one shared device."""
    audio, _ = fixture_dialogue
    x = audio[: 12 * RATE].mean(axis=1)
    path = tmp_path_factory.mktemp("table") / "table.wav"
    sf.write(path, x, RATE, subtype="PCM_16")
    return path


@pytest.mark.parametrize("sig, rc", [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_signal_during_reattribution_keeps_the_saved_session(table_wav, tmp_path, monkeypatch, capsys, sig, rc):
    """The signal comes while the recording is being attributed again: that step
    stops, the session saved live stays (with a warning that its attribution
    stayed provisional), the saved path is printed; Ctrl-C exits 130, SIGTERM 0."""
    import prosody.live.reattribute as ra

    def slow(*a, **k):
        os.kill(os.getpid(), sig)
        time.sleep(10)
        raise AssertionError("the signal did not stop the re-attribution")

    monkeypatch.setattr(ra, "reattribute_document", slow)
    out = tmp_path / "s.json"
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    rc_got = main(["live", "--input", str(table_wav), "--speed", "max", "--plain", "--output", str(out),
                   "--record", str(tmp_path / "rec.wav")])
    o, e = capsys.readouterr()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert rc_got == rc, e
    assert f"saved {out} (" in o
    assert "stopped the re-attribution" in e and "Traceback" not in e
    doc, frames = load_live_session(out)
    assert ra.provisional_note("re-attribution interrupted") in doc["warnings"]
    assert "reattributed" not in doc["live"] and doc["duration_s"] == pytest.approx(12.0, abs=0.011)
    assert len(frames[doc["speaker_order"][0]]["is_speech"]) == 1200


def test_signal_while_the_reattributed_session_is_written_waits(table_wav, tmp_path, monkeypatch, capsys):
    """A Ctrl-C during the write of the re-attributed session does not cut the
    write: the session is written whole (re-attributed), then the exit is 130."""
    import prosody.live.runner as r

    real = r.write_session
    calls = []

    def write_then_signal(path, doc, arrays, **kwargs):
        calls.append(doc)
        if doc["live"].get("reattributed"):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the handler runs here: it must not raise
        real(path, doc, arrays, **kwargs)

    monkeypatch.setattr(r, "write_session", write_then_signal)
    out = tmp_path / "s.json"
    rc = main(["live", "--input", str(table_wav), "--speed", "max", "--plain", "--output", str(out),
               "--record", str(tmp_path / "rec.wav")])
    o, e = capsys.readouterr()
    assert rc == 130, e
    doc, _ = load_live_session(out)
    assert doc["live"]["reattributed"] is True and any(c["live"].get("reattributed") for c in calls)
    assert not any("provisional (" in w for w in doc["warnings"]) and f"saved {out} (" in o


_SLOW_REATTRIBUTION = """
import sys, time
import prosody.live.reattribute as ra
real = ra.reattribute_document
def slow(*a, **k):
    time.sleep(30.0)  # a long session's diarization
    return real(*a, **k)
ra.reattribute_document = slow
from prosody_cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _capture_saved(out) -> bool:
    """The live save at the end of the input is on disk (not an autosave made while capturing:
    a signal then would end the capture, and the re-attribution would run, as it should)."""
    try:
        return json.loads(out.read_text())["live"]["stop_reason"] is not None  # an autosave has none
    except (OSError, ValueError, KeyError, TypeError):
        return False


@pytest.mark.parametrize("sig, rc", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signal_after_capture_ended_stops_the_reattribution(table_wav, tmp_path, sig, rc):
    """A real process (its re-attribution slowed as for a long session): the signal
    comes as soon as the live save is on disk, while the save finishes or the
    re-attribution runs: the saved line, the session kept with the
    provisional-attribution warning, no traceback; SIGTERM exits 0, Ctrl-C 130."""
    out = tmp_path / "s.json"
    p = subprocess.Popen([sys.executable, "-c", _SLOW_REATTRIBUTION, "live", "--input", str(table_wav), "--speed",
                          "max", "--plain", "--output", str(out), "--record", str(tmp_path / "rec.wav")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                         # Ctrl-C as from a terminal: the child's SIGINT at its default, whatever this process
                         # inherited or an earlier test left (ignored, the signal before the live command sets its
                         # own handler was lost, and the re-attribution ran its 30 s: seen only in the full suite)
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not _capture_saved(out) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    p.send_signal(sig)
    t0 = time.monotonic()
    o, e = p.communicate(timeout=60)
    # not stopped, it would take 30 s; stopped, well under 15 s even on a loaded machine (it took 3.6 s
    # against a bound of 2.5 s while benchmarks ran beside it)
    assert time.monotonic() - t0 < 15.0, "the re-attribution was not stopped"
    assert p.returncode == rc, e
    assert f"saved {out} (" in o and "Traceback" not in e
    assert "stopped the re-attribution" in e
    doc = json.loads(out.read_text())
    assert "reattributed" not in doc["live"]
    assert any("attribution stayed provisional (re-attribution interrupted)" in w for w in doc["warnings"])


def test_incomplete_recording_is_not_used_for_reattribution(table_wav, tmp_path, monkeypatch, capsys):
    """A one-device session whose recording stopped early is not attributed again
    from it (that would drop the rest of the session): the live analysis stays,
    said in a warning; the failed recording makes the exit 1."""
    monkeypatch.setattr(runner_mod, "_open_recording", lambda path, ch, **kwargs: _FillingDisk(path, ch, room_s=2.0))
    out = tmp_path / "s.json"
    rc = main(["live", "--input", str(table_wav), "--speed", "max", "--plain", "--output", str(out),
               "--record", str(tmp_path / "rec.wav")])
    o, e = capsys.readouterr()
    assert rc == 1 and f"saved {out} (" in o
    assert e.count("prosody: error:") == 1 and "the recording failed at 2.0 s" in e
    doc, _ = load_live_session(out)
    assert doc["duration_s"] == pytest.approx(12.0, abs=0.011) and "reattributed" not in doc["live"]
    assert doc["live"]["recording_complete"] is False
    note = next(w for w in doc["warnings"] if "attribution stayed provisional (the recording stopped early)" in w)
    # the recording holds 2 s of 12: `prosody analyze` on it is not offered as the whole session's attribution
    assert "attributes the whole session" not in note and "holds only the session's start" in note, note


# -- 3. Ctrl-C however the capture was started, and at any point of the stop ----------------

def test_ctrl_c_stops_a_capture_started_with_ctrl_c_ignored(tmp_path):
    """A capture started as a script's background job (`prosody live ... &`: the shell starts it
    with SIGINT ignored, and Python leaves it so) is stopped and saved by a SIGINT, as a batch
    is. It was ignored, as every later one: capture ran on (test_ctrl_c_held_down_still_saves_and_says_so
    hung in a full suite run in the background, its children inheriting the ignored SIGINT)."""
    out = tmp_path / "s.json"
    p = subprocess.Popen(PROSODY + ["live", "--input", str(DIALOGUE), "--plain", "--interval-s", "0.25",
                                    "--output", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert p.stdout.readline().startswith("["), p.stderr.read()  # capture runs (the 40 s file, in real time)
    p.send_signal(signal.SIGINT)
    try:
        o, e = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("the SIGINT was ignored: capture went on")
    assert p.returncode == 130, e
    assert f"saved {out} (" in o and "stopped: Ctrl-C" in o and "Traceback" not in e, (o[-300:], e)
    doc, _ = load_live_session(out)
    assert doc["live"]["stop_reason"] == "Ctrl-C" and doc["duration_s"] < 20


def _stop_with_a_signal_at(tmp_path, step: int) -> tuple[bool, int, LiveRunner]:
    """``runner.stop("quit")`` on a thread, with live's signal handler (a nested ``stop("Ctrl-C")``)
    run at its ``step``-th line, the threading code under it included, as a signal is at any
    bytecode; 0: none. (whether it hung, how many lines it ran, the runner)."""
    runner = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=tmp_path / "s.json")
    lines = []

    def tracer(frame, event, arg):
        if event == "line":
            lines.append(frame.f_code.co_name)
            if len(lines) == step:
                runner.stop("Ctrl-C")  # untraced: a trace function runs with tracing off
        return tracer

    def traced():
        sys.settrace(tracer)
        try:
            runner.stop("quit")
        finally:
            sys.settrace(None)

    t = threading.Thread(target=traced, daemon=True)
    t.start()
    t.join(5)
    return t.is_alive(), len(lines), runner


def test_a_signal_at_any_point_of_stop_cannot_hang_it(tmp_path):
    """live's signal handler calls ``runner.stop()``, and a signal can come while the main thread
    is already inside it. stop() set a threading.Event: a signal just after the Event's lock was
    taken waited for that lock, held by its own thread, for ever (the main thread hung, the
    analysis thread never saw the stop, capture ran on)."""
    _, n, _ = _stop_with_a_signal_at(tmp_path, 0)
    assert n >= 1
    for step in range(1, n + 1):
        hung, _, runner = _stop_with_a_signal_at(tmp_path, step)
        assert not hung, f"a signal at line {step} of {n} of stop() hung it"
        assert runner.stopping


# -- 4. devices and rates that cannot be used are bad input (exit 2) ------------------------

@pytest.fixture
def fake_devices(monkeypatch):
    """Two PortAudio inputs and no PulseAudio; the device refuses every rate but 48000 Hz."""
    import prosody.live.capture as capture
    import prosody.live.devices as devices
    from prosody.live.devices import InputDevice

    inputs = [InputDevice("0", "USB Mic (ALSA)", "microphone", 1, 48000.0, "portaudio", True),
              InputDevice("1", "USB Mic 2 (ALSA)", "microphone", 2, 48000.0, "portaudio")]
    monkeypatch.setattr(devices, "portaudio_inputs", lambda: inputs)
    monkeypatch.setattr(devices, "pulse_sources", lambda: [])

    class _SD:
        @staticmethod
        def check_input_settings(*, samplerate, **k):
            if samplerate != 48000:
                raise ValueError("Invalid sample rate [PaErrorCode -9997]")

    monkeypatch.setattr(capture, "load_sounddevice", lambda: _SD)


@pytest.mark.parametrize("argv, msg", [
    (["--device", "nosuch"], "no input device matches 'nosuch'"),
    (["--device", "7"], "device 7 is not an input device"),
    (["--device", "usb mic"], "matches 2 input devices"),
    (["--therapist-device", "nosuch", "--client-device", "0"], "no input device matches 'nosuch'"),
    (["--device", "0", "--rate-hz", "44100"], "--rate-hz 44100: device USB Mic (ALSA) cannot record"),
    (["--device", "0", "--rate-hz", "0"], "--rate-hz 0: give a device sample rate from 8000"),
    (["--device", "0", "--rate-hz", "-16000"], "--rate-hz -16000"),
    (["--device", "0", "--rate-hz", "1000000"], "--rate-hz 1000000"),
])
def test_unusable_device_or_rate_is_bad_input(fake_devices, tmp_path, capsys, argv, msg):
    rc = main(["live", "--plain", "--output", str(tmp_path / "s.json"), *argv])
    o, e = capsys.readouterr()
    lines = e.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("prosody: error:") and msg in lines[0], e
    assert not (tmp_path / "s.json").exists()


def test_no_default_input_device_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    """A machine without a default input (and no --device) is the machine's state, not bad input: one line naming
    --device, exit 1 (docs/live.md), and no session file claimed or written."""
    import prosody.live.devices as devices
    from prosody_cli.main import main
    monkeypatch.setattr(devices, "portaudio_inputs", lambda: [])
    out = tmp_path / "s.json"
    rc = main(["live", "--plain", "--duration", "2", "--output", str(out)])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert err.count("\n") == 1 and "no default input device" in err and "--device" in err, err
    assert not out.exists() and "saved" not in err


def test_a_relative_recording_path_is_saved_as_the_file_it_names(tmp_path, monkeypatch):
    """`live --record rec.wav` (a relative path) saved "rec.wav" as ``live.recording_file``, which `import`,
    `play` and the re-attribution read against their own working folder: run from another folder, they found no
    recording (hostile sweep 28's leftover). Saved as the absolute path of the file written."""
    monkeypatch.chdir(tmp_path)
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path="s.json", record_path="rec.wav",
                   duration_s=2.0)
    r.start()
    res = r.wait(120)
    assert res is not None and res.error is None
    doc, _ = load_live_session(tmp_path / "s.json")
    saved = doc["live"]["recording_file"]
    monkeypatch.chdir(tmp_path.parent)
    assert os.path.isabs(saved) and os.path.samefile(saved, tmp_path / "rec.wav")
    assert sf.info(saved).duration == pytest.approx(2.0, abs=0.05)
