"""Issue 10: health data is never lost, never overwritten, never leaked.

One test (or a small family) per case of the issue: capture into an unwritable
folder, outputs that would destroy inputs, untrusted imports, delete that must
erase, batch manifests/globs/SIGTERM, saving into a broken or full store,
terminal escapes, and the smaller ones (FIFO input, /dev/null, negative
session numbers, Unicode filters, folder modes, read-only stores)."""
import contextlib
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from prosody.errors import InputError
from prosody.formats.bundle import Bookmark, SessionMeta
from prosody.live import runner as live_runner
from prosody.live.runner import LiveRunner
from prosody.live.capture import ReplaySource
from prosody.engine.sources import Layout
from prosody.store.db import Store
from prosody_cli.liveview import plain_line
from tests.conftest import assert_group_gone, planted_batch, run_cli

REPO = Path(__file__).resolve().parents[1]
DIALOGUE = REPO / "fixtures" / "dialogue.flac"
STEREO = Layout(("therapist", "client"), ((0, 0), (0, 1)))
SR = 16000


_cli = run_cli


def _one_line(rc, err, code=None):
    assert rc != 0 and (code is None or rc == code), (rc, err)
    assert err.startswith("prosody: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err, err


@pytest.fixture(scope="module")
def export_json(analysed, tmp_path_factory):
    """A valid exported session JSON (as ``prosody export``) as a dict."""
    d = tmp_path_factory.mktemp("exp")
    with Store(d / "st") as st:
        sid = st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7", session_number=3,
                                                         recorded_at="2024-05-01T10:00:00", tags=("intake",)),
                              bookmarks=[Bookmark(1.5, "sigh")])
        st.add_feedback(sid, rating=4)
    assert _cli("export", sid, "--store", d / "st", "-o", d / "s.json")[0] == 0
    return json.loads((d / "s.json").read_text())


