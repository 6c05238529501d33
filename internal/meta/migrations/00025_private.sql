-- +goose Up

-- Private packages (docs/private-packages.md): a private package is read
-- only by those holding a role on it (reader or stronger) with a token
-- that carries the read-private action; to everyone else it answers as a
-- name that was never published.
ALTER TABLE packages ADD COLUMN private INTEGER NOT NULL DEFAULT 0;

-- An organisation whose new packages start private.
ALTER TABLE orgs ADD COLUMN private_default INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE orgs DROP COLUMN private_default;
ALTER TABLE packages DROP COLUMN private;
