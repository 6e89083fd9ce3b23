"""Hostile sweep 41 (docs/store.md "Hostile sweep 41"): sweep 40's leftovers, then fresh hostile inputs.

1. `analyze X --rttm F` (and `--frames`, `--textgrid`, `--save-baseline`) run again, and `export --format
   csv|rttm|textgrid` run again, needed --overwrite: nothing in those formats may say whose they are. Each file
   prosody writes now carries, outside its bytes (an extended attribute, `fileio.mark_output`), what it was
   written from (the audio's SHA-256, or the exported session's uid) and the SHA-256 of what was written: a file
   still holding exactly that is prosody's own untouched output, written again for the same audio or session;
   another recording's or session's, or one changed since, is refused as before.
2. `live`'s sweep of a killed save's temporaries (by suffix) did not find one whose name was cut to fit 255 bytes.
3. A client named ZWJ alone, a tag of ZWNJ, a therapist of a deprecated format character, a supervisor's note of one
   bidi override or isolate were stored, listed as nothing: now refused as sweeps 6 and 37 refuse zero-width spaces
   and bidi marks alone (`types.shows_nothing`: white space, format characters and controls only).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
QUIET = ("--quiet", "--no-progress")
SIDE_OUTPUTS = (("--rttm", "s.rttm"), ("--frames", "s.csv"), ("--textgrid", "s.TextGrid"),
                ("--save-baseline", "b.json"))


def _keeps_attributes(folder: Path) -> None:
    """Skip where ``folder``'s file system keeps no user attributes (vfat, older tmpfs): there a rerun needs
    --overwrite by design (the last guard below), and the tests of "written again" have nothing to read."""
    probe = folder / ".xattr-probe"
    probe.touch()
    try:
        os.setxattr(probe, "user.prosody.probe", b"1")
    except (OSError, AttributeError) as exc:
        pytest.skip(f"{folder}'s file system keeps no user attributes ({exc}): written-again is not tried there")
    finally:
        probe.unlink()


def _side_outputs(folder: Path) -> list[str]:
    return [str(a) for opt, name in SIDE_OUTPUTS for a in (opt, folder / name)]


# -- 1. analyze and export run again onto their own earlier outputs ---------------------------------------------------

def test_analyze_side_outputs_run_again_on_the_same_audio_are_written_again(tmp_path):
    """Before: the second run was "cannot write --rttm s.rttm: a file of that name exists and would be replaced;
    ... add --overwrite", exit 2. Now the same command, and the same recording under another name, write each again
    (the files hold the same analysis)."""
    _keeps_attributes(tmp_path)
    copy = tmp_path / "copy.flac"
    shutil.copyfile(FIXTURES / "dialogue.flac", copy)
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", *_side_outputs(tmp_path), *QUIET)
    assert rc == 0, err
    first = {name: (tmp_path / name).read_bytes() for _, name in SIDE_OUTPUTS}
    for audio in (FIXTURES / "dialogue.flac", copy):
        rc, out, err = run_cli("analyze", audio, *_side_outputs(tmp_path), *QUIET)
        assert rc == 0 and err == "", err
    again = {name: (tmp_path / name).read_bytes() for _, name in SIDE_OUTPUTS}
    assert again["s.TextGrid"] == first["s.TextGrid"] and again["b.json"] == first["b.json"]
    assert again["s.csv"] == first["s.csv"]
    assert again["s.rttm"] == first["s.rttm"].replace(b" dialogue ", b" copy ")  # its file id: the recording's
    assert sorted(os.listdir(tmp_path)) == sorted(["copy.flac", *(name for _, name in SIDE_OUTPUTS)])


@pytest.mark.parametrize("option,name", SIDE_OUTPUTS)
def test_another_recordings_or_a_changed_side_output_is_still_refused(tmp_path, option, name):
    """Guard: another recording's analysis onto them is refused, the file unchanged; so is the same audio's onto
    one changed since it was written (a line added by hand), and one copied (its record does not travel with a
    plain copy)."""
    out_path = tmp_path / name
    assert run_cli("analyze", FIXTURES / "dialogue.flac", option, out_path, *QUIET)[0] == 0
    before = out_path.read_bytes()
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", option, out_path, *QUIET)
    one_line_error(rc, err)
    assert "a file of that name exists and would be replaced" in err and out_path.read_bytes() == before
    with open(out_path, "ab") as f:
        f.write(b"\n")
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", option, out_path, *QUIET)
    one_line_error(rc, err)
    assert out_path.read_bytes() == before + b"\n"
    plain = tmp_path / ("plain" + out_path.suffix)
    shutil.copyfile(FIXTURES / "dialogue.flac", tmp_path / "d.flac")
    assert run_cli("analyze", tmp_path / "d.flac", option, plain, *QUIET)[0] == 0
    copied = tmp_path / ("copied" + out_path.suffix)
    shutil.copyfile(plain, copied)
    rc, out, err = run_cli("analyze", tmp_path / "d.flac", option, copied, *QUIET)
    one_line_error(rc, err)


@pytest.mark.parametrize("fmt", ["csv", "rttm", "textgrid"])
def test_an_export_of_the_same_session_is_written_again(two_sessions_store, tmp_path, fmt):
    """Before: `export 1 --format FMT -o x.FMT` twice was "a file of that name exists and would be replaced",
    exit 2. Now written again; session 2's onto it is refused as before (sweep 39's guard), the file unchanged."""
    _keeps_attributes(tmp_path)
    x = tmp_path / f"x.{fmt}"
    for _ in range(2):
        rc, out, err = run_cli("export", "1", "--store", two_sessions_store, "-o", x)
        assert rc == 0 and err == f"prosody: exported session 1 to {x}\n", err
    before = x.read_bytes()
    rc, out, err = run_cli("export", "2", "--store", two_sessions_store, "-o", x)
    one_line_error(rc, err)
    assert x.read_bytes() == before


def test_a_textgrid_export_is_written_again_with_a_note_added_since(tmp_path):
    """What a user reruns export for: the TextGrid of session 1 re-exported after a supervisor's note holds it."""
    _keeps_attributes(tmp_path)
    store = tmp_path / "store"
    assert run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", store, *QUIET)[0] == 0
    x = tmp_path / "x.TextGrid"
    assert run_cli("export", "1", "--store", store, "-o", x)[0] == 0
    assert "pause here" not in x.read_text()
    rc, out, err = run_cli("note", "1", "pause here", "--at", "5", "--store", store)
    assert rc == 0, err
    rc, out, err = run_cli("export", "1", "--store", store, "-o", x)
    assert rc == 0, err
    assert "pause here" in x.read_text()


