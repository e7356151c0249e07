"""A fake generic webhook receiver: `POST /hook`, signed with `X-Parkbot-Signature: sha256=HEX`.

Answers: 200 `{"ok": true}` when accepted; 401 for a missing or wrong signature (only when a secret is
set); 400 for a body that is not a JSON object; 405 for other methods; scripted 5xx/429 answers
(429 and 503 carry Retry-After). In `attempts` the code is 0 when accepted, else the HTTP status.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.fake_robot import Answer, Clock, FakeRobotServer, Incoming

WEBHOOK_PATH = "/hook"
SIGNATURE_HEADER = "X-Parkbot-Signature"
DEFAULT_RETRY_AFTER = 30


def webhook_signature(secret: str, raw: bytes) -> str:
    """Return the header value `sha256=HEX` of HMAC-SHA256(key=secret, msg=raw body)."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def _answer(http_status: int, payload: dict[str, object], headers: dict[str, str] | None = None) -> Answer:
    return Answer(http_status, 0 if http_status == 200 else http_status, payload, headers or {})


class FakeWebhookReceiver(FakeRobotServer):
    """A JSON webhook endpoint that checks an HMAC signature header when given a secret."""

    route = WEBHOOK_PATH

    def __init__(self, *, clock: Clock, secret: str | None = None) -> None:
        super().__init__(clock=clock)
        self.secret = secret

    def fail_next(self, count: int, http_status: int, *, retry_after: int | str | None = None) -> None:
        """Answer the next `count` requests with this status; 429/503 get Retry-After (default 30 s)."""
        if retry_after is None and http_status in (429, 503):
            retry_after = DEFAULT_RETRY_AFTER
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.script("", count, _answer(http_status, {"ok": False, "error": "scripted"}, headers))

    def url(self, server: TestServer) -> str:
        """Return the receiver's URL."""
        return str(server.make_url(WEBHOOK_PATH))

    def key_of(self, request: web.Request) -> str:
        """There is one endpoint, so every request has the empty key."""
        return ""

    def judge(self, incoming: Incoming) -> Answer:
        """Check method, signature and JSON, in that order."""
        if incoming.method != "POST":
            return _answer(405, {"ok": False, "error": "method not allowed"}, {"Allow": "POST"})
        if self.secret is not None:
            given = incoming.headers.get(SIGNATURE_HEADER, "")
            if not hmac.compare_digest(given.encode(), webhook_signature(self.secret, incoming.raw).encode()):
                return _answer(401, {"ok": False, "error": "bad signature"})
        if incoming.body is None:
            return _answer(400, {"ok": False, "error": "body is not a JSON object"})
        return _answer(200, {"ok": True})
