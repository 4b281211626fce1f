-- Enrollment of devices: one-time codes, and the credential a device uses
-- afterwards to fetch its configuration.

CREATE TABLE enrollment_codes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    -- 'code' (typed by a person) or 'stick' (a home-office stick's bundle)
    kind TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    device_id TEXT REFERENCES devices(id) ON DELETE SET NULL
);
CREATE INDEX enrollment_codes_user ON enrollment_codes(user_id);

ALTER TABLE devices ADD COLUMN token_hash TEXT;
CREATE UNIQUE INDEX devices_token_hash ON devices(token_hash);
