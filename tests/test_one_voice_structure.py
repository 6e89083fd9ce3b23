"""benchmarks/one_voice_structure.py: a split's structure over utterances and pauses, on planted splits (av89)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from one_voice_structure import auc, found_at_zero, runs_z, split_structure, utterance_eta  # noqa: E402

UTT = 200  # frames an utterance (2 s)
GAP = 40  # frames a pause (0.4 s)
N_UTT = 12


def _speech(utt: int = UTT):
    """The speech frames' numbers: N_UTT utterances of ``utt`` frames, GAP frames apart."""
    return np.concatenate([np.arange(utt) + k * (utt + GAP) for k in range(N_UTT)])


def test_split_that_follows_utterances_reads_as_turns():
    idx = _speech()
    turns = np.repeat(np.arange(N_UTT) % 2, UTT)  # the voices alternate, one a whole utterance
    s = split_structure(turns, idx, np.full(len(idx), -20.0))
    assert s["purity"] == 1.0 and s["pure_utt"] == 1.0
    assert s["pause_chg"] == 1.0 and s["alt_rate"] == 1.0 and s["inside_ps"] == 0.0
    assert s["alt_z"] > 3.0  # 12 alternating utterances: z = 3.3
    assert s["mix_time"] > 0.8 and s["head_tail"] == 0.0 and s["minority"] == 0.5


def test_split_of_heads_and_tails_and_of_time():
    idx = _speech()
    heads = np.tile(np.r_[np.zeros(UTT // 2), np.ones(UTT // 2)], N_UTT).astype(np.int8)  # each utterance cut in two
    s = split_structure(heads, idx, np.full(len(idx), -20.0))
    assert s["purity"] == 0.5 and s["pure_utt"] == 0.0
    assert s["head_tail"] > 0.8 and s["inside_ps"] > 0.4
    assert s["pause_chg"] == 11 / 23  # 12 changes inside the utterances, 11 at the pauses (a tail, the next head)
    halves = (np.arange(len(idx)) >= len(idx) // 2).astype(np.int8)  # the first half against the second
    s = split_structure(halves, idx, np.full(len(idx), -20.0))
    assert s["purity"] == 1.0 and s["alt_rate"] < 0.1 and s["alt_z"] < -3.0 and s["mix_time"] < 0.1


def test_level_and_both_frames():
    idx = _speech()
    loud = np.tile(np.r_[np.zeros(UTT // 2), np.ones(UTT // 2)], N_UTT).astype(np.int8)
    lv = np.where(loud == 1, -15.0, -25.0) + np.random.default_rng(0).normal(0, 1, len(idx))
    assert split_structure(loud, idx, lv)["level_r"] > 0.9
    both = loud.copy()
    both[:UTT] = 2  # the first utterance heard as both voices: left out
    s = split_structure(both, idx, lv)
    assert s["n_utt"] == N_UTT - 1
    assert split_structure(np.zeros(len(idx), np.int8), idx, lv) == {}  # one voice: no split to read


def test_utterance_eta_between_and_within():
    long = 600  # 6 s utterances: 10 windows wholly inside each
    idx = _speech(long)
    rng = np.random.default_rng(1)
    m, w = len(idx), 150
    starts = np.arange(0, m - w + 1, 50)
    utt = starts // long
    inside = starts % long + w <= long
    voice = (utt % 2).astype(np.int64)
    base = rng.normal(0, 1, (2, 8))
    emb = base[voice] + rng.normal(0, 0.05, (len(starts), 8))  # each window its utterance's voice
    e = utterance_eta(emb, voice, starts, w, idx)
    assert e["utt_eta"] > 0.9 and e["utt_alt_z"] > 1.5
    noise = rng.normal(0, 1, (len(starts), 8))  # one voice: no grouping by utterance
    e = utterance_eta(noise, (noise[:, 0] > 0).astype(np.int64), starts, w, idx)
    assert abs(e["utt_eta"]) < 0.15
    assert inside.sum() == 10 * N_UTT


def test_runs_auc_and_bar():
    assert runs_z(np.array([0, 1] * 6)) > 3.0 and runs_z(np.array([0] * 6 + [1] * 6)) < -3.0
    assert runs_z(np.zeros(5, np.int64)) == 0.0
    pos, neg = np.array([3.0, 2.0, 0.5]), np.array([1.0, 0.0, -1.0])
    assert auc(pos, neg) == 8 / 9
    assert found_at_zero(pos, neg, 1.0) == 2 and found_at_zero(pos, neg, -1.0) == 0
