import logging
from collections.abc import Iterator

import pytest

from bot.redact import RedactingFilter, Secret, mask_text, mask_url, url_secrets

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN = "8f3c9b2a1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
FEISHU_TOKEN = "2d9f6c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
LogCapture = pytest.LogCaptureFixture


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=69…aa",
        ),
        (
            f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}",
            "https://oapi.dingtalk.com/robot/send?access_token=8f…e8",
        ),
        (
            f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}&timestamp=1577262236757"
            "&sign=hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D",
            "https://oapi.dingtalk.com/robot/send?access_token=8f…e8&timestamp=15…57&sign=hm…M=",
        ),
        (
            f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}",
            "https://open.feishu.cn/open-apis/bot/v2/hook/2d…5f",
        ),
        (
            "https://open.larksuite.com/open-apis/bot/v2/hook/short",
            "https://open.larksuite.com/open-apis/bot/v2/hook/****",
        ),
        (
            "http://127.0.0.1:8080/robot/send?access_token=abc",
            "http://127.0.0.1:8080/robot/send?access_token=****",
        ),
        (
            "https://hooks.example.com/services/T0123/B0456/XyZabcdefGHIJklmnop",
            "https://hooks.example.com/services/T0123/B0456/Xy…op",
        ),
        (
            "https://user:hunter2hunter2@example.com/customize-robot-security-settings",
            "https://user:****@example.com/customize-robot-security-settings",
        ),
        ("https://example.com/feed.xml", "https://example.com/feed.xml"),
    ],
)
def test_mask_url_on_real_shapes(url: str, expected: str) -> None:
    assert mask_url(url) == expected


def test_url_secrets_are_what_mask_url_hides() -> None:
    url = f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}&sign=a%2Bb%3D"
    assert url_secrets(url) == (DINGTALK_TOKEN, "a%2Bb%3D", "a+b=")
    assert url_secrets(f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}") == (FEISHU_TOKEN,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("SEC123", "****"),
        ("eleven-char", "****"),
        ("SECd1e2f3a4b5c6", "SE…c6"),
        (
            f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=69…aa",
        ),
    ],
)
def test_secret_shows_only_a_mask(value: str, expected: str) -> None:
    secret = Secret(value)
    assert secret.masked() == str(secret) == repr(secret) == f"{secret}" == expected
    assert secret.reveal() == value
    assert bool(secret) == bool(value)


def test_mask_text_keeps_two_characters_each_end() -> None:
    assert mask_text("abcdefghijkl") == "ab…kl"


@pytest.fixture
def redacting(caplog: pytest.LogCaptureFixture) -> Iterator[logging.Logger]:
    caplog.set_level(logging.INFO)
    redacting_filter = RedactingFilter([WECOM_KEY, "SECd1e2f3a4b5c6", "abc", ""])
    caplog.handler.addFilter(redacting_filter)
    yield logging.getLogger("parkbot.test.redact")
    caplog.handler.removeFilter(redacting_filter)


def test_filter_masks_secrets_in_formatted_messages(redacting: logging.Logger, caplog: LogCapture) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
    redacting.info("push failed url=%s secret=%s", url, "SECd1e2f3a4b5c6")
    assert WECOM_KEY not in caplog.text and "SECd1e2f3a4b5c6" not in caplog.text
    assert "send?key=69…aa" in caplog.text and "secret=SE…c6" in caplog.text


def test_filter_ignores_too_short_secrets(redacting: logging.Logger, caplog: LogCapture) -> None:
    redacting.info("abc is the alphabet")
    assert "abc is the alphabet" in caplog.text


def test_filter_masks_secrets_in_exception_text(redacting: logging.Logger, caplog: LogCapture) -> None:
    try:
        raise RuntimeError(f"token {WECOM_KEY} rejected")
    except RuntimeError:
        redacting.exception("sending to subscriber_id=members failed")
    assert "RuntimeError: token 69…aa rejected" in caplog.text
    assert WECOM_KEY not in caplog.text


def test_filter_survives_bad_format_arguments(redacting: logging.Logger, caplog: LogCapture) -> None:
    redacting.info("only one %s", WECOM_KEY, "extra")
    assert WECOM_KEY not in caplog.text


def test_filter_without_secrets_passes_records_through(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RedactingFilter([]))
    logging.getLogger("parkbot.test.redact").info("plain %d", 1)
    assert "plain 1" in caplog.text
