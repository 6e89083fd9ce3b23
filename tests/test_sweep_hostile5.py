"""Hostile sweep 5: what the fourth sweep left open, then surfaces no sweep had tried. Each defect with
what happened before and what happens now (the house way of the earlier sweeps: one clear line on
stderr, a non-zero exit, no traceback; every file under tmp_path).

1. A ``prosody live`` save killed mid-write (SIGKILL, a power cut) left its hidden owner-only temporary
   (``.NAME.json.RANDOM.tmp``, ``.NAME.frames.npz.RANDOM.tmp``: the session's words and per-frame pitch)
   beside the session file for good. The next live save in that folder now removes such left-overs: only
   names prosody writes, only regular owner-only files of this user, only ones unchanged for an hour.
2. ``prosody delete`` on a nearly full disk (room for the batch ledger's change, not for the store's)
   erased the session's rows from the batch ledger, then failed on the store and said 'the store is
   unchanged': the session stayed, its ledger rows were gone, and the delete run again once there was
   room no longer said that the batch's table still holds its row. The ledger's change is now committed
   only after the store's: a store that cannot be changed leaves the ledger as it was.
3. JSON printed for a person (``export`` to stdout, ``analyze --json -``, ``moments --json``) wrote the
   control characters JSON leaves raw (U+009B, an 8-bit CSI; the bidi overrides) from a file name
   straight to the terminal; they are now JSON escapes.
4. ``--help`` with a ``%`` in ``$HOME`` or ``$XDG_DATA_HOME`` was an internal error (argparse formats the
   ``--store`` help, which names the default folder, with ``%``); an escape sequence there reached the
   terminal raw.
5. Two ``prosody live`` sessions saving under one ``--output`` replaced each other's saves: the first
   session was lost while it said it was saved. A session's saves now replace only its own file; a
   ``--record`` file that was not there at set-up is created exclusively (it was truncated).
6. Two rescue copies (``prosody-unsaved-DATE-TIME.json``) of the same second: the second replaced the
   first. The name is now taken exclusively.
7. ``prosody enrol`` took FILE/--therapist beside --list or --delete, --list with --delete, and --speaker
   with a recording, and dropped what the action it chose did not use without a word.
8. ``live --input`` of a file of which nothing decodes saved an empty session ("analysis error", two
   lines); it is now refused before capture in ``analyze``'s one line.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import one_line_error, planted_batch, run_cli

REPO = Path(__file__).parents[1]


def _one_line(rc, err, code=1):
    one_line_error(rc, err, code)


# -- 1. a killed live save's temporaries -----------------------------------------------------------------------
KILLED_LIVE_SAVE = r"""
import os, sys, time
from prosody.live import runner
calls = [0]
real = os.fsync
def fsync(fd):
    calls[0] += 1
    if calls[0] == int(sys.argv[2]):
        print("inside", flush=True)
        time.sleep(60)
    real(fd)
