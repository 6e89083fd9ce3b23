"""The leftovers of hostile sweep 9 (docs/store.md, "Hostile sweep 9, its leftovers"), through the real CLI
where it can be (one clear line on stderr, a non-zero exit, no traceback; every file under tmp_path). Each
defect with what happened before and what happens now:

1. A session saved without a date (a recording dated before 1980 or after year 9999 is saved so) sorted after
   every dated one, so ``trend --last N`` counted it among the latest N, and the compare/trend page labelled it
   with the day it was saved. ``--last N`` now takes the last N dated sessions and says which undated ones it
   left out; every listing keeps them after the dated ones (said by trend); the page labels them "(no date)".
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]


def _one_line(rc, err, code=2):
    assert rc == code, (rc, err)
    assert err.startswith("prosody: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err, err


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
    rc, _, err = run_cli("trend", "--therapist", "ann", "--client", "c1", "--until", "2026-11-01", "--last", "1",
                         "--store", store)
    _one_line(rc, err)


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
