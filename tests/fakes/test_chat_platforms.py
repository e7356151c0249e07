"""The fake robot servers answer like the real WeCom, DingTalk and Feishu webhooks (spec/platforms.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.chat_platforms import (
    FakeDingTalk,
    FakeFeishu,
    FakeWebhookReceiver,
    FakeWeCom,
    ManualClock,
    dingtalk_sign,
    feishu_sign,
    max_in_window,
    webhook_signature,
)
from tests.fakes.fake_robot import EPOCH, epoch_millis

AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]
Json = dict[str, Any]
Session = aiohttp.ClientSession
ChatFake = FakeWeCom | FakeDingTalk | FakeFeishu
Running = tuple[ChatFake, TestServer]

DT_SECRET = "this is secret"
DT_VECTOR_TS = 1577262236757
DT_VECTOR_SIGN = "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="
FS_SECRET = "demo"
FS_VECTOR_SIGN = "jquNHnVOwmDRfw+vqTIrY5dooJAgi5EcRtLsQE4wfXg="
NEWS = "【园区快讯】长沙经开区：三一重工新产线投产"


def dumps(body: Json) -> bytes:
    """Compact UTF-8 JSON, the way a careful sender counts bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sized(make: Callable[[str], Json], size: int) -> bytes:
    """Return a body of exactly `size` bytes, padded mostly with Chinese (3-byte) characters."""
    room = size - len(dumps(make("")))
    raw = dumps(make("园" * (room // 3) + "a" * (room % 3)))
    assert len(raw) == size
    return raw


def fill(size: int) -> str:
    """Return Chinese text of exactly `size` UTF-8 bytes."""
    return "园" * (size // 3) + "a" * (size % 3)


@pytest.fixture
def clock(fixed_now: datetime) -> ManualClock:
    """The hand-moved clock all fakes in a test share."""
    return ManualClock(fixed_now)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session on loopback."""
    async with aiohttp.ClientSession() as client:
        yield client


async def post(session: aiohttp.ClientSession, url: str, body: Json | bytes) -> tuple[int, Json]:
    """POST a JSON body (or raw bytes as JSON) and return the HTTP status and decoded answer."""
    raw = body if isinstance(body, bytes) else dumps(body)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    async with session.post(url, data=raw, headers=headers) as response:
        return response.status, await response.json()


async def send_many(session: aiohttp.ClientSession, url: str, body: Json, count: int) -> list[int]:
    """Send the same body `count` times at the current fake time; return the answer codes."""
    codes = []
    for _ in range(count):
        _, answer = await post(session, url, body)
        codes.append(answer.get("errcode", answer.get("code")))
    return codes


# ---------------------------------------------------------------- contract over the three platforms


@dataclass(frozen=True)
class Platform:
    """How one fake is driven in the shared contract tests."""

    make: Callable[[ManualClock], ChatFake]
    body: Json
    code_field: str
    ok: Json
    bad_key: int
    bad_json: int
    not_post: tuple[int, int]  # (HTTP status, code)


PLATFORMS = {
    "wecom": Platform(
        lambda c: FakeWeCom(clock=c),
        {"msgtype": "markdown", "markdown": {"content": NEWS}},
        "errcode",
        {"errcode": 0, "errmsg": "ok"},
        93000,
        40035,
        (200, 43002),
    ),
    "dingtalk": Platform(
        lambda c: FakeDingTalk(clock=c),
        {"msgtype": "markdown", "markdown": {"title": "园区快讯", "text": NEWS}},
        "errcode",
        {"errcode": 0, "errmsg": "ok"},
        300005,
        40035,
        (200, 43002),
    ),
    "feishu": Platform(
        lambda c: FakeFeishu(clock=c),
        {"msg_type": "text", "content": {"text": NEWS}},
        "code",
        {"code": 0, "data": {}, "msg": "success"},
        19001,
        9499,
        (405, 9499),
    ),
}


@pytest.fixture(params=list(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> Platform:
    """Each platform in turn."""
    return PLATFORMS[request.param]


@pytest.fixture
async def fake_and_server(platform: Platform, clock: ManualClock, aiohttp_server: AiohttpServer) -> Running:
    """The platform's fake with robot `k1` registered, running on loopback."""
    fake = platform.make(clock)
    fake.add_robot("k1")
    return fake, await aiohttp_server(fake.app())


async def test_success_is_recorded(platform: Platform, fake_and_server: Running, session: Session) -> None:
    fake, server = fake_and_server
    status, answer = await post(session, fake.url(server, "k1"), platform.body)
    assert (status, answer) == (200, platform.ok)
    assert fake.received == [platform.body]
    assert fake.received_by("k1") == [platform.body]
    assert fake.received_by("other") == []
    [attempt] = fake.attempts
    assert attempt["key"] == "k1" and attempt["code"] == 0 and attempt["http_status"] == 200
    assert attempt["method"] == "POST" and attempt["raw"] == dumps(platform.body)
    assert attempt["headers"]["Content-Type"].startswith("application/json")
    assert attempt["time"] == fake.accepted_times("k1")[0]


async def test_unknown_key_is_rejected(
    platform: Platform, fake_and_server: Running, session: Session
) -> None:
    fake, server = fake_and_server
    status, answer = await post(session, fake.url(server, "nope"), platform.body)
    assert status == 200
    assert answer[platform.code_field] == platform.bad_key
    assert fake.received == [] and [a["code"] for a in fake.attempts] == [platform.bad_key]


async def test_non_json_body(platform: Platform, fake_and_server: Running, session: Session) -> None:
    fake, server = fake_and_server
    status, answer = await post(session, fake.url(server, "k1"), b"<xml>not json</xml>")
    assert (status, answer[platform.code_field]) == (200, platform.bad_json)
    assert fake.attempts[0]["body"] is None


async def test_get_is_refused_and_logged(
    platform: Platform, fake_and_server: Running, session: Session
) -> None:
    fake, server = fake_and_server
    async with session.get(fake.url(server, "k1")) as response:
        assert (response.status, (await response.json())[platform.code_field]) == platform.not_post
    assert fake.attempts[0]["method"] == "GET" and fake.received == []


async def test_fail_next_then_success(platform: Platform, fake_and_server: Running, session: Session) -> None:
    fake, server = fake_and_server
    fake.fail_next("k1", 2, -1, http_status=503, msg="system busy")
    url = fake.url(server, "k1")
    first = await post(session, url, platform.body)
    second = await post(session, url, platform.body)
    third = await post(session, url, platform.body)
    assert first[0] == second[0] == 503
    assert first[1][platform.code_field] == -1 and "system busy" in json.dumps(first[1])
    assert third == (200, platform.ok)
    assert [a["code"] for a in fake.attempts] == [-1, -1, 0]
    assert len(fake.received) == 1


async def test_fail_next_is_per_key(platform: Platform, fake_and_server: Running, session: Session) -> None:
    fake, server = fake_and_server
    fake.add_robot("k2")
    fake.fail_next("k2", 1, 45009 if platform.code_field == "errcode" else 11232)
    assert (await post(session, fake.url(server, "k1"), platform.body))[1] == platform.ok
    assert (await post(session, fake.url(server, "k2"), platform.body))[1] != platform.ok
    assert (await post(session, fake.url(server, "k2"), platform.body))[1] == platform.ok


# ---------------------------------------------------------------------------------------- WeCom


@pytest.fixture
async def wecom(clock: ManualClock, aiohttp_server: AiohttpServer) -> tuple[FakeWeCom, str]:
    """A WeCom fake with one robot, and that robot's URL."""
    fake = FakeWeCom(clock=clock)
    fake.add_robot("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")
    server = await aiohttp_server(fake.app())
    return fake, fake.url(server, "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")


async def test_wecom_url_shape(wecom: tuple[FakeWeCom, str]) -> None:
    _, url = wecom
    assert url.endswith("/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")


async def test_wecom_unknown_key_message(wecom: tuple[FakeWeCom, str], session: Session) -> None:
    _, url = wecom
    _, answer = await post(
        session, url.replace("key=6", "key=0"), {"msgtype": "text", "text": {"content": "x"}}
    )
    assert answer["errcode"] == 93000 and answer["errmsg"].startswith("invalid webhook url, hint: [")


@pytest.mark.parametrize(("msgtype", "limit"), [("text", 2048), ("markdown", 4096), ("markdown_v2", 4096)])
async def test_wecom_byte_limits(
    wecom: tuple[FakeWeCom, str], session: Session, msgtype: str, limit: int
) -> None:
    fake, url = wecom
    exact = {"msgtype": msgtype, msgtype: {"content": fill(limit)}}
    over = {"msgtype": msgtype, msgtype: {"content": fill(limit + 1)}}
    assert (await post(session, url, exact))[1] == {"errcode": 0, "errmsg": "ok"}
    _, answer = await post(session, url, over)
    assert answer["errcode"] == 40058
    assert answer["errmsg"].startswith(f"{msgtype}.content exceed max length {limit}")
    assert fake.received == [exact]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"msgtype": "text", "text": {"content": ""}}, 44004),
        ({"msgtype": "markdown", "markdown": {}}, 44004),
        ({"msgtype": "markdown"}, 44004),
        ({"msgtype": "html", "html": {"content": "x"}}, 40008),
        ({"msgtype": ["text"]}, 40008),
        ({"text": {"content": "x"}}, 40008),
        ({"msgtype": "news", "news": {"articles": [{"title": "t", "url": "http://x"}]}}, 0),
        ({"msgtype": "template_card", "template_card": {"card_type": "text_notice"}}, 0),
    ],
)
async def test_wecom_body_checks(
    wecom: tuple[FakeWeCom, str], session: Session, body: Json, code: int
) -> None:
    _, url = wecom
    assert (await post(session, url, body))[1]["errcode"] == code


