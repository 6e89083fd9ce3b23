"""Hostile sweep 8: the leftovers of sweeps 6 and 7, then spreadsheets and the locale (the house way of the
earlier sweeps: one clear line on stderr, a non-zero exit, no traceback; every file under tmp_path). Each
defect with what happened before and what happens now:

1. A FLAC written to a pipe (``ffmpeg ... -f flac - | ...``, ``sox ... -t flac - | ...``: STREAMINFO's length
   is 0, "unknown") lost its last frame: libsndfile seeks at such a file's end and fails ("Internal psf_fseek()
   failed."): 643,072 of the fixture's 643,406 samples were read (21 ms short) and the warning called a whole
   file "decoding stopped at 40.19 s". Such a file is now read through FFmpeg (``av``) where installed: every
   sample, no warning, the same analysis as the fixture's; without ``av`` the warning says what it is and how
   to read it whole.
2. A 40- to 64-letter speaker name without a space made the tables of figures by speaker (and the phases
   table's headers) wider than their sections (phases: 3804 px in a 1000 px section), and a 200-letter client
   the trend page's table 5663 px wide. Typed names in those tables now wrap in their cells.
3. A delete killed after its commit left the session's frames file, and ``delete N`` run again kept it while
   it was under a minute old (it might have been a save in progress): the delete now names the file it is
   erasing (a marker made before its commit), and the next open of the store erases exactly that file, young
   or old.
4. CSV cells of typed text were guarded at their first character only: a spreadsheet that splits at ";" (Excel
   where the decimal mark is a comma) or at tabs made "ann;=cmd|' /C calc'!A0;" or the batch table's speakers
   and tags (joined with ";") two cells, the second a formula. The guard now goes after each separator and
   line break inside the text too, and is undone exactly when the table is read back.
5. The environment: COLUMNS=0 made sessions/show print nothing (exit 0) and COLUMNS=100000000 hung live's
   view; HOME= put the default store at /.local/share/prosody, and a HOME that does not exist was made; a
   standard output that is not UTF-8 was "internal error (UnicodeEncodeError)" in most commands; LC_ALL=C
   with PYTHONUTF8=0 called a UTF-8 name "bytes that are not UTF-8 text".
Also sweep 7's leftover VBR MP3 without a length header (read by libsndfile up to its guess): read whole by
FFmpeg where installed.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import FIXTURES, count_rows, one_line_error, run_cli

DIALOGUE = FIXTURES / "dialogue.flac"
REPO = Path(__file__).resolve().parents[1]


_one_line = one_line_error


# -- 1. a FLAC written to a pipe ----------------------------------------------------------------------------

def _unsized_flac(tmp_path: Path, how: str) -> Path:
    """The fixture as a FLAC whose STREAMINFO gives no length, as a writer to a pipe leaves it: ffmpeg's own
    (``ffmpeg -i F -f flac - | cat > x.flac``), or libsndfile's FLAC with the length zeroed (no ffmpeg needed)."""
    out = tmp_path / f"pipe-{how}.flac"
    if how == "ffmpeg":
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg is not installed")
        r = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(DIALOGUE), "-f", "flac", "-"],
                           capture_output=True, timeout=120)  # to a pipe: it cannot go back to write the length
        assert r.returncode == 0, r.stderr
        out.write_bytes(r.stdout)
    else:
        x, sr = sf.read(DIALOGUE, dtype="int16")
        sf.write(out, x, sr, subtype="PCM_16", format="FLAC")
        b = bytearray(out.read_bytes())
        assert b[:4] == b"fLaC" and b[4] & 0x7F == 0  # STREAMINFO first: its 36-bit total at bytes 21.5-26
        v = int.from_bytes(b[18:26], "big")
        b[18:26] = ((v >> 36) << 36).to_bytes(8, "big")
        out.write_bytes(bytes(b))
    assert sf.info(out).frames >= 1 << 62  # libsndfile's "length unknown"
    return out


