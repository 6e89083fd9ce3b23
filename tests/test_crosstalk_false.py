"""benchmarks/crosstalk_false.py: false backchannels on separate channels with cross-talk classed by what was planted
there and what the leak did (sixty-second round)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from crosstalk_false import excerpt_key, own_to_leak_db, stretches, xtalk_class  # noqa: E402

from tests.test_backchannel_false import TRUTH  # noqa: E402


def _e(who: str, a: float, b: float) -> dict:
    return {"kind": "backchannel", "speaker": who, "start_s": a, "end_s": b}


def test_each_class_on_planted_truth():
    # the client's turn 7.35-8.8 s: heard whole without leak, 0.85 s of it, or 0.6 s
    assert xtalk_class(_e("client", 8.2, 8.7), TRUTH, False, [(7.35, 8.8)]) == "turn cut by the cross-talk"
    assert xtalk_class(_e("client", 8.2, 8.7), TRUTH, False, [(7.9, 8.75)]) == "turn near the limit"
    assert xtalk_class(_e("client", 8.2, 8.7), TRUTH, False, [(8.1, 8.7)]) == "turn heard short without leak too"
    # found on the no-leak mix too: not the leak's, whatever was planted
    assert xtalk_class(_e("client", 8.2, 8.7), TRUTH, True, [(8.1, 8.7)]) == "also without leak"
    assert xtalk_class(_e("client", 4.2, 4.6), TRUTH, False, []) == "bid cut by the cross-talk"
    assert xtalk_class(_e("client", 2.6, 2.9), TRUTH, False, []) == "true backchannel moved by leak"
    # none of the client's own speech planted: the therapist's voice through the path
    for a, b in ((10.0, 10.3), (9.1, 9.3), (11.75, 11.95), (7.05, 7.25)):
        assert xtalk_class(_e("client", a, b), TRUTH, False, []) == "leak read as own speech"
    assert xtalk_class(_e("therapist", 13.5, 13.8), TRUTH, False, []) == "leak read as own speech"


def test_stretches_and_excerpt_key():
    m = np.zeros(300, bool)
    m[10:87] = True
    m[120:121] = True
    m[290:] = True
    assert np.allclose(stretches(m), [(0.10, 0.87), (1.20, 1.21), (2.90, 3.00)])
    # redraws of one AMI stretch start a few frames apart: one excerpt
    assert excerpt_key("trn06:FEE083@7.58") == excerpt_key("trn06:FEE083@7.61") == "trn06:FEE083@7.6"


def test_own_to_leak_reads_the_planted_ratio():
    """Own speech 2 s of a harmonic voice, the other's leak 14 dB under it over the second half, the mix scaled by
    0.6 against the no-leak mix (the benchmark's peak normalisation): the ratio read there is the planted 14 dB,
    and in the first half (no leak) far over it."""
    sr = 16000
    t = np.arange(2 * sr) / sr
    rng = np.random.default_rng(3)
    own = 0.1 * (np.sin(2 * np.pi * 140 * t) + 0.5 * np.sin(2 * np.pi * 280 * t))
    noise = 1e-4 * rng.standard_normal(len(t))
    leak = rng.standard_normal(len(t))
    leak[: sr] = 0.0
    leak *= np.sqrt(np.mean(own ** 2) / np.mean(leak[sr:] ** 2)) * 10 ** (-14 / 20)
    no_leak = (own + noise).astype(np.float32)
    mix = (0.6 * (own + noise + leak)).astype(np.float32)
    other = np.zeros(len(t), bool)
    other[sr:] = True
    assert own_to_leak_db(mix, no_leak, other, 1.2, 1.9, sr) == pytest.approx(14.0, abs=0.5)
    assert own_to_leak_db(mix, no_leak, other, 0.2, 0.9, sr) > 40.0


def test_ami_excerpt_planted_as_a_turn_is_heard_under_the_limit(monkeypatch):
    """The class "also without leak" was mostly one AMI stretch, trn06 FEE083 at 7.58 s: the 30 dB trim alone (the
    material before ``crosstalk.AUDIBLE_DB``) plants it as a 1.25 s turn (seed 1436, therapist 9.54-10.79 s), but
    its frames 10 dB or more over the channel's noise last under the 0.8 s backchannel limit (its first 0.2 s and
    last 0.25 s lie at the noise); with ``AUDIBLE_DB`` it is planted no more."""
    from _common import corpus_dir
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("PROSODY_CORPUS not set")
    import crosstalk as ct
    d_now = ct.make(1436, corpus)[0]
    assert not any(u.text.startswith("trn06:FEE083@7.5") for u in d_now.utterances)
    monkeypatch.setattr(ct, "AUDIBLE_DB", None)
    d, quiet, _, clean = ct.make(1436, corpus)
    u = next(u for u in d.utterances if u.text.startswith("trn06:FEE083@7.5") and u.role == "turn")
    assert u.speaker == "therapist" and quiet == 0 and u.duration_s >= 1.2
    x = clean.audio[:, 0].astype(np.float64)
    n = len(x) // 160
    lv = 10 * np.log10(np.mean(x[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-20)
    floor = np.percentile(lv, 10)
    a, b = int(u.start_s * 100), int(u.end_s * 100)
    loud = np.flatnonzero(lv[a:b] > floor + 10.0)
    assert 0.5 < (loud[-1] - loud[0] + 1) / 100 < 0.8
