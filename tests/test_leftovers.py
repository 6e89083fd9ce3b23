"""Five defects found late, each with its planted truth:

1. a damaged MP3: libmpg123 (inside libsndfile) printed its own lines on stderr
   beside prosody's one warning;
2. a stored session whose document is malformed (an older version, a hand-edited
   database) made show / report / export / moments fail with an internal error;
3. import --new-id and edit --client could give two sessions of one client the
   same session number;
4. adding a supervisor's note renumbered the moments ("#3" became "#4");
5. an unterminated quote in a batch manifest read as a cell-count mismatch, or
   took the rows after it into one cell without a word.
"""
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys

from pathlib import Path

import pytest
import soundfile as sf

from prosody.formats.bundle import SessionMeta
from prosody.store.db import MIGRATIONS, Store

from .conftest import REPO, run_cli

SR = 16000
# what libmpg123 prints: "Note: Illegal Audio-MPEG-Header ...", "Warning: Xing stream size off ...",
# "[src/libmpg123/layer3.c:INT123_do_layer3():1804] error: dequantization failed!"
LIBRARY_LINE = re.compile(r"^\s*(\[[^\]]*\]\s*)?(note|warning|error)\s*:|libmpg123|resync", re.I | re.M)


def _cli_process(*argv, cwd=None):
    """``prosody ARGV`` in a child process, so that what C code writes to descriptor 2 is seen too."""
    env = {k: v for k, v in os.environ.items() if k != "PROSODY_DEBUG"}
    return subprocess.run([sys.executable, "-m", "prosody_cli.main", *map(str, argv)], capture_output=True,
                          text=True, timeout=120, cwd=cwd or REPO, env=env)


# -- 1. a damaged MP3 -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mp3_whole(tmp_path_factory, fixture_dialogue):
    """8 s of the fixture dialogue's left channel as a constant-bitrate MP3 (bytes ~ time)."""
    audio, _ = fixture_dialogue
    p = tmp_path_factory.mktemp("mp3") / "whole.mp3"
    sf.write(p, audio[: 8 * SR, 0], SR, format="MP3", subtype="MPEG_LAYER_III", bitrate_mode="CONSTANT",
             compression_level=0.5)
    return p


def _damaged(whole, path, *, at: float = 0.0, n_bytes: int, start_byte: int = 0, seed: int = 1):
    """``whole`` with ``n_bytes`` of noise written over it from fraction ``at`` of its length
    (or from byte ``start_byte``)."""
    data = bytearray(whole.read_bytes())
    rng = random.Random(seed)
    start = start_byte or int(len(data) * at)
    for i in range(start, min(start + n_bytes, len(data))):
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return path


def test_damaged_mp3_gives_prosodys_warning_and_no_decoder_lines(tmp_path, mp3_whole):
    """Noise over the middle of an MP3: the decoder gives up there. The user sees one
    line, prosody's warning (naming the damage, in the decoder's words), the audio
    before the damage is analysed, and nothing libmpg123 printed reaches stderr."""
    bad = _damaged(mp3_whole, tmp_path / "bad.mp3", at=0.5, n_bytes=3000)
    proc = _cli_process("analyze", bad, "--speaker", "therapist", "--json", "-", "--quiet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: warning: "), proc.stderr
    assert "is damaged" in lines[0] and "analysed what it decoded" in lines[0], lines[0]
    assert not LIBRARY_LINE.search(proc.stderr.replace(lines[0], "")), proc.stderr
    doc = json.loads(proc.stdout)
    assert 3.0 < doc["duration_s"] < 4.5, doc["duration_s"]  # planted at 4 s (half the bytes); not past it
    assert any("is damaged" in w for w in doc["warnings"]), doc["warnings"]


