"""File formats and channel layouts: what `prosody analyze` finds in a file
must be the planted truth of the fixture dialogue, whatever the container,
codec, sample rate or channel layout it arrives in.

All test audio is cut from ``fixtures/dialogue.flac`` (therapist left, client
right, 16 kHz) and written to ``tmp_path``. The window 11.2-22.2 s has silence
on both channels at both edges and holds an interruption, a gap and a
backchannel::

    therapist  |  ███████████████████████      ███████     ██          |
    client     |                     ██████████       ██████████       |
               11.2                                                 22.2 s
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from prosody.engine.sources import AudioFile, FileSource, Layout, parse_channel_map
from prosody.errors import InputError
from prosody_cli.main import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SR = 16000
HOP_S = 0.01
WINDOW_S = (11.2, 22.2)
SPEAKERS = ("therapist", "client")
LOSSLESS_TOL_S = 0.05
LOSSY_TOL_S = 0.08


@pytest.fixture(scope="module")
def window():
    """(audio, truth): audio (n_samples, 2) float32 at 16 kHz, cut to WINDOW_S;
    truth {speaker: [(start_s, end_s), ...]} on the window's timeline."""
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    assert sr == SR
    t0, t1 = WINDOW_S
    truth = json.loads((FIXTURES / "dialogue.truth.json").read_text())["segments"]
    cut = {spk: [(a - t0, b - t0) for a, b in truth[spk] if b > t0 and a < t1] for spk in SPEAKERS}
    for spk in SPEAKERS:  # the window must not cut through speech
        assert all(a > 0.1 and b < t1 - t0 - 0.1 for a, b in cut[spk]), cut[spk]
    return audio[int(t0 * SR):int(t1 * SR)], cut


def analyze_json(capsys, *argv) -> dict:
    """Run ``prosody analyze ARGV --json - --quiet`` in-process; return the JSON."""
    capsys.readouterr()
    rc = main(["analyze", *map(str, argv), "--json", "-", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "error" not in err, err
    return json.loads(out)


def segments(doc: dict) -> dict[str, list[tuple[float, float]]]:
    return {spk: [(s["start_s"], s["end_s"]) for s in doc["segments"] if s["speaker"] == spk]
            for spk in doc["speaker_order"]}


def assert_segments_match(pred, truth, *, tol_s):
    """Same number of segments per speaker, every start and end within tol_s."""
    assert set(pred) == set(truth)
    for spk in truth:
        assert len(pred[spk]) == len(truth[spk]), f"{spk}: found {pred[spk]}, planted {truth[spk]}"
        for (a, b), (ta, tb) in zip(pred[spk], truth[spk]):
            assert abs(a - ta) <= tol_s and abs(b - tb) <= tol_s, \
                f"{spk}: found {a:.3f}-{b:.3f} s, planted {ta:.3f}-{tb:.3f} s (tolerance {tol_s} s)"


def assert_same_segments(a, b, *, tol_s=1e-9):
    assert set(a) == set(b)
    for spk in a:
        assert len(a[spk]) == len(b[spk]), f"{spk}: {a[spk]} vs {b[spk]}"
        np.testing.assert_allclose(np.array(a[spk]).reshape(-1, 2), np.array(b[spk]).reshape(-1, 2),
                                   atol=tol_s, rtol=0, err_msg=spk)


# -- formats -------------------------------------------------------------------

def write_m4a(path: Path, y: np.ndarray, rate: int) -> None:
    """AAC in an MP4 container through PyAV (FFmpeg's libraries)."""
    av = pytest.importorskip("av")
    layout = {1: "mono", 2: "stereo"}[y.shape[1]]
    planar = np.ascontiguousarray(y.T, dtype=np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate, layout=layout)
        stream.bit_rate = 128000
        for i in range(0, planar.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, i:i + 1024]), format="fltp",
                                               layout=layout)
            frame.rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


