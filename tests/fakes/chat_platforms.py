"""Fake chat-platform robot servers (WeCom, DingTalk, Feishu) and a generic webhook receiver.

Each fake is an aiohttp app to run under pytest-aiohttp's `aiohttp_server`, with an injected clock,
the bodies it accepted (`received`), every request with its answer (`attempts`) and scripted
failures (`fail_next`). The real implementations live in one module per platform.
"""

from tests.fakes.fake_dingtalk import FakeDingTalk, dingtalk_sign
from tests.fakes.fake_feishu import FakeFeishu, feishu_sign
from tests.fakes.fake_robot import Attempt, FakeRobotServer, ManualClock, max_in_window
from tests.fakes.fake_webhook import FakeWebhookReceiver, webhook_signature
from tests.fakes.fake_wecom import FakeWeCom

__all__ = [
    "Attempt",
    "FakeDingTalk",
    "FakeFeishu",
    "FakeRobotServer",
    "FakeWeCom",
    "FakeWebhookReceiver",
    "ManualClock",
    "dingtalk_sign",
    "feishu_sign",
    "max_in_window",
    "webhook_signature",
]
