"""A two-channel recording with one channel silent (a table microphone on input 1 of a two-input
recorder, input 2 empty): the live channel may carry both people. It was taken as "separate
channels with one voice speaking": the therapist given every word of both voices (talk share 1.0)
and the client said never to speak. Now the live channel's voices decide: two voices there are
told apart on that channel alone (layout mono, ``channel_used``), one voice keeps the separate
reading; ``--layout separate`` keeps the channels as they are. And one mix stored twice at two
gains (waveform correlation 1, channel 2 quieter) is one signal: shared, not a second person."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from prosody.engine.speakers import attribute
from tests.conftest import run_cli
from tests.dialogue import CLIENT, build_dialogue, mix_room, scenario_monologue, scenario_turns
from tests.test_diarize import _right_share

SR = 16000


@pytest.fixture(scope="module")
def dialogue():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise dialogues")
    d = build_dialogue(scenario_turns(8, seed=7), noise_db=None, level_db=(-22.0, -22.0), seed=7)
    x, _ = mix_room(d, layout="mono", level_diff_db=(2.0, -2.0), rt60_s=0.3, noise_db=-55.0, seed=7)
    return d, x[:, 0]


def _stereo(live: np.ndarray, channel: int, other: str) -> np.ndarray:
    x = np.zeros((len(live), 2), np.float32)
    x[:, channel] = live
    if other == "noise":  # an input with nothing plugged in: its own hiss, no speech
        x[:, 1 - channel] = np.random.default_rng(3).standard_normal(len(live)).astype(np.float32) * 10 ** (-70 / 20)
    if other.startswith("hum"):  # mains hum as loud as quiet speech (-43 dBFS) or louder than all of it (-23)
        amp = {"hum": 0.01, "hum_loud": 0.1}[other]
        x[:, 1 - channel] = amp * np.sin(2 * np.pi * 50.0 * np.arange(len(live)) / SR).astype(np.float32)
    return x


@pytest.mark.parametrize("channel,other", [(0, "zeros"), (1, "noise"), (0, "hum"), (1, "hum_loud")])
def test_two_voices_on_the_one_live_channel_are_told_apart(dialogue, channel, other):
    d, mono = dialogue
    att = attribute(_stereo(mono, channel, other))
    assert att.layout == "mono" and att.live_channel == channel and att.diarization.n_voices == 2
    assert f"channel {channel + 1} carries two voices" in att.layout_report.reason
    assert att.to_dict()["channel_used"] == channel + 1
    assert _right_share(att.diarization.activity, d.truth) >= 0.97
    alone = attribute(mono)  # exactly what the same channel gets as a mono file
    assert np.array_equal(att.diarization.activity, alone.diarization.activity)
    # the voices are cut from the live channel at its own level, not from a mean halved by the silent one
    ch = att.channels(_stereo(mono, channel, other))
    assert np.max(np.abs(ch)) == pytest.approx(np.max(np.abs(mono)), rel=1e-6)


def test_one_voice_on_the_live_channel_stays_separate(needs_espeak):
    dlg = build_dialogue(scenario_monologue(6, seed=4, speaker=CLIENT), noise_db=None, level_db=(-22.0, -22.0))
    x, _ = mix_room(dlg, layout="mono", rt60_s=0.3, noise_db=-55.0, seed=4)
    att = attribute(_stereo(x[:, 0], 0, "zeros"))
    assert att.layout == "separate" and att.live_channel is None and att.channel_picks == (0, 1)
    assert "channel 2 is digital silence throughout" in att.layout_report.reason


def test_analyze_gives_both_voices_their_words(dialogue, tmp_path):
    d, mono = dialogue
    wav = tmp_path / "one_input.wav"
    sf.write(wav, _stereo(mono, 0, "zeros"), SR, subtype="PCM_16")
    rc, _, err = run_cli("analyze", wav, "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    att = doc["attribution"]
    assert att["layout"] == "mono" and att["channel_used"] == 1 and att["diarization"]["voices"] == 2
    assert not any("never speaks" in w for w in doc["warnings"]), doc["warnings"]
    # both voices are read from channel 1 to play moments later (channel 2 holds nothing)
    assert doc["audio"]["picks"] == {"therapist": [0, 0], "client": [0, 0]}
    truth = {"therapist": sum(b - a for a, b in d.truth.therapist_segments),
             "client": sum(b - a for a, b in d.truth.client_segments)}
    share = truth["therapist"] / (truth["therapist"] + truth["client"])
    assert doc["speakers"]["therapist"]["talk_share"] == pytest.approx(share, abs=0.05)
    assert [t["to_speaker"] for t in doc["transitions"]] == [t.to_speaker for t in d.truth.transitions]
    # the channels as they are, when asked for
    rc, _, err = run_cli("analyze", wav, "--layout", "separate", "--json", tmp_path / "f.json", "--quiet")
    assert rc == 0, err
    forced = json.loads((tmp_path / "f.json").read_text())
    assert forced["attribution"]["layout"] == "separate"
    assert any(w.startswith("client never speaks") for w in forced["warnings"])


@pytest.mark.parametrize("gain", [0.1, -0.1, 0.03])
def test_one_mix_stored_twice_at_two_gains_is_shared(dialogue, gain):
    """A mono mix written to both channels, the second 20-30 dB down (or inverted too): one signal, no
    second person. It was read as "channel 2 is 20 dB quieter: separate channels with one voice", and
    cross-talk rejection then took each channel for the other's leak: nobody spoke at all."""
    d, mono = dialogue
    x = np.stack([mono, gain * mono], axis=1).astype(np.float32)
    att = attribute(x)
    assert att.layout == "shared" and att.diarization.n_voices == 2
    assert "identical (one mix stored twice" in att.layout_report.reason
    assert f"channel 2 {20 * np.log10(1 / abs(gain)):.0f} dB quieter" in att.layout_report.reason
    assert att.inverted == (gain < 0)
    assert _right_share(att.diarization.activity, d.truth) >= 0.97


