"""Hostile sweep 7: awkward audio, odd options, long typed text in the page, through the real CLI (the
house way of the earlier sweeps: one clear line on stderr, a non-zero exit, no traceback; every file under
tmp_path). Each defect with what happened before and what happens now:

1. A typed name or note with no space in it (a 200-letter client pseudonym, a 3000-letter note pasted
   from somewhere) made the session page 4953 px wide at a 1200 px window: the heading and the line
   under it never wrapped, and the notes' and moments' tables grew to 44000 px inside their sections.
   A 64-letter speaker name widened the cards at the top past their section. The page now wraps such
   text: nothing is wider than the window; the notes' tables (here and in the trend page) wrap a long word
   anywhere; other tables break words only where they must (their headers at spaces, as before).
2. ``live --input F --speed 1e-300``: each block's wait overflowed the clock ("analysis error: internal
   error (OverflowError: timestamp out of range for platform time_t)"), after an empty session was
   written. A speed under 0.01 (100 times slower than real time) is now refused before anything is
   opened or written.
3. ``analyze --json - --save`` with standard output on a full disk (``> /dev/full``) or a closed pipe: the
   write's OSError escaped before the save, so nothing was saved and no other output (``--rttm``) written,
   and the line was "cannot access: No space left on device". The save and the other outputs now happen,
   then "cannot write --json to standard output: No space left on device" (exit 1); every other command
   writing to a failing standard output says "cannot write to standard output: ...".
4. ``play`` / ``report --clips`` of a session whose recording was replaced by a FIFO or a folder said the
   recording "is not there any more (moved or deleted)"; it now says what is there.
5. ``batch ... --table -`` analysed the whole batch, then wrote ``-.csv`` and ``-.parquet`` where it ran
   (every other output refuses "-" where it cannot be stdout); refused now before anything runs.
6. A chained Ogg file (two recordings joined end to end: ``cat a.ogg b.ogg``, a recorder that starts a new
   stream after a pause): libsndfile decodes the first link only. Same format: the first part was
   analysed without a word (40 s of an 80 s file); another format: "is truncated: header says
   576460752303423.50 s" (libsndfile's "length unknown"). Now a warning says that only the first part was
   read and how to convert the whole. A live replay said a file's own warnings twice; once now.
7. Two FLAC, MP3 or WAV files joined with ``cat``: libsndfile (FFmpeg for the WAVs, which libsndfile
   refuses) stops at the first stream's own length (12 s of 24), without a word; now said, with the byte
   where the second stream's header lies. An MP3 without a Xing/Info/VBRI header (``ffmpeg -write_xing 0``,
   streaming encoders) has a length libsndfile guesses from the file's size: a whole file was called
   "truncated: header says 54.50 s, read 40.32 s" (VBR) or "40.33 s, read 40.32 s" (CBR); and a VBR one whose
   guess is short was read only up to it (33.58 s of 40.25 s) without a word. The guess is no longer called a
   header, and a read stopped at it is said.
8. ``report 1 --config m.toml -o m.toml`` wrote the page over the moments table it had just read (the
   output guard counted the sessions' recordings as inputs, not the command's own ``--config``).
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, one_line_error, run_cli

DIALOGUE = FIXTURES / "dialogue.flac"
REPO = Path(__file__).resolve().parents[1]


_one_line = one_line_error


# -- 1. long typed text in the session page --------------------------------------------------------------

def test_a_long_typed_name_and_note_wrap_in_the_page_in_a_real_browser(tmp_path, short_wav):
    from tests.test_report import CHROMIUM, _cdp_render
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to check reports in a real browser")
    store = tmp_path / "store"
    client = "W" * 200                  # the longest pseudonym prosody takes, one word
    note = "N" * 3000 + " <b>not bold</b> \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"  # RTL too
    rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress",
                         "--client", client, "--notes", note, "--tag", "T" * 100, "--therapist", "ann",
                         "--channels", f"{'S' * 64}=left,client=right")  # the longest speaker name taken
    assert rc == 0, err
    assert run_cli("note", "1", note, "--at", "2", "--store", store)[0] == 0
    assert run_cli("note", "1", "M" * 2000, "--moment", "1", "--store", store)[0] == 0
    page = tmp_path / "r.html"
    rc, _, err = run_cli("report", "1", "-o", page, "--store", store)
    assert rc == 0, err
    html = page.read_text()
    assert client in html and "N" * 3000 in html and "&lt;b&gt;not bold&lt;/b&gt;" in html  # kept whole, escaped
    sections_js = ("[...document.querySelectorAll('section')].filter(s => s.scrollWidth > s.clientWidth + 1)"
                   ".map(s => s.id)")
    for width in (1200, 760):
        r = _cdp_render(page, tmp_path / f"r{width}.png", width=width, extra_js=sections_js)
        assert r["requests"] == [] and r["console"] == [] and r["exceptions"] == [] and r["log_errors"] == [], r
        f = r["facts"]
        assert f["scrollWidth"] <= f["clientWidth"], f  # was 4953 at 1200
        # the notes, the moments and the cards wrap (41568, 44474 px wide, and past the section, before); a table
        # of figures by speaker breaks a 64-letter name only where it must, and may scroll in its section as before
        assert not {"moments", "bookmarks", "at-a-glance"} & set(f["extra"]), f["extra"]
    trend = tmp_path / "t.html"  # the notes again, in the trend page's feedback table
    rc, _, err = run_cli("trend", "--therapist", "ann", "-o", trend, "--store", store)
    assert rc == 0, err
    r = _cdp_render(trend, tmp_path / "t.png", extra_js=sections_js)
    assert r["facts"]["scrollWidth"] <= r["facts"]["clientWidth"], r["facts"]
    assert "feedback" not in r["facts"]["extra"], r["facts"]["extra"]  # the notes' table (the sessions' may scroll)


# -- 2. a replay slower than a clock can wait ----------------------------------------------------------

@pytest.mark.parametrize("speed", ["1e-300", "0.005", "5e-324"])
def test_a_replay_speed_under_a_hundredth_is_refused_before_anything_is_written(tmp_path, speed):
    out = tmp_path / "s.json"
    rc, _, err = run_cli("live", "--input", DIALOGUE, "--plain", "--output", out, "--speed", speed,
                         "--duration", "0.5")
    _one_line(rc, err)
    assert f"--speed '{speed}': must be 0.01" in err, err
    assert list(tmp_path.iterdir()) == []  # before: an empty session and its frames file, then the error


def test_the_slowest_replay_speed_taken_is_a_hundredth():
    from prosody.errors import InputError
    from prosody.live.capture import ReplaySource
    from prosody.engine.sources import Layout
    layout = Layout(("therapist", "client"), ((0, 0), (0, 1)))
    src = ReplaySource([str(DIALOGUE)], layout, speed=0.01)
    assert src.speed == 0.01
    with pytest.raises(InputError, match="must be 0.01"):
        ReplaySource([str(DIALOGUE)], layout, speed=0.0099)


# -- 3. standard output on a full disk or a closed pipe --------------------------------------------------

def _prosody(*argv, stdout, env_store=None) -> subprocess.CompletedProcess:
    """The real program (its own sys.stdout, its exit flush) with ``stdout`` as its standard output."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", "import sys; from prosody_cli.main import main; sys.exit(main())",
                           *map(str, argv)], stdout=stdout, stderr=subprocess.PIPE, text=True, env=env, timeout=300)


