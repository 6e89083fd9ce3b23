"""diarize._flip_overlap: a short run of one voice straight out of the other voice's speech that ends in a
pause (a short answer started in overlap) carries both voices over the other voice's last frames before
it; a backchannel inside the other voice's speech, an answer after a pause and a long turn are left
(planted labels), and the answer is then a turn, not a backchannel (the turn tracker on the channels)."""
from __future__ import annotations

import numpy as np
import pytest

from prosody.engine.diarize import Diarization, DiarizeConfig, _flip_overlap
from prosody.errors import ConfigError
from prosody.timebase import GRID


def _diarization(owner: np.ndarray, speech: np.ndarray) -> Diarization:
    act = np.stack([speech & (owner != 1), speech & (owner != 0)], axis=1)
    return Diarization(n_voices=2, activity=act, owner=owner.astype(np.int8), centroids=np.zeros((2, 256), np.float32),
                       separation=0.3, voice_share=(0.5, 0.5))


def _changes(activity: np.ndarray, *, smoothed: bool = False, vad=None) -> tuple[int, list[str]]:
    """The turn tracker on the two voices' channels of ``activity`` (n, 2): changes of speaker and event
    kinds; ``smoothed``: each channel as the analysis VAD's smoother hears it (its 0.6 s merge; ``vad``: that
    of this ``VadConfig``)."""
    from prosody.config import AnalysisConfig
    from prosody.engine.turns import TurnTracker
    from prosody.engine.vad import SpeechSmoother
    from prosody.types import Segment
    segs = []
    for k, name in ((0, "therapist"), (1, "client")):
        heard = activity[:, k]
        if smoothed:
            sm = SpeechSmoother(vad or AnalysisConfig().vad)
            heard = np.concatenate([sm.push(heard.copy()), sm.flush()])
        x = np.concatenate([[0], heard.astype(np.int8), [0]])
        for a, b in zip(np.flatnonzero(np.diff(x) > 0), np.flatnonzero(np.diff(x) < 0)):
            segs.append(Segment(speaker=name, start_s=a * 0.01, end_s=b * 0.01))
    out = TurnTracker(("therapist", "client")).flush(sorted(segs, key=lambda s: s.start_s))
    return len(out.transitions), [ev.kind for ev in out.events]


def _planted():
    """10 ms frames. Voice 0 speaks 0-299; A 300-369 voice 1 straight after (0.7 s) then a pause 370-419
    (owner split at its middle: 370-394 voice 1, 395-419 voice 0); voice 0 420-699 with B 500-539 voice 1
    inside it (a backchannel over voice 0: voice 0 goes straight on); a pause 700-749; C 750-819 voice 1
    after the pause, then a pause 820-869; voice 0 870-1099, D 1100-1239 voice 1 (1.4 s) straight
    after, then a pause 1240-1299; voice 0 1300-1449, E 1450-1479 voice 1 (0.3 s: the end of voice 0's
    utterance given to voice 1) straight after, then a pause 1480-1519."""
    n = 1520
    speech = np.ones(n, bool)
    owner = np.zeros(n, np.int8)
    for a, b in ((370, 420), (700, 750), (820, 870), (1240, 1300), (1480, 1520)):
        speech[a:b] = False
    for a, b in ((300, 395), (500, 540), (725, 845), (1100, 1270), (1450, 1520)):
        owner[a:b] = 1
    return owner, speech


def test_short_answer_straight_after_the_other_voice_gets_both_over_its_start():
    owner, speech = _planted()
    d = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    assert np.all(d.owner[300 - e:300] == 2)  # A: voice 0's last 0.15 s carry both
    assert np.all(d.owner[:300 - e] == 0) and np.all(d.owner[300:395] == 1)
    assert np.all(d.owner[420:700] == owner[420:700])  # B: inside voice 0's speech, left
    assert np.all(d.owner[700:870] == owner[700:870])  # C: after a pause, left
    assert np.all(d.owner[870:1300] == owner[870:1300])  # D: 1.4 s, over flip_overlap_max_run_s, left
    assert np.all(d.owner[1300:] == owner[1300:])  # E: 0.3 s, under flip_overlap_min_run_s, left
    assert np.array_equal(d.activity, np.stack([speech & (d.owner != 1), speech & (d.owner != 0)], axis=1))
    assert d.voice_share[1] == pytest.approx(d.activity[:, 1].sum() / speech.sum())