# name -> (suffix, soundfile keywords or None for M4A, lossy)
FORMATS = {
    "wav-pcm16": (".wav", dict(format="WAV", subtype="PCM_16"), False),
    "wav-pcm24": (".wav", dict(format="WAV", subtype="PCM_24"), False),
    "wav-pcm32": (".wav", dict(format="WAV", subtype="PCM_32"), False),
    "wav-float": (".wav", dict(format="WAV", subtype="FLOAT"), False),
    "wav-double": (".wav", dict(format="WAV", subtype="DOUBLE"), False),
    "flac": (".flac", dict(format="FLAC"), False),
    "ogg-vorbis": (".ogg", dict(format="OGG", subtype="VORBIS"), True),
    "mp3": (".mp3", dict(format="MP3"), True),
    "m4a-aac": (".m4a", None, True),
}


def write_format(path: Path, y: np.ndarray, rate: int, name: str) -> None:
    _, kw, _ = FORMATS[name]
    if kw is None:
        write_m4a(path, y, rate)
        return
    if kw["format"] not in sf.available_formats() or ("subtype" in kw and kw["subtype"] not in
                                                      sf.available_subtypes(kw["format"])):
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) cannot write {name}")
    sf.write(path, y, rate, **kw)


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
@pytest.mark.parametrize("name", list(FORMATS))
def test_format_and_rate_give_the_planted_segments(tmp_path, capsys, window, name, rate):
    audio, truth = window
    suffix, _, lossy = FORMATS[name]
    y = audio if rate == SR else soxr.resample(audio, SR, rate, quality="HQ").astype(np.float32)
    path = tmp_path / f"session{suffix}"
    write_format(path, y, rate, name)

    doc = analyze_json(capsys, path)

    assert doc["speaker_order"] == list(SPEAKERS)
    assert doc["duration_s"] == pytest.approx(len(audio) / SR, abs=1e-3)  # every file holds exactly 11 s
    assert doc["warnings"] == []
    assert_segments_match(segments(doc), truth, tol_s=LOSSY_TOL_S if lossy else LOSSLESS_TOL_S)


def test_mp4_with_two_audio_streams_says_only_the_first_was_read(tmp_path, capsys, window):
    """A video call saved with the therapist's and the client's track as two audio
    streams: the first is analysed, and the session's warnings say so, once, with how to get the other."""
    av = pytest.importorskip("av")
    audio, truth = window
    path = tmp_path / "tracks.mp4"
    with av.open(str(path), "w") as container:
        streams = [container.add_stream("aac", rate=SR, layout="mono") for _ in range(2)]
        for k, stream in enumerate(streams):  # stream 0: the therapist's channel, stream 1: the client's
            y = np.ascontiguousarray(audio[None, :, k], dtype=np.float32)
            for i in range(0, y.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(y[:, i:i + 1024]), format="fltp",
                                                   layout="mono")
                frame.rate, frame.pts = SR, i
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    doc = analyze_json(capsys, path, "--speaker", "therapist")
    notes = [w for w in doc["warnings"] if "audio streams" in w]
    assert len(notes) == 1, doc["warnings"]
    assert notes[0].startswith(f"{path} holds 2 audio streams; only the first (1 channel) was analysed")
    assert "-map 0:a:1" in notes[0] and "\n" not in notes[0]
    # and the first is the one read: the therapist's planted speech
    assert doc["speaker_order"] == ["therapist"]
    assert_segments_match({"therapist": segments(doc)["therapist"]}, {"therapist": truth["therapist"]},
                          tol_s=LOSSY_TOL_S)


def test_m4a_without_pyav_is_one_line_error_naming_the_fix(tmp_path, capsys, monkeypatch, window):
    audio, _ = window
    path = tmp_path / "session.m4a"
    write_m4a(path, audio[: 2 * SR], SR)
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError

    rc = main(["analyze", str(path), "--quiet"])

    err = capsys.readouterr().err
    assert rc != 0
    assert err.count("\n") == 1 and err.startswith("prosody: error: "), err
    assert "pip install av" in err and "Traceback" not in err


