"""Hostile sweep 36 (docs/store.md "Hostile sweep 36"): batch manifests, reports and clips, readers, odd audio.

1. An exported Parquet whose rows were put in another order (reversed, or sorted by a column, as a pandas
   ``sort_values`` written back with its metadata does) was imported with each frame's pitch and level at another
   frame's time, nothing said: its ``time_s`` was not read. Its rows are now taken in time, and a table whose
   times are not one per frame is refused.
2. `report --clips --clips-format flac` of a recording above 655,350 Hz (FLAC's highest rate; 705.6 and 768 kHz
   recordings are analysed) was an internal error: the clip is now FLAC at 192 kHz.
3. `import` of a session JSON whose segment's speaker is an object or a list was an internal error (unhashable
   type): one line now.
4. Two per-speaker files, the second in stereo with its voice on channel 2 (first silent): read from the silent
   channel, said only as "client never speaks: channel 2 is digital silence". Now said with the file's channel.
5. Two files at other sample rates (two recorders): analysed, but neither clipped (`report --clips`) nor played.
6. A manifest made on Windows (`sub\\a.wav`): every row "no such file", the backslash unsaid.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The fixture dialogue (0.7 min) saved as session 1, and its export as Parquet and as frames CSV."""
    pytest.importorskip("pyarrow")
    d = tmp_path_factory.mktemp("saved")
    store = d / "store"
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", store, "--quiet",
                           "--no-progress")
    assert rc == 0, err
    for suffix in ("parquet", "csv"):
        rc, out, err = run_cli("export", "1", "--store", store, "-o", d / f"s1.{suffix}")
        assert rc == 0, err
    return d


