"""The session store: round trip, migration, crash safety, concurrency, permissions, CLI."""
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from prosody.session import analyze_blocks
from prosody.errors import SessionNotFoundError, StoreError
from prosody.formats.bundle import Bookmark, SessionMeta
from prosody.formats.export import read_export, write_export
from prosody.formats.frames_csv import frames_csv
from prosody.formats.rttm import segments_rttm
from prosody.frames import frames_to_npz_bytes
from prosody.store.db import MIGRATIONS, SCHEMA_VERSION, Store, default_store_path
from prosody_cli.main import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def analysed(fixture_dialogue):
    audio, _ = fixture_dialogue
    return analyze_blocks([audio], ("therapist", "client"), sources=["fixtures/dialogue.flac"])


@pytest.fixture(scope="module")
def doc(analysed):
    """The document as ``prosody analyze --json`` writes it (tuples become lists)."""
    return json.loads(json.dumps(analysed.to_json_dict()))


def _frames_equal(a, b) -> bool:
    return (a.keys() == b.keys() and all(a[s].keys() == b[s].keys() for s in a)
            and all(a[s][k].dtype == b[s][k].dtype and np.array_equal(a[s][k], b[s][k], equal_nan=a[s][k].dtype.kind == "f")
                    for s in a for k in a[s]))


def _cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        rc = main(list(argv))
    finally:
        sys.stdout, sys.stderr = old
    return rc, out.getvalue(), err.getvalue()


META = SessionMeta(therapist="ann", client="C7", recorded_at="2024-05-01T10:00:00", notes="first", tags=("intake",))


def test_round_trip_save_reopen_export_import_compare(analysed, doc, tmp_path):
    with Store(tmp_path / "a") as st:
        sid = st.save_session(analysed, meta=META, bookmarks=[Bookmark(12.5, "tears up")])
        st.add_feedback(sid, srs=(9, 8, 9, 10))
    with Store(tmp_path / "a") as st:  # reopened
        got = st.get(sid)
        assert got.doc == doc
        assert _frames_equal(st.frames(sid), analysed.frames)
        assert got.info.meta.therapist == "ann" and got.info.meta.tags == ("intake",)
        assert got.info.meta.session_number == 1  # first session of this therapist and client
        assert got.bookmarks == (Bookmark(12.5, "tears up"),)
        metrics_a = st.metrics([sid])[sid]
        bundle = st.bundle(sid)
        (tmp_path / "out").mkdir()
        paths = write_export(bundle, "json", tmp_path / "out" / "s.json")
        assert [p.name for p in paths] == ["s.json", "s.frames.npz"]
        write_export(bundle, "parquet", tmp_path / "out" / "s.parquet")
    # metrics are what the session says
    assert metrics_a["therapist.talk_share"] == doc["speakers"]["therapist"]["talk_share"]
    assert metrics_a["client.interruptions"] == doc["speakers"]["client"]["interruptions"]
    assert metrics_a["feedback.srs_total"] == 36
    if doc.get("measures"):
        assert metrics_a["warmth.score"] == doc["measures"]["warmth"]["score"]
    for fmt in ("json", "parquet"):
        with Store(tmp_path / f"b-{fmt}") as st2:
            sid2 = st2.import_bundle(read_export(tmp_path / "out" / f"s.{fmt}"))
            got2 = st2.get(sid2)
            assert got2.doc == doc, fmt
            assert got2.info.uid == bundle.uid and got2.info.meta == bundle.meta
            assert got2.bookmarks == bundle.bookmarks and got2.feedback == bundle.feedback
            assert _frames_equal(st2.frames(sid2), analysed.frames), fmt
            assert st2.metrics([sid2])[sid2] == metrics_a, fmt
    # import into the same store: the uid is taken unless --new-id; compare shows identical columns
    store = str(tmp_path / "a")
    rc, _, err = _cli("import", str(tmp_path / "out" / "s.json"), "--store", store)
    assert rc == 1 and "already in the store as session 1" in err and err.count("\n") == 1
    rc, out, _ = _cli("import", str(tmp_path / "out" / "s.json"), "--store", store, "--new-id")
    assert rc == 0 and "as session 2" in out
    rc, out, _ = _cli("compare", "1", "2", "--store", store)
    assert rc == 0
    rows = [line.split("│") for line in out.splitlines() if "│" in line]
    # the copy imported with --new-id is the client's next session: its number alone differs
    assert len(rows) > 15 and all(r[1].strip() == r[2].strip() for r in rows[1:] if not r[0].startswith("session no."))
    assert [[c.strip() for c in r[1:]] for r in rows if r[0].startswith("session no.")] == [["1", "2"]]
    # RTTM and CSV exports agree with what analyze writes (the one writer of each)
    rc, out, _ = _cli("export", "1", "--format", "rttm", "--store", store)
    assert out == segments_rttm(analysed.segments, speakers=analysed.speakers, uri="session1")
    rc, out, _ = _cli("export", "1", "--format", "csv", "--store", store)
    assert out == frames_csv(analysed.frames, speakers=analysed.speakers, n_frames=analysed.n_frames,
                             grid=analysed.grid)


