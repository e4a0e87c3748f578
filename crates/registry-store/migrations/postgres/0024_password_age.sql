-- loginSec (RFC 8807, issue 18): the maximum password age needs to know when each registrar's
-- password was set. Existing passwords count from this migration, so turning a maximum age on
-- does not expire them all at once.
ALTER TABLE registrar ADD COLUMN pw_changed_at TIMESTAMPTZ;
UPDATE registrar SET pw_changed_at = now();

-- loginSec's failedLogins statistic: the logins naming a clID since its last success, found
-- from the newest end of this index (by id: rows of one instant stay ordered).
CREATE INDEX login_audit_cl_id_id ON login_audit (cl_id, id);
