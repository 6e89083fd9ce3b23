"""Voice activity on the six AMI excerpts in room noise: frame F1 against the RTTM.

As ``vad_ami.py`` (reference: the union of every speaker's RTTM segments), with pink
noise (``diarization_noise.with_noise``: 1/f power, at an SNR over the recording's
active speech) added. Prints, per SNR, prosody's voice activity on a one-speaker channel
(webrtcvad AND a level gate over the channel's noise floor that comes down with the
channel's own range in noise, ``VadConfig.gate_low_db``; smoothed), the same with the
gate fixed at ``gate_db`` (as on two-speaker channels), and the anchor, raw webrtcvad
(mode 2) with a 200 ms hangover: F1, precision and recall, mean and worst file.
No target of its own: issue 2's (mean F1 >= 0.94, no file below 0.88) is for the clean
excerpts.

    python benchmarks/vad_noise.py [--snr 200,30,15,10]
"""
from __future__ import annotations

import argparse

import numpy as np
import soundfile as sf

from _common import AMI_FILES, corpus_dir, f1, frame_mask, rttm_segments
from diarization_noise import with_noise
from vad_ami import raw_webrtc_hangover

from prosody.config import AnalysisConfig, VadConfig
from prosody.session import analyze_blocks


def scores(pred: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    hit = float((pred & ref).sum())
    return f1(pred, ref), hit / max(1.0, float(pred.sum())), hit / max(1.0, float(ref.sum()))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--snr", default="200,30,15,10", help="comma list of SNRs in dB (200: as recorded)")
    args = ap.parse_args()
    corpus = corpus_dir()
    if corpus is None:
        print("corpus not found (set PROSODY_CORPUS); nothing measured")
        return 1
    for snr in (float(s) for s in args.snr.split(",")):
        rng = np.random.default_rng(int(round(snr * 10)) + 3)
        got = {"prosody": [], "fixed gate": [], "webrtc+200ms": []}
        fixed = AnalysisConfig(vad=VadConfig(gate_low_db=VadConfig().gate_db))
        for uri in AMI_FILES:
            x, sr = sf.read(corpus / "pyannote-audio" / f"{uri}.wav", dtype="float32")
            y = with_noise(x, snr, rng) if snr < 100 else x
            pred = np.asarray(analyze_blocks([y[:, None]], ("speaker",)).frames["speaker"]["is_speech"], bool)
            ref = frame_mask(rttm_segments(uri, corpus), len(pred))
            got["prosody"].append(scores(pred, ref))
            pf = np.asarray(analyze_blocks([y[:, None]], ("speaker",), fixed).frames["speaker"]["is_speech"], bool)
            got["fixed gate"].append(scores(pf, ref))
            b = raw_webrtc_hangover(y)
            got["webrtc+200ms"].append(scores(b, ref[: len(b)]))
        line = []
        for name, rows in got.items():
            a = np.array(rows)
            line.append(f"{name} F1 {a[:, 0].mean():.3f} (worst {a[:, 0].min():.3f}; precision {a[:, 1].mean():.2f}, "
                        f"recall {a[:, 2].mean():.2f})")
        print(f"SNR {snr:5.0f} dB: " + "   ".join(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
