"""Hostile sweep 33 (docs/store.md "Hostile sweep 33"): each defect found, against planted truth.

1. `live --input` of a file cut short said so in the saved session's warnings alone: the person watching was
   never told. Now the plain lines (and the full-screen view) say it once, when it is found.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _fixture_wav(path: Path, seconds: float) -> None:
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    sf.write(path, x[:round(seconds * sr)], sr, subtype="PCM_16")


def test_a_replayed_file_cut_short_is_said_when_found(tmp_path, monkeypatch, capsys):
    """Planted: a 20 s WAV cut in half (its header still says 20 s), replayed at max speed, plain view.
    Before: nothing on the terminal (the `saved` line alone; the truncation only in the JSON's warnings). Now
    one line, once, naming the file and what was read; a whole file says nothing of the kind."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    _fixture_wav(tmp_path / "whole.wav", 20.0)
    data = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])
    capsys.readouterr()
    assert main(["live", "--input", "cut.wav", "--speed", "max", "--plain", "--output", "s.json"]) == 0
    said = capsys.readouterr()
    line = "prosody: warning: cut.wav is truncated: header says 20.00 s, read 10.00 s; analysed the readable part"
    assert (said.out + said.err).count(line) == 1, said
    doc = json.loads((tmp_path / "s.json").read_text())
    assert line.removeprefix("prosody: warning: ") in doc["warnings"]
    assert main(["live", "--input", "whole.wav", "--speed", "max", "--plain", "--output", "w.json"]) == 0
    said = capsys.readouterr()
    assert "truncated" not in said.out + said.err
