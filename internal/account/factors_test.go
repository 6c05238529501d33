package account

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

func (r *recorder) count(k EventKind) int {
	n := 0
	for _, got := range r.kinds() {
		if got == k {
			n++
		}
	}
	return n
}

// clock is a settable clock safe for concurrent reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type factorsFixture struct {
	db    *meta.DB
	f     *Factors
	alice *trove.User
	rec   *recorder
	clock *clock
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newFactors(t *testing.T, db *meta.DB) *factorsFixture {
	t.Helper()
	fx := &factorsFixture{db: db, rec: &recorder{}, clock: &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}}
	f, err := NewFactors(db, FactorsConfig{Key: testKey, BaseURL: "http://localhost:8080", Notifier: fx.rec, Now: fx.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	fx.f = f
	users := NewUsers(db, fx.clock.now)
	if fx.alice, err = users.Create(context.Background(), NewUser{Name: "alice", Email: "alice@example.test", Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	return fx
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol gives alice a confirmed TOTP factor and returns its secret.
func (fx *factorsFixture) enrol(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	e, err := fx.f.BeginTOTP(ctx, fx.alice, "phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.f.ConfirmTOTP(ctx, fx.alice.ID, e.FactorID, code(t, e.Secret, fx.clock.now()), "test"); err != nil {
		t.Fatal(err)
	}
	return e.Secret
}

func TestTOTPEnrolment(t *testing.T) {
	ctx := context.Background()
	fx := newFactors(t, newDB(t))
	e, err := fx.f.BeginTOTP(ctx, fx.alice, "phone")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URL, "otpauth://totp/Trove:alice?") || !strings.Contains(e.URL, "secret="+e.Secret) || len(e.QR) < 100 || string(e.QR[1:4]) != "PNG" {
		t.Fatalf("enrolment URL %q, QR of %d bytes", e.URL, len(e.QR))
	}
	if has, err := fx.f.HasTOTP(ctx, fx.alice.ID); has || err != nil {
		t.Fatalf("HasTOTP before confirmation = %v, %v", has, err)
	}
	if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, code(t, e.Secret, fx.clock.now()), home); !errors.Is(err, ErrBadCode) {
		t.Fatalf("VerifyTOTP with an unconfirmed factor = %v, want ErrBadCode", err)
	}
	if _, err := fx.f.ConfirmTOTP(ctx, fx.alice.ID, e.FactorID, "000000", "test"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("ConfirmTOTP with a wrong code = %v", err)
	}
	first := code(t, e.Secret, fx.clock.now())
	codes, err := fx.f.ConfirmTOTP(ctx, fx.alice.ID, e.FactorID, first, "test")
	if err != nil || len(codes) != RecoveryCodes {
		t.Fatalf("ConfirmTOTP = %d recovery codes, %v", len(codes), err)
	}
	if _, err := fx.f.ConfirmTOTP(ctx, fx.alice.ID, e.FactorID, first, "test"); !errors.Is(err, ErrNoFactor) {
		t.Fatalf("a second ConfirmTOTP = %v, want ErrNoFactor", err)
	}
	// The code that confirmed the factor is spent.
	if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, first, home); !errors.Is(err, ErrBadCode) {
		t.Fatalf("VerifyTOTP with the confirmation code = %v, want ErrBadCode (replay)", err)
	}
	if has, err := fx.f.HasTOTP(ctx, fx.alice.ID); !has || err != nil {
		t.Fatalf("HasTOTP = %v, %v", has, err)
	}
	if got := fx.rec.kinds(); !slices.Equal(got, []EventKind{EventFactorAdded, EventRecoveryCodesNew}) {
		t.Errorf("events %v", got)
	}
	// The secret is stored sealed.
	m, err := fx.db.Factor(ctx, fx.alice.ID, e.FactorID)
	if err != nil || strings.Contains(m.Secret, e.Secret) || !strings.HasPrefix(m.Secret, "v1:") {
		t.Fatalf("stored secret %q (%v) holds the plain secret or is not sealed", m.Secret, err)
	}
	// An enrolment left unconfirmed expires.
	e2, _ := fx.f.BeginTOTP(ctx, fx.alice, "tablet")
	fx.clock.add(enrolTTL + time.Second)
	if _, err := fx.f.ConfirmTOTP(ctx, fx.alice.ID, e2.FactorID, code(t, e2.Secret, fx.clock.now()), "test"); !errors.Is(err, ErrNoFactor) {
		t.Fatalf("ConfirmTOTP after the enrolment expired = %v, want ErrNoFactor", err)
	}
}

func TestTOTPReplayAndSkew(t *testing.T) {
	ctx := context.Background()
	fx := newFactors(t, newDB(t))
	secret := fx.enrol(t)
	fx.clock.add(30 * time.Second)
	now := fx.clock.now()
	c := code(t, secret, now)
	if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, c, home); err != nil {
		t.Fatalf("VerifyTOTP with a fresh code: %v", err)
	}
	if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, c, home); !errors.Is(err, ErrBadCode) {
		t.Fatalf("VerifyTOTP with the same code again = %v, want ErrBadCode", err)
	}
	// A code of the step before the last accepted one is refused too.
	if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, code(t, secret, now.Add(-30*time.Second)), home); !errors.Is(err, ErrBadCode) {
		t.Fatalf("a code older than the last accepted = %v, want ErrBadCode", err)
	}
	// One step either side of now is accepted; two is not.
	fx.clock.add(5 * time.Minute)
	now = fx.clock.now()
	for _, tc := range []struct {
		d  time.Duration
		ok bool
	}{{-60 * time.Second, false}, {-30 * time.Second, true}, {60 * time.Second, false}, {30 * time.Second, true}} {
		err := fx.f.VerifyTOTP(ctx, fx.alice.ID, code(t, secret, now.Add(tc.d)), home)
		if (err == nil) != tc.ok {
			t.Errorf("code of now%+v: %v, want ok=%v", tc.d, err, tc.ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", " 12 34"} {
		fx.f.Unlock(ctx, fx.alice.ID) // each wrong code counts
		if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, bad, home); !errors.Is(err, ErrBadCode) {
			t.Errorf("VerifyTOTP(%q) = %v", bad, err)
		}
	}
}

