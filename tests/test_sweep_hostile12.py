"""Hostile sweep 12 (docs/store.md, "Hostile sweep 12"): files that change under prosody, two prosody at once,
signals mid-save. Through the real CLI where it can be (a child process, the signal planted at one point of
the save so that the test is exact); every file under tmp_path. Each defect with what happened before:

1. A Ctrl-C landing right after a save's COMMIT (inside ``Store._tx``) went to the save's clean-up, which
   removed the frames file of the session just committed: the session stayed, its frames gone for good
   (``report`` / ``export``: "its frames file ... is missing"), and ``analyze --save`` said only "interrupted".
   One landing after the frames file was renamed into place but before the transaction began (the folder's
   fsync) left that file unreferenced. The store now removes the file only when no committed session names it.
2. SIGTERM and SIGHUP killed prosody on the spot (their default action), silently: mid-save they left the
   frames file of a session that was not saved, and after the commit nothing said that it was. They are now
   raised as Ctrl-C is (clean-ups run; one line; exit 143 / 129), and ``analyze --save``, ``relabel``,
   ``edit`` and ``feedback`` hold them while the change and its line are made, then say what was done first.
3. Two ``prosody relabel`` of one session at once each exchanged the voices of the session as they had read
   it, and the second's save replaced the first's: both said "the two voices exchanged", the session was
   exchanged once. A relabel running while an ``edit`` changed the session's metadata put the old metadata
   back (its save rewrites the row from what it read). A replacing save now checks that the session is as
   it was read (``Store.stamp``) and otherwise writes nothing and says so.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import assert_group_gone, count_rows, run_cli

REPO = Path(__file__).resolve().parents[1]

# a child prosody whose save is signalled at one point: after the frames file is written ("frames"), or right
# after the store's COMMIT ("commit"), before the save returns
SIGNAL_IN_SAVE = r"""
import os, signal, sys
from contextlib import contextmanager
from prosody.store import db as store_db
at, how = os.environ["H12_AT"], getattr(signal, os.environ["H12_SIGNAL"])
real_tx, real_write = store_db.Store._tx, store_db._write_private_bytes
@contextmanager
def tx(self, **kw):
    with real_tx(self, **kw) as d:
        yield d
    if at == "commit" and not kw.get("migrating"):
        os.kill(os.getpid(), how)
def write(*a, **k):
    real_write(*a, **k)
    if at == "frames":
        os.kill(os.getpid(), how)
