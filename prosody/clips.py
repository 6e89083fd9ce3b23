"""The session's own audio, when it is at hand: find it, check it, cut moments.

A session remembers the audio it was analysed from in ``doc["audio"]``
(written by ``prosody analyze --save`` / ``--json`` and ``prosody import`` of
a live session recorded with ``--record``)::

    "audio": {"files": [{"path": "/abs/rec.flac", "sha256": "...", "bytes": 123}],
              "picks": {"therapist": [0, 0], "client": [0, 1]},   # (file, channel) per speaker
              "offset_s": 0.0}                                     # second file's start on the timeline

The files are found by their stored path and accepted only when their
SHA-256 still matches; otherwise ``locate`` says why in one line and nothing
is played or embedded. Clips are cut at the file's own sample rate, channels
in speaker order, so a clip of ``[a, b)`` holds exactly the samples
``round(a * rate) .. round(b * rate)`` of the recording (two files at other
rates: the higher, the other file resampled to it).
"""
from __future__ import annotations

import base64
import io
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DeviceLost, InputError
from .fileio import being_recorded
from .fileio import file_sha256

CONTEXT_S = 3.0          # played / embedded around a moment
MAX_CLIP_S = 40.0        # a clip never runs longer (a long monologue plays its start)
PLAY_PAD_S = 0.1         # silence played before and after a stretch (``play``): the output's start and close cut
PLAY_STALL_S = 5.0       # the output asked for no samples this long mid-play: taken as gone (``play``)
PLAY_CLOSE_WAIT_S = 2.0  # the output's close waited for this long at most (``play``)
CLIP_FORMATS = {"opus": ("OGG", "OPUS", "audio/ogg"), "flac": ("FLAC", "PCM_16", "audio/flac")}
FLAC_MAX_RATE = 655_350  # FLAC's highest sample rate; a recording may have up to 768 kHz (engine.sources)




def audio_record(paths, speakers, picks, *, offset_s: float = 0.0) -> dict:
    """The ``doc["audio"]`` entry for recordings ``paths`` (hashed now)."""
    files = []
    for p in paths:
        p = Path(p).resolve()
        files.append({"path": str(p), "sha256": file_sha256(p), "bytes": p.stat().st_size})
    return {"files": files, "picks": {s: [int(fi), int(ci)] for s, (fi, ci) in zip(speakers, picks)},
            "offset_s": float(offset_s)}


def recording_paths(doc: dict) -> list[str]:
    """Every recording a session document names: its fingerprinted audio files,
    a live session's ``--record`` file, and its sources given as absolute paths
    (what no output may replace). A path with a NUL byte names no file (imported before import
    refused it): left out, where the outputs' guard raised ValueError, an internal error."""
    if not isinstance(doc, dict):
        return []
    audio = doc.get("audio") if isinstance(doc.get("audio"), dict) else {}
    files = audio.get("files") if isinstance(audio.get("files"), list) else []
    out = [f["path"] for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]
    live = doc.get("live") if isinstance(doc.get("live"), dict) else {}
    if isinstance(live.get("recording_file"), str):
        out.append(live["recording_file"])
    out += [p for p in doc.get("sources") or [] if isinstance(p, str) and os.path.isabs(p)]
    return [p for p in out if "\0" not in p]


def channel_used(doc: dict) -> int | None:
    """The 0-based channel a session's voices were cut from where the other channel was
    silent (``attribution.channel_used``, 1-based in the JSON), or None."""
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else {}
    used = att.get("channel_used")
    return used - 1 if isinstance(used, int) and not isinstance(used, bool) and used >= 1 else None


