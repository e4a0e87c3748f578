-- The login audit joins the history chain (issue 13, registry-store `chain`): its rows take
-- positions in the same chain as object_history's, set once by the sequencer after commit.
ALTER TABLE login_audit ADD COLUMN chain_seq BIGINT;
ALTER TABLE login_audit ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX login_audit_chain_seq ON login_audit (chain_seq);
-- The sequencer's work list.
CREATE INDEX login_audit_unchained ON login_audit (id) WHERE chain_seq IS NULL;

-- The append-only wall of 0016 now lets the sequencer set the chain fields, once; nothing
-- else of a row changes, and no row is deleted.
DROP TRIGGER login_audit_no_update;
CREATE TRIGGER login_audit_no_update BEFORE UPDATE ON login_audit
WHEN OLD.chain_seq IS NOT NULL
  OR NEW.id IS NOT OLD.id
  OR NEW.at IS NOT OLD.at
  OR NEW.cl_id IS NOT OLD.cl_id
  OR NEW.source_ip IS NOT OLD.source_ip
  OR NEW.fingerprint IS NOT OLD.fingerprint
  OR NEW.outcome IS NOT OLD.outcome
  OR NEW.reason IS NOT OLD.reason
  OR NEW.clid_strike IS NOT OLD.clid_strike
BEGIN
    SELECT RAISE(ABORT, 'login audit rows cannot be changed or deleted');
END;