async def test_wecom_rate_limit_slides_with_the_clock(
    wecom: tuple[FakeWeCom, str], session: Session, clock: ManualClock
) -> None:
    fake, url = wecom
    body = {"msgtype": "text", "text": {"content": NEWS}}
    start = clock()
    for _ in range(20):  # one every 3 s: t = 0, 3, ..., 57
        assert (await post(session, url, body))[1]["errcode"] == 0
        clock.advance(3)
    clock.now = start + timedelta(seconds=59.999)
    _, answer = await post(session, url, body)
    assert answer["errcode"] == 45009 and answer["errmsg"].startswith("api freq out of limit")
    clock.now = start + timedelta(seconds=60)  # t = 0 has left the window
    assert (await post(session, url, body))[1]["errcode"] == 0
    clock.now = start + timedelta(seconds=61)  # window (1, 61] holds 3..57 and 60: full
    assert (await post(session, url, body))[1]["errcode"] == 45009
    clock.now = start + timedelta(seconds=63)
    assert (await post(session, url, body))[1]["errcode"] == 0
    assert max_in_window(fake.accepted_times(wecom_key(url)), timedelta(seconds=60)) == 20
    assert [a["code"] for a in fake.attempts].count(45009) == 2


async def test_wecom_rejected_attempts_do_not_fill_the_window(
    wecom: tuple[FakeWeCom, str], session: Session, clock: ManualClock
) -> None:
    fake, url = wecom
    body = {"msgtype": "text", "text": {"content": NEWS}}
    assert await send_many(session, url, body, 21) == [0] * 20 + [45009]
    clock.advance(30)
    assert await send_many(session, url, body, 5) == [45009] * 5
    clock.advance(30)
    assert await send_many(session, url, body, 21) == [0] * 20 + [45009]
    assert len(fake.received) == 40


