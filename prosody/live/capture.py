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

import itertools
import os
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..errors import CaptureError, DeviceChoiceError, DeviceLost, InputError
from ..fileio import input_change, input_state
from ..engine.sources import (CLIP_MIN_SAMPLES, CLIP_MIN_SHARE, FileSource, Layout, Resampler,
                              flat_at_full_scale)
from ..timebase import GRID
from .clock import Aligner
from .devices import DeviceSpec, let_go_within, load_sounddevice

ANALYSIS_RATE_HZ = GRID.sample_rate
QUEUE_S = 10.0                 # audio the replay's queue (read ahead of the analysis) can hold
# ... and a device's, between its callback and the analysis: after a stop of the process (Ctrl-Z, SIGSTOP) the sound
# server delivers what it held at once; 10 s replaced 5.9 s of a 25 s stop's with silence (dropped blocks), 60 s
# none (hostile sweep 11). At most 23 MB (48 kHz stereo float32); the view's delay says how far behind it runs
DEVICE_QUEUE_S = 60.0
DEVICE_BLOCK_S = 0.02          # requested callback block length
TWO_DEVICE_BLOCK_S = 0.005     # ... with two devices: a block's arrival places it to within one block (ClockFit)
FIRST_BLOCK_TIMEOUT_S = 10.0   # the first callback of a PulseAudio stream can take 1-2 s
MIN_REPLAY_SPEED = 0.01       # --speed: a replay at most 100 times slower than real time (a wait stays finite)
SOURCE_WATCH_S = 1.0           # how often a PulseAudio source captured by name is looked for (``_SourceWatch``)
STALL_TIMEOUT_S = 5.0          # no audio for this long after the first block: the device is lost
READER_AWAY_S = 1.0            # the reader checks every 0.05 s: a longer gap is this process stopped (Ctrl-Z) or busy


CLIP_BLOCK_MIN_SAMPLES = 4  # a device block with this many samples flat at full scale on a channel clips now
CLIP_CUE_HOLD_S = 3.0       # the view says "input clips" this long after the last such block


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
        self.q: queue.Queue = queue.Queue(maxsize=int(DEVICE_QUEUE_S / block_s))
        self.finished = threading.Event()
        self.stopping = False
        self.stream = None
        self.latency_s: float | None = None

    def _negotiate(self, rate_hz: int | None) -> int:
        sd = load_sounddevice()
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
            raise DeviceChoiceError(f"--rate-hz {rate_hz}: device {spec.label} cannot record "
                                    f"{self.dev.channels} channel(s) at {rate_hz} Hz ({errors[0]}); its default rate "
                                    f"is {spec.default_rate_hz:.0f} Hz: omit --rate-hz or use --rate-hz "
                                    f"{spec.default_rate_hz:.0f}")
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
        sd = load_sounddevice()
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
        """The stream aborted and closed (a lost device may refuse: nothing left to release), within
        ``SOUND_SERVER_WAIT_S``: on a sound server frozen mid-session the abort waited for ever, and the session,
        said lost, was never saved (hostile sweep 29)."""
        self.stopping = True
        stream = self.stream
        if stream is not None:
            let_go_within(lambda: (stream.abort(), stream.close()))


class _SourceWatch:
    """The PulseAudio sources captured by name, looked for every ``SOURCE_WATCH_S`` (``pactl list short
    sources``, on a thread of its own). A source that went away (a USB microphone unplugged, its module
    unloaded) does not end the stream: the sound server moves it to another source, and the capture went on
    from that one without a word, the microphone's session continued with another device's sound until
    stopped by hand (hostile sweep 16: a null sink's module unloaded, 60 s more captured from another
    monitor). ``gone``: the first source found missing (None: all there, or the server not asked)."""

    def __init__(self, names: list[str]):
        self.names = names
        self.gone: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prosody-source-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import subprocess
        while not self._stop.wait(SOURCE_WATCH_S):
            try:
                res = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True,
                                     timeout=5)
            except (OSError, subprocess.SubprocessError):
                continue  # no answer: the stream itself says when the server is gone
            if res.returncode != 0:
                continue
            there = {line.split("\t")[1] for line in res.stdout.splitlines() if line.count("\t") >= 1}
            missing = [n for n in self.names if n not in there]
            if there and missing:
                self.gone = missing[0]
                return


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


