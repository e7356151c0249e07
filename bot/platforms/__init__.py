"""One module per chat platform, each with the same functions: render (pure), send, and sign where signed."""

from __future__ import annotations

from types import ModuleType

from bot.platforms import console, dingtalk, feishu, webhook, wecom

PLATFORMS: dict[str, ModuleType] = {m.NAME: m for m in (wecom, dingtalk, feishu, webhook, console)}
