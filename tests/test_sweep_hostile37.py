"""Hostile sweep 37 (docs/store.md "Hostile sweep 37"): sweep 36's four message leftovers, the review commands.

1. A manifest whose header says `File` (capitalised, as a spreadsheet writes it) was "no 'file' column" without
   saying what the header held: now the header's names are said, and that names are lower case.
2. A UTF-16 manifest (a spreadsheet's "Unicode Text") was "not UTF-8 text", UTF-16 unsaid; one with no BOM was
   read as UTF-8 and said as a header without a 'file' column (its names 'f\\x00i\\x00l\\x00e\\x00').
3. A Parquet export whose speaker column holds numbers (pandas' coded speakers written back) was refused as
   "holds 0 frames ... give the session's own with --frames" (an option of JSON exports).
4. A manifest row with two files and its `layout` cell `mono` was refused as "--layout mono applies to one file",
   an option the command line never had.
5. `note --at 3 --moment 1` was refused as "say where the note goes: --at ... or --moment ...", as if neither had
   been given; `note --moment 0` said "session 1 has 10 moments" without the ranks to choose from.
6. `play` of a note past the recording's end (a note may lie up to 1 s after it) with `--context-s 0` said the
   span backwards, "41.0–40.2 s of the 40.2 s recording".
7. `note --moment K` on a bookmark past the analysed end (a live bookmark set on audio not yet analysed when the
   session stopped; the moments list offers it) was refused: "note time 100.0 s is outside session 1".
8. `import` took a supervisor's note whose text is only a zero-width space and a bidi mark (listed as nothing),
   which `prosody note` refuses ("a note needs some text"); the import checks notes "by the rules prosody note
   applies".
9. `edit --tag a --untag a` added the tag, the --untag dropped without a word; `edit --untag intkae` (a typo, or
   a tag the session never had) was exit 0 with the session shown, nothing said.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _batch(manifest: Path, tmp_path: Path):
    return run_cli("batch", manifest, "--store", tmp_path / "st", "--no-progress", "--table", tmp_path / "t")


# -- sweep 36's leftovers: manifests ---------------------------------------------------------------------------------

def test_a_manifest_header_capitalised_is_said_with_what_it_holds(tmp_path):
    """Before: "no 'file' column in the header row; columns are file, file2, ..." (the 'File' it found unsaid)."""
    shutil.copy(FIXTURES / "mono_therapist.wav", tmp_path / "a.wav")
    (tmp_path / "m.csv").write_text("File,Notes\na.wav,first\n")
    rc, out, err = _batch(tmp_path / "m.csv", tmp_path)
    one_line_error(rc, err)
    assert err == (f"prosody: error: manifest {tmp_path / 'm.csv'}: no 'file' column in the header row (it holds "
                   "'File', 'Notes'); column names are lower case: 'file', 'notes'\n")
    assert not (tmp_path / "st").exists()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf16_manifest_is_said_utf16(tmp_path, encoding):
    """Before: "is not UTF-8 text" (with a BOM) or "no 'file' column" (UTF-16LE with none: read as UTF-8, its
    NUL bytes inside each name)."""
    shutil.copy(FIXTURES / "mono_therapist.wav", tmp_path / "a.wav")
    (tmp_path / "m.csv").write_bytes("file,notes\na.wav,first\n".encode(encoding))
    rc, out, err = _batch(tmp_path / "m.csv", tmp_path)
    one_line_error(rc, err)
    assert err.startswith(f"prosody: error: manifest {tmp_path / 'm.csv'} is not UTF-8 text: it is UTF-16 "), err
    assert "iconv -f UTF-16 -t UTF-8" in err
    assert not (tmp_path / "st").exists()


def test_a_manifest_layout_cell_is_named_as_the_cell(tmp_path):
    """Before: "m.csv line 2: --layout mono applies to one file" where the row's layout cell said mono."""
    for name in ("a.wav", "b.wav"):
        shutil.copy(FIXTURES / "mono_therapist.wav", tmp_path / name)
    (tmp_path / "m.csv").write_text("file,file2,layout\na.wav,b.wav,mono\n")
    rc, out, err = _batch(tmp_path / "m.csv", tmp_path)
    assert rc == 1, err
    assert f"{tmp_path / 'm.csv'} line 2: layout mono applies to one file; two files are one speaker each" in err
    assert "--layout" not in err


