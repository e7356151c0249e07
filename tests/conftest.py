"""Shared fixtures: a fixed clock, the service time zone, a temp database and the fake news site."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from storage.db import Database, connect
from tests.fakes.news_site import NewsSite

AiohttpServer = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def fixed_now() -> datetime:
    """A fixed aware UTC instant: 08:30 on 2026-11-30 in Changsha."""
    return datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


@pytest.fixture
def tz() -> ZoneInfo:
    """The association's time zone."""
    return ZoneInfo("Asia/Shanghai")


@pytest.fixture
def news_site() -> NewsSite:
    """An empty fake news site; add pages with `set_page`, hostile endpoints are always there."""
    return NewsSite()


@pytest.fixture
async def news_server(aiohttp_server: AiohttpServer, news_site: NewsSite) -> TestServer:
    """The fake news site running on loopback; `news_server.make_url("/x")` gives a URL."""
    return await aiohttp_server(news_site.app())


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real SQLite database in a temp folder, migrations applied."""
    database = await connect(tmp_path / "data" / "parkbot.db")
    yield database
    await database.close()