os.fsync = fsync
# the frames temporary's fsync is the 1st; the JSON temporary's the 3rd (the 2nd syncs the folder)
runner.write_session(sys.argv[1], {"note": "Secret-Hkqzv"}, b"Frames-Wqpxj" * 100)
"""


def _kill_live_save(json_path: Path, nth_fsync: int) -> None:
    child = subprocess.Popen([sys.executable, "-c", KILLED_LIVE_SAVE, json_path, str(nth_fsync)],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout.readline().strip() == "inside"
    finally:
        child.kill()
        child.wait()


def test_a_live_save_killed_mid_write_leaves_no_temporary_after_the_next_save(tmp_path, short_wav):
    """Two saves SIGKILLed while writing (the frames temporary, then the JSON temporary) leave
    ``.a.frames.npz.RANDOM.tmp`` and ``.b.json.RANDOM.tmp``, owner-only, holding the session. The next
    ``prosody live`` saving in that folder removes them once they are an hour old, and nothing else:
    not a young one (a save in progress), nor files of the user named alike (not owner-only, a link,
    a folder, a recording's temporary, another length of random part)."""
    folder = tmp_path / "sessions"
    folder.mkdir()
    _kill_live_save(folder / "a.json", 1)
    _kill_live_save(folder / "b.json", 3)
    left = sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))
    assert [n.split(".")[1:3] for n in left] == [["a", "frames"], ["b", "json"]], left
    for n in left:
        p = folder / n
        assert p.stat().st_mode & 0o777 == 0o600 and p.stat().st_size > 0
    hour_ago = time.time() - 3700
    for n in left:
        os.utime(folder / n, (hour_ago, hour_ago))
    kept = {".c.json.abcdefgh.tmp": 0o600,            # young: a save in progress
            ".notes.json.abcdefgh.tmp": 0o644,        # the user's (not owner-only)
            ".d.json.abcdefg.tmp": 0o600,             # not tempfile's 8 characters
            ".e.wav.abcdefgh.tmp": 0o600}             # not a live session's file
    for n, mode in kept.items():
        (folder / n).write_text("user data")
        os.chmod(folder / n, mode)
        if not n.startswith(".c."):
            os.utime(folder / n, (hour_ago, hour_ago))
    target = tmp_path / "target"
    target.write_text("kept")
    os.symlink(target, folder / ".f.json.abcdefgh.tmp")
    (folder / ".g.json.abcdefgh.tmp").mkdir()
    rc, out, err = run_cli("live", "--input", short_wav, "--output", folder / "next.json", "--plain",
                           "--speed", "max", "--duration", "1")
    assert rc == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([*kept, ".f.json.abcdefgh.tmp", ".g.json.abcdefgh.tmp", "b.frames.npz",
                            "next.frames.npz", "next.json"]), names
    assert target.read_text() == "kept" and all((folder / n).read_text() == "user data" for n in kept)
    for p in folder.iterdir():  # no byte of the killed saves' session is left in the folder
        if p.is_file():
            assert b"Secret-Hkqzv" not in p.read_bytes()
    assert b"Frames-Wqpxj" in (folder / "b.frames.npz").read_bytes()  # b's frames file was in place: kept


def test_an_output_written_again_removes_the_temporaries_of_its_killed_writes(tmp_path, short_wav):
    """A killed ``analyze --json out.json`` (or ``export -o``, ``report -o``) leaves ``.out.json.RANDOM.tmp``;
    writing that output again removes such temporaries once an hour old, and nothing else: not a young one
    (a write in progress), not one that is not owner-only, not another output's, not a link."""
    out = tmp_path / "out.json"
    hour_ago = time.time() - 3700
    planted = {".out.json.abcdefgh.tmp": (0o600, True),     # a killed write's: removed
               ".out.json.ijklmnop.tmp": (0o600, False),    # young: kept
               ".out.json.qrstuvwx.tmp": (0o644, True),     # not owner-only: kept
               ".other.json.abcdefgh.tmp": (0o600, True)}   # another output's: kept
    for n, (mode, old) in planted.items():
        (tmp_path / n).write_text("Secret-Rqvtz")
        os.chmod(tmp_path / n, mode)
        if old:
            os.utime(tmp_path / n, (hour_ago, hour_ago))
    target = tmp_path / "target"
    target.write_text("kept")
    os.symlink(target, tmp_path / ".out.json.zyxwvuts.tmp")
    rc, _, err = run_cli("analyze", short_wav, "--json", out)
    assert rc == 0, err
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert left == sorted([n for n in planted if n != ".out.json.abcdefgh.tmp"] + [".out.json.zyxwvuts.tmp"])
    assert target.read_text() == "kept" and '"schema"' in out.read_text()


# -- 2. delete on a nearly full disk ---------------------------------------------------------------------------
def _ledger_done(store: Path) -> int:
    db = sqlite3.connect(str(store / "batch.sqlite"))
    try:
        return db.execute("SELECT count(*) FROM done").fetchone()[0]
    finally:
        db.close()


