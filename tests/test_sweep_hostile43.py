"""Hostile sweep 43 (docs/store.md "Hostile sweep 43"): sweep 42's leftovers, then fresh hostile inputs.

1. A batch table edited by hand that still listed this batch's recordings was replaced by the batch run again (a
   table was told by what it lists alone). Tables are now marked (``fileio.mark_output``) and only an untouched
   one is replaced; an edited one is kept and this batch's table written beside it.
2. ``fileio.write_claimed`` (a live session's saves) on a file system without hard links: a file or link put at
   the name meanwhile was said as "File exists" (not as another writer's), and a failed rename left the empty file
   that took the name, which kept this session's later saves out of it.
3. An output onto a file marked immutable or append-only (``chattr +i``/``+a``) was found unwritable only after the
   work ("Operation not permitted; it was not written"): an analysis without --save lost. Now refused before it.
"""
from __future__ import annotations

import csv
import errno
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_sweep_hostile42 import _manifest, _two_recordings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


# -- 1. a batch table edited by hand ----------------------------------------------------------------------------------

def test_a_batch_table_edited_by_hand_is_kept_and_the_table_written_beside(tmp_path):
    """Before: the same batch run again onto its table, after a user filled in a therapist's name by hand (its rows
    and recordings as they were), replaced it, exit 0: the name lost. Now the edited table is kept byte for byte and
    this batch's written beside it, said in one line, exit 1."""
    a, b = _two_recordings(tmp_path)
    m = _manifest(tmp_path / "m.csv", a, b)
    store, table = ("--store", tmp_path / "st", "--no-progress", "--table", tmp_path / "t"), tmp_path / "t.csv"
    assert run_cli("batch", m, *store)[0] == 0
    with open(table, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[0]["therapist"] = "Dr Ames"  # a name filled in by hand, the rows and recordings as they were
    with open(table, "w", newline="", encoding="utf-8") as f:  # in place (the same file: its attribute stays)
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    edited = table.read_bytes()
    rc, out, err = run_cli("batch", m, *store)
    assert rc == 1
    assert (f"prosody: error: cannot write --table {table}: the table there lists recordings this batch does not "
            "(another batch's table), or is not as a batch wrote it (changed since, or no table prosody wrote), and "
            f"was kept; this batch's table was written beside it, as {tmp_path / 't.kept-1.csv'}, "
            f"{tmp_path / 't.kept-1.parquet'}\n") in err, err
    assert table.read_bytes() == edited
    assert (tmp_path / "t.kept-1.csv").stat().st_mode & 0o777 == 0o600


def test_an_untouched_table_is_written_again_and_a_copy_is_not(tmp_path):
    """Guards and the rule's edges: the same batch run again onto its own untouched table writes it again (exit 0,
    nothing beside); a plain copy of it put at the name (`cp` keeps no attribute) is the user's, kept."""
    a, _ = _two_recordings(tmp_path)
    m = _manifest(tmp_path / "m.csv", a)
    store, table = ("--store", tmp_path / "st", "--no-progress", "--table", tmp_path / "t"), tmp_path / "t.csv"
    assert run_cli("batch", m, *store, "--no-parquet")[0] == 0
    rc, out, err = run_cli("batch", m, *store, "--no-parquet")
    assert rc == 0, err
    assert not list(tmp_path.glob("t.kept-*"))
    shutil.copyfile(table, tmp_path / "copy.csv")
    os.replace(tmp_path / "copy.csv", table)
    rc, out, err = run_cli("batch", m, *store, "--no-parquet")
    assert rc == 1 and "is not as a batch wrote it" in err
    assert (tmp_path / "t.kept-1.csv").exists()


def test_tables_are_told_by_what_they_list_alone_where_no_record_is_kept(tmp_path, monkeypatch):
    """Where the file system keeps no extended attributes (vfat: ``setxattr``/``getxattr`` fail with ENOTSUP), a
    table is told by what it lists alone, as before: the same batch's table is written again, another batch's kept."""
    from prosody.batch.runner import TABLE_COLUMNS, tables_kept, write_table

    def unsupported(*a, **k):
        raise OSError(errno.ENOTSUP, "Operation not supported")
    monkeypatch.setattr(os, "setxattr", unsupported)
    monkeypatch.setattr(os, "getxattr", unsupported)

    def rows(*listed):
        return [{c: None for c, _ in TABLE_COLUMNS} | {"session_id": i, "uid": u, "file": f, "turn_taking": False,
                                                      "n_warnings": 0} for i, (u, f) in enumerate(listed, 1)]
    t = tmp_path / "t"
    write_table(rows(("aaaaaaaa", "a.wav")), t, parquet=False)
    assert tables_kept(t, rows(("aaaaaaaa", "a.wav")), parquet=False) == []
    assert tables_kept(t, rows(("cccccccc", "c.wav")), parquet=False) == [t.with_suffix(".csv")]


# -- 2. write_claimed without hard links --------------------------------------------------------------------------------

def _no_links(monkeypatch, meanwhile=None):
    """``os.link`` failing as vfat's does (EPERM), after ``meanwhile`` runs on its destination."""
    def no_links(src, dst, *a, **k):
        if meanwhile is not None:
            meanwhile(Path(dst))
        raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", no_links)


def test_write_claimed_without_hard_links_says_a_link_planted_meanwhile_as_another_writers(tmp_path, monkeypatch):
    """Before: a symbolic link planted at a live save's name between its check and its exclusive create was
    "[Errno 17] File exists" (not followed, but not said as another writer's). Now it is the same line as any file
    another program wrote there; the link and its target are untouched, nothing else left."""
    from prosody.fileio import write_claimed
    target = tmp_path / "elsewhere.txt"
    _no_links(monkeypatch, lambda dst: os.symlink(target, dst))
    save = tmp_path / "s.json"
    with pytest.raises(FileExistsError) as exc:
        write_claimed(save, "ours", {})
    assert "another program wrote it meanwhile" in str(exc.value) and exc.value.filename == str(save)
    assert os.readlink(save) == str(target) and not target.exists() and os.listdir(tmp_path) == ["s.json"]


def test_write_claimed_without_hard_links_leaves_no_empty_file_where_the_rename_failed(tmp_path, monkeypatch):
    """Before: where the rename after the exclusive create failed (a full disk), the empty file that took the name
    stayed, and the session's next save found "another program wrote it meanwhile" there: its saves kept out of
    its own name. Now the empty file goes, the write's own error is raised, and the next save is written."""
    from prosody.fileio import write_claimed
    _no_links(monkeypatch)
    real_replace = os.replace

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    save, claims = tmp_path / "s.json", {}
    with pytest.raises(OSError) as exc:
        write_claimed(save, "first", claims)
    assert exc.value.errno == errno.ENOSPC and os.listdir(tmp_path) == []
    monkeypatch.setattr(os, "replace", real_replace)
    write_claimed(save, "second", claims)
    assert save.read_text() == "second" and save.stat().st_mode & 0o777 == 0o600 and os.listdir(tmp_path) == ["s.json"]


# -- 3. an output onto a file marked immutable or append-only ---------------------------------------------------------

def _chattr(flag: str, path: Path) -> None:
    """``chattr FLAG path``; the test skipped where it cannot be set here (not root, no chattr, a file system
    without inode flags)."""
    import subprocess
    try:
        done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    except FileNotFoundError:
        pytest.skip("no chattr here")
    if done.returncode != 0:
        pytest.skip(f"chattr {flag} refused here: {done.stderr.decode(errors='replace').strip()}")


@pytest.mark.parametrize("flag, what", [("+i", "immutable"), ("+a", "append-only")])
def test_an_output_onto_a_file_marked_immutable_is_refused_before_the_work(tmp_path, flag, what):
    """Before: `analyze X --json s.json` run again onto its own output marked immutable (`chattr +i`, as a user
    protects a file) analysed, then "cannot write s.json: Operation not permitted; it was not written", exit 1:
    the analysis lost (without --save). Now refused in one line before any work, even with --overwrite; the
    file untouched; with the mark taken off the same command writes it again."""
    from tests.conftest import one_line_error
    out = tmp_path / "s.json"
    rec = FIXTURES / "mono_therapist.wav"
    assert run_cli("analyze", rec, "--json", out, "--quiet", "--no-progress")[0] == 0
    before = out.read_bytes()
    _chattr(flag, out)
    try:
        for extra in ((), ("--overwrite",)):
            rc, _, err = run_cli("analyze", rec, "--json", out, "--quiet", "--no-progress", *extra)
            one_line_error(rc, err)
            assert (f"cannot write --json {out}: the file there is marked {what} (chattr {flag}), so it cannot be "
                    "replaced, even with --overwrite") in err, err
            assert "warning" not in err  # nothing analysed: no analysis's warnings
    finally:
        _chattr("-" + flag[1], out)
    assert out.read_bytes() == before
    assert run_cli("analyze", rec, "--json", out, "--quiet", "--no-progress")[0] == 0


def test_a_failed_hard_link_names_the_output_not_its_staged_file(tmp_path, monkeypatch):
    """Review of sweep 43: where the hard link that puts a new output in place failed for another reason than the
    file system making none (a full disk: a folder entry needs a block), the error named the staged temporary
    (`.s.json.x1y2.tmp`, as ``os.link`` names its source), not the output asked for (sweep 12's rule). Now the
    output's path, and nothing is left behind; a live session's first save alike."""
    from prosody.fileio import write_claimed, write_private

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))
    monkeypatch.setattr(os, "link", full)
    out = tmp_path / "s.json"
    for write in (lambda: write_private(out, "x", new_only=True), lambda: write_claimed(out, "x", {})):
        with pytest.raises(OSError) as exc:
            write()
        assert exc.value.errno == errno.ENOSPC and exc.value.filename == str(out), exc.value
        assert os.listdir(tmp_path) == []
