"""Time budgets for hostile input and for stopping: what the unit tests check by behaviour only.

The tests prove that hostile inputs end in the right error and that `parkbot run` stops on a signal;
how long that takes is measured here, where a loaded CI machine cannot fail the suite. Each row runs
3 times and prints the median, the min–max range and the budget; PASS when the median is within it.

- parse: the billion-laughs file and the quadratic entity blowup (a ParseError within 1 s), a JSON Feed
  with 200,000 stray brackets (parsed within 1 s), and parse_feed's CPU against bare feedparser.parse
  on the same 50-item Chinese RSS (within 1.2×, the best of 9 each);
- html: parse_list_page on 100,000 nested <div>s, 500,000 sibling <li>s and 3,000 <b>s that every
  later block reopens (each a ParseError within 2 s), and a real list page from ../shared/corpus
  (its items, within 0.5 s);
- fetch, against aiohttp servers on 127.0.0.1: a 50 MB chunked body over a 1 MB cap (abandoned within
  2 s), a server that never answers and a body trickling 1 byte per 20 ms, both with a 0.2 s timeout
  (the never-answering one between 0.15 and 1 s, the trickle within 1 s);
- poll: the fake news site's hostile endpoints polled beside a good source (each fails within 2 s);
- stop: `parkbot run` from SIGTERM or SIGINT to exit 0 (within 10 s).

Exit status 1 when a row misses its budget or a behaviour differs from the tests' (shown as "wrong").
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import feedparser
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.pipeline import Poller, build_fetcher
from feeds.charset import decode_html
from feeds.errors import FetchError, ParseError
from feeds.fetch import BodyTooLarge, Fetcher, FetchTimeout
from feeds.html_list import parse_list_page
from feeds.models import ListSelectors, ParsedFeed
from feeds.parse import parse_feed
from storage.db import connect
from storage.sources import sync_sources
from tests.bot.cli.test_run import ROOT, free_port
from tests.bot.test_pipeline import LIST, TZ, feed_source, html_source, polling
from tests.fakes import samples
from tests.fakes.news_site import NewsSite
from tests.feeds.test_corpus_html import CORPUS as HTML_CORPUS
from tests.feeds.test_corpus_html import SELECTORS as CORPUS_SELECTORS
from tests.feeds.test_parse import DATA, FEED_URL, SHANGHAI, chinese_rss

USER_AGENT = "parkbot-bench/1.0"
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # the tests' fixed_now
HOSTILE_PATHS = [  # as in tests/bot/test_pipeline.py, with the error the test expects where it names one
    ("/hostile/slow", "FetchTimeout"),
    ("/hostile/huge", "BodyTooLarge"),
    ("/hostile/redirect-loop", "TooManyRedirects"),
    ("/hostile/billion-laughs.xml", ""),
    ("/hostile/junk.xml", ""),
    ("/hostile/500", ""),
    ("/hostile/429", ""),
]


@dataclass
class Row:
    """One measured budget: seconds (or a ratio), the bounds, and any behaviour that was wrong."""

    name: str
    samples: list[float]
    high: float
    low: float | None = None
    ratio: bool = False
    wrong: str = ""
    detail: str = ""

    def passed(self) -> bool:
        middle = statistics.median(self.samples)
        return not self.wrong and middle < self.high and (self.low is None or middle > self.low)

    def show(self, value: float) -> str:
        if self.ratio:
            return f"{value:.2f}×"
        if value < 0.001:
            return f"{value * 1e6:.0f} µs"
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"

    def budget(self) -> str:
        if self.low is not None:
            return f"{self.low:g}–{self.high:g} s"
        return f"< {self.high:.2f}×" if self.ratio else f"< {self.high:g} s"


def report(rows: list[Row], runs: int) -> bool:
    """Print the table; return True when every row passed."""
    width = max(len(row.name) for row in rows)
    print(f"{'':{width}}  {'median':>10}  {f'min–max of {runs}':>21}  {'budget':>11}")
    for row in rows:
        verdict = "PASS" if row.passed() else "MISS"
        spread = f"{row.show(min(row.samples))} – {row.show(max(row.samples))}"
        note = f"  wrong: {row.wrong}" if row.wrong else (f"  ({row.detail})" if row.detail else "")
        print(
            f"{row.name:{width}}  {row.show(statistics.median(row.samples)):>10}  {spread:>21}"
            f"  {row.budget():>11}  {verdict}{note}"
        )
    return all(row.passed() for row in rows)


# ---- parse -------------------------------------------------------------------------------------------


def quadratic_blowup() -> bytes:
    """As in test_quadratic_blowup_is_refused: one 100 KB entity referenced 1,000 times."""
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 100_000 + b'">\n]>\n'
        b'<rss version="2.0"><channel><item><title>' + b"&a;" * 1000 + b"</title></item></channel></rss>"
    )


def json_stray_brackets() -> bytes:
    """As in test_json_feed_html_loses_scripts_and_keeps_stray_brackets."""
    hostile = "<p>正文</p><script>alert(1)</script><style>p{}</style>" + "<" * 200_000 + "<script>" * 20_000
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "1", "title": "t", "content_html": hostile},
            {"id": "2", "url": "/2", "content_html": "<p>只有正文</p><script>x()</script>尾"},
        ],
    }
    return json.dumps(doc).encode()


def refused(outcome: object) -> str:
    return "" if isinstance(outcome, ParseError) else f"parsed instead of a ParseError: {outcome!r:.80}"


def brackets_kept(outcome: object) -> str:
    if isinstance(outcome, ParseError):
        return f"ParseError: {outcome}"
    return "" if outcome.items[0].summary.startswith("正文 <<<") else "summary lost the stray brackets"


def bench_hostile_parse(runs: int) -> list[Row]:
    cases = [
        ("parse: billion laughs → ParseError", (DATA / "billion-laughs.xml").read_bytes(), refused),
        ("parse: quadratic blowup → ParseError", quadratic_blowup(), refused),
        ("parse: JSON Feed, 200k stray '<'", json_stray_brackets(), brackets_kept),
    ]
    rows = []
    for name, body, check in cases:
        row = Row(name, [], high=1.0)
        for _ in range(runs):
            started = time.perf_counter()
            try:
                outcome: object = parse_feed(body, url=FEED_URL, content_type=None, tz=SHANGHAI)
            except ParseError as error:
                outcome = error
            row.samples.append(time.perf_counter() - started)
            row.wrong = row.wrong or check(outcome)
        rows.append(row)
    return rows


LIST_SELECT = ListSelectors(item="ul.news-list > li", title="a", link="a@href")
CORPUS_LIST = ("list-hrfund-announcements.html", "main")  # the largest list page in the corpus


def hostile_pages() -> list[tuple[str, str]]:
    """As in tests/feeds/test_shape.py and test_html_list.py."""
    return [
        ("html: 100,000 nested <div>s → ParseError", "<html><body>" + "<div>" * 100_000 + "</div>" * 100_000),
        ("html: 500,000 sibling <li>s → ParseError", '<ul class="news-list">' + "<li>" * 500_000 + "</ul>"),
        (
            "html: 3,000 <b>s reopened per block → ParseError",
            "".join(f"<div><b id={n}></div>" for n in range(3000)),
        ),
    ]


def parse_page(
    html: str, url: str = FEED_URL, select: ListSelectors = LIST_SELECT
) -> ParsedFeed | ParseError:
    """Return parse_list_page's feed, or the ParseError it raised."""
    try:
        return parse_list_page(html, url=url, select=select, now=NOW, tz=SHANGHAI)
    except ParseError as error:
        return error


