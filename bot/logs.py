"""Structured, secret-free logs: one line per event with key=value context, to standard error."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from bot.redact import RedactingFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def setup_logging(secrets: Iterable[str], level: int = logging.INFO) -> logging.Handler:
    """Send every log record through one handler whose filter masks every configured secret."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    # A handler filter sees records from every logger, ours and the libraries' alike.
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per request or per job run is noise; their warnings and errors still show.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


def mask_more(secrets: Iterable[str]) -> None:
    """After a reload: mask these secrets too in every handler's output (the old ones stay masked)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(secrets))
