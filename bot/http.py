"""The process's one HTTP client session and the fetcher built on it."""

from __future__ import annotations

import aiohttp

from bot.config.types import PollingConfig
from feeds.fetch import Fetcher


def client_session() -> aiohttp.ClientSession:
    """Return the shared client session; every request sets its own timeout."""
    connector = aiohttp.TCPConnector(limit=100, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, raise_for_status=False)


def build_fetcher(session: aiohttp.ClientSession, polling: PollingConfig) -> Fetcher:
    """Return a fetcher with the configured timeout, body cap, per-host limit and user agent."""
    return Fetcher(
        session,
        timeout=polling.timeout.total_seconds(),
        max_body=polling.max_body,
        per_host=polling.per_host,
        user_agent=polling.user_agent,
    )
