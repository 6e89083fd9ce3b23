"""The cheaper diarization code computes what the plain formulas compute (issue 9 cost).

The encoder's batched, reordered forward pass against a plain per-window LSTM
(torch's gate order i, f, g, o); the Viterbi against every path of a short
sequence; a voice's own-frame windows taken from the first pass against
computing them anew."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from prosody.engine.diarize import (DiarizeConfig, _own_windows, _relabels_a_stretch, _separation_tiles, _utterance_tiles,
                                    _viterbi, _window_embeddings)
from prosody.engine import embedding as E
from prosody.engine.embedding import VoiceEncoder
from prosody.errors import InputError
from prosody.timebase import GRID


def _plain_lstm_embedding(w, window: np.ndarray) -> np.ndarray:
    x = window.astype(np.float64)
    for layer in range(3):
        wih, whh = w[f"lstm_weight_ih_l{layer}"], w[f"lstm_weight_hh_l{layer}"]
        b = w[f"lstm_bias_ih_l{layer}"] + w[f"lstm_bias_hh_l{layer}"]
        h, c, out = np.zeros(256), np.zeros(256), []
        for xt in x:
            z = wih @ xt + whh @ h + b
            i, f, g, o = 1 / (1 + np.exp(-z[:256])), 1 / (1 + np.exp(-z[256:512])), np.tanh(z[512:768]), \
                1 / (1 + np.exp(-z[768:]))
            c = f * c + i * g
            h = o * np.tanh(c)
            out.append(h)
        x = np.array(out)
    e = np.maximum(w["linear_weight"] @ h + w["linear_bias"], 0.0)
    return e / np.linalg.norm(e)


def test_encoder_matches_a_plain_lstm_for_any_batch():
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(3)
    mel = rng.gamma(1.0, 0.05, (400, 40)).astype(np.float32)
    starts = np.array([0, 7, 50, 100, 103, 250])
    ref = np.stack([_plain_lstm_embedding(enc.weights, mel[s:s + 40]) for s in starts])
    for batch in (1, 4, 128):
        got = enc.embed_windows(mel, starts=starts, n_frames=40, batch=batch)
        assert got.shape == (6, 256) and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, atol=2e-5)
    even = enc.embed_windows(mel, starts=np.arange(0, 300, 50), n_frames=40)
    np.testing.assert_allclose(even[[0, 1, 2, 5]], ref[[0, 2, 3, 5]], atol=2e-5)


def test_overlapping_windows_give_what_the_same_frames_apart_give():
    """A window's embedding is a function of its own frames: windows overlapping in one batch (the
    first pass's 1.5 s every 0.5 s) give what the same frames give copied end to end, apart (the
    voices' own windows), and as one window alone; each step's layer-0 input is the product of the
    window's own mel row, made feature-major a chunk at a time (no per-frame projection shared by
    overlapping windows and read transposed: docs/speakers.md, seventy-fifth round). To float32
    rounding (BLAS may take another kernel for one column: the EPYC note above); bit for bit here."""
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(21)
    mel = rng.gamma(1.0, 0.05, (700, 40)).astype(np.float32)
    starts = np.arange(0, 550, 50)  # 11 windows of 150 frames, each frame in up to three
    overlapping = enc.embed_windows(mel, starts=starts, n_frames=150)
    apart = enc.embed_windows(mel[(starts[:, None] + np.arange(150)).ravel()],
                              starts=np.arange(len(starts)) * 150, n_frames=150)
    np.testing.assert_allclose(overlapping, apart, rtol=0, atol=1e-6)
    alone = np.stack([enc.embed_windows(mel, starts=[s], n_frames=150)[0] for s in starts[:3]])
    np.testing.assert_allclose(overlapping[:3], alone, rtol=0, atol=2e-6)
    ref = np.stack([_plain_lstm_embedding(enc.weights, mel[s:s + 150]) for s in starts[[0, 5, 10]]])
    np.testing.assert_allclose(overlapping[[0, 5, 10]], ref, atol=2e-5)


def test_windows_of_several_lengths_in_one_pass_match_a_plain_lstm():
    """``embed_windows_of_lengths``: each window its own length (given in any order, in
    batches that mix lengths, windows overlapping and apart, one frame long, running past
    the end) gives what a plain LSTM over that window alone gives."""
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(11)
    mel = rng.gamma(1.0, 0.05, (300, 40)).astype(np.float32)
    starts = np.array([5, 0, 120, 7, 260, 40, 40, 200])
    lengths = np.array([12, 37, 1, 37, 60, 25, 9, 30])  # the window at 260 runs 20 frames past the end
    padded = np.concatenate([mel, np.zeros((40, 40), np.float32)])
    ref = np.stack([_plain_lstm_embedding(enc.weights, padded[s:s + n]) for s, n in zip(starts, lengths)])
    for batch in (1, 3, 128):
        got = enc.embed_windows_of_lengths(mel, starts=starts, lengths=lengths, batch=batch)
        assert got.shape == (8, 256) and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, atol=2e-5)
    one = enc.embed_windows_of_lengths(mel, starts=starts[:4], lengths=np.full(4, 30))
    np.testing.assert_array_equal(one, enc.embed_windows(mel, starts=starts[:4], n_frames=30))
    assert enc.embed_windows_of_lengths(mel, starts=[], lengths=[]).shape == (0, 256)
    with pytest.raises(InputError):
        enc.embed_windows_of_lengths(mel, starts=[0, 5], lengths=[10, 0])
    with pytest.raises(InputError):
        enc.embed_windows_of_lengths(mel, starts=[0, 5], lengths=[10])


def test_recurrent_products_in_row_blocks_for_few_windows(monkeypatch):
    """A step's recurrent product runs in row blocks for 4..32 windows (each block under 4096
    outputs, under 2**20 multiply-adds: OpenBLAS's small-matrix kernel, no packing of the
    weights) and gives the values of one product, to float32 rounding."""
    assert [E._recurrent_rows(n) for n in (1, 2, 3, 4, 6, 8, 16, 32, 33, 128)] == \
        [1024, 1024, 1024, 512, 512, 256, 128, 64, 1024, 1024]
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(12)
    mel = rng.gamma(1.0, 0.05, (500, 40)).astype(np.float32)
    for n in (4, 8, 16, 32):
        starts = np.arange(n) * 11
        blocked = enc.embed_windows(mel, starts=starts, n_frames=50)
        with monkeypatch.context() as m:
            m.setattr(E, "_recurrent_rows", lambda n_windows: 1024)
            whole = enc.embed_windows(mel, starts=starts, n_frames=50)
        np.testing.assert_allclose(blocked, whole, atol=1e-6)


def test_utterance_tiles_in_one_call_are_the_per_utterance_tiles():
    """``_utterance_tiles`` (one encoder call over tiles of every length) gives per utterance
    the tiles one call per utterance gives: ``min(length, 150)`` frames, a partial last one
    left out."""
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(13)
    melc = rng.gamma(1.0, 0.05, (900, 40)).astype(np.float32)
    ua, ub = np.array([0, 180, 230, 600, 720]), np.array([180, 230, 590, 700, 900])
    tiles = _utterance_tiles(enc, melc, ua, ub)
    assert sorted(tiles) == [0, 180, 230, 600, 720]
    for a, b in zip(ua, ub):
        n = min(b - a, 150)
        want = enc.embed_windows(melc, starts=np.arange(a, b - n + 1, n), n_frames=int(n))
        assert tiles[int(a)].shape == want.shape
        np.testing.assert_allclose(tiles[int(a)], want, atol=1e-6)
    assert _utterance_tiles(enc, melc, ua[:0], ub[:0]) == {}  # no utterance: no tile (no encoder call)


def test_encoder_projection_chunks_and_halved_gates_change_no_bit(monkeypatch):
    """A layer's input projection computed a few steps at a time (any chunk) gives the values
    of one product over the whole window to float32 rounding (bit for bit where BLAS sums each
    column alike whatever the column count; OpenBLAS on an AMD EPYC took another kernel for one
    column: 1842 of 4608 values differed, by at most 2.5e-7, 2026-12-05); and the sigmoid gates'
    halved weights give exactly ``tanh(0.5 * x)`` of the unhalved pre-activations."""
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(8)
    mel = rng.gamma(1.0, 0.05, (600, 40)).astype(np.float32)
    starts = np.arange(0, 450, 25)
    ref = enc.embed_windows(mel, starts=starts, n_frames=150)
    for cols in (1, 7 * len(starts), 10 ** 9):
        monkeypatch.setattr(E, "_PROJ_CHUNK_COLS", cols)
        np.testing.assert_allclose(enc.embed_windows(mel, starts=starts, n_frames=150), ref, rtol=0, atol=2e-6)
    w_ih, bias, whh = enc._lstm[1]
    raw = enc.weights
    x = rng.standard_normal((256, 5)).astype(np.float32)
    z = (raw["lstm_weight_ih_l1"][E._GATES] @ x
         + ((raw["lstm_bias_ih_l1"] + raw["lstm_bias_hh_l1"])[E._GATES])[:, None])
    zh = w_ih @ x + bias[:, None]
    np.testing.assert_array_equal(np.tanh(zh[:E._SIGMOID_ROWS]), np.tanh(np.float32(0.5) * z[:E._SIGMOID_ROWS]))
    np.testing.assert_array_equal(zh[E._SIGMOID_ROWS:], z[E._SIGMOID_ROWS:])
    assert whh.shape == (1024, 256)


@pytest.mark.parametrize("compiled", [True, False])
def test_viterbi_finds_the_best_path(monkeypatch, compiled):
    import prosody.engine.diarize as D
    if compiled and D._kernel("viterbi") is None:
        pytest.skip("prosody._kernels (with viterbi) is not built")
    if not compiled:
        monkeypatch.setattr(D, "KERNELS", None)
    rng = np.random.default_rng(5)
    pen = np.array([[0.0, 2.0, 1.5], [2.0, 0.0, 1.5], [1.5, 1.5, 0.0]])
    for _ in range(5):
        score = rng.standard_normal((7, 3)) * 2
        scale = rng.choice([0.5, 1.0], 7)
        path = _viterbi(score, pen, scale)

        def total(p):
            return sum(score[t, p[t]] - (pen[p[t - 1], p[t]] * scale[t] if t else 0.0) for t in range(len(p)))
        best = max(total(p) for p in itertools.product(range(3), repeat=7))
        assert abs(total(path) - best) < 1e-9


def test_own_windows_reuse_first_pass_windows():
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(4)
    melc = rng.gamma(1.0, 0.05, (300, 40)).astype(np.float32)
    w = 30
    starts = np.arange(0, 300 - w + 1, 10)
    emb = enc.embed_windows(melc, starts=starts, n_frames=w)
    sel = np.r_[0:90, 103:200]   # a voice's frames: the first 3 windows are first-pass windows
    st = np.arange(0, len(sel) - w + 1, w)
    got = _own_windows(enc, melc, sel, st, w, emb, starts, w)
    np.testing.assert_array_equal(got[:3], emb[[0, 3, 6]])
    np.testing.assert_allclose(got, enc.embed_windows(melc[sel], starts=st, n_frames=w), atol=1e-6)


def test_prefix_embeddings_are_the_shorter_windows():
    """The finer restart's windows read from the first pass's runs: the embedding of each
    window's first frames equals the plain LSTM over those frames alone."""
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(6)
    mel = rng.gamma(1.0, 0.05, (300, 40)).astype(np.float32)
    starts = np.arange(0, 300 - 45 + 1, 15)
    full, pre = enc.embed_windows_and_prefixes(mel, starts=starts, n_frames=45, prefix_frames=30)
    np.testing.assert_array_equal(full, enc.embed_windows(mel, starts=starts, n_frames=45))
    ref = np.stack([_plain_lstm_embedding(enc.weights, mel[s:s + 30]) for s in starts[[0, 5, -1]]])
    np.testing.assert_allclose(pre[[0, 5, -1]], ref, atol=2e-5)
    np.testing.assert_allclose(pre, enc.embed_windows(mel, starts=starts, n_frames=30), atol=1e-6)


