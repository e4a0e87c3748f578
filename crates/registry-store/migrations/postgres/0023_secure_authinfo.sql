-- Secure authInfo (RFC 9154, issue 18): an object's authInfo is stored only as a salted
-- SHA-256 hash (`sha256$<salt hex>$<digest hex>`, registry-core `secure_auth`). SQL cannot
-- salt and hash portably, so this migration only lists the objects whose stored authInfo is
-- still plaintext; `registry_store::secure_auth::hash_plaintext`, run by every connect right
-- after the migrations (so by the owner who migrates), hashes each in place and takes it off
-- the list. Until then a plaintext value opens nothing (the core fails closed on anything not
-- in hash format).
--
-- When an authInfo was set (`auth_set`, from which it expires) lives in the object's JSON
-- document like every other field, so no column is added; the hashing sets it to the time of
-- the hashing.
CREATE TABLE auth_info_plaintext (
    object_type TEXT NOT NULL CHECK (object_type IN ('domain', 'contact')),
    object_id   BIGINT NOT NULL,
    PRIMARY KEY (object_type, object_id)
);

INSERT INTO auth_info_plaintext (object_type, object_id)
    SELECT 'domain', id FROM domain
     WHERE (data::jsonb ->> 'auth_pw') IS NOT NULL
       AND (data::jsonb ->> 'auth_pw') NOT LIKE 'sha256$%';
INSERT INTO auth_info_plaintext (object_type, object_id)
    SELECT 'contact', id FROM contact
     WHERE (data::jsonb ->> 'auth_pw') IS NOT NULL
       AND (data::jsonb ->> 'auth_pw') NOT LIKE 'sha256$%';

-- Least privilege (0016): the default privileges already cover a new table of the owner's;
-- spelled out here so the rights this table needs are on record. The frontends and the admin
-- tool may finish a hashing the owner's connect left undone (read the list, update the object,
-- delete the entry); readers only read.
GRANT SELECT, DELETE ON auth_info_plaintext TO epp_frontend, epp_admin;
GRANT SELECT ON auth_info_plaintext TO epp_reader;
