"""Hostile sweep 50 (docs/store.md "Hostile sweep 50"): sweep 49's leftovers, then fresh hostile inputs.

1. A 0-byte sessions.db was given the store's schema, a frames folder and owner-only modes by `sessions`, a
   listing (and `show`, `trend`, `delete`, `edit`...): "0 sessions", exit 0. Now "no session store ... (its
   sessions.db is empty, 0 bytes ...)", exit 1, the folder as it was.
2. `sessions`, `show`, `moments` whose standard output's reader went exited 1 with no word (rich's own end on a
   broken pipe), where `export` said "cannot write to standard output: Broken pipe". Now they say it too.
3. `analyze` said its unwritten outputs after its summary: a reader of the top saw the summary alone, and a summary
   whose reader went took the lines with it (exit 1, nothing said). Now they come before it.
4. An ALAC CAF with its packet table before its audio (as Core Audio writes it) cut short was said against 7.68 s
   of a 7.50 s recording (FFmpeg's count holds the last packet's padding), and one cut inside a packet as
   "decoding stopped". Now "is truncated: ... header says 7.50 s".
5. A new store on a full disk: "the store is unchanged", and its folder, frames folder and a 0-byte sessions.db
   left. Now nothing is left.
"""
from __future__ import annotations

import os
import resource
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.test_sweep_hostile43 import FIXTURES
from tests.test_sweep_hostile48 import _read_all

QUIET = ("--quiet", "--no-progress")
RECORDING = FIXTURES / "mono_therapist.wav"
ROOT = Path(__file__).resolve().parent.parent
BROKEN_PIPE = "prosody: error: cannot write to standard output: Broken pipe\n"


def _prosody(argv: list, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "prosody_cli.main", *map(str, argv)], cwd=cwd, env=env,
                          timeout=300, **kw)


def _reader_gone(argv: list, cwd: Path, **kw) -> tuple[int, str]:
    """``prosody ARGV | true``: standard output a pipe whose reader closed before the command started; (exit
    status, standard error)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _prosody(argv, cwd, stdout=write_end, stderr=subprocess.PIPE, text=True, **kw)
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


# -- 1. a 0-byte sessions.db read by a listing ----------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["sessions"], ["show", "1"], ["moments", "1"], ["trend", "--therapist", "A"],
                                  ["delete", "1"], ["edit", "1", "--client", "B"], ["enrol", "--list"]])
def test_an_empty_database_is_said_and_left_as_it_is(tmp_path, argv):
    """Before: `sessions --store st` over a 0-byte st/sessions.db said "0 sessions", exit 0, and wrote the schema
    (151552 bytes), made st/frames and set the modes to 0700 / 0600. Now one line, exit 1, nothing changed."""
    store = tmp_path / "st"
    store.mkdir(mode=0o755)
    (store / "sessions.db").touch(mode=0o644)
    os.chmod(store, 0o755)
    os.chmod(store / "sessions.db", 0o644)
    rc, out, err = run_cli(*argv, "--store", store)
    assert rc == 1 and out == "" and err == (
        f"prosody: error: no session store at {store} (its sessions.db is empty, 0 bytes, and no session's file is "
        "beside it); it was left as it is: check --store or $PROSODY_STORE; `prosody analyze --save` makes it a "
        "store\n"), err
    assert sorted(p.name for p in store.iterdir()) == ["sessions.db"]
    assert (store / "sessions.db").stat().st_size == 0
    assert (store.stat().st_mode & 0o777, (store / "sessions.db").stat().st_mode & 0o777) == (0o755, 0o644)


def test_an_empty_database_beside_frames_is_still_said_lost_and_a_save_still_makes_the_store(tmp_path):
    """The empty database beside a session's frames file: lost or truncated, as before (the frames are not left
    unsaid); an empty one alone is made a store by `analyze --save`, as before."""
    store = tmp_path / "st"
    (store / "frames").mkdir(parents=True)
    (store / "sessions.db").touch()
    (store / "frames" / "0123abcd.0123ab.npz").write_bytes(b"x")
    rc, _, err = run_cli("sessions", "--store", store)
    assert rc == 1 and "is empty (0 bytes), but the store holds 1 frames file" in err, err
    (store / "frames" / "0123abcd.0123ab.npz").unlink()
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 0
    assert run_cli("sessions", "--store", store)[1].startswith("1 session\n")


# -- 2. a listing whose reader goes ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def one_session(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("one") / "st"
    assert run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", store, *QUIET)[0] == 0
    return store


@pytest.mark.parametrize("argv", [["sessions"], ["show", "1"], ["moments", "1"], ["compare", "1", "1"]])
def test_a_listing_whose_reader_went_says_so(tmp_path, one_session, argv):
    """Before: `sessions | true` (and `show 1`, `moments 1`, `compare 1 1`): exit 1, nothing said (rich put
    /dev/null on standard output and left with SystemExit(1)). Now the line `export` says, exit 1."""
    rc, err = _reader_gone([*argv, "--store", one_session], tmp_path)
    assert rc == 1 and err.endswith(BROKEN_PIPE) and "Traceback" not in err, err


# -- 3. analyze's unwritten outputs and its summary ----------------------------------------------------------------

def _small_files() -> None:
    """Files of at most 4 KiB (a write beyond: EFBIG, "File too large"; Python ignores SIGXFSZ): an output that
    fails after the analysis, as on a full disk, for any user."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))


