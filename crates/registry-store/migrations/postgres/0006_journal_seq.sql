-- Journal positions without a lock on the command path.
--
-- Until now every zone-changing command took a transaction-scoped advisory lock before
-- inserting its zone_journal row, so that ids grew in commit order; that lock was held until
-- COMMIT and serialized all zone-changing commits on one fsync each. Now commands insert rows
-- with seq NULL and no lock. A row gets its position (seq) only once it is committed: the
-- sequencer (registry-store `journal_since`, under its own short advisory lock) numbers the
-- committed, unnumbered rows in id order after MAX(seq). Readers of the journal read
-- `WHERE seq > $last ORDER BY seq`. Why this order is safe is in crates/zonegen/README.md
-- ("Journal positions"); in short: two entries of one object are written under that object's
-- row lock, so the later one is inserted (gets its id) after the earlier one committed.
-- That also needs ids that grow with time across sessions: the identity must keep CACHE 1.
--
-- Rows written before this migration were numbered in commit order already: seq = id, and
-- later positions continue above MAX(id), so a stored publisher position stays valid.
ALTER TABLE zone_journal ADD COLUMN seq BIGINT;
UPDATE zone_journal SET seq = id;
CREATE UNIQUE INDEX zone_journal_seq ON zone_journal (seq);
-- The sequencer's work list.
CREATE INDEX zone_journal_unsequenced ON zone_journal (id) WHERE seq IS NULL;
