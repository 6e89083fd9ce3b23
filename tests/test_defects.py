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


# -- prosody edit -------------------------------------------------------------------------------------------------
def _tiny_doc():
    return {"schema": "prosody.session/2", "duration_s": 12.0, "frame_hop_s": 0.01, "speaker_order": ["therapist"],
            "turn_taking": False, "speakers": {"therapist": {"speech_s": 5.0}}, "segments": [], "measures": None}


def test_edit_corrects_metadata_in_the_store(tmp_path, capsys):
    from prosody.formats.bundle import SessionMeta
    from prosody.store.db import Store
    store_dir = tmp_path / "store"
    with Store(store_dir) as st:
        sid = st.save(_tiny_doc(), meta=SessionMeta(therapist="dr a", client="C1", recorded_at="2026-01-02T10:00:00",
                                                    session_number=3, notes="old", tags=("intake", "keep")))
        other = st.save(_tiny_doc(), meta=SessionMeta(therapist="dr a", client="C1", tags=("intake",)))
    # control characters are refused here as at saving and import (issue 10), the store unchanged
    rc, out, err = run(capsys, "edit", sid, "--store", store_dir, "--notes", "x\x1b[31m")
    assert rc != 0 and "control characters" in err and err.count("\n") == 1
    with Store(store_dir) as st:
        assert st.info(sid).meta.notes == "old"
    typed = "[bold]rose[/bold] <b>&"
    rc, out, err = run(capsys, "edit", sid, "--store", store_dir, "--client", "C2", "--session-number", "4",
                       "--date", "2026-02-03T09:30", "--notes", typed, "--tag", "reviewed", "--untag", "intake")
    assert rc == 0, err
    assert "client: C2" in out and "[bold]rose[/bold] <b>&" in out
    with Store(store_dir) as st:
        info = st.info(sid)
        assert (info.meta.therapist, info.meta.client, info.meta.session_number) == ("dr a", "C2", 4)
        assert info.meta.recorded_at == "2026-02-03T09:30:00" and info.meta.notes == typed
        assert info.meta.tags == ("keep", "reviewed")
        # the filters read the corrected tables; the other session is untouched
        assert [i.id for i in st.list(client="C2")] == [sid]
        assert [i.id for i in st.list(tag="intake")] == [other]
        assert [i.id for i in st.list(since="2026-02-01")] == [sid]
        # an export carries the corrected metadata
        b = st.bundle(sid)
        assert b.meta.client == "C2" and b.meta.tags == ("keep", "reviewed") and b.meta.notes == typed
    # clearing a field; nothing to change; bad values
    rc, out, err = run(capsys, "edit", sid, "--store", store_dir, "--client", "")
    assert rc == 0
    with Store(store_dir) as st:
        assert st.info(sid).meta.client is None
    rc, out, err = run(capsys, "edit", sid, "--store", store_dir)
    assert rc == 2 and err.startswith("prosody: error: nothing to change")
    rc, out, err = run(capsys, "edit", sid, "--store", store_dir, "--session-number", "-1")
    assert rc == 2 and "session number" in err
    rc, out, err = run(capsys, "edit", sid, "--store", store_dir, "--date", "yesterday")
    assert rc == 2 and err.count("\n") == 1
    rc, out, err = run(capsys, "edit", 999, "--store", store_dir, "--notes", "x")
    assert rc != 0 and err.startswith("prosody: error:")


def test_pyproject_lists_every_package():
    """A plain (non-editable) `pip install .` installs only the packages pyproject lists: every folder with an
    __init__.py under prosody/ and cli/ must be there (prosody.engine was missing once; editable installs hid it)."""
    import tomllib
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    conf = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "prosody").rglob("__init__.py")}
    found |= {"prosody_cli" + "".join("." + q for q in p.parent.relative_to(root / "cli").parts)
              for p in (root / "cli").rglob("__init__.py")}
    assert found == listed
