"""Real capture through a private PulseAudio server (null sinks, paplay), the
terminal view end to end in tmux, and a device that disappears mid-stream.

Each PulseAudio test starts its own server in a temporary directory and stops
it (tests/pulse.py); they skip with a message where PulseAudio, its ALSA
plugin or tmux are missing. The null sink runs in real time, so the audio is
a 12 s excerpt of the bundled dialogue cut in silences (5.6-17.7 s), with its
truth taken from fixtures/dialogue.truth.json.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from signal import SIGINT
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from prosody.live.runner import load_live_session
from tests.pulse import alignment_source, channel_lags_s

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
PROSODY = [sys.executable, "-m", "prosody_cli.main"]
T0_S, T1_S = 5.6, 17.7          # excerpt: both ends in silence
BOUNDARY_TOL_S = 0.100


@pytest.fixture(scope="module")
def excerpt(tmp_path_factory):
    audio, sr = sf.read(FIXTURES / "dialogue.flac", dtype="float32")
    truth = json.loads((FIXTURES / "dialogue.truth.json").read_text())
    path = tmp_path_factory.mktemp("excerpt") / "excerpt.wav"
    x = audio[int(T0_S * sr):int(T1_S * sr)]
    sf.write(path, x, sr, subtype="PCM_16")
    segs = {spk: [(a - T0_S, b - T0_S) for a, b in truth["segments"][spk] if a >= T0_S and b <= T1_S]
            for spk in ("therapist", "client")}
    changes = [(t["to_speaker"], t["to_start_s"] - T0_S) for t in truth["transitions"]
               if t["from_end_s"] >= T0_S and t["to_start_s"] <= T1_S]
    assert len(changes) == 4 and sum(map(len, segs.values())) == 5
    return path, x, segs, changes


def _start_live(pulse, args, tmp_path):
    out = tmp_path / "s.json"
    p = subprocess.Popen(PROSODY + ["live", *args, "--output", str(out), "--plain", "--interval-s", "0.25"],
                         env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the first PulseAudio callback can take 1-2 s: play once audio flows
        line = p.stdout.readline()
        if not line:
            raise AssertionError(f"prosody live ended before capturing: {p.stderr.read()}")
        if line.startswith("[") and not line.startswith("[00:00]"):
            return p, out
    p.kill()
    raise AssertionError("no audio from the null sink's monitor within 30 s")


def _play_then_stop(pulse, p, path, sink: str, *, settle_s: float = 1.0) -> tuple[str, str]:
    """Play ``path`` into ``sink``, wait ``settle_s`` for the analysis to catch up, stop ``prosody live``
    (``p``) with SIGTERM; its (stdout, stderr), once it exited cleanly."""
    player = pulse.play(path, sink)
    assert player.wait(timeout=60) == 0, player.stderr.read()
    time.sleep(settle_s)
    p.terminate()
    o, e = p.communicate(timeout=60)
    assert p.returncode == 0, e
    return o, e


def _latency_s(rec: np.ndarray, ref: np.ndarray, ch: int | None = None) -> float:
    """Constant capture latency: lag of the excerpt in the recording (cross-correlation)."""
    a = rec.sum(axis=1) if ch is None else rec[:, ch]
    b = ref.sum(axis=1) if ch is None else ref[:, ch]
    c = signal.correlate(a, b, mode="valid", method="fft")
    return int(np.argmax(c)) / 16000


def _check_against_truth(doc, segs, changes, latency_s):
    errors = []
    for spk, truth in segs.items():
        pred = [(s["start_s"] - latency_s, s["end_s"] - latency_s) for s in doc["segments"] if s["speaker"] == spk]
        assert len(pred) == len(truth), (spk, pred, truth)
        for (ta, tb), (pa, pb) in zip(truth, pred):
            errors += [pa - ta, pb - tb]
    pred_changes = [(t["to_speaker"], t["to_start_s"] - latency_s) for t in doc["transitions"]]
    assert [c[0] for c in pred_changes] == [c[0] for c in changes]
    errors += [p[1] - t[1] for p, t in zip(pred_changes, changes)]
    errors = np.abs(errors)
    assert errors.max() <= BOUNDARY_TOL_S, errors
    return errors


def _private(p: Path) -> bool:
    return stat.S_IMODE(p.stat().st_mode) == 0o600


def test_devices_lists_monitor_sources(pulse):
    pulse.null_sink("callaudio")
    res = subprocess.run(PROSODY + ["devices"], env=pulse.env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if "callaudio.monitor" in x)
    assert "monitor (call/output audio)" in line and "16000" in line
    # and the output devices `prosody play --device` takes (its error points here)
    outputs = res.stdout.split("Output devices", 1)
    assert len(outputs) == 2 and any(x.strip() for x in outputs[1].splitlines()[1:]), res.stdout


def test_capture_stereo_monitor_matches_truth(pulse, excerpt, tmp_path):
    """Play the excerpt into a stereo null sink, capture its monitor, stop with
    SIGTERM: speech segments and speaker changes within 100 ms of the truth
    after removing the constant capture latency."""
    path, audio, segs, changes = excerpt
    mon = pulse.null_sink("v1")
    rec = tmp_path / "raw.wav"
    p, out = _start_live(pulse, ["--device", mon, "--record", str(rec)], tmp_path)
    o, e = _play_then_stop(pulse, p, path, "v1", settle_s=1.6)  # the pipeline's 1.26 s decision latency, with margin
    doc, frames = load_live_session(out)
    assert doc["live"]["stop_reason"] == "SIGTERM" and doc["live"]["complete"]
    assert doc["capture"]["layout"] == "stereo" and doc["capture"]["sample_rates_hz"] == [16000]
    assert doc["capture"]["overruns"] == 0 and doc["capture"]["dropped_blocks"] == 0
    assert doc["capture"]["clipping"] == [] and not any("clips" in w for w in doc["warnings"])  # a clean input
    assert _private(out) and _private(rec) and _private(out.with_name("s.frames.npz"))
    raw, _ = sf.read(rec, dtype="float32")
    latency = _latency_s(raw, audio)
    errors = _check_against_truth(doc, segs, changes, latency)
    print(f"stereo capture: latency {latency * 1000:.0f} ms, boundary errors median "
          f"{np.median(errors) * 1000:.0f} ms, max {errors.max() * 1000:.0f} ms")


def test_a_clipping_input_is_said_while_it_clips_and_in_the_saved_session(pulse, excerpt, tmp_path):
    """The excerpt 18 dB too loud, clipped at 16-bit full scale, played into the null sink: the
    plain view says the input clips while it does, and the saved session names each channel with
    the samples it held flat at full scale (as many as were planted, within 5 %) and warns."""
    _, audio, _, _ = excerpt
    loud = np.clip(audio * 8.0, -1.0, 32767 / 32768).astype(np.float32)
    path = tmp_path / "loud.wav"
    sf.write(path, loud, 16000, subtype="PCM_16")
    played, _ = sf.read(path, dtype="float32")
    from prosody.engine.sources import flat_at_full_scale
    planted = [flat_at_full_scale(played[:, c]) for c in (0, 1)]
    assert min(planted) > 0.02 * len(played)
    mon = pulse.null_sink("v1")
    p, out = _start_live(pulse, ["--device", mon], tmp_path)
    o, e = _play_then_stop(pulse, p, path, "v1")
    assert "input clips: lower the recording level" in o
    doc, _ = load_live_session(out)
    clips = {c["channel"]: c for c in doc["capture"]["clipping"]}
    assert set(clips) == {1, 2}, doc["capture"]
    for ch in (1, 2):
        assert abs(clips[ch]["samples"] - planted[ch - 1]) <= 0.05 * planted[ch - 1], (clips, planted)
    assert sum("clips:" in w and "input gain was too high" in w for w in doc["warnings"]) == 2, doc["warnings"]


def test_capture_two_devices_aligned(pulse, excerpt, tmp_path):
    """Two null sinks fed in step by a combine sink; the therapist is the left
    channel of one monitor, the client the right channel of the other."""
    path, audio, segs, changes = excerpt
    m1, m2 = pulse.null_sink("mic"), pulse.null_sink("call")
    pulse.combine_sink("both", ["mic", "call"])
    rec = tmp_path / "raw.wav"
    p, out = _start_live(pulse, ["--therapist-device", m1, "--therapist-channel", "1", "--client-device", m2,
                                 "--client-channel", "2", "--record", str(rec)], tmp_path)
    o, e = _play_then_stop(pulse, p, path, "both")
    doc, _ = load_live_session(out)
    cap = doc["capture"]
    assert cap["layout"] == "two-device" and len(cap["devices"]) == 2
    assert cap["start_offset_s"] is not None and abs(cap["start_offset_s"]) < 2.0
    # the combine sink keeps its two null sinks in step by resampling, shifting what each carries by a few ms
    # over seconds, so the drift seen over 12 s says little here (one monitor: next test)
    assert cap["drift_ppm"] is not None
    raw, _ = sf.read(rec, dtype="float32")
    lat_t, lat_c = _latency_s(raw, audio, 0), _latency_s(raw, audio, 1)
    # the two devices on one timeline. The planted offset includes PulseAudio's: the combine sink
    # feeds its two null sinks with their own latencies and start-up (seen 1-36 ms apart here), so
    # this bounds the sum; the tolerance for boundaries is 100 ms
    assert abs(lat_t - lat_c) <= 0.06, (lat_t, lat_c)
    errors = _check_against_truth(doc, segs, changes, lat_t)
    print(f"two devices: channel offset {(lat_c - lat_t) * 1000:+.1f} ms, drift {cap['drift_ppm']:+.0f} ppm, "
          f"boundary errors median {np.median(errors) * 1000:.0f} ms, max {errors.max() * 1000:.0f} ms")


def test_two_devices_on_one_monitor_line_up_from_the_first_second(pulse, tmp_path):
    """Issue 13: both devices opened on one stereo monitor (true device
    offset 0, one clock) while noise bursts play, the source's right channel
    its left delayed by a planted 25 ms. In the recording, cross-correlated
    with the source in 1 s windows, the client channel lags the therapist's by
    the planted 25 ms within 5 ms, in the first second and after; the drift
    measured between the two streams is small (stamping blocks with
    PortAudio's ADC time put the channels up to 84 ms apart here, with
    apparent drifts up to 1036 ppm)."""
    planted_s = 0.025
    src = alignment_source(30.0, delay_s=planted_s, seed=7)
    sf.write(tmp_path / "src.wav", src, 16000, subtype="FLOAT")
    mon = pulse.null_sink("room")
    player = pulse.play(tmp_path / "src.wav", "room")
    time.sleep(1.0)   # audio is playing before capture starts: the first second is checked too
    rec, out = tmp_path / "rec.wav", tmp_path / "s.json"
    res = subprocess.run(PROSODY + ["live", "--therapist-device", mon, "--therapist-channel", "1",
                                    "--client-device", mon, "--client-channel", "2", "--record", str(rec),
                                    "--output", str(out), "--plain", "--duration", "12"],
                         env=pulse.env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    player.kill()
    assert res.returncode == 0, res.stderr
    cap = json.loads(out.read_text())["capture"]
    raw, _ = sf.read(rec, dtype="float32")
    lags = channel_lags_s(raw, src[:, 0], [0.0, 4.0, 8.0, len(raw) / 16000 - 1.5])
    err_ms = (lags[:, 1] - lags[:, 0] - planted_s) * 1000
    assert np.all(np.isfinite(err_ms)), lags
    assert np.abs(err_ms).max() <= 5.0, (err_ms, cap)
    # one clock: the drift within its noise (a loaded machine jitters the arrival times: a clean-clone CI run
    # measured 55 ppm where runs alone measure -11..+2 ppm with standard errors of 11-28 ppm)
    assert cap["drift_ppm"] is not None and abs(cap["drift_ppm"]) <= max(50.0, 3.0 * cap["drift_se_ppm"]), cap
    assert cap["same_clock"] is True, cap
    print(f"one monitor, two devices: offset error {', '.join(f'{e:+.2f}' for e in err_ms)} ms, "
          f"drift {cap['drift_ppm']:+.1f} ppm (se {cap['drift_se_ppm']:.1f}, one clock: {cap['same_clock']})")


def test_device_loss_saves_to_the_end(pulse, excerpt, tmp_path):
    path, *_ = excerpt
    mon = pulse.null_sink("v1")   # the only source: the server cannot move the stream elsewhere
    p, out = _start_live(pulse, ["--device", mon], tmp_path)
    pulse.play(path, "v1")
    time.sleep(3.5)
    pulse.unload("v1")
    o, e = p.communicate(timeout=60)
    assert p.returncode == 1
    assert "prosody: error: device lost" in e and f"saved in {out}" in e
    doc, frames = load_live_session(out)
    live = doc["live"]
    assert live["stop_reason"] == "device lost" and "stopped delivering audio" in live["error"]
    assert live["captured_s"] > 3.0
    assert doc["duration_s"] == pytest.approx(live["captured_s"], abs=0.011)  # analysed to the end
    assert any(s["speaker"] == "client" for s in doc["segments"])  # speech played before the loss is there


@pytest.fixture
def tmux():
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (Debian: apt install tmux): skipping the terminal end-to-end test")
    sock = f"prosody-test-{os.getpid()}"
    base = ["tmux", "-L", sock, "-f", "/dev/null"]
    yield base
    subprocess.run(base + ["kill-server"], capture_output=True)


def test_terminal_view_end_to_end_in_tmux(tmux, excerpt, tmp_path):
    """A real 80x24 terminal: the panels are there, the numbers change while
    audio plays, b bookmarks, q saves and exits cleanly."""
    path, *_ = excerpt
    out, rc = tmp_path / "s.json", tmp_path / "rc"
    cmd = (f"cd {tmp_path} && TERM=xterm-256color {sys.executable} -m prosody_cli.main live --input {path} "
           f"--output {out}; echo $? > {rc}")
    subprocess.run(tmux + ["new-session", "-d", "-s", "t", "-x", "80", "-y", "24", cmd], check=True)

    def screen() -> str:
        return subprocess.run(tmux + ["capture-pane", "-p", "-t", "t"], capture_output=True, text=True).stdout

    def wait_for(pred, timeout_s=30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            s = screen()
            if pred(s):
                return s
            time.sleep(0.1)
        raise AssertionError("screen never showed what was expected:\n" + screen())

    first = wait_for(lambda s: "prosody live 00:02" in s and "talk share" in s)
    second = wait_for(lambda s: "prosody live 00:05" in s)
    for panel in ("now · provisional", "pitch · last 30 s", "turn-taking · final", "warmth · attunement",
                  "capture", "q save+quit"):
        assert panel in first, panel
    assert all(len(line) <= 80 for line in second.splitlines()) and len(second.splitlines()) <= 24

    def share(s: str) -> str:
        return next(x for x in s.splitlines() if x.startswith("talk share"))
    assert share(first) != share(second)    # final numbers moved on
    subprocess.run(tmux + ["send-keys", "-t", "t", "b"], check=True)
    wait_for(lambda s: "bookmark at 00:0" in s)
    subprocess.run(tmux + ["send-keys", "-t", "t", "q"], check=True)
    deadline = time.monotonic() + 30
    while not rc.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rc.read_text().strip() == "0"
    doc, _ = load_live_session(out)
    assert doc["live"]["stop_reason"] == "quit" and doc["live"]["complete"]
    assert len(doc["bookmarks"]) == 1 and 5.0 <= doc["bookmarks"][0]["time_s"] < 12.0
    assert 5.0 <= doc["duration_s"] < 12.2


def _local_lags(raw: np.ndarray, x: np.ndarray, latency_s: float, *, sr: int = 16000,
                search_s: float = 0.3) -> np.ndarray:
    """Per second of the recording ``raw``: how late it carries the played ``x``
    (seconds), searched within ``search_s`` of ``latency_s``; a second too quiet
    to tell keeps the lag before it. Shape (ceil(len(raw) / sr),)."""
    lags, lag = [], latency_s
    L, S = int(round(latency_s * sr)), int(search_s * sr)
    for s in range(0, len(raw), sr):
        w = raw[s:s + sr]
        lo, hi = s - L - S, s - L + S + len(w)   # x[lo:hi] holds every placement of w within the search
        if len(w) == sr and lo >= 0 and hi <= len(x) and np.sqrt(np.mean(w ** 2)) > 1e-3:
            k = int(np.argmax(signal.correlate(x[lo:hi], w, mode="valid", method="fft")))
            lag = (s - (lo + k)) / sr
        lags.append(lag)
    return np.array(lags)


def test_capture_mono_device_names_speakers_online(pulse, tmp_path):
    """One mono device, both voices on it (issue 9, item 5): a planted two-voice
    dialogue (10 s, room, noise) played into a mono null sink, the therapist's
    voice profile enrolled from other sentences. Live, the plain lines say who
    speaks, provisionally; the saved ``live.online_attribution`` names most
    single-speaker frames right (0.25 s collars, after removing the constant
    capture latency) and almost none wrong; on save the whole recording is
    attributed again and that attribution is the session's."""
    import shutil

    from prosody.engine.online_speakers import OnlineAttributionConfig
    from prosody.engine.speakers import build_profile
    from prosody.store.db import Store
    from tests.online_dialogue import enrolment, frame_truth, mono_dialogue

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise the dialogue")
    # 20 s: long enough that the whole-recording diarization hears two voices (the first 10 s of it, four
    # exchanges, are read as one voice at every start offset: its per-voice frame models have too little speech
    # to beat one model on held-out frames; a lone voice 0.18 from the profile is then nobody's, fifty-third round)
    x, truth = mono_dialogue(6, n_exchanges=8)
    path = tmp_path / "dialogue.wav"
    sf.write(path, x, 16000, subtype="PCM_16")
    store = tmp_path / "store"
    with Store(store) as st:
        st.save_profile("ann", build_profile(enrolment()).to_dict(), source="test")
    mon = pulse.null_sink("room", channels=1)
    rec = tmp_path / "raw.wav"
    p, out = _start_live(pulse, ["--device", mon, "--profile", "ann", "--store", str(store), "--record", str(rec)],
                         tmp_path)
    player = pulse.play(path, "room")
    assert player.wait(timeout=60) == 0, player.stderr.read()
    time.sleep(OnlineAttributionConfig().latency_s + 0.5)  # the attribution's declared latency
    p.terminate()
    o, e = p.communicate(timeout=120)
    assert p.returncode == 0, e
    assert "mono" in o and "who (provisional, 1.0 s behind): " in o and "share therapist" in o
    doc = json.loads(out.read_text())
    oa = doc["live"]["online_attribution"]
    assert oa["provisional"] is True and oa["profile"] == "ann" and oa["latency_s"] == 1.0
    raw, _ = sf.read(rec, dtype="float32")
    raw = raw.reshape(len(raw), -1)[:, 0]
    c = signal.correlate(raw, x, mode="valid", method="fft")
    latency = int(np.argmax(c)) / 16000
    n = int(oa["decided_s"] / 0.01)
    label = np.zeros(n, "<U9")
    for a, b, who in oa["segments"]:
        label[int(round(a / 0.01)):int(round(b / 0.01))] = who
    # the truth as the recording heard it: the capture latency per second of recording (a machine starved of
    # CPU can make the null sink's monitor drop or repeat a block mid-way, which moves everything after it;
    # the attribution is judged on the audio it was given, not on the capture's continuity)
    lags = _local_lags(raw, x, latency)
    th, cl = np.zeros(n, bool), np.zeros(n, bool)
    for lag in np.unique(lags):
        t_w, c_w = frame_truth(truth, n, shift_s=lag)
        sel = np.repeat(lags == lag, 100)[:n]
        sel = np.concatenate([sel, np.zeros(n - len(sel), bool)])
        th[sel], cl[sel] = t_w[sel], c_w[sel]
    total = th.sum() + cl.sum()
    assert total > 400  # the dialogue was heard and decided
    correct = (np.sum(th & (label == "therapist")) + np.sum(cl & (label == "other"))) / total
    wrong = (np.sum(th & (label == "other")) + np.sum(cl & (label == "therapist"))) / total
    now_ms = doc["capture"]["latency"]["now_delay_ms"]["median"]
    print(f"mono device online attribution: latency {latency * 1000:.0f} ms (per second "
          f"{np.min(lags) * 1000:.0f}..{np.max(lags) * 1000:.0f} ms), correct {correct:.3f}, "
          f"wrong {wrong:.3f}; sound -> speaking now {now_ms} ms (median)")
    assert now_ms < 150  # the online stage shares the analysis thread: the live state stays in budget
    # the live labels are the online stage's own on the audio it was given: the same stage run afterwards on
    # the recording (block-split invariant) gives them frame for frame
    from prosody.engine.online_speakers import LABELS, OnlineAttributor
    att = OnlineAttributor(build_profile(enrolment()))
    outs = [att.push(raw[a:a + 1600]) for a in range(0, len(raw), 1600)] + [att.flush()]
    again = np.array([LABELS[k] for k in np.concatenate([o.label for o in outs])[:n]], "<U9")
    decided = (label != "") & (np.arange(n) < len(again))
    same = float(np.mean(label[decided] == again[decided[:len(again)]]))
    print(f"live labels equal to the stage run again on the recording: {same:.4f} of {int(decided.sum())} frames")
    assert same >= 0.99, same
    # against the truth: the stage's windows are counted on the speech, so where the dialogue starts on the grid
    # does not move its labels (offline, on this dialogue: 0.914 right and none wrong at every start offset of
    # 0-0.5 s, sub-frame ones too: benchmarks/online_attribution.py --split live --offsets ...)
    assert correct >= 0.75 and wrong <= 0.05, (correct, wrong, latency, lags.tolist())
    # on save: the whole session attributed again from the recording (authoritative), two voices, the
    # profile's named the therapist, and the planted turns theirs
    assert doc["live"]["reattributed"] is True and doc["speaker_order"][0] == "therapist", doc["warnings"]
    assert doc["live"]["online_attribution"] == oa
    n_rec = int(len(raw) / 160)
    saved = np.zeros(n_rec, "<U9")
    for s in doc["segments"]:
        saved[int(round(s["start_s"] / 0.01)):int(round(s["end_s"] / 0.01))] = s["speaker"]
    th, cl = frame_truth(truth, n_rec, shift_s=float(np.median(lags)))
    right = (np.sum(th & (saved == "therapist")) + np.sum(cl & (saved == "client"))) / (th.sum() + cl.sum())
    print(f"saved session (re-attributed): {right:.3f} of single-speaker frames given to the right person")
    assert right >= 0.9, right


