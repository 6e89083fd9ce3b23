"""Voice activity on the six AMI excerpts: frame-level F1 of speech vs non-speech.

Reference: the union of all speakers' RTTM segments (pyannote debug set).
Targets (issue 2): mean F1 >= 0.94, no file below 0.88. For context the script
also scores raw webrtcvad (mode 2) with a 200 ms hangover.

    python benchmarks/vad_ami.py
"""
from __future__ import annotations

import sys

import numpy as np
import soundfile as sf
import webrtcvad

from _common import AMI_FILES, corpus_dir, f1, frame_mask, rttm_segments

from prosody.config import AnalysisConfig
from prosody.session import analyze_blocks


def raw_webrtc_hangover(x: np.ndarray, *, hangover_frames: int = 20, mode: int = 2) -> np.ndarray:
    vad = webrtcvad.Vad(mode)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    n = len(x) // 160
    out = np.zeros(n, dtype=bool)
    hold = 0
    for i in range(n):
        if vad.is_speech(pcm[i * 160:(i + 1) * 160].tobytes(), 16000):
            hold = hangover_frames
            out[i] = True
        elif hold > 0:
            hold -= 1
            out[i] = True
    return out


def main(config: AnalysisConfig | None = None, verbose: bool = True) -> list[float]:
    corpus = corpus_dir()
    if corpus is None:
        print("corpus not found (set PROSODY_CORPUS); nothing measured")
        return []
    ours, base = [], []
    if verbose:
        print(f"{'file':8} {'prosody F1':>10} {'webrtc+200ms':>13}")
    for uri in AMI_FILES:
        x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
        assert sr == 16000
        session = analyze_blocks([x[:, None]], ("speaker",), config)
        pred = session.frames["speaker"]["is_speech"]
        ref = frame_mask(rttm_segments(uri, corpus), len(pred))
        b = raw_webrtc_hangover(x)
        ours.append(f1(pred, ref))
        base.append(f1(b, ref[: len(b)]))
        if verbose:
            print(f"{uri:8} {ours[-1]:10.3f} {base[-1]:13.3f}")
    if verbose:
        print(f"{'mean':8} {np.mean(ours):10.3f} {np.mean(base):13.3f}")
        ok = np.mean(ours) >= 0.94 and min(ours) >= 0.88
        print(f"target mean>=0.94 and min>=0.88: {'PASS' if ok else 'FAIL'} (mean {np.mean(ours):.3f}, min {min(ours):.3f})")
    return ours


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
