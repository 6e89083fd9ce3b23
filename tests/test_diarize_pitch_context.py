"""diarize._pitch_llr(context=...), _pitch_context, _run_tails: on a run's end, a frame's pitch argues for a
voice only where its stretch of speech does too (thirty-ninth round). A speaker's falling sentence end lies
in a lower voice's register frame by frame; the frame pitch cue gave it to the lower voice (whole sessions:
the client's last 0.3-0.8 s, sentence after sentence, to a therapist 3.7 st lower). Planted pitch tracks:
the client speaks 4 s sentences around +4 st whose last 0.4 s fall to -1 st, the therapist 0.6 s
utterances around 0 st, each utterance its own run of speech (pauses between). Forty-first round: a frame
more than ``pitch_context_max_st`` from its stretch is a tracking error, not a fall, and keeps its word."""
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
    asked = _pitch_llr(f0, ther, use, 3.0, context=_context(f0, idx),
                       context_max_st=DiarizeConfig().pitch_context_max_st)
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
    with pytest.raises(ConfigError, match="pitch_context_max_st=0"):
        DiarizeConfig(pitch_context_max_st=0.0).validate()
    DiarizeConfig(pitch_context_max_st=float("inf")).validate()  # every frame asked: the thirty-ninth round's rule


def _creaky_holder():
    """(f0, idx, holder, creak): a holder (voice 1) whose 3 s sentences lie around 6 st with a quarter of
    its voiced frames creaky, read at -9..-4 st (its pitch Gaussian wide), its last 0.8 s rising to 9.5 st,
    towards the other voice (4 s utterances around 11.4 st, as wide); pauses between (the AMI trn06 holders
    of benchmarks/diarization.py's fresh10, docs/speakers.md forty-first round)."""
    rng = np.random.default_rng(5)
    f0, hold, creak, idx = [], [], [], []
    t = 0
    for _ in range(10):
        s = rng.normal(6.0, 2.0, 300)
        s[-80:] = rng.normal(9.5, 0.5, 80)
        c = rng.random(300) < 0.25
        s[c] = rng.uniform(-9.0, -4.0, c.sum())
        s[rng.random(300) < 0.1] = np.nan
        f0.append(s), hold.append(np.ones(300, bool)), creak.append(c & np.isfinite(s)), idx.append(t + np.arange(300))
        t += 350
        u = rng.normal(11.4, 4.0, 120)
        u[rng.random(120) < 0.1] = np.nan
        f0.append(u), hold.append(np.zeros(120, bool)), creak.append(np.zeros(120, bool)), idx.append(t + np.arange(120))
        t += 170
    return (np.concatenate(f0).astype(np.float32), np.concatenate(idx), np.concatenate(hold),
            np.concatenate(creak))


def test_a_tracking_error_far_from_its_stretch_keeps_its_word():
    """The creaky frames of the holder's run end lie 13-18 st under their stretch, so far under both voices
    that only the holder's wide Gaussian reaches them: frame by frame they argue for the holder (rightly),
    while the run end's own pitch, and so its stretch, leans to the other voice. Every frame asked (the
    thirty-ninth round's rule), the stretch took their word away and the run end had no pitch for its
    holder (fresh10's AMI trn06: short runs of the other voice or of both cut out there, false
    backchannels); now a frame more than ``pitch_context_max_st`` from its stretch keeps it, and frames
    nearer their stretch (a fall) are asked as before."""
    f0, idx, hold, creak = _creaky_holder()
    use = np.ones(len(f0), bool)
    ctx = _context(f0, idx)
    cfg = DiarizeConfig()
    frame = _pitch_llr(f0, hold, use, 3.0)
    every = _pitch_llr(f0, hold, use, 3.0, context=ctx, context_max_st=float("inf"))
    now = _pitch_llr(f0, hold, use, 3.0, context=ctx, context_max_st=cfg.pitch_context_max_st)
    sel = creak & np.isfinite(ctx)  # the creaky frames of the holder's run ends
    assert sel.sum() >= 100 and np.all(f0[sel] < ctx[sel] - 10.0)
    assert np.all(frame[sel] > 0)  # each argues for the holder
    assert every[sel].sum() < 0.2 * frame[sel].sum()  # every frame asked: the stretch silenced most of them
    assert np.array_equal(now[sel], frame[sel])  # now their word stands
    near = np.isfinite(ctx) & (np.abs(f0 - ctx) <= cfg.pitch_context_max_st)
    assert np.array_equal(now[near], every[near])  # frames near their stretch: asked as before
    assert np.array_equal(now[~np.isfinite(ctx)], frame[~np.isfinite(ctx)])  # outside run ends: untouched
