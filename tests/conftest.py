import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"


def corpus_dir() -> Path | None:
    env = os.environ.get("PROSODY_CORPUS")
    p = Path(env) if env else REPO.parent / "shared" / "corpus"
    return p if p.is_dir() else None


def read_pty(fd: int, wait_s: float = 0.05) -> bytes | None:
    """What a pseudo-terminal's ``fd`` has to read within ``wait_s`` (b"" if nothing yet); None once it is
    closed (the program on it ended)."""
    import select
    if not select.select([fd], [], [], wait_s)[0]:
        return b""
    try:
        return os.read(fd, 65536) or None
    except OSError:
        return None


def ami_lone_voices(speakers=("FEE078", "FEE083", "MEE009")) -> dict:
    """AMI speaker -> (voice profile from the first half of their turns, the second half alone as a
    recording), as benchmarks/lone_voice.py builds them; skips the test when the corpus is absent."""
    import sys
    from prosody.engine.speakers import build_profile
    if corpus_dir() is None:
        pytest.skip("PROSODY_CORPUS is not set: the AMI recordings are not at hand")
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _common import halves
    from lone_voice import _pieces, enrolment, lone
    out = {}
    for i, spk in enumerate(speakers):
        first, second = halves(_pieces(spk, corpus_dir()))
        out[spk] = build_profile(enrolment(first, "clean", 100 + i)), lone(second, 200 + i)
    return out


@pytest.fixture
def corpus() -> Path:
    p = corpus_dir()
    if p is None:
        pytest.skip("shared corpus not found (../shared/corpus or $PROSODY_CORPUS): skipping real-recording check")
    return p


