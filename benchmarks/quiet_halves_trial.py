"""Trial (not in the code): a file loud in one half and 45 dB quieter in the other, heard with a gain per stretch
(docs/store.md "Hostile sweep 22's leftovers, second part").

The planted ``scenario_mixed`` dialogues (seeds 3, 4, 5) at -20 dBFS, one half (first: 0, second: 1, none: None)
45 dB down from the middle sample, as separate / mono / shared float WAVs in digital silence or over noise at -100
dBFS (as ``quiet_speech.py --halves``). Two ways of hearing each stretch at its own level, scored as that benchmark
(talk share within 0.03, both median waits within 0.1 s, talk-overs as planted):

* ``--split``: each half analysed as a file of its own (each then heard at its own whole-file gain,
  ``engine.vad.hearing_gain_db``), the halves' figures pooled (speech time, the transitions' offsets, talk-overs):
  a bound on what a gain per stretch could give, the file without the drop cut alike as its reference;
* ``--stretch S``: the whole file analysed, every ``RawVad`` of the analysis (the diarizer's, the layout probe's, the
  voices') hearing its input times the gain of its frame's stretch of S seconds (the rule of ``hearing_gain_db`` on
  the stretch's frames, the channels averaged): the speech detection alone heard per stretch.

    PYTHONPATH=. python benchmarks/quiet_halves_trial.py --split | --stretch 10
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO  # noqa: F401  (puts the repository on sys.path)
from quiet_speech import SHARE_TOL, WAIT_TOL, analyse, layout_audio, planted
from tests.dialogue import CLIENT, THERAPIST, build_dialogue, scenario_mixed

_GAIN: dict = {"g": None}


def _hear_per_stretch() -> None:
    import prosody.engine.vad as vad
    plain = vad.RawVad._push

    def push(self, frames, *, detail):
        g = _GAIN["g"]
        if g is not None and len(frames):
            k = np.clip(np.arange(self.floor.frames_seen, self.floor.frames_seen + len(frames)), 0, len(g) - 1)
            frames = frames * (10.0 ** (g[k] / 20.0))[:, None]
        return plain(self, frames, detail=detail)
    vad.RawVad._push = push


def _stretch_gains(x: np.ndarray, stretch_s: float) -> np.ndarray:
    from prosody.engine.speakers import _vad_levels_db
    from prosody.engine.vad import hearing_gain_db
    from prosody.engine.views import ChannelMean
    n = len(x) // 160
    lv = _vad_levels_db(ChannelMean(x.astype(np.float32)), n)
    m, g = int(stretch_s * 100), np.zeros(n)
    for a in range(0, n, m):
        g[a:a + m] = hearing_gain_db(lv[a:a + m])
    return g


def _figures(docs) -> tuple[float, dict, dict]:
    sp, offs, over = {THERAPIST: 0.0, CLIENT: 0.0}, {THERAPIST: [], CLIENT: []}, {THERAPIST: 0, CLIENT: 0}
    for d in docs:
        for s in sp:
            v = d["speakers"].get(s) or {}
            sp[s] += v.get("speech_s") or 0.0
            over[s] += v.get("interruptions") or 0
        for t in d.get("transitions") or []:
            if t["to_speaker"] in offs:
                offs[t["to_speaker"]].append(t["offset_s"])
    if len(docs) == 1:  # the session's own medians
        waits = {s: (docs[0]["speakers"].get(s) or {}).get("gap_median_s") for s in sp}
    else:
        waits = {s: (float(np.median(v)) if v else None) for s, v in offs.items()}
    return sp[THERAPIST] / max(sp[THERAPIST] + sp[CLIENT], 1e-9), waits, over


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    how = ap.add_mutually_exclusive_group(required=True)
    how.add_argument("--split", action="store_true")
    how.add_argument("--stretch", type=float)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/quiet_halves_trial"))
    a = ap.parse_args()
    a.cache.mkdir(parents=True, exist_ok=True)
    if a.stretch:
        _hear_per_stretch()
    right: dict = {}
    for seed in (3, 4, 5):
        dlg = build_dialogue(scenario_mixed(seed=seed), level_db=(-20.0, -20.0), noise_db=None, seed=seed)
        truth = planted(dlg.truth)
        for noise in ("none", "-100"):
            rng = np.random.default_rng(1000 + seed)
            for layout in ("separate", "mono", "shared"):
                for half in (0, 1, None):
                    x = layout_audio(np.asarray(dlg.audio), layout)
                    mid = len(x) // 2
                    if half is not None:
                        x[(slice(0, mid) if half == 0 else slice(mid, None))] *= 10 ** (-45 / 20)
                    if noise != "none":
                        x = x + rng.standard_normal(x.shape) * 1e-5
                    parts = (x[:mid], x[mid:]) if a.split else (x,)
                    docs = []
                    for k, part in enumerate(parts):
                        p = a.cache / f"s{seed}_{layout}_{noise}_{half}_{k}.wav"
                        sf.write(p, part.astype(np.float32), 16000, subtype="FLOAT")
                        _GAIN["g"] = _stretch_gains(part, a.stretch) if a.stretch else None
                        docs.append(analyse(p))
                    share, waits, over = _figures(docs)
                    ok = (abs(share - truth["share"]) <= SHARE_TOL and over == truth["over"]
                          and all(waits[s] is not None and abs(waits[s] - truth["wait"][s]) <= WAIT_TOL for s in waits))
                    right.setdefault((layout, noise, half), []).append(ok)
                    print(seed, layout, noise, half, f"share {share:.2f} ({truth['share']:.2f}) waits", waits,
                          "talk-overs", over, ok, flush=True)
    for k, v in right.items():
        print(k, f"{sum(v)}/{len(v)}")


if __name__ == "__main__":
    sys.exit(main())
