"""Speaker embeddings: a numpy forward pass of a pretrained GE2E voice encoder.

The network and its weights are resemblyzer 0.1.4's (Apache-2.0; licence in
``prosody/data/LICENSE.resemblyzer``), a d-vector speaker encoder trained with
the generalized end-to-end loss (Wan, Wang, Papir & Lopez Moreno 2018,
"Generalized end-to-end loss for speaker verification", ICASSP)::

    mel power (40 bands, 25 ms Hann window, 10 ms hop, 16 kHz)
      -> LSTM 40->256 -> LSTM 256->256 -> LSTM 256->256 (last hidden state)
      -> linear 256->256 -> ReLU -> L2 norm  = embedding, unit vector of shape (256,)

``scripts/convert_voice_encoder.py`` converted the weights once (dev time,
torch) and checked this forward pass against torch's. Nothing is downloaded.
"""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property, lru_cache, partial
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import InputError
from ..timebase import GRID
from .ckernels import KERNELS
from .views import as_signal

try:  # the encoder on one BLAS thread, whoever calls it (``_one_blas_thread``)
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None

N_MELS = 40
N_FFT = 400          # samples: 25 ms at 16 kHz
EMBEDDING_SIZE = 256
WEIGHTS_PATH = Path(__file__).resolve().parents[1] / "data" / "voice_encoder.npz"


@lru_cache(maxsize=1)
def _weights() -> Mapping[str, np.ndarray]:
    if not WEIGHTS_PATH.exists():
        raise InputError(f"the voice encoder weights {WEIGHTS_PATH} are missing; reinstall prosody")
    with np.load(WEIGHTS_PATH) as z:
        weights = {k: z[k] for k in z.files}
    for w in weights.values():  # cached and shared: read-only
        w.setflags(write=False)
    return MappingProxyType(weights)


@lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the BLAS libraries loaded with numpy, found once (a search of the loaded
    libraries, ~0.3 ms; each limit through it ~9 us), or None without threadpoolctl."""
    return None if ThreadpoolController is None else ThreadpoolController()


def _one_blas_thread():
    """The encoder's products on one BLAS thread, as ``diarize`` holds them, for every caller (voice profiles
    called it under the default threads): the ``_w256_sums_as_blas`` verdicts are made and used under one thread
    setting, and a profile's windows give the bits ``diarize`` gives them. OpenBLAS may take another path for a
    product with more threads (its direct sgemm on AVX-512 only with one thread or under 2 x 350 x 512
    multiply-adds); two threads also spend 1.2-3.5x the CPU of one on these small products (docs/speakers.md,
    seventy-eighth round, cost83)."""
    c = _blas_controller()
    return nullcontext() if c is None else c.limit(limits=1, user_api="blas")


def mel_frames(samples: np.ndarray, *, sample_rate: int = GRID.sample_rate, gain=None) -> np.ndarray:
    """Mel power spectrogram as the encoder was trained on it (resemblyzer / librosa
    ``melspectrogram(n_fft=400, hop_length=160, n_mels=40)``, Slaney mel, not log).

    ``samples``: (n_samples,) float at 16 kHz; ``gain``: each piece read is scaled
    by it (the spectrogram of ``samples * gain``, the same values, without a scaled
    copy of the whole signal). Returns (1 + n_samples // 160, 40) float32; frame
    ``j`` is centred on sample ``j * 160`` (zero padded at the ends).
    """
    if sample_rate != GRID.sample_rate:
        raise InputError(f"sample_rate={sample_rate}: the voice encoder needs {GRID.sample_rate} Hz; resample first")
    out = np.empty((1 + len(samples) // GRID.hop_length, N_MELS), dtype=np.float32)
    for a, b, block in mel_chunks(samples, gain=gain):
        out[a:b] = block
    return out


def mel_frames_at(samples: np.ndarray, rows: np.ndarray, *, gain=None) -> np.ndarray:
    """``mel_frames(samples, gain=gain)[rows]`` (``rows`` ascending), the same values, without the
    whole recording's mel power made (an hour: 58 MB per signal, of which the speech frames are read)."""
    rows = np.asarray(rows, np.int64)
    out = np.empty((len(rows), N_MELS), np.float32)
    for a, b, block in mel_chunks(samples, gain=gain):
        i, j = np.searchsorted(rows, (a, b))
        out[i:j] = block[rows[i:j] - a]
    return out


def mel_chunks(samples: np.ndarray, *, gain=None):
    """``mel_frames`` a chunk of frames at a time, in order: (a, b, frames [a, b) float32)."""
    x = as_signal(samples)  # a ChannelMean is read a chunk at a time
    if x.ndim != 1:
        raise InputError(f"samples of shape {x.shape}: give one channel, shape (n_samples,)")
    hop = GRID.hop_length
    pad = N_FFT // 2
    n = 1 + len(x) // hop
    window = periodic_hann()
    basis_t = _weights()["mel_basis"].T
    for a in range(0, n, _MEL_CHUNK):  # bounded memory for long recordings
        b = min(n, a + _MEL_CHUNK)
        lo, hi = a * hop - pad, (b - 1) * hop + pad  # samples of frames [a, b), zero padded at the ends
        seg = x[max(lo, 0):min(hi, len(x))]
        if gain is not None:
            seg = seg * gain
        seg = np.pad(seg, (max(0, -lo), max(0, hi - len(x))))
        frames = np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::hop]
        # the FFTs a few dozen frames at a time, their working set in the cache (the same values)
        power = np.empty((b - a, N_FFT // 2 + 1), np.float32)
        for r in range(0, b - a, _FFT_ROWS):
            spec = np.fft.rfft(frames[r:r + _FFT_ROWS] * window, axis=1)
            power[r:r + _FFT_ROWS] = spec.real ** 2 + spec.imag ** 2
        yield a, b, power @ basis_t


_MEL_CHUNK = 4096
_FFT_ROWS = 64
_PROJ_CHUNK_COLS = 1024  # (step, window) columns of a layer's input projection computed at once


def periodic_hann() -> np.ndarray:
    """The encoder front end's analysis window: periodic Hann of ``N_FFT`` samples, float32."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


# the LSTM's gate rows (torch order i, f, g, o) reordered i, f, o, g: the three sigmoid
# gates one block (reordering a matrix product's output columns leaves each value as it was)
_GATES = np.r_[0:512, 768:1024, 512:768]
_GATES.setflags(write=False)


_SIGMOID_ROWS = 768  # the i, f, o gates' rows in ``_GATES`` order (tanh(g) follows)


def _kernel(name: str):
    """The compiled kernel ``name`` of ``prosody._kernels`` (engine/ckernels.py), or None where the
    module is not built, is turned down, or was built before that kernel was added."""
    return None if KERNELS is None else getattr(KERNELS, name, None)


# float32 bit patterns on which the compiled kernels' tanh must give np.tanh's bits before ``lstm_step``
# is used: every 65 537th of the 2**32 (all exponents, both signs, NaNs), and the infinities
_TANH_PROBE = np.r_[np.arange(0, 2 ** 32, 65537, dtype=np.uint64), 0x7F800000, 0xFF800000].astype(np.uint32)
_TANH_PROBE.setflags(write=False)


@lru_cache(maxsize=2)
def _numpy_tanh_step(kernels):
    """``kernels.lstm_step`` (the whole LSTM step in one compiled pass) where the kernels' tanh is
    np.tanh's to the bit on ``_TANH_PROBE``, else None. The kernels write out numpy's own SIMD
    tanh (AVX-512, or AVX2 and FMA); where this numpy runs another (a CPU without fused multiply-adds calls libm's
    ``tanhf``, or another numpy version), the step's tanh stays numpy's."""
    step, tanh = getattr(kernels, "lstm_step", None), getattr(kernels, "tanh_f32", None)
    if step is None or tanh is None:
        return None
    x = _TANH_PROBE.view(np.float32)
    out = np.empty_like(x)
    tanh(x, out)
    return step if np.array_equal(out.view(np.uint32), np.tanh(x).view(np.uint32)) else None


def _step_numpy(x_in: np.ndarray, gk: np.ndarray, actk: np.ndarray, ck: np.ndarray, hk: np.ndarray,
                cell) -> None:
    """A step after its recurrent product, in place (the reference of ``_kernels.c`` ``lstm_step``,
    which does the same float32 operations in this order): ``gk`` (1024, k) the product, rows i, f,
    o (of x / 2), g, plus ``x_in`` (1024, k) the step's input projection; ``actk`` their tanh; the
    sigmoids and the cell state ``ck`` (``cell()``: ``_kernels.c`` ``lstm_cell`` on the full buffers,
    else ``_cell_numpy``), ``hk = tanh(c) * o`` (256, k)."""
    np.add(x_in, gk, out=gk)
    np.tanh(gk, out=actk)                          # sigmoid gates' rows: tanh(x / 2)
    cell()
    np.tanh(ck, out=hk)
    hk *= actk[512:768]                            # h = o * tanh(c)


def _cell_numpy(act: np.ndarray, c: np.ndarray, tmp: np.ndarray, sig: np.ndarray) -> None:
    """A step's sigmoids and cell state after its tanh, in place (the reference of ``_kernels.c``
    ``lstm_cell``, which does the same float32 operations in this order): ``act`` (1024, k) the
    tanh of gates i, f, o (of x / 2) and g, ``sig`` its first 768 rows, ``c`` (256, k)."""
    sig *= 0.5
    sig += 0.5                                   # sigmoid(x) = 0.5 + 0.5 * tanh(x / 2)
    np.multiply(act[256:512], c, out=c)          # f * c
    np.multiply(act[:256], act[768:], out=tmp)   # + i * g
    c += tmp


@lru_cache(maxsize=1)
def _w256_probe_weights() -> tuple[np.ndarray, np.ndarray]:
    """Random (1024, 256) weights of the scale of the encoder's and their ``pack_w256`` packing, made once for
    every ``_w256_sums_as_blas`` check."""
    w = (np.random.default_rng(48).standard_normal((1024, 256)) * 0.1).astype(np.float32)
    wp = np.empty(w.size, np.float32)
    _kernel("pack_w256")(w, wp)
    return w, wp


def _w256_pad(n_columns: int) -> np.ndarray:
    """Working space of ``_kernels.c`` ``w256_product`` for products over up to ``n_columns`` columns: their
    256 rows copied into 16-lane rows."""
    return np.empty(256 * (-(-n_columns // 16) * 16), np.float32)


@lru_cache(maxsize=None)
def _w256_sums_as_blas(k: int, rows: int) -> bool:
    """Whether ``_kernels.c`` ``w256_product`` gives np.matmul's bits on a step's recurrent product over ``k``
    windows, (1024, 256) @ (256, k), the weights taken ``rows`` rows at a time as ``_forward`` does. OpenBLAS
    sums a product of this shape in fused multiply-adds in order on AVX-512 CPUs, as the kernel does, except in
    its small-matrix kernel's tails of up to 8 columns (2-8 windows, and the last 1-8 of 17-24: rows taken in
    blocks; ``_w256_small_sums_as_blas``) and in numpy's vector product of one column (gemv: its order changes
    with the column's stride); another BLAS or CPU may sum otherwise. Checked once per shape on random weights
    and states, np.matmul on the windows' columns alone and as the first of a wider array (as ``_forward``'s
    views are) against one kernel product (it copies the columns it reads), a zero state among them: a sum in
    another order gives other bits on most values (2-128 windows: ~0.2 CPU s in all)."""
    return _w256_checked("w256_product", k, rows)


@lru_cache(maxsize=None)
def _w256_small_sums_as_blas(k: int, rows: int) -> bool:
    """``_w256_sums_as_blas`` for ``_kernels.c`` ``w256_product_small``: the last 1-8 columns past a multiple
    of 16 summed as OpenBLAS's small-matrix kernel sums them (dot products of 16 lanes, added in a tree of
    neighbours), the shapes where ``w256_product`` does not give BLAS's bits (2-8 and 17-24 windows here)."""
    return _w256_checked("w256_product_small", k, rows)


