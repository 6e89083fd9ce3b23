"""Hostile sweep 42 (docs/store.md "Hostile sweep 42"): sweep 41's leftovers, then fresh hostile inputs.

1. `batch` of another manifest replaced the earlier batch's table at the same `--table` (by default
   `prosody-batch.csv`), even where it failed whole (a table of 0 sessions). A table is now replaced only by one that
   lists, of each of its rows, the session or the recording (the same batch run again: to go on, with files added,
   other options, a file changed); another batch's table is kept and this batch's written beside it (`NAME.kept-1.csv`), a batch with no session to list writes none there.
2. `edit --notes` of a zero-width space alone cleared a session's notes, exit 0; of ZWJ or a bidi override alone it
   was kept, shown as nothing; a live save's bookmark note of such characters alone was imported so.
3. An output kept beside (`s.kept-1.rttm`, sweep 40) bore no record of what it was written from: the same analysis
   onto it needed --overwrite.
4. A manifest or config in Latin-1 / Windows-1252 was "is not UTF-8 text" alone (no line, no way to convert it); a
   config in UTF-16 was not named so.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
QUIET = ("--quiet", "--no-progress")


def _two_recordings(folder: Path) -> tuple[Path, Path]:
    """Two short recordings of other audio (one voice each: the fixture, and the fixture at half its level)."""
    a, b = folder / "a.wav", folder / "b.wav"
    shutil.copyfile(FIXTURES / "mono_therapist.wav", a)
    x, sr = sf.read(a)
    sf.write(b, x * 0.5, sr)
    return a, b


def _manifest(path: Path, *files: Path) -> Path:
    path.write_text("file\n" + "".join(f"{f}\n" for f in files))
    return path


def _uids(csv_path: Path) -> set[str]:
    from prosody.batch.runner import read_table_csv
    return {r["uid"] for r in read_table_csv(csv_path)}


# -- 1. another batch's table kept ------------------------------------------------------------------------------------

def test_a_batch_of_another_manifest_keeps_the_earlier_table_and_writes_its_own_beside(tmp_path, monkeypatch):
    """Before: the second batch (of m2.csv) replaced m1's table at prosody-batch.csv, exit 0. Now m1's table is
    kept as it was, m2's written beside it (prosody-batch.kept-1.csv and .parquet), said in one error line, exit 1;
    the same batch run again (m1, then m1 and m2 together) writes the table again, exit 0."""
    monkeypatch.chdir(tmp_path)
    a, b = _two_recordings(tmp_path)
    m1, m2 = _manifest(tmp_path / "m1.csv", a), _manifest(tmp_path / "m2.csv", b)
    store = ("--store", tmp_path / "st", "--no-progress")
    assert run_cli("batch", m1, *store)[0] == 0
    table = tmp_path / "prosody-batch.csv"
    first, first_pq = table.read_bytes(), (tmp_path / "prosody-batch.parquet").read_bytes()
    rc, out, err = run_cli("batch", m1, *store)  # the same batch again: written again, as before
    assert rc == 0, err
    assert table.read_bytes() == first
    rc, out, err = run_cli("batch", m2, *store)
    assert rc == 1
    beside = tmp_path / "prosody-batch.kept-1.csv"
    assert ("prosody: error: cannot write --table prosody-batch.csv: the table there lists recordings this batch "
            "does not (another batch's table), or is not as a batch wrote it (changed since, or no table prosody "
            "wrote), "
            "and was kept; this batch's table was written beside it, as prosody-batch.kept-1.csv, prosody-batch.kept-1.parquet\n") in err, err
    assert table.read_bytes() == first and (tmp_path / "prosody-batch.parquet").read_bytes() == first_pq
    ones, twos = _uids(table), _uids(beside)
    assert len(ones) == 1 and len(twos) == 1 and ones != twos
    assert beside.stat().st_mode & 0o777 == 0o600
    assert "table (1 session): prosody-batch.kept-1.csv, prosody-batch.kept-1.parquet" in out
    rc, out, err = run_cli("batch", m1, m2, *store)  # a batch listing m1's session too replaces it
    assert rc == 0, err
    assert _uids(table) == ones | twos


def test_a_batch_that_failed_whole_leaves_the_earlier_table_and_writes_none(tmp_path):
    """Before: a batch whose every file failed wrote a table of 0 sessions over the earlier batch's. Now nothing is
    written, the table kept, said in a line; exit 1 (the batch failed)."""
    a, _ = _two_recordings(tmp_path)
    store, table = ("--store", tmp_path / "st", "--no-progress", "--table", tmp_path / "t"), tmp_path / "t.csv"
    assert run_cli("batch", _manifest(tmp_path / "m1.csv", a), *store)[0] == 0
    before = table.read_bytes()
    rc, out, err = run_cli("batch", _manifest(tmp_path / "gone.csv", tmp_path / "none.wav"), *store)
    assert rc == 1
    assert (f"prosody: error: no table was written: it would list no session; {table} (a table of sessions this "
            "batch does not list) is kept as it was\n") in err, err
    assert table.read_bytes() == before
    assert sorted(p.name for p in tmp_path.glob("t*")) == ["t.csv", "t.parquet"]


def test_overwrite_replaces_another_batchs_table_and_a_first_table_is_written_in_place(tmp_path):
    """Guards: --overwrite replaces the table there whatever it lists; a table where none is goes to its name."""
    a, b = _two_recordings(tmp_path)
    store, table = ("--store", tmp_path / "st", "--no-progress", "--table", tmp_path / "t"), tmp_path / "t.csv"
    assert run_cli("batch", _manifest(tmp_path / "m1.csv", a), *store, "--no-parquet")[0] == 0
    one = _uids(table)
    rc, out, err = run_cli("batch", _manifest(tmp_path / "m2.csv", b), *store, "--no-parquet", "--overwrite")
    assert rc == 0, err
    assert len(_uids(table)) == 1 and _uids(table) != one
    assert not list(tmp_path.glob("t.kept-*"))


def test_tables_kept_reads_the_sessions_and_recordings_each_table_lists(tmp_path):
    """The rule itself: a table is kept where a row of it lists a session and a recording the new one does not
    (the same files analysed anew, with other options or changed, have new sessions: written again), or where it
    is no table."""
    from prosody.batch.runner import TABLE_COLUMNS, tables_kept, write_table

    def rows(*listed):
        return [{c: None for c, _ in TABLE_COLUMNS} | {"session_id": i, "uid": u, "file": f, "turn_taking": False,
                                                      "n_warnings": 0} for i, (u, f) in enumerate(listed, 1)]
    write_table(rows(("aaaaaaaa", "a.wav"), ("bbbbbbbb", "b.wav")), tmp_path / "t", parquet=True)
    t = tmp_path / "t"
    assert tables_kept(t, rows(("aaaaaaaa", "a.wav"), ("bbbbbbbb", "b.wav"), ("cccccccc", "c.wav"))) == []
    assert tables_kept(t, rows(("dddddddd", "a.wav"), ("eeeeeeee", "b.wav"))) == []  # the same files anew
    assert tables_kept(t, rows(("aaaaaaaa", "x/a.wav"), ("bbbbbbbb", "x/b.wav"))) == []  # the same sessions
    assert tables_kept(t, rows(("aaaaaaaa", "a.wav"))) == [t.with_suffix(".csv"), t.with_suffix(".parquet")]
    assert tables_kept(t, rows(("cccccccc", "c.wav")), parquet=False) == [t.with_suffix(".csv")]
    (tmp_path / "t.csv").write_text("not,a,table\r\n")
    assert tables_kept(t, rows(("aaaaaaaa", "a.wav"), ("bbbbbbbb", "b.wav")), parquet=False) == [t.with_suffix(".csv")]


# -- 2. a session's notes, a bookmark's note, of characters no listing shows ---------------------------------------

@pytest.mark.parametrize("invisible", ["\u200b", "\u200d", "\u202e", "\u2066 \u2069"])
def test_edit_notes_of_characters_no_listing_shows_is_refused_and_the_notes_kept(tmp_path, invisible):
    """Before: `edit 1 --notes $'\\u200b'` cleared the notes, exit 0 (the zero-width space is dropped as a name's
    is, leaving ''); ZWJ, an override, isolates alone were stored, shown as nothing. Now refused in one line."""
    store = ("--store", tmp_path / "st")
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", *store, "--notes", "first call", *QUIET)[0] == 0
    rc, out, err = run_cli("edit", "1", *store, "--notes", invisible)
    one_line_error(rc, err)
    assert "empty but for characters no listing shows" in err
    from prosody.store.db import Store
    with Store(tmp_path / "st") as s:
        assert s.info(1).meta.notes == "first call"


def test_notes_with_text_beside_invisible_characters_are_kept_and_empty_notes_clear(tmp_path):
    """Guards: notes of text and an override are kept (shown escaped); --notes '' clears them; white space alone is
    no note, as before."""
    store = ("--store", tmp_path / "st")
    assert run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", *store, "--notes", "x", *QUIET)[0] == 0
    from prosody.store.db import Store
    rc, out, err = run_cli("edit", "1", *store, "--notes", "calm \u202e then")
    assert rc == 0, err
    with Store(tmp_path / "st") as s:
        assert s.info(1).meta.notes == "calm \u202e then"
    for cleared in ("", "   "):
        assert run_cli("edit", "1", *store, "--notes", "y")[0] == 0
        rc, out, err = run_cli("edit", "1", *store, "--notes", cleared)
        assert rc == 0, err
        with Store(tmp_path / "st") as s:
            assert s.info(1).meta.notes == ""


def test_a_bookmark_note_of_characters_no_listing_shows_is_refused_on_import():
    """A live save's bookmark whose note is an override alone was imported, shown as nothing: now refused in the
    checks an import makes (`check_bookmarks`); a note with text beside it, and no note, pass."""
    from prosody.errors import InvalidSessionError
    from prosody.formats.schema import check_bookmarks
    with pytest.raises(InvalidSessionError, match="empty but for characters no listing shows"):
        check_bookmarks([{"time_s": 1.0, "note": "\u202e"}], 10.0)
    check_bookmarks([{"time_s": 1.0, "note": "look \u202e"}, {"time_s": 2.0, "note": ""}], 10.0)


def test_a_live_bookmark_given_a_note_no_listing_shows_keeps_none_and_its_save_imports(tmp_path, short_wav):
    """The live runner's `bookmark` (the view types no format character; a caller of the library may) keeps such a
    note as none, so that the save imports (it would now be refused); a note of text is kept."""
    from prosody.engine.sources import Layout
    from prosody.live.capture import ReplaySource
    from prosody.live.runner import LiveRunner
    out = tmp_path / "live.json"
    r = LiveRunner(ReplaySource([str(short_wav)], Layout(("therapist", "client"), ((0, 0), (0, 1))), speed=None),
                   output_path=out)
    r.start()
    gone, kept = r.bookmark("\u202e\u200d", time_s=1.0), r.bookmark("look", time_s=2.0)
    assert r.wait(60).reason == "end of input"
    assert gone.note == "" and kept.note == "look"
    rc, _, err = run_cli("import", out, "--store", tmp_path / "store")
    assert rc == 0, err


# -- 3. an output kept beside, marked ----------------------------------------------------------------------------------

def test_an_rttm_kept_beside_is_marked_and_written_again_by_the_same_analysis(tmp_path, monkeypatch):
    """Before: s.kept-1.rttm (written beside a file made meanwhile at s.rttm) bore no record, and `analyze --rttm
    s.kept-1.rttm` of the same audio was "a file of that name exists ... add --overwrite", exit 2. Now it is
    marked as the output would have been, and written again; another recording's analysis is still refused."""
    from tests.test_sweep_hostile41 import _keeps_attributes
    _keeps_attributes(tmp_path)
    import prosody.speaker_channels as sc
    real, s = sc.analyze_recording, tmp_path / "s.rttm"

    def meanwhile(*a, **k):
        s.write_text("theirs\n")
        return real(*a, **k)
    monkeypatch.setattr(sc, "analyze_recording", meanwhile)
    wav = FIXTURES / "mono_therapist.wav"
    rc, out, err = run_cli("analyze", wav, "--rttm", s, *QUIET)
    kept = tmp_path / "s.kept-1.rttm"
    assert rc == 1 and f"written beside it, as {kept}" in err, err
    monkeypatch.setattr(sc, "analyze_recording", real)
    from prosody.fileio import own_output
    assert [f["bytes"] for f in own_output(kept)["audio"]] == [wav.stat().st_size]
    rc, out, err = run_cli("analyze", wav, "--rttm", kept, *QUIET)
    assert rc == 0, err
    before = kept.read_bytes()
    a, b = _two_recordings(tmp_path)
    rc, out, err = run_cli("analyze", b, "--rttm", kept, *QUIET)
    one_line_error(rc, err)
    assert "add --overwrite" in err and kept.read_bytes() == before