store_db.Store._tx, store_db._write_private_bytes = tx, write
from prosody_cli.main import main
sys.exit(main())
"""


def _signalled(at: str, how: str, *argv) -> tuple[int, str, str]:
    r = subprocess.run([sys.executable, "-c", SIGNAL_IN_SAVE, *map(str, argv)], capture_output=True, text=True,
                       cwd=REPO, timeout=300, env={**os.environ, "H12_AT": at, "H12_SIGNAL": how,
                                                   "PYTHONPATH": str(REPO)})
    return r.returncode, r.stdout, r.stderr


def _stored_frames(store: Path) -> tuple[list[str], list[str]]:
    """(frames files the sessions name, every file in the frames folder), each sorted."""
    import sqlite3
    db = sqlite3.connect(f"file:{store / 'sessions.db'}?mode=ro", uri=True)
    try:
        named = sorted(r[0] for r in db.execute("SELECT frames_file FROM sessions"))
    finally:
        db.close()
    return named, sorted(os.listdir(store / "frames"))


@pytest.fixture
def store_of_one(tmp_path, short_wav):
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    return store


# -- 1. the store's own clean-up after an interrupted save ------------------------------------------------------

def test_an_interruption_after_the_commit_keeps_the_committed_sessions_frames(store_of_one, analysed, monkeypatch):
    """Before: the save's ``except BaseException`` removed the frames file of the session it had just
    committed; the session was stored without its frames (``export`` failed on it for good)."""
    from contextlib import contextmanager
    from prosody.store import db as store_db
    real_tx = store_db.Store._tx

    @contextmanager
    def tx(self, **kw):
        with real_tx(self, **kw) as d:
            yield d
        raise KeyboardInterrupt  # committed: as a Ctrl-C landing right after COMMIT

    monkeypatch.setattr(store_db.Store, "_tx", tx)
    with store_db.Store(store_of_one) as st:
        with pytest.raises(KeyboardInterrupt):
            st.save_session(analysed)
    monkeypatch.undo()
    named, files = _stored_frames(store_of_one)
    assert len(named) == 2 and files == named, (named, files)
    with store_db.Store(store_of_one) as st:
        frames = st.frames(2)
        assert frames is not None and set(frames) == {"therapist", "client"}
        assert len(frames["therapist"]["f0_hz"]) == analysed.n_frames


def test_an_interruption_before_the_transaction_leaves_no_frames_file(store_of_one, analysed, monkeypatch):
    """Before: a Ctrl-C after the frames file was renamed into place (during the folder's fsync) and
    before the transaction left that file, unreferenced, in the frames folder (per-frame pitch and loudness
    of a session that was not saved)."""
    from prosody.store import db as store_db
    real_write = store_db._write_private_bytes

    def write(*a, **k):
        real_write(*a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(store_db, "_write_private_bytes", write)
    with store_db.Store(store_of_one) as st:
        with pytest.raises(KeyboardInterrupt):
            st.save_session(analysed)
    named, files = _stored_frames(store_of_one)
    assert len(named) == 1 and files == named, (named, files)


# -- 2. SIGTERM / SIGHUP raised, and held while a change is made and said ----------------------------------------

@pytest.mark.parametrize("how,code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_signal_while_the_frames_file_is_written_waits_for_the_save_and_is_said(store_of_one, short_wav, how, code):
    """Before: SIGTERM and SIGHUP killed the process there (exit -15 / -1, nothing said) and SIGINT raised
    where the save did not clean up: in all three, the frames file of the unsaved session stayed behind.
    Now the save is held until it is made and said (the signal came during it): saved, said, then one
    line saying it stopped and that the session was saved first."""
    rc, out, err = _signalled("frames", how, "analyze", short_wav, "--save", "--store", store_of_one, "--quiet",
                              "--no-progress")
    assert rc == code, (rc, err)
    lines = err.splitlines()
    assert lines[0] == f"prosody: saved as session 2 in {store_of_one}", err
    what = "interrupted" if how == "SIGINT" else f"stopped by {how}"
    assert lines[-1] == f"prosody: error: {what}; the session was saved as session 2 first", err
    assert "Traceback" not in err
    named, files = _stored_frames(store_of_one)
    assert len(named) == 2 and files == named, (named, files)


@pytest.mark.parametrize("how,code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_right_after_the_commit_is_said_after_the_save(store_of_one, short_wav, tmp_path, how, code):
    """Before: Ctrl-C there said 'interrupted' alone and removed the committed session's frames file
    (``export 2``: 'its frames file ... is missing'); SIGTERM / SIGHUP killed it silently, the session saved
    unsaid. Now: saved, said, its frames whole, then the signal's line (exit 130 / 143 / 129)."""
    rc, out, err = _signalled("commit", how, "analyze", short_wav, "--save", "--store", store_of_one, "--quiet",
                              "--no-progress")
    assert rc == code, (rc, err)
    what = "interrupted" if how == "SIGINT" else f"stopped by {how}"
    assert err.splitlines() == [f"prosody: saved as session 2 in {store_of_one}",
                                "prosody: note: the same audio is stored as session 1 too, so it is now stored 2 "
                                "times (`batch` stores a recording once); `prosody delete 2` removes this copy",
                                f"prosody: error: {what}; the session was saved as session 2 first"], err
    named, files = _stored_frames(store_of_one)
    assert len(named) == 2 and files == named, (named, files)
    rc, out, err = run_cli("export", "2", "--store", store_of_one, "-o", tmp_path / "two.json")
    assert rc == 0, err
    assert (tmp_path / "two.frames.npz").is_file()


def test_sigterm_after_a_relabel_commit_says_it_was_relabelled(store_of_one):
    """Before: killed silently after the commit (exit -15): the voices were exchanged and nothing said so.
    Now the line, then 'stopped by SIGTERM; session 1 was relabelled first', exit 143; the old frames file
    replaced by the new one."""
    before = _stored_frames(store_of_one)[0]
    rc, out, err = _signalled("commit", "SIGTERM", "relabel", "1", "--store", store_of_one)
    assert rc == 143, (rc, out, err)
    assert out == "session 1: the two voices exchanged (therapist and client); measures recomputed\n", out
    assert err == "prosody: error: stopped by SIGTERM; session 1 was relabelled first\n", err
    named, files = _stored_frames(store_of_one)
    assert len(named) == 1 and files == named and named != before, (before, named, files)
    assert count_rows(store_of_one / "sessions.db", "SELECT count(*) FROM sessions") == 1


@pytest.mark.parametrize("argv,done", [(("edit", "1", "--notes", "n-Qzxv"), "session 1 was edited first"),
                                       (("feedback", "1", "--rating", "4"),
                                        "the feedback was recorded in session 1 first")])
def test_sigterm_after_an_edit_commit_says_it_was_made(store_of_one, argv, done):
    """Before: killed silently after the commit (exit -15), the change made and unsaid."""
    rc, out, err = _signalled("commit", "SIGTERM", *argv, "--store", store_of_one)
    assert rc == 143, (rc, out, err)
    assert out.strip(), out  # what was changed, shown
    assert err == f"prosody: error: stopped by SIGTERM; {done}\n", err
    assert count_rows(store_of_one / "sessions.db", "SELECT count(*) FROM sessions WHERE notes = 'n-Qzxv'"
                      ) == (argv[0] == "edit")
    assert count_rows(store_of_one / "sessions.db", "SELECT count(*) FROM feedback") == (argv[0] == "feedback")


# -- 3. a replacing save never undoes another prosody's change ---------------------------------------------------

# a child `prosody relabel` that runs another prosody command (H12_OTHER, a JSON list) once it has read and
# relabelled the session, before its save: two commands at once, in the one order that loses a change
RELABEL_WITH_ANOTHER = r"""
import json, os, subprocess, sys
import prosody.relabel as rl
real = rl.relabel
def relabel(doc, frames):
    got = real(doc, frames)
    r = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                        *json.loads(os.environ["H12_OTHER"])], capture_output=True, text=True)
    sys.stderr.write(f"other: {r.returncode}\n")
    return got
rl.relabel = relabel
from prosody_cli.main import main
sys.exit(main())
"""


def _relabel_with(store: Path, *other) -> tuple[int, str, str]:
    import json
    r = subprocess.run([sys.executable, "-c", RELABEL_WITH_ANOTHER, "relabel", "1", "--store", str(store)],
                       capture_output=True, text=True, cwd=REPO, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(REPO),
                            "H12_OTHER": json.dumps([*map(str, other), "--store", str(store)])})
    return r.returncode, r.stdout, r.stderr


def _therapist_speech_s(store: Path) -> float:
    return count_rows(store / "sessions.db", "SELECT speech_s FROM speakers WHERE session_id = 1 AND "
                                             "speaker = 'therapist'")


