"""A fake Feishu (飞书) custom bot: `POST /open-apis/bot/v2/hook/TOKEN` (spec/platforms.md §5.1).

Checks run in this order: scripted answer, method (HTTP 405), token (19001), raw body size (9499;
the real HTTP status is unclear, so it is the class attribute `too_large_status`), JSON (9499),
timestamp and sign in the body for bots with a secret (19021), msg_type and its fields (9499, our
choice), then the rate limits (11232): 5 accepted per second and 100 per 60 s, sliding windows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.fake_robot import EPOCH, Answer, FakeRobotServer, Incoming, Json

FEISHU_PATH_PREFIX = "/open-apis/bot/v2/hook/"
# (limit, window) pairs, https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
FEISHU_RATE_LIMITS = ((5, timedelta(seconds=1)), (100, timedelta(seconds=60)))
FEISHU_CLOCK_SKEW = timedelta(hours=1)
FEISHU_MAX_BODY_BYTES = 20_000  # "20 KB": decimal vs binary is unstated, budget the smaller

FEISHU_OK = 0
FEISHU_BAD_TOKEN = 19001
FEISHU_BAD_SIGN = 19021
FEISHU_BAD_REQUEST = 9499
FEISHU_RATE_LIMITED = 11232

_SIGN_MSG = "sign match fail or timestamp is not within one hour from current time"


def feishu_sign(secret: str, timestamp: int | str) -> str:
    """Return base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b"")): the string is the key."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_error(code: int, msg: str, *, http_status: int = 200) -> Answer:
    """Build a Feishu answer body: code, empty data and msg."""
    return Answer(http_status, code, {"code": code, "data": {}, "msg": msg})


class FakeFeishu(FakeRobotServer):
    """A Feishu custom-bot webhook with body signing, a 20 KB body cap and 5/s + 100/min limits."""

    route = FEISHU_PATH_PREFIX + "{token}"
    too_large_status = 200

    def fail_next(
        self, key: str, count: int, code: int, *, http_status: int = 200, msg: str = "system busy"
    ) -> None:
        """Answer the next `count` requests to token key with this code, before any other check."""
        self.script(key, count, feishu_error(code, msg, http_status=http_status))

    def url(self, server: TestServer, key: str) -> str:
        """Return the webhook URL a subscriber config would hold for token key."""
        return str(server.make_url(FEISHU_PATH_PREFIX + key))

    def key_of(self, request: web.Request) -> str:
        """Return the token from the path."""
        return request.match_info["token"]

    def judge(self, incoming: Incoming) -> Answer:
        """Apply Feishu's checks in the order the module docstring gives."""
        if incoming.method != "POST":
            return feishu_error(FEISHU_BAD_REQUEST, "Method Not Allowed", http_status=405)
        if incoming.key not in self.secrets:
            return feishu_error(FEISHU_BAD_TOKEN, "param invalid: incoming webhook access token invalid")
        if len(incoming.raw) > FEISHU_MAX_BODY_BYTES:
            return feishu_error(FEISHU_BAD_REQUEST, "Bad Request", http_status=self.too_large_status)
        if incoming.body is None:
            return feishu_error(FEISHU_BAD_REQUEST, "Bad Request: fail to parse content")
        secret = self.secrets[incoming.key]
        if secret and not _sign_ok(secret, incoming):
            return feishu_error(FEISHU_BAD_SIGN, _SIGN_MSG)
        if not valid_feishu_body(incoming.body):
            return feishu_error(FEISHU_BAD_REQUEST, "Bad Request: params error")
        for limit, window in FEISHU_RATE_LIMITS:
            if self.recent(incoming.key, incoming.now, window) >= limit:
                return feishu_error(FEISHU_RATE_LIMITED, "frequency limited psm[lark.oapi.robot]")
        return feishu_error(FEISHU_OK, "success")


def _sign_ok(secret: str, incoming: Incoming) -> bool:
    body = incoming.body or {}
    timestamp, sign = body.get("timestamp"), body.get("sign")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)  # docs say a string; accept a bare integer too
    if not isinstance(timestamp, str) or not timestamp.isdigit() or not isinstance(sign, str):
        return False
    if abs(incoming.now - (EPOCH + timedelta(seconds=int(timestamp)))) > FEISHU_CLOCK_SKEW:
        return False
    return hmac.compare_digest(sign.encode(), feishu_sign(secret, timestamp).encode())


def valid_feishu_body(body: Json) -> bool:
    """Tell whether msg_type and its content have the minimal shape the real bot needs."""
    content = body.get("content")
    content = content if isinstance(content, dict) else {}
    match body.get("msg_type"):
        case "text":
            return _nonempty(content.get("text"))
        case "post":
            return _valid_post(content.get("post"))
        case "interactive":
            return isinstance(body.get("card"), dict)  # top level, not inside content
        case "image":
            return _nonempty(content.get("image_key"))
        case "share_chat":
            return _nonempty(content.get("share_chat_id"))
    return False


def _nonempty(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _valid_post(post: object) -> bool:
    if not isinstance(post, dict):
        return False
    locales = [post[name] for name in ("zh_cn", "en_us") if name in post]
    return bool(locales) and all(_valid_locale(locale) for locale in locales)


def _valid_locale(locale: object) -> bool:
    if not isinstance(locale, dict) or not isinstance(locale.get("title"), str):
        return False
    paragraphs = locale.get("content")
    if not isinstance(paragraphs, list):
        return False
    return all(
        isinstance(paragraph, list)
        and all(isinstance(e, dict) and _nonempty(e.get("tag")) for e in paragraph)
        for paragraph in paragraphs
    )
