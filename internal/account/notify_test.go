package account_test

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/mail/mailtest"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

const base = "https://trove.test"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the account services wired to mail as trove serve wires them,
// with an in-process SMTP server.
type env struct {
	db     *meta.DB
	clk    *clock
	outbox *mail.Outbox
	notes  *account.Notifications
	verify *account.Verifications
	users  *account.Users
	tokens *access.Tokens
	smtp   *mailtest.Server
	sender *mail.SMTP
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, dbtest.Open(t))
}

// newEnvOn is newEnv over db.
func newEnvOn(t *testing.T, db *meta.DB) *env {
	t.Helper()
	e := &env{db: db, clk: &clock{t: time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)}, smtp: mailtest.Start(t)}
	e.outbox = mail.NewOutbox(e.db, e.clk.now)
	e.notes = account.NewNotifications(e.db, e.outbox, base, e.clk.now)
	e.verify = account.NewVerifications(e.db, e.outbox, e.notes, base, e.clk.now)
	e.users = account.NewUsers(e.db, e.clk.now)
	e.users.SetNotifier(e.notes)
	e.users.SetVerifications(e.verify)
	e.tokens = access.NewTokens(e.db, e.clk.now)
	e.tokens.OnCreate(func(ctx context.Context, tx *meta.Tx, tok *trove.Token) error {
		return e.notes.NotifyTx(ctx, tx, account.Event{Kind: account.EventTokenCreated, UserID: tok.UserID, Detail: "token " + tok.PublicID})
	})
	var err error
	if e.sender, err = mail.NewSMTP(e.smtp.Config()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) user(t *testing.T, name string, verified bool) *trove.User {
	t.Helper()
	u, err := e.users.Create(context.Background(), account.NewUser{Name: name, Email: name + "@example.test", Password: "correct horse battery staple", Verified: verified})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// deliver sends the due mail and returns every message received so far.
func (e *env) deliver(t *testing.T, want int) []mailtest.Message {
	t.Helper()
	if _, err := e.outbox.Deliver(context.Background(), e.sender); err != nil {
		t.Fatal(err)
	}
	got := e.smtp.Wait(t, want, 5*time.Second)
	if len(got) != want {
		t.Fatalf("received %d messages, want %d: %+v", len(got), want, got)
	}
	return got
}

func TestNotificationsMailEveryEventKindToVerifiedOwners(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.user(t, "alice", true)
	bob := e.user(t, "bob", false) // gets a verification link, no notices
	kinds := []account.EventKind{account.EventPasswordChanged, account.EventEmailChanged, account.EventFactorAdded, account.EventFactorRemoved,
		account.EventRecoveryCodeUsed, account.EventRecoveryCodesNew, account.EventTokenCreated, account.EventNewDevice, account.EventLockout,
		account.EventPasswordReset, account.EventAdminRecovery, account.EventBreachedPassword, account.EventPackageCritical, account.EventAccountDeleted, account.EventEmailChangeRequested, account.EventEmailVerified}
	for _, k := range kinds {
		for _, u := range []*trove.User{alice, bob} {
			if err := e.notes.Notify(ctx, account.Event{Kind: k, UserID: u.ID, Detail: `security key "desk"`, Client: "192.0.2.1 Firefox"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := e.deliver(t, len(kinds)+1)
	seen := map[string]bool{}
	for _, m := range got {
		if m.To[0] == "bob@example.test" {
			if !strings.Contains(m.Subject, "Verify your email") {
				t.Errorf("an unverified address got %q", m.Subject)
			}
			continue
		}
		seen[m.Subject] = true
		for _, want := range []string{"alice", `security key "desk"`, "192.0.2.1 Firefox", "If this was not you", base + "/-/account/security"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("mail %q lacks %q:\n%s", m.Subject, want, m.Body)
			}
		}
	}
	if len(seen) != len(kinds) {
		t.Errorf("%d distinct subjects for %d kinds", len(seen), len(kinds))
	}
	evs, err := e.notes.List(ctx, bob.ID, 100)
	if err != nil || len(evs) != len(kinds) || evs[0].Kind != account.EventEmailVerified || evs[0].UserID != bob.ID {
		t.Fatalf("bob's events: %d, %v", len(evs), err)
	}
	if recent, _ := e.notes.Recent(ctx, meta.EventFilter{}, 5); len(recent) != 5 || recent[0].UserName != "bob" {
		t.Errorf("Recent(5) = %d events", len(recent))
	}
	// The administrators' filters: one user, one kind, older than an event.
	recent, err := e.notes.Recent(ctx, meta.EventFilter{UserID: alice.ID, Kind: string(account.EventLockout)}, 10)
	if err != nil || len(recent) != 1 || recent[0].UserName != "alice" || recent[0].Kind != string(account.EventLockout) {
		t.Errorf("Recent(alice, lockout) = %v, %v", recent, err)
	}
	all, _ := e.notes.Recent(ctx, meta.EventFilter{}, 100)
	older, err := e.notes.Recent(ctx, meta.EventFilter{Before: all[2].ID}, 100)
	if err != nil || len(older) != len(all)-3 || older[0].ID != all[3].ID {
		t.Errorf("Recent(before %d) = %d events from %v, want %d", all[2].ID, len(older), older, len(all)-3)
	}
}

var linkRE = regexp.MustCompile(`/-/verify-email\?token=([A-Za-z0-9_-]+)`)

func TestEmailVerificationLink(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "carol", false)
	if ok, _ := e.verify.Verified(ctx, u.ID); ok {
		t.Fatal("a new account is verified before following its link")
	}
	m := e.deliver(t, 1)[0]
	match := linkRE.FindStringSubmatch(m.Body)
	if m.To[0] != "carol@example.test" || match == nil || !strings.Contains(m.Body, base+"/-/verify-email?token=") {
		t.Fatalf("verification mail: %+v", m)
	}
	if _, err := e.verify.Verify(ctx, match[1]+"x"); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("a wrong secret: %v", err)
	}
	got, err := e.verify.Verify(ctx, match[1])
	if err != nil || got.ID != u.ID {
		t.Fatalf("Verify = %v, %v", got, err)
	}
	if ok, _ := e.verify.Verified(ctx, u.ID); !ok {
		t.Fatal("not verified after following the link")
	}
	if _, err := e.verify.Verify(ctx, match[1]); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("a used link worked again: %v", err)
	}
	if err := e.verify.Resend(ctx, u); err == nil {
		t.Error("Resend to a verified address")
	}
	// The verification is a security event, mailed now that the address is verified.
	if m := e.deliver(t, 2)[1]; !strings.Contains(m.Subject, "verified") {
		t.Errorf("second mail: %q", m.Subject)
	}
}

func TestEmailVerificationLinkExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user(t, "dave", false)
	match := linkRE.FindStringSubmatch(e.deliver(t, 1)[0].Body)
	e.clk.add(account.VerifyLifetime + time.Second)
	if _, err := e.verify.Verify(ctx, match[1]); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("an expired link: %v", err)
	}
}

