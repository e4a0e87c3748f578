-- Journal positions without a lock on the command path (see the PostgreSQL migration of the
-- same name for the why). Commands insert zone_journal rows with seq NULL; the sequencer
-- (registry-store `journal_since`) numbers committed rows in id order after MAX(seq);
-- readers read `WHERE seq > $last ORDER BY seq`. SQLite serializes writers (BEGIN
-- IMMEDIATE), so here ids are in commit order anyway; the same scheme runs on both backends.
--
-- Rows written before this migration: seq = id.
ALTER TABLE zone_journal ADD COLUMN seq BIGINT;
UPDATE zone_journal SET seq = id;
CREATE UNIQUE INDEX zone_journal_seq ON zone_journal (seq);
-- The sequencer's work list.
CREATE INDEX zone_journal_unsequenced ON zone_journal (id) WHERE seq IS NULL;
