"""benchmarks/backchannel_false.py: false backchannels classed by what was planted where they were found, and the
found run's make-up read from a planted owner path (sixty-first round)."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from backchannel_false import false_class, run_figures  # noqa: E402

# the therapist holds 0.5-6.0 s and 9.0-12.0 s; the client answers 6.3-8.8 s (the therapist's "mm" in its pause
# at 7.0-7.3 s) and says a short 0.9 s turn at 12.3-13.2 s; a planted backchannel of each, a planted failed
# interruption of the client
TRUTH = {
    "segments": {"therapist": [[0.5, 6.0], [9.0, 12.0], [7.0, 7.3]],
                 "client": [[6.3, 6.95], [7.35, 8.8], [2.0, 2.4], [4.0, 4.8], [12.3, 13.2]]},
    "events": [{"kind": "backchannel", "speaker": "client", "start_s": 2.0, "end_s": 2.4},
               {"kind": "failed_interruption", "speaker": "client", "start_s": 4.0, "end_s": 4.8},
               {"kind": "backchannel", "speaker": "therapist", "start_s": 7.0, "end_s": 7.3}],
}


def _e(who: str, a: float, b: float) -> dict:
    return {"kind": "backchannel", "speaker": who, "start_s": a, "end_s": b}


def test_each_planted_class():
    assert false_class(_e("client", 4.2, 4.6), TRUTH) == "bid read as a backchannel"
    assert false_class(_e("client", 2.6, 2.9), TRUTH) == "shifted"  # 0.6 s after the planted one
    assert false_class(_e("client", 12.4, 13.0), TRUTH) == "near-limit turn"
    assert false_class(_e("client", 8.2, 8.7), TRUTH) == "cut utterance"
    assert false_class(_e("client", 7.05, 7.25), TRUTH) == "other's backchannel"
    assert false_class(_e("client", 9.1, 9.3), TRUTH) == "holder's first syllables"
    assert false_class(_e("client", 11.75, 11.95), TRUTH) == "holder's last syllables"
    assert false_class(_e("client", 10.0, 10.3), TRUTH) == "inside the holder's utterance"
    assert false_class(_e("therapist", 13.5, 13.8), TRUTH) == "nobody"


def test_run_figures_from_a_planted_path():
    """Voice 0 (the therapist) speaks 0-3 s at -30 dB; 1.0-1.3 s is "both" at -24 dB: a 0.3 s run, all of it
    both voices, 6 dB over the holder's own frames round it, 1.0 s after the speech onset, 1.7 s before the
    pause."""
    n = 400
    owner = np.zeros(n, np.int8)
    owner[100:130] = 2
    speech = np.zeros(n, bool)
    speech[:300] = True
    lv = np.where(speech, -30.0, -80.0)
    lv[100:130] = -24.0
    att = SimpleNamespace(diarization=SimpleNamespace(owner=owner, speech=speech),
                          naming=SimpleNamespace(names=("therapist", "client")))
    f = run_figures(_e("client", 1.0, 1.3), att, lv)
    assert f["len_s"] == 0.3 and f["both"] == 1.0
    assert abs(f["rel_db"] - 6.0) < 1e-9
    assert f["since_onset_s"] == 1.0 and f["to_pause_s"] == 1.7


def test_heard_share_of_a_planted_path():
    """overlap_events.heard_share (shared with the trace): 1.0-1.3 s is 0.1 s of the client alone, 0.1 s of both
    and 0.1 s of the therapist: the client heard in 2 of 3 tenths."""
    from overlap_events import heard_share
    owner = np.zeros(200, np.int8)
    owner[100:110], owner[110:120] = 1, 2
    att = SimpleNamespace(diarization=SimpleNamespace(owner=owner),
                          naming=SimpleNamespace(names=("therapist", "client")))
    assert abs(heard_share(att, "client", 1.0, 1.3) - 2 / 3) < 1e-9
    assert abs(heard_share(att, "therapist", 1.0, 1.3) - 2 / 3) < 1e-9
