package web

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
)

// deletionSite is a site whose administrators delete accounts and see
// every account's events (package ownership: internal/account's tests).
func deletionSite(t *testing.T) (*site, *registry.Service) {
	t.Helper()
	s := newSite(t)
	reg, err := registry.New(registry.Config{DB: s.db, Blobs: memblob.New(), Rules: []registry.Rules{pypi.Rules{}},
		TempDir: filepath.Join(t.TempDir(), "tmp"), Now: s.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	notes := account.NewNotifications(s.db, mail.NewOutbox(s.db, s.clock.now), "http://trove.test", s.clock.now)
	s.h.o.Deletions = account.NewDeletions(s.db, notes, reg, s.toks, s.clock.now)
	s.h.o.AllEvents = notes
	s.h.o.Notifier = notes
	s.h.o.Verify = account.NewVerifications(s.db, mail.NewOutbox(s.db, s.clock.now), notes, "http://trove.test", s.clock.now)
	return s, reg
}

func TestAdminDeleteAccount(t *testing.T) {
	s, reg := deletionSite(t)
	ctx := context.Background()
	secret, _, err := s.toks.Create(ctx, s.alice.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Read}})
	if err != nil {
		t.Fatal(err)
	}
	alice := s.browser()
	alice.signIn("alice", alicePassword)
	// Not for non-administrators.
	for _, p := range []string{"/-/admin/users/root/delete", "/-/admin/events"} {
		if resp, _ := alice.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a non-admin: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := alice.post("/-/admin/users/root/delete", url.Values{"confirm": {"root"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST delete as a non-admin: %d", resp.StatusCode)
	}

	root := s.browser()
	root.signIn("root", rootPassword)
	_, page := root.get("/-/admin/users")
	if !strings.Contains(page, `id="delete-alice"`) || !strings.Contains(page, `id="events-link"`) {
		t.Fatalf("users page lacks the delete and events links:\n%s", page)
	}
	resp, page := root.get("/-/admin/users/alice/delete")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="no-packages"`) || !strings.Contains(page, "stays taken for ever") ||
		!strings.Contains(page, "1 API token(s)") {
		t.Fatalf("confirmation page: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := root.get("/-/admin/users/root/delete"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("deleting oneself: %d, want 400", resp.StatusCode)
	}
	// Confirmation needed; a form from another site refused; nothing changes.
	if resp, page := root.post("/-/admin/users/alice/delete", url.Values{"confirm": {"bob"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(page, "nothing was deleted") {
		t.Errorf("wrong confirmation: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", s.srv.URL+"/-/admin/users/alice/delete", strings.NewReader("confirm=alice"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := root.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site delete: %v, %v", resp, err)
	}
	// Out of sudo: asked to confirm it is them first.
	s.clock.advance(11 * time.Minute)
	if resp, _ := root.post("/-/admin/users/alice/delete", url.Values{"confirm": {"alice"}}); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/-/sudo") {
		t.Errorf("delete out of sudo: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if u, _ := s.db.UserByName(ctx, "alice"); u.Deleted() {
		t.Fatal("a refused deletion deleted")
	}
	root.post("/-/sudo", url.Values{"password": {rootPassword}, "next": {"/-/admin/users"}})

	if resp, _ := root.post("/-/admin/users/alice/delete", url.Values{"confirm": {"alice"}}); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/-/admin/users?done=delete" {
		t.Fatalf("delete: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := s.toks.Authenticate(ctx, secret); err == nil {
		t.Error("the deleted account's token works")
	}
	if resp, _ := alice.get("/-/account"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the deleted account's session works: %d", resp.StatusCode)
	}
	_, page = root.get("/-/admin/users")
	if !strings.Contains(page, "deleted "+s.clock.now().UTC().Format("2006-01-02")) || strings.Contains(page, "alice@example.com") ||
		strings.Contains(page, `id="delete-alice"`) {
		t.Errorf("users page after the deletion:\n%s", page)
	}
	if resp, _ := root.post("/-/admin/users/alice/disable", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an action on a deleted account: %d, want 404", resp.StatusCode)
	}
	b := s.browser()
	if resp, _ := b.post("/-/signin", url.Values{"name": {"alice"}, "password": {alicePassword}}); resp.StatusCode == http.StatusSeeOther {
		t.Error("the deleted account signs in")
	}

	// The events page: newest first, filtered by user and kind.
	_, page = root.get("/-/admin/events")
	if !strings.Contains(page, "account-deleted") || !strings.Contains(page, "administrator root") {
		t.Errorf("events page lacks the deletion:\n%s", page)
	}
	_, page = root.get("/-/admin/events?user=alice&kind=account-deleted")
	if strings.Count(page, `<tr id="event-`) != 1 {
		t.Errorf("filtered events:\n%s", page)
	}
	_, page = root.get("/-/admin/events?user=root&kind=account-deleted")
	if !strings.Contains(page, `id="no-events"`) {
		t.Errorf("events of root:\n%s", page)
	}
	for q, want := range map[string]int{"kind=nonsense": 400, "user=nobody": 404, "before=x": 400, "before=-1": 400} {
		if resp, _ := root.get("/-/admin/events?" + q); resp.StatusCode != want {
			t.Errorf("events?%s: %d, want %d", q, resp.StatusCode, want)
		}
	}
	_ = reg
}

func TestAdminEventsPages(t *testing.T) {
	s, _ := deletionSite(t)
	for i := 0; i < adminEventsPageSize+5; i++ {
		if err := s.h.o.Notifier.Notify(context.Background(), account.Event{Kind: account.EventLockout, UserID: s.alice.ID, Detail: "n", Client: "192.0.2.9"}); err != nil {
			t.Fatal(err)
		}
	}
	root := s.browser()
	root.signIn("root", rootPassword)
	_, page := root.get("/-/admin/events?kind=lockout")
	if strings.Count(page, `<tr id="event-`) != adminEventsPageSize || !strings.Contains(page, "192.0.2.9") {
		t.Fatalf("first page: %d rows", strings.Count(page, `<tr id="event-`))
	}
	i := strings.Index(page, `<a href="/-/admin/events?before=`)
	if i < 0 {
		t.Fatalf("no link to older events:\n%s", page)
	}
	link := page[i+len(`<a href="`):]
	link = strings.ReplaceAll(link[:strings.Index(link, `"`)], "&amp;", "&")
	if !strings.Contains(link, "kind=lockout") {
		t.Errorf("older link %q drops the filter", link)
	}
	_, page = root.get(link)
	if n := strings.Count(page, `<tr id="event-`); n != 5 || strings.Contains(page, `id="older"`) {
		t.Errorf("second page: %d rows", n)
	}
}

func TestAdminResendVerification(t *testing.T) {
	s, _ := deletionSite(t)
	root := s.browser()
	root.signIn("root", rootPassword)
	_, page := root.get("/-/admin/users")
	// addUser does not verify: both are unverified.
	if !strings.Contains(page, `id="verify-alice"`) {
		t.Fatalf("no resend button for an unverified address:\n%s", page)
	}
	resp, _ := root.post("/-/admin/users/alice/verify", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=verify") {
		t.Fatalf("resend: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if err := s.db.Tx(context.Background(), func(tx *meta.Tx) error {
		return tx.SetEmailVerified(context.Background(), s.alice.ID, s.alice.Email, s.clock.now())
	}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := root.post("/-/admin/users/alice/verify", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("resend to a verified address: %d, want 400", resp.StatusCode)
	}
	if _, page := root.get("/-/admin/users"); strings.Contains(page, `id="verify-alice"`) {
		t.Error("resend button for a verified address")
	}
}
