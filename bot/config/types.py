"""The validated configuration as frozen dataclasses; bot.config builds them from config.toml."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import time, timedelta
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from bot.platforms.base import RateLimit
from bot.redact import Secret, looks_like_url, url_secrets
from feeds.models import ListSelectors
from storage.db import BUSY_TIMEOUT

SourceType = Literal["feed", "html"]
Platform = Literal["wecom", "dingtalk", "feishu", "webhook", "console"]


@dataclass(frozen=True, slots=True)
class BotConfig:
    """[bot]: identity, time zone, database file and where operational alerts go."""

    name: str
    timezone: ZoneInfo
    database: Path
    staff_alerts: str | None
    retention: timedelta = timedelta(days=365)  # stored items older than this are removed (uids stay)
    busy_timeout: timedelta = BUSY_TIMEOUT  # how long to wait for another process's write


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """[server]: where the HTTP server listens and the admin API token."""

    host: str
    port: int
    admin_token: Secret
    public_url: str = ""  # how chat users reach this server (e.g. https://parkbot.example.cn), for links


@dataclass(frozen=True, slots=True)
class PollingConfig:
    """[polling]: defaults and limits for fetching sources."""

    interval: timedelta
    timeout: timedelta
    max_body: int
    per_host: int
    user_agent: str
    first_fetch: Literal["seed", "push"]


# [sources.select] is exactly what the HTML list parser takes.
SelectConfig = ListSelectors


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One [[sources]] entry; `interval` already falls back to [polling].interval."""

    id: str
    name: str
    url: str
    type: SourceType
    interval: timedelta
    encoding: str | None
    enabled: bool
    select: SelectConfig | None


@dataclass(frozen=True, slots=True)
class SubscriberConfig:
    """One [[subscribers]] entry: a chat destination with its filters and digest time."""

    id: str
    name: str
    platform: Platform
    webhook: Secret
    secret: Secret
    digest: time | None
    instant: bool
    sources: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    chat_id: str
    rate_limit: RateLimit | None
    format: str = "markdown"  # markdown | text (WeCom groups with WeChat members see no markdown)

    def wants(self, source_id: str) -> bool:
        """Tell whether this subscriber follows a source ("*" follows all)."""
        return "*" in self.sources or source_id in self.sources


@dataclass(frozen=True, slots=True)
class DingTalkChat:
    """[chat.dingtalk]: enterprise robot callback; an empty secret disables the endpoint."""

    app_secret: Secret


@dataclass(frozen=True, slots=True)
class WeComChat:
    """[chat.wecom]: self-built app callback credentials."""

    token: Secret
    encoding_aes_key: Secret
    corp_id: str


@dataclass(frozen=True, slots=True)
class FeishuChat:
    """[chat.feishu]: app event subscription and the API base used to reply."""

    app_id: str
    app_secret: Secret
    verification_token: Secret
    encrypt_key: Secret
    api_base: str = "https://open.feishu.cn"


@dataclass(frozen=True, slots=True)
class WebhookChat:
    """[chat.webhook]: plain signed JSON callback."""

    secret: Secret


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """[chat]: inbound endpoints; a platform is None when its section is absent."""

    dingtalk: DingTalkChat | None = None
    wecom: WeComChat | None = None
    feishu: FeishuChat | None = None
    webhook: WebhookChat | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """One [[answers]] entry: a canned reply for messages containing any keyword."""

    keywords: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class StaffConfig:
    """[staff]: platform user ids allowed to post announcements."""

    dingtalk: tuple[str, ...] = ()
    wecom: tuple[str, ...] = ()
    feishu: tuple[str, ...] = ()
    webhook: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration file, validated."""

    path: Path
    bot: BotConfig
    server: ServerConfig
    polling: PollingConfig
    sources: tuple[SourceConfig, ...]
    subscribers: tuple[SubscriberConfig, ...]
    chat: ChatConfig
    answers: tuple[Answer, ...]
    staff: StaffConfig

    def source(self, source_id: str) -> SourceConfig:
        """Return the source with this id, or raise KeyError."""
        return _by_id(self.sources, source_id)

    def subscriber(self, subscriber_id: str) -> SubscriberConfig:
        """Return the subscriber with this id, or raise KeyError."""
        return _by_id(self.subscribers, subscriber_id)

    def secrets(self) -> tuple[str, ...]:
        """Every non-empty secret value, and the tokens inside secret URLs, for log redaction."""
        found = [self.server.admin_token]
        for sub in self.subscribers:
            found += [sub.secret] if sub.platform == "console" else [sub.webhook, sub.secret]
        for chat in (self.chat.dingtalk, self.chat.wecom, self.chat.feishu, self.chat.webhook):
            found += [getattr(chat, f.name) for f in fields(chat)] if chat is not None else []
        values: list[str] = []
        for secret in found:
            if isinstance(secret, Secret) and secret:
                values.append(secret.reveal())
                values += url_secrets(secret.reveal()) if looks_like_url(secret.reveal()) else ()
        return tuple(dict.fromkeys(values))


_Item = TypeVar("_Item", SourceConfig, SubscriberConfig)


def _by_id(items: tuple[_Item, ...], wanted: str) -> _Item:
    for item in items:
        if item.id == wanted:
            return item
    raise KeyError(wanted)
