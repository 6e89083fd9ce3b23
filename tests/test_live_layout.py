"""One stereo device's layout found live (prosody.live.layout_watch, issue 9 items 1 and 5): a table
device (both voices on both channels) taken as stereo is read as one shared device from the switch on,
as --mono reads it; separate channels with heavy cross-talk are not switched; the saved session does not
depend on the block sizes the audio came in; a real capture through a PulseAudio null sink switches."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf

from prosody.live.capture import CaptureBlock, LiveSource
from prosody.live.layout import LiveRequest, layout_watch, plan_capture
from prosody.live.layout_watch import LayoutWatch
from prosody.live.runner import LiveRunner, load_live_session
from tests.conftest import FIXTURES, run_cli

RATE = 16000


def _fixture():
    x, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float64")
    truth = json.loads((FIXTURES / "dialogue.truth.json").read_text())["segments"]
    return x, truth


def _table(level_db=(3.0, -4.0), delay_ms=(0.4, 0.8), rt60_s=0.3, seed=1) -> np.ndarray:
    """The fixture dialogue's two voices (its channels) on two table microphones: voice s is
    level_db[s] dB louder on mic 1 than on mic 2, mic 2 hears it delay_ms[s] later, each path
    through its own room; noise at -55 dBFS."""
    from tests.dialogue import room_ir
    x, _ = _fixture()
    out = np.zeros((len(x), 2))
    for s in (0, 1):
        for m in (0, 1):
            y = x[:, s] * 10 ** (level_db[s] / 2 * (1 if m == 0 else -1) / 20)
            y = np.convolve(y, room_ir(rt60_s, seed=seed * 4 + 2 * s + m, direct_to_reverb_db=6.0))[:len(y)]
            k = int(round(delay_ms[s] * 16)) if m == 1 else 0
            out[k:, m] += y[:len(y) - k]
    out += np.random.default_rng(seed).standard_normal(out.shape) * 10 ** (-55 / 20)
    return out.astype(np.float32)


def _with_leak(leak_db=-6.0, delay_ms=40.0, rt60_s=0.4, seed=2) -> np.ndarray:
    """The fixture dialogue as recorded (a channel each), each voice leaking into the other channel
    leak_db under its own, delay_ms later, through a room (a headset beside a loud call channel)."""
    from tests.dialogue import room_ir
    x, _ = _fixture()
    out = x.copy()
    k = int(round(delay_ms * 16))
    for s in (0, 1):
        y = np.convolve(x[:, s], room_ir(rt60_s, seed=seed + s))[:len(x)] * 10 ** (leak_db / 20)
        out[k:, 1 - s] += y[:len(y) - k]
    out += np.random.default_rng(seed).standard_normal(out.shape) * 10 ** (-60 / 20)
    return out.astype(np.float32)


class _ArraySource(LiveSource):
    """A stereo array served in blocks of the given sizes (cycled), as fast as read."""

    def __init__(self, x: np.ndarray, sizes):
        self.x, self.sizes, self.pos, self.k = x, list(sizes), 0, 0
        self.speakers = ("therapist", "client")
        self.exhausted = False

    def start(self):
        pass

    def read(self, timeout_s):
        if self.pos >= len(self.x):
            self.exhausted = True
            return None
        n = self.sizes[self.k % len(self.sizes)]
        self.k += 1
        blk = self.x[self.pos:self.pos + n]
        self.pos += n
        return CaptureBlock(blk, time.monotonic())

    def stop(self):
        pass

    def health(self):
        return {"layout": "stereo", "overruns": 0, "dropped_blocks": 0, "dropped_samples": 0}


def _run(source, out, *, channels_given=False, voice_profile=None):
    r = LiveRunner(source, output_path=out, layout_watch=LayoutWatch(channels_given=channels_given),
                   voice_profile=voice_profile)
    r.start()
    res = r.wait(300)
    assert res is not None and res.error is None, res
    return load_live_session(out)


def _speech_shown_after(doc, frames, truth, at_s):
    """Share of the planted speech after ``at_s`` shown as speech (final frames, any speaker)."""
    n = min(len(v["is_speech"]) for v in frames.values())
    t = (np.arange(n) + 0.5) * 0.01
    planted = np.zeros(n, bool)
    for a, b in list(truth["therapist"]) + list(truth["client"]):
        planted |= (t >= a) & (t < b)
    planted[: int(round(at_s / 0.01))] = False
    shown = np.zeros(n, bool)
    for v in frames.values():
        shown |= np.asarray(v["is_speech"][:n], bool)
    return float(np.mean(shown[planted]))


def test_a_table_device_replayed_as_stereo_is_read_as_one_shared_device_and_shows_speech(tmp_path):
    """Planted: both voices on both mics (3 and -4 dB between them, 0.4 / 0.8 ms, a room). Read as two
    speakers' channels, each voice was given to the channel where it was louder, as if each mic were a
    person's; now the layout is found from the first 20 s (16 s of speech), said, and from then on the
    device is one shared device: the planted speech after the switch is shown as speech."""
    _, truth = _fixture()
    wav = tmp_path / "table.wav"
    sf.write(wav, _table(), RATE, subtype="FLOAT")
    out = tmp_path / "s.json"
    rc, o, err = run_cli("live", "--input", wav, "--speed", "max", "--plain", "--interval-s", "0.05",
                         "--output", out)
    assert rc == 0, err
    doc, frames = load_live_session(out)
    lay = doc["live"]["layout"]
    assert lay["found"] == "shared" and lay["switched"] is True and lay["found_at_s"] <= 25.0, lay
    assert abs(lay["evidence"]["phat_lag_ms"]) <= 1.0 and lay["decided_by"]["layout"] == "shared", lay
    assert doc["speaker_order"] == ["therapist"] and len(doc["segments"]) >= 4
    assert _speech_shown_after(doc, frames, truth, lay["found_at_s"]) >= 0.9
    said = [w for w in doc["warnings"] if w.startswith("layout found live at")]
    assert said and "as --mono reads it" in said[0] and "nobody is named live" in said[0], doc["warnings"]
    assert "prosody: warning: layout found live at" in o  # one line in the plain output, once
    assert o.count("prosody: warning: layout found live") == 1
    assert "shared (found live)" in o.split("prosody: warning: layout found live at", 1)[1]


def test_the_switched_session_is_the_mono_reading_of_the_first_channel(tmp_path):
    """After the switch the session is, frame for frame, the one-channel session of the device's first
    channel (what --mono reads), analysed from the start."""
    x = _table()
    stereo = tmp_path / "table.wav"
    sf.write(stereo, x, RATE, subtype="FLOAT")
    first = tmp_path / "first.wav"
    sf.write(first, x[:, 0], RATE, subtype="FLOAT")
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("live", "--input", stereo, "--speed", "max", "--plain", "--output", out_a)[0] == 0
    assert run_cli("live", "--input", first, "--speed", "max", "--plain", "--output", out_b)[0] == 0
    (da, fa), (db, fb) = load_live_session(out_a), load_live_session(out_b)
    assert da["live"]["layout"]["switched"] and da["speaker_order"] == db["speaker_order"] == ["therapist"]
    assert da["segments"] == db["segments"] and da["measures"] == db["measures"]
    for k in fa["therapist"]:
        np.testing.assert_array_equal(fa["therapist"][k], fb["therapist"][k])


@pytest.mark.parametrize("case", ["dialogue", "alone"])
def test_separate_channels_with_heavy_cross_talk_are_not_switched(case, tmp_path):
    """Planted separate channels: the fixture dialogue with each voice leaking 6 dB under into the other
    channel, 40 ms later through a room; and the therapist alone for 40 s with a dry leak 8 dB under,
    128 ms later, which the level rule alone (and the copy test: a late copy) reads shared. Neither is
    switched; the channels stay the two speakers'."""
    if case == "dialogue":
        x = _with_leak()
    else:  # the therapist alone, the leak a dry copy (no room)
        x0, _ = _fixture()
        v = x0[: 40 * RATE, 0]
        k = int(0.128 * RATE)
        x = np.stack([v, np.concatenate([np.zeros(k), v[:-k]]) * 10 ** (-8 / 20)], axis=1)
        x = (x + np.random.default_rng(3).standard_normal(x.shape) * 10 ** (-60 / 20)).astype(np.float32)
    doc, _ = _run(_ArraySource(x, [1600]), tmp_path / "s.json")
    lay = doc["live"]["layout"]
    assert lay["switched"] is False and not lay["said"], lay
    assert doc["speaker_order"] == ["therapist", "client"]
    if case == "alone":  # the detector's level rule says shared; the lag (128 ms) keeps the channels
        assert lay["last_check"]["layout"] == "shared" and abs(lay["last_check"]["phat_lag_ms"] - 128) < 1, lay
    else:
        assert lay["found"] == "separate" and lay["found_at_s"] <= 20.0, lay


