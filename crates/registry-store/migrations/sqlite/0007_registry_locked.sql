-- The delegation guard (registry-core `guard`) asks, for every host whose glue a change
-- moves, which registry-locked domains use it. `registry_locked` mirrors the domain
-- document's lock (applied and not released for a timed unlock); the store keeps it in step
-- on every write. The partial index lets that question start from the few locked domains
-- instead of every user of a popular name server.
ALTER TABLE domain ADD COLUMN registry_locked BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE domain SET registry_locked = TRUE
 WHERE json_type(data, '$.registry_lock') = 'object'
   AND json_type(data, '$.registry_lock.relock_at') IS NOT 'text';
CREATE INDEX domain_registry_locked ON domain (id) WHERE registry_locked;
