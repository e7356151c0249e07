"""The parse pool as processes: a SIGKILLed parent takes its fork server, workers and tracker with it."""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The child starts the real parse pool, has both workers answer, then reports and waits to be killed.
CHILD = """
import json, os, sys
from concurrent.futures import wait
from bot.pipeline import parse_pool

pool = parse_pool(2)
jobs = [pool.submit(os.getpid) for _ in range(8)]
wait(jobs)
servers = {pool.submit(os.getppid).result()}
print(json.dumps({"main": os.getpid(), "workers": sorted({j.result() for j in jobs}),
                  "servers": sorted(servers)}), flush=True)
sys.stdin.read()
"""
EXIT_GUARD = 20.0  # seconds: a hang guard for a broken fix, not a claim about speed


def descendants(root: int) -> set[int]:
    """Return the pids of every live process below root, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # exited while we looked
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_all_gone(pids: set[int], timeout: float) -> set[int]:
    """Wait until every pid has exited, up to timeout; return those still alive."""
    fds = {}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # already gone
            fds[os.pidfd_open(pid)] = pid
    try:
        left = dict(fds)
        while left:
            ready, _, _ = select.select(list(left), [], [], timeout)
            if not ready:
                break
            for fd in ready:
                del left[fd]
        return set(left.values())
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux only")
@pytest.mark.timeout(60)
def test_every_parse_process_dies_with_a_killed_parent():
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        report = json.loads(child.stdout.readline())
        helpers = descendants(child.pid)
        assert set(report["workers"]) | set(report["servers"]) <= helpers
        assert len(report["workers"]) >= 1 and len(report["servers"]) == 1
        # the fork server, its workers and the resource tracker
        assert len(helpers) >= len(report["workers"]) + 2
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdin.close()
        child.stdout.close()
    alive = wait_all_gone(helpers, EXIT_GUARD)
    described = [_describe(pid) for pid in alive]
    for pid in alive:  # leave no orphans behind when the fix is broken
        os.kill(pid, signal.SIGKILL)
    assert described == []


def _describe(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return str(pid)
    return f"{pid} {command[:100].decode(errors='replace')}"
