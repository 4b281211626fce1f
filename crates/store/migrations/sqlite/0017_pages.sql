-- Issue 19 item 6: pages and lists that grow with history.

-- Capacity history rolled up per hour (highest sessions, latest quota), so
-- 30 days read 720 rows per series instead of 8,640. Written with each
-- sample; the key leads with the time so a range narrows the scan.
CREATE TABLE usage_hourly (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    at INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    quota INTEGER,
    PRIMARY KEY (kind, at, name)
) WITHOUT ROWID;
INSERT INTO usage_hourly (kind, name, at, sessions, quota)
    SELECT kind, name, at - (at % 3600000), MAX(sessions), MAX(quota)
    FROM usage_samples GROUP BY kind, name, at - (at % 3600000);
-- 24 h read the raw samples of one kind in a time range, from the index alone.
CREATE INDEX usage_samples_kind_at ON usage_samples(kind, at, name, sessions, quota);

-- Audit filters by tenant, actor and action read newest first from an index.
-- An action prefix (`user.`) names the family before the first dot: its
-- own column, so that a family as large as the logins reads in time order
-- too instead of sorting every match.
ALTER TABLE audit_log ADD COLUMN action_family TEXT;
UPDATE audit_log SET action_family = CASE WHEN instr(action, '.') > 0 THEN substr(action, 1, instr(action, '.') - 1) ELSE action END;
CREATE INDEX audit_log_tenant_slug ON audit_log(tenant_slug, at, id);
CREATE INDEX audit_log_actor ON audit_log(actor_name, at, id);
CREATE INDEX audit_log_action ON audit_log(action, at, id);
CREATE INDEX audit_log_family ON audit_log(action_family, at, id);

-- Lists page by keyset: devices of a tenant in creation order.
CREATE INDEX devices_tenant_created ON devices(tenant_id, created_at, id);
CREATE INDEX users_tenant_username ON users(tenant_id, username);
