"""A plain signed JSON webhook, for other systems: the contract's body and X-Parkbot-Signature."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, tzinfo
from typing import Any

import aiohttp

from bot.platforms.errors import PushError
from bot.platforms.http import encode, post_json
from bot.platforms.layout import local_iso
from bot.platforms.message import Message
from bot.platforms.textparts import MARKDOWN, PLAIN, render_parts

NAME = "webhook"
RATE_LIMITS = ()  # none of ours; the receiver answers 429 with Retry-After if it wants fewer
_NO_SPLIT = 10 * 1024 * 1024


def sign(secret: str, body: bytes) -> str:
    """Return `sha256=HEX`, the HMAC-SHA256 of the raw body with the subscriber's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def render(message: Message, tz: tzinfo, *, style: str = "markdown") -> list[dict[str, Any]]:
    """Return the one JSON body of the contract: kind, title, text, markdown and items."""
    return [
        {
            "kind": message.kind,
            "title": message.title,
            "text": render_parts(message, tz, PLAIN, _NO_SPLIT)[0],
            "markdown": render_parts(message, tz, MARKDOWN, _NO_SPLIT)[0],
            "items": [
                {
                    "title": e.title,
                    "link": e.link,
                    "source": e.source_name,
                    "summary": e.summary,
                    "published": local_iso(e.published_at, tz),
                }
                for e in message.entries
            ],
            **message.extra,
        }
    ]


async def send(
    session: aiohttp.ClientSession,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    now: datetime,
    timeout: float,
) -> None:
    """Post the signed body; 2xx is success, other 4xx (but 429) are permanent."""
    body = encode(payload)
    headers = {"X-Parkbot-Signature": sign(secret, body)} if secret else {}
    answer = await post_json(session, NAME, url, body, timeout=timeout, now=now, headers=headers)
    if not 200 <= answer.status < 300:
        raise PushError(NAME, f"HTTP {answer.status}", status=answer.status, permanent=True)
