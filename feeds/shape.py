"""How deep a page's markup nests and how many elements it makes, measured before a parser builds it.

lexbor spends time in proportion to the depth on many of the elements it adds: 100,000 nested <div>s
(1.1 MB) took a minute, and 3,000 <b>s that a block's end leaves open, which the parser reopens in
every later block, build 4.5 million elements from 60 KB. check_shape() reads the tags once, in linear
time, into a model of the parser's stack of open elements (feeds/open_elements.py).
"""

from __future__ import annotations

import re

from feeds.errors import ParseError
from feeds.open_elements import OpenElements

# Chromium's parser stops nesting at 512 too (kMaximumHTMLParserDOMTreeDepth); the deepest page in
# our corpus nests 32.
MAX_DEPTH = 512
# The largest page in our corpus has 1,251 elements; list pages have a few hundred.
MAX_ELEMENTS = 100_000
# End tags and comments cost the scan time too; a real page has about two tags per element.
TAGS_PER_ELEMENT = 4

_WS = r"[\t\n\f\r ]"
# A tag as the tokenizer reads it (§13.2.5): "<" inside a tag is part of a name, and only a quoted
# value right after "=" may hold ">". Possessive quantifiers keep every search linear.
_TOKEN = re.compile(
    rf"""<(?:(?P<comment>!--)|(?P<end>/?)(?P<name>[A-Za-z][^\t\n\f\r />]*+)(?P<attrs>(?:[\t\n\f\r /]++
    |[^\t\n\f\r />][^\t\n\f\r /=>]*+(?:{_WS}*+={_WS}*+(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r >]*+))?)*+)>?)""",
    re.VERBOSE,
)
_COMMENT_END = re.compile(r"-?>|.*?--!?>", re.DOTALL)  # "<!-->" and "<!--->" end at once
_RAW_END: dict[str, re.Pattern[str]] = {}


def check_shape(html: str, *, max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS) -> None:
    """Raise ParseError when the markup nests deeper or makes more elements than a parser should face."""
    # Every tag takes three characters or more ("<b>"), so shorter markup holds under max_depth tags,
    # and reopening formatting elements can make at most (max_depth / 2)² elements of them.
    if len(html) < 3 * max_depth and (max_depth // 2) ** 2 <= max_elements:
        return
    tree = OpenElements(max_depth, max_elements)
    pos = tags = 0
    while (match := _TOKEN.search(html, pos)) is not None:
        tags += 1
        if tags > max_elements * TAGS_PER_ELEMENT:
            raise ParseError(f"page has more than {max_elements * TAGS_PER_ELEMENT} tags")
        if match["comment"]:
            ended = _COMMENT_END.match(html, match.end())
            if ended is None:
                return  # the rest of the page is a comment
            pos = ended.end()
            continue
        if match.start() > pos:
            tree.reopen()  # text: the parser reopens formatting elements a block's end closed
        pos = match.end()
        name = match["name"].lower()
        if match["end"]:
            tree.end(name)
        elif tree.start(name, match["attrs"]):
            raw_end = _raw_end(name).search(html, pos)
            if raw_end is None or name == "plaintext":
                return
            pos = raw_end.end()


def _raw_end(name: str) -> re.Pattern[str]:
    if name not in _RAW_END:
        _RAW_END[name] = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)
    return _RAW_END[name]