def test_session_without_measures_still_works(doc, tmp_path):
    plain = {k: v for k, v in doc.items() if k != "measures"}
    with Store(tmp_path / "s") as st:
        sid = st.save(plain, None, meta=SessionMeta(therapist="bo"))
        m = st.metrics([sid])[sid]
        assert "warmth.score" not in m and m["therapist.n_turns"] == doc["speakers"]["therapist"]["n_turns"]
        assert st.frames(sid) is None and st.list()[0].warmth_score is None
    rc, out, _ = _cli("trend", "--therapist", "bo", "--store", str(tmp_path / "s"), "-o", str(tmp_path / "t.html"))
    assert rc == 0 and (tmp_path / "t.html").stat().st_size > 1000
    rc, _, err = _cli("report", str(sid), "--store", str(tmp_path / "s"), "-o", str(tmp_path / "r.html"))
    assert rc == 0 and "without per-frame features" in (tmp_path / "r.html").read_text()


def test_migration_from_version_1(doc, tmp_path):
    folder = tmp_path / "old"
    folder.mkdir(mode=0o700)
    db = sqlite3.connect(folder / "sessions.db", isolation_level=None)
    MIGRATIONS[0](db)  # the first schema, exactly as shipped
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO sessions (uid, saved_at, recorded_at, therapist, client, duration_s, turn_taking, "
               "schema, doc) VALUES ('abcd1234', '2024-01-01T00:00:00', '2024-01-01T09:00:00', 'ann', 'C7', ?, 1, ?, ?)",
               (doc["duration_s"], doc["schema"], json.dumps(doc)))
    db.execute("INSERT INTO speakers (session_id, position, speaker, role, talk_share) VALUES (1, 0, 'therapist', "
               "'therapist', ?)", (doc["speakers"]["therapist"]["talk_share"],))
    db.execute("INSERT INTO bookmarks (session_id, time_s, note) VALUES (1, 3.5, 'old mark')")
    db.close()
    with Store(folder) as st:
        assert st.schema_version == SCHEMA_VERSION == 6  # 6 since hostile sweep 40 (audio_hashes)
        assert st.get("1").doc == doc and st.get("abcd").bookmarks == (Bookmark(3.5, "old mark"),)
        st.add_feedback(1, rating=5)  # a version-2 table
        st.add_note(1, "heard from an old store", time_s=2.0)  # a version-3 table
        assert [n.text for n in st.get(1).notes] == ["heard from an old store"]
        m = st.metrics([1])[1]
        assert m["therapist.talk_share"] == doc["speakers"]["therapist"]["talk_share"]
        assert m["feedback.rating"] == 5
        if doc.get("measures"):  # backfilled from the stored document
            assert m["warmth.score"] == doc["measures"]["warmth"]["score"]
            assert st.list()[0].warmth_score == doc["measures"]["warmth"]["score"]
            assert len(st.windows(1)) == len(doc["measures"]["rolling"])
            timing = doc["measures"]["timing"]["therapist"]
            assert m["therapist.turns_per_min"] == timing["turns_per_min"]
    # a store from a newer prosody is refused, not damaged
    db = sqlite3.connect(folder / "sessions.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer than this prosody"):
        Store(folder)


