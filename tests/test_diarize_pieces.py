"""One voice cut in pieces stays one voice (issue 9: single-voice recordings reported as one
voice), without losing two voices: planted paths for the test itself, a real AMI speaker alone,
an espeak voice that the first pass cuts in two."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from prosody.engine.diarize import DiarizeConfig, _one_voice_in_pieces, _turn_like, diarize
from tests.dialogue import CLIENT_SENTENCES, THERAPIST_SENTENCES, synthesize


def _planted(switch_inside: bool, pitch_gap_st: float):
    """Six 3 s utterances (0.4 s pauses) on the 10 ms grid: voice labels that change every
    0.6 s inside each utterance (one voice cut in pieces) or once per utterance (turns at
    pauses); pitch 10 st +- 0.5 for voice 0, ``pitch_gap_st`` higher for voice 1."""
    idx = np.concatenate([np.arange(300) + 340 * u for u in range(6)])
    if switch_inside:
        path = ((np.arange(1800) % 300) // 60 % 2).astype(np.int8)
    else:
        path = (np.arange(1800) // 300 % 2).astype(np.int8)
    rng = np.random.default_rng(0)
    f0 = 10.0 + 0.5 * rng.standard_normal(1800) + pitch_gap_st * path
    f0[rng.uniform(size=1800) < 0.3] = np.nan  # unvoiced frames
    return path, idx, f0


def test_pieces_of_one_voice_planted():
    cfg = DiarizeConfig()
    path, idx, f0 = _planted(True, 0.0)
    assert _one_voice_in_pieces(path, idx, f0, 0.2, cfg)
    # the same pieces, but the "voices" 4 st apart in pitch: two people (an overlapping dialogue)
    assert not _one_voice_in_pieces(path, idx, f0 + 4.0 * path, 0.2, cfg)
    # turns only at pauses, one pitch: no changes inside speech, the test does not speak
    path2, idx2, f02 = _planted(False, 0.0)
    assert not _one_voice_in_pieces(path2, idx2, f02, 0.2, cfg)
    # quick turns (gaps the speech mask bridges): changes inside speech, but whole 2 s utterances
    turns = (np.arange(1800) // 200 % 2).astype(np.int8)
    assert not _one_voice_in_pieces(turns, np.arange(1800), f0, 0.2, cfg)
    # voices lying far apart for the encoder, or the test turned off
    assert not _one_voice_in_pieces(path, idx, f0, 0.5, cfg)
    assert not _one_voice_in_pieces(path, idx, f0, 0.2, DiarizeConfig(pieces_min_changes=0))
    # a 2-run (both voices) between the pieces is not a change inside speech
    both = path.copy()
    starts = np.flatnonzero(np.diff(path) != 0) + 1
    for s in starts:
        both[s - 3:s + 3] = 2
    assert not _one_voice_in_pieces(both, idx, f0, 0.2, cfg)


def test_alike_voices_turning_at_pauses_are_not_pieces():
    """Two people 0-1 st apart in pitch who take turns at the pauses (one voice per 3 s
    utterance, alternating: 10 changes at pauses), their frames confused inside speech: a 0.3 s
    flip to the other voice inside five of the eleven utterances gives 10 changes inside speech
    next to a short piece, twice the test's minimum, but half of all changes fall at pauses: two
    voices, unless the pause share is ignored (``pieces_max_pause_share=1``). A flip in every
    utterance (22 inside, 10 at pauses: 31 %) reads as one voice in pieces."""
    idx = np.concatenate([np.arange(300) + 340 * u for u in range(11)])
    path = (np.arange(3300) // 300 % 2).astype(np.int8)
    f0 = 10.0 + 0.5 * np.random.default_rng(1).standard_normal(3300) + 0.8 * path
    some = path.copy()
    for u in (1, 3, 5, 7, 9):
        some[300 * u + 120:300 * u + 150] ^= 1
    cfg = DiarizeConfig()
    assert not _one_voice_in_pieces(some, idx, f0, 0.2, cfg)
    assert _one_voice_in_pieces(some, idx, f0, 0.2, DiarizeConfig(pieces_max_pause_share=1.0))
    every = path.copy()
    for u in range(11):
        every[300 * u + 120:300 * u + 150] ^= 1
    assert _one_voice_in_pieces(every, idx, f0, 0.2, cfg)


def test_espeak_voice_cut_in_pieces_is_one_voice(needs_espeak):
    """Ten sentences of one espeak voice with 0.25 s pauses: the first pass cuts it into two
    "voices" 0.13 apart that switch inside continuous speech (two without the test)."""
    parts = []
    for t in (THERAPIST_SENTENCES + CLIENT_SENTENCES)[:10]:
        parts += [np.asarray(synthesize(t, voice="en-gb-x-gbclan+michel", pitch=38, speed_wpm=138)),
                  np.zeros(4000, np.float32)]
    y = np.concatenate(parts)
    y = y / np.sqrt(np.mean(y ** 2)) * 10 ** (-25 / 20)
    y = y + np.random.default_rng(0).standard_normal(len(y)).astype(np.float32) * 10 ** (-60 / 20)
    assert diarize(y).n_voices == 1


def test_real_single_voice_is_one_voice(corpus):
    """AMI trn05: speaker FEE078's single-speaker stretches (RTTM, >= 1 s, 0.1 s trimmed each
    side) joined with 0.6 s pauses (~21 s of one real voice): one voice."""
    x, sr = sf.read(corpus / "pyannote-audio" / "trn05.wav", dtype="float32")
    segs = []
    for line in (corpus / "pyannote-audio" / "debug.train.rttm").read_text().splitlines():
        p = line.split()
        if p[1] == "trn05":
            segs.append((p[7], float(p[3]), float(p[3]) + float(p[4])))
    parts = []
    for spk, a, b in segs:
        if spk != "FEE078":
            continue
        cuts = [(a, b)]
        for s2, c, e in segs:
            if s2 != spk:
                cuts = [q for (u, v) in cuts for q in ((u, min(v, c)), (max(u, e), v)) if q[1] - q[0] > 0]
        for u, v in cuts:
            if v - u >= 1.0:
                parts += [x[int((u + 0.1) * sr):int((v - 0.1) * sr)], np.zeros(int(0.6 * sr), np.float32)]
    y = np.concatenate(parts)
    assert len(y) / sr > 15
    assert diarize(y).n_voices == 1


def test_mixed_first_pass_of_two_real_voices_restarts(corpus):
    """AMI dev00's two men (MEE009, MEE012) placed as turns by benchmarks/diarization.py (split
    amireal, seed 102, mono): the first pass mixes them (each turn's end given to the other voice,
    changes inside speech), so its path looks like one voice in pieces, though the frame models
    hear two (held-out gain 0.94 nats/frame); the finer restart from there finds the turns. (Its
    voices lie 0.228 apart and change mostly at the turns: by default now that first pass is not
    judged one voice in pieces at all (``pieces_keep_apart``); the restart's arm is checked against
    the former verdict, that rule off.)"""
    import sys
    from pathlib import Path

    from tests.test_diarize import CLIENT, THERAPIST, _collar, _mask

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases

    x, truth = next((x, t) for name, x, t in ami_cases("amireal", False) if name == "AMI dev00 s102 mono")
    ta, tb = truth["segments"][THERAPIST], truth["segments"][CLIENT]
    wrong, voices = {}, {}
    for on in (False, True):  # True: the default; off, the first pass's verdict stands (not kept apart)
        d = diarize(x, config=DiarizeConfig() if on else DiarizeConfig(pieces_restart=False, pieces_keep_apart=1.0))
        n = d.n_frames
        a, b = _mask(ta, n), _mask(tb, n)
        single = (a ^ b) & _collar([ta, tb], n)
        got = [np.sum(single & (a & (d.owner == k) | b & (d.owner == 1 - k))) for k in (0, 1)]
        wrong[on], voices[on] = min(got) / single.sum(), d.n_voices  # the better naming of the two voices
    assert voices == {False: 1, True: 2}, voices
    assert wrong[False] > 0.3 and wrong[True] < 0.02, wrong


@pytest.mark.parametrize("name,rounded", [("AMI dev00 s114 mono", True), ("AMI dev00 s110 mono", False)])
def test_a_restart_after_one_voice_in_pieces_is_judged_on_its_own(corpus, name, rounded):
    """AMI dev00's two men placed as turns by benchmarks/diarization.py (split amireal2, mono). Seed
    114 rounded to 16-bit samples, as a 16-bit file holds them: the first pass finds two voices 0.234
    apart with frame models that hear two (0.90 nats/frame), but its path looks like one voice in
    pieces; the restarts from whole utterances find the turns (0.229-0.231 apart, 0.89 nats/frame,
    not in pieces). Seed 110 as the float32 mix: the finer restart finds them. Both restarts were
    asked to lie further apart than the first pass, whose split was just judged no split of two
    voices, and each stayed one voice (45.6 / 45.8 % of the speech given to the wrong person); a
    restart is now kept where its voices lie further apart than two voices must
    (``two_voice_min_distance``). (Both first passes lie more than ``pieces_keep_apart`` apart and
    change mostly at their turns, so by default they are no longer judged one voice in pieces: the
    restarts' arm is checked with that rule off. By default both are two voices, 2.6 % (s114
    rounded) and 5.0 % (s110) wrong: the first pass's path, where the restart after "pieces" found
    the turns more exactly; docs/speakers.md, thirty-second round.)"""
    import sys
    from pathlib import Path

    from tests.test_diarize import CLIENT, THERAPIST, _collar, _mask

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases, as_16_bit

    x, truth = next((x, t) for nm, x, t in ami_cases("amireal2", False) if nm == name)
    ta, tb = truth["segments"][THERAPIST], truth["segments"][CLIENT]
    y = as_16_bit(x) if rounded else x
    for cfg, most in ((DiarizeConfig(pieces_keep_apart=1.0), 0.02), (DiarizeConfig(), 0.06)):
        d = diarize(y, config=cfg)
        n = d.n_frames
        a, b = _mask(ta, n), _mask(tb, n)
        single = (a ^ b) & _collar([ta, tb], n)
        got = [np.sum(single & (a & (d.owner == k) | b & (d.owner == 1 - k))) for k in (0, 1)]
        assert d.n_voices == 2 and min(got) / single.sum() < most, (cfg, d.n_voices, min(got) / single.sum())


def test_turn_like_planted():
    """``_turn_like``: twelve 4 s turns in continuous speech (the speech mask bridges the gaps),
    three of them with a 0.3 s flip to the other voice inside (a first pass of two alike voices:
    6 of 17 changes inside speech next to a short run) read as turns; one voice cut every 0.6 s
    (every change inside speech next to a short run) does not; nor do turns with a flip inside
    every one (24 of 35 changes: more than ``pieces_keep_max_inside``, 0.6)."""
    cfg = DiarizeConfig()
    idx = np.arange(4800)
    turns = (idx // 400 % 2).astype(np.int8)
    some = turns.copy()
    for u in (2, 6, 9):
        some[400 * u + 180:400 * u + 210] ^= 1
    assert _turn_like(some, idx, cfg)
    every = turns.copy()
    for u in range(12):
        every[400 * u + 180:400 * u + 210] ^= 1
    assert not _turn_like(every, idx, cfg)
    path, idx6, _ = _planted(True, 0.0)
    assert not _turn_like(path, idx6, cfg)
    # overlap runs (2) are left out: a change through one counts once
    both = some.copy()
    both[400 * 4 - 3:400 * 4 + 3] = 2
    assert _turn_like(both, idx, cfg)


@pytest.mark.parametrize("split,name", [("amireal5", "AMI dev01 s143 mono"), ("amireal4", "AMI dev01 s131 mono")])
def test_a_first_pass_clearly_apart_keeps_its_two_voices(corpus, split, name):
    """AMI dev01's two men placed as turns by benchmarks/diarization.py, mono, as the float32 mixes: the first pass finds the turns (4-6 % of the speech given to the
    wrong person) with its voices 0.25-0.27 apart, but its path, each turn's end given to the
    other voice, looks like one voice in pieces, and no restart finds a split further apart than two
    voices must lie: the recording was one voice (42 % wrong). A first pass further apart than
    ``pieces_keep_apart`` whose changes fall mostly at its turns is no longer judged one voice in
    pieces."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases

    x, truth = next((x, t) for nm, x, t in ami_cases(split, False) if nm == name)
    voices, wrong = _voices_and_wrong(x, truth, (DiarizeConfig(pieces_keep_apart=1.0), DiarizeConfig()))
    assert voices == [1, 2], voices
    assert wrong[0] > 0.3 and wrong[1] < 0.03, wrong


