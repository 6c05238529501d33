-- +goose Up

-- What each release depends on, by (ecosystem, normalized name), as its
-- adapter read it from the artifact (npm dependencies, optional and peer
-- dependencies; PyPI Requires-Dist; Go requires). The unpublish policy
-- asks who depends on a package; pages list dependents.
CREATE TABLE dependencies (
    release_id BIGINT NOT NULL REFERENCES releases(id),
    ecosystem  TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (release_id, ecosystem, name)
);
CREATE INDEX dependencies_target ON dependencies (ecosystem, name);

-- +goose Down
DROP TABLE dependencies;
