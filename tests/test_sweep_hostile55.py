"""Hostile sweep 55 (docs/store.md "Hostile sweep 55").

1. One file given as both people's (the same name twice, a symbolic or hard link to it): `analyze X X` was refused
   after reading it, as two files of one mix, with `--layout separate` offered (which analysed one voice as both
   people, exit 0); `live --input X X` replayed it and warned at the end; `batch`'s row as analyze. Now each
   refuses it before any audio is read, in one line.
2. The store's errors of a write past the file-size limit are `SizeLimitError`, told by `fileio.is_past_size_limit`
   as the system's EFBIG is: `rescue_unsaved` told them by matching the limit's words in the message.
3. `enrol` of a telephone-band recording: neither of its tests tells a short second voice there (the fixture
   dialogue's first 12 s at 8 kHz, mixed to one channel: one voice); now it says so.
4. `enrol` held every channel of the file, twice (its blocks, then joined): an 8-channel 10-minute file peaked at
   950 MB; now each block is reduced to the mix and the first two channels as read.
"""
from __future__ import annotations

import errno
import os
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import FIXTURES, run_cli

RATE_HZ = 16000
SAME = ("two files are one speaker each, the therapist's then the client's; give each person's own recording, or "
        "the one file alone (its voices are then told apart by diarization)")


def _head(seconds: int = 12) -> np.ndarray:
    """The fixture dialogue's first ``seconds``: (n, 2), the therapist on channel 1, the client on channel 2."""
    audio, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32", frames=seconds * RATE_HZ)
    return audio


# -- 1. one file as both people's -----------------------------------------------------------------------------------

@pytest.fixture
def one_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sf.write("th.wav", _head()[:, 0], RATE_HZ, subtype="PCM_16")
    os.symlink("th.wav", "ln.wav")
    os.link("th.wav", "hard.wav")
    return tmp_path


@pytest.mark.parametrize("second, what", [("th.wav", "th.wav is given twice"),
                                          ("ln.wav", "th.wav and ln.wav are one file"),
                                          ("hard.wav", "th.wav and hard.wav are one file")])
def test_analyze_refuses_one_file_as_both_people(one_file, second, what):
    """Before: "both files carry both voices (the two channels are identical ...)" after reading them, and with
    `--layout separate` exit 0, "therapist never speaks" and the client alike."""
    for extra in ((), ("--layout", "separate")):
        rc, out, err = run_cli("analyze", "th.wav", second, *extra, "--json", "s.json", "--quiet")
        assert (rc, out, err) == (2, "", f"prosody: error: {what}: {SAME}\n")
        assert not (one_file / "s.json").exists()


def test_live_refuses_one_file_replayed_as_both_people(one_file):
    """Before: replayed, exit 0, the same-sound warning and "never speaks" for both after the session."""
    for second in ("th.wav", "./th.wav"):
        rc, out, err = run_cli("live", "--input", "th.wav", second, "--plain", "--speed", "max", "--output", "s.json")
        what = "th.wav is given twice" if second == "th.wav" else "th.wav and ./th.wav are one file"
        assert (rc, out, err) == (2, "", f"prosody: error: {what}: {SAME}\n")
        assert sorted(p.name for p in one_file.iterdir()) == ["hard.wav", "ln.wav", "th.wav"]


def test_a_batch_row_of_one_file_as_both_people_fails_alone(one_file):
    """A manifest row naming th.wav as file and file2 fails in analyze's words; the next row is analysed."""
    (one_file / "m.csv").write_text("file,file2\nth.wav,th.wav\nth.wav,\n")
    rc, out, err = run_cli("batch", "m.csv", "--store", "st")
    assert rc == 1, err
    assert f"  th.wav + th.wav: th.wav is given twice: {SAME}\n" in out, out
    assert "1 analysed" in out and "1 failed" in out, out


def test_two_files_of_one_mix_are_still_read_as_before(one_file):
    """Two files (not one) of one mix: analyze refuses them as before (their sound, not their names), and live
    replays them as two devices (tests/test_sweep_hostile54.py)."""
    sf.write("b.wav", _head()[:, 0] * 0.8, RATE_HZ, subtype="PCM_16")
    rc, _, err = run_cli("analyze", "th.wav", "b.wav", "--quiet")
    assert rc == 2 and err.startswith("prosody: error: both files carry both voices ("), err


# -- 2. the store's file-size limit told by its error, not its words -----------------------------------------------

def test_store_errors_of_the_file_size_limit_are_told_as_the_system_error():
    from prosody.errors import SizeLimitError, StoreError
    from prosody.fileio import is_past_size_limit
    from prosody.store.db import store_os_error
    big = store_os_error(OSError(errno.EFBIG, "File too large"), "st/frames/x.npz", "write")
    assert isinstance(big, SizeLimitError) and is_past_size_limit(big)
    other = store_os_error(OSError(errno.EIO, "Input/output error"), "st/frames/x.npz", "write")
    assert type(other) is StoreError and not is_past_size_limit(other)
    # the limit's words in a message are no limit (the rescue matched them before)
    assert not is_past_size_limit(StoreError("cannot write x: File too large: this process may write no file"))
    assert is_past_size_limit(OSError(errno.EFBIG, "File too large"))


