"""Hostile sweep 22's leftovers (2026-12-05, docs/store.md "Hostile sweep 22, its leftovers"): a quiet recording
is mended, not only warned about (the speech detection hears it raised; its levels stay its own), and the level
measures of two voices cut from one mix leave out the frames both voices hold (the mixture, turned down)."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from tests.conftest import run_cli


def _figures(path, tmp_path) -> dict:
    out = tmp_path / f"{path.name}.json"
    rc, _, err = run_cli("analyze", path, "--json", out, "--quiet", "--no-progress")
    assert rc == 0, err
    return json.loads(out.read_text())


def _turn_figures_planted(sp, *, tol_s=0.1):
    """The fixture's planted turn figures (tests/conftest.py ``fixture_dialogue``: waits 0.404 / 0.413 s, one
    talk-over each; the therapist's talk share 0.63 on its separate channels)."""
    assert abs(sp["therapist"]["gap_median_s"] - 0.404) < tol_s, sp["therapist"]["gap_median_s"]
    assert abs(sp["client"]["gap_median_s"] - 0.413) < tol_s, sp["client"]["gap_median_s"]
    assert sp["therapist"]["interruptions"] == 1 and sp["client"]["interruptions"] == 1
    assert abs(sp["therapist"]["talk_share"] - 0.63) < 0.03, sp["therapist"]["talk_share"]


def test_a_quiet_recording_gives_the_planted_figures_without_the_users_gain(fixture_dialogue, tmp_path):
    """A recorder's gain set far too low: the fixture's separate channels at -74 dBFS of typical speech read a
    talk share of 0.81 and no talk-over (-69 dBFS: the client's wait 0.07 s for 0.41; both warned about, not
    mended). webrtcvad hears int16 samples of a few steps and models speech at ordinary levels: its input is now
    raised where a channel's loudest 1 % of frames lie under -50 dBFS (``VadConfig.hear_gain_db``), and the
    planted figures come back, with the levels the file's own. A mono memo at -73 dBFS too."""
    audio, _ = fixture_dialogue
    for db, typical in ((-45, -69), (-50, -74), (-58, -82)):
        p = tmp_path / f"sep{-db}.wav"
        sf.write(p, audio * np.float32(10 ** (db / 20)), 16000, subtype="FLOAT")
        got = _figures(p, tmp_path)
        _turn_figures_planted(got["speakers"])
        for who in ("therapist", "client"):  # the levels reported are the file's own
            assert abs(got["speakers"][who]["rms_db_median"] - typical) < 1.5, got["speakers"][who]["rms_db_median"]
    mono = tmp_path / "memo.wav"
    sf.write(mono, audio.mean(axis=1) * np.float32(10 ** (-42 / 20)), 16000, subtype="FLOAT")
    sp = _figures(mono, tmp_path)["speakers"]
    assert abs(sp["therapist"]["gap_median_s"] - 0.404) < 0.1 and abs(sp["client"]["gap_median_s"] - 0.413) < 0.1
    assert sp["therapist"]["interruptions"] == 1 and sp["client"]["interruptions"] == 1


