package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// The tests in this file race requests that read then write. SQLite runs
// one writer at a time and hid these races; PostgreSQL runs writers
// concurrently. Each test runs on every engine, and repeats its race so
// that a missing lock shows.

// together runs each fn in its own goroutine, released at once, and
// returns their errors in order.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// TestRaceLastOwner: two owners removing each other at once never leave
// a package without an owner; one removal wins, the other is refused.
func TestRaceLastOwner(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			e := newEnvOn(t, engine.Open(t))
			alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
			for i := range 20 {
				name := fmt.Sprintf("pkg%d", i)
				e.publish(t, alice, name, "1.0", "bytes")
				if err := e.reg.AddOwner(ctx, alice, "npm", name, "bob"); err != nil {
					t.Fatal(err)
				}
				errs := together(
					func() error { return e.reg.RemoveOwner(ctx, alice, "npm", name, "bob") },
					func() error { return e.reg.RemoveOwner(ctx, bob, "npm", name, "alice") })
				owners, err := e.reg.Owners(ctx, "npm", name)
				if err != nil {
					t.Fatal(err)
				}
				if len(owners) != 1 {
					t.Fatalf("%s: %d owners after alice and bob removed each other (errors %v), want 1", name, len(owners), errs)
				}
				failed := 0
				for _, err := range errs {
					switch {
					case err == nil:
					case errors.Is(err, trove.ErrInvalid), errors.Is(err, access.ErrDenied):
						failed++
					default:
						t.Fatalf("%s: removal failed with %v, want a refusal", name, err)
					}
				}
				if failed != 1 {
					t.Fatalf("%s: %d removals refused (%v), want 1", name, failed, errs)
				}
			}
		})
	}
}

// TestRaceFirstPublish: concurrent first publishes of one name, and of
// look-alike names (same skeleton), by several users create exactly one
// package; every other publisher gets a clean refusal.
func TestRaceFirstPublish(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			e := newEnvOn(t, engine.Open(t))
			var users []*access.Principal
			for i := range 4 {
				users = append(users, e.user(t, fmt.Sprintf("user%d", i), false))
			}
			for i := range 10 {
				base := fmt.Sprintf("name%d", i)
				names := []string{base, base, "n-" + base[1:], "na-" + base[2:], base, "nam-" + base[3:]}
				var fns []func() error
				for j, n := range names {
					u := e.upload(t, n, "1.0", map[string]string{fmt.Sprintf("%s-%d.tgz", n, j): "bytes"})
					who := users[j%len(users)]
					fns = append(fns, func() error { _, err := e.reg.Publish(ctx, who, u); return err })
				}
				errs := together(fns...)
				ok := 0
				for j, err := range errs {
					switch {
					case err == nil:
						ok++
					case errors.Is(err, trove.ErrExists), errors.Is(err, access.ErrDenied):
					default:
						t.Fatalf("publishing %s: %v, want success or a clean refusal", names[j], err)
					}
				}
				similar, err := e.db.PackagesBySkeleton(ctx, "npm", base)
				if err != nil {
					t.Fatal(err)
				}
				if len(similar) != 1 || ok != 1 {
					t.Fatalf("%d packages with skeleton %s and %d successful publishes (errors %v), want 1 and 1", len(similar), base, ok, errs)
				}
			}
		})
	}
}

// pausingScanner blocks each scan until the test lets it finish.
type pausingScanner struct {
	scanning chan struct{} // receives when a scan starts
	resume   chan struct{} // closed to let scans finish
}

func (s *pausingScanner) Name() string { return "pause" }

func (s *pausingScanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	s.scanning <- struct{}{}
	<-s.resume
	return nil, nil
}

