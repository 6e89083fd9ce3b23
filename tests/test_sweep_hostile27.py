"""Hostile sweep 27 (docs/store.md "Hostile sweep 27"): each defect found, against planted truth.

1. A local batch worker killed while it sends its result (SIGKILL, the OOM killer) left the pool's thread reading
   the rest of that message for ever (this process and the other workers hold the pipe's write end): no future
   ended and the batch never did (sweep 26's batch that did not end in 300 s). Now a worker dead for
   ``runner.WORKER_GONE_UNHEARD_S`` with its pool not broken cuts the pool loose (its write ends closed, its
   workers terminated): the pool breaks, and its files run alone, as on any crash. A file run alone whose worker
   is killed the same way is said as failed, not waited on.
2. A worker that died while the batch saved a result broke the pool between two looks: the next submit raised
   ``BrokenProcessPool`` and the batch ended as "internal error", exit 1, the rest unanalysed. Now the submit's
   task fails with the pool and runs alone.

The kills are planted by a ``sitecustomize`` put on the batch's PYTHONPATH (its workers import it too): a worker
writes half of a result's message and kills itself (1.), or the batch kills a worker just before a submit and
waits for the pool to break (2.).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from prosody.batch import runner
from prosody.config import AnalysisConfig
from prosody.engine.sources import Layout
from tests.pulse import outcome as pulse_outcome, thaw_and_end

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "fixtures" / "dialogue.flac"
PROSODY = [sys.executable, "-m", "prosody_cli.main"]

HOOK = r'''
import os, signal, struct, time
import multiprocessing, multiprocessing.connection as mc


def _take(kind):
    """One token of kind ``kind`` taken from $PROSODY_TEST_KILLS (a folder): True where one was left."""
    d = os.environ.get("PROSODY_TEST_KILLS")
    for name in sorted(os.listdir(d)) if d else ():
        if name.startswith(kind):
            try:
                os.unlink(os.path.join(d, name))
                return True
            except FileNotFoundError:
                continue
    return False


def _said(what):
    with open(os.path.join(os.environ["PROSODY_TEST_KILLS"], "..", "killed.txt"), "a") as f:
        f.write(what + "\n")


_send_bytes = mc.Connection._send_bytes


def _half_then_die(self, buf):
    n = len(buf)
    if n > 20000 and multiprocessing.parent_process() is not None and _take("mid-send"):
        _said(f"mid-send {os.getpid()} {n}")
        self._send(struct.pack("!i", n))
        self._send(bytes(buf[: n // 2]))
        os.kill(os.getpid(), signal.SIGKILL)
    return _send_bytes(self, buf)


mc.Connection._send_bytes = _half_then_die

import concurrent.futures.process as cfp

_submit = cfp.ProcessPoolExecutor.submit
_counts = {}


def _submit_after_a_death(self, fn, *args, **kwargs):
    if getattr(fn, "__name__", "") == "analyze_task":
        _counts["n"] = _counts.get("n", 0) + 1
        if _counts["n"] == int(os.environ.get("PROSODY_TEST_BREAK_AT", "0")) and _take("before-submit"):
            victim = next(iter(self._processes.values()))
            _said(f"before-submit {victim.pid}")
            os.kill(victim.pid, signal.SIGKILL)
            t0 = time.monotonic()
            while not self._broken and time.monotonic() - t0 < 20:
                time.sleep(0.01)
    return _submit(self, fn, *args, **kwargs)


cfp.ProcessPoolExecutor.submit = _submit_after_a_death
'''


def _recordings(folder: Path, n: int, *, length_s: float = 12.0) -> list[Path]:
    """``n`` recordings of ``length_s`` cut from the two-voice fixture at different starts (distinct audio)."""
    x, sr = sf.read(FIXTURE, dtype="float32")
    folder.mkdir()
    paths = []
    for i in range(n):
        a = int(3.1 * i * sr)
        y = np.concatenate([x, x])[a:a + int(length_s * sr)]
        paths.append(folder / f"r{i}.wav")
        sf.write(paths[-1], y, sr, subtype="PCM_16")
    return paths


def _batch_with_kills(tmp_path: Path, n_files: int, kills: list[str], *, break_at: int = 0, limit_s: float = 90.0):
    """`prosody batch` of ``n_files`` recordings, ``--jobs 2``, with the planted kills; returns (exit status or None
    when it still ran ``limit_s`` on, standard output, standard error, the kills done, seconds)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    tokens = tmp_path / "kills" / "tokens"
    tokens.mkdir(parents=True)
    for i, kind in enumerate(kills):
        (tokens / f"{kind}-{i}").touch()
    _recordings(tmp_path / "in", n_files)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), str(REPO), os.environ.get("PYTHONPATH", "")]),
               PROSODY_TEST_KILLS=str(tokens), PROSODY_TEST_BREAK_AT=str(break_at))
    env.pop("PROSODY_DEBUG", None)
    argv = PROSODY + ["batch", str(tmp_path / "in"), "--jobs", "2", "--store", str(tmp_path / "store"),
                      "--table", str(tmp_path / "t"), "--no-progress"]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=limit_s)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        rc = None
    done = (tmp_path / "kills" / "killed.txt")
    return rc, out, err, done.read_text().splitlines() if done.exists() else [], time.monotonic() - t0


