-- +goose Up

-- What Trove verified of upstream Go checksum databases (goproxy.SumState):
-- each database's latest signed tree ('<db>/latest'), replaced only by
-- compare-and-swap, so that a database that forks or rolls back its log
-- is caught across restarts and replicas; and the lookups and tiles
-- fetched from it ('<db>/lookup/…', '<db>/tile/…', 'relay/<db>/…'), which
-- never change. data is base64: tiles are binary.
CREATE TABLE upstream_sumdb (
    name {{.Text}} PRIMARY KEY,
    data {{.Text}} NOT NULL
);

-- +goose Down
DROP TABLE upstream_sumdb;
