from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from feeds.dates import parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-01-02 10:00 in Beijing: just after New Year, so year-less dates may belong to 2025.
NOW = datetime(2026, 1, 2, 2, 0, tzinfo=UTC)


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-12-13", cst(2021, 12, 13)),
        ("2021/12/13", cst(2021, 12, 13)),
        ("2021.12.13", cst(2021, 12, 13)),
        ("2021年12月13日", cst(2021, 12, 13)),
        ("2021年12月13日 09:30", cst(2021, 12, 13, 9, 30)),
        ("2021年12月13日09:30", cst(2021, 12, 13, 9, 30)),
        ("2021年 12 月 3 日", cst(2021, 12, 3)),
        ("发布时间:2021年12月13日", cst(2021, 12, 13)),
        ("发布时间：2021-12-13", cst(2021, 12, 13)),
        ("发布时间:2020年10月23日发布人:湖南日报、湖南开发区网浏览:", cst(2020, 10, 23)),
        ("[2021-12-13]", cst(2021, 12, 13)),
        ("（2021-12-13）", cst(2021, 12, 13)),
        ("2021-12-13 09:30", cst(2021, 12, 13, 9, 30)),
        ("2021-12-13 09:30:15", cst(2021, 12, 13, 9, 30, 15)),
        ("2021-12-13T09:30:15", cst(2021, 12, 13, 9, 30, 15)),
        ("2021-4-1", cst(2021, 4, 1)),
        ("2021/4/1 8:05", cst(2021, 4, 1, 8, 5)),
        ("2020-07-09 ", cst(2020, 7, 9)),
        ("\n\t 2020-04-30 \u3000", cst(2020, 4, 30)),
        ("２０２１－１２－１３", cst(2021, 12, 13)),
        ("２０２１年１２月１３日　０９：３０", cst(2021, 12, 13, 9, 30)),
        ("发布时间：２０２１年４月１日", cst(2021, 4, 1)),
        # ISO 8601 with a zone keeps its own offset.
        ("2021-12-13T09:30:00+08:00", datetime(2021, 12, 13, 1, 30, tzinfo=UTC)),
        ("2021-12-13T09:30:00Z", datetime(2021, 12, 13, 9, 30, tzinfo=UTC)),
        ("2021-12-13 09:30:00+0000", datetime(2021, 12, 13, 9, 30, tzinfo=UTC)),
        ("2021-12-13T09:30:00.250-05:00", datetime(2021, 12, 13, 14, 30, 0, 250000, tzinfo=UTC)),
        # No year: the latest such date not after 2026-01-02 in Shanghai.
        ("12-30", cst(2025, 12, 30)),
        ("[12-30]", cst(2025, 12, 30)),
        ("【12-30】", cst(2025, 12, 30)),
        ("12/30", cst(2025, 12, 30)),
        ("12月30日", cst(2025, 12, 30)),
        ("12月30日 18:00", cst(2025, 12, 30, 18)),
        ("01-02", cst(2026, 1, 2)),
        ("1-2", cst(2026, 1, 2)),
        ("01-03", cst(2025, 1, 3)),
        ("1月1日", cst(2026, 1, 1)),
        ("12-31 23:59", cst(2025, 12, 31, 23, 59)),
        ("日期：03-18", cst(2025, 3, 18)),
        ("02-29", cst(2024, 2, 29)),
        ("更新于1月2日", cst(2026, 1, 2)),
        # Garbage and impossible dates.
        ("", None),
        ("   ", None),
        ("暂无", None),
        ("2021-13-45", None),
        ("2021-02-30", None),
        ("13-45", None),
        ("2021-12-13 25:61", None),
        ("1-2月长沙进出口增幅近四成", None),
        ("“勘察设计湘军”做大做强 去年行业营收1673.8亿元", None),
        ("电话0755-21872902", None),
        ("第12期", None),
        ("12-13-14-15", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text, now=NOW, tz=SHANGHAI) == expected


def test_result_is_aware_utc() -> None:
    found = parse_date("2021-12-13", now=NOW, tz=SHANGHAI)
    assert found is not None
    assert found.tzinfo is UTC
    assert found == datetime(2021, 12, 12, 16, 0, tzinfo=UTC)


def test_no_year_uses_now_in_the_given_zone() -> None:
    # 2025-12-31 20:00 UTC is already 2026-01-01 in Shanghai, so "01-01" is this year there.
    now = datetime(2025, 12, 31, 20, 0, tzinfo=UTC)
    assert parse_date("01-01", now=now, tz=SHANGHAI) == cst(2026, 1, 1)
    assert parse_date("01-01", now=now, tz=UTC) == datetime(2025, 1, 1, tzinfo=UTC)


def test_midnight_in_the_given_zone() -> None:
    assert parse_date("2021-12-13", now=NOW, tz=UTC) == datetime(2021, 12, 13, tzinfo=UTC)