CHILD_SAVE = r"""
import json, sys, time
import numpy as np
from prosody.store.db import Store
from prosody.frames import read_frames_npz
store, doc_path, npz_path, mode = sys.argv[1:5]
doc = json.load(open(doc_path))
frames = read_frames_npz(npz_path, doc["speaker_order"])
st = Store(store)
if mode == "hang":
    original = Store._insert_children
    def hang(*args):
        original(*args)
        print("inside", flush=True)
        time.sleep(60)
    Store._insert_children = staticmethod(hang)
    st.save(doc, frames)
else:
    n = int(mode)
    for i in range(n):
        st.save(doc, frames)
    print("saved", n, flush=True)
"""


def _child_inputs(doc, analysed, tmp_path):
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    (tmp_path / "frames.npz").write_bytes(frames_to_npz_bytes(analysed.frames, doc["speaker_order"]))
    return str(tmp_path / "doc.json"), str(tmp_path / "frames.npz")


def test_sigkill_mid_save_leaves_previous_sessions(analysed, doc, tmp_path):
    store = tmp_path / "st"
    with Store(store) as st:
        ids = [st.save_session(analysed, meta=META) for _ in range(2)]
    doc_path, npz_path = _child_inputs(doc, analysed, tmp_path)
    child = subprocess.Popen([sys.executable, "-c", CHILD_SAVE, str(store), doc_path, npz_path, "hang"],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout.readline().strip() == "inside"  # rows inserted, transaction open
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    with Store(store) as st:
        assert st.integrity_ok()
        assert [i.id for i in st.list()] == ids
        assert st.get(ids[0]).doc == doc and _frames_equal(st.frames(ids[1]), analysed.frames)
        orphans = st.gc(min_age_s=0)  # the frames file written before the transaction
        assert len(orphans) == 1
        assert st.save_session(analysed) == 3  # the store takes new sessions


def test_concurrent_writer_and_reader_do_not_block(analysed, doc, tmp_path):
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analysed, meta=META)
    doc_path, npz_path = _child_inputs(doc, analysed, tmp_path)
    n = 40
    child = subprocess.Popen([sys.executable, "-c", CHILD_SAVE, str(store), doc_path, npz_path, str(n)],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    worst_s, reads = 0.0, 0
    try:
        while child.poll() is None:
            t0 = time.perf_counter()
            rc, out, err = _cli("sessions", "--store", str(store))
            worst_s = max(worst_s, time.perf_counter() - t0)
            assert rc == 0, err
            reads += 1
    finally:
        child.wait(timeout=60)
    assert child.stdout.read().strip() == f"saved {n}"
    assert reads >= 3
    assert worst_s < 1.0, f"`prosody sessions` took {worst_s:.2f} s while a writer saved"
    with Store(store) as st:
        assert len(st.list()) == n + 1 and st.integrity_ok()


def test_permissions_owner_only(analysed, tmp_path):
    old = os.umask(0o022)  # a permissive umask must not leak into the store
    try:
        store = tmp_path / "perm" / "store"
        with Store(store) as st:
            sid = st.save_session(analysed, meta=META)
            st.add_feedback(sid, rating=4)
            files = [p for p in store.rglob("*")]
            assert {p.name for p in files} >= {"sessions.db", "sessions.db-wal", "sessions.db-shm", "frames"}
            for p in [store, *files]:
                mode = stat.S_IMODE(p.stat().st_mode)
                assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))
            out = tmp_path / "exp"
            out.mkdir()
            for p in write_export(st.bundle(sid), "json", out / "s.json") + write_export(st.bundle(sid), "parquet",
                                                                                          out / "s.parquet"):
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    finally:
        os.umask(old)


def test_delete_removes_every_file(analysed, tmp_path):
    store = tmp_path / "st"
    with Store(store) as st:
        keep = st.save_session(analysed, meta=META)
        gone = st.save_session(analysed, meta=SessionMeta(notes="secret-note-xyz"), bookmarks=[Bookmark(1, "b")])
        assert len(list((store / "frames").iterdir())) == 2
    rc, out, _ = _cli("delete", str(gone), "--store", str(store))
    assert rc == 0 and out == f"deleted session {gone}\n"
    with Store(store) as st:
        assert [i.id for i in st.list()] == [keep]
        assert len(list((store / "frames").iterdir())) == 1 and st.frames(keep) is not None
        with pytest.raises(SessionNotFoundError):
            st.get(gone)
        assert st.db.execute("SELECT count(*) FROM bookmarks").fetchone()[0] == 0
    for p in store.glob("sessions.db*"):  # zeroed, and not lingering in the WAL
        assert b"secret-note-xyz" not in p.read_bytes(), p
    rc, _, err = _cli("delete", str(gone), "--store", str(store))
    assert rc == 2 and err.startswith("prosody: error: no session") and err.count("\n") == 1


