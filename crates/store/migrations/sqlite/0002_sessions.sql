-- Sessions: seats held by gateways for devices, and refused admissions.

CREATE TABLE config_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

-- A device's seat, held by one or more gateways (see crates/admission).
CREATE TABLE seat_holders (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    priority INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    superseded INTEGER NOT NULL DEFAULT 0,
    rx_bytes INTEGER NOT NULL DEFAULT 0,
    tx_bytes INTEGER NOT NULL DEFAULT 0,
    last_handshake_at INTEGER,
    endpoint TEXT,
    PRIMARY KEY (device_id, gateway_id)
);
CREATE INDEX seat_holders_tenant ON seat_holders(tenant_id, expires_at);
CREATE INDEX seat_holders_gateway ON seat_holders(gateway_id);

CREATE TABLE refusals (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    user_id TEXT,
    gateway_id TEXT,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX refusals_tenant ON refusals(tenant_id, at);
CREATE INDEX refusals_user ON refusals(user_id, at);