def _voices_and_wrong(x, truth, configs) -> tuple[list, list]:
    """For each config: (voices found, the share of the single-speaker speech (0.25 s collars) given to the
    wrong person under the better naming) of ``diarize(x)`` against ``truth`` (benchmarks/diarization.py's)."""
    from tests.test_diarize import CLIENT, THERAPIST, _collar, _mask

    ta, tb = truth["segments"][THERAPIST], truth["segments"][CLIENT]
    voices, wrong = [], []
    for cfg in configs:
        d = diarize(x, config=cfg)
        n = d.n_frames
        a, b = _mask(ta, n), _mask(tb, n)
        single = (a ^ b) & _collar([ta, tb], n)
        got = [np.sum(single & (a & (d.owner == k) | b & (d.owner == 1 - k))) for k in (0, 1)]
        voices.append(d.n_voices)
        wrong.append(min(got) / single.sum())
    return voices, wrong


def test_a_first_pass_its_frame_models_call_one_voice_is_not_kept(needs_espeak):
    """benchmarks/diarization_single.py's fresh6 case 12: espeak-ng's en-029+iven4 at pitch 65
    holding ~90 % of 26 s, the same variant at pitch 37 one short answer, mono through a room
    (RT60 0.5 s). Its first pass cuts through the dominant voice: 0.221 apart (over
    ``pieces_keep_apart``), 8 of 15 changes inside speech (under ``pieces_keep_max_inside``),
    and its frame models read -1.07 nats/frame (one model for all the speech predicts held-out
    frames better than one per voice). Kept as two voices it gave 27 % of the speech to the wrong
    person; below ``pieces_keep_min_gain`` it is judged one voice in pieces and only the short
    answer is lost (6.6 %)."""
    import sys
    from pathlib import Path

    from tests.test_diarize import _collar, _mask

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization_single import two_cases

    name, x, segs = next(two_cases("fresh6", only=frozenset({12})))
    assert "dominant en-029+iven4 p65/en-029+iven4 p37" in name, name
    wrong, voices = {}, {}
    for floor in (-np.inf, DiarizeConfig().pieces_keep_min_gain):
        d = diarize(x, config=DiarizeConfig(pieces_keep_min_gain=floor))
        n = d.n_frames
        a, b = _mask(segs[0], n), _mask(segs[1], n)
        single = (a ^ b) & _collar(segs, n)
        got = [np.sum(single & (a & d.activity[:, 1 - k] | b & d.activity[:, k])) for k in (0, 1)]
        wrong[floor], voices[floor] = min(got) / single.sum(), d.n_voices
    assert list(voices.values()) == [2, 1], voices
    assert list(wrong.values())[0] > 0.2 and list(wrong.values())[1] < 0.1, wrong


