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