def test_the_speech_detection_hears_a_quiet_channel_as_if_raised(fixture_dialogue):
    """The mechanism (``RawVad`` with ``VadConfig.hear_gain_db``): a channel 35 dB down, heard 35 dB up, is
    decided as the channel at its own level (within int16's rounding); without the gain it lost a third of its
    speech; the gain's rule (``engine.vad.hearing_gain_db``) gives ordinary levels none (their decisions
    bit for bit as before) and a quiet channel what lifts its loudest 1 % to -20 dBFS."""
    from prosody.config import VadConfig
    from prosody.engine.speakers import _vad_levels_db
    from prosody.engine.vad import RawVad
    from prosody.engine.vad import hearing_gain_db
    audio, _ = fixture_dialogue
    x = audio[:, 1].astype(np.float64)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    loud = RawVad(VadConfig()).push(frames)
    quiet = frames * 10 ** (-35 / 20)  # its noise (-80 dBFS) at -115, over rms_db's -120 floor
    raised = RawVad(VadConfig(hear_gain_db=35.0)).push(quiet)
    plain = RawVad(VadConfig()).push(quiet)
    assert loud.sum() > 1000
    assert np.mean(raised == loud) > 0.99, np.mean(raised == loud)
    assert plain.sum() < 0.7 * loud.sum(), (plain.sum(), loud.sum())  # 876 of 1338 frames
    lv = _vad_levels_db(x, len(x) // 160)
    assert hearing_gain_db(lv) == 0.0  # the fixture's speech at -24 dBFS
    assert hearing_gain_db(lv - 30.0) == 0.0  # -54 dBFS speech: its loudest 1 % over -50 dBFS
    top = float(np.percentile(lv[lv > -119], 99))
    assert hearing_gain_db(lv - 38.0) == round(-20.0 - (top - 38.0)) == 31  # -62 dBFS speech
    assert hearing_gain_db(np.full(5000, -120.0)) == 0.0  # digital silence: nothing to raise


def test_the_volume_steadiness_of_a_mono_mix_is_its_separate_channels(fixture_dialogue, tmp_path):
    """"Was my voice steady?" of a memo: the voices' channels of one mix carry the mixture turned down (6 dB,
    10.5 dB) where both speak, and "your volume moved from second to second" (``level_instability_db``) read
    those frames as the voice's: the fixture's mono mix 2.11 / 2.78 dB for 1.80 / 1.71 on its separate channels
    (the 50-minute memo of sweep 22: 4.1 dB for ~1.9). The level measures leave those frames out now (and a
    second whose frames are mostly both voices'), 1.65 / 2.08 dB."""
    audio, _ = fixture_dialogue
    sep = tmp_path / "sep.wav"
    sf.write(sep, audio, 16000, subtype="PCM_16")
    mono = tmp_path / "memo.wav"
    sf.write(mono, audio.mean(axis=1), 16000, subtype="PCM_16")
    want = _figures(sep, tmp_path)["measures"]["voice"]
    got = _figures(mono, tmp_path)["measures"]["voice"]
    for who in ("therapist", "client"):
        assert abs(got[who]["level_instability_db"] - want[who]["level_instability_db"]) < 0.5, \
            (who, got[who]["level_instability_db"], want[who]["level_instability_db"])


def test_no_level_of_their_own_in_the_frames_of_one_signal_both_voices_hold(fixture_dialogue):
    """The rule where it is made (``measures.slice.own_level_speech``): of two channels cut from one signal the
    typical level (and the baseline's) is taken over the frames each holds alone; of separate channels over all
    its speech, as before."""
    from prosody.measures.slice import own_level_speech
    from prosody.session import analyze_blocks
    audio, _ = fixture_dialogue
    sr = 16000
    mix = audio[:12 * sr].mean(axis=1)
    a, b = mix.copy(), mix.copy()
    a[8 * sr:] = 0.0  # the one signal: A's channel 0-8 s, B's 4-12 s, both 4-8 s, B's at -10.5 dB there
    b[:4 * sr] = 0.0
    b[4 * sr:8 * sr] *= np.float32(0.3)
    s = analyze_blocks([np.stack([a, b], axis=1)], ("therapist", "client"), cross_talk=False)
    assert s.one_signal
    fb = s.frames["client"]
    own = own_level_speech(s.frames, "client", s.speakers, one_signal=True)
    alone = fb["is_speech"] & ~s.frames["therapist"]["is_speech"]
    assert np.array_equal(own, alone) and alone.sum() > 100
    stats = {st.speaker: st for st in s.stats()}
    assert abs(stats["client"].rms_db_median - float(np.median(fb["rms_db"][alone]))) < 1e-6
    assert s.measures.baseline.of("client").level_median_db == stats["client"].rms_db_median
    sep = analyze_blocks([np.stack([a, b], axis=1)], ("therapist", "client"))
    assert not sep.one_signal
    st = {x.speaker: x for x in sep.stats()}
    sp = sep.frames["client"]["is_speech"]
    assert abs(st["client"].rms_db_median - float(np.median(sep.frames["client"]["rms_db"][sp]))) < 1e-6