def test_off_switch_and_config_check():
    owner, speech = _planted()
    d0 = _diarization(owner, speech)
    assert _flip_overlap(d0, DiarizeConfig(flip_overlap_s=0.0), GRID, {"speech": speech}) is d0
    with pytest.raises(ConfigError):
        DiarizeConfig(flip_overlap_s=-0.1).validate()
    with pytest.raises(ConfigError):
        DiarizeConfig(flip_overlap_min_run_s=1.2, flip_overlap_max_run_s=1.0).validate()
    e = _flip_overlap(d0, DiarizeConfig(flip_overlap_min_run_s=0.0), GRID, {"speech": speech})
    assert np.all(e.owner[1450 - GRID.s_to_frames(0.15):1450] == 2)  # E taken without the lower limit


def test_answer_is_a_turn_with_its_start_and_a_backchannel_without():
    """The turn tracker on the channels of the planted labels: answer A (0.7 s of its own speech, 0.85 s
    with its overlapped start) is a backchannel before and a turn after, so both changes of speaker
    round it are counted."""
    owner, speech = _planted()
    owner, speech = owner[:700], speech[:700]
    before = _changes(_diarization(owner, speech).activity)
    after = _changes(_flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech}).activity)
    assert before[0] == 0 and "backchannel" in before[1]
    assert after[0] == 2


def test_short_answer_straight_into_the_other_voice_gets_both_over_its_end():
    """The mirror: voice 0 speaks 0-299, a pause 300-349, answer A 350-419 voice 1 (0.7 s) straight into voice 0's
    next turn 420-699: voice 0's first ``flip_overlap_s`` carry both. Not when voice 0's speech after it is a short
    run straight back into voice 1 (B: 0.3 s of voice 0 inside voice 1's speech, a backchannel over it), nor with
    ``flip_overlap_ends`` off."""
    n = 1300
    speech = np.ones(n, bool)
    owner = np.zeros(n, np.int8)
    speech[300:350] = False
    owner[325:420] = 1
    # B: voice 1 0.7 s after a pause (750-799), straight into 0.3 s of voice 0 (870-899), then voice 1 again
    speech[750:800] = False
    owner[775:870] = 1
    owner[900:1100] = 1
    speech[1100:1150] = False
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    d = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.all(d.owner[420:420 + e] == 2) and np.all(d.owner[420 + e:700] == 0)
    assert np.all(d.owner[350:420] == 1)
    assert np.all(d.owner[750:1300] == owner[750:1300])  # B left
    off = _flip_overlap(_diarization(owner, speech), DiarizeConfig(flip_overlap_ends=False), GRID, {"speech": speech})
    assert np.all(off.owner[420:700] == 0)


def _between():
    """10 ms frames. Voice 0 speaks 0-299; A 300-359 voice 1 (0.6 s) straight out of voice 0's speech and
    straight back into it (voice 0 360-699: the outgoing voice back over a short answer's last words); a
    pause 700-749; voice 0 750-999 with F 1000-1069 voice 1 (0.7 s) between it and G 1070-1099, 0.3 s of
    voice 0 straight back into voice 1 1100-1299 (a backchannel over voice 1's speech); a pause
    1300-1349; voice 0 1350-1799 with H 1500-1539 voice 1 (0.4 s, a backchannel over voice 0's speech)."""
    n = 1800
    speech = np.ones(n, bool)
    owner = np.zeros(n, np.int8)
    for a, b in ((700, 750), (1300, 1350)):
        speech[a:b] = False
    for a, b in ((300, 360), (1000, 1070), (1100, 1325), (1500, 1540)):
        owner[a:b] = 1
    return owner, speech


def test_short_answer_overlapped_at_both_ends_gets_both_over_its_start_and_end():
    """``flip_overlap_between`` (docs/speakers.md, sixty-eighth round): answer A between voice 0's speech on
    both sides carries both over voice 0's last and first ``flip_overlap_s``; F (voice 0 after it a short run
    straight back into voice 1) and H (under ``flip_overlap_min_run_s``) are left, and all of it with the
    switch off. The turn tracker on the channels: A is a backchannel before (0.6 s) and a turn after (0.9 s
    with both its overlapped ends): the two changes of speaker round it are counted."""
    owner, speech = _between()
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    d = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.all(d.owner[300 - e:300] == 2) and np.all(d.owner[360:360 + e] == 2)
    assert np.all(d.owner[300:360] == 1) and np.all(d.owner[:300 - e] == 0) and np.all(d.owner[360 + e:700] == 0)
    assert np.array_equal(d.owner[700:], owner[700:])  # F and H left
    off = _flip_overlap(_diarization(owner, speech), DiarizeConfig(flip_overlap_between=False), GRID,
                        {"speech": speech})
    assert np.array_equal(off.owner, owner)

    before, after = _changes(_diarization(owner, speech).activity[:700]), _changes(d.activity[:700])
    assert before == (0, ["backchannel"])
    assert after[0] == 2


