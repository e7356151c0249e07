"""The items aggregate: each item once per source, edits updated in place, Chinese search."""

from datetime import UTC, datetime, timedelta

import pytest

from feeds.models import ParsedItem
from storage.errors import SearchError
from storage.items import PushState, insert_new_items, newest_items, unseen_uids
from storage.search import MAX_SEARCH_TERMS, MAX_TERM_LENGTH, search_items
from storage.sources import all_sources, sync_sources

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


def item(n: int, title: str, summary: str = "", days_ago: int = 0) -> ParsedItem:
    """A parsed item in the association's style."""
    return ParsedItem(
        uid=f"http://hnkfq.com.cn/news/info_itemid_{n}.html",
        url=f"http://hnkfq.com.cn/news/info_itemid_{n}.html",
        title=title,
        summary=summary,
        published_at=NOW - timedelta(days=days_ago),
    )


SAMPLE = [
    item(3761, "永州经开区全力创建“五好”园区", "永州经开区聚焦主导产业，推进五好园区建设。", 3),
    item(3762, "长沙经开区重大项目集中签约", "签约项目 12 个，总投资 156 亿元。", 2),
    item(3763, "湘潭高新区举办园区发展大会", "100% 满意的营商环境_宣传周", 1),
]


@pytest.fixture
async def store(db):
    """A database with two sources and the sample items."""
    await sync_sources(db, [("hnkfq-news", "http://hnkfq.com.cn/news/"), ("other", "http://x.org/")], NOW)
    await insert_new_items(db, "hnkfq-news", [(i, PushState.PUSH) for i in SAMPLE], NOW)
    return db


async def test_items_are_inserted_once(store):
    again = await insert_new_items(store, "hnkfq-news", [(i, PushState.PUSH) for i in SAMPLE], NOW)
    assert again.new == () and again.updated == 0
    assert [i.title for i in await newest_items(store)] == [i.title for i in reversed(SAMPLE)]


async def test_same_uid_in_another_source_is_a_different_item(store):
    outcome = await insert_new_items(store, "other", [(SAMPLE[0], PushState.SEEDED)], NOW)
    assert len(outcome.new) == 1 and outcome.new[0].push_state is PushState.SEEDED


async def test_edited_title_updates_without_being_new(store):
    edited = item(3761, "永州经开区全力创建“五好”园区（更新）", SAMPLE[0].summary, 3)
    outcome = await insert_new_items(store, "hnkfq-news", [(edited, PushState.PUSH)], NOW)
    assert outcome.new == () and outcome.updated == 1
    assert (await search_items(store, "更新"))[0].title.endswith("（更新）")
    assert await search_items(store, "更新园区") == []


async def test_uids_outlive_deleted_items(store):
    async with store.transaction() as conn:
        await conn.execute("DELETE FROM items WHERE uid = ?", (SAMPLE[0].uid,))
    assert await unseen_uids(store, "hnkfq-news", [SAMPLE[0].uid, "http://new/"]) == {"http://new/"}
    outcome = await insert_new_items(store, "hnkfq-news", [(SAMPLE[0], PushState.PUSH)], NOW)
    assert outcome.new == ()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("五好园区", [3761]),  # quoted Chinese quotes inside the title are skipped by the words
        ("五好", [3761]),  # two characters: below the trigram size
        ("园", [3763, 3761]),  # one character
        ("园区", [3763, 3761]),
        ("经开区 签约", [3762]),  # every term must match
        ("156 亿元", [3762]),
        ("100%", [3763]),  # LIKE wildcards are literal
        ("_宣传", [3763]),
        ('"五好', []),  # a stray quote cannot break the FTS query (the title has “” not ")
        ("不存在的词", []),
        ("   ", []),
        ("五好\x00园区", [3761]),  # a NUL cannot end the FTS string early
    ],
)
async def test_search_in_chinese(store, query, expected):
    found = await search_items(store, query)
    assert [int(i.uid.rsplit("_", 1)[1].split(".")[0]) for i in found] == expected


async def test_search_and_list_by_source(store):
    await insert_new_items(store, "other", [(item(1, "其他来源的园区新闻"), PushState.PUSH)], NOW)
    assert [i.source_id for i in await search_items(store, "园区", source_id="other")] == ["other"]
    assert len(await newest_items(store, source_id="hnkfq-news", limit=2)) == 2


async def test_source_rows_count_items(store):
    states = {s.id: s for s in await all_sources(store)}
    assert states["hnkfq-news"].item_count == 3
    assert states["hnkfq-news"].newest_item_at == SAMPLE[2].published_at
    assert states["other"].item_count == 0 and states["other"].newest_item_at is None


async def test_changed_source_url_forgets_validators(store):
    async with store.transaction() as conn:
        await conn.execute("UPDATE sources SET etag = 'W/\"1\"', body_hash = 'h' WHERE id = 'other'")
    await sync_sources(store, [("other", "http://x.org/")], NOW)
    assert {s.id: s for s in await all_sources(store)}["other"].etag == 'W/"1"'
    await sync_sources(store, [("other", "http://x.org/new")], NOW)
    state = {s.id: s for s in await all_sources(store)}["other"]
    assert (state.url, state.etag, state.body_hash) == ("http://x.org/new", None, None)


async def test_ids_of_deleted_items_are_never_handed_out_again(store):
    top = max(i.id for i in await newest_items(store))
    async with store.transaction() as conn:  # retention removed every item, the newest included
        await conn.execute("DELETE FROM items")
    outcome = await insert_new_items(store, "hnkfq-news", [(item(4000, "新条目"), PushState.PUSH)], NOW)
    assert outcome.new[0].id > top


@pytest.mark.parametrize(
    "text", [" ".join(["园区"] * (MAX_SEARCH_TERMS + 1)), "园" * (MAX_TERM_LENGTH + 1), "园区\udcff"]
)
async def test_search_text_no_query_is_built_from(store, text):
    with pytest.raises(SearchError):
        await search_items(store, text)
    assert len(await search_items(store, " ".join(["园"] * MAX_SEARCH_TERMS))) == 2
