"""A second hostile sweep (2026-12-02): batch manifests, imports, delete.

Each test plants what the sweep found (an output name with no file name, a number of 5000
digits, a Parquet export whose frame columns were changed, one recording listed twice with
other names, metadata typed again for a recording already done, a duplicate's failure left in
the ledger, two speakers named alike, a voice profile built from a deleted session) and checks
the one clear line, that nothing half-done is stored and that nothing typed is lost unsaid."""
import json
import shutil
import sqlite3

import pytest

from prosody.store.db import Store
from tests.conftest import FIXTURES, run_cli
from tests.test_validation import _one_line  # one error line, its exit status, no traceback

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A store with the fixture dialogue saved as session 1 (therapist ann) and its exports."""
    d = tmp_path_factory.mktemp("sweep")
    wav = d / "rec.flac"
    shutil.copy(FIXTURES / "dialogue.flac", wav)
    store = d / "st"
    rc, _, err = run_cli("analyze", wav, "--save", "--quiet", "--store", store, "--therapist", "ann")
    assert rc == 0, err
    for fmt in ("json", "parquet"):
        assert run_cli("export", "1", "--store", store, "-o", d / f"s.{fmt}")[0] == 0
    return d, store, wav


def test_output_names_with_no_file_name_are_refused(saved, tmp_path):
    d, store, wav = saved
    for o in ("", ".", "/", "sub/"):
        rc, out, err = run_cli("export", "1", "--store", store, "-o", o)
        _one_line(rc, err)
        rc, out, err = run_cli("batch", wav, "--store", tmp_path / "st2", "--table", o, "--no-progress")
        _one_line(rc, err)
    assert not (tmp_path / "st2").exists()


def test_numbers_of_thousands_of_digits_are_said_to_be_so(tmp_path):
    big = "1" * 5000
    (tmp_path / "big.json").write_text(f'{{"duration_s": {big}}}')
    (tmp_path / "big.toml").write_text(f"[vad]\naggressiveness = {big}\n")
    rc, _, err = run_cli("import", tmp_path / "big.json", "--store", tmp_path / "st")
    _one_line(rc, err, rc)
    assert "more than 4300 digits" in err and "set_int_max_str_digits" not in err
    rc, _, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--config", tmp_path / "big.toml")
    _one_line(rc, err, rc)
    assert "not valid TOML" in err and "more than 4300 digits" in err


def test_a_parquet_export_with_changed_frame_columns_is_refused_whole(saved, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    d, _, _ = saved
    t = pq.read_table(d / "s.parquet")
    meta = t.schema.metadata
    text_col = t.append_column("evil", pa.array(["x"] * len(t)))
    half = t.filter(pa.array([s == "therapist" for s in t.column("speaker").to_pylist()]))
    for name, table in (("text", text_col), ("one speaker", half)):
        p = tmp_path / f"{name}.parquet"
        pq.write_table(table.replace_schema_metadata(meta), p)
        rc, _, err = run_cli("import", p, "--store", tmp_path / "st")
        _one_line(rc, err, rc)
        assert "frame columns" in err, (name, err)
    assert not (tmp_path / "st" / "sessions.db").exists() or Store(tmp_path / "st").list() == []
    rc, _, err = run_cli("import", d / "s.parquet", "--store", tmp_path / "ok")  # the export as written: fine
    assert rc == 0, err


def test_frames_that_do_not_cover_the_session_are_not_imported(saved, tmp_path):
    """Hostile sweep (2026-12-03): a frames file of another (shorter) session, or cut
    short, was imported beside a 40 s session (10 frames: a CSV export of 10 rows, the
    report's curves 0.1 s long); now one line, nothing stored."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    d, _, _ = saved
    with np.load(d / "s.frames.npz") as z:
        whole = {k: z[k] for k in z.files}
    n = len(whole["s0_f0_hz"])
    cut = tmp_path / "cut.npz"
    np.savez(cut, **{k: (v if k == "speakers" else v[:10]) for k, v in whole.items()})
    rc, _, err = run_cli("import", d / "s.json", "--frames", cut, "--store", tmp_path / "st")
    _one_line(rc, err)
    assert err == (f"prosody: error: cannot import: frames file {cut} holds 10 frames (0.10 s), the session "
                   f"{n / 100:.2f} s ({n} frames); it belongs to another session or was cut short: give the "
                   "session's own with --frames\n"), err
    t = pq.read_table(d / "s.parquet")
    short = t.filter(pa.array([time_s < 1.0 for time_s in t.column("time_s").to_pylist()]))
    p = tmp_path / "short.parquet"
    pq.write_table(short.replace_schema_metadata(t.schema.metadata), p)
    rc, _, err = run_cli("import", p, "--store", tmp_path / "st")
    _one_line(rc, err)
    assert f"{p}'s frame columns holds 100 frames (1.00 s)" in err, err
    assert not (tmp_path / "st" / "sessions.db").exists() or Store(tmp_path / "st").list() == []
    rc, _, err = run_cli("import", d / "s.json", "--frames", d / "s.frames.npz", "--store", tmp_path / "ok")
    assert rc == 0, err


def test_two_speakers_named_alike_are_not_imported(tmp_path):
    wav = tmp_path / "rec.flac"
    shutil.copy(FIXTURES / "dialogue.flac", wav)
    assert run_cli("analyze", wav, "--quiet", "--channels", "alpha=left,beta=right", "--json", tmp_path / "s.json")[0] == 0
    text = (tmp_path / "s.json").read_text()
    (tmp_path / "alike.json").write_text(text.replace('"beta"', '"alpha "'))  # renamed everywhere in the document
    assert json.loads((tmp_path / "alike.json").read_text())["speaker_order"] == ["alpha", "alpha "]
    rc, _, err = run_cli("import", tmp_path / "alike.json", "--store", tmp_path / "st")
    _one_line(rc, err, rc)
    assert "differ only in spaces" in err


def test_one_recording_listed_twice_with_other_names_is_refused(tmp_path):
    wav = tmp_path / "b.flac"
    shutil.copy(FIXTURES / "dialogue.flac", wav)
    m = tmp_path / "m.csv"
    m.write_text(f"file,client,notes\n{wav},alice,first note\n{wav},bob,second note\n")
    rc, _, err = run_cli("batch", m, "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress")
    _one_line(rc, err)
    assert "also listed" in err and "line 3" in err
    m.write_text(f"file,client\n{wav},alice\n{wav},alice\n")  # the same row twice: one job, as before
    rc, out, err = run_cli("batch", m, "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress",
                           "--jobs", "1")
    assert rc == 0, err
    assert "1 recording: 1 analysed" in out + err


def test_batch_again_keeps_what_was_typed_and_says_what_it_did_not_apply(tmp_path):
    wav = tmp_path / "b.flac"
    shutil.copy(FIXTURES / "dialogue.flac", wav)
    st = tmp_path / "st"
    common = ("--store", st, "--table", tmp_path / "t", "--no-progress", "--jobs", "1")
    assert run_cli("batch", wav, "--therapist", "DrA", "--client", "c1", *common)[0] == 0
    assert run_cli("edit", "1", "--notes", "disclosed X", "--tag", "risk", "--store", st)[0] == 0
    rc, out, err = run_cli("batch", wav, "--client", "c9", *common)  # done already: skipped
    assert rc == 0, err
    assert "other metadata" in out + err and "session 1: client" in out + err
    rc, out, err = run_cli("batch", wav, "--force", *common)  # analysed again: what was typed stays
    assert rc == 0, err
    with Store(st) as s:
        m = s.info(1).meta
    assert (m.therapist, m.client, m.notes, m.tags) == ("DrA", "c1", "disclosed X", ("risk",))


def test_delete_erases_a_duplicates_logged_failure_and_names_a_profile_it_leaves(tmp_path):
    folder = tmp_path / "df"
    folder.mkdir()
    (folder / "uniqfail_1234.wav").write_bytes(b"junk")
    st = tmp_path / "st"
    common = ("--store", st, "--table", tmp_path / "t", "--no-progress", "--jobs", "1")
    rc, out, err = run_cli("batch", folder, *common)
    assert rc != 0 and "uniqfail_1234" in out + err  # logged as a failure
    shutil.copy(FIXTURES / "dialogue.flac", folder / "uniqfail_1234.wav")
    shutil.copy(FIXTURES / "dialogue.flac", folder / "uniqcopy_5566.flac")
    rc, out, err = run_cli("batch", folder, *common)
    assert rc == 0, err
    assert run_cli("enrol", "--from-session", "1", "--therapist", "DrProfZ", "--store", st)[0] == 0
    rc, out, err = run_cli("delete", "1", "--store", st)
    assert rc == 0, err
    assert "voice profile DrProfZ was built from session 1" in err and "kept" in err
    for f in st.rglob("*"):
        if f.is_file():
            raw = f.read_bytes()
            assert b"uniqfail_1234" not in raw and b"uniqcopy_5566" not in raw, f
    with sqlite3.connect(st / "batch.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM failures").fetchone()[0] == 0
