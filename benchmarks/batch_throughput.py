"""`prosody batch` on a generated archive: correctness, throughput, scaling,
memory, and prosody's CPU time against Praat and openSMILE, in one run.

Archive (in a temp folder): 40 two-channel 16 kHz WAV recordings of 2-5
minutes (lengths drawn with a fixed seed), cut and concatenated from the
bundled fixture dialogue at different offsets, plus three corrupt files (random
bytes named .wav, a FLAC cut inside its header, an empty .wav). ``--quick``:
8 recordings of 1-2 minutes plus the same three corrupt files.

What it measures:

1. ``prosody batch DIR --jobs 1`` and ``--jobs 2`` (installed console script,
   fresh store each, wall time of the whole command): hours of audio per hour
   per core, speedup (target >= 1.7x on a 2-core machine), peak resident
   memory per worker (from the ledger);
2. that both runs list exactly the corrupt files as failures, give the same
   table, and that the table matches ``prosody analyze --json`` on every file
   (``--check N`` for only the first N);
3. CPU time of one 5-minute recording: prosody end to end vs Praat
   (parselmouth) pitch+intensity and openSMILE eGeMAPS LLDs, as ratios
   (the functions of ``speed.py``);
4. per-file CPU (user + sys, measured inside the worker around the batch
   task ``analyze_task``) of a 3-minute recording in a local pool worker vs a
   Dask ``LocalCluster`` worker (whose nanny sets ``MALLOC_TRIM_THRESHOLD_``),
   least of ``--repeat`` alternated runs each (medians too); target: Dask within 10 % of local, on a
   worker set up as ``prosody batch --scheduler`` sets it up (its allocator settings inside the task,
   Dask's sampling profiler paused by ``prosody/batch/dask_plugin.py``). For reference, the same on
   Dask's defaults (profiler on) and without prosody's allocator settings
   (``prosody/batch/allocator.py``), i.e. as before the fix. ``--dask-only``: only this.

    python benchmarks/batch_throughput.py [--quick] [--check N] [--repeat N] [--dask-only] [--json FIGURES.json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO

SR = 16000
SPEEDUP_TARGET = 1.7
DASK_CPU_TARGET = 1.10   # per-file CPU on a Dask worker / on a local worker
CORRUPT = ("corrupt_random.wav", "corrupt_header_cut.flac", "corrupt_empty.wav")


def make_archive(folder: Path, *, n: int, min_s: float, max_s: float, seed: int = 40) -> tuple[list[Path], float]:
    """``n`` recordings with lengths uniform in [min_s, max_s], and the corrupt files.
    Returns (good files, total seconds of audio)."""
    x, sr = sf.read(REPO / "fixtures" / "dialogue.flac", dtype="int16")
    assert sr == SR
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    good, total = [], 0.0
    for i in range(n):
        length = int(rng.uniform(min_s, max_s) * SR)
        start = int(rng.uniform(0, len(x) / SR) * SR)
        reps = int(np.ceil((start + length) / len(x)))
        y = np.concatenate([x] * reps)[start:start + length]  # concatenated copies, cut at an offset
        p = folder / f"session_{i:03d}.wav"
        sf.write(p, y, SR, subtype="PCM_16")
        good.append(p)
        total += length / SR
    (folder / CORRUPT[0]).write_bytes(rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    (folder / CORRUPT[1]).write_bytes((REPO / "fixtures" / "dialogue.flac").read_bytes()[:30])
    (folder / CORRUPT[2]).write_bytes(b"")
    return good, total


def prosody_exe() -> str:
    exe = Path(sys.executable).parent / "prosody"
    return str(exe) if exe.exists() else shutil.which("prosody") or "prosody"


def run_batch(folder: Path, store: Path, table: Path, jobs: int) -> dict:
    cmd = [prosody_exe(), "batch", str(folder), "--jobs", str(jobs), "--store", str(store), "--table", str(table),
           "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    db = sqlite3.connect(str(store / "batch.sqlite"))
    analyses = db.execute("SELECT files, duration_s, cpu_s, wall_s, peak_rss_mb, worker FROM analyses").fetchall()
    failures = [(json.loads(f)[0], r) for f, r in db.execute("SELECT files, reason FROM failures")]
    db.close()
    per_worker: dict[str, float] = {}
    for *_, rss, worker in analyses:
        per_worker[worker] = max(per_worker.get(worker, 0.0), rss)
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "wall_s": wall,
            "audio_s": sum(a[1] for a in analyses), "worker_cpu_s": sum(a[2] for a in analyses),
            "analysis_wall_s": sum(a[3] for a in analyses), "n_analysed": len(analyses),
            "peak_rss_mb": per_worker, "failures": failures}


def _analyze_json(args: tuple[str, str]) -> dict:
    from prosody_cli.main import main
    path, out = args
    rc = main(["analyze", path, "--json", out, "--quiet"])
    if rc != 0:
        raise RuntimeError(f"prosody analyze {path} exited {rc}")
    return json.loads(Path(out).read_text())


def check_table(table_csv: Path, files: list[Path], tmp: Path, jobs: int) -> list[str]:
    """Rows of the batch table vs ``prosody analyze --json`` on each file; returns mismatches."""
    sys.path.insert(0, str(REPO))
    from prosody.batch.runner import ROW_SPEAKER_COLUMNS, read_table_csv
    rows = {r["file"]: r for r in read_table_csv(table_csv)}
    bad = []
    with ProcessPoolExecutor(jobs) as pool:
        docs = list(pool.map(_analyze_json, [(str(f), str(tmp / f"{f.stem}.json")) for f in files]))
    for f, doc in zip(files, docs):
        row = rows.get(str(f))
        if row is None:
            bad.append(f"{f}: not in the table")
            continue
        if row["duration_s"] != doc["duration_s"]:
            bad.append(f"{f}: duration_s {row['duration_s']} != {doc['duration_s']}")
        for spk, role in zip(doc["speaker_order"], ("therapist", "client")):
            for c in ROW_SPEAKER_COLUMNS:
                if row[f"{role}.{c}"] != doc["speakers"][spk][c]:
                    bad.append(f"{f}: {role}.{c} {row[f'{role}.{c}']} != {doc['speakers'][spk][c]}")
        w = (doc.get("measures") or {}).get("warmth") or {}
        if row["warmth_score"] != w.get("score"):
            bad.append(f"{f}: warmth_score {row['warmth_score']} != {w.get('score')}")
    return bad


def anchors(tmp: Path) -> dict:
    """CPU seconds on one 5-minute stereo recording: ours vs Praat vs openSMILE (speed.py's functions)."""
    import speed
    path = tmp / "anchor.wav"
    dur = speed.make_audio(path, 5.0)
    speed.ours(path)  # warm: imports and first-call costs are not the analysis
    t_ours, _ = speed.cpu(lambda: speed.ours(path))
    out = {"audio_s": dur, "prosody_cpu_s": t_ours}
    for name, fn in (("praat", speed.praat), ("opensmile", speed.opensmile_lld)):
        try:
            fn(path)
            out[f"{name}_cpu_s"], _ = speed.cpu(lambda: fn(path))
        except ImportError as exc:
            out[f"{name}_cpu_s"] = None
            out[f"{name}_missing"] = str(exc)
    return out


def _task_cpu(task, tuned: bool = True) -> dict:
    """Run one batch task in this worker; CPU user/sys and minor page faults around it."""
    import resource as res
    sys.path.insert(0, str(REPO))
    from prosody.batch.runner import analyze_task
    fn = analyze_task
    if not tuned:  # as before the fix: the analysis alone, allocator left as the worker was started
        from prosody.session import analyze_blocks
        from prosody.engine.sources import FileSource
        fn = lambda t: analyze_blocks(FileSource(list(t.paths), t.layout), t.layout.speakers, t.config)  # noqa: E731
    r0, t0 = res.getrusage(res.RUSAGE_SELF), res.getrusage(res.RUSAGE_THREAD)
    fn(task)
    r1, t1 = res.getrusage(res.RUSAGE_SELF), res.getrusage(res.RUSAGE_THREAD)
    return {"thread_s": t1.ru_utime - t0.ru_utime + t1.ru_stime - t0.ru_stime,
            "user_s": r1.ru_utime - r0.ru_utime, "sys_s": r1.ru_stime - r0.ru_stime,
            "minflt": r1.ru_minflt - r0.ru_minflt, "env": os.environ.get("MALLOC_TRIM_THRESHOLD_")}


def dask_vs_local_cpu(tmp: Path, repeat: int) -> dict | None:
    """Per-file CPU of one 3-minute recording: local pool worker vs Dask LocalCluster worker."""
    try:
        import distributed
    except ImportError:
        print("Dask vs local per-file CPU: distributed not installed (pip install 'prosody[dask]'): not measured")
        return None
    import contextlib
    import logging
    import multiprocessing as mp

    import speed
    sys.path.insert(0, str(REPO))
    from prosody.batch.dask_plugin import pause_profiler
    from prosody.batch.runner import Task
    from prosody.config import AnalysisConfig
    from prosody.engine.sources import Layout
    path = tmp / "three_minutes.wav"
    speed.make_audio(path, 3.0)
    task = Task(paths=(str(path),), sources=(str(path),), layout=Layout(("therapist", "client"), ((0, 0), (0, 1))),
                config=AnalysisConfig())
    n = max(repeat, 3)
    labels = {"local": "local pool worker", "dask_untuned": "Dask worker, allocator untuned (before)",
              "dask_defaults": "Dask worker, Dask's defaults (profiler on)",
              "dask": "Dask worker as prosody batch runs it"}
    out: dict = {k: [] for k in labels}
    # local pool: spawned as prosody batch's local backend does, and started before the clusters (a LocalCluster's
    # nanny sets MALLOC_TRIM_THRESHOLD_ in this process's environment to spawn its workers). Each setting has its
    # own worker process (malloc settings are per process), all alive at once, and the runs alternate one at a
    # time so that the machine's load falls on all alike.
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")))
        pool.submit(os.getpid).result()
        quiet = {"processes": True, "threads_per_worker": 1, "dashboard_address": None,
                 "silence_logs": logging.ERROR}
        cl = stack.enter_context(distributed.LocalCluster(n_workers=2, **quiet))
        client = stack.enter_context(distributed.Client(cl, set_as_default=False))
        cl2 = stack.enter_context(distributed.LocalCluster(n_workers=1, **quiet))
        client2 = stack.enter_context(distributed.Client(cl2, set_as_default=False))
        client.wait_for_workers(2)   # on a busy machine the workers may register after the cluster returns
        client2.wait_for_workers(1)
        pause_profiler(client2)  # what prosody batch --scheduler does on connecting (prosody/batch/dask_plugin.py)
        w_untuned, w_tuned = sorted(client.scheduler_info()["workers"])
        runs = {"local": lambda: pool.submit(_task_cpu, task).result(),
                "dask_untuned": lambda: client.submit(_task_cpu, task, False, pure=False,
                                                      workers=[w_untuned]).result(),
                "dask_defaults": lambda: client.submit(_task_cpu, task, True, pure=False,
                                                       workers=[w_tuned]).result(),
                "dask": lambda: client2.submit(_task_cpu, task, True, pure=False).result()}
        for k in range(n + 1):
            for key, fn in runs.items():
                r = fn()
                if k:  # the first round warms: imports and first-call costs
                    out[key].append(r)
    fig: dict = {}
    for key, label in labels.items():
        rows = out[key]
        cpus = [r["user_s"] + r["sys_s"] for r in rows]
        cpu = float(min(cpus))  # the least disturbed run, as for the wall times above (a shared machine)
        fig[key] = {"cpu_s": cpu, "cpu_median_s": float(np.median(cpus)), "user_s": float(np.median([r["user_s"] for r in rows])),
                    "sys_s": float(np.median([r["sys_s"] for r in rows])),
                    "thread_s": float(np.median([r["thread_s"] for r in rows])),
                    "minflt": int(np.median([r["minflt"] for r in rows])), "MALLOC_TRIM_THRESHOLD_": rows[0]["env"]}
        f = fig[key]
        print(f"  {label:43} CPU {cpu:.2f} s, median {f['cpu_median_s']:.2f} s (user {f['user_s']:.2f} + sys "
              f"{f['sys_s']:.2f}; analysis thread "
              f"{f['thread_s']:.2f} s; {f['minflt']} minor page faults; "
              f"MALLOC_TRIM_THRESHOLD_={f['MALLOC_TRIM_THRESHOLD_']})")
    local = fig["local"]["cpu_s"]
    for key in ("dask_untuned", "dask_defaults", "dask"):
        fig[key]["ratio"] = fig[key]["cpu_s"] / local
        fig[key]["ratio_median"] = fig[key]["cpu_median_s"] / fig["local"]["cpu_median_s"]
        fig[key]["thread_ratio"] = fig[key]["thread_s"] / fig["local"]["thread_s"]
    print(f"  (per 3-minute file, {n} alternated runs each: CPU = the worker process's user + sys, all its threads, "
          "least of the runs and median; the rest are medians; analysis thread = the thread that ran the task)")
    for key in ("dask_defaults", "dask"):
        f = fig[key]
        f["pass"] = f["ratio"] <= DASK_CPU_TARGET
        print(f"per-file CPU {labels[key]} / local = {f['ratio']:.2f} (medians {f['ratio_median']:.2f}; analysis "
              f"thread {f['thread_ratio']:.2f}; "
              f"untuned {fig['dask_untuned']['ratio']:.2f}; target <= {DASK_CPU_TARGET:.2f}): "
              f"{'PASS' if f['pass'] else 'FAIL'}")
    fig["pass"] = fig["dask"]["pass"]
    return fig


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 recordings of 1-2 minutes instead of 40 of 2-5")
    ap.add_argument("--check", type=int, default=None, metavar="N",
                    help="compare the table with `prosody analyze --json` on the first N files only (default all)")
    ap.add_argument("--repeat", type=int, default=3, metavar="N",
                    help="run each --jobs setting N times and keep the fastest (default 3)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    ap.add_argument("--dask-only", action="store_true", help="only the per-file CPU of a Dask vs a local worker")
    args = ap.parse_args()
    if args.dask_only:
        with tempfile.TemporaryDirectory(prefix="prosody-batch-bench-") as t:
            print("per-file CPU, Dask LocalCluster vs local pool:")
            fig = dask_vs_local_cpu(Path(t), args.repeat)
        if args.json:
            Path(args.json).write_text(json.dumps({"dask_vs_local": fig}, indent=2) + "\n")
        return 0 if fig is None or fig["pass"] else 1
    n, lo, hi = (8, 60.0, 120.0) if args.quick else (40, 120.0, 300.0)
    cores = os.cpu_count() or 1
    figures: dict = {"archive": {"recordings": n, "min_s": lo, "max_s": hi, "corrupt": len(CORRUPT)},
                     "cores": cores}
    ok = True
    with tempfile.TemporaryDirectory(prefix="prosody-batch-bench-") as t:
        tmp = Path(t)
        folder = tmp / "archive"
        files, audio_s = make_archive(folder, n=n, min_s=lo, max_s=hi)
        os.sync()  # the archive's writeback is not left to compete with the timed runs
        print(f"archive: {n} recordings, {audio_s / 3600:.2f} h of audio (2-channel 16 kHz WAV), "
              f"{len(CORRUPT)} corrupt files; {cores} cores")
        runs = {}
        for jobs in (1, 2):
            tries = []
            for k in range(args.repeat):  # fresh store each time; the fastest run counts (a shared machine)
                for p in (tmp / f"store{jobs}", tmp / f"table{jobs}.csv", tmp / f"table{jobs}.parquet"):
                    shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
                tries.append(run_batch(folder, tmp / f"store{jobs}", tmp / f"table{jobs}", jobs))
            r = min(tries, key=lambda t: t["wall_s"])
            r["all_wall_s"] = [t["wall_s"] for t in tries]
            runs[jobs] = r
            per_core = r["audio_s"] / r["wall_s"] / jobs
            print(f"--jobs {jobs}: {r['wall_s']:.1f} s wall (runs: "
                  f"{', '.join(f'{w:.1f}' for w in r['all_wall_s'])} s) for {r['audio_s'] / 3600:.2f} h "
                  f"({r['n_analysed']} analysed): {per_core:.0f} h of audio per hour per core "
                  f"({r['audio_s'] / r['wall_s']:.0f}x real time); worker CPU {r['worker_cpu_s']:.1f} s; "
                  f"peak RSS per worker {', '.join(f'{v:.0f}' for v in sorted(r['peak_rss_mb'].values()))} MB")
            failed = sorted(Path(f).name for f, _ in r["failures"])
            if r["rc"] != 1 or failed != sorted(CORRUPT) or r["n_analysed"] != n:
                ok = False
                print(f"  FAIL: exit {r['rc']}, failures {failed}, analysed {r['n_analysed']} of {n}\n{r['stderr']}")
            else:
                print(f"  exit status 1; failures: exactly the {len(CORRUPT)} corrupt files")
            figures[f"jobs{jobs}"] = {"wall_s": r["wall_s"], "all_wall_s": r["all_wall_s"], "audio_s": r["audio_s"],
                                      "h_per_h_per_core": per_core, "worker_cpu_s": r["worker_cpu_s"],
                                      "peak_rss_mb_per_worker": r["peak_rss_mb"]}
        speedup = runs[1]["wall_s"] / runs[2]["wall_s"]
        print(f"speedup --jobs 2 vs --jobs 1: {speedup:.2f}x (target >= {SPEEDUP_TARGET}x): "
              f"{'PASS' if speedup >= SPEEDUP_TARGET else 'FAIL'}")
        for jobs in (1, 2):  # where the wall time went
            r = runs[jobs]
            print(f"  --jobs {jobs}: analyses {r['analysis_wall_s']:.1f} s wall in workers "
                  f"({r['worker_cpu_s'] / r['analysis_wall_s']:.2f} CPU s per wall s); the rest of the command "
                  f"(start-up, hashing, saving, tail) {r['wall_s'] - r['analysis_wall_s'] / jobs:.1f} s")
        figures["speedup"] = speedup

        from prosody.batch.runner import read_table_csv
        strip = lambda rows: sorted(({k: v for k, v in r.items() if k != "session_id"} for r in rows),  # noqa: E731
                                    key=lambda r: r["file"])
        same = strip(read_table_csv(tmp / "table1.csv")) == strip(read_table_csv(tmp / "table2.csv"))
        print(f"tables of --jobs 1 and --jobs 2 identical: {'PASS' if same else 'FAIL'}")
        ok &= same
        check = files[: args.check] if args.check is not None else files
        t0 = time.perf_counter()
        bad = check_table(tmp / "table2.csv", check, tmp, min(2, cores))
        print(f"table vs `prosody analyze --json` on {len(check)} files ({time.perf_counter() - t0:.0f} s): "
              f"{'PASS' if not bad else 'FAIL'}")
        for b in bad[:20]:
            print(f"  {b}")
        ok &= not bad

        a = anchors(tmp)
        figures["anchors"] = a
        print(f"one {a['audio_s'] / 60:.0f}-minute recording, CPU s: prosody end to end {a['prosody_cpu_s']:.2f}", end="")
        for name, label in (("praat", "Praat pitch+intensity"), ("opensmile", "openSMILE eGeMAPS LLD")):
            t = a.get(f"{name}_cpu_s")
            print(f"; {label} {t:.2f}" if t is not None else f"; {label} not installed", end="")
        print()
        for name, label in (("praat", "Praat"), ("opensmile", "openSMILE")):
            t = a.get(f"{name}_cpu_s")
            if t:
                print(f"ratio prosody/{label} = {a['prosody_cpu_s'] / t:.2f}")
                figures[f"ratio_{name}"] = a["prosody_cpu_s"] / t
        print("per-file CPU, Dask LocalCluster vs local pool:")
        fig = dask_vs_local_cpu(tmp, args.repeat)
        figures["dask_vs_local"] = fig
        ok &= fig is None or fig["pass"]
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
