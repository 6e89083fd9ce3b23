"""The choice between starts reads how many utterances each split gives to both voices (``_mixed_utterances``,
``_unmixes``, ``_start_chosen``; docs/speakers.md, eighty-third round): a split of one voice's head against its
tail, the tail put with the other voice, cuts half the utterances, the planted turns few; where the mixed split
lies further apart and its frame models explain the frames better, a restart that cuts no utterance replaces
it all the same."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from prosody.engine.diarize import (DiarizeConfig, Diarization, _mixed_utterances, _start_chosen, _unmixes,
                                    diarize)
from prosody.timebase import GRID

CFG = DiarizeConfig()
# speech frames: 12 utterances of 200 frames (2 s) with 40-frame pauses, the voices taking turns
IDX = np.concatenate([np.arange(200) + 240 * k for k in range(12)])
PLANTED = np.repeat(np.arange(12) % 2, 200).astype(np.int8)


def _head_to_the_other(path: np.ndarray, share: float) -> np.ndarray:
    """Voice 0's utterances' first ``share`` given to voice 1: the head against the tail, the tail with the
    other voice, relabelled so (head 1, tail and the other voice 0)."""
    out = np.zeros_like(path)
    for k in range(0, 12, 2):
        out[200 * k:200 * k + int(200 * share)] = 1
    return out


def test_mixed_utterances_read_the_planted_turns_as_whole():
    assert _mixed_utterances(PLANTED, IDX, CFG, GRID) == 0.0
    mixed = _head_to_the_other(PLANTED, 0.5)
    assert _mixed_utterances(mixed, IDX, CFG, GRID) == 0.5  # the six utterances of voice 0 cut in two
    assert _mixed_utterances(_head_to_the_other(PLANTED, 0.1), IDX, CFG, GRID) == 0.0  # a 0.2 s head: no cut
    both = mixed.copy()
    both[:100] = 2  # frames given to both voices are left out: that utterance is now whole
    assert _mixed_utterances(both, IDX, CFG, GRID) == 5 / 12
    assert np.isnan(_mixed_utterances(PLANTED[:600], IDX[:600], CFG, GRID))  # three utterances: not read
    assert _unmixes(PLANTED, mixed, IDX, CFG, GRID) and not _unmixes(mixed, PLANTED, IDX, CFG, GRID)
    assert not _unmixes(PLANTED, mixed, IDX, DiarizeConfig(unmix_from=2.0), GRID)


def _split(path: np.ndarray, separation: float, gain: float, se: float = 0.02) -> Diarization:
    """A two-voice split of the planted speech frames along ``path``, with the figures the choice reads."""
    n = int(IDX[-1]) + 1
    owner = np.zeros(n, np.int8)
    owner[IDX] = path
    speech = np.zeros(n, bool)
    speech[IDX] = True
    act = np.stack([speech & (owner != 1), speech & (owner != 0)], axis=1)
    return Diarization(n_voices=2, activity=act, owner=owner, centroids=np.zeros((2, 256), np.float32),
                       separation=separation, voice_share=(0.5, 0.5), separation_se=se, model_gain=gain)


def test_a_start_that_cuts_no_utterance_replaces_a_mixed_split_further_apart():
    right, mixed = _split(PLANTED, 0.295, 1.22), _split(_head_to_the_other(PLANTED, 0.5), 0.367, 1.93)
    # the right split lies nearer (beyond the noise) with frame models that hear it worse: separation alone keeps
    # the mixed one, the utterances do not
    assert not _start_chosen(right, None, IDX, 0.367, 0.018, 1.93, 0.0, CFG, GRID)
    assert _start_chosen(right, mixed.owner[IDX], IDX, 0.367, 0.018, 1.93, 0.0, CFG, GRID)
    # and the mixed split, further apart, does not replace the right one
    assert not _start_chosen(mixed, right.owner[IDX], IDX, 0.295, 0.022, 1.22, 0.0, CFG, GRID)
    assert _start_chosen(mixed, None, IDX, 0.295, 0.022, 1.22, 0.0, CFG, GRID)
    # a start that holds no two voices (frame models under two_voice_min_gain) is not kept for its utterances
    assert not _start_chosen(_split(PLANTED, 0.295, 0.05), mixed.owner[IDX], IDX, 0.367, 0.018, 1.93, 0.0, CFG,
                             GRID)


def _wrong_share(owner: np.ndarray, truth: dict) -> float:
    """The planted single-speaker frames given to the other voice (names matched as best they can be), no
    collars."""
    held = np.zeros((len(owner), 2), bool)
    for k, who in enumerate(("therapist", "client")):
        for a, b in truth["segments"][who]:
            held[round(a * 100):round(b * 100), k] = True
    single = held.sum(axis=1) == 1
    planted = np.argmax(held, axis=1)[single]
    found = owner[single]
    return min(float(np.mean((found != 2) & (found != p))) for p in (planted, 1 - planted))


def test_the_8k_pair_mixed_by_utterances_is_mended(corpus):
    """unseen_rooms' 8 kHz FEO072>M / MEE009 s472 (benchmarks/unseen_material.py): the first pass puts the head
    of FEO072>M's one repeated stretch alone and its tail with MEE009 (7 of 13 utterances cut, 0.367 apart, frame
    models' gain 1.93), the line start's split cuts one (0.295, 1.22) and is kept: the wrong share (no collars)
    falls from over 0.25 to under 0.2 (the rule off: main's 38.8 % in the benchmark, 0.25 s collars)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import unseen_material as U
    from diarization import place_turns
    tracks, truth = place_turns(U.voice_pieces("FEO072>M", corpus), U.voice_pieces("MEE009", corpus), 472)
    x, _ = U.with_condition(tracks, "8k", 472 + 10 * U.PAIRS.index(("FEO072>M", "MEE009")))
    on, off = (diarize(x[:, 0], config=cfg) for cfg in (CFG, DiarizeConfig(unmix_from=2.0)))
    assert on.n_voices == off.n_voices == 2
    assert _wrong_share(off.owner, truth) > 0.25
    assert _wrong_share(on.owner, truth) < 0.2
