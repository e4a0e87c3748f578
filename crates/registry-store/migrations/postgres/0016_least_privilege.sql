-- Least privilege (issue 13): the database owner (who runs the migrations: `registry-admin
-- migrate`) is the only one who can change the schema or rewrite history. Three group roles,
-- to which the deployment's login roles belong (README, "Database roles"):
--   epp_frontend  eppd and zonegen: read and write the registry's objects; history and login
--                 audit rows are insert-only (plus the chain fields the sequencer sets once);
--   epp_admin     registry-admin's day-to-day role: the same rights as the frontends;
--   epp_reader    rdapd and reporting: SELECT only.
-- Roles are cluster-wide, so another database of the cluster may have made them already.
DO $$
DECLARE r TEXT;
BEGIN
    FOREACH r IN ARRAY ARRAY['epp_frontend', 'epp_admin', 'epp_reader'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO epp_frontend, epp_admin, epp_reader',
                   current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO epp_frontend, epp_admin, epp_reader;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO epp_frontend, epp_admin;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO epp_frontend, epp_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO epp_reader;

-- Tables added by later migrations (run by the same owner) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO epp_frontend, epp_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO epp_frontend, epp_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO epp_reader;

-- The trail: insert-only. The sequencer (run by every frontend) sets chain_seq and chain_hash
-- once; the append-only trigger of 0008 is the second wall behind this grant.
REVOKE UPDATE, DELETE, TRUNCATE ON object_history FROM epp_frontend, epp_admin;
GRANT UPDATE (chain_seq, chain_hash) ON object_history TO epp_frontend, epp_admin;
REVOKE UPDATE, DELETE, TRUNCATE ON login_audit FROM epp_frontend, epp_admin;

-- The schema's record is the owner's.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM epp_frontend, epp_admin;

-- The login audit gets the same second wall as the history: not even its owner changes a row
-- without first dropping this trigger (which the owner's own audit, outside, would show).
CREATE FUNCTION login_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'login audit rows cannot be changed or deleted';
END
$$;
CREATE TRIGGER login_audit_append_only BEFORE UPDATE OR DELETE ON login_audit
    FOR EACH ROW EXECUTE FUNCTION login_audit_append_only();
