-- +goose Up

-- Packages whose releases come from upstream registries (issue 10): a
-- name is local or upstream, never both. upstream = 1 marks a package
-- created by importing an artifact fetched from an upstream.
ALTER TABLE packages ADD COLUMN upstream INTEGER NOT NULL DEFAULT 0;

-- The upstream a release's files were fetched from ('' for a local
-- release): the configured source's name.
ALTER TABLE releases ADD COLUMN source {{.Text}} NOT NULL DEFAULT '';

-- The cache of upstream metadata documents (packuments, simple pages,
-- version lists): a cache, left out of backups. status is the upstream's
-- answer (200, or 404 for a name it does not have); fetched_at is when the
-- body was last received, checked_at when the upstream last confirmed it
-- (Unix microseconds).
CREATE TABLE upstream_docs (
    ecosystem     {{.Text}} NOT NULL,
    doc           {{.Text}} NOT NULL,
    source        {{.Text}} NOT NULL,
    url           {{.Text}} NOT NULL,
    status        INTEGER NOT NULL,
    etag          {{.Text}} NOT NULL DEFAULT '',
    last_modified {{.Text}} NOT NULL DEFAULT '',
    fetched_at    BIGINT NOT NULL,
    checked_at    BIGINT NOT NULL,
    body          {{.Bytes}} NOT NULL,
    PRIMARY KEY (ecosystem, doc)
);

-- Names an administrator made an exception for: kind 'local' lets a name
-- that an upstream has be published here (a deliberate fork); kind
-- 'upstream' serves a name from upstreams although its namespace is local.
CREATE TABLE upstream_exceptions (
    ecosystem  {{.Text}} NOT NULL,
    name       {{.Text}} NOT NULL,
    kind       {{.Text}} NOT NULL,
    reason     {{.Text}} NOT NULL DEFAULT '',
    created_by {{.Text}} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ecosystem, name)
);

-- +goose Down
DROP TABLE upstream_exceptions;
DROP TABLE upstream_docs;
ALTER TABLE releases DROP COLUMN source;
ALTER TABLE packages DROP COLUMN upstream;
