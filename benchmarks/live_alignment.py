"""Two-device alignment of ``prosody live`` through real PulseAudio capture (issue 13, part 2).

Each run starts a private PulseAudio server (tests/pulse.py) with one stereo
null sink, plays a seeded noise-burst signal into it with ``paplay`` and,
while it plays, runs ``prosody live --therapist-device SINK.monitor
--therapist-channel 1 --client-device SINK.monitor --client-channel 2
--record rec.wav --duration S``: two devices opened on one monitor, so the
true device offset is 0 and both streams run on one clock (drift 0).

Cases (alternating over the runs):

* ``same``: both source channels identical; the client channel must sit at
  the therapist's lag (expected offset 0);
* ``planted``: the source's right channel is its left delayed by
  ``--planted-ms`` (a delayed channel, as ``sox ... delay``): the client must
  sit exactly that much later; an aligner that lines up content instead of
  clocks would fail it;
* ``late``: as ``same``, but the client device is opened ``--late-ms``
  after the therapist's first block came (the library's ``DeviceSource``
  and ``LiveRunner`` in a child process, as ``prosody live`` runs them): its
  first sample comes that much later on the timeline, and the aligner must
  place it there.

The recorded channels are cross-correlated with the source (left channel)
in 1 s windows: the first second in which both carry audio (``first``: the
recording's first second, or the client's first second when it was opened
late), and every 5 s after (``max``). Offset error = client lag - therapist lag - planted.
Drift is the session's ``capture.drift_ppm`` after the whole run (true 0).
PASS: |offset error| <= 5 ms in every window, |drift| <= 20 ppm.

    python benchmarks/live_alignment.py [--runs 6] [--seconds 60] [--planted-ms 25] [--late-ms 1500]
        [--cases same,planted,late]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.pulse import PulseServer, alignment_source, channel_lags_s, unavailable_reason  # noqa: E402

OFFSET_TOL_MS = 5.0
DRIFT_TOL_PPM = 20.0


def _child_late(mon: str, seconds: float, late_s: float, outdir: str) -> int:
    """In the child (PulseAudio's environment): two devices on ``mon``, the
    second opened ``late_s`` after the first, recorded as prosody live does."""
    from prosody.live.capture import CaptureLayout, DeviceInput, DeviceSource
    from prosody.live.devices import resolve_device
    from prosody.live.runner import LiveRunner

    class LateSecond(DeviceSource):
        def start(self) -> None:
            self._started_s = time.monotonic()
            self.streams[0].start()
            deadline = time.monotonic() + 10
            while self.streams[0].q.empty() and time.monotonic() < deadline:
                time.sleep(0.01)          # the therapist's audio flows ...
            time.sleep(late_s)            # ... and the client device opens late_s later
            self.streams[1].start()

    spec = resolve_device(mon)
    layout = CaptureLayout("two-device", ("therapist", "client"),
                           (DeviceInput(spec, 2, (0,)), DeviceInput(spec, 2, (1,))))
    out = Path(outdir)
    runner = LiveRunner(LateSecond(layout), output_path=out / "s.json", record_path=out / "rec.wav",
                        duration_s=seconds)
    runner.start()
    res = runner.wait(seconds + 60)
    return 0 if res is not None and res.error is None else 1


def one_run(seconds: float, planted_s: float, seed: int, late_s: float = 0.0) -> dict:
    with tempfile.TemporaryDirectory(prefix="prosody-align-") as d:
        d = Path(d)
        src = alignment_source(seconds + 20, delay_s=planted_s, seed=seed)
        sf.write(d / "src.wav", src, 16000, subtype="FLOAT")
        with PulseServer() as pulse:
            mon = pulse.null_sink("room")
            player = pulse.play(d / "src.wav", "room")
            time.sleep(1.0)                       # playing before capture starts: the first second counts
            cmd = [sys.executable, "-m", "prosody_cli.main", "live", "--therapist-device", mon,
                   "--therapist-channel", "1", "--client-device", mon, "--client-channel", "2",
                   "--record", str(d / "rec.wav"), "--output", str(d / "s.json"), "--plain",
                   "--interval-s", "5", "--duration", str(seconds)]
            if late_s:
                cmd = [sys.executable, __file__, "--child-late", mon, str(seconds), str(late_s), str(d)]
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = subprocess.run(cmd, env=pulse.env, capture_output=True, text=True, timeout=seconds + 120,
                                 cwd=d)
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            player.kill()
        if res.returncode != 0:
            raise RuntimeError(f"prosody live failed: {res.stderr[-500:]}")
        cap = json.loads((d / "s.json").read_text())["capture"]
        rec, _ = sf.read(d / "rec.wav", dtype="float32")
    # the first second in which both channels carry audio (late: the client's first second)
    first_s = max(int(np.flatnonzero(rec[:, ch])[0]) for ch in (0, 1)) / 16000
    starts = [first_s] + list(np.arange(first_s + 5.0, len(rec) / 16000 - 1.0, 5.0))
    lags = channel_lags_s(rec, src[:, 0], starts)
    err_ms = (lags[:, 1] - lags[:, 0] - planted_s) * 1000
    return {"first_ms": float(err_ms[0]), "max_ms": float(np.nanmax(np.abs(err_ms))),
            "drift_ppm": cap["drift_ppm"], "drift_se_ppm": cap.get("drift_se_ppm"),
            "same_clock": cap.get("same_clock"), "start_offset_ms": 1000 * (cap["start_offset_s"] or 0.0),
            "latency_ms": float(lags[0, 0] * 1000), "overruns": cap["overruns"],
            "dropped": cap["dropped_blocks"], "recorded_s": len(rec) / 16000,
            "cpu_pct": 100 * (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / (len(rec) / 16000)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--planted-ms", type=float, default=25.0)
    ap.add_argument("--late-ms", type=float, default=1500.0)
    ap.add_argument("--cases", default="same,planted,late", help="comma-separated cases, taken in turn")
    ap.add_argument("--child-late", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_late:
        mon, sec, late, outdir = args.child_late
        return _child_late(mon, float(sec), float(late), outdir)
    why = unavailable_reason()
    if why:
        print(f"cannot run: {why}")
        return 1
    rows = []
    print(f"{'run':>3} {'case':8} {'first s err':>11} {'max err':>8} {'drift':>10} {'±se':>6} {'one clock':>9} "
          f"{'start off':>9} {'xruns':>5} {'CPU':>5}  result")
    for r in range(args.runs):
        cases = args.cases.split(",")
        case = cases[r % len(cases)]
        planted = args.planted_ms / 1000 if case == "planted" else 0.0
        m = one_run(args.seconds, planted, seed=r, late_s=args.late_ms / 1000 if case == "late" else 0.0)
        ok = m["max_ms"] <= OFFSET_TOL_MS and abs(m["first_ms"]) <= OFFSET_TOL_MS and \
            m["drift_ppm"] is not None and abs(m["drift_ppm"]) <= DRIFT_TOL_PPM
        rows.append((m, ok))
        print(f"{r:>3} {case:8} {m['first_ms']:+9.2f}ms {m['max_ms']:6.2f}ms "
              f"{m['drift_ppm']:+8.2f}ppm {m['drift_se_ppm'] or 0:6.2f} {str(m['same_clock']):>9} "
              f"{m['start_offset_ms']:+7.2f}ms {m['overruns'] + m['dropped']:>5} {m['cpu_pct']:4.0f}%  "
              f"{'PASS' if ok else 'FAIL'}",
              flush=True)
    first = np.array([m["first_ms"] for m, _ in rows])
    worst = np.array([m["max_ms"] for m, _ in rows])
    drift = np.array([m["drift_ppm"] for m, _ in rows], dtype=float)
    print(f"offset error, first second: median {np.median(np.abs(first)):.2f} ms, max {np.abs(first).max():.2f} ms; "
          f"any window: max {worst.max():.2f} ms (target <= {OFFSET_TOL_MS:.0f} ms)")
    print(f"drift after {args.seconds:.0f} s: median |{np.median(np.abs(drift)):.2f}| ppm, "
          f"max |{np.abs(drift).max():.2f}| ppm (target <= {DRIFT_TOL_PPM:.0f} ppm)")
    n_ok = sum(ok for _, ok in rows)
    print(f"{n_ok}/{len(rows)} runs PASS -> {'PASS' if n_ok == len(rows) else 'FAIL'}")
    return 0 if n_ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