@pytest.fixture
def dev_full():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here (a device whose writes fail with ENOSPC)")
    with open("/dev/full", "w") as f:
        yield f


def test_json_to_a_full_standard_output_keeps_the_save_and_the_other_outputs(tmp_path, short_wav, dev_full):
    store, rttm = tmp_path / "store", tmp_path / "s.rttm"
    r = _prosody("analyze", short_wav, "--json", "-", "--rttm", rttm, "--save", "--store", store, "--quiet",
                 "--client", "C-Full", stdout=dev_full)
    lines = r.stderr.splitlines()
    assert r.returncode == 1, r.stderr
    # before: 'prosody: error: cannot access: No space left on device', nothing saved, no RTTM written
    assert lines[-1] == "prosody: error: cannot write --json to standard output: No space left on device", lines
    assert any(line.startswith("prosody: saved as session 1") for line in lines), lines
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr
    assert rttm.read_text().startswith("SPEAKER ")
    db = sqlite3.connect(f"file:{store / 'sessions.db'}?mode=ro", uri=True)
    try:
        assert db.execute("SELECT client FROM sessions").fetchall() == [("C-Full",)]
    finally:
        db.close()
    assert not (store.parent / "prosody-rescue").exists()  # a save that happened is not called failed


def test_a_command_writing_to_a_full_or_closed_standard_output_says_so_in_one_line(tmp_path, short_wav, dev_full):
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet")[0] == 0
    for argv in (("export", "1"), ("sessions",), ("show", "1")):
        r = _prosody(*argv, "--store", store, stdout=dev_full)
        assert r.returncode == 1 and r.stderr == ("prosody: error: cannot write to standard output: "
                                                  "No space left on device\n"), (argv, r.stderr)
    read_end, write_end = os.pipe()
    os.close(read_end)  # a reader that went away: `prosody export 1 | true`
    try:
        r = _prosody("export", "1", "--store", store, stdout=write_end)
    finally:
        os.close(write_end)
    assert r.returncode == 1 and r.stderr == "prosody: error: cannot write to standard output: Broken pipe\n", r.stderr