func TestTokenCreationIsNotified(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "erin", true)
	_, tok, err := e.tokens.Create(context.Background(), u.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Publish}})
	if err != nil {
		t.Fatal(err)
	}
	m := e.deliver(t, 1)[0]
	if !strings.Contains(m.Subject, "API token") || !strings.Contains(m.Body, tok.PublicID) {
		t.Errorf("token mail: %q\n%s", m.Subject, m.Body)
	}
}

func TestLockoutIsNotifiedOncePerWindow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user(t, "frank", true)
	// Guesses from many addresses spend both budgets of the name.
	for i := 0; i < account.MaxFailures+account.MaxCleanFailures+5; i++ {
		addr := netip.AddrFrom4([4]byte{198, 51, byte(i / 200), byte(i % 200)})
		e.users.SignIn(ctx, "frank", "wrong password number one", addr)
	}
	_, err := e.users.SignIn(ctx, "frank", "correct horse battery staple", netip.MustParseAddr("203.0.113.9"))
	if !errors.Is(err, account.ErrThrottled) {
		t.Fatalf("SignIn after the guesses = %v, want throttled", err)
	}
	got := e.deliver(t, 1)
	if !strings.Contains(got[0].Subject, "locked") || !strings.Contains(got[0].Body, "guessing") {
		t.Errorf("lockout mail: %q\n%s", got[0].Subject, got[0].Body)
	}
	if n, _ := e.outbox.Deliver(ctx, e.sender); n != 0 || len(e.smtp.Messages()) != 1 {
		t.Errorf("more than one lockout mail in a window")
	}
	// Unknown names have no owner to tell.
	for i := 0; i < account.MaxFailures+account.MaxCleanFailures+2; i++ {
		e.users.SignIn(ctx, "nobody", "wrong password number one", netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}))
	}
	if all, _ := e.outbox.List(ctx, "", 10); len(all) != 1 {
		t.Errorf("outbox holds %d mails, want only frank's", len(all))
	}
}

func TestSignInFromANewDeviceIsNotified(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user(t, "grace", true)
	const pw, firefox = "correct horse battery staple", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
	sign := func(ua, addr string) {
		t.Helper()
		c := ctx
		if ua != "" {
			c = account.WithUserAgent(ctx, ua)
		}
		if _, err := e.users.SignIn(c, "grace", pw, netip.MustParseAddr(addr)); err != nil {
			t.Fatal(err)
		}
	}
	sign(firefox, "192.0.2.10")                              // the account's first device: no notice
	sign(firefox, "192.0.2.77")                              // same /24, same browser
	sign("", "198.51.100.1")                                 // a sign-in that records no device (a password re-check)
	sign("npm/11.19.1 node/v22.0.0 linux x64", "192.0.2.10") // another client
	sign(firefox, "2001:db8:1:2::5")                         // another network
	sign(firefox, "2001:db8:1:3::9")                         // the same /48
	got := e.deliver(t, 2)
	if !strings.Contains(got[0].Body, "npm 192.0.2.0/24") || !strings.Contains(got[1].Body, "Firefox 2001:db8:1::/48") {
		t.Errorf("new device mails:\n%s\n%s", got[0].Body, got[1].Body)
	}
}
