"""A fake DingTalk (钉钉) custom robot: `POST /robot/send?access_token=T[&timestamp=MS&sign=S]` (§3).

Checks run in this order: scripted answer, method (43002), token (40035 missing, 300005 unknown),
the 10-minute lock (410100), timestamp and sign for robots with a secret (310000), body size
(460101, an unconfirmed code), JSON and required fields (40035, our choice), msgtype (400105), then
the rate limit: with 20 messages accepted in the last 60 s the request gets 410100 and the robot is
locked for 10 minutes, during which every request gets 410100 and is logged in `attempts`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.fake_robot import Answer, Clock, FakeRobotServer, Incoming, Json, epoch_millis

DINGTALK_PATH = "/robot/send"
DINGTALK_RATE_LIMIT = 20
DINGTALK_RATE_WINDOW = timedelta(seconds=60)
DINGTALK_LOCK = timedelta(minutes=10)
DINGTALK_CLOCK_SKEW_MS = 3_600_000
DINGTALK_MAX_BODY_BYTES = 20_000
# Required string fields per msgtype (https://open.dingtalk.com/document/orgapp/custom-robot-access).
DINGTALK_REQUIRED = {
    "text": ("content",),
    "markdown": ("title", "text"),
    "link": ("title", "text", "messageUrl"),
    "actionCard": ("title", "text"),
    "feedCard": (),
}

DINGTALK_OK = 0
DINGTALK_NOT_POST = 43002
DINGTALK_BAD_PARAM = 40035
DINGTALK_BAD_TOKEN = 300005
DINGTALK_SECURITY = 310000
DINGTALK_BAD_MSGTYPE = 400105
DINGTALK_TOO_FAST = 410100
DINGTALK_TOO_LONG = 460101  # unconfirmed: only a third-party library quotes this message
DINGTALK_BUSY = -1

_MORE = ", more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """Return base64(HMAC-SHA256(key=secret, msg=f"{ts}\\n{secret}")), before URL-encoding."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_error(code: int, msg: str, *, http_status: int = 200) -> Answer:
    """Build a DingTalk answer body: errcode plus errmsg."""
    return Answer(http_status, code, {"errcode": code, "errmsg": msg})


class FakeDingTalk(FakeRobotServer):
    """A DingTalk custom-robot webhook with signing, a 20-per-minute window and a 10-minute lock."""

    route = DINGTALK_PATH

    def __init__(self, *, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.locked_until: dict[str, datetime] = {}

    def fail_next(
        self, key: str, count: int, code: int, *, http_status: int = 200, msg: str = "system busy"
    ) -> None:
        """Answer the next `count` requests to token key with this errcode, before any other check."""
        self.script(key, count, dingtalk_error(code, msg, http_status=http_status))

    def url(self, server: TestServer, key: str) -> str:
        """Return the unsigned webhook URL; the sender appends `&timestamp=..&sign=..` itself."""
        return str(server.make_url(DINGTALK_PATH).with_query(access_token=key))

    def key_of(self, request: web.Request) -> str:
        """Return the `access_token` query parameter."""
        return request.query.get("access_token", "")

    def judge(self, incoming: Incoming) -> Answer:
        """Apply DingTalk's checks in the order the module docstring gives."""
        if incoming.method != "POST":
            return dingtalk_error(DINGTALK_NOT_POST, "must be POST request")
        if not incoming.key:
            return dingtalk_error(DINGTALK_BAD_PARAM, "缺少参数 access_token")
        if incoming.key not in self.secrets:
            return dingtalk_error(DINGTALK_BAD_TOKEN, "token is not exist")
        if incoming.now < self.locked_until.get(incoming.key, incoming.now):
            return _too_fast()
        secret = self.secrets[incoming.key]
        problem = check_dingtalk_sign(secret, incoming) if secret else None
        problem = problem or check_dingtalk_body(incoming.raw, incoming.body)
        if problem is not None:
            return problem
        if self.recent(incoming.key, incoming.now, DINGTALK_RATE_WINDOW) >= DINGTALK_RATE_LIMIT:
            self.locked_until[incoming.key] = incoming.now + DINGTALK_LOCK
            return _too_fast()
        return dingtalk_error(DINGTALK_OK, "ok")


def _too_fast() -> Answer:
    return dingtalk_error(DINGTALK_TOO_FAST, "send too fast, exceed 20 times per minute")


def check_dingtalk_sign(secret: str, incoming: Incoming) -> Answer | None:
    """Return 310000 for a stale/missing timestamp or a wrong sign (query already URL-decoded)."""
    timestamp = incoming.query.get("timestamp", "")
    skew = abs(epoch_millis(incoming.now) - int(timestamp)) if timestamp.isdigit() else None
    if skew is None or skew > DINGTALK_CLOCK_SKEW_MS:
        return dingtalk_error(DINGTALK_SECURITY, f"invalid timestamp{_MORE}")
    sign = incoming.query.get("sign", "")
    if not hmac.compare_digest(sign.encode(), dingtalk_sign(secret, timestamp).encode()):
        return dingtalk_error(DINGTALK_SECURITY, f"sign not match{_MORE}")
    return None


def check_dingtalk_body(raw: bytes, body: Json | None) -> Answer | None:
    """Return the error answer for an oversized or malformed body, or None when it is acceptable."""
    if len(raw) > DINGTALK_MAX_BODY_BYTES:
        return dingtalk_error(DINGTALK_TOO_LONG, "message too long, exceed 20000 bytes")
    if body is None:
        return dingtalk_error(DINGTALK_BAD_PARAM, "缺少参数 json")
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in DINGTALK_REQUIRED:
        return dingtalk_error(DINGTALK_BAD_MSGTYPE, "不支持的消息类型")
    part = body.get(msgtype)
    if not isinstance(part, dict) or not _has_parts(msgtype, part):
        return dingtalk_error(DINGTALK_BAD_PARAM, f"缺少参数 {msgtype}")
    return None


def _has_parts(msgtype: str, part: Json) -> bool:
    if not all(isinstance(part.get(name), str) and part[name] for name in DINGTALK_REQUIRED[msgtype]):
        return False
    if msgtype == "actionCard":
        single = isinstance(part.get("singleTitle"), str) and isinstance(part.get("singleURL"), str)
        return single or bool(part.get("btns"))
    if msgtype == "feedCard":
        links = part.get("links")
        return isinstance(links, list) and bool(links) and all(_is_feed_link(link) for link in links)
    return True


def _is_feed_link(link: object) -> bool:
    return isinstance(link, dict) and isinstance(link.get("title"), str) and "messageURL" in link