def test_restart_windows_missing_from_the_prefixes_are_embedded_once_per_recording(monkeypatch):
    """A restart's windows not read from the first pass's prefixes (the last ones) are embedded
    by the first restart that needs them; a second restart with the same windows takes that
    call's result, bit for bit what embedding them again gives, with no encoder call."""
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(9)
    melc = rng.gamma(1.0, 0.05, (300, 40)).astype(np.float32)
    w = 30
    starts = np.arange(0, 300 - w + 1, 10)
    known = starts[:-3]  # the prefixes stop short of the speech's end
    memo = {("prefix", w): dict(zip(known.tolist(), enc.embed_windows(melc, starts=known, n_frames=w)))}
    cfg = DiarizeConfig(finer_window_s=0.0)
    calls = []
    plain = VoiceEncoder.embed_windows
    monkeypatch.setattr(VoiceEncoder, "embed_windows",
                        lambda self, mel, **kw: calls.append(kw["starts"].tolist()) or plain(self, mel, **kw))
    first = _window_embeddings(enc, melc, starts, w, cfg, GRID, memo)
    second = _window_embeddings(enc, melc, starts, w, cfg, GRID, memo)
    assert calls == [starts[-3:].tolist()]
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(first[-3:], plain(enc, melc, starts=starts[-3:], n_frames=w))
    other = _window_embeddings(enc, melc, starts[:-1], w, cfg, GRID, memo)  # other windows: embedded anew
    assert calls[-1] == starts[-3:-1].tolist()
    np.testing.assert_array_equal(other[-2:], plain(enc, melc, starts=starts[-3:-1], n_frames=w))


