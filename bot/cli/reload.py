"""`parkbot reload`: check config.toml, then have the running service read it again (SIGHUP)."""

from __future__ import annotations

import os
import signal

from bot.app import pid_file
from bot.config.types import Config
from storage.errors import StorageError


def run_reload(config: Config) -> str:
    """Signal the service named by the pid file beside the database; the configuration was loaded (and so
    validated) before this runs, so a bad file is reported here and never reaches the service."""
    sighup = getattr(signal, "SIGHUP", None)
    if sighup is None:
        raise StorageError("reload needs SIGHUP, which this system lacks: restart the service instead")
    path = pid_file(config)
    try:
        pid = int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise StorageError(f"no running service: cannot read its pid file {path} ({exc})") from exc
    try:
        os.kill(pid, sighup)
    except ProcessLookupError as exc:
        raise StorageError(f"no running service: {path} names process {pid}, which is gone") from exc
    except PermissionError as exc:
        raise StorageError(f"process {pid} (from {path}) belongs to another user") from exc
    return f"asked the running service (pid {pid}) to reload {config.path}; its log says what changed"