def test_two_relabels_at_once_do_not_count_as_two_when_one_was_lost(store_of_one):
    """Before: both said 'the two voices exchanged' and the session was exchanged once (the second relabel
    saved its exchange of the session as it was before the first). Now the second one is refused in one
    line, nothing written: the session is exchanged once and said once."""
    before = _therapist_speech_s(store_of_one)
    rc, out, err = _relabel_with(store_of_one, "relabel", "1")
    assert err.splitlines()[0] == "other: 0", err  # the other relabel, run meanwhile, exchanged them
    assert rc == 1 and out == "", (rc, out, err)
    assert err.splitlines()[1:] == [f"prosody: error: session 1 in {store_of_one} was changed by another prosody "
                                    "command while this one ran (an edit, a relabel); nothing was written, so that "
                                    "change is kept: run the command again"], err
    after = _therapist_speech_s(store_of_one)
    assert after != before  # exchanged once: the client's speech now under the therapist's name
    rc, out, err = run_cli("relabel", "1", "--store", store_of_one)  # run again, as said: back as it was
    assert rc == 0, err
    assert _therapist_speech_s(store_of_one) == before
    named, files = _stored_frames(store_of_one)
    assert len(named) == 1 and files == named, (named, files)


def test_a_relabel_does_not_undo_an_edit_made_while_it_ran(store_of_one):
    """Before: the relabel's save rewrote the session's row and tags from what it had read: the notes,
    client and tag the edit had set (and said) were gone, without a word."""
    rc, out, err = _relabel_with(store_of_one, "edit", "1", "--client", "C-Wqzx", "--notes", "n-Qzxv", "--tag", "t1")
    assert err.splitlines()[0] == "other: 0", err
    assert rc == 1 and "was changed by another prosody command while this one ran" in err, (rc, err)
    db = store_of_one / "sessions.db"
    assert count_rows(db, "SELECT count(*) FROM sessions WHERE client = 'C-Wqzx' AND notes = 'n-Qzxv'") == 1
    assert count_rows(db, "SELECT count(*) FROM tags WHERE tag = 't1'") == 1


def test_a_relabel_of_a_session_deleted_while_it_ran_says_so(store_of_one):
    rc, out, err = _relabel_with(store_of_one, "delete", "1")
    assert err.splitlines()[0] == "other: 0", err
    assert rc == 2 and err.splitlines()[1:] == [f"prosody: error: no session 1 in {store_of_one} to replace "
                                                "(deleted while this command ran)"], (rc, err)
    assert _stored_frames(store_of_one) == ([], [])


ENROL_AFTER_ANOTHER = r"""
import os, subprocess, sys
from prosody.store import db as store_db
real = store_db.Store.save_profile
def save_profile(self, *a, **k):  # another `enrol` of the same name saves first, while this one built its profile
    r = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                        "enrol", os.environ["H12_OTHER_FILE"], "--therapist", "Ann", "--voices", "1",
                        "--store", os.environ["H12_STORE"]], capture_output=True, text=True)
    sys.stderr.write(f"other: {r.returncode}\n")
    return real(self, *a, **k)
store_db.Store.save_profile = save_profile
from prosody_cli.main import main
sys.exit(main())
"""


def test_two_enrols_of_one_name_at_once_say_which_replaced_which(tmp_path, fixture_dialogue):
    """Before: each read the profile it would replace before building its own; the one saving second
    replaced the other's profile (a therapist's voice, made a moment before) and said nothing of it. The
    replaced profile is now read in the save's transaction and said."""
    import soundfile as sf
    audio, _ = fixture_dialogue
    for name, ch in (("first.wav", 0), ("second.wav", 1)):
        sf.write(tmp_path / name, audio[:, ch], 16000, subtype="PCM_16")
    store = tmp_path / "store"
    r = subprocess.run([sys.executable, "-c", ENROL_AFTER_ANOTHER, "enrol", str(tmp_path / "second.wav"),
                        "--therapist", "Ann", "--voices", "1", "--store", str(store)], capture_output=True, text=True,
                       cwd=REPO, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO), "H12_STORE": str(store),
                                                   "H12_OTHER_FILE": str(tmp_path / "first.wav")})
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[0] == "other: 0", r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "this replaces the voice profile Ann" in ln]
    assert len(notes) == 1 and notes[0].endswith("from recording first.wav"), r.stderr
    rc, out, err = run_cli("enrol", "--list", "--store", store)
    assert rc == 0 and out.count("\n") == 1 and "recording second.wav" in out, out


# -- 4. a recording still being written ---------------------------------------------------------------------------

def _wav_with_data_size(src: Path, dst: Path, data_bytes: int, *, riff_too: bool) -> None:
    """``src`` (a plain 44-byte-header WAV) copied to ``dst`` with its data chunk's size set to ``data_bytes``
    (and the RIFF size to match, as a recorder updating its header writes both): the samples after stay."""
    import struct
    b = bytearray(src.read_bytes())
    at = b.find(b"data")
    b[at + 4:at + 8] = struct.pack("<I", data_bytes)
    if riff_too:
        b[4:8] = struct.pack("<I", at + 8 + data_bytes - 8)
    dst.write_bytes(bytes(b))


@pytest.mark.parametrize("riff_too", [True, False])
def test_a_wav_whose_header_gives_less_than_it_holds_is_said(tmp_path, short_wav, riff_too):
    """A recorder updating its header every few seconds, or stopped before its last update: the header gives
    2 s, the file holds 8. Before: 2 s analysed, not a word. Now the same 2 s, and a warning saying how much
    follows unread and how to read it all."""
    import json
    wav = tmp_path / "rec.wav"
    _wav_with_data_size(short_wav, wav, 2 * 16000 * 4, riff_too=riff_too)
    rc, out, err = run_cli("analyze", wav, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "o.json").read_text())
    assert doc["duration_s"] == pytest.approx(2.0)
    said = [w for w in doc["warnings"] if "header gives 2.00 s of audio, but 6.00 s more of samples follow" in w]
    assert len(said) == 1 and "ffmpeg -ignore_length 1 -i" in said[0], doc["warnings"]
    assert said[0] in err


