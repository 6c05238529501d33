package account

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// recorder is a Notifier that keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Notify(_ context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EventKind
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func (r *recorder) last() Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return Event{}
	}
	return r.events[len(r.events)-1]
}

const (
	breachedPW = "correct horse battery staple" // in the test corpus, 3 times
	freshPW    = "quiet lantern orbits the violet harbor"
)

// TestBreachedPasswordRefused: sign-up and a password change refuse a
// password of the corpus (consulted through the range API), saying how
// often it was seen; nothing is created.
func TestBreachedPasswordRefused(t *testing.T) {
	ctx := context.Background()
	srv, _, _ := rangeServer(t)
	b, err := NewRangeBreaches(srv.URL+"/api", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	users := NewUsers(db, nil)
	users.SetBreaches(b)
	_, err = users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: breachedPW})
	if !errors.Is(err, ErrBreached) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "this password appears in 3 known breaches; choose another") {
		t.Fatalf("Create with a breached password = %v", err)
	}
	if n, _ := users.Count(ctx); n != 0 {
		t.Fatalf("%d accounts after a refused sign-up", n)
	}
	u, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: freshPW})
	if err != nil {
		t.Fatal(err)
	}
	if err := users.SetPassword(ctx, u, "Tr0ub4dor&3-but-longer"); !errors.Is(err, ErrBreached) || !strings.Contains(err.Error(), "42 known breaches") {
		t.Fatalf("SetPassword to a breached password = %v", err)
	}
	if _, err := users.SignIn(ctx, "alice", freshPW, netip.Addr{}); err != nil {
		t.Fatalf("the refused change changed the password: %v", err)
	}
}

// TestBreachedPasswordAtSignIn: a sign-in with a password that has since
// appeared in a breach succeeds, but flags the account and tells its
// owner; until the password changes no token can be created and existing
// tokens cannot publish.
func TestBreachedPasswordAtSignIn(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	users := NewUsers(db, nil)
	u, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: breachedPW})
	if err != nil {
		t.Fatal(err)
	}
	tokens := access.NewTokens(db, nil)
	spec := access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Publish}}
	old, _, err := tokens.Create(ctx, u.ID, spec)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := rangeServer(t)
	b, _ := NewRangeBreaches(srv.URL+"/api", nil)
	users.SetBreaches(b)
	rec := &recorder{}
	users.SetNotifier(rec)

	from := netip.MustParseAddr("192.0.2.7")
	if _, err := users.SignIn(ctx, "alice", breachedPW, from); err != nil {
		t.Fatalf("a breached password must still sign in: %v", err)
	}
	if got, _ := users.ByName(ctx, "alice"); !got.PasswordReset {
		t.Fatal("the account is not flagged")
	}
	if e := rec.last(); e.Kind != EventBreachedPassword || e.UserID != u.ID || e.Client != "192.0.2.7" || !strings.Contains(e.Detail, "3 known breaches") {
		t.Fatalf("event = %+v", e)
	}
	_, _, err = tokens.Create(ctx, u.ID, spec)
	if !errors.Is(err, access.ErrDenied) || !strings.Contains(err.Error(), "must change their password (it appears in known data breaches") {
		t.Fatalf("creating a token while flagged = %v", err)
	}
	p, err := tokens.Authenticate(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	r := access.Resource{Ecosystem: trove.NPM, Name: "demo"}
	if err := access.Authorize(p, access.Publish, r); !errors.Is(err, access.ErrDenied) || !strings.Contains(err.Error(), "before creating tokens or publishing") {
		t.Fatalf("publishing while flagged = %v", err)
	}
	if err := access.Authorize(p, access.Read, r); err != nil {
		t.Fatalf("reading while flagged = %v", err)
	}

	if err := users.SetPassword(ctx, u, freshPW); err != nil {
		t.Fatal(err)
	}
	if got, _ := users.ByName(ctx, "alice"); got.PasswordReset {
		t.Fatal("the flag outlived the change")
	}
	if _, _, err := tokens.Create(ctx, u.ID, spec); err != nil {
		t.Fatalf("creating a token after the change = %v", err)
	}
	if _, err := users.SignIn(ctx, "alice", freshPW, from); err != nil {
		t.Fatal(err)
	}
	if got, _ := users.ByName(ctx, "alice"); got.PasswordReset {
		t.Fatal("a fresh password flagged the account")
	}
}

// TestBreachCheckFailsOpen: when the range API is down, sign-up and
// sign-in go ahead (logged); nothing is flagged.
func TestBreachCheckFailsOpen(t *testing.T) {
	ctx := context.Background()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) }))
	defer down.Close()
	b, _ := NewRangeBreaches(down.URL, nil)
	users := NewUsers(newDB(t), nil)
	users.SetBreaches(b)
	u, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: breachedPW})
	if err != nil {
		t.Fatalf("sign-up while the corpus is down = %v, want accepted", err)
	}
	if _, err := users.SignIn(ctx, "alice", breachedPW, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := users.ByName(ctx, u.Name); got.PasswordReset {
		t.Fatal("flagged without an answer from the corpus")
	}
}
