"""Hostile sweep 57 (docs/store.md "Hostile sweep 57").

1. `live` of two inputs (two devices, or two replayed files) that carry one mix said so only once the session had
   ended, in the saved session's warnings ("the therapist's and the client's channels carry the same sound
   throughout ..."), too late to mend: now the live layout check says it once while capture goes on, as soon as the
   final frames tell (neither channel has shown speech, 10 s of sound of one level difference), in the plain lines
   and on the view; the saved session is as before.
2. `compare 1 1` (and `1 #1 last`) showed one column without a word: now a note says which session was given more
   than once, and that it is shown once.
"""
from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from prosody.live.runner import LiveRunner
from tests.conftest import FIXTURES, run_cli
from tests.test_live_layout import _ArraySource
from tests.test_sweep_hostile54 import _taken_for_leak

RATE_HZ = 16000

# said live, once, of the dialogue's mix given as both people's (the second input 2 dB quieter)
LIVE_SAID = ("layout found live at 00:15: the therapist's and the client's channels carry the same sound so far (the "
             "client's 2 dB quieter): each voice is taken for the other channel's leak and not shown; two inputs "
             "that both carry both people are one shared input: stop, and take one of them alone as one shared "
             "device (`--device NAME --mono`; a replay: one --input file)")
# the saved session's warning, as before this sweep
SAVED_SAID = ("the therapist's and the client's channels carry the same sound throughout (the client's 2 dB quieter): "
              "both voices on each channel, as on a table device, are each taken for the other channel's leak; "
              "`--mono` reads such a device as one shared device (docs/live.md), `prosody analyze` attributes a "
              "recording of it")


def _dialogue() -> np.ndarray:
    audio, _ = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    return audio


def _one_mix() -> np.ndarray:
    """The fixture dialogue (40 s) mixed, given as both people's: (n, 2), the second 2 dB quieter."""
    mix = _dialogue().mean(axis=1)
    return np.stack([mix, mix * 10 ** (-2 / 20)], axis=1).astype(np.float32)


# -- 1. two inputs of one mix, said while live -----------------------------------------------------------------------

class _NoteAt(_ArraySource):
    """Two inputs' audio, the runner's view state read when the source has served ``at_s`` of it (capture going
    on: the rest still to come)."""

    def __init__(self, x: np.ndarray, at_s: float):
        super().__init__(x, [1600])
        self.at, self.runner, self.seen = int(at_s * RATE_HZ), None, None

    def read(self, timeout_s):
        if self.seen is None and self.pos >= self.at:
            self.seen = self.runner.snapshot().layout_note
        return super().read(timeout_s)


def _run_to(x: np.ndarray, at_s: float, out) -> tuple[LiveRunner, _NoteAt]:
    src = _NoteAt(x, at_s)
    r = LiveRunner(src, output_path=out)
    src.runner = r
    r.start()
    res = r.wait(300)
    assert res is not None and res.error is None, res
    return r, src


def test_two_inputs_of_one_mix_are_said_while_capture_goes_on(tmp_path):
    """Planted: the mix as both people's. Before: nothing said until the session was saved. Now the view's note
    holds the line at 25 s of 40 (found at 15 s: the first checkpoint with 10 s of sound above -60 dBFS), the
    saved session's warnings are as before (the same sound throughout, then each speaker's speech taken for the
    other's leak)."""
    r, src = _run_to(_one_mix(), 25.0, tmp_path / "s.json")
    assert src.seen == LIVE_SAID, src.seen
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["warnings"] == [SAVED_SAID, *_taken_for_leak(lambda spk: "the channel")], doc["warnings"]
    assert "layout" not in doc["live"] and len(doc["segments"]) == 0


def test_two_inputs_of_their_own_voices_are_not_said(tmp_path):
    """The dialogue as recorded (a channel each): speech on both channels, nothing said, live or saved."""
    r, src = _run_to(_dialogue(), 25.0, tmp_path / "s.json")
    assert src.seen == "" and r.snapshot().layout_note == "" and r.same_sound.spoke == {"therapist", "client"}
    doc = json.loads((tmp_path / "s.json").read_text())
    assert not [w for w in doc["warnings"] if "same sound" in w or "never speaks" in w], doc["warnings"]
    assert len(doc["segments"]) == 19


