"""Hostile sweep 33 (docs/store.md "Hostile sweep 33"): each defect found, against planted truth.

1. `live --input` of a file cut short said so in the saved session's warnings alone: the person watching was
   never told. Now the plain lines (and the full-screen view) say it once, when it is found.
2. An autosave imported, then the same live session's final save imported: two sessions of one recording,
   counted twice by `trend`. Now each save carries the live session's id (`live.session_id`): a later save
   replaces the stored one in place (its number, metadata, tags kept), the same or an earlier one is refused.
3. The live session's own file (`--output` and its frames) was unknown to the store: `delete` could say it only
   in general. Now the document carries it (`live.output_file`) and `delete` names it while it still holds that
   live session (never a file written under its name since).
4. A file prosody writes again by a rename (a live session's autosaves, `export -o` over an old export) left the
   old file's blocks on the disk (freed, not cleared). Now the replaced file is zeroed once the new one is in
   place, where no other name or open reader holds it.
5. A `.flac` (or `.wav`) recording lost mid-session with no rescue folder to take a copy at the loss stopped
   there ("nothing of it is kept"), though its open file held all of it and went on being writable. Now it goes
   on in that file, a copy tried at each autosave and at the end.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _fixture_wav(path: Path, seconds: float) -> None:
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    sf.write(path, x[:round(seconds * sr)], sr, subtype="PCM_16")


def test_a_replayed_file_cut_short_is_said_when_found(tmp_path, monkeypatch, capsys):
    """Planted: a 20 s WAV cut in half (its header still says 20 s), replayed at max speed, plain view.
    Before: nothing on the terminal (the `saved` line alone; the truncation only in the JSON's warnings). Now
    one line, once, naming the file and what was read; a whole file says nothing of the kind."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    _fixture_wav(tmp_path / "whole.wav", 20.0)
    data = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])
    capsys.readouterr()
    assert main(["live", "--input", "cut.wav", "--speed", "max", "--plain", "--output", "s.json"]) == 0
    said = capsys.readouterr()
    line = "prosody: warning: cut.wav is truncated: header says 20.00 s, read 10.00 s; analysed the readable part"
    assert (said.out + said.err).count(line) == 1, said
    doc = json.loads((tmp_path / "s.json").read_text())
    assert line.removeprefix("prosody: warning: ") in doc["warnings"]
    assert main(["live", "--input", "whole.wav", "--speed", "max", "--plain", "--output", "w.json"]) == 0
    said = capsys.readouterr()
    assert "truncated" not in said.out + said.err
    x, sr = sf.read(tmp_path / "whole.wav", dtype="float32")  # a file that clips: its share changes as it is
    sf.write(tmp_path / "clips.wav", np.clip(x * 30, -1, 1), sr, subtype="PCM_16")  # read, never a line a share
    assert main(["live", "--input", "clips.wav", "--speed", "4", "--plain", "--output", "c.json",
                 "--interval-s", "0.5"]) == 0
    said = capsys.readouterr()
    assert "prosody: warning" not in said.out, said  # no line of the plain view
    warned = json.loads((tmp_path / "c.json").read_text())["warnings"]
    assert any(" clips: " in w for w in warned)
    # the saved session's warnings once at the end, after `saved`, as analyze says them (hostile sweep 53)
    assert said.err == "".join(f"prosody: warning: {w}\n" for w in warned), said


def _autosave_then_final(tmp_path, monkeypatch):
    """A replay (10 s at 2x, autosaves every 0.2 s) whose autosave is copied part-way: (copy, final, result)."""
    import shutil

    from tests.test_sweep_hostile30 import _replay_runner, _wait_for
    r = _replay_runner(tmp_path, monkeypatch)
    out = tmp_path / "s.json"
    r.start()
    _wait_for(lambda: out.exists() and json.loads(out.read_text())["live"]["analysed_s"] > 2.0)
    shutil.copy(tmp_path / "s.frames.npz", tmp_path / "auto.frames.npz")  # the frames first, as saved
    shutil.copy(out, tmp_path / "auto.json")
    res = r.wait(60)
    assert res is not None and res.doc is not None
    auto = json.loads((tmp_path / "auto.json").read_text())["live"]
    assert auto["complete"] is False and auto["session_id"] == res.doc["live"]["session_id"]
    return tmp_path / "auto.json", out, res