def live_audio_record(doc: dict) -> tuple[dict | None, str | None]:
    """For a live session recorded with ``--record``: (its recording file (one channel per speaker, in speaker
    order), hashed now, or None without one; None, or the line why it is not taken). A file that is not the one
    the session saved (its ``live.recording_sha256``: replaced since, e.g. by a later ``live --record`` of the
    name with ``--overwrite``) is not taken: its moments would play another session's audio as this one's."""
    live = doc.get("live") if isinstance(doc.get("live"), dict) else {}
    path = live.get("recording_file")
    if not isinstance(path, str) or not Path(path).is_file():
        return None, None
    if live.get("complete") is False and being_recorded(path):  # an autosave of a session still running
        held = live.get("analysed_s")
        held = f"first {held:.1f} s" if isinstance(held, (int, float)) and np.isfinite(held) else "start"
        return None, (f"a live session is still recording into {path}: this is an autosave of its {held}, "
                      "imported without its audio (still being written); import the session again once it has "
                      "ended (that import replaces this one, with its audio)")
    rec = _live_audio_record(doc, path)
    saved = live.get("recording_sha256")
    if isinstance(saved, str) and rec["files"][0]["sha256"] != saved:
        return None, (f"the recording {path} has changed since the live session saved it (its SHA-256 differs: "
                      "another recording under that name?): imported without its audio, so its moments cannot "
                      "be played")
    return rec, None


def _live_audio_record(doc: dict, path: str) -> dict:
    from .engine.sources import AudioFile
    speakers = list(doc.get("speaker_order") or [])
    n_channels = AudioFile(path).channels  # voices attributed again from a mono recording share its one channel
    used = channel_used(doc)  # the one channel diarized where the other was silent
    if used is not None and used < n_channels:
        return audio_record([path], speakers, [(0, used)] * len(speakers))
    return audio_record([path], speakers, [(0, min(i, n_channels - 1)) for i in range(len(speakers))])


@dataclass(frozen=True)
class Audio:
    """Verified audio of a session: ``files`` (paths), ``picks`` per speaker,
    ``offset_s`` of the second file."""

    files: tuple[str, ...]
    speakers: tuple[str, ...]
    picks: tuple[tuple[int, int], ...]
    offset_s: float
    sample_rate: int
    rates: tuple[int, ...] = ()  # each file's own rate, where they differ (``sample_rate`` the highest)
    as_recorded: bool = False  # both voices on every channel (a shared or mono layout): listened to as recorded

    def listen(self, start_s: float, end_s: float) -> np.ndarray:
        """``cut`` as stereo for listening (``play``, the report's clips): therapist left, client right where each
        voice has a channel of its own (after ``relabel`` too: the voice followed); a recording of both voices on
        every channel as recorded, its first channel left, whoever is named which. Its speakers' channels followed
        the names, and a shared recording played left and right exchanged after `relabel` (hostile sweep 63)."""
        x = self.cut(start_s, end_s)
        if self.as_recorded:  # each channel read once, in the recording's order
            firsts = {}
            for k, pick in enumerate(self.picks):
                firsts.setdefault(tuple(pick), k)
            x = x[:, [firsts[p] for p in sorted(firsts)]]
        return to_playback(x)

    def length_s(self) -> float:
        """How far the session's timeline runs in its recordings, in seconds: the longest file's end, the second
        file's shifted by ``offset_s``; 0.0 where no file's length is known (a chained Ogg). A live recording
        may run on past the audio analysed when the session stopped."""
        from .engine.sources import AudioFile
        ends = []
        for fi, path in enumerate(self.files):
            f = AudioFile(path)
            if f.n_samples >= 0:
                ends.append(f.n_samples / f.sample_rate + (self.offset_s if fi == 1 else 0.0))
        return max(ends, default=0.0)

    def cut(self, start_s: float, end_s: float) -> np.ndarray:
        """Samples ``[round(start_s*rate), round(end_s*rate))`` of the session's
        timeline, shape (n, n_speakers) float32, speaker order; zeros outside
        the recording. A file at another rate than ``sample_rate`` (``rates``: two
        recorders) is resampled to it."""
        from .engine.sources import AudioFile
        rate = self.sample_rate
        a, b = int(round(start_s * rate)), int(round(end_s * rate))
        out = np.zeros((max(0, b - a), len(self.speakers)), np.float32)
        for fi, path in enumerate(self.files):
            rate_f = self.rates[fi] if fi < len(self.rates) else rate
            if rate_f != rate:
                self._cut_resampled(out, a, b, fi, path, rate_f)
                continue
            shift = int(round(self.offset_s * rate)) if fi == 1 else 0
            fa, fb = a - shift, b - shift
            lo = max(0, fa)
            if fb <= lo:
                continue
            x = AudioFile(path).read(lo, fb)  # the analysis's own reader: WAV/FLAC/Ogg, and M4A/MP4 through FFmpeg
            for k, (pf, ci) in enumerate(self.picks):
                if pf == fi:
                    out[lo - fa:lo - fa + len(x), k] = x[:, ci]
        return out

    def _cut_resampled(self, out: np.ndarray, a: int, b: int, fi: int, path: str, rate_f: int) -> None:
        """File ``fi``'s part of ``[a, b)`` (samples at ``sample_rate``), read at its own ``rate_f`` and resampled
        into ``out``: two files of other rates (two recorders) were analysed, but neither played nor clipped ("the
        recordings have different sample rates", hostile sweep 36)."""
        import soxr
        from .engine.sources import AudioFile
        rate = self.sample_rate
        shift_s = self.offset_s if fi == 1 else 0.0
        fa, fb = int(round((a / rate - shift_s) * rate_f)), int(round((b / rate - shift_s) * rate_f))
        lo = max(0, fa)
        if fb <= lo:
            return
        x = AudioFile(path).read(lo, fb)
        if not len(x):
            return
        y = soxr.resample(np.ascontiguousarray(x, np.float32), rate_f, rate)
        at = max(0, int(round((lo / rate_f + shift_s) * rate)) - a)
        n = max(0, min(len(y), len(out) - at))
        for k, (pf, ci) in enumerate(self.picks):
            if pf == fi:
                out[at:at + n, k] = y[:n, ci]