def test_a_wav_whose_header_says_no_audio_over_samples_is_not_called_empty(tmp_path, short_wav):
    """The header a recorder writes first (0 data bytes), 8 s of samples after it. Before: 'no audio in
    rec.wav'. Now one line that says what the file holds and how to read it."""
    wav = tmp_path / "rec.wav"
    _wav_with_data_size(short_wav, wav, 0, riff_too=True)
    rc, out, err = run_cli("analyze", wav, "--quiet", "--no-progress")
    assert rc == 2 and err == (f"prosody: error: {wav}'s header says it holds no audio (0 bytes), but 8.00 s of "
                               "samples follow it: a recording still being written, or one whose recorder stopped "
                               "before it wrote its header: analyse it once the recording is finished; if it is, "
                               f"rewrite its header first, e.g. `ffmpeg -ignore_length 1 -i {wav} -c:a flac "
                               "whole.flac`\n"), err


def test_a_wav_with_chunks_after_its_data_is_not_taken_for_a_longer_recording(tmp_path, short_wav):
    """A LIST chunk after the data (tags), of an odd size and its pad byte, then an id3 chunk of 2000 bytes
    (more than 10 ms of samples, were it taken for them): no warning."""
    import struct
    b = short_wav.read_bytes()
    tail = (b"LIST" + struct.pack("<I", 13) + b"INFOINAM\x01\x00\x00\x00a" + b"\x00"  # 13 bytes and a pad byte
            + b"id3 " + struct.pack("<I", 2000) + b"ID3\x03" + bytes(1996))
    wav = tmp_path / "tagged.wav"
    wav.write_bytes(b[:4] + struct.pack("<I", len(b) - 8 + len(tail)) + b[8:] + tail)
    rc, out, err = run_cli("analyze", wav, "--quiet", "--no-progress")
    assert rc == 0 and "follow" not in err, err


def _analysis_then(monkeypatch, act):
    """``analyze_recording`` that runs ``act()`` once the analysis has read its file (a writer meanwhile)."""
    import prosody.speaker_channels as sc
    real = sc.analyze_recording

    def analyze_recording(*a, **k):
        got = real(*a, **k)
        act()
        return got
    monkeypatch.setattr(sc, "analyze_recording", analyze_recording)


def test_a_recording_replaced_while_it_is_analysed_is_refused(tmp_path, short_wav, monkeypatch):
    """A new file renamed over the recording while it was analysed (the analysis reads the file it opened).
    Before: saved, with the new file's hash, size and date as its recording's: `play` would have played the
    new file's audio at this session's moments. Now one line, no session and no output."""
    import numpy as np
    import soundfile as sf
    rec, other = tmp_path / "rec.wav", tmp_path / "other.wav"
    rec.write_bytes(short_wav.read_bytes())
    a, sr = sf.read(short_wav, dtype="int16")
    sf.write(other, np.ascontiguousarray(a[::-1]), sr, subtype="PCM_16")
    _analysis_then(monkeypatch, lambda: os.replace(other, rec))
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", rec, "--save", "--store", store, "--json", tmp_path / "o.json", "--quiet",
                           "--no-progress")
    assert rc == 2 and err == (f"prosody: error: {rec} was replaced while it was being analysed (another file "
                               "renamed or copied over it): the figures are of the file it was, which that name no "
                               "longer holds; nothing was written: analyse it again once nothing writes to it\n"), err
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0
    assert not (tmp_path / "o.json").exists()


def test_a_recording_appended_to_while_it_is_analysed_is_said(tmp_path, short_wav, monkeypatch):
    """A recorder still appending (same file, more bytes): the analysis of what was read is kept, said."""
    rec = tmp_path / "rec.wav"
    rec.write_bytes(short_wav.read_bytes())
    size = rec.stat().st_size

    def append():
        with open(rec, "ab") as f:
            f.write(b"\x00" * 64000)
    _analysis_then(monkeypatch, append)
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", rec, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    from prosody.store.db import Store
    with Store(store) as st:
        warnings = st.get(1).doc["warnings"]
    said = f"{rec} was written to while it was being analysed, from {size} to {size + 64000} bytes"
    assert any(w.startswith(said) and "the figures are of the 8.00 s read" in w for w in warnings), warnings


def test_a_batch_recording_written_to_after_its_hash_is_not_saved_under_that_hash(tmp_path, short_wav, monkeypatch):
    """A recorder appending to a file of a batch between its hash (the ledger's 'done' key, the session's
    recording) and its analysis. Before: saved under the hash of bytes it no longer holds; the same command
    run again found a new hash and analysed it into a second session of the one recording. Now the file
    fails (said), nothing saved; run again once it is finished, it is one session."""
    from prosody.batch import runner
    folder = tmp_path / "in"
    folder.mkdir()
    rec = folder / "rec.wav"
    rec.write_bytes(short_wav.read_bytes())
    real = runner.Ledger.cached_sha256

    def cached_sha256(self, path):
        digest = real(self, path)
        with open(path, "ab") as f:  # the recorder writes on
            f.write(b"\x00" * 32000)
        return digest
    monkeypatch.setattr(runner.Ledger, "cached_sha256", cached_sha256)
    store, table = tmp_path / "store", tmp_path / "t"
    rc, out, err = run_cli("batch", folder, "--jobs", "1", "--store", store, "--table", table, "--no-progress")
    assert rc == 1, (out, err)
    assert (f"{rec}: {rec} was written to while it was being analysed (a recording still being made?); not saved: "
            "run the same command again once nothing writes to it") in out, out
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0
    monkeypatch.undo()
    rc, out, err = run_cli("batch", folder, "--jobs", "1", "--store", store, "--table", table, "--no-progress")
    assert rc == 0, err
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 1


