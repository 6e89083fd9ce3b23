"""Hostile sweep 56 (docs/store.md "Hostile sweep 56"): privacy and the store.

1. `enrol --delete NAME` with another program's read open on the store (past the busy wait) said "deleted the
   voice profile NAME" while the profile's row was still in `sessions.db`'s bytes, unsaid (`delete` of a session
   says so since sweep 32). Now said alike; the next command erases it.
2. `import` of a Parquet file of 973 kB declaring 30 M rows of one value took 4.8 GB and 14 s before it was
   refused, one of 218 kB of 40 rows of lists 9.8 GB and 34 s; its footer is now checked first, as an .npz's zip
   directory is.
3. `delete` of a session a batch analysed, with another program's read open on the batch ledger past its busy
   wait: "deleted session 1" alone, the recording's path (a client's name) still in batch.sqlite's bytes, and no
   later command on the store erased it. Now said as for sessions.db, and the next open of the store erases it.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli


def _cli_ok(*argv) -> str:
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    return out


@contextmanager
def _reading(db: Path, table: str):
    """Another program's read of ``db`` held open (its snapshot taken from ``table``) while the block runs."""
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute(f"SELECT count(*) FROM {table}").fetchone()
        yield
        reader.execute("COMMIT")
    finally:
        reader.close()


def _no_trace_after_sessions(store: Path, text: bytes) -> None:
    """After the next command on the store (`prosody sessions`), no file of it holds ``text``."""
    _cli_ok("sessions", "--store", store)
    for f in store.rglob("*"):
        if f.is_file():
            assert text not in f.read_bytes(), f


# -- 1. a voice profile deleted under another program's read -------------------------------------------------------

def test_enrol_delete_says_a_reader_kept_the_profile_in_the_database_file(tmp_path, monkeypatch):
    """A reader holds its snapshot from before the delete past the busy wait. Before: "deleted the voice profile
    Prof-Qzxv" alone, with b"Prof-Qzxv" still in sessions.db. Now a note says so; after `sessions`, no byte."""
    import prosody.store.db as db
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.2)
    store = tmp_path / "store"
    _cli_ok("enrol", FIXTURES / "mono_therapist.wav", "--therapist", "Prof-Qzxv", "--store", store)
    with _reading(store / "sessions.db", "voice_profiles"):
        rc, out, err = run_cli("enrol", "--delete", "Prof-Qzxv", "--store", store)
        assert rc == 0 and out == "deleted the voice profile Prof-Qzxv\n", err
        # the wait said is the store's BUSY_TIMEOUT_S as the CLI imported it (5 s unless imported after the patch)
        assert err.startswith("prosody: note: another program is reading the session store (a read open for over ")
        assert err.endswith(f" s), so the voice profile Prof-Qzxv's deleted bytes are still readable in "
                            f"{store / 'sessions.db'} until it ends; then the next prosody command on the store "
                            "(`prosody sessions`) erases them\n"), err
        assert b"Prof-Qzxv" in (store / "sessions.db").read_bytes()  # what the note says, as it is
    _no_trace_after_sessions(store, b"Prof-Qzxv")


def test_enrol_delete_with_no_reader_says_nothing_more(tmp_path):
    store = tmp_path / "store"
    _cli_ok("enrol", FIXTURES / "mono_therapist.wav", "--therapist", "Prof-Qzxv", "--store", store)
    rc, out, err = run_cli("enrol", "--delete", "Prof-Qzxv", "--store", store)
    assert (rc, out, err) == (0, "deleted the voice profile Prof-Qzxv\n", "")
    assert b"Prof-Qzxv" not in (store / "sessions.db").read_bytes()


def test_delete_says_a_reader_kept_the_ledgers_rows_and_the_next_command_erases_them(tmp_path, short_wav,
                                                                                     monkeypatch):
    """A batch of one file in a folder named for the client; a reader holds batch.sqlite. Before: the path's bytes
    stayed in batch.sqlite after `delete` and after `sessions`, unsaid."""
    import prosody.batch.runner as runner
    monkeypatch.setattr(runner, "LEDGER_BUSY_TIMEOUT_S", 0.2)
    folder = tmp_path / "Realname-Qzxw"
    folder.mkdir()
    (folder / "s.wav").write_bytes(short_wav.read_bytes())
    store = tmp_path / "store"
    _cli_ok("batch", folder, "--store", store, "--table", tmp_path / "t.csv", "--no-progress")
    ledger = store / "batch.sqlite"
    assert b"Realname-Qzxw" in ledger.read_bytes()
    with _reading(ledger, "hashes"):
        rc, out, err = run_cli("delete", "1", "--store", store)
        assert rc == 0 and out == "deleted session 1\n", err
        assert (f"so session 1's deleted rows are still readable in {ledger} until it ends; then the next prosody "
                "command on the store (`prosody sessions`) erases them\n") in err, err
        assert b"Realname-Qzxw" in ledger.read_bytes()  # what the note says, as it is
    _no_trace_after_sessions(store, b"Realname-Qzxw")


