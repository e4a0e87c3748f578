-- Secure authInfo (RFC 9154, issue 18): an object's authInfo is stored only as a salted
-- SHA-256 hash (`sha256$<salt hex>$<digest hex>`, registry-core `secure_auth`). SQL cannot
-- salt and hash portably, so this migration only lists the objects whose stored authInfo is
-- still plaintext; `registry_store::secure_auth::hash_plaintext`, run by every connect right
-- after the migrations, hashes each in place and takes it off the list. Until then a
-- plaintext value opens nothing (the core fails closed on anything not in hash format).
--
-- When an authInfo was set (`auth_set`, from which it expires) lives in the object's JSON
-- document like every other field, so no column is added; the hashing sets it to the time of
-- the hashing.
CREATE TABLE auth_info_plaintext (
    object_type TEXT NOT NULL CHECK (object_type IN ('domain', 'contact')),
    object_id   INTEGER NOT NULL,
    PRIMARY KEY (object_type, object_id)
);

INSERT INTO auth_info_plaintext (object_type, object_id)
    SELECT 'domain', id FROM domain
     WHERE json_extract(data, '$.auth_pw') IS NOT NULL
       AND json_extract(data, '$.auth_pw') NOT LIKE 'sha256$%';
INSERT INTO auth_info_plaintext (object_type, object_id)
    SELECT 'contact', id FROM contact
     WHERE json_extract(data, '$.auth_pw') IS NOT NULL
       AND json_extract(data, '$.auth_pw') NOT LIKE 'sha256$%';