# the system's "File too large" and the limit that made it, what to do (hostile sweep 53)
UNWRITTEN = ("prosody: error: cannot write big.json: File too large: this process may write no file beyond 4,096 "
             "bytes (its file-size limit, `ulimit -f`); raise the limit (`ulimit -f unlimited`) and try again; it "
             "was not written\n")


def test_an_unwritten_output_is_said_before_the_summary(tmp_path):
    """Before: the summary (standard output), then "cannot write big.json ..." under it. Now the line comes first
    (both streams read together, as on a terminal); exit 1."""
    done = _prosody(["analyze", RECORDING, "--json", "big.json", "--no-progress"], tmp_path, preexec_fn=_small_files,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said = done.stdout
    assert done.returncode == 1 and not (tmp_path / "big.json").exists()
    failed = said.index(UNWRITTEN)
    assert failed < said.index(f"prosody · 7.5 s · {RECORDING}"), said


def test_an_unwritten_output_is_said_when_the_summarys_reader_went(tmp_path):
    """Before: `analyze r.wav --json big.json | true`: exit 1 and no word of big.json (the summary's broken pipe
    ended the command before its lines). Now both said, exit 1."""
    rc, err = _reader_gone(["analyze", RECORDING, "--json", "big.json", "--no-progress"], tmp_path,
                           preexec_fn=_small_files)
    assert rc == 1 and UNWRITTEN in err, err
    assert err.endswith(BROKEN_PIPE), err


# -- 4. an ALAC CAF cut short --------------------------------------------------------------------------------------

def _chunks(data: bytes) -> dict[bytes, bytes]:
    """A CAF file's chunks (type -> whole chunk: type, size, data), in the file's order."""
    pos, out = 8, {}
    while pos < len(data):
        size = struct.unpack(">q", data[pos + 4:pos + 12])[0]
        out[data[pos:pos + 4]] = data[pos:pos + 12 + size]
        pos += 12 + size
    return out


def _packet_sizes(pakt: bytes) -> list[int]:
    """The packet table's byte sizes (variable-length integers after its 24-byte header)."""
    n = struct.unpack(">q", pakt[12:20])[0]
    pos, sizes = 36, []
    while len(sizes) < n:
        v = 0
        while True:
            c = pakt[pos]
            pos += 1
            v = (v << 7) | (c & 0x7F)
            if not c & 0x80:
                break
        sizes.append(v)
    return sizes


@pytest.fixture(scope="module")
def core_audio_alac(tmp_path_factory) -> tuple[Path, bytes, list[int]]:
    return write_core_audio_alac(tmp_path_factory.mktemp("caf"))


def write_core_audio_alac(folder: Path) -> tuple[Path, bytes, list[int]]:
    """A 7.50 s ALAC CAF laid out as Core Audio writes it, its packet table before its audio, in ``folder``; (path,
    bytes, each packet's size). FFmpeg writes the table last, where a cut loses it (the file then refused whole)."""
    av = pytest.importorskip("av")
    rate, seconds = 16000, 7.5
    t = np.arange(int(seconds * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)[None, :]
    ffmpeg_made = folder / "f.caf"
    with av.open(str(ffmpeg_made), "w", format="caf") as container:
        stream = container.add_stream("alac", rate=rate, layout="mono")
        for i in range(0, x.shape[1], 4096):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, i:i + 4096]), format="s16p", layout="mono")
            frame.rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = ffmpeg_made.read_bytes()
    chunks = _chunks(data)
    assert list(chunks)[-2:] == [b"data", b"pakt"]
    rest = b"".join(c for k, c in chunks.items() if k not in (b"data", b"pakt"))
    whole = folder / "w.caf"
    whole.write_bytes(data[:8] + rest + chunks[b"pakt"] + chunks[b"data"])
    return whole, whole.read_bytes(), _packet_sizes(chunks[b"pakt"])