def wecom_key(url: str) -> str:
    """The key query parameter of a WeCom URL."""
    return url.rsplit("key=", 1)[1]


# ------------------------------------------------------------------------------------- DingTalk


@dataclass
class DingTalkRig:
    """A DingTalk fake with a signed robot `signed` and an unsigned robot `plain`."""

    fake: FakeDingTalk
    server: TestServer
    clock: ManualClock

    def signed_url(
        self, timestamp: int | None = None, sign: str | None = None, *, encode: bool = True
    ) -> str:
        """The signed robot's URL with timestamp and sign appended as the docs show."""
        ts = epoch_millis(self.clock()) if timestamp is None else timestamp
        sign = dingtalk_sign(DT_SECRET, ts) if sign is None else sign
        sign = quote_plus(sign) if encode else sign
        return f"{self.fake.url(self.server, 'signed')}&timestamp={ts}&sign={sign}"


DT_BODY = {"msgtype": "text", "text": {"content": NEWS}}


@pytest.fixture
async def dingtalk(clock: ManualClock, aiohttp_server: AiohttpServer) -> DingTalkRig:
    """A running DingTalk fake with one signed and one plain robot."""
    fake = FakeDingTalk(clock=clock)
    fake.add_robot("signed", secret=DT_SECRET)
    fake.add_robot("plain")
    return DingTalkRig(fake, await aiohttp_server(fake.app()), clock)


