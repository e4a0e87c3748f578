#!/bin/bash
# Run once by the postgres image when it initialises its data directory (mounted into
# /docker-entrypoint-initdb.d): the login roles of the frontends and of the zone publisher,
# members of the least-privilege groups the migrations grant to (README, "Database roles").
# The groups are made here too, so the memberships can be granted before the first migration;
# the migration leaves existing groups as they are.
set -euo pipefail
: "${EPPD_DB_PASSWORD:?}" "${ZONEGEN_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v eppd_pw="$EPPD_DB_PASSWORD" -v zonegen_pw="$ZONEGEN_DB_PASSWORD" <<'SQL'
CREATE ROLE epp_frontend NOLOGIN;
CREATE ROLE epp_admin NOLOGIN;
CREATE ROLE epp_reader NOLOGIN;
CREATE ROLE eppd LOGIN PASSWORD :'eppd_pw' IN ROLE epp_frontend;
CREATE ROLE zonegen LOGIN PASSWORD :'zonegen_pw' IN ROLE epp_frontend;
SQL