def test_an_autosave_and_the_final_save_imported_are_one_session(tmp_path, monkeypatch, capsys):
    """Planted: an autosave of ~2-9 s of a 10 s live session imported (with --client and --tag), then its final
    save. Before: sessions 1 and 2, both the client's, `trend` over both (one recording counted twice). Now the
    final save replaces session 1 in place (10 s, the client and tag kept); importing it again, or the autosave
    after it, is refused in one line, exit 2, the store unchanged."""
    from prosody.store.db import Store
    from prosody_cli.main import main
    auto, final, res = _autosave_then_final(tmp_path, monkeypatch)
    st = str(tmp_path / "st")
    assert main(["import", str(auto), "--store", st, "--client", "Quixote", "--tag", "intake"]) == 0
    capsys.readouterr()
    assert main(["import", str(final), "--store", st]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"imported {final} as session 1, replacing the store's earlier save of this live session "
                           "(an autosave of its first "), said
    assert "with this one (its final save, 10.0 s)" in said, said
    with Store(tmp_path / "st") as store:
        assert [i.id for i in store.list()] == [1]
        s1 = store.get(1)
        assert s1.info.meta.client == "Quixote" and s1.info.meta.tags == ("intake",)
        assert s1.info.duration_s == pytest.approx(res.doc["duration_s"], abs=0.01)
        assert s1.doc["live"]["complete"] is True
    for again, which in ((final, "its final save, 10.0 s"), (auto, "an autosave of its first ")):
        assert main(["import", str(again), "--store", st]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"prosody: error: {again} is a save of the live session already in the store as "
                              "session 1 (its final save, 10.0 s; this file: " + which) and len(err.splitlines()) == 1
    with Store(tmp_path / "st") as store:
        assert [i.id for i in store.list()] == [1]
    assert main(["import", str(auto), "--store", st, "--new-id"]) == 0  # asked for: a second session
    with Store(tmp_path / "st") as store:
        assert [i.id for i in store.list()] == [1, 2]


