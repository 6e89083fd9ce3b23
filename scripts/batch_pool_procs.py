"""The worker processes of a `prosody batch` local pool, for the scripts that attack them (batch_kill_loop.py,
batch_stop_freeze.py): read from /proc, Linux only."""
import os


def pool_workers(pid: int, *, with_tracker: bool = False) -> list[int]:
    """The process ids of ``pid``'s children started by multiprocessing's spawn (its resource tracker too where
    ``with_tracker``), in ascending order."""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                st = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
                cmd = open(f"/proc/{p}/cmdline").read()
            except OSError:
                continue
            if int(st[1]) == pid and "spawn_main" in cmd and (with_tracker or "resource_tracker" not in cmd):
                out.append(int(p))
    return sorted(out)


def wchan(pid: int) -> str:
    """Where the kernel has process ``pid`` waiting (e.g. "pipe_write"); "" where it is gone."""
    try:
        return open(f"/proc/{pid}/wchan").read()
    except OSError:
        return ""
