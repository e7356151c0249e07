-- The nightly prune deletes old digest-day markers in small batches; without an index on day each
-- batch scanned the whole table (600,000 rows: 0.15 s holding the write lock).
CREATE INDEX digests_day ON digests (day);
