"""Which items a subscriber wants: its sources, include and exclude keywords (plus chat keywords)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.config.types import SubscriberConfig
from storage.items import StoredItem


class ItemMatcher:
    """Matches many subscribers against one list of candidate items, scanning each keyword only once."""

    def __init__(self, items: Iterable[StoredItem]) -> None:
        # newest first once, so no subscriber's selection needs sorting
        self.items = sorted(items, key=lambda i: (i.published_at or i.fetched_at, i.id), reverse=True)
        self._text = {i.id: f"{i.title}\n{i.summary}".casefold() for i in self.items}
        self._keyword_ids: dict[str, frozenset[int]] = {}

    def with_keyword(self, keyword: str) -> frozenset[int]:
        """Return the ids of items whose title or summary contains keyword (case-insensitive)."""
        word = keyword.casefold()
        found = self._keyword_ids.get(word)
        if found is None:
            found = frozenset(i for i, text in self._text.items() if word in text)
            self._keyword_ids[word] = found
        return found

    def select(
        self,
        subscriber: SubscriberConfig,
        extra_keywords: Sequence[str] = (),
        *,
        after_id: int = 0,
        since: datetime | None = None,
    ) -> list[StoredItem]:
        """Return the items stored after `after_id` (and first seen after `since`) that the subscriber
        wants, newest first."""
        recent = self.items
        if after_id or since is not None:
            recent = [i for i in recent if i.id > after_id and (since is None or i.fetched_at > since)]
        wanted_sources = None if "*" in subscriber.sources else set(subscriber.sources)
        include = [*subscriber.include, *extra_keywords]
        included = frozenset().union(*(self.with_keyword(w) for w in include)) if include else None
        excluded = frozenset().union(*(self.with_keyword(w) for w in subscriber.exclude))
        chosen = [
            item
            for item in recent
            if (wanted_sources is None or item.source_id in wanted_sources)
            and (included is None or item.id in included)
            and item.id not in excluded
        ]
        return chosen
