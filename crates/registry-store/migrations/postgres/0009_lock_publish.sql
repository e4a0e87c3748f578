-- The publisher check (issue 12): the zone generator asks, before it publishes a batch, which
-- domains are registry-locked and which delegation each lock holds. The answer comes from the
-- history (`lock:delegation` notes, written when a lock is applied or relocked, and
-- `lock:released`), which the history chain makes tamper-evident; this index keeps the
-- question to the few lock rows instead of the whole history.
CREATE INDEX object_history_lock_delegation ON object_history (id)
 WHERE object_type = 'domain' AND op IN ('lock:delegation', 'lock:released');
-- Why a batch is held: the safety valve (too many delegations removed or repointed) or the
-- lock check (a registry-locked delegation would change).
ALTER TABLE zonegen_held_batch ADD COLUMN reason TEXT NOT NULL DEFAULT 'safety valve';
