"""Block sources: decode files (or take arrays), resample once to the analysis
rate, and lay channels out as speakers. Everything the pipeline receives is
float32 of shape (n_samples, n_speakers) at 16 kHz.

File formats: WAV (16/24/32-bit int, 32/64-bit float), FLAC, OGG/Vorbis/Opus,
MP3 through libsndfile (``soundfile``); M4A/AAC/MP4 and other containers
through FFmpeg's libraries (``av``, optional) when installed.
"""
from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

from ..fileio import c_stderr_captured, check_input_file, missing_file_text
from ..errors import DecoderMissingError, InputError
from ..timebase import GRID, clock_text
from ..types import UNATTRIBUTED, name_problem
from ..typed_text import alike_names

MIN_RATE_HZ, MAX_RATE_HZ = 4000, 768000
MAX_CHANNELS = 64
FFMPEG_SUFFIXES = {".m4a", ".mp4", ".aac", ".wma", ".webm", ".mka", ".3gp", ".caf", ".amr", ".mov", ".m4v", ".m4b",
                   ".mkv", ".3g2", ".wmv", ".asf"}
# libsndfile shortens a header's length to the data present and says so only in its
# log ("data : 192000 (should be 96000)"); sizes from _UNKNOWN_LENGTH up are the
# placeholders that streaming writers leave (ffmpeg to a pipe writes 0xFFFFFFFF)
_SIZE_MISMATCH = re.compile(r"^\s*[A-Za-z][\w ]*?\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)
_UNKNOWN_LENGTH = 0x7FFFF000
_RF64_UNKNOWN_LENGTH = 1 << 48  # an RF64's placeholder sizes (2^48 bytes is 66 days of 64 channels at 192 kHz)
_RF64_DATA_SIZE = re.compile(r"^\s*Data size\s*:\s*(\d+)", re.M)  # an RF64's 'ds64' size in libsndfile's log
MATROSKA = "matroska,webm"  # FFmpeg's name of the Matroska/WebM demuxer
CAF = "caf"  # FFmpeg's name of the Core Audio Format demuxer
# a whole Matroska/WebM file decodes to its header's Duration within a codec's delay and last frame (ffmpeg's, at
# 16 kHz: Vorbis 7.515 s given, 7.512 s decoded; at 8 kHz 0.021 s short; AAC 0.043 s long): a shortfall beyond this
# is a file cut short
CONTAINER_SLACK_S = 0.5
SALVAGE_SAMPLES = 1024       # read size after a decoding error, to keep what decodes before the break
PREROLL_S = 1.0              # decoded and dropped before a seek target: a lossy decoder's state settles
SNDFILE_UNKNOWN_FRAMES = 1 << 62  # libsndfile gives SF_COUNT_MAX (2**63 - 1) as the length of a file it cannot tell
OGG_TAIL_BYTES = 1 << 17     # an Ogg page is at most 65,307 bytes: the last one lies in this tail
_PCM_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
              "FLOAT": 4, "DOUBLE": 8}


