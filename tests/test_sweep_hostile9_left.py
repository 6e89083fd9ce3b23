"""The leftovers of hostile sweep 9 (docs/store.md, "Hostile sweep 9, its leftovers"), through the real CLI
where it can be (one clear line on stderr, a non-zero exit, no traceback; every file under tmp_path). Each
defect with what happened before and what happens now:

1. A session saved without a date (a recording dated before 1980 or after year 9999 is saved so) sorted after
   every dated one, so ``trend --last N`` counted it among the latest N, and the compare/trend page labelled it
   with the day it was saved. ``--last N`` now takes the last N dated sessions and says which undated ones it
   left out; every listing keeps them after the dated ones (said by trend); the page labels them "(no date)".
2. An unreferenced frames file dated after this machine's clock (a killed save, then the clock set back) was
   never an hour (or a minute) old, so no delete's sweep erased it. It is erased now whatever its date, while no
   save holds the frames folder's lock (held shared from a save's frames file to its commit).
3. A live capture under a machine clock before 1980 dated its session so on import (1970-01-02), without a
   word; it is imported without a date now, said with the command that sets one.
4. ``batch --jobs 1000`` started 1,000 worker processes; over 4 per core is refused in one line.
5. A FLAC whose header claims 10 hours over 8 s lost its last frame (40 ms) to libsndfile's psf_fseek failure;
   it is read whole through FFmpeg now. A FLAC of no frames without FFmpeg's libraries was "cannot decode ...:
   Internal psf_fseek() failed."; it is "no audio in".
"""
from __future__ import annotations

import json
import os
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


# -- 1. sessions without a date are not the latest -----------------------------------------------------------

def _trend_ids(out: str) -> list[int]:
    return list(dict.fromkeys(int(line.split()[0]) for line in out.splitlines() if line.strip()[:1].isdigit()))


def test_trend_last_n_counts_dated_sessions_only(tmp_path, short_wav):
    store = tmp_path / "store"
    old = tmp_path / "old.wav"
    old.write_bytes(short_wav.read_bytes())
    os.utime(old, (0, 0))  # a recorder whose clock was never set: saved without a date
    save = ("--save", "--store", store, "--quiet", "--no-progress", "--therapist", "ann", "--client", "c1")
    assert run_cli("analyze", short_wav, *save, "--date", "2026-11-20T10:00")[0] == 0  # 1
    assert run_cli("analyze", old, *save)[0] == 0                                      # 2: no date
    assert run_cli("analyze", short_wav, *save, "--date", "2026-11-27T10:00")[0] == 0  # 3
    rc, out, err = run_cli("sessions", "--store", store)
    assert rc == 0 and [int(x.split()[0]) for x in out.splitlines()[3:] if x.strip()] == [1, 3, 2], out
    rc, out, err = run_cli("trend", "--therapist", "ann", "--last", "2", "--store", store, "-o", tmp_path / "t.html")
    assert rc == 0, err
    assert _trend_ids(out) == [1, 3], out  # before: [3, 2] (the undated one counted as the newest)
    assert "session 2 without a date left out of --last 2" in err, err
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", store, "-o", tmp_path / "all.html")
    assert rc == 0 and _trend_ids(out) == [1, 3, 2], out
    assert "session 2 without a date shown after the dated ones" in err, err
    page = (tmp_path / "all.html").read_text()
    assert "#2 (no date)" in page  # before: "#2 2026-12-04", the day it was saved, as if recorded then
    rc, out, err = run_cli("compare", "2", "1", "--store", store)
    assert rc == 0 and "#2 (no date)" in out, out
    # only undated sessions and --last: said, not "no sessions"
    assert run_cli("analyze", old, "--save", "--store", store, "--quiet", "--no-progress", "--therapist", "ann",
                   "--client", "c2")[0] == 0  # 4: no date
    rc, _, err = run_cli("trend", "--therapist", "ann", "--client", "c2", "--last", "1", "--store", store)
    _one_line(rc, err)
    assert "--last 1: the one session of these filters has no date (session 4)" in err, err


# -- 2. frames files a killed save left, dated after this machine's clock ------------------------------------

