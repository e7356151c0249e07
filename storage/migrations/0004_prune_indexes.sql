-- The nightly prune deletes sent outbox rows and old items in batches. Without an index on
-- deliveries.outbox_id every deleted outbox row scanned the whole ledger for its ON DELETE SET NULL
-- (4,000 rows against 200,000 ledger rows: 140 s inside one transaction); the other two let each
-- batch find its rows without a table scan.
CREATE INDEX deliveries_outbox ON deliveries (outbox_id);
CREATE INDEX outbox_sent ON outbox (state, sent_at);
CREATE INDEX items_fetched ON items (fetched_at);
