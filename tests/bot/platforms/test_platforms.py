"""Pure rendering and signing for every platform: byte limits, splitting, escaping, published vectors."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import pytest

from bot.platforms import PLATFORMS, dingtalk, feishu, webhook, wecom
from bot.platforms.http import encode
from bot.platforms.layout import byte_len, escape_markdown, shorten
from bot.platforms.message import Entry, Message

TZ = ZoneInfo("Asia/Shanghai")
PUBLISHED = datetime(2026, 11, 29, 8, 20, tzinfo=UTC)  # 16:20 in Changsha
HOSTILE = '五好园区](http://evil.example) <font color="warning">**红**</font>\n# 标题 `x` [链接]'


def entries(
    count: int, title: str = "永州经开区扎实推进“五好”园区创建 前三季度规模工业增加值增长9.2%"
) -> tuple:
    """Chinese entries from two sources, grouped by source."""
    return tuple(
        Entry(f"{title} 第{n}条", f"http://hnkfq.com.cn/news/info_itemid_{5000 + n}.html",
              "湖南开发区网·园区快讯" if n < count // 2 else "湖南省工信厅·通知公告", PUBLISHED, "摘要" * 80)
        for n in range(count)
    )  # fmt: skip


def limited_field(platform: str, payload: dict) -> int:
    """The size the platform limits, in UTF-8 bytes."""
    if platform == "wecom":
        return byte_len(payload.get("markdown", payload.get("text", {})).get("content", ""))
    if platform == "dingtalk":
        return byte_len(payload["markdown"]["text"])
    return len(encode(payload)) + 120  # feishu: the whole body, with room for timestamp and sign


LIMITS = {"wecom": wecom.MARKDOWN_LIMIT, "dingtalk": dingtalk.MARKDOWN_LIMIT, "feishu": feishu.BODY_LIMIT}


@pytest.mark.parametrize("platform", ["wecom", "dingtalk", "feishu"])
@pytest.mark.parametrize("count", [0, 1, 7, 40, 120, 400])
def test_digest_parts_fit_and_carry_every_item_once(platform, count):
    message = Message(
        "digest", "园区快讯 · 11月30日", entries=entries(count), footer="另有 3 条", link="http://x/feed.xml"
    )
    payloads = PLATFORMS[platform].render(message, TZ)
    assert all(limited_field(platform, p) <= LIMITS[platform] for p in payloads)
    dumped = [encode(p).decode() for p in payloads]
    for entry in message.entries:
        assert sum(d.count(entry.link) for d in dumped) == 1
    marks = [re.search(r"\((\d+)/(\d+)\)", d) for d in dumped]
    if len(payloads) == 1:
        assert marks == [None]
    else:
        assert [(int(m[1]), int(m[2])) for m in marks] == [
            (i, len(payloads)) for i in range(1, len(payloads) + 1)
        ]


def test_wecom_text_style_fits_2048_bytes():
    payloads = wecom.render(Message("digest", "园区快讯", entries=entries(60)), TZ, style="text")
    assert len(payloads) > 1
    assert all(
        p["msgtype"] == "text" and byte_len(p["text"]["content"]) <= wecom.TEXT_LIMIT for p in payloads
    )


@pytest.mark.parametrize("platform", ["wecom", "dingtalk"])
def test_hostile_titles_cannot_break_markdown_or_inject_links(platform):
    message = Message("digest", "快讯 [x](http://evil)", entries=entries(3, title=HOSTILE))
    payload = PLATFORMS[platform].render(message, TZ)[0]
    content = payload["markdown"]["content" if platform == "wecom" else "text"]
    assert content.count("](") == 3  # exactly one link per item, none from the titles
    assert "<font" not in content and "evil.example)" not in content
    assert "\n# " not in content and "**红**" not in content
    assert "］（http://evil.example）" in content  # still readable, in full-width form


def test_feishu_titles_are_data_not_markup():
    payload = feishu.render(Message("item", "快讯", entries=entries(1, title=HOSTILE)), TZ)[0]
    [paragraph] = payload["content"]["post"]["zh_cn"]["content"][1:2]
    link = paragraph[0]
    assert link["tag"] == "a" and link["href"].startswith("http://hnkfq.com.cn/") and "\n" not in link["text"]


def test_dates_are_shown_in_the_configured_zone():
    digest = wecom.render(Message("digest", "快讯", entries=entries(1)), TZ)[0]["markdown"]["content"]
    item = wecom.render(Message("item", "快讯", entries=entries(1)), TZ)[0]["markdown"]["content"]
    assert "11月29日" in digest and "16:20" not in digest
    assert "11月29日 16:20" in item


def test_an_item_too_long_for_one_message_is_shortened_on_a_character_boundary():
    huge = Entry("园" * 5000, "http://hnkfq.com.cn/news/info_itemid_1.html", "湖南开发区网", PUBLISHED)
    [payload] = wecom.render(Message("digest", "快讯", entries=(huge,)), TZ)
    content = payload["markdown"]["content"]
    assert byte_len(content) <= wecom.MARKDOWN_LIMIT and "…" in content and huge.link in content
    assert (
        shorten("五好园区", 9) == "五好…" and shorten("五好园区", 8) == "五…" and shorten("五好", 6) == "五好"
    )


def test_escape_keeps_chinese_and_flattens_newlines():
    assert escape_markdown("永州[五好]\n园区*") == "永州［五好］ 园区＊"


def test_unsafe_links_are_not_linked():
    evil = Entry("标题", "javascript:alert(1)", "来源", PUBLISHED)
    content = wecom.render(Message("digest", "快讯", entries=(evil,)), TZ)[0]["markdown"]["content"]
    assert "javascript" not in content and "](" not in content


def plain_texts(message: Message) -> list[str]:
    """The message in every plain-text form: WeCom text, the console and the webhook's "text"."""
    return [
        wecom.render(message, TZ, style="text")[0]["text"]["content"],
        PLATFORMS["console"].render(message, TZ)[0]["text"],
        webhook.render(message, TZ)[0]["text"],
    ]


