"""benchmarks/diarization_wrong.py: wrong-person runs found and classed on planted frame masks (fifty-eighth round)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from diarization_wrong import wrong_runs  # noqa: E402

N = 1200  # 12 s on the 10 ms grid
THERAPIST = [(0.5, 3.0), (6.0, 8.0), (10.0, 11.5)]
CLIENT = [(3.2, 5.8), (9.0, 9.9), (11.2, 12.0)]  # 11.2-11.5: an overlap with the therapist


def _mask(segs):
    t = (np.arange(N) + 0.5) * 0.01
    m = np.zeros(N, bool)
    for a, b in segs:
        m |= (t >= a) & (t < b)
    return m


def _single():
    t = (np.arange(N) + 0.5) * 0.01
    keep = np.ones(N, bool)
    for a, b in THERAPIST + CLIENT:
        keep &= (np.abs(t - a) >= 0.25) & (np.abs(t - b) >= 0.25)
    return (_mask(THERAPIST) ^ _mask(CLIENT)) & keep


def test_planted_runs_found_and_classed():
    th, cl = _mask(THERAPIST), _mask(CLIENT)
    level = np.where(th | cl, -20.0, -70.0)
    # 1: the client's start 3.45-3.80 heard as the therapist's alone (the therapist stopped 0.2 s before)
    th[345:380], cl[345:380] = True, False
    # 2: 1.50-1.80 of the therapist's utterance heard as both voices
    cl[150:180] = True
    # 3: the therapist's last 7.40-7.75 heard as the client's alone, quiet (-35 dB against -20 dB)
    th[740:775], cl[740:775] = False, True
    level[740:775] = -35.0
    # 4: the client's whole 9.0-9.9 utterance heard as the therapist's
    th[900:990], cl[900:990] = True, False
    # 5: the therapist's 10.6-10.9, 0.3 s before the overlap at 11.2, heard as both
    cl[1060:1090] = True
    single = _single()
    runs = wrong_runs((THERAPIST, CLIENT), (th, cl), single, level)
    got = [(r.speaker, r.start, r.end, r.both, r.kind) for r in runs]
    assert got == [
        (0, 150, 180, True, "inside"),
        (1, 345, 380, False, "start (after other)"),
        (0, 740, 775, False, "end (before pause), quiet"),
        (1, 925, 965, False, "whole utterance"),  # 9.0-9.9 less its 0.25 s collars
        (0, 1060, 1090, True, "overlap edge"),
    ]
    # the runs hold exactly the frames the benchmark scores as wrong-person speech
    A, B = _mask(THERAPIST), _mask(CLIENT)
    assert sum(r.end - r.start for r in runs) == int(np.sum(single & ((A & cl) | (B & th))))


def test_right_attribution_has_no_runs():
    th, cl = _mask(THERAPIST), _mask(CLIENT)
    assert wrong_runs((THERAPIST, CLIENT), (th, cl), _single(), np.full(N, -20.0)) == []


def test_runs_placed_by_stage_in_noise():
    """Sixtieth round: a run mostly outside the diarizer's speech is the speech detector's; a run whose clean
    level lies under the noise's is "under the noise"."""
    from diarization_wrong import WrongRun, run_where
    speech = np.zeros(N, bool)
    speech[100:300] = True
    clean = np.full(N, -30.0)
    clean[500:540] = -60.0  # the speaker's quiet tail, 10 dB under the noise
    noise = np.full(N, -50.0)
    inside = WrongRun(0, 150, 190, False, "inside")
    outside = WrongRun(0, 280, 340, False, "end (before other)")  # 20 of its 60 frames inside the mask
    buried = WrongRun(1, 500, 540, True, "end (before pause)")
    assert run_where(inside, speech, clean, noise) == "inside the mask"
    assert run_where(outside, speech, clean, noise) == "outside the mask"
    assert run_where(buried, speech, clean, noise) == "outside the mask, under the noise"


def test_noisy_cases_draw_as_the_noise_benchmark():
    """The trace adds exactly diarization_noise.py's noise: its generator per SNR, one draw per recording in order."""
    from diarization_noise import with_noise
    from diarization_wrong import noisy_cases
    rng = np.random.default_rng(3)
    cases = [(f"r{i}", (0.1 * rng.standard_normal((16000 * (2 + i), 2))).astype(np.float32), {"i": i})
             for i in range(3)]
    ref = np.random.default_rng(int(round(20.0 * 10)) + 7)  # as diarization_noise.main seeds it
    for (name, x, clean, truth), (_, x0, t0) in zip(noisy_cases(cases, 20.0, "pink"), cases):
        assert clean is x0 and truth is t0
        assert np.array_equal(x, with_noise(x0, 20.0, ref, "pink"))
    assert [c[2] for c in noisy_cases(cases, None, "pink")] == [None, None, None]