class AudioFile:
    """One decoded file, read in blocks at its own rate.

    ``blocks(block_length)`` yields float32 (n, channels) arrays. ``warnings``
    collects non-fatal problems (e.g. a truncated file) for the caller to show.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.warnings: list[str] = []
        self._decoder_said: list[str] = []  # what libsndfile's MP3 decoder printed (fileio.c_stderr_captured)
        _check_path(self.path)
        self._backend = None
        self._format = None
        self.subtype = None  # libsndfile's name of the samples' encoding ("PCM_16", "FLOAT"...); None: FFmpeg decodes
        self._exact_length = False  # ffmpeg: the container's length is exact; drop decoder padding after it
        self._container_claimed = 0  # samples a Matroska/WebM or CAF file's header gives (FFmpeg's stream none)
        self._claimed_exactly = False  # that count is the recording's own (a CAF's packet table): no slack
        self._flac_claimed = 0  # samples a FLAC's header gives where libsndfile cannot reach its end (FFmpeg decodes)
        try:
            with c_stderr_captured(self._decoder_said):
                info = sf.info(str(self.path))
            self._backend = "sndfile"
            self.sample_rate, self.channels, self.n_samples = int(info.samplerate), int(info.channels), int(info.frames)
            self._format = info.format
            self.subtype = info.subtype
            if self.n_samples >= SNDFILE_UNKNOWN_FRAMES:  # libsndfile's "length unknown" (a chained Ogg)
                self.n_samples = -1
            self._header_n_samples = _header_n_samples(info, self.n_samples)
            if self._format == "OGG" and _ogg_links(self.path) > 1:
                self.warnings.append(
                    f"{self.path} is a chained Ogg file (recordings joined end to end); only its first part "
                    "was read, as libsndfile reads one: to analyse all of it, convert it first, e.g. `ffmpeg -i "
                    f"{_shell_word(self.path)} -c:a flac whole.flac`")
            if self._format == "OGG" and (n_streams := _ogg_audio_streams(self.path)) > 1:
                # streams side by side (a track each, as ffmpeg muxes two): libsndfile decodes the first alone,
                # and a two-person Ogg was analysed as one voice unsaid (hostile sweep 59)
                self.warnings.append(self._streams_words(n_streams))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            try:  # a file this user may not read is said as such (libsndfile: 'System error', as if damaged)
                open(self.path, "rb").close()
            except OSError as os_exc:
                raise InputError(f"cannot read {self.path} ({os_exc.strerror or os_exc})") from None
            sndfile_error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            if "does not exist or is not a regular file" in sndfile_error:  # libsndfile's word for "cannot parse"
                sndfile_error = "too short or damaged to hold audio"
            sndfile_error = _wav_rate_fault(self.path) or _id3_alone(self.path) or sndfile_error
            self._open_ffmpeg(sndfile_error)
        if self._backend == "sndfile" and self._format == "FLAC" and self.n_samples == -1:
            self._open_unsized_flac()
        elif self._backend == "sndfile" and self._format == "FLAC" and not self._sndfile_reaches_end():
            # a header claiming more than the file holds (10 hours over 8 s; or a FLAC cut short): libsndfile
            # seeks there, fails (psf_fseek, as for a FLAC written to a pipe) and drops the last frame it holds
            self._flac_claimed = self.n_samples
            self._open_through_ffmpeg()
        elif self._backend == "sndfile" and self._format == "MP3" and all(self._mp3_guess()):
            self._open_through_ffmpeg()  # a VBR MP3 without a length header: libsndfile stops at its guess
        _check_header(self)
        unheaded = (_wav_unheaded(self.path) if self._backend == "sndfile" and self._format in UNHEADED_FORMATS
                    else None)
        if unheaded is not None:  # samples after the data its header gives: a recording still being written
            heard_s, more_s = unheaded
            fix = ("analyse it once the recording is finished; if it is, " + (
                "export it again from the app that recorded it (no converter reads past a CAF's 'data' size)"
                if self._format == "CAF" else f"rewrite its header first, e.g. `ffmpeg -ignore_length 1 -i "
                f"{_shell_word(self.path)} -c:a flac whole.flac`"))
            if self.n_samples == 0:  # it said "no audio in" a file holding all of it
                raise InputError(f"{self.path}'s header says it holds no audio (0 bytes), but {more_s:.2f} s of "
                                 "samples follow it: a recording still being written, or one whose recorder stopped "
                                 f"before it wrote its header: {fix}")
            self.warnings.append(f"{self.path}'s header gives {heard_s:.2f} s of audio, but {more_s:.2f} s more of "
                                 "samples follow that in the file (a recording still being written, or one whose "
                                 f"recorder stopped before it updated its header): only the first {heard_s:.2f} s "
                                 f"were analysed; {fix}")
        if self._backend == "sndfile" and self.n_samples == 0 and self._header_n_samples == 0:
            raise InputError(f"no audio in {self.path}")

    def _streams_words(self, n_streams: int) -> str:
        """The warning for a file of ``n_streams`` audio streams of which only the first is read."""
        return (f"{self.path} holds {n_streams} audio streams; only the first "
                f"({self.channels} channel{'s' if self.channels != 1 else ''}) was analysed: to analyse "
                f"the others, extract each track (`ffmpeg -i {_shell_word(self.path)} -map 0:a:1 -c:a "
                "flac track2.flac` for the second; 0:a:0 is the first) and give two tracks as two files, "
                "the therapist's first")

    def _open_ffmpeg(self, sndfile_error: str) -> None:
        try:
            import av  # optional: FFmpeg's libraries
        except ImportError:
            kind = _ffmpeg_container(self.path)
            if kind is not None or self.path.suffix.lower() in FFMPEG_SUFFIXES:
                what = f"{kind}, which" if kind is not None else self.path.suffix
                raise DecoderMissingError(
                    f"cannot decode {self.path} ({what} needs FFmpeg): "
                    "install it with `pip install av` (or convert the file to WAV/FLAC)") from None
            raise InputError(f"cannot decode {self.path}: not a readable audio file ({sndfile_error})") from None
        try:
            with av.open(str(self.path)) as container:
                self._ffmpeg_format = container.format.name  # "wav" for two WAVs joined, which libsndfile refuses
                streams = container.streams.audio
                if not streams:
                    raise InputError(f"cannot decode {self.path}: it has no audio stream")
                st = streams[0]
                self.sample_rate = int(st.rate or st.codec_context.sample_rate)
                self.channels = int(st.codec_context.channels)
                self.n_samples = int(st.duration * st.time_base * self.sample_rate) if st.duration else -1
                if self.sample_rate < 1 or self.channels < 1:  # FFmpeg's guess at a file that is not audio
                    raise InputError(f"cannot decode {self.path}: not a readable audio file ({sndfile_error})")
                # MP4/M4A give the length exactly (edit list); the AAC decoder adds up to a
                # codec frame of encoder padding after it. Other containers only estimate it.
                self._exact_length = container.format.name.startswith("mov") and self.n_samples > 0
                if container.format.name == MATROSKA and self.n_samples < 0 and container.duration:
                    # the Segment's Duration, written when the recording was finished (none when it was streamed):
                    # the longest track's, so of a file of more tracks the first audio track's own DURATION tag
                    # (FFmpeg's muxer writes one per track), else no claim (a 12 s therapist's track beside a
                    # 40 s client's was said "truncated: its header says 40.28 s, read 12.10 s": hostile sweep 55)
                    if len(container.streams) == 1:
                        self._container_claimed = int(container.duration * self.sample_rate / av.time_base)
                    else:
                        self._container_claimed = int((_track_duration_s(st.metadata.get("DURATION")) or 0.0)
                                                      * self.sample_rate)
                elif container.format.name == CAF and st.frames > 0:
                    # the 'data' chunk's size (none when it was streamed: size -1); FFmpeg's own duration is the
                    # bytes there are, so a CAF cut short read short unsaid (sweep 49). With a packet table (ALAC,
                    # AAC) FFmpeg's count adds the last packet's padding: an ALAC CAF of 7.50 s cut short was said
                    # "its header says 7.68 s" and one 0.07 s short of 7.68 not at all: the table's valid frames
                    valid = _caf_valid_frames(self.path)
                    self._container_claimed, self._claimed_exactly = valid or int(st.frames), valid is not None
                if len(streams) > 1:  # e.g. a therapist's track and a client's track: only the first is decoded
                    self.warnings.append(self._streams_words(len(streams)))
        except InputError:
            raise
        except Exception:  # av raises many error classes; all mean "not decodable"
            if _mp4_unfinished(self.path):
                raise InputError(
                    f"cannot decode {self.path}: an MP4/M4A/MOV recording that was never finished (its index, the "
                    "'moov' box written when a recording stops, is missing: the app or the phone stopped while "
                    "recording); its audio cannot be placed in time without it: export the recording again from "
                    "the device or app, or rebuild its index with a repair tool (e.g. untrunc, given a finished "
                    "recording of the same app)") from None
            raise InputError(f"cannot decode {self.path}: not a readable audio file ({sndfile_error})") from None
        self._backend = "ffmpeg"

    def _open_unsized_flac(self) -> None:
        """A FLAC whose STREAMINFO gives no length (0, "unknown": written to a pipe, ``ffmpeg ... -f flac -``)
        is read through FFmpeg where ``av`` is installed: libsndfile's reader seeks at such a file's end,
        fails (``Internal psf_fseek() failed.``) and drops its last frame (21 ms of the fixture). Without
        ``av`` it is read by libsndfile and the loss is said when it is read (``_blocks_sndfile``)."""
        self._unsized_flac = True
        self._open_through_ffmpeg()

    def _sndfile_reaches_end(self) -> bool:
        """Whether libsndfile can seek to the last sample the header gives (a FLAC's STREAMINFO): one seek
        (its seek table or a bisection) and one sample read: opening the 40 s fixture took 0.33 ms, now 0.74."""
        if self.n_samples <= 0:
            return True
        try:
            with c_stderr_captured([]), sf.SoundFile(str(self.path)) as f:
                f.seek(self.n_samples - 1)
                return len(f.read(1)) == 1
        except (sf.LibsndfileError, RuntimeError, ValueError):
            return False

    def _open_through_ffmpeg(self) -> None:
        """Decode through FFmpeg a file libsndfile opened but reads short (a FLAC without its length, a
        variable-bitrate MP3 without a length header: libsndfile stops at its guess, 33.58 s of 40.25 s),
        where ``av`` is installed; else libsndfile reads it and the loss is said (``_blocks_sndfile``).
        FFmpeg's samples of the fixture's MP3s are libmpg123's within 1.3e-6, at the same sample."""
        try:
            import av  # noqa: F401 - optional: FFmpeg's libraries
        except ImportError:
            return
        kept = self.sample_rate, self.channels, self.n_samples, list(self.warnings)
        try:
            self._open_ffmpeg("libsndfile reads it short")
        except InputError:  # FFmpeg cannot: libsndfile's reading, and its word on the loss
            self.sample_rate, self.channels, self.n_samples, self.warnings = kept
            return
        self.subtype = None  # decoded by FFmpeg: not read again from the file by libsndfile (speaker_channels)

    @property
    def duration_s(self) -> float | None:
        return self.n_samples / self.sample_rate if self.n_samples and self.n_samples > 0 else None

    def blocks(self, block_length: int) -> Iterator[np.ndarray]:
        if self._backend == "sndfile":
            yield from self._blocks_sndfile(block_length)
        else:
            yield from self._blocks_ffmpeg(block_length)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` of the file at its own rate, numbered as
        ``blocks`` yields them: float32 (n, channels), shorter (possibly empty)
        where the file ends first; ``start`` >= 0.

        FFmpeg-decoded files are sought to ``PREROLL_S`` before ``start`` and
        placed by their timestamps (a lossy decoder's state after a seek differs
        from a decode from the start by at most its own noise); a file without
        usable timestamps is decoded from its start."""
        start, stop = max(0, int(start)), int(stop)
        if stop <= start:
            return np.zeros((0, self.channels), np.float32)
        if self._backend == "sndfile":
            with c_stderr_captured(self._decoder_said), sf.SoundFile(str(self.path)) as f:
                if start >= f.frames:
                    return np.zeros((0, self.channels), np.float32)
                f.seek(start)
                return f.read(min(stop, f.frames) - start, dtype="float32", always_2d=True)
        x = self._read_ffmpeg(start, stop, seek=True)
        return x if x is not None else self._read_ffmpeg(start, stop, seek=False)

    def _read_ffmpeg(self, start: int, stop: int, *, seek: bool) -> np.ndarray | None:
        """``read`` through FFmpeg; None when a seek gives no usable timestamps."""
        import av
        if self._exact_length:
            stop = min(stop, self.n_samples)
        out = np.zeros((max(stop - start, 0), self.channels), np.float32)
        end = 0  # samples of ``out`` filled
        try:
            with av.open(str(self.path)) as container:
                st = container.streams.audio[0]
                origin = st.start_time or 0
                target = start - int(PREROLL_S * self.sample_rate)
                seek = seek and target > 0 and st.time_base is not None
                if seek:
                    container.seek(origin + int(target / self.sample_rate / st.time_base), stream=st)
                resampler = av.AudioResampler(format="fltp", layout=None, rate=self.sample_rate)
                at = None if seek else 0  # sample number of the next decoded sample
                for frame in container.decode(st):
                    if at is None:
                        if frame.pts is None:
                            return None
                        at = int(round(float((frame.pts - origin) * st.time_base) * self.sample_rate))
                        if at > start:  # the seek overshot: no index to land before the target
                            return None
                    for fr in resampler.resample(frame):
                        x = fr.to_ndarray().T.astype(np.float32)
                        lo, hi = max(at, start), min(at + len(x), stop)
                        if hi > lo:
                            out[lo - start:hi - start] = x[lo - at:hi - at]
                            end = max(end, hi - start)
                        at += len(x)
                    if at >= stop:
                        break
        except InputError:
            raise
        except Exception as exc:  # av raises many error classes; all mean "not decodable"
            if end == 0:
                raise InputError(f"cannot decode {self.path}: {exc}") from None
        return _finite(out[:end], self.path, start + end, sample_rate=self.sample_rate)

    def _blocks_sndfile(self, block_length: int) -> Iterator[np.ndarray]:
        got = 0
        error = None
        said_before = len(self._decoder_said)
        try:
            with c_stderr_captured(self._decoder_said):
                f = sf.SoundFile(str(self.path))
            with f:
                while True:
                    with c_stderr_captured(self._decoder_said):  # one decoder call at a time: no yield inside
                        x = f.read(block_length, dtype="float32", always_2d=True)
                    if len(x) == 0:
                        break
                    got += len(x)
                    yield _finite(x, self.path, got, sample_rate=self.sample_rate)
        except sf.LibsndfileError as exc:
            error = exc
        if error is not None:  # the failed read lost what it decoded before the break: read that again, finely
            for x in self._read_until_break(got):
                got += len(x)
                yield _finite(x, self.path, got, sample_rate=self.sample_rate)
        # what the decoder printed while decoding (MP3: libmpg123), less its remarks on the header when opening
        damage = [line for line in self._decoder_said[said_before:] if line not in self._decoder_said[:said_before]]
        said = ""
        if damage:
            said = f"the decoder said \"{damage[0]}\"" + (
                f" and {len(damage) - 1} more complaint{'s' if len(damage) > 2 else ''}" if len(damage) > 1 else "")
        if error is not None and got == 0 and self._format == "FLAC" and _flac_frame_bytes(self.path) == 0:
            return  # a FLAC of no frames (`ffmpeg -t 0`): libsndfile's psf_fseek fails on it; no audio, not damage
        if error is not None and got == 0:
            raise InputError(f"cannot decode {self.path}: {error}" + (f" ({said})" if said else ""))
        claimed = max(self._header_n_samples, self.n_samples)
        guessed, variable = self._mp3_guess()
        if guessed:
            # libsndfile's length of an MP3 without a Xing/Info/VBRI header is a guess from the file's size and
            # first bitrate (54.5 s for a whole VBR recording of 40.3 s, a frame more at CBR): no truncation
            claimed = min(claimed, got)
        # every sample read and no error: the complaints were libmpg123's own on a whole file (it says
        # "part2_3_length too large" on ffmpeg's 16 kHz MP3s and decodes them as ffmpeg does, sample for sample)
        if damage and (error is not None or got < claimed):
            self.warnings.append(f"{self.path} is damaged: unreadable data ({said}); read "
                                 f"{got / self.sample_rate:.2f} s of {claimed / self.sample_rate:.2f} s, "
                                 "analysed what it decoded")
        elif got < claimed:
            self.warnings.append(f"{self.path} is truncated: header says {claimed / self.sample_rate:.2f} s, "
                                 f"read {got / self.sample_rate:.2f} s; analysed the readable part"
                                 + (f" (decoder: {str(error).strip()})" if error is not None else ""))
        elif error is not None and getattr(self, "_unsized_flac", False):
            # no length in its header (written to a pipe): libsndfile seeks at its end, fails, and drops the last
            # frame; a whole file, not a damaged one (FFmpeg reads it whole where ``av`` is installed)
            block = _flac_max_block(self.path)
            most = f" (at most {block / self.sample_rate * 1000:.0f} ms)" if block else ""
            self.warnings.append(
                f"{self.path} is a FLAC without its length in its header (written to a pipe); libsndfile reads "
                f"it but its last frame{most}: {got / self.sample_rate:.2f} s were analysed. To read it whole, "
                f"install FFmpeg's libraries (`pip install av`) or rewrite it with its length, e.g. `ffmpeg -i "
                f"{_shell_word(self.path)} -c:a flac whole.flac`")
        elif error is not None:
            self.warnings.append(f"{self.path}: decoding stopped at {got / self.sample_rate:.2f} s ({error}); "
                                 "analysed the readable part")
        elif variable and got == self.n_samples:  # the decoder stopped at the guess, not at the end of the data
            self.warnings.append(
                f"{self.path} is a variable-bitrate MP3 without a length header (Xing, Info or VBRI), whose "
                f"length libsndfile guesses from its size and reads no further: {got / self.sample_rate:.2f} s "
                "were read, and it may hold more: to analyse all of it, convert it first, e.g. `ffmpeg -i "
                f"{_shell_word(self.path)} -c:a flac whole.flac`")
        elif self._format in _JOINED_MARKS and got == self.n_samples and self._joined_at(self._format) is not None:
            # the first stream's header counts its own samples, and the decoder stops there: the rest is unread
            self.warnings.append(self._joined_words(self._format, got))
        elif self._format == "OGG" and _ogg_stream_unfinished(self.path):
            # Ogg gives its length from the last page present: a cut file looks whole but has no end page
            self.warnings.append(f"{self.path} is truncated: the stream stops without its last page, "
                                 f"read {got / self.sample_rate:.2f} s; analysed the readable part")

    def _mp3_guess(self) -> tuple[bool, bool]:
        if not hasattr(self, "_guess"):  # one look at the file per reader
            self._guess = _mp3_length_guess(self.path) if self._format == "MP3" else (False, False)
        return self._guess

    def _joined_at(self, fmt: str) -> int | None:
        if not hasattr(self, "_joined"):  # one scan of the file per reader
            self._joined = _second_stream_at(self.path, fmt)
        return self._joined

    def _joined_words(self, fmt: str, got: int) -> str:
        at = self._joined_at(fmt)
        how = (f"to analyse the rest, cut it out (`tail -c +{at + 1} {_shell_word(self.path)} > rest.wav`)"
               if fmt == "WAV" else  # FFmpeg, too, reads the first RIFF alone
               f"to analyse all of it, convert it first, e.g. `ffmpeg -i {_shell_word(self.path)} -c:a flac "
               "whole.flac`")
        return (f"{self.path} holds recordings joined end to end (a second {fmt} stream's header at byte {at}); "
                f"only the first ({got / self.sample_rate:.2f} s) was read: {how}")

    def _read_until_break(self, start: int) -> Iterator[np.ndarray]:
        """Samples from ``start`` up to where decoding fails, in short reads (a read
        that fails returns nothing, so the last one loses at most SALVAGE_SAMPLES)."""
        try:
            with c_stderr_captured(self._decoder_said):
                f = sf.SoundFile(str(self.path))
            with f:
                if start:
                    with c_stderr_captured(self._decoder_said):
                        f.seek(start)
                while True:
                    with c_stderr_captured(self._decoder_said):
                        x = f.read(SALVAGE_SAMPLES, dtype="float32", always_2d=True)
                    if len(x) == 0:
                        return
                    yield x
        except (sf.LibsndfileError, RuntimeError):
            return

    def _blocks_ffmpeg(self, block_length: int) -> Iterator[np.ndarray]:
        import av
        got = 0
        pending: list[np.ndarray] = []
        pending_n = 0
        limit = self.n_samples if self._exact_length else None
        error = None
        try:
            with av.open(str(self.path)) as container:
                resampler = av.AudioResampler(format="fltp", layout=None, rate=self.sample_rate)
                for frame in container.decode(audio=0):
                    for fr in resampler.resample(frame):
                        x = fr.to_ndarray().T.astype(np.float32)  # (n, channels)
                        pending.append(x)
                        pending_n += len(x)
                        if pending_n >= block_length:
                            blk = _clip(np.concatenate(pending), got, limit)
                            got += len(blk)
                            pending, pending_n = [], 0
                            if len(blk):
                                yield _finite(blk, self.path, got, sample_rate=self.sample_rate)
        except InputError:
            raise
        except Exception as exc:
            if got == 0 and not pending:
                raise InputError(f"cannot decode {self.path}: {exc}") from None
            error = exc
        if pending:
            blk = _clip(np.concatenate(pending), got, limit)
            got += len(blk)
            if len(blk):
                yield _finite(blk, self.path, got, sample_rate=self.sample_rate)
        # a FLAC's length is exact; a container's within a codec's delay and last frame
        claimed = self._flac_claimed or self._container_claimed
        short = got < (claimed if self._flac_claimed else self._container_floor())
        if error is not None and short:  # a FLAC or a CAF cut short (an ALAC CAF's was "decoding stopped at 3.58 s")
            self.warnings.append(f"{self.path} is truncated: header says {claimed / self.sample_rate:.2f} s, "
                                 f"read {got / self.sample_rate:.2f} s; analysed the readable part (decoder: "
                                 f"{getattr(error, 'strerror', None) or error})")
        elif error is not None:  # said once the samples decoded before the break are counted; FFmpeg's words, no code
            self.warnings.append(f"{self.path}: decoding stopped at {got / self.sample_rate:.2f} s "
                                 f"({getattr(error, 'strerror', None) or error}); analysed the readable part")
        elif getattr(self, "_ffmpeg_format", None) == "wav" and self._joined_at("WAV") is not None:
            self.warnings.append(self._joined_words("WAV", got))
        elif got < self._flac_claimed:  # every frame it holds decoded, fewer than its header says
            self.warnings.append(f"{self.path} is truncated, or its header is wrong: header says "
                                 f"{self._flac_claimed / self.sample_rate:.2f} s, read {got / self.sample_rate:.2f} s "
                                 "(every frame it holds); analysed the readable part")
        elif got < self._container_floor():
            # a WebM/Matroska cut short (a copy stopped, a browser's upload cut): every block it holds decoded, no
            # error, and 3.6 s of 7.5 s were analysed unsaid (hostile sweep 48); a CAF alike (sweep 49)
            claimed_s = self._container_claimed / self.sample_rate
            self.warnings.append(f"{self.path} is truncated: its header says {claimed_s:.2f} s, read "
                                 f"{got / self.sample_rate:.2f} s (every block it holds); analysed the readable part")

    def _container_floor(self) -> float:
        """The fewest samples a whole file decodes to, by its container's claim: a packet table's valid frames
        exactly (an ALAC CAF cut 0.07 s short, after 29 of its 30 packets, was read short unsaid: hostile sweep
        51), a Matroska's Duration or a CAF's 'data' size less ``CONTAINER_SLACK_S`` (a codec's delay)."""
        if self._claimed_exactly:
            return self._container_claimed
        return self._container_claimed - CONTAINER_SLACK_S * self.sample_rate


