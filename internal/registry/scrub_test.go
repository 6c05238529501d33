package registry_test

import (
	"errors"
	"testing"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/registry"
)

// TestScrub: a scrub checks every visible file's blob, reports one whose
// bytes changed or vanished, and takes the damaged one out of service, so
// that a download answers ErrDamaged instead of wrong bytes.
func TestScrub(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	var digests []blob.Digest
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		res := e.publish(t, alice, "demo", v, "contents of "+v)
		for _, f := range res.Files {
			digests = append(digests, blob.Digest(f.SHA256))
		}
	}
	e.blobs.Damage(digests[1], []byte("contents of 9.9")) // bit rot
	e.blobs.Delete(ctx, digests[2])                       // lost
	var found []registry.Damage
	st, err := registry.Scrub(ctx, e.db, e.blobs, 0, func(d registry.Damage) { found = append(found, d) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 3 || st.Blobs != 3 || st.Damaged != 2 {
		t.Errorf("Scrub stats = %+v, want 3 files, 3 blobs, 2 damaged", st)
	}
	if len(found) != 2 || found[0].Digest != digests[1] || found[0].Missing || found[1].Digest != digests[2] || !found[1].Missing {
		t.Fatalf("Scrub reported %+v; want the rotten blob, then the missing one", found)
	}
	if found[0].Package != "demo" || found[0].Filename == "" {
		t.Errorf("the report does not name the file: %+v", found[0])
	}
	if _, err := e.reg.Open(ctx, digests[1], 0); !errors.Is(err, blob.ErrDamaged) {
		t.Errorf("download of the damaged file = %v, want ErrDamaged", err)
	}
	if _, err := e.reg.Open(ctx, digests[0], 0); err != nil {
		t.Errorf("download of a good file = %v", err)
	}
}
