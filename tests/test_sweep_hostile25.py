"""Hostile sweep 25 (docs/store.md "Hostile sweep 25"): each defect found, against planted truth.

1. The fill's floor of a diarized channel (``speakers._fill_floors``): where one stretch's pauses lie over -90 dBFS
   and the rest under it, the recording's floor is raised to -90 dBFS; a stretch with too few pauses of its own
   (a long turn) took that raised floor too, 10 dB over its own pauses at -100 dBFS, and its fill was heard as the
   other voice's speech (a talk-over too many on a mono mix whose last 8 s hold noise at -85 dBFS).
2. A supervisor's note on the therapist's rolling warmth dip or rise, or on a cue, kept its label through
   `relabel`: those moments are the therapist's, on windows both voices share, so the note went onto the other
   voice's warmth dip (or cue) in the same window.
3. ``rolling._hist_quantile`` at quantile 0 gave the underflow bin's centre whatever the histogram held.
4. `relabel` of an imported session whose ``heard_raised_db`` is 0 wrote the note "speech heard at : ...".
5. A file name's control characters (ESC, the 8-bit CSI, BEL) went raw into the batch table's CSV.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import run_cli


# -- 1. a long turn in a recording whose floor steps over -90 dBFS ---------------------------------------------

def _steady_floor_with_a_noisy_tail(noisy_s=(50, 60)):
    """60 s: white noise at -100 dBFS, at -85 dBFS from ``noisy_s[0]`` to ``noisy_s[1]``; "speech" (a 300 Hz tone
    at -40 dBFS) 1 s on, 1 s off, but without a pause from 20 to 36 s (a long turn). (mono, speech mask, fill
    piece middles in s)."""
    from prosody.engine.speakers import _FILL_CHUNK
    sr = 16000
    n = 60 * sr
    x = np.random.default_rng(0).standard_normal(n) * 10 ** (-100 / 20)
    x[noisy_s[0] * sr:noisy_s[1] * sr] *= 10 ** (15 / 20)
    speech = np.zeros(n // 160, bool)
    for t in range(0, 60, 2):
        speech[t * 100:t * 100 + 100] = True
    speech[20 * 100:36 * 100] = True
    tone = 10 ** (-40 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 300 * np.arange(n) / sr)
    x = (x + np.repeat(speech, 160) * tone).astype(np.float32)
    mids = (np.arange(-(-n // _FILL_CHUNK)) * _FILL_CHUNK + _FILL_CHUNK // 2) / sr
    return x, speech, mids


def test_a_long_turn_keeps_the_measured_floor_where_another_stretch_is_noisier():
    """The pieces within the long turn (no 1 s of pauses within 5 s of them) are filled at the floor of the
    pauses either side of it (-100 dBFS), not the -90 dBFS the noisy tail raised the recording's to (-90 on the
    old code); the noisy tail keeps -90 dBFS (5 dB under its pauses, as e429051 made it), the other stretches
    their own. A long turn within the noisy stretch keeps -90 dBFS."""
    from prosody.engine.speakers import _fill_floors
    x, speech, mids = _steady_floor_with_a_noisy_tail()
    floor_db, floors = _fill_floors(x, speech)
    assert floor_db == -90.0 and floors is not None
    in_turn = (mids > 24) & (mids < 32)
    assert in_turn.sum() >= 6
    assert np.all(np.abs(floors[in_turn] + 100.0) < 0.5), floors[in_turn]  # planted: -100 dBFS
    assert np.all(floors[mids > 51] == -90.0)
    assert np.all(np.abs(floors[(mids < 18) | ((mids > 38) & (mids < 47))] + 100.0) < 0.5)
    # the long turn inside the noisy stretch (-85 dBFS from 14 to 42 s): -90 dBFS, as its neighbours (e429051's)
    x, speech, mids = _steady_floor_with_a_noisy_tail((14, 42))
    floor_db, floors = _fill_floors(x, speech)
    assert floor_db == -90.0 and np.all(floors[(mids > 18) & (mids < 38)] == -90.0)
    assert np.all(np.abs(floors[(mids < 8) | (mids > 48)] + 100.0) < 0.5)
    # a step up after a stretch of few pauses: the pieces before it keep their own pauses' floor (-100 dBFS), not
    # the step's (-90 on the old code: its pauses within 5 s are mostly the noisy ones)
    x, speech, mids = _steady_floor_with_a_noisy_tail()
    speech[44 * 100:50 * 100] = True
    speech[49 * 100:49 * 100 + 60] = False  # 0.6 s of pause at 49 s (no tone there), at -100 dBFS
    floor_db, floors = _fill_floors(x, speech)
    assert floor_db == -90.0
    assert np.all(np.abs(floors[(mids > 48) & (mids < 50)] + 100.0) < 0.5), floors[(mids > 46) & (mids < 51)]


@pytest.mark.parametrize("seed", [3, 4])
def test_a_mono_mix_with_a_noisy_end_keeps_its_talk_overs(seed, needs_espeak, tmp_path):
    """``scenario_mixed`` at -40 dBFS mixed to mono over white noise at -100 dBFS, its last 8 s at -85 dBFS
    (benchmarks/noise_step.py's material): the talk-overs and waits as planted. On the old code seed 3's client
    talk-overs read 2 for 1: the fill of a long turn's pieces (10.2-16.4 s) at -90 dBFS over its pauses; seed 4's
    therapist's 2 for 1 (one at 30.72 s): the fill stepped up 10 dB where a piece's pauses within 5 s reached the
    noisy end, 1.5 s before the noise does (``NEAR_FLOOR_SPAN_S``)."""
    from tests.dialogue import CLIENT, THERAPIST, build_dialogue, scenario_mixed
    dlg = build_dialogue(scenario_mixed(seed=seed), level_db=(-40, -40), noise_db=None, seed=seed)
    audio = np.asarray(dlg.audio, np.float64)
    mono = 0.7 * (audio[:, 0] + audio[:, 1])
    noise = np.random.default_rng(1000 + seed).standard_normal(len(mono)) * 10 ** (-100 / 20)
    noise[-8 * 16000:] *= 10 ** (15 / 20)
    path, out = tmp_path / "mix.wav", tmp_path / "mix.json"
    sf.write(path, (mono + noise).astype(np.float32), 16000, subtype="FLOAT")
    rc, _, err = run_cli("analyze", path, "--json", out, "--quiet", "--no-progress")
    assert rc == 0, err
    sp = json.loads(out.read_text())["speakers"]
    for who in (THERAPIST, CLIENT):
        planted = float(np.median([t.offset_s for t in dlg.truth.transitions if t.to_speaker == who]))
        assert abs(sp[who]["gap_median_s"] - planted) <= 0.1, (who, sp[who]["gap_median_s"], planted)
        assert sp[who]["interruptions"] == len([e for e in dlg.truth.interruptions if e.speaker == who]), who


# -- 2. a note on the therapist's warmth or cue, after `relabel` -----------------------------------------------

def _windows(scores, cue_at=None):
    """Rolling windows 30 s long every 10 s with the therapist's warmth ``scores``; a monologue cue in window
    ``cue_at`` (its moment starts 10 s before the window's end)."""
    return [{"start_s": 10.0 * i, "end_s": 10.0 * i + 30.0, "warmth": {"score": s},
             "cues": [{"kind": "monologue", "message": "long monologue"}] if i == cue_at else []}
            for i, s in enumerate(scores)]


@pytest.mark.parametrize("kind,label,scores,cue_at", [
    ("warmth_dip", "warmth dipped at 20.0 s", [60, 60, 30, 60, 60], None),
    ("warmth_rise", "warmth rose at 20.0 s", [60, 60, 90, 60, 60], None),
    ("cue", "cue fired at 30.0 s", [60, 60, 60, 60, 60], 1)])
def test_a_note_on_the_therapists_warmth_or_cue_does_not_follow_a_relabel_onto_the_other(kind, label, scores,
                                                                                         cue_at):
    """A note written on the therapist's warmth dip (rise, cue) of the window 20-50 s (30-40 s); `relabel` makes
    the other voice the therapist, whose own warmth dips (rises, cue fires) in that same window: the note's
    label, rewritten as `relabel` rewrites it (``Store.save(note_labels=moments.swapped_label)``), no longer
    names a moment of the therapist's, and the note stands on its own. On the old code the label was kept and
    the note was shown on the new therapist's moment. Relabelled back, the label is the one written."""
    from prosody.formats.bundle import Note
    from prosody.moments import candidates, label_kind, swapped_label
    doc = {"speaker_order": ["therapist", "client"], "turn_taking": False, "segments": [],
           "measures": {"rolling": _windows(scores, cue_at)}}
    t = float(label.rsplit(" at ", 1)[1].split()[0])
    (host,) = [c for c in candidates(doc) if c.kind == kind]
    assert abs(host.start_s - t) < 1e-9  # the new therapist's moment at the note's time
    after = swapped_label(label)
    assert after != label and label_kind(after) == "" and swapped_label(after) == label
    cands = candidates(doc, notes=[Note(t, "her voice went flat here", moment=after)])
    (host,) = [c for c in cands if c.kind == kind]
    assert "her voice went flat" not in host.what
    assert [c.what for c in cands if c.kind == "note"] == ["her voice went flat here"]
    # as written (before any relabel): on its moment
    cands = candidates(doc, notes=[Note(t, "her voice went flat here", moment=label)])
    assert [c.what for c in cands if c.kind == kind][0].endswith("· note: her voice went flat here")


# -- 3. the rolling baseline's histogram quantile at its ends --------------------------------------------------

def test_the_histogram_quantile_at_0_and_1_is_the_lowest_and_highest_value_held():
    """All the mass in bins -30.0..-29.9 and -10.0..-9.9 dBFS (and once in the last, overflow bin): quantile 0
    is the lowest bin held, 1 the highest; the old code gave quantile 0 as the underflow bin's centre
    (-120.05 dBFS) whatever the histogram held. Empty: None."""
    from prosody.measures.rolling import _BASE_BINS, _hist_quantile
    edges = _BASE_BINS["level_db"]
    hist = np.bincount(np.searchsorted(edges, [-29.95] * 5 + [-9.95] * 5), minlength=len(edges) + 1)
    assert abs(_hist_quantile(hist, edges, 0.0) + 29.95) < 0.051
    assert abs(_hist_quantile(hist, edges, 1.0) + 9.95) < 0.051
    assert abs(_hist_quantile(hist, edges, 0.5) + 29.95) < 0.051  # the lower middle, as before
    last = np.zeros(len(edges) + 1, np.int64)
    last[-1] = 3
    assert _hist_quantile(last, edges, 0.0) == _hist_quantile(last, edges, 1.0) > edges[-1]
    assert _hist_quantile(np.zeros(len(edges) + 1, np.int64), edges, 0.0) is None


# -- 4. an imported session's heard_raised_db of 0, relabelled --------------------------------------------------

def test_relabel_of_an_imported_gain_of_0_keeps_its_note_whole(tmp_path):
    """An imported session (the fixture's analysis) whose ``heard_raised_db`` is {therapist: 0} (valid: 0..80 dB)
    beside a note of a gain heard: `relabel` rewrote the note from the gains, none told, as "speech heard at : the
    recording is very quiet ..."; now the note is kept as it was (no gain to say with the names exchanged)."""
    from tests.conftest import FIXTURES
    store, src = tmp_path / "store", tmp_path / "d.json"
    assert run_cli("analyze", FIXTURES / "dialogue.flac", "--json", src, "--quiet", "--no-progress")[0] == 0
    doc = json.loads(src.read_text())
    note = "speech heard at +30 dB: the recording is very quiet"
    doc["heard_raised_db"], doc["notes"] = {"therapist": 0}, list(doc.get("notes") or []) + [note]
    src.write_text(json.dumps(doc))
    assert run_cli("import", src, "--store", store)[0] == 0
    assert run_cli("relabel", "1", "--store", store)[0] == 0
    out = tmp_path / "e.json"
    assert run_cli("export", "1", "-o", out, "--store", store)[0] == 0
    notes = json.loads(out.read_text())["notes"]
    assert note in notes and not any(n.startswith("speech heard at :") for n in notes), notes


# -- 5. control characters of a file name in the batch table's CSV ---------------------------------------------

CONTROLS = "\x1b\x9b\x07\x08\x00\x7f\x0b"


def test_control_characters_in_the_batch_table_are_escapes_and_read_back(tmp_path, short_wav):
    """A batch of the fixture's first 8 s under a file name holding ESC [31m, the 8-bit CSI (U+009B) and BEL: the
    table's CSV held them raw (printed by `cat`, the terminal ran them: red text, a bell); now written as the
    escapes the terminal and JSON show (``\\u001b``), and ``read_table_csv`` gives back the name."""
    from prosody.batch.runner import read_table_csv
    from tests.conftest import run_cli
    rec = tmp_path / "rec\x1b[31mred\x9b2J\x07.wav"
    shutil.copy(short_wav, rec)
    rc, _, err = run_cli("batch", tmp_path, "--store", tmp_path / "st", "--table", tmp_path / "t", "-j", "1",
                         "--no-progress", "--no-parquet")
    assert rc == 0, err
    text = (tmp_path / "t.csv").read_bytes().decode("utf-8")
    assert not any(c in text for c in "\x1b\x9b\x07"), repr(text)  # before: all three raw
    assert "rec\\u001b[31mred\\u009b2J\\u0007.wav" in text
    (row,) = read_table_csv(tmp_path / "t.csv")
    assert row["file"] == str(rec)


def test_the_control_character_escape_is_undone_exactly():
    """20,000 random strings of backslashes, escapes' text, control characters, overrides, quotes and separators:
    written without a control character but tab, LF and CR, read back exact; CR, LF and tab kept as they were."""
    import random
    from prosody.typed_text import from_spreadsheet_cell, spreadsheet_cell
    rnd = random.Random(25)
    alphabet = "\\u001b9=;,'\t\r\n" + CONTROLS + "\u202e"
    for _ in range(20000):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        cell = spreadsheet_cell(s)
        assert from_spreadsheet_cell(cell) == s and not any(c in cell for c in CONTROLS + "\u202e"), (s, cell)
    assert spreadsheet_cell("a\tb\r\nc") == "a\tb\r\nc"
    assert spreadsheet_cell("\x07=cmd") == "\\u0007=cmd"  # no formula either


# -- 6. a disk quota used up, said as one ------------------------------------------------------------------------

def test_a_used_up_quota_is_not_said_as_a_full_disk(tmp_path, short_wav, monkeypatch):
    """`analyze --json` where the write meets EDQUOT (`Disk quota exceeded`: the user's quota, the disk may have
    room): said "the disk holding it is full, 80.8 GB free" (both at once); now that the quota is used up, with
    the disk's free space, the session saved first and the JSON not written. The store's own files the same
    (``store.db.store_os_error``)."""
    import errno

    import prosody.fileio as fileio
    from prosody.store.db import store_os_error
    from tests.conftest import run_cli
    out = tmp_path / "out.json"
    write = fileio.write_private

    def quota(path, *a, **k):
        if str(path) == str(out):
            raise OSError(errno.EDQUOT, "Disk quota exceeded", str(path))
        return write(path, *a, **k)
    monkeypatch.setattr(fileio, "write_private", quota)
    rc, _, err = run_cli("analyze", short_wav, "--json", out, "--save", "--store", tmp_path / "st", "--quiet",
                         "--no-progress")
    assert rc != 0 and not out.exists()
    assert f"cannot write {out}: your disk quota there is used up (the disk holding it has " in err, err
    assert "is full" not in err and "saved as session 1" in err, err
    frames = tmp_path / "st" / "frames" / "x.npz"
    said = str(store_os_error(OSError(errno.EDQUOT, "Disk quota exceeded"), frames, "write"))
    assert said.startswith(f"cannot write {frames}: your disk quota there is used up") and "is full" not in said
    # a full disk keeps its words
    assert fileio.unwritten_text(OSError(errno.ENOSPC, "No space left on device"), out).startswith(
        f"cannot write {out}: the disk holding it is full, ")
    assert str(store_os_error(OSError(errno.ENOSPC, "No space left on device"), frames, "write")).startswith(
        f"the disk holding {frames} is full (")


# -- left by the sweep, mended after it: a non-finite number's line said as the session's other checks say theirs --

def test_a_non_finite_number_in_an_imported_session_is_named_as_the_other_checks_name_theirs(tmp_path):
    """JSON's NaN / Infinity at a session's own key read "session document.duration_s = nan" where every other
    check says "session document: duration_s"; nested keys keep their dotted path."""
    from prosody.errors import InvalidSessionError
    from prosody.formats.schema import check_session_doc
    base = {"schema": "prosody.session/2", "speaker_order": ["therapist"], "speakers": {"therapist": {}}}
    for doc, want in (({**base, "duration_s": float("nan")}, "session document: duration_s = nan: "),
                      ({**base, "duration_s": 1.0, "speakers": {"therapist": {"speech_s": float("inf")}}},
                       "session document: speakers.therapist.speech_s = inf: ")):
        with pytest.raises(InvalidSessionError) as exc:
            check_session_doc(doc)
        assert str(exc.value).startswith(want), exc.value
    path = tmp_path / "nan.json"
    path.write_text('{"schema": "prosody.session/2", "duration_s": NaN}')
    rc, out, err = run_cli("import", path, "--store", tmp_path / "st")
    assert rc == 2 and err == "prosody: error: session document: duration_s = nan: not a finite number\n", err


def test_two_gains_said_alike_are_said_once():
    """79.6 and 80 dB read "+80 dB (therapist), +80 dB (client)": the same words twice (sweep 25's leftover)."""
    from prosody.session import HEARD_RAISED_MARK, heard_raised_note
    note = heard_raised_note({"therapist": 79.6, "client": 80.0}, ("therapist", "client"))
    assert note.startswith(f"{HEARD_RAISED_MARK}+80 dB: the recording is very quiet"), note
    note = heard_raised_note({"therapist": 30.0, "client": 80.0}, ("therapist", "client"))
    assert note.startswith(f"{HEARD_RAISED_MARK}+30 dB (therapist), +80 dB (client): "), note
