"""Structured, secret-free logs: one line per event with key=value context, to standard error."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterable

from aiohttp.http_exceptions import HttpProcessingError

from bot.redact import RedactingFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
BAD_REQUESTS_PER_MINUTE = 10
_SHOWN_CHARS = 160  # of the parser's complaint, which quotes the offending bytes


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
    server = logging.getLogger("aiohttp.server")
    server.filters[:] = [f for f in server.filters if not isinstance(f, BadRequestFilter)]
    server.addFilter(BadRequestFilter())
    return handler


def mask_more(secrets: Iterable[str]) -> None:
    """After a reload: mask these secrets too in every handler's output (the old ones stay masked)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(secrets))


class BadRequestFilter(logging.Filter):
    """For aiohttp.server: a request the HTTP parser refused is one line instead of a traceback, and
    at most `per_minute` such lines a minute get through; the next one says how many were dropped.

    Anyone who can reach the port can send garbage (500 of them once added 288 KB to the log); other
    errors, such as a handler's bug, keep their tracebacks.
    """

    def __init__(
        self, per_minute: int = BAD_REQUESTS_PER_MINUTE, clock: Callable[[], float] = time.monotonic
    ):
        super().__init__()
        self.per_minute, self.clock = per_minute, clock
        self._window_start, self._shown, self._dropped = -math.inf, 0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass any other record untouched; shorten or drop a refused request's."""
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        now = self.clock()
        if now - self._window_start >= 60:
            self._window_start, self._shown = now, 0
        if self._shown >= self.per_minute:
            self._dropped += 1
            return False
        self._shown += 1
        record.msg = "%s: %s: %s" + (f" ({self._dropped} more dropped)" if self._dropped else "")
        record.args = (_bad_request(record), type(error).__name__, _one_line(error.message))
        record.exc_info, record.exc_text, self._dropped = None, None, 0
        record.levelno, record.levelname = logging.WARNING, "WARNING"  # the client's fault, not ours
        return True


def _bad_request(record: logging.LogRecord) -> str:
    # aiohttp says "Error handling request from %s" with the peer's address
    return "bad request" + (
        f" from {record.args[0]}" if isinstance(record.args, tuple) and record.args else ""
    )


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= _SHOWN_CHARS else flat[: _SHOWN_CHARS - 1] + "…"
