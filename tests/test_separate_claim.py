"""One speaker per channel is checked, not assumed (issue 9, item 1): two files, or one
stereo file under ``--layout separate``, whose channels both carry both voices.

Planted: the fixture dialogue (fixtures/dialogue.flac, one espeak voice per channel, known
segments). Mixed down and stored on both channels (or in two files), every voice reaches
both; the cross-talk rejection then takes each for the other's leak and both speakers come
out with next to no speech. Two such files are refused (one line, exit 2) unless
``--layout separate`` insists, and then a warning says why the figures may be wrong; the
honest layouts (two files of one voice each, a stereo file of one voice per channel) are
analysed as before, their layout now said."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from prosody_cli.main import main

SR = 16000


@pytest.fixture
def voices(fixture_dialogue):
    audio, truth = fixture_dialogue
    return audio[: 40 * SR], truth


def _run(capsys, *argv):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _speech_s(doc, speaker):
    return sum(s["end_s"] - s["start_s"] for s in doc["segments"] if s["speaker"] == speaker)


def _truth_s(truth, speaker, end_s=40.0):
    return sum(min(b, end_s) - a for a, b in truth["segments"][speaker] if a < end_s)


def test_two_files_of_one_mix_are_refused_unless_forced(tmp_path, capsys, voices):
    audio, _ = voices
    mix = audio.mean(axis=1)
    a, b = tmp_path / "phone.wav", tmp_path / "recorder.wav"
    sf.write(a, mix, SR, subtype="PCM_16")
    sf.write(b, mix * 0.5, SR, subtype="PCM_16")   # the same mix, 6 dB quieter: both voices in both
    rc, out, err = _run(capsys, "analyze", a, b, "--json", tmp_path / "s.json")
    assert rc == 2 and out == ""
    assert err.startswith("prosody: error: both files carry both voices") and len(err.splitlines()) == 1
    assert "--layout separate" in err and not (tmp_path / "s.json").exists()

    rc, out, err = _run(capsys, "analyze", a, b, "--layout", "separate", "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    said = [w for w in doc["warnings"] if w.startswith("--layout separate overrides the detected layout (shared")]
    assert len(said) == 1 and "far too low" in said[0] and "warning: --layout separate overrides" in err
    att = doc["attribution"]
    assert att["layout"] == "separate" and att["layout_detection"]["layout"] == "shared"
    assert att["layout_detection"]["reason"].startswith("as given by --layout separate")


def test_two_files_of_one_voice_each_are_analysed_and_said(tmp_path, capsys, voices):
    audio, truth = voices
    a, b = tmp_path / "therapist.wav", tmp_path / "client.wav"
    sf.write(a, audio[:, 0], SR, subtype="PCM_16")
    sf.write(b, audio[:, 1], SR, subtype="PCM_16")
    rc, _, err = _run(capsys, "analyze", a, b, "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0 and "overrides" not in err
    doc = json.loads((tmp_path / "s.json").read_text())
    att = doc["attribution"]
    assert att["layout"] == "separate" and att["layout_detection"]["layout"] == "separate"
    assert att["attribution"].startswith("one speaker per file")
    for spk in ("therapist", "client"):
        assert abs(_speech_s(doc, spk) - _truth_s(truth, spk)) < 0.15 * _truth_s(truth, spk)


def test_stereo_of_both_voices_forced_separate_is_warned(tmp_path, capsys, voices):
    audio, truth = voices
    mix = audio.mean(axis=1)
    shared = np.stack([mix, mix * 10 ** (-2 / 20)], axis=1)   # both voices on both channels, 2 dB apart
    p = tmp_path / "table.wav"
    sf.write(p, shared, SR, subtype="PCM_16")
    rc, _, err = _run(capsys, "analyze", p, "--layout", "separate", "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    assert any(w.startswith("--layout separate overrides the detected layout (shared") for w in doc["warnings"])
    # what the warning is about: far less speech than was spoken
    assert _speech_s(doc, "therapist") + _speech_s(doc, "client") < 0.5 * (_truth_s(truth, "therapist")
                                                                          + _truth_s(truth, "client"))
    # the stereo file of one voice per channel under the same flag: no warning, the speech found
    q = tmp_path / "headsets.wav"
    sf.write(q, audio, SR, subtype="PCM_16")
    rc, _, err = _run(capsys, "analyze", q, "--layout", "separate", "--json", tmp_path / "t.json", "--quiet")
    doc = json.loads((tmp_path / "t.json").read_text())
    assert rc == 0 and not any("overrides" in w for w in doc["warnings"])
    assert doc["attribution"]["layout_detection"]["layout"] == "separate"
    for spk in ("therapist", "client"):
        assert abs(_speech_s(doc, spk) - _truth_s(truth, spk)) < 0.15 * _truth_s(truth, spk)


def test_batch_refuses_two_files_of_one_mix(tmp_path, capsys, voices):
    audio, _ = voices
    d = tmp_path / "archive"
    d.mkdir()
    mix = audio[: 20 * SR].mean(axis=1)
    sf.write(d / "a.wav", mix, SR, subtype="PCM_16")
    sf.write(d / "b.wav", mix, SR, subtype="PCM_16")
    manifest = d / "sessions.csv"
    manifest.write_text("file,file2,therapist\na.wav,b.wav,T1\n")
    rc, out, err = _run(capsys, "batch", manifest, "--store", tmp_path / "store", "--no-progress", "--jobs", "1",
                        "--table", tmp_path / "table", "--no-parquet")
    assert rc != 0
    assert "both files carry both voices" in out + err


def test_enrol_refuses_two_voices_and_a_blended_profile_is_said_uncertain(tmp_path, capsys, voices):
    from prosody.engine.speakers import attribute, build_profile

    audio, _ = voices
    mix = audio.mean(axis=1)
    p = tmp_path / "both.wav"
    sf.write(p, mix, SR, subtype="PCM_16")
    rc, out, err = _run(capsys, "enrol", p, "--therapist", "ann", "--store", tmp_path / "store")
    assert rc == 2 and out == "" and err.startswith("prosody: error: two voices found in") and "alone" in err
    alone = tmp_path / "alone.wav"
    sf.write(alone, audio[:, 0], SR, subtype="PCM_16")
    rc, out, err = _run(capsys, "enrol", alone, "--therapist", "ann", "--store", tmp_path / "store")
    assert rc == 0 and out.startswith("enrolled ann"), err
    # a profile of both voices (what enrol now refuses) names them with no margin: said uncertain
    blended = attribute(mix, profile=build_profile(mix))
    assert any("uncertain" in w for w in blended.warnings)
    own = attribute(mix, profile=build_profile(audio[:, 0]))
    assert not any("uncertain" in w for w in own.warnings)
    assert own.naming.names[int(np.argmin(own.naming.distances))] == "therapist"


def test_a_channel_in_opposite_polarity_is_inverted_before_mixing(tmp_path, capsys, voices):
    """Planted: the fixture's two voices mixed, stored as channel 1 and, negated, as channel 2
    (a microphone wired the other way round). Their mean is silence; the speech must still be
    found, each voice's, and the inversion said."""
    audio, truth = voices
    mix = audio.mean(axis=1)
    p = tmp_path / "inverted.wav"
    sf.write(p, np.stack([mix, -mix], axis=1), SR, subtype="PCM_16")
    rc, _, err = _run(capsys, "analyze", p, "--json", tmp_path / "s.json", "--quiet", "--save",
                      "--store", tmp_path / "store")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert any(w.startswith("channel 2 is in opposite polarity") for w in doc["warnings"])
    att = doc["attribution"]
    assert att["layout"] == "shared" and att.get("channel_2_inverted") is True
    assert "opposite polarity" in att["layout_detection"]["reason"]
    spoken = _truth_s(truth, "therapist") + _truth_s(truth, "client")
    assert abs(_speech_s(doc, "therapist") + _speech_s(doc, "client") - spoken) < 0.15 * spoken
    assert att["diarization"]["voices"] == 2