def locate(doc: dict, *, use: str = "play") -> tuple[Audio | None, str]:
    """The session's audio if every file is where it was and unchanged;
    else (None, one plain line why, ending "no audio to USE": `enrol --from-session` said "no audio to play"
    and "not played", hostile sweep 48). The files are opened with the reader the
    analysis used (``engine.sources.AudioFile``), so every format it reads plays."""
    from .engine.sources import AudioFile
    rec = doc.get("audio") if isinstance(doc.get("audio"), dict) else None
    if rec is None:  # never guessed (e.g. from a live recording_file): only a fingerprinted file is played
        return None, ("no audio for this session: it was saved without a fingerprint of its recording "
                      "(analyse with --save, or record live with --record and import the session)")
    files = rec.get("files") or []
    for f in files:
        p = Path(str(f.get("path")))
        if not p.is_file():
            return None, f"the recording {p} {_not_a_file(p)}: no audio to {use}"
        if f.get("sha256") and file_sha256(p) != f["sha256"]:
            return None, f"the recording {p} has changed since the analysis (its SHA-256 differs): no audio to {use}"
    speakers = tuple(doc.get("speaker_order") or ())
    picks = tuple(tuple(rec.get("picks", {}).get(s, (0, i))) for i, s in enumerate(speakers))
    rates, channels = [], []
    for f in files:
        try:
            af = AudioFile(str(f["path"]))
        except InputError as exc:
            return None, f"the recording {f['path']} cannot be read ({exc})"
        rates.append(af.sample_rate)
        channels.append(af.channels)
    for s, (fi, ci) in zip(speakers, picks):  # a session imported from elsewhere may name any channel
        if not (0 <= fi < len(files) and 0 <= ci < channels[fi]):
            return None, (f"the session reads the {s} from channel {ci + 1} of recording {fi + 1}, which the "
                          f"recording does not have: no audio to {use}")
    if not rates:
        return None, f"the session names no recording file: no audio to {use}"
    att = doc.get("attribution") if isinstance(doc.get("attribution"), dict) else {}
    return Audio(tuple(str(f["path"]) for f in files), speakers, picks, float(rec.get("offset_s") or 0.0),
                 max(rates), tuple(rates), as_recorded=att.get("layout") in ("shared", "mono")), ""


def _not_a_file(p: Path) -> str:
    """Why ``p``, once the session's recording, is no longer a file to read: gone, or something else now."""
    import stat
    from .fileio import _kind_of
    try:
        mode = p.stat().st_mode
    except OSError:
        return "is not there any more (moved or deleted)"
    if stat.S_ISDIR(mode):
        return "is a folder now, not the recording"
    return f"is {_kind_of(mode) or 'no regular file'} now, not the recording"


