package account

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// outbox is a Mailer that keeps the mail.
type outbox struct {
	mu   sync.Mutex
	mail []Mail
}

func (o *outbox) Send(_ context.Context, m Mail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mail = append(o.mail, m)
	return nil
}

func (o *outbox) sent() []Mail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Mail(nil), o.mail...)
}

var linkToken = regexp.MustCompile(`https://trove\.test/-/reset/confirm\?token=([A-Za-z0-9_-]{43})`)

// resetFixture is an account service with a reset service whose DNS is a
// local server: alive.test receives mail, everything else does not exist.
type resetFixture struct {
	db     *meta.DB
	users  *Users
	resets *Resets
	dns    *dnsServer
	out    *outbox
	rec    *recorder
	now    time.Time
	mu     sync.Mutex
}

func newResetFixture(t *testing.T) *resetFixture {
	f := &resetFixture{out: &outbox{}, rec: &recorder{}, now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	f.db = newDB(t)
	f.users = NewUsers(f.db, clock)
	f.users.SetNotifier(f.rec)
	f.dns = startDNS(t, map[string]zone{"alive.test": {mx: []string{"mx.alive.test"}}})
	r, err := NewResolver(f.dns.addr())
	if err != nil {
		t.Fatal(err)
	}
	domains := NewDomains(f.db, NewDomainChecker(r), clock)
	f.resets = NewResets(f.users, domains, f.out, func(tok string) string {
		return "https://trove.test/-/reset/confirm?token=" + url.QueryEscape(tok)
	})
	return f
}

func (f *resetFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *resetFixture) start(t *testing.T, who string, from netip.Addr) {
	t.Helper()
	if err := f.resets.Start(context.Background(), who, from); err != nil {
		t.Fatalf("Start(%q) = %v", who, err)
	}
	f.resets.Wait()
}

func tokenIn(t *testing.T, m Mail) string {
	t.Helper()
	g := linkToken.FindStringSubmatch(m.Text)
	if g == nil {
		t.Fatalf("no reset link in %q", m.Text)
	}
	return g[1]
}

var client = netip.MustParseAddr("198.51.100.4")

// TestPasswordReset: a reset link mailed to a live domain sets a new
// password once, after the policy and breach checks, revokes the
// account's tokens and tells the owner.
func TestPasswordReset(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture(t)
	u, err := f.users.Create(ctx, NewUser{Name: "alice", Email: "Alice@alive.test", Password: freshPW})
	if err != nil {
		t.Fatal(err)
	}
	tokens := access.NewTokens(f.db, nil)
	tok, _, err := tokens.Create(ctx, u.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Publish}})
	if err != nil {
		t.Fatal(err)
	}
	f.start(t, "alice@ALIVE.test", client)
	mail := f.out.sent()
	if len(mail) != 1 || mail[0].To != "Alice@alive.test" || !strings.Contains(mail[0].Text, "198.51.100.4") {
		t.Fatalf("mail = %+v", mail)
	}
	token := tokenIn(t, mail[0])
	if got, err := f.resets.Check(ctx, token); err != nil || got.ID != u.ID {
		t.Fatalf("Check = %v, %v", got, err)
	}
	// A refused password leaves the link usable.
	if _, err := f.resets.Complete(ctx, token, "short", client); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a weak password = %v", err)
	}
	srv, _, _ := rangeServer(t)
	b, _ := NewRangeBreaches(srv.URL+"/api", nil)
	f.users.SetBreaches(b)
	if _, err := f.resets.Complete(ctx, token, breachedPW, client); !errors.Is(err, ErrBreached) {
		t.Fatalf("a breached password = %v", err)
	}
	const newPW = "amber tide under seven quiet bridges"
	if _, err := f.resets.Complete(ctx, token, newPW, client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.users.SignIn(ctx, "alice", newPW, client); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := f.users.SignIn(ctx, "alice", freshPW, client); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, err := tokens.Authenticate(ctx, tok); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("a token from before the reset = %v, want revoked", err)
	}
	if e := f.rec.last(); e.Kind != EventPasswordReset || !strings.Contains(e.Detail, "1 API tokens were revoked") || e.Client != "198.51.100.4" {
		t.Fatalf("event = %+v", e)
	}
	if _, err := f.resets.Complete(ctx, token, "another long passphrase of many words", client); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("a used link = %v", err)
	}
}