# -- 2. a Parquet file declaring more rows than a session holds ---------------------------------------------------

@pytest.fixture(scope="module")
def parquet_export(tmp_path_factory, short_wav) -> Path:
    pytest.importorskip("pyarrow")
    folder = tmp_path_factory.mktemp("parquet")
    _cli_ok("analyze", short_wav, "--save", "--store", folder / "store")
    _cli_ok("export", "1", "-o", folder / "s.parquet", "--store", folder / "store")
    return folder / "s.parquet"


def _bomb(export: Path, out: Path, *, rows: int, frame_columns: int = 1) -> Path:
    """A Parquet file with ``export``'s prosody metadata and ``rows`` rows of one value: time_s, speaker and
    ``frame_columns`` columns (is_speech, then copies named x1, x2, ...), written a million rows at a time
    (a few bytes each on disk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    meta = pq.read_schema(export).metadata
    batch = min(rows, 1_000_000)
    zeros = pa.array([0.0], pa.float64()).take(pa.array([0] * batch))
    cols = {"time_s": zeros, "speaker": pa.array(["therapist"]).take(pa.array([0] * batch))}
    cols.update({("is_speech" if i == 0 else f"x{i}"): zeros for i in range(frame_columns)})
    table = pa.table(cols).replace_schema_metadata(meta)
    with pq.ParquetWriter(out, table.schema, compression="zstd") as w:
        for start in range(0, rows, batch):
            w.write_table(table.slice(0, min(batch, rows - start)))
    return out


def test_import_refuses_a_parquet_declaring_more_rows_than_two_speakers_days(tmp_path, parquet_export):
    """17,280,001 rows (two speakers' frames of 24 hours, and one): refused from the footer, nothing read.
    Before: every row was read (a 973 kB file of 30 M rows: 4.8 GB), then refused for their lengths."""
    bomb = _bomb(parquet_export, tmp_path / "bomb.parquet", rows=17_280_001)
    assert bomb.stat().st_size < 2_000_000
    rc, out, err = run_cli("import", bomb, "--store", tmp_path / "store")
    assert (rc, out) == (2, ""), err
    assert err == (f"prosody: error: cannot import {bomb}: its frame table declares 17,280,001 rows of 3 columns "
                   "(138 MB unpacked), more than a session's frames hold (at most 17,280,000 rows and 691 MB: two "
                   "speakers' frames of 24 hours); not read: it is no export prosody wrote\n")
    assert not (tmp_path / "store").exists()  # refused before the store is opened


def test_import_refuses_a_parquet_of_columns_beyond_a_sessions_frames(tmp_path, parquet_export):
    """1 M rows of 90 frame columns: 720 MB as float64, over the 691 MB an .npz of frames may unpack to."""
    bomb = _bomb(parquet_export, tmp_path / "wide.parquet", rows=1_000_000, frame_columns=90)
    rc, out, err = run_cli("import", bomb, "--store", tmp_path / "store")
    assert (rc, out) == (2, ""), err
    assert "its frame table declares 1,000,000 rows of 92 columns (720 MB unpacked)" in err, err


def test_import_refuses_a_parquet_column_of_lists(tmp_path, parquet_export):
    """A column of lists: its rows do not bound its values (a 218 kB file of 40 rows, each a list of 10 M zeros,
    took 9.8 GB and 34 s to be refused as "not a column of numbers"). Refused from the footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({"time_s": [0.0], "speaker": ["therapist"], "is_speech": [[0.0, 0.0, 0.0]]})
    pq.write_table(table.replace_schema_metadata(pq.read_schema(parquet_export).metadata), tmp_path / "l.parquet")
    rc, out, err = run_cli("import", tmp_path / "l.parquet", "--store", tmp_path / "store")
    assert (rc, out) == (2, ""), err
    assert err == (f"prosody: error: cannot import {tmp_path / 'l.parquet'}: its column is_speech holds lists, where "
                   "a frame table holds a number a row; not read: it is no export prosody wrote\n")


def test_a_parquet_export_still_imports(tmp_path, parquet_export):
    rc, out, err = run_cli("import", parquet_export, "--store", tmp_path / "store")
    assert (rc, out) == (0, f"imported {parquet_export} as session 1\n"), err