@pytest.mark.parametrize("how", ["ffmpeg", "zeroed"])
def test_a_flac_written_to_a_pipe_is_read_whole_without_a_word(tmp_path, how):
    pytest.importorskip("av")
    from prosody.engine.sources import AudioFile
    flac = _unsized_flac(tmp_path, how)
    truth, _ = sf.read(DIALOGUE, dtype="float32", always_2d=True)
    f = AudioFile(flac)
    got = np.concatenate(list(f.blocks(16000)))
    assert got.shape == truth.shape == (643406, 2)  # before: 643072 (the last frame, 21 ms, lost)
    assert np.array_equal(got, truth)  # lossless: the fixture's samples, bit for bit
    assert f.warnings == [] and f.subtype is None  # decoded by FFmpeg: never read again through libsndfile
    assert np.array_equal(f.read(640000, 650000), truth[640000:])  # a seek near its end, too
    rc, _, err = run_cli("analyze", flac, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0 and err == "", err  # before: "decoding stopped at 40.19 s (Internal psf_fseek() failed.)"
    rc, _, err = run_cli("analyze", DIALOGUE, "--json", tmp_path / "ref.json", "--quiet", "--no-progress")
    assert rc == 0, err
    doc, ref = (json.loads((tmp_path / n).read_text()) for n in ("o.json", "ref.json"))
    for d in (doc, ref):
        d.pop("audio"), d.pop("sources")
    assert doc["warnings"] == [] and doc == ref  # the analysis of the whole recording, to the last figure


def test_without_ffmpeg_a_flac_written_to_a_pipe_is_said_for_what_it_is(tmp_path, monkeypatch):
    from prosody.engine.sources import AudioFile
    flac = _unsized_flac(tmp_path, "zeroed")
    monkeypatch.setitem(sys.modules, "av", None)  # FFmpeg's libraries not installed
    f = AudioFile(flac)
    got = sum(len(b) for b in f.blocks(16000))
    assert 643406 - 4096 <= got < 643406  # libsndfile's reading: all but its last frame (its blocks: 4096)
    assert f.warnings == [
        f"{flac} is a FLAC without its length in its header (written to a pipe); libsndfile reads it but its "
        f"last frame (at most 256 ms): {got / 16000:.2f} s were analysed. To read it whole, install FFmpeg's "
        f"libraries (`pip install av`) or rewrite it with its length, e.g. `ffmpeg -i {flac} -c:a flac "
        "whole.flac`"], f.warnings  # before: "decoding stopped at 40.19 s (Internal psf_fseek() failed.)"


def test_a_truncated_flac_written_to_a_pipe_is_still_said_truncated(tmp_path):
    pytest.importorskip("av")
    flac = _unsized_flac(tmp_path, "zeroed")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(flac.read_bytes()[:700_000])
    rc, _, err = run_cli("analyze", cut, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0, err
    (warning,) = json.loads((tmp_path / "o.json").read_text())["warnings"]
    assert warning.startswith(f"{cut}: decoding stopped at ") and "analysed the readable part" in warning


def test_a_variable_bitrate_mp3_without_a_length_header_is_read_whole_through_ffmpeg(tmp_path):
    """libsndfile stops a VBR MP3 without a Xing/Info/VBRI header at its guess of the length (33.58 s of the
    40.25 s of the fixture at 44.1 kHz; sweep 7 said so, and left it). FFmpeg reads it whole, and its samples
    are libmpg123's within 1.3e-6 at the same sample; a constant-bitrate one stays with libsndfile."""
    pytest.importorskip("av")
    from prosody.engine.sources import AudioFile
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: cannot make MP3s without a length header")
    made = {}
    for name, args in (("vbr44.mp3", ["-ar", "44100", "-q:a", "0"]), ("cbr16.mp3", ["-ar", "16000", "-b:a", "64k"])):
        made[name] = tmp_path / name
        r = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(DIALOGUE), "-c:a", "libmp3lame",
                            "-write_xing", "0", *args, str(made[name])], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"ffmpeg cannot encode MP3: {r.stderr.decode(errors='replace').strip()[:200]}")
    with sf.SoundFile(made["vbr44.mp3"]) as f:
        sndfile_n = sum(len(x) for x in f.blocks(65536))
    f = AudioFile(made["vbr44.mp3"])
    got = np.concatenate(list(f.blocks(65536)))
    assert abs(len(got) / 44100 - 40.25) < 0.05 and len(got) > sndfile_n, (len(got), sndfile_n)  # 33.58 s before
    start = 44100 * 5
    with sf.SoundFile(made["vbr44.mp3"]) as g:  # the part both read: the same samples at the same place
        g.seek(start)
        theirs = g.read(44100, dtype="float32", always_2d=True)
    assert np.abs(got[start:start + 44100] - theirs).max() < 1e-5
    rc, _, err = run_cli("analyze", made["vbr44.mp3"], "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0 and err == "", err
    doc = json.loads((tmp_path / "o.json").read_text())
    assert doc["warnings"] == [] and abs(doc["duration_s"] - 40.25) < 0.05, (doc["warnings"], doc["duration_s"])
    assert AudioFile(made["cbr16.mp3"]).subtype is not None  # read whole by libsndfile: left with it


# -- 2. long speaker and client names in the tables of the pages -------------------------------------------

SECTIONS_JS = ("[...document.querySelectorAll('section')].filter(s => s.scrollWidth > s.clientWidth + 1)"
               ".map(s => s.id + ':' + s.scrollWidth)")


def _render(page: Path, shot: Path, width: int) -> dict:
    from tests.test_report import CHROMIUM, _cdp_render
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to check reports in a real browser")
    r = _cdp_render(page, shot, width=width, extra_js=SECTIONS_JS)
    assert r["requests"] == [] and r["console"] == [] and r["exceptions"] == [] and r["log_errors"] == [], r
    return r["facts"]


def test_a_long_speaker_name_wraps_in_the_tables_of_figures(tmp_path, short_wav):
    """A 64-letter therapist and a 40-letter client (the longest speaker name taken is 64) in the session
    page: the tables of figures by speaker (speakers, phases, voice quality) were 1137, 3804 and 1053 px
    wide in their 1000 px sections at 1200 px; they now fit as a table with short names does (at 760 px the
    phases table, nine columns, scrolls as it does with the names 'therapist' and 'client')."""
    long_page, short_page = tmp_path / "long.html", tmp_path / "short.html"
    for store, names, page in ((tmp_path / "s1", ("S" * 64, "C" * 40), long_page),
                               (tmp_path / "s2", ("therapist", "client"), short_page)):
        rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                             "--channels", f"{names[0]}=left,{names[1]}=right")
        assert rc == 0, err
        rc, _, err = run_cli("report", "1", "-o", page, "--store", store)
        assert rc == 0, err
    html = long_page.read_text()
    assert f'<span class="typed">{"S" * 64}</span>' in html  # kept whole: wrapped by the browser only
    for width in (1200, 760):
        long_f = _render(long_page, tmp_path / f"l{width}.png", width)
        short_f = _render(short_page, tmp_path / f"s{width}.png", width)
        assert long_f["scrollWidth"] <= long_f["clientWidth"], long_f
        scrolling = {s.split(":")[0] for s in long_f["extra"]}
        assert scrolling <= {s.split(":")[0] for s in short_f["extra"]}, (long_f["extra"], short_f["extra"])
        assert not scrolling & {"speakers", "voice-quality"}, long_f["extra"]
        if width == 1200:
            assert long_f["extra"] == [], long_f["extra"]  # before: speakers:1137, phases:3804, voice-quality:1053


