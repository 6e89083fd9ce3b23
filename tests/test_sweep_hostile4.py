"""Hostile sweep 4 (privacy audit): traces after delete, a busy ledger, outputs left half-written.
Each defect with what happened before and what happens now (the house way of the earlier sweeps: one
clear line on stderr, a non-zero exit, no traceback; every file under tmp_path).

1. ``prosody delete`` removed the session from the store first, then from the batch ledger: when the
   ledger was busy (a batch running on the same store) the delete failed after the session was gone,
   and its traces in the ledger (file paths, the table row with names and figures) had no command left
   to erase them. The ledger is now changed first; a busy ledger deletes nothing and the delete can be
   run again.
2. ``prosody batch`` on a store whose ledger another prosody held said 'internal error
   (OperationalError: database is locked)'; a ledger's SQLite errors are now one line saying what to do.
3. ``export -o e.json`` with room for the frames file but not the JSON left the frames file behind.
4. Frames files a killed save left in the store were never removed (nothing called ``Store.gc``); delete
   now sweeps them (the session's own, and any other orphan older than an hour), and only them.
5. A name pasted with a zero-width space, BOM, soft hyphen, word joiner or no-break space was another
   client (or therapist) that every listing showed alike.
6. ``batch --scheduler`` over plain TCP to another machine sent paths and brought back sessions in clear
   without a word.
7. ``delete`` of a session a batch analysed did not say that the batch's table still holds its row.
"""
from __future__ import annotations

import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
import soundfile as sf

from prosody.batch import runner
from prosody.store.db import Store
from tests.conftest import one_line_error, planted_batch, run_cli


def _one_line(rc, err, code=1):
    one_line_error(rc, err, code)


@pytest.fixture(scope="module")
def batched(tmp_path_factory, short_wav):
    """(store folder, planted needles): ``short_wav`` copied under a folder and file name carrying a
    client's real name, analysed by ``prosody batch`` with typed names and notes."""
    store, f0 = planted_batch(tmp_path_factory.mktemp("batched"), short_wav)
    needles = [b"Therapist-Zyxwv", b"Pseudo-Qwvut", b"Notes-Plmkj", b"Realname-Quixote", struct.pack("<d", f0)]
    return store, needles


def _copy(store: Path, tmp_path: Path) -> Path:
    to = tmp_path / "store"
    shutil.copytree(store, to)
    return to


def _traces(store: Path, needles) -> list[tuple[str, bytes]]:
    return [(p.name, n) for p in store.rglob("*") if p.is_file() for n in needles if n in p.read_bytes()]


