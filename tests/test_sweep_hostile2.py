"""Hostile-input sweep 2 (2026-12-03): audio, options and files made to break the command line.

Each test names the input, what happened before and what happens now. What the sweep
tried and found in order is listed in the commits of branch w-fuzz; inputs already
covered by test_sweep_hostile, test_hardening, test_typed_inputs, test_escapes,
test_sweep_audio, test_sweep_batch_import and test_store_damage are not repeated."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import export_saved, run_cli

SR = 16000


def _one_line(rc, err, code=2):
    assert rc == code, (rc, err)
    assert err.startswith("prosody: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err and "Warning" not in err, err


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def stereo(fixture_dialogue):
    """8 s of the fixture dialogue (therapist left, client right), float32 (n, 2)."""
    audio, _ = fixture_dialogue
    return audio[: 8 * SR]


# -- a cut M4A: where decoding stopped -----------------------------------------------------------------------------

def test_a_cut_m4a_says_where_decoding_stopped_in_ffmpegs_words(tmp_path, stereo):
    """An AAC .m4a written with its index first (-movflags +faststart) and cut at a third: the
    warning said 'decoding stopped at 0.00 s ([Errno 1094995529] Invalid data found ...)' while
    2.4 s were analysed: the samples decoded but not yet passed on were left out of the count,
    and FFmpeg's error code was shown. Now the time is what was read, in FFmpeg's words only."""
    pytest.importorskip("av")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: cannot make the M4A")
    wav, m4a, cut = tmp_path / "d.wav", tmp_path / "d.m4a", tmp_path / "cut.m4a"
    sf.write(wav, stereo, SR, subtype="PCM_16")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", "-movflags", "+faststart",
                    str(m4a)], check=True)
    data = m4a.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    rc, out, err = run_cli("analyze", cut, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "o.json").read_text())
    (said,) = [w for w in doc["warnings"] if "decoding stopped" in w]
    m = re.fullmatch(rf"{re.escape(str(cut))}: decoding stopped at (\d+\.\d\d) s \(Invalid data found when "
                     r"processing input\); analysed the readable part", said)
    assert m is not None, said
    assert float(m.group(1)) == pytest.approx(doc["duration_s"], abs=0.011) and doc["duration_s"] > 1.0, said
    assert f"prosody: warning: {said}\n" in err and "Errno" not in err


# -- float samples far past full scale ----------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e30, 1e18])
def test_float_samples_no_recorder_writes_are_one_line(tmp_path, stereo, scale):
    """A float WAV of the dialogue times 1e30 (or 1e18): analyze printed numpy's RuntimeWarnings
    (overflow in square, invalid value in subtract: several lines with source code), called the
    file clipped, and saved a session with no pitch; enrol printed the same warnings and built a
    profile. Now: one line, exit 2, naming the size, as NaN samples are refused."""
    rec = tmp_path / "loud.wav"
    sf.write(rec, stereo * np.float32(scale), SR, subtype="FLOAT")
    before = _sha(rec)
    rc, out, err = run_cli("analyze", rec, "--quiet", "--no-progress", "--save", "--store", tmp_path / "st")
    _one_line(rc, err)
    assert re.fullmatch(rf"prosody: error: {re.escape(str(rec))} holds samples of \S+ times full scale \(the first "
                        r"at [0-9.]+ s: sample \d+, channel [12]\): no recorder writes these \(damaged data, or other "
                        r"numbers stored as float samples\); repair or re-export the recording\n", err), err
    rc, out, err = run_cli("enrol", rec, "--therapist", "ann", "--store", tmp_path / "st")
    _one_line(rc, err)
    assert "times full scale" in err
    assert _sha(rec) == before and not (tmp_path / "st" / "sessions.db").exists()


def test_float_samples_scaled_to_32_bit_integers_are_still_analysed(tmp_path, stereo):
    """The limit leaves floats written in the range of 32-bit integers (2^31 full scale) alone."""
    rec = tmp_path / "int32.wav"
    sf.write(rec, stereo * np.float32(2 ** 31), SR, subtype="FLOAT")
    rc, out, err = run_cli("analyze", rec, "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0 and "Warning" not in err, err
    doc = json.loads((tmp_path / "o.json").read_text())
    assert doc["speakers"]["therapist"]["f0_median_hz"] is not None


# -- live replay of a damaged file --------------------------------------------------------------------------------

def test_live_replay_of_a_truncated_file_keeps_the_warning(tmp_path, stereo, monkeypatch):
    """``live --input`` of a WAV cut in half: analyze says 'is truncated: header says 8.00 s,
    read 4.00 s'; the live session's JSON said nothing (its capture health, where a replay's
    warnings go, held none, and the file is found cut only once read to its end)."""
    monkeypatch.chdir(tmp_path)
    whole = tmp_path / "whole.wav"
    sf.write(whole, stereo, SR, subtype="PCM_16")
    data = whole.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    rc, out, err = run_cli("live", "--input", "cut.wav", "--plain", "--speed", "max", "--output", "l.json",
                           "--store", tmp_path / "st")
    assert rc == 0, err
    doc = json.loads((tmp_path / "l.json").read_text())
    said = "cut.wav is truncated: header says 8.00 s, read 4.00 s; analysed the readable part"
    assert said in doc["warnings"] and said in doc["capture"]["warnings"], doc["warnings"]
    assert doc["duration_s"] == pytest.approx(4.0, abs=0.01)


# -- options that contradict the file or each other ---------------------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory, stereo):
    d = tmp_path_factory.mktemp("files")
    sf.write(d / "st.wav", stereo, SR, subtype="PCM_16")
    sf.write(d / "t.wav", stereo[:, 0], SR, subtype="PCM_16")
    sf.write(d / "c.wav", stereo[:, 1], SR, subtype="PCM_16")
    eight = np.zeros((len(stereo), 8), np.float32)
    eight[:, :2] = stereo
    sf.write(d / "eight.wav", eight, SR, subtype="PCM_16")
    return d


@pytest.mark.parametrize("argv, said", [
    (["st.wav", "--layout", "mono", "--speaker", "client"],
     "--speaker client names the one speaker of a mono file; {d}/st.wav has 2 channels: say whose each is with "
     "--channels (e.g. --channels client=left for that speaker alone on the left channel)"),
    (["st.wav", "--speaker", "therapist"],
     "--speaker therapist names the one speaker of a mono file; {d}/st.wav has 2 channels: say whose each is with "
     "--channels (e.g. --channels therapist=left for that speaker alone on the left channel)"),
    (["t.wav", "c.wav", "--speaker", "client"],
     "--speaker client names the one speaker of a mono file; two files are the therapist's and the client's, in "
     "that order"),
    (["st.wav", "--layout", "mono", "--channels", "therapist=right,client=left"],
     "--channels therapist=right,client=left names one speaker per channel, and --layout mono says both voices "
     "are on every channel, told apart by voice: give one or the other (--layout separate with --channels forces "
     "the channel mapping)"),
    (["st.wav", "--layout", "shared", "--channels", "therapist=right,client=left"],
     "--channels therapist=right,client=left names one speaker per channel, and --layout shared says both voices "
     "are on every channel, told apart by voice: give one or the other (--layout separate with --channels forces "
     "the channel mapping)"),
    (["eight.wav", "--layout", "shared"],
     "--layout shared reads a file of one or two channels; this one has 8: name the speakers' channels with "
     "--channels therapist=N,client=M (one speaker per channel)"),
])
def test_an_option_the_recording_ignored_is_refused(tmp_path, files, argv, said):
    """Each was accepted and dropped without a word: ``--layout mono --speaker client`` on a stereo
    file saved one voice named *therapist*; ``--speaker`` on a stereo file or on two files did
    nothing; ``--channels`` beside ``--layout mono/shared`` was not used; ``--layout shared`` on an
    8-channel file analysed channels 1 and 2 as separate speakers. Now one line, exit 2, before
    any analysis, nothing written."""
    args = [files / a if a.endswith(".wav") else a for a in argv]
    rc, out, err = run_cli("analyze", *args, "--save", "--store", tmp_path / "st", "--json", tmp_path / "o.json")
    assert (rc, out, err) == (2, "", f"prosody: error: {said.format(d=files)}\n")
    assert not list(tmp_path.iterdir())


def test_the_options_that_agree_still_run(tmp_path, files):
    """What the refusals point to: one named channel of a stereo file, --channels with
    --layout separate, and --speaker on a mono file."""
    for argv, speakers in ((["st.wav", "--channels", "client=left"], ["client"]),
                           (["st.wav", "--layout", "separate", "--channels", "therapist=right,client=left"],
                            ["therapist", "client"]),
                           (["t.wav", "--speaker", "client"], ["client"]),
                           (["eight.wav", "--channels", "therapist=2,client=1"], ["therapist", "client"])):
        args = [files / a if a.endswith(".wav") else a for a in argv]
        out_json = tmp_path / f"o{len(list(tmp_path.iterdir()))}.json"  # one each: none replaced (sweep 38)
        rc, out, err = run_cli("analyze", *args, "--json", out_json, "--quiet", "--no-progress")
        assert rc == 0, (argv, err)
        assert json.loads(out_json.read_text())["speaker_order"] == speakers, argv


def test_a_manifest_row_whose_layout_contradicts_its_channels_fails_alone(tmp_path, files):
    """batch: a row's ``layout`` mono (or shared) with its ``channels`` was analysed with the
    channels dropped; now that row fails with the same line as analyze's, the others run."""
    for name in ("st.wav", "t.wav", "eight.wav"):
        shutil.copy(files / name, tmp_path / name)
    (tmp_path / "m.csv").write_text('file,layout,channels\nst.wav,mono,"therapist=left,client=right"\n'
                                    'eight.wav,shared,"therapist=1,client=2"\nt.wav,mono,\n')
    rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", tmp_path / "st", "-j", "1", "--no-progress",
                           "--table", tmp_path / "t")
    assert rc == 1 and "batch: 3 recordings: 1 analysed, 0 skipped (already done), 2 failed" in out, (out, err)
    for name, channels, layout in (("st.wav", "therapist=left,client=right", "mono"),
                                   ("eight.wav", "therapist=1,client=2", "shared")):
        # the manifest's row and columns, not the options, since session 39 (tests/test_left39.py)
        assert (f"prosody: failed: {tmp_path / name}: {tmp_path / 'm.csv'} line {2 if name == 'st.wav' else 3}: "
                f"channels {channels} names one speaker per channel, and layout {layout} says both voices are on "
                "every channel") in err, err


