-- Tamper-evident history (registry-core `history`): every row is put in one hash chain by the
-- sequencer (registry-store `chain`) once committed. chain_seq is the row's position,
-- chain_hash = SHA-256(previous chain_hash || the row's content hash). Rows are written with
-- both NULL, so the write path does not serialize on the chain.
ALTER TABLE object_history ADD COLUMN chain_seq BIGINT;
ALTER TABLE object_history ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX object_history_chain_seq ON object_history (chain_seq);
-- The sequencer's work list.
CREATE INDEX object_history_unchained ON object_history (id) WHERE chain_seq IS NULL;

-- A second wall behind the database grants: history rows are never deleted, and once
-- written only their chain fields are set, once.
CREATE TRIGGER object_history_no_delete BEFORE DELETE ON object_history
BEGIN
    SELECT RAISE(ABORT, 'history rows cannot be deleted');
END;
CREATE TRIGGER object_history_no_update BEFORE UPDATE ON object_history
WHEN OLD.chain_seq IS NOT NULL
  OR NEW.id IS NOT OLD.id
  OR NEW.object_type IS NOT OLD.object_type
  OR NEW.object_key IS NOT OLD.object_key
  OR NEW.roid IS NOT OLD.roid
  OR NEW.op IS NOT OLD.op
  OR NEW.cl_id IS NOT OLD.cl_id
  OR NEW.source_ip IS NOT OLD.source_ip
  OR NEW.cert_fingerprint IS NOT OLD.cert_fingerprint
  OR NEW.cl_trid IS NOT OLD.cl_trid
  OR NEW.sv_trid IS NOT OLD.sv_trid
  OR NEW.at IS NOT OLD.at
  OR NEW.before_state IS NOT OLD.before_state
  OR NEW.after_state IS NOT OLD.after_state
BEGIN
    SELECT RAISE(ABORT, 'history rows cannot be changed');
END;
