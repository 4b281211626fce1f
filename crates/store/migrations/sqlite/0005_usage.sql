-- Sessions in use over time, sampled every few minutes, for capacity plots.
CREATE TABLE usage_samples (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    at INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    quota INTEGER,
    PRIMARY KEY (kind, name, at)
);
CREATE INDEX usage_samples_at ON usage_samples(at);