@pytest.mark.parametrize("to_group", [False, True], ids=["parent", "group"])
def test_sighup_stops_a_batch_as_sigterm_does(tmp_path, fixture_dialogue, to_group):
    """The terminal a batch runs in is closed (SIGHUP: to the parent, or to the whole process group, workers
    included). Before: killed on the spot (exit -1), nothing said. Now it stops as on SIGTERM: how many
    finished, how to continue, exit 129, every finished file saved whole, no worker left."""
    import time
    import numpy as np
    import soundfile as sf
    audio, _ = fixture_dialogue
    src = tmp_path / "in"
    src.mkdir()
    long = np.concatenate([audio, audio])
    for i in range(8):
        sf.write(src / f"s{i}.wav", np.roll(long, i * 16000, axis=0), 16000, subtype="PCM_16")
    store = tmp_path / "st"
    cmd = [sys.executable, "-m", "prosody_cli.main", "batch", str(src), "--jobs", "2", "--store", str(store),
           "--table", str(tmp_path / "t"), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:  # the two workers started
            kids = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
            if len(kids) - 1 >= 3:
                break
            time.sleep(0.02)
        time.sleep(1.0)
        assert proc.poll() is None, "the batch finished before it could be stopped"
        (os.killpg if to_group else os.kill)(proc.pid, signal.SIGHUP)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 129, (proc.returncode, err)
    assert "prosody: error: stopped by SIGHUP; " in err and "run the same command again" in err, err
    assert "Traceback" not in err, err
    n = count_rows(store / "sessions.db", "SELECT count(*) FROM sessions")
    named, files = _stored_frames(store)
    assert len(named) == n and files == named, (n, named, files)
    assert_group_gone(proc.pid)  # every worker is gone


SIGNAL_AFTER_FIRST_RENAME = r"""
import os, signal, sys
from prosody import fileio
real, calls = fileio.sync_folder, []
def sync_folder(folder):
    real(folder)
    calls.append(folder)
    if len(calls) == 1:  # the export's JSON is in place; its frames file not yet
        os.kill(os.getpid(), getattr(signal, os.environ["H12_SIGNAL"]))
fileio.sync_folder = sync_folder
from prosody_cli.main import main
sys.exit(main())
"""


@pytest.mark.parametrize("how,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_between_an_exports_json_and_its_frames_leaves_both(store_of_one, tmp_path, how, code):
    """Before: the JSON was in place and its frames file discarded (Ctrl-C: 'interrupted'; SIGTERM: killed with
    the frames' temporary left): a JSON naming a frames file that is not there, imported as a session without
    its frames. Now both are written, said, then the signal's line."""
    out_json = tmp_path / "x" / "s.json"
    out_json.parent.mkdir()
    r = subprocess.run([sys.executable, "-c", SIGNAL_AFTER_FIRST_RENAME, "export", "1", "--store", str(store_of_one),
                        "-o", str(out_json)], capture_output=True, text=True, cwd=REPO, timeout=300,
                       env={**os.environ, "H12_SIGNAL": how, "PYTHONPATH": str(REPO)})
    assert r.returncode == code, (r.returncode, r.stderr)
    frames = out_json.with_name("s.frames.npz")
    what = "interrupted" if how == "SIGINT" else f"stopped by {how}"
    assert r.stderr.splitlines() == [f"prosody: exported session 1 to {out_json}, {frames}",
                                     f"prosody: error: {what}; session 1 was exported first"], r.stderr
    assert sorted(os.listdir(out_json.parent)) == ["s.frames.npz", "s.json"]


@pytest.mark.parametrize("command,name", [("report", "r.html"), ("export", "e.json")])
def test_an_output_folder_removed_during_the_run_is_said_of_the_output(store_of_one, tmp_path, monkeypatch, command,
                                                                       name):
    """The folder of ``-o`` removed after the outputs were checked. Before: `cannot access
    DIR/.r.html.naw7wq4b.tmp: No such file or directory`, a temporary name never asked for. Now the output's."""
    import shutil
    from prosody import fileio
    import prosody.formats.export as ex
    folder = tmp_path / "out"
    folder.mkdir()
    real = fileio.stage_private

    def stage(path, *a, **k):
        shutil.rmtree(folder, ignore_errors=True)
        return real(path, *a, **k)
    monkeypatch.setattr(fileio, "stage_private", stage)
    monkeypatch.setattr(ex, "stage_private", stage)
    rc, out, err = run_cli(command, "1", "--store", store_of_one, "-o", folder / name)
    shown = folder / ("e.frames.npz" if command == "export" else name)  # export stages the frames file first
    assert rc == 1 and err == f"prosody: error: cannot access {shown}: No such file or directory\n", err
    assert not folder.exists()


def test_sigterm_after_a_note_or_an_enrol_commit_says_it_was_made(store_of_one):
    """Before: killed silently after the commit (exit -15), the note or the profile stored and unsaid."""
    rc, out, err = _signalled("commit", "SIGTERM", "note", "1", "--at", "0:02", "--store", store_of_one, "n-Wqxz")
    assert rc == 143 and out == "session 1: note at 0:02\n", (rc, out, err)
    assert err == "prosody: error: stopped by SIGTERM; the note was added to session 1 first\n", err
    assert count_rows(store_of_one / "sessions.db", "SELECT count(*) FROM notes WHERE text = 'n-Wqxz'") == 1
    rc, out, err = _signalled("commit", "SIGTERM", "enrol", "--from-session", "1", "--therapist", "Ann", "--store",
                              store_of_one)
    assert rc == 143 and out.startswith("enrolled Ann: "), (rc, out, err)
    assert err.splitlines()[-1] == "prosody: error: stopped by SIGTERM; the voice profile Ann was saved first", err
    assert count_rows(store_of_one / "sessions.db", "SELECT count(*) FROM voice_profiles WHERE name = 'Ann'") == 1


def test_a_recording_cut_short_while_it_is_analysed_is_refused(tmp_path, short_wav, monkeypatch):
    """Truncated in place once the analysis had read it all. Before: saved, figures of 8 s over a
    recording whose size and hash were the cut file's. Now one line, no session."""
    rec = tmp_path / "rec.wav"
    rec.write_bytes(short_wav.read_bytes())
    size = rec.stat().st_size
    _analysis_then(monkeypatch, lambda: os.truncate(rec, 100044))
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", rec, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 2 and err == (f"prosody: error: {rec} was cut short while it was being analysed, from {size} to "
                               "100044 bytes: what was read may no longer be in it; nothing was written: analyse it "
                               "again once nothing writes to it\n"), err
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0


# a child prosody that runs another prosody command (H12_OTHER) just before it first reads a frames file: after it
# read the session's row and document
OTHER_BEFORE_FRAMES = r"""
import json, os, subprocess, sys
from prosody.store import db as store_db
real, done = store_db.read_frames_npz, []
def read_frames_npz(*a, **k):
    if not done:
        done.append(1)
        r = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                            *json.loads(os.environ["H12_OTHER"])], capture_output=True, text=True)
        sys.stderr.write(f"other: {r.returncode}\n")
    return real(*a, **k)
store_db.read_frames_npz = read_frames_npz
from prosody_cli.main import main
sys.exit(main())
"""


def _with_other_before_frames(store: Path, other: list, *argv) -> tuple[int, str, str]:
    import json
    r = subprocess.run([sys.executable, "-c", OTHER_BEFORE_FRAMES, *map(str, argv)], capture_output=True, text=True,
                       cwd=REPO, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO),
                                                   "H12_OTHER": json.dumps([*map(str, other), "--store", str(store)])})
    return r.returncode, r.stdout, r.stderr