def _stored(store: Path) -> int:
    db = sqlite3.connect(str(store / "sessions.db"))
    try:
        return db.execute("SELECT count(*) FROM sessions").fetchone()[0]
    finally:
        db.close()


def test_delete_on_a_nearly_full_disk_leaves_the_ledger_as_the_store(tmp_path, short_wav):
    """A batch-analysed session on a 2 MB file system filled up to 0, 64 kB and 128 kB free: with 128 kB
    (room for the ledger's change, not the store's) the ledger's rows were erased, the session stayed,
    and the error said the store was unchanged. Now every failed delete leaves both as they were, and
    once there is room the same command deletes the session and still says the batch table holds its row."""
    from tests.test_hardening import _fill, _tmpfs
    store, _ = planted_batch(tmp_path, short_wav)
    with _tmpfs(tmp_path / "m", "2m") as m:
        for leave in (0, 64 << 10, 128 << 10):
            shutil.copytree(store, m / "st")
            _fill(m, leave)
            rc, out, err = run_cli("delete", "1", "--store", m / "st")
            _one_line(rc, err)
            assert "full" in err and out == "", err
            (m / "filler").unlink()
            assert (_stored(m / "st"), _ledger_done(m / "st")) == (1, 1), (leave, err)
            shutil.rmtree(m / "st")
        shutil.copytree(store, m / "st")
        _fill(m, 128 << 10)
        assert run_cli("delete", "1", "--store", m / "st")[0] == 1
        (m / "filler").unlink()
        rc, out, err = run_cli("delete", "1", "--store", m / "st")
        assert rc == 0 and out == "deleted session 1\n", err
        assert "per-session table" in err, err
        assert (_stored(m / "st"), _ledger_done(m / "st")) == (0, 0)


def test_delete_again_erases_the_ledger_rows_of_a_session_gone_from_the_store(tmp_path, short_wav):
    """The ledger's commit comes after the store's: a kill between them (or a disk filled between them)
    leaves the rows of a session the store no longer has. ``prosody delete ID`` then erases them and
    says so (and that the batch table holds its row); with nothing left it says there is no session."""
    from prosody.store.db import Store
    base = tmp_path / "odd?#name"  # a folder whose name a SQLite URI would misread
    base.mkdir()
    store, _ = planted_batch(base, short_wav)
    with Store(store) as st:
        st.delete(1)  # the store's half alone, as a kill after its commit leaves it
    assert (_stored(store), _ledger_done(store)) == (0, 1)
    rc, out, err = run_cli("delete", "#1", "--store", store)
    assert rc == 0 and out == "session 1 was deleted already; its rows in the batch ledger are erased now\n", err
    assert "per-session table" in err
    assert _ledger_done(store) == 0
    assert b"Realname-Quixote" not in (store / "batch.sqlite").read_bytes()
    rc, out, err = run_cli("delete", "1", "--store", store)
    _one_line(rc, err, 2)
    assert "no session '1'" in err, err


# -- 3. JSON on the terminal carries no control from a file name -------------------------------------------------
RAW_CONTROL = ("\x9b", "\x85", "\x7f", "\u2028", "\u202e", "\u2066")