def test_separation_tiles_spread_evenly_up_to_the_limit():
    assert _separation_tiles(900, 150, 0).tolist() == [0, 150, 300, 450, 600, 750]
    assert _separation_tiles(900, 150, 64).tolist() == [0, 150, 300, 450, 600, 750]
    assert _separation_tiles(900, 150, 3).tolist() == [0, 300, 750]
    assert _separation_tiles(149, 150, 3).tolist() == []


def test_restart_measured_only_where_it_moves_a_stretch():
    """Changes of voice shifted by fewer than ``min_frames`` frames: not worth the finer
    restart's separation; a stretch given to the other voice is, whatever the voices' names."""
    first = np.array([0] * 100 + [1] * 100 + [0] * 100, np.int8)
    shifted = np.array([0] * 110 + [1] * 95 + [0] * 95, np.int8)
    assert not _relabels_a_stretch(first, shifted, 30)
    assert not _relabels_a_stretch(first, 1 - shifted, 30)  # the same path, names swapped
    moved = first.copy()
    moved[40:80] = 1  # a 0.4 s turn of the other voice found inside the first voice's
    assert _relabels_a_stretch(first, moved, 30) and _relabels_a_stretch(first, 1 - moved, 30)
    both = first.copy()
    both[40:80] = 2  # "both voices" is no move
    assert not _relabels_a_stretch(first, both, 30)