def test_a_store_change_whose_line_cannot_be_written_says_what_was_done(tmp_path, short_wav, dev_full):
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet")[0] == 0
    r = _prosody("relabel", "1", "--store", store, stdout=dev_full)
    assert r.returncode == 1 and r.stderr.startswith("prosody: error: cannot write to standard output (No space left "
                                                     "on device); done: session 1: the two voices exchanged"), r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    r = _prosody("feedback", "1", "--rating", "4", "--store", store, stdout=dev_full)
    assert r.returncode == 1 and r.stderr == ("prosody: error: cannot write to standard output (No space left on "
                                              "device); done: session 1: client rating 4/5\n"), r.stderr
    r = _prosody("edit", "1", "--client", "C-Edited", "--store", store, stdout=dev_full)
    assert r.returncode == 1 and r.stderr == ("prosody: error: cannot write to standard output (No space left on "
                                              "device); done: session 1 edited\n"), r.stderr
    assert "C-Edited" in run_cli("show", "1", "--store", store)[1]
    # before: only 'cannot write to standard output: No space left on device', the session deleted all the same
    r = _prosody("delete", "1", "--store", store, stdout=dev_full)
    assert r.returncode == 1 and r.stderr == ("prosody: error: cannot write to standard output (No space left on "
                                              "device); done: deleted session 1\n"), r.stderr
    db = sqlite3.connect(f"file:{store / 'sessions.db'}?mode=ro", uri=True)
    try:
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)
    finally:
        db.close()
    assert run_cli("sessions", "--store", store)[1].startswith("0 sessions")


# -- 4. the session's recording replaced by something that is not a file ----------------------------------

@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_recording_replaced_by_a_fifo_or_folder_is_said_so_not_called_moved(tmp_path, kind):
    store, rec = tmp_path / "store", tmp_path / "rec.flac"
    rec.write_bytes(DIALOGUE.read_bytes())  # 40 s: moments to play
    assert run_cli("analyze", rec, "--save", "--store", store, "--quiet")[0] == 0
    rec.unlink()
    os.mkfifo(rec) if kind == "fifo" else rec.mkdir()
    rc, _, err = run_cli("play", "1", "1", "--store", store)
    _one_line(rc, err, code=1)
    what = "a FIFO (named pipe)" if kind == "fifo" else "a folder"
    # before: "is not there any more (moved or deleted)"
    assert f"the recording {rec} is {what} now, not the recording: no audio to play" in err, err
    page = tmp_path / "r.html"
    rc, _, err = run_cli("report", "1", "--clips", "-o", page, "--store", store)
    assert rc == 0 and f"is {what} now" in err and page.exists(), err  # the page without clips, as before


# -- 5. a batch table to "-" ------------------------------------------------------------------------------

