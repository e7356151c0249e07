from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from feeds.errors import ParseError
from feeds.html_list import parse_list_page
from feeds.models import ListSelectors
from feeds.normalize import item_uid

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 12, 20, 4, 0, tzinfo=UTC)
PAGE_URL = "http://hnkfq.com.cn/news/list/index.html"
SELECT = ListSelectors(item="ul.news-list > li", title="a", link="a@href", date="span.date")

GBK_PAGE = """<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>园区快讯_湖南开发区网</title></head>
<body>
<ul class="nav"><li><a href="/">首页</a></li></ul>
<ul class="news-list">
  <li><a href="./info_itemid_3763.html">长沙经开区　签约&nbsp;项目</a>
      <span class="date">2021-04-01</span></li>
  <li><a href="../news/info_itemid_2939.html"> 湘潭高新区
      新闻 </a><span class="date">发布时间：2020年10月23日</span></li>
  <li><a href="/news/info_itemid_2440.html">岳阳经开区动态</a><span class="date">[12-13]</span></li>
  <li><a href="//www.hunan.gov.cn/hnyw/t20180318_4974188.html">省政府要闻</a><span class="date"></span></li>
  <li><a href="http://example.org/a.html">外部链接</a></li>
</ul>
</body></html>"""


def decoded_gbk(page: str) -> str:
    return page.encode("gb18030").decode("gb18030")


def parse(html: str, select: ListSelectors = SELECT, url: str = PAGE_URL):
    return parse_list_page(html, url=url, select=select, now=NOW, tz=SHANGHAI)


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def test_gbk_page_items_links_titles_and_dates() -> None:
    feed = parse(decoded_gbk(GBK_PAGE))
    assert feed.title == "园区快讯_湖南开发区网"
    assert feed.site_url == PAGE_URL
    assert [item.url for item in feed.items] == [
        "http://hnkfq.com.cn/news/list/info_itemid_3763.html",
        "http://hnkfq.com.cn/news/news/info_itemid_2939.html",
        "http://hnkfq.com.cn/news/info_itemid_2440.html",
        "http://www.hunan.gov.cn/hnyw/t20180318_4974188.html",
        "http://example.org/a.html",
    ]
    assert [item.title for item in feed.items] == [
        "长沙经开区 签约 项目",
        "湘潭高新区 新闻",
        "岳阳经开区动态",
        "省政府要闻",
        "外部链接",
    ]
    assert [item.published_at for item in feed.items] == [
        cst(2021, 4, 1),
        cst(2020, 10, 23),
        cst(2021, 12, 13),
        None,
        None,
    ]


def test_uid_and_summary_defaults() -> None:
    item = parse(decoded_gbk(GBK_PAGE)).items[0]
    assert item.uid == item_uid(None, item.url, item.title, item.published_at)
    assert item.uid == "http://hnkfq.com.cn/news/list/info_itemid_3763.html"
    assert item.summary == ""


def test_https_page_and_protocol_relative_link() -> None:
    html = '<ul class="news-list"><li><a href="//cdn.example.cn/x.html">标题</a></li></ul>'
    feed = parse(html, url="https://www.example.cn/a/b/")
    assert feed.items[0].url == "https://cdn.example.cn/x.html"


def test_base_href_is_honoured() -> None:
    html = """<html><head><base href="http://www.changsha.gov.cn/xxgk/"></head><body>
    <ul class="news-list"><li><a href="./tzgg/t1.html">通知</a></li>
    <li><a href="../t2.html">公告</a></li></ul></body></html>"""
    feed = parse(html)
    assert [item.url for item in feed.items] == [
        "http://www.changsha.gov.cn/xxgk/tzgg/t1.html",
        "http://www.changsha.gov.cn/t2.html",
    ]


def test_relative_base_href_resolves_against_page() -> None:
    html = '<base href="/sub/"><ul class="news-list"><li><a href="x.html">标题</a></li></ul>'
    assert parse(html).items[0].url == "http://hnkfq.com.cn/sub/x.html"


@pytest.mark.parametrize(
    "anchor",
    [
        '<a href="javascript:void(0)">脚本</a>',
        '<a href="JavaScript:openWin(1)">脚本</a>',
        '<a href="#">锚点</a>',
        '<a href="#top">锚点</a>',
        '<a href="">空链接</a>',
        '<a href="   ">空白链接</a>',
        "<a>没有链接</a>",
        '<a href="mailto:office@example.cn">邮件</a>',
        '<a href="/ok.html"> \u3000&nbsp; </a>',
        '<a href="/ok.html"></a>',
        "<span>没有a</span>",
    ],
)
def test_items_without_usable_link_or_title_are_skipped(anchor: str) -> None:
    html = f'<ul class="news-list"><li>{anchor}</li><li><a href="/keep.html">保留</a></li></ul>'
    feed = parse(html)
    assert [(item.title, item.url) for item in feed.items] == [("保留", "http://hnkfq.com.cn/keep.html")]


