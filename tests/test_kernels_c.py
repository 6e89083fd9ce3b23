"""The compiled kernels (prosody/_kernels.c, engine/ckernels.py) against the
numpy code they stand in for, on signals with planted answers.

Voice quality: the C code does the numpy code's steps in its order, except
that a dot product is summed term after term where numpy hands it to BLAS
(np.correlate, matrix products), whose order is its own. So pulse times,
HNR and CPPS values agree to rounding, not bit for bit: counts exactly, sums
within ``REL`` (relative). Cross-talk: the same arithmetic in the same order,
bit for bit.

Without the extension (no C compiler at install) the C half of each test
skips and the numpy code runs everywhere; with ``PROSODY_REQUIRE_KERNELS=1``
(scripts/test.sh) a missing extension fails instead.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prosody.engine import crosstalk as ct
from prosody.engine import voice_quality as vq
from prosody.engine.ckernels import KERNELS
from prosody.engine.voice_quality import VoiceQualityConfig, analyse_run, summarize_chunks
from tests.voice_synth import synthetic_voice

REL = 1e-9          # C vs numpy, voice-quality sums (seen: below 1e-12)
REPO = Path(__file__).resolve().parents[1]


def test_the_extension_is_built_where_required():
    if os.environ.get("PROSODY_REQUIRE_KERNELS", "") not in ("", "0"):
        assert KERNELS is not None, "prosody._kernels is not built: pip install -e . needs a C compiler"
        # kernels added under the same API are looked up by name: a module built before them must not pass here
        assert all(hasattr(KERNELS, f) for f in ("viterbi", "viterbi2", "lstm_cell")), \
            "prosody._kernels was built before its Viterbi and LSTM kernels: pip install -e . again"


@pytest.fixture
def kernels():
    if KERNELS is None:
        pytest.skip("prosody._kernels is not built (no C compiler at install) or PROSODY_NO_KERNELS is set")
    return KERNELS


def both_paths(monkeypatch, fn):
    """``fn()`` with the kernels, then with the numpy code."""
    c = fn()
    monkeypatch.setattr(vq, "KERNELS", None)
    monkeypatch.setattr(ct, "KERNELS", None)
    ref = fn()
    monkeypatch.undo()
    return c, ref


def assert_chunks_agree(c, ref):
    for a, b in zip(c, ref, strict=True):
        da, db = dataclasses.asdict(a), dataclasses.asdict(b)
        for k in da:
            if isinstance(db[k], float):
                assert da[k] == pytest.approx(db[k], rel=REL, abs=1e-300), (k, da[k], db[k])
            else:
                assert da[k] == db[k], (k, da[k], db[k])


def runs_of(x, f0_contour, *, sample_rate, pieces):
    """(samples, per-frame F0) of consecutive voiced runs of the given lengths (frames)."""
    hop = sample_rate // 100
    out, k = [], 0
    for n in pieces:
        out.append((x[k * hop:(k + n) * hop], f0_contour[k:k + n]))
        k += n
    return out


@pytest.mark.parametrize("sample_rate,f0_hz,jitter,shimmer,snr_db,seed,dtype", [
    (16000, 120, 0.01, 0.05, None, 0, np.float32),
    (16000, 210, 0.02, 0.03, 15, 3, np.float32),
    (8000, 95, 0.005, 0.10, None, 4, np.float64),   # resampled 8 -> 10 kHz for CPPS (5/4)
    (10000, 160, 0.01, 0.04, 25, 5, np.float32),    # already at the cepstrum's rate: no resampling
])
def test_voice_quality_kernels_agree_with_numpy(monkeypatch, kernels, sample_rate, f0_hz, jitter, shimmer,
                                                snr_db, seed, dtype):
    x, pj, ps, _ = synthetic_voice(f0_hz=f0_hz, jitter=jitter, shimmer=shimmer, snr_db=snr_db, seed=seed,
                                   dur_s=3.0, sample_rate=sample_rate)
    x = x[int(0.3 * sample_rate):int(3.25 * sample_rate)].astype(dtype)
    hop = sample_rate // 100
    n_frames = len(x) // hop
    # the tracker's F0 wobbles around the true one: each frame's period is its own
    f0 = f0_hz * (1 + 0.03 * np.sin(np.arange(n_frames) / 7.0))
    # runs of 20 ms (few or no pulses), 0.1 s (no CPPS window fits), 0.33 s, 2.4 s
    runs = runs_of(x, f0, sample_rate=sample_rate, pieces=(2, 10, 33, n_frames - 45))
    cfg = VoiceQualityConfig()

    def analyse():
        return [analyse_run(r, f, speaker="s", start_s=0.0, sample_rate=sample_rate, hop_length=hop, cfg=cfg)
                for r, f in runs]

    c, ref = both_paths(monkeypatch, analyse)
    assert_chunks_agree(c, ref)
    assert c[0].n_cpp_frames == c[1].n_cpp_frames == 0 and c[3].n_cpp_frames > 40
    if snr_db is None:   # the planted figures come back through the C path (noise adds jitter and shimmer)
        m = summarize_chunks(c[3:])
        assert m["jitter_local"] == pytest.approx(pj, abs=max(0.001, 0.15 * pj))
        assert m["shimmer_local"] == pytest.approx(ps, abs=max(0.005, 0.15 * ps))

    # kernel by kernel on the long run: pulse times, and HNR per frame
    r, f = runs[3]
    y = r.astype(np.float64)
    c2 = np.concatenate([[0.0], np.cumsum(y * y)])
    per = sample_rate / f
    want = vq.glottal_pulses(y, per, hop_length=hop, energy_cumsum=c2)
    got = np.empty(len(y) + 1)
    n = kernels.glottal_pulses(y, c2, per, hop, vq._SINC, got)
    assert n == len(want) > 0.9 * len(y) / sample_rate * f0_hz
    assert np.max(np.abs(got[:n] - want)) < 1e-6        # samples
    centres = (np.arange(len(f)) + 0.5) * hop
    h_want, w_want = vq.hnr_frames_db(y, centres, per, sample_rate=sample_rate, cfg=cfg, energy_cumsum=c2)
    h_got, w_got = np.empty(len(f)), np.empty(len(f))
    kernels.hnr_frames(y, c2, per, hop, int(round(sample_rate / cfg.hnr_min_pitch_hz)), 1, h_got, w_got)
    assert np.array_equal(w_got, w_want) and np.array_equal(np.isnan(h_got), np.isnan(h_want))
    assert h_got[~np.isnan(h_got)] == pytest.approx(h_want[~np.isnan(h_want)], rel=REL)


def test_silence_and_a_click_agree_with_numpy(monkeypatch, kernels):
    """Degenerate runs: digital silence (zero energy everywhere) and one click."""
    cfg = VoiceQualityConfig()
    click = np.zeros(5000, np.float32)
    click[2500] = 0.5
    runs = [(np.zeros(4960, np.float32), np.full(31, 100.0)), (click[:4960], np.full(31, 180.0))]

    def analyse():
        return [analyse_run(r, f, speaker="s", start_s=1.0, sample_rate=16000, hop_length=160, cfg=cfg)
                for r, f in runs]

    c, ref = both_paths(monkeypatch, analyse)
    assert_chunks_agree(c, ref)
    assert c[0].n_jitter_pairs == 0 and c[0].n_hnr_frames == 0


def test_crosstalk_kernels_are_bit_identical(kernels):
    rng = np.random.default_rng(7)
    x = ct.CrossTalk()
    n_full = x.s.n_fft // 2 + 1
    spec = rng.standard_normal((13, n_full)) + 1j * rng.standard_normal((13, n_full))
    spec[2] = 0.0                                       # a silent frame: the floor
    lev = np.empty((13, x.n_bins + x._hi - x._lo))
    kernels.band_power(spec, x._lo, x._edges, ct._EPS, lev)
    lev = 10.0 * np.log10(lev)
    p = spec[:, x._lo:x._hi].real ** 2 + spec[:, x._lo:x._hi].imag ** 2
    cs = np.concatenate([np.zeros((13, 1)), np.cumsum(p, axis=1)], axis=1)
    e = x._edges - x._lo
    assert np.array_equal(lev[:, :x.n_bins], 10.0 * np.log10(cs[:, e[1:]] - cs[:, e[:-1]] + ct._EPS))
    assert np.array_equal(lev[:, x.n_bins:], 10.0 * np.log10(p + ct._EPS))
    # the decaying peak hold over two blocks (state carried), against its numpy form
    L = rng.normal(-60.0, 15.0, (40, 7))
    hold = np.full(7, -1e9)
    out = np.empty_like(L)
    kernels.held_peak(L[:25], hold, 100, 0.7, out[:25])
    kernels.held_peak(L[25:], hold, 125, 0.7, out[25:])
    t = (100 + np.arange(40, dtype=np.float64))[:, None] * 0.7
    m = np.maximum.accumulate(np.concatenate([np.full((1, 7), -1e9), L + t]), axis=0)[1:]
    assert np.array_equal(out, m - t) and np.array_equal(hold, m[-1])
    # ... and widened to the neighbouring bins in the same pass (a NaN propagates as in np.maximum)
    L[3, 4] = np.nan
    wide, hold = np.empty_like(L), np.full(7, -1e9)
    kernels.held_peak_wide(L[:25], hold, 100, 0.7, wide[:25])
    kernels.held_peak_wide(L[25:], hold, 125, 0.7, wide[25:])
    h = np.maximum.accumulate(np.concatenate([np.full((1, 7), -1e9), L + t]), axis=0)[1:] - t
    h[:, 1:-1] = np.maximum(np.maximum(h[:, :-2], h[:, 2:]), h[:, 1:-1])
    assert np.array_equal(wide, h, equal_nan=True) and np.isnan(wide[3:, 3:6]).all() and np.isfinite(wide[3:, 0]).all()


def test_pitch_decimation_kernel_agrees_with_the_polyphase_numpy_filter(kernels):
    from prosody.engine.pitch import PitchTracker
    p = PitchTracker()
    q, D = p._q, p._half_taps
    rng = np.random.default_rng(3)
    M = 1000
    seg = rng.standard_normal(q * (M - 1) + 2 * D + 1)
    seg[500:700] = 0.0                                  # silence: exactly zero out
    y = np.empty(M)
    kernels.fir_decimate(seg, p._fir, q, y)
    ref = np.convolve(seg[::q], p._fir_phases[0], mode="valid")[:M]
    for k in range(1, q):
        ref += np.convolve(seg[q - k::q], p._fir_phases[k], mode="valid")[:M]
    assert np.allclose(y, ref, rtol=0, atol=1e-13)
    # the filter itself: a sine in the pass band keeps its amplitude, one above the analysis Nyquist goes
    n = np.arange(q * (M - 1) + 2 * D + 1)
    for f_hz, gain in ((300.0, 1.0), (3000.0, 0.0)):
        kernels.fir_decimate(np.sin(2 * np.pi * f_hz / 16000 * n), p._fir, q, y)
        assert abs(np.abs(y[50:-50]).max() - gain) < 0.01, f_hz
    with pytest.raises(ValueError):
        kernels.fir_decimate(seg[:-1], p._fir, q, y)


def test_crosstalk_with_kernels_learns_the_planted_path_as_numpy_does(monkeypatch, kernels, needs_espeak):
    from prosody.engine.vad import RawVad
    from tests.dialogue import LeakPath, add_crosstalk, build_dialogue, scenario_turns
    dry = build_dialogue(scenario_turns(6, seed=8), seed=8, noise_db=None, level_db=(-26.0, -26.0))
    d = add_crosstalk(dry, into_therapist=LeakPath(leak_db=-10.0, delay_s=0.09, polarity=-1),
                      gain_db=(12.0, 0.0), noise_db=-75.0, seed=8)
    n = len(d.audio) // 160
    fr = [d.audio[: n * 160, c].reshape(n, 160) for c in (0, 1)]
    raw = [RawVad().push(f) for f in fr]

    def run():
        x = ct.CrossTalk()
        out = [x.push([f[i:i + 333] for f in fr], [a[i:i + 333] for a in raw]) for i in range(0, n, 333)]
        return x, [np.concatenate(o) for o in zip(*out)]

    (xc, c), (xn, ref) = both_paths(monkeypatch, run)
    assert abs(xc.delay[0] - 9) <= 1 and c[0].sum() > 100           # the planted 90 ms path, its leak found
    assert all(np.array_equal(a, b) for a, b in zip(c, ref))
    assert xc.delay == xn.delay and all(np.array_equal(a, b) for a, b in zip(xc.gain_db, xn.gain_db) if a is not None)
    for name in ("_L", "_Lh", "_P", "_hold"):
        assert all(np.array_equal(a, b) for a, b in zip(getattr(xc, name), getattr(xn, name))), name


def test_no_kernels_env_runs_the_numpy_code_and_the_cli_agrees(tmp_path):
    """``PROSODY_NO_KERNELS=1``: the loader gives None, and ``prosody analyze``
    of the fixture writes the same session either way (voice-quality figures
    are rounded far above the kernels' rounding differences)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PROSODY_DEBUG", "PROSODY_NO_KERNELS")}
    probe = "from prosody.engine import ckernels; print(ckernels.KERNELS is None)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**env, "PROSODY_NO_KERNELS": "1"}).stdout
    assert out.strip() == "True"
    docs = []
    for extra in ({}, {"PROSODY_NO_KERNELS": "1"}):
        path = tmp_path / f"s{len(docs)}.json"
        proc = subprocess.run([sys.executable, "-m", "prosody_cli.main", "analyze", str(REPO / "fixtures" / "dialogue.flac"),
                               "--json", str(path), "--quiet"], capture_output=True, text=True, timeout=120,
                              env={**env, **extra})
        assert proc.returncode == 0, proc.stderr
        docs.append(json.loads(path.read_text()))
    assert docs[0] == docs[1]
    vqm = docs[0]["measures"]["voice_quality"]["therapist"]
    assert vqm["n_periods"] > 1000 and 5.0 < vqm["hnr_db"] < 25.0


def test_a_kernels_module_built_from_other_source_is_turned_down(monkeypatch):
    """An editable install not rebuilt after the C source changed: the loader
    refuses the old module (the numpy code runs) rather than call it wrongly."""
    import types

    import prosody
    from prosody.engine import ckernels
    monkeypatch.delenv("PROSODY_NO_KERNELS", raising=False)
    for api, loads in ((ckernels.API - 1, False), (None, False), (ckernels.API, True)):
        fake = types.ModuleType("prosody._kernels")
        if api is not None:
            fake.API = api
        monkeypatch.setitem(sys.modules, "prosody._kernels", fake)
        monkeypatch.setattr(prosody, "_kernels", fake, raising=False)
        assert (ckernels.load() is fake) == loads, api


def test_viterbi_kernels_are_the_python_loops_bit_for_bit(kernels):
    """The diarizer's Viterbi paths (``viterbi``, ``viterbi2``) against the Python loops they stand
    in for: the same path, frame for frame, on random scores, ties (rounded scores and penalties:
    the first of equal predecessors), NaN, float32 scores, 1 to 5 states, empty input."""
    from prosody.engine import diarize as D
    rng = np.random.default_rng(31)
    for t in range(300):
        n = int(rng.integers(0, 2500))
        kind = t % 5
        scale = rng.choice([1.0, 0.5, 0.3], n)
        score = rng.standard_normal(n) * rng.uniform(0.1, 20)
        if kind == 1:
            score = np.round(score)
        if kind == 2 and n:
            score[rng.integers(0, n, 5)] = np.nan
        if kind == 3:
            score = score.astype(np.float32)
        pen = float(rng.uniform(0, 30))
        want, got = D._viterbi2_py(score, pen, scale), D._viterbi2(score, pen, scale)
        assert got.dtype == want.dtype and np.array_equal(got, want), (t, n, kind)
        k = 3 if t % 3 else int(rng.integers(1, 6))
        scores = rng.standard_normal((n, k)) * 5
        if kind == 1:
            scores = np.round(scores)
        if kind == 2 and n:
            scores[rng.integers(0, n, 5), rng.integers(0, k, 5)] = np.nan
        if kind == 3:
            scores = scores.astype(np.float32)
        penalty = rng.uniform(0, 10, (k, k))
        np.fill_diagonal(penalty, 0.0)
        if kind == 4:
            penalty = np.round(penalty)
        want, got = D._viterbi_py(scores, penalty, scale), D._viterbi(scores, penalty, scale)
        assert got.dtype == want.dtype and np.array_equal(got, want), (t, n, k, kind)
    # a planted path: voice 1 in frames 100-199 of 300, a change costing less than the evidence
    score = np.where((np.arange(300) >= 100) & (np.arange(300) < 200), 2.0, -2.0)
    assert np.array_equal(D._viterbi2(score, 10.0, np.ones(300)), (score > 0).astype(np.int8))


def test_a_kernels_module_built_before_the_viterbi_kernels_serves_the_python_loops(monkeypatch):
    """A module of this API built before ``viterbi`` / ``viterbi2`` were added (they are looked up
    by name): the diarizer runs its Python loops, with the same paths."""
    import types

    from prosody.engine import ckernels
    from prosody.engine import diarize as D
    old = types.ModuleType("prosody._kernels")
    old.API = ckernels.API
    monkeypatch.setattr(D, "KERNELS", old)
    assert D._kernel("viterbi") is None and D._kernel("viterbi2") is None
    rng = np.random.default_rng(32)
    score, scale = rng.standard_normal(500), np.ones(500)
    assert np.array_equal(D._viterbi2(score, 3.0, scale), D._viterbi2_py(score, 3.0, scale))


def test_lstm_cell_kernel_is_the_numpy_step_bit_for_bit(kernels):
    """The voice encoder's step between its tanh calls (``lstm_cell``) against
    ``embedding._cell_numpy``: the same cell state and output gate, bit for bit, on random
    activations (with -1, 0, 1 and subnormals) and cell states of every scale, on the first
    ``k`` of ``n`` columns; the other columns are left as they were."""
    from prosody.engine import embedding as E
    rng = np.random.default_rng(41)
    for n, k in ((1, 1), (5, 5), (7, 3), (64, 64), (130, 77), (9, 0)):
        act = np.tanh(rng.standard_normal((1024, n)) * 4).astype(np.float32)
        act.flat[rng.integers(0, act.size, 20)] = rng.choice(np.float32([-1.0, 0.0, 1.0, 1e-40, -3e-39]), 20)
        c = (rng.standard_normal((256, n)) * 10.0 ** rng.integers(-40, 30, (256, n))).astype(np.float32)
        want_act, want_c = act.copy(), c.copy()
        E._cell_numpy(want_act[:, :k], want_c[:, :k], np.empty((256, k), np.float32),
                      want_act[:E._SIGMOID_ROWS, :k])
        kernels.lstm_cell(act, c, k)
        assert np.array_equal(c.view(np.int32), want_c.view(np.int32)), (n, k)
        assert np.array_equal(act[512:768, :k].view(np.int32), want_act[512:768, :k].view(np.int32)), (n, k)
        assert np.array_equal(act[:, k:], want_act[:, k:]), (n, k)


def test_no_kernels_env_gives_the_same_embeddings_bit_for_bit():
    """``PROSODY_NO_KERNELS=1``: the voice encoder's numpy step gives the embeddings the compiled
    one does, bit for bit: windows of one length (64, 20 and 1 of them: one product, row
    blocks, the vector-matrix product) and of several lengths (windows leaving mid-batch)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PROSODY_DEBUG", "PROSODY_NO_KERNELS")}
    probe = ("import hashlib, numpy as np\n"
             "from prosody.engine.embedding import VoiceEncoder\n"
             "enc = VoiceEncoder.load()\n"
             "mel = np.random.default_rng(42).gamma(1.0, 0.05, (700, 40)).astype(np.float32)\n"
             "e = [enc.embed_windows(mel, starts=np.arange(0, 640, 10)[:n], n_frames=60) for n in (64, 20, 1)]\n"
             "st = np.arange(0, 600, 12)\n"
             "e.append(enc.embed_windows_of_lengths(mel, starts=st, lengths=100 - st % 70))\n"
             "print(hashlib.sha256(b''.join(x.tobytes() for x in e)).hexdigest())\n")
    digests = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                              env={**env, **extra}).stdout for extra in ({}, {"PROSODY_NO_KERNELS": "1"})]
    assert digests[0] == digests[1] and len(digests[0].strip()) == 64


# the kernels' widths: the CPU's widest (tanh_f32, lstm_step), and the 8 lanes of AVX2 and FMA, which run on
# a CPU without AVX-512 and are tested here on one with it too
WIDTHS = ("", "_avx2")


def _numpy_tanh_kernels(kernels, width):
    """``tanh_f32`` and ``lstm_step`` of the width where they run (numpy's tanh to the bit on this
    machine) as a module of their own, else skip."""
    import types

    from prosody.engine import embedding as E
    tanh, step = getattr(kernels, "tanh_f32" + width, None), getattr(kernels, "lstm_step" + width, None)
    if tanh is None or step is None:
        pytest.skip(f"no compiled numpy tanh{width} here (no AVX-512 nor AVX2 and FMA)")
    one = types.ModuleType("prosody._kernels")
    one.tanh_f32, one.lstm_step = tanh, step
    if E._numpy_tanh_step(one) is None:
        pytest.skip("this numpy's tanh is another (libm's tanhf, or another numpy)")
    return one


@pytest.mark.parametrize("width", WIDTHS)
def test_tanh_kernel_is_numpy_tanh_on_every_exponent_and_the_special_values(kernels, width):
    """``tanh_f32`` (and the 8 lanes' ``tanh_f32_avx2``) against np.tanh, bit for bit: every 4099th
    float32 bit pattern (all exponents and both signs: ~1M values; the whole 2**32 were checked once
    for each, docs/speakers.md seventy-sixth round), values near each interval's edge, +-0, subnormals,
    the largest floats, +-inf and NaNs of any payload (numpy's NaN 0x7fc00000 for each)."""
    kernels = _numpy_tanh_kernels(kernels, width)
    edges = np.arange(0x3D400000, 0x41200000, 0x00200000, dtype=np.int64)  # each interval's start
    bits = np.r_[np.arange(0, 2 ** 32, 4099, dtype=np.int64), edges - 1, edges, edges + 1,
                 0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F000000, 0x7EFFFFFF,
                 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 0xFFFFFFFF].astype(np.uint32)
    for x in (bits.view(np.float32), np.ascontiguousarray(bits.view(np.float32)[:37])):  # a ragged tail too
        out = np.full_like(x, 7.0)
        kernels.tanh_f32(x, out)
        assert np.array_equal(out.view(np.uint32), np.tanh(x).view(np.uint32))
    x = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan])
    out = np.empty_like(x)
    kernels.tanh_f32(x, out)
    assert out.view(np.uint32).tolist() == [0, 0x80000000, 0x3F800000, 0xBF800000, 0x7FC00000]


@pytest.mark.parametrize("width", WIDTHS)
def test_lstm_step_kernel_is_the_numpy_step_bit_for_bit(kernels, width):
    """The voice encoder's whole step after its recurrent product (``lstm_step``, and the 8 lanes'
    ``lstm_step_avx2``) against
    ``embedding._step_numpy``: the same cell and hidden states, bit for bit, on the first ``k`` of
    ``n`` columns from column ``col0`` of the input projection (its bias added by the kernel as numpy adds
    it first), on random gates and biases of every scale with +-0, subnormals, huge values, +-inf and NaN
    planted, and cell states with the same; the other columns are left as they were, and so are the
    recurrent product and the projection. Given a sequence buffer ``seq`` (256, ms), the step writes the same
    hidden states into its columns ``seq0 .. seq0 + k - 1`` too (the layer's output, as ``_forward`` passes it),
    every other value of it left as it was."""
    from functools import partial

    from prosody.engine import embedding as E
    kernels = _numpy_tanh_kernels(kernels, width)
    rng = np.random.default_rng(43)
    special = np.float32([0.0, -0.0, 1e-40, -3e-39, 3e38, -3e38, np.inf, -np.inf, np.nan, 1e-30, 20.0, -9.0])
    for n, k, m, col0 in ((1, 1, 1, 0), (1, 1, 9, 4), (5, 5, 15, 10), (7, 3, 21, 7), (16, 16, 64, 32),
                          (64, 64, 1024, 0), (130, 77, 1040, 900), (40, 17, 40, 0), (9, 0, 18, 9)):
        gin = (rng.standard_normal((1024, m)) * 10.0 ** rng.integers(-3, 2, (1024, m))).astype(np.float32)
        g = (rng.standard_normal((1024, n)) * 3).astype(np.float32)
        c = (rng.standard_normal((256, n)) * 10.0 ** rng.integers(-40, 30, (256, n))).astype(np.float32)
        for a in (gin, g, c):
            a.flat[rng.integers(0, a.size, max(4, a.size // 50))] = rng.choice(special, max(4, a.size // 50))
        bias = (rng.standard_normal(1024) * 10.0 ** rng.integers(-3, 2, 1024)).astype(np.float32)
        bias[rng.integers(0, 1024, 24)] = rng.choice(special, 24)
        h = rng.standard_normal((256, n)).astype(np.float32)
        want_g, want_c, want_h = g.copy(), c.copy(), h.copy()
        act = np.empty((1024, k), np.float32)
        with np.errstate(all="ignore"):
            E._step_numpy(gin[:, col0:col0 + k] + bias[:, None], want_g[:, :k], act, want_c[:, :k], want_h[:, :k],
                          partial(E._cell_numpy, act, want_c[:, :k], np.empty((256, k), np.float32),
                                  act[:E._SIGMOID_ROWS]))
        g_before, gin_before = g.copy(), gin.copy()
        ms = m + 3
        seq0 = ms - k - (col0 % 3)
        seq = rng.standard_normal((256, ms)).astype(np.float32)
        want_seq = seq.copy()
        want_seq[:, seq0:seq0 + k] = want_h[:, :k]
        c2, h2 = c.copy(), h.copy()
        with np.errstate(all="ignore"):  # the planted inf and NaN
            kernels.lstm_step(gin, col0, bias, g, c, h, k)
            kernels.lstm_step(gin, col0, bias, g, c2, h2, k, seq, seq0)
        for got_c, got_h in ((c, h), (c2, h2)):
            assert np.array_equal(got_c.view(np.uint32), want_c.view(np.uint32)), (n, k)
            assert np.array_equal(got_h.view(np.uint32), want_h.view(np.uint32)), (n, k)
        assert np.array_equal(seq.view(np.uint32), want_seq.view(np.uint32)), (n, k)
        assert np.array_equal(g.view(np.uint32), g_before.view(np.uint32)), (n, k)
        assert np.array_equal(gin.view(np.uint32), gin_before.view(np.uint32)), (n, k)
    for gin, bias in ((np.zeros((1024, 4), np.float32), np.zeros(1024, np.float32)),   # col0 + k > 4
                      (np.zeros((1024, 5), np.float32), np.zeros(1023, np.float32))):  # a bias too short
        with pytest.raises(ValueError):
            kernels.lstm_step(gin, 2, bias, np.zeros((1024, 3), np.float32), np.zeros((256, 3), np.float32),
                              np.zeros((256, 3), np.float32), 3)
    for seq, seq0 in ((np.zeros((256, 4), np.float32), 2), (np.zeros(256 * 4 + 1, np.float32), 0)):  # past its end
        with pytest.raises(ValueError):
            kernels.lstm_step(np.zeros((1024, 3), np.float32), 0, np.zeros(1024, np.float32),
                              np.zeros((1024, 3), np.float32), np.zeros((256, 3), np.float32),
                              np.zeros((256, 3), np.float32), 3, seq, seq0)


def test_a_tanh_kernel_other_than_numpys_leaves_the_step_to_numpy(monkeypatch):
    """Where the kernels' tanh is not np.tanh to the bit on the probe values (numpy calling libm's
    tanhf on a CPU without fused multiply-adds, or another numpy), ``lstm_step`` is not used, nor
    where the module lacks it; the embeddings are the numpy step's either way."""
    import types

    from prosody.engine import embedding as E

    def off_by_one_bit(x, out):
        np.tanh(x, out=out)
        out.view(np.uint32)[::1000] ^= 1

    def kernels(tanh):
        fake = types.ModuleType("prosody._kernels")
        fake.lstm_step = lambda *a: pytest.fail("lstm_step used with a tanh other than numpy's")
        fake.tanh_f32 = tanh
        return fake

    assert E._numpy_tanh_step(kernels(off_by_one_bit)) is None
    same = kernels(lambda x, out: np.tanh(x, out=out))
    assert E._numpy_tanh_step(same) is same.lstm_step
    assert E._numpy_tanh_step(types.ModuleType("prosody._kernels")) is None
    mel = np.random.default_rng(44).gamma(1.0, 0.05, (300, 40)).astype(np.float32)
    embeddings = []
    for module in (kernels(off_by_one_bit), None):
        monkeypatch.setattr(E, "KERNELS", module)
        embeddings.append(E.VoiceEncoder.load().embed_windows(mel, starts=np.arange(0, 200, 25), n_frames=60))
    assert embeddings[0].tobytes() == embeddings[1].tobytes()


def test_the_avx2_step_gives_the_numpy_steps_embeddings_bit_for_bit(monkeypatch, kernels):
    """The encoder with the 8 lanes of AVX2 and FMA as its ``lstm_step`` (what a CPU without AVX-512
    runs) and with the numpy step: the same embeddings, bit for bit, for windows of one length and of
    several (windows leaving mid-batch: the row loop's ragged tail, then the column loop below 4)."""
    from prosody.engine import embedding as E
    avx2 = _numpy_tanh_kernels(kernels, "_avx2")
    mel = np.random.default_rng(45).gamma(1.0, 0.05, (700, 40)).astype(np.float32)
    st = np.arange(0, 600, 12)
    out = []
    for module in (avx2, None):
        monkeypatch.setattr(E, "KERNELS", module)
        enc = E.VoiceEncoder.load()
        out.append(enc.embed_windows(mel, starts=np.arange(0, 640, 10)[:21], n_frames=60).tobytes()
                   + enc.embed_windows_of_lengths(mel, starts=st, lengths=100 - st % 70).tobytes())
    assert out[0] == out[1]


def _w256(kernels):
    """``pack_w256`` and ``w256_product`` where the CPU has AVX-512, else skip."""
    pack, product = getattr(kernels, "pack_w256", None), getattr(kernels, "w256_product", None)
    if pack is None or product is None:
        pytest.skip("no compiled (1024, 256) product here (a CPU without AVX-512)")
    return pack, product


def test_w256_product_gives_the_exact_products_of_small_integers(kernels):
    """Weights and inputs of small integers: every partial sum is an integer under 2**24, exact in
    float32 in any order, so the kernel's product must be the exact one (int64) in each of the
    first ``k`` columns, for every ``k`` through the 48-, 32- and 16-column passes and their
    ragged tails; ``x`` a wider array, ``out``'s other columns left as they were; one working space for
    every call, of the widest's size."""
    pack, product = _w256(kernels)
    xpad = np.full(256 * 144, np.nan, np.float32)
    rng = np.random.default_rng(46)
    w = rng.integers(-3, 4, (1024, 256))
    wp = np.empty(w.size, np.float32)
    pack(w.astype(np.float32), wp)
    for k in list(range(1, 50)) + [63, 64, 65, 95, 96, 97, 100, 128, 130]:
        x = rng.integers(-3, 4, (256, k + 3))
        out = np.full((1024, k + 5), np.nan, np.float32)
        product(wp, x.astype(np.float32), k, out, xpad)
        assert np.array_equal(out[:, :k], (w @ x[:, :k]).astype(np.float32)), k
        assert np.isnan(out[:, k:]).all(), k


def test_w256_product_refuses_shapes_it_cannot_hold(kernels):
    pack, product = _w256(kernels)
    wp = np.zeros(1024 * 256, np.float32)
    xpad = np.zeros(256 * 16, np.float32)
    for x, k, out, pad in ((np.zeros((256, 4), np.float32), 5, np.zeros((1024, 8), np.float32), xpad),
                           (np.zeros((256, 4), np.float32), 4, np.zeros((1024, 3), np.float32), xpad),
                           (np.zeros((255, 4), np.float32), 4, np.zeros((1024, 4), np.float32), xpad),
                           (np.zeros((256, 4), np.float32), 0, np.zeros((1024, 4), np.float32), xpad),
                           (np.zeros((256, 20), np.float32), 17, np.zeros((1024, 20), np.float32), xpad)):
        with pytest.raises(ValueError):
            product(wp, x, k, out, pad)


def test_the_recurrent_product_kernel_gives_blas_bits_wherever_it_is_used(monkeypatch, kernels):
    """``w256_product`` runs a step's recurrent product only for the shapes where the check at first use
    (``_w256_sums_as_blas``) found BLAS's bits; there it gives them on other weights and states too, and the
    encoder's embeddings with it are the BLAS products' bit for bit: 128, 40 and 12 windows (one product,
    one with a ragged last pass, row blocks), and windows of several lengths (leaving mid-batch)."""
    from prosody.engine import embedding as E
    pack, product = _w256(kernels)
    rng = np.random.default_rng(47)
    used = [k for k in range(1, 129) if E._w256_sums_as_blas(k, E._recurrent_rows(k))]
    for k in used[::3]:
        w = (rng.standard_normal((1024, 256)) * 0.3).astype(np.float32)
        wp = np.empty(w.size, np.float32)
        pack(w, wp)
        h = np.tanh(rng.standard_normal((256, k + 2 + k % 5))).astype(np.float32)
        out, ref = np.empty((1024, k), np.float32), np.empty((1024, k), np.float32)
        product(wp, h, k, out, E._w256_pad(k))
        rows = E._recurrent_rows(k)
        for a in range(0, 1024, rows):
            np.matmul(w[a:a + rows], h[:, :k], out=ref[a:a + rows])
        assert out.tobytes() == ref.tobytes(), k
    mel = rng.gamma(1.0, 0.05, (900, 40)).astype(np.float32)
    st = np.arange(0, 600, 7)
    embeddings = []
    for sums_as_blas in (E._w256_sums_as_blas, lambda k, rows: False):
        monkeypatch.setattr(E, "_w256_sums_as_blas", sums_as_blas)
        enc = E.VoiceEncoder.load()
        embeddings.append(b"".join(enc.embed_windows(mel, starts=np.arange(0, 768, 6)[:n], n_frames=40).tobytes()
                                   for n in (128, 40, 12))
                          + enc.embed_windows_of_lengths(mel, starts=st, lengths=90 - st % 60).tobytes())
    assert embeddings[0] == embeddings[1]


def _short_mantissas(rng, shape):
    """float32 values of at most 8 significant bits over a wide range of exponents: the product of two is exact
    in float32, so a chain of fused multiply-adds gives what float32 adds of the products give in the same order,
    and a sum in another order gives other bits on most values."""
    return (rng.integers(-255, 256, shape) * np.exp2(rng.integers(-12, 12, shape))).astype(np.float32)


def _fma_chains(w: np.ndarray, x: np.ndarray, lanes: int) -> np.ndarray:
    """(rows, lanes, columns): per value of ``w @ x`` the float32 sums of its exact products, term ``q`` into
    chain ``q % lanes``, each in order from zero (one chain with ``lanes`` 1)."""
    out = np.zeros((w.shape[0], lanes, x.shape[1]), np.float32)
    for q in range(w.shape[1]):
        out[:, q % lanes] += w[:, q:q + 1] * x[q]
    return out


def test_w256_products_sum_in_the_order_of_their_numpy_reference(kernels):
    """The reference written out in numpy, on values whose products are exact (``_short_mantissas``):
    ``w256_product`` sums each value's 256 terms in order from zero, whatever the column count (48-, 32- and
    16-column passes, a last 1-8 columns in a 256-bit vector of their own); ``w256_product_small`` sums a last 1-8
    columns past a multiple of 16 as 16 chains, term q in chain q % 16, the chains then added in a tree of
    neighbours ((0 + 1) + (2 + 3)) + ..., the other columns as ``w256_product``; the columns past k untouched."""
    pack, product = _w256(kernels)
    small = getattr(kernels, "w256_product_small")
    rng = np.random.default_rng(89)
    w = _short_mantissas(rng, (1024, 256))
    wp = np.empty(w.size, np.float32)
    pack(w, wp)
    for k in (2, 3, 5, 8, 9, 16, 17, 19, 20, 23, 24, 25, 33, 40, 41, 53, 70, 72, 96):
        x = _short_mantissas(rng, (256, k + 3))
        in_order = _fma_chains(w, x[:, :k], 1)[:, 0]
        tree = _fma_chains(w, x[:, :k], 16)
        while tree.shape[1] > 1:
            tree = tree[:, 0::2] + tree[:, 1::2]
        tail = k % 16 if 1 <= k % 16 <= 8 else 0
        want_small = np.concatenate([in_order[:, :k - tail], tree[:, 0, k - tail:]], axis=1)
        assert not np.array_equal(in_order, want_small) or tail == 0, k  # the two orders differ on these values
        for fn, args, want in ((product, (wp,), in_order), (small, (wp, w), want_small)):
            out = np.full((1024, k + 2), np.nan, np.float32)
            fn(*args, x, k, out, np.empty(256 * (-(-k // 16) * 16), np.float32))
            assert out[:, :k].tobytes() == want.tobytes(), (fn.__name__, k)
            assert np.isnan(out[:, k:]).all(), k


def test_w256_product_small_gives_blas_bits_where_the_encoder_uses_it(kernels):
    """``w256_product_small`` runs a step's recurrent product where ``w256_product`` does not give BLAS's bits
    and the check at first use (``_w256_small_sums_as_blas``) found that it does: on this machine's OpenBLAS the
    2-8 and 17-24 windows of its small-matrix kernel; there on other weights and states too, row blocks as
    ``_forward`` takes them; and it refuses unpacked weights of the wrong size."""
    from prosody.engine import embedding as E
    pack, _ = _w256(kernels)
    small = getattr(kernels, "w256_product_small")
    rng = np.random.default_rng(90)
    used = [k for k in range(1, 129) if not E._w256_sums_as_blas(k, E._recurrent_rows(k))
            and E._w256_small_sums_as_blas(k, E._recurrent_rows(k))]
    w = (rng.standard_normal((1024, 256)) * 0.3).astype(np.float32)
    wp = np.empty(w.size, np.float32)
    pack(w, wp)
    with E._one_blas_thread():
        for k in used:
            h = np.tanh(rng.standard_normal((256, k + 3))).astype(np.float32)
            out, ref = np.empty((1024, k), np.float32), np.empty((1024, k), np.float32)
            small(wp, w, h, k, out, E._w256_pad(k))
            rows = E._recurrent_rows(k)
            for a in range(0, 1024, rows):
                np.matmul(w[a:a + rows], h[:, :k], out=ref[a:a + rows])
            assert out.tobytes() == ref.tobytes(), k
    with pytest.raises(ValueError):
        small(wp, w[:512], np.zeros((256, 4), np.float32), 4, np.zeros((1024, 4), np.float32), E._w256_pad(4))
