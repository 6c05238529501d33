-- +goose Up

-- Second factors (internal/account): TOTP authenticators and WebAuthn
-- credentials (security keys and passkeys), several per user.
--
-- TOTP: secret is the shared secret sealed with AES-GCM under a key kept
-- outside the database (accounts.factor_key_file); last_step is the last
-- time step a code was accepted for, raised only by a compare-and-swap so
-- a code is accepted once. confirmed_at is NULL while an enrolment waits
-- for its first code; such rows are never used to sign in.
-- WebAuthn: credential_id is the credential's raw id (base64url), and
-- credential the library's credential record as JSON (public key, sign
-- count, flags, transports, AAGUID); clone_warning is set when the sign
-- count went backwards (the credential is then refused).
CREATE TABLE factors (
    id            {{.ID}},
    user_id       BIGINT NOT NULL REFERENCES users(id),
    kind          {{.Text}} NOT NULL,
    name          {{.Text}} NOT NULL,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT,
    last_used_at  BIGINT,
    secret        {{.Text}} NOT NULL DEFAULT '',
    last_step     BIGINT NOT NULL DEFAULT 0,
    credential_id {{.Text}} UNIQUE,
    credential    {{.Text}} NOT NULL DEFAULT '',
    clone_warning INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX factors_user ON factors (user_id);

-- The WebAuthn user handle: 32 random bytes (base64url), not the user id,
-- assigned when the user registers their first credential. Passkeys
-- carry it back at passwordless sign-in.
ALTER TABLE users ADD COLUMN webauthn_handle {{.Text}};
CREATE UNIQUE INDEX users_webauthn_handle ON users (webauthn_handle);

-- Recovery codes: only the SHA-256 (hex) of each code, which has 50 random
-- bits; used_at is set once, when the code is spent.
CREATE TABLE recovery_codes (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    hash       {{.Text}} NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, hash)
);

-- WebAuthn ceremonies under way: the challenge and what the server
-- expects back (the library's session data as JSON), for at most a few
-- minutes. id is the SHA-256 (hex) of the token the browser holds; a row
-- is deleted when it is used, so a ceremony completes once. user_id is
-- NULL for passwordless sign-in, where the user is not known yet.
CREATE TABLE webauthn_ceremonies (
    id         {{.Text}} PRIMARY KEY,
    user_id    BIGINT,
    kind       {{.Text}} NOT NULL,
    data       {{.Text}} NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

-- Which factor key seals the TOTP secrets: a one-way fingerprint of it,
-- recorded by the first server that uses a key. A server with another key
-- (a replica that made its own instead of sharing the first one's)
-- refuses to start instead of sealing secrets the others cannot open.
CREATE TABLE factor_key (
    id          INTEGER PRIMARY KEY,
    fingerprint {{.Text}} NOT NULL,
    set_at      BIGINT NOT NULL
);

-- +goose Down
DROP TABLE factor_key;
DROP TABLE webauthn_ceremonies;
DROP TABLE recovery_codes;
DROP INDEX users_webauthn_handle;
ALTER TABLE users DROP COLUMN webauthn_handle;
DROP TABLE factors;
