"""Hostile sweep 63 (docs/store.md "Hostile sweep 63").

1. A failed open of an existing store asked whether SQLite's ``-shm`` was in use by opening it and closing it
   (``_shm_unused``): the close dropped every POSIX lock this process held on the file, the lock byte of a
   connection it had open among them. Another process's connection then took itself for the first and could start
   the shared memory afresh under the one in use. The file is not opened where this process has it open, and no
   descriptor is closed while a lock of this process may be on it.
2. A shared recording (both voices on both channels) was played left and right exchanged after `relabel`
   (`play`, the report's clips): its channels followed the names. It is played as recorded now; a recording of a
   channel each still follows the person.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import FIXTURES, REPO, run_cli

QUIET = ("--quiet", "--no-progress")

# -- 1. whether SQLite's shared memory is in use, asked without dropping this process's lock ----------------------

_DMS_FREE = ("import fcntl, os, struct, sys\n"
             "fd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n"
             "    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 128, 1, 0))\n"
             "    print('free')\n"
             "except OSError:\n"
             "    print('held')\n")


def _dead_man_switch(shm) -> str:
    """Whether another process could take the write lock on the shared memory's "dead man switch" byte (SQLite's
    test of being its first user): "free" or "held"."""
    return subprocess.run([sys.executable, "-c", _DMS_FREE, str(shm)], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="open file description locks: Linux")
def test_asking_whether_the_shared_memory_is_in_use_keeps_this_process_lock(tmp_path):
    """Planted: a connection of this process open on a store in write-ahead mode (its lock on the shared memory's
    byte 128 held); a failed open's clean-up asks whether its ``-wal`` and ``-shm`` may go. Before: asked by an
    open and a close of the ``-shm``, which dropped the connection's lock: another process found the byte "free"
    (and would have started the shared memory afresh under the connection using it). Now "held", both files kept,
    and the connection's write read by another process."""
    from prosody.store.db import _sidecars, _unmake_sidecars
    db_path = tmp_path / "sessions.db"
    mine = sqlite3.connect(db_path, isolation_level=None)
    mine.execute("PRAGMA journal_mode=WAL")
    mine.execute("CREATE TABLE t (x)")
    mine.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert _dead_man_switch(f"{db_path}-shm") == "held"
    _unmake_sidecars(db_path, list(_sidecars(db_path)))
    assert _dead_man_switch(f"{db_path}-shm") == "held"
    assert sorted(os.listdir(tmp_path)) == ["sessions.db", "sessions.db-shm", "sessions.db-wal"]
    mine.execute("INSERT INTO t VALUES (7)")
    other = subprocess.run([sys.executable, "-c", "import sqlite3, sys; "
                            "print(sqlite3.connect(sys.argv[1]).execute('SELECT x FROM t').fetchall())",
                            str(db_path)], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == "[(7,)]"
    mine.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="open file description locks: Linux")