def _frames_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _rewritten(src, dst, reorder):
    """The Parquet ``src`` with its rows in the order ``reorder(n)`` gives, its metadata kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pq.read_table(src)
    pq.write_table(t.take(pa.array(reorder(len(t)))).replace_schema_metadata(t.schema.metadata), dst)
    return dst


@pytest.mark.parametrize("how", ["reversed", "shuffled"])
def test_a_parquet_export_with_its_rows_reordered_imports_its_frames_in_time(saved, tmp_path, how):
    """Before: imported (exit 0) with the frames in the rows' order: the frames CSV exported again differed from
    the original from its first row (therapist's level at 0.005 s -85.07 dB where it was -78.26 dB)."""
    reorder = {"reversed": lambda n: np.arange(n)[::-1],
               "shuffled": lambda n: np.random.default_rng(0).permutation(n)}[how]
    src = _rewritten(saved / "s1.parquet", tmp_path / f"{how}.parquet", reorder)
    store = tmp_path / "store"
    rc, out, err = run_cli("import", src, "--store", store)
    assert rc == 0, err
    rc, out, err = run_cli("export", "1", "--store", store, "-o", tmp_path / "again.csv")
    assert rc == 0, err
    assert _frames_csv(tmp_path / "again.csv") == _frames_csv(saved / "s1.csv")


def test_a_parquet_export_whose_times_are_not_one_per_frame_is_refused(saved, tmp_path):
    """A row's time_s changed to another row's (as many rows as frames, two at one time): refused in one line,
    nothing stored."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pq.read_table(saved / "s1.parquet")
    times = t.column("time_s").to_numpy().copy()
    times[10] = times[11]
    bad = tmp_path / "bad.parquet"
    pq.write_table(t.set_column(0, "time_s", pa.array(times)).replace_schema_metadata(t.schema.metadata), bad)
    store = tmp_path / "store"
    rc, out, err = run_cli("import", bad, "--store", store)
    one_line_error(rc, err)
    assert "therapist's rows are not one per frame" in err and "frame 11 is at 0.105 s" in err
    assert not (store / "sessions.db").exists() or run_cli("sessions", "--store", store)[1].startswith("0 sessions")


def test_a_parquet_export_as_written_imports_alike(saved, tmp_path):
    """Guard: the export as written, and sorted by time (speakers interleaved), import the same frames."""
    import pyarrow.parquet as pq
    t = pq.read_table(saved / "s1.parquet")
    by_time = _rewritten(saved / "s1.parquet", tmp_path / "by_time.parquet",
                         lambda n: np.argsort(t.column("time_s").to_numpy(), kind="stable"))
    for i, src in enumerate((saved / "s1.parquet", by_time), start=1):
        store = tmp_path / f"store{i}"
        rc, out, err = run_cli("import", src, "--store", store)
        assert rc == 0, err
        rc, out, err = run_cli("export", "1", "--store", store, "-o", tmp_path / f"again{i}.csv")
        assert rc == 0, err
        assert _frames_csv(tmp_path / f"again{i}.csv") == _frames_csv(saved / "s1.csv")


def _clip_uris(page: str, mime: str) -> list[bytes]:
    import base64
    import re
    return [base64.b64decode(m) for m in re.findall(rf'data:{mime};base64,([A-Za-z0-9+/=]+)', page)]


def _flac_clips_of(tmp_path, files, *, at_s: float, extra=()) -> tuple[list[tuple], str]:
    """``files`` analysed and saved as session 1, a note at ``at_s``, its report with FLAC clips: (each clip decoded,
    (samples, rate)), the report's stderr)."""
    import io

    import soundfile as sf
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", *files, "--save", "--store", store, "--quiet", "--no-progress", *extra)
    assert rc == 0, err
    rc, out, err = run_cli("note", "1", "--at", str(at_s), "listen here", "--store", store)
    assert rc == 0, err
    page = tmp_path / "r.html"
    rc, out, err = run_cli("report", "1", "--clips", "--clips-format", "flac", "-o", page, "--store", store)
    assert rc == 0, err
    return [sf.read(io.BytesIO(c)) for c in _clip_uris(page.read_text(), "audio/flac")], err


def test_report_clips_as_flac_of_a_recording_above_flacs_highest_rate(tmp_path):
    """Before: `report --clips --clips-format flac` of a 705.6 kHz recording (analysed: any of 4-768 kHz is) was
    `internal error (LibsndfileError: ... flac does not support this sample rate.)`, exit 1, no page. Now the clip
    is FLAC at 192 kHz, the note's 440 Hz tone in it."""
    import soundfile as sf
    rate = 705_600
    t = np.arange(int(2.0 * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    wav = tmp_path / "hi.wav"
    sf.write(wav, np.stack([tone, 0.5 * tone], axis=1), rate, subtype="PCM_16")
    clips, err = _flac_clips_of(tmp_path, [wav], at_s=1, extra=("--layout", "separate"))
    assert "internal error" not in err
    assert clips, "no FLAC clip in the page"
    x, clip_rate = clips[0]
    assert clip_rate == 192_000
    spectrum = np.abs(np.fft.rfft(x[:, 0]))
    assert abs(np.argmax(spectrum) * clip_rate / len(x) - 440.0) < 2.0


@pytest.mark.parametrize("value", [{}, [1], ["therapist"]])
def test_import_of_a_segment_whose_speaker_is_an_object_or_list(saved, tmp_path, value):
    """Before: `import` of a session JSON whose segments[1].speaker is {} or a list was `internal error (TypeError:
    unhashable type: 'dict')`, exit 1. Now one line naming the field, exit 2, nothing stored."""
    import json
    import shutil
    store = tmp_path / "store"
    rc, out, err = run_cli("export", "1", "--store", saved / "store", "-o", tmp_path / "s.json")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    doc["segments"][1]["speaker"] = value
    (tmp_path / "s.json").write_text(json.dumps(doc))
    rc, out, err = run_cli("import", tmp_path / "s.json", "--store", store)
    one_line_error(rc, err)
    assert "segments[1].speaker" in err and "not one of speaker_order" in err
    assert not (store / "sessions.db").exists() or run_cli("sessions", "--store", store)[1].startswith("0 sessions")
    shutil.rmtree(tmp_path / "store", ignore_errors=True)


def _two_files(tmp_path, second: str):
    """The fixture dialogue as two per-speaker files: the therapist's (mono) and the client's, written as stereo
    with the voice on its second channel (first silent: ``"right"``) or on both (``"both"``)."""
    import soundfile as sf
    x, rate = sf.read(FIXTURES / "dialogue.flac")
    th, cl = tmp_path / "therapist.wav", tmp_path / "client.wav"
    sf.write(th, x[:, 0], rate)
    left = np.zeros_like(x[:, 1]) if second == "right" else x[:, 1]
    sf.write(cl, np.stack([left, x[:, 1]], axis=1), rate)
    return th, cl


def test_two_files_the_second_in_stereo_with_its_voice_on_channel_2_is_said(tmp_path):
    """Before: analysed with the client read from the silent first channel of client.wav, said only as "client never
    speaks: channel 2 is digital silence" (the session's channel, not the file's), not that the file's channel 2
    holds the voice. Sweep 36 said so in a warning; since sweep 38 the channel that holds the voice is read, said
    in the session's warnings (``tests/test_sweep_hostile38.py`` holds its figures against the dual-mono file's)."""
    import json
    th, cl = _two_files(tmp_path, "right")
    rc, out, err = run_cli("analyze", th, cl, "--json", tmp_path / "s.json", "--quiet", "--no-progress")
    assert rc == 0, err
    said = [w for w in err.splitlines() if "which holds sound, was read as the client's" in w]
    assert len(said) == 1 and str(cl) in said[0], err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert any("its channel 2, which holds sound" in w for w in doc["warnings"])
    assert doc["speakers"]["client"]["speech_s"] > 5  # the voice, read from channel 2


def test_two_files_the_second_in_dual_mono_is_not_said(tmp_path):
    """Guard: a per-speaker file in stereo with the voice on both channels is read as before, nothing said."""
    import json
    th, cl = _two_files(tmp_path, "both")
    rc, out, err = run_cli("analyze", th, cl, "--json", tmp_path / "s.json", "--quiet", "--no-progress")
    assert rc == 0, err
    assert "holds sound" not in err and "never speaks" not in err
    assert json.loads((tmp_path / "s.json").read_text())["speakers"]["client"]["speech_s"] > 5


def test_clips_of_two_files_at_different_rates(tmp_path):
    """Before: a session of two per-speaker files at other rates (the therapist's recorder at 44.1 kHz, the client's
    at 16 kHz: analysed, each resampled) had no clip in `report --clips` ("the recordings have different sample
    rates: clips are not cut from them") and `play` refused it, exit 2. Now each file is resampled to the higher
    rate: the clip's two channels are the two voices at their times."""
    import soundfile as sf
    import soxr
    x, rate = sf.read(FIXTURES / "dialogue.flac")
    th, cl = tmp_path / "therapist.wav", tmp_path / "client.wav"
    sf.write(th, soxr.resample(x[:, 0], rate, 44_100), 44_100, subtype="FLOAT")
    sf.write(cl, x[:, 1], rate, subtype="FLOAT")
    clips, err = _flac_clips_of(tmp_path, [th, cl], at_s=10)
    assert "no clips" not in err
    assert clips, err
    y, clip_rate = clips[-1]  # the note's clip: 7-13 s (3 s either side)
    assert clip_rate == 44_100 and abs(len(y) - 6 * 44_100) <= 1
    for ch in (0, 1):
        want = soxr.resample(x[7 * rate:13 * rate, ch], rate, 44_100)
        n = min(len(want), len(y))
        r = np.corrcoef(want[:n], y[:n, ch])[0, 1]
        assert r > 0.99, (ch, r)


def test_a_manifest_made_on_windows_names_the_file_its_backslashes_meant(tmp_path):
    """Before: each row `sub\\a.wav` of a manifest written on Windows failed as "no such file: .../sub\\a.wav" beside
    sub/a.wav, the backslash unsaid (the same for `analyze 'sub\\a.wav'`). Now the line names the path with /."""
    import shutil
    (tmp_path / "sub").mkdir()
    shutil.copy(FIXTURES / "mono_therapist.wav", tmp_path / "sub" / "a.wav")
    (tmp_path / "m.csv").write_text("file\nsub\\a.wav\n")
    rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", tmp_path / "store", "--table", tmp_path / "t",
                           "--no-progress")
    assert rc == 1
    assert f"as on Windows; here they are separated by /: {tmp_path / 'sub' / 'a.wav'} exists" in err
    rc, out, err = run_cli("analyze", str(tmp_path / "sub") + "\\a.wav")
    one_line_error(rc, err)
    assert "as on Windows" in err and f"{tmp_path / 'sub' / 'a.wav'} exists" in err
    rc, out, err = run_cli("analyze", "C:\\rec\\a.wav")
    one_line_error(rc, err)
    assert "a Windows path, with a drive letter" in err
