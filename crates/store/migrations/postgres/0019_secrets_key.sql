-- Which key the secrets read back in clear (TOTP, OIDC client, webhook and
-- proxy signing secrets) are sealed with: an id derived from the key, never
-- the key itself. A replica with another key refuses to start.
CREATE TABLE secrets_key (
    key_id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
