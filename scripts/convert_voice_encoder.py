"""Dev-time: convert resemblyzer's pretrained GE2E voice encoder to prosody/data/voice_encoder.npz.

Run once (needs torch and librosa, never at run time)::

    pip download --no-deps resemblyzer==0.1.4 -d /tmp/rz
    python scripts/convert_voice_encoder.py /tmp/rz/Resemblyzer-0.1.4-py3-none-any.whl

It stores the LSTM / linear weights (float32) and the Slaney mel filter bank
resemblyzer's audio front end uses (librosa.filters.mel(sr=16000, n_fft=400,
n_mels=40)), copies the licence, then checks that prosody's numpy forward pass
(``prosody.engine.embedding``) matches torch's output on random and real mel input.
"""
from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "prosody" / "data" / "voice_encoder.npz"
LICENSE_OUT = ROOT / "prosody" / "data" / "LICENSE.resemblyzer"


def main(wheel: str) -> None:
    import librosa
    import torch

    with zipfile.ZipFile(wheel) as z:
        state = torch.load(io.BytesIO(z.read("resemblyzer/pretrained.pt")), map_location="cpu")["model_state"]
        lic = z.read("Resemblyzer-0.1.4.dist-info/LICENSE")
    arrays = {k.replace(".", "_"): v.detach().numpy().astype(np.float32) for k, v in state.items()}
    arrays["mel_basis"] = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40).astype(np.float32)
    np.savez_compressed(OUT, **arrays)
    LICENSE_OUT.write_bytes(b"resemblyzer 0.1.4 (https://pypi.org/project/Resemblyzer/), pretrained.pt converted to "
                            b"voice_encoder.npz by scripts/convert_voice_encoder.py\n\n" + lic)
    print("wrote", OUT, OUT.stat().st_size, "bytes:", {k: v.shape for k, v in arrays.items()})

    # equivalence check against the original torch model
    sys.path.insert(0, str(ROOT))
    from prosody.engine.embedding import VoiceEncoder, mel_frames

    lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
    linear = torch.nn.Linear(256, 256)
    lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
    linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})

    def ref(mels):
        with torch.no_grad():
            _, (h, _) = lstm(torch.from_numpy(mels))
            e = torch.relu(linear(h[-1]))
            return (e / torch.norm(e, dim=1, keepdim=True)).numpy()

    enc = VoiceEncoder.load()
    rng = np.random.default_rng(0)
    mel = np.abs(rng.standard_normal((400, 40))).astype(np.float32) * 0.5
    starts = np.arange(0, 240, 40)
    a = enc.embed_windows(mel, starts=starts, n_frames=160)
    b = ref(np.stack([mel[s:s + 160] for s in starts]))
    print("random mel: max |numpy - torch| =", float(np.max(np.abs(a - b))))
    y = rng.standard_normal(16000 * 3).astype(np.float32) * 0.05
    m1 = mel_frames(y)
    m2 = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    print("mel: frames", m1.shape, m2.shape, "max rel diff =", float(np.max(np.abs(m1 - m2[:len(m1)]) / (m2[:len(m1)].max()))))
    a = enc.embed_windows(m1, starts=[0, 100], n_frames=160)
    b = ref(np.stack([m2[0:160], m2[100:260]]).astype(np.float32))
    print("audio: max |numpy - torch| =", float(np.max(np.abs(a - b))))


if __name__ == "__main__":
    main(sys.argv[1])