@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}): needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _remount_ro(path: Path) -> None:
    r = subprocess.run(["mount", "-o", "remount,ro", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount read-only: {r.stderr.strip()}")


def _tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- 1. live capture into an unwritable folder ------------------------------------------------------------------
def test_live_refuses_an_unwritable_output_folder_before_capture(tmp_path):
    with _tmpfs(tmp_path / "ro", "64k") as ro:
        _remount_ro(ro)
        src = ReplaySource([str(DIALOGUE)], STEREO, speed=None)
        with pytest.raises(InputError, match="not writable"):
            LiveRunner(src, output_path=ro / "s.json")
        with pytest.raises(InputError, match="--record"):
            LiveRunner(src, output_path=tmp_path / "s.json", record_path=ro / "r.wav")
        rc, out, err = _cli("live", "--input", DIALOGUE, "--speed", "max", "--plain", "--output", ro / "s.json")
        _one_line(rc, err, 2)
        assert "not writable" in err and out == ""


def _failing_for(target: Path):
    real = live_runner.write_session

    def write_session(json_path, doc, arrays, **kwargs):
        if Path(json_path) == target:
            raise PermissionError(13, "Permission denied", str(json_path))
        return real(json_path, doc, arrays, **kwargs)
    return write_session


def test_failed_saves_are_loud_and_go_to_a_fallback(tmp_path, monkeypatch, short_wav):
    """The folder turns unwritable after the start: every autosave and the final
    save fail there. The view and plain lines say SAVE FAILED (never 'saved'),
    the session lands in the fallback folder, and the command says where."""
    out = tmp_path / "s.json"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(live_runner, "write_session", _failing_for(out))
    r = LiveRunner(ReplaySource([str(short_wav)], STEREO, speed=4.0), output_path=out, autosave_s=0.5)
    r.start()
    seen_failed = False
    while not r.done:
        st = r.snapshot()
        if st.save_error:
            seen_failed = True
            assert "SAVE FAILED" in plain_line(st) and str(out) in st.save_error
        time.sleep(0.1)
    res = r.wait()
    rescue = tmp_path / "data" / "prosody-rescue" / "s.json"
    assert seen_failed
    assert not out.exists() and res.output_path == str(rescue) and res.wanted_path == str(out)
    doc = json.loads(rescue.read_text())
    assert doc["live"]["complete"] and doc["duration_s"] == pytest.approx(8.0, abs=0.02)
    assert (rescue.parent / doc["live"]["frames_file"]).is_file()
    assert stat.S_IMODE(rescue.stat().st_mode) == 0o600

    # the command: stdout names the file that exists; stderr says the asked-for one failed; exit 1
    monkeypatch.setattr(live_runner, "write_session", _failing_for(tmp_path / "t.json"))
    rc, so, se = _cli("live", "--input", short_wav, "--speed", "max", "--plain", "--output", tmp_path / "t.json")
    assert rc == 1 and f"could not write {tmp_path / 't.json'}" in se
    saved = [ln for ln in so.splitlines() if ln.startswith("saved ")]
    assert len(saved) == 1 and Path(saved[0].split()[1]).is_file() and not (tmp_path / "t.json").exists()


def test_no_saved_line_when_nothing_was_saved(tmp_path, monkeypatch, short_wav):
    def nowhere(json_path, doc, arrays, **kwargs):
        raise OSError(28, "No space left on device", str(json_path))
    monkeypatch.setattr(live_runner, "write_session", nowhere)
    monkeypatch.setattr(live_runner, "rescue_folders", lambda: [tmp_path / "x"])
    rc, so, se = _cli("live", "--input", short_wav, "--speed", "max", "--plain", "--output", tmp_path / "s.json")
    assert rc == 1 and "saved " not in so and "SAVE FAILED" in se and "the disk holding it is full" in se


def test_a_defect_in_the_final_save_ends_live_with_one_line_not_a_hang(tmp_path, monkeypatch, short_wav):
    """The final save's own code raising (session 39: a name left unbound after a failed save) killed the
    analysis thread before it said it was done, and `prosody live` waited for ever (the test above hung). The
    waiter is now told: one line saying the save failed, exit 1, no "saved" claimed."""
    def broken(self):
        raise RuntimeError("planted defect")
    monkeypatch.setattr(LiveRunner, "_record_summary", broken)
    rc, so, se = _cli("live", "--input", short_wav, "--speed", "max", "--plain", "--output", tmp_path / "s.json")
    assert rc == 1 and "saved " not in so and "saving failed: internal error (RuntimeError: planted defect)" in se, (so, se)
    assert se.count("\n") == 1, se


def test_live_fallback_folders_are_owner_only_whatever_the_umask(tmp_path, monkeypatch, short_wav):
    """A live save that falls back to $XDG_DATA_HOME/prosody-rescue creates that folder and
    every missing one above it 0700, under umask 000 too (as `analyze --save`'s rescue
    copy does). Before 2026-12-03 the live runner used mkdir(parents=True): the folders
    above prosody-rescue (e.g. a new ~/.local/share) were 0777 under umask 000."""
    out = tmp_path / "s.json"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data" / "share"))
    monkeypatch.setattr(live_runner, "write_session", _failing_for(out))
    old = os.umask(0)
    try:
        r = LiveRunner(ReplaySource([str(short_wav)], STEREO, speed=None), output_path=out)
        r.start()
        res = r.wait()
    finally:
        os.umask(old)
    rescue = tmp_path / "data" / "share" / "prosody-rescue" / "s.json"
    assert res.output_path == str(rescue) and rescue.is_file()
    for folder in (tmp_path / "data", tmp_path / "data" / "share", rescue.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for f in (rescue, rescue.parent / json.loads(rescue.read_text())["live"]["frames_file"]):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


# -- 2. outputs never destroy inputs --------------------------------------------------------------------------
@pytest.fixture
def victim(tmp_path, short_wav):
    p = tmp_path / "rec.wav"
    p.write_bytes(short_wav.read_bytes())
    return p


def _output_cases(d: Path, rec: Path):
    (d / "link.wav").symlink_to(rec)
    (d / "old.wav").write_bytes(b"RIFF-old-recording")
    os.mkfifo(d / "fifo.json")
    os.link(rec, d / "hard.wav")
    return {
        "record over input": (["live", "--input", rec, "--record", rec, "--speed", "max", "--plain",
                               "--output", d / "o.json"], "input"),
        "output over input": (["live", "--input", rec, "--output", rec, "--speed", "max", "--plain"], "input"),
        "record through link": (["live", "--input", DIALOGUE, "--record", d / "link.wav", "--speed", "max",
                                 "--plain", "--output", d / "o.json"], "symbolic link"),
        "record over recording": (["live", "--input", DIALOGUE, "--record", d / "old.wav", "--speed", "max",
                                   "--plain", "--output", d / "o.json"], "--overwrite"),
        "baseline over input": (["analyze", rec, "--save-baseline", rec], "input"),
        "json over hard link of input": (["analyze", rec, "--json", d / "hard.wav"], "input"),
        "json and frames one file": (["analyze", rec, "--json", d / "x.out", "--frames", d / "x.out"],
                                     "same file"),
        "json into fifo": (["analyze", rec, "--json", d / "fifo.json"], "FIFO"),
        "json over device": (["analyze", rec, "--json", "/dev/null"], "character device"),
    }


def test_outputs_never_destroy_inputs(tmp_path, victim):
    before = victim.read_bytes()
    old_recording = None
    for name, (argv, words) in _output_cases(tmp_path, victim).items():
        t0 = time.perf_counter()
        rc, out, err = _cli(*argv)
        _one_line(rc, err, 2)
        assert words in err, (name, err)
        assert time.perf_counter() - t0 < 5.0, name  # refused before any work
        assert victim.read_bytes() == before, name
        old_recording = (tmp_path / "old.wav").read_bytes()
    assert old_recording == b"RIFF-old-recording"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo.json").st_mode)
    assert not (tmp_path / "o.json").exists()
    # with --overwrite an existing recording may be replaced (and the session saved)
    rc, _, err = _cli("live", "--input", victim, "--record", tmp_path / "old.wav", "--overwrite", "--speed", "max",
                      "--plain", "--output", tmp_path / "o.json")
    assert rc == 0, err
    assert sf.info(tmp_path / "old.wav").duration == pytest.approx(8.0, abs=0.05)
    # stdout stays fine
    rc, out, err = _cli("analyze", victim, "--json", "-", "--quiet")
    assert rc == 0 and json.loads(out)["schema"].startswith("prosody.session/")


def test_store_outputs_never_replace_store_files(tmp_path, analysed, monkeypatch):
    with Store(tmp_path / "st") as st:
        st.save_session(analysed, meta=SessionMeta(therapist="ann"))
    db = tmp_path / "st" / "sessions.db"
    before = db.read_bytes()
    frames = next((tmp_path / "st" / "frames").iterdir())
    frames_before = frames.read_bytes()
    for argv in (["export", "1", "-o", db], ["report", "1", "-o", db], ["compare", "1", "-o", db],
                 ["trend", "--therapist", "ann", "-o", db]):
        rc, _, err = _cli(*argv, "--store", tmp_path / "st")
        _one_line(rc, err, 2)
        assert "session store" in err
    # every command that writes: nothing lands anywhere in the store (its database, ledger, frames files),
    # by any spelling of the path; the store given by --store or by $PROSODY_STORE
    st = tmp_path / "st"
    for argv in (["export", "1", "-o", frames], ["report", "1", "-o", st / "frames" / "new.html"],
                 ["analyze", DIALOGUE, "--quiet", "--save", "--json", db],
                 ["analyze", DIALOGUE, "--quiet", "--rttm", st / "batch.sqlite"],
                 ["analyze", DIALOGUE, "--quiet", "--save-baseline", st / "frames" / ".." / "sessions.db"],
                 ["analyze", DIALOGUE, "--quiet", "--json", st / "frames" / frames.name],
                 ["live", "--input", DIALOGUE, "--speed", "max", "--plain", "--duration", "2", "--output", db],
                 ["batch", DIALOGUE, "--table", st / "table.csv", "--no-parquet"]):
        rc, _, err = _cli(*argv, "--store", st)
        _one_line(rc, err, 2)
        assert "session store" in err, (argv, err)
    monkeypatch.setenv("PROSODY_STORE", str(st))
    rc, _, err = _cli("analyze", DIALOGUE, "--quiet", "--json", db)
    _one_line(rc, err, 2)
    assert db.read_bytes() == before and frames.read_bytes() == frames_before
    assert sorted(p.name for p in st.iterdir()) == ["frames", "sessions.db"]


# -- 3. untrusted imports -------------------------------------------------------------------------------------
def _mutations():
    def deep(d):
        node = {}
        d["measures"]["x"] = node
        for _ in range(3000):
            node["y"] = {}
            node = node["y"]
    return {
        "uid with path": (lambda d: d["prosody_store"].update(uid="../../x"), "prosody_store.uid"),
        "session number text": (lambda d: d["prosody_store"].update(session_number="seven"), "session_number"),
        "negative session number": (lambda d: d["prosody_store"].update(session_number=-1), "session_number"),
        "speaker order numbers": (lambda d: d.update(speaker_order=[1, 2]), "speaker_order"),
        "future schema": (lambda d: d.update(schema="prosody.session/99"), "newer"),
        "future export format": (lambda d: d["prosody_store"].update(format="prosody.store-export/9"), "format"),
        "nan duration": (lambda d: d.update(duration_s=float("nan")), "duration_s"),
        "infinite segment": (lambda d: d["segments"][0].update(end_s=float("inf")), "segments[0].end_s"),
        "negative time": (lambda d: d["segments"][0].update(start_s=-5.0), "segments[0].start_s"),
        "huge time": (lambda d: d["turns"][0].update(end_s=1e300), "turns[0].end_s"),
        "wrong type": (lambda d: d.update(segments="many"), "segments"),
        "speaker number text": (lambda d: d["speakers"]["client"].update(n_turns="x"), "speakers.client.n_turns"),
        "nan in measures": (lambda d: d["measures"].update(x=[1.0, float("-inf")]), "measures.x[1]"),
        "deep nesting": (deep, "nest"),
        "bookmark nan": (lambda d: d.update(bookmarks=[{"time_s": float("nan"), "note": ""}]), "bookmarks[0].time_s"),
        "feedback out of range": (lambda d: d["prosody_store"].update(feedback=[{"kind": "srs", "items": [1, 2, 3, 11],
                                                                                "given_at": "2024-01-01"}]),
                                  "feedback[0].items[3]"),
        "escape in therapist": (lambda d: d["prosody_store"].update(therapist="a\x1b[2Jb"), "therapist"),
        "frames file with path": (lambda d: d["prosody_store"].update(frames_file="../../etc/x.npz"), "frames_file"),
        "tags not a list": (lambda d: d["prosody_store"].update(tags=7), "tags"),
    }


def test_untrusted_imports_are_refused_naming_the_field(tmp_path, export_json):
    store = tmp_path / "st"
    assert _cli("import", _write_json(tmp_path / "ok.json", export_json), "--store", store)[0] == 0
    before = _tree_bytes(tmp_path)
    for name, (mutate, field) in _mutations().items():
        d = json.loads(json.dumps(export_json))
        mutate(d)
        p = tmp_path / "bad" / f"{name.replace(' ', '_')}.json"
        p.parent.mkdir(exist_ok=True)
        try:
            text = json.dumps(d)
        except RecursionError:  # the encoder cannot write it either: build the text by hand
            text = json.dumps(export_json)[:-1] + ', "deep": ' + "[" * 100000 + "]" * 100000 + "}"
        p.write_text(text)
        rc, _, err = _cli("import", p, "--store", store)
        _one_line(rc, err)
        assert field in err, (name, err)
        after = {k: v for k, v in _tree_bytes(tmp_path).items() if not k.startswith("bad/")}
        assert after == before, name  # the store unchanged, nothing written anywhere else
    with Store(store) as st:
        assert len(st.list()) == 1
        assert all(p.parent == st.frames_dir for p in st.frames_dir.iterdir())


def _write_json(p: Path, d) -> Path:
    p.write_text(json.dumps(d))
    return p


def test_batch_uids_and_store_uids_are_plain_tokens(tmp_path, analysed):
    with Store(tmp_path / "st") as st:
        for bad in ("../../x", "ABCDEF12", "abc", "a/b/c/d1"):
            with pytest.raises(Exception, match="uid"):
                st.save(analysed.to_json_dict(), analysed.frames, uid=bad)
        assert st.list() == [] and list(st.frames_dir.iterdir()) == []


# -- 4. delete erases every trace -----------------------------------------------------------------------------
def test_delete_erases_every_trace_from_every_file(tmp_path, short_wav):
    store, f0 = planted_batch(tmp_path, short_wav)
    needles = [b"Therapist-Zyxwv", b"Pseudo-Qwvut", b"Notes-Plmkj", b"Realname-Quixote",
               repr(f0).encode(), struct.pack(">d", f0)]
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(n in p.read_bytes() for p in files for n in needles[:4])  # it was there
    rc, out, err = _cli("delete", "1", "--store", store)
    assert rc == 0, err
    for p in (q for q in store.rglob("*") if q.is_file()):
        data = p.read_bytes()
        for n in needles:
            assert n not in data, (p.name, n)
    assert list((store / "frames").iterdir()) == []


# -- 5. batch -------------------------------------------------------------------------------------------------
def test_manifest_rows_must_have_the_header_width(tmp_path, short_wav):
    from prosody.batch.runner import read_manifest
    (tmp_path / "a.flac").write_bytes(b"")
    m = tmp_path / "m.csv"
    m.write_text("file,notes,client\nb.flac,fine,C1\na.flac,arrived late, seemed tired,C7\n")
    with pytest.raises(InputError, match=r"m.csv line 3: 4 cells, the header has 3"):
        read_manifest(m)
    m.write_text("file,notes,client\na.flac,only notes\n")
    with pytest.raises(InputError, match=r"line 2: 2 cells, the header has 3"):
        read_manifest(m)
    m.write_text('file,notes,client\na.flac,"arrived late, seemed tired",C7\n')
    (job,) = read_manifest(m)
    assert job.meta.client == "C7" and job.meta.notes == "arrived late, seemed tired"


def test_batch_table_never_overwrites_the_manifest(tmp_path, short_wav):
    (tmp_path / "a.wav").write_bytes(short_wav.read_bytes())
    m = tmp_path / "m.csv"
    m.write_text("file,client\na.wav,C7\n")
    before = m.read_bytes()
    rc, _, err = _cli("batch", m, "--table", tmp_path / "m", "--store", tmp_path / "st", "--no-progress")
    _one_line(rc, err, 2)
    assert "--table" in err and m.read_bytes() == before and not (tmp_path / "st").exists()


def test_glob_over_branching_symlink_loops_terminates(tmp_path):
    from prosody.batch.runner import discover
    root = tmp_path / "arch"
    (root / "x" / "y").mkdir(parents=True)
    (root / "x" / "y" / "s.wav").write_bytes(b"RIFF")
    (root / "top.wav").write_bytes(b"RIFF")
    for d, names in ((root, ("l1", "l2", "l3")), (root / "x", ("back1", "back2")), (root / "x" / "y", ("up",))):
        for n in names:
            (d / n).symlink_to(root, target_is_directory=True)
    t0 = time.perf_counter()
    jobs = discover([str(root / "**" / "*.wav")])
    assert time.perf_counter() - t0 < 5.0
    real = sorted({os.path.realpath(j.paths[0]) for j in jobs})
    assert real == sorted([str(root / "top.wav"), str(root / "x" / "y" / "s.wav")])


@pytest.mark.parametrize("sig, to_group, when", [
    (signal.SIGTERM, False, "busy"),      # a service manager stops the parent while the workers analyse
    (signal.SIGTERM, False, "starting"),  # ... while the workers are still being started
    (signal.SIGINT, True, "busy"),        # Ctrl-C in a terminal reaches the whole process group
], ids=["sigterm-busy", "sigterm-starting", "ctrl-c-group"])
def test_a_stopped_batch_exits_says_how_to_resume_and_leaves_no_worker(tmp_path, fixture_dialogue, sig, to_group,
                                                                         when):
    audio, _ = fixture_dialogue
    src = tmp_path / "in"
    src.mkdir()
    long = np.concatenate([audio, audio])  # 80 s each: the batch is still busy when it is stopped
    for i in range(8):
        sf.write(src / f"s{i}.wav", np.roll(long, i * SR, axis=0), SR, subtype="PCM_16")
    cmd = [sys.executable, "-m", "prosody_cli.main", "batch", str(src), "--jobs", "2", "--store",
           str(tmp_path / "st"), "--table", str(tmp_path / "t"), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        wanted = 3 if when == "busy" else 1
        while time.monotonic() < deadline and proc.poll() is None:  # wait for the worker processes
            kids = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
            if len(kids) - 1 >= wanted:
                break
            time.sleep(0.02)
        if when == "busy":
            time.sleep(1.0)
        assert proc.poll() is None, "the batch finished before it could be stopped"
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    what = "stopped by SIGTERM" if sig == signal.SIGTERM else "interrupted"
    assert what in err and "run the same command again" in err and "finished" in err, err
    assert "Traceback" not in err, err
    assert_group_gone(proc.pid)  # every worker is gone


_CUT_RESULT_SCRIPT = """
import gc, os, struct, sys, time
from multiprocessing.queues import SimpleQueue
from prosody.batch.runner import _LocalBackend

def send_half_a_result(marker):
    # what a worker killed while it sends a big result leaves in the pipe: a length and a start
    queue = next(o for o in gc.get_objects() if isinstance(o, SimpleQueue))
    os.write(queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 1000)
    open(marker, "w").close()
    time.sleep(600)

if __name__ == "__main__":
    marker = sys.argv[1]
    backend = _LocalBackend(1)
    backend.pool.submit(send_half_a_result, marker)
    deadline = time.monotonic() + 60
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the pool's thread is now waiting for the rest of the message
    backend.close(cancel=True)
    print("closed", flush=True)
"""


def test_a_stopped_batch_ends_when_a_worker_is_cut_off_inside_a_result(tmp_path):
    """The CI run of stop 48 hung here: SIGTERM reached a worker while it sent its result, the
    pool's thread waited for the rest of the message on a pipe whose write end the parent holds
    too, and the interpreter waited for that thread at exit (the line 'the workers are stopped'
    was said, the process never ended). Planted: a worker that sends a message's length and a
    part of it, then is stopped."""
    script = tmp_path / "cut.py"
    script.write_text(_CUT_RESULT_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO)] + sys.path))
    try:
        proc = subprocess.run([sys.executable, str(script), str(tmp_path / "started")], capture_output=True,
                              text=True, timeout=40, env=env, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("the stopped pool never let the process end (its thread waits on a cut-off result)")
    assert (tmp_path / "started").exists(), proc.stderr
    assert proc.returncode == 0 and "closed" in proc.stdout, proc.stderr


# -- 6. analyze --save into a corrupt or full store -------------------------------------------------------------
def test_corrupt_store_is_refused_before_analysing(tmp_path, victim):
    store = tmp_path / "st"
    store.mkdir()
    (store / "sessions.db").write_bytes(b"this is not sqlite" * 100)
    rc, out, err = _cli("analyze", victim, "--save", "--store", store)
    _one_line(rc, err)
    assert "not a readable prosody database" in err and out == ""


def _fill(folder: Path, leave_bytes: int) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # fill the file system up, then give back a little
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - leave_bytes))
    return filler


