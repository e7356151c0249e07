"""Choose the encoding of a fetched body and decode it, trusting a declaration only if the bytes agree."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

SNIFF_BYTES = 2048

# Labels from the WHATWG Encoding Standard that Python does not know.
_ALIASES = {
    "x-gbk": "gbk",
    "gb_2312": "gb2312",
    "gb_2312-80": "gb2312",
    "csgb2312": "gb2312",
    "cn-big5": "big5",
    "x-x-big5": "big5",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "unicode20utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
}
# GB2312 and GBK are subsets of GB18030: Chinese sites label GBK bytes (镕, 喆…) "gb2312", and
# browsers decode every one of these labels with the GB18030 decoder (WHATWG Encoding §10.1).
_GB_CODECS = frozenset({"gb2312", "gbk", "gb18030"})
# Browsers read latin-1 and ASCII labels as windows-1252 (WHATWG Encoding §4.2).
_WINDOWS_1252_CODECS = frozenset({"ascii", "iso8859-1"})
# Text codecs that no web page uses; utf-7 is refused by browsers as an XSS vector.
_REFUSED_CODECS = frozenset(
    {"undefined", "utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode"}
)
_WIDE_CODECS = ("utf-16", "utf-32")
# Where a wrong declaration shows as bad sequences all through the non-ASCII text (GBK read as UTF-8:
# 78% of it; GBK as Big5: 6%; UTF-8 as GBK: 2%). Single-byte codecs are left out: they decode nearly
# any byte, so a bad one is the only sign that a header's default latin-1 is wrong.
_MULTIBYTE_CODECS = frozenset(
    {"utf-8", "gb18030", "big5", "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949"}
)
# A right declaration still meets a few bad sequences: a title a CMS cut mid-character by bytes, one
# line pasted from a page in another encoding. "A few" is at most max(8, 0.5%) of the non-ASCII
# characters, never more than 1 in 10 of them; counted against non-ASCII text only, because ASCII
# markup and scripts would otherwise hide a wrong declaration on a page with little Chinese in it.
_FEW_BAD, _FEW_BAD_SHARE, _MOST_GOOD = 8, 0.005, 10

# BOMs first, then the XML 1.0 Appendix F guesses for an unmarked "<?" in UTF-16/32.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_UNMARKED = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_XML_DECLARATION = re.compile(r"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']\s*([^"'\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(r"""<meta\b[^>]*?charset\s*=\s*["']?\s*([^\s"'/>;]+)""", re.IGNORECASE)


def canonical_encoding(name: str) -> str:
    """Return Python's codec name for an encoding label; any gb* label gives "gb18030"."""
    label = name.strip().strip("\"'").strip().lower()
    label = _ALIASES.get(label, label)
    codec = codecs.lookup(label).name
    if codec in _REFUSED_CODECS:
        raise LookupError(f"refusing encoding: {name}")
    try:
        b"a".decode(codec)
    except UnicodeDecodeError:
        pass  # a text codec that needs more bytes, such as utf-16
    except LookupError:
        raise LookupError(f"not a text encoding: {name}") from None
    if codec in _GB_CODECS:
        return "gb18030"
    return "cp1252" if codec in _WINDOWS_1252_CODECS else codec


def header_charset(content_type: str | None) -> str | None:
    """Return the charset parameter of a Content-Type header, unvalidated."""
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").strip() or None
    return None


def sniff_bom(body: bytes) -> tuple[str, int] | None:
    """Return (codec, BOM length) from a BOM or an unmarked UTF-16/32 "<?", else None."""
    for mark, codec in _BOMS:
        if body.startswith(mark):
            return codec, len(mark)
    for mark, codec in _UNMARKED:
        if body.startswith(mark):
            return codec, 0
    return None


def xml_declared_charset(body: bytes) -> str | None:
    """Return the encoding named by the XML declaration, unvalidated."""
    match = _XML_DECLARATION.match(body[:SNIFF_BYTES].decode("latin-1"))
    return match.group(1) if match else None


def meta_declared_charset(body: bytes) -> str | None:
    """Return the encoding named by an HTML <meta charset> or http-equiv in the first 2 KB."""
    match = _META_CHARSET.search(body[:SNIFF_BYTES].decode("latin-1"))
    return match.group(1) if match else None


def detect_encoding(body: bytes) -> str | None:
    """Guess the encoding of undeclared or misdeclared bytes with charset-normalizer."""
    best = from_bytes(body).best()
    return known_encoding(best.encoding) if best is not None else None


def is_utf8(body: bytes) -> bool:
    """Tell whether the bytes are valid UTF-8."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(body: bytes, content_type: str | None, override: str | None = None) -> tuple[str, str]:
    """Decode a page or feed body; return (text, codec used).

    Order: the source's override, a BOM, the header charset, the XML declaration or <meta>, UTF-8,
    charset-normalizer, then the first declaration or UTF-8. A declaration or UTF-8 wins when all but a
    few bytes fit it; those few become U+FFFD. An unknown override raises LookupError.
    """
    if override:
        codec = canonical_encoding(override)
        return body.decode(codec, "replace"), codec
    bom = sniff_bom(body)
    if bom is not None:
        codec, skip = bom
        return body[skip:].decode(codec, "replace"), codec
    declared = _declared_codecs(body, content_type)
    utf8 = _decode_if_fits(body, "utf-8")
    for codec in declared:
        if utf8 is not None and _is_legacy(codec) and not body.isascii():
            # Multibyte UTF-8, even with a few bad bytes, is almost never legacy text: the "declares
            # gb2312, sends UTF-8" trap.
            continue
        text = utf8 if codec == "utf-8" else _decode_if_fits(body, codec)
        if text is not None:
            return text, codec
    if utf8 is not None:
        return utf8, "utf-8"
    codec = detect_encoding(body) or (declared[0] if declared else "utf-8")
    return body.decode(codec, "replace"), codec


def _declared_codecs(body: bytes, content_type: str | None) -> list[str]:
    header = known_encoding(header_charset(content_type))
    document = known_encoding(xml_declared_charset(body) or meta_declared_charset(body))
    if document and document.startswith(_WIDE_CODECS):
        # Readable through an ASCII view, so the bytes cannot be UTF-16/32 (HTML §13.2.3.2).
        document = "utf-8"
    # Servers such as Tomcat send latin-1 by default; a page that names its own encoding knows better.
    order = [document, header] if header == "cp1252" else [header, document]
    return list(dict.fromkeys(codec for codec in order if codec))


def _is_legacy(codec: str) -> bool:
    return codec != "utf-8" and not codec.startswith(_WIDE_CODECS)


def _decode_if_fits(body: bytes, codec: str) -> str | None:
    """Decode strictly; a multibyte codec may replace a few bad sequences, a single-byte one none."""
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        if codec not in _MULTIBYTE_CODECS:
            return None
    text = body.decode(codec, "replace")
    return text if _few_replaced(text) else None


def _few_replaced(text: str) -> bool:
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return bad <= max(_FEW_BAD, non_ascii * _FEW_BAD_SHARE) and bad * _MOST_GOOD <= non_ascii


def known_encoding(label: str | None) -> str | None:
    """Return canonical_encoding(label), or None for a missing or unknown label."""
    if not label:
        return None
    try:
        return canonical_encoding(label)
    except LookupError:
        return None
