package goproxy

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

func TestProxyReads(t *testing.T) {
	e := newTestEnv(t)
	z1, mod1 := e.publish(t, modA, "v1.0.0")
	e.publish(t, modA, "v1.1.0-rc.1")
	z2, _ := e.publish(t, modA, "v1.1.0")
	e.publish(t, modA, "v0.0.0-20240102030405-abcdefabcdef")

	r := e.get(t, "/example.test/liba/@v/list")
	if r.StatusCode != 200 || r.body != "v1.0.0\nv1.1.0-rc.1\nv1.1.0\n" {
		t.Errorf("list: %s %q, want the three non-pseudo versions in order", r.Status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("list Content-Type %q", ct)
	}

	r = e.get(t, "/example.test/liba/@v/v1.0.0.info")
	var info Info
	if err := json.Unmarshal([]byte(r.body), &info); err != nil || r.StatusCode != 200 {
		t.Fatalf("info: %s %s: %v", r.Status, r.body, err)
	}
	if info.Version != "v1.0.0" || time.Since(info.Time) > time.Minute {
		t.Errorf("info = %+v, want v1.0.0 published just now", info)
	}

	if r := e.get(t, "/example.test/liba/@v/v1.0.0.mod"); r.StatusCode != 200 || r.body != string(mod1) {
		t.Errorf("mod: %s %q, want %q", r.Status, r.body, mod1)
	}
	r = e.get(t, "/example.test/liba/@v/v1.0.0.zip")
	if r.StatusCode != 200 || r.body != string(z1) || r.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("zip: %s, %d bytes, headers %v; want the uploaded zip, immutable", r.Status, len(r.body), r.Header)
	}

	r = e.get(t, "/example.test/liba/@latest")
	if err := json.Unmarshal([]byte(r.body), &info); err != nil || info.Version != "v1.1.0" {
		t.Errorf("@latest: %s %s, want v1.1.0", r.Status, r.body)
	}

	// Yanked: out of list and @latest, still downloadable.
	who := principal(e.alice)
	ctx := context.Background()
	if err := e.Registry.Yank(ctx, who, trove.Target{Ecosystem: trove.Go, Name: modA, Version: "v1.1.0"}, "broken"); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, "/example.test/liba/@v/list"); r.body != "v1.0.0\nv1.1.0-rc.1\n" {
		t.Errorf("list after yank: %q", r.body)
	}
	if r := e.get(t, "/example.test/liba/@latest"); !strings.Contains(r.body, `"v1.0.0"`) {
		t.Errorf("@latest after yank: %s, want v1.0.0 (a release beats a pre-release)", r.body)
	}
	if r := e.get(t, "/example.test/liba/@v/v1.1.0.zip"); r.StatusCode != 200 || r.body != string(z2) {
		t.Errorf("zip of a yanked version: %s, want it served", r.Status)
	}
	if r := e.get(t, "/example.test/liba/@v/v1.1.0.info"); r.StatusCode != 200 {
		t.Errorf("info of a yanked version: %s", r.Status)
	}

	// Deleted: 410 Gone. Unknown: 404.
	if err := e.Registry.Delete(ctx, who, trove.Target{Ecosystem: trove.Go, Name: modA, Version: "v1.0.0"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/example.test/liba/@v/v1.0.0.info", "/example.test/liba/@v/v1.0.0.mod", "/example.test/liba/@v/v1.0.0.zip"} {
		if r := e.get(t, p); r.StatusCode != http.StatusGone || !strings.Contains(r.body, "deleted") {
			t.Errorf("GET %s of a deleted version: %s %s, want 410", p, r.Status, r.body)
		}
	}
	if r := e.get(t, "/example.test/liba/@v/list"); r.body != "v1.1.0-rc.1\n" {
		t.Errorf("list after delete: %q", r.body)
	}
	for _, p := range []string{"/example.test/liba/@v/v9.0.0.info", "/example.test/liba/@v/v1.9.0.zip", "/example.test/liba/@v/v1.9.0.mod",
		"/example.test/none/@v/list", "/example.test/none/@latest", "/example.test/none/@v/v1.0.0.info", "/example.test/@v/list",
		"/example.test/liba/@v/main.info", "/nodot/@v/list"} {
		if r := e.get(t, p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s %s, want 404", p, r.Status, r.body)
		}
	}
	if r := e.get(t, "/example.test/LibA/@v/list"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("GET of a path that is not case-encoded: %s, want 400", r.Status)
	}
	req, _ := http.NewRequest("PUT", e.url+"/example.test/liba/@v/list", nil)
	if r := do(t, req); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT list: %s, want 405", r.Status)
	}
}

func TestProxyCaseEncoded(t *testing.T) {
	e := newTestEnv(t)
	mod := "example.test/BurntSushi/Toml"
	_, gomod := e.publish(t, mod, "v1.0.0-RC1")
	if r := e.get(t, "/example.test/!burnt!sushi/!toml/@v/list"); r.body != "v1.0.0-RC1\n" {
		t.Errorf("list: %s %q", r.Status, r.body)
	}
	if r := e.get(t, "/example.test/!burnt!sushi/!toml/@v/v1.0.0-!r!c1.mod"); r.StatusCode != 200 || r.body != string(gomod) {
		t.Errorf("mod: %s %q", r.Status, r.body)
	}
	if r := e.get(t, "/example.test/burntsushi/toml/@v/list"); r.StatusCode != 404 {
		t.Errorf("list of the lowercased path: %s, want 404", r.Status)
	}
}

// TestProxyQuarantinedVersion: a version an administrator quarantines
// leaves the list and @latest, and its .info, .mod and .zip answer 404
// (not 410: it may come back); released, it is served again.
func TestProxyQuarantinedVersion(t *testing.T) {
	e := newTestEnv(t)
	e.publish(t, modA, "v1.0.0")
	z2, _ := e.publish(t, modA, "v1.1.0")
	root := e.User(t, "root", true)
	admin := &access.Principal{UserID: root.ID, UserName: "root", Admin: true, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	ctx := context.Background()
	v11 := trove.Target{Ecosystem: trove.Go, Name: modA, Version: "v1.1.0"}
	if err := e.Registry.Quarantine(ctx, admin, v11, "reported"); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, "/example.test/liba/@v/list"); r.body != "v1.0.0\n" {
		t.Errorf("list with v1.1.0 quarantined: %q", r.body)
	}
	if r := e.get(t, "/example.test/liba/@latest"); !strings.Contains(r.body, `"v1.0.0"`) {
		t.Errorf("@latest with v1.1.0 quarantined: %s, want v1.0.0", r.body)
	}
	for _, p := range []string{"/example.test/liba/@v/v1.1.0.info", "/example.test/liba/@v/v1.1.0.mod", "/example.test/liba/@v/v1.1.0.zip"} {
		if r := e.get(t, p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s of a quarantined version: %s %s, want 404", p, r.Status, r.body)
		}
	}
	if err := e.Registry.ReleaseReported(ctx, admin, v11, "fine"); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, "/example.test/liba/@v/v1.1.0.zip"); r.StatusCode != 200 || r.body != string(z2) {
		t.Errorf("zip after the release: %s", r.Status)
	}
	if r := e.get(t, "/example.test/liba/@latest"); !strings.Contains(r.body, `"v1.1.0"`) {
		t.Errorf("@latest after the release: %s, want v1.1.0", r.body)
	}
}
