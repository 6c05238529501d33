-- +goose Up

-- Browser sessions of the web interface. Only the SHA-256 of the cookie's
-- secret is stored. A session ends at expires_at (absolute), after the
-- idle time since last_seen_at (checked by internal/account), or when
-- revoked. auth_level is a trove.AuthLevel; pending is 1 while a second
-- factor is still owed after the password; sudo_until is when the last
-- re-authentication stops counting for sensitive changes.
CREATE TABLE web_sessions (
    id           {{.ID}},
    hash         {{.Text}} NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    auth_level   INTEGER NOT NULL,
    pending      INTEGER NOT NULL DEFAULT 0,
    sudo_until   BIGINT,
    client       {{.Text}} NOT NULL DEFAULT '',
    user_agent   {{.Text}} NOT NULL DEFAULT '',
    revoked_at   BIGINT
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- An administrator disabled the account: it cannot sign in, and its
-- tokens and sessions stop working, until re-enabled.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
-- An administrator asked for a new password: the next sign-in leads
-- straight to the password change.
ALTER TABLE users ADD COLUMN password_reset INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN password_reset;
ALTER TABLE users DROP COLUMN disabled_at;
DROP TABLE web_sessions;
