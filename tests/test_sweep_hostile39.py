"""Hostile sweep 39 (docs/store.md "Hostile sweep 39"): sweep 38's leftovers, then fresh hostile inputs.

1. A Parquet export of the same session needed --overwrite to be written again, where a JSON one is matched by its
   uid: now a Parquet's uid (in its file metadata) is read too. RTTM, CSV, TextGrid and EAF hold no uid: still
   refused (another session's would be replaced).
2. Two per-speaker files, one a stereo file with its voice on channel 2: the analysis read channel 2, the layout
   detection channel 1, and the session recorded "channel 2 is digital silence throughout". Now both read the
   voiced channel.
3. `analyze --save` of one file twice stored it twice, unsaid (`batch` stores it once): now said.
4. A JSON export's frames file made meanwhile after the JSON was placed: the JSON was left naming a frames file
   not its own. Now neither is left, said.
Hunting: a config value of another TOML type (a date, `true`) was said in Python's words; a config file `analyze`
refuses was read by `moments` and `report` (their [moments] table alone), exit 0.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from prosody.formats import export as export_mod
from tests.conftest import one_line_error, run_cli
from tests import test_sweep_hostile38 as sweep38

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
saved = sweep38.saved  # a fixture: the fixture dialogue stored as sessions 1 and 2


# -- 1. a Parquet export written again --------------------------------------------------------------------------------

def test_a_sessions_own_parquet_export_is_written_again_and_anothers_refused(saved, tmp_path):
    """Before: `export 1 -o x.parquet` twice was refused the second time ("a file of that name exists"). Now it is
    written again (after an edit: the new notes in it), and session 2's onto it is refused, x.parquet unchanged."""
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    x = tmp_path / "x.parquet"

    def notes_exported(notes: str) -> str:
        assert run_cli("edit", "1", "--notes", notes, "--store", saved)[0] == 0
        rc, out, err = run_cli("export", "1", "--store", saved, "-o", x)
        assert rc == 0, err
        return json.loads(pq.read_schema(x).metadata[b"prosody.export"])["prosody_store"]["notes"]
    assert [notes_exported(n) for n in ("first", "second")] == ["first", "second"]
    before = x.read_bytes()
    rc, out, err = run_cli("export", "2", "--store", saved, "-o", x)
    one_line_error(rc, err)
    assert "a file of that name exists and would be replaced" in err and x.read_bytes() == before


@pytest.mark.parametrize("fmt", ["rttm", "textgrid", "eaf", "csv"])
def test_an_export_naming_no_session_is_not_taken_as_written_again(saved, tmp_path, fmt):
    """Guard: session 2's RTTM (TextGrid, EAF, CSV) onto session 1's is refused (whose it is: its uid, sweeps 40
    and 41)."""
    x = tmp_path / f"x.{fmt}"
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", x)
    assert rc == 0, err
    before = x.read_bytes()
    rc, out, err = run_cli("export", "2", "--store", saved, "-o", x)
    one_line_error(rc, err)
    assert x.read_bytes() == before


# -- 2. the layout detection of two files reads the voiced channel ----------------------------------------------------

def test_the_layout_detection_of_two_files_reads_the_channel_the_analysis_reads(tmp_path):
    """Before: the session's layout detection said "channel 2 is digital silence throughout (every sample zero)",
    its evidence a silent channel, while the client spoke 20 s read from the file's channel 2. Now the detection is
    that of the same voice on both channels, to the value."""
    dets = {}
    for second in ("right", "both"):
        th, cl = sweep38._two_files(tmp_path, second)
        rc, out, err = run_cli("analyze", th, cl, "--json", tmp_path / f"{second}.json", "--quiet", "--no-progress")
        assert rc == 0, err
        dets[second] = json.loads((tmp_path / f"{second}.json").read_text())["attribution"]["layout_detection"]
    assert "silent_channel" not in dets["right"]["evidence"]
    assert dets["right"] == dets["both"]
    assert dets["right"]["reason"].startswith("each channel carries its own voice")


# -- 3. analyze --save of the same file twice -------------------------------------------------------------------------

def test_saving_the_same_audio_again_is_said(tmp_path):
    """Before: a second `analyze --save` of a file (and of its copy under another name) stored it again, nothing
    said. Now the sessions holding the same audio are named; another recording is saved without the note."""
    wav = tmp_path / "a.wav"
    shutil.copy(FIXTURES / "mono_therapist.wav", wav)
    shutil.copy(wav, tmp_path / "copy.wav")
    lines = []
    for f in (wav, wav, tmp_path / "copy.wav", FIXTURES / "dialogue.flac"):
        rc, out, err = run_cli("analyze", f, "--save", "--store", tmp_path / "st", "--quiet", "--no-progress")
        assert rc == 0, err
        lines.append([x for x in err.splitlines() if x.startswith("prosody: note: the same audio")])
    assert lines == [[], ["prosody: note: the same audio is stored as session 1 too, so it is now stored 2 times "
                          "(`batch` stores a recording once); `prosody delete 2` removes this copy"],
                     ["prosody: note: the same audio is stored as sessions 1, 2 too, so it is now stored 3 times "
                      "(`batch` stores a recording once); `prosody delete 3` removes this copy"], []]