def _stored(store: Path) -> list:
    """The sessions in the store."""
    from prosody.store.db import Store
    with Store(store) as st:
        return st.list()


# -- 1. a worker killed while it sends its result ----------------------------------------------------------------

def test_a_worker_killed_while_it_sends_its_result_does_not_hang_the_batch(tmp_path):
    rc, out, err, killed, took_s = _batch_with_kills(tmp_path, 4, ["mid-send"])
    assert len(killed) == 1 and killed[0].startswith("mid-send"), killed
    assert rc is not None, f"the batch still ran {took_s:.0f} s after a worker was killed mid-send: {err}"
    assert rc == 0, out + err
    assert "batch: 4 recordings: 4 analysed, 0 skipped (already done), 0 failed" in out, out + err
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(_stored(tmp_path / "store")) == 4


def test_a_file_run_alone_whose_worker_is_killed_while_it_sends_fails_and_the_batch_ends(tmp_path):
    """The second kill lands in the process a crashed file is run alone in (nothing else sends in between: the
    pool is stuck until cut loose): that file is said as failed, the other three analysed."""
    rc, out, err, killed, took_s = _batch_with_kills(tmp_path, 4, ["mid-send", "mid-send"])
    assert len(killed) == 2, killed
    assert rc is not None, f"the batch still ran {took_s:.0f} s after a lone worker was killed mid-send: {err}"
    assert rc == 1, out + err
    assert "batch: 4 recordings: 3 analysed, 0 skipped (already done), 1 failed" in out, out + err
    assert out.count("the analysing process died on it") == 1, out
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(_stored(tmp_path / "store")) == 3


# -- 2. the pool broken between two looks --------------------------------------------------------------------------

def test_a_worker_dying_while_a_result_is_saved_is_a_crash_not_an_internal_error(tmp_path):
    """A worker killed just before the fifth file's submit (the first after a result: the window is 4), the
    pool broken before the submit: every file analysed, nothing said as an internal error."""
    rc, out, err, killed, took_s = _batch_with_kills(tmp_path, 6, ["before-submit"], break_at=5)
    assert len(killed) == 1 and killed[0].startswith("before-submit"), killed
    assert rc == 0, out + err
    assert "batch: 6 recordings: 6 analysed, 0 skipped (already done), 0 failed" in out, out + err
    assert "internal error" not in err and "Traceback" not in err, err
    assert len(_stored(tmp_path / "store")) == 6


def test_a_submit_to_a_broken_pool_gives_a_failed_future(tmp_path):
    backend = runner._LocalBackend(1)
    try:
        backend.warm()
        t0 = time.monotonic()
        while not backend.pool._processes and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        os.kill(next(iter(backend.pool._processes)), signal.SIGKILL)
        while not backend.pool._broken and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        assert backend.pool._broken
        task = runner.Task(paths=(str(FIXTURE),), sources=(str(FIXTURE),), layout=Layout(("x",), ((0, 0),)),
                           config=AnalysisConfig())
        future = backend.submit(task)
        assert future.done() and backend.is_crash(future.exception())
    finally:
        backend.close(cancel=True)


