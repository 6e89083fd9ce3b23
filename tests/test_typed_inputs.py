"""Typed input that could destroy or mislead, found by a hostile sweep (2026-12-02): outputs
aimed into the session store, bytes that are not UTF-8, bidi overrides in the report's charts,
speaker names that collide, digits of other scripts as session IDs, unwritable output folders.

Each test plants the input and checks the one clear refusal (one line, exit status 2, nothing
written, nothing lost) or the inert display, and that ordinary input still goes through."""
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from prosody.engine.sources import parse_channel_map
from prosody.errors import InputError, StoreError
from prosody.fileio import check_outputs
from prosody.formats.bundle import Bookmark, SessionMeta
from prosody.formats.rttm import segments_rttm
from prosody.frames import read_frames_npz
from prosody.report.text import html_safe, terminal_safe
from prosody.session import analyze_blocks
from prosody.store.db import Store, check_session_ref
from prosody.typed_text import rttm_clash, rttm_token
from prosody.types import name_problem
from tests.conftest import FIXTURES, run_cli
from tests.test_validation import _one_line  # one error line, its exit status, no traceback

SR = 16000


@pytest.fixture(scope="module")
def short_audio():
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    assert sr == SR
    return x[: 6 * SR]


# -- bytes that are not UTF-8 ------------------------------------------------------------------------------------
def test_bytes_that_are_not_utf8_are_shown_as_the_bytes_they_were():
    # how Python hands over the file name b"f/a\x9b2J\x9b31mRED\xff.flac" (surrogateescape): byte 0x9b is an 8-bit
    # CSI, which a terminal reads as the start of an escape sequence
    name = os.fsdecode(b"f/a\x9b2J\x9b31mRED\xff.flac")
    assert "\udc9b" in name
    shown = terminal_safe(name)
    assert shown == "f/a\\x9b2J\\x9b31mRED\\xff.flac"
    assert html_safe(name) == shown
    assert rttm_token(name) == "f/a_2J_31mRED_.flac"
    shown.encode("utf-8")  # printable anywhere
    # the Unicode line and paragraph separators break lines like a line feed
    assert terminal_safe("a\u2028b\u2029c") == "a\\u2028b\\u2029c"
    assert terminal_safe("plain words, [brackets] and ünïcode") == "plain words, [brackets] and ünïcode"


def test_names_and_notes_that_are_not_utf8_are_refused_with_one_line(tmp_path, short_audio, monkeypatch):
    bad = os.fsdecode(b"bad\xffbyte")
    assert name_problem(bad) == "holds bytes that are not UTF-8 text" and name_problem("Ann") is None
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analyze_blocks([short_audio], ("therapist", "client")), meta=SessionMeta(therapist="ann"))
    for argv in (["edit", "1", "--tag", bad], ["note", "1", "--at", "0:02", bad],
                 ["note", "1", "--at", "0:02", "fine", "--author", bad], ["edit", "1", "--notes", bad]):
        rc, out, err = run_cli(*argv, "--store", store)
        _one_line(rc, err, rc if rc in (1, 2) else 2)
        assert "UTF-8" in err and "\udcff" not in err, (argv, err)
    # a recording whose name is not UTF-8: analysed and shown escaped, refused (before any work) only where
    # the store would keep its name
    monkeypatch.chdir(tmp_path)  # a short path: the summary's title line shows it whole
    wav = os.fsdecode(b"rec\x9b31m\xff.flac")
    shutil.copy(FIXTURES / "dialogue.flac", wav)
    rc, out, err = run_cli("analyze", wav)
    assert rc == 0, err
    assert "\x9b" not in out + err and "\udc9b" not in out + err and "rec\\x9b31m\\xff.flac" in out
    for argv in (["analyze", wav, "--save", "--quiet", "--store", store], ["analyze", wav, "--json", "s.json"],
                 ["live", "--input", wav, "--speed", "max", "--plain", "--output", "l.json"],
                 ["batch", wav, "--store", store, "--table", "t.csv", "--no-parquet"]):
        rc, out, err = run_cli(*argv)
        _one_line(rc, err)
        assert "not UTF-8" in err and "convmv" in err and "\\udc" not in err, (argv, err)
    assert not list(tmp_path.glob("*.json")) and not list(tmp_path.glob("t.*"))
    for o in (["--rttm", "s.rttm"], ["--textgrid", "s.TextGrid"], ["--eaf", "s.eaf"], ["--frames", "s.csv"]):
        rc, out, err = run_cli("analyze", wav, "--quiet", *o)  # outputs that do not name the recording
        assert rc == 0, (o, err)
    with Store(store) as st:
        assert len(st.list()) == 1


