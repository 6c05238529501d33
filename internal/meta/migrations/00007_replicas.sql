-- +goose Up

-- Background jobs that replicas sharing the database take turns at
-- (registry.Jobs): one row per job, claimed with SELECT … FOR UPDATE SKIP
-- LOCKED. holder leases the job until lease_until (Unix microseconds); a
-- holder that dies lets its lease run out and another replica claims the
-- job. finished_at is when the job last ran to its end, by any replica.
CREATE TABLE jobs (
    name        {{.Text}} PRIMARY KEY,
    holder      {{.Text}} NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT NOT NULL DEFAULT 0
);

-- Rate limits shared by the replicas (GCRA): tat is the theoretical
-- arrival time of the key's next event (Unix microseconds). A row whose
-- tat has passed is a full bucket and is deleted as decisions are made,
-- so the table holds only keys used within their limit's period.
CREATE TABLE rate_limits (
    bucket  {{.Text}} NOT NULL,
    name    {{.Text}} NOT NULL,
    tat     BIGINT NOT NULL,
    allowed INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (bucket, name)
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- Sign-in failure budgets shared by the replicas (internal/account): per
-- user name (kind 'name') and per client address (kind 'addr'), the
-- failures counted in the window that began at since. Rows of windows
-- that have ended are deleted as sign-ins are made.
CREATE TABLE signin_budgets (
    kind  {{.Text}} NOT NULL,
    name  {{.Text}} NOT NULL,
    since BIGINT NOT NULL,
    n     INTEGER NOT NULL DEFAULT 0,
    clean INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, name)
);
CREATE INDEX signin_budgets_since ON signin_budgets (since);

-- +goose Down
DROP TABLE signin_budgets;
DROP TABLE rate_limits;
DROP TABLE jobs;