def test_delete_names_the_live_sessions_own_file(tmp_path, monkeypatch, capsys):
    """Planted: a live session saved as s.json (+ s.frames.npz), imported, deleted. Before: "the live session's
    own file (--output ...) wherever you kept it", no path. Now both files are named (kept: the user asked for
    them); a file written under that name since (another live session's) is not named, nor erased."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    _fixture_wav(tmp_path / "a.wav", 4.0)
    for n in (1, 2):
        assert main(["live", "--input", "a.wav", "--speed", "max", "--plain", "--output", f"s{n}.json"]) == 0
    assert json.loads((tmp_path / "s1.json").read_text())["live"]["output_file"] == str(tmp_path / "s1.json")
    for n in (1, 2):
        assert main(["import", f"s{n}.json", "--store", "st"]) == 0
    capsys.readouterr()
    assert main(["delete", "1", "--store", "st"]) == 0
    err = capsys.readouterr().err
    assert (f"prosody: note: session 1's own files {tmp_path / 's1.json'} and {tmp_path / 's1.frames.npz'} "
            "(written by `prosody live --output`) are kept") in err, err
    (tmp_path / "s2.json").write_bytes((tmp_path / "s1.json").read_bytes())  # another session's file, that name
    assert main(["delete", "2", "--store", "st"]) == 0
    err = capsys.readouterr().err
    assert "s2.json" not in err and "own file" not in err, err
    assert (tmp_path / "s1.json").exists() and (tmp_path / "s2.frames.npz").exists()


def test_export_over_an_old_export_leaves_none_of_it_on_the_disk(tmp_path, short_wav):
    """On an 8 MB ext4 image: `export 1 -o x.json`, then `export 2 -o x.json` (session 1's note and frames in
    the first). Before: the first export's note and frames bytes found in the image (the rename freed them
    uncleared). Now none; the second export whole. Needs root and mkfs.ext4 (else skipped)."""
    import subprocess

    from tests.test_sweep_hostile32 import _cli_ok, _ext4, _saved
    store, other = tmp_path / "store", tmp_path / "other.wav"
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    sf.write(other, x[20 * sr:28 * sr], sr, subtype="PCM_16")
    _saved(store, short_wav, "Note-Kqxvw")
    _saved(store, other, "Note-Zjqpb")
    img, mnt = _ext4(tmp_path)
    try:
        out = mnt / "x.json"
        _cli_ok("export", "1", "-o", out, "--store", store)
        needle = (mnt / "x.frames.npz").read_bytes()[1000:1064]
        _cli_ok("export", "2", "-o", out, "--store", store, "--overwrite")  # refused without it since sweep 38
        assert b"Note-Zjqpb" in out.read_bytes() and b"Note-Kqxvw" not in out.read_bytes()
        assert (mnt / "x.frames.npz").read_bytes()[1000:1064] != needle
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
    disk = img.read_bytes()
    assert b"Note-Kqxvw" not in disk
    assert disk.count(needle) == 0


def test_a_replaced_file_held_open_by_a_reader_is_not_zeroed(tmp_path):
    """The old file open in a reader when it is replaced (an import reading a live session's autosave as the
    next one comes): zeroing it would hand that reader zeros as the session's data. Left as it was (the write
    lease is refused while another open file holds it); a file with a second name (a hard link, a backup) is
    never zeroed. A guard of the new zeroing: it passed before too."""
    import os

    from prosody.fileio import write_private
    f = tmp_path / "x.json"
    write_private(f, b"old-" * 1000)
    with open(f, "rb", buffering=0) as held:
        write_private(f, b"new")
        assert held.read() == b"old-" * 1000
    write_private(f, b"old-" * 1000)
    os.link(f, tmp_path / "backup.json")
    write_private(f, b"new")
    assert (tmp_path / "backup.json").read_bytes() == b"old-" * 1000 and f.read_bytes() == b"new"


def test_a_live_sessions_autosaves_leave_none_of_them_on_the_disk(tmp_path, monkeypatch):
    """On an 8 MB ext4 image: a live session (10 s replayed at 2x, an autosave every 0.2 s) saved there. Before:
    each autosave replaced by the next left its blocks uncleared (earlier autosaves' `captured_s` lines found
    in the image). Now only the final save's is there. Needs root and mkfs.ext4 (else skipped)."""
    import re
    import subprocess

    from prosody.engine.sources import Layout
    from prosody.live import runner as live_runner
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    from tests.test_sweep_hostile32 import _ext4
    img, mnt = _ext4(tmp_path)
    try:
        out = mnt / "s.json"
        stereo = Layout(("therapist", "client"), ((0, 0), (0, 1)))
        r = LiveRunner(ReplaySource([str(FIXTURES / "dialogue.flac")], stereo, speed=2.0), output_path=out,
                       autosave_s=0.2, duration_s=10.0)
        seen = set()  # each save's `captured_s` line, as written (read from the file, a reader would hold it)
        write = live_runner.write_session

        def noting(path, doc, arrays, **kw):
            seen.add(b'"captured_s": %s,' % json.dumps(doc["live"]["captured_s"]).encode())
            return write(path, doc, arrays, **kw)
        monkeypatch.setattr(live_runner, "write_session", noting)
        r.start()
        res = r.wait(60)
        assert res is not None and res.doc is not None
        final = re.search(rb'"captured_s": [0-9.]+,', out.read_bytes()).group(0)
        earlier = seen - {final}
        assert len(earlier) >= 5, seen
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
    disk = img.read_bytes()
    assert [n for n in earlier if n in disk] == []
    assert disk.count(final) == 1


