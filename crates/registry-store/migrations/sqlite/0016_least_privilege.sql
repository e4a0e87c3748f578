-- SQLite has no roles (whoever can open the file owns it); the login audit gets the same
-- append-only wall as the history (0008), so a change needs the trigger dropped first, which
-- the history chain and the checkpoints outside the database make visible.
CREATE TRIGGER login_audit_no_update BEFORE UPDATE ON login_audit
BEGIN
    SELECT RAISE(ABORT, 'login audit rows cannot be changed or deleted');
END;
CREATE TRIGGER login_audit_no_delete BEFORE DELETE ON login_audit
BEGIN
    SELECT RAISE(ABORT, 'login audit rows cannot be changed or deleted');
END;