def test_short_answer_the_other_voices_channel_would_bridge_gets_its_edges_alone():
    """``flip_overlap_bridge_s`` (docs/speakers.md, sixty-ninth round): answer A, 0.55 s of voice 1 straight out
    of voice 0's speech and straight back into it (AMI dev01 s140 mono's shape: 0.51 s found alone), under the
    analysis VAD's 0.6 s merge. With both over its edges, voice 0's channel hears a 0.55 s pause and its VAD
    bridges it: voice 0 talks through the answer, no change is counted. With the edges given to voice 1 alone,
    voice 0's pause is 0.85 s and the two changes round A are counted. A 0.6 s answer keeps both over its edges
    (test above), and ``flip_overlap_bridge_s=0`` keeps them for A too."""
    n = 700
    speech = np.ones(n, bool)
    owner = np.zeros(n, np.int8)
    owner[300:355] = 1
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    d = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.all(d.owner[300 - e:355 + e] == 1)
    assert np.all(d.owner[:300 - e] == 0) and np.all(d.owner[355 + e:] == 0)
    both = _flip_overlap(_diarization(owner, speech), DiarizeConfig(flip_overlap_bridge_s=0.0), GRID,
                         {"speech": speech})
    assert np.all(both.owner[300 - e:300] == 2) and np.all(both.owner[355:355 + e] == 2)
    with pytest.raises(ConfigError):
        DiarizeConfig(flip_overlap_bridge_s=-0.1).validate()

    assert _changes(both.activity, smoothed=True)[0] == 0  # voice 0's channel bridges the 0.55 s pause: A is lost
    assert _changes(d.activity, smoothed=True)[0] == 2


def test_the_bridge_follows_the_analysis_vads_merge():
    """``speaker_channels.diarize_config``: a ``[vad]`` table whose ``min_duration_off_s`` is 1.0 s merges the
    holder's 0.8 s pause over answer A (0.8 s of voice 1 straight out of voice 0's speech and straight back,
    "both" over its edges): the two changes round A were lost under the default 0.6 s bridge; the diarize
    config made for that VAD gives A's edges to voice 1 (a 1.1 s pause, not merged), and under the default
    VAD the default config keeps "both" there (A is 0.8 s, over 0.6 s: nothing to bridge)."""
    from prosody.config import VadConfig
    from prosody.speaker_channels import diarize_config
    n = 800
    speech = np.ones(n, bool)
    owner = np.zeros(n, np.int8)
    owner[300:380] = 1
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    slow = VadConfig(min_duration_off_s=1.0)
    told = _flip_overlap(_diarization(owner, speech), diarize_config(slow), GRID, {"speech": speech})
    assert np.all(told.owner[300 - e:380 + e] == 1)
    assert np.all(told.owner[:300 - e] == 0) and np.all(told.owner[380 + e:] == 0)
    default = _flip_overlap(_diarization(owner, speech), diarize_config(), GRID, {"speech": speech})
    assert np.all(default.owner[300 - e:300] == 2) and np.all(default.owner[380:380 + e] == 2)
    assert diarize_config() == DiarizeConfig()

    assert _changes(default.activity, smoothed=True, vad=slow)[0] == 0  # the holder's pause merged: A lost
    assert _changes(told.activity, smoothed=True, vad=slow)[0] == 2
    assert _changes(default.activity, smoothed=True)[0] == 2  # under the default merge A is heard


def _after_a_bridged_pause(*, voice_n: int = 40, pause_n: int = 17, pause_at: int = 0):
    """10 ms frames. Voice 0 speaks 0-299 at -30 dB; voice 1's run from 300: a pause of ``pause_n`` frames at
    the recording's pause level (-60 dB) from ``pause_at`` frames into the run, which the speech mask bridged
    (joined under 0.2 s), then ``voice_n`` frames of voice 1 at -35 dB; a pause of 33 frames (the owner split
    at its middle); voice 0 again. Defaults: overlap_events --layout mono held-out seed 116 at 14.2 s (an
    in-pause backchannel, a 0.17 s bridged pause then 0.4 s of voice); ``voice_n=70, pause_n=8, pause_at=2``:
    AMI tst00 s102 mono at 3.7 s (a short answer, 0.08 s of quiet 20 ms into it, then 0.7 s of voice)."""
    end = 300 + pause_at + pause_n + voice_n
    n = end + 400
    speech = np.ones(n, bool)
    speech[end:end + 33] = False
    owner = np.zeros(n, np.int8)
    owner[300:end + 17] = 1
    level_db = np.full(n, -30.0)
    level_db[300:end] = -35.0
    level_db[300 + pause_at:300 + pause_at + pause_n] = -60.0
    level_db[end:end + 33] = -60.0
    return owner, speech, 10.0 ** (level_db / 10.0)


