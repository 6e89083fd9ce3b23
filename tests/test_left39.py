"""Session 39's leftovers of hostile sweeps 13 and 14 (docs/store.md, "Mended later" under each). Through the real
CLI; every file under tmp_path; each test fails on the code before (checked by putting the old files back)."""
from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import count_rows, run_cli

MONO = Path(__file__).resolve().parents[1] / "fixtures" / "mono_therapist.wav"


def _copies(tmp_path, n: int) -> list[Path]:
    """``n`` copies of the one-voice fixture, one byte apart (a file's hash names its work)."""
    files = []
    for i in range(n):
        f = tmp_path / f"m{i}.wav"
        shutil.copy(MONO, f)
        with open(f, "ab") as fh:
            fh.write(bytes(i + 1))
        files.append(f)
    return files


def _after_the_first_session(store: Path, act) -> None:
    """``act()`` in the background once ``store`` holds a session (or after 30 s)."""
    def wait_then_act():
        for _ in range(600):
            if _sessions(store) >= 1:
                break
            time.sleep(0.05)
        act()
    _in_background(wait_then_act)


def _sessions(store: Path) -> int:
    try:
        return count_rows(store / "sessions.db", "SELECT COUNT(*) FROM sessions")
    except Exception:  # not made yet, or being written
        return 0


def _in_background(fn) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


# -- 1. batch --scheduler: every worker of the cluster gone -----------------------------------------------------------
def test_a_dask_cluster_whose_workers_are_all_gone_is_said_and_the_batch_stops_in_bounds(tmp_path, monkeypatch):
    """With every worker of the cluster gone (scaled to zero after the first file) the client waited without a
    word for ever. Now one warning line once none has been seen for a while, then one error line after
    --wait-for-workers: what finished is in the store, and a re-run with workers analyses only the rest."""
    distributed = pytest.importorskip("distributed", reason="dask distributed not installed")
    from prosody.batch import runner
    monkeypatch.setattr(runner, "NO_WORKERS_WARN_S", 1.0)  # the default 30 s, shortened for the test
    monkeypatch.setattr(runner, "WORKER_POLL_S", 0.2)
    files = _copies(tmp_path, 4)
    store = tmp_path / "st"
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
                                  protocol="tcp://") as cl:
        address = cl.scheduler_address

        _after_the_first_session(store, lambda: cl.scale(0))  # every worker gone
        t0 = time.monotonic()
        rc, out, err = run_cli("batch", *files, "--scheduler", address, "--store", store, "--table", tmp_path / "t",
                               "--no-progress", "--wait-for-workers", "4")
        took = time.monotonic() - t0
        assert rc == 1, err
        saved = _sessions(store)
        assert 1 <= saved < 4, err
        warned = [ln for ln in err.splitlines() if "Dask cluster" in ln and "warning" in ln]
        assert len(warned) == 1, err
        assert re.fullmatch(
            rf"prosody: warning: the Dask cluster at {re.escape(address)} has no workers \(none for \d s\): "
            rf"{4 - saved} recordings? wait for one; the batch stops if none come within 4 s \(finished files are "
            r"kept\), Ctrl-C stops it now", warned[0]), warned
        last = err.splitlines()[-1]
        assert last == (f"prosody: error: the Dask cluster at {address} has had no workers for 4 s: stopped; "
                        f"{saved} recording{'s' if saved != 1 else ''} finished and saved in the store, {4 - saved} "
                        f"recording{'s' if 4 - saved != 1 else ''} not analysed; start the cluster's workers and run "
                        "the same command again to continue where it stopped (--wait-for-workers sets how long to "
                        "wait)"), err
        assert "Traceback" not in err and "internal error" not in err, err
        assert took < 60, took  # before: no end at all
        with distributed.Client(address, set_as_default=False) as c:  # its tasks cancelled on the cluster
            assert c.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
        cl.scale(1)
        cl.wait_for_workers(1, timeout=30)
        rc, out, err = run_cli("batch", *files, "--scheduler", address, "--store", store, "--table", tmp_path / "t",
                               "--no-progress")
    assert rc == 0, err
    assert f"{4 - saved} analysed, {saved} skipped (already done), 0 failed" in out, out
    assert _sessions(store) == 4


