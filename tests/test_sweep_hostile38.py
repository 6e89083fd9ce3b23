"""Hostile sweep 38 (docs/store.md "Hostile sweep 38"): sweep 37's leftovers, then fresh hostile inputs.

1. `export 2 -o x.json` replaced session 1's export x.json (and `-o notes.txt` a file of the user's) without a
   word, exit 0; only recordings, live captures and, for pages, saved sessions were refused. Now no output of any
   command replaces an existing file without --overwrite, but for a page or a batch table prosody wrote (written
   again: `report 1` twice, `batch` run again).
2. `delete` on a full disk was refused, "Free some space and try again", without saying how much: a delete
   writes the session's rows, zeroed, through the store's journal (268 kB for a 40 s session); freeing 200 kB
   failed the same. Now the room it needs is said, and freeing that much lets it through, every trace gone.
3. A bookmark after the analysed end was played only up to that end, unsaid, where the recording may hold its
   audio: now played from the recording where it runs on, and said either way.
4. Two per-speaker files, one a stereo file with its voice on channel 2 (its first digital silence): the client
   was analysed as silent (warned since sweep 36). Now the channel with the voice is read, said.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A store holding the fixture dialogue (40.22 s) as sessions 1 and 2, therapist ann."""
    d = tmp_path_factory.mktemp("saved")
    for _ in range(2):
        rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", d / "store", "--quiet",
                               "--no-progress", "--therapist", "ann")
        assert rc == 0, err
    return d / "store"


# -- 1. an output never replaces a file without --overwrite ------------------------------------------------------------

def test_an_export_onto_another_sessions_export_is_refused_without_overwrite(saved, tmp_path):
    """Before: exit 0, session 1's export x.json (and its frames) replaced by session 2's, nothing said."""
    x = tmp_path / "x.json"
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", x)
    assert rc == 0, err
    before = x.read_bytes(), (tmp_path / "x.frames.npz").read_bytes()
    rc, out, err = run_cli("export", "2", "--store", saved, "-o", x)
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot write -o {x}: it is a saved session (prosody.session JSON) and would be "
                   "replaced; choose a new name, or add --overwrite to replace it\n")
    assert (x.read_bytes(), (tmp_path / "x.frames.npz").read_bytes()) == before
    rc, out, err = run_cli("export", "2", "--store", saved, "-o", x, "--overwrite")
    assert rc == 0, err
    rc, out, err = run_cli("export", "2", "--store", saved, "-o", tmp_path / "y.json")
    uid = json.loads((tmp_path / "y.json").read_text())["prosody_store"]["uid"]
    assert json.loads(x.read_text())["prosody_store"]["uid"] == uid != json.loads(before[0])["prosody_store"]["uid"]


def test_a_sessions_own_export_is_written_again(saved, tmp_path):
    """Guard: `export 1 -o x.json` again (after an edit, a relabel) replaces its own earlier export, no flag."""
    x = tmp_path / "x.json"
    for notes in ("first", "second"):
        rc, out, err = run_cli("edit", "1", "--notes", notes, "--store", saved)
        assert rc == 0, err
        rc, out, err = run_cli("export", "1", "--store", saved, "-o", x)
        assert rc == 0, err
        assert json.loads(x.read_text())["prosody_store"]["notes"] == notes


@pytest.mark.parametrize("argv", [("export", "1", "--format", "rttm"), ("report", "1"), ("compare", "1", "2"),
                                  ("trend", "--therapist", "ann")])
