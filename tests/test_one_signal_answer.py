"""Two voices cut from one signal (diarized shared / mono channels, ``Pipeline(cross_talk=False)``): 0.5 s
(``pipeline.ONE_SIGNAL_BLOCK_S``) of frames the other voice's channel alone holds as speech are the other person
talking, not a pause in this voice's speech, so the speech detector's merge of pauses under
``vad.min_duration_off_s`` (0.6 s) does not bridge them (``pipeline._other_voice_alone``; issue 9,
docs/speakers.md, seventy-sixth round). Bridged, a short answer spoken 0.5-0.6 s alone before the holder comes
back in was read as the listener's failed interruption of a holder who talked through it, and the change to
the answerer and back were both lost. Planted: the fixture dialogue's own voices placed as such an answer; real:
AMI trn06 s90 shared as benchmarks/diarization.py places it (fresh14), its client's 0.87 s answer at 14.55 s."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from prosody.session import analyze_blocks
from tests.conftest import match_transitions
from tests.dialogue import CLIENT, THERAPIST

SR = 16000


def _noise(n: int, rng) -> np.ndarray:
    return (10 ** (-70 / 20) * rng.standard_normal(n)).astype(np.float32)


def _cut_from_one_signal(fixture_dialogue, answer_at_s: float, pause: tuple[float, float]) -> dict:
    """The therapist's speech (the fixture's 11.9-15.3 s) from 1 s on the therapist's channel, a pause
    ``pause`` (s) cut into it (the rest later by as much); the client's 1.0 s (the fixture's 6.85-7.85 s)
    from ``answer_at_s`` on the client's channel; both channels over a -70 dBFS floor, as two voices cut
    from one signal (``cross_talk=False``). Returns the session document."""
    audio, _ = fixture_dialogue
    rng = np.random.default_rng(0)
    holder = audio[int(11.9 * SR):int(15.3 * SR), 0]
    answer = audio[int(6.85 * SR):int(7.85 * SR), 1]
    n = int(5.5 * SR)
    a, b = _noise(n, rng), _noise(n, rng)
    cut = int((pause[0] - 1.0) * SR)
    a[SR:SR + cut] += holder[:cut]
    rest = holder[cut:cut + n - int(pause[1] * SR)]
    a[int(pause[1] * SR):int(pause[1] * SR) + len(rest)] += rest
    b[int(answer_at_s * SR):int(answer_at_s * SR) + len(answer)] += answer
    return analyze_blocks([np.stack([a, b], axis=1)], (THERAPIST, CLIENT), cross_talk=False).to_json_dict()


def test_an_answer_alone_for_under_the_merge_is_a_change_and_back(fixture_dialogue):
    """The client's 1.0 s answer at 2.5 s, alone for 0.55 s (the therapist's channel silent 2.5-3.05 s), the
    therapist back in over its last 0.45 s. Planted: the change to the client at 2.5 s and back at 3.05 s.
    Found: both, within the benchmark's 0.3 s; the answer no failed interruption (it was, with the
    therapist's channel bridged across the 0.55 s: no change at all)."""
    doc = _cut_from_one_signal(fixture_dialogue, 2.5, (2.5, 3.05))
    planted = [{"to_speaker": CLIENT, "to_start_s": 2.5}, {"to_speaker": THERAPIST, "to_start_s": 3.05}]
    pairs, missed = match_transitions(doc["transitions"] or [], planted)
    assert not missed, (doc["transitions"], doc["events"])
    assert not [e for e in doc["events"] or [] if e["kind"] == "failed_interruption" and e["speaker"] == CLIENT]


def test_a_short_stretch_of_the_other_voice_alone_is_still_bridged(fixture_dialogue):
    """The diarizer's error inside an overlap (held's espeak failed interruptions: 0.33-0.44 s of the
    incoming voice given to it alone where both speak): the client's 1.0 s from 2.2 s over the therapist,
    the therapist's channel silent for 0.35 s of it (2.5-2.85 s). The therapist talks through it: the
    client's second a failed interruption, no change of speaker (with a 0.3 s block, as on separate
    microphones, the therapist's speech was cut there and the client took the floor)."""
    doc = _cut_from_one_signal(fixture_dialogue, 2.2, (2.5, 2.85))
    assert not doc["transitions"], doc["transitions"]
    assert [e["kind"] for e in doc["events"] or [] if e["speaker"] == CLIENT] == ["failed_interruption"]


def test_an_ami_answer_alone_under_the_merge_is_found(corpus):
    """fresh14 AMI trn06 s90 shared (benchmarks/diarization.py's placing): the client's 0.87 s answer at
    14.55 s (14.55-15.42 s, the therapist back at 15.24 s), which the diarizer gives to the client alone for
    0.59 s (14.65-15.24 s) and to both voices at its edges. Found: the change back to the therapist within
    0.3 s of 15.24 s and a change to the client between them; before, the therapist's channel was bridged
    across the answer and the answer read as a failed interruption (13 planted / 11 found)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diarization import ami_cases, run_case

    x, truth = next((x, t) for nm, x, t in ami_cases("fresh14", False) if nm == "AMI trn06 s90 shared")
    r, _ = run_case(x, truth)  # the voices named as the benchmark scores them
    found = [(to, start) for to, _, start, _ in r["trans_found"]]
    assert any(s == THERAPIST and abs(t - 15.24) < 0.3 for s, t in found), found
    assert any(s == CLIENT and 14.0 < t < 15.24 for s, t in found), found
    assert r["changes_found"] == r["changes_true"] == 13
