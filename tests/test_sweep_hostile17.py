"""Hostile sweep 17 (2026-12-05): the last session's new code (docs/store.md, "Hostile sweep 17"): the room tail
trim, store schema 5, the Dask waits, hostile manifest cells, the one voice renamed. The probes ran outside the
suite; here each defect found is planted once."""
from __future__ import annotations

import re
import warnings
from dataclasses import replace

import numpy as np

from prosody.config import AnalysisConfig
from prosody.engine.vad import room_tail
from prosody.session import analyze_blocks
from tests.dialogue import build_dialogue, scenario_turns
from tests.test_room_tail import own_rooms

SPK = ("therapist", "client")


def _runs(speech: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame runs of True in ``speech``."""
    d = np.diff(np.concatenate([[0], speech.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def test_a_four_frame_trim_window_keeps_its_bound_and_says_nothing():
    """`vad.tail_trim_max_s = 0.04` (4 frames, within the config's 0..5 s): the tail's later half was sliced as
    ``[n - 5:]`` of a 4-frame window, which wrapped round to its last frame alone: numpy printed 'RankWarning:
    Polyfit may be poorly conditioned' with the source line on `prosody analyze`'s stderr, and the direct
    sound's end came out at index -1, before the window (a trim of 5 frames for a bound of 4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = room_tail(np.array([-20.0, -23.0, -26.0, -29.0]), np.array([-32.0, -35.0, -38.0]))
    assert got is not None and got[0] == 0 and abs(got[1] - 3.0) < 1e-6  # the whole window: 3 dB a frame
    # through the pipeline: a room on the therapist's channel only (RT60 0.7 s), the client's dry
    d = build_dialogue(scenario_turns(12, seed=1), noise_db=None, level_db=(-22.0, -22.0), seed=1)
    room, dry = own_rooms(d.audio, 0.7, seed=1), own_rooms(d.audio, None, seed=1)
    x = dry.copy()
    x[:, 0] = room[:, 0]
    vad = AnalysisConfig().vad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        four = analyze_blocks([x], SPK, AnalysisConfig(vad=replace(vad, tail_trim_max_s=0.04)))
    off = analyze_blocks([x], SPK, AnalysisConfig(vad=replace(vad, tail_trim_max_s=0.0)))
    for spk in SPK:
        a, b = _runs(off.frames[spk]["is_speech"]), _runs(four.frames[spk]["is_speech"])
        assert [s for s, _ in a] == [s for s, _ in b]  # starts never move
        cut = [ea - eb for (_, ea), (_, eb) in zip(a, b)]
        assert min(cut) >= 0 and max(cut) <= 4, cut


def test_wait_for_workers_beyond_a_week_is_refused_in_one_line(tmp_path):
    """`--wait-for-workers 99999999999999999999999` was taken, and its wait said as 'the batch stops if none come
    within 27777777777777779234 h 8 min'; the bound is a week (refused before any connection is tried)."""
    from tests.conftest import one_line_error, run_cli
    argv = ("batch", tmp_path / "none.wav", "--scheduler", "tcp://127.0.0.1:1", "--store", tmp_path / "st",
            "--no-progress")
    for value in ("604801", "99999999999999999999999"):
        rc, out, err = run_cli(*argv, "--wait-for-workers", value)
        one_line_error(rc, err)
        assert err == f"prosody: error: --wait-for-workers {value}: give at most 604800 seconds (7 days)\n", err
    rc, out, err = run_cli(*argv, "--wait-for-workers", "604800")  # a week is taken: the next check speaks
    assert "wait-for-workers" not in err, err
    assert not (tmp_path / "st").exists()


def test_a_huge_manifest_cell_is_said_by_its_length_not_echoed(tmp_path):
    """A cell of 120,000 characters (under csv's 131,072 limit) in `offset_s`, `date`, `layout`, `voices`,
    `session_number`, `speaker`, `channels`, `pitch_range`, `file` or `file2` was quoted whole in its one-line
    error: a line of 120,000-240,000 characters (the metadata's checks already shortened theirs). Now the cell's
    column and length are said, before any work."""
    import csv
    import shutil
    from tests.conftest import one_line_error, run_cli
    from prosody.batch.runner import MANIFEST_COLUMNS
    from tests.test_left39 import MONO
    shutil.copy(MONO, tmp_path / "a.wav")
    for col in ("offset_s", "date", "layout", "voices", "session_number", "speaker", "channels", "pitch_range",
                "file", "file2"):
        row = {"file": "a.wav", col: "Z" * 120_000}
        with open(tmp_path / "m.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
            w.writeheader()
            w.writerow(row)
        rc, out, err = run_cli("batch", tmp_path / "m.csv", "--store", tmp_path / "st", "--table", tmp_path / "t",
                               "--no-progress", "--jobs", "1")
        one_line_error(rc, err)
        limit = "4,096" if col.startswith("file") else "256"
        assert err == (f"prosody: error: {tmp_path / 'm.csv'} line 2: its {col} cell is 120,000 characters long (a "
                       f"{col} cell holds at most {limit}): is a quote left open, or a cell under the wrong "
                       "column?\n"), err[:300]
        assert not (tmp_path / "st").exists()


def test_a_read_only_store_at_schema_4_without_old_unsure_sessions_is_read(tmp_path):
    """Schema 5 changes no table, only the rows of sessions saved unsure before the forty-sixth round. A store
    at schema 4 on a read-only medium (a backup mounted read-only, a full disk) was refused whole ('has schema
    version 4 and is read-only, so it cannot be brought to version 5'), though the prosody before read it and,
    holding no such session, it reads exactly as migrated. Now it is read (nothing written); one that holds
    such a session is still refused in that one line (its listing and trend rows would be the old ones)."""
    import json
    import shutil
    import sqlite3
    from tests.conftest import one_line_error, run_cli
    from tests.test_hardening import _remount_ro, _tmpfs, _tree_bytes
    from tests.test_left39 import MONO
    made = tmp_path / "made"
    assert run_cli("analyze", MONO, "--voices", "1", "--save", "--store", made, "--therapist", "ann", "--quiet",
                   "--no-progress")[0] == 0
    db = sqlite3.connect(made / "sessions.db", isolation_level=None)
    db.execute("DROP TABLE audio_hashes")  # schema 6's (hostile sweep 40)
    db.execute("PRAGMA user_version = 4")  # the tables of schema 4 are schema 5's
    db.close()
    old_unsure = tmp_path / "old_unsure"
    shutil.copytree(made, old_unsure)
    db = sqlite3.connect(old_unsure / "sessions.db", isolation_level=None)
    doc = json.loads(db.execute("SELECT doc FROM sessions WHERE id = 1").fetchone()[0])
    doc["attribution"]["diarization"].pop("voices_told")
    doc["attribution"]["diarization"]["unsure"] = True  # as saved unsure before the forty-sixth round
    db.execute("UPDATE sessions SET doc = ? WHERE id = 1", (json.dumps(doc),))
    db.close()
    with _tmpfs(tmp_path / "m", "8m") as m:
        shutil.copytree(made, m / "st")
        shutil.copytree(old_unsure, m / "old")
        _remount_ro(m)
        before = _tree_bytes(m)
        rc, out, err = run_cli("sessions", "--store", m / "st")
        assert rc == 0 and out.startswith("1 session") and "ann" in out, err
        rc, out, err = run_cli("show", "1", "--store", m / "st")
        assert rc == 0 and "therapist: ann" in out, err
        rc, out, err = run_cli("export", "1", "--store", m / "st", "-o", tmp_path / "e.json")
        assert rc == 0 and json.loads((tmp_path / "e.json").read_text())["speaker_order"] == ["therapist"], err
        rc, out, err = run_cli("sessions", "--store", m / "old")
        one_line_error(rc, err, code=1)
        assert err == (f"prosody: error: the session store {m / 'old' / 'sessions.db'} has schema version 4 and is "
                       "read-only, so it cannot be brought to version 6; copy it to a writable folder\n"), err  # 6: sweep 40
        assert _tree_bytes(m) == before


def test_a_table_device_whose_capsules_differ_is_said_to_carry_one_sound():
    """The fixture dialogue on both channels of a stereo table device whose second capsule hears it 1 ms later
    (34 cm further), or through a duller response (low-passed at 3 kHz, 3 samples later): both voices taken
    for leak ("never speaks"), but no word of the same sound or `--mono`: the level difference's sd was 1.6-2.5 dB
    (its onsets and offsets), over the 1 dB bound, though its median deviation is 0.25 dB. Two separate
    microphones of which one only hears the other's leak (-10 and -20 dB, 30 ms, low-passed) are not said so."""
    import soundfile as sf
    from scipy import signal
    from prosody.session import same_sound_warning
    from tests.conftest import FIXTURES
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float64")
    m = x.mean(axis=1)
    later = lambda y, n: np.concatenate([np.zeros(n), y])[:len(y)]  # noqa: E731
    bl, al = signal.butter(2, 3000 / (sr / 2))
    for name, second in (("1 ms later, 0.9 dB quieter", 0.9 * later(m, 16)),
                         ("1 ms later, 6 dB quieter", 0.5 * later(m, 16)),
                         ("a duller capsule", 0.8 * signal.lfilter(bl, al, later(m, 3)))):
        s = analyze_blocks([np.stack([m, second], axis=1).astype(np.float32)], SPK)
        said = same_sound_warning(s)
        assert said is not None and "`--mono`" in said, name
    d = build_dialogue(scenario_turns(8, seed=3), noise_db=-70.0, level_db=(-22.0, -22.0), seed=3)
    th = d.audio[:, 0].astype(np.float64)
    rng = np.random.default_rng(0)
    for gain in (0.1, 0.3):
        leak = gain * signal.lfilter(bl, al, later(th, 480)) + rng.standard_normal(len(th)) * 10 ** (-70 / 20)
        s = analyze_blocks([np.stack([th, leak], axis=1).astype(np.float32)], SPK)
        assert same_sound_warning(s) is None, gain


def test_a_huge_option_typed_on_the_command_line_is_said_by_its_ends_and_length(tmp_path):
    """Sweep 17's leftover: a 100,000-character `--channels`, `--profile`, `--cues`, `--voices` or unknown
    argument was quoted whole in its one-line error (100-200 KB of x on the screen, what was wrong and what to do
    scrolled away). A run of over 400 characters without a space is now shown by its ends and its length; the
    message's own words stay whole."""
    from tests.conftest import FIXTURES, one_line_error, run_cli
    big = "x" * 100_000
    wav = FIXTURES / "dialogue.flac"
    cases = {("--channels", f"therapist={big}"): "is not left, right or a number 1..2",
             ("--profile", big): "", ("--cues", big): "unknown cue", ("--voices", big): "",
             ("--bogus", big): "unrecognized arguments"}
    for (flag, value), words in cases.items():
        rc, out, err = run_cli("analyze", wav, flag, value, "--store", tmp_path / "st")
        one_line_error(rc, err)
        assert rc == 2 and len(err) < 1200, (flag, len(err))
        assert words in err and "characters]..." in err, (flag, err[:300])
        sizes = [int(n.replace(",", "")) for n in re.findall(r"\.\.\.\[([0-9,]+) characters\]\.\.\.", err)]
        assert sizes and all(100_000 <= n <= 100_020 for n in sizes), (flag, sizes)  # the run's own length, quoted
    short = "therapist=leftt,client=right"  # an ordinary typing error is quoted whole, as before
    rc, out, err = run_cli("analyze", wav, "--channels", short, "--store", tmp_path / "st")
    assert f"'{short}'" in err and "characters]" not in err, err


def test_live_error_lines_show_a_long_run_by_its_ends_and_length():
    """Sweep 17's leftover in `live`: its own error lines (a failed save, a --record stopped early, an analysis
    error) wrote the failure's text whole (terminal_safe only); a 100,000-character run in it (an exception
    quoting typed text) now reads by its ends and length, the line's own words kept, as every other command's."""
    import io

    from prosody.live.runner import LiveResult
    from prosody_cli.live import _report

    big = "q" * 100_000
    err = io.StringIO()
    status = _report(LiveResult(reason="analysis error", output_path="/nowhere/s.json", error=f"bad value {big}",
                                doc=None, record_error=f"recording stopped: {big}"),
                     io.StringIO(), err, plain=True, interrupted=False, said=set())
    lines = err.getvalue().splitlines()
    assert status != 0 and len(lines) == 2, lines
    assert all(len(line) < 600 for line in lines), [len(line) for line in lines]
    assert lines[0].startswith("prosody: error: recording stopped: qqq") and "[100,000 characters]" in lines[0]
    assert lines[1].startswith("prosody: error: analysis error: bad value qqq") and "[100,000 characters]" in lines[1]
