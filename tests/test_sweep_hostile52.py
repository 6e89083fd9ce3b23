"""Hostile sweep 52 (docs/store.md "Hostile sweep 52"): batch manifests, contradictory layouts, enrol, relabel,
compare across layouts, sessions of no speech.

1. `live --input FILE --speaker NAME --voices 1` (one person, named, told one) was refused as "--voices 1
   contradicts two devices"; two replayed files were said as "two devices" too.
2. `batch` of a one-channel file told `layout separate` by a manifest's row failed without naming the row, and
   `layout shared` so was said as the option "--layout" (a worker's words). Now each names where it was given.
"""
from __future__ import annotations

import json

from tests.conftest import run_cli
from tests.test_sweep_hostile43 import FIXTURES

RECORDING = FIXTURES / "mono_therapist.wav"  # one voice, 7.5 s


# -- 1. --voices 1 with --speaker on a replay -------------------------------------------------------------------

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


# -- 2. a one-channel file told separate or shared by a batch ---------------------------------------------------

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
