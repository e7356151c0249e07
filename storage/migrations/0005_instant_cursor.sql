-- Instant pushes are durable the way digests are: each subscriber has a cursor over item ids, advanced
-- in the same transaction as the outbox rows of its push, so items stored by a poll whose push never
-- ran (an exception, a shutdown, a crash in between) are pushed by the next round. Existing subscribers
-- start at the current high-water mark: what is stored already is not pushed again.
ALTER TABLE subscribers ADD COLUMN instant_cursor INTEGER;
UPDATE subscribers SET instant_cursor = coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'items'), 0);