def _w256_checked(name: str, k: int, rows: int) -> bool:
    """The check of ``_w256_sums_as_blas`` for the kernel ``name`` (``w256_product`` or
    ``w256_product_small``, which also reads the weights unpacked)."""
    if _kernel(name) is None or _kernel("pack_w256") is None or k < 2:
        return False
    w, wp = _w256_probe_weights()
    wide = np.tanh(np.random.default_rng(k).standard_normal((256, k + 7))).astype(np.float32)
    wide[:, k // 2] = 0.0
    out, ref = np.empty((1024, k), np.float32), np.empty((1024, k), np.float32)
    _kernel(name)(wp, *((w,) if name == "w256_product_small" else ()), wide, k, out, _w256_pad(k))
    for x in (np.ascontiguousarray(wide[:, :k]), wide):
        for a in range(0, 1024, rows):
            np.matmul(w[a:a + rows], x[:, :k], out=ref[a:a + rows])
        if not np.array_equal(ref.view(np.uint32), out.view(np.uint32)):
            return False
    return True


def _recurrent_rows(n_windows: int) -> int:
    """Rows of the recurrent weights (1024, 256) per matrix product in a step over
    ``n_windows`` windows: all 1024, or, for 4..32 windows, the largest power of two with
    ``rows * n_windows < 4096``. OpenBLAS packs the whole left matrix (1 MB) on every
    product over more columns than a few; products of at most ~2**20 multiply-adds take its
    small-matrix kernel, which reads the weights in place. On 4..16 windows a step's product
    took 1.3-2.8x as long in one piece as in row blocks (e.g. 8 windows: 76 vs 49 us, 1024
    vs 256 rows); from ~48 windows on the blocks are slower. Each value is a dot product of
    the same 256 terms, summed possibly in another order (float32 rounding)."""
    if not 4 <= n_windows <= 32:
        return 1024
    rows = 1024
    while rows * n_windows >= 4096:
        rows //= 2
    return rows


def _recurrent_kernel(packed: tuple[np.ndarray, ...] | None, layer: int, whh: np.ndarray, k: int, rows: int):
    """A step's recurrent product over ``k`` windows in one compiled pass, called ``(h, k, out, xpad)``, where one
    gives BLAS's bits for that shape (``_w256_sums_as_blas``, ``_w256_small_sums_as_blas``), else None: ``packed``
    the encoder's ``_packed_recurrent`` (None without the kernels), ``whh`` layer ``layer``'s weights unpacked."""
    if packed is None:
        return None
    if _w256_sums_as_blas(k, rows):
        return partial(_kernel("w256_product"), packed[layer])
    if _w256_small_sums_as_blas(k, rows):
        return partial(_kernel("w256_product_small"), packed[layer], whh)
    return None


@dataclass(frozen=True)
class VoiceEncoder:
    """The GE2E encoder's weights; ``embed_windows`` runs all windows at once."""

    weights: Mapping[str, np.ndarray]

    @classmethod
    def load(cls) -> "VoiceEncoder":
        return cls(_weights())

    @cached_property
    def _lstm(self) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
        """Per LSTM layer, rows in ``_GATES`` order, taken once per encoder: (input
        weights, both biases summed, recurrent weights), the sigmoid gates' rows halved.

        The sigmoid is computed as ``0.5 + 0.5 * tanh(x / 2)``; halving a row of weights and
        its bias halves that gate's pre-activation exactly (a product or a sum of values
        scaled by a power of two is rounded alike), so one ``tanh`` over all four gates
        gives the values of ``tanh(0.5 * x)`` on the three sigmoid gates and of ``tanh(x)``
        on the cell input, with no separate halving pass."""
        w = self.weights
        half = np.ones((len(_GATES), 1), np.float32)
        half[:_SIGMOID_ROWS] = 0.5
        layers = tuple((w[f"lstm_weight_ih_l{k}"][_GATES] * half,
                        (w[f"lstm_bias_ih_l{k}"] + w[f"lstm_bias_hh_l{k}"])[_GATES] * half[:, 0],
                        w[f"lstm_weight_hh_l{k}"][_GATES] * half) for k in range(3))
        for arr in (a for layer in layers for a in layer):
            arr.setflags(write=False)  # shared by every call, as the weights are
        return layers

    @cached_property
    def _packed_recurrent(self) -> tuple[np.ndarray, ...] | None:
        """Per LSTM layer, its recurrent weights (``_lstm``'s third) packed for ``_kernels.c`` ``w256_product``
        (1 MB each), or None where the kernel is not offered (a CPU without AVX-512, no kernels)."""
        pack = _kernel("pack_w256")
        if pack is None or _kernel("w256_product") is None:
            return None
        out = tuple(np.empty(whh.size, np.float32) for _, _, whh in self._lstm)
        for packed, (_, _, whh) in zip(out, self._lstm):
            pack(whh, packed)
            packed.setflags(write=False)
        return out

    def embed_windows(self, mel: np.ndarray, *, starts, n_frames: int, batch: int = 128) -> np.ndarray:
        """Embeddings of the windows ``mel[s : s + n_frames]`` for each ``s`` in ``starts``.

        ``mel``: (n_mel_frames, 40) from ``mel_frames``; windows running past its
        end are zero padded. Returns (len(starts), 256) float32 unit vectors.
        The three LSTM layers run layer by layer over ``batch`` windows together: the
        input projection of a layer is one matrix product over (step, window) columns,
        ``_PROJ_CHUNK_COLS`` at a time (~4 MB of gates that stay in cache, where one product
        over a whole batch wrote ~80 MB and read it back: ~8 % of the encoder's time on
        batches of 128 windows; the same values to float32 rounding: bit for bit where BLAS sums each
        column alike whatever the column count, not on every CPU),
        the recurrence one (1024, 256) x (256, n_windows) product per step (layer 0's of the
        windows' own mel rows, overlapping or apart: never of the gaps between windows, which on a
        long recording held hundreds of MB). The batch
        size changes the cost; a window's embedding changes at most in the last bits of
        float32 rounding (BLAS may sum a product of few columns in another order).
        """
        return self._embed(mel, starts, n_frames, batch, 0)[0]

    def embed_windows_and_prefixes(self, mel: np.ndarray, *, starts, n_frames: int, prefix_frames: int,
                                   batch: int = 128) -> tuple[np.ndarray, np.ndarray]:
        """``embed_windows`` of the windows ``mel[s : s + n_frames]`` and, from the same pass,
        of their first ``prefix_frames`` frames, ``mel[s : s + prefix_frames]``
        (``1 <= prefix_frames <= n_frames``): the LSTM runs each window from a zero state,
        so a window's prefix embedding is its last layer's hidden state after
        ``prefix_frames`` steps, read on the way (one linear layer more per window; the
        values of ``embed_windows(mel, starts=starts, n_frames=prefix_frames)`` to float32
        rounding)::

            frames     s ........ s+prefix ...... s+n_frames
            window     |=====================================|   -> first array
            prefix     |===============|                         -> second array

        Returns two (len(starts), 256) float32 arrays of unit vectors."""
        if not 1 <= prefix_frames <= n_frames:
            raise InputError(f"prefix_frames={prefix_frames} must be within 1..n_frames={n_frames}")
        return self._embed(mel, starts, n_frames, batch, prefix_frames)

    def embed_windows_of_lengths(self, mel: np.ndarray, *, starts, lengths, batch: int = 128) -> np.ndarray:
        """``embed_windows`` of windows of several lengths in one pass: the embeddings of
        ``mel[s : s + n]`` for each ``(s, n)`` in ``zip(starts, lengths)``, (len(starts), 256)
        float32 unit vectors. The windows run together, longest first, ``batch`` at a time; a
        window leaves the products after its last frame (``_forward``'s ``lengths``). The
        values of one ``embed_windows`` call per length, to float32 rounding, at less cost:
        a call over a few windows pays each step's fixed costs for those few (a window alone:
        ~200 us per frame, against ~30 us in a batch of 64)::

            window 0   |=================================|      the batch's first length
            window 1   |=========================|              leaves after its frames
            window 2   |==============|
        """
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.shape != np.shape(starts):
            raise InputError(f"lengths of shape {lengths.shape} for starts of shape {np.shape(starts)}")
        if len(lengths) == 0:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        if lengths.min() < 1:
            raise InputError(f"lengths down to {lengths.min()}: every window needs >= 1 frame")
        order = np.argsort(-lengths, kind="stable")
        e = self._embed(mel, np.asarray(starts, dtype=np.int64)[order], int(lengths.max()), batch, 0,
                        lengths[order])[0]
        out = np.empty_like(e)
        out[order] = e
        return out

    def _embed(self, mel: np.ndarray, starts, n_frames: int, batch: int, tap: int,
               lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings of the windows, of their first ``tap`` frames; the second empty when
        ``tap`` is 0). ``lengths``: per window, non-increasing, at most ``n_frames`` (else
        ``n_frames`` each)."""
        starts = np.asarray(starts, dtype=np.int64)
        if n_frames < 1:
            raise InputError(f"n_frames={n_frames} must be >= 1")
        if len(starts) == 0:
            empty = np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
            return empty, empty.copy()
        mel = np.asarray(mel, dtype=np.float32)
        need = int(starts.max()) + n_frames
        if need > len(mel):
            mel = np.concatenate([mel, np.zeros((need - len(mel), mel.shape[1]), np.float32)])
        out, out_tap = [], []
        with _one_blas_thread():
            for a in range(0, len(starts), batch):
                st = starts[a:a + batch]
                ln = None if lengths is None else lengths[a:a + batch]
                nf = n_frames if ln is None else int(ln[0])  # the batch's longest window
                if ln is not None and ln[-1] == nf:
                    ln = None  # one length
                e, e_tap = self._forward(mel, st, nf, tap, ln)
                out.append(e)
                out_tap.append(e_tap)
        return (np.concatenate(out).astype(np.float32),
                np.concatenate(out_tap).astype(np.float32) if tap else np.zeros((0, EMBEDDING_SIZE), np.float32))

    def _head(self, h: np.ndarray) -> np.ndarray:
        """Last hidden states (256, n_windows) -> unit embeddings (n_windows, 256)."""
        w = self.weights
        e = np.maximum(h.T @ w["linear_weight"].T + w["linear_bias"], 0.0)
        norm = np.linalg.norm(e, axis=1, keepdims=True)
        return (e / np.maximum(norm, 1e-12)).astype(np.float32)

    def _forward(self, mel: np.ndarray, starts: np.ndarray, n_frames: int, tap: int = 0,
                 lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The LSTM stack over the windows ``mel[s : s + n_frames]`` (``mel``: (frames, 40) float32,
        every window's rows within it); (n_windows, 256). Feature-major
        (a step's gates are (1024, n_windows): the weight matrix on the left runs faster in
        BLAS than on the right) in preallocated buffers. With ``tap`` > 0 also the embeddings
        of the windows' first ``tap`` frames (else None).

        ``lengths`` (non-increasing, the first ``n_frames``; ``tap`` 0): window ``j`` runs its
        first ``lengths[j]`` frames only. At step ``t`` the products and activations run on
        the windows still going, the first ``k`` columns; a finished window's column is left
        as it was, its last hidden state (written on to the next layer's input as well, where
        that layer reads it for no window).

        Every layer's input projection is made ``chunk`` steps of all windows at a time, as one
        product whose output is feature-major too: layer 0's of the windows' mel rows, layers 1-2's
        of the layer below's outputs. A step's input is then a slice of rows of that output, added
        to the step's gates. Layer 0's projection was once made per frame, (frames, 1024), shared by
        overlapping windows, and a step's input read from it transposed; now overlapping windows
        project a frame once each (~2 % more multiply-adds in their windows, no more CPU on held:
        docs/speakers.md, seventy-fifth round) and a batch of 128 windows of 1.5 s no longer holds
        26 MB of it. Each value is the same product of one mel row and the weights (bit for bit on
        OpenBLAS here; ``tests/test_diarize_cost.py``)."""
        nw = len(starts)
        e_tap = None
        step = None if KERNELS is None else _numpy_tanh_step(KERNELS)
        cell = _kernel("lstm_cell")
        packed = self._packed_recurrent
        xpad = None if packed is None else _w256_pad(nw)  # ``product``'s working space, one for every step
        # windows going at each step (all, unless ``lengths`` differ)
        going = (np.full(n_frames, nw) if lengths is None
                 else np.count_nonzero(np.asarray(lengths)[None, :] > np.arange(n_frames)[:, None], axis=1))
        g = np.empty((1024, nw), np.float32)      # gates of one step: i, f, o, g
        act = np.empty((1024, nw), np.float32)    # their activations: sigmoid(i, f, o), tanh(g)
        tmp = np.empty((256, nw), np.float32)
        chunk = max(1, min(n_frames, _PROJ_CHUNK_COLS // nw))  # steps whose input projection is one product
        # the layers run ``chunk`` steps each in turn, layer by layer (each step the same products as
        # one layer's whole sequence after another): a layer's outputs over one chunk, the next one's
        # input (two buffers of one chunk, not of the whole windows: 128 windows of 1.5 s held 39 MB)
        # (zeroed: where windows have finished, the step writes only the columns still going; the next layer reads
        # the others for no window)
        seqs = (np.zeros((256, chunk, nw), np.float32), np.zeros((256, chunk, nw), np.float32))
        gates_in = np.empty((1024, chunk * nw), np.float32)  # a layer's input projection over one chunk
        # each layer's state from chunk to chunk: h, c, and the views of the windows still going
        state = [{"h": np.zeros((256, nw), np.float32), "c": np.zeros((256, nw), np.float32), "k": -1,
                  "whh_t": np.ascontiguousarray(whh.T) if nw == 1 else None} for _, _, whh in self._lstm]
        for t0 in range(0, n_frames, chunk):
            t1 = min(n_frames, t0 + chunk)
            for layer, (w_ih, bias, whh) in enumerate(self._lstm):
                seq_in, seq = seqs[(layer + 1) % 2], seqs[layer % 2]
                st_l = state[layer]
                h, c, whh_t, k = st_l["h"], st_l["c"], st_l["whh_t"], st_l["k"]
                if k >= 0:
                    gk, actk, hk, ck, blocks, cell_k, kernel = st_l["views"]
                for t in range(t0, t1):
                    j = t - t0
                    if going[t] != k:  # the first step, or windows finished: views of the first k columns
                        k = int(going[t])
                        gk, actk, tmpk, hk, ck = g[:, :k], act[:, :k], tmp[:, :k], h[:, :k], c[:, :k]
                        rows = _recurrent_rows(k)
                        blocks = [(whh[a:a + rows], gk[a:a + rows]) for a in range(0, len(whh), rows)]
                        # the product in one compiled pass where it gives BLAS's bits for this shape
                        kernel = None if whh_t is not None else _recurrent_kernel(packed, layer, whh, k, rows)
                        sig = actk[:_SIGMOID_ROWS]
                        cell_k = (partial(cell, act, c, k) if cell is not None  # ``_cell_numpy``, bit for bit
                                  else partial(_cell_numpy, actk, ck, tmpk, sig))
                    if kernel is not None:  # the packed weights, read in place: BLAS packs them again on every call
                        kernel(h, k, g, xpad)
                    elif whh_t is None:
                        for w_rows, g_rows in blocks:  # one block unless few windows (``_recurrent_rows``)
                            np.matmul(w_rows, hk, out=g_rows)
                    else:  # one window: the vector-matrix product, as it always was
                        np.matmul(h.T, whh_t, out=g.T)
                    if j == 0:  # the input projection of this chunk's steps, while it stays in cache
                        cols = (t1 - t0) * nw
                        if layer > 0:
                            x_in = seq_in[:, :t1 - t0].reshape(256, cols)
                        else:  # the windows' mel rows, step-major: (40, cols)
                            x_in = mel[(np.arange(t0, t1)[:, None] + starts[None, :]).ravel()].T
                        np.matmul(w_ih, x_in, out=gates_in[:, :cols])
                        if step is None:  # (``step`` adds it as it reads a value: one pass less over the chunk)
                            gates_in[:, :cols] += bias[:, None]
                    if step is None:
                        _step_numpy(gates_in[:, j * nw:j * nw + k], gk, actk, ck, hk, cell_k)
                        if layer < 2:
                            seq[:, j] = h
                    elif layer < 2:  # ``_step_numpy`` in one compiled pass, the bias's add first, bit for bit,
                        step(gates_in, j * nw, bias, g, c, h, k, seq, j * nw)  # h written into seq[:, j] as well
                    else:
                        step(gates_in, j * nw, bias, g, c, h, k)
                    if layer == 2 and t == tap - 1:
                        e_tap = self._head(h)
                st_l["k"] = k
                st_l["views"] = (gk, actk, hk, ck, blocks, cell_k, kernel)
        h = state[-1]["h"]
        return self._head(h), e_tap

    def embed(self, samples: np.ndarray, *, n_frames: int = 160, hop_frames: int = 80) -> np.ndarray:
        """One embedding of an utterance: the L2-normed mean of its ``n_frames``
        windows every ``hop_frames`` (resemblyzer's ``embed_utterance``). (256,) float32."""
        mel = mel_frames(samples)
        last = max(0, len(mel) - n_frames)
        starts = np.arange(0, last + 1, hop_frames)
        e = self.embed_windows(mel, starts=starts, n_frames=n_frames).mean(axis=0)
        return (e / max(float(np.linalg.norm(e)), 1e-12)).astype(np.float32)
