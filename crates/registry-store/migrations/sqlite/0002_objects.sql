-- Registry objects (domains, hosts, contacts), their links, the poll queue, the object
-- history and the delegation change journal. Each object row keeps its key columns plus a
-- JSON document (`data`) of the whole object as registry-core models it. cl_id is text: no
-- foreign key to registrar accounts. next_due is microseconds since the epoch (UTC) of the
-- object's next time-driven step.

CREATE TABLE domain (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL UNIQUE,
    cl_id    TEXT NOT NULL,
    next_due INTEGER,
    data     TEXT NOT NULL
);
CREATE INDEX domain_next_due ON domain (next_due);
CREATE INDEX domain_cl_id ON domain (cl_id);

CREATE TABLE host (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL UNIQUE,
    cl_id     TEXT NOT NULL,
    domain_id INTEGER REFERENCES domain (id),
    data      TEXT NOT NULL
);
CREATE INDEX host_domain_id ON host (domain_id);

CREATE TABLE contact (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    handle   TEXT NOT NULL UNIQUE,
    cl_id    TEXT NOT NULL,
    next_due INTEGER,
    data     TEXT NOT NULL
);
CREATE INDEX contact_next_due ON contact (next_due);

CREATE TABLE domain_ns (
    domain_id INTEGER NOT NULL REFERENCES domain (id) ON DELETE CASCADE,
    host_id   INTEGER NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    PRIMARY KEY (domain_id, host_id)
);
CREATE INDEX domain_ns_host_id ON domain_ns (host_id);

CREATE TABLE domain_contact (
    domain_id  INTEGER NOT NULL REFERENCES domain (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contact (id),
    role       TEXT NOT NULL CHECK (role IN ('registrant', 'admin', 'billing', 'tech')),
    PRIMARY KEY (domain_id, contact_id, role)
);
CREATE INDEX domain_contact_contact_id ON domain_contact (contact_id);

CREATE TABLE poll_message (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    cl_id   TEXT NOT NULL,
    q_date  TEXT NOT NULL,
    msg     TEXT NOT NULL,
    payload TEXT
);
CREATE INDEX poll_message_cl_id ON poll_message (cl_id, id);

CREATE TABLE object_history (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    object_type      TEXT NOT NULL,
    object_key       TEXT NOT NULL,
    roid             TEXT NOT NULL,
    op               TEXT NOT NULL,
    cl_id            TEXT NOT NULL,
    source_ip        TEXT,
    cert_fingerprint TEXT,
    cl_trid          TEXT,
    sv_trid          TEXT NOT NULL,
    at               TEXT NOT NULL,
    before_state     TEXT,
    after_state      TEXT
);
CREATE INDEX object_history_object ON object_history (object_type, object_key, id);

CREATE TABLE zone_journal (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    at   TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('domain', 'host')),
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
