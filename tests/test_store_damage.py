"""A damaged, emptied, missing or full store: one line naming it, nothing analysed lost.

A database with corrupted pages, a sessions.db truncated to 0 bytes beside the
frames of stored sessions, a mistyped --store for a command that only reads, a
store on a full disk; and the rescue copy a failed --save leaves (its date, and
what import does with it). See docs/store.md, "Guarantees"."""
import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from prosody.errors import StoreDamagedError
from prosody.formats.bundle import SessionMeta
from prosody.store.db import Store
from tests.conftest import run_cli as _cli
from tests.test_hardening import _fill, _one_line, _tmpfs, _tree_bytes

PAGE = 4096


@pytest.fixture
def victim(tmp_path, short_wav):
    p = tmp_path / "rec.wav"
    p.write_bytes(short_wav.read_bytes())
    return p


def _store(path: Path, analysed, n: int = 4) -> Path:
    with Store(path) as st:
        for _ in range(n):
            st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7",
                                                       recorded_at="2024-05-01T10:00:00"))
    return path


def _corrupt(db: Path, first_page: int = 1) -> None:
    """Overwrite every page from ``first_page`` (0-based; page 0 holds the header and
    schema) with seeded random bytes, as `dd if=/dev/urandom seek=...` does."""
    size = db.stat().st_size
    rng = np.random.default_rng(7)
    with open(db, "r+b") as f:
        f.seek(first_page * PAGE)
        f.write(rng.integers(0, 256, size - first_page * PAGE, dtype=np.uint8).tobytes())


def _kept(err: str) -> Path:
    return Path(err.split("kept in ")[1].split(": `prosody import")[0])


# -- 1. a damaged database ---------------------------------------------------------------------------------------
def test_damaged_database_is_one_line_for_every_command(tmp_path, analysed):
    store = _store(tmp_path / "st", analysed)
    _corrupt(store / "sessions.db")
    for argv in (["sessions"], ["show", "1"], ["report", "1", "-o", tmp_path / "r.html"],
                 ["trend", "--therapist", "ann"], ["export", "1"], ["delete", "2"],
                 ["feedback", "1", "--rating", "3"]):
        rc, out, err = _cli(*argv, "--store", store)
        _one_line(rc, err, 1)
        assert "is damaged" in err and str(store / "sessions.db") in err and ".recover" in err, (argv, err)
        assert "backup" in err
    with pytest.raises(StoreDamagedError):
        with Store(store) as st:
            st.list()


def test_analyze_save_into_a_damaged_store_is_refused_before_analysing(tmp_path, analysed, victim):
    store = _store(tmp_path / "st", analysed)
    _corrupt(store / "sessions.db", first_page=10)  # a few pages, as the tester's dd did
    before = _tree_bytes(store)
    rc, out, err = _cli("analyze", victim, "--save", "--store", store)
    _one_line(rc, err, 1)
    assert "is damaged" in err and out == ""
    assert _tree_bytes(store) == before


def test_store_damaged_during_analysis_keeps_the_session(tmp_path, analysed, victim, monkeypatch):
    """The database is damaged while the recording is analysed: the summary is
    shown, the session is kept as a rescue copy (with the date the store would
    have given it) and the error line says the store is damaged and where the copy is."""
    import prosody.session
    store = _store(tmp_path / "st", analysed)
    real = prosody.session.analyze_blocks

    def analyse_while_the_store_breaks(*a, **k):
        result = real(*a, **k)
        _corrupt(store / "sessions.db")
        return result
    monkeypatch.setattr(prosody.session, "analyze_blocks", analyse_while_the_store_breaks)
    rc, out, err = _cli("analyze", victim, "--save", "--store", store, "--client", "C9")
    _one_line(rc, err, 1)
    assert "is damaged" in err and "Time speaking" in out, err
    kept = _kept(err)
    assert kept.parent == tmp_path and kept.is_file() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.with_name(kept.stem + ".frames.npz").is_file()
    st_meta = json.loads(kept.read_text())["prosody_store"]
    assert st_meta["client"] == "C9" and st_meta["recorded_at"] is not None


# -- 2. an emptied database, a missing store ---------------------------------------------------------------------
def test_empty_database_beside_stored_sessions_is_refused(tmp_path, analysed, victim):
    store = _store(tmp_path / "st", analysed)
    os.truncate(store / "sessions.db", 0)
    before = _tree_bytes(store)
    for argv in (["sessions"], ["show", "1"], ["analyze", victim, "--save"]):
        rc, out, err = _cli(*argv, "--store", store)
        _one_line(rc, err, 1)
        assert "empty (0 bytes)" in err and "4 frames files" in err and "backup" in err, err
        assert out == ""
    assert _tree_bytes(store) == before  # no new session 1 over the old frames
    with pytest.raises(StoreDamagedError):
        Store(store)


def test_a_new_store_still_starts_empty(tmp_path, victim):
    rc, _, err = _cli("analyze", victim, "--save", "--store", tmp_path / "new", "--quiet")
    assert rc == 0 and "saved as session 1" in err, err
    (tmp_path / "empty").mkdir()  # an empty folder is a new store too
    assert _cli("analyze", victim, "--save", "--store", tmp_path / "empty", "--quiet")[0] == 0


