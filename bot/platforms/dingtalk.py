"""DingTalk (钉钉) custom robot: markdown with a title, 加签 signing, 20 a minute or a 10-minute lock.

Doc: https://open.dingtalk.com/document/orgapp/custom-robot-access (platforms.md §3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote_plus

import aiohttp

from bot.platforms.base import RateLimit
from bot.platforms.errors import judge
from bot.platforms.http import encode, post_json
from bot.platforms.layout import one_line, shorten
from bot.platforms.message import Message
from bot.platforms.textparts import MARKDOWN, PLAIN, render_parts

NAME = "dingtalk"
# Not documented (§3.2): a third-party client quotes "exceed 20000 bytes" for the whole body;
# keep the markdown text well below it.
MARKDOWN_LIMIT = 18_000
TITLE_LIMIT = 100
RATE_LIMITS = (RateLimit(20, timedelta(minutes=1)),)  # §3.3
LOCK = timedelta(minutes=10)  # §3.3: over the limit, the robot is throttled for 10 minutes
RATE_LOCKED = {410100, 130101}
BUSY = -1


def sign(secret: str, timestamp_ms: int) -> str:
    """Return base64(HMAC-SHA256(secret, f"{ts}\\n{secret}")) as §3.1 defines it (not URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_url(url: str, secret: str, now: datetime) -> str:
    """Append &timestamp=…&sign=… to the robot URL when the robot has a signing secret."""
    if not secret:
        return url
    timestamp = int(now.timestamp() * 1000)
    return f"{url}&timestamp={timestamp}&sign={quote_plus(sign(secret, timestamp))}"


def render(message: Message, tz: tzinfo, *, style: str = "markdown") -> list[dict[str, Any]]:
    """Return DingTalk markdown payloads; the title is the notification line, repeated as a heading."""
    parts = render_parts(message, tz, PLAIN if style == "text" else MARKDOWN, MARKDOWN_LIMIT)
    title = shorten(one_line(message.title), TITLE_LIMIT)
    return [{"msgtype": "markdown", "markdown": {"title": title, "text": part}} for part in parts]


async def send(
    session: aiohttp.ClientSession,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    now: datetime,
    timeout: float,
) -> None:
    """Sign (fresh timestamp), post, and decide success from errcode."""
    answer = await post_json(
        session, NAME, signed_url(url, secret, now), encode(payload), timeout=timeout, now=now
    )
    check(answer.status, answer.body)


def check(status: int, body: dict[str, Any]) -> None:
    """Raise a PushError unless errcode is 0; any JSON without errcode 0 is a failure (§3.3)."""
    # 310000 carries the reason (keywords, timestamp, sign, ip whitelist) in errmsg: it is kept.
    judge(NAME, status, body.get("errcode"), str(body.get("errmsg", "")), transient={BUSY},
          penalties=dict.fromkeys(RATE_LOCKED, LOCK), hints={})  # fmt: skip
