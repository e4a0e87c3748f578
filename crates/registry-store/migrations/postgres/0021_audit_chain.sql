-- The login audit joins the history chain (issue 13, registry-store `chain`): its rows take
-- positions in the same chain as object_history's, set once by the sequencer after commit.
ALTER TABLE login_audit ADD COLUMN chain_seq BIGINT;
ALTER TABLE login_audit ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX login_audit_chain_seq ON login_audit (chain_seq);
-- The sequencer's work list.
CREATE INDEX login_audit_unchained ON login_audit (id) WHERE chain_seq IS NULL;

-- The sequencer (every frontend, and registry-admin) sets the chain fields, and only those.
GRANT UPDATE (chain_seq, chain_hash) ON login_audit TO epp_frontend, epp_admin;

-- The append-only wall of 0016 lets the chain fields be set once; nothing else of a row
-- changes, and no row is deleted.
CREATE OR REPLACE FUNCTION login_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'login audit rows cannot be changed or deleted';
    END IF;
    IF OLD.chain_seq IS NOT NULL
       OR (NEW.id, NEW.at, NEW.cl_id, NEW.source_ip, NEW.fingerprint, NEW.outcome, NEW.reason,
           NEW.clid_strike)
          IS DISTINCT FROM
          (OLD.id, OLD.at, OLD.cl_id, OLD.source_ip, OLD.fingerprint, OLD.outcome, OLD.reason,
           OLD.clid_strike)
    THEN
        RAISE EXCEPTION 'login audit rows cannot be changed or deleted';
    END IF;
    RETURN NEW;
END
$$;
