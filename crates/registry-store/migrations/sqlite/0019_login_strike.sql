-- Lock-out an outsider cannot trigger (issue #19): a failed login counts against its clID only
-- when the certificate was pinned to that clID and the source address was in its networks
-- (clid_strike = 1); every failure counts against its source address and certificate, which
-- the second index serves.
ALTER TABLE login_audit ADD COLUMN clid_strike BOOLEAN NOT NULL DEFAULT FALSE CHECK (clid_strike IN (0, 1));
CREATE INDEX login_audit_fingerprint ON login_audit (fingerprint, at);