def test_deleted_voice_profile_is_erased_from_the_files_while_another_process_reads(tmp_path):
    """`enrol --delete` erases the voice profile (a biometric) from the database file at
    once, as `delete` erases a session, even while another connection (another prosody)
    has the store open, so that closing this one does not checkpoint the WAL. Before
    2026-12-03 the profile stayed in sessions.db until some later checkpoint."""
    store = tmp_path / "st"
    marker = "planted-voice-marker-q7"
    prof = {"name": "ann", "model": marker, "spread": 0.1, "n_windows": 3, "speech_s": 9.0, "mean": [0.25] * 256}
    with Store(store) as st:
        st.save_profile("ann", prof, source="file ann.wav")
    other = sqlite3.connect(store / "sessions.db")  # another process's connection, open throughout
    try:
        other.execute("SELECT count(*) FROM voice_profiles").fetchone()
        rc, out, err = _cli("enrol", "--delete", "ann", "--store", str(store))
        assert (rc, out, err) == (0, "deleted the voice profile ann\n", "")
        for p in store.glob("sessions.db*"):
            assert marker.encode() not in p.read_bytes(), p
    finally:
        other.close()


def test_list_filters_and_references(doc, tmp_path):
    with Store(tmp_path / "st") as st:
        for i, (th, cl, when, tags) in enumerate([("ann", "C7", "2024-05-01T10:00:00", ("intake",)),
                                                  ("ann", "C8", "2024-05-08T10:00:00", ()),
                                                  ("bo", "C7", "2024-06-01T09:00:00", ("supervision", "intake"))]):
            st.save(doc, meta=SessionMeta(therapist=th, client=cl, recorded_at=when, tags=tags))
        ids = lambda **kw: [i.id for i in st.list(**kw)]  # noqa: E731
        assert ids(therapist="ann") == [1, 2]
        assert ids(client="C7") == [1, 3]
        assert ids(tag="intake") == [1, 3]
        assert ids(since="2024-05-08") == [2, 3]
        assert ids(until="2024-05-08") == [1, 2]  # a bare date includes that day
        assert ids(since="2024-05-02", until="2024-05-31") == [2]
        assert st.resolve("#2") == 2 and st.resolve("last") == 3
        assert st.resolve(st.info(3).uid[:6]) == 3
        with pytest.raises(SessionNotFoundError):
            st.resolve("99")
    rc, out, _ = _cli("sessions", "--store", str(tmp_path / "st"), "--client", "C7")
    assert rc == 0 and "2 sessions" in out and "2024-06-01 09:00" in out
    rc, _, err = _cli("sessions", "--store", str(tmp_path / "st"), "--since", "May 1")
    assert rc == 2 and "expected YYYY-MM-DD" in err


def test_feedback_cli(doc, tmp_path):
    store = str(tmp_path / "st")
    with Store(store) as st:
        st.save(doc, meta=META)
    assert _cli("feedback", "1", "--srs", "9,8,9,10", "--store", store)[1] == "session 1: client SRS 9/8/9/10 (total 36/40)\n"
    assert _cli("feedback", "1", "--srs", "9,8,9,10", "--store", store)[0] == 0  # a second one replaces the first
    for bad in (["--srs", "9,8,11,10"], ["--srs", "9,8,9"], ["--rating", "6"], [], ["--srs", "1,1,1,1", "--rating", "3"]):
        rc, _, err = _cli("feedback", "1", *bad, "--store", store)
        assert rc == 2 and err.startswith("prosody: error: ") and err.count("\n") == 1, (bad, err)
    rc, out, _ = _cli("show", "1", "--store", store)
    assert "client SRS: 9/8/9/10 (total 36/40)" in out and "therapist: ann" in out


