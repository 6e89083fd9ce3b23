"""Hostile sweep 34 (docs/store.md "Hostile sweep 34"): each defect found, against planted truth.

1. A live save edited to carry another stored session's `live.session_id` (another recording) replaced that
   session on import: its analysis swapped for another recording's, the command line's client given over it.
   Now a save whose `started_at` differs from the stored one's is refused, and a final save is never replaced
   (it is its live session's last save: nothing of that session comes after it).
2. `prosody delete` of a live session waited for ever (after the delete, its lines unsaid) where a FIFO stood
   at the live session's own file or its recording's name; a recording's name that came to name `/dev/zero`
   was hashed for ever. Now those files are opened without waiting and only a regular file is read.
3. The zeroing of a file replaced by a rename (hostile sweep 33) wrote zeros over its whole length: a sparse
   file (`truncate -s 3G x.json`, then `export -o x.json`) had all 3 GB written (10.6 s, the disk's space
   taken meanwhile) for some kB of data. Now its data alone is zeroed, its holes left holes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def _live_save(tmp_path: Path, name: str, start_s: float, seconds: float) -> Path:
    """A real `prosody live --input` save (replayed at max speed) of ``seconds`` of the fixture from ``start_s``."""
    from prosody_cli.main import main
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    sf.write(tmp_path / f"{name}.wav", x[round(start_s * sr):round((start_s + seconds) * sr)], sr,
             subtype="PCM_16")
    assert main(["live", "--input", str(tmp_path / f"{name}.wav"), "--speed", "max", "--plain",
                 "--output", str(tmp_path / f"{name}.json")]) == 0
    return tmp_path / f"{name}.json"


def _rewritten(src: Path, dst: Path, **live) -> Path:
    """``src`` (a live save) copied to ``dst`` (its frames file beside it) with ``live`` set in its live block."""
    doc = json.loads(src.read_text())
    (dst.parent / f"{dst.stem}.frames.npz").write_bytes(src.with_name(doc["live"]["frames_file"]).read_bytes())
    doc["live"].update(frames_file=f"{dst.stem}.frames.npz", **live)
    dst.write_text(json.dumps(doc))
    return dst


def test_a_save_carrying_another_sessions_live_id_replaces_nothing(tmp_path, monkeypatch, capsys):
    """Planted: live session A (8 s of the fixture) imported for client Ann; session B (12 s from 8 s on, another
    recording) edited to carry A's `live.session_id`, imported with --client Bob. Before: "replacing the store's
    earlier save of this live session", session 1 now B's 12 s and Bob's. Now refused in one line, exit 2,
    session 1 still A's 8 s and Ann's: with B's own start (another recording), with A's start (a final save is
    its session's last), and A's own save claiming more captured."""
    from prosody.store.db import Store
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    a, b = _live_save(tmp_path, "a", 0.0, 8.0), _live_save(tmp_path, "b", 8.0, 12.0)
    live_a = json.loads(a.read_text())["live"]
    st = str(tmp_path / "st")
    assert main(["import", str(a), "--store", st, "--client", "Ann"]) == 0
    capsys.readouterr()
    other_start = _rewritten(b, tmp_path / "f1.json", session_id=live_a["session_id"],
                             started_at="2026-01-02T03:04:05+00:00\x1b[31m")
    assert main(["import", str(other_start), "--store", st, "--client", "Bob"]) == 2
    err = capsys.readouterr().err
    assert err == (f"prosody: error: {other_start} carries the live session id of session 1, but it started at "
                   "2026-01-02T03:04:05+00:00\\x1b[31m and that session at "
                   f"{live_a['started_at']}: it is not a save of that session, so nothing was imported (`prosody "
                   "import --new-id` imports it as a session of its own)\n"), err
    same_start = _rewritten(b, tmp_path / "f2.json", session_id=live_a["session_id"], started_at=live_a["started_at"])
    more = _rewritten(a, tmp_path / "f3.json", captured_s=9.0)
    for path, length in ((same_start, "12.0 s"), (more, "9.0 s")):
        assert main(["import", str(path), "--store", st, "--client", "Bob"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"prosody: error: {path} is a save of the live session already in the store as "
                              f"session 1 (its final save, 8.0 s; this file: its final save, {length})"), err
        assert len(err.splitlines()) == 1
    with Store(tmp_path / "st") as store:
        assert [i.id for i in store.list()] == [1]
        s1 = store.get(1)
        assert s1.info.meta.client == "Ann" and s1.info.duration_s == pytest.approx(8.0, abs=0.05)
        assert s1.doc["live"]["output_file"] == str(a)
    assert main(["import", str(other_start), "--store", st, "--new-id", "--client", "Bob"]) == 0  # as asked
    with Store(tmp_path / "st") as store:
        assert sorted((i.id, i.meta.client) for i in store.list()) == [(1, "Ann"), (2, "Bob")]


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "prosody_cli.main", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=30)


@pytest.mark.parametrize("where", ["output_file", "recording_fifo", "recording_dev_zero"])
def test_delete_does_not_wait_on_a_fifo_or_device_at_a_live_sessions_files(tmp_path, monkeypatch, where):
    """Planted: a live save imported; then its own JSON moved away and a FIFO made at its name, or its recording's
    name (`live.recording_file`, its SHA-256 set) a FIFO or `/dev/zero`. Before: `delete 1` said "deleted
    session 1" and then waited for ever (killed at 30 s here). Now it ends at once, exit 0, naming no such file."""
    monkeypatch.chdir(tmp_path)
    s = _live_save(tmp_path, "s", 0.0, 4.0)
    if where != "output_file":
        target = "/dev/zero" if where == "recording_dev_zero" else str(tmp_path / "r.wav")
        s = _rewritten(s, tmp_path / "t.json", recording_file=target, recording_complete=True,
                       recording_sha256="0" * 64)
    assert _cli(["import", s.name, "--store", "st"], tmp_path).returncode == 0
    if where == "output_file":
        s.rename(tmp_path / "moved.json")
        os.mkfifo(s)
    elif where == "recording_fifo":
        os.mkfifo(tmp_path / "r.wav")
    try:
        done = _cli(["delete", "1", "--store", "st"], tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("prosody delete waited on the file")
    assert done.returncode == 0 and done.stdout == "deleted session 1\n", done
    assert "r.wav" not in done.stderr and "/dev/zero" not in done.stderr, done.stderr
    assert ("s.json" in done.stderr) == (where != "output_file"), done.stderr  # a save still there is named


def _sparse(path: Path, size: int, planted: dict[int, bytes]) -> None:
    with open(path, "wb") as f:
        for at, data in planted.items():
            f.seek(at)
            f.write(data)
        f.truncate(size)


def test_zeroing_a_sparse_replaced_file_writes_its_data_alone(tmp_path, monkeypatch):
    """Planted: a 256 MiB sparse file holding 4 KiB at 0 and 4 KiB at 200 MiB. `_zero` leaves no planted byte
    and allocates none of its holes (before: all 256 MiB written, its blocks taken); `replace_erasing` over such
    a file writes some kB of zeros (counted), not 256 MiB, and the new file stands whole."""
    from prosody import fileio
    planted = {0: b"SECRET-A" * 512, 200 << 20: b"SECRET-B" * 512}
    _sparse(tmp_path / "old", 256 << 20, planted)
    if os.stat(tmp_path / "old").st_blocks * 512 > 1 << 20:
        pytest.skip("this file system keeps no holes")
    fd = os.open(tmp_path / "old", os.O_RDWR)
    try:
        fileio._zero(fd)
        assert os.fstat(fd).st_blocks * 512 <= 1 << 20
    finally:
        os.close(fd)
    with open(tmp_path / "old", "rb") as f:
        for at, data in planted.items():
            f.seek(at)
            assert f.read(len(data)) == bytes(len(data))
    _sparse(tmp_path / "x.json", 256 << 20, planted)
    (tmp_path / "new").write_text('{"new": true}')
    written: list[int] = []
    real_pwrite = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, data, at: written.append(len(data)) or real_pwrite(fd, data, at))
    fileio.replace_erasing(tmp_path / "new", tmp_path / "x.json")
    assert (tmp_path / "x.json").read_text() == '{"new": true}'
    assert 8192 <= sum(written) <= 1 << 20, sum(written)


def test_export_does_not_write_over_the_frames_of_a_renamed_live_save(tmp_path, monkeypatch, capsys):
    """Planted: a live save s.json (+ s.frames.npz) renamed keep.json (it still names s.frames.npz, its frames);
    another session (12 s of another recording) exported as s.json. Before: exit 0, s.frames.npz replaced by the
    other session's frames (the capture's zeroed), and keep.json imported with them. Now refused in one line, exit
    2, the capture's frames byte for byte as saved; with keep.json gone the export is written."""
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    other = _live_save(tmp_path, "other", 8.0, 12.0)
    assert main(["import", str(other), "--store", "st"]) == 0
    (tmp_path / "live").mkdir()
    s = _live_save(tmp_path / "live", "s", 0.0, 8.0)
    s.rename(tmp_path / "live" / "keep.json")
    frames = (tmp_path / "live" / "s.frames.npz").read_bytes()
    capsys.readouterr()
    assert main(["export", "1", "-o", "live/s.json", "--store", "st"]) == 2
    err = capsys.readouterr().err
    assert err == ("prosody: error: cannot write -o (frames beside it) live/s.frames.npz: it is the frames file of "
                   "the live session live/keep.json and would be replaced, and what was captured may exist nowhere "
                   "else; choose a new name (or import it, `prosody import`, and remove the file yourself)\n"), err
    assert (tmp_path / "live" / "s.frames.npz").read_bytes() == frames and not (tmp_path / "live" / "s.json").exists()
    (tmp_path / "live" / "keep.json").unlink()
    # s.frames.npz, no longer any live session's, is still a file: replaced with --overwrite (hostile sweep 38)
    assert main(["export", "1", "-o", "live/s.json", "--store", "st", "--overwrite"]) == 0
    assert (tmp_path / "live" / "s.frames.npz").read_bytes() != frames


def test_a_final_live_save_with_another_sessions_longer_frames_is_refused(tmp_path, monkeypatch, capsys):
    """Planted: live save a.json (8 s) imported with --frames of another live session's 12 s (another
    recording). Before: exit 0, the other frames cut to 8 s and stored as a.json's (their figures unchecked,
    as an autosave's are). Now a final save's frames are checked as any session's: refused in one line, exit 2,
    nothing stored; its own frames import."""
    from prosody.store.db import Store
    from prosody_cli.main import main
    monkeypatch.chdir(tmp_path)
    a, b = _live_save(tmp_path, "a", 0.0, 8.0), _live_save(tmp_path, "b", 8.0, 12.0)
    capsys.readouterr()
    assert main(["import", str(a), "--frames", str(tmp_path / "b.frames.npz"), "--store", "st"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prosody: error: cannot import: speakers.") and len(err.splitlines()) == 1, err
    assert "the document's figures are not those of these frames" in err
    with Store(tmp_path / "st") as store:
        assert store.list() == []
    assert main(["import", str(a), "--store", "st"]) == 0
