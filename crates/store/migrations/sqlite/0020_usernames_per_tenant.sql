-- Usernames are unique per municipality (and among provider staff), no
-- longer across all of them: a tenant admin must not learn which names
-- exist elsewhere. SQLite cannot drop a column's UNIQUE constraint, so the
-- table is rebuilt. Migrations run with foreign keys off (`Store::migrate`):
-- dropping the old table with them on would cascade into every table that
-- references users.
CREATE TABLE users_per_tenant (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL,
    password_hash TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    language TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    totp_secret TEXT,
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    last_mfa_at INTEGER,
    totp_last_step INTEGER
);
INSERT INTO users_per_tenant (id, tenant_id, username, display_name, email, role,
    password_hash, must_change_password, disabled, language, created_at, updated_at,
    totp_secret, totp_enabled, last_mfa_at, totp_last_step)
SELECT id, tenant_id, username, display_name, email, role,
    password_hash, must_change_password, disabled, language, created_at, updated_at,
    totp_secret, totp_enabled, last_mfa_at, totp_last_step
FROM users;
DROP TABLE users;
ALTER TABLE users_per_tenant RENAME TO users;
CREATE INDEX users_tenant ON users(tenant_id);
CREATE INDEX users_tenant_username ON users(tenant_id, username);
-- Provider staff have no tenant: COALESCE makes them one namespace of
-- their own (NULLs would never collide in a plain unique index).
CREATE UNIQUE INDEX users_login_name ON users(COALESCE(tenant_id, ''), username);
