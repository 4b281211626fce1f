-- An enrollment code that was handed out by mistake (wrong person, letter
-- lost in the post) can be withdrawn before it is used; the row stays so
-- the list and the audit log still show it.
ALTER TABLE enrollment_codes ADD COLUMN revoked_at INTEGER;
