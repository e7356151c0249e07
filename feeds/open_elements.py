"""A model of an HTML parser's stack of open elements (WHATWG HTML §13.2.4, §13.2.6), for measuring.

It follows what changes depth and element counts: void, raw-text and foreign elements, the end tags
that a parent's end or a sibling's start implies, the tbody and tr a table adds, and formatting
elements that a block's end closes and later text reopens (§13.2.4.3). Where it is simpler than the
standard it keeps elements open longer, so it errs towards too deep; where it cannot follow how the
parser rearranges misnested formatting elements, it allows that only a bounded number of times.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cache

from feeds.errors import ParseError
from feeds.html_elements import (
    BREAKOUT,
    CLOSED_IN_SCOPE,
    CLOSES_P,
    FONT_BREAKOUT,
    FORMATTING,
    IMPLIED,
    IMPLIED_END_TAGS,
    INTEGRATION,
    INTEGRATION_NAMES,
    LI_STOP,
    MARKERS,
    NO_REOPEN,
    NOT_PUSHED,
    RAW_TEXT,
    SCOPE,
    SPECIAL,
    TABLE_PARTS,
    VOID,
)

# Past this many formatting elements left open in one table cell, reopening them is the page's work.
MAX_FORMATTING = 64
# Each misnesting the model follows roughly may leave a parser a few levels deeper than it thinks.
MAX_MISNESTED = 1_000
_P = frozenset({"p"})
_GONE = -2


@cache
def _groups(name: str) -> tuple[frozenset[str], ...]:
    return tuple(group for group in (SPECIAL, LI_STOP, SCOPE, MARKERS) if name in group)


@dataclass(slots=True)
class _Formatting:
    """One entry in the list of active formatting elements (§13.2.4.3)."""

    key: str  # name and attributes: the parser keeps at most three alike
    name: str
    pos: int  # its place on the stack, or -1 when a block's end closed it and text reopens it


@dataclass(slots=True)
class OpenElements:
    """The stack of open elements, with what depth and element counts need to know of it."""

    max_depth: int
    max_elements: int
    elements: int = 0
    names: list[str] = field(default_factory=list)
    at: dict[str, list[int]] = field(default_factory=dict)  # positions of open elements by name
    marks: dict[frozenset[str], list[int]] = field(
        default_factory=lambda: {group: [] for group in (SPECIAL, LI_STOP, SCOPE, MARKERS)}
    )
    foreign: list[int] = field(default_factory=list)  # positions of SVG and MathML elements
    namespaces: list[str] = field(default_factory=list)  # theirs, "svg" or "math"
    frames: list[list[_Formatting]] = field(default_factory=lambda: [[]])  # one per marker, and the page
    open_formatting: dict[int, _Formatting] = field(default_factory=dict)
    misnested: int = 0
    # The parser's form element pointer: its place on the stack, _GONE once popped, None when unset.
    form: int | None = None

    def start(self, name: str, attrs: str) -> bool:
        """Read a start tag; return whether the parser would read raw text after it."""
        if self.foreign and self._in_foreign():
            if name not in BREAKOUT and not (name == "font" and FONT_BREAKOUT.search(attrs)):
                self._count(1)
                if not attrs.endswith("/"):
                    self._push(name, ns=name if name in ("svg", "math") else self.namespaces[-1])
                return False
            self._leave_foreign()
        self._count(1)
        if name == "select" and 0 <= self._mark(SCOPE) <= self._last("select"):
            self._pop_to(self._last("select"))  # a select inside a select only closes the open one
            return False
        if (name in TABLE_PARTS and self._last("table") < 0) or (name == "form" and self.form is not None):
            return False  # the parser drops these: a form inside a form, say
        self._close_implied(name)
        self._imply_rows(name)
        if name == "a" or (name == "nobr" and self._mark(SCOPE) < self._last("nobr")):
            self._end_formatting(name, starting=True)  # a new link closes an open one
        if name not in NO_REOPEN:
            self.reopen()
        self._insert(name, attrs)
        return name in RAW_TEXT

    def end(self, name: str) -> None:
        """Read an end tag: pop what the parser would pop, or less."""
        if name in ("p", "br") and self._in_foreign():
            self._leave_foreign()
        if (name in FORMATTING and self._end_formatting(name)) or (name == "form" and self._end_form()):
            return
        top = self._last(name)
        if top >= 0 and self._blocker(name, top) <= top:
            self._pop_to(top)
        elif name in ("p", "br"):
            self._count(1)  # the parser makes an element for a </p> with no <p>, and for </br>

    def reopen(self) -> None:
        """Reopen the formatting elements after the last one still open, as text or inline tags do."""
        frame = self.frames[-1]
        if not frame or frame[-1].pos >= 0:
            return
        first = len(frame)
        while first > 0 and frame[first - 1].pos < 0:
            first -= 1
        self._count(len(frame) - first)
        for entry in frame[first:]:
            self._push(entry.name)
            entry.pos = len(self.names) - 1
            self.open_formatting[entry.pos] = entry

    def _insert(self, name: str, attrs: str) -> None:
        if name in FORMATTING:
            self._start_formatting(name, attrs)
        elif name in ("svg", "math"):
            if not attrs.endswith("/"):
                self._push(name, ns=name)
        elif name not in VOID and name not in NOT_PUSHED and name not in RAW_TEXT:
            self._push(name)
            if name == "form":
                self.form = len(self.names) - 1

    def _close_implied(self, name: str) -> None:
        if name in CLOSES_P and self.at.get("p"):
            self._close(_P, max(self._mark(SCOPE), self._last("button")))
        rule = IMPLIED.get(name)
        if rule is not None and any(self.at.get(target) for target in rule[0]):
            self._close(rule[0], self._stop(rule[1]))

    def _stop(self, kind: str) -> int:
        if kind == "li":
            return self._mark(LI_STOP)
        if kind == "table":
            return self._last("table")
        return self._mark(SCOPE) if kind == "scope" else len(self.names) - 1

    def _imply_rows(self, name: str) -> None:
        """Add the tbody and tr a parser puts around cells and rows that a table holds bare."""
        if name not in ("tr", "td", "th"):
            return
        table = self._last("table")
        body = max(self._last("tbody"), self._last("thead"), self._last("tfoot"))
        if body < table:
            self._count(1)
            self._push("tbody")
        if name in ("td", "th") and self._last("tr") < table:
            self._count(1)
            self._push("tr")

    def _close(self, targets: frozenset[str], blocker: int) -> None:
        top = max((self._last(target) for target in targets), default=-1)
        if top >= 0 and blocker <= top:
            self._pop_to(top)

    def _blocker(self, name: str, top: int) -> int:
        """Return the position of the nearest element that keeps an end tag from closing `name`."""
        if name in TABLE_PARTS or name == "table":
            return self._last("table") if name != "table" else top
        if name == "li":
            return max(self._mark(SCOPE), self._last("ul"), self._last("ol"))
        if name == "p":
            return max(self._mark(SCOPE), self._last("button"))
        if name in CLOSED_IN_SCOPE and not self._is_foreign(top):
            return self._mark(SCOPE)
        return self._mark(SPECIAL)  # "any other end tag": any special element in between stops it

    def _start_formatting(self, name: str, attrs: str) -> None:
        frame = self.frames[-1]
        key = name + attrs  # unequal text may still be equal attributes: then it keeps more, never fewer
        alike = [entry for entry in frame if entry.key == key]
        if len(alike) >= 3:
            frame.remove(alike[0])  # the Noah's Ark clause
        if len(frame) >= MAX_FORMATTING:
            raise ParseError(f"page leaves more than {MAX_FORMATTING} formatting elements open")
        self._push(name)
        entry = _Formatting(key, name, len(self.names) - 1)
        frame.append(entry)
        self.open_formatting[entry.pos] = entry

    def _end_formatting(self, name: str, *, starting: bool = False) -> bool:
        """Close a formatting element as the adoption agency does (§13.2.6.4.7); False if none is active."""
        frame = self.frames[-1]
        entry = next((entry for entry in reversed(frame) if entry.name == name), None)
        if entry is None:
            return False
        if entry.pos >= 0 and self._mark(SCOPE) > entry.pos:  # out of scope: an end tag is ignored
            if starting:
                frame.remove(entry)
                self._remove(entry.pos)
            return True
        frame.remove(entry)
        if entry.pos < 0:
            return True
        block = self._mark(SPECIAL)
        if block < entry.pos:
            self._pop_to(entry.pos)
            return True
        # A block inside it: the parser takes it and the inline elements between off the stack, and
        # keeps their depth (the adoption agency, §13.2.6.4.7). That rearranges the tree in ways this
        # model only follows roughly, so it is allowed a bounded number of times.
        self.misnested += 1
        if self.misnested > MAX_MISNESTED:
            raise ParseError(f"page misnests formatting elements more than {MAX_MISNESTED} times")
        first_block = self.marks[SPECIAL][bisect_left(self.marks[SPECIAL], entry.pos)]
        for pos in range(entry.pos, first_block):
            if pos == entry.pos or pos not in self.open_formatting:
                self._remove(pos)
        return True

    def _end_form(self) -> bool:
        pos, self.form = self.form, None
        if pos is None or pos == _GONE or self._mark(SCOPE) > pos:
            return True
        while self.names[-1] in IMPLIED_END_TAGS:
            self._pop_to(len(self.names) - 1)
        self._remove(pos)  # the form alone, not what is still open inside it
        return True

    def _push(self, name: str, *, ns: str = "") -> None:
        """Push an element; `ns` is "svg" or "math" for a foreign one."""
        pos = len(self.names)
        if pos >= self.max_depth:
            raise ParseError(f"page nests elements more than {self.max_depth} deep")
        self.names.append(name)
        self.at.setdefault(name, []).append(pos)
        # Foreign elements count by their HTML names only where they are integration points.
        if (name in INTEGRATION[ns]) if ns else (name not in INTEGRATION_NAMES):
            for group in _groups(name):
                self.marks[group].append(pos)
        if ns:
            self.foreign.append(pos)
            self.namespaces.append(ns)
        elif name in MARKERS:
            self.frames.append([])

    def _pop_to(self, pos: int) -> None:
        while self.names and (len(self.names) > pos or not self.names[-1]):  # and the removed below
            top = len(self.names) - 1
            name = self.names.pop()
            if name:
                self.at[name].pop()
            if name in MARKERS and self._mark(MARKERS) == top:
                self.frames.pop()
            for group in _groups(name):
                positions = self.marks[group]
                if positions and positions[-1] == top:
                    positions.pop()
            if self.foreign and self.foreign[-1] == top:
                self.foreign.pop()
                self.namespaces.pop()
            if top == self.form:
                self.form = _GONE
            if name in FORMATTING and top in self.open_formatting:
                self.open_formatting.pop(top).pos = -1

    def _remove(self, pos: int) -> None:
        """Take an element off the stack but leave its place: what the parser keeps open stays as deep."""
        if pos == len(self.names) - 1:
            self._pop_to(pos)
            return
        self.open_formatting.pop(pos, None)
        name, self.names[pos] = self.names[pos], ""
        if name:
            self.at[name].remove(pos)
            for positions in self.marks.values():
                if pos in positions:
                    positions.remove(pos)

    def _count(self, added: int) -> None:
        self.elements += added
        if self.elements > self.max_elements:
            raise ParseError(f"page has more than {self.max_elements} elements")

    def _leave_foreign(self) -> None:
        while self._in_foreign():
            self._pop_to(len(self.names) - 1)

    def _is_foreign(self, pos: int) -> bool:
        found = bisect_left(self.foreign, pos)
        return found < len(self.foreign) and self.foreign[found] == pos

    def _in_foreign(self) -> bool:
        top = len(self.names) - 1
        if not self.foreign or self.foreign[-1] != top:
            return False
        return self.names[top] not in INTEGRATION[self.namespaces[-1]]

    def _last(self, name: str) -> int:
        positions = self.at.get(name)
        return positions[-1] if positions else -1

    def _mark(self, group: frozenset[str]) -> int:
        positions = self.marks[group]
        return positions[-1] if positions else -1
