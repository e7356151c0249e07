"""Parse pool processes that die with the process that started them (Linux; a no-op elsewhere)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
FORK_SERVER_GUARD = "bot.parse_fork_server"  # imported by the fork server alone: see guard_fork_server

_fork_server_pid: int | None = None


def set_death_signal(sig: int) -> bool:
    """Ask the kernel to send sig to this process when its parent exits; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no C library to load, or one without prctl
        return False


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when `parent` exits, and exit now if it already has (then we were adopted)."""
    if set_death_signal(signal.SIGKILL) and os.getppid() != parent:
        os._exit(1)


def guard_fork_server() -> None:
    """In the fork server: die with the process that started it, and remember our pid for the workers.

    A parent that died before this ran closed the fork server's "alive" pipe, so it exits by itself.
    """
    global _fork_server_pid
    _fork_server_pid = os.getpid()
    die_with_parent(os.getppid())


def init_worker() -> None:
    """Pool initializer: die with the fork server that forked this worker."""
    # A forked child does not inherit the death signal, so each worker sets its own. The fork server's
    # pid came with the fork; without a guarded fork server, the parent we see now is the best guess.
    die_with_parent(_fork_server_pid if _fork_server_pid is not None else os.getppid())
