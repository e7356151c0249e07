-- A digest covers the items stored after the previous digest's read: item ids only grow, and rows
-- committed after a read always get larger ids, so the cursor never skips an item the way a
-- time window can (a poll that started before a digest but committed after it).
-- Only the items a digest lists go in the ledger; the rest are counted ("另有 N 条") and passed.
ALTER TABLE subscribers ADD COLUMN digest_cursor INTEGER;
