"""Hostile sweep 32 (docs/store.md "Hostile sweep 32"): privacy and erasure, each defect against planted truth.

1. `batch .` run in the client's folder records its file as typed (relative); `delete` run from another folder
   left the file's cached path (the client's name in it) in the batch ledger's hash cache.
2. `delete` of a session `live --record` recorded said nothing of the recording it keeps (the raw audio).
3. `delete` while another program held a read open on the store (over SQLite's busy wait): the deleted rows
   stayed readable in sessions.db (the checkpoint could not run), and `delete` said "deleted session N" alone.
4. A deleted session's frames file was only unlinked: its blocks kept the per-frame features on the disk;
   so was a rescue copy (`prosody-unsaved-*.json`) that `import` removes.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _cli_ok(*argv) -> str:
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    return err


def _saved(store: Path, wav: Path, notes: str) -> None:
    _cli_ok("analyze", wav, "--save", "--store", store, "--therapist", "Th-Zqx", "--client", "Cl-Zqx",
            "--notes", notes)


def test_delete_erases_the_cached_path_of_a_file_a_batch_was_given_relative(tmp_path, short_wav, monkeypatch):
    """`batch .` in `Realname-Quixote/` (done.files ["session-quixote.wav"]); `delete 1` from tmp_path: before,
    the hash cache kept ".../Realname-Quixote/session-quixote.wav" (the realpath of the relative name taken in
    the wrong folder matched nothing). Now no byte of the name is left in the ledger and its cache is empty."""
    from prosody.batch import runner
    monkeypatch.setattr(runner, "RACY_S", 0.0)  # the file just copied is cached as any older one
    folder = tmp_path / "Realname-Quixote"
    folder.mkdir()
    (folder / "session-quixote.wav").write_bytes(short_wav.read_bytes())
    store = tmp_path / "store"
    monkeypatch.chdir(folder)
    _cli_ok("batch", ".", "--jobs", "1", "--store", store, "--no-progress", "--table", tmp_path / "t",
            "--therapist", "Th-Zqx", "--client", "Cl-Zqx")
    ledger = sqlite3.connect(str(store / "batch.sqlite"))
    try:
        assert ledger.execute("SELECT files FROM done").fetchone()[0] == '["session-quixote.wav"]'
        assert ledger.execute("SELECT count(*) FROM hashes").fetchone()[0] == 1
    finally:
        ledger.close()
    monkeypatch.chdir(tmp_path)
    assert "per-session table" in _cli_ok("delete", "1", "--store", store)
    ledger = sqlite3.connect(str(store / "batch.sqlite"))
    try:
        assert ledger.execute("SELECT count(*) FROM hashes").fetchone()[0] == 0
    finally:
        ledger.close()
    for f in store.rglob("*"):
        if f.is_file():
            assert b"Quixote" not in f.read_bytes(), f


def test_delete_names_the_live_recording_it_keeps(tmp_path, short_wav):
    """A `live --record` session imported, then deleted: before, "deleted session 1" and nothing of the raw
    audio left in rec/r.wav. Now a note names it (kept: it was asked for), and none once that file is another."""
    store, rec, out = tmp_path / "store", tmp_path / "rec" / "r.wav", tmp_path / "out" / "s.json"
    rec.parent.mkdir()
    out.parent.mkdir()
    _cli_ok("live", "--input", short_wav, "--speed", "max", "--plain", "--output", out, "--record", rec)
    for _ in range(2):
        _cli_ok("import", out, "--store", store, "--therapist", "Th-Zqx", "--client", "Cl-Zqx", "--new-id")
    err = _cli_ok("delete", "1", "--store", store)
    assert f"prosody: note: session 1's recording {rec} (made by `prosody live --record`) is kept" in err, err
    assert err.count("\n") == 2 and rec.exists()  # and the live session's own files (hostile sweep 33)
    assert f"session 1's own files {out} and {out.with_name('s.frames.npz')} (written by" in err, err
    rec.write_bytes(short_wav.read_bytes()[:-2])  # another file under its name: not the session's to name
    assert "recording" not in _cli_ok("delete", "2", "--store", store)


def test_delete_says_a_reader_kept_its_rows_in_the_database_file(tmp_path, short_wav, monkeypatch):
    """Another connection holds a read (its snapshot from before the delete) past the busy wait: the zeroed
    pages cannot be checkpointed into sessions.db, whose bytes still hold the note. Before: "deleted session 1"
    alone. Now a note says so; once the read ends, the next command (`sessions`) erases them."""
    import prosody.store.db as db
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.2)
    store = tmp_path / "store"
    _saved(store, short_wav, "Note-Qwxzv")
    reader = sqlite3.connect(f"file:{store / 'sessions.db'}?mode=ro", uri=True, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sessions").fetchone()
        rc, out, err = run_cli("delete", "1", "--store", store)
        assert rc == 0 and out == "deleted session 1\n", err
        assert "another program is reading the session store" in err and "session 1's deleted rows" in err, err
        assert b"Note-Qwxzv" in (store / "sessions.db").read_bytes()  # what the note says, as it is
        reader.execute("COMMIT")
    finally:
        reader.close()
    _cli_ok("sessions", "--store", store)
    for f in store.rglob("*"):
        if f.is_file():
            assert b"Note-Qwxzv" not in f.read_bytes(), f


def test_delete_overwrites_the_frames_file_it_removes(tmp_path, short_wav):
    """The frames file held open by another reader across `delete`: before, that reader still read the
    session's features (the blocks were only unlinked); now it reads zeros, as long as the file was."""
    store = tmp_path / "store"
    _saved(store, short_wav, "n")
    (frames,) = (store / "frames").glob("*.npz")
    size = frames.stat().st_size
    with open(frames, "rb", buffering=0) as held:
        assert held.read(2) == b"PK"
        _cli_ok("delete", "1", "--store", store)
        assert not frames.exists()
        held.seek(0)
        assert held.read() == bytes(size)


