-- +goose Up

-- Administrators' unlocks of user names throttled after failed sign-ins
-- (trove admin user unlock). Failures a server counted before unlocked_at
-- no longer count. The counts themselves live in each server's memory.
CREATE TABLE signin_unlocks (
    name        {{.Text}} PRIMARY KEY,
    unlocked_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE signin_unlocks;