def test_voices_own_windows_empty_when_either_voice_is_too_short():
    """Either voice under ``min_voice_s`` gives no windows (the caller then reports one voice);
    the second voice short used to reach a missing key."""
    from prosody.engine.diarize import DiarizeConfig, _voices_own_windows
    from prosody.timebase import GRID
    enc = VoiceEncoder.load()
    rng = np.random.default_rng(5)
    melc = rng.gamma(1.0, 0.05, (400, 40)).astype(np.float32)
    cfg, w = DiarizeConfig(), 150
    starts = np.arange(0, 400 - w + 1, 50)
    emb = enc.embed_windows(melc, starts=starts, n_frames=w)
    short = GRID.s_to_frames(cfg.min_voice_s) - 1
    for path in (np.r_[np.zeros(400 - short), np.ones(short)], np.r_[np.ones(400 - short), np.zeros(short)]):
        assert _voices_own_windows(enc, melc, path.astype(np.int8), cfg, GRID, emb, starts, w) == {}
    both = np.r_[np.zeros(200), np.ones(200)].astype(np.int8)
    got = _voices_own_windows(enc, melc, both, cfg, GRID, emb, starts, w)
    assert sorted(got) == [0, 1] and all(len(v) >= 1 for v in got.values())


def test_speech_rms_equals_numpys_mean_of_the_copied_rows_bit_for_bit():
    """``_speech_rms`` sums without copying the speech rows, in numpy's pairwise order: the
    encoder's gain (and so every diarization) depends on the last bits of that sum."""
    from prosody.engine.diarize import _speech_rms
    rng = np.random.default_rng(11)
    for n_frames in (31, 900, 3001, 70001):
        frames = (rng.standard_normal((n_frames, 160)) * rng.uniform(0.001, 0.3)).astype(np.float32)
        speech = rng.random(n_frames) < rng.uniform(0.2, 0.9)
        want = np.sqrt(np.mean(frames[speech] ** 2))
        assert _speech_rms(frames, speech) == want