def test_a_batch_table_to_a_dash_is_refused_before_the_batch_runs(tmp_path, short_wav, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    rc, out, err = run_cli("batch", short_wav, "--store", store, "--table", "-", "--jobs", "1", "--no-progress")
    _one_line(rc, err)
    assert "--table -: this output cannot go to stdout; give a file name" in err, err
    assert not store.exists() and sorted(p.name for p in tmp_path.iterdir()) == []  # was: -.csv, -.parquet here


# -- 6. a chained Ogg file ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ogg_links(tmp_path_factory, fixture_dialogue):
    """Two Ogg Vorbis files of the fixture's first 12 s and of its next 12 s, as bytes; a third of the
    second part at 8 kHz mono (a link of another format)."""
    import io

    import soundfile as sf
    audio, _ = fixture_dialogue

    def ogg(x, rate):
        buf = io.BytesIO()
        sf.write(buf, x, rate, format="OGG", subtype="VORBIS")
        return buf.getvalue()
    first, second = audio[:12 * 16000], audio[12 * 16000:24 * 16000]
    return ogg(first, 16000), ogg(second, 16000), ogg(second[::2, 0].copy(), 8000)


@pytest.mark.parametrize("second", [1, 2], ids=["same-format", "other-format"])
def test_a_chained_ogg_says_that_only_its_first_part_was_read(tmp_path, ogg_links, second):
    whole = tmp_path / "joined.ogg"
    whole.write_bytes(ogg_links[0] + ogg_links[second])  # `cat a.ogg b.ogg`: a chained Ogg of 24 s
    rc, _, err = run_cli("analyze", whole, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "o.json").read_text())
    assert abs(doc["duration_s"] - 12.0) < 0.1  # libsndfile reads the first link: 12 s of the 24
    said = (f"{whole} is a chained Ogg file (recordings joined end to end); only its first part was read, as "
            f"libsndfile reads one: to analyse all of it, convert it first, e.g. `ffmpeg -i {whole} -c:a flac "
            "whole.flac`")
    assert doc["warnings"] == [said] and err == f"prosody: warning: {said}\n", (doc["warnings"], err)
    # before: no word at all (same format), or "is truncated: header says 576460752303423.50 s" (other format)


def test_one_ogg_stream_is_read_whole_without_a_word(tmp_path, ogg_links):
    one = tmp_path / "one.ogg"
    one.write_bytes(ogg_links[0])
    rc, _, err = run_cli("analyze", one, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    doc = json.loads((tmp_path / "o.json").read_text())
    assert rc == 0 and err == "" and doc["warnings"] == [] and abs(doc["duration_s"] - 12.0) < 0.1, err


def test_a_live_replay_of_a_chained_ogg_keeps_the_word_once(tmp_path, ogg_links):
    whole = tmp_path / "joined.ogg"
    whole.write_bytes(ogg_links[0] + ogg_links[1])
    rc, _, err = run_cli("live", "--input", whole, "--speed", "max", "--plain", "--output", tmp_path / "s.json")
    assert rc == 0, err
    warnings = json.loads((tmp_path / "s.json").read_text())["warnings"]
    assert sum("is a chained Ogg file" in w for w in warnings) == 1, warnings  # was twice (source and capture)


# -- 7. FLAC and MP3 files joined end to end; MP3s whose length libsndfile guesses --------------------------

def _encoded(x, **kw) -> bytes:
    import io

    import soundfile as sf
    buf = io.BytesIO()
    sf.write(buf, x, 16000, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["FLAC", "MP3", "WAV"])
def test_two_recordings_joined_with_cat_say_that_only_the_first_was_read(tmp_path, fixture_dialogue, fmt):
    audio, _ = fixture_dialogue
    first, second = _encoded(audio[:12 * 16000], format=fmt), _encoded(audio[12 * 16000:24 * 16000], format=fmt)
    whole = tmp_path / f"joined.{fmt.lower()}"
    whole.write_bytes(first + second)  # `cat a.flac b.flac > joined.flac`: 24 s, of which libsndfile reads 12
    rc, _, err = run_cli("analyze", whole, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    if fmt == "WAV" and rc == 2 and "No 'RIFF' chunk marker" in err:
        pytest.skip("libsndfile refuses two WAVs joined, and FFmpeg's libraries (av) are not installed")
    assert rc == 0, err
    doc = json.loads((tmp_path / "o.json").read_text())
    assert abs(doc["duration_s"] - 12.0) < 0.1
    mark = len(first) + (0 if fmt != "MP3" else second.find(b"Info") if b"Info" in second[:4096] else
                         second.find(b"Xing"))
    how = (f"to analyse the rest, cut it out (`tail -c +{mark + 1} {whole} > rest.wav`)" if fmt == "WAV" else
           f"to analyse all of it, convert it first, e.g. `ffmpeg -i {whole} -c:a flac whole.flac`")
    assert doc["warnings"] == [
        f"{whole} holds recordings joined end to end (a second {fmt} stream's header at byte {mark}); only the "
        f"first ({doc['duration_s']:.2f} s) was read: {how}"], doc["warnings"]  # before: no word
    one = tmp_path / f"one.{fmt.lower()}"
    one.write_bytes(first)
    rc, _, err = run_cli("analyze", one, "--json", tmp_path / "p.json", "--quiet", "--no-progress")
    assert rc == 0 and json.loads((tmp_path / "p.json").read_text())["warnings"] == [], err


def _ffmpeg_mp3(tmp_path, src, name, *args) -> Path:
    import shutil
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: cannot make MP3s without a length header")
    out = tmp_path / name
    r = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), "-c:a", "libmp3lame", "-write_xing",
                        "0", *args, str(out)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"ffmpeg cannot encode MP3: {r.stderr.decode(errors='replace').strip()[:200]}")
    return out


