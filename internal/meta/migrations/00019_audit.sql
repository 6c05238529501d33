-- +goose Up

-- The audit log (internal/audit): one row per mutating request of every
-- adapter, the API and the web, written once by the dispatcher, never
-- updated or deleted (triggers below refuse both on either engine).
--
-- user_id is the acting account (NULL: nobody signed in: the rows that
-- count anonymous refusals, count > 1); user_name is its name at the time;
-- credential says how it proved itself ("token <public id>", "web
-- session", "password", "anonymous") and never holds a secret; client is
-- the client address; action is the route's name ("npm.publish",
-- "web.account.tokens.create"); target what it acted on as the registry
-- saw it ("npm:demo@1.0.0"), or the request's path with anything shaped
-- like a token redacted; ecosystem and package the package it acted on,
-- if any, for the filter by package (and by a package's owners); outcome
-- is ok, denied, unauthenticated, invalid or error, status the HTTP status.
-- An erased account keeps its rows: its tombstone keeps the name.
CREATE TABLE audit_log (
    id         {{.ID}},
    at         BIGINT NOT NULL,
    user_id    BIGINT REFERENCES users(id),
    user_name  {{.Text}} NOT NULL,
    credential {{.Text}} NOT NULL,
    client     {{.Text}} NOT NULL,
    action     {{.Text}} NOT NULL,
    target     {{.Text}} NOT NULL,
    ecosystem  {{.Text}} NOT NULL,
    package    {{.Text}} NOT NULL,
    outcome    {{.Text}} NOT NULL,
    status     INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    detail     {{.Text}} NOT NULL,
    request_id {{.Text}} NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_package ON audit_log (ecosystem, package, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
{{if .Postgres}}
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
{{else}}
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd
{{end}}
-- +goose Down
DROP TABLE audit_log;
{{if .Postgres}}DROP FUNCTION audit_log_append_only();{{end}}
