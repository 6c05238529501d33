-- +goose Up

-- Verified email addresses (OSSF-AUTHN-1.1): the user proved they read
-- mail at email (a verification link), or an operator vouched for it
-- (trove admin user add --verified, trove admin user verify). It counts
-- only while email is still the account's address. Without it the user
-- cannot publish. Accounts that exist before this migration predate the
-- rule (an operator created them, or accepted open registration): their
-- addresses are taken as verified.
CREATE TABLE email_verifications (
    user_id     BIGINT PRIMARY KEY REFERENCES users(id),
    email       {{.Text}} NOT NULL,
    verified_at BIGINT NOT NULL
);
INSERT INTO email_verifications (user_id, email, verified_at) SELECT id, email, created_at FROM users;

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
-- On a registry with history, release notices start from now: nobody is
-- mailed about past releases. (A new registry has no row: from the start.)
INSERT INTO notify_cursors (name, serial) SELECT 'release-mail', id FROM changes WHERE id = (SELECT MAX(id) FROM changes);

-- +goose Down
DROP TABLE notify_cursors;
DROP TABLE mail_tokens;
DROP TABLE known_devices;
DROP TABLE security_events;
DROP TABLE outbox;
DROP TABLE email_verifications;
