"""Hostile sweep 31 (docs/store.md "Hostile sweep 31"): each defect found, against planted truth.

1. A `.flac` recording lost mid-session (its folder removed, seen at an autosave) stopped there (libsndfile cannot
   add to a FLAC), the rest of the capture thrown away. Now it goes on in its own open file, copied on into the
   rescue copy at each autosave and whole at the end.
2. The rescue copy itself lost at the end, with no rescue folder to take another: the session's
   `live.recording_file` named the gone copy (a later file of that name would be imported as this session's
   audio). Now no file is named where nothing is kept.
3. The rescue folder full while the recording went on in its copy: the line named the copy as holding the
   recording, never why the recording was there at all (the loss of its file).
4. A recording cut short (its disk full) carried no fingerprint: import took a file written under its name since.
5. A NaN, infinite or absurd float sample was said "before N samples", N the end of the block read.
6. An autosave imported while its session still ran: said ended ("stopped hard"), its growing recording taken.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.test_hardening import _tmpfs
from tests.test_sweep_hostile28 import _live_losing_its_recording_folder
from tests.test_sweep_hostile30 import _assert_the_capture, _frames_in, _replay_runner, _wait_for


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def test_a_flac_recording_lost_at_an_autosave_goes_on_in_its_rescue_copy(tmp_path, monkeypatch):
    """Planted on a replay (10 s at 2x, an autosave every 0.2 s): `rec` removed once 1 s of FLAC is on disk.
    Before: "the recording failed at T s ...; it could not go on there: libsndfile cannot add to a FLAC file",
    the copy ending at T (~2 s), 8 s captured and thrown away. Now the copy grows while live (copied on at each
    autosave) and at the end holds all 10 s, sample for sample the fixture's (FLAC is lossless), said whole
    but not where asked, its SHA-256 the session's."""
    from prosody.fileio import file_sha256
    r = _replay_runner(tmp_path, monkeypatch, "r.flac")
    rec, kept = tmp_path / "rec" / "r.flac", tmp_path / "data" / "prosody-rescue" / "r.flac"
    r.start()
    _wait_for(lambda: _size(rec) > 20000)
    shutil.rmtree(tmp_path / "rec")
    _wait_for(lambda: _size(kept) > 0)
    first = _size(kept)
    _wait_for(lambda: _size(kept) > first + 20000)  # copied on while live, not only at the end
    res = r.wait(60)
    assert res is not None and res.doc is not None
    live = res.doc["live"]
    assert live["captured_s"] == pytest.approx(10.0, abs=0.011)
    assert live["recording_file"] == str(kept)
    _assert_the_capture(kept, live["captured_s"])
    assert live["recording_complete"] is True and live["recording_stopped_s"] is None, live
    assert live["recording_sha256"] == file_sha256(kept)
    said = res.record_error or ""
    assert said.startswith("the recording is whole (10.0 s) but not where asked") and f"({rec} is gone at " in said
    assert said.endswith(f"all of it is kept in {kept}"), said
    assert "could not go on" not in said
    assert (kept.stat().st_mode & 0o777) == 0o600


def test_a_flac_recording_lost_twice_goes_on_in_a_second_copy(tmp_path, monkeypatch):
    """The FLAC's rescue folder removed too, 1 s after the first loss: a new copy made (the folder made again),
    holding the whole capture at the end, the line naming both losses, never the first copy as holding it."""
    r = _replay_runner(tmp_path, monkeypatch, "r.flac")
    rec, rescue = tmp_path / "rec" / "r.flac", tmp_path / "data" / "prosody-rescue"
    r.start()
    _wait_for(lambda: _size(rec) > 20000)
    shutil.rmtree(tmp_path / "rec")
    _wait_for(lambda: _size(rescue / "r.flac") > 0)
    time.sleep(0.5)
    shutil.rmtree(rescue)
    res = r.wait(60)
    live, kept = res.doc["live"], rescue / "r.flac"
    _assert_the_capture(kept, live["captured_s"])
    assert live["recording_complete"] is True and live["recording_file"] == str(kept)
    said = res.record_error or ""
    assert f"({rec} is gone at " in said and f", then {kept} is gone at " in said, said
    assert said.endswith(f"all of it is kept in {kept}"), said


@pytest.mark.parametrize("name", ["r.wav", "r.flac"])
def test_a_rescue_copy_lost_at_the_end_with_nowhere_to_go_is_never_named(tmp_path, monkeypatch, name):
    """Planted: one rescue folder only; the recording's folder removed (the recording goes on in its copy, seen
    at the first autosave, 2 s in), then the rescue folder made a file before the next autosave, and the session
    stopped. Before: "nothing of it is kept (COPY is gone)", yet `live.recording_file` named COPY, a gone file
    (another session's later rescue copy of that name would have been imported, and played, as this one's
    audio). Now `recording_file` is null, `recording_complete` false, and the line names both losses."""
    import prosody.fileio as fileio
    rescue = tmp_path / "data" / "prosody-rescue"
    monkeypatch.setattr(fileio, "rescue_folders", lambda: [rescue])
    r = _replay_runner(tmp_path, monkeypatch, name)
    r.autosave_s = 2.0
    rec = tmp_path / "rec" / name
    r.start()
    _wait_for(lambda: _size(rec) > 20000)
    shutil.rmtree(tmp_path / "rec")
    _wait_for(lambda: r.snapshot().record_error.startswith("RECORDING MOVED"))
    shutil.rmtree(rescue)
    rescue.write_text("not a folder")
    r.stop()
    res = r.wait(60)
    live = res.doc["live"]
    assert live["recording_file"] is None, live
    assert live["recording_complete"] is False and live["recording_sha256"] is None
    said = res.record_error or ""
    assert f"nothing of it is kept ({rec} is gone at " in said and f", then {rescue / name} is gone)" in said, said