def test_two_inputs_of_one_mix_each_with_its_own_hiss_are_said_while_live(tmp_path):
    """Two devices of one mix, each with its own noise at -50 dBFS: the therapist's channel shows 0.3 s of speech,
    the client's none. The saved session says the same sound (one speaker never speaks); live waited for both
    channels to show none before this sweep's last change, and said nothing. Now said, at 00:10 (every frame above
    -60 dBFS: 10 s of sound by then)."""
    rng = np.random.default_rng(0)
    x = _one_mix()
    x = x + (rng.standard_normal(x.shape) * 10 ** (-50 / 20)).astype(np.float32)
    r, src = _run_to(x, 25.0, tmp_path / "s.json")
    assert src.seen == LIVE_SAID.replace("at 00:15", "at 00:10"), src.seen
    assert r.same_sound.spoke == {"therapist"}
    warned = json.loads((tmp_path / "s.json").read_text())["warnings"]
    assert warned[0] == SAVED_SAID and len(warned) == 2 and warned[1].startswith("client never speaks: "), warned


def test_two_steady_noises_are_not_one_sound(tmp_path):
    """Before anyone speaks, two devices hear each its own steady noise (white noise at -45 and -50 dBFS, a mic's
    hiss or a fan; or a 50 Hz hum, 3 dB apart): one level difference throughout. Before: said live at 00:10 (this
    sweep's first rule) and, in the saved session, "the therapist's and the client's channels carry the same sound
    throughout ... taken for the other channel's leak". Now their level's range (1.2 dB, 0.0 dB; speech 20 dB and
    more) is no evidence of one sound: not said; the saved session says no speech was found on each channel."""
    rng = np.random.default_rng(0)
    n = 30 * RATE_HZ
    hum = np.sin(2 * np.pi * 50 * np.arange(n) / RATE_HZ)
    for name, x in (("white", rng.standard_normal((n, 2)) * 10 ** (np.array([-45, -50]) / 20)),
                    ("hum", np.stack([hum * 0.014, np.roll(hum, 50) * 0.01], axis=1))):
        r, src = _run_to(x.astype(np.float32), 25.0, tmp_path / f"{name}.json")
        assert src.seen == "" and r.same_sound.said == "" and not r.same_sound.spoke, name
        warned = json.loads((tmp_path / f"{name}.json").read_text())["warnings"]
        assert not [w for w in warned if "same sound" in w], (name, warned)
        assert [w.split(",")[0] for w in warned] == [f"{s} never speaks: no speech was found on the channel"
                                                     for s in ("therapist", "client")], (name, warned)


def test_live_replay_of_two_files_of_one_mix_says_it_once_in_the_plain_lines(tmp_path, monkeypatch):
    """`live --input a.wav b.wav --plain` of one mix: the line among the plain lines, before `saved`; the saved
    same-sound warning is not said again at the end (the speakers' "never speaks" are, "as said above")."""
    monkeypatch.chdir(tmp_path)
    x = _one_mix()
    sf.write("a.wav", x[:, 0], RATE_HZ, subtype="PCM_16")
    sf.write("b.wav", x[:, 1], RATE_HZ, subtype="PCM_16")
    rc, out, err = run_cli("live", "--input", "a.wav", "b.wav", "--plain", "--speed", "max", "--output", "s.json")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines.count(f"prosody: warning: {LIVE_SAID}") == 1, out
    assert lines.index(f"prosody: warning: {LIVE_SAID}") < len(lines) - 1, out
    assert lines[-1] == "saved s.json (40.2 s analysed, 0 speech segments, 0 bookmarks; stopped: end of input)"
    said = _taken_for_leak({"therapist": "channel 1", "client": "channel 2"}.get)  # "the channel" until sweep 61
    assert err == "".join(f"prosody: warning: {w}\n" for w in said), err
    assert json.loads((tmp_path / "s.json").read_text())["warnings"] == [SAVED_SAID, *said]