def test_noise_seed_zero_is_the_benchmarks_own_draw_and_others_differ():
    """``--noise-seed 0`` draws as every round before the sixty-ninth did (the generator seeded 10 * SNR + 7);
    seeds 1.. are other draws of the same noise at the same SNR, each repeatable, none equal to another."""
    from diarization_noise import noise_rng, with_noise
    from diarization_wrong import noisy_cases
    x = (0.1 * np.random.default_rng(5).standard_normal(16000 * 2)).astype(np.float32)
    old = with_noise(x, 25.0, np.random.default_rng(int(round(25.0 * 10)) + 7))
    assert np.array_equal(with_noise(x, 25.0, noise_rng(25.0)), old)
    draws = [with_noise(x, 25.0, noise_rng(25.0, s)) for s in (1, 2)]
    assert np.array_equal(draws[0], with_noise(x, 25.0, noise_rng(25.0, 1)))
    assert not np.array_equal(draws[0], old) and not np.array_equal(draws[0], draws[1])
    for d in [old] + draws:  # the same SNR whatever the draw: noise 25 dB under the (steady) signal
        snr_db = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((d - x).astype(np.float64) ** 2))
        assert abs(snr_db - 25.0) < 0.5, snr_db
    (_, y, _, _), = noisy_cases([("r", x, {})], 25.0, "pink", noise_seed=2)
    assert np.array_equal(y, draws[1])


class _Session:
    def __init__(self, frames):
        self.frames = {k: {"is_speech": v} for k, v in frames.items()}


def test_an_unsure_recordings_one_voice_is_scored_as_the_voice_it_is_given_as():
    """The forty-sixth round names an unsure split's one voice `unattributed`: the benchmark scored
    session.frames["therapist"] and stopped with a KeyError on the first such recording (amireal pink 20 dB,
    dev01 s102 mono). It is scored as the therapist, or as the client where that naming was wrong; a role with
    no channel heard nothing."""
    import diarization as B
    heard = np.arange(10) % 2 == 0
    s = _Session({"unattributed": heard})
    th, cl = B.heard_by_role(s, 10)
    assert np.array_equal(th, heard) and not cl.any()
    th, cl = B.heard_by_role(s, 10, unattributed_as=B.CLIENT)
    assert np.array_equal(cl, heard) and not th.any()
    two = _Session({"therapist": heard, "client": ~heard})
    th, cl = B.heard_by_role(two, 10, unattributed_as=B.CLIENT)
    assert np.array_equal(th, heard) and np.array_equal(cl, ~heard)


def test_a_condition_is_traced_on_the_draws_of_a_run_over_every_condition(monkeypatch):
    """``--condition phone`` traces the recordings ``diarization_calls.py`` scores: its draws follow each other
    across the conditions (the call mix, the service mix, the phone mix of one dialogue, then the next), so the
    trace draws every condition and keeps the one asked for (drawn alone, each recording would be another mix)."""
    import diarization_calls as calls
    from diarization_wrong import split_cases
    asked = []

    def fake_cases(split, conds, tmp):
        asked.append((split, conds))
        rng = np.random.default_rng(5)  # one shared generator, one draw per condition in order, as cases() has
        for d in ("espeak a", "AMI b"):
            for c in conds:
                yield f"{d} {c} mono", np.full((4, 1), rng.uniform(), np.float32), {"d": d}
    monkeypatch.setattr(calls, "cases", fake_cases)
    got = list(split_cases("held", None, "phone"))
    assert asked == [("held", calls.CONDITIONS)]
    assert [n for n, _, _ in got] == ["espeak a phone mono", "AMI b phone mono"]
    ref = np.random.default_rng(5).uniform(size=6)  # call, service, phone of a; then of b
    assert [float(x[0, 0]) for _, x, _ in got] == [np.float32(ref[2]), np.float32(ref[5])]
    assert [t["d"] for _, _, t in got] == ["espeak a", "AMI b"]