# -- import: supervisor notes ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported_with_a_note(tmp_path_factory, stereo):
    """An export (as a dict) of an 8 s session holding one supervisor's note at 0:02."""
    d = tmp_path_factory.mktemp("exp")
    sf.write(d / "s.wav", stereo, SR, subtype="PCM_16")
    assert run_cli("analyze", d / "s.wav", "--save", "--store", d / "st", "--quiet", "--no-progress")[0] == 0
    assert run_cli("note", "1", "a sigh here", "--at", "0:02", "--author", "sup", "--store", d / "st")[0] == 0
    assert run_cli("export", "1", "--store", d / "st", "-o", d / "s.json")[0] == 0
    return json.loads((d / "s.json").read_text())


@pytest.mark.parametrize("change, said", [
    ({"time_s": 1e9}, ".time_s = 1000000000.0: outside 0..9"),
    ({"time_s": -1}, ".time_s = -1: outside 0..9"),
    ({"time_s": "12"}, ".time_s = '12': expected a number"),
    ({"end_s": 1.0}, ".end_s = 1.0: outside 2..9"),
    ({"text": 5}, ".text = 5: expected the note's text"),
    ({"text": "  "}, ".text = '  ': expected the note's text"),
    ({"author": ["x"]}, ".author = ['x']: expected a name or empty text"),
    ({"moment": "\x1b[2J"}, ".moment = '\\x1b[2J': holds control characters"),
    (5, " = 5: expected an object {time_s, end_s, text, author}"),
])
def test_an_imported_supervisor_note_keeps_the_rules_of_prosody_note(tmp_path, exported_with_a_note, change, said):
    """``import`` of an export whose supervisor's note was at 1e9 s of an 8 s session, at -1 s,
    at '12' (text), ended before it began, or whose text was the number 5: each was stored
    (the text as '5', '12' as 12 s) and listed by ``moments``, where ``prosody note`` refuses
    them all; a note that was not an object said 'malformed (TypeError(...))'. Now one line
    naming the field, exit 2, nothing stored."""
    doc = json.loads(json.dumps(exported_with_a_note))
    notes = doc["prosody_store"]["supervisor_notes"]
    notes[0] = change if not isinstance(change, dict) else {**notes[0], **change}
    (tmp_path / "x.json").write_text(json.dumps(doc))
    rc, out, err = run_cli("import", tmp_path / "x.json", "--store", tmp_path / "st")
    assert (rc, out, err) == (2, "", f"prosody: error: prosody_store.supervisor_notes[0]{said}\n")
    assert not (tmp_path / "st").exists()