def test_the_live_check_does_not_depend_on_the_blocks(tmp_path):
    """The checkpoints are fixed frame positions: blocks of 0.01 s and of 0.5 s find the one mix at the same 00:15."""
    x = _one_mix()[:20 * RATE_HZ]
    for size in (160, 8000):
        r = LiveRunner(_ArraySource(x, [size]), output_path=tmp_path / f"s{size}.json")
        r.start()
        assert r.wait(300).error is None
        assert r.same_sound.said == LIVE_SAID, (size, r.same_sound.said)


def test_two_captured_devices_of_one_mix_are_said_while_the_sound_still_plays(pulse, tmp_path):
    """Real capture: the mix played through a combine sink into two null sinks, each monitor one person's device
    (`--therapist-device A --client-device B`). The line comes while the player still plays (30 s of sound), once;
    the saved session says the same sound at its end, as before."""
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path
    sf.write(tmp_path / "mix.wav", _one_mix()[:30 * RATE_HZ, 0], RATE_HZ, subtype="PCM_16")
    m1, m2 = pulse.null_sink("mic"), pulse.null_sink("call")
    pulse.combine_sink("both", ["mic", "call"])
    env = dict(pulse.env, PYTHONPATH=str(Path(__file__).resolve().parents[1]))  # this checkout's code
    p = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--therapist-device", m1,
                          "--client-device", m2, "--output", "s.json", "--plain", "--interval-s", "0.5"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    stopper = threading.Timer(90.0, p.terminate)  # nothing said: the capture is stopped, the lines end
    stopper.start()
    time.sleep(2.0)
    player = pulse.play(tmp_path / "mix.wav", "both")
    for line in p.stdout:
        if line.startswith("prosody: warning: layout found live at "):
            break
    else:
        raise AssertionError(f"nothing said live: {p.stderr.read()}")
    playing = player.poll() is None  # read before waiting: the sound still playing when the line came
    stopper.cancel()
    assert "the therapist's and the client's channels carry the same sound so far (both at one level)" in line, line
    # a real capture may let some speech through on both channels: then the line says so (sweep 58's words)
    tail = LIVE_SAID.split("quieter):")[1]
    slipped = tail.replace("leak and not shown", "leak, and the speech shown is what slipped through, not who spoke")
    assert line.endswith((tail + "\n", slipped + "\n")), line
    assert playing, line
    assert player.wait(timeout=60) == 0
    p.terminate()
    o, e = p.communicate(timeout=120)
    assert p.returncode == 0, e
    assert "layout found live" not in o and "same sound" not in e, (o, e)  # once
    doc = json.loads((tmp_path / "s.json").read_text())
    assert [w for w in doc["warnings"] if "carry the same sound throughout" in w], doc["warnings"]


# -- 2. compare of one session named twice -------------------------------------------------------------------------

def test_compare_of_one_session_twice_says_so(tmp_path):
    """Before: `compare 1 1` showed one column, unsaid. Now one note; `compare 1 2` says none."""
    store = tmp_path / "st"
    for _ in range(2):
        rc, _, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--save", "--store", store, "--quiet",
                             "--no-progress")
        assert rc == 0, err
    rc, out, err = run_cli("compare", "1", "1", "--store", store)
    assert rc == 0 and "compare: sessions 1 " in out and "#2" not in out, out
    assert err == "prosody: note: session 1 is given twice (1, 1): one session, shown once, so nothing is compared\n"
    rc, out, err = run_cli("compare", "1", "#1", "last", "1", "2", "--store", store)
    assert rc == 0 and "compare: sessions 1, 2 " in out, out
    assert err == ("prosody: note: session 1 is given 3 times (1, #1, 1) and session 2 twice (last, 2): each shown "
                   "once\n"), err
    rc, out, err = run_cli("compare", "2", "last", "--store", store)
    assert rc == 0 and err == ("prosody: note: session 2 is given twice (2, last): one session, shown once, so "
                               "nothing is compared\n"), err
    rc, out, err = run_cli("compare", "1", "2", "--store", store)
    assert rc == 0 and err == "", err