def cut_after_packets(path: Path, data: bytes, sizes: list[int], n: int, *, part: int = 0) -> tuple[float, list]:
    """``data`` (``write_core_audio_alac``'s) cut after its first ``n`` packets and ``part`` bytes of the next, into
    ``path``; (seconds read, the warnings)."""
    audio_at = data.index(b"data") + 12 + 4  # the chunk's head, then its edit count
    path.write_bytes(data[:audio_at + sum(sizes[:n]) + part])
    return _read_all(path)


def test_an_alac_caf_cut_between_packets_is_said_against_its_own_length(tmp_path, core_audio_alac):
    """Before: the whole file read 7.50 s; cut after 15 of its 30 packets, "its header says 7.68 s, read 3.84 s"
    (7.68 s: FFmpeg's count, which holds the last packet's 2880 frames of padding). Now 7.50 s, the packet
    table's valid frames."""
    whole, data, sizes = core_audio_alac
    got_s, warnings = _read_all(whole)
    assert got_s == pytest.approx(7.5, abs=0.001) and warnings == []
    cut = tmp_path / "c.caf"
    got_s, warnings = cut_after_packets(cut, data, sizes, 15)
    assert got_s == pytest.approx(15 * 4096 / 16000, abs=0.001)
    assert warnings == [f"{cut} is truncated: its header says 7.50 s, read 3.84 s (every block it holds); analysed "
                        "the readable part"], warnings