def test_the_rescue_says_the_limit_once_by_the_error(tmp_path, monkeypatch):
    """`rescue_unsaved` where no rescue folder took the session: after a SizeLimitError the limit once and no other
    disk advised; after a StoreError holding the same words (no limit: the rescue matched them before) another
    disk advised."""
    import argparse
    import types

    import prosody.formats.export as export
    from prosody import fileio
    from prosody.errors import SizeLimitError, StoreError
    from prosody_cli import sessions
    limit = fileio.file_size_limit_text(4096)
    monkeypatch.setattr(sessions, "file_size_limit", lambda: 4096)
    monkeypatch.setattr(export, "keep_unsaved", lambda *a, **k: (None, f".: {limit}; no other folder was tried"))
    args = argparse.Namespace(store=str(tmp_path / "st"), therapist=None, client=None, session_number=None,
                              date=None, notes=None, tag=[], save=True, files=[str(FIXTURES / "mono_therapist.wav")])
    session = types.SimpleNamespace(frames=None, speakers=("therapist",), duration_s=5.0)
    why = f"cannot write st/frames/x.npz: {limit}"
    assert sessions.rescue_unsaved(args, session, SizeLimitError(why), doc={}) == (
        f"the session could not be saved ({why}) nor kept anywhere (.: the same limit; no other folder was tried)")
    assert sessions.rescue_unsaved(args, session, StoreError(why), doc={}).endswith(
        "; run again with --json PATH on another disk")


# -- 3. enrol of a telephone-band recording --------------------------------------------------------------------------

NARROW = ("is a telephone-band recording: almost nothing of its speech lies above 4 kHz (a phone line or an 8 kHz "
          "file), where voices differ most, so a second voice in it is found less surely (a few seconds of another "
          "person's speech can pass for the therapist's); make sure it holds the therapist alone, or enrol from a "
          "recording at its full band")


def test_enrol_of_a_telephone_band_recording_says_a_second_voice_is_found_less_surely(tmp_path):
    """The dialogue's first 12 s mixed to one channel at 8 kHz (3 s of the client): enrolled unsaid before (the
    diarizer hears one voice, as analyze does; its odd piece lies 0.26 apart, under 0.30). At 16 kHz the same mix
    is refused as two voices, and the therapist alone at full band is enrolled without the warning."""
    import soxr
    mix = _head().mean(axis=1)
    sf.write(tmp_path / "d8.wav", soxr.resample(mix, RATE_HZ, 8000), 8000, subtype="PCM_16")
    sf.write(tmp_path / "d16.wav", mix, RATE_HZ, subtype="PCM_16")
    rc, out, err = run_cli("enrol", tmp_path / "d8.wav", "--therapist", "ann", "--store", tmp_path / "st")
    assert rc == 0 and out.startswith("enrolled ann: "), (out, err)
    assert err == f"prosody: warning: {tmp_path / 'd8.wav'} {NARROW}\n", err
    rc, out, err = run_cli("enrol", tmp_path / "d16.wav", "--therapist", "bob", "--store", tmp_path / "st")
    assert rc == 2 and err.startswith(f"prosody: error: two voices found in {tmp_path / 'd16.wav'} ("), err
    rc, out, err = run_cli("enrol", FIXTURES / "mono_therapist.wav", "--therapist", "cy", "--store", tmp_path / "st")
    assert (rc, err) == (0, ""), err


# -- 4. enrol holds the mix and two channels, not every channel ------------------------------------------------------