class _Holder:
    """Another connection holding a store's batch ledger for writing, as a running batch's write does."""

    def __init__(self):
        self.held: list[sqlite3.Connection] = []

    def hold(self, store: Path) -> None:
        db = sqlite3.connect(str(store / runner.LEDGER_NAME), isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        self.held.append(db)

    def release(self) -> None:
        while self.held:
            db = self.held.pop()
            db.execute("ROLLBACK")
            db.close()


@pytest.fixture
def ledger(monkeypatch):
    """A _Holder; prosody waits 0.2 s for a held ledger here, not 10 s."""
    monkeypatch.setattr(runner, "LEDGER_BUSY_TIMEOUT_S", 0.2)
    h = _Holder()
    yield h
    h.release()


# -- 1. delete while the ledger is busy -----------------------------------------------------------------------
def test_delete_with_a_busy_ledger_deletes_nothing_and_can_be_run_again(tmp_path, batched, ledger):
    store, needles = batched
    store = _copy(store, tmp_path)
    assert any(n == b"Realname-Quixote" for name, n in _traces(store, needles) if name == runner.LEDGER_NAME)
    ledger.hold(store)
    rc, out, err = run_cli("delete", "1", "--store", store)
    _one_line(rc, err)
    assert "session 1 was not deleted" in err and "busy" in err and "run the same command again" in err, err
    with Store(store) as st:  # still there: the delete can be run again
        assert [s.id for s in st.list()] == [1]
    ledger.release()  # the other prosody has finished
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0 and out == "deleted session 1\n", err
    assert _traces(store, needles) == []
    assert "prosody: note: session 1 was analysed by `prosody batch`" in err  # its table row is said (test 7)


# -- 2. batch while the ledger is busy ------------------------------------------------------------------------
def test_batch_with_a_busy_ledger_is_one_line_and_runs_when_it_is_free(tmp_path, batched, ledger, short_wav):
    store, _ = batched
    store = _copy(store, tmp_path)
    other = tmp_path / "other.wav"  # another recording: 6 s of the same
    audio, sr = sf.read(short_wav, dtype="int16")
    sf.write(other, audio[:6 * sr], sr, subtype="PCM_16")
    ledger.hold(store)
    rc, out, err = run_cli("batch", other, "--jobs", "1", "--store", store, "--table", tmp_path / "t",
                           "--no-progress")
    last = err.splitlines()[-1] + "\n"
    _one_line(rc, last)
    assert "internal error" not in err and "batch ledger" in last and "busy" in last, err
    assert "run the same command again" in last
    ledger.release()
    rc, out, err = run_cli("batch", other, "--jobs", "1", "--store", store, "--table", tmp_path / "t",
                           "--no-progress")
    assert rc == 0, err
    with Store(store) as st:
        assert len(st.list()) == 2


# -- 3. an export that does not fit leaves no frames file behind ------------------------------------------------
def test_an_export_with_room_for_its_frames_but_not_its_json_leaves_neither(tmp_path, short_wav):
    """``export N -o e.json`` writes the per-frame features (e.frames.npz) and the JSON naming them. With
    room for the first (~18 kB) and not the second (~56 kB) it said the export failed and left
    e.frames.npz behind: a session's per-frame pitch and level where the user was told nothing was
    written (and, over an earlier export, the frames of another session beside its JSON)."""
    from tests.test_hardening import _fill, _tmpfs
    store = tmp_path / "st"
    six = tmp_path / "six.wav"
    audio, sr = sf.read(short_wav, dtype="int16")
    sf.write(six, audio[:6 * sr], sr, subtype="PCM_16")
    for wav in (short_wav, six):  # sessions 1 (8 s) and 2 (6 s)
        assert run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    with _tmpfs(tmp_path / "m", "512k") as m:
        (m / "old").mkdir()
        assert run_cli("export", "1", "--store", store, "-o", m / "old" / "e.json")[0] == 0
        before = {p.name: p.read_bytes() for p in (m / "old").iterdir()}
        assert sorted(before) == ["e.frames.npz", "e.json"]
        _fill(m, 32 << 10)
        for target in (m / "e.json", m / "old" / "e.json"):
            rc, out, err = run_cli("export", "2", "--store", store, "-o", target, "--overwrite")  # over session 1's
            _one_line(rc, err)
            assert str(target) in err and "the disk holding it is full" in err, err  # was "No space left..."
        assert sorted(p.name for p in m.iterdir()) == ["filler", "old"]  # nothing half-written
        assert {p.name: p.read_bytes() for p in (m / "old").iterdir()} == before  # the earlier export as it was


# -- 4. frames files a killed save left --------------------------------------------------------------------------
KILLED_SAVE = r"""
import json, os, sys, time
from prosody.store.db import Store
from prosody.frames import read_frames_npz
store, doc_path, npz_path, uid, where = sys.argv[1:6]
doc = json.load(open(doc_path))
frames = read_frames_npz(npz_path, doc["speaker_order"])
st = Store(store)
def hang(*args, **kwargs):
    print("inside", flush=True)
    time.sleep(60)
if where == "writing":  # the frames file's bytes written under its temporary name, not yet renamed
    os.fsync = hang
else:  # the frames file in place, the transaction that references it open
    Store._insert_children = staticmethod(hang)
st.save(doc, frames, uid=uid)
"""


def test_delete_removes_the_frames_files_a_killed_save_of_the_session_left(tmp_path, analysed):
    """A batch killed while saving a recording (the OOM killer, a power cut) leaves that session's
    frames file, or its temporary, unreferenced in the store's frames folder; the next run saves the
    session again under the same uid. ``prosody delete`` then removed the session's rows and frames
    file and left the killed save's copies (per-frame pitch and level of the session) for good:
    nothing ever called ``Store.gc``."""
    import json
    import os
    import subprocess
    import sys
    import time

    from prosody.formats.bundle import SessionMeta
    from prosody.frames import frames_to_npz_bytes
    store, uid = tmp_path / "st", "c0ffee0123456789"
    doc = analysed.to_json_dict()
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    (tmp_path / "f.npz").write_bytes(frames_to_npz_bytes(analysed.frames, doc["speaker_order"]))
    Store(store).close()
    for where in ("writing", "committing"):
        child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, store, tmp_path / "doc.json", tmp_path / "f.npz",
                                  uid, where], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
        try:
            assert child.stdout.readline().strip() == "inside"
            child.kill()
        finally:
            child.wait(timeout=10)
    left = sorted(p.name for p in (store / "frames").iterdir())
    assert len(left) == 2 and left[0].startswith(".tmp-") and left[1].startswith(f"{uid}."), left
    two_minutes_ago = time.time() - 120  # the next run, a little later, saves it
    for name in left:
        os.utime(store / "frames" / name, (two_minutes_ago, two_minutes_ago))
    with Store(store) as st:
        st.save(doc, analysed.frames, uid=uid, meta=SessionMeta(therapist="Therapist-Zyxwv"))
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0, err
    assert list((store / "frames").iterdir()) == []
    f0 = struct.pack("<d", doc["speakers"]["therapist"]["f0_median_hz"])
    assert _traces(store, [b"Therapist-Zyxwv", f0]) == []