def _shell_word(path: Path) -> str:
    """``path`` as one word of a command line to copy (quoted when it must be)."""
    import shlex
    return shlex.quote(str(path))


def _ffmpeg_container(path: Path) -> str | None:
    """The container a file's first bytes name where only FFmpeg decodes it (libsndfile reads none of them),
    whatever its suffix: a Zoom or phone recording is MP4/M4A/MOV, a browser's WebM or Matroska; None otherwise.
    Before, a missing FFmpeg was named for some suffixes only (.mov, .mkv, .m4v, .m4b: "not a readable audio
    file", no install hint; hostile sweep 22)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "an MP4/M4A/MOV file"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "a WebM/Matroska file"
    if head[:16] == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"):
        return "a Windows Media file"
    if head[:5] == b"#!AMR":
        return "an AMR file"
    if head[:4] == b"caff":
        return "a Core Audio file"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "an AAC stream"
    return None


CAF_SCAN_CHUNKS = 1_000  # chunks walked to find a CAF's packet table (a real file has a handful)


def _track_duration_s(tag) -> float | None:
    """A Matroska track's DURATION tag ("00:00:12.064000000", as FFmpeg's muxer writes it) in seconds, or None."""
    m = re.fullmatch(r"(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)", tag.strip()) if isinstance(tag, str) else None
    return None if m is None else int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def _caf_valid_frames(path: Path) -> int | None:
    """The frames a CAF file's packet table ('pakt') says it holds (its mNumberValidFrames: the recording's
    length, without the encoder's priming and its last packet's padding), None where it has no table before
    the file ends (PCM, a table lost with a cut). Core Audio Format Specification: a chunk is its type (4 bytes)
    and size (big-endian int64) then its data; 'pakt' data starts with mNumberPackets then mNumberValidFrames
    (both int64)."""
    try:
        with open(path, "rb") as f:
            if f.read(8)[:4] != b"caff":
                return None
            for _ in range(CAF_SCAN_CHUNKS):
                head = f.read(12)
                if len(head) < 12:
                    return None
                kind, size = head[:4], int.from_bytes(head[4:], "big", signed=True)
                if kind == b"pakt":
                    table = f.read(16)
                    valid = int.from_bytes(table[8:16], "big", signed=True) if len(table) == 16 else 0
                    return valid if valid > 0 else None
                if size < 0:  # the 'data' chunk of a file written to a pipe runs to the end
                    return None
                f.seek(size, os.SEEK_CUR)
    except OSError:
        return None
    return None


WAV_SCAN_CHUNKS = 64  # chunks walked for a WAV's 'fmt ' (it comes first, after a JUNK or bext chunk at most)
MP4_SCAN_BOXES = 10_000  # top-level boxes walked before giving up (a real file has a handful)


def _mp4_unfinished(path: Path) -> bool:
    """True for an ISO media file (MP4, M4A, MOV, 3GP) whose top level holds its media data ('mdat') but no
    index ('moov'): a recording stopped before the recorder wrote the index, as a phone that died or an app
    killed mid-recording leaves it. FFmpeg says "moov atom not found" in its log only; its error is "invalid
    data", and the line said libsndfile's "Format not recognised" (hostile sweep 22)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if f.read(8)[4:8] != b"ftyp":
                return False
            pos, seen = 0, set()
            for _ in range(MP4_SCAN_BOXES):
                if pos + 8 > size:
                    break
                f.seek(pos)
                head = f.read(16)
                n, kind = int.from_bytes(head[:4], "big"), head[4:8]
                seen.add(kind)
                if n == 1 and len(head) == 16:  # a 64-bit size follows
                    n = int.from_bytes(head[8:16], "big")
                if n == 0:  # the box runs to the end of the file (an unfinished mdat is often left so)
                    break
                if n < 8:
                    return False  # not a box: damage of another kind
                pos += n
    except OSError:
        return False
    return b"mdat" in seen and b"moov" not in seen