def bench_hostile_html(runs: int) -> list[Row]:
    rows = []
    for name, html in hostile_pages():
        row = Row(name, [], high=2.0, detail=f"{len(html.encode()) / 1e6:.1f} MB")
        for _ in range(runs):
            started = time.perf_counter()
            outcome = parse_page(html)
            row.samples.append(time.perf_counter() - started)
            row.wrong = row.wrong or refused(outcome)
        row.detail += f", {outcome}" if isinstance(outcome, ParseError) else ""
        rows.append(row)
    return rows + bench_corpus_list_page(runs)


def bench_corpus_list_page(runs: int) -> list[Row]:
    file, list_name = CORPUS_LIST
    path = HTML_CORPUS / file
    if not path.is_file():
        print(f"skipped the corpus list page: {path} is absent")
        return []
    expected = json.loads((HTML_CORPUS / "index.json").read_text(encoding="utf-8"))
    count = next(page for page in expected["pages"] if page["file"] == file)["expected"][list_name]["count"]
    url, select = CORPUS_SELECTORS[(file, list_name)]
    body = path.read_bytes()
    row = Row(f"html: corpus {file} parses", [], high=0.5)
    for _ in range(runs):
        started = time.perf_counter()
        outcome = parse_page(decode_html(body, "text/html")[0], url, select)
        row.samples.append(time.perf_counter() - started)
        found = len(outcome.items) if not isinstance(outcome, ParseError) else outcome
        row.wrong = row.wrong or ("" if found == count else f"{found}, not {count} items")
    row.detail = f"{len(body) / 1000:.0f} KB, {count} items"
    return [row]