// TestTOTPConcurrentSameCode: one code sent by many requests at once is
// accepted once.
func TestTOTPConcurrentSameCode(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			fx := newFactors(t, e.Open(t))
			secret := fx.enrol(t)
			fx.clock.add(30 * time.Second)
			c := code(t, secret, fx.clock.now())
			// As many requests as the attempt budget holds: each reserves
			// an attempt before its code is checked.
			const n = MaxFactorFailures
			var ok, bad atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := fx.f.VerifyTOTP(ctx, fx.alice.ID, c, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrBadCode):
						bad.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 1 || bad.Load() != n-1 {
				t.Fatalf("%d concurrent uses of one code: %d accepted, %d refused; want 1 and %d", n, ok.Load(), bad.Load(), n-1)
			}
		})
	}
}

// TestFactorThrottle: wrong codes sent at once are counted before any is
// checked, so exactly the budget is checked; the lockout is notified once;
// the owner is then refused too, until an unlock or the window's end.
func TestFactorThrottle(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			fx := newFactors(t, e.Open(t))
			secret := fx.enrol(t)
			var bad, throttled atomic.Int32
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Alternate TOTP and recovery-code guesses: one budget.
					guess := "000000"
					if i%2 == 1 {
						guess = "aaaaa-aaaaa"
					}
					err := fx.f.VerifyCode(ctx, fx.alice.ID, guess, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
					switch {
					case errors.Is(err, ErrBadCode):
						bad.Add(1)
					case errors.Is(err, ErrThrottled):
						throttled.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if bad.Load() != MaxFactorFailures || throttled.Load() != 20-MaxFactorFailures {
				t.Fatalf("20 concurrent wrong codes: %d checked, %d throttled; want %d checked", bad.Load(), throttled.Load(), MaxFactorFailures)
			}
			if n := fx.rec.count(EventLockout); n != 1 {
				t.Fatalf("%d lockout events, want 1 (events %v)", n, fx.rec.kinds())
			}
			fx.clock.add(30 * time.Second)
			err := fx.f.VerifyTOTP(ctx, fx.alice.ID, code(t, secret, fx.clock.now()), home)
			if s, ok := trove.RetryAfter(err); !errors.Is(err, ErrThrottled) || !ok || s < 60 {
				t.Fatalf("the right code while locked = %v (retry after %d s), want ErrThrottled", err, s)
			}
			// An administrator's unlock (trove admin user unlock, the
			// admin page) lifts it.
			if err := NewUsers(fx.db, fx.clock.now).Unlock(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, code(t, secret, fx.clock.now()), home); err != nil {
				t.Fatalf("the right code after Users.Unlock: %v", err)
			}
			// A right code gives its attempt back: four failures and a
			// success leave one more try.
			for range MaxFactorFailures - 1 {
				fx.f.VerifyTOTP(ctx, fx.alice.ID, "000000", home)
			}
			fx.clock.add(30 * time.Second)
			if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, code(t, secret, fx.clock.now()), home); err != nil {
				t.Fatal(err)
			}
			if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, "000000", home); !errors.Is(err, ErrBadCode) {
				t.Fatalf("the last failure of the budget = %v, want ErrBadCode", err)
			}
			if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, "000000", home); !errors.Is(err, ErrThrottled) {
				t.Fatalf("past the budget = %v, want ErrThrottled", err)
			}
			fx.clock.add(FailureWindow)
			if err := fx.f.VerifyTOTP(ctx, fx.alice.ID, code(t, secret, fx.clock.now()), home); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})
	}
}

func TestRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	fx := newFactors(t, newDB(t))
	if _, err := fx.f.NewRecoveryCodes(ctx, fx.alice.ID, "test"); !errors.Is(err, ErrNoFactor) {
		t.Fatalf("NewRecoveryCodes without a factor = %v, want ErrNoFactor", err)
	}
	e, _ := fx.f.BeginTOTP(ctx, fx.alice, "phone")
	codes, err := fx.f.ConfirmTOTP(ctx, fx.alice.ID, e.FactorID, code(t, e.Secret, fx.clock.now()), "test")
	if err != nil || len(codes) != RecoveryCodes || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != RecoveryCodes {
		t.Fatalf("codes %v, %v: want %d distinct", codes, err, RecoveryCodes)
	}
	if err := fx.f.VerifyCode(ctx, fx.alice.ID, strings.ToUpper(strings.ReplaceAll(codes[0], "-", " ")), home); err != nil {
		t.Fatalf("a recovery code typed in capitals with a space: %v", err)
	}
	if err := fx.f.UseRecoveryCode(ctx, fx.alice.ID, codes[0], home); !errors.Is(err, ErrBadCode) {
		t.Fatalf("a used recovery code = %v, want ErrBadCode", err)
	}
	if n, _ := fx.f.RecoveryCodesLeft(ctx, fx.alice.ID); n != RecoveryCodes-1 {
		t.Fatalf("RecoveryCodesLeft = %d", n)
	}
	if fx.rec.count(EventRecoveryCodeUsed) != 1 {
		t.Fatalf("events %v, want one %s", fx.rec.kinds(), EventRecoveryCodeUsed)
	}
	fresh, err := fx.f.NewRecoveryCodes(ctx, fx.alice.ID, "test")
	if err != nil || len(fresh) != RecoveryCodes {
		t.Fatal(err)
	}
	if err := fx.f.UseRecoveryCode(ctx, fx.alice.ID, codes[1], home); !errors.Is(err, ErrBadCode) {
		t.Fatalf("an old code after regeneration = %v, want ErrBadCode", err)
	}
	if err := fx.f.UseRecoveryCode(ctx, fx.alice.ID, fresh[9], home); err != nil {
		t.Fatal(err)
	}
	// A second factor keeps the codes; removing the last one drops them.
	e2, _ := fx.f.BeginTOTP(ctx, fx.alice, "tablet")
	if again, err := fx.f.ConfirmTOTP(ctx, fx.alice.ID, e2.FactorID, code(t, e2.Secret, fx.clock.now()), "test"); err != nil || again != nil {
		t.Fatalf("a second factor made recovery codes %v (%v)", again, err)
	}
	for i, id := range []int64{e.FactorID, e2.FactorID} {
		left, err := fx.f.Remove(ctx, fx.alice.ID, id, "test")
		if err != nil || left != 1-i {
			t.Fatalf("Remove = %d left, %v", left, err)
		}
	}
	if n, _ := fx.f.RecoveryCodesLeft(ctx, fx.alice.ID); n != 0 {
		t.Fatalf("%d recovery codes left after the last factor went", n)
	}
}