def test_a_switched_session_does_not_depend_on_the_block_sizes(tmp_path):
    """The same table audio in device blocks of 160, 1600, 1 and 1599, 400 and 800, 7778, 9320 and 1633
    samples, and in random blocks (tiny, huge, no multiple of the hop; the runner gathers them into
    pushes of at least 0.1 s, and the switch moves where the held audio's one push ends): the saved
    sessions are bit-identical, and so is the switch (checked at fixed positions once the channels
    decided them). Pushes of 7778/9320/1633 once moved the one-channel pipeline's voiced_prob of this
    audio by 2e-7 at 2 frames, without any switch: the pitch tracker's rounding, now gone
    (tests/test_push_splits.py)."""
    from tests.test_push_splits import push_sizes
    x = _table()
    docs = []
    fixed = ([160], [1600], [1, 1599], [400, 800, 400], [7778], [9320], [1633])
    for i, sizes in enumerate(fixed + tuple(push_sizes(len(x), seed) for seed in range(3))):
        doc, frames = _run(_ArraySource(x, sizes), tmp_path / f"s{i}.json")
        docs.append((doc, frames))
    (d0, f0) = docs[0]
    assert d0["live"]["layout"]["switched"]
    for d, f in docs[1:]:
        assert d["live"]["layout"]["found_at_s"] == d0["live"]["layout"]["found_at_s"]
        assert d["segments"] == d0["segments"] and d["measures"] == d0["measures"]
        for k in f0["therapist"]:
            np.testing.assert_array_equal(f["therapist"][k], f0["therapist"][k])


