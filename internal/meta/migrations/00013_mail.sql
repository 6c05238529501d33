-- +goose Up

-- When the user proved they read mail at their address (OSSF-AUTHN-1.1):
-- NULL until they follow a verification link, or an operator vouches for
-- it (trove admin user add --verified, trove admin user verify). Until
-- then the user cannot publish.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- The mail outbox: every message Trove sends is first a row here, written
-- in the transaction of the change that caused it, then sent by the
-- sender job (internal/mail) with retries. sent_at is set once the SMTP
-- server accepted it (then body is cleared: it may hold a link with a
-- secret); gave_up_at once it failed max attempts (kept for operators,
-- who may retry it). last_error never holds a secret.
CREATE TABLE outbox (
    id              {{.ID}},
    recipient       {{.Text}} NOT NULL,
    subject         {{.Text}} NOT NULL,
    body            {{.Text}} NOT NULL,
    kind            {{.Text}} NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at         BIGINT,
    gave_up_at      BIGINT,
    last_error      {{.Text}} NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (sent_at, gave_up_at, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, created_at);

-- Security events on accounts (OSSF-AUTHN-1.4): what the owner was told
-- about by mail and sees on their account page.
CREATE TABLE security_events (
    id      {{.ID}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind    {{.Text}} NOT NULL,
    detail  {{.Text}} NOT NULL DEFAULT '',
    client  {{.Text}} NOT NULL DEFAULT '',
    at      BIGINT NOT NULL
);
CREATE INDEX security_events_user ON security_events (user_id, id);

-- The devices a user signed in from (user agent family and network), so
-- that a sign-in from a new one is told to the owner.
CREATE TABLE known_devices (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    device     {{.Text}} NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (user_id, device)
);

-- Single-use secrets sent by mail: email verification ('verify', for
-- user_id's address email) and invitations ('invite', to email). Only the
-- SHA-256 of the secret is stored.
CREATE TABLE mail_tokens (
    hash       {{.Text}} PRIMARY KEY,
    kind       {{.Text}} NOT NULL,
    user_id    BIGINT REFERENCES users(id),
    email      {{.Text}} NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- How far a notifier read the change feed (serial of the last change
-- whose mails are in the outbox), advanced in the transaction that
-- enqueues them.
CREATE TABLE notify_cursors (
    name   {{.Text}} PRIMARY KEY,
    serial BIGINT NOT NULL
);

-- +goose Down
DROP TABLE notify_cursors;
DROP TABLE mail_tokens;
DROP TABLE known_devices;
DROP TABLE security_events;
DROP TABLE outbox;
ALTER TABLE users DROP COLUMN email_verified_at;
