package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
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
	pkg := ownedPackage(t, e, alice, bob, carol)
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

// ownedPackage creates the npm package demo with the owners.
func ownedPackage(t *testing.T, e *env, owners ...*trove.User) *trove.Package {
	t.Helper()
	ctx := context.Background()
	pkg := &trove.Package{Ecosystem: "npm", Name: "demo", DisplayName: "demo", CreatedAt: e.clk.now()}
	err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertPackage(ctx, pkg); err != nil {
			return err
		}
		for _, u := range owners {
			if err := tx.AddOwner(ctx, pkg.ID, u.ID, e.clk.now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// change records a change of the package as the registry does: its log
// record, indexed, and the change in the feed, in one transaction.
func change(t *testing.T, e *env, pkg *trove.Package, ev *translog.Event) {
	t.Helper()
	ctx := context.Background()
	ev.Ecosystem, ev.Name, ev.Time = string(pkg.Ecosystem), string(pkg.Name), e.clk.now()
	text, err := ev.Format()
	if err != nil {
		t.Fatal(err)
	}
	err = e.db.Tx(ctx, func(tx *meta.Tx) error {
		id, err := translog.Append(ctx, tx, text)
		if err != nil {
			return err
		}
		if err := tx.IndexLogRecord(ctx, pkg.Ecosystem, pkg.Name, ev.Version, ev.Kind, id); err != nil {
			return err
		}
		_, err = tx.AddChange(ctx, pkg, ev.Kind, ev.Time)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChangeNoticesSayWhatChanged: owners hear of owner, yank,
// deprecation and dist-tag changes, with what the log says; an owner
// removed hears of it too; changes of one kind in one second are one
// mail.
func TestChangeNoticesSayWhatChanged(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice, bob := e.user(t, "alice", true), e.user(t, "bob", true)
	pkg := ownedPackage(t, e, alice, bob)
	notices := account.NewReleaseNotices(e.db, e.outbox, base)
	publish(t, e, pkg, "1.0.0", alice)
	publish(t, e, pkg, "1.1.0", alice)
	if err := notices.Run(ctx); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, 4)

	reason, msg := "broken build", "use 1.1.0"
	change(t, e, pkg, &translog.Event{Kind: "yank", Version: "1.0.0", Reason: &reason})
	e.clk.add(2 * time.Second)
	change(t, e, pkg, &translog.Event{Kind: "deprecate", Version: "1.0.0", Message: &msg})
	change(t, e, pkg, &translog.Event{Kind: "deprecate", Version: "1.1.0", Message: &msg}) // the same second: one mail
	e.clk.add(2 * time.Second)
	change(t, e, pkg, &translog.Event{Kind: "tag", Tags: []translog.TagChange{{Tag: "latest", Version: "1.0.0"}}})
	if err := notices.Run(ctx); err != nil {
		t.Fatal(err)
	}
	e.clk.add(2 * time.Second)
	change(t, e, pkg, &translog.Event{Kind: "owner", Owners: []translog.OwnerChange{{User: "bob"}}})
	if err := e.db.Tx(ctx, func(tx *meta.Tx) error { return tx.RemoveOwner(ctx, pkg.ID, bob.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := notices.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := notices.Run(ctx); err != nil { // nothing queued twice
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range e.deliver(t, 12)[4:] {
		got[m.To[0]+" "+m.Subject] = m.Body
	}
	for who, want := range map[string][]string{
		"alice@example.test Trove: npm demo: version yanked":      {"version 1.0.0 was yanked (reason: broken build)", "trove owner ls npm demo"},
		"bob@example.test Trove: npm demo: version yanked":        {"version 1.0.0 was yanked"},
		"alice@example.test Trove: npm demo: deprecation changed": {"version 1.0.0 was deprecated: use 1.1.0", "version 1.1.0 was deprecated: use 1.1.0"},
		"bob@example.test Trove: npm demo: deprecation changed":   {"version 1.1.0 was deprecated"},
		"alice@example.test Trove: npm demo: dist-tag moved":      {"the dist-tag latest now points to 1.0.0"},
		"bob@example.test Trove: npm demo: dist-tag moved":        {"the dist-tag latest now points to 1.0.0"},
		"alice@example.test Trove: npm demo: owners changed":      {"bob was removed as an owner"},
		"bob@example.test Trove: npm demo: owners changed":        {"bob was removed as an owner", base + "/-/account/security"},
	} {
		body, ok := got[who]
		if !ok {
			t.Errorf("no mail %q; got %v", who, keys(got))
			continue
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("mail %q does not say %q:\n%s", who, w, body)
			}
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
