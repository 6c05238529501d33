-- +goose Up

-- Reports (docs/scanning.md, Reports and the administrators' queue): a
-- signed-in user's report that a package, or one version of it (version
-- '' for the whole package), is malicious or otherwise abusive. A report
-- is open until an administrator acts on its target (closed_as 'removed',
-- 'released' or 'dismissed'). A user has at most one open report per
-- target.
CREATE TABLE reports (
    id         {{.ID}},
    user_id    BIGINT NOT NULL REFERENCES users(id),
    ecosystem  {{.Text}} NOT NULL,
    name       {{.Text}} NOT NULL,
    version    {{.Text}} NOT NULL,
    category   {{.Text}} NOT NULL,
    reason     {{.Text}} NOT NULL,
    created_at BIGINT NOT NULL,
    closed_as  {{.Text}} NOT NULL DEFAULT '',
    closed_by  {{.Text}} NOT NULL DEFAULT '',
    closed_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX reports_open ON reports (user_id, ecosystem, name, version) WHERE closed_as = '';
CREATE INDEX reports_target ON reports (ecosystem, name, version);

-- Advisories: releases an administrator took down as malicious, published
-- as OSV records (docs/scanning.md, OSV feed). id is the serial of the
-- record's MAL-<year>-<serial> id; withdrawn_at is set when the advisory
-- is withdrawn.
CREATE TABLE advisories (
    id           {{.ID}},
    ecosystem    {{.Text}} NOT NULL,
    name         {{.Text}} NOT NULL,
    version      {{.Text}} NOT NULL,
    summary      {{.Text}} NOT NULL,
    published_at BIGINT NOT NULL,
    modified_at  BIGINT NOT NULL,
    withdrawn_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (ecosystem, name, version)
);

-- +goose Down
DROP TABLE advisories;
DROP TABLE reports;