def test_import_live_capture_json(analysed, doc, tmp_path):
    """``prosody live`` writes PATH.json (document + bookmarks + capture/live) and
    PATH.frames.npz with ``<speaker>.<field>`` arrays."""
    live_doc = {**doc, "bookmarks": [{"time_s": 5.0, "note": "silence"}], "capture": {"overruns": 0},
                "live": {"started_at": "2024-07-01T14:00:00+00:00", "frames_file": "rec.frames.npz"}}
    (tmp_path / "rec.json").write_text(json.dumps(live_doc))
    arrays = {"speakers": np.array(doc["speaker_order"]), "frame_hop_s": np.float64(0.01), "n_frames": np.int64(4)}
    for s in doc["speaker_order"]:
        for k, v in analysed.frames[s].items():
            arrays[f"{s}.{k}"] = v
    np.savez_compressed(tmp_path / "rec.frames.npz", **arrays)
    rc, out, err = _cli("import", str(tmp_path / "rec.json"), "--store", str(tmp_path / "st"), "--therapist", "ann")
    assert rc == 0, err
    with Store(tmp_path / "st") as st:
        got = st.get(1)
        assert got.bookmarks == (Bookmark(5.0, "silence"),) and got.info.meta.therapist == "ann"
        assert got.doc["live"] == live_doc["live"] and "bookmarks" not in got.doc
        assert got.info.meta.recorded_at and got.info.meta.recorded_at.startswith("2024-07-01")
        assert _frames_equal(st.frames(1), analysed.frames)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "something/else"}))
    rc, _, err = _cli("import", str(bad), "--store", str(tmp_path / "st"))
    assert rc == 2 and "not a prosody session" in err  # bad input: exit 2


def test_parquet_without_pyarrow_is_a_clear_error(doc, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with Store(tmp_path / "st") as st:
        st.save(doc)
    rc, _, err = _cli("export", "1", "--format", "parquet", "-o", str(tmp_path / "x.parquet"), "--store",
                      str(tmp_path / "st"))
    assert rc == 1 and "pip install 'prosody[parquet]'" in err


def test_store_location(tmp_path, monkeypatch):
    assert default_store_path({"PROSODY_STORE": str(tmp_path / "x")}) == tmp_path / "x"
    assert default_store_path({"XDG_DATA_HOME": "/data"}, "linux") == Path("/data/prosody")
    assert default_store_path({"XDG_DATA_HOME": "relative"}, "linux") == Path.home() / ".local/share/prosody"
    assert default_store_path({}, "darwin") == Path.home() / "Library/Application Support/prosody"
    monkeypatch.setenv("PROSODY_STORE", str(tmp_path / "env"))
    rc, _, err = _cli("sessions")  # a command that only reads names the store it looked for and makes none
    assert rc == 1 and f"no session store at {tmp_path / 'env'}" in err and not (tmp_path / "env").exists()
    Store().close()  # what --save, import or batch do: the store of $PROSODY_STORE is created
    rc, out, _ = _cli("sessions")
    assert rc == 0 and (tmp_path / "env" / "sessions.db").exists()
    (tmp_path / "notastore").mkdir()
    (tmp_path / "notastore" / "thesis.txt").write_text("x")
    rc, _, err = _cli("sessions", "--store", str(tmp_path / "notastore"))
    assert rc == 1 and "not a prosody store" in err


def test_analyze_save_cli(tmp_path):
    store = str(tmp_path / "st")
    rc, _, err = _cli("analyze", str(REPO / "fixtures" / "dialogue.flac"), "--quiet", "--therapist", "ann")
    assert rc == 2 and "add --save" in err
    rc, _, err = _cli("analyze", str(REPO / "fixtures" / "dialogue.flac"), "--quiet", "--save", "--store", store,
                      "--therapist", "ann", "--client", "C7", "--date", "2024-05-01T10:00", "--tag", "intake",
                      "--notes", "first")
    assert rc == 0 and f"saved as session 1 in {store}" in err
    with Store(store) as st:
        info = st.list()[0]
        assert info.meta == SessionMeta("ann", "C7", "2024-05-01T10:00:00", 1, "first", ("intake",))
        assert info.has_frames and st.get(1).doc["sources"] == [str(REPO / "fixtures" / "dialogue.flac")]
