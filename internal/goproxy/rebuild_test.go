package goproxy

import (
	"testing"

	"github.com/trove-dev/trove/internal/server/servertest"
)

// TestRebuild rebuilds module versions from their .mod and .zip alone, as
// trove log recover does: same go.sum lines, metadata and files.
func TestRebuild(t *testing.T) {
	e := newTestEnv(t)
	e.publish(t, "example.test/lib", "v1.0.0")
	e.publish(t, "example.test/lib", "v1.1.0")
	if n := servertest.CheckRebuild(t, e.Env, Rules{}); n != 2 {
		t.Errorf("checked %d publish records, want 2", n)
	}
}
