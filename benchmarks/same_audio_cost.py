"""What `analyze --save`'s same-audio note costs (``Store.same_audio``) in a store of many long sessions.

A store of ``--sessions`` documents of ``--doc-mb`` MB each (an analysed 40 s fixture's document, each with its
own audio hash, padded with a ``bench_padding`` list of texts to the size of an hour's document), then the note's lookup
timed for the last one (no other session has its audio: the worst case, every document looked at).

    PYTHONPATH=. python benchmarks/same_audio_cost.py --doc /tmp/sweep40/d.json --store /tmp/sweep40/bench
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

from prosody.store.db import Store

PAD_PIECE_CHARS = 50_000
REPEATS = 5  # lookups timed; the best is reported (the machine is shared)


def build(store_path: Path, doc: dict, *, n_sessions: int, doc_mb: float) -> Store:
    shutil.rmtree(store_path, ignore_errors=True)
    store = Store(store_path)
    n_pieces = max(0, int(doc_mb * 1e6) - len(json.dumps(doc))) // PAD_PIECE_CHARS
    pad = ["x" * PAD_PIECE_CHARS] * n_pieces  # a document's texts are at most 100,000 characters each
    for i in range(n_sessions):
        one = dict(doc, bench_padding=pad)
        sha = hashlib.sha256(str(i).encode()).hexdigest()
        one["audio"] = dict(doc["audio"], files=[dict(doc["audio"]["files"][0], sha256=sha)])
        store.save(one)
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--doc", required=True, help="an `analyze --json` document")
    ap.add_argument("--store", required=True, help="scratch folder (replaced)")
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--doc-mb", type=float, default=2.5)
    args = ap.parse_args()
    doc = json.loads(Path(args.doc).read_text())
    store = build(Path(args.store), doc, n_sessions=args.sessions, doc_mb=args.doc_mb)
    last = store.list()[-1].id
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        twins = store.same_audio(last)
        times.append(time.perf_counter() - t0)
    print(f"{args.sessions} sessions of {args.doc_mb} MB: same_audio {min(times) * 1e3:.1f} ms "
          f"(best of {REPEATS}; median {sorted(times)[REPEATS // 2] * 1e3:.1f} ms), twins {twins}")


if __name__ == "__main__":
    main()
