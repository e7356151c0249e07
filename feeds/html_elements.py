"""Groups of HTML elements as the WHATWG parsing rules name them (HTML §13.2.4.2, §13.2.6.4.7)."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


VOID = _words(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param source track wbr"
)
# noscript is markup for lexbor, which parses as a browser with scripting off does.
RAW_TEXT = _words("script style textarea title xmp iframe noembed noframes plaintext")
NOT_PUSHED = _words("html head body")  # merged into the ones the parser made
FORMATTING = _words("a b big code em font i nobr s small strike strong tt u")
MARKERS = _words("applet object marquee template td th caption")
# Where HTML rules hold again inside SVG and MathML.
INTEGRATION = {"svg": _words("foreignobject desc title"), "math": _words("mi mo mn ms mtext annotation-xml")}
INTEGRATION_NAMES = INTEGRATION["svg"] | INTEGRATION["math"]
SCOPE = MARKERS | INTEGRATION_NAMES | {"html", "table", "select"}  # lexbor: end tags stop at a select
SPECIAL = SCOPE | _words(
    """address area article aside base basefont bgsound blockquote body br button center col colgroup
    dd details dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5
    h6 head header hgroup hr iframe img input keygen li link listing main menu meta nav noembed noframes
    noscript ol p param plaintext pre script search section select source style summary tbody textarea
    tfoot thead title tr track ul wbr xmp"""
)
LI_STOP = SPECIAL - {"address", "div", "p"}
CLOSES_P = _words(
    """address article aside blockquote center details dialog dir div dl fieldset figcaption figure
    footer form h1 h2 h3 h4 h5 h6 header hgroup main menu nav ol p pre listing search section summary ul
    li dd dt xmp plaintext"""
)
# End tags that close their element through other special ones, up to a scope boundary.
CLOSED_IN_SCOPE = _words(
    """address article aside blockquote button center details dialog dir div dl fieldset figcaption
    figure footer header hgroup listing main menu nav ol pre search section select summary ul dd dt h1
    h2 h3 h4 h5 h6 applet marquee object template"""
)
IMPLIED_END_TAGS = _words("dd dt li optgroup option p rb rp rt rtc")
TABLE_PARTS = _words("caption colgroup tbody thead tfoot tr td th")
BREAKOUT = _words(
    """b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img li
    listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var"""
)
NO_REOPEN = CLOSES_P | TABLE_PARTS | NOT_PUSHED | RAW_TEXT | _words("table base link meta hr")
# start tag: (the open elements it closes, what stops the search)
IMPLIED: dict[str, tuple[frozenset[str], str]] = {
    "li": (_words("li"), "li"),
    "dd": (_words("dd dt"), "li"),
    "dt": (_words("dd dt"), "li"),
    "option": (_words("option"), "top"),
    "button": (_words("button"), "scope"),
    **{f"h{n}": (_words("h1 h2 h3 h4 h5 h6"), "top") for n in range(1, 7)},
    "tr": (_words("tr"), "table"),
    "td": (_words("td th"), "table"),
    "th": (_words("td th"), "table"),
    "tbody": (_words("tbody thead tfoot"), "table"),
    "thead": (_words("tbody thead tfoot"), "table"),
    "tfoot": (_words("tbody thead tfoot"), "table"),
}
# A <font> with one of these attributes leaves SVG and MathML, as the BREAKOUT elements do.
FONT_BREAKOUT = re.compile(r"(?:^|[\t\n\f\r /])(?:color|face|size)(?=[\t\n\f\r /=]|$)", re.IGNORECASE)
