"""TextGrid and EAF exports read back with real readers (Praat's own through
parselmouth; pympi-ling for ELAN): tiers, labels and times equal the session's."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.formats.bundle import Bookmark
from prosody.formats.eaf import session_eaf
from prosody.formats.textgrid import session_textgrid
from prosody_cli.main import main

TRICKY = 'she said "stop" <b>&amp; é 日本\nnew line'
TRICKY_CLEAN = 'she said "stop" <b>&amp; é 日本 new line'


def planted_doc():
    """Two speakers with known segments, turns, one overlap, one interruption,
    one backchannel, one failed interruption."""
    seg = lambda s, a, b: {"speaker": s, "start_s": a, "end_s": b}  # noqa: E731
    return {
        "schema": "prosody.session/2", "duration_s": 20.0, "frame_hop_s": 0.01,
        "speaker_order": ["therapist", "client"], "turn_taking": True, "speakers": {"therapist": {}, "client": {}},
        "segments": [seg("therapist", 0.5, 3.25), seg("therapist", 3.75, 6.0), seg("client", 5.5, 9.0),
                     seg("therapist", 7.0, 7.4), seg("therapist", 10.125, 14.0), seg("client", 12.0, 12.8),
                     seg("client", 15.0, 19.99)],
        "turns": [seg("therapist", 0.5, 6.0), seg("client", 5.5, 9.0), seg("therapist", 10.125, 14.0),
                  seg("client", 15.0, 19.99)],
        "transitions": [
            {"from_speaker": "therapist", "to_speaker": "client", "from_end_s": 6.0, "to_start_s": 5.5,
             "offset_s": -0.5, "kind": "overlap"},
            {"from_speaker": "client", "to_speaker": "therapist", "from_end_s": 9.0, "to_start_s": 10.125,
             "offset_s": 1.125, "kind": "gap"},
            {"from_speaker": "therapist", "to_speaker": "client", "from_end_s": 14.0, "to_start_s": 15.0,
             "offset_s": 1.0, "kind": "gap"}],
        "events": [{"kind": "interruption", "speaker": "client", "start_s": 5.5, "end_s": 9.0},
                   {"kind": "backchannel", "speaker": "therapist", "start_s": 7.0, "end_s": 7.4},
                   {"kind": "failed_interruption", "speaker": "client", "start_s": 12.0, "end_s": 12.8}],
        "measures": None,
    }


EXPECTED_INTERVALS = {
    "therapist speech": [(0.5, 3.25), (3.75, 6.0), (7.0, 7.4), (10.125, 14.0)],
    "therapist turns": [(0.5, 6.0), (10.125, 14.0)],
    "client speech": [(5.5, 9.0), (12.0, 12.8), (15.0, 19.99)],
    "client turns": [(5.5, 9.0), (15.0, 19.99)],
}
EXPECTED_POINTS = {
    "changes in overlap": [(5.5, "client")], "interruptions": [(5.5, "client")],
    "failed interruptions": [(12.0, "client")], "backchannels": [(7.0, "therapist")],
    "bookmarks": [(2.0, TRICKY_CLEAN), (11.5, "")],
    "moments": [(4.0, 'long "monologue"'), (16.0, "a & b")],
}
BOOKMARKS = (Bookmark(2.0, TRICKY), Bookmark(11.5, ""))
EXTRA = {"moments": [(16.0, "a & b"), (4.0, 'long "monologue"')]}


def read_textgrid(path):
    """Every tier of a TextGrid as Praat reads it: name -> [(xmin, xmax, label)]
    of non-empty intervals, or [(time, label)] of points."""
    parselmouth = pytest.importorskip("parselmouth")
    from parselmouth.praat import call
    tg = parselmouth.read(str(path))
    assert call(tg, "Get end time") == pytest.approx(20.0)
    return read_textgrid_generic(tg)


def test_textgrid_read_back_by_praat_equals_the_session(tmp_path):
    p = tmp_path / "s.TextGrid"
    p.write_text(session_textgrid(planted_doc(), bookmarks=BOOKMARKS, extra_points=EXTRA), encoding="utf-8")
    got = read_textgrid(p)
    assert list(got) == list(EXPECTED_INTERVALS) + list(EXPECTED_POINTS)
    for name, spans in EXPECTED_INTERVALS.items():
        label = "speech" if name.endswith("speech") else "turn"
        assert got[name] == [(pytest.approx(a, abs=1e-9), pytest.approx(b, abs=1e-9), label) for a, b in spans]
    for name, pts in EXPECTED_POINTS.items():
        assert got[name] == [(pytest.approx(t, abs=1e-9), label) for t, label in pts], name


def test_eaf_read_back_by_pympi_equals_the_session(tmp_path):
    pympi = pytest.importorskip("pympi")
    p = tmp_path / "s.eaf"
    p.write_text(session_eaf(planted_doc(), bookmarks=BOOKMARKS, extra_points=EXTRA), encoding="utf-8")
    eaf = pympi.Elan.Eaf(str(p))
    assert list(eaf.get_tier_names()) == list(EXPECTED_INTERVALS) + list(EXPECTED_POINTS)
    for name, spans in EXPECTED_INTERVALS.items():
        label = "speech" if name.endswith("speech") else "turn"
        got = sorted(eaf.get_annotation_data_for_tier(name))
        assert got == [(round(a * 1000), round(b * 1000), label) for a, b in spans], name
        assert eaf.tiers[name][2]["PARTICIPANT"] == name.split()[0]
    for name, pts in EXPECTED_POINTS.items():
        got = sorted(eaf.get_annotation_data_for_tier(name))
        assert [(a, v) for a, _, v in got] == [(round(t * 1000), label) for t, label in pts], name
        assert all(0 < b - a <= 100 for a, b, _ in got)


def test_export_and_analyze_write_textgrid_and_eaf(tmp_path, capsys, fixture_dialogue):
    """The CLI paths on the fixture dialogue: the stored session exported, and
    ``analyze --textgrid --eaf``, both equal the session document."""
    import json
    import soundfile as sf
    pympi = pytest.importorskip("pympi")
    audio, _ = fixture_dialogue
    wav = tmp_path / "d.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    store = tmp_path / "store"
    assert main(["analyze", str(wav), "--json", str(tmp_path / "d.json"), "--textgrid", str(tmp_path / "a.TextGrid"),
                 "--eaf", str(tmp_path / "a.eaf"), "--save", "--store", str(store), "--quiet"]) == 0
    doc = json.loads((tmp_path / "d.json").read_text())
    assert main(["export", "1", "--format", "textgrid", "-o", str(tmp_path / "e.TextGrid"), "--store", str(store)]) == 0
    assert main(["export", "1", "--format", "eaf", "-o", str(tmp_path / "e.eaf"), "--store", str(store)]) == 0
    assert (tmp_path / "e.TextGrid").stat().st_mode & 0o077 == 0
    for tg in ("a.TextGrid", "e.TextGrid"):
        got = read_textgrid_any(tmp_path / tg, doc)
        for spk in doc["speaker_order"]:
            want = [(s["start_s"], s["end_s"]) for s in doc["segments"] if s["speaker"] == spk]
            assert [(a, b) for a, b, _ in got[f"{spk} speech"]] == [pytest.approx(x, abs=1e-9) for x in want]
            want = [(s["start_s"], s["end_s"]) for s in doc["turns"] if s["speaker"] == spk]
            assert [(a, b) for a, b, _ in got[f"{spk} turns"]] == [pytest.approx(x, abs=1e-9) for x in want]
        assert [t for t, _ in got["interruptions"]] == pytest.approx(
            sorted({e["start_s"] for e in doc["events"] if e["kind"] == "interruption"}))
    for ef in ("a.eaf", "e.eaf"):
        eaf = pympi.Elan.Eaf(str(tmp_path / ef))
        for spk in doc["speaker_order"]:
            want = [(round(s["start_s"] * 1000), round(s["end_s"] * 1000)) for s in doc["segments"]
                    if s["speaker"] == spk]
            assert [(a, b) for a, b, _ in sorted(eaf.get_annotation_data_for_tier(f"{spk} speech"))] == want


def read_textgrid_any(path, doc):
    parselmouth = pytest.importorskip("parselmouth")
    from parselmouth.praat import call
    tg = parselmouth.read(str(path))
    assert call(tg, "Get end time") == pytest.approx(doc["duration_s"])
    return read_textgrid_generic(tg)


def read_textgrid_generic(tg):
    from parselmouth.praat import call
    out = {}
    for i in range(1, int(call(tg, "Get number of tiers")) + 1):
        name = call(tg, "Get tier name", i)
        if call(tg, "Is interval tier", i):
            out[name] = [(call(tg, "Get start time of interval", i, k), call(tg, "Get end time of interval", i, k),
                          call(tg, "Get label of interval", i, k))
                         for k in range(1, int(call(tg, "Get number of intervals", i)) + 1)
                         if call(tg, "Get label of interval", i, k)]
        else:
            out[name] = [(call(tg, "Get time of point", i, k), call(tg, "Get label of point", i, k))
                         for k in range(1, int(call(tg, "Get number of points", i)) + 1)]
    return out


def test_export_carries_supervisor_notes_and_moments(tmp_path, fixture_dialogue):
    """Point tiers for the reviewer: a supervisor note at its time and every
    ranked moment at its start, read back by Praat and by pympi."""
    import soundfile as sf
    from prosody.formats.bundle import Note
    from prosody.moments import moments
    from prosody.store.db import Store
    pympi = pytest.importorskip("pympi")
    audio, _ = fixture_dialogue
    wav = tmp_path / "d.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    store = tmp_path / "store"
    assert main(["analyze", str(wav), "--save", "--store", str(store), "--quiet"]) == 0
    assert main(["note", "1", "--at", "0:12.5", 'client "laughs" here', "--store", str(store)]) == 0
    with Store(store) as st:
        stored = st.get(1)
    want = moments(stored.doc, bookmarks=stored.bookmarks, notes=stored.notes)
    assert want, "the fixture dialogue has moments to review"
    assert main(["export", "1", "--format", "textgrid", "-o", str(tmp_path / "e.TextGrid"), "--store", str(store)]) == 0
    assert main(["export", "1", "--format", "eaf", "-o", str(tmp_path / "e.eaf"), "--store", str(store)]) == 0
    got = read_textgrid_any(tmp_path / "e.TextGrid", stored.doc)
    assert got["notes"] == [(pytest.approx(12.5), 'client "laughs" here')]
    assert [t for t, _ in got["moments"]] == pytest.approx(sorted(m.start_s for m in want))
    assert {lab.split(".", 1)[0] for _, lab in got["moments"]} == {str(m.rank) for m in want}
    eaf = pympi.Elan.Eaf(str(tmp_path / "e.eaf"))
    notes = sorted(eaf.get_annotation_data_for_tier("notes"))
    assert [(a, lab) for a, _, lab in notes] == [(12500, 'client "laughs" here')]
    assert len(eaf.get_annotation_data_for_tier("moments")) == len(want)
    assert isinstance(stored.notes[0], Note)
