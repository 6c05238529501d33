package account

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/meta/pgtest"
	"github.com/trove-dev/trove/internal/trove"
)

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		ok   bool
		want string // in the error
	}{
		{"short", false, "at least 16 characters"},
		{"alllowercase", false, "at least 16 characters"},
		{"Abcdefgh1!", false, "at least 16"},  // 10 characters: too short even with classes
		{"abcdefgh123", false, "at least 16"}, // 11 with two classes
		{strings.Repeat("x", 2000), false, "longer than 1024 bytes"},
		// Long enough, and still guessed at once: the strength estimate
		// refuses them, saying why.
		{"passwordpassword", false, "repeated"},
		{"1234567890123456", false, "sequence"},
		{"abcdefghijklmnop", false, "sequence"},
		{"qwertyuiopasdfgh", false, "too weak"},
		{"zxcvbnmasdfghjkl", false, "too weak"},
		{"alice@example.test", false, "your user name or email address"},
		{strings.Repeat("password", 100), false, "too weak"}, // judged on its first 64 characters
		{"correct horse battery staple", true, ""},
		{"Abcdefgh12!xQ", true, ""}, // 13 with four classes
		{"ÄÖÜäöü123456", true, ""},  // letters in two cases and digits
		{"Tr0ub4dor&3xyz", true, ""},
		{"violet canyon 42 marmalade", true, ""},
	} {
		err := CheckPasswordPolicy(tc.pw, "alice", "alice@example.test")
		if (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckPasswordPolicy(%.40q) = %v, want ok=%v with %q", tc.pw, err, tc.ok, tc.want)
		}
	}
	// The user's own name and address are the first words tried: what is
	// strong for one user is weak for the one it names.
	const pw = "zanzibar@quokka.test"
	if err := CheckPasswordPolicy(pw, "bob", "bob@example.test"); err != nil {
		t.Errorf("CheckPasswordPolicy(%q) for bob = %v, want nil", pw, err)
	}
	if err := CheckPasswordPolicy(pw, "zanzibar", pw); err == nil || !strings.Contains(err.Error(), "your user name or email address") {
		t.Errorf("CheckPasswordPolicy(%q) for zanzibar, whose address it is = %v, want refused", pw, err)
	}
}

// BenchmarkPasswordPolicy shows what one check costs at the longest
// password accepted (the estimate reads its first 64 characters).
func BenchmarkPasswordPolicy(b *testing.B) {
	pw := strings.Repeat("Tr0ub4dor&3 correct horse ", 40)[:MaxPasswordLen]
	for b.Loop() {
		CheckPasswordPolicy(pw, "alice", "alice@example.test")
	}
}

func TestHashAndVerify(t *testing.T) {
	h := HashPassword("correct horse battery staple")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with our parameters", h)
	}
	if h2 := HashPassword("correct horse battery staple"); h2 == h {
		t.Errorf("two hashes of one password are equal: salts not random")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapler": false, "": false} {
		if ok, err := VerifyPassword(h, pw); err != nil || ok != want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$a$b", "$argon2id$v=19$m=x$a$b", "plain"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("VerifyPassword(malformed %q) = nil error", bad)
		}
	}
}

func newDB(t *testing.T) *meta.DB {
	t.Helper()
	db, err := meta.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCreateAndSignIn(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	users := NewUsers(db, nil)
	u, err := users.Create(ctx, NewUser{Name: "Alice", Email: "alice@example.test", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	_, hash, err := db.PasswordHash(ctx, "alice")
	if err != nil || u.Name != "alice" || !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "horse") {
		t.Errorf("created %+v with stored hash %q, %v", u, hash, err)
	}
	if _, err := users.Create(ctx, NewUser{Name: "alice", Email: "other@example.test", Password: "correct horse battery staple"}); !errors.Is(err, ErrExists) {
		t.Errorf("Create(taken name) = %v, want ErrExists", err)
	}
	_, err = users.Create(ctx, NewUser{Name: "-bad", Email: "not an email", Password: "weak"})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Create(bad) = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"user name", "email", "password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Create(bad) error %q does not mention the %s", err, want)
		}
	}
	if got, err := users.SignIn(ctx, "ALICE", "correct horse battery staple", home); err != nil || got.ID != u.ID {
		t.Errorf("SignIn = %v, %v", got, err)
	}
	_, errWrong := users.SignIn(ctx, "alice", "wrong password", home)
	_, errUnknown := users.SignIn(ctx, "nobody", "wrong password", home)
	if !errors.Is(errWrong, ErrBadCredentials) || errWrong.Error() != errUnknown.Error() {
		t.Errorf("wrong password = %v, unknown user = %v; want the same ErrBadCredentials", errWrong, errUnknown)
	}
}

