"""Tests for feeds.charset: which encoding wins, and when a declaration is not believed."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from feeds.charset import (
    canonical_encoding,
    decode_html,
    detect_encoding,
    header_charset,
    meta_declared_charset,
    sniff_bom,
    xml_declared_charset,
)

HTML_PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "html-pages"
# GBK-only characters: GB2312 has neither 镕 (朱镕基) nor 喆 (陶喆).
GBK_ONLY = "朱镕基与陶喆"
PAGE = "<p>湖南省开发区协会：长沙经开区、株洲高新区、湘潭经开区园区快讯，" + GBK_ONLY + "。</p>\n"


def html(meta: str = "", body: str = PAGE * 20) -> str:
    return f"<html><head>{meta}<title>园区快讯</title></head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("gb2312", "gb18030"),
        ("GB2312", "gb18030"),
        ("gbk", "gb18030"),
        ("x-gbk", "gb18030"),
        ("gb_2312-80", "gb18030"),
        ("csgb2312", "gb18030"),
        ("cp936", "gb18030"),
        ("euc-cn", "gb18030"),
        (" 'GB18030' ", "gb18030"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("unicode-1-1-utf-8", "utf-8"),
        ("iso-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("big5", "big5"),
        ("x-x-big5", "big5"),
        ("shift_jis", "shift_jis"),
    ],
)
def test_canonical_encoding(label: str, expected: str) -> None:
    assert canonical_encoding(label) == expected


@pytest.mark.parametrize("label", ["", "bogus", "zlib", "base64", "utf-7", "undefined", "x-user-defined"])
def test_canonical_encoding_refuses_unknown_and_non_text(label: str) -> None:
    with pytest.raises(LookupError):
        canonical_encoding(label)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html; charset=GBK", "GBK"),
        ('application/rss+xml;charset="gb2312"', "gb2312"),
        ("text/xml; qs=0.9; charset= 'utf-8'", "utf-8"),
        ("text/xml; charset:iso-8859-1", None),
        ("text/xml;", None),
        (None, None),
    ],
)
def test_header_charset(content_type: str | None, expected: str | None) -> None:
    assert header_charset(content_type) == expected


def test_sniffers_read_boms_declarations_and_meta() -> None:
    assert sniff_bom(codecs.BOM_UTF8 + b"<p>") == ("utf-8", 3)
    assert sniff_bom(codecs.BOM_UTF32_LE + b"<\x00\x00\x00") == ("utf-32-le", 4)
    assert sniff_bom("<?xml".encode("utf-16-be")) == ("utf-16-be", 0)
    assert sniff_bom(b"<rss>") is None
    assert xml_declared_charset(b"<?xml version='1.0' encoding='GB2312'?><rss/>") == "GB2312"
    assert xml_declared_charset(b"<rss/>") is None
    assert meta_declared_charset(b'<meta charset="gbk">') == "gbk"
    http_equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
    assert meta_declared_charset(http_equiv) == "gb2312"
    assert meta_declared_charset(b" " * 2048 + b'<meta charset="gbk">') is None


def test_override_wins_over_everything() -> None:
    body = html('<meta charset="utf-8">').encode("gb18030")
    text, used = decode_html(body, "text/html; charset=utf-8", override="gbk")
    assert used == "gb18030"
    assert GBK_ONLY in text


def test_unknown_override_raises_lookup_error() -> None:
    with pytest.raises(LookupError):
        decode_html(b"<p>x</p>", None, override="no-such-charset")


def test_bom_beats_header() -> None:
    body = codecs.BOM_UTF8 + html().encode("utf-8")
    text, used = decode_html(body, "text/html; charset=gbk")
    assert used == "utf-8"
    assert text.startswith("<html>")
    assert GBK_ONLY in text


@pytest.mark.parametrize(
    ("meta", "content_type"),
    [
        ("", "text/html; charset=gb2312"),
        ('<meta charset="gb2312">', "text/html"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=GB2312">', None),
        # Tomcat's default latin-1 header gives way to the page's own declaration.
        ('<meta charset="gbk">', "text/html;charset=ISO-8859-1"),
    ],
)
def test_declared_gb2312_reads_gbk_only_characters(meta: str, content_type: str | None) -> None:
    text, used = decode_html(html(meta).encode("gb18030"), content_type)
    assert used == "gb18030"
    assert GBK_ONLY in text


def test_xml_declaration_is_read() -> None:
    body = ('<?xml version="1.0" encoding="gb2312"?><rss><title>' + GBK_ONLY + "</title></rss>").encode("gbk")
    assert decode_html(body, "text/xml") == (body.decode("gb18030"), "gb18030")


@pytest.mark.parametrize("content_type", ["text/html; charset=gb2312", "text/html"])
def test_declared_gb2312_but_utf8_bytes_is_read_as_utf8(content_type: str) -> None:
    text, used = decode_html(html('<meta charset="gb2312">').encode("utf-8"), content_type)
    assert used == "utf-8"
    assert GBK_ONLY in text


def test_declared_utf8_but_gbk_bytes_goes_to_the_detector() -> None:
    text, used = decode_html(html('<meta charset="utf-8">').encode("gbk"), "text/html; charset=utf-8")
    assert used == "gb18030"
    assert GBK_ONLY in text


def test_undeclared_gbk_is_detected() -> None:
    body = html().encode("gbk")
    assert detect_encoding(body) == "gb18030"
    assert GBK_ONLY in decode_html(body, None)[0]


def test_undeclared_utf8_is_utf8() -> None:
    assert decode_html(html().encode("utf-8"), "text/html") == (html(), "utf-8")


def test_meta_claiming_utf16_in_an_ascii_readable_page_means_utf8() -> None:
    body = html('<meta charset="utf-16">').encode("utf-8")
    assert decode_html(body, None)[1] == "utf-8"


def test_junk_never_raises() -> None:
    body = bytes(range(256)) * 8
    text, used = decode_html(body, "text/html; charset=bogus")
    assert isinstance(text, str)
    assert codecs.lookup(used)


def html_pages() -> list[dict[str, object]]:
    index = HTML_PAGES / "index.json"
    if not index.is_file():
        return []
    return json.loads(index.read_text(encoding="utf-8"))["pages"]


@pytest.mark.parametrize("page", html_pages(), ids=lambda page: str(page["file"]))
def test_corpus_html_pages_decode_to_their_actual_encoding(page: dict[str, object]) -> None:
    body = (HTML_PAGES / str(page["file"])).read_bytes()
    text, used = decode_html(body, "text/html")
    assert used == ("utf-8" if str(page["actual_encoding"]).startswith("utf-8") else "gb18030")
    assert "\ufffd" not in text
    expected = page["expected"]
    assert isinstance(expected, dict)
    title = expected.get("title") or next(
        (group["first"][0]["title"] for group in expected.values() if isinstance(group, dict)), None
    )
    if title:
        assert title in text


def test_corpus_html_pages_present_or_skipped() -> None:
    if not HTML_PAGES.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    assert len(html_pages()) == 15


# Asked about these bytes as a whole (one bad sequence in a GBK feed), charset-normalizer 3.5 answers
# iso8859-5: every title came out Cyrillic.
GBK_FEED_TITLES = ["陶喆助阵园区招商推介会", "岳阳经开区动态", "湘江新区发布产业新政"]


def gbk_rss(titles: list[bytes]) -> bytes:
    """A GBK RSS feed that says gbk, around titles given as bytes."""
    head = '<?xml version="1.0" encoding="gbk"?><rss version="2.0"><channel><title>园区快讯</title>'
    items = b"".join(
        b"<item><title>%s</title><link>/news/%d.html</link></item>" % (t, n) for n, t in enumerate(titles)
    )
    return head.encode("gb18030") + items + b"</channel></rss>"


def damaged(title: str, damage: str = "cut") -> bytes:
    """GBK bytes of the title with one bad sequence."""
    data = title.encode("gb18030")
    # "cut": a CMS that shortens titles by bytes leaves half a character; "stray": a byte GBK never uses.
    return data[:-1] if damage == "cut" else b"\xff" + data


@pytest.mark.parametrize("damage", ["cut", "stray"])
@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=gbk", "text/xml"])
def test_declared_gbk_with_one_bad_sequence_keeps_the_declaration(damage: str, content_type: str) -> None:
    first, second, third = GBK_FEED_TITLES
    body = gbk_rss([first.encode("gb18030"), damaged(second, damage), third.encode("gb18030")])
    text, used = decode_html(body, content_type)
    assert used == "gb18030"
    assert text.count("\ufffd") == 1
    assert first in text and second[:-1] in text and third in text


def test_declared_gbk_with_eight_bad_sequences_keeps_the_declaration() -> None:
    titles = [
        damaged(title) if n % 3 == 1 else title.encode("gb18030")
        for n, title in enumerate(GBK_FEED_TITLES * 8)
    ]
    text, used = decode_html(gbk_rss(titles), "application/rss+xml; charset=gbk")
    assert used == "gb18030"
    assert text.count("\ufffd") == 8
    assert text.count(GBK_FEED_TITLES[0]) == 8


def test_a_declaration_that_garbles_some_of_the_text_loses_to_the_next_one() -> None:
    # GBK bytes read as Big5 give bad sequences in about 6% of the characters: not "a few".
    text, used = decode_html(html('<meta charset="gbk">').encode("gb18030"), "text/html; charset=big5")
    assert used == "gb18030"
    assert GBK_ONLY in text


def test_a_wrong_utf8_declaration_cannot_hide_behind_ascii_markup() -> None:
    # 40 KB of markup and scripts around 4 GBK titles: their errors are 0.1% of the characters, but
    # nearly all of the non-ASCII ones, so the header's utf-8 loses to the page's own gbk.
    script = "<script>var menu = {'home': '/', 'news': '/news/'};</script>\n" * 700
    titles = "".join(f"<li><a href='/n/{n}.html'>{GBK_ONLY}</a></li>" for n in range(4))
    body = html('<meta charset="gbk">', script + titles).encode("gb18030")
    text, used = decode_html(body, "text/html; charset=utf-8")
    assert used == "gb18030"
    assert text.count(GBK_ONLY) == 4


def test_declared_gb2312_but_utf8_bytes_with_one_bad_byte_is_still_utf8() -> None:
    body = html('<meta charset="gb2312">').encode("utf-8").replace(b"</title>", b"\xff</title>")
    text, used = decode_html(body, "text/html; charset=gb2312")
    assert used == "utf-8"
    assert text.count("\ufffd") == 1
    assert GBK_ONLY in text
