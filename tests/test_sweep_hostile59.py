"""Hostile sweep 59 (docs/store.md "Hostile sweep 59"): audio files whose header lies, as analyze reads them.

1. An RF64 whose 'ds64' data size stops short of the samples the file holds (a recorder that writes its sizes at the
   end, stopped before it did): 3 s of 12 read unsaid; with a size of 0 "no audio in" a file holding 12 s. A WAV's
   data chunk alike was said since sweep 12; now an RF64's and a CAF's are, in the same words.
2. An RF64 whose 'ds64' data size runs past the file (cut short, or claiming 4 x what it holds) was read to its end
   without a word (libsndfile's log has no "should be" for it): said truncated now, as a WAV is. A 'ds64' size of
   2^64 - 1 (which no reader reads) was refused with libsndfile's "Unspecified internal error"; said damaged now.
3. An Ogg of two audio streams side by side (a track each, as ffmpeg muxes two): libsndfile decodes the first
   alone, and a dialogue was analysed as one voice unsaid; said now, as for an MP4 or WebM of two tracks.
4. An MP3 that is its ID3 tag alone was "too short or damaged to hold audio"; said as a tag alone now.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from prosody.engine.sources import AudioFile
from tests.conftest import FIXTURES, run_cli

RATE_HZ = 16000
SECONDS = 12
FRAME_BYTES = 4  # 16-bit stereo


def _head() -> np.ndarray:
    """The fixture dialogue's first 12 s: (n, 2), the therapist on channel 1, the client on channel 2."""
    audio, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32", frames=SECONDS * RATE_HZ)
    return audio


def _patched(path: Path, tag: bytes, skip: int, value: bytes) -> Path:
    """``path`` with ``value`` written ``skip`` bytes after the first ``tag`` in it."""
    data = bytearray(path.read_bytes())
    at = data.index(tag) + skip
    data[at:at + len(value)] = value
    path.write_bytes(bytes(data))
    return path


def _rf64(tmp_path: Path, data_bytes: int | None) -> Path:
    """The 12 s head as a 16-bit stereo RF64, its 'ds64' data size set to ``data_bytes`` (None: as written)."""
    path = tmp_path / "r.wav"
    sf.write(path, _head(), RATE_HZ, subtype="PCM_16", format="RF64")
    # 'ds64', its size (4 bytes), the RIFF size (8), then the data size (8)
    return path if data_bytes is None else _patched(path, b"ds64", 16, struct.pack("<Q", data_bytes))


def _caf(tmp_path: Path, data_bytes: int) -> Path:
    """The 12 s head as a 16-bit stereo CAF, its 'data' chunk's size set to ``data_bytes`` samples' bytes (and the
    4-byte edit count that opens the chunk)."""
    path = tmp_path / "c.caf"
    sf.write(path, _head(), RATE_HZ, subtype="PCM_16", format="CAF")
    return _patched(path, b"data", 4, struct.pack(">q", data_bytes + 4))


def _unheaded_words(path: Path, heard_s: float, more_s: float, fix: str) -> str:
    return (f"{path}'s header gives {heard_s:.2f} s of audio, but {more_s:.2f} s more of samples follow that in the "
            "file (a recording still being written, or one whose recorder stopped before it updated its header): "
            f"only the first {heard_s:.2f} s were analysed; analyse it once the recording is finished; if it is, "
            f"{fix}")


def _ffmpeg_fix(path: Path) -> str:
    return f"rewrite its header first, e.g. `ffmpeg -ignore_length 1 -i {path} -c:a flac whole.flac`"


def _read_all(f: AudioFile) -> int:
    return sum(len(block) for block in f.blocks(RATE_HZ))


# -- 1. a data size short of the samples --------------------------------------------------------------------------

def test_an_rf64_whose_data_size_stops_short_is_said(tmp_path):
    """Before: 3.00 s analysed, no warning."""
    path = _rf64(tmp_path, 3 * RATE_HZ * FRAME_BYTES)
    f = AudioFile(path)
    assert f.warnings == [_unheaded_words(path, 3.0, 9.0, _ffmpeg_fix(path))]
    assert _read_all(f) == 3 * RATE_HZ


def test_an_rf64_whose_data_size_is_zero_is_refused_as_a_wav_is(tmp_path, monkeypatch):
    """Before: "no audio in r.wav", of a file holding 12 s."""
    monkeypatch.chdir(tmp_path)
    _rf64(tmp_path, 0)
    rc, out, err = run_cli("analyze", "r.wav", "--json", "s.json", "--quiet")
    assert (rc, out) == (2, "")
    assert err == ("prosody: error: r.wav's header says it holds no audio (0 bytes), but 12.00 s of samples follow "
                   "it: a recording still being written, or one whose recorder stopped before it wrote its header: "
                   f"analyse it once the recording is finished; if it is, {_ffmpeg_fix(Path('r.wav'))}\n")
    assert not (tmp_path / "s.json").exists()


def test_a_caf_whose_data_size_stops_short_is_said(tmp_path):
    """Before: 3.00 s analysed, no warning. FFmpeg stops at the 'data' size too, so no converter is offered."""
    path = _caf(tmp_path, 3 * RATE_HZ * FRAME_BYTES)
    f = AudioFile(path)
    fix = "export it again from the app that recorded it (no converter reads past a CAF's 'data' size)"
    assert f.warnings == [_unheaded_words(path, 3.0, 9.0, fix)]
    assert _read_all(f) == 3 * RATE_HZ


