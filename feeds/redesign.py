"""Whether a poll that finds most of a page new saw a site redesign (links changed) rather than news."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo

from feeds.models import ParsedItem

# More than this share of a page (of at least this many items) new is worth a second look.
NEW_SHARE, MIN_ITEMS = 0.5, 5
_NOT_WORD = re.compile(r"[\W_]+")


def comparable_title(title: str) -> str:
    """Return a title as it compares across a redesign: case-folded, without spaces or punctuation."""
    return _NOT_WORD.sub("", title.casefold())


def is_redesign(
    page: Sequence[ParsedItem],
    fresh: Sequence[ParsedItem],
    known: Sequence[tuple[str, datetime | None]],
    tz: tzinfo,
    now: datetime,
) -> bool:
    """Tell whether the `fresh` items (new uids) of an established source's `page` are old news under
    new links. `known` holds the (title, published) of items stored before. It is a redesign when most
    new items carry titles already known, or when no known link is left on the page and every new item
    is dated on a day already seen, before today. A burst of fresh news is never a redesign."""
    if len(page) < MIN_ITEMS or len(fresh) <= len(page) * NEW_SHARE:
        return False
    titles = {comparable_title(title) for title, _ in known}
    if sum(comparable_title(i.title) in titles for i in fresh) > len(fresh) * NEW_SHARE:
        return True
    if len(fresh) < len(page) or any(i.published_at is None for i in fresh):
        return False  # a known link is still on the page, or undated items: nothing shows a move
    seen_days = {published.astimezone(tz).date() for _, published in known if published}
    days = {i.published_at.astimezone(tz).date() for i in fresh if i.published_at}
    return now.astimezone(tz).date() not in days and days <= seen_days