def _amireal_in_noise(name: str, snr_db: float, noise_seed: int):
    """The amireal recording ``name`` with pink noise ``snr_db`` under its speech, drawn as
    ``benchmarks/diarization_noise.py --split amireal --snr SNR --noise-seed N`` draws it (one generator, every
    recording in order): (audio, truth)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import two_voice_cases
    from diarization_noise import noise_rng, with_noise

    rng = noise_rng(snr_db, noise_seed)
    for nm, x, t in two_voice_cases("amireal", False):
        noisy = with_noise(x, snr_db, rng)  # every recording draws, in order, as the benchmark's do
        if nm == name:
            return noisy, t
    raise AssertionError(f"{name} is not in the amireal split")


def test_a_first_pass_just_under_the_old_bar_in_room_noise_keeps_its_two_voices(corpus):
    """AMI dev00's two men (amireal, seed 104, shared: both microphones hear both) with pink noise 25 dB under
    the speech, drawn as ``benchmarks/diarization_noise.py --split amireal --snr 25`` draws it (one generator,
    every recording in order). Its first pass finds the turns and changes mostly at them, its frame models
    hear two voices (+0.41 nats/frame), but its voices lie 0.2196 apart: under the old bar of 0.22, so the
    pieces test called it one voice and no restart ran (the frame models' gain under 0.5): 45 % of the speech
    to the wrong person, 1.5 of the split's 3.27 points at 25 dB. Kept from 0.21 apart (the real pairs'
    first passes 0.211-0.266 apart, one voice's 0.052-0.173 or cut inside speech: docs/speakers.md,
    thirty-second and sixty-eighth rounds), it is two voices, 1.1 % wrong."""
    y, truth = _amireal_in_noise("AMI dev00 s104 shared", 25.0, 0)
    assert y.ndim == 2
    old = DiarizeConfig(pieces_keep_apart=0.22, pieces_keep_se_z=0.0)  # the fixed bar of before the sixty-ninth round
    voices, wrong = _voices_and_wrong(y, truth, (old, DiarizeConfig()))  # old, now
    assert voices == [1, 2], voices
    assert wrong[0] > 0.3 and wrong[1] < 0.03, wrong


def test_a_first_pass_under_the_keep_bar_by_less_than_its_own_error_keeps_its_two_voices(corpus):
    """AMI dev00's two men (amireal, seed 101, mono) with pink noise 20 dB under the speech, the benchmark's
    other noise draw 1 (``benchmarks/diarization_noise.py --split amireal --snr 20 --noise-seed 1``: one
    generator, every recording in order). Its first pass finds the turns and changes mostly at them, but the
    noise pulls its voices to 0.197 apart, standard error 0.031 (``separation_se``): under the fixed keep bar
    of 0.21, so the pieces test called it one voice and no restart ran (frame models +0.41 nats/frame, under
    0.5): 45 % of the speech to the wrong person. Read against its own error (``pieces_keep_se_z`` 1: within
    one standard error of 0.21) it is kept: two voices, under 3 % wrong (docs/speakers.md, sixty-ninth round).
    Read on the mel power as heard (``noise_floor_subtract=0``): with the pink noise's floor taken off, the first
    pass lies apart either way (eighty-fourth round)."""
    y, truth = _amireal_in_noise("AMI dev00 s101 mono", 20.0, 1)
    assert y.shape[1] == 1  # mono: one channel
    old, now = DiarizeConfig(pieces_keep_se_z=0.0, noise_floor_subtract=0.0), DiarizeConfig(noise_floor_subtract=0.0)
    voices, wrong = _voices_and_wrong(y, truth, (old, now))
    assert voices == [1, 2], voices
    assert wrong[0] > 0.3 and wrong[1] < 0.03, wrong


def test_a_kept_first_pass_is_not_replaced_by_the_minority_retry(corpus):
    """AMI dev01's two men (amireal, seed 100, mono) with pink noise 25 dB under the speech, the benchmark's
    other noise draw 1 (``benchmarks/diarization_noise.py --split amireal --snr 25 --noise-seed 1``). Its first
    pass finds the two men (0.226 apart, turn-like: kept by the keep bar), but its frame models read +0.26
    nats/frame, under ``minority_retry_below_gain``: the retry from the most atypical utterances ran, seeded by
    four short utterances of the therapist alone (2.7 s), and its split (those utterances against everything
    else, 0.290 apart, frame models +0.11) replaced the first pass: 41 % of the speech to the wrong person. A
    kept first pass is replaced only by a split whose frame models hear the voices at least as well
    (``pieces_keep_minority_gain``): the men stay apart (docs/speakers.md, seventy-first round). Read on the mel
    power as heard (``noise_floor_subtract=0``): with the pink noise's floor taken off, no retry replaces the first
    pass either way (eighty-fourth round)."""
    y, truth = _amireal_in_noise("AMI dev01 s100 mono", 25.0, 1)
    heard = DiarizeConfig(noise_floor_subtract=0.0)
    old, now = replace(heard, pieces_keep_minority_gain=False), heard
    voices, wrong = _voices_and_wrong(y, truth, (old, now))
    assert voices == [2, 2], voices
    assert wrong[0] > 0.3 and wrong[1] < 0.03, wrong
