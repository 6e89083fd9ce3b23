"""prosody.quantile.percentile is np.percentile, bit for bit (values, dtype, shape)."""
import numpy as np

from prosody.quantile import percentile


def _same(a, b) -> bool:
    a, b = np.asanyarray(a), np.asanyarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_percentile_is_numpys_bit_for_bit():
    rng = np.random.default_rng(7)
    qs = (0, 2.5, 5, 10, 25, 50, 50.0, 75, 90, 95, 97.5, 100, (2.5, 97.5), [10, 50, 90], (0.0, 100.0))
    for trial in range(400):
        n = int(rng.integers(1, 60)) if trial % 2 else int(rng.integers(60, 4000))
        dtype = (np.float32, np.float64, np.int64)[trial % 3]
        x = (rng.normal(0, 30, n) * (10 ** rng.uniform(-3, 3))).astype(dtype)
        if trial % 7 == 0:
            x = np.round(x)   # ties
        for q in qs:
            got, want = percentile(x, q), np.percentile(x, q)
            assert type(got) is type(want) and _same(got, want), (trial, n, dtype, q, got, want)
    x = np.array([1.0, np.nan, 3.0], np.float32)
    assert _same(percentile(x, 50), np.percentile(x, 50))
    assert np.isnan(percentile(x, (10, 90))).all()


def test_median_is_numpys_bit_for_bit():
    from prosody.quantile import median
    rng = np.random.default_rng(8)
    for trial in range(300):
        n = int(rng.integers(1, 50)) if trial % 2 else int(rng.integers(50, 3000))
        x = (rng.normal(0, 30, n) * (10 ** rng.uniform(-3, 3))).astype((np.float32, np.float64)[trial % 2])
        if trial % 5 == 0:
            x = np.round(x) * np.where(rng.random(n) < 0.5, -1, 1)   # ties, 0.0 and -0.0
        got, want = median(x), np.median(x)
        assert type(got) is type(want) and _same(got, want), (trial, n, x.dtype, got, want)
    for x in ([1.0, 2.5, 4.0, 7.0], np.array([1.0, np.nan], np.float32), np.arange(5)):
        assert _same(median(x), np.median(x))
