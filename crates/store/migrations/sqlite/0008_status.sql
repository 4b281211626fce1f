-- The status page: components (one per region's VPN, others by operators),
-- their recorded status history, incidents and maintenance with updates,
-- subscribers, webhooks, and the outbox of notifications to deliver.
CREATE TABLE status_components (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    group_name TEXT NOT NULL DEFAULT '',
    region_id TEXT UNIQUE REFERENCES regions(id) ON DELETE CASCADE,
    -- A manual component's status; for a region's VPN an override.
    operator_status TEXT,
    operator_note TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

INSERT INTO status_components (id, name, group_name, region_id, created_at)
    SELECT 'vpn-' || id, 'vpn-' || name, 'VPN', id, created_at FROM regions;

CREATE TABLE status_component_tenants (
    component_id TEXT NOT NULL REFERENCES status_components(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    PRIMARY KEY (component_id, tenant_id)
);

-- One row per change of a component's effective status.
CREATE TABLE status_history (
    component_id TEXT NOT NULL REFERENCES status_components(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX status_history_component_at ON status_history(component_id, at);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    -- JSON {"de": ..., "nl": ..., "en": ...}
    title TEXT NOT NULL,
    impact TEXT NOT NULL,
    state TEXT NOT NULL,
    starts_at INTEGER,
    ends_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    resolved_at INTEGER
);

CREATE TABLE incident_components (
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES status_components(id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, component_id)
);

CREATE TABLE incident_updates (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates(incident_id, created_at);

CREATE TABLE status_subscribers (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    language TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    -- SHA-256 of the link that confirms the subscription.
    confirm_token_hash TEXT NOT NULL UNIQUE,
    -- Only lets its holder unsubscribe, and every mail carries it.
    unsubscribe_token TEXT NOT NULL UNIQUE,
    confirmed_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE status_webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    -- The HMAC key must be readable to sign deliveries.
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Notifications written in the same transaction as the change they report,
-- delivered (and retried) by a background worker.
CREATE TABLE status_deliveries (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    target_id TEXT NOT NULL,
    -- e.g. incident.update or subscription.confirm; rendered when sent
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    failed_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX status_deliveries_due ON status_deliveries(delivered_at, failed_at, next_attempt_at);