def _backchannel_starts(activity: np.ndarray) -> list[float]:
    from prosody.engine.turns import TurnTracker
    from prosody.types import Segment
    segs = []
    for k, name in ((0, "therapist"), (1, "client")):
        x = np.concatenate([[0], activity[:, k].astype(np.int8), [0]])
        for a, b in zip(np.flatnonzero(np.diff(x) > 0), np.flatnonzero(np.diff(x) < 0)):
            segs.append(Segment(speaker=name, start_s=a * 0.01, end_s=b * 0.01))
    out = TurnTracker(("therapist", "client")).flush(sorted(segs, key=lambda s: s.start_s))
    return [round(ev.start_s, 2) for ev in out.events if ev.kind == "backchannel"]


def test_token_after_a_pause_the_speech_mask_bridged_is_not_a_flip_an_answer_is():
    """``flip_overlap_pause_s`` (docs/speakers.md, seventy-first round, the pause check sparing AMI's answers):
    an in-pause backchannel after a pause the speech mask bridged is a run of 0.57 s straight out of the
    holder's speech for the mask alone; flipped, the holder's last 0.15 s went to both and the backchannel
    was found starting 0.32 s before it was planted (3.17 s): missed and false at once. The level shows a
    pause in the run's first 0.2 s and the run's own voice, its bridged pauses out, is under
    ``flip_overlap_min_run_s``: left. An AMI answer with a short quiet stretch in its first 0.2 s holds 0.7 s
    of voice: flipped, as on main (the test on the pause alone left it, and the answer was a backchannel)."""
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    owner, speech, ms = _after_a_bridged_pause()
    d = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech, "level": ms})
    assert np.array_equal(d.owner, owner)
    assert _backchannel_starts(d.activity) == [3.0]  # within 0.3 s of the planted 3.17 s
    off = _flip_overlap(_diarization(owner, speech), DiarizeConfig(flip_overlap_pause_s=0.0), GRID,
                        {"speech": speech, "level": ms})
    assert np.all(off.owner[300 - e:300] == 2)
    assert _backchannel_starts(off.activity) == [2.85]
    no_level = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.array_equal(no_level.owner, off.owner)
    owner, speech, ms = _after_a_bridged_pause(voice_n=70, pause_n=8, pause_at=2)
    answer = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech, "level": ms})
    assert np.all(answer.owner[300 - e:300] == 2) and np.all(answer.owner[:300 - e] == 0)
    assert _backchannel_starts(answer.activity) == []  # a turn: over the 0.8 s limit with its flipped start
    with pytest.raises(ConfigError):
        DiarizeConfig(flip_overlap_pause_s=-0.1).validate()