def test_a_long_client_name_wraps_in_the_trend_table(tmp_path, short_wav):
    store = tmp_path / "store"
    for _ in range(2):
        rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                             "--therapist", "ann", "--client", "W" * 200)  # the longest pseudonym taken
        assert rc == 0, err
    page = tmp_path / "t.html"
    rc, _, err = run_cli("trend", "--therapist", "ann", "-o", page, "--store", store)
    assert rc == 0, err
    for width in (1200, 760):
        f = _render(page, tmp_path / f"t{width}.png", width)
        assert f["scrollWidth"] <= f["clientWidth"] and f["extra"] == [], f  # before: table:5663


# -- 3. a delete killed after its commit, the frames file under a minute old ---------------------------------

KILL_IN_DELETE = r"""
import os, signal, sys
from contextlib import contextmanager
from prosody.store import db as store_db
real_tx = store_db.Store._tx
@contextmanager
def tx(self, **kw):
    with real_tx(self, **kw) as d:
        yield d
        if os.environ["H8_WHEN"] == "before":  # in the transaction: nothing committed
            os.kill(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)  # committed: the session's rows are gone, its frames file not yet
store_db.Store._tx = tx
from prosody_cli.main import main
sys.exit(main())
"""


def _killed_delete(store: Path, when: str) -> int:
    r = subprocess.run([sys.executable, "-c", KILL_IN_DELETE, "delete", "1", "--store", str(store)],
                       capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, "H8_WHEN": when, "PYTHONPATH": str(REPO)})
    return r.returncode