def test_truncated_mp3_is_called_truncated_without_decoder_lines(tmp_path, mp3_whole):
    """An MP3 cut at 60 %: libmpg123 warns about the Xing header's size; the user sees
    only prosody's 'truncated' warning, and about 60 % of the 8 s is analysed."""
    cut = tmp_path / "cut.mp3"
    data = mp3_whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    proc = _cli_process("analyze", cut, "--speaker", "therapist", "--json", "-", "--quiet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: warning: ") and "is truncated" in lines[0], proc.stderr
    assert json.loads(proc.stdout)["duration_s"] == pytest.approx(0.6 * 8.0, abs=0.4)


def test_whole_mp3_the_decoder_grumbles_about_is_not_called_damaged(tmp_path, fixture_dialogue):
    """ffmpeg's 16 kHz MP3 of the fixture: libmpg123 prints "part2_3_length too large"
    but decodes it as ffmpeg does, sample for sample, to its full length: no warning."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: cannot make the MP3")
    audio, _ = fixture_dialogue
    wav, mp3 = tmp_path / "d.wav", tmp_path / "d.mp3"
    sf.write(wav, audio[:, 0], SR)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ar", "16000", "-ac", "1", str(mp3)], check=True)
    proc = _cli_process("analyze", mp3, "--speaker", "therapist", "--json", "-", "--quiet")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert json.loads(proc.stdout)["warnings"] == []


def test_undecodable_mp3_is_one_error_line(tmp_path, mp3_whole):
    """Noise over everything from byte 200 (inside the first frames): nothing decodes.
    One error line, exit 2, no decoder lines."""
    bad = _damaged(mp3_whole, tmp_path / "noise.mp3", start_byte=200, n_bytes=10 ** 9)
    proc = _cli_process("analyze", bad, "--speaker", "therapist", "--quiet")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: error: cannot decode "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_c_stderr_captured_sorts_library_lines_from_other_output(capfd):
    """What is written to descriptor 2 inside the block: library-shaped lines are
    kept (without the C source location), anything else passes through; after the
    block descriptor 2 is the terminal's again."""
    from prosody.fileio import c_stderr_captured
    said: list[str] = []
    with c_stderr_captured(said):
        os.write(2, b"Note: Trying to resync...\n")
        os.write(2, b"[src/libmpg123/layer3.c:INT123_do_layer3():1804] error: dequantization failed!\n")
        os.write(2, b"progress 50%\n")
    os.write(2, b"after\n")
    assert said == ["Note: Trying to resync...", "error: dequantization failed!"]
    assert capfd.readouterr().err == "progress 50%\nafter\n"
    with pytest.raises(RuntimeError):  # a failing decoder call: what it said is kept, descriptor 2 restored
        with c_stderr_captured(said):
            os.write(2, b"Warning: Xing stream size off\n")
            raise RuntimeError("decoder failed")
    os.write(2, b"restored\n")
    assert said[-1] == "Warning: Xing stream size off"
    assert capfd.readouterr().err == "restored\n"


# -- 2. a stored session with a malformed document ------------------------------------------------------------------
def _three_sessions(path, analysed):
    with Store(path) as st:
        for day in (1, 2, 3):
            st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7",
                                                       recorded_at=f"2024-05-0{day}T10:00:00"))
    return path


def _talk_share(analysed) -> str:
    """The therapist's share of the talking as show prints it, e.g. '75 %'."""
    return f"{analysed.to_json_dict()['speakers']['therapist']['talk_share'] * 100:.0f} %"


def _plant_doc(store, sid: int, change) -> None:
    """Rewrite session ``sid``'s stored document with sqlite3, as a hand edit would:
    ``change(doc)`` edits the parsed document, or is the new text itself."""
    db = sqlite3.connect(store / "sessions.db")
    if isinstance(change, str):
        text = change
    else:
        doc = json.loads(db.execute("SELECT doc FROM sessions WHERE id = ?", (sid,)).fetchone()[0])
        change(doc)
        text = json.dumps(doc)
    db.execute("UPDATE sessions SET doc = ? WHERE id = ?", (text, sid))
    db.commit()
    db.close()


