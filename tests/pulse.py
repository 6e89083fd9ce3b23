"""A private user-mode PulseAudio server with null sinks, for capture tests.

``PulseServer`` starts ``pulseaudio`` in a temporary runtime directory (so it
never touches a desktop's server, and works as root with ``--system=no``),
loads null sinks on demand, plays files into them with ``paplay`` and stops
the server at the end. ``env`` is what a child process (``prosody live``)
needs to talk to it; PortAudio reaches it through ALSA's ``pulse`` device.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REQUIRED = ("pulseaudio", "pactl", "paplay")


def unavailable_reason() -> str | None:
    missing = [b for b in REQUIRED if shutil.which(b) is None]
    if missing:
        return (f"{', '.join(missing)} not installed (Debian: apt install pulseaudio pulseaudio-utils "
                "libasound2-plugins): skipping real-device capture tests")
    if not any(Path(p).exists() for p in ("/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
                                          "/usr/lib/aarch64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
                                          "/usr/lib/alsa-lib/libasound_module_pcm_pulse.so",
                                          "/usr/lib64/alsa-lib/libasound_module_pcm_pulse.so")):
        return "ALSA's pulse plugin is missing (Debian: apt install libasound2-plugins): skipping capture tests"
    return None


def started_or_skip() -> "PulseServer":
    """A private PulseAudio server, started, for a capture test; the test is skipped (with why) where none
    can run here. The caller stops it."""
    import pytest
    why = unavailable_reason()
    if why:
        pytest.skip(why)
    server = PulseServer()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001  (any failure to start means: cannot test here)
        server.stop()
        pytest.skip(f"cannot start a private PulseAudio server: {exc}")
    return server


class PulseError(RuntimeError):
    pass


class PulseServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="prosody-pulse-"))
        os.chmod(self.dir, 0o700)
        self.env = dict(os.environ)
        self.env.update({"XDG_RUNTIME_DIR": str(self.dir), "PULSE_RUNTIME_PATH": str(self.dir / "pulse"),
                         "PULSE_STATE_PATH": str(self.dir / "state"), "HOME": str(self.dir),
                         "PULSE_SERVER": f"unix:{self.dir / 'pulse' / 'native'}"})
        self.env.pop("PULSE_SOURCE", None)
        self.env.pop("PULSE_SINK", None)
        self.modules: dict[str, int] = {}
        self._players: list[subprocess.Popen] = []
        self.pid: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "PulseServer":
        cmd = ["pulseaudio", "--daemonize=yes", "-n", "--system=no", "--exit-idle-time=-1", "--disable-shm=yes",
               "--use-pid-file=yes", "--log-target=stderr", "--load=module-native-protocol-unix"]
        res = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=20)
        if res.returncode != 0:
            raise PulseError(f"pulseaudio did not start: {res.stderr.strip()[-400:]}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.pactl("info", check=False).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise PulseError("pulseaudio started but does not answer pactl")
        pid_file = self.dir / "pulse" / "pid"
        if pid_file.exists():
            self.pid = int(pid_file.read_text().split()[0])
        return self

    def stop(self) -> None:
        for p in self._players:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.pactl("exit", check=False)
        if self.pid is not None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.05)
            if _alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- helpers -----------------------------------------------------------------------------
    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)
        if check and res.returncode != 0:
            raise PulseError(f"pactl {' '.join(args)}: {res.stderr.strip()}")
        return res

    def null_sink(self, name: str, *, rate_hz: int = 16000, channels: int = 2) -> str:
        """Load a null sink; returns its monitor source's name (``NAME.monitor``)."""
        res = self.pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={rate_hz}",
                         f"channels={channels}", f"sink_properties=device.description={name}")
        self.modules[name] = int(res.stdout.strip())
        return f"{name}.monitor"

    def combine_sink(self, name: str, slaves: list[str]) -> None:
        """A sink that plays one stream into several sinks in step."""
        res = self.pactl("load-module", "module-combine-sink", f"sink_name={name}", f"slaves={','.join(slaves)}",
                         "rate=16000", "channels=2")
        self.modules[name] = int(res.stdout.strip())

    def unload(self, name: str) -> None:
        self.pactl("unload-module", str(self.modules.pop(name)))

    def play(self, path: str | os.PathLike, sink: str) -> subprocess.Popen:
        p = subprocess.Popen(["paplay", "-d", sink, str(path)], env=self.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        self._players.append(p)
        return p

    def source_outputs(self) -> list[str]:
        return [l for l in self.pactl("list", "short", "source-outputs").stdout.splitlines() if l.strip()]


def outcome(p: subprocess.Popen, t0: float, *, ctrl_c_after_s: float | None = None, timeout_s: float = 30.0):
    """(exit status or None where it ran past ``timeout_s`` and was killed, its standard error, seconds since
    ``t0``) of ``p``, sent a Ctrl-C ``ctrl_c_after_s`` from now where given."""
    if ctrl_c_after_s is not None:
        time.sleep(ctrl_c_after_s)
        p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return None, err, time.monotonic() - t0
    return p.returncode, err, time.monotonic() - t0


def thaw_and_end(server: "PulseServer", p: subprocess.Popen) -> None:
    """The server let go again (SIGCONT after a test's SIGSTOP) and ``p`` killed where it still runs."""
    os.kill(server.pid, signal.SIGCONT)
    if p.poll() is None:
        p.kill()
        p.wait()


def folder_lost_while_recording(pulse: "PulseServer", p: subprocess.Popen, sound: Path, sink: str, folder: Path, *,
                                lost_after_s: float, ctrl_c_after_s: float, make_it_a_file: bool = False) -> str:
    """``sound`` played into ``sink`` while ``p`` (a `live --record` into ``folder``) captures; ``folder`` removed
    (``rm -rf``; a file put in its place where asked) ``lost_after_s`` in, Ctrl-C ``ctrl_c_after_s`` later. Returns
    ``p``'s standard error once it has ended (killed where it is still running after an exception)."""
    try:
        pulse.play(sound, sink)
        time.sleep(lost_after_s)
        shutil.rmtree(folder)
        if make_it_a_file:
            folder.write_text("not a folder")
        time.sleep(ctrl_c_after_s)
        p.send_signal(signal.SIGINT)
        return p.communicate(timeout=60)[1]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- two-device alignment check -----------------------------------------------------------------

def alignment_source(seconds: float, *, delay_s: float = 0.0, seed: int = 0, rate_hz: int = 16000):
    """A stereo test signal for alignment checks, float32 (n, 2): noise bursts
    (0.2-0.6 s on, 0.05-0.3 s off, levels -30 to -12 dBFS) on the left; the
    right channel is the left delayed by ``delay_s`` (a planted offset)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    n = int(seconds * rate_hz)
    env = np.zeros(n, np.float32)
    i = 0
    while i < n:
        on = int(rng.uniform(0.2, 0.6) * rate_hz)
        env[i:i + on] = 10 ** (rng.uniform(-30, -12) / 20) * 2
        i += on + int(rng.uniform(0.05, 0.3) * rate_hz)
    left = (rng.standard_normal(n) * env).astype(np.float32)
    d = int(round(delay_s * rate_hz))
    right = np.concatenate([np.zeros(d, np.float32), left[:n - d]]) if d else left.copy()
    return np.stack([left, right], axis=1)


def channel_lags_s(rec, ref, starts_s, *, window_s: float = 1.0, rate_hz: int = 16000, search_s: float = 0.25):
    """Lag of the recorded channels against ``ref`` (mono source), per window.

    ``rec`` (n, 2): the recording; the source is found in its first channel
    by cross-correlation over the whole recording, then each window of each
    channel starting at ``starts_s`` is matched within ``search_s`` of that
    lag, to a fraction of a sample (parabolic peak). Returns an array
    (len(starts_s), 2) of lags in seconds (recording index minus source
    index), NaN where a window holds no signal."""
    import numpy as np
    from scipy import signal as sps
    c = sps.correlate(rec[:, 0], ref, mode="full", method="fft")
    lag0 = int(np.argmax(np.abs(c))) - (len(ref) - 1)
    w, s = int(window_s * rate_hz), int(search_s * rate_hz)
    out = np.full((len(starts_s), rec.shape[1]), np.nan)
    for j, t in enumerate(starts_s):
        a = int(t * rate_hz)
        for ch in range(rec.shape[1]):
            x = rec[a:a + w, ch].astype(np.float64)
            r0 = a - lag0 - s
            if len(x) < w or r0 < 0 or r0 + w + 2 * s > len(ref) or np.std(x) < 1e-5:
                continue
            seg = ref[r0:r0 + w + 2 * s].astype(np.float64)
            cc = sps.correlate(seg, x, mode="valid", method="fft")   # cc[m] = sum x[i] seg[m+i]
            m = int(np.argmax(cc))
            frac = 0.0
            if 0 < m < len(cc) - 1:
                y0, y1, y2 = cc[m - 1], cc[m], cc[m + 1]
                den = y0 - 2 * y1 + y2
                frac = 0.5 * (y0 - y2) / den if den != 0 else 0.0
            out[j, ch] = (a - (r0 + m + frac)) / rate_hz
    return out