def _saved(tmp_path, short_wav) -> tuple[Path, Path]:
    store = tmp_path / "store"
    rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                         "--therapist", "Therapist-Zyxwv", "--client", "Pseudo-Qwvut")
    assert rc == 0, err
    (frames,) = (store / "frames").iterdir()
    return store, frames


def test_a_delete_killed_after_its_commit_is_finished_by_delete_again_however_young(tmp_path, short_wav):
    """The session saved a moment before (its frames file seconds old): ``delete 1`` again said 'no session
    1' and kept the frames file (per-frame pitch and loudness) for a minute, then until some later delete's
    sweep. It now erases it, says so, exit 0; an unreferenced young file that no delete named (a save in
    progress) is left."""
    store, frames = _saved(tmp_path, short_wav)
    assert time.time() - frames.stat().st_mtime < 60
    assert _killed_delete(store, "after") == -signal.SIGKILL
    assert frames.exists() and count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 0
    assert (store / "frames" / f".deleting-{frames.name}").exists()  # the delete named what it was erasing
    young = store / "frames" / "0123abcd.0a1b2c.npz"  # unreferenced, a second old: a save in progress
    young.write_bytes(b"in progress")
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0 and err == "", (rc, err)  # before: exit 2, "no session '1'", the frames file kept
    assert out == ("no session 1 in the store (deleted already); 1 frames file that no session held (left by an "
                   "interrupted delete or save) erased now\n"), out
    assert sorted(os.listdir(store / "frames")) == [young.name]
    assert not any(b"Zyxwv" in p.read_bytes() for p in store.rglob("*") if p.is_file())


def test_the_next_open_of_the_store_finishes_a_killed_delete(tmp_path, short_wav):
    store, frames = _saved(tmp_path, short_wav)
    assert _killed_delete(store, "after") == -signal.SIGKILL and frames.exists()
    rc, out, err = run_cli("sessions", "--store", store)  # any command that opens the store for writing
    assert rc == 0, err
    assert os.listdir(store / "frames") == []  # before: kept until a delete's sweep, a minute old at least


def test_a_delete_killed_before_its_commit_keeps_the_session_and_its_frames(tmp_path, short_wav):
    store, frames = _saved(tmp_path, short_wav)
    assert _killed_delete(store, "before") == -signal.SIGKILL
    assert count_rows(store / "sessions.db", "SELECT count(*) FROM sessions") == 1
    rc, out, err = run_cli("show", "1", "--store", store)
    assert rc == 0, err
    assert os.listdir(store / "frames") == [frames.name]  # the marker gone, the file its session holds kept
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert (rc, out) == (0, "deleted session 1\n"), (rc, out, err)
    assert os.listdir(store / "frames") == []


