"""Turn timing on synthetic two-channel dialogues with planted timing.

Dialogues from tests/dialogue.py (espeak-ng voices placed on two channels):
``scenario_turns`` (gaps 0.1-1.5 s, overlaps 0.1-0.25 s) and
``scenario_mixed`` (plus backchannels 8 dB softer than the speaker's turns,
interruptions, a failed interruption), several seeds, and the same with -20 dB
loudspeaker bleed into the therapist channel. Prints the floor transfer offset
error of every speaker change (target: median within 50 ms) and the recall of
planted overlaps, backchannels, interruptions and failed interruptions
(target: all found). For comparison it also counts the mixed dialogues'
backchannels planted at full level (as in the bundled fixture; espeak reads
their "mm hmm" as "em em hmm"), which the prosodic rule of
``prosody/overlap_cues.py`` may read as failed interruptions when they are
long, loud and inside the other's speech (not part of the target).
Backchannels against failed interruptions on their own: ``overlap_events.py``.

    python benchmarks/turn_timing.py
"""
from __future__ import annotations

import sys

import numpy as np

from _common import REPO  # noqa: F401  (puts the repo on sys.path)

from prosody.session import analyze_blocks
from tests.conftest import match_events, match_transitions, offsets_error_s
from tests.dialogue import build_dialogue, scenario_mixed, scenario_turns

BACKCHANNEL_GAIN_DB = -8.0


def main() -> int:
    rows = []
    errors, found, planted, spurious = [], {}, {}, 0
    cases = [("turns", s, None) for s in range(6)] + [("mixed", s, None) for s in range(6)] + \
            [("turns+bleed", s, -20.0) for s in range(3)] + [("mixed+bleed", s, -20.0) for s in range(3)]
    for name, seed, bleed in cases:
        utts = (scenario_turns(12, seed=seed) if name.startswith("turns")
                else scenario_mixed(seed=seed, backchannel_gain_db=BACKCHANNEL_GAIN_DB))
        d = build_dialogue(utts, seed=seed, bleed_db=bleed, level_db=(-21.0, -21.0))
        truth = d.truth.to_json_dict()
        doc = analyze_blocks([d.audio], ("therapist", "client")).to_json_dict()
        pairs, missed = match_transitions(doc["transitions"], truth["transitions"])
        err = offsets_error_s(pairs)
        errors += err.tolist()
        miss_ev = match_events(doc["events"], truth["events"])
        for kind in ("backchannel", "interruption", "failed_interruption"):
            n = sum(1 for e in truth["events"] if e["kind"] == kind)
            m = sum(1 for e in miss_ev if e["kind"] == kind)
            planted[kind] = planted.get(kind, 0) + n
            found[kind] = found.get(kind, 0) + n - m
        ov = [(t, p) for t, p in pairs if t["kind"] == "overlap"]
        planted["overlap"] = planted.get("overlap", 0) + sum(1 for t in truth["transitions"] if t["kind"] == "overlap")
        found["overlap"] = found.get("overlap", 0) + sum(1 for t, p in ov if p["kind"] == "overlap")
        extra = len(doc["transitions"]) - len(pairs) + max(0, len(doc["events"]) - (len(truth["events"]) - len(miss_ev)))
        spurious += extra
        rows.append((name, seed, len(truth["transitions"]), len(missed),
                     float(np.median(np.abs(err))) if len(err) else float("nan"), extra))
    print(f"{'dialogue':12} {'seed':>4} {'changes':>7} {'missed':>6} {'|FTO err| med ms':>17} {'spurious':>8}")
    for r in rows:
        print(f"{r[0]:12} {r[1]:4d} {r[2]:7d} {r[3]:6d} {r[4] * 1000:17.1f} {r[5]:8d}")
    e = np.abs(np.array(errors))
    print(f"all speaker changes: n={len(e)}, |FTO error| median {np.median(e) * 1000:.1f} ms, "
          f"p95 {np.percentile(e, 95) * 1000:.1f} ms, max {e.max() * 1000:.1f} ms; signed mean {np.mean(errors) * 1000:+.1f} ms")
    for kind in ("overlap", "backchannel", "interruption", "failed_interruption"):
        print(f"{kind:20} found {found[kind]}/{planted[kind]}")
    ok = np.median(e) <= 0.05 and all(found[k] == planted[k] for k in planted)
    print(f"target median |FTO error| <= 50 ms and every planted event found: {'PASS' if ok else 'FAIL'}")
    n_bc = n_found = 0
    for name, seed, bleed in cases:
        if name.startswith("mixed"):
            d = build_dialogue(scenario_mixed(seed=seed), seed=seed, bleed_db=bleed, level_db=(-21.0, -21.0))
            truth = d.truth.to_json_dict()
            doc = analyze_blocks([d.audio], ("therapist", "client")).to_json_dict()
            bcs = [t for t in truth["events"] if t["kind"] == "backchannel"]
            n_bc += len(bcs)
            n_found += len(bcs) - len(match_events(doc["events"], bcs))
    print(f"(comparison) mixed dialogues with full-level backchannels: {n_found}/{n_bc} found as backchannels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
