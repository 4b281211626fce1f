-- Home-office sticks: batches of prepared devices, each with a one-time
-- enrollment token (an enrollment_codes row of kind 'stick').

CREATE TABLE stick_batches (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- 'generating' until its files are written; only 'ready' batches enroll
    state TEXT NOT NULL,
    language TEXT NOT NULL,
    stick_count BIGINT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    token_expires_at BIGINT NOT NULL,
    -- Sticks of the batch reach what this group reaches (besides their owner's groups).
    group_id TEXT REFERENCES user_groups(id) ON DELETE SET NULL
);
CREATE INDEX stick_batches_tenant ON stick_batches(tenant_id);

ALTER TABLE devices ADD COLUMN batch_id TEXT REFERENCES stick_batches(id) ON DELETE CASCADE;
ALTER TABLE devices ADD COLUMN stick_id TEXT;
-- Letter recipient as JSON (name, address lines, email).
ALTER TABLE devices ADD COLUMN recipient TEXT;
ALTER TABLE devices ADD COLUMN shipped_at BIGINT;
ALTER TABLE devices ADD COLUMN enrolled_at BIGINT;
CREATE UNIQUE INDEX devices_stick_id ON devices(stick_id);
CREATE INDEX devices_batch ON devices(batch_id);
CREATE INDEX enrollment_codes_device ON enrollment_codes(device_id);
