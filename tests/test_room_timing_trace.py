"""benchmarks/room_timing.py --trace: each planted speaker change classed by where its FTO error lies, read from
planted transitions, found ones and a planted tail mask (sixty-second round)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from room_timing import change_class, trace_rows  # noqa: E402

from tests.conftest import match_transitions  # noqa: E402


def _t(frm: str, to: str, end_s: float, start_s: float) -> dict:
    return {"from_speaker": frm, "to_speaker": to, "from_end_s": end_s, "to_start_s": start_s,
            "offset_s": start_s - end_s}


# six planted changes, 4 s apart, each 0.4 s of silence between the turns
TRUTH = [_t("therapist" if k % 2 == 0 else "client", "client" if k % 2 == 0 else "therapist",
            2.0 + 4 * k, 2.4 + 4 * k) for k in range(6)]
# what was found: change 0 on time; change 1's end 0.12 s late (its tail cut, planted below, not enough); change 2's
# end 0.15 s late, nothing cut; change 3's next start 0.1 s late; change 4 matched to a change whose end is 0.6 s
# early (a run of the wrong voice between); change 5 not found
FOUND = [_t("therapist", "client", 2.01, 2.41), _t("client", "therapist", 6.12, 6.40),
         _t("therapist", "client", 10.15, 10.39), _t("client", "therapist", 14.0, 14.5),
         _t("therapist", "client", 17.4, 18.42)]
TAILS = np.zeros(3000, bool)
TAILS[601:608] = True  # 70 ms cut from 6.01 s: change 1's tail


def test_change_class_planted_components():
    assert change_class(None, None, cut_s=0.0, room=True) == "missed"
    assert change_class(-0.30, 0.0, cut_s=0.0, room=True) == "matched elsewhere"
    assert change_class(0.90, 0.0, cut_s=0.0, room=True) == "matched elsewhere"
    assert change_class(0.45, 0.0, cut_s=0.0, room=True) == "end late, tail not cut"  # a long room's tail
    assert change_class(0.0, -0.26, cut_s=0.0, room=True) == "matched elsewhere"
    assert change_class(0.03, 0.0, cut_s=0.0, room=True) == "within 40 ms"
    assert change_class(0.10, 0.08, cut_s=0.0, room=True) == "within 40 ms"  # both late alike: the FTO is right
    assert change_class(0.12, 0.0, cut_s=0.0, room=True) == "end late, tail not cut"
    assert change_class(0.12, 0.0, cut_s=0.0, room=False) == "end late, no room found"
    assert change_class(0.12, 0.0, cut_s=0.05, room=True) == "end late, cut too little"
    assert change_class(-0.08, 0.0, cut_s=0.05, room=True) == "end early, cut"
    assert change_class(-0.08, 0.0, cut_s=0.0, room=True) == "end early, not cut"
    assert change_class(0.02, 0.09, cut_s=0.0, room=True) == "start late"
    assert change_class(0.0, -0.06, cut_s=0.0, room=True) == "start early"


def test_trace_rows_class_each_planted_change():
    pairs, missed = match_transitions(FOUND, TRUTH)
    rows = sorted(trace_rows(pairs, missed, TAILS), key=lambda r: r["at"])
    assert [r["class"] for r in rows] == ["within 40 ms", "end late, cut too little", "end late, tail not cut",
                                          "start late", "matched elsewhere", "missed"]
    assert abs(rows[1]["cut"] - 0.07) < 1e-9 and rows[2]["cut"] == 0.0
    assert abs(rows[1]["end"] - 0.12) < 1e-9 and abs(rows[3]["start"] - 0.1) < 1e-9
    assert abs(rows[4]["end"] + 0.6) < 1e-9 and np.isnan(rows[5]["fto"])
    assert all(abs(r["gap"] - 0.4) < 1e-9 for r in rows)
    # no mask: the session shows no room, nothing counts as cut
    assert [r["class"] for r in sorted(trace_rows(pairs, missed, None), key=lambda r: r["at"])][1:3] == \
        ["end late, no room found"] * 2