func TestStrongestAndRemove(t *testing.T) {
	ctx := context.Background()
	fx := newFactors(t, newDB(t))
	level := func() trove.AuthLevel {
		t.Helper()
		l, err := fx.f.Strongest(ctx, fx.alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := level(); l != trove.AuthPassword {
		t.Fatalf("Strongest without factors = %v", l)
	}
	fx.enrol(t)
	if l := level(); l != trove.AuthMFA {
		t.Fatalf("Strongest with TOTP = %v", l)
	}
	key := &meta.Factor{UserID: fx.alice.ID, Kind: meta.FactorWebAuthn, Name: "key", CreatedAt: fx.clock.now(), ConfirmedAt: fx.clock.now(),
		CredentialID: "a2V5", Credential: []byte(`{"id":"a2V5"}`)}
	if err := fx.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertFactor(ctx, key) }); err != nil {
		t.Fatal(err)
	}
	if l := level(); l != trove.AuthPhishingResistant {
		t.Fatalf("Strongest with a security key = %v", l)
	}
	if err := fx.f.Rename(ctx, fx.alice.ID, key.ID, "  desk  "); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxFactorName+1), "a\nb"} {
		if err := fx.f.Rename(ctx, fx.alice.ID, key.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Rename(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	fs, err := fx.f.List(ctx, fx.alice.ID)
	if err != nil || len(fs) != 2 || fs[1].Name != "desk" || fs[1].Kind != meta.FactorWebAuthn {
		t.Fatalf("List = %+v, %v", fs, err)
	}
	// Another user's factor is not theirs to remove.
	bob, err := NewUsers(fx.db, nil).Create(ctx, NewUser{Name: "bob", Email: "bob@example.test", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.f.Remove(ctx, bob.ID, key.ID, "test"); !errors.Is(err, ErrNoFactor) {
		t.Fatalf("bob removing alice's key = %v, want ErrNoFactor", err)
	}
	if _, err := fx.f.AdminRemove(ctx, fx.alice.ID, key.ID, "root"); err != nil {
		t.Fatal(err)
	}
	if l := level(); l != trove.AuthMFA {
		t.Fatalf("Strongest after the key went = %v", l)
	}
	if fx.rec.count(EventAdminRecovery) != 1 || fx.rec.count(EventFactorRemoved) != 1 {
		t.Fatalf("events %v, want one admin-recovery and one factor-removed", fx.rec.kinds())
	}
}

func TestFactorKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys", "factors.key")
	k1, err := LoadOrCreateFactorKey(path)
	if err != nil || len(k1) != FactorKeySize {
		t.Fatalf("LoadOrCreateFactorKey = %d bytes, %v", len(k1), err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode(), err)
	}
	if k2, err := LoadOrCreateFactorKey(path); err != nil || string(k2) != string(k1) {
		t.Fatalf("reloading the key: %v", err)
	}
	os.WriteFile(path, []byte("not hex\n"), 0o600)
	if _, err := LoadOrCreateFactorKey(path); err == nil || !strings.Contains(err.Error(), "64 characters") {
		t.Fatalf("a malformed key file = %v", err)
	}
	// A server with another key refuses to start.
	db := newDB(t)
	fx := newFactors(t, db)
	fx.enrol(t)
	if err := fx.f.CheckKey(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := NewFactors(db, FactorsConfig{Key: k1, BaseURL: "http://localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.CheckKey(ctx); err == nil || !strings.Contains(err.Error(), "same key file") {
		t.Fatalf("CheckKey with another key = %v", err)
	}
	// The key is lost: the secrets it sealed are dropped, and the new
	// key seals from then on.
	if _, _, err := other.EnrollTOTP(ctx, fx.alice, "new phone", "test"); err == nil {
		t.Fatal("enrolled under a key that does not open the stored secrets")
	}
	dropped, err := other.DropUnreadable(ctx, "root")
	if err != nil || len(dropped) != 1 || dropped[0].Name != "phone" {
		t.Fatalf("DropUnreadable = %+v, %v", dropped, err)
	}
	if err := other.CheckKey(ctx); err != nil {
		t.Fatalf("CheckKey after dropping: %v", err)
	}
	if _, _, err := other.EnrollTOTP(ctx, fx.alice, "new phone", "test"); err != nil {
		t.Fatal(err)
	}
	if fs, _ := other.List(ctx, fx.alice.ID); len(fs) != 1 || fs[0].Name != "new phone" {
		t.Fatalf("factors left %+v", fs)
	}
	// Before any secret exists, the last key checked takes over (a
	// restore without the key file), and a server whose key is not the
	// database's refuses to seal secrets (replicas with different keys).
	db2 := newDB(t)
	a, _ := NewFactors(db2, FactorsConfig{Key: testKey, BaseURL: "http://localhost"})
	b, _ := NewFactors(db2, FactorsConfig{Key: k1, BaseURL: "http://localhost"})
	if err := a.CheckKey(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.CheckKey(ctx); err != nil {
		t.Fatalf("another key on a database without secrets: CheckKey = %v", err)
	}
	u, _ := NewUsers(db2, nil).Create(ctx, NewUser{Name: "carol", Email: "carol@example.test", Password: "correct horse battery staple"})
	if _, err := a.BeginTOTP(ctx, u, "phone"); err == nil || !strings.Contains(err.Error(), "same key file") {
		t.Fatalf("enrolling under a key the database does not record = %v", err)
	}
	if _, err := b.BeginTOTP(ctx, u, "phone"); err != nil {
		t.Fatal(err)
	}
	// A sealed secret does not open for another user.
	s, _ := newSealer(testKey)
	if _, err := s.open(2, s.seal(1, "JBSWY3DPEHPK3PXP")); err == nil {
		t.Fatal("a secret sealed for user 1 opened for user 2")
	}
}

func TestRelyingPartyNeedsHostName(t *testing.T) {
	for base, want := range map[string]string{
		"http://localhost:8080": "http://localhost:8080", "https://trove.example": "https://trove.example",
		// Loopback addresses are served as localhost.
		"http://127.0.0.1:8080": "http://localhost:8080", "http://[::1]:8080": "http://localhost:8080",
		"http://192.0.2.7:8080": "", "https://[2001:db8::1]": "",
	} {
		rp, err := newRelyingParty(base)
		got := ""
		if err == nil {
			got = rp.Config.RPOrigins[0]
		}
		if got != want || (err == nil) != (want != "") {
			t.Errorf("newRelyingParty(%q) = origin %q, %v; want %q", base, got, err, want)
		}
	}
}
