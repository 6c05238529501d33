package registry_test

import (
	"errors"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// TestCanReadRecord: a private record's text is for those who may read
// its package (and the operator); public records are for everyone; a
// record that does not exist, or one refused, is ErrNotFound.
func TestCanReadRecord(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	mallory := e.user(t, "mallory", false)
	admin := e.user(t, "root", true)
	e.publish(t, alice, "hidden", "1.0.0", "one")
	if err := e.reg.SetPrivate(ctx, alice, "npm", "hidden", true); err != nil {
		t.Fatal(err)
	}
	e.publish(t, alice, "hidden", "2.0.0", "two")
	pub, err := e.reg.LogEntries(ctx, "npm", "hidden", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	priv, err := e.reg.LogEntries(ctx, "npm", "hidden", "2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := e.db.ReadLogRecords(ctx, priv[0].ID, 1)
	if !translog.IsPrivate(recs[0]) {
		t.Fatalf("record %d of the private package is not salted", priv[0].ID)
	}
	n, _ := e.db.LogSize(ctx)
	for _, tc := range []struct {
		who  string
		p    *access.Principal
		id   int64
		want error
	}{
		{"anonymous, public record", nil, pub[0].ID, nil},
		{"anonymous, private record", nil, priv[0].ID, trove.ErrNotFound},
		{"a stranger", mallory, priv[0].ID, trove.ErrNotFound},
		{"the owner", alice, priv[0].ID, nil},
		{"an administrator", admin, priv[0].ID, nil},
		{"anyone, a record that does not exist", alice, n, trove.ErrNotFound},
	} {
		c := access.WithPrincipal(ctx, tc.p)
		if err := e.reg.CanReadRecord(c, tc.id); tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: CanReadRecord(%d) = %v, want %v", tc.who, tc.id, err, tc.want)
		}
	}
	// The owner's token without read-private may not.
	scoped := *alice
	scoped.Actions = []access.Action{access.Read, access.Publish}
	if err := e.reg.CanReadRecord(access.WithPrincipal(ctx, &scoped), priv[0].ID); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("owner without read-private: CanReadRecord = %v, want ErrNotFound", err)
	}
	if err := e.reg.CanReadRecord(ctx, priv[0].ID); err != nil {
		t.Errorf("operator: CanReadRecord = %v", err)
	}
	// Made public, its records are everyone's.
	if err := e.reg.SetPrivate(ctx, alice, "npm", "hidden", false); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.CanReadRecord(access.WithPrincipal(ctx, nil), priv[0].ID); err != nil {
		t.Errorf("anonymous after the package was made public: CanReadRecord = %v", err)
	}
}
