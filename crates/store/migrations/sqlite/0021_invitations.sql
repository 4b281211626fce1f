-- Invitations: a one-time link, by mail or on a printed letter, that leads
-- an employee through the first login. The token is stored as a hash; the
-- sealed copy exists only until the mail has gone out.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_sealed TEXT,
    delivery TEXT NOT NULL,
    reminder INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    delivered_at INTEGER,
    failed_at INTEGER,
    last_error TEXT
);
CREATE INDEX invitations_user ON invitations(user_id, created_at);
CREATE INDEX invitations_tenant ON invitations(tenant_id);
CREATE INDEX invitations_due ON invitations(next_attempt_at);

-- The onboarding steps that are not visible elsewhere: the first login
-- (or accepted invitation) and a device's first session.
ALTER TABLE users ADD COLUMN activated_at INTEGER;
ALTER TABLE devices ADD COLUMN first_session_at INTEGER;
UPDATE users SET activated_at = (
    SELECT MIN(a.at) FROM audit_log a WHERE a.action = 'user.login' AND a.target_id = users.id);
UPDATE devices SET first_session_at = (
    SELECT MIN(s.started_at) FROM seat_holders s WHERE s.device_id = devices.id);

-- Remind employees who have not used their invitation after this many
-- days (off by default).
ALTER TABLE tenants ADD COLUMN invitation_reminder_days INTEGER;
