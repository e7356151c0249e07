"""Stable item identity, URL cleanup and text cleanup shared by the feed and HTML paths."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.shape import check_shape

# Parameters that only track the reader; two links differing in them are the same article.
_TRACKING_PARAMS = frozenset(
    {"spm", "from", "fbclid", "gclid", "yclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "share_token"}
)
_WHITESPACE = re.compile(r"\s+")  # Unicode: &nbsp; (U+00A0) and the full-width space (U+3000) too
# Block elements become spaces, inline ones vanish, so that a Chinese phrase split by <b>…</b> stays
# one phrase.
_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure"}
    | {"footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre"}
    | {"section", "table", "td", "th", "tr", "ul"}
)
_INVISIBLE = ["script", "style", "template"]
_CDATA_START, _CDATA_END = "<![CDATA[", "]]>"
SUMMARY_MAX_CHARS = 500


def normalize_url(url: str) -> str:
    """Return the URL with a lower-cased host, no fragment and no tracking parameters."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))


def item_uid(guid: str | None, url: str | None, title: str, published: datetime | None) -> str:
    """Return a stable id: the feed's guid, else the normalised link, else a hash of title and date."""
    if guid and guid.strip():
        return guid.strip()
    if url and url.strip():
        return normalize_url(url)
    stamp = published.isoformat() if published else ""
    return "sha1:" + hashlib.sha1(f"{clean_text(title)}\n{stamp}".encode()).hexdigest()


def clean_text(text: str | None) -> str:
    """Collapse whitespace (including &nbsp; and full-width spaces) and unescape entities."""
    return _collapse(html.unescape(text)) if text else ""


def html_text(fragment: str | None) -> str:
    """Return the visible text of an HTML fragment: scripts and styles dropped, whitespace cleaned.

    Raise ParseError when the fragment nests deeper or makes more elements than a parser should face.
    """
    if not fragment or "<" not in fragment:
        return clean_text(fragment)
    markup = _unwrap_cdata(fragment)
    check_shape(markup)
    tree = LexborHTMLParser(markup, is_fragment=True)
    tree.strip_tags(_INVISIBLE, recursive=True)
    return _collapse(_block_text(tree.root)) if tree.root is not None else ""


def plain_summary(fragment: str | None, limit: int = SUMMARY_MAX_CHARS) -> str:
    """Turn an HTML summary into short plain text."""
    return shorten(html_text(fragment), limit)


def shorten(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """Cut text to at most `limit` characters, the last an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _block_text(first: LexborNode) -> str:
    """Join the text nodes from `first` on, with a space wherever a block element starts or ends."""
    parts: list[str] = []
    blocks: dict[int, int] = {}
    previous = 0  # the block around the text before; -1 when a block or <br> started since
    for node in first.traverse(include_text=True):
        if node.is_text_node:
            block = _block_around(node.parent, blocks)
            if block != previous:
                parts.append(" ")
            parts.append(node.text_content or "")
            previous = block
        elif node.tag in _BLOCKS:
            previous = -1
    return "".join(parts)


def _block_around(node: LexborNode | None, blocks: dict[int, int]) -> int:
    """Return the mem_id of the nearest block element at or above `node`, 0 for none; remembered."""
    passed: list[int] = []
    found = 0
    while node is not None:
        if node.mem_id in blocks:
            found = blocks[node.mem_id]
            break
        if node.tag in _BLOCKS:
            found = blocks[node.mem_id] = node.mem_id
            break
        passed.append(node.mem_id)
        node = node.parent
    blocks.update(dict.fromkeys(passed, found))
    return found


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _unwrap_cdata(fragment: str) -> str:
    """Keep what CDATA sections hold: HTML reads them as bogus comments, but feeds wrap summaries twice."""
    parts, pos = [], 0
    while (start := fragment.find(_CDATA_START, pos)) != -1:
        end = fragment.find(_CDATA_END, start)
        if end == -1:
            break
        parts += [fragment[pos:start], fragment[start + len(_CDATA_START) : end]]
        pos = end + len(_CDATA_END)
    return "".join(parts) + fragment[pos:]
