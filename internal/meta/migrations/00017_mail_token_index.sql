-- +goose Up

-- The account page looks up a user's pending mail token of a kind (an
-- email change), and limits count them per user: mail_tokens is never
-- pruned, so these lookups need an index.
CREATE INDEX mail_tokens_user ON mail_tokens (user_id, kind, created_at);

-- +goose Down
DROP INDEX mail_tokens_user;
