package pypi

import (
	"testing"

	"github.com/trove-dev/trove/internal/server/servertest"
)

// TestRebuild rebuilds uploaded wheels and sdists from their files alone,
// as trove log recover does, and gets what the uploads stored.
func TestRebuild(t *testing.T) {
	e := newTestEnv(t)
	e.uploadWheel(t, "Demo_Pkg", "1.0", "Requires-Dist: requests (>=2)", "Requires-Python: >=3.8")
	e.uploadSdist(t, "Demo_Pkg", "1.0")
	if n := servertest.CheckRebuild(t, e.Env, Rules{}); n != 2 {
		t.Errorf("checked %d publish records, want 2", n)
	}
}
