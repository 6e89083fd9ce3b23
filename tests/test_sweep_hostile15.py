"""Hostile sweep 15 (2026-12-04): the live rolling windows decided early (``TurnTracker._early``),
the pace at a window's edges, signals mid-save, the unattributed voice through export, report and
batch paths (docs/store.md, "Hostile sweep 15")."""
from __future__ import annotations

import numpy as np

from prosody.config import TurnConfig
from prosody.engine.turns import TurnOutput, TurnTracker
from prosody.types import Segment

T, C = "therapist", "client"
SR = 16000


def _framewise(segs, *, end_s: float) -> TurnOutput:
    """``segs`` pushed as a live pipeline does with 1-frame blocks: the watermark one frame on each
    time, closed segments when they end, open ones by their start."""
    from tests.test_turns import pushed
    return pushed(segs, [k / 100 for k in range(1, int(round(end_s * 100)) + 1)])


def test_two_segments_starting_on_the_same_frame_are_decided_in_the_offline_order():
    """The client holds the floor and stops at 6.0 s; at 7.0 s, on the same frame, the therapist
    starts a 3 s turn and the client says 0.5 s more. Offline (the whole file) the segments are taken
    by (start, speaker): the therapist's first, a speaker change at 7.0 s, and the client's 0.5 s is
    a listener's segment in overlap. Live, the client's closed segment was taken before the
    therapist's open one starting with it (``start <= first open start``): a pause of the client's,
    then the therapist 'interrupting' the client (7.0-7.5 s) and the client's turn ending at 7.5 s."""
    segs = [(C, 1.0, 6.0), (C, 7.0, 7.5), (T, 7.0, 10.0), (C, 11.0, 14.0)]
    want = TurnTracker((T, C), TurnConfig()).flush([Segment(*s) for s in segs])
    assert [(x.from_speaker, x.to_speaker, x.from_end_s, x.to_start_s) for x in want.transitions] == [
        (C, T, 6.0, 7.0), (T, C, 10.0, 11.0)]
    assert not want.pauses and [e.kind for e in want.events] == ["backchannel"]
    got = _framewise(segs, end_s=16.0)
    assert got == want, got


def _harmonic(f0_hz: float, n: int, rng) -> np.ndarray:
    ph = 2 * np.pi * np.cumsum(np.full(n, f0_hz) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * np.arange(n) / SR))) / SR
    x = sum(np.sin(k * ph + rng.uniform(0, 6.3)) / k for k in range(1, 16))
    return x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * np.arange(n) / SR) ** 2)


def test_same_frame_starts_give_the_same_turns_for_every_block_size():
    """The case above as audio (separate channels, voiced sounds placed on the same sample): pushed
    whole, the therapist takes the floor at 7.0 s and the client's 0.5 s is a failed interruption;
    in 0.1 s blocks (the live capture's) it was the therapist interrupting the client at 7.0-7.5 s
    after a client's pause of 1 s."""
    from prosody.session import SessionBuilder, new_pipeline
    rng = np.random.default_rng(0)
    x = 1e-4 * rng.standard_normal((16 * SR, 2))
    for ch, a, b, f0 in ((1, 1.0, 6.0, 200), (1, 7.0, 7.5, 200), (0, 7.0, 10.0, 110), (1, 11.0, 14.0, 200)):
        x[int(a * SR):int(b * SR), ch] += 0.05 * _harmonic(f0, int(b * SR) - int(a * SR), rng)
    x = x.astype(np.float32)
    runs = {}
    for block in (len(x), 1600, 160):
        pipe = new_pipeline((T, C))
        sb = SessionBuilder(pipe)
        for i in range(0, len(x), block):
            sb.add(pipe.push(x[i:i + block]))
        sb.add(pipe.flush())
        runs[block] = s = sb.build()
        tr = s.turns
        assert [(t.from_speaker, t.to_speaker, round(t.to_start_s, 2)) for t in tr.transitions] == [
            (C, T, 7.0), (T, C, 11.0)], block
        assert not tr.pauses, (block, tr.pauses)
        assert [(e.kind, e.speaker) for e in tr.events] == [("failed_interruption", C)], (block, tr.events)
    assert runs[1600].to_json_dict()["measures"] == runs[len(x)].to_json_dict()["measures"]
    assert list(runs[160].rolling) == list(runs[len(x)].rolling)