def test_a_leftover_frames_file_dated_in_the_future_is_swept_unless_a_save_holds_the_folder(tmp_path, short_wav):
    """A save killed while the machine's clock ran a day fast (then set right) left a frames file dated
    tomorrow: by age it was never an hour (nor a minute) old, so no delete's sweep ever erased it. It goes now,
    unless a save is between writing its file and its commit (it holds the frames folder's shared lock)."""
    import sqlite3
    store = tmp_path / "store"
    save = ("--save", "--store", store, "--quiet", "--no-progress")
    for _ in range(2):
        assert run_cli("analyze", short_wav, *save)[0] == 0
    frames = store / "frames"
    with sqlite3.connect(store / "sessions.db") as db:
        (second,) = db.execute("SELECT frames_file FROM sessions WHERE id = 2").fetchone()
    tomorrow = time.time() + 86400
    future = frames / "0123abcd.0a1b2c.npz"   # a killed save's file, dated after the clock
    tmp = frames / ".tmp-0123abcd.0a1b2c.npz.Ab3_x9Zq.npz"  # and its temporary
    young = frames / "4567cdef.0a1b2c.npz"    # written a second ago: a save in progress
    for p in (future, tmp, young):
        p.write_bytes(b"per-frame pitch")
    for p in (future, tmp):
        os.utime(p, (tomorrow, tomorrow))
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert (rc, out) == (0, "deleted session 1\n"), (rc, out, err)
    assert sorted(os.listdir(frames)) == sorted([young.name, second])  # before: the two dated tomorrow kept too
    rc, out, err = run_cli("show", "2", "--store", store)
    assert rc == 0, err
    # a save between its file and its commit (here: its shared lock held) keeps even a file dated tomorrow
    from prosody.store.db import Store, _frames_lock
    future.write_bytes(b"per-frame pitch")
    os.utime(future, (tomorrow, tomorrow))
    with Store(store) as s:
        with _frames_lock(frames, exclusive=False) as held:  # as a save in another process holds it
            assert held
            assert s.gc(min_age_s=60) == []  # it may be that save's file: nothing dated after the clock goes
        assert s.gc(min_age_s=60) == [future.name]  # the save done: an unreferenced file is a dead one
    assert sorted(os.listdir(frames)) == sorted([young.name, second])


# -- 3. a live capture under a machine clock set before 1980 -------------------------------------------------