@pytest.mark.parametrize(
    ("secret", "timestamp", "expected"),
    [
        (DT_SECRET, DT_VECTOR_TS, DT_VECTOR_SIGN),
        (DT_SECRET, 1577808000000, "ijHEivi6YiCNPZOq4hZstmvZ3sPfbioAiMhP30ae7W0="),
        ("SEC0123456789abcdef", 1700000000000, "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="),
    ],
)
def test_dingtalk_sign_vectors(secret: str, timestamp: int, expected: str) -> None:
    assert dingtalk_sign(secret, timestamp) == expected
    assert dingtalk_sign(secret, str(timestamp)) == expected


async def test_dingtalk_accepts_the_documented_vector(dingtalk: DingTalkRig, session: Session) -> None:
    dingtalk.clock.now = EPOCH + timedelta(milliseconds=DT_VECTOR_TS)
    url = dingtalk.signed_url(DT_VECTOR_TS, DT_VECTOR_SIGN)
    assert url.endswith("sign=hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D")
    assert (await post(session, url, DT_BODY))[1] == {"errcode": 0, "errmsg": "ok"}
    [attempt] = dingtalk.fake.attempts
    assert attempt["query"]["sign"] == DT_VECTOR_SIGN  # decoded by the server
    assert DT_SECRET not in json.dumps(attempt["headers"]) + attempt["path"] + json.dumps(attempt["query"])


@pytest.mark.parametrize(
    ("mutate", "errmsg"),
    [
        (lambda rig: rig.signed_url(sign="AAAA" + DT_VECTOR_SIGN[4:]), "sign not match"),
        (lambda rig: rig.signed_url(encode=False), "sign not match"),  # '+' arrives as a space
        (
            lambda rig: rig.fake.url(rig.server, "signed") + f"&timestamp={epoch_millis(rig.clock())}",
            "sign not match",
        ),
        (lambda rig: rig.fake.url(rig.server, "signed") + "&sign=abc", "invalid timestamp"),
        (lambda rig: rig.signed_url(epoch_millis(rig.clock()) - 3_600_001), "invalid timestamp"),
        (lambda rig: rig.signed_url(epoch_millis(rig.clock()) + 3_600_001), "invalid timestamp"),
        (lambda rig: rig.signed_url(-5), "invalid timestamp"),
    ],
)
async def test_dingtalk_rejects_bad_signatures(
    dingtalk: DingTalkRig, session: Session, mutate: Callable[[DingTalkRig], str], errmsg: str
) -> None:
    dingtalk.clock.now = EPOCH + timedelta(milliseconds=DT_VECTOR_TS)  # its sign has '+' in it
    _, answer = await post(session, mutate(dingtalk), DT_BODY)
    assert answer["errcode"] == 310000 and answer["errmsg"].startswith(errmsg)
    assert dingtalk.fake.received == []