def test_a_rescue_folder_full_while_the_recording_goes_on_there_says_why_it_was_there(tmp_path, monkeypatch):
    """Planted: the rescue folder a 200 kB tmpfs; the recording's folder removed ~1 s in, so the recording goes
    on in its copy there until the tmpfs is full (~3 s). The copy holds what its header says (to the sample),
    `recording_stopped_s` where it ends; before, the line said "COPY holds what was recorded before then" with no
    word of why the recording was in the rescue folder at all; now it names the loss."""
    rescue = tmp_path / "data" / "prosody-rescue"
    with _tmpfs(rescue, "200k"):
        r = _replay_runner(tmp_path, monkeypatch)
        rec = tmp_path / "rec" / "r.wav"
        r.start()
        _wait_for(lambda: _size(rec) > 32000)
        shutil.rmtree(tmp_path / "rec")
        res = r.wait(60)
        live, kept = res.doc["live"], rescue / "r.wav"
        assert live["recording_file"] == str(kept) and live["recording_complete"] is False
        n = _frames_in(kept)
        assert abs(n - live["recording_stopped_s"] * 16000) <= 8 and 1.0 < n / 16000 < 5.0, (n, live)  # to the ms
        _assert_the_capture(kept, n / 16000)
        said = res.record_error or ""
        assert "the disk holding it is full" in said, said
        assert f"{kept} holds what was recorded before then ({rec} is gone at " in said, said


def test_live_whose_flac_recording_folder_is_removed_records_the_rest_into_the_rescue_copy(pulse, tmp_path):
    """Real capture (a private PulseAudio's null-sink monitor, the fixture playing), `--record rec/r.flac`, an
    autosave each second: `rec` removed 3 s in, Ctrl-C 3 s later. Before: the copy ended at the autosave that
    saw the loss, the rest thrown away ("libsndfile cannot add to a FLAC file"). Now the copy's length is the
    session's `captured_s` to the sample, sound after the loss, said whole but not where asked, exit 1."""
    rc, err, doc = _live_losing_its_recording_folder(pulse, tmp_path, make_it_a_file=False, name="r.flac")
    assert rc == 1 and "Traceback" not in err and len(err.splitlines()) == 1, err
    live = doc["live"]
    kept = Path(pulse.env["HOME"]) / ".local" / "share" / "prosody-rescue" / "r.flac"
    y, sr = sf.read(kept, dtype="float32")
    assert len(y) == round(live["captured_s"] * sr), (len(y) / sr, live["captured_s"])
    assert live["recording_complete"] is True and live["recording_file"] == str(kept)
    assert f"({tmp_path / 'rec' / 'r.flac'} is gone at " in err and f"all of it is kept in {kept}" in err, err
    lost_s = float(re.search(r" is gone at ([0-9.]+) s\)", err).group(1))
    assert len(y) / sr > lost_s + 1.0 and np.sqrt(np.mean(y[round(lost_s * sr):] ** 2)) > 1e-3  # sound after it


def test_import_does_not_take_a_recording_cut_short_and_replaced_since(tmp_path, monkeypatch, capsys):
    """Planted: `live --record small/r.wav` of 6 s of the fixture, `small` a 100 kB tmpfs: the recording stops
    when it is full (~1.5 s kept); then another 1 s recording written under its name; the session imported.
    Before: a recording cut short carried no fingerprint (`recording_sha256` null: sweep 29 kept it for whole
    ones only), and import took the other file as the session's audio (its moments would play another
    recording). Now the file as the session left it is fingerprinted, and import says it changed."""
    from prosody.fileio import file_sha256
    from prosody.store.db import Store
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    x, sr = sf.read(Path(__file__).resolve().parent.parent / "fixtures" / "dialogue.flac", dtype="float32")
    sf.write(tmp_path / "a.wav", x[:6 * sr], sr, subtype="PCM_16")
    with _tmpfs(tmp_path / "small", "100k") as small:
        rec = small / "r.wav"
        assert main(["live", "--input", "a.wav", "--speed", "max", "--plain", "--output", "s1.json", "--record",
                     str(rec)]) == 1
        live = json.loads((tmp_path / "s1.json").read_text())["live"]
        assert live["recording_complete"] is False and 0.5 < live["recording_stopped_s"] < 2.0, live
        assert live["recording_sha256"] == file_sha256(rec)
        rec.unlink()
        sf.write(rec, x[20 * sr:21 * sr, ::-1], sr, subtype="PCM_16")
        capsys.readouterr()
        assert main(["import", "s1.json", "--store", "st"]) == 0
        err = capsys.readouterr().err
        assert f"the recording {rec} has changed since the live session saved it" in err, err
    with Store(tmp_path / "st") as st:
        assert "audio" not in st.get(1).doc


