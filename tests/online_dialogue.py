"""A short planted two-voice dialogue on one microphone and a separate
enrolment recording of the therapist, for the online attribution tests
(tests/test_online_attribution.py, tests/test_live_capture.py)."""
from __future__ import annotations

import numpy as np

from tests.dialogue import (CLIENT, CLIENT_LONG_SENTENCES, THERAPIST, build_dialogue, default_voice, mix_room,
                            scenario_turns, synthesize)


def mono_dialogue(seed: int = 3, n_exchanges: int = 6):
    """(mono mix (n,) float32 at 16 kHz, truth dict): default voices, a room
    (RT60 0.3 s), the client 4 dB quieter, noise at -55 dBFS."""
    d = build_dialogue(scenario_turns(n_exchanges, seed=seed), noise_db=None, level_db=(-22.0, -22.0), seed=seed)
    x, _ = mix_room(d, layout="mono", level_diff_db=(2.0, -2.0), rt60_s=0.3, noise_db=-55.0, seed=seed)
    return x[:, 0].astype(np.float32), d.truth.to_json_dict()


def enrolment(n_sentences: int = 3) -> np.ndarray:
    """The therapist's voice alone (sentences the dialogue does not use), -24 dBFS, light noise."""
    parts = []
    for text in CLIENT_LONG_SENTENCES[:n_sentences]:
        y = synthesize(text, voice=default_voice(THERAPIST))
        parts += [y / max(float(np.sqrt(np.mean(y ** 2))), 1e-9) * 10 ** (-24 / 20), np.zeros(8000, np.float32)]
    x = np.concatenate(parts).astype(np.float32)
    return x + (np.random.default_rng(0).standard_normal(len(x)) * 10 ** (-60 / 20)).astype(np.float32)


def frame_truth(truth: dict, n_frames: int, *, shift_s: float = 0.0, collar_s: float = 0.25):
    """(therapist alone, client alone) frame masks on the 10 ms grid, ``collar_s``
    left out around every planted boundary; truth times moved by ``shift_s``."""
    t = (np.arange(n_frames) + 0.5) * 0.01 - shift_s
    masks, keep = [], np.ones(n_frames, bool)
    for spk in (THERAPIST, CLIENT):
        m = np.zeros(n_frames, bool)
        for a, b in truth["segments"][spk]:
            m |= (t >= a) & (t < b)
            keep &= (np.abs(t - a) >= collar_s) & (np.abs(t - b) >= collar_s)
        masks.append(m)
    a, b = masks
    return a & ~b & keep, b & ~a & keep
