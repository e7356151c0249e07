"""The console: plain text to standard output or appended to a file, so parkbot runs with no chat keys."""

from __future__ import annotations

import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import aiohttp

from bot.platforms.errors import PushError
from bot.platforms.message import Message
from bot.platforms.textparts import PLAIN, render_parts

NAME = "console"
RATE_LIMITS = ()
_NO_SPLIT = 10 * 1024 * 1024


def render(message: Message, tz: tzinfo, *, style: str = "text") -> list[dict[str, Any]]:
    """Return the message as one plain-text payload."""
    return [{"text": render_parts(message, tz, PLAIN, _NO_SPLIT)[0]}]


async def send(
    session: aiohttp.ClientSession,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    now: datetime,
    timeout: float,
) -> None:
    """Write the text to standard output ("-") or append it to the file at url."""
    text = f"{payload['text']}\n\n"
    if url == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with Path(url).open("a", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise PushError(NAME, f"cannot write {url}: {exc.strerror}") from exc
