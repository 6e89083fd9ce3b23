"""Five defects found late, each with its planted truth:

1. a damaged MP3: libmpg123 (inside libsndfile) printed its own lines on stderr
   beside prosody's one warning;
"""
import json
import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from .conftest import REPO

SR = 16000
# what libmpg123 prints: "Note: Illegal Audio-MPEG-Header ...", "Warning: Xing stream size off ...",
# "[src/libmpg123/layer3.c:INT123_do_layer3():1804] error: dequantization failed!"
LIBRARY_LINE = re.compile(r"^\s*(\[[^\]]*\]\s*)?(note|warning|error)\s*:|libmpg123|resync", re.I | re.M)


def _cli_process(*argv, cwd=None):
    """``prosody ARGV`` in a child process, so that what C code writes to descriptor 2 is seen too."""
    env = {k: v for k, v in os.environ.items() if k != "PROSODY_DEBUG"}
    return subprocess.run([sys.executable, "-m", "prosody_cli.main", *map(str, argv)], capture_output=True,
                          text=True, timeout=120, cwd=cwd or REPO, env=env)


# -- 1. a damaged MP3 -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mp3_whole(tmp_path_factory, fixture_dialogue):
    """8 s of the fixture dialogue's left channel as a constant-bitrate MP3 (bytes ~ time)."""
    audio, _ = fixture_dialogue
    p = tmp_path_factory.mktemp("mp3") / "whole.mp3"
    sf.write(p, audio[: 8 * SR, 0], SR, format="MP3", subtype="MPEG_LAYER_III", bitrate_mode="CONSTANT",
             compression_level=0.5)
    return p


def _damaged(whole, path, *, at: float = 0.0, n_bytes: int, start_byte: int = 0, seed: int = 1):
    """``whole`` with ``n_bytes`` of noise written over it from fraction ``at`` of its length
    (or from byte ``start_byte``)."""
    data = bytearray(whole.read_bytes())
    rng = random.Random(seed)
    start = start_byte or int(len(data) * at)
    for i in range(start, min(start + n_bytes, len(data))):
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return path


def test_damaged_mp3_gives_prosodys_warning_and_no_decoder_lines(tmp_path, mp3_whole):
    """Noise over the middle of an MP3: the decoder gives up there. The user sees one
    line, prosody's warning (naming the damage, in the decoder's words), the audio
    before the damage is analysed, and nothing libmpg123 printed reaches stderr."""
    bad = _damaged(mp3_whole, tmp_path / "bad.mp3", at=0.5, n_bytes=3000)
    proc = _cli_process("analyze", bad, "--speaker", "therapist", "--json", "-", "--quiet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: warning: "), proc.stderr
    assert "is damaged" in lines[0] and "analysed what it decoded" in lines[0], lines[0]
    assert not LIBRARY_LINE.search(proc.stderr.replace(lines[0], "")), proc.stderr
    doc = json.loads(proc.stdout)
    assert 3.0 < doc["duration_s"] < 4.5, doc["duration_s"]  # planted at 4 s (half the bytes); not past it
    assert any("is damaged" in w for w in doc["warnings"]), doc["warnings"]


def test_truncated_mp3_is_called_truncated_without_decoder_lines(tmp_path, mp3_whole):
    """An MP3 cut at 60 %: libmpg123 warns about the Xing header's size; the user sees
    only prosody's 'truncated' warning, and about 60 % of the 8 s is analysed."""
    cut = tmp_path / "cut.mp3"
    data = mp3_whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    proc = _cli_process("analyze", cut, "--speaker", "therapist", "--json", "-", "--quiet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: warning: ") and "is truncated" in lines[0], proc.stderr
    assert json.loads(proc.stdout)["duration_s"] == pytest.approx(0.6 * 8.0, abs=0.4)


def test_undecodable_mp3_is_one_error_line(tmp_path, mp3_whole):
    """Noise over everything from byte 200 (inside the first frames): nothing decodes.
    One error line, exit 2, no decoder lines."""
    bad = _damaged(mp3_whole, tmp_path / "noise.mp3", start_byte=200, n_bytes=10 ** 9)
    proc = _cli_process("analyze", bad, "--speaker", "therapist", "--quiet")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: error: cannot decode "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_c_stderr_captured_sorts_library_lines_from_other_output(capfd):
    """What is written to descriptor 2 inside the block: library-shaped lines are
    kept (without the C source location), anything else passes through; after the
    block descriptor 2 is the terminal's again."""
    from prosody.fileio import c_stderr_captured
    said: list[str] = []
    with c_stderr_captured(said):
        os.write(2, b"Note: Trying to resync...\n")
        os.write(2, b"[src/libmpg123/layer3.c:INT123_do_layer3():1804] error: dequantization failed!\n")
        os.write(2, b"progress 50%\n")
    os.write(2, b"after\n")
    assert said == ["Note: Trying to resync...", "error: dequantization failed!"]
    assert capfd.readouterr().err == "progress 50%\nafter\n"
    with pytest.raises(RuntimeError):  # a failing decoder call: what it said is kept, descriptor 2 restored
        with c_stderr_captured(said):
            os.write(2, b"Warning: Xing stream size off\n")
            raise RuntimeError("decoder failed")
    os.write(2, b"restored\n")
    assert said[-1] == "Warning: Xing stream size off"
    assert capfd.readouterr().err == "restored\n"
