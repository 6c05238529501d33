-- +goose Up

-- Roles on packages (access.Role: owner, maintainer, reader). The owners
-- table becomes the package's grants to users: every row so far was an
-- owner, and keeps that role.
ALTER TABLE owners ADD COLUMN role {{.Text}} NOT NULL DEFAULT 'owner';

-- Organisations. Their names share one space with user names (an npm
-- scope @name is the user's or the organisation's): creating either
-- refuses a name the other has.
CREATE TABLE orgs (
    id         {{.ID}},
    name       {{.Text}} NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- The members of an organisation and their role on every package it
-- owns; an organisation keeps at least one owner.
CREATE TABLE org_members (
    org_id     BIGINT NOT NULL REFERENCES orgs(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    role       {{.Text}} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

-- Invitations to join an organisation with a role: the invitee accepts
-- (or declines) them; nobody is added to an organisation silently.
CREATE TABLE org_invitations (
    org_id     BIGINT NOT NULL REFERENCES orgs(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    role       {{.Text}} NOT NULL,
    invited_by BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_invitations_user ON org_invitations (user_id);

-- Teams inside an organisation, their members, and their roles on the
-- organisation's packages.
CREATE TABLE teams (
    id         {{.ID}},
    org_id     BIGINT NOT NULL REFERENCES orgs(id),
    name       {{.Text}} NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE team_members (
    team_id    BIGINT NOT NULL REFERENCES teams(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE team_grants (
    team_id    BIGINT NOT NULL REFERENCES teams(id),
    package_id BIGINT NOT NULL REFERENCES packages(id),
    role       {{.Text}} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, package_id)
);
CREATE INDEX team_grants_package ON team_grants (package_id);

-- The organisation a package belongs to, if any: its members' roles apply
-- to it.
ALTER TABLE packages ADD COLUMN org_id BIGINT REFERENCES orgs(id);

-- +goose Down
ALTER TABLE packages DROP COLUMN org_id;
DROP TABLE team_grants;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE org_invitations;
DROP TABLE org_members;
DROP TABLE orgs;
ALTER TABLE owners DROP COLUMN role;