def test_full_disk_before_analysing_reads_as_disk_full(tmp_path, victim):
    with _tmpfs(tmp_path / "small", "1m") as small:
        Store(small / "st").close()  # an empty store on the small disk
        _fill(small, 8192)
        rc, out, err = _cli("analyze", victim, "--save", "--store", small / "st")
        _one_line(rc, err, 1)
        assert "is full" in err and "free" in err and str(small / "st") in err, err
        assert "move it aside" not in err and out == ""


def test_disk_full_during_analysis_keeps_the_session(tmp_path, victim, monkeypatch):
    """The disk fills up while the recording is analysed: the save fails as
    'disk full' (path, free space), the summary is still shown and the session
    kept (owner-only) where there is room, importable later."""
    import prosody.session
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with _tmpfs(tmp_path / "small", "1m") as small:
        Store(small / "st").close()
        real = prosody.session.analyze_blocks
        fillers = []

        def analyse_while_the_disk_fills(*a, **k):
            result = real(*a, **k)
            fillers.append(_fill(small, 4096))
            return result
        monkeypatch.setattr(prosody.session, "analyze_blocks", analyse_while_the_disk_fills)
        rc, out, err = _cli("analyze", victim, "--save", "--store", small / "st", "--therapist", "ann")
        assert rc == 1 and fillers, err
        assert "full" in err and str(small / "st") in err and "free" in err, err
        assert "internal error" not in err and "move it aside" not in err
        assert "Time speaking" in out  # the summary was printed
        kept = Path(err.split("kept in ")[1].split(": `prosody import")[0])
        assert kept.with_name(kept.stem + ".frames.npz").is_file()
        assert kept.is_file() and stat.S_IMODE(kept.stat().st_mode) == 0o600
        fillers[0].unlink()
        with Store(small / "st") as st:
            assert st.list() == [] and st.integrity_ok()
        rc, out, err = _cli("import", kept, "--store", small / "st")
        assert rc == 0, err
        with Store(small / "st") as st:
            (info,) = st.list()
            assert info.meta.therapist == "ann" and info.has_frames