def test_an_export_during_a_relabel_is_of_one_state_of_the_session(store_of_one, tmp_path):
    """A relabel committed between the export's read of the document and of the frames. Before: the document
    as before the relabel with the frames of after it (planted before the session's frames call: the doc said
    the therapist's median pitch 178.1 Hz, the frames' therapist 97.7 Hz; planted here, at the frames file:
    'cannot read frames file ...: No such file or directory', the relabel having removed the file read).
    Now both of one state: the frames file renamed away is read again with its row and document."""
    import json
    import numpy as np
    out_json = tmp_path / "s.json"
    rc, out, err = _with_other_before_frames(store_of_one, ["relabel", "1"], "export", "1", "--store", store_of_one,
                                             "-o", out_json)
    assert rc == 0 and err.splitlines()[0] == "other: 0", (rc, err)
    doc = json.loads(out_json.read_text())
    assert any("relabelled" in w for w in doc["warnings"]), doc["warnings"]  # the state after the relabel
    with np.load(tmp_path / "s.frames.npz") as z:
        for i, who in enumerate(doc["speaker_order"]):
            median = float(np.nanmedian(z[f"s{i}_f0_hz"]))
            assert abs(median - doc["speakers"][who]["f0_median_hz"]) < 1.0, (who, median, doc["speakers"][who])


def test_a_report_of_a_session_deleted_while_it_is_read_says_so(store_of_one, tmp_path):
    """Before: 'cannot read frames file ...: No such file or directory', as if the store were damaged."""
    rc, out, err = _with_other_before_frames(store_of_one, ["delete", "1"], "report", "1", "--store", store_of_one,
                                             "-o", tmp_path / "r.html")
    assert rc == 2 and err.splitlines()[1:] == [f"prosody: error: session 1 was deleted from {store_of_one} while "
                                                "this command read it"], (rc, err)
    assert not (tmp_path / "r.html").exists()


def _as_from_a_terminal() -> None:
    """Ctrl-C's default, as a shell gives a program run from a terminal: a test run started in the background
    of a non-interactive shell inherits SIGINT ignored, and a program started so rightly never hears it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


HALF_MADE_THEN_SIGNAL = r"""
import os, signal, sys
import prosody.formats.export as ex
class HalfMade:  # as a ZipFile whose constructor a signal cut short: its __del__ fails on what was never set
    def __del__(self):
        self._writing
def read_export(*a, **k):
    half = HalfMade()
    os.kill(os.getpid(), getattr(signal, os.environ["H12_SIGNAL"]))
    return half
ex.read_export = read_export
import prosody_cli.sessions as cs
cs.read_export = read_export
from prosody_cli.main import main
sys.exit(main())
"""


@pytest.mark.parametrize("how,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interruption_says_one_line_without_the_half_made_objects_tracebacks(tmp_path, how, code):
    """A signal inside np.load's ZipFile constructor (an import at 0.3 s): after 'stopped by SIGTERM' came
    'Exception ignored in: <function ZipFile.__del__ ...>', a traceback and 'AttributeError: 'ZipFile' object
    has no attribute '_writing'' (Ctrl-C alike). Now the one line alone."""
    (tmp_path / "s.json").write_text("{}")
    r = subprocess.run([sys.executable, "-c", HALF_MADE_THEN_SIGNAL, "import", str(tmp_path / "s.json"), "--store",
                        str(tmp_path / "store")], capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, "H12_SIGNAL": how, "PYTHONPATH": str(REPO)}, preexec_fn=_as_from_a_terminal)
    what = "interrupted" if how == "SIGINT" else f"stopped by {how}"
    assert r.returncode == code and r.stderr == f"prosody: error: {what}\n", (r.returncode, r.stderr)


# the installed `prosody` script, with a signal sent to itself while its modules are imported (the console
# script's name matters: only the program itself holds the signals)
PROSODY_SCRIPT = r"""
import importlib.abc, os, signal, sys
class SignalOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "prosody_cli.batch":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), getattr(signal, os.environ["H12_SIGNAL"]))
        return None
sys.meta_path.insert(0, SignalOnImport())
from prosody_cli.main import main
if __name__ == '__main__':
    sys.argv[0] = sys.argv[0].removesuffix('.exe')
    sys.exit(main())
"""


