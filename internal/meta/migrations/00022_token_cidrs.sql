-- +goose Up

-- A token's client address allow-list: CIDR prefixes separated by spaces
-- ('' allows every address). A request presenting the token from an
-- address outside every prefix is refused.
ALTER TABLE tokens ADD COLUMN cidrs {{.Text}} NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN cidrs;
