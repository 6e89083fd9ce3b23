"""Hostile sweep 52 (docs/store.md "Hostile sweep 52"): batch manifests, contradictory layouts, enrol, relabel,
compare across layouts, sessions of no speech.

1. `live --plain` (and any live run whose output is no terminal: a log, a pipe) never said the saved session's
   warnings: "therapist never speaks", "--voices 2 is not used" were in the JSON alone. Now each one line.
2. `live --input FILE --speaker NAME --voices 1` (one person, named, told one) was refused as "--voices 1
   contradicts two devices"; two replayed files were said as "two devices" too.
3. `batch` of a one-channel file told `layout separate` by a manifest's row failed without naming the row, and
   `layout shared` so was said as the option "--layout" (a worker's words). Now each names where it was given.
"""
from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from tests.conftest import run_cli
from tests.test_sweep_hostile43 import FIXTURES

RECORDING = FIXTURES / "mono_therapist.wav"  # one voice, 7.5 s
RATE_HZ = 16000
SILENCE_S = 5.0


def _silence(path):
    sf.write(path, np.zeros(int(SILENCE_S * RATE_HZ), dtype=np.int16), RATE_HZ, subtype="PCM_16")
    return path


# -- 1. a plain live run's warnings -------------------------------------------------------------------------------

def test_a_plain_live_replay_of_silence_says_nobody_speaks(tmp_path):
    """Before: "saved ..." alone on the terminal; "therapist never speaks" was in the JSON only."""
    out_json = tmp_path / "s.json"
    rc, out, err = run_cli("live", "--input", _silence(tmp_path / "sil.wav"), "--speed", "max", "--plain",
                           "--output", out_json)
    assert rc == 0, err
    doc = json.loads(out_json.read_text())
    assert doc["segments"] == []
    never = [w for w in doc["warnings"] if w.startswith("therapist never speaks")]
    assert len(never) == 1
    assert err.count(f"prosody: warning: {never[0]}\n") == 1
    assert f"saved {out_json}" in out


def test_a_plain_live_replay_says_an_unused_option(tmp_path):
    """`--voices 2` without --record is not used: said in the JSON before, and now on the terminal too."""
    rc, _, err = run_cli("live", "--input", RECORDING, "--speed", "max", "--plain", "--output", tmp_path / "v.json",
                         "--voices", "2")
    assert rc == 0, err
    assert "prosody: warning: --voices 2 is not used: it tells the attribution of the whole session from its " \
           "recording on save, which needs --record" in err


def test_a_note_said_live_is_not_said_again_at_the_end(tmp_path):
    """A replayed file's warning found as it is read (a WAV whose header claims four times its samples) is said
    once, as found, though the saved session keeps it among its warnings."""
    x = np.zeros(int(SILENCE_S * RATE_HZ), dtype=np.int16)
    wav = tmp_path / "cut.wav"
    sf.write(wav, x, RATE_HZ, subtype="PCM_16")
    raw = bytearray(wav.read_bytes())
    at = raw.index(b"data") + 4
    raw[at:at + 4] = (4 * x.nbytes).to_bytes(4, "little")  # the header claims 20 s, 5 s are there
    wav.write_bytes(bytes(raw))
    rc, out, err = run_cli("live", "--input", wav, "--speed", "max", "--plain", "--output", tmp_path / "c.json")
    doc = json.loads((tmp_path / "c.json").read_text())
    truncated = [w for w in doc["warnings"] if "is truncated" in w]
    assert truncated, doc["warnings"]
    assert (out + err).count(truncated[0]) == 1, (rc, out, err)


# -- 2. --voices 1 with --speaker on a replay -------------------------------------------------------------------

def test_live_voices_one_with_a_named_speaker_is_taken(tmp_path):
    """Before: "--voices 1 contradicts two devices", exit 2, for one file and one person named."""
    rc, _, err = run_cli("live", "--input", RECORDING, "--speed", "max", "--plain", "--output", tmp_path / "s.json",
                         "--speaker", "client", "--voices", "1")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["speaker_order"] == ["client"]
    assert "contradicts" not in err


def test_live_voices_one_with_two_files_names_the_files(tmp_path):
    rc, _, err = run_cli("live", "--input", RECORDING, RECORDING, "--speed", "max", "--plain",
                         "--output", tmp_path / "s.json", "--voices", "1")
    assert rc == 2
    assert err == "prosody: error: --voices 1 contradicts two files, which carry one person per file\n"


# -- 3. a one-channel file told separate or shared by a batch ---------------------------------------------------

def _batch_failure(tmp_path, *inputs):
    rc, out, err = run_cli("batch", *inputs, "--store", tmp_path / "st", "--table", tmp_path / "t",
                           "--no-progress")
    assert rc == 1 and "Traceback" not in err
    return [line.strip() for line in out.splitlines() if line.startswith("  ")]


def test_a_manifest_rows_layout_on_one_channel_names_the_row(tmp_path):
    """Before: "m.wav: layout separate needs two channels ..." (which row?), and "--layout shared needs two
    channels ..." for a row's cell (no option was given)."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"file,layout\n{RECORDING},separate\n{RECORDING},shared\n")
    failed = _batch_failure(tmp_path, manifest)
    assert failed == [f"{RECORDING}: {manifest} line {n}: layout {layout} needs two channels; {RECORDING} has one: "
                      "use layout mono" for n, layout in ((2, "separate"), (3, "shared"))]


def test_the_layout_option_on_one_channel_names_the_option(tmp_path):
    for layout in ("separate", "shared"):
        failed = _batch_failure(tmp_path, RECORDING, "--layout", layout)
        assert failed == [f"{RECORDING}: --layout {layout} needs two channels; {RECORDING} has one: "
                          "use --layout mono"]
