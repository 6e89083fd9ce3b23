"""Hostile sweep 44 (docs/store.md "Hostile sweep 44"): sweep 43's leftover, an output onto another user's file.

1. An output whose file is another user's, in a folder with the sticky bit (``/tmp``, mode 1777) that is not this
   user's either, cannot be replaced by a rename (EPERM: only the file's or the folder's owner may), and was found
   so only after the work: an analysis without --save lost. Now refused before it, for every command's outputs.
2. A batch table whose rename failed was said by its temporary's name (``.t.csv.pwrykbac.tmp``), a name never
   shown: ``write_private`` now names the file asked for.
3. A session store of another user's (made every user's to write) was "cannot open q: Operation not permitted";
   now said whose it is, and that a store is its owner's alone.

The commands of 1 run as the user ``nobody`` (``runuser``), which needs root; skipped where that cannot be done.
"""
from __future__ import annotations

import errno
import os
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from prosody import fileio
from tests.conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WORKTREE = Path(__file__).resolve().parent.parent
NOBODY = "nobody"
NOBODY_RUN_S = 120  # one short command (an analysis of the 7.5 s fixture) on a loaded machine
REFUSED = ("in a folder with the sticky bit ({folder}, as /tmp), where only its owner may replace it, so it cannot be "
           "replaced, even with --overwrite; choose a new name, or another folder")


