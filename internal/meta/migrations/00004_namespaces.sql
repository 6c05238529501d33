-- +goose Up

-- The namespace a package is in, as its ecosystem's rules compute it
-- ('' for none): an npm scope such as '@acme', the path of a Go module
-- without its major version suffix, lowercased. Whoever owns the packages
-- of a namespace decides who creates new packages in it.
ALTER TABLE packages ADD COLUMN namespace {{.Text}} NOT NULL DEFAULT '';
CREATE INDEX packages_namespace ON packages (ecosystem, namespace);

-- +goose Down
DROP INDEX packages_namespace;
ALTER TABLE packages DROP COLUMN namespace;
