"""The material and the worker processes of a `prosody batch` local pool, for the scripts that attack them
(batch_kill_loop.py, batch_stop_freeze.py): the workers read from /proc, Linux only."""
import os
from pathlib import Path

import numpy as np
import soundfile as sf


def fixture_cuts(tree: str, folder: Path, *, n: int, len_s: float) -> None:
    """``n`` cuts of ``len_s`` seconds of the fixture dialogue (repeated as needed), 2.3 s apart, as 16-bit WAV files
    s00.wav ... in ``folder`` (made), where ``folder`` is not there yet."""
    if folder.exists():
        return
    folder.mkdir(parents=True)
    x, sr = sf.read(Path(tree) / "fixtures/dialogue.flac", dtype="float32")
    big = np.concatenate([x] * (int(np.ceil((len_s + 2.3 * n) * sr / len(x))) + 1))
    for i in range(n):
        s = int(2.3 * i * sr)
        sf.write(folder / f"s{i:02d}.wav", big[s:s + int(len_s * sr)], sr, subtype="PCM_16")


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
