"""Hostile sweep 29 (docs/store.md): `prosody batch` of N cuts of fixtures/dialogue.flac (--len seconds each), --jobs 2,
attacked while the workers run (--mode):
  stop    one worker SIGSTOPped --at s in, SIGCONT --hold s later (a worker only slow, not dead): was it cut loose, was
          a file analysed twice or lost?
  stopsend the same, the first moment from --at on that a worker blocks writing its result (/proc/PID/wchan)
  killint one worker SIGKILLed --at s in (the pool breaks, the files in flight run alone), Ctrl-C (SIGINT to the batch)
          --hold s later: how long until it ends?
One line per run: exit status, seconds, sessions in the store, the failures said, the lines after the attack.
python scripts/batch_stop_freeze.py --mode stop --len 60 --n 8 --at 3 --hold 3"""
import argparse, os, shutil, signal, sqlite3, subprocess, sys, time
from pathlib import Path
from batch_pool_procs import fixture_cuts, pool_workers, wchan
ap = argparse.ArgumentParser()
ap.add_argument("--mode", default="stop"); ap.add_argument("--runs", type=int, default=1)
ap.add_argument("--len", type=float, default=60.0); ap.add_argument("--n", type=int, default=8)
ap.add_argument("--at", type=float, default=3.0); ap.add_argument("--hold", type=float, default=3.0)
ap.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]))
ap.add_argument("--work", default="/tmp/batch_stop_freeze")
a = ap.parse_args()
W = Path(a.work) / f"w{int(a.len)}n{a.n}"; src = W / "in"
fixture_cuts(a.tree, src, n=a.n, len_s=a.len)
env = dict(os.environ, PYTHONPATH=a.tree, PYTHONFAULTHANDLER="1")


for r in range(a.runs):
    store = W / "store"; shutil.rmtree(store, ignore_errors=True)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "prosody_cli.main", "batch", str(src), "--jobs", "2", "--store",
                             str(store), "--table", str(W / "t"), "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd="/tmp")
    hit, t_sig = None, None
    while proc.poll() is None and time.monotonic() - t0 < 300:
        now = time.monotonic() - t0
        if hit is None and now >= a.at:
            ks = pool_workers(proc.pid)
            if a.mode == "stopsend":  # the moment a worker blocks writing its result to the pool's pipe
                ks = [k for k in ks if wchan(k).endswith("pipe_write")]
            if ks:
                hit = ks[0]
                os.kill(hit, signal.SIGKILL if a.mode == "killint" else signal.SIGSTOP)
                t_hit = time.monotonic()
        elif hit is not None and t_sig is None and time.monotonic() - t_hit >= a.hold:
            if a.mode != "killint":
                os.kill(hit, signal.SIGCONT)
            else:
                os.kill(proc.pid, signal.SIGINT)
            t_sig = time.monotonic()
        time.sleep(0.0002 if a.mode == "stopsend" and hit is None else 0.05)
    hung = proc.poll() is None
    if hung:
        os.kill(proc.pid, signal.SIGABRT); time.sleep(1); os.killpg(proc.pid, signal.SIGKILL)
    out = proc.communicate()[0].decode(errors="replace")
    end = time.monotonic()
    n = None
    try:
        with sqlite3.connect(store / "sessions.db") as db:
            n = db.execute("select count(*) from sessions").fetchone()[0]
    except sqlite3.Error as exc:
        n = f"? ({exc})"
    lines = [l for l in out.splitlines() if l.strip()]
    after = f" (signal->end {end - t_sig:.1f}s)" if t_sig else " (no hit)"
    print(f"run {r} {a.mode}: {'HUNG' if hung else 'rc=%s' % proc.returncode} {end - t0:.1f}s{after}",
          f"sessions={n} of {a.n}", flush=True)
    for l in lines:
        if "fail" in l.lower() or "died" in l.lower() or "error" in l.lower() or "interrupt" in l.lower() or "stopp" in l.lower():
            print("   ", l[:300])
    (W / f"run{r}.{a.mode}.out").write_text(out)
