"""Hostile sweep 9: config files, manifests, sample values, dates and clocks, through the real CLI (the house
way of the earlier sweeps: one clear line on stderr, a non-zero exit, no traceback; every file under tmp_path).
Each defect with what happened before and what happens now:

1. A config saved as "UTF-8 with BOM" (Windows Notepad) was refused: "config c.toml is not valid TOML:
   Invalid statement (at line 1, column 1)". The byte-order mark is now skipped, as manifests skip it.
   A config of 15,000 [pitch_by_speaker] tables (700 kB) was taken: a warning for each unused range, 45,000
   lines of `show`; more than 64 are refused now. An unknown key with a space after it or a zero-width space
   inside was listed bare ("unknown key(s) in [vad]: floor_window_s , ...; known: ..., floor_window_s"); quoted.
2. A manifest cell longer than Python's csv limit (131,072 characters: a quote left open over a long file,
   a pasted transcript) was "internal error (Error: field larger than field limit (131072))", exit 1. Now
   one line naming the line where that record starts, exit 2. A row short of cells was told to "quote a cell
   that holds a comma"; it is told to give the empty cells. A manifest row whose file has the same bytes as
   an earlier row's (a copy, a hard link) but names another client was made a duplicate of that session, the
   client it named dropped without a word (the same row skipped as already done in a later run said so); said.
   ``prosody batch '**'`` wrote its table (prosody-batch.csv, .parquet) where it ran, inside the pattern: running
   the same command again to go on took the table for a manifest and failed ("unknown column(s) session_id, uid,
   ..." listing 100+ columns), and a store folder there had its database, ledger and frames files taken for
   recordings (each failed). A glob's matches now pass over the batch's own table and store files; a batch
   table named as a manifest is said to be one, and a list of unknown columns stops at 8. A FIFO named x.csv
   that a glob matched was read as a manifest for ever (the batch hung before any work), and a manifest of any
   size was read whole (160 MB: 57 s, 2.1 GB of memory); a FIFO is refused, and a manifest over 64 MiB.
3. A recording whose modification time is no date (year 10000, before year 1: a file from a device with a
   broken clock, on a file system that keeps 64-bit times) was analysed, then "internal error (ValueError:
   year 10000 is out of range)", the session unsaved (analyze --save, import); batch failed the file with
   "internal error (OverflowError: Python int too large to convert to SQLite INTEGER)" (its hash cache key,
   the mtime in ns, past 2^63). A time before 1980-01-02 (a recorder whose clock was never set writes
   1970-01-01 or 1980-01-01) was taken for the session's date without a word (listed as 1969-12-31 23:59).
   Such sessions are now saved without a date, and a warning says why and how to set one; a date after
   this machine's clock is kept and said (one of the two clocks is wrong).
4. ``sessions --until 2026-12-04T16:19`` left out the session that ``sessions`` lists as "2026-12-04 16:19"
   (saved at 16:19:11), while ``--until 2026-12-04`` includes that whole day. A time typed to the minute (or
   the hour) now includes that minute (hour). A session dated by its day alone ("2026-12-04") was left out by
   ``--since 2026-12-04T00:00`` (compared as text, it sorts before "2026-12-04T00:00:00"); it spans its day.
   With TZ=UTC+24 (a zone the C library takes, 24 hours from UTC, and Python's datetime refuses), ``live``
   stopped with "internal error (ValueError: offset must be a timedelta strictly between ...)" before it
   captured, and ``--since 10:00+05:00`` was called no date ("expected YYYY-MM-DD"); both now say the zone.
5. A float recording written with gain (samples up to 800 x full scale) was analysed without a word; its
   levels read +35 dBFS ("therapist level" in the report, the voice profile a --save-baseline writes). It is
   now said, per channel.
6. ``live --input F --speed 1_0`` replayed at 10 x (float() reads "1_0" as 10), ``--speed ٣`` or ``３`` at 3 x,
   and ``moments --weight silence=1_0`` weighted silences 10: every other number option takes digits 0-9 only.
   Refused now in one line.
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import one_line_error, run_cli

REPO = Path(__file__).resolve().parents[1]


_one_line = one_line_error


# -- 1. a config with a byte-order mark ------------------------------------------------------------------------

def test_a_config_with_a_byte_order_mark_is_read(tmp_path, short_wav):
    bom = b"\xef\xbb\xbf"
    good = tmp_path / "good.toml"
    good.write_bytes(bom + b"[vad]\r\ngate_db = 12.0\r\n")  # as Notepad saves it: BOM and CRLF
    rc, _, err = run_cli("analyze", short_wav, "--config", good, "--json", tmp_path / "s.json", "--quiet",
                         "--no-progress")
    assert rc == 0, err  # before: "config good.toml is not valid TOML: Invalid statement (at line 1, column 1)"
    assert json.loads((tmp_path / "s.json").read_text())["config"]["vad"]["gate_db"] == 12.0  # read, not ignored
    bad = tmp_path / "bad.toml"  # the values behind the mark are checked as any config's
    bad.write_bytes(bom + b"[vad]\ngate_db = 99.0\n")
    rc, _, err = run_cli("analyze", short_wav, "--config", bad, "--json", tmp_path / "t.json")
    _one_line(rc, err)
    assert "vad.gate_db=99.0 must be within 0..60 dB" in err, err
    moments = tmp_path / "m.toml"  # the commands that read [moments] share the reader
    moments.write_bytes(bom + b"[moments]\nmax_total = 0\n")
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    rc, _, err = run_cli("moments", "1", "--config", moments, "--store", store)
    _one_line(rc, err)
    assert "moments.max_total=0 must be a whole number within 1..500" in err, err


def test_an_unknown_config_key_that_looks_like_a_known_one_is_shown_quoted(tmp_path, short_wav):
    cfg = tmp_path / "c.toml"  # a space after the name, a zero-width space pasted into it
    cfg.write_text('[vad]\n"floor_window_s " = 8.0\n"gate_db\\u200b" = 9.0\n', encoding="utf-8")
    rc, _, err = run_cli("analyze", short_wav, "--config", cfg, "--json", tmp_path / "s.json")
    _one_line(rc, err)  # before: "unknown key(s) in [vad]: floor_window_s , gate_db\u200b; known: ..., floor_window_s"
    assert "unknown key(s) in [vad]: 'floor_window_s ', 'gate_db\\u200b'; known: " in err, err
    cfg.write_text('[moments]\n"max_total " = 3\n')
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    rc, _, err = run_cli("moments", "1", "--config", cfg, "--store", store)
    _one_line(rc, err)
    assert "unknown key(s) in [moments]: 'max_total '; known: " in err, err


def test_a_config_naming_thousands_of_speakers_pitch_ranges_is_refused(tmp_path, short_wav):
    from prosody.config import MAX_PITCH_RANGES
    many = tmp_path / "many.toml"  # 700 kB, under the 1 MiB a config may hold
    many.write_text("".join(f"[pitch_by_speaker.s{i}]\nfmin_hz = 75\nfmax_hz = 400\n" for i in range(15_000)))
    rc, _, err = run_cli("analyze", short_wav, "--config", many, "--json", tmp_path / "s.json")
    _one_line(rc, err)  # before: analysed, with 15,000 warnings (one per unused range; 45,000 lines of `show`)
    assert f"[pitch_by_speaker] names 15,000 speakers; at most {MAX_PITCH_RANGES} are taken" in err, err
    assert not (tmp_path / "s.json").exists()
    enough = tmp_path / "enough.toml"  # as many as are taken: analysed, the unused ones said
    enough.write_text("[pitch_by_speaker.client]\nfmin_hz = 75\nfmax_hz = 400\n" + "".join(
        f"[pitch_by_speaker.s{i}]\nfmin_hz = 75\nfmax_hz = 400\n" for i in range(MAX_PITCH_RANGES - 1)))
    rc, _, err = run_cli("analyze", short_wav, "--config", enough, "--json", tmp_path / "s.json", "--quiet",
                         "--no-progress")
    assert rc == 0, err
    assert err.count("was not used") == MAX_PITCH_RANGES - 1, err


# -- 2. a manifest cell over csv's limit -----------------------------------------------------------------------

@pytest.mark.parametrize("where", ["header", "row", "quoted over lines"])
def test_a_manifest_cell_longer_than_csv_takes_is_one_line_naming_its_line(tmp_path, short_wav, where):
    (tmp_path / "a.wav").write_bytes(short_wav.read_bytes())
    huge = "x" * (csv.field_size_limit() + 10)
    text = {"header": f"file,{huge}\na.wav\n",
            "row": f"file,notes\na.wav,fine\na.wav,{huge}\n",
            "quoted over lines": 'file,notes\na.wav,"' + "x\n" * 70_000 + '"\n'}[where]
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    rc, _, err = run_cli("batch", manifest, "--store", tmp_path / "store", "--table", tmp_path / "t", "--jobs", "1",
                         "--no-progress")
    _one_line(rc, err)  # before: internal error (Error: field larger than field limit (131072)), exit 1
    line = {"header": 1, "row": 3, "quoted over lines": 2}[where]  # the line where the record starts
    assert f"m.csv line {line}: a cell of more than 131,072 characters" in err, err
    assert not (tmp_path / "store").exists() and not (tmp_path / "t.csv").exists()  # refused before any work


def test_a_fifo_named_csv_that_a_glob_matches_is_refused_not_read_for_ever(tmp_path, short_wav):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.wav").write_bytes(short_wav.read_bytes())
    os.mkfifo(folder / "x.csv")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:  # before: the batch read the FIFO as a manifest, waiting for a writer for ever, before any work
        r = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                            "batch", str(folder / "*"), "--store", str(tmp_path / "store"), "--table",
                            str(tmp_path / "t"), "--jobs", "1", "--no-progress"],
                           capture_output=True, text=True, env=env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("batch hung reading a FIFO named x.csv")
    _one_line(r.returncode, r.stderr)
    assert f"manifest {folder / 'x.csv'} is a FIFO (named pipe), not a regular file" in r.stderr, r.stderr


def test_a_manifest_over_64_mib_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import prosody.batch.runner as runner
    from prosody.errors import InputError
    m = tmp_path / "m.csv"
    m.write_text("file,notes\n" + "a.wav,some notes\n" * 1000)
    monkeypatch.setattr(runner, "MANIFEST_MAX_BYTES", 1000)  # 64 MiB read as 1,000 bytes: the same rule, fast
    with pytest.raises(InputError, match=r"manifest .*m.csv is 17011 bytes, more than such a file holds .*; split "
                                         r"it into several manifests"):
        runner.read_manifest(m)  # before: read whole (a 160 MB one took 57 s and 2.1 GB of memory)
    monkeypatch.undo()
    assert len(runner.read_manifest(m)) == 1000  # under the limit: read (a row each)


def test_a_manifest_row_short_of_cells_is_told_to_give_the_empty_ones_not_to_quote_a_comma(tmp_path):
    from prosody.batch.runner import read_manifest
    from prosody.errors import InputError
    m = tmp_path / "m.csv"
    m.write_text("file,client,notes\na.wav\n")  # hand-written: the trailing empty cells left out
    with pytest.raises(InputError) as info:
        read_manifest(m)
    assert str(info.value).endswith("line 2: 1 cells, the header has 3 (file, client, notes); give every column "
                                    "its cell, empty ones too (a.wav,,), so that no cell is read under another "
                                    "column"), info.value  # before: "quote a cell that holds a comma" (it has none)
    m.write_text("file,client\na.wav,late, tired\n")  # one cell too many: the comma hint, as before
    with pytest.raises(InputError, match="3 cells, the header has 2 .*quote a cell that holds a comma"):
        read_manifest(m)


def test_a_batch_over_a_glob_goes_on_when_run_again_past_its_own_table(tmp_path, short_wav, monkeypatch):
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "a.wav").write_bytes(short_wav.read_bytes())
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    rc, out, err = run_cli("batch", "s*/**", "**/*.wav", "**", "--store", store, "--jobs", "1", "--no-progress")
    assert rc == 0 and "1 analysed" in out, (out, err)
    assert (tmp_path / "prosody-batch.csv").exists()  # the default table, where it ran: inside the pattern
    # the same command again, as the docs say to go on after a stop: the glob now matches the table
    rc, out, err = run_cli("batch", "s*/**", "**/*.wav", "**", "--store", store, "--jobs", "1", "--no-progress")
    assert rc == 0, err  # before: "manifest prosody-batch.csv: unknown column(s) session_id, uid, ..." (100+ names)
    # and the store's own files, inside the pattern too, are no recordings (before: 4 failed: sessions.db, ...)
    assert "0 analysed, 1 skipped (already done), 0 failed" in out and "failed:" not in out, out
    # named as a manifest (or matched under another --table): said to be a batch's table, in one short line
    rc, _, err = run_cli("batch", "prosody-batch.csv", "--store", store, "--table", "other", "--no-progress")
    _one_line(rc, err)
    assert "prosody-batch.csv is a table of sessions that `prosody batch` wrote (--table), not a manifest" in err
    (tmp_path / "u.csv").write_text("file,a,b,c,d,e,f,g,h,i,j\n")
    rc, _, err = run_cli("batch", "u.csv", "--store", store, "--table", "other", "--no-progress")
    _one_line(rc, err)
    assert "unknown column(s) a, b, c, d, e, f, g, h and 2 more; known: file, file2" in err, err


def test_a_duplicate_listed_with_another_client_says_its_client_was_not_stored(tmp_path, short_wav):
    (tmp_path / "a.wav").write_bytes(short_wav.read_bytes())
    os.link(tmp_path / "a.wav", tmp_path / "h.wav")  # the same bytes under another name: a link, a copy
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,client\na.wav,C1\n./a.wav,C1\nh.wav,C2\n")
    store = tmp_path / "store"
    rc, out, err = run_cli("batch", manifest, "--store", store, "--table", tmp_path / "t", "--jobs", "1",
                           "--no-progress")
    assert rc == 0, err
    assert f"{tmp_path / 'h.wav'}: same as {tmp_path / 'a.wav'} (session 1)" in out, out  # ./a.wav: the same job
    # before: nothing said that h.wav's row named client C2, which no session has (its table row says C1)
    assert "with other metadata than the stored session's" in out and f"{tmp_path / 'h.wav'}: session 1: client" \
        in out, out
    with sqlite3.connect(store / "sessions.db") as db:
        assert db.execute("SELECT client FROM sessions").fetchall() == [("C1",)]
    same = tmp_path / "same.csv"  # the same metadata: the duplicate alone is said
    same.write_text("file,client\na.wav,C1\nh.wav,C1\n")
    rc, out, err = run_cli("batch", same, "--store", tmp_path / "s2", "--table", tmp_path / "t2", "--jobs", "1",
                           "--no-progress")
    assert rc == 0 and "same as" in out and "other metadata" not in out, out


# -- 3. a recording's modification time that is no date ----------------------------------------------------

def _far_mtime_folder(tmp_path: Path, when: int) -> Path:
    """A folder whose file system keeps modification time ``when`` (s from 1970): tmpfs keeps 64-bit times
    (ext4 stops at 2446 and turns year 10000 into that)."""
    for base in (Path("/dev/shm"), tmp_path):
        if not base.is_dir() or not os.access(base, os.W_OK):
            continue
        probe = base / f"prosody-h9-{os.getpid()}-{time.monotonic_ns()}"
        probe.mkdir()
        f = probe / "probe"
        f.write_bytes(b"")
        try:
            os.utime(f, (when, when))
            if os.stat(f).st_mtime == when:
                f.unlink()
                return probe
        except (OSError, OverflowError, ValueError):
            pass
        f.unlink()
        probe.rmdir()
    pytest.skip(f"no file system here keeps a modification time of {when} s from 1970")


@pytest.fixture
def year_10000(tmp_path):
    folder = _far_mtime_folder(tmp_path, 253402300800)  # 10000-01-01T00:00:00 UTC
    yield folder, 253402300800
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


def _stored_dates(store: Path) -> list:
    with sqlite3.connect(store / "sessions.db") as db:
        return [r[0] for r in db.execute("SELECT recorded_at FROM sessions ORDER BY id")]


def test_a_recording_dated_year_10000_is_saved_without_a_date(tmp_path, short_wav, year_10000):
    folder, when = year_10000
    wav = folder / "rec.wav"
    wav.write_bytes(short_wav.read_bytes())
    os.utime(wav, (when, when))
    store = tmp_path / "store"
    rc, _, err = run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err  # before: internal error (ValueError: year 10000 is out of range), nothing saved
    assert "saved as session 1" in err and "is no date (beyond years 1-9999), so the session has no date" in err
    assert "`prosody edit 1 --date YYYY-MM-DD[THH:MM]` sets it" in err, err
    assert _stored_dates(store) == [None]
    # batch: the file failed (its hash cache key, the mtime in ns, is past SQLite's INTEGER); saved now, no date
    bstore = tmp_path / "bstore"
    rc, out, err = run_cli("batch", wav, "--store", bstore, "--table", tmp_path / "t", "--jobs", "1", "--no-progress")
    assert rc == 0, err  # before: failed: internal error (OverflowError: Python int too large ... INTEGER)
    assert "1 analysed" in out and "so the session has no date" in err, (out, err)
    assert _stored_dates(bstore) == [None]
    rc, out, err = run_cli("batch", wav, "--store", bstore, "--table", tmp_path / "t", "--jobs", "1", "--no-progress")
    assert rc == 0 and "1 skipped (already done)" in out, (out, err)  # found again by its content
    # import of a session JSON (no date of its own) whose file is dated so: the default date is none
    doc = folder / "s.json"
    assert run_cli("analyze", short_wav, "--json", doc, "--quiet", "--no-progress")[0] == 0
    os.utime(doc, (when, when))
    rc, out, err = run_cli("import", doc, "--store", store)
    assert rc == 0, err  # before: internal error (ValueError: year 10000 is out of range)
    assert _stored_dates(store) == [None, None]


@pytest.mark.parametrize("when, listed", [(0, "1969-12-31"), (315532800, "1979-12-31")])  # Unix's and FAT's epochs
def test_a_recording_from_a_clock_never_set_is_saved_without_a_date_and_said(tmp_path, short_wav, when, listed):
    wav = tmp_path / "rec.wav"
    wav.write_bytes(short_wav.read_bytes())
    os.utime(wav, (when, when))
    store = tmp_path / "store"
    env_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        rc, _, err = run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress")
        assert rc == 0, err
        assert "is before any digital recording" in err and "so the session has no date" in err, err
        assert _stored_dates(store) == [None]  # before: 1969-12-31T23:59:52 (1970-01-01 less 8 s)
        rc, out, _ = run_cli("sessions", "--store", store)
        assert rc == 0 and listed not in out
        # a date typed is taken as it is, without a word
        rc, _, err = run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress", "--date",
                             "2026-12-04T10:00")
        assert rc == 0 and "warning" not in err, err
        assert _stored_dates(store) == [None, "2026-12-04T10:00:00"]
    finally:
        if env_tz is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = env_tz
        time.tzset()


def test_a_recording_dated_after_this_machines_clock_keeps_its_date_and_says_so():
    from datetime import datetime
    from prosody.formats.bundle import started_from_mtime
    now = datetime(1970, 1, 2)  # this machine's clock set back (faketime '1970-01-02')
    mtime = datetime(2026, 12, 4, 10, 0, 8).timestamp()
    when, why = started_from_mtime(mtime, 8.0, now=now, what="rec.wav")
    assert when == "2026-12-04T10:00:00"  # the file's date is kept: which clock is wrong is not known
    assert why.startswith("rec.wav's modification time, 2026-12-04 10:00, is after this machine's clock "
                          "(1970-01-02 00:00): one of the two clocks is wrong"), why
    assert started_from_mtime(mtime, 8.0, now=datetime(2026, 12, 4, 10, 1)) == ("2026-12-04T10:00:00", None)


def test_a_machine_clock_in_1970_under_faketime_saves_with_the_files_date(tmp_path, short_wav):
    import shutil
    if shutil.which("faketime") is None:
        pytest.skip("faketime is not installed (apt-get install faketime)")
    wav = tmp_path / "rec.wav"
    wav.write_bytes(short_wav.read_bytes())
    t = 1796378400  # 2026-12-04T10:00:00 UTC
    os.utime(wav, (t, t))
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TZ": "UTC"}
    r = subprocess.run(["faketime", "1970-01-02 00:00:00", sys.executable, "-c",
                        "import sys; from prosody_cli.main import main; sys.exit(main())", "analyze", str(wav),
                        "--save", "--store", str(store), "--quiet", "--no-progress"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "is after this machine's clock (1970-01-02 00:00): one of the two clocks is wrong" in r.stderr, r.stderr
    assert _stored_dates(store) == ["2026-12-04T09:59:52"]


# -- 4. --until a minute includes that minute ----------------------------------------------------------------

def test_until_a_minute_includes_the_sessions_listed_at_that_minute(tmp_path, short_wav):
    store = tmp_path / "store"
    for when in ("2026-12-04T16:19:11", "2026-12-04T16:20:00", "2026-12-04T17:05:00"):
        assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress", "--date",
                       when)[0] == 0
    rc, out, _ = run_cli("sessions", "--store", store)
    assert rc == 0 and "2026-12-04 16:19" in out  # listed to the minute

    def listed(*argv):
        rc, out, err = run_cli("sessions", "--store", store, *argv)
        assert rc == 0, err
        return [int(line.split()[0]) for line in out.splitlines()[3:] if line.strip()]

    assert listed("--until", "2026-12-04T16:19") == [1]  # before: [] (16:19:00 < 16:19:11)
    assert listed("--until", "2026-12-04 16:19") == [1]
    assert listed("--until", "2026-12-04T16:18") == []
    assert listed("--until", "2026-12-04T16") == [1, 2]  # to the hour: that hour
    assert listed("--until", "2026-12-04T16:19:10") == []  # to the second: as typed
    assert listed("--until", "2026-12-04T16:19:11") == [1]
    assert listed("--until", "2026-12-04") == [1, 2, 3]  # a date: that day, as before
    assert listed("--since", "2026-12-04T16:19:05", "--until", "2026-12-04T16:19") == [1]  # was "after --until"
    assert listed("--until", "9999-12-31T23:59") == [1, 2, 3]  # its minute's end is past year 9999
    env_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:  # a zone: converted to local time first, then its minute
        assert listed("--until", "2026-12-04T21:19+05:00") == [1]
        assert listed("--until", "2026-12-04T21:18+05:00") == []
    finally:
        if env_tz is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = env_tz
        time.tzset()
    rc, _, err = run_cli("sessions", "--store", store, "--since", "2026-12-04T16:20", "--until", "2026-12-04T16:19")
    _one_line(rc, err)
    assert "is after --until" in err


def test_a_session_dated_by_its_day_alone_spans_that_day_in_since_and_until(tmp_path, short_wav):
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress", "--date",
                   "2026-12-04")[0] == 0  # stored as "2026-12-04": the day, no time

    def listed(*argv):
        rc, out, err = run_cli("sessions", "--store", store, *argv)
        assert rc == 0, err
        return [int(line.split()[0]) for line in out.splitlines()[3:] if line.strip()]

    assert listed("--since", "2026-12-04T00:00") == [1]  # before: [] ("2026-12-04" sorted before "...T00:00:00")
    assert listed("--since", "2026-12-04T09:00") == [1]  # its day runs past 09:00
    assert listed("--until", "2026-12-03T23:59") == []   # the day before: not (taken once a minute was a span)
    assert listed("--until", "2026-12-04T00:00") == [1]
    assert listed("--since", "2026-12-05T00:00") == [] and listed("--since", "2026-12-05") == []
    assert listed("--since", "2026-12-04", "--until", "2026-12-04") == [1]


@pytest.fixture
def tz_24_hours_off():
    """TZ=UTC+24: valid to the C library (which holds 24 h), refused by Python's datetime (under 24 h)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC+24"
    time.tzset()
    try:
        from datetime import datetime
        datetime.now().astimezone()
    except ValueError:
        pass
    else:
        pytest.skip("this C library does not take TZ=UTC+24 as 24 hours from UTC")
    yield
    if old is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_a_time_zone_24_hours_from_utc_is_said_not_an_internal_error(tmp_path, short_wav, tz_24_hours_off):
    out = tmp_path / "s.json"
    rc, _, err = run_cli("live", "--input", short_wav, "--plain", "--speed", "max", "--output", out)
    _one_line(rc, err)  # before: internal error (ValueError: offset must be a timedelta strictly between ...)
    assert "this machine's time zone (TZ='UTC+24') lies 24 hours or more from UTC" in err, err
    assert list(tmp_path.iterdir()) == []
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0  # works
    rc, _, err = run_cli("sessions", "--store", store, "--since", "2026-12-04T00:00+05:00")
    _one_line(rc, err)  # before: "date '2026-12-04T00:00+05:00': expected YYYY-MM-DD or ..." (the date is fine)
    assert "date '2026-12-04T00:00+05:00' names a time zone, and this machine's time zone (TZ='UTC+24')" in err
    rc, out, err = run_cli("sessions", "--store", store, "--since", "2000-01-01T00:00")  # no zone typed: works
    assert rc == 0 and out.startswith("1 session"), err


