-- The delegation guard (registry-core `guard`) asks, for every host whose glue a change
-- moves, which registry-locked domains use it: one query per host:update. `locked_users`
-- counts those domains, kept by the triggers below in the same transaction as the link or
-- the lock that changes it, on the host row itself. A host write reads the host FOR UPDATE,
-- so the count it reads is current (a lock being applied updates the same row, and the two
-- serialize on it); the store skips the guard's query when the count is 0.
--
-- The count may only err high: a purged domain's links go by cascade after its row, so the
-- delete trigger no longer sees that it was locked (locked domains are never purged). Too
-- high costs the query it would have saved, never a check.
ALTER TABLE host ADD COLUMN locked_users BIGINT NOT NULL DEFAULT 0;
UPDATE host AS h SET locked_users = (
    SELECT COUNT(*) FROM domain_ns AS n JOIN domain AS d ON d.id = n.domain_id
     WHERE n.host_id = h.id AND d.registry_locked);

CREATE FUNCTION domain_ns_locked_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT registry_locked FROM domain WHERE id = NEW.domain_id) THEN
            UPDATE host SET locked_users = locked_users + 1 WHERE id = NEW.host_id;
        END IF;
        RETURN NEW;
    END IF;
    IF (SELECT registry_locked FROM domain WHERE id = OLD.domain_id) THEN
        UPDATE host SET locked_users = locked_users - 1 WHERE id = OLD.host_id;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER domain_ns_locked_users AFTER INSERT OR DELETE ON domain_ns
    FOR EACH ROW EXECUTE FUNCTION domain_ns_locked_users();

CREATE FUNCTION domain_locked_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE host SET locked_users = locked_users + CASE WHEN NEW.registry_locked THEN 1 ELSE -1 END
     WHERE id IN (SELECT host_id FROM domain_ns WHERE domain_id = NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER domain_locked_users AFTER UPDATE OF registry_locked ON domain
    FOR EACH ROW WHEN (NEW.registry_locked IS DISTINCT FROM OLD.registry_locked)
    EXECUTE FUNCTION domain_locked_users();
