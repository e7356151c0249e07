"""What a command may use: the database, the message, the time, and small protocols that bot/ implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from handlers.types import IncomingMessage
from storage.db import Database


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """The running service's health, as `状态` shows it."""

    sources: int
    sources_failing: int
    outbox_pending: int
    outbox_dead: int
    last_poll: datetime | None
    last_digest: datetime | None
    source_health: Mapping[str, int] = field(default_factory=dict)  # sources by health: ok, failing, ...
    subscribers: int = 0
    subscribers_failing: int = 0


class StatusSource(Protocol):
    """Reports the service's health (implemented by bot.service.Service)."""

    async def service_status(self) -> ServiceStatus:
        """Return the current health summary."""
        ...


class DigestPreviewer(Protocol):
    """Builds a subscriber's digest without queueing it (implemented by bot.service.Service)."""

    async def preview_digest(self, subscriber_id: str) -> str | None:
        """Return today's digest for the subscriber as plain text, or None when nothing is new."""
        ...


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """Everything a handler gets besides its command; handlers are called as `handler(cmd, ctx)`."""

    store: Database
    message: IncomingMessage
    now: datetime
    status: StatusSource
    digests: DigestPreviewer
