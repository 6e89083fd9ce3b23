"""Hostile sweep 49 (docs/store.md "Hostile sweep 49"): sweep 48's leftovers, then fresh hostile inputs.

1. `batch DIR 2>&1 | head -1`: the progress line that met the closed pipe left run_batch, which stopped after the
   first recording: one saved, the rest not analysed, no table, nothing said, exit 1. Now the lines are let go and
   the batch goes on: every recording saved, the ledger and the table complete, exit 1 (its lines were cut, as
   `analyze --save` says it since sweep 48).
2. A CAF file cut short (its 'data' chunk's size says 7.5 s) was read short with no word. Now "is truncated".
3. `trend -o PAGE | head` and `compare -o PAGE | head`: the table was printed first, and its reader gone ended the
   command before the page was written. Now the page is written first.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import run_cli
from tests.test_sweep_hostile43 import FIXTURES
from tests.test_sweep_hostile48 import assert_cut_in_half_said

QUIET = ("--quiet", "--no-progress")
RECORDING = FIXTURES / "mono_therapist.wav"
ROOT = Path(__file__).resolve().parent.parent


def _recordings(folder: Path, n: int) -> list[Path]:
    """``n`` different recordings (the fixture at other levels: other audio, so none is a duplicate)."""
    folder.mkdir()
    x, rate = sf.read(RECORDING)
    paths = [folder / f"r{i}.wav" for i in range(n)]
    for i, p in enumerate(paths):
        sf.write(p, x * (1.0 + 0.1 * (i + 1)), rate)
    return paths


def _shell(command: str, cwd: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=cwd, env=env, timeout=300).returncode


# -- 1. batch's lines meeting a closed reader -------------------------------------------------------------------

@pytest.mark.parametrize("redirect", ["2>&1", "2>&1 >/dev/null"])  # both streams cut; standard error alone
def test_a_batch_whose_reader_goes_analyses_and_saves_every_recording(tmp_path, redirect):
    """Before: `batch in 2>&1 | head -1` read "3 of 3 recordings to analyse", and the next line's broken pipe
    stopped the batch: 1 session saved, 2 recordings not analysed, no table, exit 1. Now 3 sessions, 3 rows in
    the ledger and the table, exit 1 (the lines were cut)."""
    _recordings(tmp_path / "in", 3)
    rc = _shell(f"{sys.executable} -m prosody_cli.main batch in --store st --table tb --no-progress -j 1 "
                f"{redirect} | head -1 >/dev/null", tmp_path)
    assert rc == 1
    assert run_cli("sessions", "--store", tmp_path / "st")[1].startswith("3 sessions\n")
    with sqlite3.connect(tmp_path / "st" / "batch.sqlite") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert tables
        assert max(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables) == 3
    assert len((tmp_path / "tb.csv").read_text().strip().splitlines()) == 1 + 3


# -- 2. a CAF cut short ------------------------------------------------------------------------------------------

def test_a_caf_cut_short_is_said_truncated(tmp_path):
    """Before: a 7.50 s CAF (16-bit PCM, its 'data' chunk's size written) cut to half its bytes: libsndfile refuses
    it ("malformed"), FFmpeg decoded 3.75 s with no error and no word. Now "is truncated: its header says 7.50 s".
    The whole file: no warning."""
    av = pytest.importorskip("av")
    rate, seconds = 16000, 7.5
    t = np.arange(int(seconds * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)[None, :]
    whole = tmp_path / "w.caf"
    with av.open(str(whole), "w", format="caf") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(x, format="s16", layout="mono")
        frame.rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    assert_cut_in_half_said(whole, tmp_path / "cut.caf", seconds=seconds, header_s="7.50", tolerance_s=0.01)


# -- 3. trend -o and compare -o whose table's reader goes ----------------------------------------------------------

def _reader_gone(argv: list, cwd: Path) -> int:
    """``prosody ARGV | head -0``: standard output's reader closed before the command writes its first line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", *map(str, argv)], cwd=cwd, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.close()
    return p.wait(timeout=120)


@pytest.mark.parametrize("argv", [["trend", "--therapist", "A"], ["compare", "1", "2"]])
def test_a_page_asked_for_is_written_when_the_tables_reader_goes(tmp_path, argv):
    """Before: `trend --therapist A -o t.html | head -0` (or `compare 1 2 -o`) printed its table first, and the
    broken pipe ended the command there: exit 1, no t.html. Now the page is written first: exit 1 (the table was
    cut), the page there, as written with standard output read."""
    store = tmp_path / "st"
    for path in _recordings(tmp_path / "in", 2):
        assert run_cli("analyze", path, "--save", "--store", store, "--therapist", "A", *QUIET)[0] == 0
    page = tmp_path / "page.html"
    assert _reader_gone([*argv, "--store", store, "-o", page], tmp_path) == 1
    assert page.is_file() and "</html>" in page.read_text()
    page.unlink()
    assert run_cli(*argv, "--store", store, "-o", page)[0] == 0 and page.is_file()
