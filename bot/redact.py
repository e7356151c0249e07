"""Secrets that stay hidden in reprs, error lines and logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

MASK = "****"
_PARTIAL_FROM = 12  # shorter secrets lose too much entropy if any of their characters are shown
_SHOWN = 2
_FILTER_FROM = 4  # shorter strings would mask innocent words all over the log
_OPAQUE_FROM = 16
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOOK_SEGMENTS = {"hook"}  # Feishu/Lark /open-apis/bot/v2/hook/<token> (platforms.md §5.1)


def mask_text(text: str) -> str:
    """Hide a secret, showing at most two characters at each end of a long one."""
    if not text:
        return ""
    if len(text) < _PARTIAL_FROM:
        return MASK
    return f"{text[:_SHOWN]}…{text[-_SHOWN:]}"


def looks_like_url(text: str) -> bool:
    """Tell whether a value looks like a URL (any scheme), so it is masked part by part."""
    return _URL_START.match(text) is not None


@dataclass(frozen=True, slots=True, repr=False)
class Secret:
    """A string that shows only a mask when printed, logged or repr'd."""

    value: str

    def reveal(self) -> str:
        """Return the real value, for the one place that needs it."""
        return self.value

    def masked(self) -> str:
        """Return a printable mask; a URL keeps its scheme, host and path shape."""
        return mask_url(self.value) if looks_like_url(self.value) else mask_text(self.value)

    def __repr__(self) -> str:
        return self.masked()

    def __str__(self) -> str:
        return self.masked()

    def __bool__(self) -> bool:
        return bool(self.value)


def _is_opaque(segment: str, previous: str) -> bool:
    if previous in _HOOK_SEGMENTS and segment:
        return True
    if len(segment) < _OPAQUE_FROM:
        return False
    has_case_mix = any(c.islower() for c in segment) and any(c.isupper() for c in segment)
    return has_case_mix or any(c.isdigit() for c in segment)


def _opaque_segments(path: str) -> list[str]:
    segments = path.split("/")
    return [s for prev, s in zip(["", *segments], segments, strict=False) if _is_opaque(s, prev)]


def _query_values(query: str) -> list[str]:
    return [pair.partition("=")[2] for pair in query.split("&") if pair.partition("=")[2]]


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def mask_url(url: str) -> str:
    """Mask every query value, any password and opaque path tokens, keeping the URL readable."""
    parts = _split(url)
    if parts is None:
        return mask_text(url)
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    opaque = set(_opaque_segments(parts.path))
    path = "/".join(mask_text(s) if s in opaque else s for s in parts.path.split("/"))
    pairs = (pair.partition("=") for pair in parts.query.split("&")) if parts.query else ()
    query = "&".join(f"{name}{eq}{mask_text(unquote(value))}" for name, eq, value in pairs)
    return urlunsplit((parts.scheme, netloc, path, query, mask_text(parts.fragment)))


def url_secrets(url: str) -> tuple[str, ...]:
    """List the parts of a URL that mask_url hides, raw and percent-decoded."""
    parts = _split(url)
    if parts is None:
        return ()
    raw = [*_query_values(parts.query), *_opaque_segments(parts.path)]
    if parts.password:
        raw.append(parts.password)
    if parts.fragment:
        raw.append(parts.fragment)
    both = [form for value in raw for form in (value, unquote(value))]
    return tuple(dict.fromkeys(both))


class RedactingFilter(logging.Filter):
    """Replace known secrets in log messages and exception text with masks.

    Attach it to handlers: a logger's own filters do not see records that propagate from child loggers.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        kept = sorted({s for s in secrets if len(s) >= _FILTER_FROM}, key=len, reverse=True)
        self._masks = {s: Secret(s).masked() for s in kept}
        # One alternation, longest first, so a secret inside a longer one is never half-replaced.
        self._pattern = re.compile("|".join(map(re.escape, kept))) if kept else None

    def redact(self, text: str) -> str:
        """Return text with every known secret masked."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._masks[match.group(0)], text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Logging would print msg and args raw in its "--- Logging error ---" report.
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True
