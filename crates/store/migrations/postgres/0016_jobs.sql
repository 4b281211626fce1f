-- Long work (bulk imports, later invitations) runs as a job: a record of
-- its state, progress and error code, so nothing is lost when the browser
-- closes or the request times out. The secret part of a result (one-time
-- passwords) is stored only encrypted, with a key the server does not keep
-- (it is given to whoever started the job), and deleted when fetched once
-- or after a day (store::jobs).
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    phase TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL,
    error_code TEXT,
    error_detail TEXT,
    summary TEXT NOT NULL DEFAULT '{}',
    secret_result TEXT,
    result_state TEXT NOT NULL DEFAULT 'none',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_tenant ON jobs(tenant_id, created_at);