// TestPasswordResetDeadDomain: no link goes to a domain that does not
// exist, nor to one that was seen dead and came back; the requester's
// answer is unchanged, the owner and the log are told.
func TestPasswordResetDeadDomain(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture(t)
	u, err := f.users.Create(ctx, NewUser{Name: "bob", Email: "bob@lapsed.test", Password: freshPW})
	if err != nil {
		t.Fatal(err)
	}
	f.start(t, "bob", client)
	if m := f.out.sent(); len(m) != 0 {
		t.Fatalf("mailed a reset to a dead domain: %+v", m)
	}
	if e := f.rec.last(); e.Kind != EventPasswordReset || e.UserID != u.ID || !strings.Contains(e.Detail, "refused") {
		t.Fatalf("event = %+v", e)
	}
	d, err := f.db.EmailDomainByName(ctx, "lapsed.test")
	if err != nil || d.Status != "dead" || d.DeadSince.IsZero() {
		t.Fatalf("recorded %+v, %v", d, err)
	}
	// The domain is registered again: perhaps by someone else.
	f.dns.set("lapsed.test", zone{mx: []string{"mx.new-owner.test"}})
	f.advance(2 * time.Hour)
	f.start(t, "bob", client)
	if m := f.out.sent(); len(m) != 0 {
		t.Fatalf("mailed a reset to a revived domain: %+v", m)
	}
	if e := f.rec.last(); !strings.Contains(e.Detail, "has come back") {
		t.Fatalf("event = %+v", e)
	}
}

// TestPasswordResetAnswers: the answer does not tell whether an account
// exists; requests are limited per address and per account.
func TestPasswordResetAnswers(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture(t)
	if _, err := f.users.Create(ctx, NewUser{Name: "carol", Email: "carol@alive.test", Password: freshPW}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"nobody", "nobody@alive.test", "carol"} {
		if err := f.resets.Start(ctx, who, netip.Addr{}); err != nil {
			t.Fatalf("Start(%q) = %v, want nil", who, err)
		}
	}
	f.resets.Wait()
	if m := f.out.sent(); len(m) != 1 || m[0].To != "carol@alive.test" {
		t.Fatalf("mail = %+v", m)
	}
	if err := f.resets.Start(ctx, "  ", netip.Addr{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an empty request = %v", err)
	}
	// Per account: ResetsPerAccount links an hour.
	for range ResetsPerAccount + 2 {
		f.start(t, "carol", netip.Addr{})
	}
	if n := len(f.out.sent()); n != ResetsPerAccount {
		t.Fatalf("%d links mailed in an hour, want %d", n, ResetsPerAccount)
	}
	// Per address: DefaultResetRate.N requests, then 429 with a wait.
	var err error
	for range DefaultResetRate.N + 1 {
		err = f.resets.Start(ctx, "nobody", client)
	}
	f.resets.Wait()
	if _, ok := trove.RetryAfter(err); !errors.Is(err, trove.ErrTooMany) || !ok {
		t.Fatalf("request %d from one address = %v, want too many with Retry-After", DefaultResetRate.N+1, err)
	}
}

// TestPasswordResetExpires: a link works for ResetTTL, and not after the
// account's address changed or while the account is disabled.
func TestPasswordResetExpires(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture(t)
	u, err := f.users.Create(ctx, NewUser{Name: "dave", Email: "dave@alive.test", Password: freshPW})
	if err != nil {
		t.Fatal(err)
	}
	f.start(t, "dave", netip.Addr{})
	f.start(t, "dave", netip.Addr{})
	m := f.out.sent()
	first, second := tokenIn(t, m[0]), tokenIn(t, m[1])
	f.advance(ResetTTL)
	if _, err := f.resets.Complete(ctx, first, "amber tide under seven quiet bridges", netip.Addr{}); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("an expired link = %v", err)
	}
	f.advance(-time.Minute)
	if err := f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserEmail(ctx, u.ID, "dave@elsewhere.test") }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.resets.Check(ctx, second); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("a link to a former address = %v", err)
	}
	// A disabled account gets no link, and its links stop working.
	if err := f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserEmail(ctx, u.ID, "dave@alive.test") }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.resets.Check(ctx, second); err != nil {
		t.Fatalf("the link once the address is back = %v", err)
	}
	if err := f.users.SetDisabled(ctx, u, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.resets.Check(ctx, second); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("a link of a disabled account = %v", err)
	}
	f.start(t, "dave", netip.Addr{})
	if n := len(f.out.sent()); n != 2 {
		t.Fatalf("%d links mailed, want none to a disabled account", n-2)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43)} {
		if _, err := f.resets.Check(ctx, bad); !errors.Is(err, ErrResetInvalid) {
			t.Fatalf("Check(%q) = %v", bad, err)
		}
	}
}