def _live_json(tmp_path, short_wav, *, faketime: str | None = None) -> Path:
    out = tmp_path / "live.json"
    if faketime is None:
        rc, _, err = run_cli("live", "--input", short_wav, "--speed", "max", "--plain", "--output", out)
        assert rc == 0, err
    else:
        # the wall clock only: a faked monotonic clock (frozen under threads) hung the capture's pacing
        env = {**os.environ, "PYTHONPATH": str(REPO), "TZ": "UTC", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        r = subprocess.run(["faketime", "-f", faketime, sys.executable, "-c",
                            "import sys; from prosody_cli.main import main; sys.exit(main())", "live", "--input",
                            str(short_wav), "--speed", "max", "--plain", "--output", str(out)],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
    return out


def _dates(store: Path) -> list:
    import sqlite3
    with sqlite3.connect(store / "sessions.db") as db:
        return [r[0] for r in db.execute("SELECT recorded_at FROM sessions ORDER BY id")]


@pytest.mark.parametrize("started", ["1970-01-01T00:00:05+00:00", "1979-12-31T23:00:00"])
def test_a_live_capture_started_under_a_clock_before_1980_is_imported_without_a_date(tmp_path, short_wav, started):
    doc_path = _live_json(tmp_path, short_wav)
    doc = json.loads(doc_path.read_text())
    doc["live"]["started_at"] = started  # as a capture under a machine clock never set writes it
    doc_path.write_text(json.dumps(doc))
    store = tmp_path / "store"
    rc, out, err = run_cli("import", doc_path, "--store", store)
    assert rc == 0, err
    assert _dates(store) == [None]  # before: "1970-01-01T..." (listed first of the client's), without a word
    assert "live capture started at 19" in err and "so the session has no date" in err, err
    assert "`prosody edit 1 --date YYYY-MM-DD[THH:MM]` sets it" in err, err
    rc, out, err = run_cli("import", doc_path, "--store", store, "--new-id", "--date", "2026-12-04T10:00")
    assert rc == 0 and "warning" not in err, err  # a date typed is taken without a word
    assert _dates(store) == [None, "2026-12-04T10:00:00"]


def test_a_live_capture_started_after_1980_keeps_its_start_as_its_date(tmp_path, short_wav):
    doc_path = _live_json(tmp_path, short_wav)
    doc = json.loads(doc_path.read_text())
    doc["live"]["started_at"] = "1980-01-03T09:00:00"
    doc_path.write_text(json.dumps(doc))
    rc, _, err = run_cli("import", doc_path, "--store", tmp_path / "store")
    assert rc == 0 and "warning" not in err, err
    assert _dates(tmp_path / "store") == ["1980-01-03T09:00:00"]


def test_a_live_capture_under_faketime_1970_is_imported_without_a_date(tmp_path, short_wav):
    import shutil
    if shutil.which("faketime") is None:
        pytest.skip("faketime is not installed (apt-get install faketime)")
    doc_path = _live_json(tmp_path, short_wav, faketime="@1970-01-02 00:00:00")  # "@": the clock runs from there
    assert json.loads(doc_path.read_text())["live"]["started_at"].startswith("1970-01-0")
    rc, _, err = run_cli("import", doc_path, "--store", tmp_path / "store")
    assert rc == 0 and "so the session has no date" in err, err
    assert _dates(tmp_path / "store") == [None]


# -- 4. batch --jobs is capped -----------------------------------------------------------------------------

def test_batch_jobs_over_four_per_core_is_refused_in_one_line(tmp_path, short_wav, monkeypatch):
    """``batch --jobs 1000`` over 1,000 files started 1,000 worker processes (about 70 MB each before any
    audio) sharing the cores; over 4 per core is refused now, before any file is read or anything made."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    store, table = tmp_path / "store", tmp_path / "t.csv"
    for n in ("9", "1000", str(10 ** 20)):
        rc, out, err = run_cli("batch", short_wav, "--jobs", n, "--store", store, "--table", table, "--no-progress")
        _one_line(rc, err)
        assert f"--jobs {n}: at most 8 worker processes here (4 per core, 2 cores)" in err, err
    assert not store.exists() and not table.exists()
    from prosody.batch.runner import check_n_jobs
    check_n_jobs(8)  # 4 per core is taken
    rc, out, err = run_cli("batch", short_wav, "--jobs", "8", "--store", store, "--table", table, "--no-progress")
    assert rc == 0, err  # one file: one process (the pool is never larger than the files left)


# -- 5. a FLAC whose header claims 10 hours; a FLAC of no frames -------------------------------------------

def _flac(tmp_path: Path, name: str, *, claim_s: float | None = None, frames: bool = True) -> tuple[Path, np.ndarray]:
    """8 s of the fixture as FLAC; its STREAMINFO length set to ``claim_s`` (0: unknown, as written to a pipe),
    or its audio frames cut away (``frames=False``: what ``ffmpeg -t 0 -f flac -`` writes)."""
    x, sr = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="int16")
    x = x[: 8 * sr]
    out = tmp_path / name
    sf.write(out, x, sr, subtype="PCM_16", format="FLAC")
    b = bytearray(out.read_bytes())
    if not frames:
        pos = 4
        while not b[pos] & 0x80:  # metadata blocks to the last: then the frames, cut away
            pos += 4 + int.from_bytes(b[pos + 1:pos + 4], "big")
        b = b[: pos + 4 + int.from_bytes(b[pos + 1:pos + 4], "big")]
        claim_s = 0
    if claim_s is not None:
        assert b[:4] == b"fLaC" and b[4] & 0x7F == 0  # STREAMINFO first: its 36-bit total at bytes 21.5-26
        v = int.from_bytes(b[18:26], "big")
        b[18:26] = (((v >> 36) << 36) | round(claim_s * sr)).to_bytes(8, "big")
    out.write_bytes(bytes(b))
    return out, x.astype(np.float32) / 32768


def test_a_flac_whose_header_claims_10_hours_is_read_to_its_last_sample(tmp_path):
    pytest.importorskip("av")
    from prosody.engine.sources import AudioFile
    flac, truth = _flac(tmp_path, "claim.flac", claim_s=36000)
    f = AudioFile(flac)
    got = np.concatenate(list(f.blocks(16000)))
    assert got.shape == truth.shape == (128000, 2)  # before: 127360 (the last frame, 40 ms, lost to psf_fseek)
    assert np.array_equal(got, truth)  # lossless: bit for bit
    assert f.warnings == [f"{flac} is truncated, or its header is wrong: header says 36000.00 s, read 8.00 s "
                          "(every frame it holds); analysed the readable part"], f.warnings
    whole, _ = _flac(tmp_path, "whole.flac")  # a FLAC whose header is right stays with libsndfile
    g = AudioFile(whole)
    assert g._backend == "sndfile" and g.subtype == "PCM_16" and sum(len(b) for b in g.blocks(16000)) == 128000
    cut = tmp_path / "cut.flac"  # a FLAC cut short (its header right) goes through FFmpeg too, and is said
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    c = AudioFile(cut)
    n = sum(len(b) for b in c.blocks(16000))
    assert n == 65536  # libsndfile: 65,024 (to its last whole block of 512 before the break)
    assert np.array_equal(np.concatenate(list(AudioFile(cut).blocks(16000))), truth[:n])
    assert c.warnings == [f"{cut} is truncated: header says 8.00 s, read 4.10 s; analysed the readable part "
                          "(decoder: Invalid data found when processing input)"], c.warnings


def test_a_flac_of_no_frames_is_no_audio_not_a_decoding_error(tmp_path, monkeypatch):
    flac, _ = _flac(tmp_path, "zero.flac", frames=False)
    monkeypatch.setitem(sys.modules, "av", None)  # FFmpeg's libraries not installed (with them: as here)
    rc, _, err = run_cli("analyze", flac, "--quiet", "--no-progress")
    _one_line(rc, err)
    assert err == f"prosody: error: no audio in {flac}\n", err  # before: "cannot decode ...: Internal psf_fseek() failed."