# -- 4. CSV opened in a spreadsheet that splits at ";" (or at tabs, or at line breaks) ---------------------------

def _cells_a_spreadsheet_may_see(text: str):
    """Every cell of ``text`` as a spreadsheet may cut it: at "," as CSV says, and at ";" (Excel opens a .csv
    with the system's list separator, ";" where the decimal mark is a comma), at tabs (a tab-separated import),
    at every line break (a quoted field's line break ends the row where the quote is not at the cell's start),
    whatever the quotes; a cell's opening quote dropped."""
    import re
    for line in re.split(r"\r\n|\r|\n", text):
        for sep in (",", ";", "\t"):
            for cell in line.split(sep):
                yield cell[1:] if cell.startswith('"') else cell


def _runs_as_formula(cell: str) -> bool:
    if not cell.startswith(("=", "+", "-", "@")):
        return False
    try:
        float(cell)  # a negative number is a number
    except ValueError:
        return True
    return False


HIDDEN = ("ann;=cmd|' /C calc'!A0;", "couples\t+1+1", "x;@SUM(A1)")


def test_a_formula_after_a_separator_inside_a_typed_name_is_neutralised_in_the_batch_table(tmp_path):
    from prosody.batch.runner import LIST_SEPARATOR, TABLE_COLUMNS, read_table_csv, write_table
    cols = dict(TABLE_COLUMNS)
    rows = []
    for i, name in enumerate(HIDDEN):
        r = {c: None for c in cols}
        r.update(session_id=i + 1, uid=f"u{i}", file=f"/a/rec;=1+1\n-2+3,{i}.wav", therapist=name, client="C-1",
                 speakers=LIST_SEPARATOR.join(("therapist", "=HYPERLINK(A1)")),  # the second speaker's label
                 tags=LIST_SEPARATOR.join(("intake", "-cmd")), duration_s=61.25, warmth_score=-1.5,
                 turn_taking=True)
        rows.append(r)
    (path,) = write_table(rows, tmp_path / "t", parquet=False)
    text = path.read_bytes().decode("utf-8")
    formulas = [c for c in _cells_a_spreadsheet_may_see(text) if _runs_as_formula(c)]
    assert formulas == [], formulas  # before: "=cmd|' /C calc'!A0", "=HYPERLINK(A1)", "-cmd", "@SUM(A1)", "=1+1"...
    back = read_table_csv(path)  # reading back gives what was typed
    assert [r["therapist"] for r in back] == list(HIDDEN)
    assert all(r["speakers"] == "therapist;=HYPERLINK(A1)" and r["tags"] == "intake;-cmd" for r in back)
    assert all(r["file"].startswith("/a/rec;=1+1\n-2+3,") for r in back)
    assert all(r["warmth_score"] == -1.5 and r["duration_s"] == 61.25 for r in back)  # numbers stay numbers
    assert "-1.5" in text.split("\r\n")[1].split(",") and ",61.25," in text  # written bare, not as text


def test_a_formula_after_a_separator_in_a_speaker_label_is_neutralised_in_the_frames_csv(tmp_path, short_wav):
    out = tmp_path / "f.csv"
    rc, _, err = run_cli("analyze", short_wav, "--frames", out, "--quiet", "--no-progress",
                         "--channels", "ann;+1+1=left,client;@SUM(A1)=right")
    assert rc == 0, err
    text = out.read_bytes().decode("utf-8")
    assert [c for c in _cells_a_spreadsheet_may_see(text) if _runs_as_formula(c)] == []
    assert text.split("\r\n")[1].split(",")[1] == "ann;'+1+1"  # its label, guarded


def test_the_guard_is_undone_exactly():
    import random

    from prosody.typed_text import from_spreadsheet_cell, spreadsheet_cell
    rnd = random.Random(8)
    alphabet = "=+-@\t\r\n',;ab"
    for _ in range(20000):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 9)))
        assert from_spreadsheet_cell(spreadsheet_cell(s)) == s, s
    for s in ("therapist", "Zoë", "client 2", "a-b", "x=1", "1.5", "a; b", "tags;intake"):
        assert spreadsheet_cell(s) == s  # ordinary text unchanged


