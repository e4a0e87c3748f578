-- Operator accounts and the two-person rule (issue 13, registry-store `operators`).
-- An operator's credential is an Ed25519 key pair; only the public half is here. Times are
-- microseconds since the epoch (UTC).
CREATE TABLE operators (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'security')),
    public_key  TEXT NOT NULL UNIQUE,
    created     BIGINT NOT NULL,
    -- The approving operator; NULL only for the first account (bootstrap).
    created_by  TEXT,
    disabled    BIGINT,
    disabled_by TEXT
);
-- Accounts are disabled, never deleted: history rows name them.
CREATE TRIGGER operators_no_delete BEFORE DELETE ON operators
BEGIN
    SELECT RAISE(ABORT, 'operator accounts cannot be deleted');
END;

-- Nonces of accepted signed actions: a signed action is accepted once.
CREATE TABLE operator_nonces (
    nonce    TEXT PRIMARY KEY,
    operator TEXT NOT NULL,
    at       BIGINT NOT NULL
);

-- Two-person actions: proposed (signed by one operator), approved (signed by another) within
-- the window, then executed (done) or failed with the reason.
CREATE TABLE proposals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_key  TEXT NOT NULL,
    summary     TEXT NOT NULL,
    -- The proposer's signed action (JSON), kept as signed.
    signed      TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at BIGINT NOT NULL,
    expires     BIGINT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'approved', 'done', 'failed')),
    approval    TEXT,
    approved_by TEXT,
    approved_at BIGINT,
    outcome     TEXT,
    CHECK (approved_by IS NULL OR approved_by <> proposed_by)
);
CREATE INDEX proposals_state ON proposals (state, id);