def test_commands_that_only_use_a_store_create_none(tmp_path, analysed):
    typo = tmp_path / "sotre"
    for argv in (["sessions"], ["show", "1"], ["trend", "--therapist", "ann"], ["export", "1"], ["delete", "1"],
                 ["enrol", "--list"]):
        rc, out, err = _cli(*argv, "--store", typo)
        _one_line(rc, err, 1)
        assert f"no session store at {typo}" in err, (argv, err)
    assert not typo.exists()
    (tmp_path / "bare").mkdir()  # an existing folder without a database: nothing made in it
    _one_line(*_cli("sessions", "--store", tmp_path / "bare")[::2])
    assert list((tmp_path / "bare").iterdir()) == []


# -- 3. a rescue copy keeps the recording's date -------------------------------------------------------------------
def test_rescue_copy_keeps_the_default_date(tmp_path, analysed, victim, monkeypatch):
    """No --date: the copy holds the date the store would have given (the
    recording's modification time minus its duration), and import keeps it."""
    from prosody.store import db as store_db

    def full(*a, **k):
        raise store_db.disk_full_error(tmp_path / "st" / "sessions.db")
    os.utime(victim, (1714557600, 1714557600))
    monkeypatch.setattr(store_db.Store, "save", full)
    rc, out, err = _cli("analyze", victim, "--save", "--store", tmp_path / "st", "--client", "C9", "--quiet")
    _one_line(rc, err, 1)
    monkeypatch.undo()
    kept = _kept(err)
    want = (datetime.fromtimestamp(1714557600) - timedelta(seconds=analysed.duration_s)).isoformat(timespec="seconds")
    assert json.loads(kept.read_text())["prosody_store"]["recorded_at"] == want
    assert _cli("import", kept, "--store", tmp_path / "st")[0] == 0
    with Store(tmp_path / "st") as st:
        (info,) = st.list()
    assert info.meta.recorded_at == want and info.meta.client == "C9" and info.meta.session_number == 1


# -- 4. import of a rescue copy removes it: delete then erases every trace ----------------------------------------
def test_import_of_a_rescue_copy_removes_it(tmp_path, analysed, victim, monkeypatch):
    from prosody.store import db as store_db

    def full(*a, **k):
        raise store_db.disk_full_error(tmp_path / "st" / "sessions.db")
    monkeypatch.setattr(store_db.Store, "save", full)
    rc, out, err = _cli("analyze", victim, "--save", "--store", tmp_path / "st", "--therapist", "Ann-Qzx",
                        "--quiet")
    monkeypatch.undo()
    kept = _kept(err)
    frames = kept.with_name(kept.stem + ".frames.npz")
    assert kept.is_file() and frames.is_file()
    rc, out, err = _cli("import", kept, "--store", tmp_path / "st")
    assert rc == 0 and "removed the rescue copy" in out, err
    assert not kept.exists() and not frames.exists()
    with Store(tmp_path / "st") as st:
        assert st.get(1).info.has_frames
    assert _cli("delete", "last", "--store", tmp_path / "st")[0] == 0
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and b"Ann-Qzx" in p.read_bytes()]
    assert leftovers == []
    # an export (not a rescue copy) is the user's own file: import leaves it
    _store(tmp_path / "a", analysed, n=1)
    assert _cli("export", "1", "--store", tmp_path / "a", "-o", tmp_path / "mine.json")[0] == 0
    assert _cli("import", tmp_path / "mine.json", "--store", tmp_path / "b")[0] == 0
    assert (tmp_path / "mine.json").is_file() and (tmp_path / "mine.frames.npz").is_file()


def test_batch_keeps_an_analysis_the_store_cannot_take(tmp_path, victim, monkeypatch):
    from prosody.store import db as store_db

    def damaged(self, *a, **k):
        raise store_db.damaged_error(self.db_path, "database disk image is malformed")
    monkeypatch.setattr(store_db.Store, "save", damaged)
    rc, out, err = _cli("batch", victim, "--jobs", "1", "--store", tmp_path / "st", "--table", tmp_path / "t",
                        "--no-progress")
    monkeypatch.undo()
    _one_line(rc, err.splitlines()[-1] + "\n", 1)
    last = err.splitlines()[-1]
    assert "is damaged" in last and "run the same command again" in last, err
    kept = Path(last.split("kept in ")[1].split(" (`prosody import")[0])
    assert kept.is_file() and kept.with_name(kept.stem + ".frames.npz").is_file()
    assert _cli("import", kept, "--store", tmp_path / "st")[0] == 0 and not kept.exists()


# -- 5. a store on a full disk can still be read ------------------------------------------------------------------
def test_a_store_on_a_full_disk_can_be_read(tmp_path, analysed, victim):
    with _tmpfs(tmp_path / "small", "2m") as small:
        store = _store(small / "st", analysed, n=1)
        with Store(store) as st:
            st.save_profile("ann", {"x": 1}, source="test")
        filler = _fill(small, 0)
        rc, out, err = _cli("sessions", "--store", store)
        assert rc == 0 and "ann" in out, err
        rc, out, err = _cli("show", "1", "--store", store)
        assert rc == 0 and "session 1" in out, err
        rc, out, err = _cli("enrol", "--list", "--store", store)
        assert rc == 0 and "ann" in out, err
        for argv in (["delete", "1"], ["analyze", victim, "--save"]):
            rc, out, err = _cli(*argv, "--store", store)
            _one_line(rc, err, 1)
            assert "is full" in err, (argv, err)
        filler.unlink()
        with Store(store) as st:
            assert len(st.list()) == 1 and st.integrity_ok()