def _ext4(tmp_path: Path):
    """An 8 MB ext4 image mounted at tmp_path/mnt: (image, mount point); skips without mkfs.ext4 or root."""
    img, mnt = tmp_path / "disk.img", tmp_path / "mnt"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(8 << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], capture_output=True)
    if made.returncode != 0 or subprocess.run(["mount", "-o", "loop", str(img), str(mnt)],
                                              capture_output=True).returncode != 0:
        pytest.skip("cannot make and mount an ext4 image here (needs mkfs.ext4 and root)")
    return img, mnt


def test_a_batch_workers_copy_of_sent_audio_is_not_left_on_its_disk(tmp_path, short_wav, monkeypatch):
    """`batch --send-audio`: the worker writes the recording's bytes into a temporary folder. With that on an
    ext4 image (the copy written out, as during an analysis of minutes), 64 bytes of the recording's samples
    were found in the image after the task (only unlinked); now none."""
    import tempfile
    from prosody.batch import runner
    from prosody.batch.runner import Task, analyze_task
    from prosody.config import AnalysisConfig
    from prosody.engine.sources import Layout
    img, mnt = _ext4(tmp_path)
    data = short_wav.read_bytes()
    needle = data[200_000:200_064]
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(mnt))
        real = runner.FileSource

        def written_back(*a, **k):  # as an analysis of minutes lets the kernel write the copy out
            os.sync()
            return real(*a, **k)
        monkeypatch.setattr(runner, "FileSource", written_back)
        task = Task(paths=("/nowhere/x.wav",), sources=("x.wav",), layout=Layout(("therapist", "client"),
                    ((0, 0), (0, 1))), config=AnalysisConfig(), audio=(data,))
        res = analyze_task(task)
        assert res.ok, res.reason
        assert list(mnt.iterdir()) == [mnt / "lost+found"]
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
    assert img.read_bytes().count(needle) == 0


def test_a_deleted_sessions_frames_are_not_on_the_disk(tmp_path, short_wav):
    """On an 8 MB ext4 image mounted as the store's disk: 64 bytes of the session's frames file were found in
    the image after `delete` (its blocks freed, not cleared). Now none; the note text (SQLite's
    `secure_delete`) was already not. Needs root and mkfs.ext4 (else skipped)."""
    img, mnt = _ext4(tmp_path)
    try:
        _saved(mnt / "store", short_wav, "Note-Vxqzk")
        (frames,) = (mnt / "store" / "frames").glob("*.npz")
        needle = frames.read_bytes()[2000:2064]
        _cli_ok("delete", "1", "--store", mnt / "store")
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
    disk = img.read_bytes()
    assert disk.count(needle) == 0
    assert b"Note-Vxqzk" not in disk


def test_erasing_leaves_a_hard_linked_name_whole(tmp_path):
    """A frames file someone hard-linked elsewhere (a backup): removed from the store, its other name kept."""
    from prosody.fileio import erase_file
    f, other = tmp_path / "a.npz", tmp_path / "b.npz"
    f.write_bytes(b"PK" + bytes(range(200)))
    os.link(f, other)
    erase_file(f)
    assert not f.exists() and other.read_bytes() == b"PK" + bytes(range(200))


def test_import_overwrites_the_rescue_copy_it_removes(tmp_path, short_wav):
    """A `prosody-unsaved-*.json` imported is removed (sweep 5) so that `delete` can erase every trace: held
    open across the import, it read as before (only unlinked); now zeros, as long as it was."""
    store, copy = tmp_path / "store", tmp_path / "prosody-unsaved-20261205-101010.json"
    _saved(store, short_wav, "n")
    _cli_ok("export", "1", "-o", copy, "--store", store)
    size = copy.stat().st_size
    with open(copy, "rb", buffering=0) as held:
        _cli_ok("import", copy, "--store", tmp_path / "store2")
        assert not copy.exists()
        assert held.read() == bytes(size)