def test_sqlite_files_no_connection_holds_still_go(tmp_path):
    """What sweep 51 mended stays: a ``-wal`` (empty) and ``-shm`` no connection has open are taken away."""
    from prosody.store.db import _sidecars, _unmake_sidecars
    db_path = tmp_path / "sessions.db"
    with closing(sqlite3.connect(db_path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
    for side in _sidecars(db_path):
        side.write_bytes(b"")
    _unmake_sidecars(db_path, list(_sidecars(db_path)))
    assert sorted(os.listdir(tmp_path)) == ["sessions.db"]



_COUNT = ("import sys\nfrom prosody.store.db import Store\n"
          "with Store(sys.argv[1], create=False) as st:\n"
          "    print(len(st.db.execute('SELECT id FROM sessions').fetchall()))")


def _sessions_another_process_reads(store) -> int:
    """Another process's look at the store (as `sessions` opens and closes it): how many sessions it reads."""
    done = subprocess.run([sys.executable, "-c", _COUNT, str(store)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    return int(done.stdout)


@pytest.mark.parametrize("failure", ["locked", "damaged"])
def test_a_failed_second_open_in_one_process_keeps_the_first_ones_save(tmp_path, analysed, monkeypatch, failure):
    """Planted: a store open in this process (one session saved); a second ``Store`` of it in the same process
    fails as it opens (its schema check raising what a busy or a damaged database raises); another process reads
    the store; the first saves a second session. Before: the failed open read the database's first bytes to say
    why (``_looks_like_sqlite``, ``_has_sqlite_header``) by an open and a close, which dropped the first store's
    lock on the database: the other process, closing, took itself for the last, copied the log in and removed it,
    and the second save went into the removed log (1 session read, said saved). Now 2."""
    from prosody.store.db import Store, StoreError
    store = tmp_path / "st"
    error = sqlite3.OperationalError("database is locked") if failure == "locked" else sqlite3.DatabaseError(
        "database disk image is malformed")
    with Store(store) as first:
        first.save(analysed.to_json_dict(), analysed.frames)
        with monkeypatch.context() as m:
            m.setattr(Store, "_migrate", lambda self: (_ for _ in ()).throw(error))
            with pytest.raises(StoreError):
                Store(store)
        assert _sessions_another_process_reads(store) == 1
        assert os.path.exists(f"{store}/sessions.db-wal")  # the first store's connection still counted
        sid = first.save(analysed.to_json_dict(), analysed.frames)
    assert sid == 2 and _sessions_another_process_reads(store) == 2

# -- 2. a shared recording played as recorded, after `relabel` too ------------------------------------------------

def _recordings(tmp_path) -> dict:
    """The fixture dialogue's first 32 s (its talk-over at 27.6 s a moment) three ways: a channel each
    ("separate"), both voices on both channels at 1.7 dB apart ("shared"), and the two mixed into one channel
    ("mono")."""
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    x = x[:32 * sr]
    made = {"separate": x, "shared": x @ np.array([[0.55, 0.45], [0.45, 0.55]], np.float32),
            "mono": x.mean(axis=1)}
    for name, y in made.items():
        sf.write(tmp_path / f"{name}.wav", y, sr, subtype="FLOAT")  # played back as stored: compared exactly
    return {name: tmp_path / f"{name}.wav" for name in made}


def _played(store, sid, monkeypatch) -> tuple[np.ndarray, float]:
    """What `play SID 1` hands the output (the samples, stereo) and where its stretch starts, in seconds."""
    import prosody.clips as clips
    got = []
    monkeypatch.setattr(clips, "play", lambda x, sr, **kw: (got.append(x), kw["on_start"]()))
    rc, _, err = run_cli("play", sid, "1", "--store", store)
    assert rc == 0 and len(got) == 1, err
    return got[0], float(re.search(r"(\d+\.\d)–\d+\.\d s", err).group(1))


def _as_recorded(x: np.ndarray, recording: np.ndarray, start_s: float, sr: int) -> bool:
    """Whether ``x`` is the recording's samples from within 0.05 s of ``start_s`` (the line says it to 0.1 s), in
    its channels' order."""
    rec = recording if recording.ndim == 2 else np.repeat(recording[:, None], 2, axis=1)
    for i in range(max(0, int((start_s - 0.05) * sr)), int((start_s + 0.05) * sr) + 1):
        if np.array_equal(x[:64], rec[i:i + 64]) and np.array_equal(x, rec[i:i + len(x)]):
            return True
    return False


@pytest.mark.parametrize("layout, follows", [("shared", False), ("separate", True), ("mono", False)])
def test_play_of_a_relabelled_session_follows_the_person_only_on_a_channel_each(tmp_path, monkeypatch, layout,
                                                                                 follows):
    """Planted: the dialogue shared, separate and mono, each saved (`--layout` as made), played (moment 1), relabelled
    and played again. Before: the shared one came out left and right exchanged after `relabel` (its channels
    followed the names, though both carry both voices). Now a shared or mono recording plays as recorded before and
    after; one of a channel each plays the person now named therapist on the left (its channels exchanged)."""
    files = _recordings(tmp_path)
    store = tmp_path / "st"
    rc, _, err = run_cli("analyze", files[layout], "--layout", layout, "--save", "--store", store, *QUIET)
    assert rc == 0, err
    doc = json.loads(run_cli("export", "1", "--store", store)[1])
    assert doc["attribution"]["layout"] == layout
    recording, sr = sf.read(files[layout], dtype="float32")
    x, start_s = _played(store, 1, monkeypatch)
    assert _as_recorded(x, recording, start_s, sr)
    rc, _, err = run_cli("relabel", "1", "--store", store)
    assert rc == 0, err
    x, start_s = _played(store, 1, monkeypatch)
    if follows:
        assert _as_recorded(x[:, ::-1], recording, start_s, sr)
    else:
        assert _as_recorded(x, recording, start_s, sr)


def test_the_report_clips_of_a_relabelled_shared_session_are_as_recorded(tmp_path):
    """The report's clips are cut alike (``Audio.listen``): a shared session's, after `relabel`, its channels in
    the recording's order."""
    from prosody.clips import locate
    files = _recordings(tmp_path)
    store = tmp_path / "st"
    assert run_cli("analyze", files["shared"], "--layout", "shared", "--save", "--store", store, *QUIET)[0] == 0
    assert run_cli("relabel", "1", "--store", store)[0] == 0
    doc = json.loads(run_cli("export", "1", "--store", store)[1])
    assert doc["audio"]["picks"] == {"therapist": [0, 1], "client": [0, 0]}  # the names exchanged
    audio, why = locate(doc)
    recording, sr = sf.read(files["shared"], dtype="float32")
    assert np.array_equal(audio.listen(2.0, 3.0), recording[2 * sr:3 * sr]), why



@pytest.mark.parametrize("picks, as_recorded, left, right", [
    (((0, 1), (0, 0)), True, 0, 1),                # shared, relabelled: as recorded
    (((0, 1), (0, 0), (0, 1)), True, 0, 1),        # a third name on a channel already read: each channel once
    (((0, 1), (0, 1)), True, 1, 1),                # one channel diarized (the other silent): it, on both sides
    (((0, 1), (0, 0)), False, 1, 0),               # a channel each, relabelled: the person followed
])
def test_listen_gives_each_recorded_channel_once_in_order(tmp_path, picks, as_recorded, left, right):
    """Planted: a stereo file of a 220 Hz tone left and a 330 Hz tone right, read through ``Audio.listen`` with
    the picks of each case: which recorded channel comes out on each side."""
    from prosody.clips import Audio
    sr = 16000
    t = np.arange(sr, dtype=np.float32) / sr
    tones = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)], axis=1).astype(np.float32) * 0.5
    sf.write(tmp_path / "tones.wav", tones, sr, subtype="FLOAT")
    names = ("therapist", "client", "unattributed")[:len(picks)]
    audio = Audio((str(tmp_path / "tones.wav"),), names, picks, 0.0, sr, as_recorded=as_recorded)
    x = audio.listen(0.25, 0.5)
    assert x.shape == (sr // 4, 2)
    assert np.array_equal(x[:, 0], tones[sr // 4:sr // 2, left])
    assert np.array_equal(x[:, 1], tones[sr // 4:sr // 2, right])

# -- 3. `enrol` from a session of one voice named by the rule ------------------------------------------------------

def test_enrol_from_a_one_voice_session_names_a_way_out_that_exists(tmp_path):
    """Planted: the fixture's lone therapist saved (one voice, named by the rule: no voice profile), then
    `enrol --from-session 1 --therapist bob`. Before: "if that voice is the client's, `prosody relabel 1` exchanges
    them and enrol builds the profile again", and `relabel 1` refuses a session of one voice. Now it names the
    profile's removal and an enrolment from the therapist alone, and the command it names works."""
    store = tmp_path / "st"
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET)
    assert rc == 0 and "one voice found" in err, err
    rc, _, err = run_cli("relabel", "1", "--store", store)
    assert rc == 2 and "relabel exchanges two voices" in err, err
    rc, _, err = run_cli("enrol", "--from-session", "1", "--therapist", "bob", "--store", store)
    assert rc == 0, err
    note = [line for line in err.splitlines() if "named by an assumption" in line]
    assert len(note) == 1 and "relabel" not in note[0], err
    assert note[0].endswith("if that voice is the client's, the profile bob is the client's: `prosody enrol "
                            "--delete bob` removes it, and a recording of the therapist alone enrols it (`prosody "
                            "enrol FILE --therapist bob`)"), note
    rc, _, err = run_cli("enrol", "--delete", "bob", "--store", store)
    assert rc == 0, err
    assert run_cli("enrol", "--list", "--store", store)[1].startswith("no voice profiles")


def test_enrol_from_a_two_voice_session_named_by_the_rule_still_names_relabel(tmp_path):
    """The two-voice case keeps its way out (sweep 35): `relabel` exchanges them."""
    store = tmp_path / "st"
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    sf.write(tmp_path / "mix.wav", x[:16 * sr].mean(axis=1), sr)
    assert run_cli("analyze", tmp_path / "mix.wav", "--save", "--store", store, *QUIET)[0] == 0
    rc, _, err = run_cli("enrol", "--from-session", "1", "--therapist", "bob", "--store", store)
    assert rc == 0, err
    assert "if that voice is the client's, `prosody relabel 1` exchanges them and enrol builds the profile again" \
        in err, err


# -- 4. `edit --tag` past the tags a session may hold ---------------------------------------------------------------

def _tags(prefix: str, n: int) -> list[str]:
    return [a for i in range(n) for a in ("--tag", f"{prefix}{i:02d}")]


def test_edit_cannot_take_a_session_past_the_tags_an_import_takes(tmp_path):
    """Planted: a session saved with 60 tags, then `edit 1` with 60 more. Before: saved with 120 tags, and its
    export refused by `import` ("prosody_store: tags = ['a00', ...: expected a list of at most 100 tags"): a
    backup that could not be restored. Now refused in one line, nothing changed; the 60 with 20 taken off (100)
    are taken, and the export imports."""
    store = tmp_path / "st"
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET,
                         *_tags("a", 60))
    assert rc == 0, err
    rc, out, err = run_cli("edit", "1", *_tags("b", 60), "--store", store)
    assert (rc, out) == (2, ""), (rc, out, err)
    assert err == ("prosody: error: session 1 would hold 120 tags, more than the 100 a session may hold (an export "
                   "of it could not be imported); nothing was changed: --untag some first\n")
    assert len(json.loads(run_cli("export", "1", "--store", store)[1])["prosody_store"]["tags"]) == 60
    untag = [a for i in range(20) for a in ("--untag", f"a{i:02d}")]
    assert run_cli("edit", "1", *_tags("b", 60), *untag, "--store", store)[0] == 0
    rc, _, err = run_cli("export", "1", "--store", store, "-o", tmp_path / "s1.json")
    assert rc == 0, err
    rc, _, err = run_cli("import", tmp_path / "s1.json", "--new-id", "--store", store)
    assert rc == 0, err
    assert len(json.loads(run_cli("export", "2", "--store", store)[1])["prosody_store"]["tags"]) == 100


def test_too_many_tags_given_are_counted_not_listed(tmp_path):
    """3,000 `--tag` were refused as "tags = ['t0000', 't0001', ...: expected a list of at most 100 tags" (the list
    in Python's words); now counted."""
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", tmp_path / "st", *QUIET,
                         *_tags("t", 101))
    assert rc == 2 and err == "prosody: error: command line: 101 tags, more than the 100 a session may hold\n", err
    assert not (tmp_path / "st").exists()



def test_import_with_a_tag_past_the_limit_blames_the_tag_given(tmp_path):
    """Planted: an export of a session of 100 tags, imported with `--tag extra`. Before: "prosody_store: tags =
    [...]: expected a list of at most 100 tags", the file blamed for the tag given. Now the `--tag` is; one the file
    already has, given again, counts once and imports."""
    store = tmp_path / "st"
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET,
                   *_tags("a", 100))[0] == 0
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "s1.json")[0] == 0
    rc, _, err = run_cli("import", tmp_path / "s1.json", "--store", tmp_path / "b", "--tag", "extra")
    assert rc == 2 and err == ("prosody: error: --tag: the file's 100 tags and the 1 given make 101, more than the "
                               "100 a session may hold\n"), err
    rc, _, err = run_cli("import", tmp_path / "s1.json", "--store", tmp_path / "b", "--tag", "a07")
    assert rc == 0, err
    assert len(json.loads(run_cli("export", "1", "--store", tmp_path / "b")[1])["prosody_store"]["tags"]) == 100

# -- 5. a session numbered after one numbered 1,000,000 -------------------------------------------------------------

def test_a_session_after_the_highest_number_takes_the_lowest_free_and_its_export_imports(tmp_path):
    """Planted: client C's session saved as number 1,000,000 (by hand), then two more of C saved unnumbered.
    Before: numbered 1,000,001 and 1,000,002, past what a session may hold, and their export refused by `import`
    ("prosody_store: session_number = 1000001: outside 0..1e+06"). Now 1 and 2, the lowest free said as such where
    a number typed is taken, and the export imports; a number past the top in a document is said in its digits."""
    store = tmp_path / "st"
    meta = ("--therapist", "ann", "--client", "C")
    for extra in (("--session-number", "1000000"), (), ()):
        rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET,
                             *meta, *extra)
        assert rc == 0, err
    numbers = [json.loads(run_cli("export", str(sid), "--store", store)[1])["prosody_store"]["session_number"]
               for sid in (1, 2, 3)]
    assert numbers == [1000000, 1, 2]
    rc, _, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET, *meta,
                         "--session-number", "1")
    assert rc == 2 and "has it as session 2; give another with --session-number (the lowest free: 3), or " in err, err
    rc, _, err = run_cli("export", "3", "--store", store, "-o", tmp_path / "s3.json")
    assert rc == 0, err
    rc, _, err = run_cli("import", tmp_path / "s3.json", "--store", tmp_path / "other")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s3.json").read_text())
    doc["prosody_store"]["session_number"] = 1000001
    (tmp_path / "s3.json").write_text(json.dumps(doc))
    rc, _, err = run_cli("import", tmp_path / "s3.json", "--store", tmp_path / "third")
    assert rc != 0 and err.endswith("prosody_store: session_number = 1000001: outside 0..1000000\n"), err
