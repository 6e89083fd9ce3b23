"""Hostile sweep 40 (docs/store.md "Hostile sweep 40"): sweep 39's leftovers, then fresh hostile inputs.

1. `analyze s.wav --json s.json` run again needed --overwrite: an earlier analysis of the same audio is now
   written again (its `audio.files` hashes), another recording's analysis still refused; `analyze --eaf` the same
   (its header's `prosody.audio_sha256` properties).
2. An `analyze` output whose path was taken by a file made during the analysis was not written: without --save the
   analysis was lost. Now it is written beside, as NAME.kept-1.SUFFIX, said in the error line.
3. An EAF export of the same session needed --overwrite: its header now names the session (`prosody.session_uid`).
4. `Store.same_audio` scanned every stored document's text: now one indexed look-up (schema 6, `audio_hashes`,
   filled from the stored documents when an older store is opened).
5. An output of a 255-byte name (legal) failed after the work ("File name too long"), its temporary's name too
   long; one of 256 bytes was "cannot access ...", exit 1.
6. Where the file system makes no hard links (vfat), an output's file made meanwhile was replaced by the rename.
7. A read-only home: "cannot open HOME/.local/share/prosody: Permission denied", not saying how to store elsewhere.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
QUIET = ("--quiet", "--no-progress")


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- 1. analyze run again onto its own earlier output ------------------------------------------------------------------

def test_analyze_json_run_again_on_the_same_audio_is_written_again(tmp_path):
    """Before: the second run was "cannot write --json s.json: it is a saved session ... add --overwrite", exit 2.
    Now the same command, and the same recording under another name, write it again; another recording's analysis
    is still refused, the file unchanged."""
    copy = tmp_path / "copy.flac"
    shutil.copyfile(FIXTURES / "dialogue.flac", copy)
    s = tmp_path / "s.json"
    for audio in (FIXTURES / "dialogue.flac", FIXTURES / "dialogue.flac", copy):
        rc, out, err = run_cli("analyze", audio, "--json", s, *QUIET)
        assert rc == 0, err
        assert json.loads(s.read_text())["audio"]["files"][0]["path"] == str(audio.resolve())
    before = s.read_bytes()
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", s, *QUIET)
    one_line_error(rc, err)
    assert "it is a saved session (prosody.session JSON) and would be replaced" in err and s.read_bytes() == before
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", s, "--overwrite", *QUIET)
    assert rc == 0 and json.loads(s.read_text())["audio"]["files"][0]["sha256"] == _sha256(
        FIXTURES / "mono_therapist.wav"), err


def test_an_export_of_the_same_audio_is_not_taken_for_an_earlier_analysis(two_sessions_store, tmp_path):
    """Guard: an export of a stored session (its notes, tags, bookmarks may be kept nowhere else) of the very audio
    analysed is still refused, and so is an analysis of two files onto one of the first file alone."""
    e = tmp_path / "e.json"
    assert run_cli("export", "1", "--store", two_sessions_store, "-o", e)[0] == 0
    before = e.read_bytes()
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--json", e, *QUIET)
    one_line_error(rc, err)
    assert e.read_bytes() == before
    one = tmp_path / "one.json"
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", one, *QUIET)[0] == 0
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", FIXTURES / "mono_therapist.wav", "--json",
                           one, *QUIET)
    one_line_error(rc, err)


def test_analyze_eaf_names_its_audio_and_is_written_again(tmp_path):
    """Before: `analyze --eaf s.eaf` run again was "a file of that name exists", exit 2. Now the EAF's header holds
    the audio's SHA-256 (read by pympi as a property, as ELAN keeps it), and the same run writes it again; another
    recording's EAF is refused."""
    pympi = pytest.importorskip("pympi")
    x = tmp_path / "s.eaf"
    for _ in range(2):
        rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--eaf", x, *QUIET)
        assert rc == 0, err
    assert pympi.Elan.Eaf(str(x)).properties == [("prosody.audio_sha256", _sha256(FIXTURES / "dialogue.flac"))]
    before = x.read_bytes()
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--eaf", x, *QUIET)
    one_line_error(rc, err)
    assert "a file of that name exists" in err and x.read_bytes() == before


