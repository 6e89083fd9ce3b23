"""The engine's stand-ins for scipy.signal / scipy.fft functions (loaded or
written without importing those packages, for start-up time) give scipy's
output."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from prosody.engine.compiled import dct1, dct2_ortho, rfft, sosfilt
from prosody.engine.iir import butter_highpass_sos
from prosody.engine.voice_quality import resample_poly


@pytest.mark.parametrize("cutoff_hz,order", [(150.0, 4), (60.0, 2), (900.0, 6)])
def test_butterworth_and_biquads_equal_scipy(cutoff_hz, order):
    signal = pytest.importorskip("scipy.signal")
    ours = butter_highpass_sos(order, cutoff_hz, sample_rate=16000)
    ref = signal.butter(order, cutoff_hz, btype="highpass", fs=16000, output="sos")
    assert np.allclose(ours, ref, rtol=0, atol=1e-14)
    x = np.random.default_rng(0).standard_normal(3000).astype(np.float32)
    # in two blocks with the state carried: the same as scipy in one go
    y1, z = sosfilt(ref, x[:1234], np.zeros((order // 2, 2)))
    y2, z = sosfilt(ref, x[1234:], z)
    y, zf = signal.sosfilt(ref, x.astype(np.float64), zi=np.zeros((order // 2, 2)))
    assert np.array_equal(np.concatenate([y1, y2]), y) and np.array_equal(z, zf)


def test_fft_kernels_and_resampler_equal_scipy():
    fft = pytest.importorskip("scipy.fft")
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((7, 360)).astype(dtype)
        assert np.array_equal(rfft(x, axis=1), fft.rfft(x, axis=1))
        assert np.array_equal(dct1(x, axis=1), fft.dct(x, type=1, axis=1))
        assert np.array_equal(dct2_ortho(x, axis=1), fft.dct(x, type=2, norm="ortho", axis=1))
        assert dct2_ortho(x, axis=1).dtype == dtype
    for n in (1, 9, 161, 4801):
        x = rng.standard_normal(n)
        ref = signal.resample_poly(x, 5, 8)
        assert resample_poly(x, 5, 8) == pytest.approx(ref, abs=1e-12)


def test_analysis_imports_leave_scipy_signal_and_fft_out():
    # the command line and the layout detection every stereo file goes through (with the
    # diarizer's module) too: ~0.3 s of CPU a separate-channel analysis does not need
    code = ("import sys, prosody.session, prosody.engine.sources, prosody.engine.speakers, prosody_cli.main; "
            "print(sorted(m for m in sys.modules if m.startswith(('scipy.signal', 'scipy.fft', 'scipy.stats', 'scipy.ndimage'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_changed_scipy_kernel_falls_back_to_the_public_functions(monkeypatch):
    """A scipy release whose private kernels take other arguments (or answer
    wrongly) must not break an analysis: the self-check turns them down and
    the public functions give the same output."""
    fft = pytest.importorskip("scipy.fft")
    signal = pytest.importorskip("scipy.signal")
    from prosody.engine import compiled

    class Changed:
        def r2c(self, *args):
            raise TypeError("r2c() takes 3 positional arguments")

        def dct(self, *args):
            return np.zeros(3)

        def _sosfilt(self, sos, y, z):
            y[:] = 0.0  # a wrong answer, not an error

    monkeypatch.setattr(compiled, "extension", lambda folder, name: Changed())
    compiled._sosfilt_kernel.cache_clear()
    compiled._pocketfft_kernel.cache_clear()
    try:
        x = np.random.default_rng(2).standard_normal((3, 64))
        assert np.array_equal(compiled.rfft(x, axis=1), fft.rfft(x, axis=1))
        assert np.array_equal(compiled.dct1(x, axis=1), fft.dct(x, type=1, axis=1))
        assert np.array_equal(compiled.dct2_ortho(x, axis=1), fft.dct(x, type=2, norm="ortho", axis=1))
        sos = signal.butter(2, 150.0, btype="highpass", fs=16000, output="sos")
        y, _ = compiled.sosfilt(sos, x[0], np.zeros((1, 2)))
        assert np.array_equal(y, signal.sosfilt(sos, x[0], zi=np.zeros((1, 2)))[0])
    finally:
        compiled._sosfilt_kernel.cache_clear()
        compiled._pocketfft_kernel.cache_clear()


def test_fast_fft_length_is_scipys():
    fft = pytest.importorskip("scipy.fft")
    from prosody.engine.compiled import fast_len
    assert [fast_len(n) for n in range(1, 3000)] == [fft.next_fast_len(n, real=True) for n in range(1, 3000)]
