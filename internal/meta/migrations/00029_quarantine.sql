-- +goose Up

-- Releases an administrator quarantined (docs/scanning.md, Reports and the
-- administrators' queue): a release that was visible, taken out of view
-- (state 'suspended') while it is examined. prior_state is the state it
-- returns to when released ('published' or 'yanked'); the row goes when
-- it is released or taken down. The reason and who are the
-- administrator's; the transparency log's quarantine record holds the
-- reason too, and recovery rebuilds the row from it.
CREATE TABLE quarantined_releases (
    release_id     BIGINT PRIMARY KEY REFERENCES releases(id),
    prior_state    {{.Text}} NOT NULL,
    reason         {{.Text}} NOT NULL,
    quarantined_by {{.Text}} NOT NULL,
    quarantined_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE quarantined_releases;
