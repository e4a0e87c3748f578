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
CREATE FUNCTION object_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'history rows cannot be deleted';
    END IF;
    IF OLD.chain_seq IS NOT NULL
       OR (NEW.id, NEW.object_type, NEW.object_key, NEW.roid, NEW.op, NEW.cl_id, NEW.source_ip,
           NEW.cert_fingerprint, NEW.cl_trid, NEW.sv_trid, NEW.at, NEW.before_state, NEW.after_state)
          IS DISTINCT FROM
          (OLD.id, OLD.object_type, OLD.object_key, OLD.roid, OLD.op, OLD.cl_id, OLD.source_ip,
           OLD.cert_fingerprint, OLD.cl_trid, OLD.sv_trid, OLD.at, OLD.before_state, OLD.after_state)
    THEN
        RAISE EXCEPTION 'history rows cannot be changed';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER object_history_append_only BEFORE UPDATE OR DELETE ON object_history
    FOR EACH ROW EXECUTE FUNCTION object_history_append_only();
