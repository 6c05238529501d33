-- +goose Up

-- What the upload scanners found (docs/scanning.md): one row per scan of
-- the files an upload brought to a release (a PyPI release gets one per
-- file upload; an upstream import one per fetch), kept for held and
-- published releases and removed with a discarded upload. files,
-- scanners and findings are JSON; findings hold files and lines, never a
-- secret. Owners read the findings; everyone reads the summary of a
-- published release (scanners, verdict, counts).
CREATE TABLE scan_results (
    id         {{.ID}},
    release_id BIGINT NOT NULL REFERENCES releases(id),
    files      {{.Text}} NOT NULL,
    scanners   {{.Text}} NOT NULL,
    verdict    {{.Text}} NOT NULL,
    findings   {{.Text}} NOT NULL,
    scanned_at BIGINT NOT NULL
);
CREATE INDEX scan_results_release ON scan_results (release_id, id);

-- +goose Down
DROP TABLE scan_results;
