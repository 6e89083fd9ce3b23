"""diarize._pitch_llr(context=...), _pitch_context, _run_tails: on a run's end, a frame's pitch argues for a
voice only where its stretch of speech does too (thirty-ninth round). A speaker's falling sentence end lies
in a lower voice's register frame by frame; the frame pitch cue gave it to the lower voice (whole sessions:
the client's last 0.3-0.8 s, sentence after sentence, to a therapist 3.7 st lower). Planted pitch tracks:
the client speaks 4 s sentences around +4 st whose last 0.4 s fall to -1 st, the therapist 0.6 s
utterances around 0 st, each utterance its own run of speech (pauses between)."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.diarize import DiarizeConfig, _pitch_context, _pitch_llr, _run_tails
from prosody.errors import ConfigError
from prosody.timebase import GRID


def _session(n_pairs: int = 12):
    """(f0 (m,), idx (m,), therapist (m,) bool, falls (m,) bool): client sentences and therapist utterances
    alternating, 0.5 s pauses between (a gap in the frame numbers)."""
    rng = np.random.default_rng(3)
    f0, ther, fall, idx = [], [], [], []
    t = 0
    for _ in range(n_pairs):
        body = 4.0 + 0.8 * np.sin(np.arange(360) / 20.0)
        tail = np.linspace(4.0, -1.0, 40)  # the sentence's final fall, into the therapist's register
        s = np.concatenate([body, tail]) + rng.normal(0, 0.3, 400)
        s[rng.random(400) < 0.15] = np.nan  # unvoiced frames
        f0.append(s), ther.append(np.zeros(400, bool)), fall.append(np.arange(400) >= 360)
        idx.append(t + np.arange(400))
        t += 450
        u = rng.normal(0.0, 0.5, 60)
        u[rng.random(60) < 0.15] = np.nan
        f0.append(u), ther.append(np.ones(60, bool)), fall.append(np.zeros(60, bool))
        idx.append(t + np.arange(60))
        t += 110
    return (np.concatenate(f0).astype(np.float32), np.concatenate(idx), np.concatenate(ther),
            np.concatenate(fall))


def _per_utterance(values: np.ndarray, idx: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over ``sel`` within each run of speech."""
    run = np.concatenate([[0], np.cumsum(np.diff(idx) > 1)])
    return np.array([values[(run == r) & sel].sum() for r in np.unique(run[sel])])


def _context(f0, idx, cfg=DiarizeConfig()):
    tail = _run_tails(idx, GRID.s_to_frames(cfg.pitch_tail_s))
    return _pitch_context(f0, idx, GRID.s_to_frames(cfg.pitch_context_s), where=tail)


def test_a_falling_sentence_end_no_longer_argues_for_the_lower_voice():
    f0, idx, ther, fall = _session()
    use = np.ones(len(f0), bool)
    frame = _pitch_llr(f0, ther, use, 3.0)  # voice 1: the therapist
    asked = _pitch_llr(f0, ther, use, 3.0, context=_context(f0, idx))
    # frame by frame, every sentence end argues for the therapist, mostly by more than a change of voice costs
    assert np.all(_per_utterance(frame, idx, fall) > 0)
    assert np.median(_per_utterance(frame, idx, fall)) > DiarizeConfig().switch_penalty
    # asked against its stretch, no sentence end argues for the therapist by more than a few frames' worth
    assert np.all(_per_utterance(asked, idx, fall) < 5.0)
    # the therapist's own utterances (their whole run a run's end) keep every frame's word, and the client's
    # sentences theirs
    assert np.array_equal(asked[ther], frame[ther])
    assert np.array_equal(asked[~ther & ~fall], frame[~ther & ~fall])


def test_the_stretch_stays_inside_a_run_of_speech():
    f0, idx, ther, _ = _session(n_pairs=3)
    ctx = _pitch_context(f0, idx, 50)
    voiced = np.isfinite(f0)
    assert np.array_equal(np.isfinite(ctx), voiced)  # unvoiced frames stay unvoiced
    # a therapist utterance 0.5 s after a client sentence is read at its own pitch, not the client's
    assert np.all(np.abs(ctx[ther & voiced]) < 1.0)
    # frames numbered as one run: the therapist's first frames join the client's sentence end
    joined = _pitch_context(f0, np.arange(len(f0)), 50)
    first = np.flatnonzero(ther & voiced)[:5]
    assert np.all(joined[first] > ctx[first])


def test_run_tails_and_the_setting():
    idx = np.array([0, 1, 2, 3, 4, 10, 11, 12, 20])
    assert _run_tails(idx, 2).tolist() == [False, False, False, True, True, False, True, True, True]
    assert not _run_tails(idx, 0).any()
    f0, idx, ther, fall = _session(n_pairs=2)
    off = DiarizeConfig(pitch_tail_s=0.0)
    assert not _run_tails(idx, GRID.s_to_frames(off.pitch_tail_s)).any()  # off: no frame is asked
    with pytest.raises(ConfigError, match="pitch_tail_s=-1"):
        DiarizeConfig(pitch_tail_s=-1.0).validate()
    with pytest.raises(ConfigError, match="pitch_context_s=0"):
        DiarizeConfig(pitch_context_s=0.0).validate()


@pytest.mark.xfail(strict=True, reason="the pitch cue on run ends gives this dialogue two false backchannels "
                   "(docs/speakers.md, forty-first round: traced, not fixed)")
def test_fresh10_mixed_s121_mono_has_no_false_backchannel(needs_espeak):
    """benchmarks/diarization.py's fresh10 espeak mixed s121 (en-us+klatt6 s165 / en-gb-x-gbcwmd+announcer
    p60 s185), mono, mixed as that split mixes it (the room draws below are its rng's for this case). The
    truth: three planted backchannels. With the pitch cue on run ends the diarizer reports two false
    therapist backchannels (10.98 s, 27.27 s), misses one (21.70 s) and gives 0.94 % of the single-speaker
    speech to the wrong person; without the cue (``pitch_tail_s=0``) no false one, 0.00 %. The therapist's run
    ends hold frames read at the pitch tracker's top, 24-28 st above their stretch, which the stretch's veto
    silences; a limit that leaves such frames unasked fixed this dialogue but did not hold on unseen splits
    (forty-first round), so the case stands as a known failure."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import diarization as bench

    from prosody.engine.speakers import attribute
    from tests.dialogue import CLIENT, THERAPIST, build_dialogue, mix_room, scenario_mixed

    utts = bench.spoken_by(scenario_mixed(seed=121), {THERAPIST: "en-us+klatt6 s165",
                                                      CLIENT: "en-gb-x-gbcwmd+announcer p60 s185"})
    dlg = build_dialogue(utts, noise_db=None, level_db=(-22.0, -22.0), seed=121)
    x, _ = mix_room(dlg, layout="mono", level_diff_db=(2.5537375652169043, 1.7829191507102184),
                    delay_ms=(0.9679756948391581, 0.04803771237886112), rt60_s=None,
                    noise_db=-45.90782674355701, seed=121)
    truth = dlg.truth.to_json_dict()
    assert sum(e["kind"] == "backchannel" for e in truth["events"]) == 3
    att = attribute(x)
    s = bench.analyze_blocks([att.channels(x)], att.speakers, cross_talk=False)
    r = bench.score_session(s, s.to_json_dict(), truth)
    assert r["bc_false"] == [] and len(r["bc_missed"]) == 0
    assert r["wrong"] <= 0.002 * r["single_frames"]