# -- 7. terminal escapes and rich markup ---------------------------------------------------------------------
def test_typed_text_is_shown_as_text(tmp_path, analysed):
    store = tmp_path / "st"
    evil = "\x1b]52;c;ZXZpbA==\x07\x1b[2J"
    with Store(store) as st:
        for client in ("C[/x]", "B [bold]"):
            st.save_session(analysed, meta=SessionMeta(therapist="Ann [locum]", client=client,
                                                       recorded_at="2024-05-01T10:00:00", tags=("t[1]",)),
                            bookmarks=[Bookmark(1.0, "note " + evil)])
        st.db.execute("UPDATE sessions SET notes = ? WHERE id = 1", ("notes " + evil,))
    for argv in (["sessions"], ["show", "1"], ["compare", "1", "2", "-o", tmp_path / "c.html"],
                 ["trend", "--therapist", "Ann [locum]", "-o", tmp_path / "t.html"]):
        rc, out, err = _cli(*argv, "--store", store)
        assert rc == 0, (argv, err)
        assert "\x1b" not in out and "\x07" not in out, argv
        if argv[0] != "show":  # trend's 10-wide client column cuts a long pseudonym, not its "#1" (sweep 19)
            assert "C[/x]" in out and ("B [bol… #1" if argv[0] == "trend" else "B [bold]") in out, (argv, out)
    assert "Ann [locum]" in _cli("sessions", "--store", store)[1]
    assert "\\x1b]52" in _cli("show", "1", "--store", store)[1]  # shown, not obeyed
    rc, _, err = _cli("show", "C7" + evil, "--store", store)  # error lines quote what was typed: as text too
    _one_line(rc, err)
    assert "\x1b" not in err and "\\x1b" in err
    for page in ("c.html", "t.html"):
        html = (tmp_path / page).read_text()
        assert "C[/x]" in html and "\x1b" not in html


