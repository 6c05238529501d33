-- +goose Up

-- Accounts. Names are stored lowercase; passwords only as argon2id PHC strings.
CREATE TABLE users (
    id            {{.ID}},
    name          {{.Text}} NOT NULL UNIQUE,
    email         {{.Text}} NOT NULL,
    password_hash {{.Text}} NOT NULL,
    admin         INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- API tokens. Only the SHA-256 of a token is stored; public_id is a short,
-- non-secret handle shown in lists and used to revoke.
CREATE TABLE tokens (
    id           {{.ID}},
    public_id    {{.Text}} NOT NULL UNIQUE,
    hash         {{.Text}} NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    description  {{.Text}} NOT NULL DEFAULT '',
    packages     {{.Text}} NOT NULL,
    actions      {{.Text}} NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);

-- Packages, unique by (ecosystem, normalized name). skeleton is the
-- look-alike key new names are checked against ('' when unused).
CREATE TABLE packages (
    id           {{.ID}},
    ecosystem    {{.Text}} NOT NULL,
    name         {{.Text}} NOT NULL,
    display_name {{.Text}} NOT NULL,
    skeleton     {{.Text}} NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_serial  BIGINT NOT NULL DEFAULT 0,
    UNIQUE (ecosystem, name)
);
CREATE INDEX packages_skeleton ON packages (ecosystem, skeleton);

CREATE TABLE owners (
    package_id BIGINT NOT NULL REFERENCES packages(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (package_id, user_id)
);

-- Releases are never deleted: state 'deleted' is a tombstone that keeps
-- (package, version_key) taken forever.
CREATE TABLE releases (
    id            {{.ID}},
    package_id    BIGINT NOT NULL REFERENCES packages(id),
    version       {{.Text}} NOT NULL,
    version_key   {{.Text}} NOT NULL,
    state         {{.Text}} NOT NULL,
    metadata      {{.Text}} NOT NULL,
    publisher_id  BIGINT REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    published_at  BIGINT,
    yanked_reason {{.Text}} NOT NULL DEFAULT '',
    deprecated    {{.Text}} NOT NULL DEFAULT '',
    deleted_at    BIGINT,
    UNIQUE (package_id, version_key)
);

-- Files are never deleted either, so a filename is never reused.
CREATE TABLE files (
    id              {{.ID}},
    release_id      BIGINT NOT NULL REFERENCES releases(id),
    package_id      BIGINT NOT NULL REFERENCES packages(id),
    filename        {{.Text}} NOT NULL,
    kind            {{.Text}} NOT NULL,
    state           {{.Text}} NOT NULL,
    size            BIGINT NOT NULL,
    sha256          {{.Text}} NOT NULL,
    sha512          {{.Text}} NOT NULL,
    sha1            {{.Text}} NOT NULL,
    blake2b_256     {{.Text}} NOT NULL,
    md5             {{.Text}} NOT NULL,
    metadata_sha256 {{.Text}} NOT NULL DEFAULT '',
    attrs           {{.Text}} NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    UNIQUE (package_id, filename)
);
CREATE INDEX files_release ON files (release_id);
CREATE INDEX files_sha256 ON files (sha256);

CREATE TABLE dist_tags (
    package_id BIGINT NOT NULL REFERENCES packages(id),
    tag        {{.Text}} NOT NULL,
    release_id BIGINT NOT NULL REFERENCES releases(id),
    PRIMARY KEY (package_id, tag)
);

-- The change feed: one row per public state change of a package, in
-- commit order. Caches on every replica follow it.
CREATE TABLE changes (
    id        {{.ID}},
    ecosystem {{.Text}} NOT NULL,
    name      {{.Text}} NOT NULL,
    kind      {{.Text}} NOT NULL,
    at        BIGINT NOT NULL
);

-- Pending browser logins (npm's web login). Only hashes of the two
-- secrets are stored.
CREATE TABLE login_sessions (
    id         {{.ID}},
    login_hash {{.Text}} NOT NULL UNIQUE,
    done_hash  {{.Text}} NOT NULL UNIQUE,
    user_id    BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE login_sessions;
DROP TABLE changes;
DROP TABLE dist_tags;
DROP TABLE files;
DROP TABLE releases;
DROP TABLE owners;
DROP TABLE packages;
DROP TABLE tokens;
DROP TABLE users;
