-- The zone publisher's own state (crates/zonegen, issue #6).
-- zonegen_state: per zone, the last journal position applied and the SOA serial it produced,
-- saved after the primary acknowledged the batch (never trusted blindly: the publisher
-- re-diffs against the served zone at start-up).
CREATE TABLE zonegen_state (
    zone       TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    serial     BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Batches stopped by the safety valve: journal entries in (from_position, to_position],
-- published only once an operator approved them. Times are unix seconds.
CREATE TABLE zonegen_held_batch (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    zone          TEXT NOT NULL,
    from_position BIGINT NOT NULL,
    to_position   BIGINT NOT NULL,
    removed       BIGINT NOT NULL,
    repointed     BIGINT NOT NULL,
    delegations   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    approved_by   TEXT,
    approved_at   BIGINT,
    UNIQUE (zone, from_position)
);