# a child run as the program ``prosody`` (its stop signals held while its modules are imported, as
# cli/__init__.py does for that name) that is sent signals at one point: "import" (while held: a Ctrl-C and
# a SIGTERM that came within milliseconds of each other are both pending when main takes them), or
# "ctrl-c, then after" (a Ctrl-C held so, taken by main; a SIGTERM once main has returned, as it exits)
TWO_SIGNALS = r"""
import os, signal, sys, time
sys.argv[0] = "prosody"
at = os.environ["H15_AT"]
import prosody_cli
from prosody_cli.main import main
if at.startswith(("import", "ctrl-c")):
    os.kill(os.getpid(), signal.SIGINT)
if at == "import":
    os.kill(os.getpid(), signal.SIGTERM)
rc = main()
if at.endswith("after"):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)
sys.exit(rc)
"""


def _two_signals(at: str, *argv) -> tuple[int, str, str]:
    import os
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", TWO_SIGNALS, *map(str, argv)], capture_output=True, text=True,
                       cwd=repo, timeout=300, env={**os.environ, "H15_AT": at, "PYTHONPATH": str(repo)})
    return r.returncode, r.stdout, r.stderr


def test_a_ctrl_c_and_a_sigterm_together_say_interrupted_once(tmp_path, short_wav):
    """A Ctrl-C and a SIGTERM a few milliseconds apart (a supervisor's stop after the user's, or both while
    the modules were imported): the SIGTERM's handler ran inside the ``except`` that took the Ctrl-C and
    raised there: Python's traceback ('prosody_cli.stopping.Stopped: 15'), exit 1. Measured with real
    signals 3 ms apart into ``prosody analyze --save`` at 0.2 s steps: 3 of 17 such tracebacks, 5 of 17
    killed by the SIGTERM after 'interrupted' (exit -15). Now one line, exit 130, nothing saved."""
    store = tmp_path / "store"
    rc, out, err = _two_signals("import", "analyze", short_wav, "--save", "--store", store, "--quiet",
                                "--no-progress")
    assert (rc, err) == (130, "prosody: error: interrupted\n"), (rc, err)
    assert not (store / "sessions.db").exists() or not list((store / "frames").iterdir())


def test_a_sigterm_after_the_line_that_said_interrupted_changes_nothing(tmp_path, short_wav):
    """After main has taken a Ctrl-C and said 'interrupted', a SIGTERM still had its handler: it raised
    ``Stopped`` as the program went on to exit (a traceback, exit 1), or, once the interpreter shut down
    and put the handler back to the default action, killed it after the line (exit -15). Now the three
    stop signals are ignored from then on: exit 130, the one line."""
    rc, out, err = _two_signals("ctrl-c, then after", "analyze", short_wav, "--save", "--store",
                                tmp_path / "store", "--quiet", "--no-progress")
    assert (rc, err) == (130, "prosody: error: interrupted\n"), (rc, err)


def test_import_of_prosodys_other_outputs_says_what_they_are(tmp_path, short_wav):
    """The exports that are for other tools (TextGrid, EAF, RTTM, the frames CSV), the frames .npz beside
    a JSON export and a recording, given to ``import``: each was 'not JSON (Expecting value: line 1
    column 1 (char 0))' or '(... codec can't decode byte 0xed in position 14 ...)'. Now what it is and
    what import takes; a JSON export still imports."""
    from tests.conftest import run_cli
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    said = {"textgrid": "a Praat TextGrid (as `export --format textgrid` writes it), which is for reading in",
            "eaf": "an ELAN EAF file (as `export --format eaf` writes it), which is for reading in",
            "rttm": "an RTTM file (as `export --format rttm` writes it), which is for reading in",
            "csv": "a frames CSV (as `export --format csv` and `analyze --frames` write it), which is for"}
    for fmt, words in said.items():
        path = tmp_path / f"s.{fmt}"
        assert run_cli("export", "1", "--store", store, "-o", path)[0] == 0
        rc, out, err = run_cli("import", path, "--store", tmp_path / "dst")
        assert rc == 2 and err.count("\n") == 1 and words in err, err
        assert "import takes the JSON (its .frames.npz beside it) or the Parquet" in err, err
    assert run_cli("export", "1", "--store", store, "-o", tmp_path / "s.json")[0] == 0
    rc, out, err = run_cli("import", tmp_path / "s.frames.npz", "--store", tmp_path / "dst")
    assert rc == 2 and "a frames file (.npz), which holds no session" in err, err
    rc, out, err = run_cli("import", short_wav, "--store", tmp_path / "dst")
    assert rc == 2 and "a recording, not a session: `prosody analyze FILE --save`" in err, err
    (tmp_path / "broken.json").write_text('{"a":')
    rc, out, err = run_cli("import", tmp_path / "broken.json", "--store", tmp_path / "dst")
    assert rc == 2 and "it is cut short" in err and "after 5 bytes" in err, err  # said so since sweep 38
    rc, out, err = run_cli("import", tmp_path / "s.json", "--store", tmp_path / "dst")
    assert rc == 0, err