def test_json_on_stdout_carries_no_raw_terminal_control_from_a_file_name(tmp_path, short_wav):
    """A recording named ``rec<U+009B>31m<U+202E>evil.wav`` (valid UTF-8: U+009B is the 8-bit CSI, U+202E
    reverses what follows) is analysed and saved; every listing shows the name as ``\\x9b``, ``\\u202e``,
    but ``export 1`` (JSON on stdout), ``analyze --json -`` and ``moments --json`` wrote the characters
    raw to the terminal (JSON escapes only C0). They are now written as JSON escapes, which read back
    as the same name."""
    from prosody.typed_text import json_text
    name = "rec\x9b31m\u202eevil\u2028.wav"
    wav = tmp_path / name
    wav.write_bytes(short_wav.read_bytes())
    store = tmp_path / "st"
    rc, out, err = run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress")
    assert rc == 0, err
    for argv in (("export", "1", "--store", store), ("analyze", wav, "--json", "-", "--quiet", "--no-progress"),
                 ("moments", "1", "--store", store, "--json")):
        rc, out, err = run_cli(*argv)
        assert rc == 0, err
        assert not [c for c in RAW_CONTROL if c in out + err], argv
    rc, out, err = run_cli("export", "1", "--store", store)
    assert "rec\\u009b31m\\u202eevil\\u2028.wav" in out
    import json
    assert json.loads(out)["sources"] == [str(wav)]  # the same name read back
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "e.json")[0] == 0
    rc, out, err = run_cli("import", tmp_path / "e.json", "--store", tmp_path / "st2")
    assert rc == 0, err
    from prosody.store.db import Store
    with Store(tmp_path / "st2") as st:
        assert st.get(1).doc["sources"] == [str(wav)]
    planted = {"a": "x\x9b\x85\x7f\u2028\u2029\u202a\u202e\u2066\u2069y", "b": ["\t\n\x1b", "Zoë"]}
    text = json_text(planted, indent=2)
    assert json.loads(text) == planted and "\n  " in text  # the layout's line breaks stay
    assert not [c for c in RAW_CONTROL + ("\x1b",) if c in text] and "Zoë" in text


# -- 4. --help under a home or data folder with % or a terminal control ------------------------------------------
@pytest.mark.parametrize("var,value", [("HOME", "/home/100%(x)s"), ("HOME", "/home/100%d"),
                                       ("XDG_DATA_HOME", "/data/x\x1b]52;c;aGk=\x07\x9b")])