UNREADABLE = {  # planted damage -> the words of the schema check the error line must quote
    "measures of the wrong type": (lambda d: d["measures"].__setitem__("voice", "oops"),
                                   "measures.voice = 'oops': expected an object"),
    "a measure of the wrong type": (lambda d: d["measures"]["warmth"].__setitem__("score", "high"),
                                    "measures.warmth.score = 'high': expected a number or null"),
    "no speaker_order": (lambda d: d.pop("speaker_order"), "speaker_order = None"),
    "no speakers": (lambda d: d.pop("speakers"), "speakers = None"),
    "a speaker's timing missing": (lambda d: d["measures"]["timing"].pop("client"), "measures.timing.client"),
    "not JSON": ("{broken", "not JSON"),
    "NaN": (None, "NaN is not a number"),
}


@pytest.mark.parametrize("damage", sorted(UNREADABLE))
def test_malformed_stored_session_is_one_line_naming_it(tmp_path, analysed, damage):
    """Each read command on the damaged session: one error line naming session 2 and
    what is wrong with it (exit 1), no 'internal error'; the listing and session 1
    still read; trend and compare show the store's numbers and warn about session 2."""
    store = _three_sessions(tmp_path / "st", analysed)
    change, words = UNREADABLE[damage]
    if change is None:  # NaN where a number belongs: Python's json writes it, JSON has no such thing
        db = sqlite3.connect(store / "sessions.db")
        text = db.execute("SELECT doc FROM sessions WHERE id = 2").fetchone()[0]
        db.close()
        change = re.sub(r'"duration_s": [0-9.]+', '"duration_s": NaN', text, count=1)
    _plant_doc(store, 2, change)
    for argv in (["show", "2"], ["report", "2", "-o", tmp_path / "r.html"], ["export", "2"],
                 ["export", "2", "--format", "textgrid"], ["moments", "2"], ["relabel", "2"]):
        rc, out, err = run_cli(*argv, "--store", store)
        lines = err.splitlines()
        assert rc == 1 and len(lines) == 1, (argv, err)
        assert lines[0].startswith("prosody: error: session 2 in ") and "cannot be read" in lines[0], (argv, err)
        assert words in lines[0] and "prosody delete 2" in lines[0], (argv, err)
        assert "internal error" not in err and out == "", (argv, err)
    assert not (tmp_path / "r.html").exists()
    rc, out, err = run_cli("sessions", "--store", store)
    rows = [ln.split() for ln in out.splitlines()]
    assert rc == 0 and err == "" and [r[0] for r in rows if len(r) > 1 and r[1].startswith("2024-")] == \
        ["1", "2", "3"], out
    rc, out, err = run_cli("show", "1", "--store", store)
    assert rc == 0 and err == "" and _talk_share(analysed) in out, out
    for argv in (["trend", "--therapist", "ann"], ["compare", "1", "2", "3"]):
        rc, out, err = run_cli(*argv, "--store", store)
        lines = err.splitlines()
        assert rc == 0 and len(lines) == 1 and lines[0].startswith("prosody: warning: session 2 in "), (argv, err)
        assert "moment counts are left blank" in lines[0]
        assert " 3 " in out or "3" in out.split("\n")[0], (argv, out)


OPTIONAL = {  # left out of a document an older version (or another tool) wrote: the schema allows it
    "no notes": lambda d: d.pop("notes"),
    "no warnings": lambda d: d.pop("warnings"),
    "no sources": lambda d: d.pop("sources"),
    "no turn_taking": lambda d: d.pop("turn_taking"),
    "transitions null": lambda d: d.__setitem__("transitions", None),
    "events null": lambda d: d.__setitem__("events", None),
    "a speaker without summary": lambda d: d["speakers"].pop("client"),
    "attribution without its detection": lambda d: d.__setitem__("attribution", {"layout": "separate",
                                                                                 "attribution": "as given"}),
}