# -- 3. `play` on a sound server frozen before the stream starts --------------------------------------------------

def _play_on_a_frozen_server(pulse, tmp_path, device: str, *, ctrl_c_after_s=None):
    """`prosody play` of moment 1 (a 10 s stretch) on ``device`` with the server frozen (SIGSTOP) before it
    starts, and Ctrl-C ``ctrl_c_after_s`` in when given; returns (exit status or None when it still ran 30 s
    on, standard error, seconds to the exit). The server is let go again after."""
    from tests.test_review import noise_session
    tmp_path.mkdir(exist_ok=True)
    noise_session(tmp_path / "st", tmp_path / "rec.wav", seconds=40, bookmark_s=20.0, seed=3)
    if "out1" not in pulse.modules:
        pulse.null_sink("out1")
    argv = PROSODY + ["play", "1", "1", "--store", str(tmp_path / "st"), "--device", device, "--context-s", "5"]
    env = dict(pulse.env, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    os.kill(pulse.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         cwd=tmp_path)
    try:
        return pulse_outcome(p, t0, ctrl_c_after_s=ctrl_c_after_s)
    finally:
        thaw_and_end(pulse, p)


def test_play_on_a_sound_server_frozen_before_it_starts_ends_with_one_line(pulse, tmp_path):
    """Before: silent and still running 30 s on (PortAudio's start waits in C on the frozen server). Now exit 1
    in the wait and a start-up margin, one line saying the server did not answer and nothing was played: by
    sink name (its `pactl` look-up waited on) and by device number (PortAudio's start waited on)."""
    from prosody.live import devices
    wait_s = getattr(devices, "SOUND_SERVER_WAIT_S", 5.0)  # (the old code has none: it is shown to hang)
    for device, said in (("out1", "`pactl list short sinks` had not ended in 5 s"),
                         ("0", "PortAudio's start, which asks it for its devices, had not ended in 5 s")):
        rc, e, took_s = _play_on_a_frozen_server(pulse, tmp_path / device, device)
        assert rc == 1, f"--device {device}: exit {rc} after {took_s:.1f} s: {e!r}"
        assert wait_s <= took_s < wait_s + 10.0, took_s
        lines = e.splitlines()
        assert len(lines) == 1 and "Traceback" not in e and "playing moment" not in e, e
        assert lines[0].startswith("prosody: error: the sound server did not answer: ") and said in lines[0], e
        assert "nothing was played" in lines[0], e


def test_ctrl_c_while_a_frozen_sound_server_is_waited_on_ends_play(pulse, tmp_path):
    """Before: Ctrl-C 4 s in hung as well (the signal is not heard while PortAudio waits in C). Now 130,
    "interrupted", within seconds."""
    rc, e, took_s = _play_on_a_frozen_server(pulse, tmp_path, "0", ctrl_c_after_s=4.0)
    assert rc == 130, f"exit {rc} after {took_s:.1f} s: {e!r}"
    assert took_s < 4.0 + 5.0, took_s
    assert e.splitlines() == ["prosody: error: interrupted"], e


def test_a_call_that_does_not_end_is_said_in_the_wait_and_one_that_does_is_passed_on():
    from prosody.errors import CaptureError
    from prosody.live.devices import answered_within
    import threading
    never = threading.Event()
    t0 = time.monotonic()
    try:
        answered_within(never.wait, wait_s=0.3, what="the server did not answer")
    except CaptureError as exc:
        assert str(exc) == "the server did not answer"
    else:
        raise AssertionError("a call that never ends was said as answered")
    assert 0.3 <= time.monotonic() - t0 < 2.0
    assert answered_within(lambda: 41 + 1, wait_s=1.0, what="x") == 42
    try:
        answered_within(lambda: int("x"), wait_s=1.0, what="x")
    except ValueError:
        pass
    else:
        raise AssertionError("the call's own error was not passed on")


# -- 4. batch --scheduler: an address with no port, or a port out of range ------------------------------------------

def test_a_scheduler_address_without_a_usable_port_is_said_as_such(tmp_path):
    """Before: "127.0.0.1" was said "cannot reach a Dask scheduler at 127.0.0.1 (nothing listens there): invalid
    literal for int() with base 10: '127.0.0.1'" and port 99999 "(nothing listens there): Connection refused";
    a host name nobody knows "nothing listens there" too. Now what is wrong with the address is said, and no
    store is made."""
    from tests.conftest import run_cli
    mono = REPO / "fixtures" / "mono_therapist.wav"
    for address in ("127.0.0.1", "tcp://127.0.0.1:99999", "tcp://127.0.0.1:0", "tcp://127.0.0.1:8786x"):
        rc, out, err = run_cli("batch", mono, "--scheduler", address, "--store", tmp_path / "st",
                               "--table", tmp_path / "t", "--no-progress")
        assert rc == 1 and err == (f"prosody: error: --scheduler {address!r} is not a scheduler address: it needs a "
                                   "port (1-65535) after the host; e.g. tcp://10.0.0.5:8786\n"), (address, err)
        assert not (tmp_path / "st").exists()
    rc, out, err = run_cli("batch", mono, "--scheduler", "tcp://no-such-host.invalid:8786", "--store",
                           tmp_path / "st", "--table", tmp_path / "t", "--no-progress")
    assert rc == 1 and "(no host of that name is known here)" in err and "nothing listens" not in err, err
    assert err.count("\n") == 2 and "is not encrypted" in err.splitlines()[0], err  # the note, then the line


# -- 5. batch --scheduler: a scheduler that stops answering (frozen) ------------------------------------------------

def test_a_scheduler_that_does_not_answer_is_said_and_the_batch_stops_in_bounds():
    """Before: the watch's question (``scheduler_info``) waited for ever on a SIGSTOPped scheduler and an
    unanswered one was passed over in silence: a batch of 16 files on a cluster frozen 5 s in still ran, silent,
    120 s on. Now an unanswered question is asked for ``SCHEDULER_ANSWER_S`` at most, a scheduler unanswering for
    half ``--wait-for-workers`` is said, and at the limit the batch stops (every finished file kept); one that
    answers again is said so."""
    from prosody.batch import runner
    from prosody.errors import BatchError

    class Cluster:  # what _WorkerWatch asks of a Dask backend: its worker threads (None: no answer)
        answer = None

        def threads(self):
            return self.answer
    said = []
    cluster = Cluster()
    watch = runner._WorkerWatch(cluster, "tcp://h:1", limit_s=20.0)

    def ask(after_s: float):
        watch.asked -= runner.WORKER_POLL_S
        if watch.unanswered_since is not None:
            watch.unanswered_since -= after_s
        watch.check(said.append, waiting=11, saved=5)
    ask(0.0)
    assert said == []
    ask(10.0)  # unanswered for half the limit: said
    assert [e.kind for e in said] == ["no_workers"]
    assert said[0].reason.startswith("the Dask scheduler at tcp://h:1 has not answered for 10 s (frozen, or the "
                                     "network between down?): 11 recordings wait; the batch stops if it does not "
                                     "answer within 20 s"), said[0].reason
    cluster.answer = 2  # it answers again
    ask(0.0)
    assert [e.kind for e in said] == ["no_workers", "workers_back"]
    assert said[1].reason == "the Dask scheduler at tcp://h:1 answers again; the batch goes on"
    cluster.answer = None
    ask(0.0)
    try:
        ask(20.0)
    except BatchError as exc:
        assert str(exc).startswith("the Dask scheduler at tcp://h:1 has not answered for 20 s: stopped; 5 recordings "
                                   "finished and saved in the store, 11 recordings not analysed"), exc
    else:
        raise AssertionError("a scheduler unanswering past the limit did not stop the batch")