# -- outputs into the store ---------------------------------------------------------------------------------------
def test_no_output_lands_in_the_session_store(tmp_path):
    store = tmp_path / "st"
    (store / "frames").mkdir(parents=True)
    (store / "sessions.db").write_bytes(b"x")
    for path in (store / "sessions.db", store / "frames" / "a.npz", store / "new.json", store / "frames" / ".." / "b"):
        with pytest.raises(InputError, match="session store"):
            check_outputs([("--json", path)], protected=[store])
    check_outputs([("--json", tmp_path / "out.json")], protected=[store])  # beside it: fine
    link = tmp_path / "alias"
    link.symlink_to(store)
    with pytest.raises(InputError, match="session store"):
        check_outputs([("--json", link / "sessions.db")], protected=[store])


def test_outputs_are_checked_before_any_work(tmp_path):
    with pytest.raises(InputError, match="empty file name"):
        check_outputs([("-o", "")])
    with pytest.raises(InputError, match="not writable"):
        check_outputs([("-o", "/proc/x.html")])
    store = tmp_path / "st"
    with Store(store) as st:
        x, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
        st.save_session(analyze_blocks([x[: 6 * SR]], ("therapist", "client")), meta=SessionMeta(therapist="ann"))
    rc, out, err = run_cli("compare", "1", "-o", "/proc/x.html", "--store", store)
    _one_line(rc, err)
    assert out == "" and "not writable" in err and ".tmp" not in err
    rc, out, err = run_cli("report", "1", "-o", "", "--store", store)
    _one_line(rc, err)
    assert not list(tmp_path.glob("*.html"))


# -- speaker names -----------------------------------------------------------------------------------------------
def test_a_speaker_named_twice_or_alike_in_rttm_is_refused():
    with pytest.raises(InputError, match="named twice"):
        parse_channel_map("a=left,a=right", n_channels=2)
    with pytest.raises(InputError, match="differ only in spaces"):
        parse_channel_map("a b=left,a_b=right", n_channels=2)
    assert parse_channel_map("Ann=left,Bo=right", n_channels=2) == {"Ann": 0, "Bo": 1}
    assert rttm_clash(["a b", "a_b"]) == ("a b", "a_b") and rttm_clash(["therapist", "client"]) is None
    rc, out, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--channels", "a=left,a=right")
    _one_line(rc, err)
    assert out == ""


def test_rttm_of_speakers_whose_tokens_collide_is_refused(short_audio):
    s = analyze_blocks([short_audio], ("a b", "a_b"))
    with pytest.raises(InputError, match="both be 'a_b'"):
        segments_rttm(s.segments, speakers=s.speakers, uri="rec")
    s = analyze_blocks([short_audio], ("therapist", "client"))
    assert segments_rttm(s.segments, speakers=s.speakers, uri="rec").startswith("SPEAKER rec 1 ")


# -- session references --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["٣", "３", "1٣", "last\u200b"])
def test_digits_of_other_scripts_name_no_session(ref):
    assert int("٣") == 3  # what int() would have made of it
    from prosody.errors import SessionNotFoundError
    with pytest.raises(SessionNotFoundError, match="expected a session ID"):
        check_session_ref(ref)
    assert check_session_ref(" #12 ") == "12"


# -- the report's charts -----------------------------------------------------------------------------------------
def test_report_charts_show_bidi_overrides_as_text(tmp_path, short_audio):
    rlo = "Ann\u202eevil"
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_session(analyze_blocks([short_audio], (rlo, "client")), meta=SessionMeta(therapist="ann"),
                        bookmarks=[Bookmark(1.0, "bm\u202e</title><b>x")])
    rc, _, err = run_cli("report", "1", "--store", store, "-o", tmp_path / "r.html")
    assert rc == 0, err
    html = (tmp_path / "r.html").read_text()
    assert "\u202e" not in html and "Ann\\u202eevil" in html and "</title><b>x" not in html


# -- a frames file that is not one ----------------------------------------------------------------------------------
def test_a_replaced_frames_file_is_named_as_such(tmp_path):
    p = tmp_path / "f.npz"
    p.write_text('{"schema": "prosody.session/1"}')
    with pytest.raises(StoreError, match="not a frames file"):
        read_frames_npz(p, ["therapist", "client"])
    np.savez(tmp_path / "g.npz", speakers=np.array(["therapist"]), s0_is_speech=np.zeros(3, bool))
    assert read_frames_npz(tmp_path / "g.npz", ["therapist"])["therapist"]["is_speech"].shape == (3,)


# -- live and play arguments (third sweep) --------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--interval-s", "nan"], ["--interval-s", "1e-9"], ["--duration", "1e309"],
                                  ["--duration", "inf"], ["--output", "."], ["--output", ""]])
