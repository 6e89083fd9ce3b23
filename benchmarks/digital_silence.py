"""Figures of a dialogue padded with digital silence against the same dialogue unpadded (docs/speakers.md,
"Eighty-third round ... leading digital silence (ds92)").

A live capture starts with exact zeros (1.4 s before the playback, 0.7 s after it; walk60). For ``scenario_mixed``
dialogues (seeds 3 and 5) on a channel each, mixed to one channel and on a shared table recorder, each written as a
16-bit file as it is and padded with zeros (0.3 / 0, 1.4 / 0.7, 3 / 0, 0 / 0.7 s before / after) or with real noise
at -80 dBFS (1.4 / 0.7 s: not digital silence), ``prosody analyze --json`` per file; prints per case and speaker the
padded figures less the unpadded ones (speech s, talk share, median wait s, turns, backchannels, overlaps, typical
pitch Hz). They should all be 0 but the real-noise rows (only a shift in time). ``--json OUT`` keeps the figures."""
from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np

from _common import REPO  # noqa: F401  (puts the repo on sys.path)

KEYS = ("speech_s", "talk_share", "gap_median_s", "n_turns", "backchannels", "overlaps", "f0_median_hz")
CASES = (("0/0", 0.0, 0.0, None), ("0.3/0", 0.3, 0.0, None), ("1.4/0.7", 1.4, 0.7, None), ("3/0", 3.0, 0.0, None),
         ("0/0.7", 0.0, 0.7, None), ("noise1.4", 1.4, 0.7, -80.0))
SR = 16000


def _figures(y: np.ndarray, folder: str) -> dict:
    import soundfile as sf
    from tests.conftest import run_cli
    path = os.path.join(folder, "case.wav")
    sf.write(path, y, SR, subtype="PCM_16")
    if os.path.exists(path + ".json"):
        os.remove(path + ".json")
    rc, _, err = run_cli("analyze", path, "--json", path + ".json", "--quiet", "--no-progress")
    if rc != 0:
        raise SystemExit(err)
    with open(path + ".json") as f:
        speakers = json.load(f)["speakers"]
    return {s: [speakers[s].get(k) for k in KEYS] for s in sorted(speakers)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--json", help="write every case's figures to this file")
    args = ap.parse_args()
    from tests.dialogue import build_dialogue, mix_room, scenario_mixed
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            d = build_dialogue(scenario_mixed(seed=seed), noise_db=None, seed=seed)
            for layout in ("separate", "mono", "shared"):
                x = d.audio if layout == "separate" else mix_room(d, layout=layout, seed=seed)[0]
                base = None
                for name, lead, tail, noise_db in CASES:
                    rng = np.random.default_rng(seed)

                    def pad(s):
                        shape = (int(round(s * SR)),) + x.shape[1:]
                        noise = 0.0 if noise_db is None else 10 ** (noise_db / 20)
                        return np.zeros(shape) if noise_db is None else rng.standard_normal(shape) * noise
                    fig = _figures(np.concatenate([pad(lead), x, pad(tail)]), folder)
                    out[f"{seed} {layout} {name}"] = fig
                    base = base or fig
                    moved = " | ".join(f"{s}: " + " ".join(f"{k} {a - b:+.4g}" for k, a, b in zip(KEYS, fig[s], base[s])
                                                            if a is not None and b is not None) for s in fig)
                    print(f"{seed} {layout:8s} {name:8s} {moved}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
