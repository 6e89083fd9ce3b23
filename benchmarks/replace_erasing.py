"""What zeroing the replaced file costs a rename-replace (``prosody.fileio.write_private``, hostile sweep 33).

    PYTHONPATH=. python benchmarks/replace_erasing.py [--mib 12] [--folder /tmp/prosody-bench] [--runs 5]

Writes a file of random bytes, then replaces it ``--runs`` times with ``write_private`` (stage, fsync, rename,
folder fsync, and now the old file zeroed and fsynced), and prints the median, least and most seconds. Run it
with the tree before the change on ``PYTHONPATH`` too to compare (same machine, same folder)."""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from prosody.fileio import write_private


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=12, help="file size in MiB (an hour's live frames file is some MiB)")
    ap.add_argument("--folder", default="/tmp/prosody-bench")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    folder = Path(a.folder)
    folder.mkdir(parents=True, exist_ok=True)
    path, data = folder / "replaced.npz", os.urandom(a.mib << 20)
    write_private(path, data)
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        write_private(path, data)
        times.append(time.perf_counter() - t)
    path.unlink()
    print(f"{a.mib} MiB file replaced {a.runs} times in {folder}: median {statistics.median(times):.3f} s "
          f"(least {min(times):.3f}, most {max(times):.3f})")


if __name__ == "__main__":
    main()