def test_a_dask_cluster_that_gets_its_workers_later_is_said_and_the_batch_goes_on(tmp_path, monkeypatch):
    """A cluster may have no worker yet (a job queue, an autoscaler): the batch says so, waits, and goes on when
    workers come; nothing fails."""
    distributed = pytest.importorskip("distributed", reason="dask distributed not installed")
    from prosody.batch import runner
    monkeypatch.setattr(runner, "NO_WORKERS_WARN_S", 1.0)
    monkeypatch.setattr(runner, "WORKER_POLL_S", 0.2)
    files = _copies(tmp_path, 2)
    store = tmp_path / "st"
    with distributed.LocalCluster(n_workers=0, processes=False, threads_per_worker=1, dashboard_address=None,
                                  protocol="tcp://") as cl:
        address = cl.scheduler_address

        def workers_come_in_3_s():
            time.sleep(3.0)
            cl.scale(1)

        _in_background(workers_come_in_3_s)
        rc, out, err = run_cli("batch", *files, "--scheduler", address, "--store", store, "--table", tmp_path / "t",
                               "--no-progress", "--wait-for-workers", "120")
    assert rc == 0, err
    assert "2 analysed, 0 skipped (already done), 0 failed" in out, out
    said = [ln for ln in err.splitlines() if "Dask cluster" in ln]
    # the thread count where the scheduler answers when the files come back (a loaded one may not: the line is
    # said without it, CI 2026-12-05)
    assert said[0] == (f"prosody: warning: the Dask cluster at {address} has no workers (none for 1 s): 2 recordings "
                       "wait for one; the batch stops if none come within 2 min (finished files are kept), Ctrl-C "
                       "stops it now"), err
    assert said[1:] in ([f"prosody: the Dask cluster at {address} has workers again (1 thread); the batch goes on"],
                        [f"prosody: the Dask cluster at {address} has workers again; the batch goes on"]), err
    assert _sessions(store) == 2


def test_files_coming_back_end_a_spell_without_workers_whatever_the_scheduler_answers():
    """The scheduler's word on its workers can go unanswered under load (None) until every file is back: the
    "workers again" line was then never said after "no workers" (CI, 2026-12-05). Files coming back say it."""
    from prosody.batch import runner

    class Cluster:  # what _WorkerWatch asks of a Dask backend: its worker threads (None: no answer)
        def __init__(self):
            self.answer = 0

        def threads(self):
            return self.answer
    said = []
    cluster = Cluster()
    watch = runner._WorkerWatch(cluster, "tcp://h:1", limit_s=600.0)
    watch.check(said.append, waiting=2, saved=0)
    watch.since -= runner.NO_WORKERS_WARN_S  # a spell without workers long enough to be said
    watch.asked -= runner.WORKER_POLL_S
    watch.check(said.append, waiting=2, saved=0)
    assert [e.kind for e in said] == ["no_workers"]
    cluster.answer = None  # the scheduler does not answer; a file comes back
    watch.results_came(said.append)
    assert [e.kind for e in said] == ["no_workers", "workers_back"]
    assert said[1].reason == "the Dask cluster at tcp://h:1 has workers again; the batch goes on"
    watch.results_came(said.append)  # said once
    assert len(said) == 2 and watch.since is None


def test_wait_for_workers_is_refused_without_a_scheduler(tmp_path):
    rc, out, err = run_cli("batch", MONO, "--wait-for-workers", "5", "--store", tmp_path / "st", "--no-progress")
    assert rc == 2 and err == ("prosody: error: --wait-for-workers applies to --scheduler (local workers are "
                               "started by prosody)\n"), err
    assert not (tmp_path / "st").exists()