def test_show_of_a_session_without_a_warmth_names_no_therapist_baseline(tmp_path):
    """``show`` of a session with no warmth (no therapist: the client alone here, or an unattributed
    voice) ended with 'warmth -/100 (relative to the therapist's own baseline; ...)', after the summary
    had said why there is none: a baseline the session does not have. A warmth with a score keeps it."""
    import re
    from pathlib import Path
    from tests.conftest import run_cli
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    for argv, store in (((fixtures / "mono_therapist.wav", "--speaker", "client"), tmp_path / "c"),
                        ((fixtures / "dialogue.flac",), tmp_path / "d")):
        rc, out, err = run_cli("analyze", *argv, "--save", "--store", store, "--quiet", "--no-progress")
        assert rc == 0, err
        rc, out, err = run_cli("show", "1", "--store", store)
        assert rc == 0, err
        if store.name == "c":
            assert "no therapist in this recording (speakers: client)" in out, out
            assert "/100 (relative to the therapist's own baseline" not in out, out
        else:
            assert re.search(r"warmth \d+/100 \(relative to the therapist's own baseline", out), out


def test_the_report_of_one_voice_heads_no_column_with_a_dash_nor_names_a_therapist_baseline():
    """The report page of a one-voice session (an unattributed voice, the client alone): the phase table
    still had a column headed '-: wait before answering' (the other speaker, who is not there: '-' in every
    row), and the warmth section read 'Warmth - / 100 relative to the therapist's own baseline.' though the
    session has no therapist (its note says so). Now no such column, and no baseline named without a
    score; a two-voice session keeps both waits and the baseline with its score."""
    from prosody.report.html import _phases, _warmth
    from prosody.store.db import speaker_roles
    voice = {"f0_median_rel_st": 0.5298, "articulation_rate_syl_s": 3.1614}
    for name in ("unattributed", "client"):
        measures = {"phases": [{"name": "opening", "start_s": 0.0, "end_s": 6.91, "voice": {name: voice},
                                "timing": None, "warmth": {"score": None}}]}
        html = _phases(measures, [name], speaker_roles([name]))
        assert html.count("wait before answering") == 1 and ">-</span>:" not in html, html
        assert html.count("<th") == html.count("<td"), html  # a header for each cell
        note = "who spoke when is unsure in this recording: its speech is left unattributed"
        page = _warmth({"warmth": {"score": None, "note": note}})
        assert "therapist's own baseline" not in page and note in page, page
    two = {"phases": [{"name": "opening", "start_s": 0.0, "end_s": 6.9, "voice": {"therapist": voice},
                       "timing": {"therapist": {"gap_median_s": 0.4}, "client": {"gap_median_s": 0.7}},
                       "warmth": {"score": 61}}]}
    html = _phases(two, ["therapist", "client"], speaker_roles(["therapist", "client"]))
    assert html.count("wait before answering") == 2 and "+0.40 s" in html and "+0.70 s" in html, html
    assert "Warmth 61</b> / 100 relative to the therapist's own baseline." in _warmth({"warmth": {"score": 61}})


# a webrtcvad that is stopped while it is imported, as the real one's version look-up is written: the
# name its ``except`` clause names is bound by the import in its ``try``, so a stop raised before it came
# out of that clause as a NameError (seen with two SIGHUPs into ``prosody enrol`` at 0.5 s)
STOPPED_IMPORT = r"""
import os, signal, time
try:
    os.kill(os.getpid(), getattr(signal, os.environ["H15_SIGNAL"]))
    time.sleep(2)
    from importlib.metadata import PackageNotFoundError
except PackageNotFoundError:
    pass
"""