def test_an_exported_note_within_a_second_past_the_end_imports_again(tmp_path, exported_with_a_note):
    """``prosody note --at`` takes up to 1 s past the session's end; its export imports."""
    doc = json.loads(json.dumps(exported_with_a_note))
    doc["prosody_store"]["supervisor_notes"][0].update(time_s=8.5, end_s=9.0)
    (tmp_path / "x.json").write_text(json.dumps(doc))
    rc, out, err = run_cli("import", tmp_path / "x.json", "--store", tmp_path / "st")
    assert rc == 0, err
    rc, out, err = run_cli("moments", "1", "--store", tmp_path / "st")
    assert rc == 0 and " 0:08 " in out and "a sigh here" in out, out


# -- typed whole numbers; a NUL byte in a manifest ------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["1_0", "١٢", "+5", "0x10", "1e1"])
def test_a_session_number_takes_digits_only(tmp_path, files, typed):
    """``edit --session-number 1_0`` stored 10, '١٢' 12 and '+5' 5 (int() takes them), as a
    manifest's session_number did; ``note --at`` and ``feedback`` already take digits 0-9 only.
    Now each is refused in one line, exit 2, and the stored number is unchanged."""
    store = tmp_path / "st"
    assert run_cli("analyze", files / "t.wav", "--speaker", "therapist", "--save", "--store", store,
                   "--client", "c1", "--session-number", " 3", "--quiet", "--no-progress")[0] == 0
    rc, out, err = run_cli("edit", "1", "--session-number", typed, "--store", store)
    assert (rc, out, err) == (2, "", f"prosody: error: argument --session-number: {typed!r} is not a whole number "
                                     "(see `prosody edit --help`)\n")
    (tmp_path / "m.csv").write_text(f"file,client,session_number\n{files / 'c.wav'},c1,{typed}\n", encoding="utf-8")
    rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", store, "--no-progress", "--table", tmp_path / "t")
    assert (rc, out, err) == (2, "", f"prosody: error: {tmp_path / 'm.csv'} line 2: session_number {typed!r} is "
                                     "not a whole number\n")
    from prosody.store.db import Store
    with Store(store) as st:
        assert [(i.id, i.meta.session_number) for i in st.list()] == [(1, 3)]