@pytest.mark.parametrize("how,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_while_the_program_starts_is_one_line(tmp_path, how, code):
    """Ctrl-C in the first third of a second (while prosody's modules are imported). Before: Python's traceback
    of the import (once, an abort: 'terminate called after throwing an instance of nanobind::python_error');
    SIGTERM: killed, silently. Now the program holds them until main has set its handlers: one line."""
    script = tmp_path / "prosody"
    script.write_text(PROSODY_SCRIPT)
    r = subprocess.run([sys.executable, str(script), "sessions", "--store", str(tmp_path / "st")], capture_output=True,
                       text=True, cwd=tmp_path, timeout=120, env={**os.environ, "H12_SIGNAL": how,
                                                                   "PYTHONPATH": str(REPO)},
                       preexec_fn=_as_from_a_terminal)
    what = "interrupted" if how == "SIGINT" else f"stopped by {how}"
    assert r.returncode == code and r.stderr == f"prosody: error: {what}\n", (r.returncode, r.stderr)
    assert not (tmp_path / "st").exists()


FIFO_AFTER_ANALYSIS = r"""
import os, sys
import prosody.speaker_channels as sc
real = sc.analyze_recording
def analyze_recording(*a, **k):
    got = real(*a, **k)
    os.unlink(os.environ["H12_REC"])  # the recording replaced by a FIFO (the inode number may be reused)
    os.mkfifo(os.environ["H12_REC"])
    return got
sc.analyze_recording = analyze_recording
from prosody_cli.main import main
sys.exit(main())
"""


def test_a_recording_replaced_by_a_fifo_while_it_is_analysed_does_not_hang(tmp_path, short_wav):
    """Before: the session's recording was hashed from its path after the analysis: a FIFO there was opened
    for reading and prosody waited for a writer for ever (killed at 30 s). Now one line, nothing saved."""
    rec = tmp_path / "rec.wav"
    rec.write_bytes(short_wav.read_bytes())
    store = tmp_path / "store"
    try:
        r = subprocess.run([sys.executable, "-c", FIFO_AFTER_ANALYSIS, "analyze", str(rec), "--save", "--store",
                            str(store), "--quiet", "--no-progress"], capture_output=True, text=True, cwd=REPO,
                           timeout=60, env={**os.environ, "H12_REC": str(rec), "PYTHONPATH": str(REPO)})
    except subprocess.TimeoutExpired:
        pytest.fail("prosody waited for ever on the FIFO that replaced the recording")
    assert r.returncode == 2 and r.stderr == (
        f"prosody: error: {rec} was replaced while it was being analysed (it is a FIFO (named pipe) now): the "
        "figures are of the file it was, which that name no longer holds; nothing was written: analyse it again "
        "once nothing writes to it\n"), r.stderr
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0


# a child prosody whose Store method H12_METHOD first runs another prosody command (H12_OTHER)
OTHER_BEFORE_METHOD = r"""
import json, os, subprocess, sys
from prosody.store import db as store_db
name, done = os.environ["H12_METHOD"], []
real = getattr(store_db.Store, name)
def method(self, *a, **k):
    if not done:  # once, at the first call
        done.append(1)
        r = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                            *json.loads(os.environ["H12_OTHER"])], capture_output=True, text=True)
        sys.stderr.write(f"other: {r.returncode}\n")
    return real(self, *a, **k)
setattr(store_db.Store, name, method)
from prosody_cli.main import main
sys.exit(main())
"""


@pytest.mark.parametrize("method,argv,what", [
    ("save_profile", ("enrol", "--from-session", "1", "--therapist", "Ann"), "the voice profile was not saved"),
    ("_tx", ("note", "1", "--at", "0:02", "n-Wqxz"), "nothing was written"),
    ("_tx", ("feedback", "1", "--rating", "4"), "nothing was written"),
    ("_tx", ("edit", "1", "--client", "Z"), "nothing was written"),  # before: internal error (TypeError)
    ("_tx", ("edit", "1", "--tag", "t"), "nothing was written"),
])
def test_a_change_to_a_session_deleted_meanwhile_is_not_called_damage(store_of_one, method, argv, what):
    """`delete 1` committed while `enrol --from-session 1` built the profile (the seconds it reads the session's
    frames), or in the moment between `note 1` / `feedback 1` / `edit 1` finding the session and writing to it
    (`edit --client`: 'internal error (TypeError ...)'; `edit --notes`: 'no session 1', already). Before:
    'the session store database ... is damaged (FOREIGN KEY constraint failed); recover what it holds with
    sqlite3 ... .recover ...' (exit 1): a sound store said damaged, and a repair advised. Now the session is
    said deleted meanwhile, nothing written (exit 2)."""
    import json
    r = subprocess.run([sys.executable, "-c", OTHER_BEFORE_METHOD, *argv, "--store", str(store_of_one)],
                       capture_output=True, text=True, cwd=REPO, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(REPO), "H12_METHOD": method,
                            "H12_OTHER": json.dumps(["delete", "1", "--store", str(store_of_one)])})
    assert r.stderr.splitlines()[0] == "other: 0", r.stderr
    assert r.returncode == 2 and r.stderr.splitlines()[1:] == [
        f"prosody: error: session 1 was deleted from {store_of_one} while this command ran; {what}"], r.stderr
    db = store_of_one / "sessions.db"
    assert count_rows(db, "SELECT count(*) FROM voice_profiles") + count_rows(db, "SELECT count(*) FROM notes") \
        + count_rows(db, "SELECT count(*) FROM feedback") + count_rows(db, "SELECT count(*) FROM tags") == 0
    assert count_rows(db, "PRAGMA integrity_check") == "ok"


# a child prosody that runs another prosody command (H12_OTHER) right after its first read of the store's metrics
OTHER_AFTER_METRICS = r"""
import json, os, subprocess, sys, time
from prosody.store import db as store_db
real, done = store_db.Store.metrics, []
def metrics(self, *a, **k):
    m = real(self, *a, **k)
    if not done:
        done.append(1)
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                            *json.loads(os.environ["H12_OTHER"])], capture_output=True, text=True)
        sys.stderr.write(f"other: {r.returncode} {r.stderr.strip()!r} in {time.monotonic() - t0:.1f} s\n")
    return m
store_db.Store.metrics = metrics
from prosody_cli.main import main
sys.exit(main())
"""


