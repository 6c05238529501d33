package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// publish records a release of the package as the registry does: the
// release, visible, and a "publish" change in one transaction.
func publish(t *testing.T, e *env, pkg *trove.Package, version string, by *trove.User) {
	t.Helper()
	ctx := context.Background()
	at := e.clk.now()
	err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		r := &trove.Release{PackageID: pkg.ID, Version: version, VersionKey: version, State: trove.Published, Metadata: []byte(`{}`),
			PublisherID: by.ID, CreatedAt: at, PublishedAt: at}
		if err := tx.InsertRelease(ctx, r); err != nil {
			return err
		}
		_, err := tx.AddChange(ctx, pkg, "publish", at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.add(time.Second)
}

func TestReleaseNoticesGoToEveryVerifiedOwnerOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice, bob, carol := e.user(t, "alice", true), e.user(t, "bob", true), e.user(t, "carol", false)
	e.deliver(t, 1) // carol's verification link
	pkg := &trove.Package{Ecosystem: "npm", Name: "demo", DisplayName: "demo", CreatedAt: e.clk.now()}
	err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertPackage(ctx, pkg); err != nil {
			return err
		}
		for _, u := range []*trove.User{alice, bob, carol} {
			if err := tx.AddOwner(ctx, pkg.ID, u.ID, e.clk.now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	notices := account.NewReleaseNotices(e.db, e.outbox, base)
	publish(t, e, pkg, "1.0.0", alice)
	publish(t, e, pkg, "1.1.0", bob)
	if err := notices.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := notices.Run(ctx); err != nil { // nothing new: nothing queued twice
		t.Fatal(err)
	}
	got := e.deliver(t, 5)[1:]
	count := map[string]int{}
	for _, m := range got {
		count[m.To[0]+" "+m.Subject]++
		if !strings.Contains(m.Body, "trove yank npm demo") || !strings.Contains(m.Body, base+"/-/account/security") {
			t.Errorf("release mail says not how to act:\n%s", m.Body)
		}
	}
	for _, want := range []string{"alice@example.test Trove: npm demo published: version 1.0.0", "bob@example.test Trove: npm demo published: version 1.0.0",
		"alice@example.test Trove: npm demo published: version 1.1.0", "bob@example.test Trove: npm demo published: version 1.1.0"} {
		if count[want] != 1 {
			t.Errorf("%q received %d times; all: %v", want, count[want], count)
		}
	}
	if !strings.Contains(got[2].Body+got[3].Body, "published by bob") {
		t.Error("the mail does not name the publisher")
	}
}
