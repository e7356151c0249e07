"""WeCom (企业微信) group robot: markdown or text, 20 messages a minute, errors in the body.

Doc: https://developer.work.weixin.qq.com/document/path/91770 (platforms.md §1).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

import aiohttp

from bot.platforms.base import RateLimit
from bot.platforms.errors import judge
from bot.platforms.http import encode, post_json
from bot.platforms.message import Message
from bot.platforms.textparts import MARKDOWN, PLAIN, render_parts

NAME = "wecom"
MARKDOWN_LIMIT = 4096  # markdown.content, UTF-8 bytes (§1.2)
TEXT_LIMIT = 2048  # text.content, UTF-8 bytes (§1.2)
RATE_LIMITS = (RateLimit(20, timedelta(minutes=1)),)  # §1.4
RATE_LIMITED, BUSY = 45009, -1
PENALTY = timedelta(seconds=60)  # undocumented after 45009 (§1.4); third-party clients wait ~60 s
PERMANENT = {93000: "机器人地址无效或已被移出群", 93004: "机器人已被停用", 93008: "机器人不在群里",
             40058: "消息超出长度限制", 44004: "消息内容为空", 40008: "消息类型无效"}  # fmt: skip


def render(message: Message, tz: tzinfo, *, style: str = "markdown") -> list[dict[str, Any]]:
    """Return the WeCom payloads for a message, split at the byte limit of the chosen style."""
    if style == "text":
        return [
            {"msgtype": "text", "text": {"content": p}} for p in render_parts(message, tz, PLAIN, TEXT_LIMIT)
        ]
    parts = render_parts(message, tz, MARKDOWN, MARKDOWN_LIMIT)
    return [{"msgtype": "markdown", "markdown": {"content": p}} for p in parts]


async def send(
    session: aiohttp.ClientSession,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    now: datetime,
    timeout: float,
) -> None:
    """Post one payload; success is errcode 0 in the body, whatever the HTTP status."""
    answer = await post_json(session, NAME, url, encode(payload), timeout=timeout, now=now)
    check(answer.status, answer.body)


def check(status: int, body: dict[str, Any]) -> None:
    """Raise a PushError unless the body says errcode 0."""
    judge(NAME, status, body.get("errcode"), str(body.get("errmsg", "")), transient={BUSY},
          penalties={RATE_LIMITED: PENALTY}, hints=PERMANENT)  # fmt: skip