@pytest.mark.parametrize("gap", sorted(OPTIONAL))
def test_document_without_optional_fields_is_shown(tmp_path, analysed, gap):
    """What the schema leaves optional is shown blank, not a failure: show and report
    of the planted document work, and show still gives the therapist's numbers."""
    store = _three_sessions(tmp_path / "st", analysed)
    _plant_doc(store, 2, OPTIONAL[gap])
    rc, out, err = run_cli("show", "2", "--store", store)
    assert rc == 0 and "internal error" not in err, err
    if gap != "no turn_taking":  # then it is a session without turn-taking measures
        assert _talk_share(analysed) in out, out
    rc, _, err = run_cli("report", "2", "-o", tmp_path / "r.html", "--store", store)
    assert rc == 0 and (tmp_path / "r.html").stat().st_size > 1000, err


def test_old_store_with_an_unreadable_document_still_opens(tmp_path, analysed):
    """A version-1 store (migrated on opening, its documents read to fill the newer
    tables) holding one document that is not JSON: the store opens, lists both
    sessions, shows the good one, and names the bad one."""
    good = json.loads(json.dumps(analysed.to_json_dict()))
    folder = tmp_path / "old"
    folder.mkdir(mode=0o700)
    db = sqlite3.connect(folder / "sessions.db", isolation_level=None)
    MIGRATIONS[0](db)  # the first schema, exactly as shipped
    db.execute("PRAGMA user_version = 1")
    for uid, text in (("abcd1234", json.dumps(good)), ("bcde2345", '{"schema": "prosody.session/2", "dur')):
        db.execute("INSERT INTO sessions (uid, saved_at, recorded_at, therapist, client, duration_s, turn_taking, "
                   "schema, doc) VALUES (?, '2024-01-01T00:00:00', '2024-01-01T09:00:00', 'ann', 'C7', ?, 1, ?, ?)",
                   (uid, good["duration_s"], good["schema"], text))
    db.close()
    rc, out, err = run_cli("sessions", "--store", folder)
    rows = [ln.split() for ln in out.splitlines()]
    assert rc == 0 and err == "" and [r[0] for r in rows if len(r) > 1 and r[1].startswith("2024-")] == ["1", "2"], \
        (out, err)
    with Store(folder) as st:
        assert st.get(1).doc == good
        assert st.metrics([1])[1]["warmth.score"] == good["measures"]["warmth"]["score"]  # backfilled
        assert st.attribution(1) == ("separate", "one speaker per channel or file, as given")
    rc, _, err = run_cli("show", "2", "--store", folder)
    assert rc == 1 and err.startswith("prosody: error: session 2 in ") and "not JSON" in err, err


# -- 3. one session number per session of a client ------------------------------------------------------------------
def _numbers(store) -> list[tuple]:
    with Store(store) as st:
        return [(i.id, i.meta.client, i.meta.session_number) for i in st.list()]


def _taken_line(rc, err, *, number, holder, after, client="C7"):
    lines = err.splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"prosody: error: session number {number} is taken: client '{client}' of therapist 'ann' "
                               f"has it as session {holder}; give another with --session-number (after the "
                               f"highest: {after}), or renumber session {holder} first"), err