@pytest.mark.parametrize("row, column", [("\0x.wav", "file"), ("t.wav,c\0.wav", "file2")])
def test_a_manifest_file_name_with_a_nul_byte_is_one_line(tmp_path, files, row, column):
    """A manifest row whose file name holds a NUL byte said 'internal error (ValueError: embedded
    null byte)', exit 1. Now: the line, the column and the byte named, exit 2."""
    shutil.copy(files / "t.wav", tmp_path / "t.wav")
    (tmp_path / "m.csv").write_text(("file,file2\n" if "," in row else "file\n") + row + "\n")
    rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", tmp_path / "st", "--no-progress",
                           "--table", tmp_path / "t")
    name = row.split(",")[-1]
    assert (rc, out, err) == (2, "", f"prosody: error: {tmp_path / 'm.csv'} line 2: {column} {name!r} holds a NUL "
                                     "byte, which no file name can; remove it\n")
    assert not (tmp_path / "st").exists()


# -- import: the audio record ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, said", [
    ({"files": [{"path": "/tmp/a\0b.wav", "sha256": None, "bytes": 1}]},
     "audio.files[0].path = '/tmp/a\\x00b.wav': expected a file's path"),
    ({"picks": {"therapist": [0, 0], "client": [5, 0]}}, "audio.picks.client[0] = 5: outside 0..0"),
    ({"picks": {"therapist": [0, -1], "client": [0, 1]}}, "audio.picks.therapist[1] = -1: outside 0..1023"),
    ({"picks": {"nobody": [0, 0]}}, "audio.picks = 'nobody': a speaker not in speaker_order"),
    ({"offset_s": 1e300}, "audio.offset_s = 1e+300: outside -604800..604800"),
    ({"files": []}, "audio.files = []: expected a list of one or two recordings"),
])
def test_an_imported_audio_record_no_analysis_writes_is_refused(tmp_path, exported_with_a_note, change, said):
    """``import`` of a session whose audio record named a path with a NUL byte, or a speaker read
    from file 6 of one: both were stored, and then ``report`` and ``export`` (the path) or ``play``
    and ``report --clips`` (the pick) said 'internal error (ValueError: embedded null byte)' /
    '(IndexError: ...)'. Now one line naming the field, exit 2, nothing stored."""
    doc = json.loads(json.dumps(exported_with_a_note))
    doc["audio"].update(change)
    (tmp_path / "x.json").write_text(json.dumps(doc))
    rc, out, err = run_cli("import", tmp_path / "x.json", "--store", tmp_path / "st")
    assert (rc, out, err) == (2, "", f"prosody: error: session document: {said}\n")
    assert not (tmp_path / "st").exists()