@pytest.mark.parametrize("offset_ms", [-3_600_000, 0, 3_600_000])
async def test_dingtalk_timestamp_within_one_hour(
    dingtalk: DingTalkRig, session: Session, offset_ms: int
) -> None:
    url = dingtalk.signed_url(epoch_millis(dingtalk.clock()) + offset_ms)
    assert (await post(session, url, DT_BODY))[1]["errcode"] == 0


async def test_dingtalk_robot_without_secret_needs_no_sign(dingtalk: DingTalkRig, session: Session) -> None:
    assert (await post(session, dingtalk.fake.url(dingtalk.server, "plain"), DT_BODY))[1]["errcode"] == 0


async def test_dingtalk_missing_token(dingtalk: DingTalkRig, session: Session) -> None:
    _, answer = await post(session, str(dingtalk.server.make_url("/robot/send")), DT_BODY)
    assert answer["errcode"] == 40035


async def test_dingtalk_body_size_limit(dingtalk: DingTalkRig, session: Session) -> None:
    def make(text: str) -> Json:
        return {"msgtype": "markdown", "markdown": {"title": "园区快讯", "text": text}}

    url = dingtalk.fake.url(dingtalk.server, "plain")
    assert (await post(session, url, sized(make, 20_000)))[1]["errcode"] == 0
    _, answer = await post(session, url, sized(make, 20_001))
    assert answer == {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (DT_BODY, 0),
        ({"msgtype": "markdown", "markdown": {"title": "快讯", "text": NEWS}}, 0),
        ({"msgtype": "link", "link": {"title": "快讯", "text": NEWS, "messageUrl": "http://x/1"}}, 0),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": "t",
                    "text": NEWS,
                    "singleTitle": "阅读全文",
                    "singleURL": "http://x",
                },
            },
            0,
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {"title": "t", "text": NEWS, "btns": [{"title": "a", "actionURL": "http://x"}]},
            },
            0,
        ),
        (
            {
                "msgtype": "feedCard",
                "feedCard": {"links": [{"title": "t", "messageURL": "http://x", "picURL": ""}]},
            },
            0,
        ),
        ({"msgtype": "markdown", "markdown": {"text": NEWS}}, 40035),
        ({"msgtype": "markdown", "markdown": {"title": "快讯"}}, 40035),
        ({"msgtype": "text", "text": {"content": ""}}, 40035),
        ({"msgtype": "actionCard", "actionCard": {"title": "t", "text": NEWS}}, 40035),
        ({"msgtype": "feedCard", "feedCard": {"links": []}}, 40035),
        ({"msgtype": "html", "html": {}}, 400105),
        ({"text": {"content": NEWS}}, 400105),
    ],
)
async def test_dingtalk_body_checks(dingtalk: DingTalkRig, session: Session, body: Json, code: int) -> None:
    assert (await post(session, dingtalk.fake.url(dingtalk.server, "plain"), body))[1]["errcode"] == code


async def test_dingtalk_rate_limit_locks_for_ten_minutes(dingtalk: DingTalkRig, session: Session) -> None:
    fake, clock = dingtalk.fake, dingtalk.clock
    url = fake.url(dingtalk.server, "plain")
    start = clock()
    assert await send_many(session, url, DT_BODY, 21) == [0] * 20 + [410100]
    assert fake.locked_until["plain"] == start + timedelta(minutes=10)
    clock.advance(61)  # the minute window has moved, but the lock holds
    assert await send_many(session, url, DT_BODY, 3) == [410100] * 3
    clock.now = start + timedelta(minutes=10) - timedelta(milliseconds=1)
    assert await send_many(session, url, DT_BODY, 1) == [410100]
    clock.now = start + timedelta(minutes=10)
    assert await send_many(session, url, DT_BODY, 21) == [0] * 20 + [410100]
    assert [a["code"] for a in fake.attempts].count(410100) == 6
    assert max_in_window(fake.accepted_times("plain"), timedelta(seconds=60)) == 20
    other = fake.url(dingtalk.server, "signed") + "&timestamp=1&sign=x"
    assert (await post(session, other, DT_BODY))[1]["errcode"] == 310000  # the lock is per robot


