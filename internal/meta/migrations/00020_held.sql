-- +goose Up

-- The API token a release was published with (NULL: another credential,
-- or published before tokens were recorded). No foreign key: a deleted
-- account's tokens are erased while its releases stay. The worm guard
-- counts, per credential, the distinct packages it published to within a
-- window (registry/burst.go); the indexes serve that count.
ALTER TABLE releases ADD COLUMN token_id BIGINT;
CREATE INDEX releases_token_created ON releases (token_id, created_at);
CREATE INDEX releases_publisher_created ON releases (publisher_id, created_at);

-- Uploads held for review: their release (or the files they added to a
-- visible one) stays quarantined, invisible, until an administrator
-- releases or rejects it (trove admin held). The sweep of abandoned
-- uploads leaves them alone. reason is "burst" (the worm guard) or "scan"
-- (a scanner's verdict); message is what the publisher was told. tags and
-- lines are the upload's dist-tags and ecosystem lines (JSON arrays of
-- strings), applied and logged when it is released.
CREATE TABLE held_releases (
    release_id BIGINT PRIMARY KEY REFERENCES releases(id),
    reason     {{.Text}} NOT NULL,
    message    {{.Text}} NOT NULL,
    tags       {{.Text}} NOT NULL DEFAULT '[]',
    lines      {{.Text}} NOT NULL DEFAULT '[]',
    held_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE held_releases;
DROP INDEX releases_publisher_created;
DROP INDEX releases_token_created;
ALTER TABLE releases DROP COLUMN token_id;
