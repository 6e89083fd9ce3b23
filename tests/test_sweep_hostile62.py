"""Hostile sweep 62 (docs/store.md "Hostile sweep 62").

1. A save lost though said saved: ``Store.check_writable`` (before each `analyze --save` and `batch`) read the
   inode flags of the store's database, ``-wal`` and ``-shm`` by opening and closing them while the store was open;
   the close dropped this process's POSIX locks on them, SQLite's among them. Another prosody closing meanwhile took
   itself for the last, copied the log into the database and removed it: the save that followed went into the
   removed log ("saved as session 16", no session 16 for any other process), and a store written by several at
   once was found damaged ("wrong # of entries in index"). The flags are read by ``statx`` now, no file opened.
2. `batch`'s table said nothing of each file's layout and how its speakers were named (`show` and the JSON say it):
   a ``layout`` column, last, e.g. "mono, rule".
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import soundfile as sf

from prosody.store.db import Store
from tests.conftest import FIXTURES, REPO, run_cli
from tests.test_sweep_hostile43 import _chattr

# -- 1. a save after the store's marks were read, with another prosody closing meanwhile ---------------------------

_OTHER = ("import sys\nfrom prosody.store.db import Store\n"
          "with Store(sys.argv[1], create=False) as st:\n"
          "    print(len(st.db.execute('SELECT id FROM sessions').fetchall()))")


def _other_prosody(store) -> int:
    """Another process's look at the store (as `sessions` or `show` opens and closes it): how many sessions it
    reads."""
    done = subprocess.run([sys.executable, "-c", _OTHER, str(store)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    return int(done.stdout)


@pytest.mark.parametrize("statx", [True, False], ids=["statx", "ioctl"])
def test_a_save_after_the_mark_check_is_not_lost(tmp_path, analysed, monkeypatch, statx):
    """Planted: a store of one session, open; its marks read (``check_writable``, as `analyze --save` and `batch`
    do before their work); another process opens, reads and closes the store; this one saves a second session.
    Before: the other process, holding the only lock SQLite saw, removed the write-ahead log as it closed, and the
    second save went into the removed file: every other process read 1 session, and the store lost it. Now 2, and
    the log is where SQLite left it. Also where the flags are read by the ioctl (a file system ``statx`` does not
    say them for: its descriptor kept open)."""
    if not statx:
        import prosody.fileio as fileio
        monkeypatch.setattr(fileio, "_statx_locked_flags", lambda path: None)
    store = tmp_path / "st"
    with Store(store) as st:
        st.save(analysed.to_json_dict(), analysed.frames)
        st.check_writable()
        assert _other_prosody(store) == 1
        assert os.path.exists(f"{store}/sessions.db-wal")  # this process's connection still counted: the log kept
        sid = st.save(analysed.to_json_dict(), analysed.frames)
    assert sid == 2 and _other_prosody(store) == 2
    with Store(store, create=False) as st:
        assert st.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("statx", [True, False], ids=["statx", "ioctl"])
def test_the_marks_are_still_told(tmp_path, monkeypatch, statx):
    """The flags read without opening the file say what the ioctl said: a file marked append-only and one marked
    immutable (chattr; skipped where it cannot be set), a plain file and no file. Through the ioctl, a descriptor is
    kept open only of a file the process has open otherwise."""
    import prosody.fileio as fileio
    if not statx:
        monkeypatch.setattr(fileio, "_statx_locked_flags", lambda path: None)
    a, i, plain = (tmp_path / n for n in ("a", "i", "plain"))
    for p in (a, i, plain):
        p.write_bytes(b"x")
    _chattr("+a", a)
    try:
        _chattr("+i", i)
        try:
            assert [fileio.locked_mark(p) for p in (a, i, plain, tmp_path / "none")] == [
                ("append-only", "a"), ("immutable", "i"), None, None]
            st = plain.stat()  # a file this process holds no lock on: its descriptor closed again
            assert (st.st_dev, st.st_ino) not in fileio._KEPT_FDS
        finally:
            _chattr("-i", i)
    finally:
        _chattr("-a", a)


# -- 2. batch's table says each file's layout and how its speakers were named ---------------------------------------

def test_batch_table_says_the_layout_and_naming(tmp_path):
    """Planted: the fixture dialogue's first 8 s, stereo (a voice a channel: "separate", named by the default
    channel order, a rule), the same mixed to one channel ("mono", the voice heard first: a rule), the fixture's
    lone therapist file ("mono, rule"); then with ``--channels`` ("separate, given"), and the stereo session
    relabelled ("separate, relabelled"). `show` says the same layout."""
    from prosody.batch.runner import read_table_csv
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(folder / "a.wav", audio[:8 * sr], sr, subtype="PCM_16")
    sf.write(folder / "b.wav", audio[:8 * sr].mean(axis=1), sr, subtype="PCM_16")
    (folder / "c.wav").write_bytes((FIXTURES / "mono_therapist.wav").read_bytes())
    store, table = tmp_path / "st", tmp_path / "t"

    def layouts(*argv, inputs=folder) -> dict:
        rc, _, err = run_cli("batch", inputs, "--store", store, "--table", table, "--no-progress", "--jobs", "1",
                             *argv)
        assert rc == 0, err
        rows = read_table_csv(f"{table}.csv")
        import pyarrow.parquet as pq
        assert pq.read_table(f"{table}.parquet").column("layout").to_pylist() == [r["layout"] for r in rows]
        return {os.path.basename(r["file"]): r["layout"] for r in rows}

    from prosody.batch.runner import _TABLE_NAMES_BEFORE_LAYOUT, TABLE_MARK
    from prosody.fileio import write_private
    # a table as a batch wrote it before the column: still the batch's own, written again in place
    write_private(tmp_path / "t.csv", ",".join(_TABLE_NAMES_BEFORE_LAYOUT) + "\r\n", whose=TABLE_MARK)
    assert layouts() == {"a.wav": "separate, rule", "b.wav": "mono, rule", "c.wav": "mono, rule"}
    assert not list(tmp_path.glob("t.kept-*"))
    rc, shown, _ = run_cli("show", "2", "--store", store)
    assert rc == 0 and "layout: mono (one channel)" in shown
    assert run_cli("relabel", "1", "--store", store)[0] == 0
    assert layouts()["a.wav"] == "separate, relabelled"
    table = tmp_path / "t2"  # one file: another batch's table
    assert layouts("--channels", "therapist=left,client=right", inputs=folder / "a.wav") == {"a.wav": "separate, given"}


def test_layout_named_by_a_profile_and_unattributed():
    """The cell of a session named by a voice profile ("shared, profile") and of one whose speech was left
    unattributed ("mono, unattributed"), from their documents' attribution as the engine writes it; an older
    document without one, by its speaker order ("mono, given")."""
    from prosody.session import layout_named
    profile = {"layout": "shared", "naming": {"names": ["therapist", "client"], "assumption": False,
                                              "rule": "voice profile: voice 1 is 0.31 closer to the enrolled therapist",
                                              "profile_distances": [0.2, 0.51]}}
    unsure = {"layout": "mono", "naming": {"names": ["unattributed", "client"], "assumption": False,
                                           "rule": "who spoke when is unsure", "profile_distances": []}}
    assert layout_named({"attribution": profile}) == "shared, profile"
    assert layout_named({"attribution": unsure}) == "mono, unattributed"
    assert layout_named({"speaker_order": ["therapist"]}) == "mono, given"


# -- 3. a folder batch cannot read -----------------------------------------------------------------------------------

_NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def _as_reader_without_override(tmp_path, *argv) -> tuple[int, str]:
    """``prosody ARGV`` in ``tmp_path`` as a process that permissions bind: root without the capabilities that
    pass over them (setpriv), another user as it is; skipped where a file of mode 000 is still read."""
    import shutil
    probe = tmp_path / "probe"
    probe.write_bytes(b"x")
    probe.chmod(0)
    prefix = _NO_DAC if os.geteuid() == 0 and shutil.which("setpriv") else []
    if subprocess.run([*prefix, "cat", str(probe)], capture_output=True).returncode == 0:
        pytest.skip("permissions are passed over here (root, and setpriv cannot drop that)")
    done = subprocess.run([*prefix, sys.executable, "-m", "prosody_cli.main", *map(str, argv)], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    return done.returncode, done.stderr


def test_batch_says_a_folder_it_cannot_read(tmp_path, short_wav):
    """Planted: in/a.wav readable, in/b.wav of mode 000, in/sub (mode 000) holding c.wav. Before: b.wav failed
    in its line, and in/sub was passed over unsaid (os.walk's errors dropped): "2 recordings", c.wav never
    analysed; `batch in/sub` said "no audio files found in in/sub"; `batch 'in/**/*.wav'` passed over it too. Now
    a line for each (the rest analysed, exit status 1 as for any failed file), and a pattern that matches nothing
    in a folder it cannot read says so."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.wav", "b.wav", "sub/c.wav"):
        (folder / name).write_bytes(short_wav.read_bytes())
    (folder / "b.wav").chmod(0)
    (folder / "sub").chmod(0)
    said_b = "prosody: failed: in/b.wav: cannot read in/b.wav (Permission denied)"
    said_sub = ("prosody: failed: in/sub: cannot read the folder in/sub (Permission denied): the recordings in it, "
                "if any, were not analysed")
    try:
        for k, inputs in enumerate(("in", "in/**/*.wav")):
            rc, err = _as_reader_without_override(tmp_path, "batch", inputs, "--store", "st", "--table", f"t{k}",
                                                  "--no-progress", "--jobs", "1", "--no-parquet")
            lines = err.splitlines()
            assert rc == 1 and said_b in lines and said_sub in lines, err
            assert [r["file"] for r in _rows(tmp_path / f"t{k}.csv")] == ["in/a.wav"]
        rc, err = _as_reader_without_override(tmp_path, "batch", "in/sub", "--store", "st", "--table", "t2",
                                              "--no-progress", "--no-parquet")
        assert rc == 1 and said_sub in err.splitlines(), err
        rc, err = _as_reader_without_override(tmp_path, "batch", "in/sub/*.wav", "--store", "st", "--table", "t3")
        assert (rc, err) == (2, "prosody: error: no files match 'in/sub/*.wav': cannot read the folder in/sub "
                                "(Permission denied)\n")
    finally:
        (folder / "sub").chmod(0o755)


