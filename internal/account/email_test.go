package account_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/mail/mailtest"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

var changeRE = regexp.MustCompile(`/-/email-change\?token=([A-Za-z0-9_-]+)`)

// mailTo returns the messages to addr among got.
func mailTo(got []mailtest.Message, addr string) []mailtest.Message {
	var out []mailtest.Message
	for _, m := range got {
		if len(m.To) == 1 && m.To[0] == addr {
			out = append(out, m)
		}
	}
	return out
}

// changeLink returns the secret of the only confirmation link mailed to addr.
func changeLink(t *testing.T, got []mailtest.Message, addr string) string {
	t.Helper()
	var secrets []string
	for _, m := range mailTo(got, addr) {
		if match := changeRE.FindStringSubmatch(m.Body); match != nil {
			secrets = append(secrets, match[1])
		}
	}
	if len(secrets) != 1 {
		t.Fatalf("%d confirmation links mailed to %s, want 1", len(secrets), addr)
	}
	return secrets[0]
}

// address returns u's address as stored, and whether it is verified.
func (e *env) address(t *testing.T, u *trove.User) (string, bool) {
	t.Helper()
	got, err := e.users.ByName(context.Background(), u.Name)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := e.verify.Verified(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.Email, ok
}

func TestEmailChangeWaitsForTheNewAddress(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "alice", true)
	if err := e.verify.RequestChange(ctx, u, " alice@new.test ", "192.0.2.7 Firefox"); err != nil {
		t.Fatal(err)
	}
	got := e.deliver(t, 2)
	secret := changeLink(t, got, "alice@new.test")
	old := mailTo(got, "alice@example.test")
	if len(old) != 1 || !strings.Contains(old[0].Subject, "change of the email address was asked for") ||
		!strings.Contains(old[0].Body, "alice@new.test") || !strings.Contains(old[0].Body, "192.0.2.7 Firefox") ||
		!strings.Contains(old[0].Body, base+"/-/account") {
		t.Fatalf("the old address was told: %+v", old)
	}
	if strings.Contains(old[0].Body, secret) {
		t.Fatal("the old address received the new address's link")
	}

	// Until the link is followed, nothing changed.
	if addr, ok := e.address(t, u); addr != "alice@example.test" || !ok {
		t.Fatalf("before the link: %s verified=%v", addr, ok)
	}
	p, err := e.verify.PendingChange(ctx, u.ID)
	if err != nil || p == nil || p.Email != "alice@new.test" || !p.ExpiresAt.Equal(e.clk.now().Add(account.EmailChangeLifetime)) {
		t.Fatalf("PendingChange = %+v, %v", p, err)
	}
	// Looking at the link (the GET page) does not use it.
	for range 2 {
		cu, to, err := e.verify.CheckChange(ctx, secret)
		if err != nil || cu.ID != u.ID || to != "alice@new.test" {
			t.Fatalf("CheckChange = %v, %q, %v", cu, to, err)
		}
	}
	if _, err := e.verify.ConfirmChange(ctx, secret+"x", ""); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("a wrong secret: %v", err)
	}

	changed, err := e.verify.ConfirmChange(ctx, secret, "198.51.100.3 Chromium")
	if err != nil || changed.Email != "alice@new.test" {
		t.Fatalf("ConfirmChange = %+v, %v", changed, err)
	}
	if addr, ok := e.address(t, u); addr != "alice@new.test" || !ok {
		t.Fatalf("after the link: %s verified=%v", addr, ok)
	}
	if p, err := e.verify.PendingChange(ctx, u.ID); p != nil || err != nil {
		t.Fatalf("pending after the change: %+v, %v", p, err)
	}
	// The old address is told a second time, now that it changed; the
	// new one gets nothing more.
	got = e.deliver(t, 3)
	old = mailTo(got, "alice@example.test")
	if len(old) != 2 || !strings.Contains(old[1].Subject, "the email address was changed") ||
		!strings.Contains(old[1].Body, "from alice@example.test to alice@new.test") || !strings.Contains(old[1].Body, "198.51.100.3 Chromium") {
		t.Fatalf("second notice to the old address: %+v", old)
	}
	if n := len(mailTo(got, "alice@new.test")); n != 1 {
		t.Errorf("the new address received %d messages, want 1", n)
	}

	// The link works once.
	if _, err := e.verify.ConfirmChange(ctx, secret, ""); !errors.Is(err, account.ErrBadLink) || !errors.Is(err, trove.ErrInvalid) {
		t.Fatalf("a replayed link: %v", err)
	}
	if _, _, err := e.verify.CheckChange(ctx, secret); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("CheckChange of a used link: %v", err)
	}
	evs, err := e.notes.List(ctx, u.ID, 10)
	if err != nil || len(evs) != 2 || evs[0].Kind != account.EventEmailChanged || evs[1].Kind != account.EventEmailChangeRequested {
		t.Fatalf("events: %+v, %v", evs, err)
	}
}

func TestEmailChangeLinkExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "bert", true)
	if err := e.verify.RequestChange(ctx, u, "bert@new.test", ""); err != nil {
		t.Fatal(err)
	}
	secret := changeLink(t, e.deliver(t, 2), "bert@new.test")
	e.clk.add(account.EmailChangeLifetime + time.Second)
	if p, _ := e.verify.PendingChange(ctx, u.ID); p != nil {
		t.Errorf("an expired change is pending: %+v", p)
	}
	if _, err := e.verify.ConfirmChange(ctx, secret, ""); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("an expired link: %v", err)
	}
	if addr, _ := e.address(t, u); addr != "bert@example.test" {
		t.Fatalf("an expired link changed the address to %s", addr)
	}
}

func TestEmailChangeReplacedAndCancelled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "cleo", true)
	if err := e.verify.RequestChange(ctx, u, "cleo@first.test", ""); err != nil {
		t.Fatal(err)
	}
	e.clk.add(time.Minute)
	if err := e.verify.RequestChange(ctx, u, "cleo@second.test", ""); err != nil {
		t.Fatal(err)
	}
	got := e.deliver(t, 4)
	first, second := changeLink(t, got, "cleo@first.test"), changeLink(t, got, "cleo@second.test")
	if p, _ := e.verify.PendingChange(ctx, u.ID); p == nil || p.Email != "cleo@second.test" {
		t.Fatalf("pending after a second request: %+v", p)
	}
	if _, err := e.verify.ConfirmChange(ctx, first, ""); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("a replaced link: %v", err)
	}
	if err := e.verify.CancelChange(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify.ConfirmChange(ctx, second, ""); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("a cancelled link: %v", err)
	}
	if p, _ := e.verify.PendingChange(ctx, u.ID); p != nil {
		t.Fatalf("pending after cancel: %+v", p)
	}
	if err := e.verify.CancelChange(ctx, u, ""); !errors.Is(err, account.ErrInvalid) || !strings.Contains(err.Error(), "no change") {
		t.Fatalf("cancel with nothing pending: %v", err)
	}
	if addr, ok := e.address(t, u); addr != "cleo@example.test" || !ok {
		t.Fatalf("after cancelling: %s verified=%v", addr, ok)
	}
}

func TestEmailChangeRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "dora", true)
	for _, tc := range []struct{ addr, want string }{
		{"", "not a plain address"},
		{"dora", "not a plain address"},
		{"Dora <dora@new.test>", "not a plain address"},
		{"dora@new.test\r\nBcc: x@evil.test", "not a plain address"},
		{strings.Repeat("d", 250) + "@new.test", "at most 254 characters"},
		{"DORA@example.test", "is your address already"},
	} {
		err := e.verify.RequestChange(ctx, u, tc.addr, "")
		if !errors.Is(err, account.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RequestChange(%q) = %v, want %q", tc.addr, err, tc.want)
		}
	}
	// Per account and hour.
	for i := range account.EmailChangesPerHour {
		if err := e.verify.RequestChange(ctx, u, "dora@new"+string(rune('a'+i))+".test", ""); err != nil {
			t.Fatal(err)
		}
	}
	err := e.verify.RequestChange(ctx, u, "dora@one-more.test", "")
	if s, ok := trove.RetryAfter(err); !errors.Is(err, trove.ErrTooMany) || !ok || s <= 0 {
		t.Fatalf("request %d in an hour: %v", account.EmailChangesPerHour+1, err)
	}
	if p, _ := e.verify.PendingChange(ctx, u.ID); p == nil || p.Email != "dora@newe.test" {
		t.Fatalf("a refused request replaced the pending one: %+v", p)
	}
	e.clk.add(time.Hour)
	if err := e.verify.RequestChange(ctx, u, "dora@one-more.test", ""); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
	// Refused requests mailed nothing: 6 links and 6 notices.
	if n := len(e.deliver(t, 12)); n != 12 {
		t.Fatalf("%d messages", n)
	}
}

// An address never verified (a typo at sign-up, say) is not told: it may
// not be the owner's. The change fixes it, verified.
func TestEmailChangeFromAnUnverifiedAddress(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "ezra", false) // mailed a verification link
	if err := e.verify.RequestChange(ctx, u, "ezra@new.test", ""); err != nil {
		t.Fatal(err)
	}
	got := e.deliver(t, 2)
	if n := len(mailTo(got, "ezra@example.test")); n != 1 {
		t.Fatalf("the unverified address received %d messages, want only its verification link", n)
	}
	if _, err := e.verify.ConfirmChange(ctx, changeLink(t, got, "ezra@new.test"), ""); err != nil {
		t.Fatal(err)
	}
	if addr, ok := e.address(t, u); addr != "ezra@new.test" || !ok {
		t.Fatalf("after the link: %s verified=%v", addr, ok)
	}
	// The old address's verification link no longer verifies anything.
	old := linkRE.FindStringSubmatch(mailTo(got, "ezra@example.test")[0].Body)
	if _, err := e.verify.Verify(ctx, old[1]); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("the old address's verification link: %v", err)
	}
}

