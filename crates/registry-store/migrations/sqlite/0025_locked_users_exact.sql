-- `host.locked_users` (0022) erred high when a registry-locked domain's row was deleted: its
-- links go by cascade after the row, so the link trigger no longer sees the lock. That does
-- happen: a timed unlock that ends while the domain is pending delete relocks it, and the
-- purge then removes a locked domain (its delegation left the zone at expiry, so the guard
-- has nothing to refuse). A count that errs high only costs the guard's query, but the
-- count is checked for exactness (tests/lock_guard.rs), so it is kept exact: the domain's own
-- delete trigger takes its links off first, while it can still see them. The counts are
-- recomputed once for databases that drifted.
CREATE TRIGGER domain_locked_users_delete BEFORE DELETE ON domain
    WHEN OLD.registry_locked
BEGIN
    UPDATE host SET locked_users = locked_users - 1
     WHERE id IN (SELECT host_id FROM domain_ns WHERE domain_id = OLD.id);
END;
UPDATE host SET locked_users = (
    SELECT COUNT(*) FROM domain_ns AS n JOIN domain AS d ON d.id = n.domain_id
     WHERE n.host_id = host.id AND d.registry_locked);
