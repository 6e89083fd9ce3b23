"""Hostile sweep 18 (2026-12-05): one stereo device's layout found live (prosody.live.layout_watch), attacked
through `prosody live --input FILE` replays. Each test fails on the code before the sweep's fix
(docs/store.md, "Hostile sweep 18")."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from prosody.live.layout_watch import AS_GIVEN, AS_SWITCHED
from prosody.live.runner import load_live_session
from tests.conftest import run_cli
from tests.test_live_layout import RATE, _fixture, _table


def _replay(tmp_path, x, name="in.wav"):
    wav = tmp_path / name
    sf.write(wav, x, RATE, subtype="FLOAT")
    out = tmp_path / (name + ".json")
    rc, o, err = run_cli("live", "--input", wav, "--speed", "max", "--plain", "--output", out)
    assert rc == 0, err
    return load_live_session(out)[0], o


def test_a_switched_replay_no_longer_says_its_speakers_were_its_channels_as_given(tmp_path):
    """Planted: the table device (both voices on both mics). The session switched at 00:20 and is, from the
    start, its first channel as one speaker; its saved warnings still said "speakers were taken from its
    channels as given (provisional)", the opposite of what it is. A device found separate keeps that note."""
    doc, _ = _replay(tmp_path, _table(), "table.wav")
    assert doc["live"]["layout"]["switched"] and doc["speaker_order"] == ["therapist"]
    assert not [w for w in doc["warnings"] if AS_GIVEN in w], doc["warnings"]
    said = [w for w in doc["warnings"] if AS_SWITCHED in w]
    assert len(said) == 1 and "prosody analyze" in said[0] and "table.wav" in said[0], doc["warnings"]
    x, _ = _fixture()  # the fixture dialogue as recorded: a channel each
    doc, _ = _replay(tmp_path, x.astype(np.float32), "separate.wav")
    assert doc["live"]["layout"]["found"] == "separate" and not doc["live"]["layout"]["switched"]
    assert [w for w in doc["warnings"] if AS_GIVEN in w] and not [w for w in doc["warnings"] if AS_SWITCHED in w]


def test_checks_after_the_switch_that_find_the_channels_separate_are_said(tmp_path):
    """Planted: 40 s of the table device, then 40 s of the dialogue a channel each (the device unplugged and two
    headsets in). Switched at 00:20; the check over the minute to 01:20 finds the channels separate. It was
    counted in live.layout.confirmations and said nowhere: the session kept saying both channels carry both
    voices. Now one warning says how many later checks found them separate and from when."""
    x, _ = _fixture()
    doc, _ = _replay(tmp_path, np.r_[_table(), x.astype(np.float32)], "then_separate.wav")
    lay = doc["live"]["layout"]
    assert lay["switched"] and lay["found_at_s"] == 20.0 and lay["confirmations"]["separate"] == 1, lay
    said = [w for w in doc["warnings"] if w.startswith("the layout checks after the switch found the channels "
                                                        "separate 1 of 1 times (first over the minute to 01:20")]
    assert len(said) == 1, doc["warnings"]
    doc, _ = _replay(tmp_path, np.r_[_table(), _table(), _table()], "shared3x.wav")  # stays shared: nothing said
    assert doc["live"]["layout"]["confirmations"] == {"shared": 1, "separate": 0, "unsure": 0}
    assert not [w for w in doc["warnings"] if "after the switch found" in w], doc["warnings"]


def test_a_switched_session_whose_recording_reads_separate_is_analysed_a_channel_each(tmp_path):
    """Planted: 40 s of the table device, then 40 s of the dialogue a channel each, with --record. Switched live at
    00:20; the recording read whole is found separate (the dialogue's turns alternate between the channels), and
    "separate: the live analysis stands" kept the live analysis, which after the switch is the first channel as one
    speaker: a session of one speaker whose attribution said separate channels. Now it is the recording analysed
    a channel each, exactly what `prosody analyze` of the recording gives, and said."""
    import json
    x, _ = _fixture()
    wav, rec, out = tmp_path / "then_separate.wav", tmp_path / "rec.wav", tmp_path / "s.json"
    sf.write(wav, np.r_[_table(), x.astype(np.float32)], RATE, subtype="FLOAT")
    rc, _, err = run_cli("live", "--input", wav, "--speed", "max", "--plain", "--output", out, "--record", rec)
    assert rc == 0, err
    doc, _ = load_live_session(out)
    assert doc["live"]["layout"]["switched"] and doc["live"]["reattributed"] is True
    assert doc["attribution"]["layout"] == "separate" and doc["speaker_order"] == ["therapist", "client"]
    rc, _, err = run_cli("analyze", rec, "--json", tmp_path / "a.json")
    assert rc == 0, err
    whole = json.loads((tmp_path / "a.json").read_text())
    assert doc["segments"] == whole["segments"] and doc["measures"] == whole["measures"]
    assert len({s["speaker"] for s in doc["segments"]}) == 2
    said = [w for w in doc["warnings"] if w.startswith("the recording read whole has separate channels")]
    assert len(said) == 1 and said[0].endswith("not the one shared device read live from 00:20"), doc["warnings"]
    assert not [w for w in doc["warnings"] if "after the switch found" in w], doc["warnings"]


def test_a_pause_across_the_switch_and_a_bookmark_before_it_are_the_mono_readings(tmp_path):
    """Held (no fix): a bookmark at 00:10, a pause from 00:15 to 00:30 (the switch at 00:20 inside it): the
    switched session is, frame for frame, the one-channel session of the first channel with the same bookmark
    and pause (the paused audio is zeros in both readings), and keeps both at their times."""
    from prosody.live.layout_watch import LayoutWatch
    from prosody.live.runner import LiveRunner
    from tests.test_live_layout import _ArraySource

    class Hooked(_ArraySource):
        def __init__(self, x, mono):
            super().__init__(x, [800])
            self.runner = None
            if mono:
                self.speakers = ("therapist",)

        def read(self, timeout_s):
            blk = super().read(timeout_s)
            at = self.pos / RATE
            if blk is not None and abs(at - 10.0) < 0.01:
                self.runner.bookmark("before")
            if blk is not None and abs(at - 15.0) < 0.01:
                self.runner.set_paused(True)
            if blk is not None and abs(at - 30.0) < 0.01:
                self.runner.set_paused(False)
            return blk

    x = _table()
    got = {}
    for name, audio, watch in (("stereo", x, LayoutWatch()), ("mono", x[:, :1], None)):
        src = Hooked(audio, watch is None)
        r = LiveRunner(src, output_path=tmp_path / f"{name}.json", layout_watch=watch)
        src.runner = r
        r.start()
        assert r.wait(300).error is None
        got[name] = load_live_session(tmp_path / f"{name}.json")
    (da, fa), (db, fb) = got["stereo"], got["mono"]
    assert da["live"]["layout"]["switched"] and da["live"]["layout"]["found_at_s"] == 20.0
    # the bookmark and the pause take the time analysed when asked: the block before the one that reached 00:10
    assert da["bookmarks"] == db["bookmarks"] == [{"time_s": 9.95, "note": "before"}]
    assert da["live"]["paused"] == db["live"]["paused"] == [{"start_s": 14.95, "end_s": 29.95}]
    assert da["segments"] == db["segments"] and da["measures"] == db["measures"]
    for k in fa["therapist"]:
        np.testing.assert_array_equal(fa["therapist"][k], fb["therapist"][k])