async def test_dingtalk_lock_answers_before_the_sign_check(dingtalk: DingTalkRig, session: Session) -> None:
    dingtalk.fake.locked_until["signed"] = dingtalk.clock() + timedelta(minutes=1)
    url = dingtalk.fake.url(dingtalk.server, "signed")
    assert (await post(session, url, DT_BODY))[1]["errmsg"].startswith("send too fast")


# --------------------------------------------------------------------------------------- Feishu


FS_BODY = {"msg_type": "text", "content": {"text": NEWS}}


@dataclass
class FeishuRig:
    """A Feishu fake with a signed bot `signed` and a plain bot `plain`."""

    fake: FakeFeishu
    server: TestServer
    clock: ManualClock

    def url(self, token: str) -> str:
        """The bot's webhook URL."""
        return self.fake.url(self.server, token)


def signed(body: Json, timestamp: int | str, secret: str = FS_SECRET) -> Json:
    """Add the top-level timestamp and sign fields to a Feishu body."""
    return {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **body}


@pytest.fixture
async def feishu(clock: ManualClock, aiohttp_server: AiohttpServer) -> FeishuRig:
    """A running Feishu fake, its clock at the vector's timestamp (epoch + 100 s)."""
    clock.now = EPOCH + timedelta(seconds=100)
    fake = FakeFeishu(clock=clock)
    fake.add_robot("signed", secret=FS_SECRET)
    fake.add_robot("plain")
    return FeishuRig(fake, await aiohttp_server(fake.app()), clock)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [(100, FS_VECTOR_SIGN), (1599360473, "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=")],
)
def test_feishu_sign_vectors(timestamp: int, expected: str) -> None:
    assert feishu_sign(FS_SECRET, timestamp) == expected


async def test_feishu_accepts_the_documented_vector(feishu: FeishuRig, session: Session) -> None:
    body = {"timestamp": "100", "sign": FS_VECTOR_SIGN, **FS_BODY}
    assert await post(session, feishu.url("signed"), body) == (200, {"code": 0, "data": {}, "msg": "success"})
    assert feishu.fake.received_by("signed") == [body]
    assert feishu.url("signed").endswith("/open-apis/bot/v2/hook/signed")


@pytest.mark.parametrize(
    "body",
    [
        {"timestamp": "100", "sign": FS_VECTOR_SIGN.replace("j", "k", 1), **FS_BODY},
        {"timestamp": "100", "sign": dingtalk_sign(FS_SECRET, 100), **FS_BODY},  # DingTalk's formula
        {"timestamp": "100", **FS_BODY},
        {"sign": FS_VECTOR_SIGN, **FS_BODY},
        {"timestamp": "1e2", "sign": FS_VECTOR_SIGN, **FS_BODY},
        FS_BODY,
    ],
)
async def test_feishu_rejects_bad_signatures(feishu: FeishuRig, session: Session, body: Json) -> None:
    _, answer = await post(session, feishu.url("signed"), body)
    assert answer == {
        "code": 19021,
        "data": {},
        "msg": "sign match fail or timestamp is not within one hour from current time",
    }


@pytest.mark.parametrize(("skew", "code"), [(3600, 0), (3601, 19021), (-3600, 0), (-3601, 19021)])
async def test_feishu_timestamp_within_one_hour(
    feishu: FeishuRig, session: Session, skew: int, code: int
) -> None:
    feishu.clock.now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    ts = int(feishu.clock().timestamp()) + skew
    assert (await post(session, feishu.url("signed"), signed(FS_BODY, ts)))[1]["code"] == code