@pytest.mark.parametrize("make", [lambda p: _rf64(p, None), lambda p: _caf(p, SECONDS * RATE_HZ * FRAME_BYTES),
                                  lambda p: _rf64(p, 1 << 60)])
def test_whole_rf64_and_caf_files_read_whole_unsaid(tmp_path, make):
    """As written; a CAF's size set to what it holds; an RF64 placeholder size (2^60 bytes): all 12 s, no word."""
    f = AudioFile(make(tmp_path))
    assert _read_all(f) == SECONDS * RATE_HZ
    assert f.warnings == []


def test_an_rf64_whose_data_size_is_negative_is_said_damaged(tmp_path, monkeypatch):
    """A 'ds64' data size of 2^64 - 1 (negative to FFmpeg; neither it nor libsndfile reads the file): before,
    libsndfile's "Unspecified internal error", an internal error of prosody's to a reader."""
    monkeypatch.chdir(tmp_path)
    _rf64(tmp_path, (1 << 64) - 1)
    rc, out, err = run_cli("analyze", "r.wav", "--json", "s.json", "--quiet")
    assert (rc, out, err) == (2, "", "prosody: error: cannot decode r.wav: not a readable audio file (its header's "
                                     "64-bit sizes ('ds64') are past any file (negative): it is damaged)\n")


# -- 2. a data size past the file ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cut", [False, True])
def test_an_rf64_whose_data_size_runs_past_the_file_is_said_truncated(tmp_path, cut):
    """A size 4 x what it holds: before, read to its end without a word (one cut to a quarter was said, and is)."""
    path = _rf64(tmp_path, None if cut else 4 * SECONDS * RATE_HZ * FRAME_BYTES)
    if cut:
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 4])
    f = AudioFile(path)
    got = _read_all(f)
    claimed_s = SECONDS if cut else 4 * SECONDS
    assert f.warnings == [f"{path} is truncated: header says {claimed_s:.2f} s, read {got / RATE_HZ:.2f} s; "
                          "analysed the readable part"]


# -- 3. an Ogg of two streams ----------------------------------------------------------------------------------

def test_an_ogg_of_two_audio_streams_is_said(tmp_path, monkeypatch):
    """Each person's channel as a stream of its own: before, one voice analysed and nothing said of the second."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    monkeypatch.chdir(tmp_path)
    sf.write("d.wav", _head(), RATE_HZ, subtype="PCM_16")
    subprocess.run(["ffmpeg", "-v", "error", "-i", "d.wav", "-filter_complex",
                    "channelsplit=channel_layout=stereo[l][r]", "-map", "[l]", "-map", "[r]", "-c:a", "libvorbis",
                    "two.ogg"], check=True)
    f = AudioFile("two.ogg")
    assert f.warnings == [
        "two.ogg holds 2 audio streams; only the first (1 channel) was analysed: to analyse the others, extract "
        "each track (`ffmpeg -i two.ogg -map 0:a:1 -c:a flac track2.flac` for the second; 0:a:0 is the first) "
        "and give two tracks as two files, the therapist's first"]
    assert _read_all(f) == SECONDS * RATE_HZ
    subprocess.run(["ffmpeg", "-v", "error", "-i", "d.wav", "-c:a", "libvorbis", "one.ogg"], check=True)
    assert AudioFile("one.ogg").warnings == []  # one stream of two channels: nothing to say
    video = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-i", "d.wav",
                            "-t", "3", "-map", "0", "-map", "1", "-c:v", "libtheora", "-c:a", "libvorbis", "av.ogv"])
    if video.returncode == 0:  # a video stream beside one audio stream: one audio stream, nothing to say
        assert AudioFile("av.ogv").warnings == []


# -- 4. an MP3 that is its tag alone --------------------------------------------------------------------------------

def _id3_tag(title: bytes) -> bytes:
    """An ID3v2.3 tag of one title frame (TIT2, Latin-1)."""
    frame = b"TIT2" + (len(title) + 1).to_bytes(4, "big") + b"\x00\x00" + b"\x00" + title
    return b"ID3\x03\x00\x00" + len(frame).to_bytes(4, "big") + frame  # a size under 128: syncsafe as it is


@pytest.mark.parametrize("padding", [0, 100])
def test_an_mp3_of_its_tag_alone_is_said(tmp_path, monkeypatch, padding):
    """An export stopped after its tag: before, "not a readable audio file (too short or damaged to hold audio)"."""
    monkeypatch.chdir(tmp_path)
    Path("t.mp3").write_bytes(_id3_tag(b"session 4") + bytes(padding))
    rc, out, err = run_cli("analyze", "t.mp3", "--json", "s.json", "--quiet")
    assert (rc, out, err) == (2, "", "prosody: error: cannot decode t.mp3: not a readable audio file (it is an ID3 "
                                     "tag alone (30 bytes of a title, an artist or a picture), with no audio after "
                                     "it)\n")
    Path("t.mp3").write_bytes(_id3_tag(b"session 4") + bytes(200 + padding))  # more than a tag's padding after it
    rc, out, err = run_cli("analyze", "t.mp3", "--json", "s.json", "--quiet")
    assert rc == 2 and "ID3" not in err