def test_row_max_and_row_sum_are_numpys_bit_for_bit():
    """The GMMs' per-frame maximum and sum over components, a column at a time, give numpy's
    ``max(axis=1)`` / ``sum(axis=1)`` to the last bit (the sum: in order below 8 columns, numpy's
    pairwise partial sums at 8); a numpy that sums otherwise fails here, not in the diarization."""
    from prosody.engine.diarize import _row_max, _row_sum
    rng = np.random.default_rng(21)
    for cols in range(1, 11):
        for rows in (1, 2, 7, 33, 5000, 40000):
            a = np.exp(rng.standard_normal((rows, cols)) * 20)  # wide range: the order of a sum shows
            assert _row_sum(a).tobytes() == a.sum(axis=1).tobytes(), (rows, cols)
            b = rng.standard_normal((rows, cols)) * 50
            b[rng.random((rows, cols)) < 0.01] = np.nan
            assert _row_max(b).tobytes() == b.max(axis=1).tobytes(), (rows, cols)


def _plain_gmm(x, n, iterations):
    """The GMM's EM as first written: every product on the rows as given (numpy casts float32 rows
    for each float64 product), numpy's reductions over the components."""
    n = max(1, min(n, len(x) // 20))
    order = np.argsort(x[:, 0], kind="stable")
    mu = np.stack([x[c].mean(axis=0) for c in np.array_split(order, n)])
    var = np.tile(x.var(axis=0) + 1e-3, (n, 1))
    logw = np.full(n, -np.log(n))

    def comp_ll(x, mu, var, logw):
        prec = 1.0 / var
        quad = (x * x) @ prec.T - 2.0 * x @ (mu * prec).T + np.sum(mu ** 2 * prec, axis=1)
        return logw - 0.5 * (quad + np.sum(np.log(2 * np.pi * var), axis=1))
    for _ in range(iterations):
        ll = comp_ll(x, mu, var, logw)
        r = np.exp(ll - ll.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        nk = r.sum(axis=0) + 1e-6
        mu = (r.T @ x) / nk[:, None]
        var = np.maximum((r.T @ (x * x)) / nk[:, None] - mu ** 2, 1e-3)
        logw = np.log(nk / nk.sum())

    def loglik(y):
        ll = comp_ll(y, mu, var, logw)
        m = ll.max(axis=1)
        return m + np.log(np.exp(ll - m[:, None]).sum(axis=1))
    return mu, var, logw, loglik


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gmm_fit_with_rows_cast_once_is_the_plain_em_bit_for_bit(dtype):
    """Mono features are float32: the fit casts them to float64 once instead of in every product,
    and sums the components column by column; the parameters and log-likelihoods are the plain
    EM's to the last bit (the diarization's labels depend on them)."""
    from prosody.engine.diarize import _DiagGmm
    rng = np.random.default_rng(22)
    for rows, dims, n in ((2000, 20, 8), (400, 21, 8), (150, 5, 8), (3000, 3, 4), (60, 20, 8)):
        x = (rng.standard_normal((rows, dims)) * rng.uniform(0.5, 3, dims)
             + rng.integers(0, 4, (rows, 1))).astype(dtype)
        g = _DiagGmm(x, n, 8)
        mu, var, logw, loglik = _plain_gmm(x, n, 8)
        assert g.mu.tobytes() == mu.tobytes() and g.var.tobytes() == var.tobytes()
        assert g.logw.tobytes() == logw.tobytes()
        y = rng.standard_normal((777, dims)).astype(dtype)
        assert g.loglik(y).tobytes() == loglik(y).tobytes()


def _plain_best_stretch(adv, lo_n, hi_n):
    c = np.concatenate([[0.0], np.cumsum(adv)])
    best, bi, bl = -np.inf, 0, 0
    for ln in range(lo_n, min(hi_n, len(adv)) + 1):
        s = c[ln:] - c[:-ln]
        i = int(np.argmax(s))
        if s[i] > best:
            best, bi, bl = float(s[i]), i, ln
    return best, bi, bl


@pytest.mark.parametrize("cells", [1 << 16, 300])
def test_best_stretch_in_one_array_is_the_loop_over_lengths(monkeypatch, cells):
    """Every length's stretch sums in one array (short runs) or one length at a time (long runs,
    ``cells`` small) find what the loop over lengths finds: the same sum, start and length, ties
    (first start, shortest length) and NaN included; and a planted best stretch."""
    import prosody.engine.diarize as D
    monkeypatch.setattr(D, "_STRETCH_CELLS", cells)
    rng = np.random.default_rng(23)
    for t in range(600):
        n = int(rng.integers(0, 300))
        lo = int(rng.integers(1, 40))
        hi = lo + int(rng.integers(0, 60))
        adv = rng.standard_normal(n) if t % 3 else np.round(rng.standard_normal(n))
        if t % 7 == 0 and n:
            adv[rng.integers(0, n)] = np.nan
        got, want = D._best_stretch(adv, lo, hi), _plain_best_stretch(adv, lo, hi)
        assert got[1:] == want[1:] and np.float64(got[0]).tobytes() == np.float64(want[0]).tobytes(), (t, got, want)
    adv = np.full(200, -1.0)
    adv[120:150] = 2.0
    assert D._best_stretch(adv, 10, 60) == (60.0, 120, 30)


def test_waveform_corr_runs_on_one_blas_thread_whatever_the_callers_limit():
    """The layout's waveform correlation: Pearson's r (np.corrcoef to float64 rounding), and the same
    bits whether BLAS may run 1 or 2 threads around it (threaded, OpenBLAS's ddot adds per-thread
    partial sums: the old code's bits followed the thread count; needs 2 cores to fail there)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from prosody.engine.speakers import waveform_corr

    rng = np.random.default_rng(44)
    a = rng.standard_normal(700_000).astype(np.float32)
    b = (0.6 * a + 0.8 * rng.standard_normal(len(a))).astype(np.float32) + np.float32(0.01)
    got = {}
    for k in (1, 2):
        with threadpoolctl.threadpool_limits(limits=k, user_api="blas"):
            got[k] = waveform_corr(a, b)
    assert got[1] == pytest.approx(np.corrcoef(a.astype(np.float64), b.astype(np.float64))[0, 1], abs=1e-12)
    assert got[1] == pytest.approx(0.6, abs=0.005)
    assert float(got[1]).hex() == float(got[2]).hex()


def test_encoder_runs_on_one_blas_thread_whatever_the_callers_limit(monkeypatch):
    """A voice profile's windows and the check behind the packed recurrent product (``_w256_sums_as_blas``,
    cached per shape) under the one BLAS thread ``diarize`` holds, whatever limit the caller holds: every
    ``_forward`` runs at 1 thread under a caller's 2, and a profile made outside any limit is the one made under
    one thread, to the bit (before, profiles ran at the default threads: fails on a machine of 2 or more cores)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from prosody.engine.speakers import profile_from_frames

    seen, forward = [], VoiceEncoder._forward

    def noted(self, *args, **kwargs):
        seen.append(threadpoolctl.threadpool_info()[0]["num_threads"])
        return forward(self, *args, **kwargs)
    monkeypatch.setattr(VoiceEncoder, "_forward", noted)
    rng = np.random.default_rng(83)
    t = np.arange(16000 * 12) / 16000
    x = (0.3 * np.sin(2 * np.pi * 140 * t * (1 + 0.1 * np.sin(2 * np.pi * 3 * t)))
         + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    speech = np.ones(len(x) // GRID.hop_length, bool)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        two = profile_from_frames(x, speech=speech)
    assert seen and set(seen) == {1}
    E._w256_sums_as_blas.cache_clear()  # the verdicts made again under the caller's one thread
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        one = profile_from_frames(x, speech=speech)
    assert two.n_windows == one.n_windows == 15
    assert np.array_equal(two.mean.view(np.uint32), one.mean.view(np.uint32))


def _signals(rng, n: int):
    """(name, signal) of every kind the diarizer reads frames of: mono float32, a stereo mean
    (float32 and taken in float64), a one-channel mean, three channels, a Pcm16's mean."""
    from prosody.engine.views import ChannelMean, Pcm16
    st = (rng.standard_normal((n, 3)) * 0.2).astype(np.float32)
    st[:50] = -0.0  # signed zeros at the start: (0 + a + b) / 2 as the gather takes it
    q = (rng.standard_normal((n, 2)) * 3000).astype(np.int16)
    return [("mono", st[:, 0].copy()), ("mean", ChannelMean(st[:, :2])),
            ("mean float64", ChannelMean(st[:, :2], in_float64=True)), ("one channel", ChannelMean(st[:, :1])),
            ("three channels", ChannelMean(st)), ("pcm16 mean", ChannelMean(Pcm16(q)))]


def test_windows_at_is_the_sample_gather_bit_for_bit():
    """Whole rows of a window view give what a sample-by-sample gather gives, to the bit, for every
    kind of signal, rows at both ends, overlapping and repeated, more rows than one piece reads."""
    from prosody.engine.views import _WINDOW_ROWS, windows_at
    rng = np.random.default_rng(75)
    n, width = 5000, 400
    starts = np.concatenate([[0, 0, 1, 160, n - width - 1, n - width],
                             rng.integers(0, n - width + 1, _WINDOW_ROWS + 100)])
    for name, sig in _signals(rng, n):
        want = sig[starts[:, None] + np.arange(width)]
        got = windows_at(sig, starts, width)
        assert got.dtype == want.dtype == np.float32 and got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name


def _windows_gathered(y, first, win, gain):
    """The pitch cue's frames as it read them before the seventy-third round: every window gathered
    sample by sample, zeros beyond the signal (the reference)."""
    pos = first[:, None] + np.arange(win)
    fr = y[np.clip(pos, 0, len(y) - 1)] * gain
    return np.where((pos >= 0) & (pos < len(y)), fr, np.float32(0.0))


def _band_powers_gathered(y, rows):
    """``_band_powers`` as it read its frames before: one slice per frame, zero padded at the ends."""
    from prosody.engine.embedding import periodic_hann
    from prosody.engine.views import as_signal
    x, hop, n_fft = as_signal(y), 160, 400
    freq = np.fft.rfftfreq(n_fft, 1.0 / 16000)
    high, voice = (freq >= 4300.0) & (freq <= 7800.0), (freq >= 300.0) & (freq <= 3400.0)
    frames = np.zeros((len(rows), n_fft), np.float32)
    for i, r in enumerate(rows):
        lo, hi = int(r) * hop - n_fft // 2, int(r) * hop + n_fft // 2
        seg = x[max(lo, 0):min(hi, len(x))]
        frames[i, max(0, -lo):max(0, -lo) + len(seg)] = seg
    frames *= periodic_hann()
    from prosody.engine.compiled import rfft
    spec = rfft(frames, axis=1)
    power = np.square(spec.real) + np.square(spec.imag)
    return (float(power[:, high].sum(axis=1, dtype=np.float64).mean()),
            float(power[:, voice].sum(axis=1, dtype=np.float64).mean()))


def test_pitch_and_band_frames_read_as_rows_give_the_gathered_values():
    """The pitch cue and the high-band figure read their interior frames as whole rows
    (``windows_at``) and those at the recording's ends as before: the same bits as the
    sample-by-sample reads, with a voiced tone planted (a pitch found, not only nan)."""
    from prosody.engine.diarize import GRID, _band_powers, _frame_f0_st, _windows_from
    rng = np.random.default_rng(76)
    n = 16000 * 3
    tone = (1.0 * np.sin(2 * np.pi * 150.0 * np.arange(n) / 16000)).astype(np.float32)
    n_frames = n // 160
    frames = np.concatenate([[0, 1, 2, 3], np.sort(rng.choice(np.arange(4, n_frames - 3), 150, replace=False)),
                             [n_frames - 3, n_frames - 2, n_frames - 1, n_frames]])
    for name, sig in _signals(rng, n):
        src = sig.source if hasattr(sig, "source") else None
        if isinstance(src, np.ndarray):
            src += tone[:, None]  # a 150 Hz voice under the noise
        elif src is None:
            sig += tone
        for block in (frames[:64], frames[64:-4], frames[-40:]):  # the recording's start, inside, its end
            first = block * 160 - 320
            want = _windows_gathered(sig, first, 640, 1.37)
            assert _windows_from(sig, first, 640, 1.37).tobytes() == want.tobytes(), name
        if name == "mono":
            f0 = _frame_f0_st(sig, frames, grid=GRID, gain=1.37)
            assert np.nanmedian(f0) == pytest.approx(12 * np.log2(1.5), abs=0.3)  # 150 Hz re 100 Hz
        for rows in (frames, frames[4:-4], frames[:3]):
            assert _band_powers(sig, rows, GRID) == _band_powers_gathered(sig, rows), name


def test_pitch_autocorrelation_fft_is_the_shortest_that_does_not_wrap():
    """``_frame_f0_st``'s FFT length (``_linear_ac_fft_length``): 1024 for its 640-sample window to lag 266 (not
    1280). The circular autocorrelation of a planted window at that length is the linear one (np.correlate) at
    every lag read, where half the length wraps round; tones planted at the search range's ends, 61 and 390 Hz,
    read as such (semitones re 100 Hz, within 0.3)."""
    from prosody.engine.diarize import _frame_f0_st, _linear_ac_fft_length
    assert _linear_ac_fft_length(640, 266) == 1024
    assert [_linear_ac_fft_length(w, lag) for w, lag in ((512, 512), (513, 511), (512, 513), (1, 0))] == \
        [1024, 1024, 2048, 1]
    x = np.random.default_rng(84).standard_normal(640)
    linear = np.correlate(x, x, "full")[639:639 + 267]
    for nfft, wraps in ((1024, False), (512, True)):
        circular = np.fft.irfft(np.abs(np.fft.rfft(x, nfft)) ** 2, nfft)[:267]
        assert np.allclose(circular, linear, atol=1e-9) != wraps
    t = np.arange(16000) / 16000
    for f0 in (61.0, 390.0):
        y = sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in ((1, 1.0), (2, 0.5), (3, 0.3))).astype(np.float32)
        assert np.all(np.abs(_frame_f0_st(y, np.arange(10, 90)) - 12 * np.log2(f0 / 100)) < 0.3), f0