def test_a_condition_is_read_back_from_the_calls_cache(monkeypatch, tmp_path):
    """``diarization_calls.py --cache DIR`` keeps every condition's coded recordings (``DIR/<split>-calls``) and a
    later run, or a trace's ``--condition`` with the same folder, reads them back without coding again: the same
    names, audio and truth, in order."""
    import diarization_calls as calls
    from diarization_wrong import split_cases
    built = []

    def fake_cases(split, conds, tmp):
        built.append(split)
        rng = np.random.default_rng(7)
        for d in ("espeak a", "AMI b"):
            for c in conds:
                yield f"{d} {c} mono", rng.uniform(size=(4, 1)).astype(np.float32), {"d": d}
    monkeypatch.setattr(calls, "cases", fake_cases)
    first = list(calls.all_cases("held", str(tmp_path)))
    again = list(calls.all_cases("held", str(tmp_path)))
    traced = list(split_cases("held", str(tmp_path), "service"))
    assert built == ["held"] and (tmp_path / "held-calls" / "index.json").exists()
    assert [n for n, _, _ in again] == [n for n, _, _ in first] and len(first) == 2 * len(calls.CONDITIONS)
    assert all(np.array_equal(a, b) and s == t for (_, a, s), (_, b, t) in zip(first, again))
    assert [n for n, _, _ in traced] == ["espeak a service mono", "AMI b service mono"]
    assert np.array_equal(traced[1][1], first[4][1]) and traced[1][2] == {"d": "AMI b"}


def test_planted_path_gives_each_voice_the_frames_it_alone_holds():
    from diarization_wrong import planted_path
    # speech frames (the diarizer's mask): 0.40-3.40 s and 9.00-11.90 s on the 10 ms grid
    idx = np.concatenate([np.arange(40, 340), np.arange(900, 1190)])
    path = planted_path((THERAPIST, CLIENT), idx, N)
    at = dict(zip(idx.tolist(), path.tolist()))
    assert at[45] == 2  # 0.45 s: before the therapist's 0.5 s start, neither planted
    assert all(at[f] == 0 for f in range(50, 300))  # the therapist alone, 0.5-3.0 s
    assert at[310] == 2  # 3.10 s: the pause between the two
    assert all(at[f] == 1 for f in range(320, 340))  # the client alone from 3.2 s
    assert all(at[f] == 1 for f in range(900, 990))  # the client's 9.0-9.9 answer
    assert all(at[f] == 0 for f in range(1000, 1120))  # the therapist alone, 10.0-11.2 s
    assert all(at[f] == 2 for f in range(1120, 1150))  # 11.2-11.5 s: both planted, an overlap
    assert all(at[f] == 1 for f in range(1150, 1190))  # the client alone again to 11.9 s
    assert len(path) == len(idx) and path.dtype == np.int8


def test_within_voice_level_finds_the_planted_level_direction():
    """Two voices' window embeddings, each its own centre plus a planted direction times the window's level
    (0.05 per dB) plus small noise; windows of neither voice alone (-1) left out, however they lie."""
    from diarization_wrong import within_voice_level
    rng = np.random.default_rng(7)
    d = 64
    along = rng.standard_normal(d)
    along /= np.linalg.norm(along)
    centres = rng.standard_normal((2, d))
    voice = np.repeat([0, 1, -1], [30, 20, 10])
    level_db = rng.uniform(-28.0, -20.0, len(voice))
    emb = centres[np.maximum(voice, 0)] + 0.01 * rng.standard_normal((len(voice), d))
    emb += np.outer(0.05 * (level_db - level_db.mean()), along)
    emb[voice == -1] = 10 * rng.standard_normal((10, d))  # mixed windows: nothing to do with either voice's line
    got = within_voice_level(emb, level_db, voice)
    assert abs(float(got.direction @ along)) > 0.99
    assert abs(got.per_db - 0.05) < 0.005
    assert min(got.pc1_level_corr) > 0.95
    assert 0.6 < got.level_share < 0.75  # (0.05 x 2.3 dB)^2 = 0.013 of 0.013 + 64 x 0.01^2
    # the same voices with level drawn apart from the embeddings: level explains next to none of the spread
    flat = within_voice_level(emb, rng.permutation(level_db), voice)
    assert flat.level_share < 0.2
    # a voice with too few windows of its own gives none
    assert within_voice_level(emb[:5], level_db[:5], voice[:5]) is None
