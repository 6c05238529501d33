package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// auditSite is a site whose forms are recorded in the audit log, served
// so that a test knows when a request (and its entry) is done.
type auditSite struct {
	*site
	url      string
	inFlight sync.WaitGroup
}

func newAuditSite(t *testing.T) *auditSite {
	s := &auditSite{site: newSite(t)}
	s.h.o.Audit, s.h.o.AuditLog = audit.New(s.db, s.clock.now), s.db
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Done()
		s.h.ServeHTTP(w, r.WithContext(adapter.WithChannel(r.Context(), adapter.Loopback)))
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// session starts a session of u (pending: owing a second factor) and
// returns its cookie.
func (s *auditSite) session(t *testing.T, name string, pending bool) *http.Cookie {
	u, err := s.db.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := s.ses.Start(context.Background(), u, pending, account.Device{})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: cookiePlain, Value: secret}
}

// post sends a same-origin form with the cookie (nil: none) and returns
// the status once the request is done.
func (s *auditSite) post(t *testing.T, path string, c *http.Cookie) int {
	req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(url.Values{"x": {"1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", s.url)
	if c != nil {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	s.inFlight.Wait()
	return resp.StatusCode
}

// since returns the entries after the id mark, oldest first.
func (s *auditSite) since(t *testing.T, mark int64) []*meta.AuditEntry {
	es, err := s.db.AuditEntries(context.Background(), meta.AuditFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*meta.AuditEntry
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].ID > mark {
			out = append(out, es[i])
		}
	}
	return out
}

func (s *auditSite) last(t *testing.T) int64 {
	if es := s.since(t, 0); len(es) > 0 {
		return es[len(es)-1].ID
	}
	return 0
}

// fill puts a value in each {placeholder} of a route's path.
func fill(path string) string {
	for _, p := range []string{"{name}", "{action}", "{id}", "{path...}", "{file}"} {
		path = strings.ReplaceAll(path, p, "x")
	}
	return path
}

// TestEveryFormAudited walks the web route table: every route that takes
// a form (any method but GET) leaves exactly one audit entry, naming the
// route, the signed-in visitor and credential, and the outcome of its
// status; a visitor without a session leaves none (counted, not
// itemised).
func TestEveryFormAudited(t *testing.T) {
	s := newAuditSite(t)
	n := 0
	for _, rt := range s.h.table() {
		if !audit.Mutating(rt.method) {
			continue
		}
		n++
		t.Run(rt.name, func(t *testing.T) {
			mark := s.last(t)
			status := s.post(t, fill(rt.path), s.session(t, "root", false))
			es := s.since(t, mark)
			if len(es) != 1 {
				t.Fatalf("POST %s (%d) wrote %d audit entries, want 1", rt.path, status, len(es))
			}
			e := es[0]
			want := meta.AuditEntry{Action: "web." + rt.name, UserID: s.root.ID, UserName: "root", Credential: audit.CredentialSession,
				Outcome: string(audit.OutcomeOf(status)), Status: status, Count: 1, Client: "127.0.0.1"}
			got := meta.AuditEntry{Action: e.Action, UserID: e.UserID, UserName: e.UserName, Credential: e.Credential,
				Outcome: e.Outcome, Status: e.Status, Count: e.Count, Client: e.Client}
			if got != want {
				t.Errorf("POST %s: entry %+v, want %+v", rt.path, got, want)
			}
			if e.Target == "" {
				t.Errorf("POST %s: entry without a target", rt.path)
			}

			mark = s.last(t)
			s.post(t, fill(rt.path), nil)
			if es := s.since(t, mark); len(es) != 0 {
				t.Errorf("POST %s without a session wrote %+v, want nothing (counted)", rt.path, *es[0])
			}
		})
	}
	if n < 20 {
		t.Fatalf("the walk found %d forms; the route table has more", n)
	}
	// The anonymous ones are counted, and written as one entry each kind.
	mark := s.last(t)
	if err := s.h.o.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	es := s.since(t, mark)
	total := 0
	for _, e := range es {
		if e.UserID != 0 || e.Credential != audit.CredentialAnonymous || e.Count < 1 || !strings.HasPrefix(e.Action, "web.") {
			t.Errorf("anonymous count %+v", *e)
		}
		total += e.Count
	}
	if total != n {
		t.Errorf("the anonymous counts add up to %d, want %d", total, n)
	}
}

// TestAuditPendingSession: a visitor who proved the password and owes a
// second factor is recorded with the password as credential.
func TestAuditPendingSession(t *testing.T) {
	s := newAuditSite(t)
	mark := s.last(t)
	status := s.post(t, "/-/signin/factor", s.session(t, "alice", true))
	es := s.since(t, mark)
	if len(es) != 1 || es[0].UserName != "alice" || es[0].Credential != audit.CredentialPassword || es[0].Action != "web.signin.factor.submit" || es[0].Status != status {
		t.Errorf("the second step wrote %v, want one entry of alice's with the password", es)
	}
}

// TestAuditPages: the account's page shows its own entries and no one
// else's; the administrators' page shows everyone's, filtered, and is
// refused to others.
func TestAuditPages(t *testing.T) {
	s := newAuditSite(t)
	bob := addUser(t, s.db, "bob", "bob's correct horse battery 3", false)
	ctx := context.Background()
	now := s.clock.now()
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		for _, e := range []*meta.AuditEntry{
			{At: now, UserID: s.alice.ID, UserName: "alice", Credential: "token a1", Action: "npm.publish", Target: "npm:alices-pkg@1.0.0", Ecosystem: "npm", Package: "alices-pkg", Outcome: "ok", Status: 200, Count: 1},
			{At: now, UserID: bob.ID, UserName: "bob", Credential: "token b1", Action: "npm.publish", Target: "npm:bobs-pkg@1.0.0", Ecosystem: "npm", Package: "bobs-pkg", Outcome: "denied", Status: 403, Count: 1},
		} {
			if err := tx.InsertAuditEntry(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(c *http.Cookie, path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
		if c != nil {
			req.AddCookie(c)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body(t, resp)
	}
	alice, root := s.session(t, "alice", false), s.session(t, "root", false)
	code, page := get(alice, "/-/account/audit")
	if code != http.StatusOK || !strings.Contains(page, "npm:alices-pkg@1.0.0") || strings.Contains(page, "bobs-pkg") {
		t.Errorf("alice's audit page = %d, shows alice's entry: %v, bob's: %v", code, strings.Contains(page, "alices-pkg"), strings.Contains(page, "bobs-pkg"))
	}
	if code, _ := get(alice, "/-/admin/audit"); code != http.StatusForbidden {
		t.Errorf("alice on the administrators' audit page = %d, want 403", code)
	}
	if code, _ := get(nil, "/-/account/audit"); code != http.StatusSeeOther {
		t.Errorf("the account's audit page without a session = %d, want a redirect to sign in", code)
	}
	for _, tc := range []struct {
		query      string
		want, omit string
	}{
		{"", "bobs-pkg", ""},
		{"?user=bob", "bobs-pkg", "alices-pkg"},
		{"?package=npm:alices-pkg", "alices-pkg", "bobs-pkg"},
		{"?outcome=denied", "bobs-pkg", "alices-pkg"},
		{"?action=npm.&user=alice", "alices-pkg", "bobs-pkg"},
	} {
		code, page := get(root, "/-/admin/audit"+tc.query)
		if code != http.StatusOK || !strings.Contains(page, tc.want) || tc.omit != "" && strings.Contains(page, tc.omit) {
			t.Errorf("the administrators' audit page%s = %d; want %q shown and %q not", tc.query, code, tc.want, tc.omit)
		}
	}
	for _, q := range []string{"?outcome=maybe", "?since=monday", "?package=nocolon"} {
		if code, _ := get(root, "/-/admin/audit"+q); code != http.StatusBadRequest {
			t.Errorf("the administrators' audit page%s = %d, want 400", q, code)
		}
	}
	if code, _ := get(root, "/-/admin/audit?user=nobody"); code != http.StatusNotFound {
		t.Errorf("the administrators' audit page for no such user = %d, want 404", code)
	}
}

// TestAuditPageOfOrganisation: an organisation's owners read, on their
// account's audit page, the entries on its packages by anyone; its other
// members and strangers are refused, and the page lists the
// organisations the visitor owns.
func TestAuditPageOfOrganisation(t *testing.T) {
	db := dbtest.Open(t)
	c := newCatalog(t, db)
	s := newSiteOn(t, db, func(o *Options) { o.Registry, o.Pages = c.reg, page.NewCache(1<<20) })
	s.h.o.AuditLog = db
	ctx := context.Background()
	addUser(t, db, "bob", alicePassword, false)
	c.publish(t, "npm", "orglib", "1.0.0", nil)
	c.publish(t, "npm", "other", "1.0.0", nil)
	if _, err := c.reg.CreateOrg(ctx, c.alice, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := c.reg.Transfer(ctx, c.alice, "npm", "orglib", registry.Transfer{Org: "acme"}); err != nil {
		t.Fatal(err)
	}
	// The catalog's publisher makes the site's alice an owner of acme.
	if err := c.reg.Invite(ctx, c.alice, "acme", "alice", "owner"); err != nil {
		t.Fatal(err)
	}
	me := &access.Principal{UserID: s.alice.ID, UserName: "alice", Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	if err := c.reg.Answer(ctx, me, "acme", true); err != nil {
		t.Fatal(err)
	}
	bob, err := db.UserByName(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	err = db.Tx(ctx, func(tx *meta.Tx) error {
		for _, e := range []*meta.AuditEntry{
			{At: time.Now(), UserID: bob.ID, UserName: "bob", Credential: "token b1", Action: "npm.publish", Target: "npm:orglib@2.0.0", Ecosystem: "npm", Package: "orglib", Outcome: "denied", Status: 403, Count: 1},
			{At: time.Now(), UserID: bob.ID, UserName: "bob", Credential: "token b1", Action: "npm.publish", Target: "npm:other@2.0.0", Ecosystem: "npm", Package: "other", Outcome: "denied", Status: 403, Count: 1},
		} {
			if err := tx.InsertAuditEntry(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := s.browser()
	alice.signIn("alice", alicePassword)
	resp, page := alice.get("/-/account/audit")
	if resp.StatusCode != 200 || !strings.Contains(page, `href="/-/account/audit?org=acme"`) || strings.Contains(page, "orglib@2.0.0") {
		t.Errorf("alice's own audit page = %d; want a link to acme's and not bob's entries:\n%s", resp.StatusCode, page)
	}
	resp, page = alice.get("/-/account/audit?org=acme")
	if resp.StatusCode != 200 || !strings.Contains(page, "npm:orglib@2.0.0") || !strings.Contains(page, "<td>bob</td>") || strings.Contains(page, "npm:other@2.0.0") {
		t.Errorf("acme's audit page for its owner = %d; want bob's entry on orglib only:\n%s", resp.StatusCode, page)
	}
	b := s.browser()
	b.signIn("bob", alicePassword)
	if resp, _ := b.get("/-/account/audit?org=acme"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("acme's audit page for a stranger = %d, want 404 (as for no organisation)", resp.StatusCode)
	}
}
