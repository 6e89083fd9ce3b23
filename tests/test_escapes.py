"""Text a person typed is data in every output: the hostile-input sweep.

Each test plants a hostile string where a person types (a speaker label, an
imported file's words, a file name, a profile's source, a manifest's therapist)
and checks that it comes out inert -- no terminal escape reaches the screen,
no line or field is added to RTTM/TextGrid/EAF, no spreadsheet formula runs --
and that an ordinary name comes out unchanged."""
import io
import json

import pytest
import soundfile as sf
from rich.console import Console

from prosody.formats.bundle import Bookmark, SessionMeta
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


@pytest.fixture(scope="module")
def audio():
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    assert sr == SR
    return x[: 8 * SR]


def _session(audio, speakers):
    return analyze_blocks([audio], tuple(speakers), sources=["rec.wav"])


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
