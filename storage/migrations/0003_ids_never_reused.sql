-- Item and outbox ids are never handed out twice. With a plain INTEGER PRIMARY KEY, SQLite reuses the
-- largest ids once retention deletes the newest rows; new items then got ids below every digest cursor
-- and never reached a digest. AUTOINCREMENT keeps a high-water mark in sqlite_sequence instead.
-- Tables are rebuilt (SQLite cannot change a primary key in place); the migration runner turns foreign
-- keys off meanwhile, so dropping the old table cascades nothing.

CREATE TABLE items_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id     TEXT NOT NULL REFERENCES sources (id),
    uid           TEXT NOT NULL,
    link          TEXT NOT NULL,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    published_at  TEXT,
    fetched_at    TEXT NOT NULL,
    updated_at    TEXT,
    content_hash  TEXT NOT NULL,
    push_state    TEXT NOT NULL DEFAULT 'push' CHECK (push_state IN ('push', 'seeded', 'stale', 'held')),
    UNIQUE (source_id, uid)
);
INSERT INTO items_new (id, source_id, uid, link, title, summary, published_at, fetched_at, updated_at,
                       content_hash, push_state)
    SELECT id, source_id, uid, link, title, summary, published_at, fetched_at, updated_at, content_hash,
           push_state
    FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_newest ON items (coalesce(published_at, fetched_at) DESC, id DESC);
CREATE INDEX items_source_newest ON items (source_id, coalesce(published_at, fetched_at) DESC);
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

CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id    TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('digest', 'item', 'announcement', 'reply', 'alert')),
    platform         TEXT NOT NULL,
    payload          TEXT NOT NULL,
    part             INTEGER NOT NULL DEFAULT 1,
    parts            INTEGER NOT NULL DEFAULT 1,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    sent_at          TEXT,
    last_error       TEXT
);
INSERT INTO outbox_new (id, subscriber_id, kind, platform, payload, part, parts, state, attempts, created_at,
                        next_attempt_at, sent_at, last_error)
    SELECT id, subscriber_id, kind, platform, payload, part, parts, state, attempts, created_at,
           next_attempt_at, sent_at, last_error
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_subscriber ON outbox (subscriber_id, state, id);

-- The high-water marks start above every id ever handed out that is still remembered anywhere: a
-- database whose newest rows were already deleted must not give those ids out again.
DELETE FROM sqlite_sequence WHERE name IN ('items', 'items_new', 'outbox', 'outbox_new');
INSERT INTO sqlite_sequence (name, seq) VALUES
    ('items', max((SELECT coalesce(max(id), 0) FROM items),
                  (SELECT coalesce(max(digest_cursor), 0) FROM subscribers),
                  (SELECT coalesce(max(item_id), 0) FROM deliveries))),
    ('outbox', max((SELECT coalesce(max(id), 0) FROM outbox),
                   (SELECT coalesce(max(outbox_id), 0) FROM deliveries)));