func TestBrowserLogin(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	users := NewUsers(db, nil)
	u, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	tokens := access.NewTokens(db, nil)
	logins := NewLogins(db, tokens, func() time.Time { return clock })
	loginID, doneID, err := logins.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := logins.Poll(ctx, doneID); err != nil || tok != "" {
		t.Fatalf("Poll before sign-in = %q, %v; want pending", tok, err)
	}
	if err := logins.Pending(ctx, loginID); err != nil {
		t.Fatalf("Pending = %v", err)
	}
	if err := logins.Complete(ctx, doneID, u, trove.AuthPassword); !errors.Is(err, ErrLoginNotFound) {
		t.Errorf("Complete with the done secret = %v, want ErrLoginNotFound: the secrets are not interchangeable", err)
	}
	if err := logins.Complete(ctx, loginID, u, trove.AuthPassword); err != nil {
		t.Fatal(err)
	}
	if err := logins.Complete(ctx, loginID, u, trove.AuthPassword); !errors.Is(err, ErrLoginNotFound) {
		t.Errorf("second Complete = %v, want ErrLoginNotFound", err)
	}
	tok, err := logins.Poll(ctx, doneID)
	if err != nil || tok == "" {
		t.Fatalf("Poll after sign-in = %q, %v", tok, err)
	}
	if p, err := tokens.Authenticate(ctx, tok); err != nil || p.UserName != "alice" {
		t.Errorf("minted token authenticates as %v, %v", p, err)
	}
	if tok2, err := logins.Poll(ctx, doneID); !errors.Is(err, ErrLoginNotFound) || tok2 != "" {
		t.Errorf("second Poll = %q, %v; want ErrLoginNotFound: a token is issued once", tok2, err)
	}
	loginID, _, _ = logins.Start(ctx)
	clock = clock.Add(LoginSessionTTL + time.Second)
	if err := logins.Complete(ctx, loginID, u, trove.AuthPassword); !errors.Is(err, ErrLoginNotFound) {
		t.Errorf("Complete after expiry = %v, want ErrLoginNotFound", err)
	}
}

// Client addresses of the tests: the owner's usual one and attackers'.
var (
	home     = netip.MustParseAddr("192.0.2.1")
	attacker = netip.MustParseAddr("198.51.100.7")
)

// TestSignInThrottle: password guessing is bounded per name, for known and
// unknown names alike; the guesser's address stays locked out while the
// owner, from an address that has not failed, still gets in; the window ends.
func TestSignInThrottle(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) { testSignInThrottle(t, e.Open) })
	}
}

func testSignInThrottle(t *testing.T, open func(testing.TB) *meta.DB) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	users := NewUsers(open(t), func() time.Time { return now })
	const pw = "correct horse battery staple"
	if _, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: pw}); err != nil {
		t.Fatal(err)
	}
	// A success resets the count.
	for range MaxFailures - 1 {
		users.SignIn(ctx, "alice", "guess", attacker)
	}
	if _, err := users.SignIn(ctx, "alice", pw, home); err != nil {
		t.Fatalf("sign-in after %d failures: %v", MaxFailures-1, err)
	}
	for _, name := range []string{"alice", "nobody"} {
		for i := range MaxFailures {
			if _, err := users.SignIn(ctx, name, "guess", attacker); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("%s: failure %d = %v, want ErrBadCredentials", name, i+1, err)
			}
		}
	}
	_, errKnown := users.SignIn(ctx, "ALICE", pw, attacker) // the right password, from the guesser's address
	_, errUnknown := users.SignIn(ctx, "nobody", pw, attacker)
	if !errors.Is(errKnown, ErrThrottled) || !errors.Is(errUnknown, ErrThrottled) {
		t.Fatalf("after %d failures: alice %v, nobody %v; want ErrThrottled for both", MaxFailures, errKnown, errUnknown)
	}
	if strings.Replace(errKnown.Error(), "alice", "nobody", 1) != errUnknown.Error() {
		t.Errorf("throttled answers differ beyond the name: %q vs %q", errKnown, errUnknown)
	}
	if s, ok := trove.RetryAfter(errKnown); !ok || s < 14*60 || s > 15*60 {
		t.Errorf("RetryAfter(throttled) = %d, %v; want the rest of the window", s, ok)
	}
	if _, err := users.SignIn(ctx, "bob", "guess", home); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("another name is throttled too: %v", err)
	}
	// The owner, from an address that has not failed, still gets in.
	if _, err := users.SignIn(ctx, "alice", pw, netip.MustParseAddr("203.0.113.5")); err != nil {
		t.Errorf("the owner from a clean address: %v", err)
	}
	now = now.Add(FailureWindow)
	if _, err := users.SignIn(ctx, "nobody", pw, attacker); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("sign-in after the window: %v", err)
	}
}