def _no_rescue_folder(tmp_path, monkeypatch) -> Path:
    """Every rescue folder under a regular file, so none can be made (`$XDG_DATA_HOME`, `$HOME` and the
    temporary folder alike: the last one as `rescue_folders` gives it, the decoder's own temporary files
    untouched); returns the file."""
    from prosody import fileio
    wall = tmp_path / "wall"
    wall.write_text("a file, not a folder")
    monkeypatch.setattr(fileio, "rescue_folders", lambda: [wall / "data" / "prosody-rescue", wall / "home",
                                                           wall / "tmp"])
    return wall


@pytest.mark.parametrize("name,later", [("r.flac", True), ("r.flac", False), ("r.wav", True), ("r.wav", False)],
                         ids=["flac-a-folder-later", "flac-no-folder-ever", "wav-a-folder-later", "wav-no-folder-ever"])
def test_a_recording_lost_with_no_rescue_folder_goes_on_in_its_open_file(tmp_path, monkeypatch, name, later):
    """Planted: a 10 s FLAC (or WAV) replay (2x, autosaves every 0.2 s) whose `rec` folder is removed ~1 s in,
    while no rescue folder can be made. Before: "the recording failed at ~1 s ...; nothing of it is kept", the rest of
    the capture thrown away. Now "RECORDING NOT COPIED" while live, and, a folder made writable 1 s later, the
    copy made at the next autosave holds all 10 s at the end, sample for sample; with none ever, the end says
    nothing is kept, at the end, and names no file."""
    import shutil
    import time

    from tests.test_sweep_hostile30 import _assert_the_capture, _replay_runner, _wait_for
    r = _replay_runner(tmp_path, monkeypatch, name)
    _no_rescue_folder(tmp_path, monkeypatch)
    rec = tmp_path / "rec" / name
    r.start()
    _wait_for(lambda: rec.exists() and rec.stat().st_size > 20000)
    shutil.rmtree(tmp_path / "rec")
    _wait_for(lambda: r.snapshot().record_error.startswith("RECORDING NOT COPIED"))
    said = r.snapshot().record_error
    assert f"({rec} is gone at " in said and "it goes on in its open file" in said, said
    if later:
        time.sleep(1.0)
        from prosody import fileio
        monkeypatch.setattr(fileio, "rescue_folders", lambda: [tmp_path / "data" / "prosody-rescue"])
        kept = tmp_path / "data" / "prosody-rescue" / name
        _wait_for(lambda: r.snapshot().record_error.startswith("RECORDING MOVED"))
    res = r.wait(60)
    assert res is not None and res.doc is not None
    live = res.doc["live"]
    assert live["captured_s"] == pytest.approx(10.0, abs=0.011)
    if later:
        assert live["recording_file"] == str(kept) and live["recording_complete"] is True, live
        _assert_the_capture(kept, live["captured_s"])
        assert (res.record_error or "").endswith(f"all of it is kept in {kept}"), res.record_error
    else:
        assert live["recording_file"] is None and live["recording_complete"] is False, live
        assert "nothing of it is kept" in (res.record_error or "") and "then or since" in res.record_error
        assert live["recording_stopped_s"] == pytest.approx(10.0, abs=0.011)


