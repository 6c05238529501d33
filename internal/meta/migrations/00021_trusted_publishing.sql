-- +goose Up

-- Trusted publishers (internal/trust): an OIDC identity (a CI workflow)
-- that may exchange its ID token for a short-lived token publishing one
-- package. name is the package's normalized name (as packages.name); the
-- package need not exist yet (a "pending" publisher: the first publish
-- through it creates the package, owned by created_by). kind is github,
-- gitlab or generic; issuer names a configured issuer
-- ([trusted_publishing] issuers); claims holds the kind's rules as JSON.
-- auth_level is the level of the credentials that configured it, which
-- the tokens it mints carry.
CREATE TABLE trusted_publishers (
    id          {{.ID}},
    ecosystem   {{.Text}} NOT NULL,
    name        {{.Text}} NOT NULL,
    kind        {{.Text}} NOT NULL,
    issuer      {{.Text}} NOT NULL,
    claims      {{.Text}} NOT NULL,
    created_by  BIGINT NOT NULL REFERENCES users(id),
    auth_level  INTEGER NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX trusted_publishers_name ON trusted_publishers (ecosystem, name);
CREATE INDEX trusted_publishers_issuer ON trusted_publishers (issuer, ecosystem);

-- The ID tokens already exchanged, by (issuer URL, jti), kept until their
-- expiry plus the leeway and then purged: a second exchange of one token
-- fails on the primary key, on every replica at once.
CREATE TABLE oidc_jtis (
    issuer     {{.Text}} NOT NULL,
    jti        {{.Text}} NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX oidc_jtis_expires ON oidc_jtis (expires_at);

-- The trusted publisher that minted a token (0: a person made it).
ALTER TABLE tokens ADD COLUMN publisher_id BIGINT NOT NULL DEFAULT 0;

-- "Trusted publishing only": publishing the package needs a token minted
-- by one of its trusted publishers.
ALTER TABLE package_policies ADD COLUMN trusted_only INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE package_policies DROP COLUMN trusted_only;
ALTER TABLE tokens DROP COLUMN publisher_id;
DROP TABLE oidc_jtis;
DROP TABLE trusted_publishers;