def test_a_channel_the_recording_lacks_is_said_not_an_internal_error(tmp_path, exported_with_a_note):
    """An imported record that reads the therapist from channel 100 of the (stereo) recording:
    ``report --clips`` said 'internal error (IndexError ...)'; now the report is written without
    clips and says why, in one line, as it does for a recording that moved."""
    doc = json.loads(json.dumps(exported_with_a_note))
    doc["audio"]["picks"]["therapist"] = [0, 99]
    (tmp_path / "x.json").write_text(json.dumps(doc))
    assert run_cli("import", tmp_path / "x.json", "--store", tmp_path / "st")[0] == 0
    rc, out, err = run_cli("report", "1", "--store", tmp_path / "st", "-o", tmp_path / "r.html", "--clips")
    assert rc == 0 and err.splitlines()[0] == (
        "prosody: no clips in the report: the session reads the therapist from channel 100 of recording 1, which "
        "the recording does not have: no audio to play"), err
    assert "internal error" not in err and "Traceback" not in err
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o600


# -- pages to stdout -----------------------------------------------------------------------------------------------

def test_a_page_to_stdout_is_refused_not_written_as_a_file_named_dash(tmp_path, files, monkeypatch):
    """``report 1 -o -`` (and compare, trend) wrote the page to a file named '-' in the working
    folder and said 'report written to -', while ``export -o -`` writes to stdout and the line
    for ``-o /dev/null`` said 'use - for stdout'. Now refused in one line, exit 2, nothing written;
    export's '-' is still stdout."""
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "st"
    assert run_cli("analyze", files / "st.wav", "--save", "--store", store, "--therapist", "ann", "--quiet",
                   "--no-progress")[0] == 0
    for argv in (["report", "1"], ["compare", "1"], ["trend", "--therapist", "ann"]):
        rc, out, err = run_cli(*argv, "-o", "-", "--store", store)
        assert (rc, out, err) == (2, "", "prosody: error: -o -: this output cannot go to stdout; give a file name\n")
        rc, out, err = run_cli(*argv, "-o", "/dev/null", "--store", store)
        assert (rc, out, err) == (2, "", "prosody: error: cannot write -o /dev/null: it is a character device, not "
                                         "a regular file\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["st"]
    rc, out, err = run_cli("export", "1", "-o", "-", "--format", "rttm", "--store", store)
    assert rc == 0 and out.startswith("SPEAKER session1 1 ") and not (tmp_path / "-").exists(), err
    rc, out, err = run_cli("export", "1", "-o", "/dev/null", "--store", store)
    assert err.endswith("not a regular file; use - for stdout\n"), err


# -- import: frames files -------------------------------------------------------------------------------------------

@pytest.fixture
def exported(tmp_path, files):
    """(JSON, frames .npz) of the stereo 8 s session exported with -o."""
    return export_saved(tmp_path, files / "st.wav")


def test_an_empty_frames_file_is_said_not_an_internal_error(tmp_path, exported):
    """An empty .npz beside an export (a copy cut off at 0 bytes): import said 'internal error
    (EOFError: No data left in file)'; so did any command reading a store frames file emptied
    so. Now the frames file is named as not one prosody wrote, in one line."""
    js, npz = exported
    npz.write_bytes(b"")
    rc, out, err = run_cli("import", js, "--store", tmp_path / "st")
    assert (rc, out, err) == (1, "", f"prosody: error: cannot read frames file {npz}: not a frames file (.npz) "
                                     "prosody wrote; it was replaced or damaged\n")
    (stored,) = (tmp_path / "src" / "frames").iterdir()
    stored.write_bytes(b"")
    rc, out, err = run_cli("export", "1", "--store", tmp_path / "src", "-o", tmp_path / "f.csv", "--format", "csv")
    assert (rc, out, err) == (1, "", f"prosody: error: cannot read frames file {stored}: not a frames file (.npz) "
                                     "prosody wrote; it was replaced or damaged\n")


def test_imported_frames_of_one_value_far_out_still_make_a_report(tmp_path, exported):
    """Imported frames whose rms_db is 1e30 in every frame (a column of numbers, as checked):
    ``report`` said 'internal error (ZeroDivisionError: float division by zero)': the plot's
    range 1e30 +- 1 is one float. Now the range is widened by its own size and the page written."""
    js, npz = exported
    z = dict(np.load(npz, allow_pickle=False))
    z["s0_rms_db"] = np.full_like(z["s0_rms_db"], 1e30)
    np.savez(npz, **z)
    doc = json.loads(js.read_text())  # the speaker's level median as these frames give it (hostile sweep 11
    doc["speakers"][str(z["speakers"][0])]["rms_db_median"] = 1e30  # refuses a figure its frames contradict)
    js.write_text(json.dumps(doc))
    assert run_cli("import", js, "--store", tmp_path / "st")[0] == 0
    rc, out, err = run_cli("report", "1", "--store", tmp_path / "st", "-o", tmp_path / "r.html")
    assert (rc, err) == (0, f"prosody: report written to {tmp_path / 'r.html'}\n"), err
    assert "NaN" not in (tmp_path / "r.html").read_text()


def test_a_parquet_export_without_its_speaker_column_is_one_line(tmp_path, files):
    """An exported .parquet whose 'speaker' column was dropped (a spreadsheet round trip): import
    said 'internal error (KeyError: 'Field "speaker" does not exist in schema')'. Now one line
    naming the columns it has, exit 2, nothing stored."""
    pq = pytest.importorskip("pyarrow.parquet")
    store = tmp_path / "src"
    assert run_cli("analyze", files / "st.wav", "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    assert run_cli("export", "1", "--store", store, "--format", "parquet", "-o", tmp_path / "s.parquet")[0] == 0
    table = pq.read_table(tmp_path / "s.parquet")
    pq.write_table(table.drop(["speaker"]), tmp_path / "s.parquet")
    rc, out, err = run_cli("import", tmp_path / "s.parquet", "--store", tmp_path / "st")
    assert (rc, out, err) == (2, "", f"prosody: error: cannot import {tmp_path / 's.parquet'}: its frame table has no "
                                     "'speaker' column (columns: time_s, is_speech, f0_hz, voiced_prob, rms_db, "
                                     "hf500_db)\n")
    assert not (tmp_path / "st").exists()


@pytest.mark.parametrize("value", ["1e308", "604801"])
def test_a_live_duration_past_a_week_is_refused_before_capture(tmp_path, files, monkeypatch, value):
    """``live --duration 1e308`` started, then stopped at its first block with 'analysis error:
    internal error (OverflowError: cannot convert float infinity to integer)', exit 1. Now
    refused before capture, as a duration of 0 or nan is, in one line, nothing written: a
    session lasts at most a week (what import takes)."""
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli("live", "--input", files / "st.wav", "--plain", "--speed", "max", "--duration", value,
                           "--output", "l.json", "--store", tmp_path / "st")
    assert (rc, out, err) == (2, "", f"prosody: error: --duration {float(value):g}: must be a positive number of "
                                     "seconds up to 604800 (a week; leave it out: no limit)\n")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [
    ["analyze", "{t}", "{c}", "--offset-s"], ["analyze", "{st}", "--network-delay-ms"],
    ["batch", "{st}", "--network-delay-ms"], ["live", "--input", "{st}", "--plain", "--duration"],
    ["moments", "1", "--min-gap-s"], ["play", "1", "1", "--context-s"]])
@pytest.mark.parametrize("typed", ["1_0", "١٠"])
def test_a_typed_number_takes_digits_0_to_9(tmp_path, files, monkeypatch, argv, typed):
    """``analyze T C --offset-s 1_0`` analysed with the client 10 s late (float() reads '1_0' as
    10, and '١٠' too), as did the other seconds and milliseconds options and a manifest's
    offset_s. Now refused while parsing, one line, exit 2, nothing written; exponents, signs,
    nan and inf are still read (and said by the range checks)."""
    monkeypatch.chdir(tmp_path)
    args = [str(files / {"{t}": "t.wav", "{c}": "c.wav", "{st}": "st.wav"}[a]) if a.startswith("{") else a
            for a in argv]
    rc, out, err = run_cli(*args, typed, "--store", tmp_path / "st")
    flag = argv[-1]
    assert (rc, out, err) == (2, "", f"prosody: error: argument {flag}: {typed!r} is not a number (digits 0-9, "
                                     f"e.g. 1.5 or -0.25) (see `prosody {argv[0]} --help`)\n")
    assert not list(tmp_path.iterdir())


def test_a_manifest_offset_takes_digits_0_to_9(tmp_path, files):
    (tmp_path / "m.csv").write_text(f"file,file2,offset_s\n{files / 't.wav'},{files / 'c.wav'},1_0\n")
    rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", tmp_path / "st", "--no-progress",
                           "--table", tmp_path / "t")
    assert (rc, out, err) == (2, "", f"prosody: error: {tmp_path / 'm.csv'} line 2: offset_s '1_0' is not a number "
                                     "of seconds (e.g. 1.5 or -0.25)\n")
    from prosody.formats.bundle import parse_number
    assert [parse_number(t) for t in ("-1e-1", " .5 ", "+2.", "1E3")] == [-0.1, 0.5, 2.0, 1000.0]
    assert str(parse_number("nan")) == "nan" and parse_number("-inf") == float("-inf")