# -- 8. the smaller ones ---------------------------------------------------------------------------------------
def test_fifo_and_device_inputs_are_named(tmp_path):
    os.mkfifo(tmp_path / "p.wav")
    rc, _, err = _cli("analyze", tmp_path / "p.wav")
    _one_line(rc, err, 2)
    assert "FIFO" in err and "empty" not in err
    rc, _, err = _cli("import", "/dev/null", "--store", tmp_path / "st")
    _one_line(rc, err, 2)
    assert "character device" in err and "no such file" not in err


def test_negative_session_number_refused_before_analysis(tmp_path, victim, export_json):
    p = _write_json(tmp_path / "s.json", export_json)
    for argv in (["analyze", victim, "--save", "--store", tmp_path / "st"], ["import", p, "--store", tmp_path / "st"]):
        t0 = time.perf_counter()
        rc, _, err = _cli(*argv, "--session-number", "-1")
        _one_line(rc, err, 2)
        assert "--session-number" in err and time.perf_counter() - t0 < 2.0
    assert not (tmp_path / "st").exists()


def test_filters_normalise_unicode(tmp_path, analysed):
    nfd, nfc = unicodedata.normalize("NFD", "Zoë"), unicodedata.normalize("NFC", "Zoë")
    assert nfd != nfc
    with Store(tmp_path / "st") as st:
        st.save_session(analysed, meta=SessionMeta(therapist=nfd, client=nfc, tags=(nfd,)))
        st.save_session(analysed, meta=SessionMeta(therapist=nfc, client=nfd))
        for form in (nfd, nfc):
            assert len(st.list(therapist=form)) == 2 and len(st.list(client=form)) == 2
            assert len(st.list(tag=form)) == 1
    rc, out, _ = _cli("sessions", "--therapist", nfd, "--store", tmp_path / "st")
    assert rc == 0 and out.startswith("2 sessions")