def test_help_shows_the_default_store_from_the_environment_as_data(monkeypatch, capsys, var, value):
    """``--store``'s help names the folder used without it, made from ``$HOME`` or ``$XDG_DATA_HOME``:
    a ``%`` there was an internal error (argparse formats help texts with ``%``: ``KeyError: 'x'``), and
    an escape sequence reached the terminal raw. Now the folder is shown as typed, controls made visible."""
    from prosody_cli.main import main
    monkeypatch.delenv("PROSODY_STORE", raising=False)
    if var == "HOME":
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv(var, value)
    with pytest.raises(SystemExit) as exit_:
        main(["sessions", "--help"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0 and err == "", err
    shown = " ".join(out.split())  # argparse wraps the help text
    want = value + "/.local/share/prosody" if var == "HOME" else "/data/x\\x1b]52;c;aGk=\\x07\\x9b/prosody"
    assert want in shown.replace(" ", ""), shown
    assert "\x1b" not in out and "\x9b" not in out


# -- 5. two live sessions saving under one name --------------------------------------------------------------------
def test_a_live_save_never_replaces_another_live_sessions_file(tmp_path):
    """Two ``prosody live`` started alike with one ``--output`` (the same default name in the same
    second, or one name typed in two terminals) both pass the output check, since neither has saved
    yet; each save replaced the other's, and the session saved first was lost while it said ``saved
    same.json``. Now a session's saves replace only the file it found there or wrote itself
    (``fileio.write_claimed``): the name is taken exclusively, and the other session's saves go to the
    rescue folder, with SAVE FAILED and a closing error naming where it is."""
    from prosody.live.runner import write_session
    path = tmp_path / "same.json"
    a, b = {}, {}  # the claims of two sessions started when no file was there
    write_session(path, {"who": "a"}, b"frames-a", claims=a)
    with pytest.raises(FileExistsError) as raised:
        write_session(path, {"who": "b"}, b"frames-b", claims=b)
    assert raised.value.filename == str(tmp_path / "same.frames.npz")
    assert '"who": "a"' in path.read_text() and (tmp_path / "same.frames.npz").read_bytes() == b"frames-a"
    write_session(path, {"who": "a2"}, b"frames-a2", claims=a)  # a's own file: replaced as before
    assert '"who": "a2"' in path.read_text()
    path.unlink()
    write_session(path, {"who": "a3"}, b"frames-a3", claims=a)  # removed meanwhile: written again
    assert '"who": "a3"' in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.frames.npz", "same.json"]  # no temporary left
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in tmp_path.iterdir())

    def no_hard_links(src, dst, *args, **kwargs):  # a FAT memory stick: the name is taken by O_EXCL instead
        raise PermissionError(1, "Operation not permitted", src, None, dst)
    fat = tmp_path / "fat"
    fat.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "link", no_hard_links)
        a, b = {}, {}
        write_session(fat / "s.json", {"who": "a"}, b"frames-a", claims=a)
        with pytest.raises(FileExistsError):
            write_session(fat / "s.json", {"who": "b"}, b"frames-b", claims=b)
        write_session(fat / "s.json", {"who": "a2"}, b"frames-a2", claims=a)
    assert '"who": "a2"' in (fat / "s.json").read_text() and (fat / "s.frames.npz").read_bytes() == b"frames-a2"
    assert sorted(p.name for p in fat.iterdir()) == ["s.frames.npz", "s.json"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in fat.iterdir())

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "PYTHONPATH": str(REPO)}
    runs = [subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--input",
                              str(REPO / "fixtures" / "dialogue.flac"), "--output", "both.json", "--plain",
                              "--duration", str(seconds), "--autosave-s", "1"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seconds in (1, 2)]
    results = [p.communicate(timeout=60) + (p.returncode,) for p in runs]
    rescue = tmp_path / "data" / "prosody-rescue" / "both.json"
    import json
    kept = {json.loads(f.read_text())["duration_s"] for f in (tmp_path / "both.json", rescue)}
    assert kept == {1.0, 2.0}, results  # both sessions, each whole
    codes = sorted(rc for _, _, rc in results)
    assert codes == [0, 1], results
    loser = next(err for _, err, rc in results if rc == 1)
    assert f"the session is saved in {rescue} instead" in loser, loser


def test_two_rescue_copies_of_one_second_are_both_kept(tmp_path, monkeypatch):
    """``analyze --save`` keeps a session the store could not take as ``prosody-unsaved-DATE-TIME.json``;
    the name was checked free, then the file replaced whatever was there: two prosody failing in the
    same second (both saw the name free) left one copy. The name is now taken exclusively."""
    from prosody import fileio
    monkeypatch.setattr(fileio, "rescue_folders", lambda: [tmp_path / "r"])
    monkeypatch.setattr(os.path, "lexists", lambda p: False)  # both saw the name free (the check is gone now)
    first, _ = fileio.write_rescue("prosody-unsaved-20261204-101010.json", "session one", first=None)
    second, _ = fileio.write_rescue("prosody-unsaved-20261204-101010.json", "session two", first=None)
    assert first != second and first.read_text() == "session one" and second.read_text() == "session two"
    assert second.name.startswith(f"prosody-unsaved-20261204-101010-{os.getpid()}-") and second.suffix == ".json"
    target = tmp_path / "elsewhere"
    target.write_text("kept")
    os.symlink(target, tmp_path / "r" / "prosody-unsaved-x.json")  # a link of that name: not written through
    third, _ = fileio.write_rescue("prosody-unsaved-x.json", "session three", first=None)
    assert third.read_text() == "session three" and target.read_text() == "kept"


