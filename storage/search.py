"""Chinese search over stored items' titles and summaries."""

from __future__ import annotations

import re

from storage.db import Database
from storage.errors import SearchError
from storage.items import _NEWEST, StoredItem, item_from_row

# The trigram tokenizer needs three characters; shorter terms are matched with LIKE.
_TRIGRAM = 3
# Each term is one more clause: thousands of them exceed SQLite's expression depth (1,000).
MAX_SEARCH_TERMS = 16
MAX_TERM_LENGTH = 100  # characters; longer than any headline word
# NUL ends an FTS5 string early ("unterminated string"); no control character is in a stored title.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


async def search_items(
    db: Database, text: str, *, source_id: str | None = None, limit: int = 10
) -> list[StoredItem]:
    """Return the newest items whose title or summary contains every term of text (see search_terms)."""
    clauses, params = [], []
    for term in search_terms(text):
        if len(term) >= _TRIGRAM:
            clauses.append("id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
            params.append('"' + term.replace('"', '""') + '"')
        else:
            pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("(title LIKE ? ESCAPE '\\' OR summary LIKE ? ESCAPE '\\')")
            params += [pattern, pattern]
    if not clauses:
        return []
    if source_id:
        clauses.append("source_id = ?")
        params.append(source_id)
    rows = await db.fetchall(
        f"SELECT * FROM items WHERE {' AND '.join(clauses)} {_NEWEST} LIMIT ?", [*params, limit]
    )
    return [item_from_row(row) for row in rows]


def search_terms(text: str) -> list[str]:
    """Split search text into its terms; raise SearchError for text no query should be built from."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # undecodable bytes from the command line arrive as surrogates
        raise SearchError("is not UTF-8 text") from exc
    terms = _CONTROL.sub(" ", text).split()
    if len(terms) > MAX_SEARCH_TERMS:
        raise SearchError(f"at most {MAX_SEARCH_TERMS} words, not {len(terms)}")
    longest = max(terms, key=len, default="")
    if len(longest) > MAX_TERM_LENGTH:
        raise SearchError(f"words of at most {MAX_TERM_LENGTH} characters, not {len(longest)}")
    return terms