async def test_feishu_accepts_an_integer_timestamp(feishu: FeishuRig, session: Session) -> None:
    body = {**signed(FS_BODY, 100), "timestamp": 100}
    assert (await post(session, feishu.url("signed"), body))[1]["code"] == 0


@pytest.mark.parametrize("too_large_status", [200, 400])
async def test_feishu_body_size_limit(feishu: FeishuRig, session: Session, too_large_status: int) -> None:
    feishu.fake.too_large_status = too_large_status

    def make(text: str) -> Json:
        return signed({"msg_type": "text", "content": {"text": text}}, 100)

    assert await post(session, feishu.url("signed"), sized(make, 20_000)) == (
        200,
        {"code": 0, "data": {}, "msg": "success"},
    )
    status, answer = await post(session, feishu.url("signed"), sized(make, 20_001))
    assert (status, answer["code"], answer["msg"]) == (too_large_status, 9499, "Bad Request")


POST_ZH = {
    "zh_cn": {
        "title": "园区快讯",
        "content": [[{"tag": "text", "text": NEWS}, {"tag": "a", "text": "全文", "href": "http://x"}]],
    }
}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (FS_BODY, 0),
        ({"msg_type": "post", "content": {"post": POST_ZH}}, 0),
        ({"msg_type": "post", "content": {"post": {"en_us": {"title": "", "content": []}}}}, 0),
        ({"msg_type": "interactive", "card": {"elements": [{"tag": "markdown", "content": NEWS}]}}, 0),
        ({"msg_type": "image", "content": {"image_key": "img_v2_x"}}, 0),
        ({"msg_type": "text", "content": {"text": ""}}, 9499),
        ({"msg_type": "text", "content": NEWS}, 9499),
        ({"msg_type": "post", "content": {"post": {"ja_jp": POST_ZH["zh_cn"]}}}, 9499),
        (
            {
                "msg_type": "post",
                "content": {"post": {"zh_cn": {"title": "t", "content": [{"tag": "text"}]}}},
            },
            9499,
        ),
        ({"msg_type": "post", "content": {"post": {"zh_cn": {"content": [[]]}}}}, 9499),
        ({"msg_type": "interactive", "content": {"card": {"elements": []}}}, 9499),
        ({"msg_type": "markdown", "content": {"text": NEWS}}, 9499),
        ({"content": {"text": NEWS}}, 9499),
    ],
)
async def test_feishu_body_checks(feishu: FeishuRig, session: Session, body: Json, code: int) -> None:
    assert (await post(session, feishu.url("plain"), body))[1]["code"] == code


async def test_feishu_five_per_second(feishu: FeishuRig, session: Session) -> None:
    url = feishu.url("plain")
    assert await send_many(session, url, FS_BODY, 6) == [0] * 5 + [11232]
    _, answer = await post(session, url, FS_BODY)
    assert answer["msg"].startswith("frequency limited psm[")
    feishu.clock.advance(0.999)
    assert await send_many(session, url, FS_BODY, 1) == [11232]
    feishu.clock.advance(0.001)
    assert await send_many(session, url, FS_BODY, 6) == [0] * 5 + [11232]
    assert max_in_window(feishu.fake.accepted_times("plain"), 1) == 5


async def test_feishu_hundred_per_minute(feishu: FeishuRig, session: Session) -> None:
    url = feishu.url("plain")
    start = feishu.clock()
    for _ in range(25):  # 4 per second never trips the per-second limit
        assert await send_many(session, url, FS_BODY, 4) == [0] * 4
        feishu.clock.advance(1)
    assert await send_many(session, url, FS_BODY, 1) == [11232]
    feishu.clock.now = start + timedelta(seconds=60)  # the first four leave the window
    assert await send_many(session, url, FS_BODY, 5) == [0] * 4 + [11232]
    times = feishu.fake.accepted_times("plain")
    assert max_in_window(times, 60) == 100 and max_in_window(times, 1) == 4


