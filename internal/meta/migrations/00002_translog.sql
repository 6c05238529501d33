-- +goose Up

-- The transparency log (internal/translog): records by index, the stored
-- Merkle hashes by tlog stored-hash index (hex), and an index from
-- (ecosystem, name, version) to the records about it. Rows are only ever
-- inserted.
CREATE TABLE log_records (
    id   BIGINT PRIMARY KEY,
    data {{.Text}} NOT NULL
);

CREATE TABLE log_hashes (
    idx  BIGINT PRIMARY KEY,
    hash {{.Text}} NOT NULL
);

CREATE TABLE log_index (
    ecosystem {{.Text}} NOT NULL,
    name      {{.Text}} NOT NULL,
    version   {{.Text}} NOT NULL,
    kind      {{.Text}} NOT NULL,
    record_id BIGINT NOT NULL REFERENCES log_records(id)
);
CREATE INDEX log_index_key ON log_index (ecosystem, name, version);

-- +goose Down
DROP TABLE log_index;
DROP TABLE log_hashes;
DROP TABLE log_records;