def _nobody_python() -> tuple[str, dict] | None:
    """A Python the user ``nobody`` can run with this one's packages and this worktree (the running one, or the
    system's of the same version where this one lies in root's home), and its environment; None where none."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join([str(WORKTREE), *site.getsitepackages()])}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/python{version}"):
        done = subprocess.run(["runuser", "-u", NOBODY, "--", "env", *[f"{k}={v}" for k, v in env.items()], python,
                               "-c", "import numpy, soundfile, prosody_cli.main; import prosody; "
                               "print(prosody.__file__)"],
                              capture_output=True, text=True, check=False, timeout=NOBODY_RUN_S)
        if done.returncode == 0 and done.stdout.strip().startswith(str(WORKTREE)):
            return python, env
    return None


@pytest.fixture(scope="module")
def nobody():
    """``run(*argv, cwd) -> (rc, stderr)``: ``prosody ARGV`` run as ``nobody`` in ``cwd`` (a ``shared`` folder, its
    ``home`` the home folder); skipped where that cannot be done."""
    found = _nobody_python()
    if found is None:
        pytest.skip("needs root, runuser and a user 'nobody' that can run this Python with its packages")
    python, env = found

    def run(*argv, cwd):
        home = {**env, "HOME": str(Path(cwd) / "home")}  # the folder ``shared`` makes for its store
        done = subprocess.run(["runuser", "-u", NOBODY, "--", "env", *[f"{k}={v}" for k, v in home.items()], python,
                               "-m", "prosody_cli.main", *map(str, argv)], cwd=cwd, capture_output=True, text=True,
                              check=False, timeout=NOBODY_RUN_S)
        return done.returncode, done.stderr
    return run


@pytest.fixture
def shared():
    """A folder every user may read (``tmp_path`` lies in root's 0700 folder), with the fixture recording in it
    and a store folder ``nobody`` writes; removed after."""
    folder = Path(tempfile.mkdtemp(prefix="prosody-sweep44-"))
    folder.chmod(0o755)
    shutil.copy(FIXTURES / "mono_therapist.wav", folder / "r.wav")
    (folder / "r.wav").chmod(0o644)
    (folder / "home").mkdir(mode=0o777)
    (folder / "home").chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def _sticky(folder: Path, owner: int = 0) -> Path:
    """A folder with the sticky bit, every user's to write (mode 1777, as /tmp), owned by ``owner``."""
    folder.mkdir()
    folder.chmod(0o1777)
    os.chown(folder, owner, -1)
    return folder


def _roots_file(path: Path, text: str = "{}\n") -> bytes:
    """A file of root's at ``path`` every user may read; its bytes."""
    path.write_text(text)
    path.chmod(0o644)
    return path.read_bytes()


def _one_line(rc: int, err: str) -> None:
    assert rc == 2, (rc, err)
    assert err.startswith("prosody: error: ") and err.count("\n") == 1, err
    assert "warning" not in err and "Traceback" not in err, err  # nothing analysed: no analysis's warnings


def test_analyze_onto_another_users_file_in_a_sticky_folder_is_refused_before_the_work(nobody, shared):
    """Before: `analyze r.wav --json st/s.json --overwrite`, st/ mode 1777 and s.json root's, run as nobody,
    analysed, then "cannot write st/s.json: Operation not permitted; it was not written", exit 1 (the analysis lost
    without --save). Now refused in one line before any work, with or without --overwrite; the file untouched. A
    new name in the same folder is written."""
    st = _sticky(shared / "st")
    before = _roots_file(st / "s.json")
    for extra in ((), ("--overwrite",)):
        rc, err = nobody("analyze", "r.wav", "--json", "st/s.json", "--quiet", "--no-progress", *extra, cwd=shared)
        _one_line(rc, err)
        assert ("cannot write --json st/s.json: the file there is another user's (root, uid 0), "
                + REFUSED.format(folder=st)) in err, err
    assert (st / "s.json").read_bytes() == before
    rc, err = nobody("analyze", "r.wav", "--json", "st/new.json", "--quiet", "--no-progress", cwd=shared)
    assert rc == 0, err
    assert (st / "new.json").stat().st_uid != 0


def test_batch_export_and_report_onto_another_users_file_in_a_sticky_folder_are_refused(nobody, shared):
    """Every command that writes outputs: `batch --table` (before: the batch ran and its table was said as
    "cannot write /tmp/.../.t.csv.pwrykbac.tmp: Operation not permitted", exit 1), `export -o` and the frames file
    beside it, `report -o`, each with --overwrite: refused in one line before any work, the files untouched."""
    st = _sticky(shared / "st")
    store = ("--store", shared / "home" / "store")
    rc, err = nobody("analyze", "r.wav", "--save", *store, "--quiet", "--no-progress", cwd=shared)
    assert rc == 0, err
    kept = {name: _roots_file(st / name) for name in ("t.csv", "x.json", "y.frames.npz", "r.html")}
    for argv, where in ((("batch", "r.wav", "--table", "st/t", "--no-progress"), "--table st/t.csv"),
                        (("export", "1", "-o", "st/x.json"), "-o st/x.json"),
                        (("export", "1", "-o", "st/y.json"), "-o (frames beside it) st/y.frames.npz"),
                        (("report", "1", "-o", "st/r.html"), "-o st/r.html")):
        rc, err = nobody(*argv, *store, "--overwrite", cwd=shared)
        _one_line(rc, err)
        assert (f"cannot write {where}: the file there is another user's (root, uid 0), "
                + REFUSED.format(folder=st)) in err, err
    assert {name: (st / name).read_bytes() for name in kept} == kept
    assert sorted(p.name for p in st.iterdir()) == sorted(kept)  # no temporary left


def test_a_sticky_folders_own_files_and_an_owners_folder_are_written_again(nobody, shared):
    """Guards, the rule's edges: the user's own file in a sticky folder of root's, and root's file in a sticky
    folder of the user's own (its owner may replace anything in it), are replaced with --overwrite as before;
    a folder the user cannot write is refused before any work (the check that was there: held)."""
    st = _sticky(shared / "st")
    rc, err = nobody("analyze", "r.wav", "--json", "st/own.json", "--quiet", "--no-progress", cwd=shared)
    assert rc == 0, err
    rc, err = nobody("analyze", "r.wav", "--json", "st/own.json", "--quiet", "--no-progress", "--overwrite", cwd=shared)
    assert rc == 0, err
    mine = _sticky(shared / "mine", owner=(st / "own.json").stat().st_uid)
    _roots_file(mine / "s.json")
    rc, err = nobody("analyze", "r.wav", "--json", "mine/s.json", "--quiet", "--no-progress", "--overwrite",
                     cwd=shared)
    assert rc == 0, err
    assert b'"files"' in (mine / "s.json").read_bytes()
    (shared / "ro").mkdir(mode=0o755)
    rc, err = nobody("analyze", "r.wav", "--json", "ro/s.json", "--quiet", "--no-progress", cwd=shared)
    _one_line(rc, err)
    assert f"cannot write --json ro/s.json: folder {shared / 'ro'} is not writable (Permission denied)" in err, err


def test_a_failed_rename_is_said_of_the_file_asked_for_not_its_temporary(tmp_path, monkeypatch):
    """Before: a rename refused (EPERM, as in a sticky folder) raised naming the temporary
    (`.t.csv.pwrykbac.tmp`), which `batch` said as the file it could not write. Now the output's own name; the
    temporary removed, the file there as it was."""
    out = tmp_path / "t.csv"
    out.write_text("kept\n")

    def refused(src, dst, **_):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(src), None, str(dst))
    monkeypatch.setattr(fileio.os, "replace", refused)
    with pytest.raises(PermissionError) as caught:
        fileio.write_private(out, "new\n")
    assert caught.value.filename == str(out)
    assert out.read_text() == "kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_a_store_of_another_users_is_refused_saying_whose(nobody, shared):
    """Before: `analyze r.wav --save --store q`, q a store of root's made every user's to write (mode 777 and
    666, as a shared folder), run as nobody: "cannot open q: Operation not permitted" (its mode, set owner-only, not
    this user's to set), nothing said of why. Now refused in one line saying whose the store is, before any work;
    the store as it was."""
    store = shared / "q"
    assert run_cli("analyze", shared / "r.wav", "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    for p in (store, store / "frames"):
        p.chmod(0o777)
    for p in [store / "sessions.db", *(store / "frames").iterdir()]:
        p.chmod(0o666)
    before = (store / "sessions.db").read_bytes()
    rc, err = nobody("analyze", "r.wav", "--save", "--store", "q", "--quiet", "--no-progress", cwd=shared)
    assert rc == 1, (rc, err)
    assert err == ("prosody: error: cannot open the session store q: it is another user's (root, uid 0), and a store "
                   "is its owner's alone (owner-only); give --store a folder of your own\n"), err
    assert (store / "sessions.db").read_bytes() == before
    assert (store.stat().st_mode & 0o777, store.stat().st_uid) == (0o777, 0)