# -- 2. batch --scheduler: an unreachable scheduler leaves no trace in the store folder ------------------------------
def _free_port() -> int:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_unreachable_scheduler_leaves_no_store_and_no_ledger(tmp_path):
    """An unreachable scheduler left the --store folder made, with an empty batch ledger in it (the store was
    opened before the scheduler was tried). Now the scheduler is tried first: nothing is made, and a store
    already there is left as it was."""
    pytest.importorskip("distributed", reason="dask distributed not installed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    store = tmp_path / "st"
    rc, out, err = run_cli("batch", MONO, "--scheduler", address, "--store", store, "--table", tmp_path / "t",
                           "--no-progress")
    assert rc == 1 and err.count("\n") == 1, err
    assert err.startswith(f"prosody: error: cannot reach a Dask scheduler at {address} (nothing listens there): ")
    # before: st/ made, with batch.sqlite (and sessions.db) in it
    assert not store.exists(), sorted(p.name for p in store.iterdir())
    assert not (tmp_path / "t.csv").exists()
    # a store made by `analyze --save` (no batch ledger): untouched, no ledger added
    rc, out, err = run_cli("analyze", MONO, "--save", "--store", store, "--no-progress")
    assert rc == 0, err
    before = _tree(store)
    assert "batch.sqlite" not in before, sorted(before)
    rc, out, err = run_cli("batch", MONO, "--scheduler", address, "--store", store, "--table", tmp_path / "t",
                           "--no-progress")
    assert rc == 1 and "cannot reach a Dask scheduler" in err, err
    assert _tree(store) == before
    rc, out, err = run_cli("sessions", "--store", store)
    assert rc == 0 and out.startswith("1 session\n"), (out, err)


# -- 3. a manifest's channels (and speaker, layout, pitch_range) cell named as its column and row ---------------------
def test_a_manifest_channels_error_names_its_column_and_row(tmp_path, short_wav):
    """A bad ``channels`` cell failed its file as "--channels 'therapist=lft': ..." (an option the user never
    typed; which row?). Now "man.csv line 3: channels 'therapist=lft': ...", as read_manifest names the other
    columns; the command line's --channels, which a row with an empty cell takes, is still said as --channels."""
    for name in ("m1.wav", "m2.wav"):
        shutil.copy(MONO, tmp_path / name)
    with open(tmp_path / "m2.wav", "ab") as f:
        f.write(b"\0")
    shutil.copy(short_wav, tmp_path / "st.wav")
    man = tmp_path / "man.csv"
    man.write_text("file,file2,channels,layout,speaker,pitch_range\n"
                   "m1.wav,,unattributed=left,,,\n"
                   "m2.wav,,therapist=lft,,,\n"
                   "st.wav,,\"therapist=left,client=right\",shared,,\n"
                   "m1.wav,m2.wav,therapist=left,,,\n"
                   "m2.wav,,,,unattributed,\n"
                   "m1.wav,,,,,nobody=75-400\n")
    rc, out, err = run_cli("batch", man, "--store", tmp_path / "st", "--table", tmp_path / "t", "--no-progress",
                           "--jobs", "1")
    assert rc == 1, err
    failed = sorted(ln for ln in err.splitlines() if ln.startswith("prosody: failed: "))
    m1, m2, st = (str(tmp_path / n) for n in ("m1.wav", "m2.wav", "st.wav"))
    # before: "--channels 'unattributed=left': ...", "--channels 'therapist=lft': ...", "--channels
    # therapist=left,client=right names one speaker per channel, and --layout shared ...", "--channels applies
    # to one stereo file ...", "speaker 'unattributed': ..." (the column, no row)
    assert failed == sorted([
        f"prosody: failed: {m1}: {man} line 2: channels 'unattributed=left': prosody keeps the name 'unattributed' "
        "for speech it cannot attribute to anyone; name the speaker otherwise",
        f"prosody: failed: {m2}: {man} line 3: channels 'therapist=lft': channel 'lft' is not left, right or a "
        "number 1..1",
        f"prosody: failed: {st}: {man} line 4: channels therapist=left,client=right names one speaker per channel, "
        "and layout shared says both voices are on every channel, told apart by voice: give one or the other "
        "(layout separate with channels forces the channel mapping)",
        f"prosody: failed: {m1} + {m2}: {man} line 5: channels applies to one stereo file; with two files the "
        "first is the therapist and the second the client",
        f"prosody: failed: {m2}: {man} line 6: speaker 'unattributed': prosody keeps that name for speech it "
        "cannot attribute to anyone; name the speaker otherwise",
        f"prosody: failed: {m1}: {man} line 7: pitch_range 'nobody=75-400': unknown speaker 'nobody'; speakers are "
        "therapist"]), err
    assert all(f"--{o}" not in err for o in ("channels", "layout", "speaker", "pitch-range")), err
    # the command line's --channels, taken by a row whose cell is empty: said as the option
    man2 = tmp_path / "man2.csv"
    man2.write_text("file,channels\nst.wav,\n")
    rc, out, err = run_cli("batch", man2, "--channels", "therapist=lft,client=right", "--store", tmp_path / "st2",
                           "--table", tmp_path / "t2", "--no-progress", "--jobs", "1")
    assert rc == 1 and (f"prosody: failed: {st}: --channels 'therapist=lft,client=right': channel 'lft' is not "
                        "left, right or a number 1..2") in err.splitlines(), err


# -- 4. two files, the first carrying both voices -------------------------------------------------------------------
from tests import test_sweep_hostile13  # noqa: E402

unsure_wav = test_sweep_hostile13.unsure_wav  # the module's fixture (AMI dev01 s104 in noise)


def _stereo_fixture():
    import soundfile as sf
    x, sr = sf.read(Path(__file__).resolve().parents[1] / "fixtures" / "dialogue.flac", dtype="float32")
    return x, sr


def _analysed(tmp_path, *files) -> tuple[dict, str]:
    import json
    js = tmp_path / ("-".join(Path(f).stem for f in files) + ".json")  # each its own: no output is replaced (sweep 38)
    rc, out, err = run_cli("analyze", *files, "--json", js, "--no-progress")
    assert rc == 0, err
    return json.loads(js.read_text()), err


def test_two_files_whose_first_carries_both_voices_are_said(tmp_path, unsure_wav):
    """Two files, the first carrying both voices (the fixture dialogue mixed to one channel; AMI dev01's two men
    in noise, said unsure) and the second digital silence, were read one speaker per file without a word but
    "client never speaks": the therapist's warmth (41; 61) over both people's speech. The files are still read
    as given (the user's word), but one line now says what the therapist's figures are, and what to do."""
    import numpy as np
    import soundfile as sf
    x, sr = _stereo_fixture()
    mix, sil = tmp_path / "mix.wav", tmp_path / "silence.wav"
    sf.write(mix, x.mean(axis=1), sr, subtype="PCM_16")
    sf.write(sil, np.zeros(len(x), np.float32), sr, subtype="PCM_16")
    doc, err = _analysed(tmp_path, mix, sil)
    said = [w for w in doc["warnings"] if "carries two voices" in w or "may carry two voices" in w]
    # before: []
    assert said == [f"{mix} (the therapist's file) carries two voices, and {sil} is silent; read as given, one "
                    "speaker per file, the therapist's figures (warmth included) are both people's: analysed alone "
                    f"(`prosody analyze {mix}`) its two voices are told apart"], doc["warnings"]
    assert err.count("carries two voices") == 1, err
    assert doc["speaker_order"] == ["therapist", "client"]  # as given
    # what it says to do works: the mix alone is told apart into two voices
    alone, _ = _analysed(tmp_path, mix)
    assert alone["speaker_order"] == ["therapist", "client"] and alone["speakers"]["client"]["speech_s"] > 5.0
    # the unsure recording as the therapist's file, silence as the client's
    n = sf.info(unsure_wav).frames
    sil2 = tmp_path / "silence2.wav"
    sf.write(sil2, np.zeros(n, np.float32), 16000, subtype="PCM_16")
    doc, err = _analysed(tmp_path, unsure_wav, sil2)
    said = [w for w in doc["warnings"] if "carries two voices" in w or "may carry two voices" in w]
    assert said == [f"{unsure_wav} (the therapist's file) may carry two voices: who spoke when in it is unsure, "
                    f"and {sil2} is silent; read as given, one speaker per file, the therapist's figures (warmth "
                    f"included) may be both people's (analysed alone, `prosody analyze {unsure_wav}`, its speech is "
                    "left unattributed; record one file per person)"], doc["warnings"]


def test_two_files_of_one_voice_each_are_unchanged(tmp_path):
    """Genuine one-voice-per-file input: the fixture dialogue's channels as two files (no file silent: nothing
    more is looked at), and the one-voice fixture with a silent second file (one voice found there: as
    before): no new line; the existing two-file tests (tests/test_separate_claim.py and others) pass unchanged."""
    import numpy as np
    import soundfile as sf
    x, sr = _stereo_fixture()
    left, right = tmp_path / "left.wav", tmp_path / "right.wav"
    sf.write(left, x[:, 0], sr, subtype="PCM_16")
    sf.write(right, x[:, 1], sr, subtype="PCM_16")
    doc, err = _analysed(tmp_path, left, right)
    assert not [w for w in doc["warnings"] if "two voices" in w], doc["warnings"]
    assert doc["speaker_order"] == ["therapist", "client"]
    m, sr = sf.read(MONO, dtype="float32")
    sil = tmp_path / "sil.wav"
    sf.write(sil, np.zeros(len(m), np.float32), sr, subtype="PCM_16")
    doc, err = _analysed(tmp_path, MONO, sil)
    assert not [w for w in doc["warnings"] if "two voices" in w], doc["warnings"]
    assert doc["speakers"]["therapist"]["speech_s"] > 3.0


# -- 5. a session stored unsure before the forty-sixth round --------------------------------------------------------
def _old_unsure_store(tmp_path, unsure_wav) -> tuple[Path, str, dict]:
    """A version-4 store holding the unsure recording as prosody wrote it before the forty-sixth round: its one
    voice named the therapist, with her warmth (69) and store role, beside the ``unsure`` record. The document
    is today's analysis with --voices 1 (the same speech, segments and measures: checked against a store the old
    code made, the measures identical) given the old analysis' diarization record and warning; the rows are
    written as the old code wrote them (the version-4 schema exactly as shipped, the derived rows from that
    document). Returns (store folder, the stored document's text, today's analysis of the recording)."""
    import json
    import os
    import sqlite3
    from prosody.frames import frames_to_npz_bytes
    from prosody.store.db import MIGRATIONS, Store, _insert_derived
    scratch = tmp_path / "scratch"
    assert run_cli("analyze", unsure_wav, "--voices", "1", "--save", "--store", scratch, "--quiet",
                   "--no-progress")[0] == 0
    assert run_cli("analyze", unsure_wav, "--save", "--store", scratch, "--quiet", "--no-progress")[0] == 0
    with Store(scratch) as st:
        (s1, frames), s2 = st.read(1), st.get(2)
    doc, now = s1.doc, s2.doc
    assert doc["speaker_order"] == ["therapist"] and doc["measures"]["warmth"]["score"] > 60.0
    dz = doc["attribution"]["diarization"]
    dz.pop("voices_told")
    dz.update(unsure=True, unsure_split_share=0.103, separation=0.34)
    doc["attribution"]["attribution"] = now["attribution"]["attribution"]
    unsure_said = [w for w in now["warnings"] if w.startswith("who spoke when is unsure")]
    doc["warnings"] = [unsure_said[0] if w.startswith("one voice, as told by --voices 1") else w
                       for w in doc["warnings"]]
    doc["attribution"]["warnings"] = [unsure_said[0] if w.startswith("one voice, as told by --voices 1") else w
                                      for w in doc["attribution"]["warnings"]]
    assert any(w.startswith("assumption: no voice profile") for w in doc["warnings"])
    folder = tmp_path / "old"
    (folder / "frames").mkdir(parents=True, mode=0o700)
    os.chmod(folder, 0o700)
    (folder / "frames" / "abcd1234.a1b2c3.npz").write_bytes(frames_to_npz_bytes(frames, ["therapist"]))
    text = json.dumps(doc, ensure_ascii=False)
    db = sqlite3.connect(folder / "sessions.db", isolation_level=None)
    for m in MIGRATIONS[:4]:  # the version-4 schema, exactly as shipped
        m(db)
    db.execute("PRAGMA user_version = 4")
    db.execute("INSERT INTO sessions (uid, saved_at, recorded_at, therapist, client, session_number, duration_s, "
               "turn_taking, schema, doc, frames_file) VALUES ('abcd1234', '2026-11-01T10:00:00', "
               "'2026-11-01T09:00:00', 'ann', 'C7', 1, ?, 0, ?, ?, 'abcd1234.a1b2c3.npz')",
               (doc["duration_s"], doc["schema"], text))
    _insert_derived(db, 1, doc)  # the rows the old code derived from its document: role therapist, warmth 69
    db.execute("INSERT INTO tags (session_id, tag) VALUES (1, 'intake')")
    db.execute("INSERT INTO bookmarks (session_id, time_s, note) VALUES (1, 12.5, 'mark')")
    db.close()
    return folder, text, now


def test_a_session_stored_unsure_before_the_46th_round_is_read_unattributed(tmp_path, unsure_wav):
    """Sessions stored unsure before the forty-sixth round kept their voice named the therapist everywhere:
    `show`, the report, `moments`, `export` showed her warmth (69 / 100) over speech that may be both men's, and
    `trend` / `compare` / `sessions` counted it as hers. Now every read sees such a session as an analysis does
    today (the voice `unattributed`, no warmth or cues, the reason said) and the store's derived rows follow (a
    fifth migration); the stored document, tags, bookmarks are the user's and stay as they were."""
    import json
    from tests.conftest import one_line_error
    from prosody.store.db import SCHEMA_VERSION, Store
    from prosody.types import UNATTRIBUTED
    store, text, now = _old_unsure_store(tmp_path, unsure_wav)
    db = store / "sessions.db"
    assert count_rows(db, "SELECT COUNT(*) FROM speakers WHERE role = 'therapist'") == 1  # as the old code left it
    assert count_rows(db, "SELECT warmth_score FROM sessions") > 60.0
    with Store(store) as st:  # the migration to version 5
        assert st.schema_version == SCHEMA_VERSION == 6  # 6 since hostile sweep 40 (audio_hashes)
        s, frames = st.read(1)
        m = st.metrics([1])[1]
        info = st.list()[0]
        assert st.frames(1).keys() == {UNATTRIBUTED}
    # before: role therapist, warmth 69.4 in the listing, the trend and the comparison
    assert count_rows(db, "SELECT COUNT(*) FROM speakers WHERE role = 'unattributed' AND speaker = 'unattributed'") == 1
    assert count_rows(db, "SELECT COUNT(*) FROM speakers WHERE role IN ('therapist', 'client')") == 0
    assert count_rows(db, "SELECT COUNT(*) FROM measures WHERE key LIKE 'therapist%' OR key LIKE 'client%'") == 0
    assert info.warmth_score is None and m.get("warmth.score") is None and info.speakers == (UNATTRIBUTED,)
    assert m["unattributed.speech_s"] == now["speakers"][UNATTRIBUTED]["speech_s"]
    # the user's data as it was: the stored document, tags, bookmark
    assert count_rows(db, "SELECT doc = " + "'" + text.replace("'", "''") + "' FROM sessions WHERE id = 1") == 1
    assert s.info.meta.tags == ("intake",) and [b.note for b in s.bookmarks] == ["mark"]
    # read as today's analysis of the recording reads: every measure, the segments, the speakers' figures
    doc = s.doc
    assert doc["speaker_order"] == [UNATTRIBUTED] and doc["measures"] == now["measures"]
    assert doc["segments"] == now["segments"] and doc["speakers"] == now["speakers"]
    assert doc["attribution"]["naming"] == now["attribution"]["naming"]
    assert doc["audio"]["picks"] == now["audio"]["picks"]
    assert not [w for w in doc["warnings"] if w.startswith("assumption:")]
    assert doc["warnings"][-1] == (
        "who spoke when was said unsure when this session was analysed, and its one voice was saved as 'therapist' "
        "by an earlier prosody: it is read as unattributed (its speech may be both people's), without warmth or "
        "cues; the stored session is unchanged, and analysing the recording again gives the same reading")
    assert frames.keys() == {UNATTRIBUTED} and len(frames[UNATTRIBUTED]["f0_hz"]) > 3000
    # through the commands
    rc, out, err = run_cli("show", "1", "--store", store)
    flat = " ".join(out.split())
    assert rc == 0 and "per speaker unattributed" in flat and "Warmth – " in flat, out
    assert "saved as 'therapist' by an earlier prosody" in flat and "assumption" not in flat, out
    # its last line said "warmth –/100 (relative to the therapist's own baseline ...)", as for any unsure session
    assert "therapist's own baseline" not in flat and "warmth –/100" not in flat, out  # no warmth line (sweep 15)
    rc, out, err = run_cli("report", "1", "--store", store, "-o", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert rc == 0 and ">unattributed<" in page and "saved as &#x27;therapist&#x27; by an earlier prosody" in page
    assert "69.4" not in page.replace("L", " ").split("<svg")[0], err  # no warmth score (svg paths aside)
    rc, out, err = run_cli("moments", "1", "--store", store)
    assert rc == 0 and "who spoke when is unsure in this session" in " ".join(out.split()), (out, err)
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "dialogue.flac"
    assert run_cli("analyze", fixture, "--save", "--store", store, "--therapist", "ann", "--client", "C7",
                   "--quiet", "--no-progress")[0] == 0
    rc, out, err = run_cli("compare", "1", "2", "--store", store)
    row = next(line for line in out.splitlines() if line.startswith("speakers"))
    assert rc == 0 and "unattributed" in row and "therapist, client" in row, out
    rc, out, err = run_cli("trend", "--therapist", "ann", "--store", store)
    assert rc == 0 and "session 1: who spoke when is unsure, the speech left unattributed" in " ".join(out.split())
    rc, out, err = run_cli("export", "1", "--store", store, "-o", tmp_path / "e.json")
    assert rc == 0, err
    exported = json.loads((tmp_path / "e.json").read_text())
    assert exported["speaker_order"] == [UNATTRIBUTED] and exported["measures"]["warmth"]["score"] is None
    rc, out, err = run_cli("import", tmp_path / "e.json", "--store", tmp_path / "new")
    assert rc == 0, err
    assert count_rows(tmp_path / "new" / "sessions.db", "SELECT role FROM speakers") == UNATTRIBUTED
    rc, out, err = run_cli("relabel", "1", "--store", store)
    one_line_error(rc, err)
    assert "--voices 2" in err
    rc, out, err = run_cli("enrol", "--from-session", "1", "--therapist", "ann", "--store", store)
    one_line_error(rc, err)


# -- found on the way: the scheduler itself lost mid-batch -----------------------------------------------------------
def test_a_dask_scheduler_lost_mid_batch_is_one_line_and_a_re_run_resumes(tmp_path, monkeypatch):
    """The scheduler stopped (killed) while files were analysed: Dask's client printed its own tracebacks
    ("distributed.client - ERROR - Failed to reconnect ... asyncio.exceptions.CancelledError") and the batch
    ended in "internal error (FuturesCancelledError: 2 Futures cancelled ... scheduler-connection-lost ...)".
    Now one line says the connection to the scheduler was lost and what was saved; exit 1, nothing else on
    stderr; a re-run on a running cluster analyses only the rest."""
    import asyncio
    distributed = pytest.importorskip("distributed", reason="dask distributed not installed")
    files = _copies(tmp_path, 4)
    store = tmp_path / "st"
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
                                  protocol="tcp://") as cl:
        address = cl.scheduler_address

        _after_the_first_session(store, lambda: asyncio.run_coroutine_threadsafe(cl.scheduler.close(),
                                                                                 cl.loop.asyncio_loop))
        rc, out, err = run_cli("batch", *files, "--scheduler", address, "--store", store, "--table", tmp_path / "t",
                               "--no-progress")
    assert rc == 1, err
    saved = _sessions(store)
    assert 1 <= saved < 4, err
    last = err.splitlines()[-1]
    assert last == (f"prosody: error: lost the connection to the Dask scheduler at {address} (it stopped, or the "
                    f"network between failed): its tasks are gone; {saved} recording{'s' if saved != 1 else ''} "
                    f"finished and saved in the store, {4 - saved} recording{'s' if 4 - saved != 1 else ''} not "
                    "analysed; run the same command again once the scheduler runs to continue where it stopped"), err
    assert "Traceback" not in err and "internal error" not in err and "distributed" not in err, err
    import logging
    assert logging.getLogger("distributed.client").level != logging.CRITICAL  # restored
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
                                  protocol="tcp://") as cl:
        rc, out, err = run_cli("batch", *files, "--scheduler", cl.scheduler_address, "--store", store, "--table",
                               tmp_path / "t", "--no-progress")
    assert rc == 0, err
    assert f"{4 - saved} analysed, {saved} skipped (already done), 0 failed" in out, out