def clip_span(start_s: float, end_s: float, *, duration_s: float, context_s: float = CONTEXT_S,
              max_s: float = MAX_CLIP_S) -> tuple[float, float]:
    """A moment with ``context_s`` around it, within the session, at most ``max_s`` long."""
    a = max(0.0, start_s - context_s)
    b = min(duration_s, max(end_s, start_s) + context_s)
    return a, min(b, a + max_s)


def to_playback(x: np.ndarray) -> np.ndarray:
    """Speaker channels -> stereo for listening: therapist left, client right
    (a single speaker on both)."""
    if x.shape[1] == 1:
        return np.repeat(x, 2, axis=1)
    return np.ascontiguousarray(x[:, :2])


def encode_clip(x: np.ndarray, sample_rate: int, fmt: str = "opus") -> bytes:
    """Encode (n, channels) float32 as Ogg Opus or FLAC bytes."""
    import soundfile as sf
    if fmt not in CLIP_FORMATS:
        raise InputError(f"clip format {fmt!r}: choose one of {', '.join(CLIP_FORMATS)}")
    container, subtype, _ = CLIP_FORMATS[fmt]
    rate = sample_rate
    # Opus takes five rates; FLAC none above 655,350 Hz: a 705.6 or 768 kHz recording (analysed, as any of
    # 4-768 kHz) stopped `report --clips --clips-format flac` with an internal error (hostile sweep 36)
    to = (48000 if fmt == "opus" and rate not in (8000, 12000, 16000, 24000, 48000) else
          192000 if fmt == "flac" and rate > FLAC_MAX_RATE else None)
    if to is not None:
        import soxr
        x = soxr.resample(x, rate, to).astype(np.float32)
        rate = to
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), rate, format=container, subtype=subtype)
    return buf.getvalue()


def data_uri(data: bytes, fmt: str = "opus") -> str:
    return f"data:{CLIP_FORMATS[fmt][2]};base64,{base64.b64encode(data).decode('ascii')}"


def play(x: np.ndarray, sample_rate: int, *, device=None, device_text: str | None = None, on_start=None) -> None:
    """Play (n, channels) float32 through sounddevice and wait until done.
    ``on_start()`` is called once the output device has accepted the stream's
    settings, just before playing (never when the device is refused). The samples go out between
    ``PLAY_PAD_S`` of silence either side: without it the stream's close lost the last 16-25 ms of the stretch,
    and its start at times the first 60-70 ms (a PulseAudio null sink's monitor, 3 of 3 plays; hostile sweep 19).
    ``device_text``: the device as the person gave it, for messages (``device`` may be PortAudio's ``pulse``
    standing for a sound server's sink). Raises :class:`DeviceLost` when the output stops before the stretch was all handed to it (the sound server
    killed, a headset unplugged: ``sounddevice.play`` returned as if done), and when it asks for no samples for
    ``PLAY_STALL_S`` (a frozen sound server: the wait and the stream's close were for ever, Ctrl-C too)."""
    from .live.devices import SOUND_SERVER_WAIT_S, answered_within, import_sounddevice
    try:  # within SOUND_SERVER_WAIT_S: PortAudio's start on a frozen sound server waited for ever, Ctrl-C too
        sd = import_sounddevice()
    except (ImportError, OSError) as exc:
        raise InputError(f"cannot play audio: sounddevice/PortAudio is not available ({exc})") from None
    shown = device if device_text is None or isinstance(device, int) else device_text  # a number unquoted
    which = "the default output device" if shown is None else f"output device {shown!r}"
    unanswered = (f"{which} did not answer: the sound server had not opened it in {SOUND_SERVER_WAIT_S:.0f} s (a "
                  "PulseAudio or PipeWire server that is frozen or hung; restart it); nothing was played")
    pad = np.zeros((int(round(PLAY_PAD_S * sample_rate)), x.shape[1]), np.float32)
    feed = _Feed(np.concatenate([pad, np.asarray(x, np.float32), pad]), stop=sd.CallbackStop)
    try:
        answered_within(lambda: sd.check_output_settings(device=device, channels=x.shape[1], samplerate=sample_rate,
                                                         dtype="float32"), wait_s=SOUND_SERVER_WAIT_S, what=unanswered)
        if on_start is not None:
            on_start()
        stream = answered_within(lambda: sd.OutputStream(
            samplerate=sample_rate, device=device, channels=x.shape[1], dtype="float32", latency="high",  # no gaps
            callback=feed, finished_callback=feed.finished.set), wait_s=SOUND_SERVER_WAIT_S, what=unanswered)
        try:
            answered_within(stream.start, wait_s=SOUND_SERVER_WAIT_S, what=unanswered)
            fed = _fed_to_the_end(feed, stall_s=PLAY_STALL_S)
        finally:  # also on Ctrl-C or a stop signal, as the stream's `with` closed it
            _close_within(stream, wait_s=PLAY_CLOSE_WAIT_S)
        if not fed:
            raise DeviceLost(f"{which} stopped answering while playing (it asked for nothing in "
                             f"{PLAY_STALL_S:.0f} s); {_played_text(feed, pad, sample_rate)}")
    except (sd.PortAudioError, ValueError, OverflowError) as exc:  # OverflowError: a device number beyond a C int
        if feed.position_samples:
            raise DeviceLost(f"{which} was lost while playing ({exc}); "
                             f"{_played_text(feed, pad, sample_rate)}") from None
        raise InputError(f"cannot play on {which}: {exc}; give a device number or name with --device "
                         "(`prosody devices` lists them)") from None
    if feed.position_samples < len(feed.samples):
        raise DeviceLost(f"{which} stopped while playing (the sound server or the device went away); "
                         f"{_played_text(feed, pad, sample_rate)}")