def test_store_folders_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        Store(tmp_path / "a" / "b" / "c").close()  # as --save, import and batch create it
    finally:
        os.umask(old)
    for p in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c", tmp_path / "a" / "b" / "c" / "frames"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700, p
    assert stat.S_IMODE((tmp_path / "a" / "b" / "c" / "sessions.db").stat().st_mode) == 0o600


def test_listing_a_store_on_a_read_only_file_system(tmp_path, analysed):
    with _tmpfs(tmp_path / "m", "4m") as m:
        with Store(m / "st") as st:
            st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7"))
        _remount_ro(m)
        before = _tree_bytes(m)
        rc, out, err = _cli("sessions", "--store", m / "st")
        assert rc == 0, err
        assert out.startswith("1 session") and "C7" in out
        assert _cli("show", "1", "--store", m / "st")[0] == 0
        rc, _, err = _cli("delete", "1", "--store", m / "st")
        _one_line(rc, err)
        assert "read-only" in err
        assert _tree_bytes(m) == before


def test_read_only_open_changes_nothing(tmp_path, analysed):
    with Store(tmp_path / "st") as st:
        st.save_session(analysed, meta=SessionMeta(therapist="ann"))
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / "st").iterdir() if p.is_file()}
    with Store(tmp_path / "st", readonly=True) as st:
        assert [i.meta.therapist for i in st.list()] == ["ann"]
        with pytest.raises(Exception, match="read-only"):
            st.delete(1)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / "st").iterdir() if p.is_file()}
    assert after["sessions.db"] == before["sessions.db"]
    assert all(stat.S_IMODE((tmp_path / "st" / n).stat().st_mode) == 0o600 for n in after)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders: see the read-only mount test")
def test_listing_a_read_only_store_folder(tmp_path, analysed):
    with Store(tmp_path / "st") as st:
        st.save_session(analysed, meta=SessionMeta(therapist="ann", client="C7"))
    os.chmod(tmp_path / "st", 0o500)
    try:
        rc, out, err = _cli("sessions", "--store", tmp_path / "st")
        assert rc == 0 and out.startswith("1 session"), err
    finally:
        os.chmod(tmp_path / "st", 0o700)