# -- 5. names that differ by characters no listing shows --------------------------------------------------------
@pytest.mark.parametrize("pasted", ["C\u200b7", "\ufeffC7", "C\u00ad7", "C\u20607"])
def test_a_name_pasted_with_an_invisible_character_is_the_same_client(tmp_path, analysed, pasted):
    """'C7' typed, then 'C7' pasted from a document or web page with a zero-width space, a byte-order
    mark, a soft hyphen or a word joiner inside: every listing shows 'C7' twice, but the store took a
    second client (numbered #1 again; `sessions --client C7` and `trend` missed it). 'dr ann' typed
    with a no-break space (a word processor's) made another therapist the same way."""
    from prosody.formats.bundle import SessionMeta
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analysed, meta=SessionMeta(therapist="dr ann", client="C7"))
        st.save_session(analysed, meta=SessionMeta(therapist="dr\u00a0ann", client=pasted))
        assert [(i.meta.therapist, i.meta.client, i.meta.session_number) for i in st.list()] == \
            [("dr ann", "C7", 1), ("dr ann", "C7", 2)]
        assert len(st.list(therapist="dr\u202fann", client=pasted)) == 2
    rc, out, err = run_cli("sessions", "--client", "C7", "--store", store)
    assert rc == 0 and out.startswith("2 sessions"), out + err


# -- 6. a Dask cluster over plain TCP --------------------------------------------------------------------------
@pytest.mark.parametrize("address, send_audio, said", [
    ("tcp://10.0.0.5:8786", False, "each file's path and the analysis of it"),
    ("sched.example.org:8786", True, "each recording's audio (--send-audio), each file's path"),
    ("tcp://127.0.0.1:8786", True, None), ("tcp://localhost:8786", False, None), ("tcp://[::1]:8786", False, None),
    ("tls://10.0.0.5:8786", True, None)])
