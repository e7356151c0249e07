"""Messages as markdown or plain text, split between items at a platform's byte limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

from bot.platforms.layout import (
    PART_MARK_RESERVE,
    Block,
    byte_len,
    escape_markdown,
    group_by_source,
    one_line,
    pack,
    part_mark,
    safe_url,
    short_date,
    shorten,
)
from bot.platforms.message import Entry, Message

SUMMARY_BYTES = 300  # an instant item shows the start of its summary, not all of it
_MIN_TITLE_BYTES = 30


@dataclass(frozen=True, slots=True)
class Style:
    """How one text flavour writes headings, groups, items and paragraphs."""

    heading: Callable[[str], str]
    group: Callable[[str], str]
    continued: Callable[[str], str]
    entry: Callable[[Entry, str, str], str]  # (entry, shown title, date) -> lines
    summary: Callable[[str], str]
    paragraph: Callable[[str], str]
    footer: Callable[[str, str], str]  # (text, link)


def _md_entry(entry: Entry, title: str, date: str) -> str:
    url = safe_url(entry.link)
    shown = f"[{escape_markdown(title)}]({url})" if url else escape_markdown(title)
    return f"- {shown}" + (f" · {date}" if date else "")


def _md_footer(text: str, link: str) -> str:
    url = safe_url(link) if link else ""
    return f"[{escape_markdown(text)}]({url})" if url else escape_markdown(text)


def _plain_entry(entry: Entry, title: str, date: str) -> str:
    line = f"• {one_line(title)}" + (f"（{date}）" if date else "")
    # a link dropped by the parser, or one no reader should follow (javascript:), gets no line at all
    return f"{line}\n  {entry.link}" if safe_url(entry.link) else line


MARKDOWN = Style(
    heading=lambda t: f"### {escape_markdown(t)}",
    group=lambda s: f"**{escape_markdown(s)}**",
    continued=lambda s: f"**{escape_markdown(s)}**（续）",
    entry=_md_entry,
    summary=lambda s: f"> {escape_markdown(s)}",
    paragraph=escape_markdown,
    footer=_md_footer,
)

PLAIN = Style(
    heading=lambda t: f"【{one_line(t)}】",
    group=lambda s: f"〔{one_line(s)}〕",
    continued=lambda s: f"〔{one_line(s)}〕（续）",
    entry=_plain_entry,
    summary=lambda s: f"  {one_line(s)}",
    paragraph=one_line,
    footer=lambda text, link: f"{one_line(text)} {link}".strip(),
)


def render_parts(message: Message, tz: tzinfo, style: Style, limit: int) -> list[str]:
    """Return the message as one or more texts of at most `limit` UTF-8 bytes, marked (1/n)."""
    heading = style.heading(message.title)
    budget = limit - byte_len(heading) - PART_MARK_RESERVE - 1
    blocks = [_block(style.paragraph(line)) for line in message.text.splitlines()]
    for source, entries in group_by_source(message.entries):
        blocks.append(_block(style.group(source)))
        # an item must fit in a part together with its group's (continued) heading
        room = budget - _block(style.continued(source)).cost
        blocks += [_entry_block(e, message.kind, tz, style, room, source) for e in entries]
    if message.footer:
        blocks.append(_block(style.footer(message.footer, message.link)))
    parts = pack(blocks, budget, lambda source: _block(style.continued(source)))
    return [
        "\n".join([heading + part_mark(i, len(parts)), *(b.text for b in part)])
        for i, part in enumerate(parts, 1)
    ]


def _block(text: str, group: str | None = None) -> Block:
    return Block(text, group, byte_len(text) + 1)


def _entry_block(entry: Entry, kind: str, tz: tzinfo, style: Style, budget: int, source: str) -> Block:
    """Render one item; an item too big for a whole message is shortened, never split."""
    date = short_date(entry.published_at, tz, with_time=kind == "item")
    shown = one_line(entry.summary) if kind == "item" else ""
    summary = style.summary(shorten(shown, SUMMARY_BYTES)) if shown else ""
    text = _join(style.entry(entry, entry.title, date), summary)
    if byte_len(text) + 1 > budget:
        room = max(budget - (byte_len(text) - byte_len(entry.title)) - 1, _MIN_TITLE_BYTES)
        text = _join(style.entry(entry, shorten(entry.title, room), date), summary)
    if byte_len(text) + 1 > budget:  # a pathological link: keep the title, drop what does not fit
        text = shorten(text, budget - 1)
    return Block(text, source, byte_len(text) + 1)


def _join(*lines: str) -> str:
    return "\n".join(line for line in lines if line)