// TestSignInThrottleConcurrent: guesses that arrive at once are counted
// before any password is checked, so exactly the budget is checked.
func TestSignInThrottleConcurrent(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) { testSignInThrottleConcurrent(t, e.Open) })
	}
}

func testSignInThrottleConcurrent(t *testing.T, open func(testing.TB) *meta.DB) {
	ctx := context.Background()
	users := NewUsers(open(t), nil)
	users.SetHashing(limit.NewSlots(4, time.Minute))
	if _, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		from  func(i int) netip.Addr
		wants int
	}{
		{"one address", func(int) netip.Addr { return attacker }, MaxFailures},
		// Every guess from a fresh address: the second budget is spent too.
		{"80 addresses", func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}) }, MaxFailures + MaxCleanFailures},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users.Unlock(ctx, "alice")
			var wg sync.WaitGroup
			var bad, throttled, other atomic.Int32
			for i := range 80 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := users.SignIn(ctx, "alice", "guess", tc.from(i))
					switch {
					case errors.Is(err, ErrBadCredentials):
						bad.Add(1)
					case errors.Is(err, ErrThrottled):
						throttled.Add(1)
					default:
						other.Add(1)
					}
				}()
			}
			wg.Wait()
			if bad.Load() != int32(tc.wants) || throttled.Load() != int32(80-tc.wants) || other.Load() != 0 {
				t.Errorf("80 concurrent guesses: %d checked, %d throttled, %d other; want %d checked", bad.Load(), throttled.Load(), other.Load(), tc.wants)
			}
		})
	}
}

// TestSignInThrottlePerAddress: one address guessing across many names is
// stopped after MaxAddrFailures, whatever names it tries next; other
// addresses are not.
func TestSignInThrottlePerAddress(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) { testSignInThrottlePerAddress(t, e.Open) })
	}
}

func testSignInThrottlePerAddress(t *testing.T, open func(testing.TB) *meta.DB) {
	ctx := context.Background()
	users := NewUsers(open(t), nil)
	for i := range MaxAddrFailures {
		if _, err := users.SignIn(ctx, fmt.Sprintf("user%d", i), "guess", attacker); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("guess %d = %v, want ErrBadCredentials", i+1, err)
		}
	}
	_, err := users.SignIn(ctx, "someone-else", "guess", attacker)
	if !errors.Is(err, ErrThrottled) || !strings.Contains(err.Error(), "from your address") {
		t.Errorf("guess %d from one address = %v, want ErrThrottled for the address", MaxAddrFailures+1, err)
	}
	// Another address in the attacker's IPv6 /64 shares its budget; one outside does not.
	v6 := netip.MustParseAddr("2001:db8:1:2::1")
	for i := range MaxAddrFailures {
		users.SignIn(ctx, fmt.Sprintf("v6user%d", i), "guess", v6)
	}
	if _, err := users.SignIn(ctx, "x", "guess", netip.MustParseAddr("2001:db8:1:2:ffff::9")); !errors.Is(err, ErrThrottled) {
		t.Errorf("same /64: %v, want ErrThrottled", err)
	}
	if _, err := users.SignIn(ctx, "x", "guess", netip.MustParseAddr("2001:db8:1:3::1")); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("other /64: %v, want ErrBadCredentials", err)
	}
}