def test_a_stop_while_a_library_is_imported_is_said_as_the_stop(tmp_path):
    """A SIGHUP (or SIGTERM, Ctrl-C) that lands in a library's module code as it is imported (the engine's
    modules are imported when the command needs them, after main has set its handlers) was made a
    NameError by webrtcvad's ``except PackageNotFoundError``: "prosody: error: internal error (NameError:
    name 'PackageNotFoundError' is not defined); set PROSODY_DEBUG=1 ... please report it", exit 1. Once a
    stop signal was taken, what reaches main is the stop's doing: its one line, 129 / 143 / 130."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "webrtcvad.py").write_text(STOPPED_IMPORT)
    child = "import sys; sys.argv[0] = 'prosody'; from prosody_cli.main import main; sys.exit(main())"
    for name, code, line in (("SIGHUP", 129, "stopped by SIGHUP"), ("SIGTERM", 143, "stopped by SIGTERM"),
                             ("SIGINT", 130, "interrupted")):
        r = subprocess.run([sys.executable, "-c", child, "analyze", str(repo / "fixtures" / "mono_therapist.wav"),
                            "--save", "--store", str(tmp_path / "store"), "--quiet", "--no-progress"],
                           capture_output=True, text=True, cwd=repo, timeout=300,
                           env={**os.environ, "H15_SIGNAL": name, "PYTHONPATH": f"{shim}{os.pathsep}{repo}"})
        assert (r.returncode, r.stderr) == (code, f"prosody: error: {line}\n"), (name, r.returncode, r.stderr)
        assert not (tmp_path / "store" / "frames").is_dir() or not any((tmp_path / "store" / "frames").iterdir())


# a child run as the program whose change (a ``_signals_wait`` block) gets a Ctrl-C while it runs and a
# SIGTERM right after it (two signals a few milliseconds apart, the first held by the change)
SECOND_AFTER_THE_CHANGE = r"""
import contextlib, os, signal, sys
sys.argv[0] = "prosody"
import prosody_cli.sessions as sessions
from prosody_cli.main import main
real = sessions._signals_wait
@contextlib.contextmanager
def wait():
    with real() as came:
        yield came
        os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
sessions._signals_wait = wait
sys.exit(main())
"""


def test_a_second_signal_right_after_a_change_does_not_leave_it_unsaid(tmp_path, short_wav):
    """A Ctrl-C while ``delete`` removed the session (held: the delete is made, then said) and a SIGTERM
    just after: the handlers were put back as the change ended and the SIGTERM's raised before the line,
    so the delete was made and the one line said only 'stopped by SIGTERM', exit 143. Now the first
    signal of a change stands for both: 'deleted session 1' then 'interrupted; session 1 was deleted
    completely first', exit 130."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    from tests.conftest import run_cli
    repo = Path(__file__).resolve().parents[1]
    store = tmp_path / "store"
    assert run_cli("analyze", short_wav, "--save", "--store", store, "--quiet", "--no-progress")[0] == 0
    r = subprocess.run([sys.executable, "-c", SECOND_AFTER_THE_CHANGE, "delete", "1", "--store", str(store)],
                       capture_output=True, text=True, cwd=repo, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(repo)})
    assert run_cli("show", "1", "--store", store)[0] != 0  # the delete was made
    assert r.stdout == "deleted session 1\n", (r.stdout, r.stderr)
    assert (r.returncode, r.stderr) == (130, "prosody: error: interrupted; session 1 was deleted completely "
                                             "first\n"), (r.returncode, r.stderr)


def test_a_recording_replaced_by_a_folder_is_said_so(tmp_path):
    """A recording removed and a folder made under its name while it was analysed: "was replaced ...
    (another file renamed or copied over it)"; a FIFO, a device or a socket was already named. Now
    "(it is a folder now)"."""
    from prosody.fileio import input_change, input_state
    rec = tmp_path / "rec.wav"
    rec.write_bytes(b"RIFF0000WAVE")
    before = input_state(rec)
    rec.unlink()
    rec.mkdir()
    kind, why = input_change(rec, before)
    assert kind == "replaced" and "(it is a folder now)" in why, why


# a child run as the program, a SIGTERM sent to itself as soon as the output folder's probe file is made
PROBE_SIGNALLED = r"""
import os, signal, sys, tempfile
sys.argv[0] = "prosody"
real = tempfile.mkstemp
def mkstemp(*a, **k):
    out = real(*a, **k)
    if k.get("prefix") in (".prosody-probe-", ".o.json."):  # an output's probe is named as its temporary (sweep 46)
        os.kill(os.getpid(), signal.SIGTERM)
    return out
tempfile.mkstemp = mkstemp
from prosody_cli.main import main
sys.exit(main())
"""