# -- 5. the locale and the terminal's environment --------------------------------------------------------------

def _prosody_env(env: dict, *argv, cwd=None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """``prosody ARGV`` in a fresh process whose environment is ``env`` alone (with PATH and PYTHONPATH)."""
    return subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                           *map(str, argv)], stdout=stdout, stderr=subprocess.PIPE, cwd=cwd, timeout=120,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), **env})


@pytest.fixture(scope="module")
def named_store(tmp_path_factory, short_wav):
    store = tmp_path_factory.mktemp("named") / "store"
    rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                         "--therapist", "\u00c5nn", "--client", "\u03a9mega \u65e5\u672c", "--tag", "r\u00e9sum\u00e9")
    assert rc == 0, err
    return store


def _on_a_terminal(env: dict, *argv) -> tuple[int, bytes]:
    """``prosody ARGV`` with its standard output on a pseudo-terminal: (exit status, what it showed)."""
    master, slave = os.openpty()
    try:
        r = subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                            *map(str, argv)], stdout=slave, stderr=subprocess.PIPE, timeout=120,
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), **env})
        os.close(slave)
        slave = None
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
        assert b"Traceback" not in r.stderr and b"internal error" not in r.stderr, r.stderr
        return r.returncode, shown
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)


@pytest.mark.parametrize("columns", ["0", "100000000"])
def test_a_terminal_size_no_terminal_has_is_ignored(named_store, columns):
    """``COLUMNS=0``: rich took the terminal for 0 columns wide and ``sessions`` / ``show`` printed nothing at
    all, exit 0; ``COLUMNS=100000000`` made ``live``'s view lay out 10^8-column lines (no frame drawn in 90 s).
    Such a value is now dropped, and the terminal's own size used."""
    for argv in (("sessions",), ("show", "1")):
        rc, shown = _on_a_terminal({"COLUMNS": columns, "LANG": "C.UTF-8"}, *argv, "--store", named_store)
        assert rc == 0 and "\u03a9mega".encode() in shown, (argv, shown[:300])  # before (COLUMNS=0): b""
    from rich.console import Console

    from prosody_cli.main import _ignore_impossible_terminal_size
    env = {"COLUMNS": columns, "LINES": "10000"}
    _ignore_impossible_terminal_size(env)
    assert env == {}
    env = {"COLUMNS": "132", "LINES": "40"}
    _ignore_impossible_terminal_size(env)
    assert env == {"COLUMNS": "132", "LINES": "40"}  # a real terminal's size is kept
    assert Console(file=open(os.devnull, "w"), _environ={}).width < 10_000


def test_an_empty_or_missing_home_keeps_the_store_out_of_the_root_folder(tmp_path):
    """``HOME=`` (empty): Python reads it as "/", and the default store was made at /.local/share/prosody;
    ``HOME=/nonexistent/x``: the store made that home folder and the store in it. An empty or relative
    ``$HOME`` now counts as unset (the account's home), and a home that does not exist is said in one line."""
    import pwd

    from prosody.errors import StoreError
    from prosody.store.db import default_store_path
    own = Path(pwd.getpwuid(os.getuid()).pw_dir)
    assert default_store_path({"HOME": ""}, "linux") == own / ".local" / "share" / "prosody"  # before: /.local/...
    assert default_store_path({"HOME": "rel"}, "linux") == own / ".local" / "share" / "prosody"  # before: ./rel/...
    assert default_store_path({"HOME": str(tmp_path)}, "linux") == tmp_path / ".local" / "share" / "prosody"
    assert default_store_path({"HOME": "/nowhere", "XDG_DATA_HOME": str(tmp_path)}, "linux") == tmp_path / "prosody"
    missing = tmp_path / "gone" / "home"
    with pytest.raises(StoreError, match=f"the home folder {missing} does not exist"):
        default_store_path({"HOME": str(missing)}, "linux")
    r = _prosody_env({"HOME": str(missing), "LANG": "C.UTF-8"}, "sessions")
    assert r.returncode == 1 and r.stderr.decode().startswith("prosody: error: the home folder ")
    assert r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "gone").exists()  # before: made, with the store in it
    r = _prosody_env({"HOME": str(missing), "LANG": "C.UTF-8"}, "sessions", "--help")
    assert r.returncode == 0 and str(missing).encode() in b"".join(r.stdout.split())  # the help names it, as before


