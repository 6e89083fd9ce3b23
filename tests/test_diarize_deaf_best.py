"""The choice between starts where the best so far's frame models hear no second voice (``_gain_better``,
``start_deaf_gain_nats``; docs/speakers.md, eighty-fourth round): FEE083>M / MEE009 (two men a formant shift
apart) at fresh seeds, whose wrong split gives whole utterances of one man to the other."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from prosody.engine.diarize import DiarizeConfig, Diarization, _further_apart, _gain_better, _start_beats, diarize
from tests.test_diarize_unmix import _wrong_share  # the planted frames given to the other voice

CFG = DiarizeConfig()
OFF = DiarizeConfig(start_deaf_gain_nats=0.5)  # as start_gain_nats: the rule off


def _start(separation: float, separation_se: float, gain: float) -> Diarization:
    owner = np.repeat(np.arange(4) % 2, 100).astype(np.int8)
    act = np.stack([owner == 0, owner == 1], axis=1)
    return Diarization(n_voices=2, activity=act, owner=owner, centroids=np.zeros((2, 256), np.float32),
                       separation=separation, voice_share=(0.5, 0.5), separation_se=separation_se,
                       model_gain=gain)


def test_a_deaf_best_is_replaced_by_a_start_that_hears_two_within_the_noise():
    # the traced figures (level s476): the first pass 0.204 +- 0.044 apart, gain 0.07 (932 wrong frames); the
    # finer start 0.156 +- 0.029, gain 0.35 (29); the 1.0 s utterance start 0.181 +- 0.027, gain 0.47
    for sep, se, gain in ((0.156, 0.029, 0.35), (0.181, 0.027, 0.47)):
        alt = _start(sep, se, gain)
        assert _further_apart(alt, 0.204, 0.044, 0.07, CFG) and _start_beats(alt, 0.204, 0.044, 0.07, 0.0, CFG)
        assert not _further_apart(alt, 0.204, 0.044, 0.07, OFF)
        assert not _start_beats(alt, 0.204, 0.044, 0.07, 0.0, OFF)
    assert _gain_better(0.35, 0.07, CFG) and not _gain_better(0.35, 0.07, OFF)
    assert not _gain_better(0.58, 0.33, CFG)  # a best that hears two voices: 0.5 nats/frame better asked, as before
    assert _gain_better(0.84, 0.33, CFG)
    assert not _gain_better(0.02, -0.29, CFG)  # a start that hears no second voice either
    assert not _gain_better(0.2, 0.07, CFG)  # under 0.25 better: the gain's noise on alike voices
    assert not _gain_better(float("nan"), 0.07, CFG) and not _gain_better(0.35, float("nan"), CFG)
    # beyond the noise nearer: not kept, whatever the gain
    assert not _further_apart(_start(0.10, 0.01, 0.6), 0.204, 0.02, 0.07, CFG)


def _pair_recording(corpus: Path, monkeypatch, condition: str, seed: int):
    """FEE083>M / MEE009 at ``seed`` under ``condition``, as ``benchmarks/unseen_pair_seeds.py`` makes it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import unseen_material as U
    from diarization import place_turns
    monkeypatch.setitem(U.VOICES, "FEE083>M", ("trn06", "FEE083", 0.85, 110.0, 1.0))
    tracks, truth = place_turns(U.voice_pieces("FEE083>M", corpus), U.voice_pieces("MEE009", corpus), seed)
    x, _ = U.with_condition(tracks, condition, seed + 10)  # the pair's index 1 in the pair seeds' list
    return x[:, 0], truth


def test_the_pair_given_whole_utterances_by_a_deaf_first_pass_is_mended(corpus, monkeypatch):
    """Level s476: the first pass (gain 0.07, heard as two voices by its separation alone) gives three of one
    man's utterances wholly, and others in part, to the other; the finer start, within the separation's noise
    and with frame models that hear two, is kept: wrong share (no collars) 0.29 with the rule off."""
    x, truth = _pair_recording(corpus, monkeypatch, "level", 476)
    on, off = (diarize(x, config=cfg) for cfg in (CFG, OFF))
    assert on.n_voices == off.n_voices == 2
    assert _wrong_share(off.owner, truth) > 0.2
    assert _wrong_share(on.owner, truth) < 0.1
