"""The compiled kernels' float32 tanh (``prosody/_kernels.c`` ``tanh_f32``, numpy's own SIMD tanh
written out) against ``np.tanh`` on every float32 bit pattern, 2**32 of them, in chunks: the check
behind ``lstm_step`` (docs/speakers.md, seventy-sixth round, cost79). Rerun it when numpy changes:
``engine/embedding.py`` turns the kernel down at run time where its tanh differs on a sample, this
looks at all of them. Prints the count of patterns whose bits differ and the first few.

    python benchmarks/tanh_exhaustive.py [--chunk-bits 24]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from prosody.engine.ckernels import KERNELS

SHOWN = 20  # differing patterns printed at most


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunk-bits", type=int, default=24, help="2**N patterns a chunk (memory: 12 * 2**N bytes)")
    args = ap.parse_args()
    tanh = getattr(KERNELS, "tanh_f32", None)
    if tanh is None:
        raise SystemExit("prosody._kernels has no tanh_f32 here (not built, PROSODY_NO_KERNELS, or no AVX-512)")
    chunk = 1 << args.chunk_bits
    t0 = time.process_time()
    out = np.empty(chunk, np.float32)
    differ, shown = 0, []
    for start in range(0, 1 << 32, chunk):
        bits = np.arange(start, start + chunk, dtype=np.uint64).astype(np.uint32)
        want = np.tanh(bits.view(np.float32)).view(np.uint32)
        tanh(bits.view(np.float32), out)
        bad = np.flatnonzero(want != out.view(np.uint32))
        differ += len(bad)
        shown += [(f"{bits[i]:#010x}", f"{want[i]:#010x}", f"{out.view(np.uint32)[i]:#010x}")
                  for i in bad[:SHOWN - len(shown)]]
    print(f"{1 << 32} float32 bit patterns, {differ} differ from np.tanh (numpy {np.__version__}), "
          f"{time.process_time() - t0:.0f} CPU s")
    for x, want, got in shown:
        print(f"  x {x}: np.tanh {want}, tanh_f32 {got}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