def test_batch_on_a_cluster_over_plain_tcp_says_what_travels_in_clear(tmp_path, short_wav, monkeypatch, address,
                                                                      send_audio, said):
    """``batch --scheduler tcp://OTHER-MACHINE`` sent each file's path and brought back each session
    (who spoke when, per-frame pitch and level; with --send-audio the audio itself) over an unencrypted
    connection without a word (docs/batch.md said only 'audio never goes anywhere unless ...
    --send-audio'). A note now says so before anything is sent; this machine's own address, and
    tls://, say nothing."""
    def unreachable(addr):  # no cluster here: stop where the connection would be made
        raise runner.BatchError(f"cannot reach a Dask scheduler at {addr} (test)")
    monkeypatch.setattr(runner, "_check_reachable", unreachable)
    rc, out, err = run_cli("batch", short_wav, "--scheduler", address, *(["--send-audio"] if send_audio else []),
                           "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress")
    lines = err.splitlines()
    assert rc == 1 and lines[-1].startswith("prosody: error: cannot reach a Dask scheduler"), err
    notes = [x for x in lines if x.startswith("prosody: note: ")]
    if said is None:
        assert notes == [], err
    else:
        assert len(notes) == 1 and f"the connection to {address} is not encrypted: {said}" in notes[0], err
        assert "tls://" in notes[0] and lines.index(notes[0]) < len(lines) - 1  # said before it is sent


# -- 7. the batch table a deleted session is still a row of ----------------------------------------------------
def test_delete_says_the_batch_table_still_holds_the_sessions_row(tmp_path, batched, analysed):
    """``prosody batch`` writes a per-session table (by default prosody-batch.csv and .parquet in the
    folder it ran in: names, file path, measures). ``prosody delete`` of a batch session said only
    'deleted session 1', leaving the therapist to believe every trace gone; it now says the table
    still holds the row. A session saved by ``analyze --save`` was in no table: nothing is said."""
    store, _ = batched
    store = _copy(store, tmp_path)
    with Store(store) as st:
        st.save_session(analysed)  # session 2, not from a batch
    rc, out, err = run_cli("delete", "2", "--store", store)
    assert rc == 0 and out == "deleted session 2\n" and err == "", err
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0 and out == "deleted session 1\n", err
    assert err.startswith("prosody: note: session 1 was analysed by `prosody batch`") and err.count("\n") == 1, err
    assert "prosody-batch.csv" in err and "still holds its row" in err


def test_a_replaced_sessions_frames_file_keeps_its_uid_so_delete_knows_a_killed_ones(tmp_path, analysed):
    """``relabel`` (and ``enrol``'s re-save, any save replacing a session) named the new frames file
    after a fresh random uid: a copy a killed relabel left was no longer known as that session's, and
    ``delete`` left it for an hour's sweep. It carries the session's uid now, as a first save's does."""
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analysed)
        uid = st.info(1).uid
    rc, out, err = run_cli("relabel", "1", "--store", store)
    assert rc == 0, err
    names = [p.name for p in (store / "frames").iterdir()]
    assert len(names) == 1 and names[0].startswith(f"{uid}."), (uid, names)


def test_the_frames_sweep_touches_only_the_files_save_writes(tmp_path, analysed):
    """delete's sweep of unreferenced frames files (test 4) removes only names save writes: a store
    made inside another's empty frames folder (``--store STORE/frames``, a slip of the tab key) keeps
    its database, however old."""
    import os
    import time
    outer = tmp_path / "st"
    Store(outer).close()
    with Store(outer / "frames") as inner:  # the frames folder is empty: it takes a store
        inner.save(analysed.to_json_dict())  # a session without per-frame features: its frames folder stays empty
    (outer / "frames" / "frames").rmdir()
    with Store(outer) as st:
        st.save_session(analysed)
    old = time.time() - 2 * 3600
    for p in (outer / "frames").iterdir():
        os.utime(p, (old, old))
    rc, out, err = run_cli("delete", "1", "--store", outer)
    assert rc == 0, err
    assert sorted(p.name for p in (outer / "frames").iterdir()) == ["sessions.db"]
    with Store(outer / "frames") as inner:
        assert [i.id for i in inner.list()] == [1]
