"""Sending from a command: only when no service is running; beside one, commands only queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.delivery.worker import Deliverer

SEND_WAIT = timedelta(seconds=60)  # how long a command keeps sending before leaving the rest queued
SERVICE_SENDS = "queued: the running parkbot service sends it (within 30 s)"


async def send_queued(deliverer: Deliverer, wait: timedelta = SEND_WAIT) -> bool:
    """Send what is due, within rate limits, for up to `wait`; return False without sending when another
    process (the running service) is the one that sends, so nothing goes out twice."""
    if not await deliverer.take_over():
        return False
    try:
        deadline = datetime.now(UTC) + wait
        while True:
            if await deliverer.deliver_due():
                continue
            wake = await deliverer.next_wake()
            if wake is None or wake > deadline:
                return True
            # a robot's rate limit or a retry: wait for it, then send again
            await asyncio.sleep(max((wake - datetime.now(UTC)).total_seconds(), 0))
    finally:
        deliverer.release()