// TestSignInUnlock: an administrator's unlock, written to the database by
// another process, lets the locked name sign in again within unlockCheck.
func TestSignInUnlock(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(e.Name, func(t *testing.T) { testSignInUnlock(t, e.Open) })
	}
}

func testSignInUnlock(t *testing.T, open func(testing.TB) *meta.DB) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	db := open(t)
	users := NewUsers(db, func() time.Time { return now })
	const pw = "correct horse battery staple"
	if _, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: pw}); err != nil {
		t.Fatal(err)
	}
	for i := range MaxFailures + MaxCleanFailures {
		users.SignIn(ctx, "alice", "guess", netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}))
	}
	if _, err := users.SignIn(ctx, "alice", pw, home); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after both budgets: %v, want ErrThrottled even from a clean address", err)
	}
	now = now.Add(time.Minute)
	cli := NewUsers(db, func() time.Time { return now }) // trove admin user unlock
	if err := cli.Unlock(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(unlockCheck)
	if _, err := users.SignIn(ctx, "alice", pw, home); err != nil {
		t.Errorf("after the unlock: %v", err)
	}
}

// TestHashingBusy: when every hashing slot stays taken, a sign-in is
// refused as busy with a Retry-After, and it does not count as a failure.
func TestHashingBusy(t *testing.T) {
	ctx := context.Background()
	users := NewUsers(newDB(t), nil)
	slots := limit.NewSlots(1, 20*time.Millisecond)
	users.SetHashing(slots)
	release, _ := slots.Acquire(ctx)
	for range MaxFailures + 5 {
		_, err := users.SignIn(ctx, "alice", "guess", attacker)
		if !errors.Is(err, trove.ErrBusy) {
			t.Fatalf("SignIn with no free slot = %v, want ErrBusy", err)
		}
		if _, ok := trove.RetryAfter(err); !ok {
			t.Fatalf("busy error %v has no retry time", err)
		}
	}
	release()
	if _, err := users.SignIn(ctx, "alice", "guess", attacker); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("after busy refusals: %v, want ErrBadCredentials (refusals are not failures)", err)
	}
}

// TestSignInFailureLogged: a failed sign-in is logged with the client address.
func TestSignInFailureLogged(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	users := NewUsers(newDB(t), nil)
	users.SignIn(context.Background(), "mallory", "guess", attacker)
	if line := buf.String(); !strings.Contains(line, "sign-in failed") || !strings.Contains(line, "client=198.51.100.7") || !strings.Contains(line, "user=mallory") {
		t.Errorf("log = %q, want the failure with user and client address", line)
	}
}

// TestSignInThrottleSharedAcrossReplicas: two replicas (two connection
// pools on one PostgreSQL database) count guesses against one budget,
// and an unlock on one lifts the lock on the other at once.
func TestSignInThrottleSharedAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var replicas [2]*Users
	for i := range replicas {
		db, err := meta.OpenPostgres(ctx, url, meta.PostgresOptions{MaxOpenConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		replicas[i] = NewUsers(db, nil)
		replicas[i].SetHashing(limit.NewSlots(4, time.Minute))
	}
	const pw = "correct horse battery staple"
	if _, err := replicas[0].Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: pw}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var bad, throttled atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := replicas[i%2].SignIn(ctx, "alice", "guess", attacker)
			switch {
			case errors.Is(err, ErrBadCredentials):
				bad.Add(1)
			case errors.Is(err, ErrThrottled):
				throttled.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if bad.Load() != MaxFailures || throttled.Load() != 40-MaxFailures {
		t.Fatalf("40 guesses over two replicas: %d checked, %d throttled; want %d checked in all", bad.Load(), throttled.Load(), MaxFailures)
	}
	if _, err := replicas[1].SignIn(ctx, "alice", pw, attacker); !errors.Is(err, ErrThrottled) {
		t.Fatalf("the other replica, right password from the guesser's address: %v, want ErrThrottled", err)
	}
	if err := replicas[0].Unlock(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := replicas[1].SignIn(ctx, "alice", pw, home); err != nil {
		t.Fatalf("on the other replica right after the unlock: %v", err)
	}
}
