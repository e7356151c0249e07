-- parkbot schema, version 1: the whole product's tables.
-- Times are ISO-8601 UTC text ("2026-11-30T00:30:00+00:00") so they sort and compare as strings.

-- One row per configured source: its polling state. Rows outlive their config entry, so stored items keep a home.
CREATE TABLE sources (
    id               TEXT PRIMARY KEY,
    url              TEXT NOT NULL,
    etag             TEXT,
    last_modified    TEXT,
    body_hash        TEXT,
    last_polled_at   TEXT,
    last_success_at  TEXT,
    last_status      TEXT,                             -- ok | not_modified | unchanged | error
    error_count      INTEGER NOT NULL DEFAULT 0,       -- consecutive failures
    last_error       TEXT,
    last_error_at    TEXT,
    empty_polls      INTEGER NOT NULL DEFAULT 0,       -- consecutive HTML polls whose item selector matched nothing
    next_poll_at     TEXT,
    seeded_at        TEXT,                             -- first successful parse; before it, items are seeded not pushed
    created_at       TEXT NOT NULL
);
CREATE INDEX sources_due ON sources (next_poll_at);

-- Every uid ever seen per source. Kept after item retention deletes the item, so nothing is announced twice.
CREATE TABLE seen_uids (
    source_id      TEXT NOT NULL REFERENCES sources (id),
    uid            TEXT NOT NULL,
    first_seen_at  TEXT NOT NULL,
    PRIMARY KEY (source_id, uid)
) WITHOUT ROWID;

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    source_id     TEXT NOT NULL REFERENCES sources (id),
    uid           TEXT NOT NULL,
    link          TEXT NOT NULL,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    published_at  TEXT,
    fetched_at    TEXT NOT NULL,
    updated_at    TEXT,
    content_hash  TEXT NOT NULL,
    -- push: may be pushed; seeded: found on a source's first fetch; stale: older than 7 days at first sight;
    -- held: part of an anomalous poll (a redesign that changed every link)
    push_state    TEXT NOT NULL DEFAULT 'push' CHECK (push_state IN ('push', 'seeded', 'stale', 'held')),
    UNIQUE (source_id, uid)
);
-- "Newest first" means by publication date, or by when we first saw an undated item.
CREATE INDEX items_newest ON items (coalesce(published_at, fetched_at) DESC, id DESC);
CREATE INDEX items_source_newest ON items (source_id, coalesce(published_at, fetched_at) DESC);

-- Chinese full-text search: the trigram tokenizer matches any substring of 3+ characters;
-- shorter terms (五好, 园) fall back to LIKE, which the trigram index also serves.
CREATE VIRTUAL TABLE items_fts USING fts5 (
    title, summary, content = 'items', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary);
    INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;

-- Runtime state of configured subscribers (their filters live in config.toml).
CREATE TABLE subscribers (
    id              TEXT PRIMARY KEY,
    health          TEXT NOT NULL DEFAULT 'ok' CHECK (health IN ('ok', 'failing')),
    failing_reason  TEXT,
    failing_since   TEXT,
    last_digest_at  TEXT,
    created_at      TEXT NOT NULL
);

-- Include keywords added from chat with 订阅, on top of the configured include list.
CREATE TABLE subscriber_keywords (
    subscriber_id  TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    keyword        TEXT NOT NULL,
    added_by       TEXT,
    added_at       TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, keyword)
) WITHOUT ROWID;

-- One row per subscriber and local day on which its digest was built, so a digest is never sent twice a day.
CREATE TABLE digests (
    subscriber_id  TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    day            TEXT NOT NULL,                      -- YYYY-MM-DD in [bot].timezone
    built_at       TEXT NOT NULL,
    items          INTEGER NOT NULL,
    PRIMARY KEY (subscriber_id, day)
) WITHOUT ROWID;

-- Every message to send, written before any attempt; drained in id order per subscriber.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    subscriber_id    TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('digest', 'item', 'announcement', 'reply', 'alert')),
    platform         TEXT NOT NULL,
    payload          TEXT NOT NULL,                    -- JSON body, already rendered for the platform
    part             INTEGER NOT NULL DEFAULT 1,
    parts            INTEGER NOT NULL DEFAULT 1,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    sent_at          TEXT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_subscriber ON outbox (subscriber_id, state, id);

-- The delivery ledger: which item reached which subscriber, through which outbox message.
CREATE TABLE deliveries (
    subscriber_id  TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    item_id        INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('digest', 'instant')),
    outbox_id      INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
    queued_at      TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, item_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_item ON deliveries (item_id);

CREATE TABLE announcements (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    author      TEXT NOT NULL,                         -- cli, api, or platform:user id
    targets     TEXT,                                  -- JSON array of subscriber ids; NULL for all
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Operational alerts raised to staff, one row per open condition so each is raised once.
CREATE TABLE alerts (
    key        TEXT PRIMARY KEY,                       -- e.g. source-failing:hnkfq-news
    message    TEXT NOT NULL,
    raised_at  TEXT NOT NULL
) WITHOUT ROWID;

-- Who did what: announcements, subscription changes from chat, operator actions.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '{}'                 -- JSON
);
