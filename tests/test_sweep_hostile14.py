"""Hostile sweep 14 (docs/store.md, "Hostile sweep 14"): three leftovers of sweep 13 around the
``unattributed`` voice. Through the real CLI where it matters; every file under tmp_path. Each defect with
what happened before and what happens now:

1. A batch manifest whose ``speaker`` cell is ``unattributed`` stopped the whole batch at reading ("man.csv
   line 2: speaker 'unattributed': prosody keeps that name ...", exit 2, nothing analysed), while the same name
   in a ``channels`` cell failed only its file. Now it fails only its file too (one line), the others analysed.
2. ``[pitch_by_speaker.unattributed]`` on a recording whose two voices are told apart was said unused with
   "name the channels as the configuration does (--channels, --speaker)", which both refuse that name. Now it
   says what the table is for: only a recording where who spoke when is unsure.
3. The disclaimer of an ``unattributed`` session (its measures and its report page) spoke of "the therapist's
   own baseline": there is no therapist there, and the figures are relative to the recording's own medians.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import count_rows, export_saved, run_cli
from tests.test_sweep_hostile13 import _renamed

MONO = Path(__file__).resolve().parents[1] / "fixtures" / "mono_therapist.wav"


def test_a_manifest_speaker_unattributed_fails_only_its_file(tmp_path):
    for name in ("m1.wav", "m2.wav"):
        shutil.copy(MONO, tmp_path / name)
    man = tmp_path / "man.csv"
    man.write_text("file,speaker\nm1.wav,unattributed\nm2.wav,ann\n")
    store = tmp_path / "st"
    rc, out, err = run_cli("batch", man, "--store", store, "--table", tmp_path / "t", "--no-progress",
                           "--jobs", "1")
    # before: exit 2, "prosody: error: ... line 2: speaker 'unattributed' ...", nothing analysed
    assert rc == 1, err
    said = [ln for ln in err.splitlines() if "unattributed" in ln]
    # the manifest's row named too since session 39 (tests/test_left39.py)
    assert said == [f"prosody: failed: {tmp_path / 'm1.wav'}: {man} line 2: speaker 'unattributed': prosody keeps "
                    "that name for speech it cannot attribute to anyone; name the speaker otherwise"], err
    assert "Traceback" not in err and "internal error" not in err, err
    assert count_rows(store / "sessions.db", "SELECT COUNT(*) FROM sessions") == 1
    assert count_rows(store / "sessions.db", "SELECT COUNT(*) FROM speakers WHERE speaker = 'ann'") == 1
    # as a channels cell naming it does (unchanged): only its file fails
    man2 = tmp_path / "man2.csv"
    man2.write_text("file,channels\nm1.wav,unattributed=left\n")
    rc, out, err = run_cli("batch", man2, "--store", tmp_path / "st2", "--table", tmp_path / "t2",
                           "--no-progress", "--jobs", "1")
    assert rc == 1 and f"prosody: failed: {tmp_path / 'm1.wav'}: " in err and "prosody: error" not in err, err
    # a name the store refuses still stops the batch at reading, with its line
    man3 = tmp_path / "man3.csv"
    man3.write_text("file,speaker\nm1.wav,a\x07b\n")
    rc, out, err = run_cli("batch", man3, "--store", tmp_path / "st3", "--no-progress")
    assert rc == 2 and err.startswith("prosody: error: ") and "line 2: speaker" in err, err


def test_the_unattributed_pitch_table_on_two_voices_says_what_it_is_for(tmp_path, short_wav):
    conf = tmp_path / "c.toml"
    conf.write_text("[pitch_by_speaker.unattributed]\nfmin_hz = 200.0\nfmax_hz = 400.0\n")
    rc, out, err = run_cli("analyze", short_wav, "--config", conf, "--json", tmp_path / "a.json", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "a.json").read_text())
    said = [w for w in doc["warnings"] if "pitch_by_speaker" in w]
    assert len(said) == 1, doc["warnings"]
    # before: "... name the channels as the configuration does (--channels, --speaker) or rename its table"
    assert "--channels" not in said[0] and "--speaker" not in said[0], said
    assert "'therapist', 'client'" in said[0], said
    assert ("[pitch_by_speaker.unattributed] applies only to a recording where who spoke when is unsure"
            in said[0]), said
    # any other name keeps its advice
    from prosody.config import AnalysisConfig, PitchConfig
    other = AnalysisConfig(pitch_by_speaker=(("alice", PitchConfig(75.0, 400.0)),))
    assert "(--channels, --speaker)" in other.unused_pitch_ranges(("therapist", "client"))[0]


def test_the_disclaimer_of_an_unattributed_session_says_what_its_figures_are(tmp_path):
    # a stored unattributed session (its document says the therapist's baseline, as every analysis wrote
    # before): the report page says it as it is there
    js, npz = export_saved(tmp_path, MONO)
    assert json.loads(js.read_text())["speaker_order"] == ["therapist"]
    one = tmp_path / "u.json"
    _renamed(js, npz, "therapist", "unattributed", one)
    store = tmp_path / "dst"
    rc, out, err = run_cli("import", one, "--store", store)
    assert rc == 0, err
    page = tmp_path / "r.html"
    rc, out, err = run_cli("report", "1", "--store", store, "-o", page)
    assert rc == 0, err
    import html as h
    page_text = page.read_text()
    told = [h.unescape(p.split("</p>")[0]) for p in page_text.split('<p class="disclaimer">')[1:]]
    assert len(told) == 1, told
    # before: "... relative to the therapist's own baseline; ..."
    assert "therapist" not in told[0] and "this recording's own medians" in told[0] and "unsure" in told[0], told
    # what an analysis writes in the measures of such a session, and of a two-voice one (unchanged)
    from prosody.measures import DISCLAIMER, disclaimer_for
    assert disclaimer_for(["unattributed"]) == told[0]
    assert disclaimer_for(["therapist", "client"]) == DISCLAIMER


# -- batch --scheduler on a Dask cluster ---------------------------------------------------------------------------
def test_a_web_address_for_the_scheduler_is_said_not_a_scheduler_address(tmp_path):
    """4. ``--scheduler http://HOST:8787`` (the dashboard's page) was "cannot reach a Dask scheduler ... (its
    answer is not the Dask protocol): ValueError: unknown address scheme 'http'": nothing had answered. Now
    the address is refused as one, naming the protocols Dask speaks."""
    import pytest
    pytest.importorskip("distributed", reason="dask distributed not installed")
    for address, proto in (("http://127.0.0.1:8787", "http protocol"), ("://127.0.0.1:8786", "no protocol")):
        rc, out, err = run_cli("batch", MONO, "--scheduler", address, "--store", tmp_path / "st", "--table",
                               tmp_path / "t", "--no-progress")
        assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith(f"prosody: error: --scheduler {address!r} is not a scheduler address: {proto}, "
                              "Dask speaks tcp, tls"), err


def test_a_tls_scheduler_configured_as_dask_documents_is_used(tmp_path):
    """5. A ``tls://`` scheduler with Dask's TLS client settings in its configuration (which
    ``distributed.Client`` uses) was refused by prosody's handshake probe, made without them: "cannot reach a
    Dask scheduler at tls://... (its answer is not the Dask protocol): TypeError: TLS expects a `ssl_context`
    argument". Now the probe takes the same settings and the batch runs; without settings, one line says so."""
    import subprocess
    import pytest
    distributed = pytest.importorskip("distributed", reason="dask distributed not installed")
    import dask
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    sec = distributed.security.Security(
        tls_ca_file=str(cert), tls_scheduler_cert=str(cert), tls_scheduler_key=str(key), tls_worker_cert=str(cert),
        tls_worker_key=str(key), tls_client_cert=str(cert), tls_client_key=str(key), require_encryption=True)
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
                                  protocol="tls://", host="127.0.0.1", security=sec) as cl:
        address = cl.scheduler_address
        assert address.startswith("tls://")
        with dask.config.set({"distributed.comm.tls.ca-file": str(cert), "distributed.comm.tls.client.cert": str(cert),
                              "distributed.comm.tls.client.key": str(key)}):
            rc, out, err = run_cli("batch", MONO, "--scheduler", address, "--store", tmp_path / "st",
                                   "--table", tmp_path / "t", "--no-progress")
        assert rc == 0, err
        assert "1 analysed, 0 skipped (already done), 0 failed" in out, out
        assert count_rows(tmp_path / "st" / "sessions.db", "SELECT COUNT(*) FROM sessions") == 1
        rc, out, err = run_cli("batch", MONO, "--scheduler", address, "--store", tmp_path / "none",
                               "--table", tmp_path / "t0", "--no-progress")
        assert rc == 1 and err.count("\n") == 1, err
        assert "(no TLS settings): a tls:// address needs Dask's TLS client settings" in err, err


