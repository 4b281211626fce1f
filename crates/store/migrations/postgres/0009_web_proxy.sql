-- Web publishing of applications through the identity-aware proxy.
-- An application is published when web_upstream is not empty.
ALTER TABLE applications ADD COLUMN web_upstream TEXT NOT NULL DEFAULT '';

-- A browser's access to one published application, granted from a portal
-- login (login_token_id) and ended with it. Created holding a one-time code
-- (code_hash) that the application's host exchanges for the session cookie
-- (token_hash); both stored as SHA-256.
CREATE TABLE proxy_sessions (
    id TEXT PRIMARY KEY,
    login_token_id TEXT NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    code_hash TEXT UNIQUE,
    code_expires_at BIGINT NOT NULL,
    token_hash TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX proxy_sessions_login ON proxy_sessions(login_token_id);

-- Keys that sign the identity assertions (JWT) sent to upstreams; the public
-- halves are published as a JWKS. Shared by every control-plane replica.
CREATE TABLE proxy_signing_keys (
    kid TEXT PRIMARY KEY,
    private_pkcs8 TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
