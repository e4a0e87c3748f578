-- Registry lock (issue #5): each registrar's designated lock contact, lock/unlock requests
-- with their hashed one-time codes, and the mail outbox the mail worker sends from.
-- Times that are compared are microseconds since the epoch (UTC); the request row keeps its
-- key columns plus a JSON document (`data`) of the whole request as registry-core models it.
-- cl_id is text, as in the object tables (no foreign key to registrar accounts).

CREATE TABLE registrar_lock_contact (
    cl_id      TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    phone      TEXT NOT NULL,
    email      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE lock_request (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    domain     TEXT NOT NULL,
    cl_id      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('codeNotSent', 'pendingVerification', 'applied', 'rejected', 'expired', 'failed')),
    expires_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);
-- At most one open request per domain.
CREATE UNIQUE INDEX lock_request_open ON lock_request (domain) WHERE state IN ('codeNotSent', 'pendingVerification');
CREATE INDEX lock_request_expires ON lock_request (expires_at) WHERE state IN ('codeNotSent', 'pendingVerification');

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('lockCode', 'notice')),
    lock_request_id INTEGER REFERENCES lock_request (id),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt    INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt) WHERE sent_at IS NULL;
CREATE INDEX mail_outbox_request ON mail_outbox (lock_request_id);
