package meta

import (
	"context"
	"strconv"
	"testing"
)

// CapSchema makes this build know only the migrations up to version v
// until t ends, as a build linked with -X …/meta.schemaCap=v does: the
// previous release. Tests using it must not run in parallel.
func CapSchema(t testing.TB, v int64) {
	old := schemaCap
	schemaCap = strconv.FormatInt(v, 10)
	t.Cleanup(func() { schemaCap = old })
}

// Exec runs a statement on db as any code of this package could, for
// tests that prove the engine itself refuses it.
// It runs in a transaction, where writes are allowed.
func Exec(db *DB, stmt string) error {
	return db.Tx(context.Background(), func(tx *Tx) error {
		_, err := tx.exec(context.Background(), stmt)
		return err
	})
}
