"""Live block sources: audio devices (sounddevice/PortAudio) and replay of a file.

Every live source has the same shape: a producer (the device's audio callback,
or a feeder thread for replay) only copies each block into a bounded queue and
counts problems; the consumer (``read``) runs on the analysis thread, fills
lost blocks with silence so the timeline stays whole, resamples to the 16 kHz
analysis rate, lays channels out as speakers and, for two devices, aligns the
two streams on one timeline and corrects the drift between their clocks::

    device A callback -> queue -+-> resample -> pick/mix channel -+
    device B callback -> queue -+-> resample -> pick/mix channel -+-> Aligner -> (n, 2) blocks
    file -> feeder thread (real time or max speed) -> queue ------------------> (n, n_speakers) blocks

Words: a *block* is what a callback delivers; *samples* are per channel.
sounddevice's ``frames`` argument counts samples.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..errors import CaptureError, DeviceLost, InputError
from ..engine.sources import FileSource, Layout, Resampler
from ..timebase import GRID

ANALYSIS_RATE_HZ = GRID.sample_rate
QUEUE_S = 10.0                 # audio the queue between callback and analysis can hold
DEVICE_BLOCK_S = 0.02          # requested callback block length
TWO_DEVICE_BLOCK_S = 0.005     # ... with two devices: a block's arrival places it to within one block (ClockFit)
FIRST_BLOCK_TIMEOUT_S = 10.0   # the first callback of a PulseAudio stream can take 1-2 s
STALL_TIMEOUT_S = 5.0          # no audio for this long after the first block: the device is lost
ALIGN_AFTER_S = 1.0            # audio per device before the first alignment (then refined every second)
DRIFT_MIN_SPAN_S = 10.0        # clock-rate fit needs this much audio before it is used
DRIFT_MAX_PPM = 1000.0         # larger apparent drift is not a clock: not corrected, reported
SAME_CLOCK_PPM = 2.0           # drift within max(3 x its uncertainty, this): one clock, ratio 1
FIT_FLOOR_S = 0.00005          # clock fit: jitter floor of the earliest arrivals, for the slope's uncertainty
B_HISTORY = 1600               # B samples kept behind the read position, for refits that move it back
_MONITOR_WORDS = ("monitor", "loopback", "stereo mix", "what u hear", "blackhole", "soundflower",
                  "cable output", "vb-audio")
_SERVER_DEVICES = {"pulse", "default", "pipewire", "sysdefault", "jack"}




# -- listing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputDevice:
    """An input the user can pass to ``--device``: ``ref`` is what to type.

    ``kind``: ``microphone`` (a capture device), ``monitor`` (loopback of an
    output: carries the call's audio), ``server`` (a sound server's default
    route, e.g. ALSA ``pulse``: records whatever source the server picks)."""

    ref: str
    name: str
    kind: str
    channels: int
    default_rate_hz: float | None
    backend: str                  # "portaudio" or "pulse"
    is_default: bool = False


def _kind_of(name: str) -> str:
    low = name.lower()
    if any(w in low for w in _MONITOR_WORDS):
        return "monitor"
    if low.split(" ")[0] in _SERVER_DEVICES or low in _SERVER_DEVICES:
        return "server"
    return "microphone"


def pulse_sources() -> list[InputDevice]:
    """PulseAudio/PipeWire sources via ``pactl`` (empty when there is no server)."""
    if shutil.which("pactl") is None:
        return []
    default = ""
    try:
        info = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True, timeout=5)
        default = info.stdout.strip() if info.returncode == 0 else ""
        res = subprocess.run(["pactl", "-f", "json", "list", "sources"], capture_output=True, text=True, timeout=5)
        if res.returncode == 0 and res.stdout.strip().startswith("["):
            out = []
            for s in json.loads(res.stdout):
                name = s.get("name", "")
                desc = s.get("description", name)
                is_mon = name.endswith(".monitor") or desc.lower().startswith("monitor of")
                spec = s.get("sample_specification", "")
                out.append(InputDevice(ref=name, name=desc, kind="monitor" if is_mon else "microphone",
                                       channels=_spec_channels(spec), default_rate_hz=_spec_rate(spec),
                                       backend="pulse", is_default=name == default))
            return out
        res = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    if res.returncode != 0:
        return []
    out = []
    for line in res.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            name = parts[1]
            out.append(InputDevice(ref=name, name=name, kind="monitor" if name.endswith(".monitor") else "microphone",
                                   channels=_spec_channels(parts[3]), default_rate_hz=_spec_rate(parts[3]),
                                   backend="pulse", is_default=name == default))
    return out


def _spec_channels(spec: str) -> int:
    for tok in spec.split():
        if tok.endswith("ch") and tok[:-2].isdigit():
            return int(tok[:-2])
    return 0


def _spec_rate(spec: str) -> float | None:
    for tok in spec.split():
        if tok.endswith("Hz") and tok[:-2].isdigit():
            return float(tok[:-2])
    return None


def _sd():
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise CaptureError(f"cannot use audio devices: PortAudio is not available ({exc}); "
                           "install it (Debian: apt install libportaudio2)") from None
    return sd


def portaudio_inputs() -> list[InputDevice]:
    sd = _sd()
    try:
        default_in = sd.default.device[0]
        devs = sd.query_devices()
    except sd.PortAudioError as exc:
        raise CaptureError(f"cannot list audio devices: {exc}") from None
    apis = sd.query_hostapis()
    out = []
    for d in devs:
        if d["max_input_channels"] < 1:
            continue
        api = apis[d["hostapi"]]["name"]
        out.append(InputDevice(ref=str(d["index"]), name=f"{d['name']} ({api})", kind=_kind_of(d["name"]),
                               channels=int(d["max_input_channels"]),
                               default_rate_hz=float(d["default_samplerate"]), backend="portaudio",
                               is_default=d["index"] == default_in))
    return out


def list_input_devices() -> list[InputDevice]:
    """PortAudio inputs, then PulseAudio/PipeWire sources (reachable through
    PortAudio's ALSA ``pulse`` device)."""
    pa = portaudio_inputs()
    has_pulse = any(d.name.split(" (")[0] == "pulse" for d in pa)
    return pa + (pulse_sources() if has_pulse else [])


# -- device resolution ----------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceSpec:
    """A resolved input: ``portaudio`` is the PortAudio device index; for a
    PulseAudio source, ``pulse_source`` names it and ``portaudio`` is ALSA's
    ``pulse`` device."""

    label: str
    portaudio: int
    pulse_source: str | None
    max_channels: int
    default_rate_hz: float


def resolve_device(text: str | None) -> DeviceSpec:
    """A device index, an exact PulseAudio source name, or a unique part of a
    device name (case-insensitive); ``None`` is the system default input."""
    inputs = portaudio_inputs()
    if text is None:
        default = [d for d in inputs if d.is_default]
        if not default:
            raise CaptureError("there is no default input device; pick one with --device (see `prosody devices`)")
        return _spec_from_portaudio(default[0])
    text = text.strip()
    if text.isdigit():
        match = [d for d in inputs if d.ref == text]
        if not match:
            raise CaptureError(f"device {text} is not an input device; see `prosody devices` for the list")
        return _spec_from_portaudio(match[0])
    pulse_pa = [d for d in inputs if d.name.split(" (")[0] == "pulse"]
    sources = pulse_sources() if pulse_pa else []
    exact = [s for s in sources if s.ref == text]
    if exact:
        return _spec_from_pulse(exact[0], pulse_pa[0])
    low = text.lower()
    cands = [("p", d) for d in inputs if low in d.name.lower()] + \
            [("s", s) for s in sources if low in s.name.lower() or low in s.ref.lower()]
    if len(cands) == 1:
        k, d = cands[0]
        return _spec_from_portaudio(d) if k == "p" else _spec_from_pulse(d, pulse_pa[0])
    if not cands:
        raise CaptureError(f"no input device matches {text!r}; run `prosody devices` to list them")
    names = "; ".join(f"{d.ref} = {d.name}" for _, d in cands[:6])
    raise CaptureError(f"{text!r} matches {len(cands)} input devices ({names}); give the number or a longer name")


def _spec_from_portaudio(d: InputDevice) -> DeviceSpec:
    return DeviceSpec(label=d.name, portaudio=int(d.ref), pulse_source=None, max_channels=d.channels,
                      default_rate_hz=d.default_rate_hz or float(ANALYSIS_RATE_HZ))


def _spec_from_pulse(s: InputDevice, pulse_pa: InputDevice) -> DeviceSpec:
    return DeviceSpec(label=f"{s.ref} ({s.name})", portaudio=int(pulse_pa.ref), pulse_source=s.ref,
                      max_channels=min(s.channels or pulse_pa.channels, pulse_pa.channels),
                      default_rate_hz=s.default_rate_hz or pulse_pa.default_rate_hz or float(ANALYSIS_RATE_HZ))


# -- capture layouts ------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceInput:
    """One device of a layout: ``channels`` = channels to open; ``pick`` = for
    each speaker it feeds, the 0-based channel (``None``: mix all opened channels)."""

    spec: DeviceSpec
    channels: int
    pick: tuple[int | None, ...]


@dataclass(frozen=True)
class CaptureLayout:
    """``kind``: ``stereo`` (one device, two speakers), ``two-device``, ``mono``."""

    kind: str
    speakers: tuple[str, ...]
    devices: tuple[DeviceInput, ...]


@dataclass(frozen=True)
class CaptureBlock:
    """``samples``: float32 (n, n_speakers) at 16 kHz; ``arrival_s``: the
    ``time.monotonic()`` at which the newest device block in it arrived."""

    samples: np.ndarray
    arrival_s: float


def _put_or_count(q: "queue.Queue", item, counters: "_Counters", n: int) -> None:
    try:
        q.put_nowait(item)
    except queue.Full:
        counters.dropped_blocks += 1
        counters.dropped_samples += n


@dataclass
class _Counters:
    overruns: int = 0          # input overflow flags from the device
    dropped_blocks: int = 0    # blocks the queue had no room for (replaced by silence)
    dropped_samples: int = 0
    blocks: int = 0


class _DeviceStream:
    """One sounddevice input stream. The callback copies the block into the
    queue with its timestamps and counts status flags; nothing else."""

    def __init__(self, dev: DeviceInput, *, rate_hz: int | None, block_s: float = DEVICE_BLOCK_S):
        self.dev = dev
        self.counters = _Counters()
        self.rate_hz = self._negotiate(rate_hz)
        self.block_length = max(1, int(round(block_s * self.rate_hz)))
        self.q: queue.Queue = queue.Queue(maxsize=int(QUEUE_S / block_s))
        self.finished = threading.Event()
        self.stopping = False
        self.stream = None
        self.latency_s: float | None = None

    def _negotiate(self, rate_hz: int | None) -> int:
        sd = _sd()
        spec = self.dev.spec
        tries = [rate_hz] if rate_hz else [ANALYSIS_RATE_HZ, int(spec.default_rate_hz), 48000, 44100]
        errors = []
        for r in dict.fromkeys(tries):
            try:
                with _pulse_env(spec.pulse_source):
                    sd.check_input_settings(device=spec.portaudio, channels=self.dev.channels,
                                            samplerate=r, dtype="float32")
                return int(r)
            except Exception as exc:  # PortAudioError or ValueError
                errors.append(f"{r} Hz: {exc}")
        if rate_hz:
            raise CaptureError(f"device {spec.label} cannot record {self.dev.channels} channel(s) at {rate_hz} Hz "
                               f"({errors[0]}); its default rate is {spec.default_rate_hz:.0f} Hz: "
                               f"omit --rate-hz or use --rate-hz {spec.default_rate_hz:.0f}")
        raise CaptureError(f"device {spec.label} cannot record {self.dev.channels} channel(s) at any usual rate "
                           f"({'; '.join(errors)})")

    def _callback(self, indata, n_samples, time_info, status):
        arrival_s = time.monotonic()   # first: the block's stamp (see ClockFit)
        c = self.counters
        if status.input_overflow:
            c.overruns += 1
        c.blocks += 1
        _put_or_count(self.q, (indata.copy(), arrival_s, c.dropped_samples), c, n_samples)

    def _finished(self):
        self.finished.set()

    def start(self) -> None:
        sd = _sd()
        spec = self.dev.spec
        try:
            with _pulse_env(spec.pulse_source):
                self.stream = sd.InputStream(device=spec.portaudio, channels=self.dev.channels,
                                             samplerate=self.rate_hz, dtype="float32",
                                             blocksize=self.block_length, callback=self._callback,
                                             finished_callback=self._finished)
                self.stream.start()
        except Exception as exc:
            raise CaptureError(f"cannot open device {spec.label}: {exc}") from None
        self.latency_s = float(self.stream.latency)

    def stop(self) -> None:
        self.stopping = True
        if self.stream is not None:
            try:
                self.stream.abort()
                self.stream.close()
            except Exception:  # a lost device may refuse; nothing left to release
                pass


_ENV_LOCK = threading.Lock()


class _pulse_env:
    """Route the ALSA ``pulse`` device to one PulseAudio source while a stream
    opens (the plugin reads ``PULSE_SOURCE`` when it connects)."""

    def __init__(self, source: str | None):
        self.source = source

    def __enter__(self):
        if self.source is None:
            return self
        _ENV_LOCK.acquire()
        self._old = os.environ.get("PULSE_SOURCE")
        os.environ["PULSE_SOURCE"] = self.source
        return self

    def __exit__(self, *exc):
        if self.source is None:
            return False
        if self._old is None:
            os.environ.pop("PULSE_SOURCE", None)
        else:
            os.environ["PULSE_SOURCE"] = self._old
        _ENV_LOCK.release()
        return False


class ClockFit:
    """A device clock against the system clock, from when its blocks arrive.

    A block whose last sample is device sample ``k`` (at the nominal rate:
    ``k_s`` = k / rate_nominal seconds) arrives at system time ``t_s``::

        t_s = t0_s + (1 + slope) * k_s + lateness,      lateness >= 0

    ``t0_s`` holds the (constant) delivery latency of the device's path,
    ``slope`` its rate error against the system clock (``-100e-6``: the
    device runs 100 ppm fast), ``lateness`` the scheduling delay of this
    callback (a loaded machine, a burst after a stall): never negative, often
    tens of ms. So the clock is the *lower envelope* of the arrivals, not
    their mean: per bucket of ``BUCKET_S`` of audio the earliest arrival is
    kept, and the clock is the lower hull of those minima (``_envelope_fit``).

    The sound server hands audio over in chunks; a block ending inside a
    chunk waits for the next one. When chunk and block boundaries keep the
    same phase for seconds (seen with PulseAudio null sinks), every block of
    a bucket is late by up to one block: the envelope is known to within one
    block, hence the short blocks of the two-device layout
    (``TWO_DEVICE_BLOCK_S``). Two streams of one source share the chunks, and
    with them the phase: that case is exact.

    PortAudio's ``inputBufferAdcTime`` is not used: through ALSA's ``pulse``
    plugin (how PulseAudio and PipeWire sources are opened) the capture delay
    it is computed from starts stale at ~230-250 ms, counts down by one block
    per callback to ~0 after ~1.3 s, and differs between two streams of one
    source by a block, which put one device tens of ms off the other."""

    BUCKET_S = 1.0

    def __init__(self):
        self.n = 0
        self._t_ref: float | None = None
        self._xs: list[float] = []        # per completed bucket: k_s of its earliest block
        self._ys: list[float] = []        # ... and t_s - k_s (relative to _t_ref)
        self._cur: tuple[int, float, float] | None = None   # open bucket: (index, k_s, y)
        self.k_last_s = 0.0
        self.buckets_done = 0

    def add(self, k_s: float, t_s: float) -> None:
        """Block ending at device time ``k_s`` (nominal seconds) arrived at ``t_s``."""
        if self._t_ref is None:
            self._t_ref = t_s
        y = (t_s - self._t_ref) - k_s
        b = int(np.ceil(k_s / self.BUCKET_S)) - 1     # a block ending at 1.0 s belongs to (0, 1]
        self.n += 1
        self.k_last_s = k_s
        if self._cur is not None and b != self._cur[0]:
            self._xs.append(self._cur[1])
            self._ys.append(self._cur[2])
            self.buckets_done += 1
            self._cur = None
        if self._cur is None or y < self._cur[2]:
            self._cur = (b, k_s, y)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket minima (k_s, t_s - k_s - t_ref); the open bucket counts
        once half of it is in (a few blocks' minimum is mostly lateness)."""
        xs, ys = list(self._xs), list(self._ys)
        if self._cur is not None and (not xs or self.k_last_s - self._cur[0] * self.BUCKET_S
                                      >= 0.5 * self.BUCKET_S):
            xs.append(self._cur[1])
            ys.append(self._cur[2])
        return np.asarray(xs), np.asarray(ys)

    @property
    def t_ref_s(self) -> float:
        return self._t_ref or 0.0


def _envelope_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """The line under all bucket minima that lies closest to them on average.

    Arrivals are never early, only late (scheduling, and chunks handed over
    with a phase that walks across a block for seconds: a sawtooth up to one
    block high), so the clock is the *lower* hull of the points, not their
    mean: the hull edge above the middle of the span. Any number of late
    buckets moves it not at all. Returns (a, b, se_b): ``y = a + b x`` and
    the slope's uncertainty, from how high the lowest quarter of points sits
    above the line (at least ``FIT_FLOOR_S``) over the span.
    """
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    hull: list[int] = []
    for i in range(len(x)):   # lower convex hull (monotone chain)
        while len(hull) >= 2:
            i0, i1 = hull[-2], hull[-1]
            if (x[i1] - x[i0]) * (y[i] - y[i0]) - (y[i1] - y[i0]) * (x[i] - x[i0]) <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    xm = float(np.mean(x))
    b = 0.0
    for i0, i1 in zip(hull[:-1], hull[1:]):
        if x[i0] <= xm <= x[i1] and x[i1] > x[i0]:
            b = float((y[i1] - y[i0]) / (x[i1] - x[i0]))
            break
    a = float(np.min(y - b * x))
    r = y - (a + b * x)
    span = float(x[-1] - x[0])
    se = (float(np.quantile(r, 0.25)) + FIT_FLOOR_S) / span if span > 0 else float("inf")
    return a, b, se


class Aligner:
    """Two mono 16 kHz streams -> one (n, 2) timeline.

    Each stream's clock is fitted from its block arrivals (``ClockFit``: the
    lower envelope of arrival time against sample position). Output sample
    ``i`` holds A's sample ``i`` and B read at the same instant::

        pos_B(i) = (t0_A - t0_B) * rate / (1 + slope_B)  +  (i - pad_A) * ratio,
        ratio = (1 + slope_A) / (1 + slope_B)

    interpolated linearly between B's samples. The offset is first set after
    ``ALIGN_AFTER_S`` of both streams, from the earliest arrivals (slopes 0),
    and refined every second of audio from all buckets so far. Once
    ``DRIFT_MIN_SPAN_S`` is in, the slopes are fitted; when the two slopes
    differ by less than 3 times their uncertainty (at least
    ``SAME_CLOCK_PPM``) the devices are taken to share a clock and one
    common slope is used (ratio exactly 1), so noise is never "corrected".
    ``ratio`` is applied to the whole position, which corrects the drift
    accumulated before it was known too. The timeline starts with whichever
    device started first (the other is silent before its first sample)::

        A      |a a a a a a a a|
        B   |b b b b b b b b b b b|     B earlier: A padded with pad_A zeros
    """

    def __init__(self, *, rate_hz: int = ANALYSIS_RATE_HZ, correct_drift: bool = True):
        self.rate_hz = rate_hz
        self.correct_drift = correct_drift
        self.fits = [ClockFit(), ClockFit()]
        self.n_in = [0, 0]
        self._buf = [np.zeros(0, np.float32), np.zeros(0, np.float32)]
        self._a_next = 0           # output index of A's buffer[0]
        self._b_base = 0           # B sample index of B's buffer[0]
        self._c = 0.0              # B position of A's first sample
        self._pad_a = 0
        self.ratio = 1.0
        self.started = False
        self._fitted_at = -1       # completed buckets (both streams) at the last refit
        self.start_offset_s: float | None = None  # B's first sample minus A's, seconds
        self.drift_ppm: float | None = None       # measured (B clock vs A clock)
        self.drift_se_ppm: float | None = None    # its standard error
        self.same_clock: bool | None = None       # drift within its noise: one clock, not corrected
        self.warnings: list[str] = []

    def stamp(self, i: int, t_s: float, k_s: float) -> None:
        """Stream ``i`` (0 = A, 1 = B): a device block whose last sample is
        at ``k_s`` seconds of device audio (nominal rate) was delivered at
        system time ``t_s`` (``time.monotonic()`` in the audio callback)."""
        self.fits[i].add(k_s, t_s)

    def push(self, i: int, x: np.ndarray, t_s: float | None = None) -> None:
        """Stream ``i``: mono 16 kHz samples ``x``; with ``t_s``, they are one
        device block delivered at ``t_s`` (else stamped by ``stamp``)."""
        self.n_in[i] += len(x)
        if t_s is not None:
            self.fits[i].add(self.n_in[i] / self.rate_hz, t_s)
        self._buf[i] = np.concatenate([self._buf[i], x.astype(np.float32, copy=False)])

    @property
    def pad_a_samples(self) -> int:
        """Output samples before A's first sample (B started first), fixed at the start."""
        return self._pad_a

    def _refit(self) -> None:
        """Offset and ratio from both clock fits (every completed bucket)."""
        done = min(self.fits[0].buckets_done, self.fits[1].buckets_done)
        # every second at first; every ~1/60 of the span later (the fit of an hour costs ~8 ms)
        if self.started and done - self._fitted_at < max(1, done // 60):
            return
        self._fitted_at = done
        (xa, ya), (xb, yb) = self.fits[0].points(), self.fits[1].points()
        span = min(self.fits[0].k_last_s, self.fits[1].k_last_s)
        slope_a = slope_b = 0.0
        if span < DRIFT_MIN_SPAN_S or min(len(xa), len(xb)) < 3:
            ia, ib = float(np.min(ya)), float(np.min(yb))   # the earliest arrivals (never early)
        else:
            fa, fb = _envelope_fit(xa, ya), _envelope_fit(xb, yb)
            se = float(np.hypot(fa[2], fb[2]))
            ppm = ((1 + fa[1]) / (1 + fb[1]) - 1.0) * 1e6
            self.drift_ppm, self.drift_se_ppm = float(ppm), se * 1e6
            self.same_clock = bool(abs(ppm) <= max(3.0 * se * 1e6, SAME_CLOCK_PPM))
            if abs(ppm) > DRIFT_MAX_PPM and not any(w.startswith("clock drift") for w in self.warnings):
                self.warnings.append(f"clock drift between the devices measured {ppm:+.0f} ppm "
                                     f"(over {DRIFT_MAX_PPM:.0f}): not corrected")
            if not self.same_clock and abs(ppm) <= DRIFT_MAX_PPM:
                slope_a, slope_b = fa[1], fb[1]
                ia, ib = fa[0], fb[0]
            else:  # one common slope: ratio 1, each stream's line under all its points
                slope_a = slope_b = 0.5 * (fa[1] + fb[1])
                ia = float(np.min(ya - slope_a * xa))
                ib = float(np.min(yb - slope_b * xb))
        if self.started and not self.correct_drift:
            return  # measured and reported only: offset and ratio stay as first set
        # time of each stream's sample 0 on the system clock (the block-end stamps
        # put sample n at k_s = n / rate, so sample 0 sits at the intercept)
        t0_a = self.fits[0].t_ref_s + ia
        t0_b = self.fits[1].t_ref_s + ib
        self.start_offset_s = t0_b - t0_a
        self.ratio = (1.0 + slope_a) / (1.0 + slope_b)
        self._c = -self.start_offset_s * self.rate_hz / (1.0 + slope_b)

    def _positions(self, i0: int, m: int) -> np.ndarray:
        return self._c + (np.arange(i0, i0 + m, dtype=np.float64) - self._pad_a) * self.ratio

    def pull(self) -> np.ndarray:
        """Aligned (n, 2) float32 samples available so far (may be empty)."""
        if not self.started:
            if min(self.n_in) < ALIGN_AFTER_S * self.rate_hz:
                return np.zeros((0, 2), np.float32)
            self._refit()
            if self._c > 0:  # B started first: silence in A before its first sample
                self._pad_a = int(np.floor(self._c))
                self._buf[0] = np.concatenate([np.zeros(self._pad_a, np.float32), self._buf[0]])
            self.started = True
        self._refit()
        a, b = self._buf
        b_end = self._b_base + len(b) - 2          # last B position that can be interpolated
        i0 = self._a_next
        i_max = int(np.floor((b_end - self._c) / self.ratio + self._pad_a)) if len(b) >= 2 else i0 - 1
        m = min(len(a), i_max - i0 + 1)
        if m <= 0:
            return np.zeros((0, 2), np.float32)
        pos = self._positions(i0, m) - self._b_base
        out = np.zeros((m, 2), np.float32)
        out[:, 0] = a[:m]
        ok = pos >= 0                              # before B's first sample: silence
        k = np.floor(pos[ok]).astype(np.int64)
        frac = (pos[ok] - k).astype(np.float32)
        out[ok, 1] = b[k] * (1.0 - frac) + b[k + 1] * frac
        self._buf[0] = a[m:]
        self._a_next += m
        nxt = self._positions(self._a_next, 1)[0] - self._b_base
        drop = max(0, min(len(b), int(np.floor(nxt)) - B_HISTORY))   # history for refits moving B back
        self._buf[1] = b[drop:]
        self._b_base += drop
        return out

    def flush(self) -> np.ndarray:
        """Whatever is left: A's rest, with B where it reaches (else silence)."""
        out = self.pull() if self.started else np.zeros((0, 2), np.float32)
        a, b = self._buf
        rest = np.zeros((len(a), 2), np.float32)
        rest[:, 0] = a
        if len(a) and len(b):
            pos = self._positions(self._a_next, len(a)) - self._b_base
            ok = (pos >= 0) & (pos <= len(b) - 1)
            rest[ok, 1] = np.interp(pos[ok], np.arange(len(b)), b)
        self._buf = [np.zeros(0, np.float32), np.zeros(0, np.float32)]
        self._a_next += len(a)
        return np.concatenate([out, rest])


class LiveSource:
    """Base of live sources: ``start()``, ``read(timeout_s)`` -> CaptureBlock
    or None, ``exhausted`` (replay ended), ``health()``, ``stop()``."""

    speakers: tuple[str, ...]
    exhausted: bool = False

    def start(self) -> None: ...
    def read(self, timeout_s: float) -> CaptureBlock | None: ...
    def stop(self) -> None: ...
    def health(self) -> dict: ...


class DeviceSource(LiveSource):
    """Capture from one (stereo or mono) or two devices; see ``CaptureLayout``."""

    def __init__(self, layout: CaptureLayout, *, rate_hz: int | None = None, correct_drift: bool = True):
        if layout.kind not in ("stereo", "mono", "two-device"):
            raise InputError(f"unknown capture layout {layout.kind!r}")
        self.layout = layout
        self.speakers = layout.speakers
        block_s = TWO_DEVICE_BLOCK_S if len(layout.devices) == 2 else DEVICE_BLOCK_S
        self.streams = [_DeviceStream(d, rate_hz=rate_hz, block_s=block_s) for d in layout.devices]
        self.resamplers = [Resampler(s.rate_hz, s.dev.channels) for s in self.streams]
        self.aligner = Aligner(correct_drift=correct_drift) if len(self.streams) == 2 else None
        self._seen_lost = [0] * len(self.streams)
        self._last_item_s: list[float | None] = [None] * len(self.streams)
        self._started_s = 0.0
        self._k_dev = [0] * len(self.streams)   # device samples so far, lost blocks included

    def start(self) -> None:
        self._started_s = time.monotonic()
        started = []
        try:
            for s in self.streams:
                s.start()
                started.append(s)
        except BaseException:
            for s in started:
                s.stop()
            raise

    def stop(self) -> None:
        for s in self.streams:
            s.stop()

    def _check_alive(self) -> None:
        now = time.monotonic()
        for i, s in enumerate(self.streams):
            if s.finished.is_set() and not s.stopping and s.q.empty():
                raise DeviceLost(f"device {s.dev.spec.label} stopped delivering audio (disconnected or its "
                                 "sound server went away)")
            last = self._last_item_s[i]
            if last is None and now - self._started_s > FIRST_BLOCK_TIMEOUT_S:
                raise DeviceLost(f"device {s.dev.spec.label} delivered no audio within {FIRST_BLOCK_TIMEOUT_S:.0f} s")
            if last is not None and now - last > STALL_TIMEOUT_S:
                raise DeviceLost(f"device {s.dev.spec.label} delivered no audio for {STALL_TIMEOUT_S:.0f} s")

    def _take_raw(self, i: int, timeout_s: float):
        """One queued device block of stream ``i`` as (raw samples (n, channels),
        lost blocks before it filled with silence; device time of its last
        sample in seconds at the nominal rate; arrival time), or None."""
        s = self.streams[i]
        try:
            x, mono, lost_before = s.q.get(timeout=timeout_s) if timeout_s > 0 else s.q.get_nowait()
        except queue.Empty:
            return None
        self._last_item_s[i] = time.monotonic()
        if lost_before > self._seen_lost[i]:  # blocks the queue had no room for: silence, timeline kept
            x = np.concatenate([np.zeros((lost_before - self._seen_lost[i], x.shape[1]), np.float32), x])
            self._seen_lost[i] = lost_before
        self._k_dev[i] += len(x)
        return x, self._k_dev[i] / s.rate_hz, mono

    def _take(self, i: int, timeout_s: float):
        """One queued device block of stream ``i`` as (mono-or-picked 16 kHz
        samples (n, k), device time of its last sample, arrival time), or None."""
        got = self._take_raw(i, timeout_s)
        if got is None:
            return None
        raw, k_s, mono = got
        return self._pick(i, self.resamplers[i].push(raw)), k_s, mono

    def _drain_into_aligner(self, i: int) -> float | None:
        """Every queued block of stream ``i`` into the aligner: each block's
        stamp, then their samples at once. Returns the latest arrival, or None."""
        raws, arrival = [], None
        while True:
            got = self._take_raw(i, 0)
            if got is None:
                break
            raw, k_s, arrival = got
            self.aligner.stamp(i, arrival, k_s)
            raws.append(raw)
        if raws:
            y = self._pick(i, self.resamplers[i].push(np.concatenate(raws) if len(raws) > 1 else raws[0]))
            self.aligner.push(i, y[:, 0])
        return arrival

    def _pick(self, i: int, y: np.ndarray) -> np.ndarray:
        cols = []
        for c in self.streams[i].dev.pick:
            cols.append(y.mean(axis=1) if c is None else y[:, c])
        return np.stack(cols, axis=1).astype(np.float32, copy=False) if cols else y

    def read(self, timeout_s: float) -> CaptureBlock | None:
        self._check_alive()
        if self.aligner is None:
            got = self._take(0, timeout_s)
            if got is None:
                return None
            y, _, arrival = got
            more = [y]
            while True:  # drain what is already queued
                g = self._take(0, 0)
                if g is None:
                    break
                more.append(g[0])
                arrival = g[2]
            return CaptureBlock(np.ascontiguousarray(np.concatenate(more)), arrival)
        # two devices: short blocks (TWO_DEVICE_BLOCK_S) for their stamps; what
        # is aligned goes out once a DEVICE_BLOCK_S is in, as with one device
        arrival, outs, n_out = None, [], 0
        deadline = time.monotonic() + timeout_s
        while True:
            got_any = False
            for i in (0, 1):
                arr = self._drain_into_aligner(i)
                if arr is not None:
                    got_any = True
                    arrival = arr if arrival is None else max(arrival, arr)
            out = self.aligner.pull()
            if len(out):
                outs.append(out)
                n_out += len(out)
            if n_out >= DEVICE_BLOCK_S * ANALYSIS_RATE_HZ or (outs and time.monotonic() >= deadline):
                return CaptureBlock(np.concatenate(outs) if len(outs) > 1 else outs[0],
                                    arrival if arrival is not None else time.monotonic())
            if time.monotonic() >= deadline:
                return None
            if not got_any:
                time.sleep(min(0.005, max(0.0, deadline - time.monotonic())))
                self._check_alive()

    def health(self) -> dict:
        c = [s.counters for s in self.streams]
        h = {
            "layout": self.layout.kind,
            "devices": [s.dev.spec.label for s in self.streams],
            "sample_rates_hz": [s.rate_hz for s in self.streams],
            "overruns": sum(x.overruns for x in c),
            "dropped_blocks": sum(x.dropped_blocks for x in c),
            "dropped_samples": sum(x.dropped_samples for x in c),
            "queue_fill": max((s.q.qsize() / s.q.maxsize for s in self.streams), default=0.0),
            "device_latency_s": [s.latency_s for s in self.streams],
            "drift_ppm": None, "drift_se_ppm": None, "same_clock": None, "start_offset_s": None,
            "drift_corrected": False,
            "warnings": [],
        }
        if self.aligner is not None:
            h["drift_ppm"] = self.aligner.drift_ppm
            h["start_offset_s"] = self.aligner.start_offset_s
            h["drift_corrected"] = self.aligner.ratio != 1.0
            h["drift_se_ppm"] = self.aligner.drift_se_ppm
            h["same_clock"] = self.aligner.same_clock
            h["warnings"] = list(self.aligner.warnings)
        return h

    def tail(self) -> CaptureBlock | None:
        """After ``stop()``: samples still buffered (two devices: the aligner's rest)."""
        parts = []
        if self.aligner is None:
            while True:
                g = self._take(0, 0)
                if g is None:
                    break
                parts.append(g[0])
        else:
            for i in (0, 1):
                self._drain_into_aligner(i)
            if self.aligner.started:
                parts.append(self.aligner.flush())
        if not parts:
            return None
        x = np.concatenate(parts)
        return CaptureBlock(x, time.monotonic()) if len(x) else None


class ReplaySource(LiveSource):
    """Feed a recording through the capture path: a feeder thread stands in
    for the device callback and queues blocks of ``DEVICE_BLOCK_S`` in real
    time (``speed`` times faster), or as fast as analysis takes them
    (``speed=None``, "max": the queue then blocks instead of dropping)."""

    def __init__(self, paths: list[str], layout: Layout, *, speed: float | None = 1.0, offset_s: float = 0.0):
        if speed is not None and not speed > 0:
            raise InputError(f"--speed {speed}: must be a positive number or max")
        self.source = FileSource(paths, layout, offset_s=offset_s, block_s=DEVICE_BLOCK_S)
        self.paths = list(paths)
        self.speakers = layout.speakers
        self.speed = speed
        self.counters = _Counters()
        self.q: queue.Queue = queue.Queue(maxsize=int(QUEUE_S / DEVICE_BLOCK_S))
        self._stop = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._feed, name="prosody-replay", daemon=True)
        self._seen_lost = 0

    @property
    def duration_s(self) -> float | None:
        return self.source.duration_s

    @property
    def warnings(self) -> list[str]:
        return self.source.warnings

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _feed(self) -> None:
        n_sent = 0
        t_start = time.monotonic()
        step = max(1, int(DEVICE_BLOCK_S * ANALYSIS_RATE_HZ))
        try:
            for big in self.source:
                for a in range(0, len(big), step):
                    if self._stop.is_set():
                        return
                    x = big[a:a + step]
                    if self.speed is not None:
                        due = t_start + (n_sent + len(x)) / ANALYSIS_RATE_HZ / self.speed
                        wait = due - time.monotonic()
                        if wait > 0:
                            self._stop.wait(wait)
                        self.counters.blocks += 1
                        _put_or_count(self.q, (x, time.monotonic(), self.counters.dropped_samples),
                                      self.counters, len(x))
                    else:
                        self.counters.blocks += 1
                        while not self._stop.is_set():
                            try:
                                self.q.put((x, time.monotonic(), 0), timeout=0.1)
                                break
                            except queue.Full:
                                continue
                    n_sent += len(x)
        except BaseException as exc:  # decoding error: reported by read()
            self._error = exc
        finally:
            self._done.set()

    @property
    def exhausted(self) -> bool:
        return self._done.is_set() and self.q.empty()

    def read(self, timeout_s: float) -> CaptureBlock | None:
        parts, arrival = [], None
        try:
            first = self.q.get(timeout=timeout_s) if timeout_s > 0 else self.q.get_nowait()
        except queue.Empty:
            if self._error is not None and self.q.empty():
                err, self._error = self._error, None
                raise err
            return None
        items = [first]
        while True:
            try:
                items.append(self.q.get_nowait())
            except queue.Empty:
                break
        for x, arr, lost_before in items:
            if lost_before > self._seen_lost:
                parts.append(np.zeros((lost_before - self._seen_lost, x.shape[1]), np.float32))
                self._seen_lost = lost_before
            parts.append(x)
            arrival = arr
        return CaptureBlock(np.ascontiguousarray(np.concatenate(parts), dtype=np.float32), arrival)

    def health(self) -> dict:
        return {
            "layout": "replay", "devices": [f"file:{p}" for p in self.paths],
            "sample_rates_hz": [f.sample_rate for f in self.source.files],
            "speed": "max" if self.speed is None else self.speed,
            "overruns": self.counters.overruns, "dropped_blocks": self.counters.dropped_blocks,
            "dropped_samples": self.counters.dropped_samples,
            "queue_fill": self.q.qsize() / self.q.maxsize, "device_latency_s": [],
            "drift_ppm": None, "drift_se_ppm": None, "same_clock": None, "start_offset_s": None,
            "drift_corrected": False, "warnings": [],
        }

    def tail(self) -> CaptureBlock | None:
        return None
