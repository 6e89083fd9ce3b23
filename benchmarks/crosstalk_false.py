"""False backchannels on separate channels with cross-talk, each by class (issue 9; docs/speakers.md,
sixty-second round).

Runs the dialogues of ``benchmarks/crosstalk.py`` (``make``, ``analysed``, ``score``: the mix with leak and the
same mix without it) and says, for each backchannel found where none was planted, what was planted there
(``backchannel_false.false_class``, the mono tool's classes) and what the cross-talk did to it (``xtalk_class``):

* "also without leak": the same backchannel (start within 0.3 s) is found on the mix without any leak: the
  voice activity and the turn labels, not the cross-talk stage;
* "leak read as own speech": none of the speaker's own speech planted there (the mono classes "nobody",
  "inside the holder's utterance", "holder's first / last syllables", "other's backchannel");
* "bid cut by the cross-talk": a planted failed interruption of that speaker, a piece of it kept;
* "true backchannel moved by leak": a planted backchannel of that speaker within 1 s ("shifted");
* "turn cut by the cross-talk": a planted turn of that speaker that the no-leak mix hears as a stretch of
  ``NEAR_LIMIT_S`` or more there, heard here as a piece under ``BACKCHANNEL_MAX_S`` (own speech taken for leak);
* "turn near the limit": the no-leak mix's stretch there is ``BACKCHANNEL_MAX_S`` to ``NEAR_LIMIT_S``, the
  leak took a few frames of it;
* "turn heard short without leak too": the no-leak mix's stretch there is under ``BACKCHANNEL_MAX_S`` as well
  (an AMI turn near the limit: the label moved, not the speech).

Each line also gives the dialogue's kind, the found run's length, its own-to-leak power ratio (dB, the mix
less the no-leak mix scaled to it), the planted utterance there (role, length) and this speaker's stretches
over it with and without leak.

    python benchmarks/crosstalk_false.py --split fresh4 [--only ami]
    python benchmarks/crosstalk_false.py --seeds 1400:1440
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

import crosstalk as ct
from _common import corpus_dir
from backchannel_false import false_class

from prosody.config import AnalysisConfig
from tests.dialogue import ScenarioError, SynthesisError

BACKCHANNEL_MAX_S = 0.8   # the turn tracker's backchannel limit (TurnConfig.backchannel_max_s)
SAME_START_S = 0.3        # crosstalk.py's match of a found backchannel to another
NEAR_LIMIT_S = 1.0        # a stretch heard this short without leak is near the backchannel limit
HOP_S = 0.01

LEAK_CLASSES = ("nobody", "inside the holder's utterance", "holder's first syllables", "holder's last syllables",
                "other's backchannel")


def stretches(mask: np.ndarray, hop_s: float = HOP_S) -> list[tuple[float, float]]:
    """(start_s, end_s) of each run of True frames of ``mask`` ((n_frames,) bool, ``hop_s`` apart)."""
    m = np.r_[False, np.asarray(mask, bool), False]
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(a * hop_s, b * hop_s) for a, b in zip(d[::2], d[1::2])]


def longest_over(runs, a: float, b: float) -> float:
    """The longest of ``runs`` overlapping [a, b) (s; 0 where none does)."""
    return max((y - x for x, y in runs if y > a and x < b), default=0.0)


def xtalk_class(e: dict, truth: dict, also_without_leak: bool, no_leak_runs) -> str:
    """What the cross-talk did where the false backchannel ``e`` (speaker, start_s, end_s) was found (module
    doc). ``no_leak_runs``: this speaker's speech stretches on the mix without leak."""
    if also_without_leak:
        return "also without leak"
    c = false_class(e, truth)
    if c in LEAK_CLASSES:
        return "leak read as own speech"
    if c == "bid read as a backchannel":
        return "bid cut by the cross-talk"
    if c == "shifted":
        return "true backchannel moved by leak"
    heard_s = longest_over(no_leak_runs, e["start_s"], e["end_s"])
    if heard_s >= NEAR_LIMIT_S:
        return "turn cut by the cross-talk"
    if heard_s >= BACKCHANNEL_MAX_S:
        return "turn near the limit"
    return "turn heard short without leak too"


def own_to_leak_db(mix: np.ndarray, no_leak: np.ndarray, other_active: np.ndarray, a: float, b: float,
                   sample_rate: int) -> float:
    """Own-to-leak power ratio (dB) of one channel over [a, b) s: the no-leak channel scaled to the mix by least
    squares where the other voice is silent (``other_active``: (n_samples,) bool, its planted speech widened),
    the leak the rest."""
    q = ~other_active
    k = float(np.dot(mix[q], no_leak[q]) / max(np.dot(no_leak[q], no_leak[q]), 1e-20)) if q.any() else 1.0
    i, j = int(a * sample_rate), max(int(b * sample_rate), int(a * sample_rate) + 1)
    own = k * no_leak[i:j].astype(np.float64)
    leak = mix[i:j].astype(np.float64) - own
    return float(10 * np.log10((np.mean(own ** 2) + 1e-20) / (np.mean(leak ** 2) + 1e-20)))