def _fed_to_the_end(feed: "_Feed", *, stall_s: float) -> bool:
    """Waits for ``feed``'s stream to end; False when it asked for no samples for ``stall_s`` seconds first (a
    sound server frozen mid-play: the wait was for ever, hostile sweep 26)."""
    seen, moved = feed.position_samples, time.monotonic()
    while not feed.finished.wait(0.25):
        if feed.position_samples != seen:
            seen, moved = feed.position_samples, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            return False
    return True


def _close_within(stream, *, wait_s: float) -> None:
    """Closes ``stream`` (its pending buffers dropped), waiting up to ``wait_s`` seconds: the close of a stream on
    a device that stopped answering (a frozen sound server) waits on it for ever, Ctrl-C too (hostile sweep 26);
    it is then left to a daemon thread."""
    from .live.devices import let_go_within
    let_go_within(lambda: stream.close(ignore_errors=True), wait_s=wait_s)


def _played_text(feed: "_Feed", pad: np.ndarray, sample_rate: int) -> str:
    played_s = min(max(feed.position_samples - len(pad), 0), len(feed.samples) - 2 * len(pad)) / sample_rate
    return f"{played_s:.1f} of {(len(feed.samples) - 2 * len(pad)) / sample_rate:.1f} s were handed to it"


class _Feed:
    """An output stream's callback handing out ``samples`` ((n, channels) float32) block by block; its
    ``position_samples`` is how many were handed out, ``finished`` is set when the stream ends (done, aborted or
    lost). ``stop`` is the exception class that ends the stream once all are out (``sounddevice.CallbackStop``)."""

    def __init__(self, samples: np.ndarray, *, stop: type[Exception]):
        self.samples = samples
        self.position_samples = 0
        self.finished = threading.Event()
        self._stop = stop

    def __call__(self, outdata, frames, time_info, status) -> None:
        n = min(frames, len(self.samples) - self.position_samples)
        outdata[:n] = self.samples[self.position_samples:self.position_samples + n]
        outdata[n:] = 0.0
        self.position_samples += n
        if self.position_samples >= len(self.samples):
            raise self._stop


__all__ = ["Audio", "audio_record", "channel_used", "clip_span", "data_uri", "encode_clip", "live_audio_record",
           "locate", "play",
           "to_playback"]
