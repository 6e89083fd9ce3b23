"""Hostile sweep 21 (2026-12-05): the room tail's residual test (fifty-second round) and the lone voice's naming
(fifty-third round) attacked as hostile input and a hostile user would (docs/store.md, "Hostile sweep 21")."""

from __future__ import annotations

import numpy as np

from prosody.engine import views
from prosody.engine.vad import residual_kurtosis
from prosody.engine.views import ChannelMean, Pcm16


def _voiced(n: int, rng: np.random.Generator, f0_hz: float = 125.0) -> np.ndarray:
    x = np.zeros(n)
    x[::int(16000 / f0_hz)] = 1.0
    return np.convolve(x, np.exp(-np.arange(60) / 8.0) * np.cos(np.arange(60) * 0.5))[:n] * 0.2 \
        + 0.002 * rng.standard_normal(n)


def test_residual_kurtosis_reads_a_held_mix_window_by_window(monkeypatch):
    """``residual_kurtosis`` made the whole mix float64 at once (``np.asarray(x, np.float64)``): given a diarized
    recording's mix read piece by piece (a ``ChannelMean`` over ``Pcm16`` samples), the copy the held samples exist
    to avoid (a 2-hour mono file: 0.9 GB float64 on top of the 0.23 GB held), and under ``views._HOLD_MAX`` a
    MemoryError. Each window is now read where it lies: the same figures, no whole copy."""
    rng = np.random.default_rng(0)
    n = 400_000
    x = np.concatenate([_voiced(n // 2, rng), 0.05 * rng.standard_normal(n - n // 2)])
    q = np.round(np.clip(x, -1, 1 - 2 ** -15) * 32768).astype(np.int16)
    stereo = Pcm16(np.stack([q, q], axis=1))
    frames = [100, 900, 1500, 2300]
    want = residual_kurtosis(q.astype(np.float32) / np.float32(32768), frames)
    monkeypatch.setattr(views, "_HOLD_MAX", 50_000)  # far below the recording: any whole copy raises
    for held in (stereo[:, 0], ChannelMean(stereo)):
        got = residual_kurtosis(held, frames)
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert min(want[:2]) > 10 and all(2.5 < k < 4.0 for k in want[2:])  # the voice peaky, the noise Gaussian


def test_a_profile_with_a_nan_zero_embedding_or_a_bad_spread_is_refused():
    """A stored profile is read with ``VoiceProfile.from_dict``; a NaN in its embedding made every distance NaN, and
    ``name_voices`` named two voices with confidence 1.0 and no "neither near" warning (``min(1.0, nan)`` is 1.0,
    ``nan > 0.15`` False); a zero embedding put every voice 1.0 away (a lone voice named the client); a NaN or infinite
    spread moved ``client_bar`` (NaN: 0.25, inf: no voice ever the client). Each is refused, as a malformed profile."""
    import pytest

    from prosody.engine.speakers import EMBEDDING_SIZE, VoiceProfile
    from prosody.errors import InputError
    good = {"name": "T", "model": "resemblyzer-ge2e-0.1.4", "spread": 0.08, "n_windows": 9, "speech_s": 8.0,
            "mean": [1.0] + [0.0] * (EMBEDDING_SIZE - 1)}
    assert VoiceProfile.from_dict(good).spread == 0.08
    for bad in ({"mean": [float("nan")] + [0.0] * (EMBEDDING_SIZE - 1)}, {"mean": [0.0] * EMBEDDING_SIZE},
                {"spread": float("nan")}, {"spread": float("inf")}, {"spread": -0.1}):
        with pytest.raises(InputError, match="malformed"):
            VoiceProfile.from_dict({**good, **bad})


def test_relabel_of_a_lone_voice_the_profile_could_not_name_does_not_advise_splitting_it():
    """A lone voice between the profile's bars is left ``unattributed`` (fifty-third round); ``prosody relabel`` on
    such a session said "``prosody analyze FILE --voices 2`` splits the recording in two", the advice for an unsure
    split, which here cuts one person's speech into two voices. It now says the profile could not tell whose voice
    it is and asks for an enrolment in the session's room and device; an unsure split keeps its own advice."""
    import pytest

    from prosody.engine.speakers import VoiceProfile, lone_voice_naming
    from prosody.errors import InputError
    from prosody.relabel import relabel
    prof = VoiceProfile(mean=np.eye(1, 256)[0].astype(np.float32), spread=0.08, n_windows=9, speech_s=8.0)
    who, _, rule = lone_voice_naming(0.2, prof, names=("therapist", "client"), what="the one voice")
    assert who is None
    lone = {"speaker_order": ["unattributed"],
            "attribution": {"layout": "mono", "naming": {"names": ["unattributed", "client"],
                                                         "rule": f"{rule}; its speech is left unattributed"}}}
    with pytest.raises(InputError) as got:
        relabel(lone, None)
    assert "--voices 2" not in str(got.value) and "could not tell whose voice" in str(got.value)
    assert "enrol" in str(got.value)
    split = {"speaker_order": ["unattributed"], "attribution": {"layout": "mono", "naming": {
        "names": ["unattributed", "client"], "rule": "who spoke when is unsure: the one voice kept is left"}}}
    with pytest.raises(InputError, match="--voices 2"):
        relabel(split, None)


def test_the_rule_writes_a_distance_by_a_bar_so_that_its_figures_agree_with_the_naming():
    """At two decimals a distance just over a bar read as the bar: 0.1504 "is 0.15 from the enrolled therapist,
    neither near it (within 0.15)", 0.2504 "is 0.25 ... (beyond 0.25)". The figures written now bear the naming out
    (on the bars themselves: within 0.15 is the therapist, 0.25 is not beyond 0.25), and two voices' warning too."""
    import re

    from prosody.engine.speakers import VoiceProfile, lone_voice_naming, neither_near_text
    prof = VoiceProfile(mean=np.eye(1, 256)[0].astype(np.float32), spread=0.08, n_windows=9, speech_s=8.0)
    for d in (0.1504, 0.15, 0.1496, 0.2504, 0.25, 0.2496, 0.28, 0.06):
        who, _, rule = lone_voice_naming(d, prof, names=("therapist", "client"), what="the one voice")
        x = float(re.search(r"is ([0-9.]+) from", rule).group(1))
        near = float(re.search(r"within ([0-9.]+)", rule).group(1)) if "within" in rule else None
        far = float(re.search(r"beyond ([0-9.]+)", rule).group(1)) if "beyond" in rule else None
        if who == 0:
            assert x <= near, rule
        elif who == 1:
            assert x > far, rule
        else:
            assert near < x <= far, rule
        assert abs(x - d) < 0.006, rule
    text = neither_near_text((0.1504, 0.31), "therapist")
    a, b, bar = (float(v) for v in re.search(r"distances ([0-9.]+) and ([0-9.]+); within ([0-9.]+)", text).groups())
    assert min(a, b) > bar, text


def test_a_recording_with_no_speech_is_not_said_to_assume_a_therapist():
    """A tone or noise only (no speech found) warned "assumption: no speech (if that is the client: a voice profile,
    `prosody enrol`, names the therapist)", with a profile given too: no voice was assumed to be anyone's. The
    assumption is not said where there is no voice; the pipeline's "never speaks" warning says what is."""
    from prosody.engine.speakers import VoiceProfile, attribute
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000 * 5) / 16000)).astype(np.float32)
    prof = VoiceProfile(mean=np.eye(1, 256)[0].astype(np.float32), spread=0.08, n_windows=9, speech_s=8.0)
    for p in (None, prof):
        a = attribute(x, profile=p)
        assert a.diarization is not None and a.diarization.n_voices == 0
        assert not any(str(w).startswith("assumption") for w in a.warnings), a.warnings