def test_an_output_onto_a_users_file_is_refused(saved, tmp_path, argv):
    """Before: the user's notes.txt replaced by an RTTM or a page, exit 0."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my own notes\n")
    rc, out, err = run_cli(*argv, "--store", saved, "-o", notes)
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot write -o {notes}: a file of that name exists and would be replaced; "
                   "choose a new name, or add --overwrite to replace it\n")
    assert notes.read_text() == "my own notes\n"


def test_a_page_prosody_wrote_is_written_again(saved, tmp_path, monkeypatch):
    """Guard: `report 1` twice (its default name), and `-o` onto a page of `compare`, write the page again."""
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        rc, out, err = run_cli("report", "1", "--store", saved)
        assert rc == 0 and err.endswith("report written to session-1.html\n"), err
    rc, out, err = run_cli("compare", "1", "2", "--store", saved, "-o", "session-1.html")
    assert rc == 0, err
    assert "compare: sessions 1, 2" in (tmp_path / "session-1.html").read_text()


def test_analyze_onto_an_existing_json_is_refused_and_batch_writes_its_table_again(tmp_path):
    """`analyze --json` onto a file there is refused (was replaced); `batch` run again writes its own table again,
    and a --table onto a CSV that is no batch table is refused."""
    wav = tmp_path / "a.wav"
    shutil.copy(FIXTURES / "mono_therapist.wav", wav)
    (tmp_path / "s.json").write_text("{}")
    rc, out, err = run_cli("analyze", wav, "--json", tmp_path / "s.json", "--quiet", "--no-progress")
    one_line_error(rc, err)
    assert "a file of that name exists and would be replaced" in err and (tmp_path / "s.json").read_text() == "{}"
    table = tmp_path / "t"
    for _ in range(2):
        rc, out, err = run_cli("batch", wav, "--store", tmp_path / "st", "--no-progress", "--table", table)
        assert rc == 0, err
    (tmp_path / "other.csv").write_text("name,score\nx,1\n")
    rc, out, err = run_cli("batch", wav, "--store", tmp_path / "st", "--no-progress", "--table", tmp_path / "other",
                           "--no-parquet")
    one_line_error(rc, err)
    assert "--table" in err and "add --overwrite" in err
    assert (tmp_path / "other.csv").read_text() == "name,score\nx,1\n"


# -- 2. delete on a full disk ------------------------------------------------------------------------------------------

@pytest.fixture
def tmpfs(tmp_path):
    """A 6 MB tmpfs at tmp_path/full (root only; else skipped), unmounted after."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode:
        pytest.skip("needs root to mount a tmpfs")
    yield mnt
    subprocess.run(["umount", str(mnt)], capture_output=True)


def _fill(mnt: Path, leave_kb: int) -> Path:
    """Fill ``mnt`` but for ``leave_kb`` kB with one file; its path."""
    filler = mnt / "filler"
    st = os.statvfs(mnt)
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave_kb * 1024))
    return filler


def test_a_delete_on_a_full_disk_says_the_room_it_needs_and_that_room_is_enough(saved, tmpfs):
    """200 kB free: before, "the store is unchanged. Free some space and try again" (how much unsaid; 268 kB of
    journal needed). Now the room is said; with that much freed the delete goes through: the session's rows and
    frames file gone, the other session whole, the database sound."""
    import re
    import sqlite3
    store = tmpfs / "st"
    shutil.copytree(saved, store)
    frames_before = sorted(p.name for p in (store / "frames").iterdir())
    filler = _fill(tmpfs, 200)
    rc, out, err = run_cli("delete", "1", "--store", store)
    one_line_error(rc, err, code=1)
    m = re.search(r"the store is unchanged\. A delete needs room too: .* \(some (\d+) kB here\); free that much and "
                  r"try again\n$", err)
    assert m, err
    assert sorted(p.name for p in (store / "frames").iterdir()) == frames_before
    filler.unlink()
    filler = _fill(tmpfs, int(m.group(1)) * 1000 // 1024 + 1)
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert rc == 0, err
    db = sqlite3.connect(store / "sessions.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [r[0] for r in db.execute("SELECT id FROM sessions")] == [2]
    assert len(list((store / "frames").iterdir())) == 1
    db.close()


# -- 3. a bookmark after the analysed end, played ----------------------------------------------------------------------

def _with_bookmark(saved, tmp_path, at_s: float, recording: Path | None = None) -> Path:
    """Session 1 imported into a new store with a bookmark at ``at_s``, and, given ``recording``, that file as
    its audio (fingerprinted as the analysis would)."""
    from prosody.fileio import file_sha256
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", tmp_path / "s1.json")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s1.json").read_text())
    doc["bookmarks"] = [{"time_s": at_s, "note": "client cried"}]
    if recording is not None:
        doc["audio"]["files"] = [{"path": str(recording), "sha256": file_sha256(recording),
                                  "bytes": recording.stat().st_size}]
    (tmp_path / "s1.json").write_text(json.dumps(doc))
    rc, out, err = run_cli("import", tmp_path / "s1.json", "--store", tmp_path / "store")
    assert rc == 0, err
    rc, out, err = run_cli("moments", "1", "--json", "--store", tmp_path / "store")
    return tmp_path / "store", next(m["rank"] for m in json.loads(out) if m["kind"] == "bookmark")


@pytest.fixture
def played(monkeypatch):
    """What `play` hands the sound card: [(samples, rate)], the device never opened."""
    import prosody.clips
    got = []

    def fake_play(x, rate, *, device=None, device_text=None, on_start=None):
        on_start()
        got.append((x, rate))
    monkeypatch.setattr(prosody.clips, "play", fake_play)
    return got


def test_a_bookmark_after_the_recordings_end_is_said_to_play_up_to_it(saved, tmp_path, played):
    """A bookmark at 41.0 s of the 40.22 s session and recording, 3 s of context: 38.0-40.2 s was played, the
    rest of its span unsaid."""
    store, rank = _with_bookmark(saved, tmp_path, 41.0)
    rc, out, err = run_cli("play", "1", str(rank), "--store", store, "--context-s", "3")
    assert rc == 0, err
    assert err == (f"prosody: playing moment {rank} (Bookmark: client cried), 38.0–40.2 s (it is at 41.0 s, after the 40.2 s "
                   "recording's end: only up to that end, 40.2 s, is played)\n")
    assert abs(len(played[0][0]) / played[0][1] - 2.22) < 0.01


