-- +goose Up

-- Curation of upstream versions (internal/curate). A policy applies to the
-- packages of an ecosystem whose names match its pattern: '*' for all of
-- them, a name pattern with '*' ('@acme/*'), or one package name. For a
-- package, each setting comes from the most specific policy that sets it:
-- mode '' (inherit), 'open' or 'approved-only'; min_age in microseconds
-- (-1: inherit); install_scripts '' (inherit), 'allow' or 'block'.
-- set_by is the user who made the change, set_at when (Unix microseconds).
CREATE TABLE curation_policies (
    ecosystem       {{.Text}} NOT NULL,
    pattern         {{.Text}} NOT NULL,
    mode            {{.Text}} NOT NULL DEFAULT '',
    min_age         BIGINT NOT NULL DEFAULT -1,
    install_scripts {{.Text}} NOT NULL DEFAULT '',
    why             {{.Text}} NOT NULL DEFAULT '',
    set_by          {{.Text}} NOT NULL,
    set_at          BIGINT NOT NULL,
    PRIMARY KEY (ecosystem, pattern)
);

-- Curators' marks on versions: kind 'allow', 'deny' or 'malicious' for the
-- versions of the packages matching name (a name, or a pattern with '*')
-- that versions selects ('*', one version's canonical key, or a range in
-- the ecosystem's syntax), or 'tag' (tag 'approved', …) on one version of
-- one package. Removing a mark deletes its row; the transparency log
-- keeps the history.
CREATE TABLE curation_marks (
    id        {{.ID}},
    ecosystem {{.Text}} NOT NULL,
    name      {{.Text}} NOT NULL,
    versions  {{.Text}} NOT NULL,
    kind      {{.Text}} NOT NULL,
    tag       {{.Text}} NOT NULL DEFAULT '',
    why       {{.Text}} NOT NULL DEFAULT '',
    set_by    {{.Text}} NOT NULL,
    set_at    BIGINT NOT NULL,
    UNIQUE (ecosystem, name, versions, kind, tag)
);
CREATE INDEX curation_marks_pattern ON curation_marks (ecosystem, name);

-- Users who may curate besides administrators.
CREATE TABLE curators (
    user_id  BIGINT PRIMARY KEY REFERENCES users(id),
    added_by {{.Text}} NOT NULL,
    added_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE curators;
DROP TABLE curation_marks;
DROP TABLE curation_policies;
