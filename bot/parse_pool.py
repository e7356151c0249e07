"""Where parsing runs: worker processes, so feedparser's pure-Python work never stalls the event loop."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

# Two cores on the reference machine. Threads were measured too: one parse thread costs the same CPU
# but doubles the wall time of a 1,000-source poll, and two threads fight the event loop for the GIL.
PARSE_WORKERS = 2


def parse_pool(workers: int = PARSE_WORKERS) -> ProcessPoolExecutor:
    """Return a process pool started by a fork server (forking a process that has threads is unsafe)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
