"""prosody's own compiled kernels (``prosody/_kernels.c``), when the install
built them.

``pip install -e .`` compiles them where a C compiler and Python's headers are
present (setup.py, an optional extension: the install goes on without them).
They are the per-run loops of the voice-quality analysis
(engine/voice_quality.py), where a run of ~0.3 s costs more in numpy calls
than in arithmetic; the cross-talk stage's bin powers and decaying peak hold
(engine/crosstalk.py, bit for bit); the pitch tracker's anti-alias filter
(engine/pitch.py); the diarizer's Viterbi paths (engine/diarize.py) and the
voice encoder's LSTM step (engine/embedding.py: the whole step with numpy's
own float32 tanh written out, where the CPU has AVX-512 and that tanh is
np.tanh's to the bit, else the step between its tanh calls) and its
recurrent product (AVX-512, for the window counts where it gives BLAS's
bits: checked at first use), bit for bit,
looked up by name, so that a module built before them still serves the
rest. The numpy code is the reference and the fallback; the two agree
to rounding (tests/test_kernels_c.py).

``PROSODY_NO_KERNELS=1`` in the environment runs the numpy code even where
the kernels are built.
"""
from __future__ import annotations

import os


API = 4   # the argument conventions this code calls the kernels with (KERNELS_API in _kernels.c)


def load():
    """The ``prosody._kernels`` module, or None when it is not built, does
    not load, was built from other source (an editable install not rebuilt
    after an update: ``pip install -e .`` again), or ``PROSODY_NO_KERNELS``
    is set."""
    if os.environ.get("PROSODY_NO_KERNELS", "") not in ("", "0"):
        return None
    try:
        from .. import _kernels
    except ImportError:
        return None
    return _kernels if getattr(_kernels, "API", None) == API else None


KERNELS = load()