def test_a_damaged_float_sample_is_said_where_it_is(tmp_path, monkeypatch, capsys):
    """Planted: 48 kHz float WAVs of 3 s, silent but for one NaN (or one sample of 1e15 times full scale) at
    sample 100000 of channel 2 (2.083 s). Before: "contains NaN or infinite samples (before 144000 samples)",
    the end of the block read, not where the damage is (a file damaged at 0.06 s was said "before 96000
    samples": 6 s). Now `analyze` and `batch` name its first sample, its time and its channel; one line, exit 2."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    for name, bad, said in (("nan.wav", np.nan, "contains NaN or infinite samples"),
                            ("big.wav", 1e15, "holds samples of 1e+15 times full scale")):
        x = np.zeros((3 * 48000, 2), np.float32)
        x[100000, 1] = bad
        sf.write(tmp_path / name, x, 48000, subtype="FLOAT")
        where = "(the first at 2.083 s: sample 100000, channel 2)"
        assert main(["analyze", name, "--quiet", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"prosody: error: {name} {said} {where}") and len(err.splitlines()) == 1, err
        assert main(["batch", name, "--store", "st", "--no-progress", "--jobs", "1"]) == 1
        assert f"prosody: failed: {name}: {name} {said} {where}" in capsys.readouterr().err


def test_a_flac_copy_whose_disk_fills_is_written_whole_elsewhere_at_the_end(tmp_path, monkeypatch):
    """Planted: the rescue folder a 200 kB tmpfs, `$HOME` a folder of the test's; a 10 s FLAC replay whose
    recording's folder is removed ~1 s in. The copy in the tmpfs cannot be brought up to date once it is full:
    said while live ("RECORDING COPY BEHIND"), and at the end all of the recording is written into `$HOME`
    (the next rescue folder), the stale copy removed; whole, sample for sample the fixture's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    rescue = tmp_path / "data" / "prosody-rescue"
    with _tmpfs(rescue, "200k"):
        r = _replay_runner(tmp_path, monkeypatch, "r.flac")
        rec = tmp_path / "rec" / "r.flac"
        r.start()
        _wait_for(lambda: _size(rec) > 20000)
        shutil.rmtree(tmp_path / "rec")
        behind = []
        while not r.done:
            said = r.snapshot().record_error
            if said.startswith("RECORDING COPY BEHIND"):
                behind.append(said)
            time.sleep(0.01)
        res = r.wait(60)
        live, kept = res.doc["live"], tmp_path / "home" / "r.flac"
        assert behind and f"{rescue / 'r.flac'} could not be brought up to date (the disk holding it is full" \
            in behind[0], behind[:1]
        assert live["recording_file"] == str(kept) and live["recording_complete"] is True, live
        _assert_the_capture(kept, live["captured_s"])
        assert not (rescue / "r.flac").exists()
        assert (res.record_error or "").endswith(f"all of it is kept in {kept}"), res.record_error


def test_importing_an_autosave_of_a_session_still_running_says_so(tmp_path, monkeypatch, capsys):
    """Planted: a replay (10 s at 2x, `--record`, an autosave every 0.2 s) still running when its autosave is
    imported. Before: the import took the recording being written as the session's audio (hashed part-way) and
    said "the capture ended without its final save (the program was stopped hard or the machine went down)",
    of a capture that was going on. Now the import sees the recording held by the live session: imported
    without its audio, with a line that says the session is still recording; the autosave's sentence claims no
    end; imported again once the session has ended, with its audio."""
    from prosody.store.db import Store
    from prosody_cli.main import main
    r = _replay_runner(tmp_path, monkeypatch)
    rec, out = tmp_path / "rec" / "r.wav", tmp_path / "s.json"
    r.start()
    _wait_for(lambda: out.exists() and json.loads(out.read_text())["live"]["analysed_s"] > 1.0)
    assert not r.done
    assert main(["import", str(out), "--store", str(tmp_path / "st")]) == 0
    err = capsys.readouterr().err
    assert f"prosody: warning: a live session is still recording into {rec}: this is an autosave of its first " in err
    assert "written before the capture's final save (the capture was still going on then, or" in err, err
    assert "the capture ended without" not in err
    res = r.wait(60)
    assert res is not None and res.doc is not None and r.done
    assert main(["import", str(out), "--store", str(tmp_path / "st")]) == 0
    err = capsys.readouterr().err
    assert "still recording" not in err and "part-way" not in err, err
    with Store(tmp_path / "st") as st:  # the final save replaces the autosave (hostile sweep 33: it was session 2)
        assert [i.id for i in st.list()] == [1]
        assert st.get(1).doc["audio"]["files"][0]["sha256"] == res.doc["live"]["recording_sha256"]
