"""Defects of issue 12 with planted truth: a WAV with a header and no samples
is one error line and exit 2 in every command that reads audio; ``prosody
edit`` corrects stored metadata (typed text kept as data)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from prosody_cli.main import main


def run(capsys, *argv):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def empty_wavs(tmp_path):
    paths = []
    for name, shape in (("stereo.wav", (0, 2)), ("mono.wav", (0,))):
        sf.write(tmp_path / name, np.zeros(shape, np.float32), 16000)
        paths.append(tmp_path / name)
    return paths


def test_empty_wav_is_one_error_line_and_exit_2(empty_wavs, tmp_path, capsys):
    for p in empty_wavs:
        rc, out, err = run(capsys, "analyze", p, "--json", tmp_path / "s.json")
        assert rc == 2 and out == "" and err == f"prosody: error: no audio in {p}\n"
        assert not (tmp_path / "s.json").exists()
    # two files, one of them empty
    full = tmp_path / "full.wav"
    sf.write(full, 0.1 * np.sin(np.arange(16000) / 10).astype(np.float32), 16000)
    rc, out, err = run(capsys, "analyze", full, empty_wavs[1])
    assert rc == 2 and err == f"prosody: error: no audio in {empty_wavs[1]}\n"
    # live from a file
    rc, out, err = run(capsys, "live", "--input", empty_wavs[0], "--speed", "max", "--plain")
    assert rc == 2 and err.strip().splitlines()[-1] == f"prosody: error: no audio in {empty_wavs[0]}"


def test_empty_wav_in_batch_is_reported_per_file(empty_wavs, tmp_path, capsys):
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "empty.wav").write_bytes(empty_wavs[0].read_bytes())
    sf.write(folder / "ok.wav", np.zeros(16000, np.float32), 16000)
    rc, out, err = run(capsys, "batch", folder, "--store", tmp_path / "store", "--table", tmp_path / "t.csv",
                       "--no-progress", "--no-parquet")
    assert rc != 0
    assert f"{folder / 'empty.wav'}: no audio in {folder / 'empty.wav'}" in out + err
    assert "1 analysed" in out and "1 failed" in out


def test_file_source_raises_when_no_samples_come_out(tmp_path):
    """A header that claims samples but a body with none (truncated to the header)."""
    from prosody.engine.sources import FileSource, Layout
    from prosody.errors import InputError
    p = tmp_path / "trunc.wav"
    sf.write(p, np.zeros(1600, np.int16), 16000, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[:44])  # the 44-byte RIFF header only; it still claims 1,600 samples
    with pytest.raises(InputError, match="no audio in"):
        list(FileSource([str(p)], Layout(("therapist",), ((0, 0),))))