def test_a_signal_while_an_output_folder_is_probed_leaves_no_probe_file(tmp_path, short_wav):
    """Each output's folder is tried for real before the work (a probe file made and removed). A SIGTERM
    between the two left '.prosody-probe-XXXXXXXX' behind in that folder (found in the folder a batch ran in,
    its table's, after the stepped signal pairs into batch). Now the signals wait for the probe: none left,
    one line, exit 143."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run([sys.executable, "-c", PROBE_SIGNALLED, "analyze", str(short_wav), "--json",
                        str(out / "o.json"), "--quiet", "--no-progress"], capture_output=True, text=True,
                       cwd=repo, timeout=300, env={**os.environ, "PYTHONPATH": str(repo)})
    assert (r.returncode, r.stderr) == (143, "prosody: error: stopped by SIGTERM\n"), (r.returncode, r.stderr)
    assert sorted(os.listdir(out)) == [], os.listdir(out)


# a batch run as the program whose every file is done when a SIGTERM comes (as its table is written)
SIGTERM_AT_THE_TABLE = r"""
import os, signal, sys
if __name__ == "__main__":
    sys.argv[0] = "prosody"
    import prosody_cli.batch as batch
    real = batch.write_table
    def write_table(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*a, **k)
    batch.write_table = write_table
    from prosody_cli.main import main
    sys.exit(main())
"""


def test_a_signal_once_a_batch_is_done_leaves_its_table_and_summary(tmp_path):
    """A SIGTERM after the batch's last file (as its table was written: the batch's own handler put back,
    the program's raised there) gave 'stopped by SIGTERM' alone, exit 143: no summary, no table, nothing
    of the finished batch (seen with SIGTERM + Ctrl-C at 1.2 s into a 3-file batch). Now the table and the
    summary, then 'stopped by SIGTERM; the batch had finished first (the summary above)', exit 143."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(repo / "fixtures" / "mono_therapist.wav", src / "a.wav")
    script = tmp_path / "child.py"  # a file: the batch's worker processes import the main module again
    script.write_text(SIGTERM_AT_THE_TABLE)
    r = subprocess.run([sys.executable, str(script), "batch", str(src), "--jobs", "1", "--store",
                        str(tmp_path / "store"), "--table", str(tmp_path / "t"), "--no-progress"],
                       capture_output=True, text=True, cwd=repo, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(repo)})
    assert r.returncode == 143, (r.returncode, r.stderr)
    assert r.stdout.startswith("batch: 1 recording: 1 analysed"), (r.stdout, r.stderr)
    assert (tmp_path / "t.csv").is_file()
    assert r.stderr.splitlines()[-1] == ("prosody: error: stopped by SIGTERM; the batch had finished first (the "
                                         "summary above)"), r.stderr


def _tie_heavy_dialogue(rng) -> list[tuple[str, float, float]]:
    """Two speakers' segments on the frame grid (1 frame to 12 s; gaps and overlaps at and around the
    holder's 0.1 s, the 0.3 s interruption overlap and the 0.8 s backchannel limit), the next start drawn
    to fall on the other's start often."""
    lens = [1, 2, 5, 10, 30, 60, 79, 80, 81, 150, 300, 1200]
    segs, t, spk, last = [], 0, T, {T: -10, C: -10}
    for _ in range(int(rng.integers(3, 16))):
        d = int(rng.choice(lens))
        a = max(t, last[spk] + 1)
        segs.append((spk, a, a + d))
        last[spk] = a + d
        r = rng.random()
        if r < 0.3:
            t = a + d + int(rng.choice([1, 5, 10, 11, 20, 60, 300]))
        elif r < 0.7:
            t = max(a, a + d - int(rng.choice([1, 10, 29, 30, 31, 50, 79, 80, 81, 200])))
        else:
            t = a + int(rng.choice([0, 0, 0, 1, d]))
        if rng.random() < 0.6:
            spk = C if spk == T else T
    return [(s, a / 100, b / 100) for s, a, b in sorted(segs, key=lambda x: x[1])]


def test_random_dialogues_pushed_frame_by_frame_give_the_whole_files_turns():
    """Random dialogues with many same-frame starts, pushed one frame at a time as a live pipeline with
    1-frame blocks does: every turn, pause, transition and event is the whole file's (100 dialogues; the
    old order differed in 12 of them)."""
    for seed in range(100):
        segs = _tie_heavy_dialogue(np.random.default_rng([15, seed]))
        want = TurnTracker((T, C), TurnConfig()).flush([Segment(*s) for s in segs])
        got = _framewise(segs, end_s=max(b for _, _, b in segs) + 6.0)
        assert got == want, (seed, segs)
