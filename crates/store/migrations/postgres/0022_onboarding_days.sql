-- A municipality's onboarding counts per day (UTC), so a coordinator and
-- the crisis staff see how the move home went over time. The background
-- loop rewrites today's row every quarter hour; a past day keeps its last.
CREATE TABLE onboarding_days (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    employees BIGINT NOT NULL,
    invited BIGINT NOT NULL,
    activated BIGINT NOT NULL,
    second_factor BIGINT NOT NULL,
    device BIGINT NOT NULL,
    working BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
