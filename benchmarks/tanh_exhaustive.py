"""The compiled kernels' float32 tanh (``prosody/_kernels.c`` ``tanh_f32``, numpy's own SIMD tanh
written out) against ``np.tanh`` on every float32 bit pattern, 2**32 of them, in chunks: the check
behind ``lstm_step`` (docs/speakers.md, seventy-sixth round, cost79). Rerun it when numpy changes:
``engine/embedding.py`` turns the kernel down at run time where its tanh differs on a sample, this
looks at all of them. Prints the count of patterns whose bits differ and the first few.

    python benchmarks/tanh_exhaustive.py [--chunk-bits 24] [--kernel tanh_f32_avx2]
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
    ap.add_argument("--kernel", default="tanh_f32", choices=("tanh_f32", "tanh_f32_avx2"),
                    help="tanh_f32: the widest the CPU has; tanh_f32_avx2: the 8 lanes of AVX2 and FMA")
    args = ap.parse_args()
    tanh = getattr(KERNELS, args.kernel, None)
    if tanh is None:
        raise SystemExit(f"prosody._kernels has no {args.kernel} here (not built, PROSODY_NO_KERNELS, "
                         "or neither AVX-512 nor AVX2 and FMA)")
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
    print(f"{args.kernel}: {1 << 32} float32 bit patterns, {differ} differ from np.tanh (numpy {np.__version__}), "
          f"{time.process_time() - t0:.0f} CPU s")
    for x, want, got in shown:
        print(f"  x {x}: np.tanh {want}, {args.kernel} {got}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
