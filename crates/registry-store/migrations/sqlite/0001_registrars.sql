-- Registrars, their pinned client certificates and allowed source networks; the login audit
-- log; lock-outs; frontend instances (for svTRIDs unique across frontends).
-- Timestamps are TEXT in one fixed-width UTC format (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text
-- order is time order.

CREATE TABLE registrar (
    cl_id          TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    suspend_reason TEXT,
    pw_hash        TEXT NOT NULL,
    max_sessions   INTEGER NOT NULL CHECK (max_sessions >= 1),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE registrar_cert (
    cl_id       TEXT NOT NULL REFERENCES registrar (cl_id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
    added_at    TEXT NOT NULL,
    PRIMARY KEY (cl_id, fingerprint)
);

CREATE TABLE registrar_network (
    cl_id TEXT NOT NULL REFERENCES registrar (cl_id) ON DELETE CASCADE,
    cidr  TEXT NOT NULL,
    PRIMARY KEY (cl_id, cidr)
);

CREATE TABLE login_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    cl_id       TEXT NOT NULL,
    source_ip   TEXT NOT NULL,
    fingerprint TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'refused')),
    reason      TEXT NOT NULL
);
CREATE INDEX login_audit_ip ON login_audit (source_ip, at);
CREATE INDEX login_audit_cl_id ON login_audit (cl_id, at);

CREATE TABLE login_lockout (
    lock_key TEXT PRIMARY KEY NOT NULL,
    until    TEXT NOT NULL
);

CREATE TABLE frontend_instance (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    label      TEXT NOT NULL
);
