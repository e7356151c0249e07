"""HTML list pages (a news column with no feed) read into items through CSS selectors from config."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from feeds.dates import parse_date
from feeds.errors import ParseError
from feeds.models import ListSelectors, ParsedFeed, ParsedItem
from feeds.normalize import clean_text, item_uid, shorten
from feeds.shape import check_shape

# "sel@attr" or "@attr"; CSS itself never ends in "@name".
_ATTR_SUFFIX = re.compile(r"^(?P<css>.*?)\s*@(?P<attr>[A-Za-z_][\w:.-]*)$", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_LINK_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class _Field:
    css: str  # empty: the item element itself
    attr: str | None  # None: the element's text


def parse_list_page(html: str, *, url: str, select: ListSelectors, now: datetime, tz: tzinfo) -> ParsedFeed:
    """Return the page's items in page order; raise ParseError for invalid CSS or a page too deep or big."""
    check_shape(html)
    tree = LexborHTMLParser(html)
    fields = _compile(select, tree)
    base = _base_url(tree, url)
    items: list[ParsedItem] = []
    seen: set[str] = set()
    for node in _select(tree, select.item, "item"):
        item = _read_item(node, fields, base, now, tz)
        if item is not None and item.uid not in seen:
            seen.add(item.uid)
            items.append(item)
    title_node = tree.css_first("title")
    title = clean_text(title_node.text()) if title_node is not None else ""
    return ParsedFeed(title=title, site_url=url, items=tuple(items))


def check_selector(spec: str, *, attribute: bool = True) -> str:
    """Return a configured selector if lexbor compiles its CSS, else raise ValueError; with `attribute`
    it may end in "@attr" (or be only that), as title, link, date and summary may."""
    field = _parse_field(spec.strip()) if attribute else _Field(css=spec, attr=None)
    if field.css:
        try:
            LexborHTMLParser("").css(field.css)
        except SelectolaxError as exc:
            raise ValueError("is not a valid CSS selector") from exc
    return spec


def _compile(select: ListSelectors, tree: LexborHTMLParser) -> dict[str, _Field | None]:
    fields: dict[str, _Field | None] = {}
    for name in ("title", "link", "date", "summary"):
        spec = getattr(select, name).strip()
        field = _parse_field(spec) if spec else None
        if field is not None and field.css:
            _select(tree, field.css, name)  # fail on bad CSS even when the page has no items
        fields[name] = field
    return fields


def _parse_field(spec: str) -> _Field:
    match = _ATTR_SUFFIX.match(spec)
    if match is None:
        return _Field(css=spec, attr=None)
    return _Field(css=match["css"].strip(), attr=match["attr"])


def _select(root: LexborHTMLParser | LexborNode, css: str, name: str) -> list[LexborNode]:
    try:
        return list(root.css(css))
    except SelectolaxError as exc:
        raise ParseError(f"invalid CSS selector for {name}: {css!r}") from exc


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    href = (base.attributes.get("href") or "").strip() if base is not None else ""
    return urljoin(url, href) if href else url


def _read_item(
    node: LexborNode, fields: dict[str, _Field | None], base: str, now: datetime, tz: tzinfo
) -> ParsedItem | None:
    title = clean_text(_value(node, fields["title"]))
    link = _resolve_link(_value(node, fields["link"]), base)
    if not title or link is None:
        return None
    published = _read_date(node, fields["date"], now, tz)
    summary = shorten(clean_text(_value(node, fields["summary"])))  # text already: "<" is a character
    return ParsedItem(
        uid=item_uid(None, link, title, published),
        url=link,
        title=title,
        summary=summary,
        published_at=published,
    )


def _target(node: LexborNode, field: _Field | None) -> LexborNode | None:
    if field is None:
        return None
    # lexbor matches the item itself too, so a selector naming the item's own tag picks the item.
    return node.css_first(field.css) if field.css else node


def _value(node: LexborNode, field: _Field | None) -> str:
    target = _target(node, field)
    if target is None or field is None:
        return ""
    if field.attr is not None:
        return target.attributes.get(field.attr) or ""
    return target.text(deep=True)


def _resolve_link(href: str, base: str) -> str | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    link = urljoin(base, href)
    if urlsplit(link).scheme.lower() not in _LINK_SCHEMES:
        return None  # javascript:, mailto:, tel: and friends
    return link


def _read_date(node: LexborNode, field: _Field | None, now: datetime, tz: tzinfo) -> datetime | None:
    found = parse_date(_value(node, field), now=now, tz=tz)
    target = _target(node, field)
    if found is not None or target is None or (field is not None and field.attr is not None):
        return found
    # Some TRS-CMS pages (hunan.gov.cn) comment out the visible date: <!--<span>03-18</span>-->.
    for child in target.traverse(include_text=True):
        if child.is_comment_node:
            found = parse_date(_TAG.sub(" ", child.comment_content or ""), now=now, tz=tz)
            if found is not None:
                return found
    return None