def test_ctrl_c_held_down_still_saves_and_says_so(pulse, excerpt, tmp_path):
    """Ctrl-C pressed again and again (one SIGINT every 5 ms) from capture through the save,
    the re-attribution from --record and the closing summary: the session is saved, read back
    whole, and the command says `saved PATH` (exit 130), never a bare "interrupted". Before
    2026-12-03 a Ctrl-C after the save (or between the first Ctrl-C and the handler taking over)
    met Python's default handler: `prosody: error: interrupted` and no word of the saved file, or,
    before the save, a process ending under its (daemon) analysis thread. A Ctrl-C while the
    interpreter shuts down, after everything is said, may still print Python's own lines."""
    path, *_ = excerpt
    mon = pulse.null_sink("v1")
    rec = tmp_path / "raw.wav"
    p, out = _start_live(pulse, ["--device", mon, "--record", str(rec)], tmp_path)
    player = pulse.play(path, "v1")
    time.sleep(3.0)
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        p.send_signal(SIGINT)
        time.sleep(0.005)
    o, e = p.communicate(timeout=60)
    player.kill()
    assert "prosody: error: interrupted" not in e, e
    # 130, or killed by the SIGINT while the interpreter shuts down (which a shell also reads as 130)
    assert p.returncode in (130, -SIGINT), e
    assert f"saved {out} (" in o, (o[-400:], e)
    doc, frames = load_live_session(out)
    assert doc["live"]["stop_reason"] == "Ctrl-C"
    assert doc["duration_s"] > 2.0
    assert sf.info(str(rec)).duration == pytest.approx(doc["live"]["captured_s"], abs=0.05)