func TestEmailChangeOfADisabledAccount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "fay", true)
	if err := e.verify.RequestChange(ctx, u, "fay@new.test", ""); err != nil {
		t.Fatal(err)
	}
	secret := changeLink(t, e.deliver(t, 2), "fay@new.test")
	if err := e.users.SetDisabled(ctx, u, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify.ConfirmChange(ctx, secret, ""); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("the link of a disabled account: %v", err)
	}
	if addr, _ := e.address(t, u); addr != "fay@example.test" {
		t.Fatalf("address %s", addr)
	}
}

// TestEmailChangeIsAtomic: when the last write of a confirmation fails,
// nothing of it stays: not the switch, not the event or its mail, not
// the use of the link, which works once the failure is gone.
func TestEmailChangeIsAtomic(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trove.db")
	db, err := meta.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newEnvOn(t, db)
	u := e.user(t, "gil", true)
	if err := e.verify.RequestChange(ctx, u, "gil@new.test", ""); err != nil {
		t.Fatal(err)
	}
	secret := changeLink(t, e.deliver(t, 2), "gil@new.test")

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Recording the new address's verification is the confirmation's last write.
	for _, op := range []string{"INSERT", "UPDATE"} {
		if _, err := raw.Exec(`CREATE TRIGGER fail_` + op + ` BEFORE ` + op + ` ON email_verifications BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.verify.ConfirmChange(ctx, secret, ""); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("ConfirmChange with a failing write: %v", err)
	}
	if addr, ok := e.address(t, u); addr != "gil@example.test" || !ok {
		t.Fatalf("after a failed confirmation: %s verified=%v", addr, ok)
	}
	if evs, _ := e.notes.List(ctx, u.ID, 10); len(evs) != 1 {
		t.Fatalf("a failed confirmation left events: %+v", evs)
	}
	if p, _ := e.verify.PendingChange(ctx, u.ID); p == nil {
		t.Fatal("a failed confirmation used the link")
	}
	for _, op := range []string{"INSERT", "UPDATE"} {
		if _, err := raw.Exec(`DROP TRIGGER fail_` + op); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.verify.ConfirmChange(ctx, secret, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(e.deliver(t, 3)); n != 3 {
		t.Fatalf("%d messages: the failed confirmation queued mail", n)
	}
}

func TestOperatorSetsEmail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "hal", true)
	if err := e.verify.SetEmail(ctx, u, "not an address", true, "operator"); !errors.Is(err, account.ErrInvalid) {
		t.Fatalf("a bad address: %v", err)
	}
	if err := e.verify.SetEmail(ctx, u, "hal@new.test", true, "operator (trove admin user set)"); err != nil {
		t.Fatal(err)
	}
	if addr, ok := e.address(t, u); addr != "hal@new.test" || !ok || u.Email != "hal@new.test" {
		t.Fatalf("after set --verified: %s verified=%v", addr, ok)
	}
	m := e.deliver(t, 1)[0]
	if m.To[0] != "hal@example.test" || !strings.Contains(m.Body, "vouched for by an administrator") || !strings.Contains(m.Body, "operator (trove admin user set)") {
		t.Fatalf("notice: %+v", m)
	}
	// Without --verified it is a request like the user's own.
	if err := e.verify.SetEmail(ctx, u, "hal@third.test", false, "operator"); err != nil {
		t.Fatal(err)
	}
	got := e.deliver(t, 3)
	changeLink(t, got, "hal@third.test")
	if len(mailTo(got, "hal@new.test")) != 1 {
		t.Fatal("the current address was not told of the request")
	}
	if addr, _ := e.address(t, u); addr != "hal@new.test" {
		t.Fatalf("a request changed the address to %s", addr)
	}
}

// TestRecoveryEndsAPendingEmailChange: an administrator's recovery ends a
// pending change of address, which may be the intruder's, and a change
// of address it makes is the account's new address.
func TestRecoveryEndsAPendingEmailChange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.user(t, "ivy", true)
	if err := e.verify.RequestChange(ctx, u, "intruder@evil.test", ""); err != nil {
		t.Fatal(err)
	}
	secret := changeLink(t, e.deliver(t, 2), "intruder@evil.test")
	if _, _, err := e.users.Recover(ctx, account.Recovery{Name: "ivy", NewEmail: " ivy@rescued.test", Operator: "root", Reason: "ticket 1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify.ConfirmChange(ctx, secret, ""); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("a pending change survived the recovery: %v", err)
	}
	if p, _ := e.verify.PendingChange(ctx, u.ID); p != nil {
		t.Fatalf("pending after recovery: %+v", p)
	}
	if addr, _ := e.address(t, u); addr != "ivy@rescued.test" {
		t.Fatalf("address after recovery: %q", addr)
	}
	// The operator vouched for the new address: it is verified, and the
	// recovery's notice reaches it, as the old address got it before.
	if ok, err := e.verify.Verified(ctx, u.ID); err != nil || !ok {
		t.Fatalf("the recovered address is not verified: %v, %v", ok, err)
	}
	got := map[string]bool{}
	for _, m := range e.deliver(t, 4)[2:] {
		got[m.To[0]] = strings.Contains(m.Body, "recovered your account")
	}
	if !got["ivy@example.test"] || !got["ivy@rescued.test"] {
		t.Fatalf("recovery notices: %v; want the old address before and the new one after", got)
	}
}
