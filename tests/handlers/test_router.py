"""The command parser as a table, and the dispatcher over a real database with a stub service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from handlers import messages
from handlers.context import HandlerContext, ServiceStatus
from handlers.errors import UserError
from handlers.router import Command, CommandRouter, Dispatcher, parse_command
from handlers.types import IncomingMessage, Reply
from storage.db import Database
from storage.items import newest_items

WORDS = {
    "搜索": "search", "search": "search", "最新": "latest", "latest": "latest", "订阅": "subscribe",
    "sub": "subscribe", "我的订阅": "mysubs", "帮助": "help", "help": "help", "?": "help",
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("搜索 五好园区", ("search", "搜索", "五好园区")),
        ("搜索五好园区", ("search", "搜索", "五好园区")),  # the word runs straight into its argument
        ("/搜索 五好园区", ("search", "搜索", "五好园区")),
        ("／搜索 五好园区", ("search", "搜索", "五好园区")),  # a full-width slash
        ("  搜索\u3000五好 园区  ", ("search", "搜索", "五好 园区")),  # full-width space
        ("搜索：五好园区", ("search", "搜索", "五好园区")),
        ("@园区快讯 搜索 五好园区", ("search", "搜索", "五好园区")),
        ("@园区快讯\u2005最新", ("latest", "最新", "")),  # WeCom puts U+2005 after a mention
        ("＠园区快讯 最新 3", ("latest", "最新", "3")),
        ("@bot @园区快讯 最新", ("latest", "最新", "")),
        ("最新 5 hnkfq", ("latest", "最新", "5 hnkfq")),
        ("最新5", ("latest", "最新", "5")),
        ("LATEST 5", ("latest", "LATEST", "5")),
        ("/latest", ("latest", "latest", "")),
        ("search 5G", ("search", "search", "5G")),
        ("订阅https://example.cn/x", ("subscribe", "订阅", "https://example.cn/x")),
        ("我的订阅", ("mysubs", "我的订阅", "")),  # the longest word wins over 订阅's neighbour
        ("?", ("help", "?", "")),
        ("？", ("help", "？", "")),
        ("help", ("help", "help", "")),
        ("sub 永州", ("subscribe", "sub", "永州")),
        ("subway", None),  # an English word must end where the alias ends
        ("helpful", None),
        ("你好", None),
        ("", None),
        ("   ", None),
        ("@园区快讯", None),
        ("/", None),
        ("最 新", None),
    ],
)
def test_parse_command(text, expected):
    cmd = parse_command(text, WORDS)
    assert (None if cmd is None else (cmd.name, cmd.word, cmd.args)) == expected


def test_only_the_given_prefixes_count():
    assert parse_command("/最新", WORDS, prefixes={""}) is None
    assert parse_command("最新", WORDS, prefixes={"/"}) is None
    assert parse_command("!最新", WORDS, prefixes={"!", "/"}).name == "latest"


def test_args_split_on_any_white_space():
    assert Command("latest", "最新", "5\u3000hnkfq  x").argv == ("5", "hnkfq", "x")


class StubService:
    """Stands in for bot.service.Service behind the context's protocols."""

    def __init__(self) -> None:
        self.previewed: list[str] = []

    async def service_status(self) -> ServiceStatus:
        return ServiceStatus(3, 1, 2, 0, None, None)

    async def preview_digest(self, subscriber_id: str) -> str | None:
        self.previewed.append(subscriber_id)
        return None


router = CommandRouter()


@router.command("状态", aliases=("status",), summary="服务状态")
async def status(cmd: Command, ctx: HandlerContext) -> Reply:
    found = await ctx.status.service_status()
    stored = len(await newest_items(ctx.store, limit=5))
    return Reply(f"来源 {found.sources} 个，{found.sources_failing} 个失败；已存 {stored} 条")


@router.command("摘要", aliases=("digest",))
async def digest(cmd: Command, ctx: HandlerContext) -> Reply:
    text = await ctx.digests.preview_digest(cmd.args)
    if text is None:
        raise UserError("今天还没有新内容。", cause=f"nothing new for {cmd.args}")
    return Reply(text)


@router.command("坏了")
async def broken(cmd: Command, ctx: HandlerContext) -> Reply:
    raise RuntimeError("a bug")


def context(db: Database, text: str, service: StubService) -> HandlerContext:
    message = IncomingMessage("webhook", "chat-1", "user-1", text)
    return HandlerContext(db, message, datetime(2026, 11, 30, tzinfo=UTC), service, service)


async def test_dispatch_runs_the_named_command_with_the_store_and_the_service(db):
    reply = await Dispatcher([router]).dispatch(context(db, "@园区快讯 状态", StubService()))
    assert reply == Reply("来源 3 个，1 个失败；已存 0 条")


async def test_a_user_error_is_the_reply(db):
    service = StubService()
    reply = await Dispatcher([router]).dispatch(context(db, "摘要 members", service))
    assert reply == Reply("今天还没有新内容。")
    assert service.previewed == ["members"]


async def test_any_other_error_is_logged_and_answered_with_an_apology(db, caplog):
    with caplog.at_level(logging.ERROR, logger="handlers.router"):
        reply = await Dispatcher([router]).dispatch(context(db, "坏了", StubService()))
    assert reply == Reply(messages.command_failed())
    assert "command failed command=坏了" in caplog.text and "RuntimeError: a bug" in caplog.text


async def test_text_that_names_no_command_goes_to_the_fallback(db):
    assert await Dispatcher([router]).dispatch(context(db, "你好", StubService())) == Reply(
        messages.unknown_command()
    )

    async def echo(cmd: Command, ctx: HandlerContext) -> Reply:
        return Reply(f"echo:{cmd.args}")

    dispatcher = Dispatcher([router], fallback=echo)
    assert await dispatcher.dispatch(context(db, "@园区快讯 协会地址", StubService())) == Reply(
        "echo:协会地址"
    )


def test_a_word_registered_twice_is_refused():
    other = CommandRouter()

    @other.command("查询", aliases=("STATUS",))
    async def query(cmd: Command, ctx: HandlerContext) -> Reply:
        return Reply("")

    with pytest.raises(ValueError, match="names both '状态' and '查询'"):
        Dispatcher([router, other])
