"""A lone voice and a voice profile: is it the enrolled person, another, or can prosody not tell (docs/speakers.md,
fifty-third round)?

``name_voices`` names a lone diarized voice (and ``name_channels`` a lone channel) from its cosine distance to the
therapist's voice profile. This script measures those distances on AMI voices, each enrolled from **other
material** than it is heard in (its turns in time order cut at half their speech: one half enrols, the other is
the lone recording), the enrolment made under conditions the lone recording does not share:

* ``clean`` (as recorded, -24 dB), ``quiet`` (-38 dB), ``room`` (RT60 0.6 s, the direct path 3 dB over the tail),
  ``phone`` (8 kHz band, ``unseen_material.through_8k``), ``mp3`` (32 kbit/s), ``opus`` (16 kbit/s), ``noise20`` /
  ``noise30`` (white noise 20 / 30 dB under the speech), ``hum`` (``unseen_material.hum_and_fan`` 20 dB under it);
* the voices: the real AMI speakers with enough speech (MEE009, MEE012, FEE078, FEE083: the **tuning** voices) and
  Praat-transformed ones (``unseen_material.VOICES``: MEE009 low, MEE012 high, FEE078 lively, FEE083 flat,
  MEE075>F: the **fresh** voices, read once).

The lone recording (the test half's turns at -32..-20 dB, gaps of 0.3-1.0 s) is diarized (``diarize``) and its one
voice's centroid scored against: its own profile (each half, each condition), every other voice's profile whose
speaker is another person (same sex and cross sex; a transformed voice and its source are not counted as two
people). Printed per rule (``RULES``: the old one limit, a near and a far bar; the kept one, within
``LONE_VOICE_THERAPIST_WITHIN`` and beyond ``client_bar``): own voice named right / left unnamed / named wrong;
another person's named the therapist / unnamed / the client. The espeak figures (own profile from another room; a
near-alike voice) are those of ``diarization_profile.py`` (its ``--dump``), read with ``--espeak FILE``.

``--two``: ``diarization_profile.py``'s AMI two-voice recordings (from its ``--cache``) scored against profiles of
people not in them, against the enrolled person's own: how near the nearer voice lies.

    python benchmarks/lone_voice.py [--cache DIR] [--espeak wide.json,fresh6.json] [--two DIR]
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np
from scipy import signal

from _common import at_db, corpus_dir, halves
from prosody.engine.diarize import diarize
from prosody.errors import InputError
from prosody.engine.speakers import LONE_VOICE_CLIENT_BEYOND, LONE_VOICE_THERAPIST_WITHIN, build_profile

SR = 16000
CONDITIONS = ("clean", "quiet", "room", "phone", "mp3", "opus", "noise20", "noise30", "hum")
TUNING = ("MEE009", "MEE012", "FEE078", "FEE083")
FRESH = ("MEE009 low", "MEE012 high", "FEE078 lively", "FEE083 flat", "MEE075>F")
SEX = {"MEE009": "m", "MEE012": "m", "FEE078": "f", "FEE083": "f", "MEE009 low": "m", "MEE012 high": "m",
       "FEE078 lively": "f", "FEE083 flat": "f", "MEE075>F": "f"}


def source(v: str) -> str:
    return v.split()[0].split(">")[0]




def _pieces(v: str, corpus: Path) -> list[np.ndarray]:
    if v in TUNING:
        from diarization_profile import _ami_turns
        global _TURNS
        if "_TURNS" not in globals():
            _TURNS = _ami_turns(corpus)
        return [t[2] for t in _TURNS[v]]
    from unseen_material import voice_pieces
    return voice_pieces(v, corpus)


def _codec(y: np.ndarray, codec: str) -> np.ndarray:
    import subprocess
    import tempfile

    import soundfile as sf
    if codec == "mp3":
        from unseen_material import through_mp3
        return through_mp3(y[:, None])[:, 0]
    with tempfile.TemporaryDirectory() as d:
        src, enc, back = Path(d) / "a.wav", Path(d) / "a.ogg", Path(d) / "b.wav"
        sf.write(src, y, SR, subtype="FLOAT")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "libopus", "-b:a", "16k", str(enc)],
                       check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(enc), "-ar", str(SR), "-ac", "1", str(back)],
                       check=True)
        z, _ = sf.read(back, dtype="float32")
    return z[: len(y)] if len(z) >= len(y) else np.concatenate([z, np.zeros(len(y) - len(z), np.float32)])


def enrolment(pieces, cond: str, seed: int) -> np.ndarray:
    """The enrolling half under ``cond`` (module docstring), float32 at 16 kHz."""
    y = np.concatenate([np.concatenate([p, np.zeros(int(0.4 * SR), np.float32)]) for p in pieces])
    y = at_db(y, -38 if cond == "quiet" else -24).astype(np.float64)
    rng = np.random.default_rng(seed)
    if cond == "room":
        from tests.dialogue import _room_response
        h = _room_response(rng, rt60_s=0.6, sample_rate=SR, drr_db=3.0)
        y = at_db(signal.fftconvolve(y, h)[: len(y)], -24)
    elif cond == "phone":
        from unseen_material import through_8k
        y = through_8k(y[:, None])[:, 0]
    elif cond in ("mp3", "opus"):
        y = _codec(y.astype(np.float32), cond)
    elif cond.startswith("noise") or cond == "hum":
        act = np.abs(y) > 1e-4
        speech_db = 10 * np.log10(np.mean(y[act] ** 2))
        under = 20 if cond in ("noise20", "hum") else 30
        if cond == "hum":
            from unseen_material import hum_and_fan
            nz = hum_and_fan(len(y), seed)
        else:
            nz = rng.standard_normal(len(y))
        y = y + nz * 10 ** ((speech_db - under) / 20)
    y = y + rng.standard_normal(len(y)) * 10 ** (-62 / 20)
    return y.astype(np.float32)


def lone(pieces, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(0.3 * SR), np.float32)]
    for j in rng.permutation(len(pieces)):
        parts += [at_db(pieces[j], -24 + float(rng.uniform(-8, 4))),
                  np.zeros(int(SR * rng.uniform(0.3, 1.0)), np.float32)]
    y = np.concatenate(parts).astype(np.float32)
    return y + rng.standard_normal(len(y)).astype(np.float32) * 10 ** (-62 / 20)


def measure(corpus: Path, cache: str | None) -> list[dict]:
    key = Path(cache) / "lone-voice.pkl" if cache else None
    if key is not None and key.exists():
        return pickle.loads(key.read_bytes())
    tests, profiles = {}, {}
    for i, v in enumerate(TUNING + FRESH):
        own = halves(_pieces(v, corpus))
        for h in (0, 1):
            x = lone(own[1 - h], 9000 + 10 * i + h)
            d = diarize(x)
            tests[(v, 1 - h)] = {"voices": d.n_voices, "unsure": bool(d.unsure),
                                 "centroid": d.centroids[int(np.argmax(d.voice_share))] if d.n_voices else None,
                                 "s": sum(len(p) for p in own[1 - h]) / SR}
            for c, cond in enumerate(CONDITIONS):
                try:
                    profiles[(v, h, cond)] = build_profile(enrolment(own[h], cond, 9500 + 100 * i + 10 * h + c))
                except InputError as exc:  # enrol refuses it (too little speech heard): no profile to name with
                    print(f"  {v} half {h} {cond}: not enrolled ({exc})", file=sys.stderr, flush=True)
            print(f"  {v} half {h}: {tests[(v, 1 - h)]['s']:.1f} s lone, {d.n_voices} voice(s)", file=sys.stderr,
                  flush=True)
    rows = []
    for (v, h, cond), p in profiles.items():
        for (w, th), t in tests.items():
            if t["centroid"] is None or (w == v and th == h):
                continue
            kind = "own" if w == v else "same-source" if source(w) == source(v) else (
                "same-sex" if SEX[w] == SEX[v] else "cross-sex")
            rows.append({"profile": v, "half": h, "cond": cond, "voice": w, "kind": kind,
                         "set": "fresh" if (v in FRESH or w in FRESH) else "tuning",
                         "lone": t["voices"] == 1 and not t["unsure"], "spread": p.spread,
                         "dist": p.distance(t["centroid"])})
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(pickle.dumps(rows))
    return rows


def two_voice_rows(corpus: Path, cache: str) -> list[dict]:
    """``diarization_profile.py``'s AMI two-voice recordings (its ``ami`` set, diarized in its ``--cache``), each
    scored against every enrolled AMI profile: the enrolled person one of the two voices, or neither (min of
    the two centroids' distances)."""
    import hashlib

    from diarization_profile import _piece_profile, ami_cases, ami_units, _ami_turns
    turns = _ami_turns(corpus)
    pool = {u: (spk, _piece_profile(en)) for u, spk, en, _ in ami_units(turns)}
    pool["MEE012 dev00"] = ("MEE012", _piece_profile([t[2] for t in turns["MEE012"] if t[0] == "dev00"]))
    out = []
    for group, nm, _, segs, _ in ami_cases(corpus, cache):
        if segs is None or not group.startswith("ami-two"):
            continue
        key = Path(cache) / "profile-diar" / f"{hashlib.sha1(nm.encode()).hexdigest()[:16]}.pkl"
        if not key.exists():
            continue
        d = pickle.loads(key.read_bytes())
        if d.n_voices != 2:
            continue
        u0 = next(u for u in pool if f" {u}+" in nm)
        a, b = pool[u0][0], nm.split("+")[1].split()[0]
        # the enrolled voice's profile from other material than it is heard in (as diarization_profile.py
        # pairs them): the dominant's unit; an answer from its speaker's last unit's test stretch
        own = {a: u0, b: "MEE012 dev00" if b == "MEE012" else ([u for u in pool if pool[u][0] == b] or [None])[-1]}
        for u, (spk, p) in pool.items():
            if spk in own and u != own[spk]:
                continue
            dist = [p.distance(c) for c in d.centroids]
            kind = ("enrolled dominant" if spk == a else "enrolled answers" if spk == b else
                    "neither, same sex" if spk[0] == a[0] else "neither, cross sex")
            out.append({"name": nm, "kind": kind, "dist": dist})
    return out


def old_rule(d, spread):
    lim = max(0.2, 3.0 * spread)
    return "t" if d <= lim else "c"


def band_rule(near, far):
    return lambda d, spread: "t" if d <= near else "c" if d >= far else "u"


RULES = {"before: max(0.2, 3 x spread)": old_rule}
for _n in (0.12, 0.15, 0.18, 0.20):
    for _f in (0.30, 0.35, 0.40):
        RULES[f"within {_n:.2f} / beyond {_f:.2f}"] = band_rule(_n, _f)
for _n in (0.15, 0.18):
    RULES[f"within {_n:.2f} / beyond max(0.25, 3 x spread)"] = (
        lambda n: lambda d, spread: "t" if d <= n else "c" if d > max(0.25, 3 * spread) else "u")(_n)
RULES["after (kept): within LONE_VOICE_THERAPIST_WITHIN / beyond client_bar"] = (
    lambda d, spread: "t" if d <= LONE_VOICE_THERAPIST_WITHIN else "c" if d > max(LONE_VOICE_CLIENT_BEYOND,
                                                                                   3 * spread) else "u")


def rates(items, rule, own: bool) -> str:
    """``items``: (distance, spread). Own: right / unnamed / wrong; another's: therapist / unnamed / client."""
    got = [rule(d, s) for d, s in items]
    n = max(len(got), 1)
    t, u, c = (got.count(k) for k in "tuc")
    return (f"{t}/{u}/{c}" if own else f"{t}/{u}/{c}") + f" ({100 * t / n:.0f}/{100 * u / n:.0f}/{100 * c / n:.0f} %)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", help="folder (outside the repo) to keep the measured distances in")
    ap.add_argument("--two", help="diarization_profile.py's --cache folder: its AMI two-voice recordings scored "
                                  "against enrolled profiles of people not in them")
    ap.add_argument("--espeak", help="comma-separated diarization_profile.py --dump files (wide / fresh6)")
    args = ap.parse_args()
    corpus = corpus_dir()
    if corpus is None:
        print("lone_voice: no corpus (set PROSODY_CORPUS): the voices are AMI speakers", file=sys.stderr)
        return 2
    rows = [r for r in measure(corpus, args.cache) if r["lone"]]
    groups = {}
    for split in ("tuning", "fresh"):
        for kind in ("own", "same-sex", "cross-sex"):
            groups[f"AMI {split} {kind}"] = [(r["dist"], r["spread"]) for r in rows
                                             if r["set"] == split and r["kind"] == kind]
    for f in (args.espeak or "").split(","):
        if not f:
            continue
        for r in json.loads(Path(f).read_text()):
            if r["truth"] != 1 or r["voices"] != 1 or r["unsure"]:
                continue
            tag = r["group"].split("-")[0]
            for role, kind in (("own", "own"), ("other", "near-alike")):
                if role in r["profiles"]:
                    v = r["profiles"][role]
                    groups.setdefault(f"espeak {tag} {kind}", []).append((v["dist"][0], v["spread"]))
    print("distances (cosine, centroid of the lone voice to the profile):")
    for g, items in groups.items():
        d = np.array([x for x, _ in items])
        if len(d):
            print(f"  {g:26s} n={len(d):4d} min {d.min():.3f} p10 {np.percentile(d, 10):.3f} median "
                  f"{np.median(d):.3f} p90 {np.percentile(d, 90):.3f} max {d.max():.3f}")
    print("\nper enrolment condition, own voice (AMI, tuning + fresh): min / median / max")
    for cond in CONDITIONS:
        d = np.array([r["dist"] for r in rows if r["kind"] == "own" and r["cond"] == cond])
        o = np.array([r["dist"] for r in rows if r["kind"] == "same-sex" and r["cond"] == cond])
        print(f"  {cond:8s} own {d.min():.3f} / {np.median(d):.3f} / {d.max():.3f}; same-sex other "
              f"{o.min():.3f} / {np.median(o):.3f} / {o.max():.3f}")
    if args.two:
        two = two_voice_rows(corpus, args.two)
        bars = (0.15, 0.20, 0.25, 0.30)
        print("\ntwo voices: the nearer voice's distance to the profile (min / p10 / median / p90 / max); share with "
              "both voices beyond " + ", ".join(f"{b:.2f}" for b in bars))
        for kind in ("enrolled dominant", "enrolled answers", "neither, same sex", "neither, cross sex"):
            m = np.array([min(r["dist"]) for r in two if r["kind"] == kind])
            if len(m):
                print(f"  {kind:20s} n={len(m):4d} {m.min():.3f} / {np.percentile(m, 10):.3f} / {np.median(m):.3f} / "
                      f"{np.percentile(m, 90):.3f} / {m.max():.3f}; "
                      + ", ".join(f"{np.mean(m > b) * 100:.0f} %" for b in bars))
    print("\nrates: own voice named right / unnamed / wrong; another's named the therapist / unnamed / the client")
    for name, rule in RULES.items():
        print(f"  {name}")
        for g, items in groups.items():
            if items:
                print(f"    {g:26s} {rates(items, rule, g.endswith('own'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