# ------------------------------------------------------------------------------ webhook receiver


@pytest.fixture
async def receiver(clock: ManualClock, aiohttp_server: AiohttpServer) -> tuple[FakeWebhookReceiver, str]:
    """A signed receiver (secret `s3cret`) and its URL."""
    fake = FakeWebhookReceiver(clock=clock, secret="s3cret")
    return fake, fake.url(await aiohttp_server(fake.app()))


async def send_hook(session: Session, url: str, raw: bytes, signature: str | None) -> aiohttp.ClientResponse:
    """POST raw JSON with an optional signature header; the response is already read."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Parkbot-Signature"] = signature
    async with session.post(url, data=raw, headers=headers) as response:
        await response.read()
        return response


def test_webhook_signature_shape() -> None:
    assert webhook_signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        (webhook_signature("s3cret", dumps({"title": NEWS})), 200),
        (webhook_signature("wrong", dumps({"title": NEWS})), 401),
        (webhook_signature("s3cret", dumps({"title": NEWS})).removeprefix("sha256="), 401),
        (None, 401),
    ],
)
async def test_webhook_checks_the_signature(
    receiver: tuple[FakeWebhookReceiver, str], session: Session, signature: str | None, status: int
) -> None:
    fake, url = receiver
    response = await send_hook(session, url, dumps({"title": NEWS}), signature)
    assert response.status == status
    assert fake.received == ([{"title": NEWS}] if status == 200 else [])
    assert fake.attempts[0]["code"] == (0 if status == 200 else status)


async def test_webhook_without_secret_and_bad_bodies(
    clock: ManualClock, aiohttp_server: AiohttpServer, session: Session
) -> None:
    fake = FakeWebhookReceiver(clock=clock)
    url = fake.url(await aiohttp_server(fake.app()))
    assert (await send_hook(session, url, dumps({"a": 1}), None)).status == 200
    assert (await send_hook(session, url, b"[1, 2]", None)).status == 400
    async with session.get(url) as response:
        assert response.status == 405
    assert [a["code"] for a in fake.attempts] == [0, 400, 405]


async def test_webhook_fail_next(receiver: tuple[FakeWebhookReceiver, str], session: Session) -> None:
    fake, url = receiver
    raw = dumps({"title": NEWS})
    good = webhook_signature("s3cret", raw)
    fake.fail_next(1, 500)
    fake.fail_next(1, 429)
    fake.fail_next(1, 429, retry_after=120)
    first = await send_hook(session, url, raw, good)
    second = await send_hook(session, url, raw, good)
    third = await send_hook(session, url, raw, good)
    fourth = await send_hook(session, url, raw, good)
    assert [r.status for r in (first, second, third, fourth)] == [500, 429, 429, 200]
    assert "Retry-After" not in first.headers
    assert (second.headers["Retry-After"], third.headers["Retry-After"]) == ("30", "120")
    assert fake.received == [{"title": NEWS}]
    assert fake.attempts[0]["headers"]["X-Parkbot-Signature"] == good


# ---------------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("offsets", "window", "expected"),
    [
        ([], 60, 0),
        ([0], 60, 1),
        ([0, 60], 60, 1),
        ([0, 59.999], 60, 2),
        ([30, 0, 59, 60, 61], timedelta(seconds=60), 4),  # [30, 90) holds 30, 59, 60, 61
        ([0, 0, 0, 0.5, 1], 1, 4),
    ],
)
def test_max_in_window(offsets: list[float], window: timedelta | float, expected: int) -> None:
    base = datetime(2026, 11, 30, tzinfo=UTC)
    assert max_in_window([base + timedelta(seconds=s) for s in offsets], window) == expected


def test_manual_clock_moves_only_by_hand(fixed_now: datetime) -> None:
    clock = ManualClock(fixed_now)
    assert clock() == clock() == fixed_now
    assert clock.advance(30, minutes=1) == fixed_now + timedelta(seconds=90) == clock()
