"""Feishu/Lark (飞书) custom bot: rich-text `post`, body signing, 5 a second and 100 a minute.

Doc: https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot (platforms.md §5.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, tzinfo
from typing import Any

import aiohttp

from bot.platforms.base import RateLimit
from bot.platforms.errors import judge
from bot.platforms.http import encode, post_json
from bot.platforms.layout import Block, group_by_source, one_line, pack, part_mark, short_date, shorten
from bot.platforms.message import Entry, Message

NAME = "feishu"
BODY_LIMIT = 20_000  # whole request body; "20 KB" with the unit unstated, so decimal (§5.1, §7.3)
_SIGNATURE_RESERVE = 120  # "timestamp" and "sign" fields added at send time
RATE_LIMITS = (RateLimit(5, timedelta(seconds=1)), RateLimit(100, timedelta(minutes=1)))  # §5.1
RATE_LIMITED = 11232
PERMANENT = {19001: "机器人地址无效", 19021: "签名校验失败或时间不同步", 19022: "IP 不在白名单",
             19024: "缺少自定义关键词", 9499: "消息格式错误或超过 20 KB"}  # fmt: skip
SUMMARY_CHARS = 120


def sign(secret: str, timestamp_s: int) -> str:
    """Return base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b"")): the string is the key (§5.1)."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def render(message: Message, tz: tzinfo, *, style: str = "markdown") -> list[dict[str, Any]]:
    """Return `post` payloads whose encoded bodies stay under the limit, split between items."""
    blocks = [_block([_text(line)]) for line in message.text.splitlines() if line.strip()]
    for source, entries in group_by_source(message.entries):
        blocks.append(_block([_text(f"【{one_line(source)}】")]))
        blocks += [_block(_entry(e, message.kind, tz), source) for e in entries]
    if message.footer:
        footer = [_link(message.footer, message.link)] if message.link else [_text(message.footer)]
        blocks.append(_block(footer))
    empty = len(encode(_payload(message.title + " (99/99)", [])))
    parts = pack(blocks, BODY_LIMIT - empty - _SIGNATURE_RESERVE, lambda s: _block([_text(f"【{s}】（续）")]))
    return [
        _payload(message.title + part_mark(i, len(parts)), [json.loads(b.text) for b in part])
        for i, part in enumerate(parts, 1)
    ]


def _payload(title: str, paragraphs: list[list[dict[str, str]]]) -> dict[str, Any]:
    return {
        "msg_type": "post",
        "content": {"post": {"zh_cn": {"title": one_line(title), "content": paragraphs}}},
    }


def _entry(entry: Entry, kind: str, tz: tzinfo) -> list[dict[str, str]]:
    title = shorten(one_line(entry.title), 1000)
    line = [_link(title, entry.link) if entry.link else _text(title)]
    date = short_date(entry.published_at, tz, with_time=kind == "item")
    if date:
        line.append(_text(f" · {date}"))
    if kind == "item" and entry.summary:
        line.append(_text("\n" + one_line(entry.summary)[:SUMMARY_CHARS]))
    return line


def _text(text: str) -> dict[str, str]:
    # Rich-text elements are data, not markup: a title cannot inject a link or a mention here.
    return {"tag": "text", "text": text}


def _link(text: str, href: str) -> dict[str, str]:
    return {"tag": "a", "text": text, "href": href}


def _block(paragraph: list[dict[str, str]], group: str | None = None) -> Block:
    text = json.dumps(paragraph, ensure_ascii=False, separators=(",", ":"))
    return Block(text, group, len(text.encode("utf-8")) + 1)


async def send(
    session: aiohttp.ClientSession,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    now: datetime,
    timeout: float,
) -> None:
    """Add timestamp and sign when the bot has a secret, post, and decide success from `code`."""
    if secret:
        timestamp = int(now.timestamp())
        payload = {**payload, "timestamp": str(timestamp), "sign": sign(secret, timestamp)}
    answer = await post_json(session, NAME, url, encode(payload), timeout=timeout, now=now)
    check(answer.status, answer.body)


def check(status: int, body: dict[str, Any]) -> None:
    """Raise a PushError unless `code` (or the legacy `StatusCode`) is 0."""
    code = body.get("code", body.get("StatusCode"))
    reason = str(body.get("msg", body.get("StatusMessage", "")))
    judge(NAME, status, code, reason, transient={RATE_LIMITED}, penalties={}, hints=PERMANENT)