# -- 5. a float recording far over full scale ------------------------------------------------------------------

def test_a_float_recording_far_over_full_scale_is_said(tmp_path, fixture_dialogue):
    audio, _ = fixture_dialogue
    sr = 16000
    part = audio[: 8 * sr]
    loud = tmp_path / "loud.wav"
    sf.write(loud, part * 1000, sr, subtype="FLOAT")
    rc, _, err = run_cli("analyze", loud, "--json", tmp_path / "loud.json", "--quiet", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "loud.json").read_text())
    over = [w for w in doc["warnings"] if "times full scale" in w]
    peaks = np.abs(part).max(axis=0) * 1000
    assert len(over) == 2, doc["warnings"]  # before: none, and the levels read +35 dBFS as right
    for ch, w in enumerate(over, 1):
        assert w.startswith(f"{loud} channel {ch} holds samples of up to {peaks[ch - 1]:.3g} times full scale"), w
        assert "its levels in dBFS read at least" in w
    assert doc["measures"]["baseline"]["speakers"]["therapist"]["level_median_db"] > 20  # the figure it warns of
    plain = tmp_path / "plain.wav"  # the same at full scale and a little over: nothing said
    sf.write(plain, part * (1.9 / float(np.abs(part).max())), sr, subtype="FLOAT")
    rc, _, err = run_cli("analyze", plain, "--json", tmp_path / "plain.json", "--quiet", "--no-progress")
    assert rc == 0, err
    assert not [w for w in json.loads((tmp_path / "plain.json").read_text())["warnings"] if "full scale" in w]


