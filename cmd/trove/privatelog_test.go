package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/logclient"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// TestLogPrivateRecords serves the transparency log as trove serve wires
// it (newLogServer) over a registry with a private package, and checks
// every way a record's text leaves the server: lookups and proofs answer
// a request that may not read the package exactly as for a name never
// published (or a private record); entry bundles hold the records
// redacted for everyone; a reader (reader role, read-private) gets the
// full texts, which prove against the tree; and once the package is
// public, everyone does.
func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestLogPrivateRecords(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t, servertest.Options{Rules: ecosystemRules()})
	dir := t.TempDir()
	signer, vkey, err := translog.LoadOrCreateKey(dir, "log.example.test/trove")
	if err != nil {
		t.Fatal(err)
	}
	l, err := translog.Open(ctx, env.DB, signer, vkey, filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	env.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/log", Ecosystem: "log", Handler: newLogServer(l, env.DB, env.Registry)}}
	})
	alice, bob, mallory := env.User(t, "alice", false), env.User(t, "bob", false), env.User(t, "mallory", false)
	publish := func(name, version string, private bool) int64 {
		t.Helper()
		st, err := env.Registry.Stage(strings.NewReader(name+version), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = env.Registry.Publish(ctx, servertest.Principal(alice), &registry.Upload{Ecosystem: trove.NPM, Name: name, Version: version,
			Metadata: []byte(`{}`), Private: private, Files: []registry.UploadFile{{Filename: name + "-" + version + ".tgz", Kind: "tarball", Content: st}}})
		if err != nil {
			t.Fatal(err)
		}
		es, err := env.Registry.LogEntries(ctx, trove.NPM, name, version)
		if err != nil {
			t.Fatal(err)
		}
		return es[0].ID
	}
	publish("open-lib", "1.0.0", false)
	id := publish("secret-lib", "1.0.0", true)
	if err := env.Registry.Apply(ctx, servertest.Principal(alice), trove.NPM, "secret-lib", registry.Grant{User: "bob", Role: "reader"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	recs, _ := env.DB.ReadLogRecords(ctx, id, 1)
	full := recs[0]
	if !translog.IsPrivate(full) {
		t.Fatalf("the private package's publish record is not salted:\n%s", full)
	}

	get := func(path, token string) servertest.Response {
		req := servertest.Request(t, "GET", env.URL+"/log/"+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return servertest.Do(t, req)
	}
	reader := env.Token(t, bob, []string{"npm:secret-lib"}, access.Read, access.ReadPrivate)
	strangers := map[string]string{
		"anonymous":                       "",
		"a stranger with read-private":    env.Token(t, mallory, nil, access.Read, access.ReadPrivate),
		"the reader without read-private": env.Token(t, bob, nil, access.Read),
	}
	unknown := get("lookup/npm/never-lib/1.0.0", "")
	if unknown.StatusCode != http.StatusNotFound {
		t.Fatalf("lookup of a name never published: %d %q", unknown.StatusCode, unknown.Text)
	}
	for who, tok := range strangers {
		r := get("lookup/npm/secret-lib/1.0.0", tok)
		if want := strings.ReplaceAll(unknown.Text, "never-lib", "secret-lib"); r.StatusCode != unknown.StatusCode || r.Text != want {
			t.Errorf("lookup of the private version by %s: %d %q; want %d %q, as for a name never published", who, r.StatusCode, r.Text, unknown.StatusCode, want)
		}
		p := get("proof/"+itoa(id), tok)
		if p.StatusCode != http.StatusNotFound || !strings.Contains(p.Text, "record "+itoa(id)+" is private: its text is shown only to those who may read its package") ||
			strings.Contains(p.Text, "secret") {
			t.Errorf("proof of the private record by %s: %d %q", who, p.StatusCode, p.Text)
		}
		if err := env.Registry.CanReadRecord(access.WithPrincipal(ctx, nil), id); err == nil {
			t.Errorf("CanReadRecord(anonymous) allowed the private record")
		}
	}

	// Entry bundles: redacted for everyone, the reader included.
	n := l.Latest().Tree.N
	bundle := translog.TilePath(tlog.Tile{H: translog.TileHeight, L: -1, N: 0, W: int(n)})
	for _, tok := range []string{"", reader} {
		r := get(bundle, tok)
		got, err := translog.ParseBundle([]byte(r.Text))
		if r.StatusCode != 200 || err != nil || int64(len(got)) != n || string(got[id]) != string(translog.Redact(full)) || strings.Contains(r.Text, "secret-lib") {
			t.Errorf("entry bundle (token %v): %d, %v: want record %d as its placeholder", tok != "", r.StatusCode, err, id)
		}
	}

	// The reader gets the full texts, and they prove against the tree.
	r := get("lookup/npm/secret-lib/1.0.0", reader)
	var lr translog.LookupResponse
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.Text), &lr) != nil || len(lr.Records) == 0 || lr.Records[0].Text != string(full) {
		t.Fatalf("lookup by the reader: %d %q", r.StatusCode, r.Text)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Errorf("lookup by the reader: Cache-Control %q, want private, no-cache", cc)
	}
	ops := &logclient.HTTPOps{Base: env.URL + "/log/", Dir: t.TempDir(), Token: reader}
	c, err := logclient.New(ops, vkey)
	if err != nil {
		t.Fatal(err)
	}
	q := logclient.Query{Ecosystem: "npm", Name: "secret-lib", Version: "1.0.0"}
	if rel, err := c.Lookup(q); err != nil || rel.Records[0].ID != id {
		t.Fatalf("the reader's verified lookup = %v, %v", rel, err)
	}
	a, err := c.Audit(nil)
	if err != nil || a.Private == 0 {
		t.Errorf("Audit = %+v, %v; want private records counted", a, err)
	}
	v, _ := note.NewVerifier(vkey)
	if p := get("proof/"+itoa(id), reader); p.StatusCode != 200 {
		t.Errorf("proof for the reader: %d %q", p.StatusCode, p.Text)
	} else if op, err := translog.OpenProof([]byte(p.Text), v, nil); err != nil || string(op.Text) != string(full) {
		t.Errorf("the reader's proof does not check: %v", err)
	}

	// Made public, the package's earlier records are revealed to all.
	if err := env.Registry.SetPrivate(ctx, servertest.Principal(alice), trove.NPM, "secret-lib", false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	anon := &logclient.HTTPOps{Base: env.URL + "/log/", Dir: t.TempDir()}
	c, _ = logclient.New(anon, vkey)
	rel, err := c.Lookup(q)
	if err != nil || rel.Records[0].ID != id || string(rel.Records[0].Text) != string(full) {
		t.Fatalf("anonymous verified lookup after the reveal = %v, %v", rel, err)
	}
	if p := get("proof/"+itoa(id), ""); p.StatusCode != 200 {
		t.Errorf("anonymous proof after the reveal: %d %q", p.StatusCode, p.Text)
	}
}
