-- +goose Up

-- Whether a user chose to show their email address beside their name in
-- public metadata (npm packuments and search results). Off: addresses
-- are private unless their owner opts in.
ALTER TABLE users ADD COLUMN public_email INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN public_email;