def _rows(path) -> list[dict]:
    from prosody.batch.runner import read_table_csv
    return read_table_csv(path)


# -- 4. a batch whose store stays busy ------------------------------------------------------------------------------

def test_a_busy_store_stops_the_batch_in_one_line(tmp_path, short_wav, monkeypatch):
    """Planted: another program holds the store's write lock past the wait (``BUSY_TIMEOUT_S``, made short here)
    while a batch saves. Before: "... another prosody is writing. Try again.; the analysis of ... is kept in ...",
    its own ".;" and two ways to go on. Now one: the analysis kept, then "run the same command again to
    continue", which saves it once the lock is gone."""
    import sqlite3

    import prosody.store.db as db
    store = tmp_path / "st"
    with Store(store):
        pass
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(store / "sessions.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        rc, _, err = run_cli("batch", short_wav, "--store", store, "--table", tmp_path / "t", "--no-progress",
                             "--no-parquet")
    finally:
        other.execute("ROLLBACK")
        other.close()
    (kept,) = tmp_path.glob("prosody-unsaved-*.json")
    assert rc == 1 and err.splitlines()[-1] == (
        f"prosody: error: the session store {store}/sessions.db is busy (database is locked); another prosody is "
        f"writing; the analysis of {short_wav} is kept in {kept} (`prosody import` adds it later); the batch "
        "stopped after saving 0 recordings: run the same command again to continue"), err
    rc, _, err = run_cli("batch", short_wav, "--store", store, "--table", tmp_path / "t", "--no-progress",
                         "--no-parquet")
    assert rc == 0 and [r["session_id"] for r in _rows(tmp_path / "t.csv")] == [1], err