def test_channels_given_are_kept_and_the_shared_audio_is_said(tmp_path):
    """--channels is the user's word: the device found shared is not switched; a warning says so and
    names --mono (live, and in the saved session)."""
    wav = tmp_path / "table.wav"
    sf.write(wav, _table(), RATE, subtype="FLOAT")
    out = tmp_path / "s.json"
    rc, o, err = run_cli("live", "--input", wav, "--channels", "therapist=left,client=right", "--speed", "max",
                         "--plain", "--output", out)
    assert rc == 0, err
    doc, _ = load_live_session(out)
    lay = doc["live"]["layout"]
    assert lay["found"] == "shared" and lay["switched"] is False and lay["channels_given"] is True
    assert doc["speaker_order"] == ["therapist", "client"]
    said = [w for w in doc["warnings"] if w.startswith("layout found live at")]
    assert said and "--channels says one speaker per channel" in said[0] and "--mono" in said[0]
    # the replay ended before the first plain line (every 5 s): the line is said once all the same, at the end
    assert o.count("prosody: warning: layout found live at") == 1, o


def test_only_one_stereo_input_read_as_two_channels_is_watched():
    """The watch is for one stereo input read a channel per speaker; --mono, two devices or files, and a
    mono file are not watched."""
    stereo = LiveRequest(input_files=(str(FIXTURES / "dialogue.flac"),), speed=None)
    assert layout_watch(stereo, ("therapist", "client")) is not None
    assert layout_watch(stereo, ("therapist",)) is None
    two = LiveRequest(input_files=(str(FIXTURES / "dialogue.flac"),) * 2, speed=None)
    assert layout_watch(two, ("therapist", "client")) is None
    src, _, _ = plan_capture(LiveRequest(input_files=(str(FIXTURES / "mono_therapist.wav"),), speed=None))
    assert layout_watch(LiveRequest(input_files=(str(FIXTURES / "mono_therapist.wav"),)), src.speakers) is None


def test_a_table_device_captured_without_mono_switches_and_shows_speech(pulse, tmp_path):
    """Real capture: the table mix played into a PulseAudio null sink, captured as a stereo device
    without --mono. It used to show both people quiet all session; now the layout is found live,
    said in one warning line, and the mix is shown speaking after it."""
    import subprocess
    import sys
    x = _table()
    wav = tmp_path / "table.wav"
    sf.write(wav, x, RATE, subtype="PCM_16")
    source = pulse.null_sink("table")
    out = tmp_path / "s.json"
    from pathlib import Path
    env = dict(pulse.env, PYTHONPATH=str(Path(__file__).resolve().parents[1]))  # this checkout's code, from cwd
    p = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "live", "--device", source, "--output", str(out),
                          "--plain", "--interval-s", "0.5"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(2.0)
    player = pulse.play(wav, "table")
    assert player.wait(timeout=90) == 0
    time.sleep(1.5)
    p.terminate()
    o, e = p.communicate(timeout=120)
    assert p.returncode == 0, e
    assert o.count("prosody: warning: layout found live at") == 1, o
    after = o.split("prosody: warning: layout found live at", 1)[1]
    assert "shared (found live)" in after and "now: mix speaking" in after, after  # the mix (sweep 20)
    doc = json.loads(out.read_text())
    lay = doc["live"]["layout"]
    assert lay["switched"] is True and doc["speaker_order"] == ["therapist"], lay
    # the sink started before the sound: the switch comes within 30 s of capture
    assert lay["found_at_s"] <= 32.0, lay


def test_the_view_shows_the_layout_found_live(tmp_path):
    """The terminal view says it on every redraw: the header's layout is `shared (found live)` and the line
    found live stands under the meters, whose one channel is the mix."""
    from rich.console import Console

    from prosody_cli.liveview import live_view
    r = LiveRunner(_ArraySource(_table(), [1600]), output_path=tmp_path / "s.json", layout_watch=LayoutWatch())
    r.start()
    r.wait(300)
    con = Console(width=100, record=True, color_system=None)
    con.print(live_view(r.snapshot()))
    text = con.export_text()
    assert "shared (found live)" in text.splitlines()[0], text
    assert "layout found live at 00:20: both channels carry both voices" in text, text
    assert "nobody is named live" in text
