package account

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

func TestSessionLimits(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	clock := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	users := NewUsers(db, now)
	u, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	ss := NewSessions(db, now)
	ss.SetLimits(SessionLimits{Lifetime: 3 * time.Hour, Idle: 30 * time.Minute})
	if ss.Limits().Sudo != DefaultSudo {
		t.Errorf("unset sudo limit = %v, want the default", ss.Limits().Sudo)
	}
	secret, ses, err := ss.Start(ctx, u, false, Device{Client: "192.0.2.7", UserAgent: strings.Repeat("é", 300)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ses.UserAgent) > MaxUserAgent || !strings.HasPrefix(ses.UserAgent, "é") || !ss.InSudo(ses) || ses.Level != trove.AuthPassword {
		t.Errorf("new session %+v", ses)
	}
	if stored, _ := db.WebSessionByHash(ctx, access.HashToken(secret)); stored == nil || stored.Hash == secret {
		t.Fatal("the session is not stored by the hash of its secret")
	}
	// Used every 20 minutes: alive past the idle limit, but last_seen is
	// written at most once a minute.
	for range 5 {
		clock = clock.Add(20 * time.Minute)
		if _, _, err := ss.Authenticate(ctx, secret); err != nil {
			t.Fatalf("active session at %s: %v", clock, err)
		}
	}
	seen := clock
	clock = clock.Add(30 * time.Second)
	got, _, _ := ss.Authenticate(ctx, secret)
	if stored, _ := db.WebSessionByHash(ctx, ses.Hash); !stored.LastSeenAt.Equal(seen) || !got.LastSeenAt.Equal(seen) {
		t.Errorf("last seen %s, want %s (no write within a minute)", stored.LastSeenAt, seen)
	}
	if ss.InSudo(got) {
		t.Error("sudo outlived its 10 minutes")
	}
	// Idle: 30 minutes without a request.
	clock = seen.Add(30 * time.Minute)
	if _, _, err := ss.Authenticate(ctx, secret); !errors.Is(err, ErrNoSession) {
		t.Errorf("idle session: %v", err)
	}
	// Lifetime: 3 hours whatever the use.
	secret, _, _ = ss.Start(ctx, u, false, Device{})
	for i := 1; i <= 7; i++ { // to 175 minutes, never idle
		clock = clock.Add(25 * time.Minute)
		if _, _, err := ss.Authenticate(ctx, secret); err != nil {
			t.Fatalf("after %d min: %v", i*25, err)
		}
	}
	clock = clock.Add(10 * time.Minute) // 185 minutes
	if _, _, err := ss.Authenticate(ctx, secret); !errors.Is(err, ErrNoSession) {
		t.Errorf("session past its lifetime: %v", err)
	}
	for _, bad := range []string{"", "nope", access.NewToken()} {
		if _, _, err := ss.Authenticate(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}
}

func TestSessionPendingAndDisabled(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	users := NewUsers(db, nil)
	u, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	ss := NewSessions(db, nil)
	secret, ses, err := ss.Start(ctx, u, true, Device{})
	if err != nil || !ses.Pending {
		t.Fatalf("pending start: %+v %v", ses, err)
	}
	if err := ss.Pass(ctx, ses, trove.AuthPhishingResistant); err != nil {
		t.Fatal(err)
	}
	got, _, err := ss.Authenticate(ctx, secret)
	if err != nil || got.Pending || got.Level != trove.AuthPhishingResistant {
		t.Fatalf("after Pass: %+v %v", got, err)
	}
	if err := users.SetDisabled(ctx, u, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.Authenticate(ctx, secret); !errors.Is(err, ErrNoSession) {
		t.Errorf("a disabled account's session: %v", err)
	}
	if _, err := users.SignIn(ctx, "alice", "correct horse battery staple", home); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a disabled account signs in: %v", err)
	}
	if _, _, err := ss.Start(ctx, u, false, Device{}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a session for a disabled account: %v", err)
	}
	if err := users.SetDisabled(ctx, u, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.Authenticate(ctx, secret); err != nil {
		t.Errorf("re-enabled account's session: %v", err)
	}
	if err := ss.Revoke(ctx, u.ID+1, got.ID); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("revoking another user's session: %v", err)
	}
	if err := ss.Revoke(ctx, u.ID, got.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.Authenticate(ctx, secret); !errors.Is(err, ErrNoSession) {
		t.Errorf("revoked session: %v", err)
	}
	if err := ss.Sudo(ctx, got); !errors.Is(err, ErrNoSession) {
		t.Errorf("sudo on a revoked session: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	users := NewUsers(db, nil)
	u, err := users.Create(ctx, NewUser{Name: "alice", Email: "alice@example.test", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if err := users.ForceReset(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := users.ChangePassword(ctx, u, "wrong one", "a brand new passphrase 77", Device{Client: "127.0.0.1"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "current password") {
		t.Errorf("wrong current password: %v", err)
	}
	if err := users.ChangePassword(ctx, u, "correct horse battery staple", "alice", Device{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("weak new password: %v", err)
	}
	if err := users.ChangePassword(ctx, u, "correct horse battery staple", "a brand new passphrase 77", Device{}); err != nil {
		t.Fatal(err)
	}
	got, err := users.SignIn(ctx, "alice", "a brand new passphrase 77", home)
	if err != nil || got.PasswordReset {
		t.Errorf("after the change: %+v %v", got, err)
	}
}