class LiveSource:
    """Base of live sources: ``start()``, ``read(timeout_s)`` -> CaptureBlock
    or None, ``exhausted`` (replay ended), ``health()``, ``stop()``."""

    speakers: tuple[str, ...]
    exhausted: bool = False

    def start(self) -> None: ...
    def read(self, timeout_s: float) -> CaptureBlock | None: ...
    def stop(self) -> None: ...
    def health(self) -> dict: ...

    def channel_numbers(self) -> dict[str, int]:
        """Each speaker's channel (1-based) as a file's analysis names it, where one is ("channel 2" of a stereo
        input, of the second of two files); none here (two devices: each is its speaker's own input)."""
        return {}


class DeviceSource(LiveSource):
    """Capture from one (stereo or mono) or two devices; see ``CaptureLayout``."""

    _watch: _SourceWatch | None = None  # the PulseAudio sources captured by name (none: no such source)

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
        self._last_check_s: float | None = None  # when _check_alive last ran
        self._k_dev = [0] * len(self.streams)   # device samples so far, lost blocks included
        # samples each opened channel held flat at full scale (the device's own samples), of how many
        self._clipped = [np.zeros(s.dev.channels, np.int64) for s in self.streams]
        self._clip_total = [0] * len(self.streams)
        self._clip_last_s: float | None = None  # when a block last clipped (the view's cue)
        named = [s.dev.spec.pulse_source for s in self.streams if s.dev.spec.pulse_source]
        self._watch = _SourceWatch(named) if named else None

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
        if self._watch is not None:
            self._watch.start()

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.stop()
        for s in self.streams:
            s.stop()

    def _check_alive(self) -> None:
        now = time.monotonic()
        away = 0.0 if self._last_check_s is None else now - self._last_check_s
        self._last_check_s = now
        if away > READER_AWAY_S:
            # the reader did not run for a while: this process was stopped (Ctrl-Z then `fg`, SIGSTOP) or busy
            # analysing a backlog. What the device sent meanwhile waits in the queue or the sound server, and a
            # stall is counted from now: a Ctrl-Z of over 5 s ended the capture on `fg` as "device lost", the
            # buffered audio and all that followed unrecorded (hostile sweep 11)
            self._last_item_s = [None if t is None else t + away for t in self._last_item_s]
            self._started_s += away
        gone = self._watch.gone if self._watch is not None else None
        if gone is not None:
            s = next(s for s in self.streams if s.dev.spec.pulse_source == gone)
            raise DeviceLost(f"device {s.dev.spec.label} went away (the sound server moved its stream to another "
                             "source, whose sound is not this session's)")
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
        self._count_clipping(i, x)
        if lost_before > self._seen_lost[i]:  # blocks the queue had no room for: silence, timeline kept
            x = np.concatenate([np.zeros((lost_before - self._seen_lost[i], x.shape[1]), np.float32), x])
            self._seen_lost[i] = lost_before
        self._k_dev[i] += len(x)
        return x, self._k_dev[i] / s.rate_hz, mono

    def _count_clipping(self, i: int, x: np.ndarray) -> None:
        """Count the samples of device block ``x`` (n, channels) held flat at full scale
        (``engine.sources.flat_at_full_scale``: the input gain is too high), per channel."""
        k = np.array([flat_at_full_scale(x[:, c]) for c in range(x.shape[1])], np.int64)
        self._clipped[i] += k
        self._clip_total[i] += len(x)
        if int(k.max(initial=0)) >= CLIP_BLOCK_MIN_SAMPLES:
            self._clip_last_s = self._last_item_s[i]

    def clipping(self) -> tuple[list[dict], list[str]]:
        """(each device channel that clips: device, channel (1-based), share and number of its
        samples so far; the warnings, as ``FileSource`` words them for a file)."""
        found, words = [], []
        for i, s in enumerate(self.streams):
            total = self._clip_total[i]
            for c, k in enumerate(self._clipped[i]):
                if total and k >= max(CLIP_MIN_SAMPLES, CLIP_MIN_SHARE * total):
                    share = float(k) / total
                    found.append({"device": s.dev.spec.label, "channel": c + 1, "share": round(share, 4),
                                  "samples": int(k)})
                    where = s.dev.spec.label if s.dev.channels == 1 else f"{s.dev.spec.label} channel {c + 1}"
                    words.append(f"input {where} clips: {100.0 * share:.1f} % of its samples are held at full "
                                 "scale (the input gain was too high); where it clips, loudness, pitch and voice "
                                 "quality describe the clipping, not the voice")
        return found, words

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

    def channel_numbers(self) -> dict[str, int]:
        """One device of two channels or more: the channel each speaker is read from (``--channels``; ``--mono``:
        its first)."""
        dev = self.layout.devices
        if len(dev) != 1 or dev[0].channels < 2:
            return {}
        return {s: p + 1 for s, p in zip(self.speakers, dev[0].pick) if p is not None}

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
        clips, clip_words = self.clipping()
        h["clipping"] = clips
        h["clipping_now"] = (self._clip_last_s is not None
                             and time.monotonic() - self._clip_last_s <= CLIP_CUE_HOLD_S)
        if self.aligner is not None:
            h["drift_ppm"] = self.aligner.drift_ppm
            h["start_offset_s"] = self.aligner.start_offset_s
            h["drift_corrected"] = self.aligner.ratio != 1.0
            h["drift_se_ppm"] = self.aligner.drift_se_ppm
            h["same_clock"] = self.aligner.same_clock
            h["warnings"] = list(self.aligner.warnings)
        h["warnings"] = h["warnings"] + clip_words
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
        if speed is not None and not speed >= MIN_REPLAY_SPEED:
            raise InputError(f"--speed {speed}: must be {MIN_REPLAY_SPEED} (100 times slower than real time) "
                             "or more, or max")
        # each file as it was before it was opened: one replaced, cut short or written to while it was
        # replayed is said (input_changes), as analyze says it (hostile sweep 12)
        self._states = [input_state(p) for p in paths]
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
        # each file's own warnings known before capture (in the session's warnings from its start)
        self._known = [len(f.warnings) for f in self.source.files]

    def found_while_read(self) -> list[str]:
        """Each file's own warnings found only as it was read (a file cut short is found so once read to the
        break), for the view to say when they come: they were in the saved session's warnings alone (hostile
        sweep 33). Not the figures of what was read so far (a channel that clips, its share changing at each
        block: said once a line, they would fill the terminal)."""
        return [w for f, known in zip(self.source.files, self._known) for w in f.warnings[known:]]

    @property
    def duration_s(self) -> float | None:
        return self.source.duration_s

    @property
    def warnings(self) -> list[str]:
        return self.source.warnings

    def start(self) -> None:
        """The first block is decoded here, on the caller's thread: a file of which nothing decodes
        is refused as ``analyze`` refuses it (one line), not captured as an empty session."""
        self._blocks = iter(self.source)
        self._first = next(self._blocks, None)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _feed(self) -> None:
        n_sent = 0
        t_start = time.monotonic()
        step = max(1, int(DEVICE_BLOCK_S * ANALYSIS_RATE_HZ))
        try:
            for big in itertools.chain([] if self._first is None else [self._first], self._blocks):
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

    def channel_numbers(self) -> dict[str, int]:
        """One file of two channels or more: the channel each speaker is read from (``--channels``; one speaker
        too: "the recording" was said of a silent channel 2 read alone); two: which file (as ``prosody analyze``
        of the two names them, channel 1 and 2); a mono file: none (its one channel is the recording)."""
        if len(self.paths) == 1 and self.source.files[0].channels < 2:
            return {}
        picks = self.source.layout.picks
        return {s: (f if len(self.paths) > 1 else c) + 1 for s, (f, c) in zip(self.speakers, picks)}

    def input_changes(self) -> list[tuple[str, str]]:
        """(kind, why) of each file changed since it was opened (``fileio.input_change``), once the
        replay has stopped reading (before that: none)."""
        if not self._done.is_set():
            return []
        return [c for p, st in zip(self.paths, self._states) if (c := input_change(p, st, doing="replayed"))]

    def health(self) -> dict:
        changed = [why + ("; replay it again once nothing writes to it" if kind != "changed" else
                          ": the figures are of what was read; replay it again once the recording is finished")
                   for kind, why in self.input_changes()]
        return {
            "layout": "replay", "devices": [f"file:{p}" for p in self.paths],
            "sample_rates_hz": [f.sample_rate for f in self.source.files],
            "speed": "max" if self.speed is None else self.speed,
            "overruns": self.counters.overruns, "dropped_blocks": self.counters.dropped_blocks,
            "dropped_samples": self.counters.dropped_samples,
            "queue_fill": self.q.qsize() / self.q.maxsize, "device_latency_s": [],
            "drift_ppm": None, "drift_se_ppm": None, "same_clock": None, "start_offset_s": None,
            # truncated, clips, ...: as analyze; and a file changed while it was replayed
            "drift_corrected": False, "warnings": list(self.source.warnings) + changed,
        }

    def tail(self) -> CaptureBlock | None:
        return None