# -- 4. text files of other encodings -----------------------------------------------------------------------------------

def test_a_latin1_manifest_is_said_with_its_line_and_how_to_convert_it(tmp_path):
    """Before: "manifest m.csv is not UTF-8 text", nothing more. Now the line of the first byte UTF-8 has not, and
    the iconv command, are said."""
    (tmp_path / "m.csv").write_bytes(b"file,client\na.wav,Zo\xeb\n")
    rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", tmp_path / "st", "--no-progress")
    one_line_error(rc, err)
    assert (f"manifest {tmp_path / 'm.csv'} is not UTF-8 text: its line 2 holds the byte 0xEB, which UTF-8 text has "
            "not there (Windows-1252 or Latin-1?); save it as \"CSV UTF-8 (comma delimited)\", or convert it: "
            "iconv -f WINDOWS-1252 -t UTF-8") in err, err
    assert not (tmp_path / "st").exists()


@pytest.mark.parametrize("encoding,said", [("latin-1", "its line 2 holds the byte 0xEB"),
                                           ("utf-16", "it is UTF-16"), ("utf-16-le", "it is UTF-16")])
def test_a_config_in_another_encoding_is_named_with_how_to_convert_it(tmp_path, encoding, said):
    """Before: "config c.toml is not UTF-8 text: a config file is TOML", for UTF-16 and Latin-1 alike. Now what it
    is and how to convert it are said, before any work."""
    (tmp_path / "c.toml").write_bytes("[vad]\n# Zoë\n".encode(encoding))
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--config", tmp_path / "c.toml", *QUIET)
    one_line_error(rc, err)
    assert f"is not UTF-8 text: {said}" in err and "iconv -f" in err, err


def test_a_utf8_config_and_manifest_with_a_bom_are_read():
    """Guards: a BOM (Notepad's "UTF-8 with BOM") is read as before; UTF-8 is no other encoding."""
    from prosody.fileio import not_utf8_said
    assert not_utf8_said("\ufeff[vad]\n# Zoë\n".encode("utf-8")) == ""
    assert not_utf8_said(b"") == ""
    assert not_utf8_said(b"a\n\xff").startswith(": its line 2 holds the byte 0xFF")