def _flac_frame_bytes(path: Path) -> int:
    """Bytes after a FLAC's metadata blocks (its audio frames); -1 where they cannot be walked."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if f.read(4) != b"fLaC":
                return -1
            pos = 4
            while True:
                head = f.read(4)
                if len(head) < 4:
                    return -1
                pos += 4 + int.from_bytes(head[1:], "big")
                if head[0] & 0x80:  # the last metadata block
                    return max(size - pos, 0) if pos <= size else -1
                f.seek(pos)
    except OSError:
        return -1


def _flac_max_block(path: Path) -> int:
    """A FLAC's largest block (samples a channel in a frame) from its STREAMINFO; 0 where not read."""
    try:
        with open(path, "rb") as f:
            head = f.read(14)
    except OSError:
        return 0
    if len(head) < 14 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return 0
    return int.from_bytes(head[10:12], "big")


def _ogg_stream_unfinished(path: Path) -> bool:
    """True when an Ogg file's last page is cut short or is not marked end-of-stream
    (header type flag 0x04): the file was truncated."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - OGG_TAIL_BYTES))
            tail = f.read()
    except OSError:
        return False
    at = tail.rfind(b"OggS")
    if at < 0 or at + 27 > len(tail):
        return True
    n_segments = tail[at + 26]
    body_at = at + 27 + n_segments
    if body_at > len(tail) or body_at + sum(tail[at + 27:body_at]) > len(tail):
        return True
    return not tail[at + 5] & 0x04


# where a stream of each format starts, and the 8 bytes after the mark that make it one: FLAC's "fLaC" and its
# STREAMINFO block header (type 0, 34 bytes), an MP3's Xing/Info header (libmpg123 stops at its frame count); a
# WAV's second "RIFF" ... "WAVE" lies where its first RIFF chunk ends (libsndfile reads the first one's data)
_JOINED_MARKS = {"FLAC": ((b"fLaC", lambda b: b[0] & 0x7F == 0 and b[1:4] == b"\x00\x00\x22"),),
                 "MP3": ((b"Xing", lambda b: b[:3] == b"\x00\x00\x00"), (b"Info", lambda b: b[:3] == b"\x00\x00\x00")),
                 "WAV": (), "WAVEX": ()}
_JOINED_SCAN_BYTES = 1 << 20


# MPEG audio layer III: kbit/s by bitrate index, for MPEG-1 and for MPEG-2/2.5; sample rates by version bits
_MP3_KBPS = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_RATES_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
MP3_FRAMES_LOOKED_AT = 200   # frame headers read to tell a variable bitrate from a constant one


def _mp3_length_guess(path: Path) -> tuple[bool, bool]:
    """(guessed, variable) for an MP3: libsndfile's length is its guess from the file's size when the
    first frame (after any ID3v2 tag) is no Xing, Info or VBRI header counting the frames; the guess
    is short of the audio when the bitrate varies (over the first ``MP3_FRAMES_LOOKED_AT`` frames),
    and near it at a constant bitrate (a frame off: the tags count as audio)."""
    try:
        with open(path, "rb") as f:
            head = f.read(10)
            start = 0
            if len(head) == 10 and head[:3] == b"ID3" and all(b < 0x80 for b in head[6:10]):
                size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]  # syncsafe: 7 bits a byte
                start = 10 + size + (10 if head[5] & 0x10 else 0)  # flag 0x10: a footer follows the tag
            f.seek(start)
            data = f.read(MP3_FRAMES_LOOKED_AT * 1441 + 4096)  # 1441 bytes: a 320 kbit/s frame at 32 kHz
    except OSError:
        return False, False
    if any(mark in data[:4096] for mark in (b"Xing", b"Info", b"VBRI")):
        return False, False
    at = next((i for i in range(min(len(data) - 4, 4096)) if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0), None)
    kbps = set()
    while at is not None and at + 4 <= len(data) and len(kbps) < 2:
        b1, b2 = data[at + 1], data[at + 2]
        version, layer, index, rate_index = (b1 >> 3) & 3, (b1 >> 1) & 3, b2 >> 4, (b2 >> 2) & 3
        if data[at] != 0xFF or b1 & 0xE0 != 0xE0 or version == 1 or layer != 1 or index in (0, 15) or rate_index == 3:
            break  # not a layer III frame header with a bitrate: stop looking
        rate = _MP3_RATES_HZ[version][rate_index]
        kbps.add(_MP3_KBPS[1 if version == 3 else 2][index])
        at += (144000 if version == 3 else 72000) * _MP3_KBPS[1 if version == 3 else 2][index] // rate + ((b2 >> 1) & 1)
    return True, len(kbps) > 1


def _second_stream_at(path: Path, fmt: str) -> int | None:
    """Byte offset of the second start of a FLAC, MP3 or WAV stream in the file (two files joined
    with ``cat``), or None. libsndfile reads such a file up to the first stream's own length and
    stops without a word (FFmpeg reads on, but for WAV)."""
    if fmt in ("WAV", "WAVEX"):
        return _second_wav_at(path)
    marks = _JOINED_MARKS.get(fmt, ())
    seen = {mark: 0 for mark, _ in marks}
    try:
        with open(path, "rb") as f:
            at, tail = 0, b""  # file offset of buf[0]; the last bytes of the previous chunk
            while True:
                chunk = f.read(_JOINED_SCAN_BYTES)
                if not chunk:
                    return None
                buf = tail + chunk
                for mark, fits in marks:
                    i = buf.find(mark)
                    while i >= 0 and i + 8 <= len(buf):
                        if at + i >= seen[mark] and fits(buf[i + 4:i + 8]):
                            if seen[mark]:
                                return at + i
                            seen[mark] = at + i + 1  # the first stream's own mark; find the next after it
                        i = buf.find(mark, i + 1)
                keep = min(len(buf), 7)  # a mark and its 4 bytes cut by the chunk's end are looked at again
                at, tail = at + len(buf) - keep, buf[len(buf) - keep:]
    except OSError:
        return None


UNHEADED_FORMATS = ("WAV", "WAVEX", "RF64", "CAF")  # libsndfile's formats whose data size _wav_unheaded checks
UNHEADED_MIN_S = 0.01  # samples after a WAV's data chunk said from one frame (10 ms) on: less may be padding


def _riff_chunks(f, size: int):
    """(offset, ID, size) of each chunk of a RIFF file open as ``f`` (``size`` bytes) from the first after its
    12-byte header, ``f`` left just after the chunk's 8-byte header as each is given (its body is read from
    there); each chunk's odd size padded, as RIFF pads it."""
    at = 12
    while at + 8 <= size:
        f.seek(at)
        ck = f.read(8)
        n = int.from_bytes(ck[4:8], "little")
        yield at, ck[:4], n
        at += 8 + n + (n & 1)