_CALLS: list = []
_ANALYZE_TASK = None  # the real batch task, set by the test before it replaces it


def _task_then_ctrl_c(task):
    """The batch task, the third of which presses Ctrl-C in this process (the client's: an in-process
    cluster); module-level, so that Dask can send it."""
    import os
    import signal
    _CALLS.append(task)
    if len(_CALLS) == 3:
        os.kill(os.getpid(), signal.SIGINT)
    return _ANALYZE_TASK(task)


def test_ctrl_c_of_a_dask_batch_says_what_it_stopped_and_a_re_run_resumes(tmp_path, monkeypatch):
    """6. Ctrl-C of ``batch --scheduler`` said "the workers are stopped": the cluster's workers are not
    prosody's and keep running; prosody cancels its tasks there (the scheduler holds none of them after).
    Now it says so. Nothing finished is lost: a re-run analyses only the rest."""
    import pytest
    distributed = pytest.importorskip("distributed", reason="dask distributed not installed")
    from prosody.batch import runner
    for i in range(4):
        shutil.copy(MONO, tmp_path / f"m{i}.wav")
        with open(tmp_path / f"m{i}.wav", "ab") as f:  # four contents (a file's hash names its work)
            f.write(bytes(i + 1))
    real = runner.analyze_task
    global _ANALYZE_TASK
    _ANALYZE_TASK = real
    _CALLS.clear()
    monkeypatch.setattr(runner, "analyze_task", _task_then_ctrl_c)
    files = [tmp_path / f"m{i}.wav" for i in range(4)]
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
                                  protocol="tcp://") as cl:
        rc, out, err = run_cli("batch", *files, "--scheduler", cl.scheduler_address, "--store", tmp_path / "st",
                               "--table", tmp_path / "t", "--no-progress")
        assert rc == 130, err
        last = err.splitlines()[-1]
        # before: "... finished and saved in the store, the workers are stopped; ..."
        assert last.startswith("prosody: error: interrupted; ") and "the workers are stopped" not in last, err
        assert ("its tasks on the Dask cluster are cancelled (the cluster's workers keep running); run the same "
                "command again to continue where it stopped") in last, err
        assert "Traceback" not in err, err
        with distributed.Client(cl.scheduler_address, set_as_default=False) as c:
            assert c.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
        saved = count_rows(tmp_path / "st" / "sessions.db", "SELECT COUNT(*) FROM sessions")
        assert 1 <= saved < 4, err
        monkeypatch.setattr(runner, "analyze_task", real)
        rc, out, err = run_cli("batch", *files, "--scheduler", cl.scheduler_address, "--store", tmp_path / "st",
                               "--table", tmp_path / "t", "--no-progress")
    assert rc == 0, err
    assert f"{4 - saved} analysed, {saved} skipped (already done), 0 failed" in out, out
    assert count_rows(tmp_path / "st" / "sessions.db", "SELECT COUNT(*) FROM sessions") == 4


