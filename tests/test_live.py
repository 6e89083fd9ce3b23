"""Live session runner, replay source, clock alignment, saving and the view,
without audio devices (see test_live_capture.py for real capture)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from rich.console import Console

from prosody.live.capture import ReplaySource
from prosody.live.clock import Aligner
from prosody.live.runner import (Bookmark, LiveRunner, LiveState, SpeakerFinal, SpeakerNow, frames_path_for,
                          load_live_session)
from prosody.engine.pipeline import Pipeline
from prosody.measures import RollingWindow
from prosody.session import analyze_blocks
from prosody.engine.sources import FileSource, Layout
from prosody_cli.liveview import live_view, pitch_trace, plain_line

REPO = Path(__file__).resolve().parents[1]
DIALOGUE = REPO / "fixtures" / "dialogue.flac"
STEREO = Layout(("therapist", "client"), ((0, 0), (0, 1)))
PROSODY = [sys.executable, "-m", "prosody_cli.main"]


def _seg_tuples(segs):
    return [(s["speaker"], s["start_s"], s["end_s"]) for s in segs]


def _private(p: Path) -> bool:
    return stat.S_IMODE(p.stat().st_mode) == 0o600


# -- replay through the live runner = offline analysis --------------------------------------

@pytest.fixture(scope="module")
def replay_max(tmp_path_factory):
    out = tmp_path_factory.mktemp("live") / "s.json"
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=out)
    r.start()
    res = r.wait(120)
    assert res is not None, "replay at max speed did not finish in 120 s"
    return out, res


def test_replay_equals_offline_analysis(replay_max):
    """One pipeline: the live path (feeder -> queue -> analysis thread, 0.1 s pushes)
    gives exactly the offline segments, transitions and events."""
    out, res = replay_max
    assert res.reason == "end of input" and res.error is None
    doc, frames = load_live_session(out)
    offline = analyze_blocks(FileSource([str(DIALOGUE)], STEREO), STEREO.speakers).to_json_dict()
    assert doc["schema"] == offline["schema"]
    assert doc["duration_s"] == offline["duration_s"]
    assert _seg_tuples(doc["segments"]) == _seg_tuples(offline["segments"])
    assert doc["transitions"] == offline["transitions"]
    assert doc["events"] == offline["events"]
    assert doc["speakers"] == offline["speakers"]
    n = int(round(doc["duration_s"] / doc["frame_hop_s"]))
    for spk in doc["speaker_order"]:
        assert len(frames[spk]["is_speech"]) == n
        # frames agree with the segments: speech time from frames = from segments
        seg_s = sum(s["end_s"] - s["start_s"] for s in doc["segments"] if s["speaker"] == spk)
        assert frames[spk]["is_speech"].sum() * 0.01 == pytest.approx(seg_s, abs=0.011)


def test_saved_files_are_private_and_complete(replay_max):
    out, res = replay_max
    npz = frames_path_for(out)
    assert _private(out) and _private(npz)
    doc = json.loads(out.read_text())
    assert doc["live"]["complete"] is True and doc["live"]["stop_reason"] == "end of input"
    assert doc["live"]["frames_file"] == npz.name and doc["live"]["recording_file"] is None
    assert doc["bookmarks"] == []
    cap = doc["capture"]
    assert cap["layout"] == "replay" and cap["dropped_blocks"] == 0 and cap["overruns"] == 0
    # smoother: 0.4 s (a short stretch amid cross-talk needs 0.1 s of raw speech frames) + 0.6 s; the click
    # marks before it: 0.2 s (a word's syllable after a plosive's burst) + 0.06 s (a click's spread)
    assert cap["latency"]["pipeline_latency_s"] == pytest.approx(1.26)
    assert not list(out.parent.glob(".*.tmp")), "temporary files left behind"


def test_bookmarks_pause_record_duration(tmp_path):
    out, rec = tmp_path / "s.json", tmp_path / "raw.wav"
    src = ReplaySource([str(DIALOGUE)], STEREO, speed=4.0)
    r = LiveRunner(src, output_path=out, duration_s=6.0, record_path=rec)
    r.start()
    time.sleep(0.5)
    b1 = r.bookmark("first")
    r.set_paused(True)
    time.sleep(0.3)
    r.set_paused(False)
    b2 = r.bookmark()
    res = r.wait(30)
    assert res.reason == "duration"
    doc = json.loads(out.read_text())
    assert doc["duration_s"] == pytest.approx(6.0, abs=0.011)
    assert doc["live"]["captured_s"] == pytest.approx(6.0)
    assert [b["note"] for b in doc["bookmarks"]] == ["first", ""]
    assert 0 < doc["bookmarks"][0]["time_s"] <= doc["bookmarks"][1]["time_s"] < 6.0
    assert b1.time_s == doc["bookmarks"][0]["time_s"] and b2.note == ""
    (p,) = doc["live"]["paused"]
    assert 0 < p["start_s"] < p["end_s"] < 6.0
    # raw audio only because --record was given; owner-only; paused audio is silence
    assert _private(rec)
    audio, sr = sf.read(rec, dtype="float32")
    assert sr == 16000 and audio.shape == (96000, 2)
    # pause and resume take effect at a block boundary (0.1 s at most) of the replay
    a, b = int((p["start_s"] + 0.1) * sr), int((p["end_s"] - 0.1) * sr)
    assert b > a and np.all(audio[a:b] == 0)
    orig, _ = sf.read(DIALOGUE, dtype="float32", frames=96000)
    a0 = int((p["start_s"] - 0.1) * sr)
    assert np.max(np.abs(audio[:a0] - orig[:a0])) < 1e-4  # PCM_16 quantisation


class _Crashing(Pipeline):
    def __init__(self, *a, crash_after_s: float, **k):
        super().__init__(*a, **k)
        self.crash_after = int(crash_after_s * 16000)

    def push(self, block):
        if self.n_samples >= self.crash_after:
            raise RuntimeError("planted analysis failure")
        return super().push(block)


class _TailCrash(Pipeline):
    """Analysis that breaks on the audio still buffered when the stop came (``source.tail()``)."""
    tail_started = False

    def push(self, block):
        if self.tail_started:
            raise RuntimeError("planted failure in the tail")
        return super().push(block)


class _SourceWithTail(ReplaySource):
    def __init__(self, *a, pipe: _TailCrash, **k):
        super().__init__(*a, **k)
        self._pipe = pipe

    def tail(self):
        from prosody.live.capture import CaptureBlock
        self._pipe.tail_started = True
        return CaptureBlock(np.zeros((1600, 2), np.float32), time.monotonic())


def test_a_failure_in_the_buffered_tail_is_saved_and_said(tmp_path):
    """The stop's last buffered audio going wrong used to be dropped in silence and the session
    saved as a clean finish: now it is an analysis error, saved as far as it was analysed."""
    out = tmp_path / "s.json"
    pipe = _TailCrash(STEREO.speakers)
    r = LiveRunner(_SourceWithTail([str(DIALOGUE)], STEREO, speed=None, pipe=pipe), output_path=out, pipeline=pipe,
                   duration_s=None)
    r.start()
    res = r.wait(60)
    assert res.reason == "analysis error" and "planted failure in the tail" in res.error
    doc, _ = load_live_session(out)
    assert doc["live"]["complete"] is False and doc["live"]["stop_reason"] == "analysis error"
    assert doc["duration_s"] > 30.0  # the dialogue (40 s) was analysed up to the decision latency


def test_analysis_crash_saves_what_was_final(tmp_path):
    out = tmp_path / "s.json"
    pipe = _Crashing(STEREO.speakers, crash_after_s=12.0)
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=out, pipeline=pipe)
    r.start()
    res = r.wait(60)
    assert res.reason == "analysis error" and "planted analysis failure" in res.error
    doc, frames = load_live_session(out)
    assert doc["live"]["complete"] is False and doc["live"]["stop_reason"] == "analysis error"
    # everything final before the crash (what was pushed minus the decision latency) is there, as an
    # uninterrupted run decides it; how much was pushed before the crash depends on how the replay's
    # blocks were gathered (speed=None drains what is queued); a segment still open then is closed at
    # the analysed end, as the Ctrl-C save and the autosave close it (tests/test_live_robust.py)
    # (at least 12 s pushed, less the declared decision latency: 1.26 s since the click marks; the bound of
    # 11.0 s assumed 1.0 s and failed when the crash came right after 12.0 s: 10.84 s final)
    end_s = doc["duration_s"]
    pushed_s = pipe.n_samples / 16000
    assert pushed_s >= 12.0 and pushed_s - pipe.grid.frames_to_s(pipe.latency_frames) - 0.011 <= end_s <= pushed_s
    ref_out = tmp_path / "ref.json"
    ref = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=ref_out)
    ref.start()
    assert ref.wait(60).reason == "end of input"
    ref_doc, _ = load_live_session(ref_out)
    want = [t for t in _seg_tuples(ref_doc["segments"]) if t[2] < end_s]
    got = _seg_tuples(doc["segments"])
    assert want == [t for t in got if t[2] < end_s] and all(t[2] <= end_s for t in got)
    still_open = [t for t in _seg_tuples(ref_doc["segments"]) if t[1] < end_s < t[2]]
    assert [t for t in got if t[2] == end_s] == [(spk, a, end_s) for spk, a, _ in still_open]
    assert any(8.0 < t[1] < 8.3 for t in got) and len(want) >= 4  # the therapist's 8.1 s turn, and three before


def test_autosave_interval_validated(tmp_path):
    from prosody.errors import InputError
    with pytest.raises(InputError, match="autosave"):
        LiveRunner(ReplaySource([str(DIALOGUE)], STEREO), output_path=tmp_path / "x.json", autosave_s=60)
    with pytest.raises(InputError, match="does not exist"):
        LiveRunner(ReplaySource([str(DIALOGUE)], STEREO), output_path=tmp_path / "nope" / "x.json")


def test_autosave_contains_data_up_to_then(tmp_path):
    out = tmp_path / "s.json"
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=4.0), output_path=out, autosave_s=1.0)
    r.start()
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.2)  # a second autosave
    doc, frames = load_live_session(out)
    r.stop()
    r.wait(30)
    assert doc["live"]["complete"] is False and doc["live"]["stop_reason"] is None
    assert doc["duration_s"] > 3.0
    n = int(round(doc["duration_s"] / 0.01))
    assert all(len(frames[s]["rms_db"]) == n for s in doc["speaker_order"])
    # segments in an autosave are those of the final analysis, the open one closed at its end
    final = json.loads(out.read_text())
    closed = [s for s in final["segments"] if s["end_s"] <= doc["duration_s"] - 0.01]
    assert _seg_tuples(closed) == _seg_tuples([s for s in doc["segments"] if s["end_s"] < doc["duration_s"]])


# -- two devices: alignment and drift -------------------------------------------------------

def _noise_fn(seed=1):
    f = np.random.default_rng(seed).uniform(50, 3000, 40)
    ph = np.random.default_rng(seed + 1).uniform(0, 2 * np.pi, 40)
    return lambda t: (np.sin(2 * np.pi * f[:, None] * np.asarray(t)[None, :] + ph[:, None]).sum(0) / 20).astype(np.float32)


def _arrivals(n_blocks, block_s, rng, *, latency_s=0.004):
    """When blocks ending at k * block_s reach the callback on a loaded machine:
    a fixed path latency, exponential scheduling delay (mean 3 ms), short
    stalls (2 % of blocks start one of 20-80 ms) and two long ones (0.5-2.5 s,
    after the first 2 s); the blocks due during a stall arrive in a burst at
    its end. Lateness is never negative, as on a real machine."""
    due = (np.arange(1, n_blocks + 1)) * block_s + latency_s
    t = due + rng.exponential(0.003, n_blocks)
    starts = [due[j] for j in np.flatnonzero(rng.random(n_blocks) < 0.02)]
    lengths = list(rng.uniform(0.02, 0.08, len(starts)))
    starts += list(rng.uniform(2.0, due[-1] - 3.0, 2))
    lengths += list(rng.uniform(0.5, 2.5, 2))
    for s0, length in zip(starts, lengths):
        late = (due >= s0) & (due < s0 + length)
        t[late] = np.maximum(t[late], s0 + length)
    return np.maximum.accumulate(t)


def _run_aligner(*, drift_ppm, offset_s, correct, seconds=40.0, seed=0):
    """A and B (B ``drift_ppm`` fast, its sample 0 ``offset_s`` after A's),
    320-sample blocks stamped with their arrival (``_arrivals``), pushed in
    arrival order as the capture thread would."""
    rate = 16000
    sig = _noise_fn()
    rng = np.random.default_rng(seed)
    al = Aligner(correct_drift=correct)
    rb = rate * (1 + drift_ppm * 1e-6)
    na, nb = int(seconds * rate) // 320, int((seconds - offset_s) * rb) // 320
    ta = _arrivals(na, 320 / rate, rng)
    tb = offset_s + _arrivals(nb, 320 / rb, rng)
    events = sorted([(t, 0, j) for j, t in enumerate(ta)] + [(t, 1, j) for j, t in enumerate(tb)])
    outs = []
    for t, i, j in events:
        if i == 0:
            al.push(0, sig(np.arange(j * 320, j * 320 + 320) / rate), t)
        else:
            al.push(1, sig(offset_s + np.arange(j * 320, j * 320 + 320) / rb), t)
        o = al.pull()
        if len(o):
            outs.append(o)
    outs.append(al.flush())
    return al, np.concatenate(outs), sig


def _lag_ms(x, ref, max_lag=400):
    lags = range(-max_lag, max_lag + 1)
    best = max(lags, key=lambda L: float(np.dot(x[max_lag + L:len(x) - max_lag + L], ref[max_lag:len(ref) - max_lag])))
    return best / 16.0


@pytest.mark.parametrize("offset_s", [0.25, -0.3])
def test_aligner_start_offset_and_drift(offset_s):
    """Device B runs 200 ppm fast and starts 0.25 s after (or 0.3 s before) A;
    blocks are stamped by arrival on a loaded machine (scheduling delays,
    stalls up to 2.5 s). B's channel lines up with A's timeline to within
    a millisecond at every point, from the first second on, while without
    drift correction it slips by the expected 200 ppm x t."""
    al, out, sig = _run_aligner(drift_ppm=200.0, offset_s=offset_s, correct=True)
    assert al.start_offset_s == pytest.approx(offset_s, abs=0.001)
    assert al.drift_ppm == pytest.approx(200.0, abs=10.0) and al.same_clock is False
    pad = al.pad_a_samples   # B first: the timeline starts with B
    for t in (0.5, 2.0, 15.0, 35.0):
        i = np.arange(int(t * 16000), int(t * 16000) + 8000)
        assert abs(_lag_ms(out[i + pad, 1], sig(i / 16000))) <= 1.0, t
        assert abs(_lag_ms(out[i + pad, 0], sig(i / 16000))) == 0.0
    if offset_s > 0:
        first = np.flatnonzero(out[:, 1])[0] / 16000
        assert first == pytest.approx(offset_s, abs=0.002)
    al2, out2, _ = _run_aligner(drift_ppm=200.0, offset_s=offset_s, correct=False)
    pad = al2.pad_a_samples
    i = np.arange(35 * 16000, 35 * 16000 + 8000)
    assert _lag_ms(out2[i + pad, 1], sig(i / 16000)) == pytest.approx(200e-6 * (35 - offset_s) * 1000, abs=1.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aligner_one_clock_is_recognised(seed):
    """Two streams on one clock (two devices on one monitor): the drift
    measured over 40 s of loaded-machine arrivals stays within 20 ppm, is
    recognised as no drift (ratio exactly 1) and B stays on A's samples."""
    al, out, sig = _run_aligner(drift_ppm=0.0, offset_s=0.013, correct=True, seed=seed)
    assert abs(al.drift_ppm) < 20.0 and al.same_clock is True and al.ratio == 1.0
    assert al.start_offset_s == pytest.approx(0.013, abs=0.001)
    for t in (0.5, 20.0, 38.0):
        i = np.arange(int(t * 16000), int(t * 16000) + 8000)
        assert abs(_lag_ms(out[i, 1], sig(i / 16000))) <= 0.5, t


# -- the view --------------------------------------------------------------------------------

ROLLING = RollingWindow(
    start_s=60.0, end_s=120.0, baseline="running", voice={}, timing=None,
    warmth={"score": 68.5, "components": [
        {"name": "pitch_raised_share", "value": 0.08, "unit": "share", "score": 0.8, "weight": 14.3, "contribution": 11.4},
        {"name": "gap_median_s", "value": 0.42, "unit": "s", "score": 0.7, "weight": 14.3, "contribution": 10.0},
        {"name": "talk_over_per_10min", "value": None, "unit": "count/10 min", "score": None, "weight": 0.0,
         "contribution": None}]},
    attunement={"n_exchanges": 14,
                   "proximity": {"pitch": {"value": -1.07, "chance_low": -1.5, "chance_high": -0.7}},
                   "synchrony": {"pitch": {"value": 0.62, "chance_low": -0.5, "chance_high": 0.55}},
                   "convergence": {"intensity": {"value": -0.56, "chance_low": -0.55, "chance_high": 0.5}}},
    cues=({"kind": "monologue", "message": "monologue 95 s", "value": 95.0},),
)


def _state(*, rolling=ROLLING, speakers=("therapist", "client"), paused=False, health=None, message=""):
    two = len(speakers) == 2
    f0 = np.full(3000, np.nan, np.float32)
    f0[1000:1500] = 200.0 * 2 ** (np.linspace(-4, 4, 500) / 12)  # a 8-semitone rise
    return LiveState(
        speakers=speakers, turn_taking=two, source_kind="two-device" if two else "mono", elapsed_s=754.3,
        final_s=753.6, paused=paused,
        now=tuple(SpeakerNow(s, lv, -70.0, sp, f0) for s, lv, sp, f0 in zip(speakers, (-23.0, -51.0), (True, False), (176.0, None))),
        final=tuple(SpeakerFinal(s, 300.0 - 100 * i, (0.62, 0.38)[i] if two else None, (200.0, 110.0)[i], 4.2,
                                 12 if two else None, 1 if two else None, 2 if two else None, 3 if two else None)
                    for i, s in enumerate(speakers)),
        trail_f0_hz={s: f0 for s in speakers},
        last_gaps=(("client", 0.42, "gap"), ("therapist", -0.20, "overlap")) if two else (),
        rolling=rolling, health=health or {"overruns": 3, "dropped_blocks": 0, "drift_ppm": 12.4,
                                           "drift_corrected": True, "state_delay_ms": {"median": 4.0}},
        bookmarks=(Bookmark(100.0, "client cried"),), saved_at_s=750.0, output_path="/tmp/x.json",
        status="paused" if paused else "running", message=message,
        notes=() if two else ("one channel: therapist only, so no turn-taking figures",))


def _render(state, width=80, **kw) -> list[str]:
    con = Console(width=width, height=24, record=True, color_system=None, file=open(os.devnull, "w"))
    con.print(live_view(state, **kw))
    return con.export_text().rstrip("\n").split("\n")


def test_view_fits_80x24_and_shows_every_panel():
    lines = _render(_state())
    text = "\n".join(lines)
    assert len(lines) <= 24 and max(len(x) for x in lines) <= 80
    assert lines[0].startswith("prosody live 12:34") and "two devices" in lines[0]
    assert "now · provisional" in text and "turn-taking · final" in text
    assert any(x.startswith("therapist") and "● speaking" in x and "-23 dB" in x and "176 Hz" in x for x in lines)
    assert any(x.startswith("client") and "quiet" in x and "-51 dB" in x for x in lines)
    assert "therapist  62%" in text and "38% client" in text
    assert "+0.42 s→client" in text and "-0.20 s→therapist (overlap)" in text
    assert "200 Hz" in text and "110 Hz" in text
    assert "warmth     " in text and "68/100" in text and "pitch raised 8% +11" in text and "wait 0.42s +10" in text
    assert "(14 exchanges)" in text
    assert "proximity  pitch -1.07~" in text and "synchrony  pitch +0.62↑" in text
    assert "convergence loudness -0.56↓" in text  # the feature in the summary's words (user walk-through)
    assert "cues       monologue 95 s" in text
    assert "overruns 3 · dropped 0 · drift +12 ppm (corrected)" in text
    assert "q save+quit" in lines[-1] and "1 bookmark" in lines[0]


def test_view_pitch_trace_draws_the_planted_rise():
    rows = pitch_trace(_state().trail_f0_hz["therapist"], ref_hz=200.0, width=60, rows=2, n_frames=3000)
    assert len(rows) == 2 and all(len(r) == 60 for r in rows)
    # the voiced stretch (frames 1000-1500 of 3000) occupies columns 20-30 only
    cols = [i for i in range(60) if rows[0][i] != " " or rows[1][i] != " "]
    assert cols and 19 <= min(cols) and max(cols) <= 30
    # it rises: the start is drawn on the lower row, the end on the upper one
    assert rows[1][cols[0]] != " " and rows[0][cols[-1]] != " "
    assert pitch_trace(np.full(3000, np.nan), ref_hz=None, width=10, rows=2, n_frames=3000) == [" " * 10] * 2


def test_view_without_rolling_mono_paused_and_messages():
    text = "\n".join(_render(_state(rolling=None)))
    assert "waiting for the first rolling window" in text
    lines = _render(_state(speakers=("therapist",), rolling=RollingWindow(
        start_s=0.0, end_s=5.0, baseline="running", voice={}, timing=None, warmth={"score": None, "components": []},
        cues=())))
    text = "\n".join(lines)
    assert len(lines) <= 24 and "no turn-taking" in text and "turn-taking · final" not in text
    assert "client" not in text and "drift n/a" in text and "cues       none" in text
    lines = _render(_state(paused=True, message="analysis paused"))
    assert "PAUSED" in lines[0] and "analysis paused" in lines[-1]
    assert sum("paused" in x for x in lines[2:4]) == 2   # meters blank while paused
    note = _render(_state(), note_input="felt stuck")[-1]
    assert note.startswith("note: felt stuck")


def test_view_colours_are_theme_safe():
    """Only the speaker colours and red for alarms; no background colours, no
    black/white: readable on a light and on a dark terminal."""
    con = Console(width=80, height=24, color_system="truecolor", file=open(os.devnull, "w"))
    segs = list(con.render(live_view(_state()), con.options))
    colours = {s.style.color.name for s in segs if s.style and s.style.color}
    assert colours <= {"cyan", "magenta", "red"}
    assert not any(s.style and s.style.bgcolor for s in segs)


def test_view_narrow_and_wide_terminals():
    for w in (60, 120):
        lines = _render(_state(), width=w)
        assert max(len(x) for x in lines) <= w and len(lines) <= 24


def test_plain_line():
    line = plain_line(_state())
    assert line.startswith("[12:34] | two devices | now: therapist speaking (-23 dB, 176 Hz), client quiet (-51 dB)")
    assert "share therapist 62% client 38%" in line and "last gap -0.20 s->therapist (overlap)" in line
    assert "warmth 68" in line and "cues: monologue 95 s" in line and "drift +12 ppm" in line
    assert "\n" not in line


# -- the command -----------------------------------------------------------------------------

def test_cli_replay_plain(tmp_path):
    out = tmp_path / "s.json"
    res = subprocess.run(PROSODY + ["live", "--input", str(DIALOGUE), "--speed", "max", "--output", str(out),
                                    "--interval-s", "0.2"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1].startswith(f"saved {out} (40.2 s analysed")
    assert "stopped: end of input" in res.stdout
    doc, _ = load_live_session(out)
    assert doc["sources"] == [f"replay:{DIALOGUE}"]


@pytest.mark.parametrize("argv, msg", [
    (["--input", "nope.wav"], "no such file"),
    (["--input", str(DIALOGUE), "--speed", "fast"], "--speed 'fast'"),
    (["--input", str(DIALOGUE), "--autosave-s", "45"], "--autosave-s 45"),
    (["--input", str(DIALOGUE), "--device", "0"], "do not combine"),
    (["--input", str(DIALOGUE), "--output", "/nonexistent/dir/x.json"], "does not exist"),
    (["--therapist-device", "x"], "give both"),
])
def test_cli_errors_are_one_line(argv, msg, tmp_path):
    res = subprocess.run(PROSODY + ["live", *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosody: error:") and msg in lines[0], res.stderr


def test_sigterm_saves_to_the_end(tmp_path):
    out = tmp_path / "s.json"
    p = subprocess.Popen(PROSODY + ["live", "--input", str(DIALOGUE), "--output", str(out), "--plain",
                                    "--interval-s", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=tmp_path)
    _wait_for_elapsed(p, 3)
    p.terminate()
    o, e = p.communicate(timeout=30)
    assert p.returncode == 0, e
    doc, frames = load_live_session(out)
    live = doc["live"]
    assert live["stop_reason"] == "SIGTERM" and live["complete"] is True
    assert live["captured_s"] >= 3.0
    assert doc["duration_s"] == pytest.approx(live["captured_s"], abs=0.011)  # analysed to the end
    assert len(frames["therapist"]["is_speech"]) == int(round(doc["duration_s"] / 0.01))


def test_a_closed_output_pipe_stops_capture_and_saves_it(tmp_path):
    """docs/live.md: the session is saved "whatever happens". `prosody live --plain | head -1`: the
    next plain line met a closed pipe, and the capture died with "cannot access: Broken pipe" and
    no file at all (the first autosave comes after 30 s). Now the capture stops, is saved as on any
    other stop, and stderr says why and where it is."""
    out = tmp_path / "s.json"
    p = subprocess.Popen(PROSODY + ["live", "--input", str(DIALOGUE), "--output", str(out), "--plain",
                                    "--interval-s", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=tmp_path)
    _wait_for_elapsed(p, 2)
    p.stdout.close()  # the reader went away (`| head -1`)
    err = p.stderr.read()
    p.wait(timeout=30)
    assert p.returncode == 1, err
    lines = err.splitlines()
    assert lines[0].startswith("prosody: error: the output of the live view was closed (Broken pipe): capture "
                               "stopped; the session is saved"), err
    assert lines[1].startswith(f"saved {out} (") and "stopped: output closed" in lines[1], err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    doc, frames = load_live_session(out)
    # then the saved session's warnings, as analyze says them after its save (hostile sweep 53)
    assert lines[2:] == [f"prosody: warning: {w}" for w in doc["warnings"]], err
    live = doc["live"]
    assert live["stop_reason"] == "output closed" and live["complete"] is True
    assert 2.0 <= live["captured_s"] < 20.0  # stopped near where the pipe closed, not at the end of the input
    assert doc["duration_s"] == pytest.approx(live["captured_s"], abs=0.011)  # analysed to the end
    assert len(frames["therapist"]["is_speech"]) == int(round(doc["duration_s"] / 0.01))


def _killed_after_autosave(tmp_path, seconds: int):
    """``prosody live`` replaying the dialogue with an autosave every second, killed
    (SIGKILL: no final save) once ``seconds`` have elapsed; its session JSON path."""
    out = tmp_path / "s.json"
    p = subprocess.Popen(PROSODY + ["live", "--input", str(DIALOGUE), "--output", str(out), "--plain",
                                    "--interval-s", "0.2", "--autosave-s", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    _wait_for_elapsed(p, seconds)
    p.kill()
    p.communicate(timeout=30)
    return out


def test_sigkill_after_autosave_keeps_data_to_the_autosave(tmp_path):
    doc, frames = load_live_session(_killed_after_autosave(tmp_path, 4))
    assert doc["live"]["complete"] is False
    # an autosave every second: at most ~1 s (+ the pipeline's 1.26 s decision latency) lost
    assert doc["duration_s"] >= 4 - 1.0 - 1.26 - 0.3
    assert doc["segments"] and doc["segments"][0]["start_s"] == pytest.approx(0.5, abs=0.02)
    assert len(frames["client"]["rms_db"]) == int(round(doc["duration_s"] / 0.01))


def test_a_killed_live_sessions_file_is_kept_and_said_incomplete(tmp_path):
    """A capture killed after an autosave leaves the only copy of what was captured: no command
    writes over its JSON or its frames file, and import, show and the report say it is part-way."""
    from tests.conftest import run_cli
    from tests.test_validation import _one_line
    out = _killed_after_autosave(tmp_path, 3)
    frames = frames_path_for(out)
    kept = out.read_bytes(), frames.read_bytes()
    assert json.loads(kept[0])["live"]["complete"] is False
    store = tmp_path / "st"
    for argv in (["analyze", DIALOGUE, "--json", out], ["live", "--input", DIALOGUE, "--output", out],
                 ["live", "--input", DIALOGUE, "--output", tmp_path / "s2.json", "--record", out]):
        rc, _, err = run_cli(*argv)
        _one_line(rc, err)
        assert "live session's saved file" in err and "choose a new name" in err, err
    rc, _, err = run_cli("import", out, "--store", store)
    assert rc == 0, err
    assert "saved part-way" in err and "autosave" in err
    for argv in (["report", "1", "--store", store, "-o", out], ["export", "1", "--store", store, "-o", frames]):
        rc, _, err = run_cli(*argv)
        _one_line(rc, err)
        assert "live session" in err, err
    assert (out.read_bytes(), frames.read_bytes()) == kept
    rc, shown, _ = run_cli("show", "1", "--store", store)
    assert rc == 0 and "saved part-way" in " ".join(shown.split())
    assert run_cli("report", "1", "--store", store, "-o", tmp_path / "r.html")[0] == 0
    assert "saved part-way" in (tmp_path / "r.html").read_text()
    # a finished live session imported says nothing of the kind
    done = tmp_path / "done.json"
    rc, _, err = run_cli("live", "--input", DIALOGUE, "--output", done, "--plain", "--duration", "2")
    assert rc == 0 and json.loads(done.read_text())["live"]["complete"] is True, err
    rc, _, err = run_cli("import", done, "--store", store)
    assert rc == 0 and "part-way" not in err and "incomplete" not in err, err


def _wait_for_elapsed(p: subprocess.Popen, seconds: int, timeout_s: float = 60.0) -> None:
    """Read plain lines until one shows at least ``seconds`` elapsed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            raise AssertionError(f"prosody live ended early: {p.stderr.read()}")
        if line.startswith("["):
            mm, ss = line[1:6].split(":")
            if int(mm) * 60 + int(ss) >= seconds:
                return
    raise AssertionError("no progress from prosody live")


def test_cli_autosave_default_matches_the_runner():
    import prosody.live.runner
    import prosody_cli.live
    assert prosody_cli.live.AUTOSAVE_S == prosody.live.runner.AUTOSAVE_S


def test_live_cues_option_reaches_the_rolling_windows(tmp_path):
    """`prosody live --cues` configures the measures layer of the live pipeline."""
    from prosody_cli.main import main
    out = tmp_path / "s.json"
    rc = main(["live", "--input", str(DIALOGUE), "--speed", "max", "--plain", "--output", str(out),
               "--cues", "quick_answers", "--network-delay-ms", "50"])
    assert rc == 0
    doc = json.loads(out.read_text())
    cfg = doc["measures"]["config"]
    assert cfg["cues"]["quick_answers"] is True and cfg["cues"]["monologue"] is False
    assert cfg["network_delay_ms"] == 50.0
    assert "gap_median_corrected_s" in doc["measures"]["timing"]["client"]


def test_now_state_comes_from_the_pipelines_provisional_output(tmp_path):
    """Two seconds into the fixture the therapist speaks (from 0.5 s, about
    175 Hz) and the client is silent: the live state's provisional "now"
    shows exactly that, from the pipeline's own voice activity and pitch."""
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=tmp_path / "s.json",
                   duration_s=2.0)
    r.start()
    r.wait(30)
    now = {n.name: n for n in r.snapshot().now}
    assert now["therapist"].speaking and not now["client"].speaking
    assert now["therapist"].f0_hz is not None and 150.0 <= now["therapist"].f0_hz <= 210.0
    assert now["client"].f0_hz is None
    assert len(r.now_delays_s) > 0  # provisional frames have their delay measured (real-time figures: benchmarks/live_cpu.py)


def test_a_channel_that_never_speaks_is_said_at_the_end(tmp_path):
    """Planted: the fixture's therapist channel and a client channel of digital zeros. The
    final save says the client never speaks (as analyze does); the stretch of the therapist's
    speech is there as usual."""
    audio, sr = sf.read(DIALOGUE, dtype="float32")
    audio[:, 1] = 0.0
    rec = tmp_path / "one_side.wav"
    sf.write(rec, audio[: 20 * sr], sr, subtype="PCM_16")
    out = tmp_path / "s.json"
    r = LiveRunner(ReplaySource([str(rec)], STEREO, speed=None), output_path=out)
    r.start()
    assert r.wait(120) is not None
    doc, _ = load_live_session(out)
    said = [w for w in doc["warnings"] if w.startswith("client never speaks")]
    assert len(said) == 1 and "digital silence" in said[0]
    assert not any(w.startswith("therapist never speaks") for w in doc["warnings"])
    assert any(s["speaker"] == "therapist" for s in doc["segments"])


def test_live_pitch_median_covers_the_configured_range(tmp_path):
    """The live view's running F0 median reads the speaker's own pitch range (a child's 900 Hz
    with a 100-1500 Hz range); it clipped at 635 Hz whatever the range."""
    from prosody.config import AnalysisConfig, PitchConfig
    from prosody.live.runner import _F0Median
    m = _F0Median(100.0, 1500.0)
    m.add(np.full(50, 900.0, np.float32))
    assert abs(12 * np.log2(m.median_hz() / 900.0)) <= 0.25
    d = _F0Median()  # the tracker's default 50-600 Hz: the same bins as before
    d.add(np.full(50, 200.0, np.float32))
    assert abs(12 * np.log2(d.median_hz() / 200.0)) <= 0.25
    cfg = AnalysisConfig(pitch_by_speaker=(("client", PitchConfig(fmin_hz=100.0, fmax_hz=1500.0)),))
    r = LiveRunner(ReplaySource([str(DIALOGUE)], STEREO, speed=None), output_path=tmp_path / "s.json", config=cfg)
    assert r._f0_median["client"].LO_HZ == 100.0 and r._f0_median["therapist"].LO_HZ == 50.0
    r._f0_median["client"].add(np.full(50, 1200.0, np.float32))
    assert abs(12 * np.log2(r._f0_median["client"].median_hz() / 1200.0)) <= 0.25


def test_the_view_says_the_input_clips_only_while_it_does():
    """``capture.clipping_now`` (a device block flat at full scale in the last 3 s) is said on the
    capture line of the terminal view and in the plain line; a clean input says nothing of it."""
    import io

    from rich.console import Console

    from prosody_cli.liveview import CLIPPING_CUE, live_view, plain_line

    def text(state):
        con = Console(width=160, height=40, file=io.StringIO(), record=True)
        con.print(live_view(state))
        return con.export_text()

    health = {"overruns": 0, "dropped_blocks": 0, "drift_ppm": None, "layout": "stereo"}
    clean, clipping = _state(health=health), _state(health={**health, "clipping_now": True})
    assert CLIPPING_CUE in text(clipping) and CLIPPING_CUE in plain_line(clipping)
    assert CLIPPING_CUE not in text(clean) and CLIPPING_CUE not in plain_line(clean)


def test_a_live_autosave_whose_frames_file_is_newer_than_its_json_is_imported_to_its_json(tmp_path):
    """The live runner writes the frames file before the JSON that names it, so a capture killed
    between the two leaves frames beyond the JSON's ``duration_s``; ``load_live_session`` cuts them,
    and import now does the same (it had refused the file: "holds 174 frames, the session 0.74 s").
    Frames that fall short of the JSON still belong to no such autosave and are refused."""
    from prosody.store.db import Store
    from tests.conftest import run_cli
    from tests.test_validation import _one_line
    out = tmp_path / "s.json"
    rc, _, err = run_cli("live", "--input", DIALOGUE, "--output", out, "--plain", "--speed", "max", "--duration", "3")
    assert rc == 0, err
    doc = json.loads(out.read_text())
    n = int(round(doc["duration_s"] / doc["frame_hop_s"]))
    for shift_s, ok in ((-1.0, True), (1.0, False)):  # the JSON an autosave earlier / later than its frames
        older = tmp_path / f"older{shift_s:+.0f}.json"
        d = {**doc, "duration_s": round(doc["duration_s"] + shift_s, 2), "live": {**doc["live"], "complete": False}}
        older.write_text(json.dumps(d))
        store = tmp_path / f"st{shift_s:+.0f}"
        rc, _, err = run_cli("import", older, "--frames", frames_path_for(out), "--store", store)
        if ok:
            assert rc == 0, err
            frames = Store(store).frames("1")
            assert {len(a) for f in frames.values() for a in f.values()} == {n - 100}
        else:
            _one_line(rc, err)
            assert f"holds {n} frames" in err, err


def test_view_counts_one_exchange_in_the_singular():
    """"(1 exchange)", not "(1 exchanges)", in the live view's attunement title (the summary's is written alike)."""
    from dataclasses import replace as _replace
    one = _replace(ROLLING, attunement={**ROLLING.attunement, "n_exchanges": 1})
    text = "\n".join(_render(_state(rolling=one)))
    assert "(1 exchange)" in text and "(1 exchanges)" not in text