def test_import_new_id_and_edit_client_cannot_repeat_a_session_number(tmp_path, analysed):
    """C7 has sessions #1 and #2, C8 has #1. A copy of C7 #1 imported with --new-id,
    and C8's session moved to C7, would each be a second C7 #1: a number carried
    along becomes C7's next (#3, then #4) with one note line; a number typed that
    C7 has is refused in one line naming its holder, and nothing changes."""
    store = tmp_path / "st"
    with Store(store) as st:
        for client in ("C7", "C7", "C8"):
            st.save_session(analysed, meta=SessionMeta(therapist="ann", client=client,
                                                       recorded_at="2024-05-01T10:00:00"))
    assert _numbers(store) == [(1, "C7", 1), (2, "C7", 2), (3, "C8", 1)]
    rc, _, err = run_cli("export", "1", "-o", tmp_path / "s1.json", "--store", store)
    assert rc == 0, err
    for argv, number, holder, after in ((["import", tmp_path / "s1.json", "--new-id", "--session-number", "2"],
                                         2, 2, 3),
                                        (["edit", "3", "--client", "C7", "--session-number", "2"], 2, 2, 3),
                                        (["edit", "2", "--session-number", "1"], 1, 1, 2)):  # 2's own # aside
        rc, out, err = run_cli(*argv, "--store", store)
        _taken_line(rc, err, number=number, holder=holder, after=after)
    assert _numbers(store) == [(1, "C7", 1), (2, "C7", 2), (3, "C8", 1)]  # nothing changed
    rc, out, err = run_cli("import", tmp_path / "s1.json", "--new-id", "--store", store)
    assert rc == 0 and out == f"imported {tmp_path / 's1.json'} as session 4\n", (out, err)
    assert err == ("prosody: note: client 'C7' of therapist 'ann' already has a session number 1: the imported "
                   "session 4 is number 3 (`prosody edit 4 --session-number N` changes it)\n"), err
    rc, out, err = run_cli("edit", "3", "--client", "C7", "--store", store)
    assert rc == 0 and "session no.: 4" in out, out
    assert err == ("prosody: note: client 'C7' of therapist 'ann' already has a session number 1: session 3 is "
                   "now number 4 (--session-number N gives another)\n"), err
    rc, out, err = run_cli("edit", "2", "--notes", "renumbered nothing", "--store", store)  # keeps its own number
    assert rc == 0 and err == "", err
    assert _numbers(store) == [(1, "C7", 1), (2, "C7", 2), (3, "C7", 4), (4, "C7", 3)]
    plain = tmp_path / "plain.json"  # an analysis without store metadata: the next number, nothing to note
    plain.write_text(json.dumps(analysed.to_json_dict()))
    rc, out, err = run_cli("import", plain, "--therapist", "ann", "--client", "C7", "--store", store)
    assert rc == 0 and err == "" and _numbers(store)[-1] == (5, "C7", 5), (out, err)


def test_a_number_held_twice_from_before_does_not_block_other_changes(tmp_path, analysed):
    """A store that already holds two C7 #1 (saved before the rule): notes, tags and a
    re-save of either session (relabel) still work; moving one to a free number works."""
    store = tmp_path / "st"
    with Store(store) as st:
        for _ in range(2):
            st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7"))
    db = sqlite3.connect(store / "sessions.db")
    db.execute("UPDATE sessions SET session_number = 1")
    db.commit()
    db.close()
    assert _numbers(store) == [(1, "C7", 1), (2, "C7", 1)]
    for argv in (["edit", "2", "--notes", "x", "--tag", "old"], ["relabel", "2"]):
        rc, _, err = run_cli(*argv, "--store", store)
        assert rc == 0, (argv, err)
    rc, _, err = run_cli("edit", "2", "--session-number", "2", "--store", store)
    assert rc == 0, err
    assert _numbers(store) == [(1, "C7", 1), (2, "C7", 2)]


def test_analyze_save_with_a_taken_number_is_refused_before_analysing(tmp_path, analysed, short_wav, monkeypatch):
    """--session-number that C7 already has: refused before the analysis (no rescue copy
    is made), exit 2; another therapist's C7 numbers on their own."""
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7"))
    import prosody.session as ps
    monkeypatch.setattr(ps, "analyze_blocks", lambda *a, **k: pytest.fail("analysed before the refusal"))
    rc, _, err = run_cli("analyze", short_wav, "--save", "--store", store, "--therapist", "ann", "--client", "C7",
                         "--session-number", "1", "--quiet", "--no-progress")
    _taken_line(rc, err, number=1, holder=1, after=2)
    assert not list(tmp_path.glob("prosody-unsaved-*"))
    with Store(store) as st:
        st.save_session(analysed, meta=SessionMeta(therapist="bo", client="C7", session_number=1))
        assert [(i.meta.therapist, i.meta.session_number) for i in st.list()] == [("ann", 1), ("bo", 1)]