// TestRaceTokenRevokedDuringPublish: a token revoked while an upload made
// with it is being scanned cannot publish it once the revocation has
// committed, and nothing of the upload stays.
func TestRaceTokenRevokedDuringPublish(t *testing.T) {
	for _, engine := range dbtest.Engines {
		for _, first := range []bool{true, false} { // a new package, or a new version
			t.Run(fmt.Sprintf("%s/new=%v", engine.Name, first), func(t *testing.T) {
				p := &pausingScanner{scanning: make(chan struct{}, 1), resume: make(chan struct{})}
				e := newEnvOn(t, engine.Open(t), p)
				alice := e.user(t, "alice", false)
				tokens := access.NewTokens(e.db, nil)
				if !first {
					close(p.resume)
					e.publish(t, alice, "demo", "1.0", "one")
					<-p.scanning
					p.resume = make(chan struct{})
				}
				secret, tok, err := tokens.Create(ctx, alice.UserID, access.Spec{Packages: []access.Pattern{"*"}, Actions: access.Actions, AuthLevel: trove.AuthMFA})
				if err != nil {
					t.Fatal(err)
				}
				who, err := tokens.Authenticate(ctx, secret)
				if err != nil {
					t.Fatal(err)
				}
				u := e.upload(t, "demo", "2.0", map[string]string{"demo-2.0.tgz": "two"})
				done := make(chan error)
				go func() { _, err := e.reg.Publish(ctx, who, u); done <- err }()
				<-p.scanning
				if err := tokens.Revoke(ctx, alice.UserID, tok.PublicID, access.Revocation{}); err != nil {
					t.Fatal(err)
				}
				close(p.resume)
				if err := <-done; !errors.Is(err, access.ErrUnauthenticated) {
					t.Fatalf("Publish with a token revoked during its scan = %v, want ErrUnauthenticated", err)
				}
				pkg, err := e.db.Package(ctx, "npm", "demo")
				if first {
					if err == nil {
						t.Fatalf("package %+v stays after a refused first publish", pkg)
					}
					return
				}
				rels, _ := e.db.Releases(ctx, pkg.ID)
				if len(rels) != 1 {
					t.Fatalf("%d releases after a refused publish, want only 1.0", len(rels))
				}
			})
		}
	}
}

var _ registry.Rules = rules{}

// TestRaceConcurrentPublishers: many publishers at once leave a
// contiguous transparency log whose tree verifies, and a follower of the
// change feed (as Follow reads it, "id > last") sees every change.
func TestRaceConcurrentPublishers(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			e := newEnvOn(t, engine.Open(t))
			const publishers, each = 6, 8
			var fns []func() error
			for p := range publishers {
				who := e.user(t, fmt.Sprintf("user%d", p), false)
				var ups []*registry.Upload
				for v := range each {
					ups = append(ups, e.upload(t, fmt.Sprintf("pkg%d", p), fmt.Sprintf("%d.1", v), map[string]string{fmt.Sprintf("pkg%d-%d.tgz", p, v): "bytes"}))
				}
				fns = append(fns, func() error {
					for _, u := range ups {
						if _, err := e.reg.Publish(ctx, who, u); err != nil {
							return err
						}
					}
					return nil
				})
			}
			done := make(chan struct{})
			seen := make(chan int)
			go func() { seen <- followCount(e, done) }()
			for _, err := range together(fns...) {
				if err != nil {
					t.Fatal(err)
				}
			}
			close(done)
			got := <-seen
			n, err := e.db.LogSize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Each publish appends its record; each first release also its owner record.
			if want := int64(publishers*each + publishers); n != want {
				t.Fatalf("log size %d, want %d", n, want)
			}
			if _, err := e.db.ReadLogRecords(ctx, 0, n); err != nil {
				t.Fatalf("log is not contiguous: %v", err)
			}
			if _, err := translog.TreeOf(ctx, e.db, n); err != nil {
				t.Fatal(err)
			}
			if got != publishers*each {
				t.Errorf("a follower saw %d changes, want %d", got, publishers*each)
			}
		})
	}
}

// followCount reads the change feed until done (and once more) and
// returns how many changes it saw.
func followCount(e *env, done <-chan struct{}) int {
	var last int64
	n := 0
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		cs, err := e.db.ChangesSince(ctx, last, 1000)
		if err != nil {
			return n
		}
		for _, c := range cs {
			n++
			last = c.Serial
		}
		if finished && len(cs) == 0 {
			return n
		}
	}
}
