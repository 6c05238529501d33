-- +goose Up

-- (A user who signed in with a password found in known breaches gets
-- users.password_reset of 00011_web: they must change it before creating
-- tokens or publishing.)

-- What DNS said of each email domain in use (OSSF-AUTHN-2.1): status is
-- alive, dead or unknown; dead_since is when it was first seen dead (0:
-- never), kept when the domain comes back, because a domain that lapsed
-- and came back may have a new owner.
CREATE TABLE email_domains (
    domain     {{.Text}} PRIMARY KEY,
    status     {{.Text}} NOT NULL,
    reason     {{.Text}} NOT NULL DEFAULT '',
    checked_at BIGINT NOT NULL,
    dead_since BIGINT NOT NULL DEFAULT 0
);

-- Password reset links mailed to a verified address: only the SHA-256 of
-- the token is stored; single use (used_at), short-lived (expires_at).
CREATE TABLE password_resets (
    token_hash {{.Text}} PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      {{.Text}} NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);

-- +goose Down
DROP TABLE password_resets;
DROP TABLE email_domains;