# -- 7. enrol: one action at a time ----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,said", [
    (("REC", "--therapist", "T", "--list"), "--list takes no FILE or --therapist, which enrol a voice"),
    (("REC", "--therapist", "T", "--delete", "ann"), "--delete takes no FILE or --therapist, which enrol a voice"),
    (("--list", "--delete", "ann"), "--list and --delete are two commands: give one"),
    (("--delete", "ann", "--from-session", "1"), "--delete takes no --from-session"),
    (("REC", "--therapist", "T", "--speaker", "client"), "--speaker chooses a voice of a saved session"),
])
def test_enrol_refuses_what_the_chosen_action_would_drop(tmp_path, short_wav, argv, said):
    """``enrol ME.wav --therapist T --list`` listed the profiles and enrolled nobody, ``--list --delete
    ann`` listed and deleted nothing, ``--delete ann`` with a recording deleted and ignored it, and
    ``--speaker`` with a recording was dropped: each without a word. Each is now one line (exit 2),
    and the stored profile is as it was."""
    from prosody.store.db import Store
    store = tmp_path / "st"
    with Store(store) as st:
        st.save_profile("ann", {"planted": 1}, source="test")
    rc, out, err = run_cli("enrol", *[short_wav if a == "REC" else a for a in argv], "--store", store)
    _one_line(rc, err, 2)
    assert said in err and out == "", err
    with Store(store) as st:
        assert st.profile("ann")["planted"] == 1 and [p[0] for p in st.profiles()] == ["ann"]
    rc, out, err = run_cli("enrol", "--delete", "", "--store", store)  # an empty name is a name, not "no --delete"
    _one_line(rc, err, 2)
    assert "no voice profile named ''" in err, err


def test_a_live_recording_never_truncates_one_another_session_started_meanwhile(tmp_path, short_wav, monkeypatch):
    """``--record rec.wav`` is checked free before the devices open, then opened with truncation: a
    recording another live session began under that name in between (two sessions started alike) was
    cut to nothing. A recording that was not there when the session was set up is now created
    exclusively: the late session stops in one line and the other's audio is kept."""
    from prosody.live import runner as runner_mod
    rec = tmp_path / "rec.wav"
    real_start = runner_mod.LiveRunner.start

    def start_after_another(self):
        rec.write_bytes(b"RIFF another session's audio")  # the other session's recorder took the name
        return real_start(self)

    monkeypatch.setattr(runner_mod.LiveRunner, "start", start_after_another)
    rc, out, err = run_cli("live", "--input", short_wav, "--output", tmp_path / "s.json", "--record", rec,
                           "--plain", "--speed", "max", "--duration", "1")
    _one_line(rc, err)
    assert "another program made a file of that name meanwhile" in err and str(rec) in err, err  # was "File exists"
    assert rec.read_bytes() == b"RIFF another session's audio"
    monkeypatch.setattr(runner_mod.LiveRunner, "start", real_start)  # a recording there before: --overwrite as ever
    rc, out, err = run_cli("live", "--input", short_wav, "--output", tmp_path / "t.json", "--record", rec,
                           "--overwrite", "--plain", "--speed", "max", "--duration", "1")
    assert rc == 0, err
    assert rec.read_bytes()[:4] == b"RIFF" and rec.stat().st_size > 1000


# -- 8. live replay of a file of which nothing decodes -----------------------------------------------------------
def test_live_replay_of_a_file_of_which_nothing_decodes_is_one_line(tmp_path):
    """The first 100 bytes of a FLAC (its header, no whole frame): ``analyze`` refuses it in one line;
    ``live --input`` ran, saved an empty session (0.0 s) and said "analysis error" in two lines. The
    replay's first block is now decoded before capture starts: the same one line, exit 2, no file."""
    cut = tmp_path / "cut.flac"
    cut.write_bytes((REPO / "fixtures" / "dialogue.flac").read_bytes()[:100])
    rc, out, err = run_cli("analyze", cut, "--quiet", "--no-progress")
    _one_line(rc, err, 2)
    said = err
    rc, out, err = run_cli("live", "--input", cut, "--output", tmp_path / "s.json", "--plain", "--speed", "max")
    _one_line(rc, err, 2)
    assert err == said and out == "", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.flac"]
