package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

// events is a Notifier that keeps what it is told.
type events struct {
	mu  sync.Mutex
	got []account.Event
}

func (e *events) Notify(_ context.Context, ev account.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
	return nil
}

func (e *events) count(k account.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.got {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

// mfaSite is a site with second factors, served at http://localhost:PORT
// (WebAuthn needs a host name, and localhost is a secure context).
type mfaSite struct {
	*site
	db      *meta.DB
	factors *account.Factors
	events  *events
	origin  string
}

func newMFASite(t *testing.T) *mfaSite {
	t.Helper()
	db := dbtest.Open(t)
	c := &clock{t: time.Now().UTC()}
	s := &site{t: t, clock: c, users: account.NewUsers(db, c.now), ses: account.NewSessions(db, c.now), toks: access.NewTokens(db, c.now)}
	ctx := context.Background()
	var err error
	if s.alice, err = s.users.Create(ctx, account.NewUser{Name: "alice", Email: "alice@example.com", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	m := &mfaSite{site: s, db: db, events: &events{}, origin: origin}
	m.factors, err = account.NewFactors(db, account.FactorsConfig{Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: origin, Notifier: m.events, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	s.h, err = New(Options{BaseURL: origin, Serves: []string{"npm under /npm/"}, Users: s.users, Sessions: s.ses, Tokens: s.toks,
		MFA: m.factors, Notifier: m.events, Logins: account.NewLogins(db, s.toks, c.now), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.h.ServeHTTP(w, r.WithContext(adapter.WithChannel(r.Context(), adapter.Loopback)))
	}))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return m
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol gives alice a TOTP factor as an operator would, and returns its
// secret and recovery codes.
func (m *mfaSite) enrol(t *testing.T) (string, []string) {
	t.Helper()
	e, codes, err := m.factors.EnrollTOTP(context.Background(), m.alice, "phone", "test")
	if err != nil {
		t.Fatal(err)
	}
	m.clock.advance(30 * time.Second) // the enrolment's step is spent
	return e.Secret, codes
}

func (m *mfaSite) level(t *testing.T) trove.AuthLevel {
	t.Helper()
	ses, err := m.ses.List(context.Background(), m.alice.ID)
	if err != nil || len(ses) != 1 {
		t.Fatalf("sessions %v, %v; want one", ses, err)
	}
	if ses[0].Pending {
		return trove.AuthNone
	}
	return ses[0].Level
}

// TestSignInSecondStep: a user with TOTP is pending after the password
// and reaches nothing but the second step until a code passes; the
// session is then AuthMFA. A recovery code works once.
func TestSignInSecondStep(t *testing.T) {
	m := newMFASite(t)
	secret, codes := m.enrol(t)
	b := m.browser()
	loc := b.signIn("alice", alicePassword)
	if loc != "/-/signin/factor?next=%2F-%2Faccount" {
		t.Fatalf("sign-in with a factor went to %q", loc)
	}
	if resp, _ := b.get("/-/account/security"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/-/signin/factor") {
		t.Fatalf("a pending session reached the security page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := b.get(loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="code"`) || strings.Contains(page, `id="use-key"`) {
		t.Fatalf("second step page: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post(loc, url.Values{"code": {"000000"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "wrong or was used already") {
		t.Fatalf("wrong code: %d\n%s", resp.StatusCode, page)
	}
	if l := m.level(t); l != trove.AuthNone {
		t.Fatalf("level after a wrong code %v", l)
	}
	resp, _ = b.post(loc, url.Values{"code": {totpCode(t, secret, m.clock.now())}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account" {
		t.Fatalf("right code: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if l := m.level(t); l != trove.AuthMFA {
		t.Fatalf("level after TOTP %v, want mfa", l)
	}
	// A recovery code, once.
	b.post("/-/signout", nil)
	b2 := m.browser()
	loc = b2.signIn("alice", alicePassword)
	if resp, _ := b2.post(loc, url.Values{"code": {codes[3]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: %d", resp.StatusCode)
	}
	if m.events.count(account.EventRecoveryCodeUsed) != 1 {
		t.Fatal("no recovery-code-used event")
	}
	b2.post("/-/signout", nil)
	b3 := m.browser()
	loc = b3.signIn("alice", alicePassword)
	if resp, page := b3.post(loc, url.Values{"code": {codes[3]}}); resp.StatusCode == http.StatusSeeOther || !strings.Contains(page, "used already") {
		t.Fatalf("a used recovery code: %d", resp.StatusCode)
	}
}

// TestCodeGuessingLockout: wrong codes at the second step hit the
// budget; the owner is notified of the lockout, and the right code is
// then refused too.
func TestCodeGuessingLockout(t *testing.T) {
	m := newMFASite(t)
	secret, _ := m.enrol(t)
	b := m.browser()
	loc := b.signIn("alice", alicePassword)
	for i := range account.MaxFactorFailures {
		if resp, _ := b.post(loc, url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, page := b.post(loc, url.Values{"code": {totpCode(t, secret, m.clock.now())}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "too many wrong codes") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the right code after %d wrong ones: %d %q\n%s", account.MaxFactorFailures, resp.StatusCode, resp.Header.Get("Retry-After"), page)
	}
	if n := m.events.count(account.EventLockout); n != 1 {
		t.Fatalf("%d lockout events, want 1", n)
	}
}

var totpSecretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// TestAddTOTPOnSecurityPage: the security page adds an authenticator app
// (QR code as a data: image, confirmation by code) and shows the
// recovery codes once; removal needs sudo mode and says what losing the
// last factor means.
func TestAddTOTPOnSecurityPage(t *testing.T) {
	m := newMFASite(t)
	b := m.browser()
	b.signIn("alice", alicePassword)
	resp, page := b.get("/-/account/security")
	// Visited at 127.0.0.1, the page sends the visitor to the origin
	// security keys are bound to.
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You have no second factor") || strings.Contains(page, `id="add-key"`) ||
		!strings.Contains(page, "Security keys are bound to "+m.origin) {
		t.Fatalf("security page: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post("/-/account/security/totp", url.Values{"name": {"my phone"}})
	sm := totpSecretRE.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || sm == nil || !strings.Contains(page, `src="data:image/png;base64,`) {
		t.Fatalf("adding TOTP: %d\n%s", resp.StatusCode, page)
	}
	id := regexp.MustCompile(`name="factor" value="(\d+)"`).FindStringSubmatch(page)[1]
	resp, page = b.post("/-/account/security/totp/confirm", url.Values{"factor": {id}, "code": {"123456"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "was not added") {
		t.Fatalf("confirming with a wrong code: %d", resp.StatusCode)
	}
	resp, page = b.post("/-/account/security/totp/confirm", url.Values{"factor": {id}, "code": {totpCode(t, sm[1], m.clock.now())}})
	if resp.StatusCode != http.StatusOK || strings.Count(page, "<li><code>") != account.RecoveryCodes || !strings.Contains(page, "my phone") {
		t.Fatalf("confirming: %d\n%s", resp.StatusCode, page)
	}
	if _, page = b.get("/-/account/security"); strings.Contains(page, "<li><code>") {
		t.Fatal("the recovery codes were shown a second time")
	}
	// Sudo mode has run out: removing asks for re-authentication first.
	m.clock.advance(account.DefaultSudo + time.Minute)
	resp, _ = b.post("/-/account/security/"+id+"/remove", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/-/sudo") {
		t.Fatalf("remove outside sudo mode: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Sudo with a factor: the authenticator's code.
	m.clock.advance(30 * time.Second)
	resp, _ = b.post("/-/sudo/factor?next=/-/account/security", url.Values{"code": {totpCode(t, sm[1], m.clock.now())}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account/security" {
		t.Fatalf("sudo with a code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.post("/-/account/security/"+id+"/remove", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You have no second factor now") {
		t.Fatalf("remove in sudo mode: %d\n%s", resp.StatusCode, page)
	}
	if m.events.count(account.EventFactorAdded) != 1 || m.events.count(account.EventFactorRemoved) != 1 {
		t.Fatalf("events %v", m.events.got)
	}
}

// TestFactorFormsCrossOrigin: a factor form posted from another site is
// refused before it is read.
func TestFactorFormsCrossOrigin(t *testing.T) {
	m := newMFASite(t)
	b := m.browser()
	b.signIn("alice", alicePassword)
	req, _ := http.NewRequest("POST", m.srv.URL+"/-/account/security/totp", strings.NewReader("name=evil"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
	if fs, _ := m.db.Factor(context.Background(), m.alice.ID, 1); fs != nil {
		t.Fatal("a cross-site form began an enrolment")
	}
}

// TestNPMLoginCarriesLevel: npm's browser login confirmed from a session
// that passed a second factor mints a token at that level, so it can
// publish where the MFA policy asks for one.
func TestNPMLoginCarriesLevel(t *testing.T) {
	m := newMFASite(t)
	secret, _ := m.enrol(t)
	ctx := context.Background()
	id, done, err := m.h.o.Logins.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := m.browser()
	loc := b.signIn("alice", alicePassword)
	if resp, _ := b.post(loc, url.Values{"code": {totpCode(t, secret, m.clock.now())}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second step: %d", resp.StatusCode)
	}
	if resp, _ := b.post(npmLoginPrefix+id, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account?done=npm" {
		t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := m.h.o.Logins.Poll(ctx, done)
	if err != nil || tok == "" {
		t.Fatalf("poll: %q %v", tok, err)
	}
	p, err := m.toks.Authenticate(ctx, tok)
	if err != nil || p.Level != trove.AuthMFA {
		t.Fatalf("the npm login's token: %+v %v; want level mfa", p, err)
	}
}

// TestPasskeysOnlyWhereTheyWork: security keys are bound to the base
// URL's host (localhost here), so a visitor at 127.0.0.1 is not offered a
// passkey button that cannot work, but is told where it does.
func TestPasskeysOnlyWhereTheyWork(t *testing.T) {
	m := newMFASite(t)
	get := func(host string) string {
		req, err := http.NewRequest("GET", m.srv.URL+"/-/signin", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		if _, err := io.Copy(&b, resp.Body); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	at127 := get(strings.TrimPrefix(m.srv.URL, "http://"))
	if strings.Contains(at127, `id="passkey"`) || !strings.Contains(at127, `id="passkey-elsewhere"`) || !strings.Contains(at127, m.origin+"/-/signin") {
		t.Errorf("the sign-in page at 127.0.0.1 offers a passkey or does not say where they work:\n%s", at127)
	}
	atLocalhost := get(strings.TrimPrefix(m.origin, "http://"))
	if !strings.Contains(atLocalhost, `id="passkey"`) || strings.Contains(atLocalhost, `id="passkey-elsewhere"`) {
		t.Errorf("the sign-in page at the keys' origin offers no passkey:\n%s", atLocalhost)
	}
}