# -- 2. an output's path taken during the analysis: the output kept beside it ---------------------------------------

def test_an_analysis_whose_json_path_was_taken_meanwhile_is_kept_beside(tmp_path, monkeypatch):
    """Before: "cannot write s.json: a file of that name was made while this command ran ...; it was not written",
    exit 1, and without --save the analysis was gone. Now it is written beside (s.kept-1.json, then -2), owner-only,
    said in that line; the other file is untouched."""
    import prosody.speaker_channels as sc
    real = sc.analyze_recording
    s = tmp_path / "s.json"

    def meanwhile(*a, **k):
        s.write_text("theirs\n")
        return real(*a, **k)
    monkeypatch.setattr(sc, "analyze_recording", meanwhile)
    for n in (1, 2):
        s.unlink(missing_ok=True)
        rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", s, *QUIET)
        kept = tmp_path / f"s.kept-{n}.json"
        assert rc == 1 and (f"prosody: error: cannot write {s}: a file of that name was made while this command ran "
                            f"(not replaced); this output was written beside it, as {kept}\n") in err, err
        assert s.read_text() == "theirs\n"
        doc = json.loads(kept.read_text())
        assert doc["audio"]["files"][0]["sha256"] == _sha256(FIXTURES / "mono_therapist.wav")
        assert doc["duration_s"] == pytest.approx(7.5, abs=0.01)
        assert kept.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.kept-1.json", "s.kept-2.json"]


def test_an_output_of_a_255_byte_name_taken_meanwhile_is_kept_under_a_name_that_fits(tmp_path, monkeypatch):
    """The name beside a 255-byte one is cut to fit (its stem's end), not "File name too long" (lost again)."""
    import prosody.speaker_channels as sc
    real = sc.analyze_recording
    s = tmp_path / ("a" * 250 + ".json")

    def meanwhile(*a, **k):
        s.write_text("theirs\n")
        return real(*a, **k)
    monkeypatch.setattr(sc, "analyze_recording", meanwhile)
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", s, *QUIET)
    kept = tmp_path / ("a" * 243 + ".kept-1.json")
    assert rc == 1 and f"this output was written beside it, as {kept}\n" in err, err
    assert json.loads(kept.read_text())["audio"]["files"][0]["sha256"] == _sha256(FIXTURES / "mono_therapist.wav")


# -- 3. an EAF export names its session --------------------------------------------------------------------------------

def test_an_eaf_export_of_the_same_session_is_written_again(two_sessions_store, tmp_path):
    """Before: `export 1 --format eaf -o x.eaf` twice was "a file of that name exists", exit 2. Now its header names
    the session's uid, so it is written again; session 2's onto it is refused (guard: sweep 39's rule)."""
    pympi = pytest.importorskip("pympi")
    x = tmp_path / "x.eaf"
    for _ in range(2):
        rc, out, err = run_cli("export", "1", "--store", two_sessions_store, "-o", x)
        assert rc == 0, err
    rc, out, err = run_cli("export", "1", "--store", two_sessions_store, "--format", "json")
    uid = json.loads(out)["prosody_store"]["uid"]
    assert ("prosody.session_uid", uid) in pympi.Elan.Eaf(str(x)).properties
    before = x.read_bytes()
    rc, out, err = run_cli("export", "2", "--store", two_sessions_store, "-o", x)
    one_line_error(rc, err)
    assert x.read_bytes() == before
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--eaf", x, *QUIET)  # an export: not an analysis
    one_line_error(rc, err)


# -- 4. the same-audio look-up indexed (schema 6) -------------------------------------------------------------------