def best_cpu_seconds(run: Callable[[], object], repeat: int = 9) -> float:
    timings = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        timings.append(time.process_time() - started)
    return min(timings)


def cpu_of_both(body: bytes) -> tuple[float, float]:
    """Best-of-9 CPU seconds of parse_feed and of bare feedparser.parse on the same bytes."""
    headers = {"content-type": "application/rss+xml", "content-location": FEED_URL}
    bare = best_cpu_seconds(lambda: feedparser.parse(io.BytesIO(body), response_headers=headers))
    ours = best_cpu_seconds(
        lambda: parse_feed(body, url=FEED_URL, content_type="application/rss+xml", tz=SHANGHAI)
    )
    return ours, bare


def bench_cpu_ratio(runs: int) -> list[Row]:
    rows = []
    for encoding in ("utf-8", "gb2312"):
        body = chinese_rss(encoding)
        row = Row(f"parse: CPU vs bare feedparser, 50 items {encoding}", [], high=1.2, ratio=True)
        ours_ms, bare_ms = [], []
        for _ in range(runs):
            ours, bare = cpu_of_both(body)
            row.samples.append(ours / bare)
            ours_ms.append(ours * 1000)
            bare_ms.append(bare * 1000)
        row.detail = (
            f"parse_feed {statistics.median(ours_ms):.1f} ms, feedparser {statistics.median(bare_ms):.1f} ms"
        )
        rows.append(row)
    return rows


# ---- fetch and poll, against local servers -----------------------------------------------------------


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve app on 127.0.0.1, a free port; return the runner and the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def fetch_app(release: asyncio.Event) -> web.Application:
    """The handlers of tests/feeds/test_fetch.py's timing tests: huge, never answering, trickling."""

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)  # chunked: no Content-Length to refuse up front
        sent, chunk = 0, b"x" * 65536
        try:
            while sent < 50 * 1024 * 1024:
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:  # the client hung up at the cap
            pass
        return response

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=b"late")

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"x")
                await asyncio.sleep(0.02)
        except ConnectionError:  # the client gave up at the timeout
            return response

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/trickle", trickle)
    return app


async def bench_fetch(runs: int) -> list[Row]:
    cases: list[tuple[Row, str, dict[str, float], type[FetchError]]] = [
        (
            Row("fetch: 50 MB chunked body, 1 MB cap", [], high=2.0),
            "/big",
            {"max_body": 1 << 20},
            BodyTooLarge,
        ),
        (
            Row("fetch: never answers, 0.2 s timeout", [], low=0.15, high=1.0),
            "/slow",
            {"timeout": 0.2},
            FetchTimeout,
        ),
        (
            Row("fetch: 1 B per 20 ms, 0.2 s timeout", [], high=1.0),
            "/trickle",
            {"timeout": 0.2},
            FetchTimeout,
        ),
    ]
    release = asyncio.Event()
    runner, base = await start(fetch_app(release))
    try:
        async with aiohttp.ClientSession() as session:
            for row, path, options, expected in cases:
                settings = {"timeout": 2.0, "max_body": 1_000_000, "per_host": 2, **options}
                fetcher = Fetcher(session, user_agent=USER_AGENT, **settings)  # type: ignore[arg-type]
                for _ in range(runs):
                    result = await fetcher.fetch(base + path)
                    row.samples.append(result.elapsed)
                    if not isinstance(result.error, expected):
                        row.wrong = f"{result.status.name} {result.error!r}, not {expected.__name__}"
    finally:
        release.set()
        await runner.cleanup()
    return [row for row, *_ in cases]


