"""Load config.toml into frozen dataclasses, reporting every problem in it at once."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config.types import (
    Answer,
    BotConfig,
    ChatConfig,
    Config,
    DingTalkChat,
    FeishuChat,
    PollingConfig,
    SelectConfig,
    ServerConfig,
    SourceConfig,
    StaffConfig,
    SubscriberConfig,
    WebhookChat,
    WeComChat,
)
from bot.config.values import (
    Problems,
    Table,
    check_encoding,
    check_http_url,
    check_id,
    check_not_empty,
    did_you_mean,
    one_of,
    parse_duration,
    parse_rate_limit,
    parse_size,
    parse_time,
    parse_timezone,
)
from bot.platforms import PLATFORMS
from bot.redact import Secret
from feeds.html_list import check_selector
from storage.db import BUSY_TIMEOUT

DEFAULT_CONFIG = "config.toml"
DEFAULT_USER_AGENT = "parkbot/0.1"
_KEYS = {
    "": ("bot", "server", "polling", "sources", "subscribers", "chat", "answers", "staff"),
    "bot": ("name", "timezone", "database", "staff_alerts", "retention"),
    "server": ("host", "port", "admin_token", "public_url"),
    "polling": ("interval", "timeout", "max_body", "per_host", "user_agent", "first_fetch"),
    "sources": ("id", "name", "url", "type", "interval", "encoding", "enabled", "select"),
    "select": ("item", "title", "link", "date", "summary"),
    "subscribers": (
        "id",
        "name",
        "platform",
        "webhook",
        "secret",
        "digest",
        "instant",
        "sources",
        "include",
        "exclude",
        "chat_id",
        "rate_limit",
        "format",
    ),
    "chat": ("dingtalk", "wecom", "feishu", "webhook"),
    "dingtalk": ("app_secret",),
    "wecom": ("token", "encoding_aes_key", "corp_id"),
    "feishu": ("app_id", "app_secret", "verification_token", "encrypt_key", "api_base"),
    "webhook": ("secret",),
    "answers": ("keywords", "text"),
    "staff": ("dingtalk", "wecom", "feishu", "webhook"),
}
BUSY_TIMEOUT_VARIABLE = "PARKBOT_BUSY_TIMEOUT_MS"
_WECOM_AES_KEY_LENGTH = 43  # platforms.md §2.1: EncodingAESKey is exactly 43 characters
_TOML_POSITION = re.compile(r"(.*) \(at line (\d+), column (\d+)\)$", re.DOTALL)


class ConfigError(Exception):
    """The configuration cannot be used; `lines` holds one line per problem."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