def widened(segments, n: int, sample_rate: int, pad_s: float = 1.0) -> np.ndarray:
    """(n,) bool: inside any segment widened by ``pad_s`` after its end (the leak's delay and room tail)."""
    m = np.zeros(n, bool)
    for x, y in segments:
        m[int(x * sample_rate):min(n, int((y + pad_s) * sample_rate))] = True
    return m


def excerpt_key(text: str) -> str:
    """An AMI utterance's source (``file:speaker@start_s``) with its start to 0.1 s (redraws of one stretch
    differ by a few frames)."""
    src, _, at = text.rpartition("@")
    return f"{src}@{float(at):.1f}"


def planted_there(d, who: str, a: float, b: float) -> str:
    """The speaker's planted utterance most over [a, b): 'role length', or '-'."""
    own = [u for u in d.utterances if u.speaker == who and u.start_s < b and a < u.end_s]
    if not own:
        return "-"
    u = max(own, key=lambda u: min(u.end_s, b) - max(u.start_s, a))
    src = f" {u.text}" if u.voice and u.voice.startswith("ami:") else ""
    return f"{u.role} {u.start_s:.2f}-{u.end_s:.2f} ({u.duration_s:.2f} s){src}"


def trace_dialogue(seed: int, corpus, out: Counter) -> list[str]:
    """One dialogue's false backchannels, one line each; ``out`` counts them by (kind, class)."""
    d, quiet, cond, clean = ct.make(seed, corpus)
    s, cs = ct.analysed(d, AnalysisConfig(), clean)
    r = ct.score(d, quiet, AnalysisConfig(), clean, sessions=(s, cs))
    truth = d.truth.to_json_dict()
    kind = cond.split()[0]
    out[(kind, "found")] += r["bc_pred"]
    for u in d.utterances:
        if u.voice and u.voice.startswith("ami:"):
            out[("planted", excerpt_key(u.text))] += 1
    lines = []
    sr = d.sample_rate
    for e, why in r["false_bc"]:
        who = e["speaker"]
        c = ct.SPK.index(who)
        runs = stretches(s.frames[who]["is_speech"])
        no_leak = stretches(cs.frames[who]["is_speech"])
        xc = xtalk_class(e, truth, why.endswith("also-no-leak"), no_leak)
        out[(kind, xc)] += 1
        there = planted_there(d, who, e["start_s"], e["end_s"])
        if kind == "ami" and there != "-":
            out[("excerpt", excerpt_key(there.split()[-1]))] += 1
        other = widened(truth["segments"][ct.SPK[1 - c]], d.audio.shape[0], sr)
        ol = own_to_leak_db(d.audio[:, c], clean.audio[:, c], other, e["start_s"], e["end_s"], sr)
        lines.append(
            f"  FALSE {seed} {kind:6} {who:9} {'quiet' if c == quiet else 'loud '} {e['start_s']:6.2f}-"
            f"{e['end_s']:<6.2f} len {e['end_s'] - e['start_s']:.2f} {xc:34} ({false_class(e, truth)}) "
            f"own/leak {'no leak' if ol > 60 else f'{ol:+.0f} dB'}; planted {there}; "
            f"stretch {longest_over(runs, e['start_s'], e['end_s']):.2f} s, without leak "
            f"{longest_over(no_leak, e['start_s'], e['end_s']):.2f} s | {cond}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=tuple(ct.SPLITS), default="held", help="a split of benchmarks/crosstalk.py")
    ap.add_argument("--seeds", help="FIRST:END (end excluded), instead of --split")
    ap.add_argument("--only", choices=("espeak", "ami"), help="only these dialogues")
    args = ap.parse_args()
    try:
        a, b = (int(x) for x in (args.seeds or ct.SPLITS[args.split]).split(":"))
    except ValueError:
        print(f"--seeds {args.seeds!r}: give FIRST:END, e.g. 1400:1440", file=sys.stderr)
        return 2
    corpus = corpus_dir()
    out = Counter()
    for seed in range(a, b):
        if args.only and (args.only == "ami") != ct.is_ami(seed, corpus):
            continue
        try:
            lines = trace_dialogue(seed, corpus, out)
        except (ScenarioError, SynthesisError) as e:
            print(f"seed {seed}: skipped ({e})")
            continue
        for line in lines:
            print(line, flush=True)
    for kind in ("espeak", "ami"):
        n = sum(v for (k, c), v in out.items() if k == kind and c != "found")
        if out[(kind, "found")]:
            print(f"{kind}: {out[(kind, 'found')]} found, {n} false: " + ", ".join(
                f"{c} {v}" for (k, c), v in out.most_common() if k == kind and c != "found"))
    ex = [(k, v) for (kind, k), v in out.most_common() if kind == "excerpt"]
    if ex:
        print("AMI excerpts under the false ones (false / planted): "
              + ", ".join(f"{k} {v}/{out[('planted', k)]}" for k, v in ex))
    return 0


if __name__ == "__main__":
    sys.exit(main())