def test_a_version_5_store_gets_its_audio_hashes_and_the_same_audio_note_still_comes(tmp_path):
    """A store of schema 5 (its documents hold the hashes; no `audio_hashes` table) is migrated: each session's
    hashes filled from its document, looked up by the index; the note of sweep 39 names the same sessions."""
    from prosody.store.db import SCHEMA_VERSION, Store
    st = tmp_path / "st"
    for f in ("dialogue.flac", "mono_therapist.wav"):
        assert run_cli("analyze", FIXTURES / f, "--save", "--store", st, *QUIET)[0] == 0
    db = sqlite3.connect(st / "sessions.db", isolation_level=None)
    db.execute("DROP TABLE audio_hashes")  # the schema-5 store, as shipped
    db.execute("PRAGMA user_version = 5")
    db.close()
    with Store(st) as store:
        assert store.schema_version == SCHEMA_VERSION == 6
        rows = store.db.execute("SELECT session_id, position, sha256 FROM audio_hashes ORDER BY session_id").fetchall()
        plan = store.db.execute("EXPLAIN QUERY PLAN SELECT session_id FROM audio_hashes WHERE sha256 = ? AND "
                                "position = 0", ("x",)).fetchall()
    assert rows == [(1, 0, _sha256(FIXTURES / "dialogue.flac")), (2, 0, _sha256(FIXTURES / "mono_therapist.wav"))]
    assert any("audio_hashes_sha256" in str(r) for r in plan), plan
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", st, *QUIET)
    assert rc == 0 and ("prosody: note: the same audio is stored as session 1 too, so it is now stored 2 times "
                        "(`batch` stores a recording once); `prosody delete 3` removes this copy") in err, err


def test_delete_leaves_no_hash_of_the_audio_in_the_store(tmp_path):
    """Privacy guard: a deleted session's audio hash leaves the index too (rows and their pages zeroed)."""
    st = tmp_path / "st"
    for f in ("dialogue.flac", "mono_therapist.wav"):
        assert run_cli("analyze", FIXTURES / f, "--save", "--store", st, *QUIET)[0] == 0
    gone = _sha256(FIXTURES / "mono_therapist.wav")
    assert run_cli("delete", "2", "--store", st)[0] == 0
    data = b"".join(p.read_bytes() for p in st.iterdir() if p.is_file())
    assert gone.encode() not in data and _sha256(FIXTURES / "dialogue.flac").encode() in data


# -- 5. output names of NAME_MAX bytes ----------------------------------------------------------------------------------

def test_an_output_of_a_255_byte_name_is_written(tmp_path):
    """Before: the analysis ran, then "cannot write ...json: File name too long; it was not written", exit 1 (the
    temporary .NAME.RANDOM.tmp was 270 bytes). Now it is written (and written again), nothing staged left."""
    name = "a" * 250 + ".json"
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", tmp_path / name, *QUIET)
    assert rc == 0, err
    assert json.loads((tmp_path / name).read_text())["duration_s"] == pytest.approx(7.5, abs=0.01)
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", tmp_path / name, *QUIET)[0] == 0
    assert os.listdir(tmp_path) == [name]


def test_an_output_name_longer_than_the_file_system_takes_is_refused_before_the_work(tmp_path):
    """Before: "cannot access PATH: File name too long", exit 1. Now said as a name too long, exit 2."""
    name = "c" * 256
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", tmp_path / name, *QUIET)
    one_line_error(rc, err)
    assert err.endswith("its name is 256 bytes long, more than the 255 a file name may have there; choose a "
                        "shorter name\n"), err


def test_a_staged_write_of_a_255_byte_name_killed_before_is_swept(tmp_path):
    """The temporary of a long name, cut to fit, is still found by the sweep of a killed write's leftovers."""
    from prosody.fileio import sweep_staged, write_private
    name = "é" * 120 + ".json"  # 245 bytes: its temporary's name cut inside a two-byte character
    path = tmp_path / name
    write_private(path, "x")
    left = [p for p in os.listdir(tmp_path) if p != name]
    assert left == []
    from prosody.fileio import stage_private
    tmp = stage_private(path, "y")
    os.utime(tmp, (0, 0))
    assert len(os.fsencode(tmp.name)) <= 255
    assert sweep_staged(tmp_path, names=(name,)) == [tmp.name] and os.listdir(tmp_path) == [name]


# -- 6. a file system without hard links -------------------------------------------------------------------------------

