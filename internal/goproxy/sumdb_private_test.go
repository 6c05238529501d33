package goproxy

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/translog"
)

// authOps is clientOps sending a token as the go command sends .netrc
// credentials to its proxy (HTTP Basic).
type authOps struct {
	*clientOps
	token string
}

func (c *authOps) ReadRemote(path string) ([]byte, error) {
	req, err := http.NewRequest("GET", strings.TrimSuffix(c.base, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.SetBasicAuth("x", c.token)
	}
	r := do(c.t, req)
	if r.StatusCode != 200 {
		return nil, &httpError{r.StatusCode, r.body}
	}
	return []byte(r.body), nil
}

// TestSumdbPrivateModule: the checksum database answers for a private
// module's version only to those who may read it (anyone else gets the
// answer of an unknown module), serves its records redacted in data
// tiles to everyone, and once the module is made public serves the full
// records, which prove against the leaves already in the tree.
func TestSumdbPrivateModule(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.publish(t, modA, "v1.0.0")
	if err := e.Registry.SetPrivate(ctx, principal(e.alice), "go", modA, true); err != nil {
		t.Fatal(err)
	}
	e.publish(t, modA, "v1.1.0") // a salted publish record
	entries, err := e.Registry.LogEntries(ctx, "go", modA, "v1.1.0")
	if err != nil || len(entries) == 0 {
		t.Fatalf("LogEntries(operator) = %v, %v", entries, err)
	}
	id := entries[0].ID
	recs, _ := e.DB.ReadLogRecords(ctx, id, 1)
	full := recs[0]
	if !translog.IsPrivate(full) {
		t.Fatalf("record %d of the private module is not salted:\n%s", id, full)
	}
	mallory := e.User(t, "mallory", false)
	strangerTok := e.Token(t, mallory, nil)
	readerTok := e.Token(t, e.alice, nil, access.Read) // no read-private

	base := e.url + "/sumdb/" + logName + "/"
	lookup := func(token, mod, v string) response {
		req, _ := http.NewRequest("GET", base+"lookup/"+mod+"@"+v, nil)
		if token != "" {
			req.SetBasicAuth("x", token)
		}
		return do(t, req)
	}
	unknown := lookup("", "example.test/nowhere", "v1.1.0")
	if unknown.StatusCode != http.StatusNotFound {
		t.Fatalf("lookup of an unknown module: %s %q", unknown.Status, unknown.body)
	}
	for who, tok := range map[string]string{"anonymous": "", "a stranger": strangerTok, "an owner's token without read-private": readerTok} {
		for _, v := range []string{"v1.0.0", "v1.1.0"} {
			r := lookup(tok, modA, v)
			want := strings.ReplaceAll(unknown.body, "example.test/nowhere@v1.1.0", modA+"@"+v)
			if r.StatusCode != unknown.StatusCode || r.body != want {
				t.Errorf("lookup of private %s@%s by %s: %s %q; want %s %q, as for an unknown module", modA, v, who, r.Status, r.body, unknown.Status, want)
			}
		}
	}

	// The owner's go command (its .netrc credentials) verifies it.
	owner := &authOps{clientOps: &clientOps{t: t, base: base, vkey: e.vkey, config: map[string][]byte{}, cache: map[string][]byte{}}, token: e.token}
	if lines, err := sumdb.NewClient(owner).Lookup(modA, "v1.1.0"); err != nil || len(lines) != 1 || !strings.Contains(string(full), lines[0]) {
		t.Fatalf("owner's Lookup(%s, v1.1.0) = %q, %v", modA, lines, err)
	}
	if r := lookup(e.token, modA, "v1.1.0"); r.StatusCode != 200 || r.Header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("owner's lookup: %s, Cache-Control %q; want 200, private, no-cache", r.Status, r.Header.Get("Cache-Control"))
	}

	// Data tiles hold the private records redacted, whoever asks.
	n := e.log.Latest().Tree.N
	data := tlog.Tile{H: 8, L: -1, N: 0, W: int(n)}
	for _, tok := range []string{"", e.token} {
		req, _ := http.NewRequest("GET", base+data.Path(), nil)
		if tok != "" {
			req.SetBasicAuth("x", tok)
		}
		r := do(t, req)
		leaf := tlog.RecordHash(full)
		if r.StatusCode != 200 || strings.Contains(r.body, "v1.1.0") || !strings.Contains(r.body, string(translog.Placeholder(leaf))) {
			t.Errorf("data tile (token %v): %s\n%s\nwant record %d as its placeholder", tok != "", r.Status, r.body, id)
		}
	}

	// Made public, the module's records are revealed: the full text is
	// served and proves against the leaf the tree has held all along.
	if err := e.Registry.SetPrivate(ctx, principal(e.alice), "go", modA, false); err != nil {
		t.Fatal(err)
	}
	e.sign(t)
	r := lookup("", modA, "v1.1.0")
	if r.StatusCode != 200 || !strings.HasPrefix(r.body, fmt.Sprintf("%d\n%s\n", id, full)) {
		t.Fatalf("lookup after making the module public: %s %q; want record %d in full", r.Status, r.body, id)
	}
	anon := &clientOps{t: t, base: base, vkey: e.vkey, config: map[string][]byte{}, cache: map[string][]byte{}}
	if lines, err := sumdb.NewClient(anon).Lookup(modA, "v1.1.0"); err != nil || len(lines) != 1 {
		t.Errorf("anonymous Lookup after the reveal = %q, %v", lines, err)
	}
}
