-- The tenant-specific parts of the employee manual.
CREATE TABLE tenant_manuals (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    support_name TEXT NOT NULL DEFAULT '',
    support_email TEXT NOT NULL DEFAULT '',
    support_phone TEXT NOT NULL DEFAULT '',
    support_hours TEXT NOT NULL DEFAULT '',
    -- JSON array of {"title", "markdown"}
    sections TEXT NOT NULL DEFAULT '[]',
    updated_at BIGINT NOT NULL
);