def test_an_alac_caf_cut_inside_a_packet_is_said_truncated(tmp_path, core_audio_alac):
    """Before: cut to half its bytes (inside a packet), "c.caf: decoding stopped at 3.58 s (Invalid data found
    when processing input)", its length unsaid. Now "is truncated: header says 7.50 s", as a FLAC cut short."""
    _, data, _ = core_audio_alac
    cut = tmp_path / "c.caf"
    cut.write_bytes(data[:len(data) // 2])
    got_s, warnings = _read_all(cut)
    assert 3.0 < got_s < 4.0
    assert warnings == [f"{cut} is truncated: header says 7.50 s, read {got_s:.2f} s; analysed the readable part "
                        "(decoder: Invalid data found when processing input)"], warnings


# -- 5. a new store on a full disk ---------------------------------------------------------------------------------

def _disk_full(monkeypatch) -> None:
    from prosody.store import db

    def full(self):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(db.Store, "_migrate", full)


def test_a_new_store_on_a_full_disk_leaves_nothing(tmp_path, monkeypatch):
    """Before: `analyze r.wav --save --store a/b/st` on a full disk (a 64 KiB tmpfs, full: tried) said "the disk
    holding a/b/st/sessions.db is full ...; the store is unchanged" and left a/b/st, st/frames and a 0-byte
    st/sessions.db. Now nothing is left (SQLite's full disk as it raises it, the schema's first write)."""
    _disk_full(monkeypatch)
    rc, _, err = run_cli("analyze", RECORDING, "--save", "--store", tmp_path / "a" / "b" / "st", *QUIET)
    assert rc == 1 and "is full" in err and "the store is unchanged" in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_removes_no_store_it_did_not_make(tmp_path, monkeypatch):
    """An existing store (its schema written), or a new one whose database another prosody wrote meanwhile,
    is kept whole."""
    from prosody.store import db
    store = tmp_path / "st"
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 0
    before = sorted(p.name for p in store.rglob("*"))
    _disk_full(monkeypatch)
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 1
    assert sorted(p.name for p in store.rglob("*")) == before

    other = tmp_path / "other"

    def written_meanwhile(self):
        self.db_path.write_bytes(b"SQLite format 3\x00")
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(db.Store, "_migrate", written_meanwhile)
    assert run_cli("analyze", RECORDING, "--save", "--store", other, *QUIET)[0] == 1
    assert (other / "sessions.db").read_bytes() == b"SQLite format 3\x00"


# -- 6. delete of a session whose frames file was replaced by a folder --------------------------------------------

def test_a_folder_at_a_frames_files_name_is_not_said_to_hold_the_session(tmp_path):
    """Before: the frames file removed by hand and a folder made at its name, `delete 1` said "session 1's rows are
    deleted from the store, but its frames file ... could not be erased (Is a directory): it still holds the
    session's frames", exit 1, its delete marker left. Now "deleted session 1", exit 0; the folder, not
    prosody's, left as it is."""
    store = tmp_path / "st"
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 0
    (frames,) = (store / "frames").iterdir()
    frames.unlink()
    frames.mkdir()
    (frames / "theirs").write_text("x")
    rc, out, err = run_cli("delete", "1", "--store", store)
    assert (rc, out, err) == (0, "deleted session 1\n", "")
    assert sorted(p.name for p in (store / "frames").iterdir()) == [frames.name]
    assert (frames / "theirs").read_text() == "x"


# -- 7. a folder at the database's or the ledger's name ------------------------------------------------------------

@pytest.mark.parametrize("argv", [["sessions"], ["analyze", RECORDING, "--save", *QUIET]])
def test_a_folder_at_the_databases_name_is_said_and_keeps_its_mode(tmp_path, argv):
    """Before: `sessions --store st` where st/sessions.db is a folder (0755) set it to 0600 (a folder none but root
    may enter) and said "cannot open the session store st/sessions.db: unable to open database file". Now the
    folder is named as one, its mode kept, exit 1."""
    store = tmp_path / "st"
    (store / "sessions.db").mkdir(parents=True)
    os.chmod(store / "sessions.db", 0o755)
    rc, _, err = run_cli(*argv, "--store", store)
    assert rc == 1 and err == (f"prosody: error: {store / 'sessions.db'} is a folder, not the session store's "
                               "database file; the store is unchanged: move it aside, or give --store another "
                               "folder\n"), err
    assert (store / "sessions.db").stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in store.iterdir()) == ["sessions.db"]


def test_a_folder_at_the_ledgers_name_is_said_by_batch_and_passed_by_delete(tmp_path):
    """Before: st/batch.sqlite a folder (0755): `batch` set it to 0600 and said "the batch ledger ... is not readable
    (unable to open database file)"; `delete 1` refused the same way ("session 1 was not deleted"). Now `batch`
    names the folder, its mode kept; `delete` deletes (a folder holds no ledger rows)."""
    store = tmp_path / "st"
    assert run_cli("analyze", RECORDING, "--save", "--store", store, *QUIET)[0] == 0
    ledger = store / "batch.sqlite"
    ledger.mkdir()
    os.chmod(ledger, 0o755)
    rc, _, err = run_cli("batch", RECORDING, "--store", store, "--table", tmp_path / "tb", "--no-progress")
    assert rc == 1 and err.endswith(f"prosody: error: the batch ledger {ledger} is a folder, not a file; the store is "
                                    "unchanged: move it aside (finished files are found again from the store)\n"), err
    assert ledger.stat().st_mode & 0o777 == 0o755
    assert run_cli("delete", "1", "--store", store) == (0, "deleted session 1\n", "")
    assert ledger.is_dir()