def test_an_empty_home_keeps_rescue_copies_out_of_the_root_folder(monkeypatch):
    """Where a session cannot be written where asked, its rescue copy goes to the data folder, then the home
    folder: with ``HOME=`` they were /.local/share/prosody-rescue and / itself."""
    import pwd

    from prosody.fileio import rescue_folders
    own = Path(pwd.getpwuid(os.getuid()).pw_dir)
    monkeypatch.setenv("HOME", "")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    folders = rescue_folders()
    assert folders[:2] == [own / ".local" / "share" / "prosody-rescue", own], folders
    assert Path("/") not in folders and not any(str(f).startswith("/.local") for f in folders)


def test_a_standard_output_that_is_not_utf8_shows_escapes_and_writes_data_as_utf8(named_store):
    """``PYTHONIOENCODING=ascii`` (or a Latin-1 locale): ``show``, ``sessions``, ``moments``, ``compare``...
    failed with "internal error (UnicodeEncodeError ...)" on a typed name or prosody's own '\u00b7'. Text
    for the terminal now shows what the stream cannot hold as escapes (as Python's standard error does),
    and a file's text (``export`` to standard output) is UTF-8, its format's encoding."""
    env = {"PYTHONIOENCODING": "ascii", "LANG": "C.UTF-8"}
    r = _prosody_env(env, "show", "1", "--store", named_store)
    assert r.returncode == 0 and r.stderr == b"", r.stderr  # before: exit 1, "internal error (UnicodeEncodeError"
    assert b"therapist: \\xc5nn" in r.stdout and b"\\u03a9mega" in r.stdout
    r = _prosody_env(env, "sessions", "--store", named_store)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    r = _prosody_env(env, "export", "1", "--store", named_store)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout.decode("utf-8"))  # JSON, not \xe9 escapes (no JSON)
    assert "\u03a9mega \u65e5\u672c" in json.dumps(doc, ensure_ascii=False)


def test_a_utf8_name_read_by_a_python_whose_file_names_are_ascii_is_said_so(tmp_path, short_wav):
    """``LC_ALL=C PYTHONUTF8=0``: Python reads the command line and file names as ASCII, so a UTF-8 file name
    or ``--client Zo\u00eb`` reached prosody as undecodable bytes, refused as "holds bytes that are not UTF-8
    text; ... rename the file": wrong, the name is UTF-8. It now says what is wrong and how to run it."""
    wav = tmp_path / "s\u00e9ance.wav"
    shutil.copy(short_wav, wav)
    env = {"LC_ALL": "C", "PYTHONUTF8": "0"}
    for argv in ((wav.name, "--json", "o.json"),
                 ("plain.wav", "--json", "o.json", "--save", "--store", "st", "--client", "Zo\u00eb")):
        if argv[0] == "plain.wav":
            shutil.copy(short_wav, tmp_path / "plain.wav")
        r = _prosody_env(env, "analyze", *argv, "--quiet", "--no-progress", cwd=tmp_path)
        err = r.stderr.decode("ascii", "backslashreplace")
        assert r.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert "is UTF-8 text, but this Python reads the command line and file names as ascii" in err, err
        assert "PYTHONUTF8=1" in err and "rename" not in err, err
        assert not (tmp_path / "o.json").exists()