def test_an_mp3_without_a_length_header_is_never_called_truncated_and_a_short_read_is_said(tmp_path, monkeypatch):
    import soundfile as sf
    monkeypatch.setitem(sys.modules, "av", None)  # libsndfile's reading (FFmpeg's, where installed: sweep 8)
    said = {}
    for name, args in (("cbr16.mp3", ["-ar", "16000", "-b:a", "64k"]), ("vbr16.mp3", ["-ar", "16000", "-q:a", "2"]),
                       ("vbr44.mp3", ["-ar", "44100", "-q:a", "0"])):
        mp3 = _ffmpeg_mp3(tmp_path, DIALOGUE, name, *args)
        with sf.SoundFile(mp3) as f:  # what libsndfile reads: up to its guess of the length, or the data's end
            n = 0
            while len(x := f.read(65536)):
                n += len(x)
            read_s = n / f.samplerate
        rc, _, err = run_cli("analyze", mp3, "--json", tmp_path / f"{name}.json", "--quiet", "--no-progress")
        assert rc == 0, err
        said[name] = (read_s, json.loads((tmp_path / f"{name}.json").read_text())["warnings"])
    # the whole 40.2 s read: no word (before: "is truncated: header says 40.33 s" / "54.50 s, read 40.32 s")
    for name in ("cbr16.mp3", "vbr16.mp3"):
        read_s, warnings = said[name]
        assert abs(read_s - 40.2) < 0.2 and warnings == [], (name, said[name])
    read_s, warnings = said["vbr44.mp3"]  # libsndfile stopped at its guess, short of the 40.2 s: said now
    if read_s > 40.0:
        pytest.skip(f"this libsndfile read the whole VBR MP3 ({read_s:.2f} s): no short read to say")
    assert len(warnings) == 1 and warnings[0].startswith(
        f"{tmp_path / 'vbr44.mp3'} is a variable-bitrate MP3 without a length header (Xing, Info or VBRI), whose "
        f"length libsndfile guesses from its size and reads no further: {read_s:.2f} s were read"), warnings


# -- 8. a page written over the command's own --config ----------------------------------------------------

@pytest.mark.parametrize("named", [True, False], ids=["-o", "default-name"])
def test_a_report_over_its_own_config_is_refused(tmp_path, short_wav, monkeypatch, named):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet")[0] == 0
    config = tmp_path / ("m.toml" if named else "session-1.html")  # a moments table, however it is named
    config.write_text("[moments]\nmax = 3\n")
    argv = ["report", "1", "--config", config, "--store", store] + (["-o", config] if named else [])
    rc, _, err = run_cli(*argv)
    _one_line(rc, err)
    assert "it is an input of this command and would be overwritten" in err, err  # before: the page replaced it
    assert config.read_text() == "[moments]\nmax = 3\n"
