-- RDAP searches (crates/rdapd, issue #16). Name prefixes need no index of their own here: the
-- unique index on domain.name (BINARY collation) serves `name >= $1 AND name < $2`.
-- Name server searches by address use host_addr: one row per address of each host, kept in
-- step with the host's document by the triggers below (the addresses live in `data`), so the
-- command path writes them without knowing about this table. A host's rows go with it (ON
-- DELETE CASCADE; foreign keys are on in every connection the store opens).
CREATE TABLE host_addr (
    host_id INTEGER NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    addr    TEXT NOT NULL,
    PRIMARY KEY (addr, host_id)
);
CREATE INDEX host_addr_host_id ON host_addr (host_id);

INSERT OR IGNORE INTO host_addr (host_id, addr)
    SELECT h.id, j.value FROM host AS h, json_each(h.data, '$.addrs') AS j;

CREATE TRIGGER host_addr_insert AFTER INSERT ON host BEGIN
    INSERT OR IGNORE INTO host_addr (host_id, addr)
        SELECT NEW.id, j.value FROM json_each(NEW.data, '$.addrs') AS j;
END;

CREATE TRIGGER host_addr_update AFTER UPDATE OF data ON host
WHEN NEW.data IS NOT OLD.data BEGIN
    DELETE FROM host_addr WHERE host_id = NEW.id;
    INSERT OR IGNORE INTO host_addr (host_id, addr)
        SELECT NEW.id, j.value FROM json_each(NEW.data, '$.addrs') AS j;
END;