def test_a_flip_past_the_both_frames_already_found_at_an_answers_end():
    """docs/speakers.md, seventy-sixth round, fifth pass: the frame models already gave part of a short
    answer's overlapped end to both voices, so the answer's run of its own voice ends in "both", not in the
    other voice, and the mirror (``flip_overlap_ends``) did not read it. Now the flip lies past those frames
    (at most ``flip_overlap_s`` of them): A, voice 1 after a pause (0.69 s), 0.08 s of both, then voice 0
    (AMI trn06 s91 mono's 16.04 s answer, found 0.77 s): both over voice 0's first ``flip_overlap_s`` after
    A's own run; a backchannel before (0.77 s), a turn after. A run of both longer than ``flip_overlap_s``
    is no flip's edge, and a run straight out of the other voice with both found at its start (B, trn06 s1
    mono's 25.19 s answer: ``flip_overlap_between``'s shape) is left (that try cost held's backchannel
    precision: the overlapped end there is near silence, the answer stayed 0.80 s)."""
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    n = 1400
    speech = np.ones(n, bool)
    owner = np.zeros(n, np.int8)
    speech[300:350] = False
    owner[325:419] = 1  # A: voice 1 350-418 (after the pause split at its middle)
    owner[419:427] = 2  # the 0.08 s of both found
    owner[713:726] = 2  # B: 0.13 s of both straight out of voice 0
    owner[726:791] = 1  # voice 1 0.65 s, straight back into voice 0 from 791
    d = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.all(d.owner[419:419 + e] == 2) and np.all(d.owner[419 + e:700] == 0)
    assert np.array_equal(d.owner[:419], owner[:419])
    assert np.array_equal(d.owner[700:], owner[700:])  # B left
    assert _changes(_diarization(owner, speech).activity[:700]) == (0, ["backchannel"])
    assert _changes(d.activity[:700])[0] == 2

    long_both = owner.copy()
    long_both[419:419 + e + 1] = 2  # 0.16 s of both after A: a run of its own, not the flip's edge
    kept = _flip_overlap(_diarization(long_both, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.array_equal(kept.owner, long_both)


def test_an_ami_answer_with_part_of_its_overlapped_end_found_is_a_turn(corpus):
    """fresh14 AMI trn06 s91 mono (benchmarks/diarization.py's placing): the client's 0.87 s answer at 16.04 s,
    the therapist back over its last 0.18 s (16.73 s). The frame models give 0.08 s of that to both and the
    rest to the therapist alone: the answer was found 0.77 s long, a backchannel, both changes round it lost
    (13 planted / 11 found). Now both changes are found, 13 of 13."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases, run_case

    x, truth = next((x, t) for nm, x, t in ami_cases("fresh14", False) if nm == "AMI trn06 s91 mono")
    r, _ = run_case(x, truth)
    found = [(to, start) for to, _, start, _ in r["trans_found"]]
    assert any(s == "client" and abs(t - 16.04) < 0.3 for s, t in found), found
    assert any(s == "therapist" and abs(t - 16.73) < 0.3 for s, t in found), found
    assert r["changes_found"] == r["changes_true"] == 13


def test_a_flip_into_a_short_answer_whose_overlapped_end_is_found_as_both():
    """docs/speakers.md, seventy-seventh round: an answer straight out of the other voice's speech whose
    overlapped end the frame models already gave to both voices (up to twice ``flip_overlap_s``) before
    that voice goes on: ``flip_overlap_between``'s shape, its end found, its start not (AMI tst00 s140
    shared's 14.20 s answer: 0.59 s of the client alone, then 0.19 s of both, found 0.73 s long, a
    backchannel). Now its start is given back as ``flip_overlap_between`` gives it (the run's voice alone
    over voice 0's last ``flip_overlap_s``: under ``flip_overlap_bridge_s``) and its found end is left; a
    turn, both changes counted. Both over more than twice ``flip_overlap_s`` is no flip's edge: left."""
    e = GRID.s_to_frames(DiarizeConfig().flip_overlap_s)
    n = 1000
    speech = np.ones(n, bool)
    speech[800:850] = False
    owner = np.zeros(n, np.int8)
    owner[300:359] = 1  # the answer alone 0.59 s, straight out of voice 0
    owner[359:378] = 2  # its end's 0.19 s found as both, then voice 0 goes on
    d = _flip_overlap(_diarization(owner, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.all(d.owner[300 - e:300] == 1) and np.all(d.owner[:300 - e] == 0)
    assert np.array_equal(d.owner[300:], owner[300:])
    assert _changes(_diarization(owner, speech).activity[:800], smoothed=True) == (0, ["backchannel"])
    assert _changes(d.activity[:800], smoothed=True)[0] == 2

    long_both = owner.copy()
    long_both[359:359 + 2 * e + 1] = 2
    kept = _flip_overlap(_diarization(long_both, speech), DiarizeConfig(), GRID, {"speech": speech})
    assert np.array_equal(kept.owner, long_both)


def test_an_ami_answer_with_its_overlapped_end_found_and_its_start_not_is_a_turn(corpus):
    """amireal5 AMI tst00 FEO072+FEO070 s140 shared (benchmarks/diarization.py's placing): the client's 0.97 s
    answer at 14.20 s, overlapped 0.20 s at its start and 0.17 s at its end (the therapist back at 15.00 s).
    The frame models give its start to the therapist, then 0.59 s to the client alone and 0.19 s to both: the
    answer was found 0.73 s long, a backchannel, both changes round it lost (13 planted / 11 found). Now both
    are found, 13 of 13."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases, run_case

    x, truth = next((x, t) for nm, x, t in ami_cases("amireal5", False)
                    if nm == "AMI tst00 FEO072+FEO070 s140 shared")
    r, _ = run_case(x, truth)
    found = [(to, start) for to, _, start, _ in r["trans_found"]]
    assert any(s == "client" and abs(t - 14.20) < 0.3 for s, t in found), found
    assert any(s == "therapist" and abs(t - 15.00) < 0.3 for s, t in found), found
    assert r["changes_found"] == r["changes_true"] == 13
