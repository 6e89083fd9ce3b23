"""Which of two separate channels is the therapist (issue 9, item 4: a voice profile names the
therapist in analyze, batch and live). Separate channels were read in the default order whatever
profile was enrolled: a recording with the therapist on the right gave the therapist the client's
words, silently. Now a profile checks the order (``engine.speakers.name_channels``) and the rule
used is said either way: the default order, the profile's choice, or why the profile could not
decide."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from prosody.engine.speakers import (CHANNEL_ORDER_RULE, build_profile, detect_layout, name_channels,
                                     separate_attribution)
from tests.conftest import FIXTURES, run_cli

SR = 16000


@pytest.fixture(scope="module")
def fixture():
    y, rate = sf.read(FIXTURES / "dialogue.flac", dtype="float32", always_2d=True)
    assert rate == SR
    return y


@pytest.fixture(scope="module")
def therapist_profile(fixture):
    return build_profile(fixture[: 20 * SR, 0])  # the therapist's channel, first 20 s: the voice alone


def test_a_profile_finds_the_therapist_on_either_channel(fixture, therapist_profile):
    as_is = name_channels(fixture, profile=therapist_profile)
    assert as_is.names == ("therapist", "client") and not as_is.assumption
    swapped = name_channels(fixture[:, ::-1], profile=therapist_profile)
    assert swapped.names == ("client", "therapist") and not swapped.assumption
    assert "channel 2's voice is" in swapped.rule and swapped.distances[1] < swapped.distances[0] - 0.08
    none = name_channels(fixture[:, ::-1])
    assert none.names == ("therapist", "client") and none.assumption and none.rule == CHANNEL_ORDER_RULE


def test_a_profile_of_both_voices_cannot_decide_and_says_so(fixture):
    both = build_profile(fixture.mean(axis=1))
    att = separate_attribution(fixture, detect_layout(fixture), profile=both)
    assert att.channel_picks == (0, 1) and att.naming.assumption
    assert any("which channel is the therapist is uncertain" in w for w in att.warnings), att.warnings


def test_analyze_and_batch_take_the_profiles_channel(fixture, tmp_path):
    sf.write(tmp_path / "ther_alone.wav", fixture[: 20 * SR, 0], SR)
    sf.write(tmp_path / "swapped.wav", fixture[:, ::-1], SR, subtype="FLOAT")
    store = tmp_path / "st"
    assert run_cli("enrol", tmp_path / "ther_alone.wav", "--therapist", "ann", "--store", store)[0] == 0
    rc, _, err = run_cli("analyze", FIXTURES / "dialogue.flac", "--json", tmp_path / "plain.json", "--quiet")
    assert rc == 0, err
    plain = json.loads((tmp_path / "plain.json").read_text())
    assert plain["attribution"]["naming"]["rule"] == CHANNEL_ORDER_RULE  # said, with no profile
    rc, _, err = run_cli("analyze", tmp_path / "swapped.wav", "--profile", "ann", "--store", store,
                         "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0, err
    assert "the voice profile names channel 2 the therapist" in err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["attribution"]["channels"] == {"therapist": 2, "client": 1}
    assert doc["audio"]["picks"] == {"therapist": [0, 1], "client": [0, 0]}
    for spk in ("therapist", "client"):  # the same people's figures as the recording the right way round
        assert doc["speakers"][spk]["talk_share"] == pytest.approx(plain["speakers"][spk]["talk_share"], abs=0.005)
        assert doc["speakers"][spk]["f0_median_hz"] == pytest.approx(plain["speakers"][spk]["f0_median_hz"], abs=1.0)
    rc, out, err = run_cli("batch", tmp_path / "swapped.wav", "--profile", "ann", "--store", store, "--no-progress",
                           "--table", tmp_path / "t", "--no-parquet")
    assert rc == 0, err
    rc, out, _ = run_cli("export", "last", "--store", store)
    batched = json.loads(out)
    assert batched["attribution"]["channels"] == {"therapist": 2, "client": 1}
    assert batched["speakers"]["therapist"]["talk_share"] == doc["speakers"]["therapist"]["talk_share"]
    # --channels says it outright: no profile check, no warning
    rc, _, err = run_cli("analyze", tmp_path / "swapped.wav", "--profile", "ann", "--store", store,
                         "--channels", "therapist=left,client=right", "--json", tmp_path / "c.json", "--quiet")
    assert rc == 0 and "voice profile names" not in err, err
    assert json.loads((tmp_path / "c.json").read_text())["attribution"]["channels"] == {"therapist": 1, "client": 2}


def test_with_one_person_speaking_the_profile_names_that_voice(fixture, therapist_profile):
    """The other channel silent: the one voice speaking is matched to the profile alone (it had said the
    naming was uncertain, for want of the silent channel's speech)."""
    y = fixture.copy()
    ther_only = np.stack([y[:, 0], np.zeros(len(y), np.float32)], axis=1)   # the therapist's channel, client silent
    client_only = np.stack([y[:, 1], np.zeros(len(y), np.float32)], axis=1)  # the client's voice on channel 1
    a = name_channels(ther_only, profile=therapist_profile)
    assert a.names == ("therapist", "client") and not a.assumption and "the only one speaking" in a.rule
    b = name_channels(client_only, profile=therapist_profile)
    assert b.names == ("client", "therapist") and not b.assumption and "beyond" in b.rule
    json.dumps(b.to_dict(), allow_nan=False)  # no NaN for the silent channel


def test_two_files_in_the_other_order_are_read_as_given_and_said(fixture, tmp_path):
    """Two files are one speaker each in the order given (therapist first); a profile that finds the
    therapist in the second file says so, and changes nothing."""
    for name, ch in (("t.wav", 0), ("c.wav", 1)):
        sf.write(tmp_path / name, fixture[:, ch], SR)
    sf.write(tmp_path / "ther_alone.wav", fixture[: 20 * SR, 0], SR)
    store = tmp_path / "st"
    assert run_cli("enrol", tmp_path / "ther_alone.wav", "--therapist", "ann", "--store", store)[0] == 0
    rc, _, err = run_cli("analyze", tmp_path / "c.wav", tmp_path / "t.wav", "--profile", "ann", "--store", store,
                         "--json", tmp_path / "s.json", "--quiet")
    assert rc == 0, err
    assert "the voice profile finds the therapist in the second file" in err, err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["attribution"]["channels"] == {"therapist": 1, "client": 2}  # as given
    rc, _, err = run_cli("analyze", tmp_path / "t.wav", tmp_path / "c.wav", "--profile", "ann", "--store", store,
                         "--quiet")
    assert rc == 0 and "voice profile" not in err, err
