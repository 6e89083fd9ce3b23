"""Whose figures: warmth is the therapist's and never computed on another
voice; behaviour toward a person who never spoke has no data; digital silence
is never speech. Planted truth: espeak speech on known channels, exact zeros
elsewhere."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from prosody.config import VadConfig
from prosody.engine.speakers import detect_layout
from prosody.engine.vad import RawVad
from prosody.measures import MeasuresConfig, therapist_of, warmth
from prosody.measures.summary import _gate_components
from prosody.session import analyze_blocks, silent_speaker_warnings
from prosody.timebase import GRID
from tests.conftest import run_cli

SR = GRID.sample_rate
TEXTS = ("How have you been since we last met?", "It sounds like you have been carrying a lot on your own lately.",
         "What did you notice in your body when that happened?", "Tell me more about what that was like for you.",
         "I wonder whether part of you feels that nobody really noticed.", "That sounds really difficult.")


def needs_espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")


def speech_track(voice: str, n: int = 6, pause_s: float = 0.8) -> np.ndarray:
    """``n`` espeak sentences with ``pause_s`` of exact zeros between them."""
    from tests.dialogue import synthesize
    gap = np.zeros(int(pause_s * SR), np.float32)
    parts = [gap]
    for i in range(n):
        parts += [np.asarray(synthesize(TEXTS[i % len(TEXTS)], voice=voice), np.float32), gap]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def client_voice():
    needs_espeak()
    from tests.dialogue import default_voice
    return speech_track(default_voice("client"))


@pytest.fixture(scope="module")
def therapist_voice():
    needs_espeak()
    from tests.dialogue import default_voice
    return speech_track(default_voice("therapist"))


# --------------------------------------------------------------------------- 1. no therapist, no warmth
def test_the_therapist_is_never_a_speaker_named_client():
    cfg = MeasuresConfig()
    assert therapist_of(("client",), cfg) is None
    assert therapist_of(("therapist",), cfg) == "therapist"
    assert therapist_of(("client", "therapist"), cfg) == "therapist"
    assert therapist_of(("ann", "bob"), cfg) == "ann"           # custom names: the first
    assert therapist_of(("client", "bob"), cfg) == "bob"        # as store.db.speaker_roles
    assert therapist_of((), cfg) is None


def test_warmth_of_a_client_alone_is_absent_and_says_why(client_voice):
    """Planted: > 10 s of one voice on one channel, named client. The same audio
    named therapist scores (the control); named client, the session, its phases
    and every rolling window have no warmth, no components and no cues."""
    assert len(client_voice) / SR > 15
    control = analyze_blocks([client_voice[:, None]], ("therapist",))
    assert control.measures.warmth["score"] is not None
    s = analyze_blocks([client_voice[:, None]], ("client",))
    assert s.measures.voice["client"]["speech_s"] > 10.0       # the client's own figures stay
    for w in [s.measures.warmth] + [p["warmth"] for p in s.measures.phases] + [r.warmth for r in s.rolling]:
        assert w["score"] is None and w["components"] == [] and w["n_components"] == 0, w
        assert w["not_enough"].startswith("no therapist in this recording"), w
    assert all(not r.cues for r in s.rolling)
    from prosody_cli.view import warmth_lines
    text = "\n".join(t.plain for t in warmth_lines(s.measures.warmth, "session"))
    assert "Warmth –" in text and "no therapist" in text and "your baseline" not in text


def test_client_alone_through_cli_store_compare_trend_and_report(client_voice, tmp_path):
    wav, js, store = tmp_path / "client.wav", tmp_path / "c.json", tmp_path / "store"
    sf.write(wav, client_voice, SR, subtype="PCM_16")
    rc, out, err = run_cli("analyze", wav, "--speaker", "client", "--json", js, "--save", "--store", store,
                           "--therapist", "Ann", "--no-progress")
    assert rc == 0, err
    doc = json.loads(js.read_text())
    assert doc["speaker_order"] == ["client"]
    assert doc["measures"]["warmth"]["score"] is None
    assert "no therapist in this recording" in out and "Warmth –" in out
    assert "Pitch raised above your baseline" not in out and "/ 100" not in out
    rc, out, err = run_cli("analyze", wav, "--speaker", "client", "--save", "--store", store, "--therapist", "Ann",
                           "--quiet", "--no-progress")
    assert rc == 0, err
    rc, out, err = run_cli("sessions", "--store", store)
    assert rc == 0 and "Ann" in out
    rows = [ln for ln in out.splitlines() if "Ann" in ln]
    assert len(rows) == 2 and all("–" in ln for ln in rows)
    rc, out, err = run_cli("compare", "1", "2", "--store", store)
    assert rc == 0, err
    assert not [ln for ln in out.splitlines() if "armth" in ln and any(c.isdigit() for c in ln)]
    rc, out, err = run_cli("trend", "--therapist", "Ann", "--store", store)
    assert rc == 0, err
    head = [ln for ln in out.splitlines() if "warmth" in ln and "id" in ln]
    col = head[0].index("warmth")
    for ln in out.splitlines():
        if ln.strip()[:1].isdigit():
            assert ln[col:col + 6].strip() == "–", ln
    page = tmp_path / "r.html"
    rc, out, err = run_cli("report", "1", "--store", store, "-o", page)
    assert rc == 0, err
    html = page.read_text()
    assert "<b>Warmth –</b>" in html and "no therapist in this recording" in html


# --------------------------------------------------------------------------- 2. a channel that never speaks
@pytest.fixture(scope="module")
def zero_client(therapist_voice):
    """Therapist speech (> 20 s) on the left, exact zeros on the right."""
    x = np.zeros((len(therapist_voice), 2), np.float32)
    x[:, 0] = therapist_voice
    return x


def test_layout_reason_says_the_channel_is_silent_not_alternating(zero_client):
    rep = detect_layout(zero_client)
    assert rep.layout == "separate"
    assert "channel 2 is digital silence throughout" in rep.reason and "alternates" not in rep.reason
    # right channel of low noise only (no speech of its own): quieter throughout, not alternating
    noisy = zero_client.copy()
    noisy[:, 1] = np.random.default_rng(0).standard_normal(len(noisy)).astype(np.float32) * 10 ** (-70 / 20)
    rep = detect_layout(noisy)
    assert rep.layout == "separate"
    assert "channel 2 has no speech of its own" in rep.reason and "alternates" not in rep.reason, rep.reason


def test_no_talk_over_merit_when_the_client_never_spoke(zero_client):
    s = analyze_blocks([zero_client], ("therapist", "client"))
    assert s.measures.voice["client"]["speech_s"] == 0.0 and s.measures.voice["therapist"]["speech_s"] > 10.0
    w = s.measures.warmth
    comps = {c["name"]: c for c in w["components"]}
    for name in ("gap_median_s", "talk_over_per_10min"):
        assert comps[name]["value"] is None and comps[name]["contribution"] is None, comps[name]
    assert w["score"] is not None and w["n_components"] == 5      # the therapist's own voice still scores
    s = s.__class__(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                       "attribution": {"channels": {"therapist": 1, "client": 2}}})
    (warn,) = silent_speaker_warnings(s)
    assert warn.startswith("client never speaks: channel 2 is digital silence throughout"), warn


def test_cli_warns_of_the_silent_client_channel(zero_client, tmp_path):
    wav = tmp_path / "zero_c.wav"
    sf.write(wav, zero_client, SR, subtype="PCM_16")
    rc, out, err = run_cli("analyze", wav, "--json", tmp_path / "z.json", "--no-progress")
    assert rc == 0, err
    doc = json.loads((tmp_path / "z.json").read_text())
    assert any(w.startswith("client never speaks: channel 2") for w in doc["warnings"]), doc["warnings"]
    assert "alternates" not in doc["attribution"]["layout_detection"]["reason"]
    assert "talked over the client, or tried to, 0.0" not in out


def test_warmth_with_too_few_components_says_not_enough_data():
    voice = {"pitch_raised_share": 0.0, "level_raised_share": 0.0}     # two components with data, rest none
    w = warmth(voice, None, 5.0)
    assert w["score"] == 100.0 and w["n_components"] == 2
    _gate_components(w, MeasuresConfig())
    assert w["score"] is None and w["not_enough"].startswith("not enough data: 2 of 5"), w


# --------------------------------------------------------------------------- 3. digital silence is never speech
def _raw_speech(x: np.ndarray) -> np.ndarray:
    n = len(x) // GRID.hop_length
    return RawVad(VadConfig()).push(x[: n * GRID.hop_length].reshape(n, GRID.hop_length))


def test_raw_vad_never_finds_speech_in_digital_silence(therapist_voice):
    """Planted: 3 s of speech, 40 s of exact zeros, speech again. Once the 8 s
    floor window holds only zeros the noise floor is -inf; no frame of zeros
    (nor the high-pass tail just after the speech) may pass as speech."""
    a = therapist_voice[: 3 * SR]
    x = np.concatenate([a, np.zeros(40 * SR, np.float32), a])
    raw = _raw_speech(x)
    f = GRID.s_to_frames
    assert raw[: f(3.0)].sum() > f(1.0)                      # the speech is found
    assert not raw[f(3.1): f(43.0)].any(), np.flatnonzero(raw[f(3.1): f(43.0)])[:10]
    assert raw[f(43.0):].sum() > f(1.0)


def test_no_phantom_segments_in_a_long_muted_stretch(therapist_voice, client_voice):
    """gap40: therapist, client, 40 s of exact zeros on both channels, therapist."""
    t, c = therapist_voice[: 3 * SR], client_voice[: 3 * SR]
    n = 3 * SR
    x = np.zeros((n * 3 + 40 * SR + n, 2), np.float32)
    x[:n, 0] = t
    x[n + SR // 2: 2 * n + SR // 2, 1] = c
    x[-n:, 0] = t
    s = analyze_blocks([x], ("therapist", "client"))
    quiet = (2 * n + SR // 2) / SR + 0.3, len(x) / SR - 3.0
    inside = [g for g in s.segments if g.end_s > quiet[0] and g.start_s < quiet[1]]
    assert inside == [], inside
    assert not s.turns.events or all(not (quiet[0] < e.start_s < quiet[1]) for e in s.turns.events)