# -- sweep 36's leftovers: a Parquet's speaker column ----------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A store holding the fixture dialogue (0.7 min, 40.22 s) as session 1."""
    d = tmp_path_factory.mktemp("saved")
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", d / "store", "--quiet",
                           "--no-progress")
    assert rc == 0, err
    return d / "store"


@pytest.fixture(scope="module")
def parquet_export(saved):
    """Session 1 exported as Parquet."""
    pytest.importorskip("pyarrow")
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", saved.parent / "s1.parquet")
    assert rc == 0, err
    return saved.parent / "s1.parquet"


def test_a_parquet_whose_speaker_column_holds_numbers_is_said_so(parquet_export, tmp_path):
    """Before: "cannot import: ...'s frame columns holds 0 frames (0.00 s), the session 40.22 s (4022 frames);
    ... give the session's own with --frames"."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    t = pq.read_table(parquet_export)
    coded = pc.if_else(pc.equal(t.column("speaker"), "therapist"), 0, 1)
    pq.write_table(t.set_column(t.column_names.index("speaker"), "speaker", coded), tmp_path / "coded.parquet")
    rc, out, err = run_cli("import", tmp_path / "coded.parquet", "--store", tmp_path / "st")
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot import {tmp_path / 'coded.parquet'}: its speaker column (int64) holds "
                   "0, 1, where each row names one of the session's speakers (therapist, client); write the "
                   "speakers' names back into it\n")
    assert not (tmp_path / "st" / "frames").exists() or not any((tmp_path / "st" / "frames").iterdir())


# -- the review commands -----------------------------------------------------------------------------------------------

def test_a_note_given_both_a_time_and_a_moment_says_both_were_given(saved):
    """Before: "say where the note goes: --at 12:30 (a time) or --moment K" (the user had given both)."""
    rc, out, err = run_cli("note", "1", "x", "--at", "3", "--moment", "1", "--store", saved)
    one_line_error(rc, err)
    assert err == "prosody: error: --at 3 and --moment 1 both say where the note goes: give one of them\n"


def test_a_note_on_a_moment_out_of_range_says_the_ranks(saved):
    """Before: "--moment 0: session 1 has N moments" (nothing to choose from said)."""
    rc, out, err = run_cli("moments", "1", "--json", "--store", saved)
    assert rc == 0, err
    n = len(__import__("json").loads(out))
    rc, out, err = run_cli("note", "1", "x", "--moment", "0", "--store", saved)
    one_line_error(rc, err)
    assert err == (f"prosody: error: --moment 0: session 1 has {n} moment{'s' if n != 1 else ''}; choose 1..{n} "
                   "(`prosody moments 1` lists them)\n")


def test_playing_a_note_after_the_end_says_where_it_is(saved, tmp_path):
    """A note at 40.9 s of the 40.22 s session (allowed: up to 1 s after the end), played with no context.
    Before: "leaves nothing to play: 40.9–40.2 s of the 40.2 s recording" (a span ending before it starts)."""
    store = tmp_path / "store"
    shutil.copytree(saved, store)
    rc, out, err = run_cli("note", "1", "after the end", "--at", "40.9", "--store", store)
    assert rc == 0, err
    rc, out, err = run_cli("moments", "1", "--json", "--store", store)
    rank = next(m["rank"] for m in __import__("json").loads(out) if m["what"] == "after the end")
    rc, out, err = run_cli("play", "1", str(rank), "--context-s", "0", "--store", store)
    one_line_error(rc, err)
    assert err == (f"prosody: error: moment {rank} (after the end) leaves nothing to play: it is at 40.9 s, at or "
                   "after the end of the 40.2 s recording; give --context-s over 0\n")


def test_a_note_on_a_bookmark_after_the_analysed_end_is_kept(saved, tmp_path):
    """A session whose live bookmark lies at 100 s, after the 40.22 s analysed (allowed: set on audio captured but
    not analysed when the session stopped). Before: `note 1 --moment 1 seen` refused, "note time 100.0 s is
    outside session 1 (0 to 40.2 s)", exit 2. Now the note is kept at the session's end, said so."""
    import json
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", tmp_path / "s1.json")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s1.json").read_text())
    doc["bookmarks"] = [{"time_s": 100.0, "note": "client cried"}]
    (tmp_path / "s1.json").write_text(json.dumps(doc))
    store = tmp_path / "store"
    rc, out, err = run_cli("import", tmp_path / "s1.json", "--store", store)
    assert rc == 0, err
    rc, out, err = run_cli("moments", "1", "--json", "--store", store)
    rank = next(m["rank"] for m in json.loads(out) if m["kind"] == "bookmark")
    rc, out, err = run_cli("note", "1", "seen", "--moment", str(rank), "--store", store)
    assert (rc, err) == (0, ""), err
    assert out == "session 1: note at 0:40 (bookmark at 100.0 s, after the 40.2 s analysed: noted at its end)\n"
    rc, out, err = run_cli("moments", "1", "--json", "--store", store)
    notes = [m for m in json.loads(out) if m["kind"] == "note"]
    assert [(m["start_s"], m["what"]) for m in notes] == [(40.22, "seen")]