def find_config_path(cli_value: str | None, environ: Mapping[str, str]) -> Path:
    """Pick the config file: the -c value, else $PARKBOT_CONFIG, else ./config.toml."""
    return Path(cli_value or environ.get("PARKBOT_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file, raising ConfigError with every problem found."""
    # Lines name the file as the docs do ("config.toml: key: problem"); only an unreadable file gets its path.
    problems = Problems(path.name, os.environ if environ is None else environ)
    root = Table(_read_toml(path), "", problems, _KEYS[""])
    base = path.parent.resolve()
    bot_table = root.table("bot", _KEYS["bot"])
    bot = _read_bot(bot_table, base)
    server = _read_server(root.table("server", _KEYS["server"]))
    polling = _read_polling(root.table("polling", _KEYS["polling"]))
    sources = _read_all(root.tables("sources", _KEYS["sources"]), lambda t: _read_source(t, polling.interval))
    source_ids = {s.id for s in sources if s.id}
    subscribers = _read_all(
        root.tables("subscribers", _KEYS["subscribers"]), lambda t: _read_subscriber(t, base, source_ids)
    )
    subscriber_ids = [s.id for s in subscribers if s.id]
    if bot.staff_alerts and bot.staff_alerts not in subscriber_ids:
        bot_table.problem(
            "staff_alerts",
            f'unknown subscriber "{bot.staff_alerts}"' + did_you_mean(bot.staff_alerts, subscriber_ids),
        )
    config = Config(
        path,
        bot,
        server,
        polling,
        sources,
        subscribers,
        chat=_read_chat(root.table("chat", _KEYS["chat"])),
        answers=tuple(_read_answer(t) for t in root.tables("answers", _KEYS["answers"])),
        staff=_read_staff(root.table("staff", _KEYS["staff"])),
    )
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: Windows editors often save a byte order mark that TOML itself rejects.
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read the file: {error.strerror or error}"]) from error
    except UnicodeDecodeError as error:
        raise ConfigError([f"{path.name}: byte {error.start}: the file is not UTF-8 text"]) from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_POSITION.match(str(error))
        where = f"line {match.group(2)}, column {match.group(3)}" if match else "TOML"
        reason = match.group(1) if match else str(error)
        raise ConfigError([f"{path.name}: {where}: invalid TOML: {reason}"]) from error


def _resolver(base: Path) -> Callable[[str], Path]:
    def resolve(text: str) -> Path:
        return (base / Path(check_not_empty(text)).expanduser()).resolve()

    return resolve


def _read_bot(table: Table, base: Path) -> BotConfig:
    return BotConfig(
        name=table.string("name", "parkbot"),
        timezone=table.string("timezone", "Asia/Shanghai", parse=parse_timezone),
        database=table.string("database", "data/parkbot.db", parse=_resolver(base)),
        staff_alerts=table.string("staff_alerts", None) or None,
        retention=table.string("retention", "365d", parse=parse_duration),
        busy_timeout=_read_busy_timeout(table.problems),
    )


def _read_busy_timeout(problems: Problems) -> timedelta:
    """Return $PARKBOT_BUSY_TIMEOUT_MS as a duration (the tests shorten it), else SQLite's usual 5 s."""
    text = problems.environ.get(BUSY_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return BUSY_TIMEOUT
    if not re.fullmatch(r"[0-9]{1,7}", text):
        problems.lines.append(f"{BUSY_TIMEOUT_VARIABLE}: {text!r} is not a whole number of milliseconds")
        return BUSY_TIMEOUT
    return timedelta(milliseconds=int(text))


def _read_server(table: Table) -> ServerConfig:
    return ServerConfig(
        host=table.string("host", "127.0.0.1", parse=check_not_empty),
        port=table.integer("port", 8080, 1, 65535),
        admin_token=table.string("admin_token", "", parse=Secret, secret=True),
        public_url=table.string("public_url", "", parse=_optional_http_url).rstrip("/"),
    )


def _optional_http_url(text: str) -> str:
    return check_http_url(text) if text else ""


def _read_polling(table: Table) -> PollingConfig:
    return PollingConfig(
        interval=table.string("interval", "30m", parse=parse_duration),
        timeout=table.string("timeout", "20s", parse=parse_duration),
        max_body=table.string("max_body", "5MB", parse=parse_size),
        per_host=table.integer("per_host", 2, 1),
        user_agent=table.string("user_agent", DEFAULT_USER_AGENT, parse=check_not_empty),
        first_fetch=table.string("first_fetch", "seed", parse=one_of("seed", "push")),
    )


def _read_all(tables: list[Table], read: Callable[[Table], Any]) -> tuple[Any, ...]:
    """Read each entry and report an id already used by an earlier entry."""
    items: list[Any] = []
    first_use: dict[str, str] = {}
    for table in tables:
        item = read(table)
        if item.id in first_use:
            table.problem("id", f'duplicate id "{item.id}" (first used at {first_use[item.id]})')
        elif item.id:
            first_use[item.id] = table.path
        items.append(item)
    return tuple(items)


def _read_source(table: Table, default_interval: Any) -> SourceConfig:
    source_id = table.string("id", parse=check_id)
    kind = table.string("type", parse=one_of("feed", "html"))
    return SourceConfig(
        id=source_id,
        name=table.string("name", None) or source_id,
        url=table.string("url", parse=check_http_url),
        type=kind,
        interval=table.string("interval", None, parse=parse_duration) or default_interval,
        encoding=table.string("encoding", None, parse=check_encoding),
        enabled=table.boolean("enabled", True),
        select=_read_select(table, kind),
    )


def _read_select(table: Table, kind: str | None) -> SelectConfig | None:
    present = "select" in table.data
    if kind == "feed" and present:
        table.problem("select", 'is only for type = "html"')
    if kind != "html":
        return None
    if not present:
        table.problem("select", 'is required for type = "html": add [sources.select] with item, title, link')
        return None
    select = table.table("select", _KEYS["select"])
    # Compiled now, so `parkbot check` refuses a selector that every poll would fail on.
    return SelectConfig(
        item=select.string("item", parse=lambda text: check_selector(check_not_empty(text), attribute=False)),
        title=select.string("title", parse=lambda text: check_selector(check_not_empty(text))),
        link=select.string("link", parse=lambda text: check_selector(check_not_empty(text))),
        date=select.string("date", "", parse=check_selector),
        summary=select.string("summary", "", parse=check_selector),
    )


def _read_subscriber(table: Table, base: Path, source_ids: set[str]) -> SubscriberConfig:
    subscriber_id = table.string("id", parse=check_id)
    platform = table.string("platform", parse=one_of(*PLATFORMS))
    sources = table.strings("sources", ("*",))
    for index, name in enumerate(sources):
        if name != "*" and name not in source_ids:
            table.problem(f"sources[{index}]", f'unknown source "{name}"' + did_you_mean(name, source_ids))
    return SubscriberConfig(
        id=subscriber_id,
        name=table.string("name", None) or subscriber_id,
        platform=platform,
        webhook=_read_webhook(table, platform, base),
        secret=table.string("secret", "", parse=Secret, secret=True),
        digest=table.string("digest", "08:30", parse=parse_time),
        instant=table.boolean("instant", False),
        sources=sources,
        include=tuple(word for word in table.strings("include") if word.strip()),
        exclude=tuple(word for word in table.strings("exclude") if word.strip()),
        chat_id=table.string("chat_id", ""),
        rate_limit=table.string("rate_limit", None, parse=parse_rate_limit),
        # WeChat users in a WeCom group see no markdown: such groups want plain text.
        format=table.string("format", "markdown", parse=one_of("markdown", "text")),
    )


def _read_webhook(table: Table, platform: str | None, base: Path) -> Secret:
    # On a problem the getters return None; the configuration is refused then, so Secret("") never runs.
    if platform == "console":

        def console_target(text: str) -> Secret:
            return Secret(text if text == "-" else str(_resolver(base)(text)))

        return table.string("webhook", "-", parse=console_target) or Secret("")
    if platform is None:
        return Secret("")
    return table.string("webhook", parse=lambda text: Secret(check_http_url(text)), secret=True) or Secret("")


def _read_chat(table: Table) -> ChatConfig:
    def section(name: str, read: Callable[[Table], Any]) -> Any:
        return read(table.table(name, _KEYS[name])) if name in table.data else None

    return ChatConfig(
        dingtalk=section("dingtalk", lambda t: DingTalkChat(app_secret=_secret(t, "app_secret"))),
        wecom=section("wecom", _read_wecom),
        feishu=section("feishu", _read_feishu),
        webhook=section("webhook", lambda t: WebhookChat(secret=_secret(t, "secret"))),
    )


def _secret(table: Table, key: str, parse: Callable[[str], str] = str) -> Secret:
    """Read an optional secret: empty means the feature it guards is off."""
    found = table.string(key, "", parse=lambda text: Secret(parse(text) if text else text), secret=True)
    return found or Secret("")


def _aes_key(text: str) -> str:
    if len(text) != _WECOM_AES_KEY_LENGTH:
        raise ValueError(f"must be {_WECOM_AES_KEY_LENGTH} characters long, not {len(text)}")
    return text


def _read_wecom(table: Table) -> WeComChat:
    return WeComChat(
        token=_secret(table, "token"),
        corp_id=table.string("corp_id", ""),
        encoding_aes_key=_secret(table, "encoding_aes_key", _aes_key),
    )


def _read_feishu(table: Table) -> FeishuChat:
    return FeishuChat(
        app_id=table.string("app_id", ""),
        app_secret=_secret(table, "app_secret"),
        verification_token=_secret(table, "verification_token"),
        encrypt_key=_secret(table, "encrypt_key"),
        api_base=table.string("api_base", "https://open.feishu.cn", parse=_api_base),
    )


def _api_base(text: str) -> str:
    return check_http_url(text).rstrip("/")


def _read_answer(table: Table) -> Answer:
    keywords = tuple(word for word in table.strings("keywords") if word.strip())
    if "keywords" not in table.data:
        table.problem("keywords", "is required")
    elif not keywords and isinstance(table.data["keywords"], list):
        table.problem("keywords", "must list at least one keyword")
    return Answer(keywords=keywords, text=table.string("text", parse=check_not_empty))


def _read_staff(table: Table) -> StaffConfig:
    return StaffConfig(**{platform: table.strings(platform) for platform in _KEYS["staff"]})
