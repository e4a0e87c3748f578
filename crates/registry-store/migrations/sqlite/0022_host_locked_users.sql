-- The delegation guard (registry-core `guard`) asks, for every host whose glue a change
-- moves, which registry-locked domains use it: one query per host:update. `locked_users`
-- counts those domains, kept by the triggers below in the same transaction as the link or
-- the lock that changes it; the store reads it with the host in a write transaction (SQLite
-- has one writer at a time) and skips the guard's query when it is 0.
--
-- The count may only err high: a purged domain's links go by cascade after its row, so the
-- delete trigger no longer sees that it was locked (locked domains are never purged). Too
-- high costs the query it would have saved, never a check.
ALTER TABLE host ADD COLUMN locked_users INTEGER NOT NULL DEFAULT 0;
UPDATE host SET locked_users = (
    SELECT COUNT(*) FROM domain_ns AS n JOIN domain AS d ON d.id = n.domain_id
     WHERE n.host_id = host.id AND d.registry_locked);

CREATE TRIGGER domain_ns_locked_users_insert AFTER INSERT ON domain_ns
    WHEN (SELECT registry_locked FROM domain WHERE id = NEW.domain_id)
BEGIN
    UPDATE host SET locked_users = locked_users + 1 WHERE id = NEW.host_id;
END;
CREATE TRIGGER domain_ns_locked_users_delete AFTER DELETE ON domain_ns
    WHEN (SELECT registry_locked FROM domain WHERE id = OLD.domain_id)
BEGIN
    UPDATE host SET locked_users = locked_users - 1 WHERE id = OLD.host_id;
END;
CREATE TRIGGER domain_locked_users AFTER UPDATE OF registry_locked ON domain
    WHEN NEW.registry_locked IS NOT OLD.registry_locked
BEGIN
    UPDATE host SET locked_users = locked_users + (CASE WHEN NEW.registry_locked THEN 1 ELSE -1 END)
     WHERE id IN (SELECT host_id FROM domain_ns WHERE domain_id = NEW.id);
END;
