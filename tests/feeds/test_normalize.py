"""Tests for feeds.normalize: HTML summaries and titles to plain text, read by an HTML parser."""

from __future__ import annotations

import pytest

from feeds.errors import ParseError
from feeds.normalize import clean_text, html_text, plain_summary


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>园区<!-- comment with <b>tags</b> -->快讯</p>", "园区快讯"),
        ("<p>摘要：<![CDATA[长沙经开区<b>签约</b>]]>项目</p>", "摘要：长沙经开区签约项目"),
        ('<a title="a > b" href="/x">链接</a>', "链接"),
        ("<p title='一>二' data-x=\"<p>\">正文</p>", "正文"),
        (
            '<p>正文</p><script>var s = "<p>广告</p>";</script><style>p > a { color: red }</style>尾',
            "正文 尾",
        ),
        ("<p>正文</p><script>document.write('<div>广告</div>')", "正文"),  # cut off inside a script
        ("<STYLE type=text/css>.x{}</STYLE><p>正文</p>", "正文"),
        ("<p>园区&nbsp;快讯\u3000第一期&nbsp;&nbsp;发布</p>", "园区 快讯 第一期 发布"),
        ("<p>A &amp;lt; B &copy; 2021</p>", "A &lt; B © 2021"),  # entities decoded once
        ("第一段<b>加粗</b>，<i>斜体</i>", "第一段加粗，斜体"),  # inline tags keep a phrase whole
        ("<p>一</p><p>二</p>三<br>四<ul><li>五</li><li>六</li></ul>", "一 二 三 四 五 六"),
        ("<span><p>段落</p></span>尾", "段落 尾"),
        ("面积 < 5 亩 且 > 2 亩<br>", "面积 < 5 亩 且 > 2 亩"),
        ("<template><p>模板</p></template>正文", "正文"),
        ("纯文本 &amp; 实体", "纯文本 & 实体"),
        ("", ""),
    ],
    ids=[
        "comment-with-tags",
        "cdata",
        "gt-in-attribute",
        "gt-and-tag-in-attributes",
        "script-and-style",
        "script-cut-off",
        "uppercase-style",
        "nbsp-and-full-width-space",
        "entities-once",
        "inline-tags",
        "block-tags",
        "block-inside-inline",
        "stray-angle-brackets",
        "template",
        "no-markup",
        "empty",
    ],
)
def test_html_text(fragment: str, text: str) -> None:
    assert html_text(fragment) == text


def test_html_text_of_none_is_empty() -> None:
    assert html_text(None) == ""


def test_clean_text_collapses_chinese_spaces_and_unescapes() -> None:
    assert clean_text(" 园区\u3000快讯&nbsp;\n 第一期 ") == "园区 快讯 第一期"


def test_plain_summary_is_cut_with_an_ellipsis() -> None:
    summary = plain_summary("<p>" + "园区快讯" * 200 + "</p>", limit=10)
    assert summary == "园区快讯园区快讯园…"


def test_a_hostile_fragment_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="deep"):
        html_text("<p>" + "<div>" * 100_000 + "正文")
