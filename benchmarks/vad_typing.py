"""Voice activity with keyboard typing (a therapist taking notes on the laptop that carries the
microphone): frame F1 against planted truth, with and without the voiced anchors.

Material (``tests/keyboard.py``: keystrokes with resonances and releases, in words and bursts,
in a room of 0.15-0.6 s reverberation):
- the six AMI excerpts (RTTM truth) with typing at peaks 12, 6 and 0 dB under the speech's;
- the fixture monologue (planted truth) with typing at the same peaks;
- separate channels, espeak dialogues (``tests/dialogue.py``): the therapist types while the client
  speaks, on the therapist's channel: therapist speech outside the planted, and events;
- typing alone, 60 s per seed over a -65 dBFS room floor: seconds taken for speech.
Each on a one-speaker channel: prosody as configured (voiced anchors, ``VadConfig.voiced_trail_s``),
prosody without them (``voiced_trail_s = 0``), and the anchor (raw webrtcvad, mode 2, 200 ms
hangover). No target of its own; issue 2's clean figures (mean F1 >= 0.94, no file below 0.88)
are ``vad_ami.py``'s, the noise figures ``vad_noise.py``'s.

    python benchmarks/vad_typing.py [--seeds 8]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import AMI_FILES, corpus_dir, frame_mask, rttm_segments
from vad_ami import raw_webrtc_hangover
from vad_noise import scores

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.keyboard import typing, with_typing  # noqa: E402

from prosody.config import AnalysisConfig, VadConfig  # noqa: E402
from prosody.session import analyze_blocks  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONFIGS = {"prosody": AnalysisConfig(), "no click rule": AnalysisConfig(vad=VadConfig(click_attack_db=0.0))}
NAMES = list(CONFIGS) + ["webrtc+200ms"]


def speech_of(y: np.ndarray) -> dict[str, np.ndarray]:
    out = {name: np.asarray(analyze_blocks([y[:, None]], ("speaker",), cfg).frames["speaker"]["is_speech"], bool)
           for name, cfg in CONFIGS.items()}
    out["webrtc+200ms"] = raw_webrtc_hangover(y)
    return out


def trimmed_scores(pred: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    """``vad_noise.scores`` over the frames both have."""
    n = min(len(pred), len(ref))
    return scores(pred[:n], ref[:n])


def line(label: str, got: dict[str, list]) -> str:
    parts = []
    for name in NAMES:
        a = np.array(got[name])
        parts.append(f"{name} F1 {a[:, 0].mean():.3f} (worst {a[:, 0].min():.3f}; P {a[:, 1].mean():.2f} "
                     f"R {a[:, 2].mean():.2f})")
    return f"{label:26} " + "   ".join(parts)


def monologue() -> tuple[np.ndarray, np.ndarray]:
    x, _ = sf.read(FIXTURES / "mono_therapist.wav", dtype="float32")
    segs = json.loads((FIXTURES / "mono_therapist.truth.json").read_text())["segments"]["therapist"]
    t = (np.arange(len(x) // 160) + 0.5) * 0.01
    truth = np.zeros(len(t), bool)
    for a, b in segs:
        truth |= (t >= a) & (t < b)
    return x, truth


def dialogues(n_seeds: int) -> None:
    """Separate channels (a headset each): the therapist types while the client speaks, on the
    therapist's channel, at peaks 6 dB under the therapist's speech. Therapist speech found
    outside the planted (0.2 s either side) and the therapist's events against the planted."""
    from tests.dialogue import build_dialogue, scenario_mixed
    runs = [(name, cfg, True) for name, cfg in CONFIGS.items()] + [("prosody, no typing", AnalysisConfig(), False)]
    for name, cfg, keys in runs:
        outside, found_s, truth_s, right, planted, extra = 0, 0.0, 0.0, 0, 0, 0
        for seed in range(n_seeds):
            d = build_dialogue(scenario_mixed(seed=40 + seed), level_db=(-22.0, -22.0), noise_db=-70.0, seed=seed)
            x, sr = d.audio.copy(), d.sample_rate
            client = np.zeros(len(x), bool)
            for a, b in d.truth.client_segments:
                client[int(a * sr):int(b * sr)] = True
            if keys:
                x[:, 0] = with_typing(x[:, 0], typing(np.random.default_rng(700 + seed), len(x)) * client, -6.0)
            s = analyze_blocks([x], ("therapist", "client"), cfg)
            v = np.asarray(s.frames["therapist"]["is_speech"], bool)
            t = (np.arange(len(v)) + 0.5) * 0.01
            own = np.zeros(len(v), bool)
            for a, b in d.truth.therapist_segments:
                own |= (t >= a - 0.2) & (t < b + 0.2)
            outside += int((v & ~own).sum())
            found_s += v.sum() * 0.01
            truth_s += sum(b - a for a, b in d.truth.therapist_segments)
            want = sorted(e.kind for e in d.truth.events if e.speaker == "therapist")
            got = sorted(e["kind"] for e in s.to_json_dict()["events"] if e["speaker"] == "therapist")
            planted += len(want)
            right += sum(min(want.count(k), got.count(k)) for k in set(want))
            extra += max(0, len(got) - sum(min(want.count(k), got.count(k)) for k in set(got)))
        print(f"dialogues, therapist typing while the client speaks ({n_seeds}): {name}: therapist speech "
              f"{found_s:.1f} s (planted {truth_s:.1f} s), {outside / 100:.1f} s outside the planted; "
              f"therapist events right {right}/{planted}, extra {extra}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=8, help="typing-alone recordings of 60 s")
    args = ap.parse_args()
    corpus = corpus_dir()
    material = []
    if corpus is None:
        print("corpus not found (set PROSODY_CORPUS): the AMI lines are left out")
    else:
        for uri in AMI_FILES:
            x, _ = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
            material.append(("AMI", x, frame_mask(rttm_segments(uri, corpus), len(x) // 160)))
    material.append(("monologue", *monologue()))
    for kind in dict.fromkeys(m[0] for m in material):
        for peak in (None, -12.0, -6.0, 0.0):
            got = {name: [] for name in NAMES}
            for k, (kd, x, ref) in enumerate(material):
                if kd != kind:
                    continue
                y = x if peak is None else with_typing(x, typing(np.random.default_rng(500 + k), len(x)), peak)
                for name, pred in speech_of(y).items():
                    got[name].append(trimmed_scores(pred, ref))
            label = f"{kind}, " + ("no typing" if peak is None else f"typing peak {peak:+.0f} dB")
            print(line(label, got), flush=True)
    dialogues(args.seeds)
    found = {name: 0.0 for name in NAMES}
    for seed in range(args.seeds):
        rng = np.random.default_rng(900 + seed)
        n = 60 * 16000
        y = (typing(rng, n) * 0.3 + 10 ** (-65 / 20) * rng.standard_normal(n)).astype(np.float32)
        for name, pred in speech_of(y).items():
            found[name] += pred.sum() * 0.01
    print(f"typing alone, {args.seeds} x 60 s: speech found " + "   ".join(
        f"{name} {found[name]:.1f} s" for name in NAMES), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
