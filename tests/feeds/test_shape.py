"""Tests for feeds.shape: hostile markup is refused before a parser builds it, real pages pass.

How long the refusal takes is measured by bench/bench_hostile.py, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feeds.errors import ParseError
from feeds.shape import MAX_DEPTH, check_shape
from tests.fakes import samples

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "html-pages"
NESTED = "<div>" * 600


def corpus_pages() -> list[str]:
    index = CORPUS / "index.json"
    if not index.is_file():
        return []
    return [page["file"] for page in json.loads(index.read_text(encoding="utf-8"))["pages"]]


def decoded(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030")


def test_100000_nested_divs_are_refused() -> None:
    page = "<html><body>" + "<div>" * 100_000 + "园区快讯" + "</div>" * 100_000 + "</body></html>"
    with pytest.raises(ParseError, match=f"nests elements more than {MAX_DEPTH} deep"):
        check_shape(page)


def test_depth_limit_is_exact_for_plain_nesting() -> None:
    check_shape("<div>" * MAX_DEPTH)
    with pytest.raises(ParseError, match="deep"):
        check_shape("<div>" * (MAX_DEPTH + 1))


def test_500000_sibling_elements_are_refused() -> None:
    with pytest.raises(ParseError, match="more than 100000 elements"):
        check_shape("<ul>" + "<li>" * 500_000 + "</ul>")


def test_formatting_elements_reopened_in_every_block_are_refused() -> None:
    # lexbor builds 4.5 million elements from these 60 KB: each <b> is reopened in every later <div>.
    with pytest.raises(ParseError, match="formatting elements open"):
        check_shape("".join(f"<div><b id={n}></div>" for n in range(3000)))


def test_formatting_elements_reopened_in_many_blocks_count_as_elements() -> None:
    # 18 KB that lexbor turns into 122,000 elements: 60 <b>s reopened in each of 2,000 paragraphs.
    page = "<div>" + "".join(f"<b id={n}>" for n in range(60)) + "</div>" + "<p>文字</p>" * 2000
    with pytest.raises(ParseError, match="elements"):
        check_shape(page)


def test_endless_misnesting_is_refused() -> None:
    with pytest.raises(ParseError, match="misnests formatting elements"):
        check_shape("<b><div></b>正文</div>" * 1500)


def test_a_flood_of_end_tags_is_refused() -> None:
    with pytest.raises(ParseError, match="tags"):
        check_shape("</span>" * 500_000)


@pytest.mark.parametrize(
    "page",
    [
        "<div/>" * 600,  # "/>" closes only void and foreign elements
        "<!-->" + NESTED,  # an empty comment
        "<!-- a --!>" + NESTED,
        "<p title=\"a>b\" data-x='c>d'>" + NESTED,
        "<svg><style>" + NESTED,  # in SVG a style is markup, and <div> leaves the SVG
        "<a href=x'y>" + NESTED,  # a quote inside an unquoted value starts nothing
        "<span><div></span>" * 600,  # </span> cannot close through a <div>
        "<form><div></form>" * 600,  # </form> takes the form away, not the <div> inside it
        "<li><section>" * 300,  # a new <li> does not close one outside a <section>
        "<table><tr><td>" * 200,  # tbody and tr count
        "<head>x<math><font color=red><select></svg>" * 600,  # this <font> leaves MathML, is reopened
        "<math><title><style>" + NESTED,  # a MathML title is no HTML integration point, as SVG's is
    ],
    ids=[
        "self-closing-div",
        "empty-comment",
        "comment-bang-end",
        "gt-in-quoted-attribute",
        "svg-style",
        "quote-in-unquoted-value",
        "span-around-div",
        "form-around-div",
        "li-in-section",
        "nested-tables",
        "font-leaving-mathml",
        "mathml-title-style",
    ],
)
def test_nesting_cannot_hide(page: str) -> None:
    with pytest.raises(ParseError, match="deep"):
        check_shape(page)


@pytest.mark.parametrize(
    "page",
    [
        "<ul>" + '<li><a href="/n.html">标题<font color=red>新' * 2000 + "</ul>",
        "<table>" + "<tr><td><font size=2>名称<td>2021-04-01" * 2000 + "</table>",
        "<p><font face=宋体>正文" * 2000,
        "<select>" + "<option value=1>长沙县" * 2000 + "</select>",
        "<dl>" + "<dt>项目<dd>说明" * 2000 + "</dl>",
        "<form><input name=q></form>" * 2000,
        "<b><div></b>正文</div>" * 500,
        "<p>" + "<br><img src=a.png><meta charset=gbk><input><hr><wbr>" * 5000,
        "<svg>" + "<path d='M0 0'/>" * 2000 + "</svg>",
        "<script>document.write('<div><div><div>')</script>" * 2000,
        "<!-- <div><div> -->" * 2000,
        "<h3>标题<h4>小标题" * 2000,
        "<textarea>" + "<div>" * 2000 + "</textarea>",
        "<svg><title><style>" + "<div>" * 2000,  # raw text: an SVG title is an HTML integration point
    ],
    ids=[
        "unclosed-li-a-font",
        "unclosed-td-font",
        "unclosed-p-font",
        "unclosed-options",
        "unclosed-dt-dd",
        "forms",
        "misnested-bold",
        "void-elements",
        "svg-paths",
        "markup-in-scripts",
        "markup-in-comments",
        "unclosed-headings",
        "markup-in-textarea",
        "svg-title-style",
    ],
)
def test_sloppy_real_markup_passes(page: str) -> None:
    check_shape(page)


def test_sample_list_pages_pass() -> None:
    check_shape(decoded(samples.gbk_list_page(samples.ITEMS)))
    check_shape(decoded(samples.utf8_page_declaring_gb2312(samples.ITEMS)))


@pytest.mark.parametrize("file", corpus_pages())
def test_corpus_pages_pass(file: str) -> None:
    check_shape(decoded((CORPUS / file).read_bytes()))


def test_corpus_pages_present_or_skipped() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    assert len(corpus_pages()) == 15
