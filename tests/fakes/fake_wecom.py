"""A fake WeCom (企业微信) group robot: `POST /cgi-bin/webhook/send?key=KEY` (spec/platforms.md §1).

Checks run in this order: scripted answer, method (43002), key (93000), JSON object (40035, our
choice: the real code for a non-JSON body is undocumented), msgtype (40008), content (44004 empty,
40058 over the byte limit), then the rate limit (45009). Only accepted messages fill the 20-per-60 s
window, because the real server does not say whether rejected attempts count.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.fake_robot import Answer, FakeRobotServer, Incoming, Json, utf8_len

WECOM_PATH = "/cgi-bin/webhook/send"
WECOM_RATE_LIMIT = 20
WECOM_RATE_WINDOW = timedelta(seconds=60)
# Content limits in UTF-8 bytes (https://developer.work.weixin.qq.com/document/path/91770).
WECOM_CONTENT_LIMITS = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}
WECOM_OTHER_TYPES = ("image", "news", "file", "voice", "template_card")

WECOM_OK = 0
WECOM_NOT_POST = 43002
WECOM_BAD_JSON = 40035
WECOM_BAD_MSGTYPE = 40008
WECOM_EMPTY = 44004
WECOM_TOO_LONG = 40058
WECOM_RATE_LIMITED = 45009
WECOM_BAD_KEY = 93000
WECOM_BUSY = -1

_HINT = "hint: [1732922400_fake], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e="


def wecom_error(code: int, msg: str, *, http_status: int = 200) -> Answer:
    """Build a WeCom answer body: errcode plus errmsg."""
    return Answer(http_status, code, {"errcode": code, "errmsg": msg})


class FakeWeCom(FakeRobotServer):
    """A WeCom group-robot webhook with per-key byte limits and a 20-per-minute window."""

    route = WECOM_PATH

    def fail_next(
        self, key: str, count: int, code: int, *, http_status: int = 200, msg: str = "system busy"
    ) -> None:
        """Answer the next `count` requests to key with this errcode, before any other check."""
        self.script(key, count, wecom_error(code, msg, http_status=http_status))

    def url(self, server: TestServer, key: str) -> str:
        """Return the webhook URL a subscriber config would hold for key."""
        return str(server.make_url(WECOM_PATH).with_query(key=key))

    def key_of(self, request: web.Request) -> str:
        """Return the `key` query parameter."""
        return request.query.get("key", "")

    def judge(self, incoming: Incoming) -> Answer:
        """Apply WeCom's checks in the order the module docstring gives."""
        if incoming.method != "POST":
            return wecom_error(WECOM_NOT_POST, "require POST method")
        if incoming.key not in self.secrets:
            return wecom_error(WECOM_BAD_KEY, f"invalid webhook url, {_HINT}{WECOM_BAD_KEY}")
        if incoming.body is None:
            return wecom_error(WECOM_BAD_JSON, f"invalid Request Parameter, {_HINT}{WECOM_BAD_JSON}")
        problem = check_wecom_body(incoming.body)
        if problem is not None:
            return problem
        if self.recent(incoming.key, incoming.now, WECOM_RATE_WINDOW) >= WECOM_RATE_LIMIT:
            return wecom_error(WECOM_RATE_LIMITED, f"api freq out of limit, {_HINT}{WECOM_RATE_LIMITED}")
        return wecom_error(WECOM_OK, "ok")


def check_wecom_body(body: Json) -> Answer | None:
    """Return the error answer for a malformed message body, or None when it is acceptable."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str):
        msgtype = ""
    if msgtype in WECOM_OTHER_TYPES:
        ok = isinstance(body.get(msgtype), dict)
        return None if ok else wecom_error(WECOM_EMPTY, f"empty {msgtype}")
    if msgtype not in WECOM_CONTENT_LIMITS:
        return wecom_error(WECOM_BAD_MSGTYPE, f"invalid message type, {_HINT}{WECOM_BAD_MSGTYPE}")
    part = body.get(msgtype)
    content = part.get("content") if isinstance(part, dict) else None
    if not isinstance(content, str) or not content:
        return wecom_error(WECOM_EMPTY, f"empty content, {_HINT}{WECOM_EMPTY}")
    limit = WECOM_CONTENT_LIMITS[msgtype]
    if utf8_len(content) > limit:
        return wecom_error(
            WECOM_TOO_LONG, f"{msgtype}.content exceed max length {limit}. {_HINT}{WECOM_TOO_LONG}"
        )
    return None
