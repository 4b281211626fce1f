-- A municipality's onboarding counts per day (UTC), so a coordinator and
-- the crisis staff see how the move home went over time. The background
-- loop rewrites today's row every quarter hour; a past day keeps its last.
CREATE TABLE onboarding_days (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    employees INTEGER NOT NULL,
    invited INTEGER NOT NULL,
    activated INTEGER NOT NULL,
    second_factor INTEGER NOT NULL,
    device INTEGER NOT NULL,
    working INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
