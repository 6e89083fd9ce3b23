"""CPU and delay of ``prosody live`` on a two-channel stream (not a timed test).

Runs the live path in process for ``--seconds`` of audio in real time: the
bundled stereo dialogue (repeated) fed through the replay source (a feeder
thread standing in for the device callback, 20 ms blocks), the analysis
thread (pipeline, rolling measures, session building, autosave every 30 s)
and the terminal view rendered 5 times a second into an 80x24 console, as
``prosody live`` does on a terminal. With ``--pulse`` the audio instead
goes through a private PulseAudio null sink and is captured from its monitor
by sounddevice (the real device path; needs pulseaudio, pactl, paplay).

Reports, over the steady part (after ``--warmup-s``):

* CPU: process CPU time (all threads) / wall time, as % of one core;
* delays, median and 95th percentile, from a block's arrival in the queue
  (the callback / feeder time) to:
  - the level meters (per device block),
  - the live state's provisional analysis of the sound: who is speaking now
    (the pipeline's raw voice activity) and its pitch now (the tracker's best
    candidate before the path decision); measured per 10 ms frame, from the
    arrival of the block that holds the frame's last sample to the state
    showing that frame's pitch (includes the tracker's 30 ms window look-ahead
    and the 0.1 s pushes),
  - the final per-frame state (includes the pipeline's declared latency: 1.26 s on two channels),
  - the rolling measures window that ends with it (windows come every 5 s
    once the turn decisions up to their end are made).

Targets (issue 4): CPU < 15 % of one core; delay to the state < 150 ms.

    python benchmarks/live_cpu.py [--seconds 60] [--pulse]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO

from prosody.live.runner import LiveRunner, _percentiles_ms  # noqa: E402
from prosody.engine.sources import Layout  # noqa: E402

STEREO = Layout(("therapist", "client"), ((0, 0), (0, 1)))


def make_audio(path: Path, seconds: float) -> None:
    x, sr = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="int16")
    n = int(seconds * sr)
    sf.write(path, np.tile(x, (int(np.ceil(n / len(x))), 1))[:n], sr, subtype="PCM_16")


def run(source, seconds: float, warmup_s: float, out_dir: Path, *, render: bool = True, on_started=None,
        watch: bool = True) -> dict:
    from rich.console import Console

    sys.path.insert(0, str(REPO))
    from cli.liveview import live_view

    from prosody.live.layout_watch import LayoutWatch  # as `prosody live` watches one stereo device's layout
    runner = LiveRunner(source, output_path=out_dir / "bench.json", duration_s=seconds,
                        layout_watch=LayoutWatch() if watch else None)
    console = Console(file=open(os.devnull, "w"), width=80, height=24, force_terminal=True, color_system="truecolor")
    runner.start()
    if on_started is not None:
        on_started(runner)
    t_wall0 = t_cpu0 = None
    render_s = []
    while not runner.done:
        time.sleep(0.2)
        if render:
            t = time.perf_counter()
            console.print(live_view(runner.snapshot()))
            render_s.append(time.perf_counter() - t)
        if t_wall0 is None and runner.snapshot().elapsed_s >= warmup_s:
            t_wall0, t_cpu0 = time.monotonic(), time.process_time()
            n0 = len(runner.state_delays_s)
            m0 = len(runner.now_delays_s)
    t_wall1, t_cpu1 = time.monotonic(), time.process_time()
    res = runner.wait()
    cap = res.doc["capture"]
    return {
        "cpu_pct_one_core": 100.0 * (t_cpu1 - t_cpu0) / (t_wall1 - t_wall0),
        "steady_wall_s": t_wall1 - t_wall0,
        "state_delay_ms": _percentiles_ms(list(runner.state_delays_s)[n0:]),
        "now_delay_ms": _percentiles_ms(list(runner.now_delays_s)[m0:]),
        "final_delay_ms": cap["latency"]["final_delay_ms"],
        "rolling_delay_ms": cap["latency"]["rolling_delay_ms"],
        "render_ms": _percentiles_ms(render_s),
        "overruns": cap["overruns"], "dropped_blocks": cap["dropped_blocks"],
        "analysed_s": res.doc["duration_s"], "stop": res.reason,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup-s", type=float, default=5.0)
    ap.add_argument("--pulse", action="store_true", help="capture through a private PulseAudio null sink")
    ap.add_argument("--no-view", action="store_true", help="do not render the view (analysis only)")
    ap.add_argument("--no-watch", action="store_true", help="without the live layout checks (prosody.live.layout_watch; "
                    "`prosody live` runs them on one stereo device)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wav = tmp / "stream.wav"
        make_audio(wav, args.seconds + 5)
        if args.pulse:
            from tests.pulse import PulseServer
            from prosody.live.capture import CaptureLayout, DeviceInput, DeviceSource
            from prosody.live.devices import resolve_device
            with PulseServer() as ps:
                mon = ps.null_sink("bench")
                os.environ.update({k: ps.env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER",
                                                          "HOME")})
                spec = resolve_device(mon)
                src = DeviceSource(CaptureLayout("stereo", STEREO.speakers, (DeviceInput(spec, 2, (0, 1)),)))
                player = []

                def start_playback(runner):
                    while runner.snapshot().elapsed_s < 0.2:  # the first callback can take 1-2 s
                        time.sleep(0.05)
                    player.append(ps.play(wav, "bench"))

                r = run(src, args.seconds, args.warmup_s, tmp, render=not args.no_view, on_started=start_playback,
                        watch=not args.no_watch)
                kind = f"PulseAudio null-sink monitor via sounddevice ({spec.label})"
        else:
            from prosody.live.capture import ReplaySource
            r = run(ReplaySource([str(wav)], STEREO, speed=1.0), args.seconds, args.warmup_s, tmp,
                    render=not args.no_view, watch=not args.no_watch)
            kind = "replay source in real time (20 ms blocks)"
    print(f"live, two channels, {kind}, view {'off' if args.no_view else 'rendered 5x/s at 80x24'}")
    print(f"  steady part: {r['steady_wall_s']:.1f} s wall, {r['analysed_s']:.1f} s analysed, stop: {r['stop']}")
    print(f"  CPU: {r['cpu_pct_one_core']:.1f} % of one core (target < 15 %)")
    for k, label in (("state_delay_ms", "block arrival -> level meters"),
                     ("now_delay_ms", "sound arrival -> live state: speaking now + pitch now (target < 150 ms)"),
                     ("final_delay_ms", "block arrival -> final frames (incl. the declared latency)"),
                     ("rolling_delay_ms", "window end arrival -> rolling measures window"),
                     ("render_ms", "one view render")):
        d = r[k]
        print(f"  {label}: median {d['median']} ms, p95 {d['p95']} ms (n={d['n']})")
    print(f"  overruns {r['overruns']}, dropped blocks {r['dropped_blocks']}")
    print(f"  machine: {os.cpu_count()} CPUs; {subprocess.run(['uname', '-m'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