def test_a_batch_re_run_tables_an_old_unsure_session_as_it_is_read(tmp_path, unsure_wav):
    """`batch` run again over an archive takes a file already done from its ledger's table row, written when it
    was analysed: for a session saved unsure before the forty-sixth round the row named its voice the therapist
    with her warmth (69), though the store now reads it unattributed. The row is made again when the store's
    speakers differ from the ledger's (one query per file)."""
    import csv
    import json
    import sqlite3
    store = tmp_path / "st"
    argv = ("batch", unsure_wav, "--voices", "1", "--jobs", "1", "--store", store, "--no-progress", "--no-parquet")
    rc, out, err = run_cli(*argv, "--table", tmp_path / "t1")
    assert rc == 0, err
    row1 = next(csv.DictReader(open(tmp_path / "t1.csv")))
    assert row1["speakers"] == "therapist" and float(row1["warmth_score"]) > 60.0
    # the stored session as the code before the forty-sixth round saved an unsure one (rows as it derived them)
    db = sqlite3.connect(store / "sessions.db", isolation_level=None)
    doc = json.loads(db.execute("SELECT doc FROM sessions WHERE id = 1").fetchone()[0])
    doc["attribution"]["diarization"].pop("voices_told")
    doc["attribution"]["diarization"].update(unsure=True, unsure_split_share=0.103, separation=0.34)
    db.execute("UPDATE sessions SET doc = ? WHERE id = 1", (json.dumps(doc),))
    db.execute("DROP TABLE audio_hashes")  # schema 6's (hostile sweep 40)
    db.execute("PRAGMA user_version = 4")
    db.close()
    rc, out, err = run_cli(*argv, "--table", tmp_path / "t2")
    assert rc == 0 and "0 analysed, 1 skipped (already done), 0 failed" in out, (out, err)
    row2 = next(csv.DictReader(open(tmp_path / "t2.csv")))
    # before: speakers therapist, warmth 69.4, the therapist's columns filled
    assert row2["speakers"] == "unattributed" and row2["warmth_score"] == "", row2
    assert row2["therapist.speech_s"] == "" and row2["session_id"] == "1", row2


