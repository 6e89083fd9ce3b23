"""The measures of one mix's two voices against the same dialogue on separate channels (docs/store.md "Hostile
sweep 22's leftovers, second part").

Planted dialogues, each written as separate channels (a voice each) and as their mono mix (x 0.7), analysed by
``prosody analyze --json``; printed per material: the attunement's intensity figures (proximity, synchrony,
convergence; the arousal co-regulation), voice quality (jitter, shimmer, HNR, CPPS per voice) and the listener
events (backchannels, failed interruptions, talk-overs per voice), separate / mono, and the mono figure's distance
from the separate one. Material: the fixture dialogue (fixtures/dialogue.flac), ``scenario_mixed`` seeds 3 and 4
(espeak-ng, -20 dBFS, noise -80 dBFS) and AMI voices placed as turns (``ami_dialogue(seed=2, trim_db=35)``).

    PYTHONPATH=. python benchmarks/mix_measures.py [--cache /tmp/mix_measures] [--only fixture s3]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO, corpus_dir
from quiet_speech import analyse, layout_audio

SR = 16000
VQ = ("jitter_local", "shimmer_local", "hnr_db", "cpps_db")


def materials(only):
    from tests.dialogue import ami_dialogue, build_dialogue, scenario_mixed
    if not only or "fixture" in only:
        audio, _ = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float32")
        yield "fixture", np.asarray(audio, np.float64)
    for seed in (3, 4):
        if not only or f"s{seed}" in only:
            d = build_dialogue(scenario_mixed(seed=seed), level_db=(-20.0, -20.0), noise_db=-80.0, seed=seed)
            yield f"s{seed}", np.asarray(d.audio, np.float64)
    c = corpus_dir()
    if c is not None and (not only or "ami" in only):
        yield "ami", np.asarray(ami_dialogue(c, seed=2, trim_db=35).audio, np.float64)


_EXCHANGES: list = []


def _catch_exchanges():
    """Keep the exchanges (with their IPU features) of the widest slice the attunement reads: the session's."""
    import importlib
    att = importlib.import_module("prosody.measures.attunement")
    plain = att.exchanges

    def caught(sl, cfg):
        ex = plain(sl, cfg)
        if not _EXCHANGES or sl.frame1 - sl.frame0 >= _EXCHANGES[0]:
            _EXCHANGES[:] = [sl.frame1 - sl.frame0, ex]
        return ex
    att.exchanges = caught


def _z_ipus(ex) -> dict:
    """(time, side) -> the IPU intensity z-scored over the speaker's IPUs in the exchanges (as the attunement)."""
    vals: dict = {}
    for x in ex:
        for side, spk in (("a", x["from"]), ("b", x["to"])):
            if x[side]["intensity"] is not None:
                vals.setdefault(spk, []).append(x[side]["intensity"])
    st = {s: (np.mean(v), np.std(v) or 1.0) for s, v in vals.items()}
    return {(round(x["time_s"], 1), side, spk): (x[side]["intensity"] - st[spk][0]) / st[spk][1]
            for x in ex for side, spk in (("a", x["from"]), ("b", x["to"])) if x[side]["intensity"] is not None}


def ipu_distance(sep: list, mono: list) -> tuple[float, int]:
    """Mean |z mono - z separate| of the IPU intensities of the exchanges found in both (by time within 0.1 s)."""
    a, b = _z_ipus(sep), _z_ipus(mono)
    d = []
    for (t, side, spk), z in a.items():
        near = [v for (u, s2, k2), v in b.items() if s2 == side and k2 == spk and abs(u - t) <= 0.1 + 1e-9]
        if near:
            d.append(abs(near[0] - z))
    return (float(np.mean(d)) if d else float("nan")), len(d)


def figures(doc) -> dict:
    m, out = doc["measures"], {}
    att = m.get("attunement") or {}
    for part in ("proximity", "synchrony", "convergence"):
        out[f"att {part} intensity"] = ((att.get(part) or {}).get("intensity") or {}).get("value")
    out["att arousal co-regulation"] = (att.get("arousal_coregulation") or {}).get("value")
    for who, vq in sorted((m.get("voice_quality") or {}).items()):
        for k in VQ:
            out[f"vq {who} {k}"] = vq.get(k)
    for who in ("therapist", "client"):
        for kind in ("backchannel", "failed_interruption", "interruption"):
            out[f"ev {who} {kind}"] = sum(1 for e in doc["events"] if e["speaker"] == who and e["kind"] == kind)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mix_measures"))
    ap.add_argument("--only", nargs="*", default=())
    a = ap.parse_args()
    a.cache.mkdir(parents=True, exist_ok=True)
    _catch_exchanges()
    for name, audio in materials(a.only):
        got, ex = {}, {}
        for layout in ("separate", "mono"):
            p = a.cache / f"{name}_{layout}.wav"
            sf.write(p, layout_audio(audio, layout).astype(np.float32), SR, subtype="FLOAT")
            _EXCHANGES[:] = []
            got[layout] = figures(analyse(p))
            ex[layout] = _EXCHANGES[1] if _EXCHANGES else []
        dist, n = ipu_distance(ex["separate"], ex["mono"])
        print(f"== {name}: IPU intensity (z), mean |mono - separate| over {n} IPUs of both: {dist:.3f}")
        print(f"== {name}: figure | separate | mono | |mono - separate|")
        for k, v in got["separate"].items():
            w = got["mono"].get(k)
            d = "" if v is None or w is None else f"{abs(w - v):.4g}"
            print(f"  {k:36s} | {v} | {w} | {d}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