@pytest.mark.parametrize("argv, said", [
    (["--input", "{st}", "--speed", "max"],
     "--speaker client names the one speaker of a mono file; {st} has 2 channels: say whose each is with --channels "
     "(e.g. --channels client=left for that speaker alone on the left channel)"),
    (["--input", "{t}", "{c}", "--speed", "max"],
     "--speaker client names the one speaker of a mono file; two files are the therapist's and the client's, in "
     "that order"),
    (["--therapist-device", "no such device", "--client-device", "nor this"],
     "--speaker client names the one speaker of a mono device; two devices are the therapist's and the client's"),
])
def test_live_speaker_that_would_be_ignored_is_refused(tmp_path, files, monkeypatch, argv, said):
    """``live --input STEREO --speaker client`` (or two files, or two devices) saved a session of
    therapist and client, the option dropped without a word, as analyze did. Now one line, exit 2,
    before capture (before any device is opened), nothing written."""
    monkeypatch.chdir(tmp_path)
    paths = {"{st}": str(files / "st.wav"), "{t}": str(files / "t.wav"), "{c}": str(files / "c.wav")}
    args = [paths.get(a, a) for a in argv]
    rc, out, err = run_cli("live", *args, "--speaker", "client", "--plain", "--output", "l.json",
                           "--store", tmp_path / "st")
    assert (rc, out, err) == (2, "", f"prosody: error: {said.format(st=paths['{st}'])}\n")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [
    ["batch", "", "--no-progress"], ["batch", "{st}", "--config", "", "--no-progress"], ["analyze", ""],
    ["analyze", "{st}", "--config", ""], ["analyze", "{st}", "--baseline", ""], ["enrol", "", "--therapist", "ann"],
    ["live", "--input", "", "--plain"], ["live", "--input", "{st}", "--baseline", "", "--plain"],
    ["import", ""], ["import", "{st}", "--frames", ""], ["moments", "1", "--config", ""]])
