"""A Dask worker plugin that pauses the worker's sampling profiler while a
prosody batch runs on the cluster.

Why: every Dask worker samples the stack of each running task every 10 ms
(``distributed.worker.profile``) on its event loop. prosody's tasks are one
long numpy pipeline per recording, so the samples tell nothing a local
profile would not, and they cost a fixed share of CPU per file: with the
profiler on, a 3-minute recording took about 1.10 x the CPU of a local pool
worker, with it paused about 1.06 x (``benchmarks/batch_throughput.py
--dask-only``). The results do not depend on it.

``pause_profiler(client)`` registers the plugin under a name of its own;
each worker present stops its profiler's periodic callback (only if it was
running); ``resume_profiler(client, name)`` unregisters the plugin, and each
worker whose profiler this plugin stopped starts it again. Workers that join
during the batch get the plugin too. Importing this module needs
``distributed``.
"""
from __future__ import annotations

import uuid

from distributed import WorkerPlugin

PERIODIC_CALLBACK = "profile"   # distributed.Worker.periodic_callbacks key of the 10 ms sampler


class PauseProfiler(WorkerPlugin):
    """Stop the worker's sampling profiler on setup, restart it on teardown."""

    def __init__(self) -> None:
        self.paused = False

    def setup(self, worker) -> None:
        pc = getattr(worker, "periodic_callbacks", {}).get(PERIODIC_CALLBACK)
        if pc is not None and pc.is_running():
            pc.stop()
            self.paused = True

    def teardown(self, worker) -> None:
        pc = getattr(worker, "periodic_callbacks", {}).get(PERIODIC_CALLBACK)
        if self.paused and pc is not None and not pc.is_running():
            pc.start()
        self.paused = False


def pause_profiler(client) -> str:
    """Register ``PauseProfiler`` on every worker; the plugin's name, for ``resume_profiler``."""
    name = f"prosody-pause-profiler-{uuid.uuid4().hex[:12]}"
    client.register_plugin(PauseProfiler(), name=name)
    return name


def resume_profiler(client, name: str) -> None:
    """Unregister the plugin: each worker it paused samples again."""
    client.unregister_worker_plugin(name)
