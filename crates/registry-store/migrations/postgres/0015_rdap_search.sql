-- RDAP searches (crates/rdapd, issue #16).
-- Name prefixes: names are compared and ordered byte-wise (COLLATE "C"), which the database's
-- default collation may not do; this index serves `name COLLATE "C" >= $1 AND … < $2` with
-- bound parameters (a text_pattern_ops index serves LIKE only with a constant pattern, which a
-- prepared statement's generic plan does not have).
CREATE INDEX domain_name_c ON domain (name COLLATE "C");

-- Name server searches by address use host_addr: one row per address of each host, kept in
-- step with the host's document by the trigger below (the addresses live in `data`), so the
-- command path writes them without knowing about this table.
CREATE TABLE host_addr (
    host_id BIGINT NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    addr    TEXT NOT NULL,
    PRIMARY KEY (addr, host_id)
);
CREATE INDEX host_addr_host_id ON host_addr (host_id);

INSERT INTO host_addr (host_id, addr)
    SELECT h.id, a FROM host AS h, jsonb_array_elements_text(h.data::jsonb -> 'addrs') AS a
    ON CONFLICT DO NOTHING;

CREATE FUNCTION host_addr_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.data IS NOT DISTINCT FROM OLD.data THEN
            RETURN NEW;
        END IF;
        DELETE FROM host_addr WHERE host_id = NEW.id;
    END IF;
    INSERT INTO host_addr (host_id, addr)
        SELECT NEW.id, a FROM jsonb_array_elements_text(NEW.data::jsonb -> 'addrs') AS a
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER host_addr_sync AFTER INSERT OR UPDATE OF data ON host
    FOR EACH ROW EXECUTE FUNCTION host_addr_sync();