def test_an_analysis_output_is_not_taken_for_an_export_nor_an_export_for_an_analysis(two_sessions_store, tmp_path):
    """Guard: the record names what the file was written from: an `analyze --rttm` of the very audio session 1
    holds is not replaced by `export 1`, and an export of session 1 not by `analyze` of its audio."""
    a, e = tmp_path / "a.rttm", tmp_path / "e.rttm"
    assert run_cli("analyze", FIXTURES / "dialogue.flac", "--rttm", a, *QUIET)[0] == 0
    assert run_cli("export", "1", "--store", two_sessions_store, "-o", e)[0] == 0
    rc, out, err = run_cli("export", "1", "--store", two_sessions_store, "-o", a)
    one_line_error(rc, err)
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--rttm", e, *QUIET)
    one_line_error(rc, err)


def test_where_the_file_system_keeps_no_attributes_a_rerun_needs_overwrite_as_before(tmp_path, monkeypatch):
    """Guard: vfat and some network shares keep no user attributes (ENOTSUP): the output is written all the same,
    and written again only with --overwrite."""
    def unsupported(*a, **k):
        raise OSError(errno.ENOTSUP, "Operation not supported")
    monkeypatch.setattr(os, "setxattr", unsupported)
    r = tmp_path / "s.rttm"
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--rttm", r, *QUIET)[0] == 0
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--rttm", r, *QUIET)
    one_line_error(rc, err)
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--rttm", r, "--overwrite", *QUIET)[0] == 0


# -- 2. live's sweep of temporaries finds one whose name was cut ------------------------------------------------------

def test_live_sweeps_a_killed_saves_temporary_whose_name_was_cut(tmp_path):
    """Before: a live save of a 255-byte name killed mid-write left `.aaa...a.RANDOM.tmp` (its name cut to 255
    bytes, the `.json` gone), which the next save's sweep by suffix never matched: the session's words kept for
    good under a hidden name. Now it is removed; a file of that length not owner-only is not."""
    from prosody.fileio import stage_private
    from prosody.live.runner import write_session
    killed = stage_private(tmp_path / ("a" * 250 + ".json"), '{"words": "secret"}')
    assert len(os.fsencode(killed.name)) == 255 and ".json" not in killed.name
    users = tmp_path / ("." + "b" * 241 + ".abcdefgh.tmp")
    users.write_text("the user's")
    os.chmod(users, 0o644)
    for p in (killed, users):
        os.utime(p, (0, 0))
    write_session(tmp_path / "s.json", {"schema": "prosody.session/2"}, b"frames")
    assert sorted(os.listdir(tmp_path)) == sorted(["s.json", "s.frames.npz", users.name])


# -- 3. a name or note of characters no listing shows -----------------------------------------------------------------

@pytest.mark.parametrize("flag,value", [("--client", "\u200d"), ("--tag", "\u200c\u200d"), ("--therapist", "\u206b"),
                                        ("--client", " \u2066\u2069 ")])
