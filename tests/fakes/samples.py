"""Sample park-news items in the style of hnkfq.com.cn (湖南省开发区协会) and renderers to feed/page bytes.

Every renderer is a pure function returning bytes. Titles survive every format unchanged once
whitespace is collapsed (``" ".join(text.split())``), so tests can compare parsed titles to `title`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

SITE_HOST = "www.hnkfq.com.cn"
SITE = f"http://{SITE_HOST}"
SITE_NAME = "湖南省开发区协会·园区快讯"  # "·" is in GBK/GB18030 but not in GB2312
LIST_PATH = "/news/list_1.html"  # serve list pages under /news/ so every link form resolves alike

# CSS selectors matching gbk_list_page() and utf8_page_declaring_gb2312().
ITEM_SELECTOR = "ul.news-list > li"
TITLE_SELECTOR = "a"
FULL_TITLE_SELECTOR = "a@title"  # use when link text is truncated (truncate=N)
LINK_SELECTOR = "a@href"
DATE_SELECTOR = "span.date"

CST = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class SampleItem:
    """One news article as the association's CMS holds it."""

    itemid: int
    title: str
    summary: str
    published: datetime  # aware, +08:00

    def url(self, base: str = SITE) -> str:
        """Return the article's absolute URL on `base` (scheme://host)."""
        return f"{base}/news/info_itemid_{self.itemid}.html"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CST)


YONGZHOU = SampleItem(
    5821,
    "永州经开区扎实推进“五好”园区创建 前三季度规模工业增加值增长9.2%",
    "永州经开区围绕规划定位好、创新平台好、经营主体好、发展形象好、体制机制好的“五好”园区标准，"
    "新引进亿元以上项目14个，标准厂房入驻率提升至91%。",
    _at(29, 16, 20),
)
CHANGSHA = SampleItem(
    5820,
    "长沙经开区召开四季度重点项目调度会",
    "会议逐一调度工程机械、汽车及零部件产业链重点项目进度，要求确保年底前新开工项目全部落地。",
    _at(28, 10, 5),
)
XIANGTAN = SampleItem(
    5819,
    "湘潭高新区举办2026年智能制造产业链对接会",
    "60余家链上企业参会，现场签订采购合作协议23项，金额约8.6亿元。",
    _at(27, 15, 30),
)
YUEYANG = SampleItem(
    5818,
    "岳阳临港高新区1—10月外贸进出口总额同比增长12.4%",
    "城陵矶港集装箱吞吐量稳步增长，综合保税区新增备案企业17家。",
    _at(26, 9, 0),
)
MARKDOWN_HOSTILE = SampleItem(
    5817,
    "[紧急通知] 关于报送*亩均效益*评价材料的通知](http://evil.example/) "
    '<font color="red">限11月30日前</font>',
    "请各会员单位于11月30日前报送 **2026年度** 亩均效益评价材料，逾期视为放弃。",
    _at(25, 17, 45),
)
LONG_TITLE = SampleItem(
    5816,
    "湖南省开发区协会关于组织会员单位参加2026中国（湖南）国际园区招商推介暨产业链供应链对接洽谈活动"
    "并做好参展企业遴选推荐、展位布置、线上直播及签约项目后续跟踪服务等有关工作的通知",
    "活动将于12月中旬在长沙举行，请各园区于12月5日前报送参展企业名单及联系人。",
    _at(24, 11, 0),
)
LIUYANG = SampleItem(
    5815,
    "省开发区协会赴浏阳经开区开展“五好”园区创建专题调研",
    "调研组实地走访电子信息、生物医药企业，听取园区亩产效益和体制机制改革情况汇报。",
    _at(23, 14, 10),
)
CHENZHOU = SampleItem(
    5814,
    "郴州高新区获评省级绿色园区",
    "园区单位工业增加值能耗连续三年下降，工业固废综合利用率达95%以上。",
    _at(22, 8, 40),
)

# Newest first, as list pages show them.
ITEMS: tuple[SampleItem, ...] = (
    YONGZHOU,
    CHANGSHA,
    XIANGTAN,
    YUEYANG,
    MARKDOWN_HOSTILE,
    LONG_TITLE,
    LIUYANG,
    CHENZHOU,
)


def _x(text: str) -> str:
    return html.escape(text, quote=True)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat()


def _xml(text: str, encoding: str, declared: str | None) -> bytes:
    head = f'<?xml version="1.0" encoding="{declared or encoding}"?>\n'
    return (head + text).encode(encoding, errors="xmlcharrefreplace")


def rss20(
    items: Sequence[SampleItem], *, encoding: str = "utf-8", declared: str | None = None, base: str = SITE
) -> bytes:
    """Render RSS 2.0 with guid and RFC 822 pubDate (+0800); `declared` overrides the XML declaration."""
    entries = "".join(
        f"<item><title>{_x(item.title)}</title><link>{item.url(base)}</link>"
        f'<guid isPermaLink="true">{item.url(base)}</guid>'
        f"<pubDate>{format_datetime(item.published)}</pubDate>"
        f"<description>{_x(item.summary)}</description></item>\n"
        for item in items
    )
    updated = format_datetime(max((i.published for i in items), default=_at(1, 0)))
    channel = (
        f'<rss version="2.0"><channel><title>{SITE_NAME}</title><link>{base}/</link>\n'
        f"<description>湖南省开发区协会 园区动态</description><language>zh-cn</language>"
        f"<lastBuildDate>{updated}</lastBuildDate>\n{entries}</channel></rss>\n"
    )
    return _xml(channel, encoding, declared)


