"""Which process drains the outbox: an OS lock on a file beside the database, held by one process at once.

A lease row would outlive a killed process until it expired; the OS drops this lock the moment its
holder exits, however it exits.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class SenderLock:
    """Held by the one process that may send; everyone else only queues."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".sender-lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; never waits. Return whether it is held."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for an operator wondering who sends
        self._fd = fd
        return True

    def release(self) -> None:
        """Let another process send (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