// TestDomainsRecheckDue: the periodic job checks each domain in use once
// per interval and records it.
func TestDomainsRecheckDue(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture(t)
	for _, nu := range []NewUser{
		{Name: "a", Email: "a@alive.test", Password: freshPW},
		{Name: "b", Email: "b@alive.test", Password: freshPW},
		{Name: "c", Email: "c@gone.test", Password: freshPW},
	} {
		if _, err := f.users.Create(ctx, nu); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := NewResolver(f.dns.addr())
	d := NewDomains(f.db, NewDomainChecker(r), func() time.Time { return f.now })
	if n, err := d.RecheckDue(ctx, DomainRecheck); err != nil || n != 2 {
		t.Fatalf("first run checked %d, %v; want 2 domains", n, err)
	}
	if n, _ := d.RecheckDue(ctx, DomainRecheck); n != 0 {
		t.Fatalf("a second run checked %d, want 0", n)
	}
	f.advance(DomainRecheck)
	if n, _ := d.RecheckDue(ctx, DomainRecheck); n != 2 {
		t.Fatalf("a run after the interval checked %d, want 2", n)
	}
	all, _ := f.db.EmailDomains(ctx)
	if len(all) != 2 || all[0].Domain != "alive.test" || all[0].Status != "alive" || all[1].Status != "dead" {
		t.Fatalf("recorded %+v %+v", all[0], all[1])
	}
}

// TestPasswordResetsConcurrent: however many requests for one account
// arrive at once, from however many addresses, no more than
// ResetsPerAccount links are made and mailed (the count was read outside
// the insert's transaction: 40 requests at once made 10).
func TestPasswordResetsConcurrent(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture(t)
	u, err := f.users.Create(ctx, NewUser{Name: "carol", Email: "carol@alive.test", Password: freshPW})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := "carol"
			if i%2 == 1 {
				who = "carol@alive.test"
			}
			if err := f.resets.Start(ctx, who, netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})); err != nil {
				t.Errorf("Start(%q) = %v", who, err)
			}
		}()
	}
	wg.Wait()
	f.resets.Wait()
	if n := len(f.out.sent()); n != ResetsPerAccount {
		t.Errorf("%d links mailed for 40 requests at once, want %d", n, ResetsPerAccount)
	}
	if n, err := f.db.CountPasswordResets(ctx, u.ID, f.now.Add(-ResetTTL)); err != nil || n != ResetsPerAccount {
		t.Errorf("%d links stored, %v; want %d", n, err, ResetsPerAccount)
	}
}
