"""Hostile sweep 27 (docs/store.md): `prosody batch` of 16 cuts of fixtures/dialogue.flac (--len seconds each),
--jobs 2, one worker SIGKILLed at a random moment 1-12 s in (--mode random), or the moment /proc/PID/wchan shows
it blocked writing its result to the pool's pipe (--mode pipe; results over the pipe's 64 kB: --len 60); a 120 s
limit around each run (a run still going then is dumped with faulthandler and killed). One line per run:
python scripts/batch_kill_loop.py --runs 8 --mode pipe --len 60  (the material and stores under --work)."""
import os, random, signal, subprocess, sys, time, shutil, argparse
from pathlib import Path
from batch_pool_procs import fixture_cuts, pool_workers, wchan
ap = argparse.ArgumentParser(); ap.add_argument("--runs", type=int, default=10); ap.add_argument("--mode", default="random")
ap.add_argument("--len", type=float, default=12.0)
ap.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]))
ap.add_argument("--work", default="/tmp/batch_kill_loop")
a = ap.parse_args()
W = Path(a.work) / f"w{int(a.len)}"; src = W / "in"
fixture_cuts(a.tree, src, n=16, len_s=a.len)
env = dict(os.environ, PYTHONPATH=a.tree, PYTHONFAULTHANDLER="1", PROSODY_DEBUG="1")
for r in range(a.runs):
    store = W / "store"; shutil.rmtree(store, ignore_errors=True)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "batch", str(src), "--jobs", "2", "--store", str(store),
                             "--table", str(W / "t"), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True, cwd="/tmp")
    killed = None; tk = 0; ks = []; when = random.uniform(1.0, 12.0) if a.mode == "random" else None
    while proc.poll() is None and time.monotonic() - t0 < 120:
        if killed is None:
            if time.monotonic() - tk > 0.5:
                ks = pool_workers(proc.pid, with_tracker=True); tk = time.monotonic()
            if a.mode == "random" and time.monotonic() - t0 >= when and ks:
                killed = (random.choice(ks), "random"); os.kill(killed[0], signal.SIGKILL)
            elif a.mode == "pipe":
                for k in ks:
                    if wchan(k).endswith("pipe_write"):
                        os.kill(k, signal.SIGKILL); killed = (k, "pipe_write"); break
            time.sleep(0.0002 if a.mode == "pipe" else 0.05)
        else:
            time.sleep(0.2)
    hung = proc.poll() is None
    if hung:
        os.kill(proc.pid, signal.SIGABRT); time.sleep(1)
        os.killpg(proc.pid, signal.SIGKILL)
    out = proc.communicate()[0].decode(errors="replace")
    last = [l for l in out.splitlines() if l.strip()][-1:] 
    print(f"run {r}: {'HUNG' if hung else 'rc=%s' % proc.returncode} {time.monotonic()-t0:.1f}s killed={killed} when={when} last={last}", flush=True)
    if hung or proc.returncode:
        (W / f"bad{r}.out").write_text(out)
