-- Sessions: seats held by gateways for devices, and refused admissions.

CREATE TABLE config_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

-- A device's seat, held by one or more gateways (see crates/admission).
CREATE TABLE seat_holders (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    priority BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    superseded BIGINT NOT NULL DEFAULT 0,
    rx_bytes BIGINT NOT NULL DEFAULT 0,
    tx_bytes BIGINT NOT NULL DEFAULT 0,
    last_handshake_at BIGINT,
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
    at BIGINT NOT NULL
);
CREATE INDEX refusals_tenant ON refusals(tenant_id, at);
CREATE INDEX refusals_user ON refusals(user_id, at);
