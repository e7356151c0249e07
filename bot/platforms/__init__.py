"""Chat platforms, one module each behind the `Platform` protocol: render (pure), send, sign where signed."""

from __future__ import annotations

from bot.platforms import console, dingtalk, feishu, webhook, wecom
from bot.platforms.base import Platform

PLATFORMS: dict[str, Platform] = {m.NAME: m for m in (wecom, dingtalk, feishu, webhook, console)}