def _riff_data(f, size: int, head: bytes) -> tuple[float, int, int, int] | None:
    """(sample rate, bytes a frame, offset of the samples, offset where its data chunk ends) of a WAV, or of an
    RF64/BW64 (its data chunk's size 0xFFFFFFFF: the 64-bit size of its 'ds64' chunk is the size), open as ``f``
    just after its 12-byte header ``head``; None where the size is unknown (0xFFFFFFFF: read to the end)."""
    rate, align, size64 = 0, 0, None
    for at, cid, n in _riff_chunks(f, size):  # the chunks up to the data chunk
        if cid == b"fmt ":
            fmt = f.read(16)
            if len(fmt) == 16:
                rate, align = int.from_bytes(fmt[4:8], "little"), int.from_bytes(fmt[12:14], "little")
        elif cid == b"ds64" and head[:4] != b"RIFF":
            body = f.read(16)
            size64 = int.from_bytes(body[8:16], "little") if len(body) == 16 else None
        elif cid == b"data":
            if n == 0xFFFFFFFF and size64 is not None:
                n = size64
            return None if n == 0xFFFFFFFF else (rate, align, at + 8, at + 8 + n)
    return None


def _caf_data(f) -> tuple[float, int, int, int] | None:
    """As ``_riff_data``, of a CAF of linear PCM (a frame a packet) open as ``f`` just after its 8-byte header;
    None where its 'data' chunk's size is -1 (written to a pipe: it runs to the end) or it is no such file."""
    rate, align = 0.0, 0
    for _ in range(CAF_SCAN_CHUNKS):
        at, head = f.tell(), f.read(12)
        if len(head) < 12:
            return None
        kind, n = head[:4], int.from_bytes(head[4:], "big", signed=True)
        if kind == b"desc":
            desc = f.read(32)  # mSampleRate (float64), mFormatID, mFormatFlags, mBytesPerPacket, mFramesPerPacket..
            if len(desc) == 32 and desc[8:12] == b"lpcm" and int.from_bytes(desc[20:24], "big") == 1:
                rate, align = struct.unpack(">d", desc[:8])[0], int.from_bytes(desc[16:20], "big")
        elif kind == b"data":  # its first 4 bytes are an edit count
            return None if n < 4 else (rate, align, at + 16, at + 12 + n)
        if n < 0:
            return None
        f.seek(at + 12 + n)
    return None


def _chunks_end(f, at: int, size: int, *, caf: bool) -> int:
    """Offset of the first bytes from ``at`` on that are no chunk (a RIFF's: an ID of printable characters, a
    32-bit size, odd sizes padded; a CAF's: a 64-bit size), each within the file: ``size`` where all are."""
    head_len = 12 if caf else 8
    while at + head_len <= size:
        f.seek(at)
        ck = f.read(head_len)
        n = int.from_bytes(ck[4:], "big", signed=True) if caf else int.from_bytes(ck[4:8], "little")
        if not all(32 <= c <= 126 for c in ck[:4]) or n < 0 or at + head_len + n > size:
            return at
        at += head_len + n + (0 if caf else n & 1)
    return size


