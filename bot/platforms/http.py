"""The one POST every robot platform shares: JSON out, status and body back, failures typed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.platforms.errors import PushError


@dataclass(frozen=True, slots=True)
class Answer:
    """A robot's HTTP answer."""

    status: int
    body: dict[str, Any]
    retry_after: str | None


def encode(payload: dict[str, Any]) -> bytes:
    """Serialize a payload as the platforms count it: UTF-8 JSON, Chinese not \\u-escaped."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def post_json(
    session: aiohttp.ClientSession,
    platform: str,
    url: str,
    body: bytes,
    *,
    timeout: float,
    now: datetime,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST body; network trouble, timeouts, 429 and 5xx become transient PushErrors."""
    try:
        async with session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as resp:
            raw = await resp.read()
            retry_after = resp.headers.get("Retry-After")
            status = resp.status
    except TimeoutError as exc:
        raise PushError(platform, f"no answer within {timeout:g}s") from exc
    except aiohttp.ClientError as exc:
        # The exception text can hold the URL, and so the robot key: name the kind only.
        raise PushError(platform, f"network error: {type(exc).__name__}") from exc
    if status == 429 or status >= 500:
        wait = parse_retry_after(retry_after, now)
        raise PushError(platform, f"HTTP {status}", status=status, retry_after=wait)
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except ValueError:
        parsed = {}
    return Answer(status, parsed if isinstance(parsed, dict) else {}, retry_after)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Read a robot's Retry-After (delta-seconds or HTTP-date, RFC 9110 §10.2.3) as a delay from `now`."""
    value = (value or "").strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # HTTP-dates are always GMT (RFC 9110 §5.6.7).
    return max(when.replace(tzinfo=when.tzinfo or UTC) - now, timedelta(0))
