-- Usernames are unique per municipality (and among provider staff), no
-- longer across all of them: a tenant admin must not learn which names
-- exist elsewhere. Provider staff have no tenant: COALESCE makes them one
-- namespace of their own (NULLs would never collide in a plain unique index).
ALTER TABLE users DROP CONSTRAINT users_username_key;
CREATE UNIQUE INDEX users_login_name ON users ((COALESCE(tenant_id, '')), username);