def test_a_flac_with_no_copy_whose_disk_fills_says_what_is_kept(tmp_path, monkeypatch):
    """Planted: the FLAC's folder a 200 kB tmpfs; its file deleted ~1 s in with no rescue folder, so it goes on
    in its open file; then that disk fills (~8 s). Said as the write failure it is: "RECORDING FAILED ...;
    nothing of it is kept (... is gone at ...; no rescue folder could take a copy of it)", `recording_file`
    null, never a gone file named as holding it. (Before: it stopped at the loss, ~1 s, nothing kept.)"""
    from prosody.engine.sources import Layout
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    from tests.test_hardening import _tmpfs
    from tests.test_sweep_hostile30 import _wait_for
    _no_rescue_folder(tmp_path, monkeypatch)
    with _tmpfs(tmp_path / "rec", "200k") as small:
        rec = small / "r.flac"
        stereo = Layout(("therapist", "client"), ((0, 0), (0, 1)))
        r = LiveRunner(ReplaySource([str(FIXTURES / "dialogue.flac")], stereo, speed=2.0),
                       output_path=tmp_path / "s.json", record_path=rec, autosave_s=0.2, duration_s=10.0)
        r.start()
        _wait_for(lambda: rec.exists() and rec.stat().st_size > 20000)
        rec.unlink()
        _wait_for(lambda: r.snapshot().record_error.startswith("RECORDING NOT COPIED"))
        _wait_for(lambda: r.snapshot().record_error.startswith("RECORDING FAILED"))
        said = r.snapshot().record_error
        res = r.wait(60)
    assert ": the disk holding it is full" in said and f"nothing of it is kept ({rec} is gone at " in said, said
    assert said.endswith("no rescue folder could take a copy of it); the analysis goes on"), said
    live = res.doc["live"]
    assert live["recording_file"] is None and live["recording_complete"] is False
    assert 1.0 < live["recording_stopped_s"] < 9.9, live


def test_a_later_save_replacing_a_relabelled_session_keeps_the_exchange(tmp_path, monkeypatch, capsys):
    """Planted: an autosave imported, its two voices exchanged (`prosody relabel 1`), then the final save
    imported (replacing it, as above). Without care the replacement put the voices back as captured, the
    user's relabel undone without a word; now the final save is stored relabelled too (the therapist's speech
    is the captured client's), and the line says so."""
    from prosody.relabel import SWAP_NOTE
    from prosody.store.db import Store
    from prosody_cli.main import main
    auto, final, res = _autosave_then_final(tmp_path, monkeypatch)
    st = str(tmp_path / "st")
    assert main(["import", str(auto), "--store", st]) == 0
    assert main(["relabel", "1", "--store", st]) == 0
    capsys.readouterr()
    assert main(["import", str(final), "--store", st]) == 0
    assert "its two voices exchanged, as `prosody relabel` had exchanged" in capsys.readouterr().out
    with Store(tmp_path / "st") as store:
        doc = store.get(1).doc
    captured = res.doc["speakers"]
    assert captured["therapist"]["speech_s"] != captured["client"]["speech_s"]
    assert doc["speakers"]["therapist"]["speech_s"] == captured["client"]["speech_s"]
    assert doc["speakers"]["client"]["speech_s"] == captured["therapist"]["speech_s"]
    assert SWAP_NOTE in doc["warnings"]


def test_an_export_killed_while_writing_its_frames_leaves_them_for_the_next_export_to_remove(tmp_path, short_wav):
    """Planted: what `export 1 -o x.json` killed (SIGKILL) between staging its frames file and its rename left
    beside it, an hour old (the frames staged: owner-only, the session's per-frame features). Before: staged as
    `.tmp-RANDOM.npz`, which nothing ever removed (a trace `delete` cannot know of). Now staged under the
    frames file's own name (`.x.frames.npz.RANDOM.tmp`), and the next export of that name removes it, as a
    JSON's staged file already was; a younger one (an export in progress) is left alone."""
    import os
    import time

    from prosody.fileio import stage_private
    from tests.test_sweep_hostile32 import _cli_ok, _saved
    store, out = tmp_path / "store", tmp_path / "x.json"
    _saved(store, short_wav, "n")
    _cli_ok("export", "1", "-o", out, "--store", store)
    frames = (tmp_path / "x.frames.npz").read_bytes()
    old = stage_private(tmp_path / "x.frames.npz", frames)  # the name a killed export's staging has now
    young = stage_private(tmp_path / "x.frames.npz", frames)
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    _cli_ok("export", "1", "-o", out, "--store", store)
    assert not old.exists() and young.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [young.name]
