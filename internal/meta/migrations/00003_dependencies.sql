-- +goose Up

-- What each release depends on, by (ecosystem, normalized name) and the
-- version constraint written for it, as its adapter read them from the
-- artifact (npm dependencies, optional and peer dependencies with their
-- ranges; PyPI Requires-Dist with its specifiers; Go requires with their
-- versions). The unpublish policy asks who depends on a version; pages
-- list dependents.
CREATE TABLE dependencies (
    release_id BIGINT NOT NULL REFERENCES releases(id),
    ecosystem  {{.Text}} NOT NULL,
    name       {{.Text}} NOT NULL,
    constraint_text {{.Text}} NOT NULL DEFAULT '',
    PRIMARY KEY (release_id, ecosystem, name, constraint_text)
);
CREATE INDEX dependencies_target ON dependencies (ecosystem, name);

-- +goose Down
DROP TABLE dependencies;
