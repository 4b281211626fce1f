-- A device whose handshake is refused retries about 12 times a minute:
-- refusals are kept as one row per device, reason and hour, with a count
-- (first_at .. at), and pruned after REFUSAL_RETENTION_MS.
ALTER TABLE refusals ADD COLUMN first_at INTEGER;
ALTER TABLE refusals ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
UPDATE refusals SET first_at = at;
CREATE INDEX refusals_device ON refusals(device_id, reason, first_at);
CREATE INDEX refusals_at ON refusals(at);