def test_live_recorded_from_one_input_is_attributed_again_on_save(dialogue, tmp_path):
    """One device whose second input is empty, captured live with --record: while live its
    channels are taken as given (the client silent); on save the whole recording is attributed
    again, and the live "client never speaks" is not kept beside the two voices found."""
    d, mono = dialogue
    wav = tmp_path / "one_input.wav"
    sf.write(wav, _stereo(mono, 0, "noise"), SR, subtype="PCM_16")
    out = tmp_path / "l.json"
    rc, _, err = run_cli("live", "--input", wav, "--output", out, "--record", tmp_path / "rec.wav", "--plain",
                         "--speed", "8")
    assert rc == 0, err
    doc = json.loads(out.read_text())
    assert doc["live"]["reattributed"] is True
    att = doc["attribution"]
    assert att["layout"] == "mono" and att["channel_used"] == 1 and att["diarization"]["voices"] == 2
    assert not any("never speaks" in w for w in doc["warnings"]), doc["warnings"]
    truth = {"therapist": sum(b - a for a, b in d.truth.therapist_segments),
             "client": sum(b - a for a, b in d.truth.client_segments)}
    share = truth["therapist"] / (truth["therapist"] + truth["client"])
    assert doc["speakers"]["therapist"]["talk_share"] == pytest.approx(share, abs=0.05)


@pytest.mark.parametrize("name", ["dev00", "tst00"])
def test_real_voices_on_one_input_beside_hum_get_the_mono_attribution(corpus, name):
    """AMI excerpts (two men; two women) on channel 1 at their own low level (-45..-49 dBFS speech), mains
    hum on channel 2 louder than the speech: the live channel is attributed exactly as the mono file."""
    x, rate = sf.read(next(corpus.rglob(f"{name}.wav")), dtype="float32")
    assert rate == SR
    st = np.stack([x, 0.01 * np.sin(2 * np.pi * 50.0 * np.arange(len(x)) / SR)], axis=1).astype(np.float32)
    att, alone = attribute(st), attribute(x)
    assert att.layout == "mono" and att.live_channel == 0 and att.diarization.n_voices == 2
    assert np.array_equal(att.diarization.activity, alone.diarization.activity)


def test_a_far_second_microphone_is_not_a_second_person(dialogue):
    """Channel 2 a microphone far from both people: the same voices 20 dB down and 2.5 ms later
    (waveform correlation ~0, no second level mode). It read "channel 2 is 20 dB quieter: separate
    channels with one voice speaking", and cross-talk rejection took the far copy for leak: the
    therapist was given both people's words. The near channel's voices now decide."""
    d, mono = dialogue
    far = np.concatenate([np.zeros(40, np.float32), mono[:-40]]) * 0.1
    # the far microphone's own hiss (-60 dBFS, ~14 dB under its speech): without it, channel 2 is a pure
    # copy of channel 1, read as one mix stored twice (test_a_late_copy_of_the_mix_is_one_mix_stored_twice)
    far = far + np.random.default_rng(11).standard_normal(len(far)).astype(np.float32) * np.float32(1e-3)
    att = attribute(np.stack([mono, far], axis=1).astype(np.float32))
    assert att.layout == "mono" and att.live_channel == 0 and att.diarization.n_voices == 2
    assert "channel 2 is 20 dB quieter on almost all speech" in att.layout_report.reason
    assert _right_share(att.diarization.activity, d.truth) >= 0.97


@pytest.mark.parametrize("lag_ms", [3, 40, 200, -120, 900])
def test_a_late_copy_of_the_mix_is_one_mix_stored_twice(dialogue, lag_ms):
    """One mix on both channels, one copy late (two devices' buffers, a call recorder): it read
    "separate", each channel a person, with confidence 1 (found by the audio-input sweep: talk
    shares 0.54 / 0.46 for a planted 0.62 / 0.38, with no warning). It is shared, the lag said, and
    the earlier copy alone is diarized (the channels' mean would be an echo): the same voices as
    the mono mix."""
    d, mono = dialogue
    k = abs(lag_ms) * 16
    late = np.concatenate([np.zeros(k, np.float32), mono[:-k]]) * np.float32(0.7)
    x = np.stack([mono, late] if lag_ms > 0 else [late, mono], axis=1).astype(np.float32)
    att = attribute(x)
    assert att.layout == "shared" and att.layout_report.evidence["copy_lag_ms"] == pytest.approx(lag_ms, abs=0.1)
    assert f"one mix stored twice, channel {2 if lag_ms > 0 else 1} {abs(lag_ms)} ms later" in att.layout_report.reason
    assert att.live_channel == (0 if lag_ms > 0 else 1) and att.diarization.n_voices == 2
    assert _right_share(att.diarization.activity, d.truth) >= 0.97