def test_an_old_unsure_session_analysed_with_a_personal_baseline_drops_the_figures_against_it(tmp_path, unsure_wav):
    """The last stop's leftover: an unsure session saved before the forty-sixth round with `--baseline` (the
    therapist's personal profile) kept, once read as unattributed, its voice figures measured against the
    therapist's profile (pitch -6.6 st under it, arousal) over speech that may be both people's. An analysis now
    does not use the profile there (it compares the voice with its own session); the old document's frames are
    not read, so those figures are left out, said in a warning; the figures of the voice's own (speech time, pitch
    spread) stay, and a session analysed without a profile is read as before."""
    import json
    from prosody.store.unsure import PROFILE_NOTE, PROFILE_RELATIVE, as_unattributed
    base = tmp_path / "base.json"
    assert run_cli("analyze", MONO, "--save-baseline", base, "--quiet")[0] == 0
    docs = {}
    for told in ("profile", "none"):
        extra = ("--baseline", base) if told == "profile" else ()
        out = tmp_path / f"{told}.json"
        assert run_cli("analyze", unsure_wav, "--voices", "1", *extra, "--json", out, "--quiet")[0] == 0
        doc = json.loads(out.read_text())
        doc["attribution"]["diarization"].update(unsure=True)  # as the old code saved it: its one voice named
        assert doc["speaker_order"] == ["therapist"]
        docs[told] = doc
    old = docs["profile"]
    assert old["measures"]["baseline"]["kind"] == "profile"
    assert old["measures"]["voice"]["therapist"]["f0_median_rel_st"] is not None  # against the therapist's 115 Hz
    read = as_unattributed(old)
    v = read["measures"]["voice"]["unattributed"]
    assert all(v[k] is None for k in PROFILE_RELATIVE if k in v) and v["arousal_parts"] == {}
    assert v["speech_s"] == old["measures"]["voice"]["therapist"]["speech_s"] and v["f0_sd_st"] is not None
    assert "unattributed" not in read["measures"]["baseline"]["speakers"]  # the profile is the therapist's
    for ph in read["measures"]["phases"]:
        assert ph["voice"]["unattributed"]["f0_median_rel_st"] is None
    assert PROFILE_NOTE in read["warnings"]
    plain = as_unattributed(docs["none"])  # a session baseline: the voice against itself, kept
    assert plain["measures"]["voice"]["unattributed"]["f0_median_rel_st"] is not None
    assert PROFILE_NOTE not in plain["warnings"]