def test_a_bookmark_after_the_analysed_end_plays_the_recording_past_it(saved, tmp_path, played):
    """A live recording runs on past the audio analysed when the session stopped: the recording here is the
    dialogue then 10 s of a 440 Hz tone (50.22 s), the session 40.22 s, its bookmark at 45 s. Before: "leaves
    nothing to play" (its span cut at the analysed end). Now 42-48 s is played, the tone."""
    import soundfile as sf
    x, rate = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    t = np.arange(10 * rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    longer = tmp_path / "longer.flac"
    sf.write(longer, np.concatenate([x, np.stack([tone, tone], axis=1)]), rate)
    store, rank = _with_bookmark(saved, tmp_path, 45.0, recording=longer)
    rc, out, err = run_cli("play", "1", str(rank), "--store", store, "--context-s", "3")
    assert rc == 0, err
    assert err == (f"prosody: playing moment {rank} (Bookmark: client cried), 42.0–48.0 s (it is at 45.0 s, after the 40.2 s "
                   "analysed: played from the recording, which runs to 50.2 s)\n")
    y, r = played[0]
    ref = np.sin(2 * np.pi * 440.0 * (42.0 - len(x) / rate + np.arange(len(y)) / r))  # the tone from 40.22 s
    corr = float(np.dot(y[:, 0], ref) / (np.linalg.norm(y[:, 0]) * np.linalg.norm(ref)))
    assert corr > 0.99 and abs(len(y) / r - 6.0) < 0.01


# -- 4. two files, one a stereo file with its voice on channel 2 -------------------------------------------------------

def _two_files(tmp_path, second: str):
    """The fixture dialogue as two per-speaker files: the therapist's (mono) and the client's in stereo, its voice
    on channel 2 only (``"right"``: channel 1 zeros; ``"dither"``: channel 1 a 16-bit recorder's dither, +-1 LSB,
    seeded) or on both (``"both"``)."""
    import soundfile as sf
    x, rate = sf.read(FIXTURES / "dialogue.flac")
    th, cl = tmp_path / "therapist.wav", tmp_path / f"client-{second}.wav"
    sf.write(th, x[:, 0], rate)
    first = {"right": np.zeros_like(x[:, 1]), "both": x[:, 1],
             "dither": np.random.default_rng(38).integers(-1, 2, len(x)) / 32768.0}[second]
    sf.write(cl, np.stack([first, x[:, 1]], axis=1), rate, subtype="PCM_16")
    return th, cl


@pytest.mark.parametrize("first", ["right", "dither"])
def test_two_files_the_second_with_its_voice_on_channel_2_reads_that_channel(tmp_path, first):
    """Before: the client analysed as silent (speech 0 s), warned where channel 1 was digital silence, unsaid where
    it held a recorder's dither. Now the client's figures are those of the same voice on both channels (read from
    channel 1), the audio record picks the file's channel 2, and it is said."""
    docs = {}
    for second in (first, "both"):
        th, cl = _two_files(tmp_path, second)
        rc, out, err = run_cli("analyze", th, cl, "--json", tmp_path / f"{second}.json", "--quiet", "--no-progress")
        assert rc == 0, err
        docs[second] = json.loads((tmp_path / f"{second}.json").read_text())
    right, both = docs[first], docs["both"]
    assert right["speakers"] == both["speakers"] and right["speakers"]["client"]["speech_s"] > 5
    assert right["audio"]["picks"] == {"therapist": [0, 0], "client": [1, 1]}
    assert both["audio"]["picks"] == {"therapist": [0, 0], "client": [1, 0]}
    assert right["warnings"] == [f"{tmp_path / f'client-{first}.wav'} has 2 channels and its first holds nothing "
                                 "above -60 dBFS throughout (silence, or an unused input's noise): its channel 2, "
                                 "which holds sound, was read as the client's"]
    assert both["warnings"] == []


# -- hunting: a session file cut short ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cut", [lambda n: 100, lambda n: n // 2, lambda n: n - 2], ids=["100", "half", "all-but-2"])
def test_an_export_cut_short_is_said_cut_short(saved, tmp_path, cut):
    """An export copied in part (its first 100 bytes, half, all but its last 2). Before: "not JSON (Expecting ','
    delimiter: line 3995 column 1 (char 127360))" or "(Unterminated string starting at ...)", nothing saying the
    file ends early."""
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", tmp_path / "s.json")
    assert rc == 0, err
    whole = (tmp_path / "s.json").read_bytes()
    n = cut(len(whole))
    (tmp_path / "s.json").write_bytes(whole[:n])
    rc, out, err = run_cli("import", tmp_path / "s.json", "--store", tmp_path / "st")
    one_line_error(rc, err)
    assert err == (f"prosody: error: cannot import {tmp_path / 's.json'}: it is cut short: its JSON ends inside an "
                   f"object, a list or a text after {n} bytes (a copy or save interrupted?); export the session "
                   "again, or import the whole file\n")


def test_a_json_that_is_wrong_not_short_is_still_said_not_json(tmp_path):
    """Guard: a JSON closed but wrong (a comma missing) is "not JSON (...)" with the parser's words, as before."""
    (tmp_path / "s.json").write_text('{"schema": "prosody.session/2" "duration_s": 1}')
    rc, out, err = run_cli("import", tmp_path / "s.json", "--store", tmp_path / "st")
    one_line_error(rc, err)
    assert "not JSON (Expecting ',' delimiter" in err and "cut short" not in err


def test_a_frames_file_cut_short_is_said_cut_short(saved, tmp_path):
    """The frames file beside an export, cut to half. Before: "cannot read frames file ...: File is not a zip
    file" (zipfile's words, of a file that is the start of one)."""
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", tmp_path / "s.json")
    assert rc == 0, err
    npz = tmp_path / "s.frames.npz"
    npz.write_bytes(npz.read_bytes()[:npz.stat().st_size // 2])
    rc, out, err = run_cli("import", tmp_path / "s.json", "--store", tmp_path / "st")
    one_line_error(rc, err, code=1)
    assert err == (f"prosody: error: cannot read frames file {npz}: it is cut short: a zip file's start without its "
                   "end, where its directory lies (a copy or save interrupted?)\n")


# -- hunting: an output's file made while the command ran --------------------------------------------------------------

def test_a_file_made_at_an_outputs_path_during_the_analysis_is_not_replaced(tmp_path, monkeypatch):
    """`analyze --json s.json` checks s.json before the analysis (an hour's, for an hour's recording) and wrote it
    after by a rename: a file put there meanwhile (another prosody's export of that name, the user's) was replaced
    without a word. Now it is kept, said, and the session saved in the store all the same."""
    import prosody.speaker_channels as sc
    real = sc.analyze_recording

    def meanwhile(*a, **k):
        (tmp_path / "s.json").write_text("theirs\n")
        return real(*a, **k)
    monkeypatch.setattr(sc, "analyze_recording", meanwhile)
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--json", tmp_path / "s.json", "--save",
                           "--store", tmp_path / "st", "--quiet", "--no-progress")
    assert rc == 1, err
    assert (f"cannot write {tmp_path / 's.json'}: a file of that name was made while this command ran (not "
            f"replaced); this output was written beside it, as {tmp_path / 's.kept-1.json'}") in err, err  # sweep 40
    assert (tmp_path / "s.json").read_text() == "theirs\n"
    assert run_cli("sessions", "--store", tmp_path / "st")[1].count("0.1 min") == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.json")]  # nothing staged left


def test_an_export_whose_file_appears_while_it_is_made_does_not_replace_it(saved, tmp_path, monkeypatch):
    """The same for `export -o x.rttm`: a file made there after the check (here: while its text was made)."""
    import prosody.formats.export as ex
    real = ex.export_text

    def meanwhile(*a, **k):
        (tmp_path / "x.rttm").write_text("theirs\n")
        return real(*a, **k)
    monkeypatch.setattr(ex, "export_text", meanwhile)
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", tmp_path / "x.rttm")
    one_line_error(rc, err, code=1)
    assert err == (f"prosody: error: cannot write {tmp_path / 'x.rttm'}: a file of that name was made while this "
                   "command ran (not replaced: choose a new name, or add --overwrite); it was not written\n")
    assert (tmp_path / "x.rttm").read_text() == "theirs\n"


def test_a_batch_of_two_files_the_second_with_its_voice_on_channel_2_reads_that_channel(tmp_path):
    """The same through `batch` (a manifest row of two files): the stored session's client speaks, its audio record
    picks the file's channel 2."""
    th, cl = _two_files(tmp_path, "right")
    (tmp_path / "m.csv").write_text(f"file,file2\n{th.name},{cl.name}\n")
    rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", tmp_path / "st", "--no-progress", "--table",
                           tmp_path / "t", "--no-parquet")
    assert rc == 0, err
    rc, out, err = run_cli("export", "1", "--store", tmp_path / "st", "-o", tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["audio"]["picks"]["client"] == [1, 1] and doc["speakers"]["client"]["speech_s"] > 5
    assert any("its channel 2, which holds sound, was read as the client's" in w for w in doc["warnings"])
