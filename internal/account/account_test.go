package account

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
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
	if got, err := users.SignIn(ctx, "ALICE", "correct horse battery staple"); err != nil || got.ID != u.ID {
		t.Errorf("SignIn = %v, %v", got, err)
	}
	_, errWrong := users.SignIn(ctx, "alice", "wrong password")
	_, errUnknown := users.SignIn(ctx, "nobody", "wrong password")
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
	if err := logins.Complete(ctx, doneID, u); !errors.Is(err, ErrLoginNotFound) {
		t.Errorf("Complete with the done secret = %v, want ErrLoginNotFound: the secrets are not interchangeable", err)
	}
	if err := logins.Complete(ctx, loginID, u); err != nil {
		t.Fatal(err)
	}
	if err := logins.Complete(ctx, loginID, u); !errors.Is(err, ErrLoginNotFound) {
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
	if err := logins.Complete(ctx, loginID, u); !errors.Is(err, ErrLoginNotFound) {
		t.Errorf("Complete after expiry = %v, want ErrLoginNotFound", err)
	}
}

// TestSignInThrottle: password guessing is bounded per name, for known and
// unknown names alike, and the window ends.
func TestSignInThrottle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	users := NewUsers(newDB(t), func() time.Time { return now })
	const pw = "correct horse battery staple"
	if _, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: pw}); err != nil {
		t.Fatal(err)
	}
	// A success resets the count.
	for range MaxFailures - 1 {
		users.SignIn(ctx, "alice", "guess")
	}
	if _, err := users.SignIn(ctx, "alice", pw); err != nil {
		t.Fatalf("sign-in after %d failures: %v", MaxFailures-1, err)
	}
	for _, name := range []string{"alice", "nobody"} {
		for i := range MaxFailures {
			if _, err := users.SignIn(ctx, name, "guess"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("%s: failure %d = %v, want ErrBadCredentials", name, i+1, err)
			}
		}
	}
	_, errKnown := users.SignIn(ctx, "ALICE", pw) // the right password, too late
	_, errUnknown := users.SignIn(ctx, "nobody", pw)
	if !errors.Is(errKnown, ErrThrottled) || !errors.Is(errUnknown, ErrThrottled) {
		t.Fatalf("after %d failures: alice %v, nobody %v; want ErrThrottled for both", MaxFailures, errKnown, errUnknown)
	}
	if strings.Replace(errKnown.Error(), "alice", "nobody", 1) != errUnknown.Error() {
		t.Errorf("throttled answers differ beyond the name: %q vs %q", errKnown, errUnknown)
	}
	if _, err := users.SignIn(ctx, "bob", "guess"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("another name is throttled too: %v", err)
	}
	now = now.Add(FailureWindow)
	if _, err := users.SignIn(ctx, "alice", pw); err != nil {
		t.Errorf("sign-in after the window: %v", err)
	}
}
