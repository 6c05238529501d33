-- +goose Up

-- An administrator deleted the account (internal/account's Deletions):
-- the row stays as a tombstone so that its name is never registered
-- again (nobody inherits the trust, the namespace or the releases that
-- name it), while everything personal or credential-like is erased:
-- email is '', password_hash is '', webauthn_handle is NULL, and the
-- rows of its factors, codes, tokens, sessions, devices and mail tokens
-- are deleted in the same transaction.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;

-- The administrators' view of security events filters by kind.
CREATE INDEX security_events_kind ON security_events (kind, id);

-- +goose Down
DROP INDEX security_events_kind;
ALTER TABLE users DROP COLUMN deleted_at;
