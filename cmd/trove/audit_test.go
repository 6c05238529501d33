package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// TestAuditCommand: trove audit shows the account's own entries through
// the API, and no one else's unless the token is an administrator's.
func TestAuditCommand(t *testing.T) {
	e := servertest.New(t, servertest.Options{Rules: ecosystemRules()})
	e.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens, Audit: e.DB})}}
	})
	alice, bob, root := e.User(t, "alice", false), e.User(t, "bob", false), e.User(t, "root", true)
	aliceTok, bobTok, rootTok := e.Token(t, alice, nil), e.Token(t, bob, nil), e.Token(t, root, nil)
	st, err := e.Registry.Stage(strings.NewReader("bytes"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	who := &access.Principal{UserID: alice.ID, UserName: "alice", Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	if _, err := e.Registry.Publish(context.Background(), who, &registry.Upload{Ecosystem: trove.PyPI, Name: "Demo_Pkg", Version: "1.0",
		Metadata: []byte(`{}`), Files: []registry.UploadFile{{Filename: "demo_pkg-1.0.tar.gz", Kind: "sdist", Content: st}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runTrove(t, bobTok, "yank", "pypi", "demo-pkg", "1.0", "--url", e.URL); err == nil {
		t.Fatal("bob yanked alice's release")
	}
	if _, _, err := runTrove(t, aliceTok, "yank", "pypi", "Demo.Pkg", "1.0", "--url", e.URL); err != nil {
		t.Fatal(err)
	}
	e.Server.Wait(10 * time.Second)

	out, _, err := runTrove(t, aliceTok, "audit", "--url", e.URL)
	if err != nil || !strings.Contains(out, "api.yank") || !strings.Contains(out, "pypi:demo-pkg@1.0") || !strings.Contains(out, "ok 200") || strings.Contains(out, "bob") {
		t.Errorf("trove audit as alice = %q, %v; want her yank of pypi:demo-pkg@1.0 and nothing of bob's", out, err)
	}
	out, _, err = runTrove(t, bobTok, "audit", "--package", "pypi:DEMO_pkg", "--json", "--url", e.URL)
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"outcome":"denied"`) || !strings.Contains(out, `"user":"bob"`) {
		t.Errorf("trove audit --package --json as bob = %q, %v; want his one refused yank", out, err)
	}
	if _, _, err := runTrove(t, bobTok, "audit", "--user", "alice", "--url", e.URL); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("bob reading alice's entries: %v, want 403", err)
	}
	if _, _, err := runTrove(t, bobTok, "audit", "--outcome", "fine", "--url", e.URL); err == nil || !strings.Contains(err.Error(), "outcome=") {
		t.Errorf("a bad outcome: %v, want a 400 naming it", err)
	}
	out, _, err = runTrove(t, rootTok, "audit", "--all", "--action", "api.", "--url", e.URL)
	if err != nil || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Errorf("trove audit --all as an administrator = %q, %v", out, err)
	}
}

// TestAdminAuditCommand: trove admin audit reads the data directory's
// log, filtered.
func TestAdminAuditCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := meta.OpenSQLite(ctx, filepath.Join(dir, "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err = db.Tx(ctx, func(tx *meta.Tx) error {
		u := &trove.User{Name: "alice", Email: "alice@example.test", CreatedAt: now}
		if err := tx.InsertUser(ctx, u, "x"); err != nil {
			return err
		}
		for _, e := range []*meta.AuditEntry{
			{At: now, UserID: u.ID, UserName: "alice", Credential: "token p1", Client: "192.0.2.1", Action: "npm.publish", Target: "npm:demo@1.0.0", Ecosystem: "npm", Package: "demo", Outcome: "ok", Status: 200, Count: 1},
			{At: now.Add(time.Hour), Credential: "anonymous", Action: "npm.publish", Outcome: "unauthenticated", Status: 401, Count: 9, Detail: "9 requests from 2 clients"},
			{At: now.Add(48 * time.Hour), UserID: u.ID, UserName: "alice", Credential: "web session", Action: "web.account.tokens.create", Target: "/-/account/tokens", Outcome: "ok", Status: 303, Count: 1},
		} {
			if err := tx.InsertAuditEntry(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args       []string
		want, omit []string
	}{
		{[]string{}, []string{"npm:demo@1.0.0", "unauthenticated 401", "web.account.tokens.create"}, nil},
		{[]string{"--user", "alice", "--action", "npm."}, []string{"npm:demo@1.0.0"}, []string{"unauthenticated", "web."}},
		{[]string{"--package", "npm:demo"}, []string{"npm:demo@1.0.0"}, []string{"web."}},
		{[]string{"--outcome", "unauthenticated"}, []string{"  9\n"}, []string{"alice"}},
		{[]string{"--since", "2026-03-02"}, []string{"web.account.tokens.create"}, []string{"npm.publish"}},
		{[]string{"--until", "2026-03-01T12:30:00Z"}, []string{"npm:demo"}, []string{"anonymous"}},
	} {
		out, _, err := runTrove(t, "", append([]string{"admin", "audit", "--data", dir}, tc.args...)...)
		if err != nil {
			t.Errorf("admin audit %v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("admin audit %v = %q, want %q in it", tc.args, out, w)
			}
		}
		for _, o := range tc.omit {
			if strings.Contains(out, o) {
				t.Errorf("admin audit %v = %q, want no %q", tc.args, out, o)
			}
		}
	}
	if _, _, err := runTrove(t, "", "admin", "audit", "--data", dir, "--user", "nobody"); err == nil || !strings.Contains(err.Error(), `no user "nobody"`) {
		t.Errorf("admin audit --user nobody: %v", err)
	}
	if _, _, err := runTrove(t, "", "admin", "audit", "--data", dir, "--since", "monday"); err == nil || !strings.Contains(err.Error(), "since=") {
		t.Errorf("admin audit --since monday: %v", err)
	}
}