@pytest.mark.parametrize("argv", [("compare", "1"), ("trend", "--therapist", "T1")])
def test_compare_and_trend_read_one_state_of_the_store(tmp_path, short_wav, argv):
    """A session deleted between compare's (trend's) read of the metrics and of the documents. Before: `no
    session '1'`, exit 2, for a session the first reads had found. Now all of one snapshot: the session as it
    was when the command began; the delete is not refused, and finishes when the read ends."""
    import json
    store = tmp_path / "store"
    rc, out, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                           "--therapist", "T1", "--client", "C1")
    assert rc == 0, err
    r = subprocess.run([sys.executable, "-c", OTHER_AFTER_METRICS, *argv, "--store", str(store)], capture_output=True,
                       text=True, cwd=REPO, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(REPO), "H12_OTHER": json.dumps(["delete", "1",
                                                                                            "--store", str(store)])})
    assert r.returncode == 0 and r.stderr.startswith("other: 0 "), (r.returncode, r.stderr)
    assert "error" not in r.stderr, r.stderr
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0  # the delete was made
    # session 1 as it was (its client, its talk share)
    assert "C1" in r.stdout and ("75 %" in r.stdout or "75%" in r.stdout), r.stdout


# -- files that change under `enrol FILE` and `live --input` (the check of analyze and batch, reused) ----------

def _read_then(monkeypatch, module, name, act):
    """``module.name`` that runs ``act()`` once it has read its file (a writer meanwhile)."""
    real = getattr(module, name)

    def read(*a, **k):
        got = real(*a, **k)
        act()
        return got
    monkeypatch.setattr(module, name, read)


@pytest.fixture
def therapist_wavs(tmp_path, fixture_dialogue):
    """The fixture's therapist channel (40 s) and client channel as mono WAVs."""
    import soundfile as sf
    audio, _ = fixture_dialogue
    ther, client = tmp_path / "ther.wav", tmp_path / "client.wav"
    sf.write(ther, audio[:, 0], 16000, subtype="PCM_16")
    sf.write(client, audio[:, 1], 16000, subtype="PCM_16")
    return ther, client


def test_an_enrol_recording_replaced_while_it_is_read_saves_no_profile(tmp_path, therapist_wavs, monkeypatch):
    """Another voice's file renamed over the recording while enrol read it. Before: the profile of the file it
    read saved as `recording ther.wav`, which now holds another voice. Now one line, no profile."""
    # enrol reads through recording_channels (hostile sweep 55; it was recording_mix)
    import prosody.enrol as en
    ther, client = therapist_wavs
    _read_then(monkeypatch, en, "recording_channels", lambda: os.replace(client, ther))
    store = tmp_path / "store"
    rc, out, err = run_cli("enrol", ther, "--therapist", "Ann", "--store", store)
    assert rc == 2 and err == (f"prosody: error: {ther} was replaced while it was being read (another file renamed "
                               "or copied over it): what was read is of the file it was, which that name no longer "
                               "holds; no voice profile was saved: enrol it again once nothing writes to it\n"), err
    assert not (store / "sessions.db").exists() or count_rows(store / "sessions.db",
                                                              "SELECT count(*) FROM voice_profiles") == 0


def test_an_enrol_recording_appended_to_while_it_is_read_is_said(tmp_path, therapist_wavs, monkeypatch):
    """A recorder still appending: the profile of what was read is saved, and said as such."""
    import prosody.enrol as en
    ther, _ = therapist_wavs
    size = ther.stat().st_size

    def append():
        with open(ther, "ab") as f:
            f.write(b"\x00" * 64000)
    _read_then(monkeypatch, en, "recording_channels", append)
    store = tmp_path / "store"
    rc, out, err = run_cli("enrol", ther, "--therapist", "Ann", "--store", store)
    assert rc == 0, err
    lines = err.splitlines()
    assert lines[0].startswith(f"prosody: warning: {ther} was written to while it was being read, from {size} to "
                               f"{size + 64000} bytes (a recording still being made?): the profile is of the "), err
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM voice_profiles") == 1


@pytest.mark.parametrize("how", ["replace", "append"])
def test_a_live_replay_of_a_file_changed_meanwhile_says_so(tmp_path, therapist_wavs, short_wav, monkeypatch, how):
    """`live --input` of a file replaced (or appended to) while it was replayed. Before: saved without a word,
    its `sources` naming a file that holds other audio. Now the saved session's warnings and stderr say it; a
    file replaced is an error (exit 1), one appended to a warning (exit 0)."""
    import json
    from prosody.engine import sources as src
    rec = tmp_path / "rec.wav"
    rec.write_bytes(short_wav.read_bytes())
    size = rec.stat().st_size

    def act():
        if how == "replace":
            os.replace(therapist_wavs[0], rec)
        else:
            with open(rec, "ab") as f:
                f.write(b"\x00" * 64000)
    real_iter, done = src.FileSource.__iter__, []

    def iterate(self):
        for blk in real_iter(self):
            yield blk
            if not done and [str(f.path) for f in self.files] == [str(rec)]:
                done.append(1)
                act()
    monkeypatch.setattr(src.FileSource, "__iter__", iterate)
    out_json = tmp_path / "live.json"
    rc, out, err = run_cli("live", "--input", rec, "--speed", "max", "--plain", "--output", out_json)
    said = (f"{rec} was replaced while it was being replayed (another file renamed or copied over it): the figures "
            "are of the file it was, which that name no longer holds" if how == "replace" else
            f"{rec} was written to while it was being replayed, from {size} to {size + 64000} bytes (a recording "
            "still being made?)")
    kind = "error" if how == "replace" else "warning"
    assert rc == (1 if how == "replace" else 0), (rc, err)
    assert f"prosody: {kind}: {said}; the session saved is of what was read: replay it again once nothing writes " \
           "to it\n" in err, err
    doc = json.loads(out_json.read_text())
    assert any(w.startswith(said) for w in doc["warnings"]), doc["warnings"]
    assert doc["live"]["analysed_s"] == pytest.approx(8.0, abs=0.02)