def test_attribute_forms() -> None:
    html = """<ul class="news-list">
      <li data-url="/d/1.html" data-day="2021-12-01"><a href="/a/1.html" title="完整的标题一">完整的...</a>
        <span class="date" title="2021-12-02 08:00">12-02</span></li>
    </ul>"""
    by_child_attr = ListSelectors(item="ul.news-list > li", title="a@title", link="a@href", date="span@title")
    item = parse(html, by_child_attr).items[0]
    assert (item.title, item.url, item.published_at) == (
        "完整的标题一",
        "http://hnkfq.com.cn/a/1.html",
        cst(2021, 12, 2, 8),
    )
    by_own_attr = ListSelectors(item="ul.news-list > li", title="a", link="@data-url", date="@data-day")
    item = parse(html, by_own_attr).items[0]
    assert (item.title, item.url, item.published_at) == (
        "完整的...",
        "http://hnkfq.com.cn/d/1.html",
        cst(2021, 12, 1),
    )


def test_title_attribute_is_not_a_silent_fallback() -> None:
    html = '<ul class="news-list"><li><a href="/x.html" title="有标题属性"></a></li></ul>'
    assert parse(html).items == ()
    with_attr = ListSelectors(item="ul.news-list > li", title="a@title", link="a@href")
    assert parse(html, with_attr).items[0].title == "有标题属性"


def test_missing_attribute_gives_empty_value() -> None:
    html = '<ul class="news-list"><li><a href="/x.html">标题</a></li></ul>'
    select = ListSelectors(item="ul.news-list > li", title="a@title", link="a@href")
    assert parse(html, select).items == ()


def test_summary_is_cleaned_text() -> None:
    html = """<ul class="news-list"><li><a href="/x.html">标题</a>
      <p class="intro">  第一段<b>加粗</b>，
         第二行&nbsp;内容\u3000。</p></li></ul>"""
    select = ListSelectors(item="ul.news-list > li", title="a", link="a@href", summary="p.intro")
    assert parse(html, select).items[0].summary == "第一段加粗， 第二行 内容 。"


def test_date_hidden_in_a_comment_inside_the_date_element() -> None:
    html = """<ul class="news-list">
      <li><a href="/1.html">一</a><span class="date"><!--<span>2021-12-13</span>--></span></li>
      <li><a href="/2.html">二</a><span class="date"><!-- 12-18 --></span></li>
      <li><a href="/3.html">三</a><span class="date">2021-12-01<!--2020-01-01--></span></li>
      <li><a href="/4.html">四</a><span class="date"><!-- 没有日期 --></span></li>
    </ul>"""
    dates = [item.published_at for item in parse(html).items]
    assert dates == [cst(2021, 12, 13), cst(2021, 12, 18), cst(2021, 12, 1), None]


def test_date_selector_matching_the_item_itself_reads_its_comments() -> None:
    # hunan.gov.cn: <li><a …>title</a><!--<span>03-18</span>--></li>, no element around the date.
    html = """<ul class="news-list">
      <li><a href="./t20211218_1.html">1-2月进出口增幅近四成</a><!--<span>12-18</span>--></li></ul>"""
    select = ListSelectors(item="ul.news-list > li", title="a", link="a@href", date="li")
    item = parse(html, select).items[0]
    assert item.published_at == cst(2021, 12, 18)


def test_duplicate_links_keep_the_first() -> None:
    html = """<ul class="news-list">
      <li><a href="/same.html">第一次</a></li>
      <li><a href="http://HNKFQ.com.cn/same.html#top">第二次</a></li>
      <li><a href="/other.html">其他</a></li></ul>"""
    assert [item.title for item in parse(html).items] == ["第一次", "其他"]


def test_no_matching_items_gives_empty_feed() -> None:
    feed = parse("<html><head><title> 空 页 </title></head><body><p>维护中</p></body></html>")
    assert feed.items == ()
    assert feed.title == "空 页"


def test_page_without_title() -> None:
    assert parse('<ul class="news-list"><li><a href="/x">x</a></li></ul>').title == ""


@pytest.mark.parametrize("field", ["item", "title", "link", "date", "summary"])
def test_invalid_selector_names_the_field_and_the_selector(field: str) -> None:
    values = {"item": "li", "title": "a", "link": "a@href", "date": "", "summary": ""}
    values[field] = "li[[" if field != "link" else "a[[@href"
    with pytest.raises(ParseError, match=rf"{field}.*\[\["):
        parse("<p>no items at all</p>", ListSelectors(**values))


@pytest.mark.parametrize(
    ("page", "error"),
    [
        ('<ul class="news-list">' + "<div>" * 100_000 + "</div>" * 100_000 + "</ul>", "nests elements"),
        ('<ul class="news-list">' + '<li><a href="/x.html">x</a>' * 200_000 + "</ul>", "elements"),
    ],
    ids=["100000-nested-divs", "200000-items"],
)
def test_hostile_page_shape_is_a_parse_error(page: str, error: str) -> None:
    # How soon it is refused is measured by bench/bench_hostile.py.
    with pytest.raises(ParseError, match=error):
        parse(page)