def test_a_name_of_joiners_isolates_or_deprecated_format_characters_alone_is_refused(two_sessions_store, flag, value):
    """Before: `edit 1 --client $'\\u200d'` stored a client named ZWJ alone, listed as nothing (sweep 6 refused
    zero-width spaces, bidi marks and tag characters alone, not the joiners, isolates, overrides or the deprecated
    format characters). Now refused in one line, the stored name kept."""
    rc, out, err = run_cli("edit", "1", "--store", two_sessions_store, flag, value)
    one_line_error(rc, err)
    assert "empty but for characters no listing shows" in err
    rc, out, err = run_cli("show", "1", "--store", two_sessions_store)
    assert rc == 0 and "\u200d" not in out and "\\u206b" not in out and "\\u2066" not in out, out


@pytest.mark.parametrize("text", ["\u202e", "\u2066 \u2069", "\u206a", "\u200d"])
def test_a_note_of_an_override_an_isolate_or_a_joiner_alone_is_refused(tmp_path, text):
    """Before: `note 1 $'\\u202e' --at 4` was stored, a note of nothing (`note` refused a zero-width space or a
    bidi mark alone); an export holding it was imported. Now both refuse it; a note with text and an override, and
    a name joined by ZWJ (Devanagari), are kept (guards)."""
    store = tmp_path / "store"
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", store, *QUIET)[0] == 0
    rc, out, err = run_cli("note", "1", text, "--at", "4", "--store", store)
    one_line_error(rc, err)
    assert "a note needs some text" in err
    assert run_cli("note", "1", "\u202eok", "--at", "4", "--store", store)[0] == 0
    assert run_cli("edit", "1", "--store", store, "--client", "\u0915\u094d\u200d\u0937")[0] == 0
    x = tmp_path / "x.json"
    assert run_cli("export", "1", "--store", store, "-o", x)[0] == 0
    doc = json.loads(x.read_text())
    doc["prosody_store"]["supervisor_notes"][0]["text"] = text
    x.write_text(json.dumps(doc))
    rc, out, err = run_cli("import", x, "--store", tmp_path / "other")
    one_line_error(rc, err)
    assert "supervisor_notes[0].text" in err and "empty but for characters no listing shows" in err


# -- review of sweeps 40 and 41: two defects mended -------------------------------------------------------------------

def test_analyze_json_to_standard_output_still_names_its_audio(tmp_path):
    """Before (sweep 40's rule of which outputs are hashed): `analyze X --json -` wrote a document without its
    `audio` record (where the audio is, so that moments can be played later: issue 12), which it held before. Now
    it holds it again: the file's path, SHA-256 and size."""
    import hashlib
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", "-", *QUIET)
    assert rc == 0, err
    files = json.loads(out)["audio"]["files"]
    wav = FIXTURES / "mono_therapist.wav"
    assert [(f["path"], f["sha256"], f["bytes"]) for f in files] == [
        (str(wav.resolve()), hashlib.sha256(wav.read_bytes()).hexdigest(), wav.stat().st_size)]


def test_a_version_5_store_holding_a_damaged_document_is_migrated(tmp_path):
    """Before: a schema-5 store one of whose stored documents names a recording's path as a list (or a live
    recording as an object) failed to open, "TypeError: unhashable type" out of the schema-6 migration (its
    documents read leniently, but their paths used as keys unchecked). Now such a path names nothing: the store
    opens at version 6, the other session's hash filled, the damaged one's names no audio, and `delete` of it runs."""
    import hashlib
    import sqlite3
    from prosody.store.db import SCHEMA_VERSION, Store
    st = tmp_path / "st"
    for f in ("dialogue.flac", "mono_therapist.wav"):
        assert run_cli("analyze", FIXTURES / f, "--save", "--store", st, *QUIET)[0] == 0
    db = sqlite3.connect(st / "sessions.db", isolation_level=None)
    doc = json.loads(db.execute("SELECT doc FROM sessions WHERE id = 2").fetchone()[0])
    doc["audio"]["files"][0]["path"] = ["not", "a", "path"]
    doc["live"] = {"recording_file": {"not": "a path"}}
    db.execute("UPDATE sessions SET doc = ? WHERE id = 2", (json.dumps(doc),))
    db.execute("DROP TABLE audio_hashes")
    db.execute("PRAGMA user_version = 5")
    db.close()
    with Store(st) as store:
        assert store.schema_version == SCHEMA_VERSION == 6
        rows = store.db.execute("SELECT session_id, sha256 FROM audio_hashes ORDER BY session_id").fetchall()
        assert store.audio_files(2) == ()
    assert rows == [(1, hashlib.sha256((FIXTURES / "dialogue.flac").read_bytes()).hexdigest())]
    rc, out, err = run_cli("delete", "2", "--store", st)
    assert rc == 0, err


def test_a_side_output_named_none_is_written_again(tmp_path, monkeypatch):
    """Before: `analyze X --rttm None` run again (no --json, no --eaf) was refused, "add --overwrite": the
    written-again test took the name "None" for the --json it was not given (``str(None)``) and read the RTTM as a
    session document. Now it is told by its record as any other RTTM."""
    _keeps_attributes(tmp_path)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--rttm", "None", *QUIET)
        assert rc == 0, err
    assert (tmp_path / "None").read_text().startswith("SPEAKER ")
