"""What every platform module provides (the `Platform` protocol) and the rate-limit type it declares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

import aiohttp

from bot.platforms.message import Message


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` messages per `per`."""

    count: int
    per: timedelta


class Platform(Protocol):
    """One chat platform: a module with these names, looked up by `NAME` in `bot.platforms.PLATFORMS`."""

    @property
    def NAME(self) -> str: ...

    @property
    def RATE_LIMITS(self) -> tuple[RateLimit, ...]: ...

    def render(self, message: Message, tz: tzinfo, *, style: str = ...) -> list[dict[str, Any]]:
        """Return the payloads for a message, split at the platform's size limit (pure)."""
        ...

    async def send(
        self,
        session: aiohttp.ClientSession,
        url: str,
        payload: dict[str, Any],
        *,
        secret: str,
        now: datetime,
        timeout: float,
    ) -> None:
        """Deliver one payload, or raise a PushError saying whether a retry can help."""
        ...