# -- 5. a delete stopped by SIGTERM while another program's read keeps its rows -------------------------------------

def test_a_signalled_delete_claims_no_erasure_it_did_not_make(tmp_path, analysed, monkeypatch):
    """Planted: another connection reading the store past the checkpoint's wait (``BUSY_TIMEOUT_S``, made short), and
    SIGTERM while `delete` changes the store. Before: "note: ... session 1's deleted rows are still readable in
    ...", then "stopped by SIGTERM; session 1 was deleted completely first". Now "session 1 was deleted first";
    "completely" where the checkpoint erased them (the read gone)."""
    import signal
    import sqlite3

    import prosody.store.db as db
    store = tmp_path / "st"
    with Store(store) as st:
        for _ in range(2):
            st.save(analysed.to_json_dict(), analysed.frames)
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.2)
    delete = Store.delete

    def signalled(self, *a, **k):
        os.kill(os.getpid(), signal.SIGTERM)  # held by delete's wait, taken after it
        return delete(self, *a, **k)

    monkeypatch.setattr(Store, "delete", signalled)
    reader = sqlite3.connect(store / "sessions.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM sessions").fetchone()
    try:
        rc, out, err = run_cli("delete", "1", "--store", store)
    finally:
        reader.execute("COMMIT")
        reader.close()
    lines = err.splitlines()
    assert (rc, out) == (143, "deleted session 1\n"), err
    assert "session 1's deleted rows are still readable" in lines[0]
    assert lines[-1] == "prosody: error: stopped by SIGTERM; session 1 was deleted first", err
    rc, out, err = run_cli("delete", "2", "--store", store)
    assert (rc, out, err.splitlines()[-1]) == (
        143, "deleted session 2\n", "prosody: error: stopped by SIGTERM; session 2 was deleted completely first")