def test_truncated_formats_other_than_wav_are_reported(tmp_path, window):
    """libsndfile quietly shortens the header's length to the data present; the
    shortfall must still reach the user as a warning (AIFF, W64, RF64 too)."""
    audio, _ = window
    y = audio[: 2 * SR]
    for fmt in ("WAV", "AIFF", "W64", "RF64"):
        path = tmp_path / f"cut.{fmt.lower()}"
        sf.write(path, y, SR, format=fmt, subtype="PCM_16")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        f = AudioFile(path)
        got = sum(len(b) for b in f.blocks(SR))
        assert 0.9 * SR < got < 1.1 * SR, fmt
        assert len(f.warnings) == 1 and "truncated" in f.warnings[0] and "header says 2.00 s" in f.warnings[0], \
            (fmt, f.warnings)


def test_streamed_wav_with_unknown_length_is_not_called_truncated(tmp_path, window):
    """Writers that stream to a pipe leave 0xFFFFFFFF as the data size: the whole
    file is read and nothing is reported."""
    audio, _ = window
    path = tmp_path / "streamed.wav"
    sf.write(path, audio[: 2 * SR], SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    assert data[36:40] == b"data"
    data[4:8] = data[40:44] = (0xFFFFFFFF).to_bytes(4, "little")
    path.write_bytes(bytes(data))

    f = AudioFile(path)
    got = np.concatenate(list(f.blocks(SR)))
    assert f.warnings == []
    np.testing.assert_allclose(got, audio[: 2 * SR], atol=1 / 32768)


# -- layouts -------------------------------------------------------------------

def test_stereo_default_is_therapist_left(tmp_path, capsys, window):
    audio, truth = window
    sf.write(tmp_path / "s.wav", audio, SR, subtype="PCM_16")

    doc = analyze_json(capsys, tmp_path / "s.wav")

    assert doc["speaker_order"] == ["therapist", "client"] and doc["turn_taking"] is True
    assert_segments_match(segments(doc), truth, tol_s=LOSSLESS_TOL_S)


def test_channel_map_swaps_the_speakers(tmp_path, capsys, window):
    audio, truth = window
    sf.write(tmp_path / "s.wav", audio, SR, subtype="PCM_16")

    plain = segments(analyze_json(capsys, tmp_path / "s.wav"))
    swapped = segments(analyze_json(capsys, tmp_path / "s.wav", "--channels", "therapist=right,client=left"))

    assert swapped["therapist"] == plain["client"] and swapped["client"] == plain["therapist"]
    assert_segments_match(swapped, {"therapist": truth["client"], "client": truth["therapist"]},
                          tol_s=LOSSLESS_TOL_S)


def test_two_mono_files_equal_the_stereo_file(tmp_path, capsys, window):
    audio, truth = window
    sf.write(tmp_path / "s.wav", audio, SR, subtype="PCM_16")
    sf.write(tmp_path / "therapist.wav", audio[:, 0], SR, subtype="PCM_16")
    sf.write(tmp_path / "client.wav", audio[:, 1], SR, subtype="PCM_16")

    stereo = analyze_json(capsys, tmp_path / "s.wav")
    pair = analyze_json(capsys, tmp_path / "therapist.wav", tmp_path / "client.wav")

    assert pair["speaker_order"] == ["therapist", "client"]
    assert pair["duration_s"] == stereo["duration_s"]
    assert_same_segments(segments(pair), segments(stereo))
    assert pair["transitions"] == stereo["transitions"] and pair["events"] == stereo["events"]


def client_cut(tmp_path, audio, cut_s):
    """therapist.wav (whole) and client.wav missing its first ``cut_s`` seconds."""
    sf.write(tmp_path / "therapist.wav", audio[:, 0], SR, subtype="PCM_16")
    sf.write(tmp_path / "client.wav", audio[int(cut_s * SR):, 1], SR, subtype="PCM_16")
    return tmp_path / "therapist.wav", tmp_path / "client.wav"


def test_offset_puts_the_second_file_back_on_the_timeline(tmp_path, window):
    """Sample-exact: the late file is preceded by silence, nothing else moves."""
    audio, _ = window
    t, c = client_cut(tmp_path, audio, 1.5)
    src = FileSource([str(t), str(c)], Layout(SPEAKERS, ((0, 0), (1, 0))), offset_s=1.5, block_s=0.37)

    got = np.concatenate(list(src))

    expected = np.round(audio * 32768) / 32768  # PCM_16
    expected[: int(1.5 * SR), 1] = 0.0
    assert got.shape == audio.shape
    np.testing.assert_array_equal(got, expected)
    assert src.duration_s == pytest.approx(len(audio) / SR)


def test_negative_offset_skips_the_start_of_the_second_file(tmp_path, window):
    audio, _ = window
    sf.write(tmp_path / "therapist.wav", audio[:, 0], SR, subtype="PCM_16")
    early = np.concatenate([audio[: SR, 0], audio[:, 1]])  # the client's recorder ran 1 s longer
    sf.write(tmp_path / "client.wav", early, SR, subtype="PCM_16")
    src = FileSource([str(tmp_path / "therapist.wav"), str(tmp_path / "client.wav")],
                     Layout(SPEAKERS, ((0, 0), (1, 0))), offset_s=-1.0, block_s=0.29)

    got = np.concatenate(list(src))

    np.testing.assert_array_equal(got, np.round(audio * 32768) / 32768)


def test_a_file_ending_early_is_said_with_its_speaker(tmp_path, capsys, window):
    """Two devices stopped apart: the client's file ends 7 s before the therapist's (planted);
    the warning names the file, the speaker, the time and the gap. Within SHORT_FILE_S, or
    put back on the timeline by --offset, nothing is said."""
    from prosody.engine.sources import SHORT_FILE_S

    audio, _ = window  # 11 s
    sf.write(tmp_path / "therapist.wav", audio[:, 0], SR, subtype="PCM_16")
    sf.write(tmp_path / "client.wav", audio[: 4 * SR, 1], SR, subtype="PCM_16")
    layout = Layout(("ann", "bo"), ((0, 0), (1, 0)))
    src = FileSource([str(tmp_path / "therapist.wav"), str(tmp_path / "client.wav")], layout)
    said = [w for w in src.warnings if "ends at" in w]
    assert len(said) == 1 and "client.wav ends at 0:04, 7 s before" in said[0] and "the bo is not recorded" in said[0]
    doc = analyze_json(capsys, tmp_path / "therapist.wav", tmp_path / "client.wav")
    assert any("client.wav ends at 0:04" in w and "the client is not recorded" in w for w in doc["warnings"])
    # the therapist's file the short one: named so
    src = FileSource([str(tmp_path / "client.wav"), str(tmp_path / "therapist.wav")], layout)
    assert any("client.wav ends at 0:04" in w and "the ann is not recorded" in w for w in src.warnings)
    # within SHORT_FILE_S: devices stopped a moment apart
    sf.write(tmp_path / "client.wav", audio[: int((11.0 - SHORT_FILE_S + 0.5) * SR), 1], SR, subtype="PCM_16")
    assert not [w for w in FileSource([str(tmp_path / "therapist.wav"), str(tmp_path / "client.wav")],
                                      layout).warnings if "ends at" in w]
    # a late start put back on the timeline ends with the other: nothing said
    t, c = client_cut(tmp_path, audio, 6.0)
    assert not [w for w in FileSource([str(t), str(c)], layout, offset_s=6.0).warnings if "ends at" in w]


def test_two_files_at_other_rates_equal_the_stereo_file(tmp_path, capsys, window):
    audio, _ = window
    sf.write(tmp_path / "s.wav", audio, SR, subtype="FLOAT")
    sf.write(tmp_path / "therapist.wav", soxr.resample(audio[:, 0], SR, 44100), 44100, subtype="FLOAT")
    sf.write(tmp_path / "client.flac", soxr.resample(audio[:, 1], SR, 48000), 48000, subtype="PCM_24")

    stereo = analyze_json(capsys, tmp_path / "s.wav")
    pair = analyze_json(capsys, tmp_path / "therapist.wav", tmp_path / "client.flac")

    assert pair["duration_s"] == stereo["duration_s"]
    assert_same_segments(segments(pair), segments(stereo), tol_s=HOP_S + 1e-6)


def test_offset_reproduces_the_stereo_segments(tmp_path, capsys, window):
    """The stereo file that carries the same signal (the client's first 1.5 s
    were never recorded) gives the same segments, within one hop."""
    audio, _ = window
    t, c = client_cut(tmp_path, audio, 1.5)
    same = audio.copy()
    same[: int(1.5 * SR), 1] = 0.0
    sf.write(tmp_path / "s.wav", same, SR, subtype="PCM_16")

    stereo = analyze_json(capsys, tmp_path / "s.wav")
    shifted = analyze_json(capsys, t, c, "--offset-s", "1.5")

    assert shifted["duration_s"] == pytest.approx(stereo["duration_s"], abs=HOP_S)
    assert_same_segments(segments(shifted), segments(stereo), tol_s=HOP_S + 1e-6)


def test_offset_reproduces_the_untouched_stereo_segments(tmp_path, capsys, window):
    audio, _ = window
    t, c = client_cut(tmp_path, audio, 1.5)
    sf.write(tmp_path / "s.wav", audio, SR, subtype="PCM_16")

    stereo = analyze_json(capsys, tmp_path / "s.wav")
    shifted = analyze_json(capsys, t, c, "--offset-s", "1.5")

    assert_same_segments(segments(shifted), segments(stereo), tol_s=HOP_S + 1e-6)


def test_three_channels_need_a_channel_map(tmp_path, capsys, window):
    audio, truth = window
    three = np.stack([audio[:, 0], np.zeros(len(audio), np.float32), audio[:, 1]], axis=1)
    sf.write(tmp_path / "three.wav", three, SR, subtype="PCM_16")

    rc = main(["analyze", str(tmp_path / "three.wav"), "--quiet"])
    err = capsys.readouterr().err
    assert rc != 0
    assert err.count("\n") == 1 and err.startswith("prosody: error: ")
    assert "3 channels" in err and "--channels" in err

    doc = analyze_json(capsys, tmp_path / "three.wav", "--channels", "therapist=1,client=3")
    assert_segments_match(segments(doc), truth, tol_s=LOSSLESS_TOL_S)


def test_mono_file_is_one_speaker_without_turn_taking(capsys):
    path = FIXTURES / "mono_therapist.wav"
    truth = json.loads((FIXTURES / "mono_therapist.truth.json").read_text())["segments"]["therapist"]

    doc = analyze_json(capsys, path)

    assert doc["speaker_order"] == ["therapist"] and list(doc["speakers"]) == ["therapist"]
    assert_segments_match(segments(doc), {"therapist": truth}, tol_s=LOSSLESS_TOL_S)
    assert doc["turn_taking"] is False
    assert doc["turns"] is None and doc["transitions"] is None and doc["events"] is None
    assert any("turn-taking" in note for note in doc["notes"])
    assert doc["speakers"]["therapist"]["talk_share"] is None

    renamed = analyze_json(capsys, path, "--speaker", "client")
    assert renamed["speaker_order"] == ["client"]
    assert segments(renamed)["client"] == segments(doc)["therapist"]


def test_parse_channel_map():
    assert parse_channel_map("therapist=right,client=left", n_channels=2) == {"therapist": 1, "client": 0}
    assert parse_channel_map("client = L , therapist = R", n_channels=2) == {"client": 0, "therapist": 1}
    assert parse_channel_map("therapist=1,client=3", n_channels=3) == {"therapist": 0, "client": 2}
    for bad in ("therapist", "therapist=up", "therapist=3", "therapist=0", "=left", "a=left,b=left",
                "a=1,b=2,c=3"):
        with pytest.raises(InputError, match="--channels"):
            parse_channel_map(bad, n_channels=3 if bad == "a=1,b=2,c=3" else 2)