def _wav_unheaded(path: Path) -> tuple[float, float] | None:
    """(seconds its data chunk gives, seconds of samples after it) for a WAV, RF64/BW64 or CAF of PCM whose data
    chunk's size stops short of the samples the file holds, else None. A recorder still writing (or stopped
    before it finished) leaves its header as it wrote it first (0 bytes; or the length at its last update) and
    appends samples: libsndfile reads what the header gives and no further (0 bytes: "no audio"), without a word
    (sweep 12; an RF64's 'ds64' size or a CAF's 'data' size alike until hostile sweep 59). After the data chunk,
    chunks that fit the file (LIST, id3, cue: an ID of printable characters, a size within the file; a second
    RIFF, ``cat a.wav b.wav``, is one) are walked over; what is left from the first bytes that are no chunk to
    the end is samples. A size of 0xFFFFFFFF (a CAF's -1) or beyond the file (read to the end) is no such case.
    Reads the chunk headers only."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(12)
            if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
                found, caf = _riff_data(f, size, head), False
            elif head[:4] == b"caff":
                f.seek(8)
                found, caf = _caf_data(f), True
            else:
                return None
            if found is None or found[3] > size or found[0] <= 0 or found[1] <= 0:
                return None
            rate, align, data_at, data_end = found
            at = data_end if caf else data_end + ((data_end - data_at) & 1)
            more = size - _chunks_end(f, at, size, caf=caf) if at < size else 0
    except OSError:
        return None
    more_frames = more // align
    if more_frames < UNHEADED_MIN_S * rate:
        return None
    return (data_end - data_at) // align / rate, more_frames / rate


def _wav_rate_fault(path: Path) -> str | None:
    """What a WAV header gives that no recording has, a sample rate of 0 Hz, in those words, or None: libsndfile
    said "Internal error : SF_INFO struct incomplete" (an internal error of prosody's, to a reader; hostile sweep
    51); or an RF64's 'ds64' size past 2^63 bytes, negative to FFmpeg (libsndfile: "Unspecified internal error";
    hostile sweep 59). Reads the 'ds64' and 'fmt ' chunks of the first few (WAV_SCAN_CHUNKS)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
                return None
            for _, cid, _ in islice(_riff_chunks(f, os.fstat(f.fileno()).st_size), WAV_SCAN_CHUNKS):
                if cid == b"ds64" and head[:4] != b"RIFF":
                    sizes = f.read(24)  # the RIFF's size, the data's, the sample count: 64 bits each
                    if any(sizes[at + 7] & 0x80 for at in range(0, len(sizes) - 7, 8)):
                        return "its header's 64-bit sizes ('ds64') are past any file (negative): it is damaged"
                elif cid == b"fmt ":
                    fmt = f.read(8)
                    rate = int.from_bytes(fmt[4:8], "little") if len(fmt) == 8 else None
                    return "its header gives a sample rate of 0 Hz: it is damaged" if rate == 0 else None
    except OSError:
        return None
    return None


ID3_SLACK_BYTES = 128  # bytes after an ID3v2 tag that hold no MP3 frame (padding; an ID3v1 tag is 128)


def _id3_alone(path: Path) -> str | None:
    """Words for an MP3 file that holds an ID3v2 tag (title, artist, cover) and no audio after it (an export or a
    download stopped after its tag was written), or None: libsndfile said "too short or damaged to hold audio"
    (hostile sweep 59). The tag's size is its header's 4 syncsafe bytes (7 bits each), plus a 10-byte footer
    where its flags give one."""
    try:
        with open(path, "rb") as f:
            head = f.read(10)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return None
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return None
    tag = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(head[6:10])) + (10 if head[5] & 0x10 else 0)
    if size - tag > ID3_SLACK_BYTES:
        return None
    return f"it is an ID3 tag alone ({tag:,} bytes of a title, an artist or a picture), with no audio after it"


