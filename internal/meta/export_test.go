package meta

import (
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