def test_an_imported_note_of_invisible_characters_only_is_refused(saved, tmp_path):
    """Before: imported (exit 0), the moments list showing a note of nothing."""
    import json
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", tmp_path / "s1.json")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s1.json").read_text())
    doc["prosody_store"]["supervisor_notes"] = [{"time_s": 5.0, "end_s": None, "text": "\u200b\u200e", "author": "",
                                                 "moment": "", "written_at": "2026-12-06T04:05:00"}]
    (tmp_path / "s1.json").write_text(json.dumps(doc))
    rc, out, err = run_cli("import", tmp_path / "s1.json", "--store", tmp_path / "store")
    one_line_error(rc, err)
    assert err == ("prosody: error: prosody_store.supervisor_notes[0].text = '\\u200b\\u200e': empty but for "
                   "characters no listing shows (zero-width spaces, bidi marks)\n")
    rc, out, err = run_cli("show", "1", "--store", tmp_path / "store")
    assert rc != 0 and ("no session store" in err or "no session '1'" in err), err


def test_edit_given_one_tag_to_add_and_remove_is_refused(saved, tmp_path):
    """Before: exit 0, the tag added (the --untag dropped)."""
    store = tmp_path / "store"
    shutil.copytree(saved, store)
    rc, out, err = run_cli("edit", "1", "--tag", "intake", "--untag", "intake", "--store", store)
    one_line_error(rc, err)
    assert err == "prosody: error: --tag and --untag both name 'intake': give one or the other\n"
    rc, out, err = run_cli("show", "1", "--store", store)
    assert "tags:" not in out


def test_edit_untag_of_a_tag_the_session_lacks_is_said(saved, tmp_path):
    """Before: exit 0, the session shown, no word that 'intkae' was no tag of it ('intake' kept)."""
    store = tmp_path / "store"
    shutil.copytree(saved, store)
    rc, out, err = run_cli("edit", "1", "--tag", "intake", "--store", store)
    assert rc == 0, err
    rc, out, err = run_cli("edit", "1", "--untag", "intkae", "--store", store)
    assert rc == 0 and "tags: intake" in out, (rc, out, err)
    assert err == "prosody: note: session 1 had no tag 'intkae'; its tags: intake\n"


# -- a blank listing filter ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [("sessions", "--tag", ""), ("sessions", "--client", "  "),
                                  ("trend", "--therapist", "T", "--tag", ""), ("trend", "--therapist", " ")])
def test_a_blank_filter_is_refused_not_read_as_a_name_no_session_has(tmp_path, argv):
    """`trend --tag ''` (a shell variable unset) said "no sessions for therapist 'T' with these filters" as if the
    store held none, and `sessions --tag ''` listed nothing with exit 0: no name or tag is ever blank, so the
    filter is refused while parsing, the option named."""
    rc, out, err = run_cli(*argv, "--store", tmp_path / "st")
    one_line_error(rc, err)
    assert "is blank" in err and argv[-2] in err, err
