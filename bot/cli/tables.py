"""Plain-text tables that line up with Chinese text on a terminal."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def display_width(text: str) -> int:
    """Return how many terminal columns text takes (wide CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, width: int) -> str:
    """Shorten text to at most width columns, marking a cut with …, and pad it to width."""
    if display_width(text) > width:
        out, used = [], 0
        for ch in text:
            w = display_width(ch)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
    return text + " " * (width - display_width(text))


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 60) -> str:
    """Return rows as aligned columns, each at most max_width columns wide."""
    widths = [
        min(max_width, max([display_width(h)] + [display_width(r[i]) for r in rows]))
        for i, h in enumerate(headers)
    ]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(fit(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
