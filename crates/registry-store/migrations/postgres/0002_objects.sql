-- Registry objects (domains, hosts, contacts), their links, the poll queue, the object
-- history and the delegation change journal. Same logical schema as the SQLite migration.
-- Each object row keeps its key columns plus a JSON document (`data`) of the whole object.
-- cl_id is text: no foreign key to registrar accounts. next_due is microseconds since the
-- epoch (UTC) of the object's next time-driven step. zone_journal ids are handed out under a
-- transaction-scoped advisory lock, so they grow in commit order.

CREATE TABLE domain (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    cl_id    TEXT NOT NULL,
    next_due BIGINT,
    data     TEXT NOT NULL
);
CREATE INDEX domain_next_due ON domain (next_due);
CREATE INDEX domain_cl_id ON domain (cl_id);

CREATE TABLE host (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    cl_id     TEXT NOT NULL,
    domain_id BIGINT REFERENCES domain (id),
    data      TEXT NOT NULL
);
CREATE INDEX host_domain_id ON host (domain_id);

CREATE TABLE contact (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle   TEXT NOT NULL UNIQUE,
    cl_id    TEXT NOT NULL,
    next_due BIGINT,
    data     TEXT NOT NULL
);
CREATE INDEX contact_next_due ON contact (next_due);

CREATE TABLE domain_ns (
    domain_id BIGINT NOT NULL REFERENCES domain (id) ON DELETE CASCADE,
    host_id   BIGINT NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    PRIMARY KEY (domain_id, host_id)
);
CREATE INDEX domain_ns_host_id ON domain_ns (host_id);

CREATE TABLE domain_contact (
    domain_id  BIGINT NOT NULL REFERENCES domain (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contact (id),
    role       TEXT NOT NULL CHECK (role IN ('registrant', 'admin', 'billing', 'tech')),
    PRIMARY KEY (domain_id, contact_id, role)
);
CREATE INDEX domain_contact_contact_id ON domain_contact (contact_id);

CREATE TABLE poll_message (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cl_id   TEXT NOT NULL,
    q_date  TIMESTAMPTZ NOT NULL,
    msg     TEXT NOT NULL,
    payload TEXT
);
CREATE INDEX poll_message_cl_id ON poll_message (cl_id, id);

CREATE TABLE object_history (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_type      TEXT NOT NULL,
    object_key       TEXT NOT NULL,
    roid             TEXT NOT NULL,
    op               TEXT NOT NULL,
    cl_id            TEXT NOT NULL,
    source_ip        TEXT,
    cert_fingerprint TEXT,
    cl_trid          TEXT,
    sv_trid          TEXT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    before_state     TEXT,
    after_state      TEXT
);
CREATE INDEX object_history_object ON object_history (object_type, object_key, id);

CREATE TABLE zone_journal (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at   TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('domain', 'host')),
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