async def poll_once(folder: Path) -> dict:
    """Poll the hostile endpoints and one good list page on a fresh site and database, as the test does."""
    site = NewsSite()
    runner, base = await start(site.app())
    db = await connect(folder / "bench.db")
    try:
        host = base.removeprefix("http://")
        site.set_page(LIST, samples.gbk_list_page(samples.ITEMS[:3], host=host), "text/html")
        good = html_source(base + LIST, "good")
        hostile = [feed_source(base + path, f"h{n}") for n, (path, _) in enumerate(HOSTILE_PATHS)]
        await sync_sources(db, [(s.id, s.url) for s in (good, *hostile)], NOW)
        config = polling()
        async with aiohttp.ClientSession() as session:
            poller = Poller(db, build_fetcher(session, config), config, TZ, clock=lambda: NOW)
            return {r.source_id: r for r in await poller.poll_all([*hostile, good])}
    finally:
        await db.close()
        await runner.cleanup()


async def bench_poll(runs: int) -> list[Row]:
    rows = [Row(f"poll: {path} fails alone", [], high=2.0) for path, _ in HOSTILE_PATHS]
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            results = await poll_once(Path(folder))
        good = results["good"]
        for n, (row, (_, expected)) in enumerate(zip(rows, HOSTILE_PATHS, strict=True)):
            result = results[f"h{n}"]
            row.samples.append(result.elapsed)
            if result.status != "error" or expected not in (result.error or ""):
                row.wrong = f"{result.status}: {result.error}"
            if good.status != "ok" or len(good.new) != 3:  # a fresh database each run: all 3 are new
                row.wrong = f"the good source did not succeed: {good.status} {good.error}"
    return rows


# ---- stop --------------------------------------------------------------------------------------------


def stop_once(folder: Path, sig: signal.Signals) -> tuple[float, str]:
    """Start `parkbot run`, ask /healthz, signal it; return seconds from signal to exit and what was wrong."""
    port = free_port()
    config = folder / "config.toml"
    config.write_text(
        f'[bot]\ndatabase = "parkbot.db"\n[server]\nport = {port}\n'
        '[[subscribers]]\nid = "console"\nplatform = "console"\nwebhook = "-"\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "bot", "run", "-c", str(config)]
    service = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds, code = 0.0, None
    try:
        assert service.stderr is not None
        if any(b"bot.app listening" in line for line in service.stderr):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                response.read()
            started = time.perf_counter()
            service.send_signal(sig)
            code = service.wait(timeout=60)
            seconds = time.perf_counter() - started
    finally:
        if service.poll() is None:
            service.kill()
        _, err = service.communicate()
    if code is None:
        return seconds, f"never listened, exit {service.returncode}"
    if code != 0 or b"stopped" not in err or b"Traceback" in err:
        return seconds, f"exit {code}: {err.decode(errors='replace')[-200:]!r}"
    return seconds, ""


def bench_stop(runs: int) -> list[Row]:
    rows = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        row = Row(f"stop: parkbot run, {sig.name} to exit 0", [], high=10.0)
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                seconds, wrong = stop_once(Path(folder), sig)
            row.samples.append(seconds)
            row.wrong = row.wrong or wrong
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = bench_hostile_parse(args.runs) + bench_cpu_ratio(args.runs) + bench_hostile_html(args.runs)
    rows += asyncio.run(bench_fetch(args.runs))
    rows += asyncio.run(bench_poll(args.runs))
    rows += bench_stop(args.runs)
    if not report(rows, args.runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