def test_enrol_reads_a_many_channel_file_without_holding_its_channels(tmp_path):
    """A 16-channel file of 3 minutes (channel k: the dialogue's therapist times (k + 1) / 20): the mix is every
    channel's mean and the pair its first two, read while never holding the file's channels (as float32: 184 MB):
    the peak of what is allocated stays under half of that (before: all channels held twice, 369 MB and more;
    the reader's own blocks, 41 MB here, whatever the length)."""
    from prosody.enrol import recording_channels, recording_mix
    th = np.tile(_head(20)[:, 0], 9)
    x = np.stack([th * (k + 1) / 20 for k in range(16)], axis=1).astype(np.float32)
    sf.write(tmp_path / "m16.wav", x, RATE_HZ, subtype="PCM_16")
    x, _ = sf.read(tmp_path / "m16.wav", dtype="float32")  # the samples as stored
    mean, first = x.mean(axis=1), x[:, :2].copy()
    held, x = x.nbytes, None
    tracemalloc.start()
    try:
        mix, pair, said = recording_channels(str(tmp_path / "m16.wav"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert said == [] and pair.shape == first.shape
    np.testing.assert_array_equal(pair, first)
    np.testing.assert_array_equal(mix, mean)
    assert peak < held / 2, (peak, held)
    one, _ = recording_mix(str(tmp_path / "m16.wav"), channel=1)
    np.testing.assert_array_equal(one, first[:, 1])


# -- 5. a Matroska file of two tracks of other lengths --------------------------------------------------------------

def _write_two_tracks(path, seconds: tuple[float, float], rate: int = 16000) -> None:
    """Two tones (220 and 330 Hz) of ``seconds`` each, as two FLAC tracks of one finished Matroska file."""
    av = pytest.importorskip("av")
    tones = [(0.3 * np.sin(2 * np.pi * f * np.arange(int(s * rate)) / rate)).astype(np.float32)[None, :]
             for f, s in zip((220, 330), seconds)]
    with av.open(str(path), "w", format="matroska") as container:
        streams = [container.add_stream("flac", rate=rate, layout="mono") for _ in tones]
        for i in range(0, max(x.shape[1] for x in tones), 960):  # interleaved as a recorder writes them
            for stream, x in zip(streams, tones):
                if i < x.shape[1]:
                    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, i:i + 960]), format="flt",
                                                       layout="mono")
                    frame.rate, frame.pts = rate, i
                    for packet in stream.encode(frame):
                        container.mux(packet)
        for stream in streams:
            for packet in stream.encode(None):
                container.mux(packet)


def test_a_matroska_track_shorter_than_the_file_is_not_said_truncated(tmp_path):
    """A 4 s first track beside a 12 s second: "is truncated: its header says 12.00 s, read 4.00 s" before (the
    Segment's Duration is the longest track's). Now only the note that the first track alone is analysed; the
    file cut to a quarter of its bytes is said truncated against the first track's own 4.00 s."""
    from tests.test_sweep_hostile48 import _read_all
    whole = tmp_path / "two.mka"
    _write_two_tracks(whole, (4.0, 12.0))
    got_s, warnings = _read_all(whole)
    assert abs(got_s - 4.0) < 0.05, got_s
    assert len(warnings) == 1 and warnings[0].startswith(f"{whole} holds 2 audio streams; only the first"), warnings
    cut = tmp_path / "cut.mka"
    data = whole.read_bytes()
    cut.write_bytes(data[:len(data) // 4])
    got_s, warnings = _read_all(cut)
    assert got_s < 3.5 and warnings[1:] == [f"{cut} is truncated: its header says 4.00 s, read {got_s:.2f} s (every "
                                            "block it holds); analysed the readable part"], warnings


# -- 6. --channels naming a one-channel file's speaker ---------------------------------------------------------------

def _one_channel_said(name: str, hint: str, flag: str = "--channels") -> str:
    return (f"{flag} {name} names the speaker of each channel, and the file has one: name its one speaker with "
            f"{hint}, or give neither (its voices are then told apart by diarization)")


def test_channels_on_a_one_channel_file_is_said_with_its_fix(one_file):
    """`analyze th.wav --channels client=1`: "the audio looks mono ...; speakers are attributed by voice instead
    (use --layout separate to force the channel mapping)" before, the therapist's figures given, and the advice
    went round (--layout separate: "needs two channels ... use --layout mono"; --layout mono with --channels:
    "give one or the other (--layout separate with --channels forces the channel mapping)")."""
    for channels, hint in (("client=1", "--speaker client"), ("Dr Ann=left", "--speaker 'Dr Ann'")):
        rc, out, err = run_cli("analyze", "th.wav", "--channels", channels, "--json", "s.json", "--quiet")
        assert (rc, out, err) == (2, "", f"prosody: error: {_one_channel_said(channels, hint)}\n")
    rc, _, err = run_cli("analyze", "th.wav", "--speaker", "client", "--json", "s.json", "--quiet")
    import json
    assert rc == 0 and json.loads((one_file / "s.json").read_text())["speaker_order"] == ["client"], err


def test_channels_on_a_one_channel_file_in_batch_and_live(one_file):
    """A manifest row, and `live --input` (which took the name while live, then dropped it for "therapist" on save
    with --record)."""
    (one_file / "m.csv").write_text("file,channels\nth.wav,client=1\n")
    rc, out, _ = run_cli("batch", "m.csv", "--store", "st")
    said = _one_channel_said("client=1", "the speaker column (client)", flag="channels")
    assert rc == 1 and f"  th.wav: m.csv line 2: {said}\n" in out, out
    rc, out, err = run_cli("live", "--input", "th.wav", "--channels", "client=1", "--plain", "--speed", "max",
                           "--output", "l.json", "--record", "l.wav")
    assert (rc, out, err) == (2, "", f"prosody: error: {_one_channel_said('client=1', '--speaker client')}\n")
    assert not (one_file / "l.json").exists() and not (one_file / "l.wav").exists()