def test_batch_refuses_a_taken_number_before_analysing_that_file(tmp_path, analysed, short_wav):
    """A manifest giving C7 #1 (held in the store) and C7 #2 twice: the first and third
    rows fail before analysis, naming the holder / the other row; the second is saved."""
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7"))
    files = []
    for k in range(3):  # three recordings (different content: not duplicates of one another)
        audio, sr = sf.read(short_wav, dtype="float32")
        p = tmp_path / f"r{k}.wav"
        sf.write(p, audio[k * SR // 2:], sr, subtype="PCM_16")
        files.append(p)
    m = tmp_path / "m.csv"
    m.write_text("file,therapist,client,session_number\n"
                 f"{files[0]},ann,C7,1\n{files[1]},ann,C7,2\n{files[2]},ann,C7,2\n")
    rc, out, err = run_cli("batch", m, "--store", store, "--table", tmp_path / "t", "--jobs", "1", "--no-progress")
    assert rc == 1, (out, err)
    assert "1 analysed, 0 skipped (already done), 2 failed" in out, out
    assert "session number 1 is taken: client 'C7' of therapist 'ann' has it as session 1; give another with " \
           "the manifest's session_number column" in out, out
    assert f"session number 2 of client 'C7' is also given to {files[1]} ({m} line 3)" in out, out
    assert sorted(n for _, _, n in _numbers(store)) == [1, 2]


# -- 4. moment numbers stay when a note is added --------------------------------------------------------------------
SILENCES_S = ((30.0, 14.0), (80.0, 12.0), (130.0, 9.0), (180.0, 6.0))  # (start, length): planted silences


def _silences_doc() -> dict:
    """300 s, therapist and client taking turns with four planted silences (14, 12, 9
    and 6 s long); nothing else stands out. By the default rules (at most 3 of a kind,
    longer = more salient) the moments are the silences at 30 s, 80 s and 130 s, in
    that order."""
    segs, t, k = [], 0.0, 0
    while t < 296.0:  # 3 s turns 0.5 s apart; a turn ends where a planted silence starts
        end = min([t + 3.0] + [a for a, _ in SILENCES_S if t < a <= t + 3.0])
        segs.append({"speaker": ("therapist", "client")[k % 2], "start_s": t, "end_s": end})
        t = end + dict(SILENCES_S).get(end, 0.5)
        k += 1
    return {"schema": "prosody.session/2", "duration_s": 300.0, "speaker_order": ["therapist", "client"],
            "turn_taking": False, "sources": ["planted"], "speakers": {"therapist": {}, "client": {}},
            "segments": segs}


def _listed(store) -> list[tuple[int, str, float]]:
    rc, out, err = run_cli("moments", "1", "--json", "--store", store)
    assert rc == 0, err
    return [(m["rank"], m["kind"], m["start_s"]) for m in json.loads(out)]


def test_adding_notes_keeps_every_moments_number(tmp_path):
    """The planted silences are #1-#3. Notes written at 0:10, then on 2:10 (the time of
    #3), then on moment #2: #1-#3 keep their numbers and times; the notes on a time
    take #4 and #5 in the order written (not in time order); the note on #2 is shown
    with #2 and takes no number. play and note --moment K reach the same moment."""
    store = tmp_path / "st"
    with Store(store) as st:
        st.save(_silences_doc(), None, meta=SessionMeta(therapist="ann", client="C7"))
    planted = [(1, "silence", 30.0), (2, "silence", 80.0), (3, "silence", 130.0)]
    assert _listed(store) == planted
    for at, text in (("2:10", "the client goes quiet here"), ("0:10", "opening")):
        rc, _, err = run_cli("note", "1", "--at", at, text, "--store", store)
        assert rc == 0, err
    assert _listed(store) == planted + [(4, "note", 130.0), (5, "note", 10.0)]
    rc, out, err = run_cli("note", "1", "--moment", "2", "ask about this pause", "--author", "sup", "--store", store)
    assert rc == 0 and "long silence at 80.0 s" in out, (out, err)
    rc, out, _ = run_cli("moments", "1", "--json", "--store", store)
    ms = json.loads(out)
    assert [(m["rank"], m["kind"], m["start_s"]) for m in ms] == planted + [(4, "note", 130.0), (5, "note", 10.0)]
    assert "note by sup: ask about this pause" in ms[1]["what"]
    rc, out, _ = run_cli("moments", "1", "--store", store)  # the terminal list numbers them the same way
    assert [ln.split()[:2] for ln in out.splitlines() if ln[:2].strip().isdigit()] == \
        [["1", "0:30–0:44"], ["2", "1:20–1:32"], ["3", "2:10–2:19"], ["4", "2:10"], ["5", "0:10"]], out
    rc, out, _ = run_cli("note", "1", "--moment", "3", "and here", "--store", store)
    assert rc == 0 and "long silence at 130.0 s" in out, out


def test_notes_follow_the_ranked_list_in_the_order_written():
    """moments(): a note never takes a ranked moment's place nor pushes the last one
    out of max_total; notes are numbered after the list by when they were written."""
    from prosody.formats.bundle import Note
    from prosody.moments import DEFAULT_WEIGHTS, MomentsConfig, moments
    doc = _silences_doc()
    cfg = MomentsConfig(max_total=2)
    before = [(m.rank, m.kind, m.start_s) for m in moments(doc, cfg=cfg)]
    assert before == [(1, "silence", 30.0), (2, "silence", 80.0)]
    notes = [Note(250.0, "late in time, written first", created_at="2024-05-01T10:00:00.000001"),
             Note(5.0, "early in time, written second", created_at="2024-05-01T10:00:00.000002")]
    after = moments(doc, notes=notes, cfg=cfg)
    assert [(m.rank, m.kind, m.start_s) for m in after] == before + [(3, "note", 250.0), (4, "note", 5.0)]
    no_notes = MomentsConfig(max_total=2, weights=tuple({**dict(DEFAULT_WEIGHTS), "note": 0.0}.items()))
    assert [m.kind for m in moments(doc, notes=notes, cfg=no_notes)] == ["silence", "silence"]  # weight 0: left out


# -- 5. an unterminated quote in a batch manifest -------------------------------------------------------------------
MANIFEST_HEAD = "file,therapist,client,notes\n"


@pytest.mark.parametrize("body,line,words", [
    # the quote on line 4 runs to the end of the file: csv takes lines 5-6 into that cell
    ('a.wav,ann,C7,fine\nb.wav,ann,C7,ok\nc.wav,ann,C7,"arrived late, seemed tired\nd.wav,ann,C7,x\n'
     'e.wav,ann,C7,y\n', 4, "a quoted cell is never closed (its opening \" takes in every line after it)"),
    # ... closed by a later quote: line 3 reads as a row of its own
    ('a.wav,ann,C7,"arrived late\nb.wav,ann,C7,ok\nc.wav,ann,"C7",x\n', 2,
     "a quoted cell is never closed on its line: it takes in line 3 ('b.wav,ann,C7,ok')"),
    # ... and the record has too many cells: said as the quote, not as a stray comma
    ('a.wav,ann,C7,ok\nb.wav,ann,C7,"late\nthen more\nc.wav",x,y\n', 3,
     "6 cells, the header has 4 (file, therapist, client, notes); the quoted cell opened on line 3 runs on to "
     "line 5: is its closing quote missing?"),
], ids=["to the end of the file", "closed by a later quote", "too many cells"])
def test_unclosed_quote_in_a_manifest_names_its_line(tmp_path, body, line, words):
    from prosody.batch.runner import read_manifest
    from prosody.errors import InputError
    m = tmp_path / "manifest.csv"
    m.write_text(MANIFEST_HEAD + body)
    with pytest.raises(InputError) as exc:
        read_manifest(m)
    assert str(exc.value).startswith(f"{m} line {line}: {words}"), str(exc.value)
    rc, out, err = run_cli("batch", m, "--store", tmp_path / "st", "--no-progress")
    assert rc == 2 and out == "" and err == f"prosody: error: {exc.value}\n", err
    assert not (tmp_path / "st" / "sessions.db").exists() or _numbers(tmp_path / "st") == []


def test_quoted_line_breaks_that_close_are_still_notes(tmp_path):
    """Notes over several lines, and a quote inside a cell, read as before."""
    from prosody.batch.runner import read_manifest
    m = tmp_path / "manifest.csv"
    m.write_text(MANIFEST_HEAD + 'a.wav,ann,C7,"one\ntwo, and b.wav too"\n\nb.wav,ann,C8,"say ""hi""\nthree"\n'
                 'c.wav,ann,C9,5" of tape\n')
    jobs = read_manifest(m)
    assert [(Path(j.paths[0]).name, j.meta.client, j.meta.notes, j.origin.rsplit(" ", 1)[-1]) for j in jobs] == [
        ("a.wav", "C7", "one\ntwo, and b.wav too", "2"), ("b.wav", "C8", 'say "hi"\nthree', "5"),
        ("c.wav", "C9", '5" of tape', "7")]


def test_a_stray_space_makes_no_other_client(tmp_path, analysed):
    """'alex ' and 'alex' look alike in every listing: they are one client, so the second
    'alex ' session is alex #2 (a typed --session-number 1 is refused), and trend finds both."""
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analysed, meta=SessionMeta(therapist="ann", client="alex"))
        st.save_session(analysed, meta=SessionMeta(therapist=" ann", client="alex "))
    assert _numbers(store) == [(1, "alex", 1), (2, "alex", 2)]
    rc, out, err = run_cli("edit", "2", "--client", "alex\t", "--session-number", "1", "--store", store)
    _taken_line(rc, err, number=1, holder=1, after=2, client="alex")
    with Store(store) as st:
        assert [i.id for i in st.list(therapist="ann ", client=" alex")] == [1, 2]


def test_a_stray_argument_points_to_its_commands_help(tmp_path):
    rc, out, err = run_cli("note", "1", "1", "hi", "--store", tmp_path / "st")
    assert rc == 2 and err == "prosody: error: unrecognized arguments: hi (see `prosody note --help`)\n", err
    rc, out, err = run_cli("--bogus")
    assert rc == 2 and err == "prosody: error: unrecognized arguments: --bogus (see `prosody --help`)\n", err


def test_export_takes_its_format_from_the_file_name(tmp_path, analysed):
    """`export 1 -o s.csv` wrote JSON into s.csv (and s.csv.frames.npz beside it): the suffix
    now names the format; a suffix of another format than --format's is refused in one line."""
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7"))
    rc, out, err = run_cli("export", "1", "-o", tmp_path / "s.csv", "--store", store)
    assert rc == 0, err
    head = (tmp_path / "s.csv").read_text().splitlines()[0]
    assert head.startswith("time_s,speaker,is_speech"), head
    assert not (tmp_path / "s.csv.frames.npz").exists()
    rc, out, err = run_cli("export", "1", "-o", tmp_path / "s.rttm", "--store", store)
    assert rc == 0 and (tmp_path / "s.rttm").read_text().startswith("SPEAKER "), err
    rc, out, err = run_cli("export", "1", "-o", tmp_path / "x.json", "--format", "csv", "--store", store)
    assert rc == 2 and err.count("\n") == 1 and "named like json but --format is csv" in err, err
    assert not (tmp_path / "x.json").exists()
    rc, out, err = run_cli("export", "1", "-o", tmp_path / "s.data", "--store", store)  # unknown suffix: json
    assert rc == 0 and json.loads((tmp_path / "s.data").read_text())["speakers"], err


def test_network_delay_note_says_nothing_was_corrected_without_a_delay(fixture_dialogue):
    from prosody.measures import MeasuresConfig
    from prosody.session import analyze_blocks
    audio, _ = fixture_dialogue
    notes = {}
    for ms in (0.0, 120.0):
        s = analyze_blocks([audio[: 20 * SR]], ("therapist", "client"), measures=MeasuresConfig(network_delay_ms=ms))
        notes[ms] = s.to_json_dict()["measures"]["network_delay_note"]
    assert notes[0.0].startswith("no network delay given") and "corrected by" not in notes[0.0], notes
    assert notes[120.0].startswith("client gaps corrected by the round trip"), notes
