"""The test base itself: loopback works, the real network is blocked at once, asyncio is automatic."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pytest_socket import SocketConnectBlockedError

from tests.fakes.news_site import NewsSite

TEST_NET_3 = "203.0.113.1"  # RFC 5737 documentation address: never routable


@contextlib.contextmanager
def _blocked() -> Iterator[None]:
    # pytest-socket 0.8 warns before raising; under filterwarnings=error the UserWarning itself is what
    # escapes into the code under test, so capture it here to reach the SocketConnectBlockedError.
    with pytest.warns(UserWarning, match=TEST_NET_3), pytest.raises(SocketConnectBlockedError):
        yield


async def test_loopback_news_server_is_reachable(news_site: NewsSite, news_server: TestServer) -> None:
    news_site.set_page("/ok", "你好")
    async with aiohttp.ClientSession() as session, session.get(news_server.make_url("/ok")) as response:
        assert response.status == 200
        assert await response.text() == "你好"
    assert news_server.host in ("127.0.0.1", "::1")


async def test_aiohttp_to_non_loopback_is_blocked() -> None:
    # The error is the proof it was never attempted: a real attempt ends in a timeout or a connection error.
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with _blocked():
            await session.get(f"http://{TEST_NET_3}:80/")


def test_plain_socket_to_non_loopback_is_blocked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, _blocked():
        sock.connect((TEST_NET_3, 80))


async def test_async_test_without_marker_runs() -> None:
    assert asyncio.get_running_loop().is_running()


def test_pytest_settings(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getini("asyncio_mode") == "auto"
    assert "error" in pytestconfig.getini("filterwarnings")
    assert float(pytestconfig.getini("timeout")) == 10
