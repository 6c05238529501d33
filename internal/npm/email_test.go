package npm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// TestEmailsPrivate: maintainers' and publishers' addresses are not
// public. Packuments, search results, whoami and user lookups name users
// only, until a user opts in; then their address appears beside their
// name (and only theirs) on every replica once the change feed is read.
func TestEmailsPrivate(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob := e.userToken("alice"), e.userToken("bob")
	e.publish(alice, pkgJSONOf("demo", "1.0.0", map[string]any{"description": "demo things"}))
	e.ownerChange(alice, "bob", "demo", true).want(t, http.StatusOK)

	bodies := func() map[string]string {
		out := map[string]string{}
		for what, r := range map[string]response{
			"full packument":        do(t, "GET", e.reg+"/demo", "", nil),
			"abbreviated packument": do(t, "GET", e.reg+"/demo", "", nil, "Accept", typeAbbreviated),
			"search":                do(t, "GET", e.reg+"/-/v1/search?text=demo", "", nil),
			"whoami":                do(t, "GET", e.reg+"/-/whoami", bob, nil),
			"user lookup":           do(t, "GET", e.reg+"/-/user/org.couchdb.user:alice", bob, nil),
		} {
			out[what] = string(r.want(t, http.StatusOK).body)
		}
		return out
	}
	for what, body := range bodies() {
		if strings.Contains(body, "@example.test") {
			t.Errorf("%s shows an email address: %s", what, body)
		}
	}

	// alice opts in, from another process (trove admin user set): this
	// server hears of it through the change feed.
	ctx, cancel := context.WithCancel(context.Background())
	follow := make(chan error, 1)
	go func() { follow <- e.Registry.Follow(ctx) }()
	defer func() { cancel(); <-follow }()
	// Follow starts reading at the feed's end, at a moment this test
	// cannot see: opting in again adds new changes until one is read.
	deadline := time.Now().Add(10 * registry.FollowInterval)
	for !strings.Contains(bodies()["full packument"], "alice@example.test") {
		if time.Now().After(deadline) {
			t.Fatalf("alice's public address is not in the packument after %v", 10*registry.FollowInterval)
		}
		if _, err := e.Users.SetPublicEmail(context.Background(), "alice", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(registry.FollowInterval / 4)
	}
	full := e.packument("demo")
	want := map[string]any{"name": "alice", "email": "alice@example.test"}
	if m := full["maintainers"].([]any); len(m) != 2 || !equalJSON(m[0], want) || !equalJSON(m[1], map[string]any{"name": "bob"}) {
		t.Errorf("maintainers = %v, want alice with her address and bob without his", m)
	}
	if u := get(full, "versions", "1.0.0", "_npmUser"); !equalJSON(u, want) {
		t.Errorf("_npmUser = %v, want %v", u, want)
	}
	for what, body := range bodies() {
		if strings.Contains(body, "bob@example.test") {
			t.Errorf("%s shows bob's private address: %s", what, body)
		}
	}
	if !strings.Contains(bodies()["search"], `"publisher":{"username":"alice","email":"alice@example.test"}`) {
		t.Errorf("search result does not show alice's public address: %s", bodies()["search"])
	}
}

// TestStoredEmailsNotServed: manifests stored before addresses became
// private carry the publisher's address; it is not served.
func TestStoredEmailsNotServed(t *testing.T) {
	h := New(Options{BaseURL: "http://127.0.0.1/npm"})
	proj := &registry.Project{Package: &trove.Package{Ecosystem: trove.NPM, Name: "old"},
		Files: []*trove.File{{ReleaseID: 1, Filename: "old-1.0.0.tgz"}}}
	rel := &trove.Release{ID: 1, Version: "1.0.0", Metadata: []byte(`{"name":"old","version":"1.0.0",
		"_npmUser":{"name":"alice","email":"alice@example.test"},
		"maintainers":[{"name":"alice","email":"alice@example.test"},{"name":"bob","email":"bob@example.test"}],
		"author":{"name":"Alice","email":"author@example.org"}}`)}
	doc, err := h.versionDoc(proj, rel, map[string]string{"bob": "bob@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc)
	if strings.Contains(string(b), "alice@example.test") {
		t.Errorf("a stored private address is served: %s", b)
	}
	if !strings.Contains(string(b), `{"name":"bob","email":"bob@example.test"}`) {
		t.Errorf("bob's public address is not served: %s", b)
	}
	// The package's own author field is the author's choice, not an account's.
	if !strings.Contains(string(b), "author@example.org") {
		t.Errorf("the author field from package.json was changed: %s", b)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