def test_without_hard_links_a_file_made_meanwhile_is_not_replaced(tmp_path, monkeypatch):
    """vfat makes no hard links (EPERM), so a new output was put in place by a rename, which replaced a file made
    at its path meanwhile without a word. Now the name is taken by an exclusive create first: refused, the other
    file whole; where none is there the output is written, owner-only, nothing else left."""
    from prosody.fileio import write_private

    def no_links(*a, **k):
        raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", no_links)
    theirs = tmp_path / "x.rttm"
    theirs.write_text("theirs\n")
    with pytest.raises(FileExistsError) as exc:
        write_private(theirs, "ours\n", new_only=True)
    assert exc.value.filename == str(theirs) and "was made while this command ran" in str(exc.value)
    assert theirs.read_text() == "theirs\n" and os.listdir(tmp_path) == ["x.rttm"]
    ours = tmp_path / "y.rttm"
    write_private(ours, "ours\n", new_only=True)
    assert ours.read_text() == "ours\n" and ours.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["x.rttm", "y.rttm"]


def _failing_rename(monkeypatch, meanwhile=None):
    """``os.replace`` made to fail (a full disk), after ``meanwhile`` runs on its destination; hard links made to
    fail as vfat's do."""
    def no_links(*a, **k):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    def full(src, dst, *a, **k):
        if meanwhile is not None:
            meanwhile(Path(dst))
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))
    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(os, "replace", full)


def test_without_hard_links_a_failed_write_says_its_own_error_and_keeps_a_file_made_meanwhile(tmp_path, monkeypatch):
    """The review of sweep 40: where the rename after the exclusive create failed, the empty file that took the name
    was unlinked unconditionally: a file put there meanwhile (the placeholder replaced) was removed, and a name gone
    already raised FileNotFoundError over the write's own error. Now the write's error is what is raised, the
    placeholder goes, and another's file stays whole."""
    from prosody.fileio import write_private
    ours = tmp_path / "y.rttm"
    _failing_rename(monkeypatch)
    with pytest.raises(OSError) as exc:
        write_private(ours, "ours\n", new_only=True)
    assert exc.value.errno == errno.ENOSPC and os.listdir(tmp_path) == []

    def theirs_meanwhile(dst: Path):
        dst.unlink()
        dst.write_text("theirs\n")
    _failing_rename(monkeypatch, theirs_meanwhile)
    with pytest.raises(OSError) as exc:
        write_private(ours, "ours\n", new_only=True)
    assert exc.value.errno == errno.ENOSPC and ours.read_text() == "theirs\n" and os.listdir(tmp_path) == ["y.rttm"]

    _failing_rename(monkeypatch, lambda dst: dst.unlink())
    with pytest.raises(OSError) as exc:
        write_private(ours.with_name("z.rttm"), "ours\n", new_only=True)
    assert exc.value.errno == errno.ENOSPC


# -- 7. a read-only home, for a user whose file permissions count -----------------------------------------------------

def test_a_read_only_home_says_how_to_choose_another_store(tmp_path):
    """Before: "cannot open HOME/.local/share/prosody: Permission denied", nothing saying what to do. Now it says it
    is the default store's folder and names --store and $PROSODY_STORE; before any analysis, exit 1. Run as root
    without the capability to pass file permissions (`setpriv`), so a folder of mode 555 is read-only to it."""
    import subprocess
    import sys
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop CAP_DAC_OVERRIDE")
    home = tmp_path / "home"
    home.mkdir(mode=0o555)
    env = {k: v for k, v in os.environ.items() if k not in ("PROSODY_STORE", "XDG_DATA_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    r = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", sys.executable, "-m",
                        "cli.main", "analyze", str(FIXTURES / "mono_therapist.wav"), "--save", *QUIET],
                       env=env, capture_output=True, text=True, timeout=120)
    one_line_error(r.returncode, r.stderr, code=1)
    assert r.stderr == (f"prosody: error: cannot open {home}/.local/share/prosody: Permission denied (the default "
                        "store's folder; give --store or $PROSODY_STORE a folder you can write)\n"), r.stderr
    assert os.listdir(home) == []