def skip_without_espeak() -> None:
    """Skips the test (or a module fixture) where espeak-ng, which synthesises the dialogues, is missing."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")


@pytest.fixture
def needs_espeak():
    skip_without_espeak()


@pytest.fixture(scope="session")
def fixture_dialogue():
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    truth = json.loads((FIXTURES / "dialogue.truth.json").read_text())
    assert sr == 16000
    return audio, truth


@pytest.fixture(scope="module")
def short_wav(tmp_path_factory, fixture_dialogue):
    """8 s of the stereo fixture dialogue (therapist left, client right), as a WAV file."""
    audio, _ = fixture_dialogue
    p = tmp_path_factory.mktemp("audio") / "short.wav"
    sf.write(p, audio[: 8 * 16000], 16000, subtype="PCM_16")
    return p


@pytest.fixture(scope="module")
def analysed(short_wav):
    """The session of ``short_wav`` (tests/test_hardening.py, tests/test_store_damage.py)."""
    from prosody.session import analyze_blocks
    return analyze_blocks([sf.read(short_wav, dtype="float32")[0]], ("therapist", "client"),
                          sources=[str(short_wav)])


def match_transitions(pred, truth, *, tol_s=0.3):
    """Pair each planted transition with the predicted one of the same
    direction whose start is nearest (within tol_s). Returns (pairs, missed)."""
    pairs, missed = [], []
    for t in truth:
        cands = [p for p in pred if p["to_speaker"] == t["to_speaker"] and abs(p["to_start_s"] - t["to_start_s"]) < tol_s]
        if cands:
            pairs.append((t, min(cands, key=lambda p: abs(p["to_start_s"] - t["to_start_s"]))))
        else:
            missed.append(t)
    return pairs, missed


def match_events(pred, truth, *, tol_s=0.3):
    missed = [t for t in truth if not any(p["kind"] == t["kind"] and p["speaker"] == t["speaker"]
                                          and abs(p["start_s"] - t["start_s"]) < tol_s for p in pred)]
    return missed


def offsets_error_s(pairs):
    return np.array([p["offset_s"] - t["offset_s"] for t, p in pairs])


def run_cli(*argv) -> tuple[int, str, str]:
    """``prosody ARGV`` in this process with stdout/stderr captured: (exit status, stdout, stderr)."""
    import io
    import sys
    from prosody_cli.main import main
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        rc = main([str(a) for a in argv])
    finally:
        sys.stdout, sys.stderr = old
    return rc, out.getvalue(), err.getvalue()


def one_line_error(rc, err, code=2):
    """A refusal as every command gives one: exit status ``code``, one line on stderr that starts
    ``prosody: error: ``, no internal error and no traceback."""
    assert rc == code, (rc, err)
    assert err.startswith("prosody: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err, err


def assert_group_gone(pgid: int, *, within_s: float = 5.0) -> None:
    """Every process of group ``pgid`` (a command started with ``start_new_session=True``: its batch
    workers) has exited within ``within_s``; else they are killed and the test fails."""
    import os
    import signal
    import subprocess
    import time
    for _ in range(int(within_s / 0.1)):
        if subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True).returncode != 0:
            return
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)
    pytest.fail("worker processes were left running after the signal")


def count_rows(db_path, sql) -> int:
    """The first column of the first row ``sql`` gives on the database at ``db_path``, opened read-only."""
    import sqlite3
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def export_saved(tmp_path, wav) -> tuple[Path, Path]:
    """(JSON, frames .npz) of ``wav`` analysed, saved in a store under ``tmp_path`` and exported with -o
    (``tmp_path/s.json``, ``tmp_path/s.frames.npz``): an export to tamper with."""
    store = tmp_path / "src"
    assert run_cli("analyze", wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "s.json")[0] == 0
    return tmp_path / "s.json", tmp_path / "s.frames.npz"


def planted_batch(base, short_wav):
    """``short_wav`` copied under a folder and file name carrying a client's real name and analysed by
    ``prosody batch`` into ``base/store`` with typed names and notes (Therapist-Zyxwv, Pseudo-Qwvut,
    Notes-Plmkj, Realname-Quixote): needles for the tests that delete must leave no trace of. Returns
    (store folder, the therapist's stored f0_median_hz: a figure to look for as bytes)."""
    from prosody.store.db import Store
    folder = base / "Client-Realname-Quixote"
    folder.mkdir()
    rec = folder / "session-with-quixote.wav"
    rec.write_bytes(short_wav.read_bytes())
    store = base / "store"
    rc, out, err = run_cli("batch", rec, "--jobs", "1", "--store", store, "--table", base / "t", "--no-progress",
                           "--therapist", "Therapist-Zyxwv", "--client", "Pseudo-Qwvut", "--notes", "Notes-Plmkj")
    assert rc == 0, err
    with Store(store) as st:
        f0 = st.get(1).doc["speakers"]["therapist"]["f0_median_hz"]
    return store, f0


@pytest.fixture
def pulse():
    """A private PulseAudio server for one test (``tests.pulse``), stopped after it; the test is skipped
    where none can be started."""
    from tests.pulse import started_or_skip
    server = started_or_skip()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_sessions_store(tmp_path_factory):
    """A store holding the fixture dialogue (session 1) and the mono fixture (session 2)."""
    d = tmp_path_factory.mktemp("saved")
    for f in ("dialogue.flac", "mono_therapist.wav"):
        rc, out, err = run_cli("analyze", FIXTURES / f, "--save", "--store", d / "store", "--quiet",
                               "--no-progress")
        assert rc == 0, err
    return d / "store"


@pytest.fixture
def fat_mount(tmp_path):
    """A 16 MB FAT image mounted by fusefat at ``tmp_path / "vf"`` (skipped where mkfs.vfat, fusefat or /dev/fuse
    is missing, or the mount fails); unmounted after."""
    import subprocess
    if not (shutil.which("mkfs.vfat") and shutil.which("fusefat") and os.path.exists("/dev/fuse")):
        pytest.skip("needs mkfs.vfat, fusefat and /dev/fuse")
    image, mount = tmp_path / "fat.img", tmp_path / "vf"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    subprocess.run(["mkfs.vfat", str(image)], check=True, capture_output=True)
    if subprocess.run(["fusefat", "-o", "rw+", str(image), str(mount)], capture_output=True).returncode != 0:
        pytest.skip("fusefat could not mount here")
    yield mount
    done = subprocess.run(["fusermount", "-u", str(mount)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
