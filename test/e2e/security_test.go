//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSecurityTxt: a running trove serve publishes its operator's
// security contact at /.well-known/security.txt (RFC 9116) from its
// configuration; an instance on loopback without one names the machine's
// administrator; and one reachable from elsewhere refuses to start without
// a contact.
func TestSecurityTxt(t *testing.T) {
	get := func(url string) (string, string) {
		t.Helper()
		resp, err := http.Get(url + "/.well-known/security.txt")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("security.txt: %s\n%s", resp.Status, b)
		}
		return string(b), resp.Header.Get("Content-Type")
	}
	expires := time.Now().AddDate(0, 6, 0).UTC().Format("2006-01-02T00:00:00Z")
	tr := startTrove(t, "TROVE_SECURITY_CONTACT=mailto:security@example.test,https://example.test/report",
		"TROVE_SECURITY_EXPIRES="+expires, "TROVE_SECURITY_POLICY=https://example.test/disclosure", "TROVE_SECURITY_PREFERRED_LANGUAGES=en, fr")
	body, ctype := get(tr.URL)
	if ctype != "text/plain; charset=utf-8" {
		t.Errorf("security.txt Content-Type = %q", ctype)
	}
	wantOutput(t, "security.txt", body, "Contact: mailto:security@example.test\nContact: https://example.test/report\n",
		"Expires: "+expires+"\n", "Policy: https://example.test/disclosure\n", "Preferred-Languages: en, fr\n",
		"Canonical: "+tr.URL+"/.well-known/security.txt\n")

	body, _ = get(startTrove(t).URL)
	wantOutput(t, "default security.txt", body, "Contact: mailto:root@localhost\n", "Expires: ")

	// A public base URL without a contact: refused before listening.
	out, err := exec.Command(troveBin, "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--base-url", "https://packages.example.test").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "security.contact: required when base_url (https://packages.example.test) is not a loopback address") {
		t.Errorf("trove serve with a public base URL and no contact: %v\n%s", err, out)
	}
}

// TestNPMMaintainerEmails: npm view shows maintainers and the publisher by
// name only, until the user opts in to a public address.
func TestNPMMaintainerEmails(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	npm.must(writePackage(t, libFiles("1.0.0")), "publish")
	dir := t.TempDir()
	view := func(field string) string {
		npm.freshCache()
		return strings.TrimSpace(npm.must(dir, "view", "@acme/lib", field))
	}
	if got := view("maintainers"); got != "alice" {
		t.Errorf("npm view maintainers = %q, want alice (no address)", got)
	}
	if got := view("_npmUser"); got != "alice" {
		t.Errorf("npm view _npmUser = %q, want alice (no address)", got)
	}
	if out := npm.must(dir, "search", "--json", "acme"); strings.Contains(out, "@example.test") {
		t.Errorf("npm search shows an address: %s", out)
	}

	tr.trove(t, "", "admin", "user", "set", "alice", "--public-email")
	deadline := time.Now().Add(20 * time.Second)
	for view("maintainers") != "alice <alice@example.test>" {
		if time.Now().After(deadline) {
			t.Fatalf("npm view maintainers = %q after alice made her address public, want alice <alice@example.test>", view("maintainers"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := view("_npmUser"); got != "alice <alice@example.test>" {
		t.Errorf("npm view _npmUser = %q after opting in", got)
	}
}

// TestNPMTokenExpiry: tokens npm creates expire, by default after the
// registry's default lifetime, never beyond its maximum.
func TestNPMTokenExpiry(t *testing.T) {
	tr := startTrove(t, "TROVE_TOKENS_DEFAULT_LIFETIME=14d", "TROVE_TOKENS_MAX_LIFETIME=60d")
	alice(t, tr)
	npm := newNPM(t, tr, tr.Token(t, "alice", "*", "read,publish,tokens"))
	dir := t.TempDir()
	// wantExpiry checks the day npm shows, which may be the next one if
	// midnight passed while npm ran.
	wantExpiry := func(what string, days int, args ...string) {
		t.Helper()
		before := time.Now().UTC()
		out := npm.must(dir, append([]string{"token", "create", "--password", Password}, args...)...)
		after := time.Now().UTC()
		if !strings.Contains(out, "expires: "+before.AddDate(0, 0, days).Format("2006-01-02")) &&
			!strings.Contains(out, "expires: "+after.AddDate(0, 0, days).Format("2006-01-02")) {
			t.Errorf("%s: want an expiry %d days ahead:\n%s", what, days, out)
		}
	}
	wantExpiry("npm token create", 14)
	wantExpiry("npm token create --expires 30", 30, "--expires", "30")
	out := npm.mustFail(dir, "token", "create", "--password", Password, "--expires", "61")
	wantOutput(t, "npm token create --expires 61", out, "a token may last at most 60 days on this registry")
	var list []map[string]any
	if err := json.Unmarshal([]byte(npm.must(dir, "token", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if s, _ := tok["expires"].(string); s == "" {
			t.Errorf("npm token list shows a token without expiry: %v", tok)
		}
	}
}