def test_a_store_that_cannot_look_for_the_same_audio_leaves_the_save_said(tmp_path, monkeypatch):
    """The same-audio note is looked for after the commit: a store error there (a locked or damaged database
    read) made a saved session read as a save that failed. Now the save is said, exit 0, and the session is
    there."""
    from prosody.errors import StoreError
    from prosody.store.db import Store

    def fails(self, ref):
        raise StoreError("the session store cannot be read: database is locked")
    monkeypatch.setattr(Store, "same_audio", fails)
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--save", "--store", tmp_path / "st",
                           "--quiet", "--no-progress")
    assert rc == 0, err
    assert "prosody: saved as session 1 in" in err and "error" not in err
    rc, out, err = run_cli("sessions", "--store", tmp_path / "st")
    assert rc == 0 and out.startswith("1 session\n"), (out, err)

# -- 4. a JSON export's frames file made meanwhile ----------------------------------------------------------------------

def test_a_frames_file_made_after_the_json_was_placed_leaves_neither(saved, tmp_path, monkeypatch):
    """Before: the JSON x.json put in place, then the frames file refused (one was made at x.frames.npz meanwhile):
    x.json was left naming the other file as its frames (its import reads another's frames). Now x.json is erased
    too, the other file untouched, and it is said."""
    x, frames = tmp_path / "x.json", tmp_path / "x.frames.npz"
    real_write = export_mod.write_private

    def write_then_race(path, *args, **kwargs):
        real_write(path, *args, **kwargs)
        if Path(path) == x:
            frames.write_bytes(b"the user's own file")
    monkeypatch.setattr(export_mod, "write_private", write_then_race)
    rc, out, err = run_cli("export", "1", "--store", saved, "-o", x)
    assert rc == 1 and err.count("\n") == 1, err
    assert err == (f"prosody: error: cannot write {frames}: a file of that name was made while this command ran "
                   f"(not replaced: choose a new name, or add --overwrite); the export {x} was not kept either (it would "
                   "name that file as its frames); it was not written\n")
    assert not x.exists() and frames.read_bytes() == b"the user's own file"


# -- hunting: a config file's value of another TOML type ---------------------------------------------------------------

@pytest.mark.parametrize("typed,shown", [("1979-05-27", "1979-05-27"), ("1979-05-27T07:32:00", "1979-05-27T07:32:00"),
                                         ("07:32:00", "07:32:00"), ("true", "true")])
def test_a_config_value_of_another_toml_type_is_shown_as_typed(tmp_path, typed, shown):
    """Before: `gate_db = 1979-05-27` was said as "vad.gate_db = datetime.date(1979, 5, 27): expected a finite
    number" (`true` as `True`), Python's words for what the user typed. Now as the file spells it."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[vad]\ngate_db = {typed}\n")
    rc, out, err = run_cli("analyze", FIXTURES / "mono_therapist.wav", "--config", cfg, "--quiet", "--no-progress")
    one_line_error(rc, err)
    assert err == f"prosody: error: vad.gate_db = {shown}: expected a finite number\n"


@pytest.mark.parametrize("command", [("moments", "1"), ("report", "1")])
def test_a_config_the_analysis_refuses_is_refused_by_the_moments_commands_too(saved, tmp_path, command):
    """Before: `moments 1 --config c.toml` (and `report`, `play`, `note --moment`) read its [moments] table alone,
    exit 0 with `[pitch_by_speaker.client] fmin_hz = nan` or `[vad] gate_db = nan` in it, which `analyze` refuses:
    docs/config.md promises a file accepted by one command is accepted by all. Now refused alike, one line."""
    cfg, page = tmp_path / "c.toml", (("-o", tmp_path / "r.html") if command[0] == "report" else ())
    for body, said in (("[pitch_by_speaker.client]\nfmin_hz = nan\n", "pitch_by_speaker.client.fmin_hz = nan"),
                       ("[vad]\ngate_db = nan\n", "vad.gate_db = nan")):
        cfg.write_text(body)
        rc, out, err = run_cli(*command, "--store", saved, "--config", cfg, *page)
        one_line_error(rc, err)
        assert err == f"prosody: error: {said}: expected a finite number\n"
        assert not (tmp_path / "r.html").exists()