def _task_that_kills_its_worker(task):
    """The batch task, which kills its own (Dask worker) process on a file named ``crash*``."""
    import os
    import signal
    from prosody.batch.runner import analyze_task
    if Path(task.paths[0]).name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return analyze_task(task)


def test_a_dask_worker_that_dies_on_a_file_fails_that_file_in_plain_words(tmp_path, monkeypatch):
    """7. A file whose Dask worker process died each time it was tried failed with Dask's own text: "the worker
    could not analyse it (KilledWorker: Attempted to run task 'analyze_task-b2a4...' on 1 different workers,
    but all those workers died while running it. The last worker ... tcp://127.0.0.1:33591. ... see
    https://distributed.dask.org/en/stable/killed.html.)". Now as the local pool says it, in plain words; the
    other files are analysed and a re-run tries that one again."""
    import pytest
    distributed = pytest.importorskip("distributed", reason="dask distributed not installed")
    import dask
    from prosody.batch import runner
    shutil.copy(MONO, tmp_path / "crash.wav")
    shutil.copy(MONO, tmp_path / "fine.wav")
    with open(tmp_path / "fine.wav", "ab") as f:
        f.write(b"\0")
    global _ANALYZE_TASK
    _ANALYZE_TASK = runner.analyze_task
    monkeypatch.setattr(runner, "analyze_task", _task_that_kills_its_worker)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                      host="127.0.0.1") as cl:
            argv = ("batch", tmp_path / "crash.wav", tmp_path / "fine.wav", "--scheduler", cl.scheduler_address,
                    "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress")
            rc, out, err = run_cli(*argv)
            assert rc == 1, err
            said = [ln for ln in err.splitlines() if "crash.wav" in ln]
            assert said == [f"prosody: failed: {tmp_path / 'crash.wav'}: the Dask worker process analysing it died, "
                            "each time it was tried (a crash in a decoder, out of memory, or the worker stopped: the "
                            "cluster's worker logs say which); a re-run tries it again"], err
            assert "KilledWorker" not in err + out and "http" not in err + out, err
            # the other file, on the other worker, analysed (where Dask put both on the dying one, both failed)
            assert "1 analysed, 0 skipped (already done), 1 failed" in out or "0 analysed" in out, out
            monkeypatch.setattr(runner, "analyze_task", _ANALYZE_TASK or runner.analyze_task)
            rc, out, err = run_cli(*argv)  # the cause gone (a worker with more memory, say): tried again, taken
    assert rc == 0, err
    assert count_rows(tmp_path / "st" / "sessions.db", "SELECT COUNT(*) FROM sessions") == 2
