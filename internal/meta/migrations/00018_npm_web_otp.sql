-- +goose Up

-- npm's web one-time passwords: a write that needs a second factor
-- answers with authUrl and doneUrl; the user confirms on the web page
-- (authUrl), npm polls doneUrl and gets a one-time value it sends back as
-- npm-otp. Only hashes of the three secrets are stored. A challenge is
-- bound to its user and to the request (method and path) it was made
-- for; needs is the level it asks, auth_level the level the confirming
-- web session had proved (0 until confirmed); otp_hash is set once, when
-- the poll hands the value out; the row is deleted when the value is used.
CREATE TABLE npm_otp_challenges (
    id         {{.ID}},
    auth_hash  {{.Text}} NOT NULL UNIQUE,
    done_hash  {{.Text}} NOT NULL UNIQUE,
    otp_hash   {{.Text}} UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    operation  {{.Text}} NOT NULL,
    needs      INTEGER NOT NULL,
    auth_level INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE npm_otp_challenges;