def _second_wav_at(path: Path) -> int | None:
    """Byte offset of a second WAV's "RIFF" header right after the first's RIFF chunk (``cat a.wav b.wav``),
    or None: two 12-byte reads, whatever the file's size."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            end = 8 + int.from_bytes(head[4:8], "little")
            for at in (end, end + 1):  # the chunk's pad byte, where the size is odd
                f.seek(at)
                nxt = f.read(12)
                if len(nxt) == 12 and nxt[:4] == b"RIFF" and nxt[8:12] == b"WAVE":
                    return at
    except OSError:
        pass
    return None


def _ogg_pages(f):
    """The header type flag of each page of an Ogg file open as ``f``, from its start, ``f`` left at the page's
    body as each is given; walks the page headers only (27 bytes and a segment table a page)."""
    at = 0
    while True:
        f.seek(at)
        head = f.read(27)
        if len(head) < 27 or head[:4] != b"OggS":
            return
        table = f.read(head[26])
        if len(table) < head[26]:
            return
        at += 27 + head[26] + sum(table)
        yield head[5]


def _ogg_links(path: Path, *, enough: int = 2) -> int:
    """How many links a chained Ogg file holds (streams one after another, each opened by
    beginning-of-stream pages, header type flag 0x02), counted up to ``enough``. libsndfile decodes the first
    link alone and reports its length (or none) as the file's: ``cat a.ogg b.ogg``, or a
    recorder that appends a new stream after a pause."""
    links, previous_bos = 0, False
    try:
        with open(path, "rb") as f:
            for flags in _ogg_pages(f):
                bos = bool(flags & 0x02)
                if bos and not previous_bos:  # the BOS pages of multiplexed streams come together at a link's start
                    links += 1
                    if links >= enough:
                        break
                previous_bos = bos
    except OSError:
        pass
    return links


# the first bytes of an audio codec's first packet in Ogg (Vorbis, Opus, FLAC, Speex); a video stream's (Theora) or
# a skeleton's differ
_OGG_AUDIO_HEADS = (b"\x01vorbis", b"OpusHead", b"\x7fFLAC", b"Speex   ")


def _ogg_audio_streams(path: Path) -> int:
    """How many audio streams an Ogg file's first link holds side by side (multiplexed: their beginning-of-stream
    pages come first, one a stream): ffmpeg muxes a track each so, and libsndfile decodes the first alone."""
    n = 0
    try:
        with open(path, "rb") as f:
            for flags in _ogg_pages(f):
                if not flags & 0x02:
                    break
                n += f.read(8).startswith(_OGG_AUDIO_HEADS)
    except OSError:
        pass
    return n


def _clip(x: np.ndarray, got: int, limit: int | None) -> np.ndarray:
    """The part of block ``x`` (which follows ``got`` samples) before sample ``limit``."""
    return x if limit is None else x[:max(limit - got, 0)]


def _header_n_samples(info, n_samples: int) -> int:
    """Number of samples the header of an uncompressed file claims: ``n_samples``
    plus those libsndfile found missing from the data (a truncated file)."""
    width = _PCM_BYTES.get(info.subtype)
    if width is None or info.channels < 1:
        return n_samples
    missing_bytes = [int(claimed) - int(present) for claimed, present in _SIZE_MISMATCH.findall(info.extra_info)
                     if int(present) < int(claimed) < _UNKNOWN_LENGTH]
    if info.format == "RF64" and (m := _RF64_DATA_SIZE.search(info.extra_info)):
        # an RF64's 'ds64' data size past the file (one cut short) is read to the end unsaid in libsndfile's log
        # (no "should be"): 36 s missing of 48 s were not said (hostile sweep 59)
        present = max(n_samples, 0) * width * info.channels
        if present < int(m[1]) < _RF64_UNKNOWN_LENGTH:
            missing_bytes.append(int(m[1]) - present)
    return n_samples + max(missing_bytes, default=0) // (width * info.channels)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(missing_file_text(path))
    if path.is_dir():
        raise InputError(f"{path} is a directory, not an audio file")
    check_input_file(path)  # a FIFO, pipe or device is named as such (its size says nothing)
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes)")


def _check_header(f: AudioFile) -> None:
    if not MIN_RATE_HZ <= f.sample_rate <= MAX_RATE_HZ:
        why = ("the header is damaged, or the recording holds too little of a voice to analyse (speech needs "
               f"{MIN_RATE_HZ} Hz or more)" if f.sample_rate < MIN_RATE_HZ else
               "the header is damaged or the file is not audio")
        raise InputError(f"{f.path}: sample rate {f.sample_rate} Hz is outside {MIN_RATE_HZ}-{MAX_RATE_HZ} Hz; {why}")
    if not 1 <= f.channels <= MAX_CHANNELS:
        raise InputError(f"{f.path}: {f.channels} channels is outside 1-{MAX_CHANNELS}; the header is damaged")


# |sample| (re full scale, 1.0) above which a float file holds no recording: 240 dB up, past floats scaled
# to 32-bit integers (2.1e9); from about 1e18 the analysis's squares overflow float32 (RuntimeWarnings, no pitch)
MAX_SAMPLE_ABS = 1e12


def _finite(x: np.ndarray, path: Path, got: int, *, sample_rate: int) -> np.ndarray:
    """``x`` (n, channels), the block that ends ``got`` samples into ``path``, where every sample is a
    recording's; else InputError naming the first sample that is not (it said "before {got} samples", the
    end of the block: "before 96000 samples" of a file whose damage began at sample 1000; hostile sweep 31)."""
    peak = max(float(x.max()), -float(x.min())) if x.size else 0.0  # NaN if any sample is NaN
    if not peak <= MAX_SAMPLE_ABS:
        finite = np.isfinite(x).all()
        bad = ~(np.abs(x) <= MAX_SAMPLE_ABS) if finite else ~np.isfinite(x)
        row, channel = np.unravel_index(int(np.argmax(bad)), bad.shape)
        at = got - len(x) + int(row)
        where = f"the first at {at / sample_rate:.3f} s: sample {at}, channel {int(channel) + 1}"
        if not finite:
            raise InputError(f"{path} contains NaN or infinite samples ({where}); repair or re-export the recording")
        raise InputError(f"{path} holds samples of {peak:.3g} times full scale ({where}): no recorder writes "
                         "these (damaged data, or other numbers stored as float samples); repair or re-export "
                         "the recording")
    return x


class Resampler:
    """Streaming resampler to the analysis rate (soxr, HQ); identity at 16 kHz.
    Output is the same whatever the block sizes."""

    def __init__(self, rate_in: int, channels: int, *, rate_out: int = GRID.sample_rate):
        self.passthrough = rate_in == rate_out
        if not self.passthrough:
            self._rs = soxr.ResampleStream(rate_in, rate_out, channels, dtype="float32", quality="HQ")

    def push(self, x: np.ndarray, *, last: bool = False) -> np.ndarray:
        if self.passthrough:
            return x
        return self._rs.resample_chunk(np.ascontiguousarray(x, dtype=np.float32), last=last)


@dataclass(frozen=True)
class Layout:
    """Which input channel feeds which speaker.

    ``speakers``: speaker names in pipeline order; ``picks``: for each speaker,
    (file index, channel index)."""

    speakers: tuple[str, ...]
    picks: tuple[tuple[int, int], ...]


def parse_channel_map(text: str, *, n_channels: int, holder: str = "the file",
                      flag: str = "--channels") -> dict[str, int]:
    """``"therapist=right,client=left"`` -> {"therapist": 1, "client": 0}. ``flag``: how the text is named in
    an error (``prosody batch``: a manifest's row and column where the text is its ``channels`` cell)."""
    names = {"left": 0, "right": 1, "l": 0, "r": 1}
    out: dict[str, int] = {}
    for part in text.split(","):
        if "=" not in part:
            raise InputError(f"{flag} {text!r}: expected speaker=channel pairs, e.g. therapist=right,client=left")
        spk, ch = (p.strip() for p in part.split("=", 1))
        if not spk:
            raise InputError(f"{flag} {text!r}: empty speaker name")
        problem = name_problem(spk)
        if problem is not None:  # the store's rule for speaker names, before any work
            raise InputError(f"{flag} {text!r}: speaker name {spk!r} {problem}")
        if spk == UNATTRIBUTED:
            raise InputError(f"{flag} {text!r}: prosody keeps the name {spk!r} for speech it cannot attribute to "
                             "anyone; name the speaker otherwise")
        idx = names.get(ch.lower())
        if idx is None:
            if not (ch.isascii() and ch.isdigit()):  # 1-based numbers in digits 0-9: int() read '0_2' as 2, '١' as 1
                raise InputError(f"{flag} {text!r}: channel {ch!r} is not left, right or a number 1..{n_channels}")
            idx = int(ch) - 1
        if not 0 <= idx < n_channels:
            raise InputError(f"{flag} {text!r}: channel {ch!r} does not exist; {holder} has {n_channels} "
                             "channel(s)")
        if spk in out:
            raise InputError(f"{flag} {text!r}: speaker {spk!r} named twice; give each channel its own speaker")
        out[spk] = idx
    if len(out) > 2:
        raise InputError(f"{flag} {text!r}: at most two speakers")
    if len(set(out.values())) != len(out):
        raise InputError(f"{flag} {text!r}: two speakers on the same channel")
    clash = alike_names(out)
    if clash is not None:  # RTTM and the frame tables could not tell them apart
        raise InputError(f"{flag} {text!r}: speakers {clash[0]!r} and {clash[1]!r} differ only in spaces or "
                         "control characters; give them names that differ in letters")
    return out


SHORT_FILE_S = 5.0  # two files: one ending more than this before the other is said (FileSource.warnings)


CLIP_LEVEL = 0.99          # |sample| at or above this (re full scale) and equal to the one before: clipped
# |sample| above this (re full scale, +6 dB) is said: a float recording written with gain (a DAW's export, a
# script's `* 1000`), whose levels read above 0 dBFS (+35 dBFS for the fixture x 1000, said as right until
# 2026-12-04), and that clips once played or converted to whole numbers; integer formats never exceed 1
OVER_FULL_SCALE = 2.0
CLIP_MIN_SHARE = 0.001     # a channel with this share of its samples clipped is said to clip
CLIP_MIN_SAMPLES = 100


def flat_at_full_scale(x: np.ndarray) -> int:
    """Samples of ``x`` (n,) in runs of two or more equal samples at ``CLIP_LEVEL`` or above: a
    clipped waveform's flat tops (a run cut by a block edge is counted in its two parts)."""
    if len(x) < 2:
        return 0
    a = np.abs(x) >= CLIP_LEVEL
    if not a.any():  # most blocks: nothing near full scale, no more work on the read path
        return 0
    pair = a[1:] & a[:-1] & (x[1:] == x[:-1])
    in_run = np.zeros(len(x), bool)
    in_run[1:] |= pair
    in_run[:-1] |= pair
    return int(np.count_nonzero(in_run))


VOICE_PROBE_BLOCK_S = 1.0  # ``voiced_channel`` reads this much at a time, stopping once channel 1 carries sound
# Half the peak-to-peak excursion (dB re full scale) under which a channel carries no voice throughout: a 16-bit
# recorder's dither (1 LSB, -90 dBFS) and an unused input's hiss (-80 to -70 dBFS) lie far under it, a voice at a
# microphone peaks above -40 dBFS. Digital silence (one value, any DC offset) has none.
NO_VOICE_DB = -60.0
NO_VOICE_EXCURSION = 10 ** (NO_VOICE_DB / 20)


def voiced_channel(path) -> int:
    """The channel (0-based) that carries the one speaker of a per-speaker file (one of two files): its first,
    unless that one stays within ``NO_VOICE_EXCURSION`` throughout (digital silence, or an unused input's noise)
    while another goes beyond it: then the first that does. A client's file recorded in stereo with the microphone
    on the interface's second input was analysed as the client never speaking (hostile sweep 36 warned of it where
    the first channel was digital silence only; sweep 38 reads channel 2, and a first channel of dither too).
    Reads the file until its first channel carries sound: a block for most, the whole of a file whose first is
    silent."""
    f = AudioFile(path)
    if f.channels < 2:
        return 0
    low = np.full(f.channels, np.inf)
    high = np.full(f.channels, -np.inf)
    for x in f.blocks(max(1, int(VOICE_PROBE_BLOCK_S * f.sample_rate))):
        if not len(x):
            continue
        low, high = np.minimum(low, x.min(axis=0)), np.maximum(high, x.max(axis=0))
        if (high[0] - low[0]) / 2 >= NO_VOICE_EXCURSION:
            return 0
    sounding = [c for c in range(1, f.channels) if (high[c] - low[c]) / 2 >= NO_VOICE_EXCURSION]
    return sounding[0] if sounding else 0


def with_voiced_channels(layout: Layout, paths) -> Layout:
    """``layout`` of two per-speaker files read from the channel of each that carries its voice
    (``voiced_channel``); one file's layout as it is."""
    if len(paths) != 2:
        return layout
    return Layout(layout.speakers, tuple((fi, voiced_channel(paths[fi])) for fi, _ in layout.picks))


class FileSource:
    """Read one stereo/mono file or two per-speaker files, resample each to
    16 kHz, and yield (n, n_speakers) float32 blocks.

    ``offset_s`` shifts the second file on the timeline (positive: it starts
    later; negative: its first seconds are skipped). ``block_s``: block
    length; results do not depend on it, but each block costs every stage a
    fixed overhead, so offline reading uses long blocks (live capture sets
    its own).
    """

    def __init__(self, paths: list[str], layout: Layout, *, offset_s: float = 0.0, block_s: float = 10.0):
        self.files = [AudioFile(p) for p in paths]
        self.layout = layout
        self._clipped: dict[tuple[int, int], tuple[int, int]] = {}  # (file, channel): (clipped, samples) read
        self._peak: dict[tuple[int, int], float] = {}  # (file, channel): largest |sample| read (re full scale)
        self.offset_s = offset_s
        self.block_s = block_s
        for fi, ci in layout.picks:
            if ci >= self.files[fi].channels:
                raise InputError(f"{self.files[fi].path} has {self.files[fi].channels} channel(s); channel {ci + 1} was asked for")
        if not math.isfinite(offset_s):
            raise InputError(f"offset {offset_s} s is not a finite number of seconds")
        ds = [f.duration_s for f in self.files]
        if offset_s and len(ds) == 2 and None not in ds and not -ds[1] < offset_s < ds[0]:
            raise InputError(f"offset {offset_s:g} s: {self.files[1].path} ({ds[1]:.2f} s) would not overlap "
                             f"{self.files[0].path} ({ds[0]:.2f} s) in time; use an offset between "
                             f"{-ds[1]:.2f} and {ds[0]:.2f} s")

    @property
    def warnings(self) -> list[str]:
        return ([w for f in self.files for w in f.warnings] + self._short_file_warnings() + self._clip_warnings()
                + self._over_full_scale_warnings() + self._voiced_channel_notes())

    def _voiced_channel_notes(self) -> list[str]:
        """Two files, one read from a channel other than its first (``voiced_channel``: the first silent
        throughout): said, with whose voice it was taken for. (Sweep 36's warning that such a channel was not
        read went with it.)"""
        if len(self.files) != 2:
            return []
        return [f"{self.files[fi].path} has {self.files[fi].channels} channels and its first holds nothing above "
                f"{NO_VOICE_DB:.0f} dBFS throughout (silence, or an unused input's noise): its channel {ci + 1}, "
                f"which holds sound, was read as the {who}'s"
                for who, (fi, ci) in zip(self.layout.speakers, self.layout.picks) if ci > 0]

    def _over_full_scale_warnings(self) -> list[str]:
        """A picked channel (of a float file) whose samples exceed ``OVER_FULL_SCALE``: its levels in dBFS
        are too high by as much (the figures relative to the speaker's own level are not)."""
        out = []
        for (fi, ci), peak in sorted(self._peak.items()):
            if peak > OVER_FULL_SCALE:
                f = self.files[fi]
                where = f"{f.path}" if f.channels == 1 else f"{f.path} channel {ci + 1}"
                over_db = 20 * math.log10(peak)
                out.append(f"{where} holds samples of up to {peak:.3g} times full scale (+{over_db:.0f} dB): a "
                           f"float recording written with gain; its levels in dBFS read at least {over_db:.0f} dB "
                           "too high (a voice profile saved from it would not fit other recordings), and played "
                           "or converted to whole numbers it clips; the figures relative to each speaker's own "
                           "level are unaffected")
        return out

    def _clip_warnings(self) -> list[str]:
        """A picked channel held at full scale (``CLIP_LEVEL``, two or more equal samples in a row:
        flat tops) in at least ``CLIP_MIN_SHARE`` of its samples read so far: the recorder's input
        gain was too high, and where it clips the levels, pitch and voice quality are the
        clipping's. (One peak normalised to full scale is not this: a single sample.)"""
        out = []
        for (fi, ci), (clipped, total) in sorted(self._clipped.items()):
            if total and clipped >= max(CLIP_MIN_SAMPLES, CLIP_MIN_SHARE * total):
                f = self.files[fi]
                where = f"{f.path}" if f.channels == 1 else f"{f.path} channel {ci + 1}"
                out.append(f"{where} clips: {100.0 * clipped / total:.1f} % of its samples are held at full scale "
                           "(the input gain was too high); where it clips, loudness, pitch and voice quality "
                           "describe the clipping, not the voice")
        return out

    def _short_file_warnings(self) -> list[str]:
        """Two files, one ending more than ``SHORT_FILE_S`` before the other on the timeline:
        its speaker is not recorded after that, and every figure takes them for silent there
        (a second device stopped early, a call recording cut off)."""
        ds = [f.duration_s for f in self.files]
        if len(ds) != 2 or None in ds:
            return []
        ends = (ds[0], ds[1] + self.offset_s)
        short = int(ends[1] < ends[0])
        gap = abs(ends[0] - ends[1])
        if gap <= SHORT_FILE_S:
            return []
        who = [s for s, (fi, _) in zip(self.layout.speakers, self.layout.picks) if fi == short]
        whom = f"the {who[0]}" if who else "its speaker"
        return [f"{self.files[short].path} ends at {clock_text(ends[short])}, {gap:.0f} s before "
                f"{self.files[1 - short].path}: {whom} is not recorded after {clock_text(ends[short])}, and every "
                "figure takes them for silent there"]

    @property
    def duration_s(self) -> float | None:
        ds = [f.duration_s for f in self.files]
        if any(d is None for d in ds):
            return None
        if len(ds) == 2:
            return max(ds[0], ds[1] + self.offset_s)
        return ds[0]

    def _file_stream(self, fi: int) -> Iterator[np.ndarray]:
        f = self.files[fi]
        chans = [ci for (fj, ci) in self.layout.picks if fj == fi]
        rs = Resampler(f.sample_rate, len(chans))
        for x in f.blocks(max(1, int(self.block_s * f.sample_rate))):
            for ci in chans:  # the file's own samples, before resampling (clipping is flat at full scale there)
                got = self._clipped.get((fi, ci), (0, 0))
                self._clipped[(fi, ci)] = (got[0] + flat_at_full_scale(x[:, ci]), got[1] + len(x))
                if len(x):
                    self._peak[(fi, ci)] = max(self._peak.get((fi, ci), 0.0), float(np.abs(x[:, ci]).max()))
            y = rs.push(x[:, chans])
            if len(y):
                yield y
        y = rs.push(np.zeros((0, len(chans)), dtype=np.float32), last=True)
        if len(y):
            yield y

    def __iter__(self) -> Iterator[np.ndarray]:
        n = 0
        blocks = self._file_stream(0) if len(self.files) == 1 else self._merge()
        for y in blocks:  # one file: picked channels come out in speaker order
            n += len(y)
            yield np.ascontiguousarray(y, dtype=np.float32)
        if n == 0:  # a header and no samples (or none decodable)
            raise InputError(f"no audio in {' and '.join(str(f.path) for f in self.files)}")

    def _merge(self) -> Iterator[np.ndarray]:
        rate = GRID.sample_rate
        shift = int(round(self.offset_s * rate))
        streams = [self._file_stream(0), self._file_stream(1)]
        bufs = [np.zeros(0, np.float32), np.zeros(max(shift, 0), np.float32)]
        skip = max(-shift, 0)
        done = [False, False]
        while not all(done):
            for i in (0, 1):
                while not done[i] and len(bufs[i]) < rate * self.block_s:
                    try:
                        y = next(streams[i])[:, 0]
                    except StopIteration:
                        done[i] = True
                        break
                    if i == 1 and skip:
                        cut = min(skip, len(y))
                        y, skip = y[cut:], skip - cut
                    bufs[i] = np.concatenate([bufs[i], y])
            if all(done):
                n = max(len(b) for b in bufs)
            else:
                n = min(len(b) for b, d in zip(bufs, done) if not d)
                n = min(n, max(len(b) for b in bufs))
            out = np.zeros((n, 2), dtype=np.float32)
            for i in (0, 1):
                m = min(n, len(bufs[i]))
                out[:m, i] = bufs[i][:m]
                bufs[i] = bufs[i][m:]
            if n:
                yield out
