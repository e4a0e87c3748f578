-- Per-registrar command rate limits (issue #19): overrides of the frontends' [limits] defaults,
-- set by `registry-admin registrar set-limits`. NULL: the default applies. Rates are commands
-- per second (0: no limit), bursts the bucket's size in commands.
ALTER TABLE registrar ADD COLUMN registrar_check_per_second INTEGER CHECK (registrar_check_per_second >= 0);
ALTER TABLE registrar ADD COLUMN registrar_check_burst INTEGER CHECK (registrar_check_burst >= 1);
ALTER TABLE registrar ADD COLUMN registrar_transform_per_second INTEGER CHECK (registrar_transform_per_second >= 0);
ALTER TABLE registrar ADD COLUMN registrar_transform_burst INTEGER CHECK (registrar_transform_burst >= 1);
ALTER TABLE registrar ADD COLUMN session_check_per_second INTEGER CHECK (session_check_per_second >= 0);
ALTER TABLE registrar ADD COLUMN session_check_burst INTEGER CHECK (session_check_burst >= 1);
ALTER TABLE registrar ADD COLUMN session_transform_per_second INTEGER CHECK (session_transform_per_second >= 0);
ALTER TABLE registrar ADD COLUMN session_transform_burst INTEGER CHECK (session_transform_burst >= 1);

-- Bounded answers under faults (issue #19): a transaction whose COMMIT reaches the database
-- after the frontend has answered 2400 (the database stalled, e.g. SIGSTOPped, with the COMMIT
-- in its socket buffer) must not commit. The frontend sets `epp.commit_by` (transaction-local)
-- to the database clock's now plus the time left; this deferred trigger, run at COMMIT for each
-- history row (every change writes one), refuses a commit that comes later.
CREATE FUNCTION epp_commit_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    by_text TEXT := current_setting('epp.commit_by', true);
BEGIN
    IF by_text IS NOT NULL AND by_text <> '' AND clock_timestamp() > by_text::timestamptz THEN
        RAISE EXCEPTION 'commit deadline % passed: the client has been answered 2400', by_text
            USING ERRCODE = '57014';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER object_history_commit_deadline AFTER INSERT ON object_history
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION epp_commit_deadline();