def test_live_arguments_that_cannot_work_are_refused_up_front(argv, tmp_path, monkeypatch):
    """nan as --interval-s spun the plain view (capture fell behind; one stop hung for good),
    --duration inf failed on its first block with a 0 s session, --output . was an internal error."""
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli("live", "--input", FIXTURES / "dialogue.flac", "--speed", "max", "--plain", *argv)
    _one_line(rc, err)
    assert not list(tmp_path.iterdir())


def test_typed_times_and_ratings_take_ascii_digits_only(tmp_path):
    """`note --at`, `feedback --rating` and `--srs` read what a person types: digits 0-9 (and one
    decimal point for a time). Python's int() and float() also take '١٠' (Arabic-Indic), '+5',
    '1_0', '1e1' and 'nan', which were read as numbers: 1_0 as 10 s."""
    from prosody.formats.bundle import SessionMeta
    from tests.test_leftovers import _silences_doc
    from tests.test_validation import _one_line
    store = tmp_path / "st"
    with Store(store) as st:
        st.save(_silences_doc(), None, meta=SessionMeta(therapist="ann", client="C7"))
    for at in ("1_0", "١٠", "+10", "-10", "1e1", "nan", "inf", "10:", ":10", "0:1_0", "0x10", ""):
        rc, _, err = run_cli("note", "1", "--at", at, "x", "--store", store)
        _one_line(rc, err)
        assert "expected m:ss, h:mm:ss or seconds" in err, err
    for at, want in (("2:10", 130.0), ("750.5s", 750.5), ("1:02:03", 3723.0), (".5", 0.5), ("0:12.", 12.0)):
        rc, out, err = run_cli("note", "1", "--at", at, f"at {at}", "--store", store)
        if want > 300.0:  # the session is 300 s long: refused as past its end, not as a typing error
            _one_line(rc, err)
            assert "expected m:ss" not in err, err
        else:
            assert rc == 0, err
            with Store(store) as st:
                assert [n.time_s for n in st.get(1).notes if n.text == f"at {at}"] == [want]
    for bad in (["--rating", "١"], ["--rating", "+4"], ["--rating", "4.0"], ["--rating", "0"],
                ["--srs", "9,8,+9,10"], ["--srs", "9,8,٩,10"], ["--srs", "9,8,9_0,10"]):
        rc, _, err = run_cli("feedback", "1", *bad, "--store", store)
        _one_line(rc, err)
    assert run_cli("feedback", "1", "--rating", "4", "--store", store)[0] == 0
    assert run_cli("feedback", "1", "--srs", " 9, 8,9,10", "--store", store)[0] == 0
    with Store(store) as st:
        assert sorted((f.kind, f.items) for f in st.get(1).feedback) == [("rating", (4,)), ("srs", (9, 8, 9, 10))]


def test_an_imported_date_is_stored_as_the_filters_compare_it(tmp_path):
    """A session file's recorded_at in another ISO 8601 form (basic format, a time zone) was stored
    as written and compared as text: '20240501T100000' sorted before every '2024-...' date."""
    import json
    from datetime import datetime, timezone
    from tests.test_leftovers import _silences_doc
    store = tmp_path / "st"
    zoned = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    for i, when in enumerate(("20240501T100000", zoned.isoformat(), "2024-05-02")):
        doc = {**_silences_doc(), "prosody_store": {"recorded_at": when, "therapist": "ann", "client": f"c{i}"}}
        (tmp_path / f"s{i}.json").write_text(json.dumps(doc))
        rc, _, err = run_cli("import", tmp_path / f"s{i}.json", "--store", store)
        assert rc == 0, err
    with Store(store) as st:
        got = {i.meta.client: i.meta.recorded_at for i in st.list()}
        on_the_first = [i.meta.client for i in st.list(since="2024-05-01", until="2024-05-01")]
    local = zoned.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")
    assert got == {"c0": "2024-05-01T10:00:00", "c1": local, "c2": "2024-05-02"}
    assert sorted(on_the_first) == sorted(c for c, w in (("c0", "2024-05-01"), ("c1", local)) if w[:10] == "2024-05-01")


def test_show_gives_a_note_within_one_second_one_time(tmp_path):
    """A note on a moment shorter than a second read '0:28–0:28' in `show`; a longer one keeps its span."""
    from prosody.formats.bundle import SessionMeta
    from tests.test_leftovers import _silences_doc
    store = tmp_path / "st"
    with Store(store) as st:
        sid = st.save(_silences_doc(), None, meta=SessionMeta(therapist="ann", client="C7"))
        st.add_note(sid, "short one", time_s=28.1, end_s=28.4)
        st.add_note(sid, "long one", time_s=30.0, end_s=44.4)
    rc, out, err = run_cli("show", str(sid), "--store", store)
    assert rc == 0, err
    assert "note 0:28: short one" in out and "note 0:30–0:44: long one" in out, out
