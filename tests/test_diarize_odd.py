"""The retry from the one most atypical utterance (diarize._odd_utterance_retry, issue 9 eleventh
round): a ~1 s answer of a second voice in a monologue, where the encoder hardly tells the two
voices apart, is found; the monologue alone stays one voice. Planted truth from tests/dialogue.py."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from prosody.engine.diarize import DiarizeConfig, _minority_seed, _utterance_z, diarize
from tests.dialogue import CLIENT, Utterance, build_dialogue, mix_room, scenario_monologue
from tests.test_diarize import _right_share


def test_utterance_z_ranks_a_weakly_odd_utterance_lowest():
    """Planted: twenty 1 s utterances of one 'voice' (frame features ~ N(0, 1)) with 0.3 s pauses,
    the seventh shifted by 0.35 in every dimension: too little for the minority seed (z > -4), but
    it is the utterance with the lowest z, between -4 and -2 (the odd retry's gate is -2)."""
    rng = np.random.default_rng(3)
    feats = rng.standard_normal((2000, 20))
    idx = np.concatenate([np.arange(100) + 130 * u for u in range(20)])
    feats[600:700] += 0.35
    cfg = DiarizeConfig()
    ua, ub, z = _utterance_z(feats, idx, cfg)
    assert len(ua) == 20 and int(np.argmin(z)) == 6
    assert -4.0 < z[6] <= -2.0 < np.sort(z)[1]
    assert _minority_seed(feats, idx, cfg) is None


def _dominant(seed: int, voices: tuple[tuple[str, int], tuple[str, int]], *, answer: bool):
    mono = scenario_monologue(8, seed=seed)
    (tv, tp), (cv, cp) = voices
    utts = [replace(u, voice=tv, pitch=tp) for u in mono[:4]]
    if answer:
        utts.append(Utterance(speaker=CLIENT, text="It was a hard week.", start_s=round(mono[4].start_s + 0.3, 3),
                              voice=cv, pitch=cp))
    shift = 2.6 if answer else 0.0
    utts += [replace(u, voice=tv, pitch=tp, start_s=round(u.start_s + shift, 3)) for u in mono[4:]]
    dlg = build_dialogue(tuple(utts), noise_db=None, level_db=(-22.0, -22.0), seed=seed)
    x, _ = mix_room(dlg, layout="mono", rt60_s=0.3, noise_db=-55.0, seed=seed)
    return dlg, x[:, 0]


def test_short_answer_of_a_near_alike_voice_is_found(needs_espeak):
    """A monologue (en-029+max, pitch base 40) with one ~1 s answer (en-gb-x-rp+Gene, pitch base 60)
    the encoder hardly tells apart: without the odd retry one voice; with it two, the answer
    given to its voice and the monologue kept whole."""
    voices = (("en-029+max", 40), ("en-gb-x-rp+Gene", 60))
    dlg, x = _dominant(72, voices, answer=True)
    assert diarize(x, config=DiarizeConfig(odd_min_z=0.0)).n_voices == 1
    d = diarize(x)
    assert d.n_voices == 2
    assert _right_share(d.activity, dlg.truth) >= 0.97
    _, alone = _dominant(72, voices, answer=False)  # the monologue alone stays one voice
    assert diarize(alone).n_voices == 1
