-- +goose Up

-- How strongly the creator of a token had proved who they were when it was
-- minted (trove.AuthLevel: 0 none, 1 password, 2 mfa, 3 phishing-resistant).
-- Tokens minted before levels were recorded are 0 and cannot publish where
-- the MFA policy applies.
ALTER TABLE tokens ADD COLUMN auth_level INTEGER NOT NULL DEFAULT 0;

-- How the person who completed a browser login (npm login) had signed in
-- on the web: the token that login mints gets that level.
ALTER TABLE login_sessions ADD COLUMN auth_level INTEGER NOT NULL DEFAULT 0;

-- The level of the token that published a release (SCVS-4.5): consumers
-- see whether a release was published with a second factor.
ALTER TABLE releases ADD COLUMN auth_level INTEGER NOT NULL DEFAULT 0;

-- A package's own publishing policy: publish_auth raises the registry's
-- default level (never lowers it); marked is an administrator's
-- critical mark; ranked is set by the daily job for the top 1% of
-- packages by downloads over 90 days. A package without a row has no
-- override and is not critical.
CREATE TABLE package_policies (
    package_id   BIGINT PRIMARY KEY REFERENCES packages(id),
    publish_auth INTEGER NOT NULL DEFAULT 0,
    marked       INTEGER NOT NULL DEFAULT 0,
    ranked       INTEGER NOT NULL DEFAULT 0
);

-- File downloads per package per UTC day (day = Unix days), counted in
-- memory by each replica and added here periodically.
CREATE TABLE package_downloads (
    package_id BIGINT NOT NULL REFERENCES packages(id),
    day        BIGINT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (package_id, day)
);
CREATE INDEX package_downloads_day ON package_downloads (day);

-- +goose Down
DROP TABLE package_downloads;
DROP TABLE package_policies;
ALTER TABLE releases DROP COLUMN auth_level;
ALTER TABLE login_sessions DROP COLUMN auth_level;
ALTER TABLE tokens DROP COLUMN auth_level;
