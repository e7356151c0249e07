"""Stable item identity, URL cleanup and text cleanup shared by the feed and HTML paths."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Parameters that only track the reader; two links differing in them are the same article.
_TRACKING_PARAMS = frozenset(
    {"spm", "from", "fbclid", "gclid", "yclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "share_token"}
)
_WHITESPACE = re.compile(r"\s+")
# [^<>] keeps the scan linear on text full of stray "<"; block tags become spaces, inline tags vanish
# so that a Chinese phrase split by <b>…</b> stays one phrase.
_BLOCK_TAG = re.compile(r"<(?:br|p|div|li|tr|td|h[1-6])\b[^<>]*>|</(?:p|div|li|tr|td|h[1-6])>", re.I)
_TAG = re.compile(r"<[^<>]*>")
_INVISIBLE = re.compile(r"<(script|style)\b[^<>]*>.*?</\1\s*>", re.I | re.S)
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
    if not text:
        return ""
    return _WHITESPACE.sub(" ", html.unescape(text).replace("\u3000", " ")).strip()


def html_text(fragment: str | None) -> str:
    """Return the visible text of an HTML fragment: scripts and styles dropped, whitespace cleaned."""
    return clean_text(_TAG.sub("", _BLOCK_TAG.sub(" ", _INVISIBLE.sub("", fragment or ""))))


def plain_summary(fragment: str | None, limit: int = SUMMARY_MAX_CHARS) -> str:
    """Turn an HTML summary into short plain text."""
    text = html_text(fragment)
    return text if len(text) <= limit else text[: limit - 1] + "…"
