"""The live session runner: a live source -> the analysis pipeline -> a state
the view can show, and a session saved safely whatever happens.

Threads::

    device callback / replay feeder --queue--> analysis thread ----> LiveState (under a lock)
                                                 |  Pipeline.push       ^
                                                 |  SessionBuilder.add  |  snapshot() from the UI thread
                                                 +-> autosave (writer thread, atomic, every <= 30 s)
                                                 +-> final save on quit / duration / end of input /
                                                     SIGTERM / Ctrl-C / device loss / analysis crash

Two kinds of numbers reach the state, and the view keeps them apart:

* *provisional*: the level of the last 100 ms per channel, per device block
  (a few ms after the sound arrives), and from each pipeline push (every
  0.1 s) the pipeline's provisional output: the raw speech decision of the
  latest frames ("who is speaking now") and the pitch tracker's best
  candidate per frame before its path decision ("pitch now");
* *final*, from the pipeline (speech decisions ~0.7 s behind, the smoother's
  declared latency): talk share, gaps, turns, pitch, rolling measures. These
  are what is saved.

Saved session: ``PATH.json`` (the ``prosody.session`` document of ``Session.to_json_dict``
plus ``bookmarks``, ``capture`` and ``live``) and ``PATH.frames.npz`` beside it
(per-frame columns in the frames file layout of ``prosody.frames``), both owner-only, each replaced
atomically (write to a temporary file, fsync, rename).
"""
from __future__ import annotations

import bisect
import dataclasses
import datetime as _dt
import json
import os
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CaptureError, DeviceLost, error_text
from .capture import CaptureBlock, LiveSource
from .layout_watch import FOUND_LIVE
from ..config import AnalysisConfig
from ..fileio import (check_writable_folder, file_identity, file_sha256, is_disk_full, is_past_size_limit,
                      make_private_dirs, rescue_folders, rescue_folder_writable, sweep_staged, write_claimed,
                      write_error_text, write_private, write_rescue, HASH_CHUNK_BYTES)
from ..typed_text import json_text
from ..formats.schema import MAX_TEXT_CHARS
from ..frames import frames_to_npz_bytes, read_frames_npz
from ..errors import InputError
from ..engine.pipeline import Pipeline, Update
from ..measures import Baseline, MeasuresConfig, RollingWindow
from ..session import Session, SessionBuilder, new_pipeline
from ..analysis import DEFAULT_SPEAKERS
from ..timebase import GRID, stopwatch_text
from ..engine.turns import overlapping_starts
from ..types import FRAME_COLUMNS, Segment, shows_nothing

AUTOSAVE_S = 30.0
MESSAGE_S = 4.0                # a message (bookmark saved, paused) shows this long
MAX_AUTOSAVE_S = 30.0          # the bound: a power cut loses at most this much
PUSH_S = 0.1                   # audio gathered before one Pipeline.push (per-push overhead dominates below)
TRAIL_S = 30.0                 # pitch trail shown by the view
LEVEL_WINDOW_S = 0.1           # provisional level: RMS of the last 100 ms
FLOOR_WINDOW_S = 8.0           # provisional noise floor: 10th percentile of 100 ms levels over 8 s
NOW_SPEECH_FRAMES = 5          # "speaking now": any raw speech frame in the latest 50 ms
NOW_F0_FRAMES = 10             # "pitch now": the latest voiced provisional frame within 100 ms
LAST_GAPS = 6
DEFAULT_SPEAKER = DEFAULT_SPEAKERS[0]   # one shared device's one speaker, as --mono names it
DELAY_HISTORY = 4000


@dataclass(frozen=True)
class Bookmark:
    time_s: float    # position on the session timeline (audio captured so far)
    note: str = ""


@dataclass(frozen=True)
class SpeakerNow:
    """Provisional: the level of the latest device block, and the pipeline's
    provisional output (``Update.provisional``) of the latest push: the raw
    speech decision (webrtcvad and level gate, cross-talk removed, before
    smoothing) and each frame's best pitch candidate. Not the final decisions."""

    name: str
    level_db: float
    floor_db: float
    speaking: bool
    f0_hz: float | None = None


@dataclass(frozen=True)
class SpeakerFinal:
    """From final pipeline output."""

    name: str
    speech_s: float
    talk_share: float | None
    f0_ref_hz: float | None           # running median of voiced speech F0
    rate_syl_s: float | None          # syllable nuclei per speech second, last TRAIL_S
    turns: int | None
    overlaps: int | None              # own segments starting while the other speaks (as offline)
    interruptions: int | None
    backchannels: int | None
    # tried to talk over (failed interruptions): the overlaps cue counts them with the interruptions, and the
    # view showed only the interruptions, "talked over 0" under "you talked over the client, or tried to,
    # 3 times" (hostile sweep 20)
    failed_interruptions: int | None = None


@dataclass(frozen=True)
class OnlineState:
    """Provisional online attribution of one mono/shared device (``prosody.engine.online_speakers``):
    ``now`` is the label of the newest decided frame, ``latency_s`` behind the audio
    (``therapist``, ``other``, ``unsure`` or ``silence``); ``speech_s``: seconds per label so
    far; ``changes``: therapist <-> other changes (unsure and pauses in between do not count);
    ``other_heard``: the other voice has been heard (before that nobody is called other)."""

    profile: str
    latency_s: float
    decided_s: float
    now: str
    speech_s: dict
    changes: int
    other_heard: bool

    @property
    def talk_share(self) -> float | None:
        """The therapist's share of the speech attributed to someone (unsure left out)."""
        t, o = self.speech_s.get("therapist", 0.0), self.speech_s.get("other", 0.0)
        return t / (t + o) if t + o > 0 else None


@dataclass(frozen=True)
class LiveState:
    """Everything the view shows; a copy, safe to keep."""

    speakers: tuple[str, ...]
    turn_taking: bool
    source_kind: str                  # stereo | two-device | mono | replay
    elapsed_s: float                  # audio captured so far
    final_s: float                    # audio finally analysed so far (~0.7 s behind)
    paused: bool
    now: tuple[SpeakerNow, ...]
    final: tuple[SpeakerFinal, ...]
    trail_f0_hz: dict                 # speaker -> float32 (n,) last <= TRAIL_S of frames ending at final_s; NaN = no voiced speech
    last_gaps: tuple                  # ((to_speaker, offset_s, kind), ...) newest last
    rolling: RollingWindow | None     # the newest rolling window of the measures layer (None before the first)
    health: dict
    bookmarks: tuple[Bookmark, ...]
    saved_at_s: float | None          # timeline position of the last save
    output_path: str
    status: str                       # running | paused | stopping | saved | failed
    message: str = ""
    notes: tuple[str, ...] = ()
    save_error: str = ""              # the last save did not reach output_path: why, and where it went instead
    online: "OnlineState | None" = None  # one mono/shared device with a voice profile: who speaks, provisional
    online_note: str = ""             # one device without a profile: why nobody is named live
    record_error: str = ""            # --record stopped early (disk full, ...): when, why, where the partial file is;
    #                                   or moved into its rescue copy (its file lost; hostile sweep 30)
    layout_note: str = ""             # the layout found live, said once (prosody.live.layout_watch): one stereo
    #                                   device's, or two inputs found to carry one sound (SameSoundWatch)
    input_notes: tuple[str, ...] = ()  # a replayed file's warnings found while it was read (cut short), said once


# the saved session's warning of a recording stopped early ("the recording stopped at 4.8 s (...): ..."), which a
# plain run leaves to its error line (``LiveResult.record_error``: hostile sweep 53)
RECORDING_STOPPED_MARK = "the recording stopped at "


@dataclass(frozen=True)
class LiveResult:
    reason: str                       # quit | duration | end of input | SIGTERM | Ctrl-C | device lost | analysis error
    output_path: str
    error: str | None
    doc: dict | None                  # the saved JSON document (None: nothing was saved)
    wanted_path: str | None = None    # where it was asked to go, when output_path is a fallback instead
    wanted_why: str | None = None     # why it did not go there ("the disk holding it is full, 0 bytes free")
    record_error: str | None = None   # the --record file stopped early: when, why, where its audio up to then is


class LevelMeter:
    """Provisional per-channel level (dBFS, RMS of the last ``LEVEL_WINDOW_S``)
    and the running noise floor the meter is drawn against (10th percentile of
    100 ms levels over ``FLOOR_WINDOW_S``). Who is speaking comes from the
    pipeline's own voice activity (``Update.provisional``), not from here."""

    def __init__(self, n_channels: int, *, sample_rate: int = GRID.sample_rate):
        self.window = int(LEVEL_WINDOW_S * sample_rate)
        self._tail = np.zeros((0, n_channels), np.float32)
        self._levels: deque = deque(maxlen=int(FLOOR_WINDOW_S / LEVEL_WINDOW_S))
        self._acc = 0
        self.level_db = np.full(n_channels, -120.0)
        self.floor_db = np.full(n_channels, -120.0)

    def push(self, x: np.ndarray) -> None:
        self._tail = np.concatenate([self._tail, x])[-self.window:]
        ms = np.mean(np.square(self._tail, dtype=np.float64), axis=0)
        self.level_db = np.maximum(10.0 * np.log10(ms + 1e-12), -120.0)
        self._acc += len(x)
        while self._acc >= self.window:
            self._levels.append(self.level_db.copy())
            self._acc -= self.window
        if self._levels:
            self.floor_db = np.percentile(np.array(self._levels), 10, axis=0)

    def silence(self) -> None:
        self.level_db[:] = -120.0


class _F0Median:
    """Running median of F0 through a histogram in quarter semitones over the speaker's
    pitch range ``fmin_hz``..``fmax_hz`` (the tracker's: 50-600 Hz unless configured; it was
    50-635 Hz whatever the range, so a child's 700 Hz read as 635)."""

    BIN_ST = 0.25

    def __init__(self, fmin_hz: float = 50.0, fmax_hz: float = 600.0):
        self.LO_HZ = float(fmin_hz)
        self.N_BINS = int(np.ceil(12.0 * np.log2(fmax_hz / fmin_hz) / self.BIN_ST)) + 1
        self.counts = np.zeros(self.N_BINS, np.int64)

    def add(self, f0_hz: np.ndarray) -> None:
        f = f0_hz[np.isfinite(f0_hz) & (f0_hz > 0)]
        if len(f):
            k = np.clip((12.0 * np.log2(f / self.LO_HZ) / self.BIN_ST).astype(int), 0, self.N_BINS - 1)
            self.counts += np.bincount(k, minlength=self.N_BINS)

    def median_hz(self) -> float | None:
        n = self.counts.sum()
        if n < 20:
            return None
        k = int(np.searchsorted(np.cumsum(self.counts), n / 2))
        return float(self.LO_HZ * 2 ** ((k + 0.5) * self.BIN_ST / 12.0))