# -- 6. numbers typed in digits other than 0-9, or with underscores --------------------------------------------

@pytest.mark.parametrize("typed", ["1_0", "\uff13", "\u0663", "\u0660.\u0665"])  # 10, full-width 3, Arabic 3, 0.5
def test_a_replay_speed_in_other_digits_is_refused_as_other_options_are(tmp_path, short_wav, typed):
    out = tmp_path / "s.json"
    rc, _, err = run_cli("live", "--input", short_wav, "--plain", "--output", out, "--speed", typed, "--duration", "0.5")
    _one_line(rc, err)  # before: "1_0" replayed at 10 x, "٣" and "３" at 3 x, without a word
    assert f"--speed {typed!r}: give a number (digits 0-9" in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("typed", ["1_0", "\uff13", "\u0663", "\u0660.\u0665"])
def test_a_moment_weight_in_other_digits_is_refused_as_other_options_are(tmp_path, short_wav, typed):
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    rc, _, err = run_cli("moments", "1", "--weight", f"silence={typed}", "--store", store)
    _one_line(rc, err)  # before: silence weighted 10 for "1_0" (float() reads it), 3 for "٣"
    assert f"--weight 'silence={typed}': expected KIND=NUMBER (digits 0-9)" in err, err
    rc, _, err = run_cli("moments", "1", "--weight", "silence=0.5", "--weight", "note=1e0", "--store", store)
    assert rc == 0, err  # what a number is elsewhere is taken as before
