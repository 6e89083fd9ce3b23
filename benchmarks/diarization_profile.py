"""One voice split in two, with the therapist's voice profile as evidence (issue 9; docs/speakers.md, fifty-first
round).

Where a voice profile is given (``prosody enrol``) and the diarizer finds two voices, the profile can say that
both are the enrolled voice: one voice in pieces, not two people. This script measures that question's answer
and its danger, a client of the therapist's sex whose voice lies near the therapist's profile. Each recording is
diarized once (``diarize`` alone, as ``diarization_single.py`` does); each decision rule is then read off the
two voices' centroids' cosine distances to a profile built from **other material of the same voice** (as a real
enrolment is: other sentences, or another stretch of the recording):

* ``wide`` / ``fresh6``: ``diarization_single.py``'s espeak recordings (its AMI one-voice ones aside: they use
  all of a speaker's speech, none is left to enrol from). Profile: the same espeak voice (voice, pitch base,
  speed) saying ``ENROL_SENTENCES`` (no sentence of the recordings), through a room of its own draw. One voice
  alone: with its own profile (kept whole?) and with the profile of a near-alike voice (the same variant 20
  pitch steps away: must change nothing). Two voices: with the profile of the first voice (the dominant one in
  the dominant cases), then of the second (lost: merged into one).
* ``ami``: AMI speakers enrolled from one stretch and heard in another: MEE009 (dev01 -> dev00 and dev00 ->
  dev01: two excerpts of the meeting), FEE078 and FEE083 (their turns in time order cut at half their speech:
  first half -> second and second -> first). One voice: each test stretch alone (``diarization_edge.py``'s
  ``one`` recipe: once livelier by Praat, once as recorded at varied levels), with its own profile and with
  each other enrolled speaker's. Two voices: the test stretch with one 0.8-4 s answer of another speaker (every
  same-sex partner at the start, the middle and the end; every cross-sex one at one draw), profile of the
  dominant voice, and where the partner is enrolled (their answer from their own test stretch) of the partner.
  Also ``diarization.py``'s amireal recordings of dev00 / dev01 (MEE009 + MEE012 dialogues and MEE009 alone)
  with profiles from the other excerpt.

Rules (``RULES``): both voices' centroids' distances to the profile within a bar (the lone-voice limit
``max(0.2, 3 x spread)`` that ``name_voices`` used before the fifty-third round, or fixed bars), optionally with their two
distances no further apart than a margin; or the smaller voice's 1.5 s windows scored against the profile, as many
within the larger voice's windows' 90th percentile as a share asks. Printed per rule and set: one-voice recordings
kept whole (own profile), one-voice recordings split in two that another voice's profile would merge (and name the
therapist wrongly), two-voice recordings found two and lost (merged); and, per profile, how many one-voice
recordings found one voice name it the therapist / leave it unnamed / name it the client, before (the old lone-voice
limit, max(0.2, 3 x spread)) and after the fifty-third round (within ``LONE_VOICE_THERAPIST_WITHIN``, beyond
``speakers.client_bar``; ``benchmarks/lone_voice.py`` measures it widely). No rule was kept (docs/speakers.md,
fifty-first round): the one real voice split in two (AMI MEE009's last turn) lies further from his own profile
(0.275-0.298) than another man does in his dialogues (0.21-0.27), and espeak's near-alike pairs lie as near one
profile as one voice's pieces do.

    python benchmarks/diarization_profile.py [--set wide,ami,fresh6] [--cache DIR] [--dump FILE]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import at_db, corpus_dir, halves
from diarization_single import SEED0, _pair, _room, _say, _voice, cached, single_cases, two_cases
from prosody.engine.diarize import diarize
from prosody.engine.speakers import LONE_VOICE_CLIENT_BEYOND, LONE_VOICE_THERAPIST_WITHIN, build_profile

SR = 16000
SETS = ("wide", "fresh6", "ami")
# enrolment text: no sentence of tests/dialogue.py's lists (the recordings' sentences)
ENROL_SENTENCES = ("When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow.",
                   "The rainbow is a division of white light into many beautiful colours.",
                   "These take the shape of a long round arch, with its path high above.",
                   "Throughout the centuries people have explained the rainbow in various ways.",
                   "Some have accepted it as a miracle without physical explanation.",
                   "Please call Stella and ask her to bring these things with her from the store.")
MEN_ANSWERS = ("MEE012", "MEE073", "MEE075", "MEE076")
WOMEN_ANSWERS = ("FEO070", "FEO072", "FEE085")


def espeak_profile(voice, seed: int):
    parts = []
    for s in ENROL_SENTENCES:
        parts += [_say(s, voice), np.zeros(int(0.5 * SR), np.float32)]
    y = np.concatenate([np.zeros(8000, np.float32)] + parts)
    rng = np.random.default_rng(seed)
    x, _ = _room(np.stack([y, np.zeros_like(y)], axis=1), rng, seed=seed)
    return build_profile(x)


def _near(voice):
    v, p, s = voice
    return v, int(p - 20 if p >= 50 else p + 20), s


def espeak_cases(split: str, cache):
    """(group, name, audio, truth segments or None, {role: profile})."""
    ones = [c for c in cached(f"{split}-one", single_cases(split), cache) if " AMI " not in c[0]]
    for i, (nm, x, _) in enumerate(ones):
        voice = _voice(np.random.default_rng(SEED0[split] + i), split)
        assert nm.startswith(f"one {voice[0]} p{voice[1]} s{voice[2]} "), nm
        yield f"{split}-one", nm, x, None, {"own": ("own", voice), "other": ("near", _near(voice))}
    for i, (nm, x, segs) in enumerate(cached(f"{split}-two", two_cases(split), cache)):
        va, vb = _pair(np.random.default_rng(SEED0[split] + 300 + i), split)
        yield f"{split}-two", nm, x, segs, {"first": ("A", va), "second": ("B", vb)}


# --------------------------------------------------------------------------- AMI, enrolled from another stretch

def _ami_turns(corpus: Path) -> dict[str, list[tuple[str, float, np.ndarray]]]:
    from diarization import turn_stretches
    out: dict[str, list] = {}
    for uri in ("dev00", "dev01", "trn04", "trn05", "trn06", "tst00"):
        x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        for spk, st in turn_stretches(uri, corpus, x, sr).items():
            out.setdefault(spk, []).extend((uri, a, x[int(a * sr):int(b * sr)]) for a, b in sorted(st))
    return out



def ami_units(turns):
    """(unit name, speaker, enrol pieces, test pieces)."""
    m = turns["MEE009"]
    d0, d1 = [t[2] for t in m if t[0] == "dev00"], [t[2] for t in m if t[0] == "dev01"]
    yield "MEE009 dev01->dev00", "MEE009", d1, d0
    yield "MEE009 dev00->dev01", "MEE009", d0, d1
    for spk in ("FEE078", "FEE083"):
        a, b = halves([t[2] for t in turns[spk]])
        yield f"{spk} 1st->2nd", spk, a, b
        yield f"{spk} 2nd->1st", spk, b, a



def _noisy(y, seed):
    return y + np.random.default_rng(seed).standard_normal(len(y)).astype(np.float32) * 10 ** (-62 / 20)


def _piece_profile(pieces):
    y = np.concatenate([np.concatenate([p, np.zeros(int(0.4 * SR), np.float32)]) for p in pieces])
    return build_profile(_noisy(at_db(y, -24), 1))


def ami_cases(corpus: Path, cache):
    from unseen_material import change_gender, median_f0_hz
    turns = _ami_turns(corpus)
    units = list(ami_units(turns))
    profs = {u: _piece_profile(en) for u, _, en, _ in units}
    # MEE012: enrolled from dev00 (5.1 s), answers from dev01
    profs["MEE012 dev00"] = _piece_profile([t[2] for t in turns["MEE012"] if t[0] == "dev00"])

    def gen():
        k = 0
        for u, spk, _, test in units:
            for rep in range(2):
                seed = 8000 + k
                k += 1
                rng = np.random.default_rng(seed)
                raw = [test[j] for j in rng.permutation(len(test))]
                rf = float(rng.uniform(1.3, 1.7)) if rep == 0 else 1.0
                fr = float(rng.uniform(0.95, 1.08)) if rep == 0 else 1.0
                parts = []
                for i, y in enumerate(raw):
                    if rep == 0:
                        med = median_f0_hz(y)
                        y = change_gender(y, formant_ratio=fr, median_hz=med if med == med else 0.0, range_factor=rf,
                                          seed=seed * 10 + i)
                    parts += [at_db(y, -24 + float(rng.uniform(-8, 4))), np.zeros(int(SR * rng.uniform(0.3, 1.0)),
                                                                                  np.float32)]
                y = _noisy(np.concatenate(parts).astype(np.float32), seed)
                yield f"ami one {u} {'lively' if rep == 0 else 'levels'} s{seed}", y, None
        k = 0
        test_of = {spk: test for _, spk, _, test in units}  # an enrolled partner's answer: from a test stretch
        for u, spk, _, test in units:
            men = spk.startswith("M")
            same = (MEN_ANSWERS if men else WOMEN_ANSWERS + tuple(s for s in ("FEE078", "FEE083") if s != spk))
            cross = WOMEN_ANSWERS + ("FEE078", "FEE083") if men else MEN_ANSWERS + ("MEE009",)
            for b in same + cross:
                pool = test_of.get(b) if b in test_of else (
                    [t[2] for t in turns[b] if t[0] == "dev01"] if b == "MEE012" else [t[2] for t in turns[b]])
                ans = [p for p in pool if 0.8 * SR <= len(p) <= 4 * SR] or [min(pool, key=len)]
                for where in (("start", "mid", "end") if b in same else (None,)):
                    seed = 8500 + k
                    k += 1
                    rng = np.random.default_rng(seed)
                    where = where or ("start", "mid", "end")[int(rng.integers(3))]
                    a_turns = [test[j] for j in rng.permutation(len(test))]
                    pos = {"start": 0, "mid": len(a_turns) // 2, "end": len(a_turns)}[where]
                    seq = [(0, y) for y in a_turns]
                    seq.insert(pos, (1, ans[int(rng.integers(len(ans)))]))
                    parts, segs, at = [np.zeros(int(0.3 * SR), np.float32)], [[], []], int(0.3 * SR)
                    for w, y in seq:
                        y = at_db(y, -24 + float(rng.uniform(-3, 3)))
                        segs[w].append((at / SR, (at + len(y)) / SR))
                        g = np.zeros(int(SR * rng.uniform(0.3, 0.9)), np.float32)
                        parts += [y, g]
                        at += len(y) + len(g)
                    y = _noisy(np.concatenate(parts).astype(np.float32), seed)
                    yield f"ami two {u}+{b} {'same' if b in same else 'cross'} @{where} s{seed}", y, segs

    others = {"MEE009": ["MEE012 dev00"], "FEE078": [u for u, s, _, _ in units if s == "FEE083"],
              "FEE083": [u for u, s, _, _ in units if s == "FEE078"]}
    for nm, x, segs in cached("profile-ami", gen(), cache):
        u = next(u for u, _, _, _ in units if f" {u} " in nm or f" {u}+" in nm)
        spk = u.split()[0]
        if segs is None:
            yield "ami-one", nm, x, None, {"own": profs[u], **{f"other {o}": profs[o] for o in others[spk]}}
            continue
        b = nm.split("+")[1].split()[0]
        # an enrolled partner's answer came from its last unit's test stretch: enrolled from that unit's other one
        pb = {"MEE012": "MEE012 dev00"}.get(b) or ([v for v, s, _, _ in units if s == b] or [None])[-1]
        yield f"ami-two-{'same' if ' same ' in nm else 'cross'}", nm, x, segs, \
            {"first": profs[u], **({"second": profs[pb]} if pb else {})}
    # diarization.py's amireal recordings of dev00 / dev01, enrolled from the other excerpt
    dev = {uri: {s: _piece_profile([t[2] for t in turns[s] if t[0] == uri]) for s in ("MEE009",)}
           for uri in ("dev00", "dev01")}
    from diarization_single import bench_cases
    for nm, x, segs in cached("bench-amireal", bench_cases("amireal"), cache):
        uri = next((u for u in ("dev00", "dev01") if u in nm), None)
        if uri is None:
            continue
        other = "dev01" if uri == "dev00" else "dev00"
        if segs is None:
            yield "amireal-one", nm, x, None, {"own": dev[other]["MEE009"], "other MEE012": profs["MEE012 dev00"]}
        else:
            yield "amireal-two", nm, x, segs, {"MEE009": dev[other]["MEE009"]} | (
                {"MEE012": profs["MEE012 dev00"]} if uri == "dev01" else {})


# --------------------------------------------------------------------------- rules

def rules():
    """name -> rule(features of one profile on one two-voice answer) -> merge into one voice?"""
    out = {"limit (max(0.2, 3 x spread))": lambda v: max(v["dist"]) <= v["limit"]}
    for t in (0.15, 0.20, 0.25, 0.30):
        out[f"both <= {t:.2f}"] = (lambda t: lambda v: max(v["dist"]) <= t)(t)
    for t, m in ((0.25, 0.05), (0.30, 0.05), (0.30, 0.08), (0.35, 0.08), (0.40, 0.10)):
        out[f"both <= {t:.2f}, |d1-d0| <= {m:.2f}"] = (lambda t, m: lambda v: max(v["dist"]) <= t
                                                        and abs(v["dist"][0] - v["dist"][1]) <= m)(t, m)
    for q in (0.5, 0.7, 0.9):
        out[f"windows: smaller's within larger's p90 >= {q:.1f}"] = (
            lambda q: lambda v: v.get("win_within", 0.0) >= q)(q)
    return out


RULES = rules()


def voice_windows(x, d) -> list[np.ndarray]:
    """Per voice of a two-voice ``d``: unit embeddings (n, 256) of 1.5 s windows (0.75 s hop) over its own
    speech frames (only it speaks), as a profile is built (``profile_from_frames``); (0, 256) under 1.5 s."""
    from prosody.engine.embedding import VoiceEncoder, mel_frames
    from prosody.timebase import GRID
    m = np.asarray(x, np.float32)
    m = m.mean(axis=1) if m.ndim == 2 else m
    n = min(len(m) // GRID.hop_length, d.n_frames)
    speech = d.activity[:n].any(axis=1)
    frames = m[: n * GRID.hop_length].reshape(n, GRID.hop_length)
    rms = float(np.sqrt(np.mean(frames[speech] ** 2)))
    mel = mel_frames(m * (10 ** (-30 / 20) / max(rms, 1e-9)))[:n]
    out = []
    for k in (0, 1):
        idx = np.flatnonzero(d.activity[:n, k] & ~d.activity[:n, 1 - k])
        w = GRID.s_to_frames(1.5)
        if len(idx) < w:
            out.append(np.zeros((0, 256), np.float32))
            continue
        starts = np.arange(0, len(idx) - w + 1, GRID.s_to_frames(0.75))
        out.append(VoiceEncoder.load().embed_windows(mel[idx], starts=starts, n_frames=w))
    return out


def features(x, d, prof, wins=None) -> dict:
    """The two voices' centroids' cosine distances to the profile (``dist``), the lone-voice limit; where
    ``wins`` (``voice_windows``) is given, each voice's windows' distances (median; the smaller voice's share of
    windows within the larger voice's 90th percentile)."""
    out = {"dist": [prof.distance(c) for c in d.centroids], "limit": max(0.2, 3.0 * prof.spread),
           "spread": prof.spread}
    if wins is not None and d.n_voices == 2 and min(len(w) for w in wins) > 0:
        wd = [1.0 - w @ prof.mean for w in wins]
        big = int(np.argmax([len(w) for w in wins]))
        out["win_median"] = [float(np.median(v)) for v in wd]
        out["win_within"] = float(np.mean(wd[1 - big] <= np.percentile(wd[big], 90)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="wide,ami", help="comma-separated, of: " + ", ".join(SETS))
    ap.add_argument("--cache", help="folder (outside the repo) to keep made recordings and diarizations in")
    ap.add_argument("--dump", help="write per-recording results as JSON to this file")
    args = ap.parse_args()
    sets = [s for s in args.set.split(",") if s]
    bad = [s for s in sets if s not in SETS]
    if bad or not sets:
        print(f"diarization_profile: unknown set {', '.join(bad) or '(none)'}; sets: {', '.join(SETS)}",
              file=sys.stderr)
        return 2
    corpus = corpus_dir()
    if "ami" in sets and corpus is None:
        print("diarization_profile: no corpus (set PROSODY_CORPUS): the ami set is made from AMI speakers",
              file=sys.stderr)
        return 2
    rows = []
    for s in sets:
        gen = ami_cases(corpus, args.cache) if s == "ami" else espeak_cases(s, args.cache)
        for group, nm, x, segs, profiles in gen:
            h = hashlib.sha1(nm.encode()).hexdigest()[:16]
            key = Path(args.cache) / "profile-diar" / f"{h}.pkl" if args.cache else None
            d = None
            if key is not None and key.exists():
                d = pickle.loads(key.read_bytes())
            if d is None:
                d = diarize(x)
                if key is not None:
                    key.parent.mkdir(parents=True, exist_ok=True)
                    key.write_bytes(pickle.dumps(d))
            row = {"group": group, "name": nm, "truth": 1 if segs is None else 2, "voices": d.n_voices,
                   "unsure": bool(d.unsure), "share": [float(v) for v in d.voice_share], "profiles": {}}
            wins = None
            for role, p in profiles.items():
                if isinstance(p, tuple):  # espeak: (tag, voice), made here, in a room of its own draw
                    p = espeak_profile(p[1], seed=50000 + int(h[:4], 16) + (role == "own"))
                if d.n_voices == 2 and wins is None:
                    wins = voice_windows(x, d)
                row["profiles"][role] = features(x, d, p, wins)
            rows.append(row)
            f = row["profiles"]
            print(f"{group:18s} {nm[:70]:70s} v{d.n_voices}{' unsure' if d.unsure else ''} "
                  + " ".join(f"{r}:" + "/".join(f"{x:.3f}" for x in v["dist"]) + f"/{v['limit']:.2f}"
                             + ("" if "win_within" not in v else " w" + "/".join(f"{x:.3f}" for x in v["win_median"])
                                + f" in{v['win_within']:.2f}") for r, v in f.items()),
                  flush=True)
    if args.dump:
        Path(args.dump).write_text(json.dumps(rows, indent=1))
    summary(rows)
    return 0


def summary(rows) -> None:
    groups = sorted({r["group"] for r in rows})
    print()
    for g in groups:
        rs = [r for r in rows if r["group"] == g]
        one = rs[0]["truth"] == 1
        n = len(rs)
        found = sum(r["voices"] == (1 if one else 2) for r in rs)
        print(f"{g}: {n} recordings, {'one voice kept whole' if one else 'two voices found'} {found}/{n} "
              "without a profile")
        roles = sorted({k for r in rs for k in r["profiles"]})
        if one:  # a lone voice found: therapist / unnamed / client, before (the old limit) and after
            lone = [r for r in rs if r["voices"] == 1 and not r["unsure"]]
            near, floor = LONE_VOICE_THERAPIST_WITHIN, LONE_VOICE_CLIENT_BEYOND
            for when, rule in (("before (within max(0.2, 3 x spread))",
                                lambda v: "t" if v["dist"][0] <= v["limit"] else "c"),
                               (f"after (within {near:.2f}, beyond max({floor:.2f}, 3 x spread))",
                                lambda v: "t" if v["dist"][0] <= near else
                                "c" if v["dist"][0] > max(floor, 3 * v["spread"]) else "u")):
                cells = []
                for role in roles:
                    got = [rule(r["profiles"][role]) for r in lone if role in r["profiles"]]
                    cells.append(f"profile {role}: " + "/".join(str(got.count(k)) for k in "tuc"))
                print(f"   lone voice named therapist/unnamed/client, {when}: " + "; ".join(cells))
        for name, rule in RULES.items():
            cells = []
            for role in roles:
                hit = sum(1 for r in rs if role in r["profiles"] and r["voices"] == 2 and rule(r["profiles"][role]))
                if one and role == "own":
                    cells.append(f"kept whole {found + hit}/{n}")
                elif one:
                    cells.append(f"merged, profile {role}: {hit}")
                else:
                    cells.append(f"lost, profile {role}: {hit}")
            print(f"   {name:34s} " + "; ".join(cells))


if __name__ == "__main__":
    sys.exit(main())