@pytest.mark.parametrize("link", ["", "javascript:alert(1)", "mailto:office@hnkfq.com.cn"])
@pytest.mark.parametrize("kind", ["digest", "item"])
def test_text_shows_no_link_line_without_a_safe_link(link, kind):
    dropped = Entry("永州经开区创建五好园区", link, "湖南开发区网", PUBLISHED)
    kept = Entry("湘潭高新区签约", "http://hnkfq.com.cn/news/info_itemid_1.html", "湖南开发区网", PUBLISHED)
    for text in plain_texts(Message(kind, "快讯", entries=(dropped, kept))):
        lines = text.splitlines()
        assert all(line.strip() for line in lines), text
        assert not link or link not in text
        assert lines[lines.index(next(x for x in lines if "湘潭高新区" in x)) + 1] == f"  {kept.link}"


def test_an_item_without_summary_shows_no_empty_quote():
    entry = Entry("永州经开区创建五好园区", "", "湖南开发区网", PUBLISHED)
    content = wecom.render(Message("item", "快讯", entries=(entry,)), TZ)[0]["markdown"]["content"]
    assert all(line.strip(" >") for line in content.splitlines()), content


def test_dingtalk_sign_matches_the_published_vector():
    assert dingtalk.sign("this is secret", 1577262236757) == "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="
    assert quote_plus(dingtalk.sign("this is secret", 1577262236757)) == (
        "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D"
    )
    url = dingtalk.signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=t",
        "this is secret",
        datetime.fromtimestamp(1577262236.757, UTC),
    )
    assert url.endswith("&timestamp=1577262236757&sign=hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D")


def test_feishu_sign_matches_the_published_vectors():
    assert feishu.sign("demo", 100) == "jquNHnVOwmDRfw+vqTIrY5dooJAgi5EcRtLsQE4wfXg="
    assert feishu.sign("demo", 1599360473) == "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="


def test_webhook_body_and_signature():
    [payload] = webhook.render(Message("digest", "园区快讯", entries=entries(2), extra={"id": 7}), TZ)
    assert payload["kind"] == "digest" and payload["id"] == 7 and len(payload["items"]) == 2
    assert payload["items"][0]["published"] == "2026-11-29T16:20:00+08:00"
    body = encode(payload)
    assert webhook.sign("s3cret", body) == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("module", "body", "permanent", "retry"),
    [
        (wecom, {"errcode": 93000, "errmsg": "invalid webhook url"}, True, False),
        (wecom, {"errcode": 45009, "errmsg": "api freq out of limit"}, False, True),
        (wecom, {"errcode": -1, "errmsg": "system busy"}, False, False),
        (dingtalk, {"errcode": 310000, "errmsg": "sign not match"}, True, False),
        (dingtalk, {"errcode": 410100, "errmsg": "send too fast"}, False, True),
        (dingtalk, {"status": 1111, "wait": 5, "punish": "deny"}, False, False),
        (feishu, {"code": 19021, "msg": "sign match fail"}, True, False),
        (feishu, {"code": 11232, "msg": "frequency limited"}, False, False),
    ],
)
def test_body_codes_decide_success(module, body, permanent, retry):
    from bot.platforms.errors import PushError

    with pytest.raises(PushError) as caught:
        module.check(200, body)
    assert caught.value.permanent is permanent and (caught.value.retry_after is not None) is retry
    module.check(200, {"errcode": 0, "code": 0})