def rss20_gb2312(items: Sequence[SampleItem]) -> bytes:
    """Render RSS 2.0 whose bytes are GB18030 but whose XML declaration says gb2312, as old CMSes do."""
    return rss20(items, encoding="gb18030", declared="gb2312")


def atom10(items: Sequence[SampleItem], *, base: str = SITE) -> bytes:
    """Render an Atom 1.0 feed (RFC 4287) with RFC 3339 dates in +08:00."""
    entries = "".join(
        f"<entry><id>{item.url(base)}</id><title>{_x(item.title)}</title>"
        f'<link rel="alternate" href="{item.url(base)}"/>'
        f"<published>{_rfc3339(item.published)}</published><updated>{_rfc3339(item.published)}</updated>"
        f"<summary>{_x(item.summary)}</summary></entry>\n"
        for item in items
    )
    updated = _rfc3339(max((i.published for i in items), default=_at(1, 0)))
    feed = (
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN"><id>{base}/</id>'
        f'<title>{SITE_NAME}</title><link rel="alternate" href="{base}/"/><updated>{updated}</updated>'
        f"<author><name>湖南省开发区协会</name></author>\n{entries}</feed>\n"
    )
    return _xml(feed, "utf-8", None)


def rdf10(items: Sequence[SampleItem], *, base: str = SITE) -> bytes:
    """Render an RSS 1.0 (RDF) feed with dc:date."""
    seq = "".join(f'<rdf:li rdf:resource="{item.url(base)}"/>' for item in items)
    entries = "".join(
        f'<item rdf:about="{item.url(base)}"><title>{_x(item.title)}</title><link>{item.url(base)}</link>'
        f"<description>{_x(item.summary)}</description><dc:date>{_rfc3339(item.published)}</dc:date></item>\n"
        for item in items
    )
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'<channel rdf:about="{base}/"><title>{SITE_NAME}</title><link>{base}/</link>'
        "<description>湖南省开发区协会 园区动态</description>"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n"
        f"{entries}</rdf:RDF>\n"
    )
    return _xml(rdf, "utf-8", None)


def json_feed(items: Sequence[SampleItem], *, base: str = SITE) -> bytes:
    """Render a JSON Feed 1.1 document (https://jsonfeed.org/version/1.1)."""
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": SITE_NAME,
        "home_page_url": f"{base}/",
        "feed_url": f"{base}/feed.json",
        "language": "zh-CN",
        "items": [
            {
                "id": str(item.itemid),
                "url": item.url(base),
                "title": item.title,
                "summary": item.summary,
                "content_text": item.summary,
                "date_published": _rfc3339(item.published),
            }
            for item in items
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


_LINK_FORMS = (
    "./info_itemid_{id}.html",
    "../news/info_itemid_{id}.html",
    "/news/info_itemid_{id}.html",
    "//{host}/news/info_itemid_{id}.html",
)


def _date_forms(moment: datetime) -> tuple[str, ...]:
    return (
        f"{moment:%Y-%m-%d}",
        f"{moment:%Y/%m/%d}",
        f"{moment.year}年{moment.month}月{moment.day}日",
        f"[{moment:%m-%d}]",
    )


def _list_entry(index: int, item: SampleItem, host: str, truncate: int | None) -> str:
    href = _LINK_FORMS[index % len(_LINK_FORMS)].format(id=item.itemid, host=host)
    date = _date_forms(item.published)[index % 4]
    text = item.title
    if truncate is not None and len(text) > truncate:
        text = text[:truncate] + "…"
    # CMS templates wrap titles in newlines and use &nbsp; where an editor typed a space.
    shown = _x(text).replace(" ", "&nbsp;")
    return (
        f'    <li><a href="{href}" title="{_x(item.title)}" target="_blank">\n'
        f'        {shown}\n      </a><span class="date">{date}</span></li>\n'
    )


def _list_page(items: Sequence[SampleItem], meta: str, host: str, truncate: int | None) -> str:
    entries = "".join(_list_entry(i, item, host, truncate) for i, item in enumerate(items))
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">\n<html>\n<head>\n'
        f"{meta}\n<title>园区快讯_湖南省开发区协会</title>\n</head>\n<body>\n"
        '<div class="nav"><ul class="menu"><li><a href="/">首页</a></li>'
        '<li><a href="/news/">园区快讯</a></li><li><a href="/about/">协会简介</a></li></ul></div>\n'
        '<div class="main"><div class="position">当前位置：<a href="/">首页</a> &gt; 园区快讯</div>\n'
        f'  <ul class="news-list">\n{entries}  </ul>\n'
        '  <div class="pages"><a href="list_1.html">首页</a> <a href="list_2.html">下一页</a></div>\n'
        '</div>\n<div class="footer">版权所有：湖南省开发区协会 湘ICP备00000000号</div>\n</body>\n</html>\n'
    )


def gbk_list_page(
    items: Sequence[SampleItem], *, host: str = SITE_HOST, declared: str = "gbk", truncate: int | None = None
) -> bytes:
    """Render a GBK-encoded CMS list page with mixed link and Chinese date forms (see *_SELECTOR)."""
    meta = f'<meta charset="{declared}">'
    return _list_page(items, meta, host, truncate).encode("gbk")


def utf8_page_declaring_gb2312(items: Sequence[SampleItem], *, host: str = SITE_HOST) -> bytes:
    """Render the same list page as UTF-8 bytes whose http-equiv meta wrongly says gb2312."""
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
    return _list_page(items, meta, host, None).encode("utf-8")
