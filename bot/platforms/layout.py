"""Shared layout: escaping, dates, and packing blocks into parts that fit a platform's byte limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import quote, urlsplit

from bot.platforms.message import Entry

# Markdown and HTML syntax characters become their full-width forms, which read naturally in Chinese
# and cannot open a link, a heading, a <font> tag or emphasis. Backslash escapes are not reliable
# across WeCom and DingTalk clients.
_MARKDOWN_SAFE = str.maketrans(
    {
        "[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "_": "＿", "`": "｀", "#": "＃",
        "<": "＜", ">": "＞", "|": "｜", "~": "～", "\\": "＼", "&": "＆", "!": "！",
        "\n": " ", "\r": " ", "\t": " ",
    }
)  # fmt: skip
_URL_SAFE = ":/?#@$&*+,;=%-._~!"  # everything else, including ( ) ' " < > and spaces, is %-encoded
PART_MARK_RESERVE = len(" (99/99)")
ELLIPSIS = "…"


def local_iso(moment: datetime | None, tz: tzinfo) -> str | None:
    """Return ISO 8601 with the zone's offset (`2026-11-29T16:20:00+08:00`), or None for no time."""
    return moment.astimezone(tz).isoformat() if moment else None


def escape_markdown(text: str) -> str:
    """Return text that renders literally inside markdown and cannot break the layout."""
    return " ".join(text.translate(_MARKDOWN_SAFE).split())


def one_line(text: str) -> str:
    """Return text on one line with whitespace collapsed."""
    return " ".join(text.split())


def safe_url(url: str) -> str:
    """Return an http(s) URL safe inside markdown parentheses, or "" for anything else."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return ""
    return quote(url, safe=_URL_SAFE)


def short_date(moment: datetime | None, tz: tzinfo, *, with_time: bool = False) -> str:
    """Return `11月29日` (or `11月29日 16:20`) in the configured zone; "" for no date."""
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    day = f"{local.month}月{local.day}日"
    return f"{day} {local:%H:%M}" if with_time else day


def byte_len(text: str) -> int:
    """Return the UTF-8 size of text."""
    return len(text.encode("utf-8"))


def shorten(text: str, max_bytes: int) -> str:
    """Cut text to at most max_bytes of UTF-8, on a character boundary, marking the cut with …."""
    if byte_len(text) <= max_bytes:
        return text
    budget = max_bytes - byte_len(ELLIPSIS)
    cut = text.encode("utf-8")[: max(budget, 0)].decode("utf-8", errors="ignore")
    return cut + ELLIPSIS


def group_by_source(entries: Sequence[Entry]) -> list[tuple[str, list[Entry]]]:
    """Group consecutive entries by source name, keeping their order."""
    groups: list[tuple[str, list[Entry]]] = []
    for entry in entries:
        if groups and groups[-1][0] == entry.source_name:
            groups[-1][1].append(entry)
        else:
            groups.append((entry.source_name, [entry]))
    return groups


@dataclass(frozen=True, slots=True)
class Block:
    """One indivisible piece of a message (a heading, an item, a paragraph) with its size in bytes."""

    text: str
    group: str | None = None  # the source group an item belongs to, to repeat its heading in a new part
    cost: int = 0


def pack(
    blocks: Sequence[Block], budget: int, continuation: Callable[[str], Block] | None = None
) -> list[list[Block]]:
    """Split blocks into parts whose costs add up to at most budget, only between blocks.

    A part that starts inside a source group begins with that group's `continuation` heading.
    """
    parts: list[list[Block]] = [[]]
    used = 0
    for block in blocks:
        if parts[-1] and used + block.cost > budget:
            parts.append([])
            used = 0
            if continuation and block.group is not None:
                heading = continuation(block.group)
                parts[-1].append(heading)
                used += heading.cost
        parts[-1].append(block)
        used += block.cost
    return parts


def part_mark(index: int, total: int) -> str:
    """Return ` (2/3)` for a part of a split message, "" for a message in one part."""
    return f" ({index}/{total})" if total > 1 else ""
