"""Session store speed: list 1,000 stored sessions, draw a trend over 100.

Builds a store in a temporary folder from the bundled fixture (analysed once,
then saved 1,000 times with varied metadata, measures and frames), then times
what a user waits for:

* ``list``: ``Store.list()`` of all sessions + rendering the ``prosody
  sessions`` table to text;
* ``trend``: ``Store.list(therapist=...)`` (100 sessions) + ``Store.metrics``
  + the terminal table + the HTML trend report.

Both must take under a second. Prints the figures; exit status 1 if a limit
is exceeded. ``--sessions N`` / ``--trend N`` change the sizes.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prosody.report.html import compare_report  # noqa: E402
from prosody.session import analyze_blocks  # noqa: E402
from prosody.formats.bundle import SessionMeta  # noqa: E402
from prosody.store.db import Store  # noqa: E402
from prosody_cli.sessions import moment_counts, sessions_view, stored_sessions, trend_view  # noqa: E402
from rich.console import Console  # noqa: E402

LIMIT_S = 1.0


def _render(renderable) -> str:
    buf = io.StringIO()
    Console(file=buf, width=160).print(renderable)
    return buf.getvalue()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--trend", type=int, default=100)
    args = ap.parse_args(argv)

    audio, sr = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="float32")
    session = analyze_blocks([audio], ("therapist", "client"), sources=["fixtures/dialogue.flac"])
    doc = json.loads(json.dumps(session.to_json_dict()))
    n_therapists = max(1, args.sessions // args.trend)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        t0 = time.perf_counter()
        for i in range(args.sessions):
            th = f"t{i % n_therapists:02d}"
            meta = SessionMeta(therapist=th, client=f"C{i % 37}", tags=("intake",) if i % 10 == 0 else (),
                               recorded_at=f"{2020 + i // 365 % 6}-{i % 12 + 1:02d}-{i % 28 + 1:02d}T{9 + i % 8:02d}:00:00")
            sid = store.save(doc, session.frames, meta=meta)
            if i % 3 == 0:
                store.add_feedback(sid, srs=(i % 11, 8, 9, 10))
        build_s = time.perf_counter() - t0
        db_mb = sum(p.stat().st_size for p in (Path(tmp) / "store").glob("sessions.db*")) / 1e6
        frames_mb = sum(p.stat().st_size for p in (Path(tmp) / "store" / "frames").iterdir()) / 1e6
        store.close()

        store = Store(Path(tmp) / "store")  # cold-ish: a fresh connection, as a new command would have
        t0 = time.perf_counter()
        infos = store.list()
        text = _render(sessions_view(infos))
        list_s = time.perf_counter() - t0
        assert len(infos) == args.sessions and text

        t0 = time.perf_counter()
        with store.snapshot():  # as `prosody trend` reads: one state of the store
            infos = store.list(therapist="t00")
            metrics = store.metrics([i.id for i in infos])
        text = _render(trend_view(infos, metrics, title="trend: t00"))
        html = compare_report(infos, metrics, title="trend: t00")
        trend_s = time.perf_counter() - t0
        assert len(infos) == args.trend and html
        t0 = time.perf_counter()
        with store.snapshot():  # the whole read of `prosody trend`: a `delete` meanwhile waits for its end
            infos = store.list(therapist="t00")
            metrics = store.metrics([i.id for i in infos])
            raw = [store.get_raw(i.id) for i in infos]
        snapshot_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        moment_counts(stored_sessions(store, raw))
        moments_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.check_intact()  # what analyze --save and batch run before analysing (a damaged page: one line)
        check_s = time.perf_counter() - t0
        store.close()

    print(f"store of {args.sessions} sessions built in {build_s:.1f} s "
          f"({build_s / args.sessions * 1000:.1f} ms per save); database {db_mb:.1f} MB, frames {frames_mb:.1f} MB")
    print(f"list {args.sessions} sessions (query + table):          {list_s * 1000:7.1f} ms  (limit {LIMIT_S:.0f} s)")
    print(f"trend over {args.trend} sessions (query + table + HTML):  {trend_s * 1000:7.1f} ms  (limit {LIMIT_S:.0f} s)"
          f"; HTML {len(html) / 1000:.0f} kB")
    print(f"trend's read of the store (list, metrics, {args.trend} documents): {snapshot_s * 1000:7.1f} ms  (one snapshot: "
          "a delete's checkpoint waits for it)")
    print(f"trend's documents checked and moments counted after it:   {moments_s * 1000:7.1f} ms  (info)")
    print(f"integrity quick check before a save (reads every page):    {check_s * 1000:7.1f} ms  (info)")
    return 0 if list_s < LIMIT_S and trend_s < LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main())
