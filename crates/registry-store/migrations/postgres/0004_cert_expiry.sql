-- When each pinned client certificate expires (NULL: pinned by fingerprint alone, unknown until
-- the registrar logs in with it) and when its registrar was warned about it.
ALTER TABLE registrar_cert ADD COLUMN not_after TIMESTAMPTZ;
ALTER TABLE registrar_cert ADD COLUMN expiry_warned_at TIMESTAMPTZ;