def test_an_empty_input_name_is_refused_not_taken_for_the_working_folder(tmp_path, files, monkeypatch, argv):
    """``batch "$UNSET"`` analysed every recording under the working folder into the store (Path('')
    is '.'); ``--config ""`` and ``--baseline ""`` were taken as left out, without a word; ``import ""``
    said '. is a directory' and ``analyze ""`` 'no such file: ' (a name not shown). Now each is
    refused while parsing, one line, exit 2, nothing written, as an empty --store is."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(files / "st.wav", tmp_path / "here.wav")  # what batch "" analysed
    args = [str(files / "st.wav") if a == "{st}" else a for a in argv]
    rc, out, err = run_cli(*args, "--store", tmp_path / "st")
    flag = {"batch": "PATH", "analyze": "FILE", "enrol": "FILE", "import": "PATH"}[argv[0]] if argv[1] == "" \
        else argv[argv.index("") - 1]
    assert (rc, out, err) == (2, "", f"prosody: error: argument {flag}: '' is an empty name: give a file's name (see "
                                     f"`prosody {argv[0]} --help`)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.wav"]


@pytest.mark.parametrize("argv, said", [
    (["--channels", "therapist=0_2,client=1"],
     "--channels 'therapist=0_2,client=1': channel '0_2' is not left, right or a number 1..2"),
    (["--channels", "therapist=١,client=2"],
     "--channels 'therapist=١,client=2': channel '١' is not left, right or a number 1..2"),
    (["--pitch-range", "client=7_5-400"],
     "--pitch-range 'client=7_5-400': expected SPEAKER=FMIN-FMAX in Hz, e.g. client=75-400"),
])
def test_channel_numbers_and_pitch_ranges_take_digits_0_to_9(tmp_path, files, argv, said):
    """``--channels therapist=0_2,client=1`` put the therapist on channel 2 (int() reads '0_2'
    as 2, '١' as 1) and ``--pitch-range client=7_5-400`` searched from 75 Hz. Now one line, exit 2."""
    rc, out, err = run_cli("analyze", files / "st.wav", *argv, "--json", tmp_path / "o.json")
    assert (rc, out, err) == (2, "", f"prosody: error: {said}\n")
    assert not list(tmp_path.iterdir())
    rc, out, err = run_cli("analyze", files / "st.wav", "--channels", "therapist= 2 ,client=1", "--pitch-range",
                           "client=1e2-400", "--json", tmp_path / "o.json", "--quiet", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "o.json").read_text())
    assert doc["attribution"]["channels"] == {"client": 1, "therapist": 2}
    assert doc["config"]["pitch_by_speaker"] == {"client": {"fmin_hz": 100.0, "fmax_hz": 400.0}}


@pytest.mark.parametrize("change, said", [
    ({"sources": ["/tmp/a\0b.wav"]}, "sources[0] = '/tmp/a\\x00b.wav': holds a NUL byte, which no file name can"),
    ({"live": {"recording_file": "/tmp/a\0b.flac"}},
     "live.recording_file = '/tmp/a\\x00b.flac': holds a NUL byte, which no file name can"),
])
def test_an_imported_file_name_with_a_nul_byte_is_refused(tmp_path, exported_with_a_note, change, said):
    """An imported session whose sources (or live recording_file) held a NUL byte was stored, and
    then report and export said 'internal error (ValueError: embedded null byte)' (the outputs'
    guard keeps the recordings a session names from being overwritten). Now import refuses it in
    one line; and a session stored so before (here saved past import's checks) reports again."""
    doc = json.loads(json.dumps(exported_with_a_note))
    doc.pop("audio")
    doc.update(change)
    (tmp_path / "x.json").write_text(json.dumps(doc))
    rc, out, err = run_cli("import", tmp_path / "x.json", "--store", tmp_path / "st")
    assert (rc, out, err) == (2, "", f"prosody: error: session document: {said}\n")
    from prosody.store.db import Store
    doc.pop("prosody_store")
    with Store(tmp_path / "st") as st:
        st.save(doc, None)
    for argv in (["report", "1", "-o", tmp_path / "r.html"], ["export", "1", "-o", tmp_path / "e.json"]):
        rc, out, err = run_cli(*argv, "--store", tmp_path / "st")
        assert rc == 0 and "internal error" not in err, err


# -- speakers named like the frames file's keys -------------------------------------------------------------------

def test_speakers_named_s1_and_s0_keep_their_frames_in_the_store(tmp_path, files):
    """``analyze --channels s1=left,s0=right --save``: the session was saved, but its frames file
    (keys s0_*, s1_* by position) could not be read back: the speaker named 's1' (first) took the
    keys s1_* by its name as well, and every command that reads frames (export, report, show's
    voice quality) said 'frames file ... has no frames for s0'. Now the store's own layout is read
    by position only; the stored frames equal the ones analyze wrote."""
    store = tmp_path / "st"
    rc, out, err = run_cli("analyze", files / "st.wav", "--channels", "s1=left,s0=right", "--save", "--store", store,
                           "--frames", tmp_path / "direct.csv", "--quiet", "--no-progress")
    assert rc == 0, err
    rc, out, err = run_cli("export", "1", "--store", store, "--format", "csv", "-o", tmp_path / "stored.csv")
    assert rc == 0, err
    assert (tmp_path / "stored.csv").read_text() == (tmp_path / "direct.csv").read_text()
    rc, out, err = run_cli("report", "1", "--store", store, "-o", tmp_path / "r.html")
    assert rc == 0, err


@pytest.mark.parametrize("argv, option", [
    (("batch", "x.wav", "--jobs", "1_0"), "--jobs/-j"),
    (("moments", "1", "--max", "1_0"), "--max"),
    (("moments", "1", "--max-per-kind", "١"), "--max-per-kind"),
    (("play", "1", "+2"), "MOMENT"),
    (("live", "--therapist-device", "a", "--client-device", "b", "--therapist-channel", "0_2"), "--therapist-channel"),
    (("live", "--therapist-device", "a", "--client-device", "b", "--client-channel", "١"), "--client-channel"),
    (("live", "--rate-hz", "16_000"), "--rate-hz"),
])
def test_whole_number_options_take_digits_only(tmp_path, argv, option):
    """``--jobs 1_0``, ``--max 1_0``, play's moment ``+2``, the live channel numbers and ``--rate-hz
    16_000`` were read by int() (10, 1, 2, 16000); the sweep's last leftover. Now each is refused while
    parsing, one line, exit 2, before any store or device is opened. (``--jobs 1_0``'s line also said
    "1_0 reads as an option there; write -j: ...": the hint for a negative number read as an option
    was added to every error of an option given a number.)"""
    rc, out, err = run_cli(*argv, "--store", tmp_path / "st") if argv[0] in ("moments", "play") else run_cli(*argv)
    assert rc == 2 and out == "" and err.count("\n") == 1, err
    assert f"argument {option}: " in err and "is not a whole number" in err and "reads as an option" not in err
    assert not (tmp_path / "st").exists()