def _percentiles_ms(values) -> dict:
    v = np.asarray(values, dtype=float)
    if not len(v):
        return {"median": None, "p95": None, "n": 0}
    return {"median": round(float(np.median(v)) * 1e3, 2), "p95": round(float(np.percentile(v, 95)) * 1e3, 2),
            "n": int(len(v))}


def _check_limits(autosave_s: float, duration_s: float | None) -> None:
    """``--autosave-s`` in (0, MAX_AUTOSAVE_S] and ``--duration`` a positive number up to a week, else InputError."""
    if not 0 < autosave_s <= MAX_AUTOSAVE_S:
        raise InputError(f"--autosave-s {autosave_s}: must be in (0, {MAX_AUTOSAVE_S:.0f}] seconds so that "
                         f"a power cut loses at most {MAX_AUTOSAVE_S:.0f} s")
    from ..formats.schema import MAX_DURATION_S  # what a session may last: 1e308 s overflowed the grid
    if duration_s is not None and not 0 < duration_s <= MAX_DURATION_S:
        raise InputError(f"--duration {duration_s:g}: must be a positive number of seconds up to "
                         f"{MAX_DURATION_S:.0f} (a week; leave it out: no limit)")


class LiveRunner:
    """Run a live source through the pipeline on an analysis thread.

    ``output_path``: the session JSON (``.frames.npz`` goes beside it).
    ``autosave_s``: at most ``MAX_AUTOSAVE_S``. ``duration_s``: stop by
    itself after this much audio. ``record_path``: raw audio, owner-only
    (WAV or FLAC by suffix), only when given. ``measures`` / ``profile``: the
    measures options and personal baseline; ``pipeline``: a pipeline to use
    instead of ``prosody.session.new_pipeline`` (tests plant failures with it).
    ``online``: an ``OnlineAttributor`` fed the channel mean (one mono/shared
    device with the voice profile ``online_profile``): who is speaking,
    provisional, in ``LiveState.online`` and ``live.online_attribution``;
    ``online_note``: shown instead when a one-device session names nobody live.
    ``layout_watch``: a ``prosody.live.layout_watch.LayoutWatch`` for one stereo device read as two
    speakers' channels: found shared live, the device is read from then on as ``--mono`` reads it
    (analysed again from the start), with an ``OnlineAttributor`` of ``voice_profile`` (a
    ``VoiceProfile``) where given, else the "nobody named live" note.
    """

    def __init__(self, source: LiveSource, *, output_path: str | os.PathLike, config: AnalysisConfig | None = None,
                 autosave_s: float = AUTOSAVE_S, duration_s: float | None = None,
                 record_path: str | os.PathLike | None = None, sources: list[str] | None = None,
                 measures: MeasuresConfig | None = None, profile: Baseline | None = None,
                 pipeline: Pipeline | None = None, warnings: list[str] | None = None,
                 online=None, online_profile: str = "", online_note: str = "", layout_watch=None,
                 voice_profile=None, record_overwrite: bool = True):
        _check_limits(autosave_s, duration_s)
        self.source = source
        self._take_paths(output_path, record_path, record_overwrite=record_overwrite)
        self.autosave_s = autosave_s
        self.duration_s = duration_s
        self._pipeline_options = dict(config=config, measures=measures, profile=profile)
        self.pipeline = pipeline or new_pipeline(source.speakers, config, measures=measures, profile=profile)
        self.builder = SessionBuilder(self.pipeline, sources=list(sources or []), measures=measures, profile=profile)
        self.speakers = self.pipeline.speakers
        self.grid = self.pipeline.grid
        self.extra_warnings = list(warnings or [])
        self._init_threads()
        # analysis-thread state (read by snapshot under the lock)
        self.n_samples = 0
        self._reset_speakers()
        self._paused = False
        self._pause_start_s: float | None = None
        self.paused_intervals: list[tuple[float, float]] = []
        self.bookmarks: list[Bookmark] = []
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._init_saves()
        self._init_delays()
        self._init_recording()
        self._health: dict = {}
        self._traceback: str | None = None
        self._init_online(online, online_profile, online_note)
        # the layout found live (one stereo device read as two speakers' channels)
        self.layout_watch = layout_watch
        self.voice_profile = voice_profile
        self._shown = np.zeros(0, bool)                   # any speaker's final speech per frame, channels as given
        self._layout_note = ""                            # the one line said when the layout was found
        # two inputs of a person each (two devices, two replayed files) that carry one sound: said live, once
        from .layout_watch import SameSoundWatch
        self.same_sound = (SameSoundWatch(self.speakers, hop_s=self.grid.hop_s)
                           if layout_watch is None and len(self.speakers) == 2 else None)

    def _take_paths(self, output_path, record_path, *, record_overwrite: bool) -> None:
        """The session's and the recording's paths, checked writable before capture starts, and what their
        saves may replace. ``record_overwrite`` False (`live` without --overwrite): the recording is taken
        exclusively even where a file has its name by now (another live session started alike made it after
        this one's output check: it was opened, truncated and written by both; hostile sweep 28)."""
        self.output_path = Path(output_path)
        self.frames_path = frames_path_for(self.output_path)
        self.record_path = Path(record_path) if record_path else None
        for flag, p in (("--output", self.output_path), ("--record", self.record_path)):
            if p is not None:  # checked for real before capture starts: a session is not run into a wall
                if not p.resolve().parent.is_dir():
                    raise InputError(f"cannot write {p}: folder {p.resolve().parent} does not exist")
                check_writable_folder(p.resolve().parent, label=f"{flag} {p}", name=p.name)
        # what this session's saves may replace: the files there now (a file the output check let it replace),
        # then each file it wrote; another live session's save there is never replaced (two started alike)
        self._claims = {p: file_identity(p) for p in (self.output_path, self.frames_path)}
        self._claims_recording_new = self.record_path is not None and (not record_overwrite
                                                                        or file_identity(self.record_path) is None)

    def _init_threads(self) -> None:
        """The analysis thread, the writer, their locks and the stop flag."""
        self._lock = threading.Lock()
        self._stop_asked = False  # a plain flag, not a threading.Event: stop() runs in signal handlers
        self._done = threading.Event()
        self._reason = "quit"
        self._thread = threading.Thread(target=self._run, name="prosody-analysis", daemon=True)
        self._writer: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self.result: LiveResult | None = None
        self.started_at = _dt.datetime.now().astimezone()
        # the session's own id, in every save of it (autosaves and the final one): `import` knows a later save of
        # a session it holds and replaces it, where it counted one recording twice (hostile sweep 33)
        self.session_id = secrets.token_hex(8)

    def _init_saves(self) -> None:
        """Where and when the last save went, and the view's status line."""
        self._saved_at_s: float | None = None
        self._save_error = ""
        self._wanted_why: str | None = None  # why the last save went to a fallback folder
        self._saved_to: Path | None = None      # where the last save went (output_path or a fallback)
        self._last_save_wall = time.monotonic()
        self._status = "running"
        self._message = ""
        self._message_until = 0.0

    def _init_delays(self) -> None:
        """The measured delays from sound to state, kept for the view and the saved session."""
        self.state_delays_s: deque = deque(maxlen=DELAY_HISTORY)
        self.final_delays_s: deque = deque(maxlen=DELAY_HISTORY)
        self._arrivals: deque = deque()     # (sample index at block end, arrival time)
        self._arrival_hist: deque = deque(maxlen=4000)  # the same, kept ~a minute for the rolling windows
        self.rolling_delays_s: deque = deque(maxlen=DELAY_HISTORY)
        self.now_delays_s: deque = deque(maxlen=DELAY_HISTORY)  # frame's sound arrived -> its provisional pitch shown

    def _init_recording(self) -> None:
        """The raw recording's writer and what is said where it stops early."""
        self._recorder = None
        self._record_error = ""                   # the recording stopped early: the message shown
        self._record_stopped_at_s: float | None = None
        self._record_why = ""
        self._record_kept = ""                    # the recording stopped early: what its file holds (said)
        self._record_dropped = False              # nothing was captured: the empty recording was removed
        self._record_copy: Path | None = None     # its name lost: the copy of it kept in a rescue folder
        self._record_mirror: _Mirror | None = None  # a FLAC's copy, kept in step with its nameless file
        self._record_unplaced: tuple[float, str] | None = None  # a FLAC's name lost, no copy made yet: (when, loss)
        self._record_none_kept = False            # nothing of it is kept: no file is named as the recording
        self._record_moved = ""                   # its name lost at the end: whole in the copy (said, not failed)
        self._record_losses: list[str] = []       # each loss of its name seen: "PATH is gone" (said at the end)
        self._record_sha256: str | None = None    # the whole recording's fingerprint, taken once it is closed

    def _init_online(self, online, online_profile: str, online_note: str) -> None:
        """Provisional online attribution (one mono / shared device with a voice profile)."""
        self.online = online
        self.online_profile = online_profile
        self.online_note = online_note
        self._online_counts = np.zeros(4, np.int64)       # frames per label (silence, therapist, other, unsure)
        self._online_now = 0
        self._online_last_voice = 0                       # last therapist/other label, for changes
        self._online_changes = 0
        self._online_runs: list[list] = []                # [start_frame, end_frame, label] of speech runs
        self._online_decided = 0

    def _reset_speakers(self) -> None:
        """The per-speaker state of the view, for ``self.speakers`` (at the start, and when a
        stereo device found shared is read as one shared device from then on)."""
        n = len(self.speakers)
        self.meter = LevelMeter(n)
        self._speech_frames = np.zeros(n, np.int64)
        self._trail_n = int(round(TRAIL_S / self.grid.hop_s))
        self._trail = {s: np.full(0, np.nan, np.float32) for s in self.speakers}
        self._trail_speech = {s: np.zeros(0, bool) for s in self.speakers}
        self._f0_median = {s: _F0Median(self.pipeline.config.pitch_for(s).fmin_hz,
                                        self.pipeline.config.pitch_for(s).fmax_hz) for s in self.speakers}
        self._nuclei: dict[str, deque] = {s: deque() for s in self.speakers}
        self._gaps: deque = deque(maxlen=LAST_GAPS)
        self._counts = {s: {"turns": 0, "interruption": 0, "failed_interruption": 0, "backchannel": 0}
                        for s in self.speakers}
        self._rolling: RollingWindow | None = None
        self._speaking_now = {s: False for s in self.speakers}
        self._f0_now: dict[str, float | None] = {s: None for s in self.speakers}
        self._open_start: dict[str, int | None] = {s: None for s in self.speakers}  # frame index

    # -- control (any thread) ---------------------------------------------------------------
    def start(self) -> None:
        """Open the source (errors such as a device that cannot be opened are
        raised here, on the caller's thread), then start analysing."""
        if self.record_path is not None:  # a recording that was not there when set up is taken exclusively
            self._recorder = _open_recording(self.record_path, len(self.speakers),
                                             exclusive=self._claims_recording_new)
        try:
            self.source.start()
        except BaseException:
            if self._recorder is not None:
                self._recorder.close()
            raise
        self._thread.start()

    def stop(self, reason: str = "quit") -> None:
        """Ask capture to stop; the analysis thread sees it within one read (0.05 s) and saves.
        Any thread, and a signal handler: it takes no lock (an Event's set() does), since a signal
        can come while this thread is inside stop() and must not wait for a lock it holds itself."""
        if not self._stop_asked:
            self._reason = reason
            self._stop_asked = True

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def stopping(self) -> bool:
        """A stop was asked for, or capture ended by itself: the session is being saved (or is saved)."""
        return self._stop_asked or self._done.is_set() or self._status in ("stopping", "saved", "failed")

    def wait(self, timeout_s: float | None = None) -> LiveResult | None:
        self._done.wait(timeout_s)
        return self.result

    def bookmark(self, note: str = "", *, time_s: float | None = None) -> Bookmark:
        # a note longer than a session document holds (a paste into the view) was saved whole, and the
        # session's import refused it ("longer than 100000 characters"): it is kept to its first part, said
        cut = len(note) > MAX_TEXT_CHARS
        # a note of characters no listing shows alone is no note: its save's import refused it (hostile sweep 42)
        note = "" if shows_nothing(note) else note[:MAX_TEXT_CHARS]
        with self._lock:
            b = Bookmark(round(self.grid.samples_to_s(self.n_samples) if time_s is None else time_s, 3), note)
            self.bookmarks.append(b)
            self._say(f"bookmark at {stopwatch_text(b.time_s)}" + (
                f": its note cut to its first {MAX_TEXT_CHARS:,} characters, what a session holds" if cut else
                f": {note}" if note else ""))
        return b

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            if paused == self._paused:
                return
            t = self.grid.samples_to_s(self.n_samples)
            if paused:
                self._pause_start_s = t
            else:
                self.paused_intervals.append((self._pause_start_s, t))
                self._pause_start_s = None
            self._paused = paused
            self._say("analysis paused: audio is neither analysed nor recorded (p resumes)" if paused
                      else "analysis resumed")

    def _say(self, text: str, *, sticky: bool = False) -> None:
        """A message for the view (caller holds the lock); sticky ones stay."""
        self._message = text
        self._message_until = float("inf") if sticky else time.monotonic() + MESSAGE_S

    def toggle_pause(self) -> bool:
        self.set_paused(not self._paused)
        return self._paused

    # -- analysis thread --------------------------------------------------------------------
    def _run(self) -> None:
        error = None
        try:
            while not self._stop_asked:
                blk = self.source.read(0.05)
                if blk is None:
                    if self.source.exhausted:
                        self._reason = "end of input"
                        break
                else:
                    if self._handle(blk):
                        self._reason = "duration"
                        break
                if time.monotonic() - self._last_save_wall >= self.autosave_s:
                    self._autosave()
        except DeviceLost as exc:
            self._reason, error = "device lost", str(exc)
        except Exception as exc:
            self._reason = "analysis error"
            error = error_text(exc)
            self._traceback = traceback.format_exc()
        finally:
            try:
                self.source.stop()
            except Exception:
                pass
        with self._lock:
            self._status = "stopping"
        if error is None:
            try:  # audio still buffered when the stop came (two devices: the aligner's rest)
                tail = self.source.tail() if hasattr(self.source, "tail") else None
                if tail is not None and self._reason in ("quit", "SIGTERM", "Ctrl-C", "end of input"):
                    self._handle(tail)
            except Exception as exc:  # as in the loop: the session is saved as far as it was analysed, and says so
                self._reason = "analysis error"
                error = error_text(exc)
                self._traceback = traceback.format_exc()
        with self._lock:  # the source's last word: a replayed file is found truncated only once read to its end
            self._health = self.source.health()
        try:
            self._finish(error)
        except Exception as exc:  # a defect in the save's own code: the waiter is told, never left waiting for ever
            # (a name left unbound there hung `prosody live` after a failed save; session 39). No save is claimed.
            self._traceback = traceback.format_exc()
            with self._lock:
                self._status = "failed"
            self.result = LiveResult(reason=self._reason or "analysis error", output_path=str(self.output_path),
                                     error=(error + "; " if error else "") + f"saving failed: {error_text(exc)}",
                                     doc=None)
            self._done.set()

    def _handle(self, blk: CaptureBlock) -> bool:
        """One block from the source; True when ``duration_s`` is reached."""
        x = blk.samples
        stop = False
        if self.duration_s is not None:
            left = self.grid.s_to_samples(self.duration_s) - self.n_samples
            if len(x) >= left:
                x, stop = x[:max(left, 0)], True
        if not len(x):
            return stop
        with self._lock:
            paused = self._paused
        if paused:
            x = np.zeros_like(x)
        if self._recorder is not None:
            try:
                self._recorder.write(x)
            except Exception as exc:  # disk full, ...: the recording stops, capture and analysis go on
                self._recording_failed(exc, block_samples=len(x))
        with self._lock:
            if paused:
                self.meter.silence()
            else:
                self.meter.push(x[:, :len(self.speakers)] if self.layout_watch is not None else x)
            self.n_samples += len(x)
            self._health = self.source.health()
        now = time.monotonic()
        self.state_delays_s.append(now - blk.arrival_s)
        self._arrivals.append((self.n_samples, blk.arrival_s))
        self._arrival_hist.append((self.n_samples, blk.arrival_s))
        watch = self.layout_watch
        if watch is not None:
            watch.add(x)
            if watch.switched:
                x = x[:, :1]  # one shared device: its first channel, as --mono reads it
        self._pending.append(x)
        self._pending_n += len(x)
        if self._pending_n >= PUSH_S * self.grid.sample_rate or stop:
            block = np.concatenate(self._pending)
            self._pending, self._pending_n = [], 0
            self._apply(self.pipeline.push(block))
            self._online_push(block)
            self._watch_layout()
            self._watch_same_sound()
        return stop

    @property
    def _record_at(self) -> Path | None:
        """Where the recording is written now: ``--record``'s file, or the rescue copy it went on in."""
        return self._record_copy or self.record_path

    def _recording_failed(self, exc: BaseException, *, block_samples: int = 0) -> None:
        """A write to (or flush of) the ``--record`` file failed: close it, so
        that what it holds stays a readable file, and stop recording; capture
        and analysis go on. Said in the view, every plain line, the saved JSON
        and at the end. ``block_samples``: the block whose write failed (part
        of it may be in the file: the file's own length says how much)."""
        at = self.n_samples
        rec, self._recorder = self._recorder, None
        where = self._record_at
        # a full disk (was "No space left on device") and a file-size limit (was "File too large", the limit
        # unnamed; hostile sweep 54) said as the store says them
        why = (write_error_text(exc, where) if is_disk_full(exc) or is_past_size_limit(exc)
               else getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        if self._record_unplaced is not None:  # its name lost, no copy made yet: one of what it holds, if one can
            where = self._closed_unplaced(rec)
            if where is None:
                self._say_failed(at, why, f"nothing of it is kept ({', then '.join(self._record_losses)}; no rescue "
                                          "folder could take a copy of it)")
                return
            rec = None
        mirror, self._record_mirror = self._record_mirror, None
        try:  # a FLAC going on in its own file: all it holds copied into its rescue copy first
            if rec is None:
                pass  # closed, copied
            elif mirror is None:
                rec.close()
            else:
                rec.close(last=lambda: mirror.sync(whole=True))
        except Exception:
            pass  # it failed already; what reached the disk stays
        finally:
            if mirror is not None:
                mirror.close()
        try:
            import soundfile as sf
            n = sf.info(str(where)).frames  # a WAV's header; a FLAC cut short says "unknown" (huge)
            if at < n <= at + block_samples:
                at = n
        except Exception:
            n = 0  # not even its header reached the disk (full from the start): no sound file
        losses = f" ({', then '.join(self._record_losses)})" if self._record_losses else ""  # why it is there
        if n > 0:
            kept = f"{where} holds what was recorded before then{losses}"
        else:  # it was said to hold the audio up to then, and was an empty file (hostile sweep 16)
            gone = _remove_own_file(where, getattr(rec, "identity", None))
            kept = f"nothing of it could be kept ({where} {'removed' if gone else 'is no sound file'})"
            self._record_none_kept = True  # the file removed was still named as the recording (hostile sweep 31)
        self._say_failed(at, why, kept)

    def _say_failed(self, at: int, why: str, kept: str) -> None:
        """The recording failed at sample ``at`` (``why``); ``kept``: what is kept of it, said."""
        at_s = self.grid.samples_to_s(at)
        with self._lock:
            self._record_stopped_at_s, self._record_why, self._record_kept = at_s, why, kept
            self._record_error = (f"RECORDING FAILED at {stopwatch_text(at_s)} ({at_s:.1f} s): {why}; {kept}; "
                                  "the analysis goes on")

    def _close_recording(self, rec: "_Recording") -> None:
        """``rec``, still the file it made, closed at the end (a failure said as the recording's)."""
        try:
            rec.close()
            self._recorder = None
        except Exception as exc:
            self._recording_failed(exc)
            return
        # stopped before the first block (a signal as capture began): the recording made is an empty
        # sound file, which `import` of the session refused ("no audio in rec.wav"; hostile sweep 16)
        if self.n_samples == 0 and self._record_stopped_at_s is None \
                and _remove_own_file(self.record_path, getattr(rec, "identity", None)):
            self._record_dropped = True
        elif self._record_copy is not None and self._record_stopped_at_s is None \
                and not self._say_whole_elsewhere(self._record_copy):  # it went on in the copy (hostile sweep 30)
            at_s = self.grid.samples_to_s(max(_frames_in(self._record_copy), 0))
            with self._lock:  # holds less than the capture: said as it is, never whole
                self._record_stopped_at_s, self._record_why = at_s, _LOST_WHY
                self._record_kept = (f"{self._record_copy} holds what was recorded up to then "
                                     f"({', then '.join(self._record_losses)})")

    def _close_lost_recording(self, rec: "_Recording", *, at_end: bool = False) -> None:
        """``rec``'s file no name reaches any more (its folder removed or the file deleted or replaced during
        the session): the audio went into a file no name reaches, and the session said the recording whole
        (``recording_complete`` true, no word of the loss; hostile sweep 16). Closed, what it holds copied to a
        rescue folder (it was dropped, though still readable through the open file: hostile sweep 28). Seen
        at an autosave, the recording goes on in the copy (it stopped there, and the rest of the capture was
        thrown away: hostile sweep 30), so that a second loss is met alike; a FLAC, which libsndfile cannot
        add to, goes on in its own file, copied on into the copy at each autosave (``_Mirror``; it stopped at
        the loss: hostile sweep 31). Seen at the end (``at_end``), or where the copy cannot go on, the copy is
        checked: every captured sample in it, the recording is whole, but elsewhere (it was said failed at the
        end: hostile sweep 29); else it failed when the loss was seen. No copy made: no file is named as the
        recording (the gone copy of an earlier loss was: hostile sweep 31)."""
        lost = self._record_at
        what = _loss_word(lost)
        at_s = self.grid.samples_to_s(self.n_samples)
        self._record_losses.append(f"{lost} {what}" + ("" if at_end else f" at {at_s:.1f} s"))
        if not at_end and (rec.flac or not rescue_folder_writable()):
            # on in its own open file, copied where a rescue folder takes it: with none to take a copy now, it
            # stopped here, "nothing of it is kept" (hostile sweep 33); a WAV is closed to be copied, so only then
            self._recorder = rec
            if rec.flac and self._mirrored(rec) is not None:
                self._say_moved(at_s, f"{lost} {what}", "and the recording goes on, copied there at each autosave")
            else:
                self._say_unplaced(at_s, f"{lost} {what}")
            return
        self._copy_and_go_on(rec, at_s, f"{lost} {what}", at_end=at_end)

    def _copy_and_go_on(self, rec: "_Recording", at_s: float, loss: str, *, at_end: bool = False) -> None:
        """``rec``, whose name was lost at ``at_s`` (``loss``), closed and copied into a rescue folder; a WAV goes
        on in the copy (not ``at_end``); else said kept there (whole: ``_say_whole_elsewhere``) or lost."""
        copy = rec.close_keeping_a_copy(self.record_path.name)
        went_on = None if at_end or copy is None else _continued_recording(copy, len(self.speakers))
        with self._lock:
            self._record_copy, self._record_none_kept = copy, copy is None
        if isinstance(went_on, _Recording):
            self._recorder = went_on
            self._say_moved(at_s, loss, "and the recording goes on there")
            return
        if at_end and copy is not None and self._say_whole_elsewhere(copy):
            return
        why_not = f"; it could not go on there: {went_on}" if went_on else ""
        losses = ", then ".join(self._record_losses)  # every loss: a second one named the gone copy alone
        self._say_lost(self.grid.samples_to_s(self.n_samples),
                       f"what was recorded up to then is kept in {copy} ({losses}{why_not})"
                       if copy is not None else f"nothing of it is kept ({losses})")

    def _say_moved(self, at_s: float, loss: str, going_on: str) -> None:
        """While live: the recording's file lost at ``at_s`` (``loss``: "PATH is gone"), the copy ``going_on``."""
        with self._lock:
            self._record_error = (f"RECORDING MOVED at {stopwatch_text(at_s)} ({at_s:.1f} s): its file was "
                                  f"removed or replaced while it was recorded ({loss}); what was recorded "
                                  f"up to then was copied to {self._record_copy}, {going_on}")

    def _say_unplaced(self, at_s: float, loss: str) -> None:
        """While live: the recording's name lost at ``at_s`` and no rescue folder took a copy of it. It stopped there,
        the rest of the capture thrown away, and "nothing of it is kept" where its open file held all of it
        (hostile sweep 33): it goes on in that file, a copy tried at each autosave and at the end."""
        with self._lock:
            self._record_unplaced, self._record_copy, self._record_none_kept = (at_s, loss), None, True
            self._record_error = (f"RECORDING NOT COPIED at {stopwatch_text(at_s)} ({at_s:.1f} s): {_LOST_WHY} "
                                  f"({', then '.join(self._record_losses)}), and no rescue folder could take a copy "
                                  "of it; it goes on in its open file, which no name reaches, and a copy is tried "
                                  "at each autosave and at the end (until one is made, a hard stop of prosody "
                                  "loses it)")

    def _place(self, rec: "_Recording") -> None:
        """At an autosave: the recording whose name was lost with no copy made, copied now where a folder takes
        it: a FLAC kept in step with it (``_Mirror``), a WAV closed and going on in the copy."""
        at_s, loss = self._record_unplaced
        if rec.flac and self._mirrored(rec) is not None:
            with self._lock:
                self._record_unplaced, self._record_none_kept = None, False
            self._say_moved(at_s, loss, "and the recording goes on, copied there at each autosave")
        elif not rec.flac and rescue_folder_writable():
            with self._lock:
                self._record_unplaced = None
            self._recorder = None
            self._copy_and_go_on(rec, at_s, loss)

    def _close_unplaced_recording(self, rec: "_Recording") -> None:
        """At the end: the recording that went on in its own file with no copy made, closed, all of it copied into a
        rescue folder where one takes it now; said whole there, else nothing kept."""
        copy = self._closed_unplaced(rec)
        if copy is not None and self._say_whole_elsewhere(copy):
            return
        losses = ", then ".join(self._record_losses)
        if copy is None:
            self._say_lost(self.grid.samples_to_s(self.n_samples), f"nothing of it is kept ({losses}; no rescue "
                                                                  "folder could take a copy of it, then or since)")
        else:  # the close failed part-way: the copy holds what its file held
            at_s = self.grid.samples_to_s(max(_frames_in(copy), 0))
            self._say_lost(at_s, f"what was recorded up to then is kept in {copy} ({losses})")

    def _closed_unplaced(self, rec: "_Recording") -> Path | None:
        """The recording with no copy yet closed, all it holds copied where a rescue folder takes it: the copy, or
        None."""
        with self._lock:
            self._record_unplaced = None
        copy = rec.close_keeping_a_copy(self.record_path.name)
        with self._lock:
            self._record_copy, self._record_none_kept = copy, copy is None
        return copy

    def _say_lost(self, at_s: float, kept: str) -> None:
        """The recording stopped at ``at_s`` by a loss of its file; ``kept``: what is kept of it, said."""
        with self._lock:
            self._record_stopped_at_s, self._record_why, self._record_kept = at_s, _LOST_WHY, kept
            self._record_error = (f"RECORDING LOST at {stopwatch_text(at_s)} ({at_s:.1f} s): {_LOST_WHY}; "
                                  f"{kept}; the analysis goes on")

    def _mirrored(self, rec: "_Recording") -> "_Mirror | None":
        """A new rescue copy of the FLAC ``rec``, kept in step with it from now (the previous one let go); None
        where no rescue folder took one."""
        old, self._record_mirror = self._record_mirror, None
        if old is not None:
            old.close()
        try:
            mirror = _Mirror(rec.fd, self.record_path.name)
        except OSError:
            return None
        mirror.copied_s = self.grid.samples_to_s(self.n_samples)
        with self._lock:
            self._record_mirror, self._record_copy = mirror, mirror.path
        return mirror

    def _keep_mirror(self, rec: "_Recording") -> None:
        """At an autosave: the FLAC copy brought up to date, or, where its name was lost too, made again."""
        mirror = self._record_mirror
        if not mirror.there():
            self._recorder = None
            self._close_lost_recording(rec)
            return
        at_s = self.grid.samples_to_s(self.n_samples)
        try:
            mirror.sync()
        except OSError as exc:  # tried again at the next autosave, and whole at the end
            with self._lock:
                self._record_error = (f"RECORDING COPY BEHIND at {stopwatch_text(at_s)} ({at_s:.1f} s): "
                                      f"{mirror.path} could not be brought up to date "
                                      f"({write_error_text(exc, mirror.path)}); it is tried again at each autosave "
                                      "and at the end, and holds the recording up to "
                                      f"{mirror.copied_s:.1f} s till then")
            return
        mirror.copied_s = at_s

    def _close_mirrored_recording(self, rec: "_Recording") -> None:
        """At the end: the FLAC recording that went on in its own file closed, and all of it, its header made
        whole, copied into its rescue copy (made again where that was lost too; elsewhere where it cannot be
        written). Said whole where the copy holds every captured sample; else failed where the copy ends."""
        mirror, self._record_mirror = self._record_mirror, None
        if not mirror.there():
            self._record_losses.append(f"{mirror.path} {_loss_word(mirror.path)}")
        kept: list[Path | None] = [None]
        try:
            rec.close(last=lambda: kept.__setitem__(0, self._last_copy(rec, mirror)))
        except Exception:
            pass  # what reached its file is copied all the same; the copy's header says how much
        finally:
            mirror.close()
        copy = kept[0]
        with self._lock:
            self._record_copy, self._record_none_kept = copy, copy is None
        if copy is not None and self._say_whole_elsewhere(copy):
            return
        losses = ", then ".join(self._record_losses)
        if copy is None:
            self._say_lost(self.grid.samples_to_s(self.n_samples), f"nothing of it is kept ({losses})")
        else:  # the copy could not be brought up to date: it holds what its last copy held
            self._say_lost(mirror.copied_s, f"what was recorded up to then is kept in {copy} ({losses}; it could "
                                            "not be brought up to date after that)")

    def _last_copy(self, rec: "_Recording", mirror: "_Mirror") -> Path | None:
        """All of the closed ``rec`` copied into ``mirror`` (where its name still reaches it), else into a rescue
        folder as a new copy (the stale one then removed); the stale copy where neither could be written."""
        there = mirror.there()
        if there:
            try:
                mirror.sync(whole=True)
                return mirror.path
            except OSError:
                pass
        copy, _ = _rescue_copy_of(rec.fd, self.record_path.name)
        if copy is not None and there:
            _remove_own_file(mirror.path, mirror.identity)
        return copy or (mirror.path if there else None)

    def _say_whole_elsewhere(self, copy: Path) -> bool:
        """Where the closed ``copy`` holds every captured sample: said whole, but not where asked; whether it was."""
        at_s = self.grid.samples_to_s(self.n_samples)
        if _frames_in(copy) == self.n_samples:
            with self._lock:
                self._record_moved = (f"the recording is whole ({at_s:.1f} s) but not where asked: {_LOST_WHY} "
                                      f"({', then '.join(self._record_losses)}); all of it is kept in {copy}")
            return True
        return False

    def _fingerprint_recording(self) -> None:
        """The closed recording's SHA-256 (about a second for an hour's recording), whole or cut short: a
        recording that stopped early was left unmarked, and `import` took whatever file had its name by then
        as its audio (hostile sweep 31)."""
        if self._record_dropped or self._record_none_kept:
            return
        try:
            self._record_sha256 = file_sha256(self._record_copy or self.record_path)
        except OSError:
            pass  # unreadable now: imported as before, fingerprinted then

    def _record_summary(self) -> str | None:
        """The closing words on a recording that stopped early (None: it did not)."""
        with self._lock:
            at_s, why, kept, moved = self._record_stopped_at_s, self._record_why, self._record_kept, self._record_moved
        if at_s is None:
            return moved or None
        return f"the recording failed at {at_s:.1f} s ({why}); {kept} (the analysis went on to the end)"

    def _online_push(self, block: np.ndarray | None) -> None:
        """The channel mean into the online attribution (None: flush); its labels into the state."""
        if self.online is None:
            return
        out = self.online.flush() if block is None else self.online.push(block.mean(axis=1))
        if not len(out):
            return
        from ..engine.online_speakers import OTHER, SILENCE, THERAPIST
        lab = out.label
        with self._lock:
            self._online_counts += np.bincount(lab, minlength=4)
            voiced = lab[(lab == THERAPIST) | (lab == OTHER)]
            if len(voiced):
                seq = np.concatenate([[self._online_last_voice], voiced]) if self._online_last_voice else voiced
                self._online_changes += int(np.count_nonzero(np.diff(seq)))
                self._online_last_voice = int(voiced[-1])
            cuts = np.flatnonzero(np.diff(lab)) + 1
            for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(lab)]])):
                k = int(lab[a])
                runs = self._online_runs
                if runs and runs[-1][1] == out.start_frame + a and runs[-1][2] == k:
                    runs[-1][1] = out.start_frame + int(b)
                elif k != SILENCE:
                    runs.append([out.start_frame + int(a), out.start_frame + int(b), k])
            self._online_now = int(lab[-1])
            self._online_decided = out.start_frame + len(lab)

    def _watch_layout(self, *, final: bool = False) -> None:
        """The layout checks whose audio is in and whose frames the channels as given have decided
        (``final``: all of them, at the end); a device found shared is read as one shared device from
        then on (``_read_as_shared``), or, where the user named its channels or too much audio went by,
        said. See ``prosody.live.layout_watch``."""
        watch = self.layout_watch
        if watch is None:
            return
        hop = self.grid.hop_length
        decided = watch.n if final or watch.switched else self.pipeline.n_frames * hop
        while (end := watch.due(decided)) is not None:
            a = watch.window_start
            shown_s = float(np.count_nonzero(self._shown[a // hop:end // hop])) * self.grid.hop_s
            c = watch.check(end, shown_s)
            if watch.found != "shared" or watch.switched or watch.said:
                continue
            how = (f"both channels carry both voices ({c.reason}; {c.speech_s:.0f} s of speech, the channels lined "
                   f"up within {abs(c.evidence.get('phat_lag_ms', 0.0)):.1f} ms)")
            if watch.channels_given:
                watch.said = (f"{FOUND_LIVE}{stopwatch_text(c.end_s)}: {how}; --channels says one speaker "
                              "per channel, so the channels stay as given and each voice is taken for the other's "
                              "leak: for a table device or speakerphone take --mono (with --record the saved "
                              "session is attributed by voice)")
            elif watch.first_channel() is None:
                watch.said = (f"{FOUND_LIVE}{stopwatch_text(c.end_s)}: {how}; too late to read it again "
                              "from the start, so the channels stay as given: take --mono for such a device "
                              "(with --record the saved session is attributed by voice)")
            else:
                self._read_as_shared(c)
            with self._lock:  # shown on every redraw of the view, and once in the plain lines
                self._layout_note = watch.said

    def _watch_same_sound(self) -> None:
        """Two inputs found to carry one sound (``SameSoundWatch``): said once, live, as the layout found is."""
        said = self.same_sound.check() if self.same_sound is not None else ""
        if said:
            with self._lock:
                self._layout_note = said

    def _read_as_shared(self, check) -> None:
        """From now on the device is one shared device, as ``--mono`` reads it: its first channel,
        one speaker, analysed again from the session's start (the held audio pushed at once); the
        online attribution with the voice profile, or the note that nobody is named live."""
        from .layout import NO_PROFILE_NOTE
        watch = self.layout_watch
        held = watch.first_channel()
        watch.drop_held()
        watch.switched = True
        speakers = (DEFAULT_SPEAKER,)
        opts = self._pipeline_options
        pipeline = new_pipeline(speakers, opts["config"], measures=opts["measures"], profile=opts["profile"])
        builder = SessionBuilder(pipeline, sources=list(self.builder.sources), measures=opts["measures"],
                                 profile=opts["profile"])
        online, note = None, NO_PROFILE_NOTE
        if self.voice_profile is not None:
            from ..engine.online_speakers import OnlineAttributor
            online, note = OnlineAttributor(self.voice_profile), ""
        with self._lock:
            self.pipeline, self.builder, self.speakers = pipeline, builder, speakers
            self._reset_speakers()
            self.online, self.online_note = online, note
            self._pending, self._pending_n = [], 0
            self.meter.push(held[-self.meter.window:, None])
        watch.said = (f"{FOUND_LIVE}{stopwatch_text(check.end_s)}: both channels carry both voices "
                      f"({check.reason}): read from now as one shared device, as --mono reads it (its first "
                      "channel, analysed again from the start)"
                      + ("; who speaks is named provisionally with the voice profile" if online is not None else
                         "; nobody is named live without a voice profile")
                      + "; --mono says so from the start")
        t0 = time.monotonic()
        self._apply(self.pipeline.push(held[:, None]))
        self._online_push(held[:, None])
        watch.reanalysis_s = time.monotonic() - t0

    def _apply(self, up: Update) -> None:
        """Add a pipeline update to the session and to the view's final state."""
        self.builder.add(up)
        if self.same_sound is not None:
            for fb in up.frames:
                self.same_sound.add(fb)
        watch = self.layout_watch
        if watch is not None and not watch.switched:
            for fb in up.frames:  # what the channels as given show as anyone's speech, for the layout's checks
                end = fb.start_frame + len(fb.is_speech)
                if len(self._shown) < end:  # grown by doubling: an hour is 360,000 frames
                    grown = np.zeros(max(end, 2 * len(self._shown), 6000), bool)
                    grown[:len(self._shown)] = self._shown
                    self._shown = grown
                self._shown[fb.start_frame:end] |= fb.is_speech
        now = time.monotonic()
        done_samples = self.pipeline.n_frames * self.grid.hop_length
        while self._arrivals and self._arrivals[0][0] <= done_samples:
            self.final_delays_s.append(now - self._arrivals.popleft()[1])
        hop = self.grid.hop_length
        recent = list(self._arrival_hist)[-64:]  # (samples up to the block's end, arrival time)
        ends = [n_at for n_at, _ in recent]
        for pr in up.provisional[:1]:  # every speaker's provisional frames are the same frames
            for k in range(len(pr.f0_hz)):
                # delay: the block holding the frame's last sample arrived -> its provisional pitch shown
                j = bisect.bisect_left(ends, (pr.f0_start_frame + k + 1) * hop)
                if j < len(recent):
                    self.now_delays_s.append(now - recent[j][1])
        for w in up.rolling:  # delay from the window's last sample arriving to the window being out
            end = self.grid.s_to_samples(w.end_s)
            arr = next((t for n, t in self._arrival_hist if n >= end), None)
            if arr is not None:
                self.rolling_delays_s.append(now - arr)
        rolling = up.rolling[-1] if up.rolling else None  # the newest window (measures.RollingWindow)
        with self._lock:
            for pr in up.provisional:
                if len(pr.is_speech):
                    self._speaking_now[pr.speaker] = bool(pr.is_speech[-NOW_SPEECH_FRAMES:].any())
                if len(pr.f0_hz):
                    recent = pr.f0_hz[-NOW_F0_FRAMES:]
                    voiced = recent[np.isfinite(recent)]
                    self._f0_now[pr.speaker] = float(voiced[-1]) if len(voiced) else None
            for i, fb in enumerate(up.frames):
                if not len(fb):
                    continue
                off = np.flatnonzero(~fb.is_speech)
                if not fb.is_speech[-1]:
                    self._open_start[fb.speaker] = None
                elif len(off):
                    self._open_start[fb.speaker] = fb.start_frame + int(off[-1]) + 1
                elif self._open_start[fb.speaker] is None:
                    self._open_start[fb.speaker] = fb.start_frame
                self._speech_frames[i] += int(fb.is_speech.sum())
                f0 = np.where(fb.is_speech, fb.f0_hz, np.nan).astype(np.float32)
                self._f0_median[fb.speaker].add(f0)
                self._trail[fb.speaker] = np.concatenate([self._trail[fb.speaker], f0])[-self._trail_n:]
                self._trail_speech[fb.speaker] = np.concatenate(
                    [self._trail_speech[fb.speaker], fb.is_speech])[-self._trail_n:]
            for spk, t in up.nuclei:
                self._nuclei[spk].append(t)
            horizon = self.grid.frames_to_s(self.pipeline.n_frames) - TRAIL_S
            for dq in self._nuclei.values():
                while dq and dq[0] < horizon:
                    dq.popleft()
            for tr in up.turns.transitions:
                self._gaps.append((tr.to_speaker, tr.offset_s, tr.kind))
            for t in up.turns.turns:
                self._counts[t.speaker]["turns"] += 1
            for e in up.turns.events:
                if e.kind in self._counts[e.speaker]:
                    self._counts[e.speaker][e.kind] += 1
            if rolling is not None:
                self._rolling = rolling

    # -- state for the view -----------------------------------------------------------------
    def snapshot(self) -> LiveState:
        with self._lock:
            total = int(self._speech_frames.sum())
            two = len(self.speakers) == 2
            final = []
            # overlaps as offline (measures.timing): own segments starting while the other speaks;
            # segments still open count up to what is final
            final_s = self.grid.frames_to_s(self.pipeline.n_frames)
            segs = list(self.builder.segments) + [
                Segment(s, self.grid.frames_to_s(k), final_s) for s, k in self._open_start.items() if k is not None]
            for i, s in enumerate(self.speakers):
                speech_trail_s = float(self._trail_speech[s].sum()) * self.grid.hop_s
                c = self._counts[s]
                final.append(SpeakerFinal(
                    name=s, speech_s=self._speech_frames[i] * self.grid.hop_s,
                    talk_share=(self._speech_frames[i] / total if total else None) if two else None,
                    f0_ref_hz=self._f0_median[s].median_hz(),
                    rate_syl_s=len(self._nuclei[s]) / speech_trail_s if speech_trail_s >= 2.0 else None,
                    turns=c["turns"] if two else None, overlaps=overlapping_starts(segs, s) if two else None,
                    interruptions=c["interruption"] if two else None,
                    backchannels=c["backchannel"] if two else None,
                    failed_interruptions=c["failed_interruption"] if two else None))
            now = tuple(SpeakerNow(s, float(self.meter.level_db[i]), float(self.meter.floor_db[i]),
                                   self._speaking_now[s] and not self._paused,
                                   None if self._paused else self._f0_now[s])
                        for i, s in enumerate(self.speakers))
            status = self._status if self._status != "running" else ("paused" if self._paused else "running")
            notes = () if two else ("one channel: " + self.speakers[0] + " only, so no turn-taking figures",)
            health = dict(self._health)
            health["state_delay_ms"] = _percentiles_ms(list(self.state_delays_s)[-500:])
            health["now_delay_ms"] = _percentiles_ms(list(self.now_delays_s)[-500:])
            return LiveState(
                speakers=self.speakers, turn_taking=self.pipeline.turn_taking,
                source_kind=("shared (found live)" if self.layout_watch is not None and self.layout_watch.switched
                             else health.get("layout", "")),
                elapsed_s=self.grid.samples_to_s(self.n_samples),
                final_s=self.grid.frames_to_s(self.pipeline.n_frames),
                paused=self._paused, now=now, final=tuple(final),
                trail_f0_hz={s: self._trail[s].copy() for s in self.speakers},
                last_gaps=tuple(self._gaps), rolling=self._rolling, health=health,
                bookmarks=tuple(self.bookmarks), saved_at_s=self._saved_at_s,
                output_path=str(self._saved_to or self.output_path), status=status,
                message=self._message if time.monotonic() < self._message_until else "", notes=notes,
                save_error=self._save_error, online=self._online_state(), online_note=self.online_note,
                record_error=self._record_error, layout_note=self._layout_note,
                input_notes=tuple(getattr(self.source, "found_while_read", list)()))

    def _online_state(self) -> OnlineState | None:
        """The online attribution so far (caller holds the lock)."""
        if self.online is None:
            return None
        from ..engine.online_speakers import LABELS
        hop = self.grid.hop_s
        return OnlineState(profile=self.online_profile, latency_s=self.online.latency_s,
                           decided_s=self.grid.frames_to_s(self._online_decided),
                           now=LABELS[self._online_now] if not self._paused else "silence",
                           speech_s={LABELS[k]: round(float(self._online_counts[k]) * hop, 2) for k in (1, 2, 3)},
                           changes=self._online_changes, other_heard=self.online.other_voice_known)

    def _online_record(self) -> dict | None:
        """``live.online_attribution`` of the saved JSON: the provisional labels as runs."""
        if self.online is None:
            return None
        from ..engine.online_speakers import LABELS, METHOD
        with self._lock:
            st = self._online_state()
            runs = [[round(self.grid.frames_to_s(a), 2), round(self.grid.frames_to_s(b), 2), LABELS[k]]
                    for a, b, k in self._online_runs]
        return {"method": METHOD, "provisional": True, "profile": st.profile, "latency_s": st.latency_s,
                "decided_s": round(st.decided_s, 2), "speech_s": st.speech_s, "changes": st.changes,
                "talk_share_therapist": None if st.talk_share is None else round(st.talk_share, 3),
                "segments": runs}

    # -- saving -----------------------------------------------------------------------------
    def _document(self, session: Session, *, complete: bool, reason: str | None, error: str | None) -> dict:
        doc = session.to_json_dict()
        doc["warnings"] = list(dict.fromkeys(list(doc.get("warnings", [])) + self.extra_warnings +
                                             list(self._health.get("warnings", []))))  # a file's, said once
        if complete:  # a speaker silent so far in an autosave may yet speak; at the end, say so (as analyze)
            from ..session import quiet_speech_warnings, same_sound_warning, silent_speaker_warnings
            # two devices of one sound: said first, then each speaker's speech as taken for the other's leak, as
            # analyze says channels named over a mix ("no speech was found" was said of them; hostile sweep 54)
            same = same_sound_warning(session)
            chans = (self.source.channel_numbers() if tuple(session.speakers) == tuple(self.source.speakers)
                     else None)  # not once found shared and read as one (its speakers are not the source's)
            alike = silent_speaker_warnings(session, channels_alike=bool(same), channels=chans)  # as analyze says
            quiet = quiet_speech_warnings(session, channels=chans)
            doc["warnings"] += [w for w in (same,) * bool(same) + alike + quiet if w not in doc["warnings"]]
        with self._lock:
            stopped_s, record_why, record_kept = self._record_stopped_at_s, self._record_why, self._record_kept
            paused = list(self.paused_intervals)
            if self._pause_start_s is not None:
                paused.append((self._pause_start_s, self.grid.samples_to_s(self.n_samples)))
            bookmarks = [{"time_s": b.time_s, "note": b.note} for b in self.bookmarks]
        capture = dict(self._health) if self._health else dict(self.source.health())
        capture["latency"] = {
            "device_input_s": capture.pop("device_latency_s", []),
            "state_delay_ms": _percentiles_ms(self.state_delays_s),
            "now_delay_ms": _percentiles_ms(self.now_delays_s),
            "final_delay_ms": _percentiles_ms(self.final_delays_s),
            "rolling_delay_ms": _percentiles_ms(self.rolling_delays_s),
            "pipeline_latency_s": self.grid.frames_to_s(self.pipeline.latency_frames),
        }
        capture.pop("queue_fill", None)
        doc["bookmarks"] = bookmarks
        doc["capture"] = capture
        doc["live"] = {
            "session_id": self.session_id,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "saved_at": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "complete": complete,
            "stop_reason": reason,
            "error": error,
            "captured_s": round(self.grid.samples_to_s(self.n_samples), 4),
            "analysed_s": round(session.duration_s, 4),
            "paused": [{"start_s": round(a, 3), "end_s": round(b, 3)} for a, b in paused],
            "frames_file": self.frames_path.name,
            # where this save is written (absolute): the store learns of the live session's own file on import,
            # and `delete` names it (hostile sweep 33); a fallback folder's file where the save went there
            "output_file": os.path.abspath(self.output_path),
            # the copy, where its name was lost; absolute: a relative --record read later against another
            # folder found no recording (an import or `play` run elsewhere; hostile sweep 28's leftover)
            "recording_file": (os.path.abspath(self._record_copy or self.record_path)
                               if self.record_path and not (self._record_dropped or self._record_none_kept)
                               else None),
            # false when the recording stopped before the capture did (at recording_stopped_s)
            "recording_complete": None if self.record_path is None or self._record_dropped else stopped_s is None,
            "recording_stopped_s": None if stopped_s is None else round(stopped_s, 3),
            # the file as this session left it (null in an autosave, or where none is kept): `import` takes
            # the file there then only if it still is (a later --record --overwrite of the name made import
            # fingerprint and play another session's audio as this one's; hostile sweep 29)
            "recording_sha256": self._record_sha256,
        }
        if self._record_dropped:
            doc["warnings"].append(f"nothing was captured before the stop: the empty recording {self.record_path} "
                                   "was removed")
        if stopped_s is not None:
            doc["warnings"].append(f"{RECORDING_STOPPED_MARK}{stopped_s:.1f} s ({record_why}): {record_kept}; "
                                   "the analysis went on")
        if self._record_moved:
            doc["warnings"].append(self._record_moved)
        online = self._online_record()
        if online is not None:
            doc["live"]["online_attribution"] = online
        if self.layout_watch is not None:
            doc["live"]["layout"] = self.layout_watch.record()
            doc["warnings"] = self.layout_watch.saved_warnings(doc["warnings"])
            if self.layout_watch.said and self.layout_watch.said not in doc["warnings"]:
                doc["warnings"].append(self.layout_watch.said)
        return doc

    def _arrays(self, session: Session) -> bytes:
        """The session's frames in the one frames file layout (``prosody.frames``), as the store keeps them."""
        return frames_to_npz_bytes({s: {k: session.frames[s][k] for k in FRAME_COLUMNS} for s in session.speakers},
                                   session.speakers)

    def _autosave(self) -> None:
        """Autosave of what is final so far; the open speech segments are
        closed at the analysed end, as a flush there would."""
        self._last_save_wall = time.monotonic()
        if self._writer is not None and self._writer.is_alive():
            return  # the previous write is still going; next interval
        if self._recorder is not None:
            try:
                self._recorder.flush()
            except Exception as exc:
                self._recording_failed(exc)
        rec = self._recorder
        if rec is not None and self._record_unplaced is not None:
            self._place(rec)
        elif rec is not None and self._record_mirror is not None:
            self._keep_mirror(rec)
        elif rec is not None and not _same_file(self._record_at, getattr(rec, "identity", None)):
            self._recorder = None  # its file is gone: said now, while live, not only at the end
            self._close_lost_recording(rec)
        session = self._closing_open_segments(self.builder.build())
        end_s = session.duration_s
        doc = self._document(session, complete=False, reason=None, error=None)
        arrays = self._arrays(session)
        self._writer = threading.Thread(target=self._write, args=(doc, arrays, end_s), name="prosody-autosave",
                                        daemon=True)
        self._writer.start()

    def _closing_open_segments(self, session: Session) -> Session:
        """``session`` with the speech segments still open closed at its analysed
        end, as a flush there would (an autosave, or a save after analysis broke
        and could not be flushed)."""
        end_s = session.duration_s
        with self._lock:
            opens = [Segment(s, self.grid.frames_to_s(k), end_s) for s, k in self._open_start.items()
                     if k is not None and self.grid.frames_to_s(k) < end_s]
        if not opens:
            return session
        return dataclasses.replace(session, segments=tuple(sorted(session.segments + tuple(opens),
                                                                  key=lambda x: (x.start_s, x.speaker))))

    def _write(self, doc: dict, arrays: bytes, end_s: float) -> None:
        with self._write_lock:
            try:
                self._save(doc, arrays)
            except OSError:
                return  # _save said so, loudly
            with self._lock:
                self._saved_at_s = end_s

    def _save(self, doc: dict, arrays: bytes) -> Path:
        """Write and verify the session at ``output_path``; when that fails, in
        a fallback folder (``fileio.rescue_folders``), so that nothing captured
        is lost. Returns where it went; raises OSError when nowhere took it.
        The failure is shown as a sticky message and in ``save_error``."""
        try:
            write_session(self.output_path, doc, arrays, claims=self._claims)
        except OSError as exc:  # a full disk said as one (was "No space left on device")
            why = write_error_text(exc, self.output_path)
            first = f"cannot write {self.output_path}: {why}"
            limited = is_past_size_limit(exc)  # this process's file-size limit: no folder takes the same files
        else:
            with self._lock:
                self._saved_to, self._save_error = self.output_path, ""
            return self.output_path
        tried = []
        for folder in () if limited else rescue_folders():
            target = self._rescue_target(folder)
            try:
                make_private_dirs(folder)  # the folders above it too (mkdir(parents=True) gives them the umask's mode)
                doc = {**doc, "live": {**doc["live"], "frames_file": frames_path_for(target).name,
                                       "output_file": os.path.abspath(target)}}
                write_session(target, doc, arrays, claims=self._claims)
            except OSError as exc:
                tried.append(f"{folder}: {write_error_text(exc, folder)}")
                continue
            with self._lock:
                self._wanted_why = why
                self._saved_to = target
                self._save_error = f"SAVE FAILED: {first}; saving to {target} instead"
                self._say(self._save_error, sticky=True)
            return target
        with self._lock:
            # the limit once, not again for each fallback folder (hostile sweep 54)
            self._save_error = (f"SAVE FAILED: {first}; no fallback folder was tried (the limit holds for every file)"
                                if limited else f"SAVE FAILED: {first}, and in no fallback folder ({'; '.join(tried)})")
            self._say(self._save_error, sticky=True)
        raise OSError(self._save_error)

    def _rescue_target(self, folder: Path) -> Path:
        """This session's file in a fallback folder: its own name, or with its
        start time added when another session's file has that name."""
        if self._saved_to is not None and self._saved_to.parent == folder:
            return self._saved_to
        target = folder / self.output_path.name
        if os.path.lexists(target):
            stem = self.output_path.name.removesuffix(".json")
            target = folder / f"{stem}-{self.started_at:%Y%m%d-%H%M%S}-{os.getpid()}.json"
        return target

    def _finish(self, error: str | None) -> None:
        reason = self._reason
        complete = True
        flushed = False
        try:
            if self._pending:
                block = np.concatenate(self._pending)
                self._pending, self._pending_n = [], 0
                if reason != "analysis error":
                    self._apply(self.pipeline.push(block))
                    self._online_push(block)
            if reason != "analysis error":
                self._watch_layout()
                was = self.pipeline
                self._apply(self.pipeline.flush())
                self._online_push(None)
                self._watch_layout(final=True)  # every checkpoint in the audio, whatever its blocks were
                if self.pipeline is not was:  # found shared at the end: the shared reading is flushed too
                    self._apply(self.pipeline.flush())
                    self._online_push(None)
                flushed = True
        except Exception as exc:  # analysis broke while finishing: save what is final
            complete = False
            error = error or error_text(exc)
            if reason not in ("device lost", "analysis error"):
                reason = "analysis error"
        if reason == "analysis error":
            complete = False
        if self._recorder is not None:  # closed before the save, so that the JSON says whether it is whole
            rec = self._recorder
            if self._record_unplaced is not None:
                self._recorder = None
                self._close_unplaced_recording(rec)
            elif self._record_mirror is not None:
                self._recorder = None
                self._close_mirrored_recording(rec)
            elif not _same_file(self._record_at, getattr(rec, "identity", None)):
                self._recorder = None  # a copy of what it holds kept before it is closed
                self._close_lost_recording(rec, at_end=True)
            else:
                self._close_recording(rec)
        if self.record_path is not None:  # one that stopped early too (closed then)
            self._fingerprint_recording()
        doc = None  # the document of a save that happened (a failed one reports none)
        saved_to = None
        try:
            session = self.builder.build()
            if not flushed:  # analysis broke: the segments still open end where the analysis ended
                session = self._closing_open_segments(session)
            final = self._document(session, complete=complete, reason=reason, error=error)
            if self._writer is not None:
                self._writer.join()
            with self._write_lock:
                saved_to = self._save(final, self._arrays(session))
            doc = final  # only a save that happened (written, read back) is reported as one
            with self._lock:
                self._saved_at_s = session.duration_s
                self._status = "saved"
        except Exception as exc:
            why = str(exc) if isinstance(exc, OSError) and str(exc).startswith("SAVE FAILED") \
                else f"saving failed: {error_text(exc)}"
            error = (error + "; " if error else "") + why
            with self._lock:
                self._status = "failed"
        moved = saved_to is not None and saved_to != self.output_path
        self.result = LiveResult(reason=reason, output_path=str(saved_to or self.output_path), error=error, doc=doc,
                                 wanted_path=str(self.output_path) if moved else None,
                                 wanted_why=self._wanted_why if moved else None,
                                 record_error=self._record_summary())
        self._done.set()


# -- files ----------------------------------------------------------------------------------

def frames_path_for(json_path: str | os.PathLike) -> Path:
    p = Path(json_path)
    stem = p.name[:-5] if p.name.endswith(".json") else p.name
    return p.with_name(stem + ".frames.npz")


def _atomic_write(path: Path, write) -> None:
    """Owner-only (0600) file replaced atomically; ``write(fileobj)`` fills it."""
    write_private(path, write)


def write_session(json_path: str | os.PathLike, doc: dict, arrays: bytes, *, claims: dict | None = None) -> None:
    """The frames first (``arrays``: a frames file's bytes, ``prosody.frames``),
    then the JSON that names them: a reader never sees a JSON whose frames file
    is older than itself. ``claims``: the files this session may replace
    (``fileio.write_claimed``): a live session never replaces another's saves."""
    json_path = Path(json_path)
    data = (json_text(doc, indent=2, default=_json_default) + "\n").encode("utf-8")
    for path, content in ((frames_path_for(json_path), arrays), (json_path, data)):
        if claims is None:
            _atomic_write(path, lambda f, content=content: f.write(content))
        else:
            write_claimed(path, content, claims)
    # verified: what is on disk is what was meant (a save is never reported that did not happen)
    if json_path.read_bytes() != data or not frames_path_for(json_path).is_file():
        raise OSError(f"{json_path} did not read back as written")
    # and the temporaries of a save killed in this folder before (this session's or another's): a
    # session's words and pitch under a hidden name, kept for good otherwise
    sweep_staged(json_path.parent, suffixes=(".json", ".frames.npz"))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def load_live_session(json_path: str | os.PathLike) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """A saved live session -> (JSON document, {speaker: {field: (n_frames,) array}}).
    Frames beyond the JSON's ``duration_s`` (a frames file newer than its JSON) are cut."""
    json_path = Path(json_path)
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    n = int(round(doc["duration_s"] / doc["frame_hop_s"]))
    # the one frames codec; it also reads live files written before it (keys ``{speaker}.{column}``,
    # without hf500_db)
    frames = read_frames_npz(json_path.with_name(doc["live"]["frames_file"]), doc["speaker_order"])
    return doc, {s: {k: a[:n] for k, a in f.items()} for s, f in frames.items()}


class _QuietFile:
    """The recording's file as libsndfile's virtual I/O sees it. An OSError
    (disk full) raised inside libsndfile's callback could not be caught and
    would be printed as a traceback; here a failed write returns 0 bytes
    written (libsndfile then reports a short write) and the error is kept in
    ``error``. Unbuffered, so that no audio waits in a Python buffer."""

    def __init__(self, raw):
        self.raw = raw
        self.error: Exception | None = None

    def write(self, data) -> int:
        view, done = memoryview(data), 0
        try:  # a short write is tried again: the second try says why (ENOSPC)
            while done < len(view):
                n = self.raw.write(view[done:])
                if not n:
                    break
                done += n
        except (OSError, ValueError) as exc:  # ValueError: written after the file was closed
            self.error = self.error or exc
        return done

    def read(self, n: int = -1) -> bytes:
        try:
            return self.raw.read(n)
        except (OSError, ValueError) as exc:
            self.error = self.error or exc
            return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return self.raw.seek(offset, whence)
        except (OSError, ValueError) as exc:
            self.error = self.error or exc
            return -1

    def tell(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError) as exc:
            self.error = self.error or exc
            return -1


_LOST_WHY = "its file was removed or replaced while it was recorded"
_SFC_UPDATE_HEADER_NOW = 0x1060  # libsndfile's sf_command: write the header's length now (sndfile.h)


class RecordingError(OSError):
    """A write to the ``--record`` file failed (its OSError's reason, when one was seen)."""


class _Recording:
    """Raw audio, owner-only, written from the analysis thread (never the callback)."""

    def __init__(self, path: Path, channels: int, *, exclusive: bool = False, append: bool = False):
        """``exclusive``: the file must not exist (nothing was there when the session was set up: a file
        there now is another program's, e.g. another live session recording under the same name).
        ``append``: ``path`` is a recording already (a WAV: libsndfile cannot add to a FLAC), written on at
        its end (a recording whose name was lost goes on in its rescue copy; hostile sweep 30)."""
        import soundfile as sf
        fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
        # never through a symbolic link (the CLI refuses one earlier; this closes the race); read too, for a copy
        # of a recording whose name is lost (``close_keeping_a_copy``); emptied only once it is this session's
        flags = os.O_RDWR | os.O_NOFOLLOW | (0 if append else os.O_CREAT | (os.O_EXCL if exclusive else 0))
        fd = os.open(str(path), flags, 0o600)
        try:
            _hold_alone(fd)
            if not append:
                os.ftruncate(fd, 0)
            os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            raise
        st = os.fstat(fd)
        self.identity = (st.st_dev, st.st_ino)  # the file this recording made (``_remove_own_file``)
        self._fileobj = _QuietFile(os.fdopen(fd, "w+b", buffering=0))
        self._appending = append
        self.flac = fmt == "FLAC"
        try:
            if append:
                self._f = sf.SoundFile(self._fileobj, mode="r+")
                self._f.seek(0, sf.SEEK_END)
            else:
                self._f = sf.SoundFile(self._fileobj, mode="w", samplerate=GRID.sample_rate, channels=channels,
                                       format=fmt, subtype="PCM_16")
        except BaseException:
            self._fileobj.raw.close()
            raise

    def _check(self, call, *args) -> None:
        try:
            call(*args)
        except Exception as exc:
            raise self._failure(exc) from None
        if self._fileobj.error is not None:  # libsndfile may not notice a short write at once
            raise self._failure(None)

    def _failure(self, exc: Exception | None) -> RecordingError:
        seen = self._fileobj.error
        if isinstance(seen, OSError):
            return RecordingError(seen.errno, seen.strerror or str(seen))
        return RecordingError(f"{type(exc).__name__}: {exc}".rstrip(": "))

    def write(self, x: np.ndarray) -> None:
        self._check(self._f.write, x)

    def flush(self) -> None:
        self._check(self._f.flush)
        if self._appending:  # libsndfile's read-write mode leaves the header's length as it was till the close
            self._check(self._update_header)

    def _update_header(self) -> None:
        import soundfile as sf
        snd, ffi, handle = getattr(sf, "_snd", None), getattr(sf, "_ffi", None), getattr(self._f, "_file", None)
        if snd is not None and ffi is not None and handle is not None:  # soundfile's libsndfile binding
            snd.sf_command(handle, _SFC_UPDATE_HEADER_NOW, ffi.NULL, 0)  # (another version: at the close)

    @property
    def fd(self) -> int:
        """The open file's descriptor (read with ``os.pread``: libsndfile's position is left as it is)."""
        return self._fileobj.raw.fileno()

    def close(self, *, last: Callable[[], None] | None = None) -> None:
        """libsndfile's close (the header made whole); ``last()``, where given, is called then, before the file
        is let go, even where the close failed (a mirrored recording's last copy: ``_Mirror``)."""
        try:
            self._check(self._f.close)
        finally:
            try:
                if last is not None:
                    last()
            finally:
                self._fileobj.raw.close()

    def close_keeping_a_copy(self, name: str) -> Path | None:
        """Closed, for a recording whose file no name reaches any more (its folder removed, the file deleted):
        the audio is still in the open file, so its bytes (the header made whole by the close) are copied as
        ``name`` into a rescue folder (``fileio.write_rescue``). Returns the copy, or None where none was made
        (the close failed, or no rescue folder took it)."""
        import shutil
        raw = self._fileobj.raw
        try:
            self._check(self._f.close)
            raw.seek(0)
            kept, _ = write_rescue(name, lambda f: shutil.copyfileobj(raw, f, HASH_CHUNK_BYTES))
            return kept
        except Exception:
            return None
        finally:
            raw.close()


class _Mirror:
    """The rescue copy of a FLAC recording whose name was lost, kept in step with it. libsndfile cannot add to
    a FLAC file, so the copy cannot be written on as a WAV's is (``_Recording(append=True)``): the recording goes
    on in its own open file, which no name reaches, and what that file holds is copied on into the copy at each
    autosave, and all of it once more at the close, its header made whole (it stopped at the loss, the rest of
    the capture thrown away; hostile sweep 31). Owner-only, ``O_NOFOLLOW``, held with ``flock``."""

    def __init__(self, source_fd: int, name: str):
        """The copy made (``fileio.write_rescue``) of what ``source_fd`` holds now; OSError where none was."""
        self._src = source_fd
        size = os.fstat(source_fd).st_size
        path, tried = _rescue_copy_of(source_fd, name)
        if path is None:
            raise OSError(f"no rescue folder took its copy ({'; '.join(tried)})")
        fd = os.open(str(path), os.O_WRONLY | os.O_NOFOLLOW)
        try:
            _hold_alone(fd)
            st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        self.path, self.identity, self._fd, self.copied = path, (st.st_dev, st.st_ino), fd, size
        self.copied_s = 0.0  # the capture's length at the last copy (set by the runner)

    def there(self) -> bool:
        """Whether the copy's name still reaches it (its folder may be removed too)."""
        return _same_file(self.path, self.identity)

    def sync(self, *, whole: bool = False) -> None:
        """What the recording's file holds now, copied on into the copy from where the last copy ended
        (``whole``: all of it again, once the close has written its header, and the copy cut to its length)."""
        end, before = os.fstat(self._src).st_size, self.copied
        write = lambda b, at: _pwrite_all(self._fd, b, at)  # noqa: E731
        _copy_range(self._src, before, end, write)
        if whole:  # the header last: a copy cut short never says it holds all of it
            _copy_range(self._src, 0, min(before, end), write)
            os.ftruncate(self._fd, end)
        os.fsync(self._fd)
        self.copied = end

    def close(self) -> None:
        os.close(self._fd)


def _loss_word(path: Path) -> str:
    """How the recording's file ``path``, no longer the file written, was lost: replaced, or gone."""
    return "is another file now" if os.path.lexists(path) else "is gone"


def _rescue_copy_of(fd: int, name: str) -> tuple[Path | None, list[str]]:
    """What the open file ``fd`` holds now, written as ``name`` into a rescue folder (``fileio.write_rescue``)."""
    size = os.fstat(fd).st_size
    return write_rescue(name, lambda f: _copy_range(fd, 0, size, lambda b, _: f.write(b)))


def _copy_range(src_fd: int, start: int, end: int, write: Callable[[bytes, int], object]) -> None:
    """Bytes ``[start, end)`` of ``src_fd`` (read with ``os.pread``) given to ``write(chunk, offset)``."""
    at = start
    while at < end:
        chunk = os.pread(src_fd, min(HASH_CHUNK_BYTES, end - at), at)
        if not chunk:
            break
        write(chunk, at)
        at += len(chunk)


def _pwrite_all(fd: int, data: bytes, at: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, at)
        view, at = view[n:], at + n


def _hold_alone(fd: int) -> None:
    """The recording's file ``fd`` locked for this session (``flock``, held till it is closed); BlockingIOError
    where another session holds it (it records into it now: a second `live --record r.wav --overwrite` emptied
    and wrote the file the first was recording, and both said it whole; hostile sweep 29). A file system
    without flock: not locked."""
    import errno
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if isinstance(exc, BlockingIOError) or exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            raise


def _continued_recording(copy: Path, channels: int) -> "_Recording | str":
    """The rescue ``copy`` of a recording whose name was lost, opened to go on at its end; else why not."""
    if copy.suffix.lower() == ".flac":
        return "libsndfile cannot add to a FLAC file"
    try:
        return _Recording(copy, channels, append=True)
    except Exception as exc:
        return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _frames_in(path: Path) -> int:
    """Samples per channel in the sound file ``path`` (-1 where it cannot be read as one)."""
    import soundfile as sf
    try:
        return sf.info(str(path)).frames
    except Exception:
        return -1


def _same_file(path: Path, identity: tuple[int, int] | None) -> bool:
    """Whether ``path`` is still the file ``identity`` (st_dev, st_ino) names (True when none is known)."""
    if identity is None:
        return True
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == identity


def _remove_own_file(path: Path, identity: tuple[int, int] | None) -> bool:
    """Remove ``path`` if it is still the file ``identity`` (st_dev, st_ino) names; whether it was removed."""
    try:
        st = os.stat(path, follow_symlinks=False)
        if identity is None or (st.st_dev, st.st_ino) != identity:
            return False
        os.unlink(path)
    except OSError:
        return False
    return True


def _open_recording(path: Path, channels: int, *, exclusive: bool = False) -> _Recording:
    if path.suffix.lower() not in (".wav", ".flac"):
        raise InputError(f"--record {path}: use a .wav or .flac file name")
    try:
        return _Recording(path, channels, exclusive=exclusive)
    except FileExistsError:  # not the user's input: exit 1, as the OSError it was
        raise CaptureError(f"--record {path}: another program made a file of that name meanwhile (another live "
                         "session recording under the same name?); it was left as it is and nothing was "
                         "recorded: take another name") from None
    except BlockingIOError:
        raise CaptureError(f"--record {path}: another live session is recording into that file now (--overwrite "
                           "replaces a finished recording, never one being made); it was left as it is and nothing "
                           "was recorded: take another name") from None
