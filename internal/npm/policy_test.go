package npm

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// principal returns the principal of an existing user's every-package token.
func (e *env) principal(name string) *access.Principal {
	e.t.Helper()
	u, err := e.Users.ByName(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return servertest.Principal(u)
}

// logSize returns the number of records in the transparency log.
func (e *env) logSize() int64 {
	e.t.Helper()
	n, err := e.DB.LogSize(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// lastRecord returns the text of the newest log record.
func (e *env) lastRecord() string {
	e.t.Helper()
	recs, err := e.DB.ReadLogRecords(ctx, e.logSize()-1, 1)
	if err != nil || len(recs) != 1 {
		e.t.Fatalf("reading the last log record: %v", err)
	}
	return string(recs[0])
}

func distTags(t *testing.T, e *env, name string) map[string]any {
	t.Helper()
	return do(t, "GET", e.reg+"/-/package/"+escapeName(trove.Name(name))+"/dist-tags", "", nil).want(t, http.StatusOK).json(t)
}

func TestLatestNeverYanked(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0-rc.1"} {
		e.publish(tok, pkgJSONOf("demo", v, nil))
	}
	do(t, "PUT", e.reg+"/-/package/demo/dist-tags/latest", tok, `"1.1.0"`).want(t, http.StatusOK)
	alice := e.principal("alice")
	target := trove.Target{Ecosystem: trove.NPM, Name: "demo", Version: "1.1.0"}
	if err := e.Registry.Yank(ctx, alice, target, "broken"); err != nil {
		t.Fatal(err)
	}
	if got := distTags(t, e, "demo")["latest"]; got != "1.0.0" {
		t.Errorf("latest after yanking the version it pointed at = %v, want 1.0.0", got)
	}
	if rec := e.lastRecord(); !strings.Contains(rec, "yank npm demo 1.1.0\n") || !strings.Contains(rec, "tag latest 1.0.0\n") {
		t.Errorf("yank record does not show latest moving:\n%s", rec)
	}
	r := do(t, "PUT", e.reg+"/-/package/demo/dist-tags/beta", tok, `"1.1.0"`).want(t, http.StatusBadRequest)
	if !strings.Contains(r.errorText(), "yanked") {
		t.Errorf("tagging a yanked version: %q", r.errorText())
	}
	// Yank everything that is not a prerelease: latest goes to the prerelease.
	target.Version = "1.0.0"
	if err := e.Registry.Yank(ctx, alice, target, ""); err != nil {
		t.Fatal(err)
	}
	if got := distTags(t, e, "demo")["latest"]; got != "2.0.0-rc.1" {
		t.Errorf("latest with only a prerelease left = %v, want 2.0.0-rc.1", got)
	}
	// Nothing left: no latest at all, rather than a yanked one.
	target.Version = "2.0.0-rc.1"
	if err := e.Registry.Yank(ctx, alice, target, ""); err != nil {
		t.Fatal(err)
	}
	if got, ok := distTags(t, e, "demo")["latest"]; ok {
		t.Errorf("latest with every version yanked = %v, want none", got)
	}
	if got, ok := get(e.packument("demo"), "dist-tags").(map[string]any)["latest"]; ok {
		t.Errorf("packument latest with every version yanked = %v, want none", got)
	}
	// Unyanking brings latest back.
	target.Version = "1.0.0"
	if err := e.Registry.Unyank(ctx, alice, target); err != nil {
		t.Fatal(err)
	}
	if got := distTags(t, e, "demo")["latest"]; got != "1.0.0" {
		t.Errorf("latest after unyanking 1.0.0 = %v, want 1.0.0", got)
	}
}

func TestFreeTextLimits(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("demo", "1.0.0", nil))
	before := e.logSize()
	doc := e.writeDoc("demo")
	get(doc, "versions", "1.0.0").(map[string]any)["deprecated"] = strings.Repeat("x", 4097)
	r := do(t, "PUT", e.reg+"/demo", tok, doc).want(t, http.StatusBadRequest)
	if !strings.Contains(r.errorText(), "4096") {
		t.Errorf("overlong deprecation: %q", r.errorText())
	}
	do(t, "PUT", e.reg+"/-/package/demo/dist-tags/"+strings.Repeat("t", 129), tok, `"1.0.0"`).want(t, http.StatusBadRequest)
	alice := e.principal("alice")
	err := e.Registry.Yank(ctx, alice, trove.Target{Ecosystem: trove.NPM, Name: "demo", Version: "1.0.0"}, strings.Repeat("é", 600))
	if !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), "1024") {
		t.Errorf("overlong yank reason = %v, want ErrInvalid naming the limit", err)
	}
	if e.logSize() != before {
		t.Errorf("refused changes wrote %d log records", e.logSize()-before)
	}
}

func TestUnpublishWithDependents(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("base", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("base", "1.1.0", nil))
	e.publish(e.userToken("bob"), pkgJSONOf("app", "1.0.0", map[string]any{"dependencies": map[string]any{"base": "^1.0.0"}}))
	before := e.logSize()

	// One request deprecating 1.0.0 and unpublishing 1.1.0: the refused
	// unpublish leaves the deprecation unapplied too.
	doc := e.writeDoc("base")
	delete(doc["versions"].(map[string]any), "1.1.0")
	get(doc, "versions", "1.0.0").(map[string]any)["deprecated"] = "use 2"
	doc["dist-tags"] = map[string]any{"latest": "1.0.0"}
	r := do(t, "PUT", e.reg+"/base/-rev/"+doc["_rev"].(string), tok, doc).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "dependency of other packages (app)") {
		t.Errorf("unpublishing a dependency: %q", r.errorText())
	}
	if e.logSize() != before {
		t.Errorf("a refused batch wrote %d log records", e.logSize()-before)
	}
	if d := get(e.packument("base"), "versions", "1.0.0", "deprecated"); d != nil {
		t.Errorf("a refused batch deprecated 1.0.0: %v", d)
	}
	// An administrator may, with a reason that goes into the log.
	root := admin(e)
	target := trove.Target{Ecosystem: trove.NPM, Name: "base", Version: "1.1.0"}
	if err := e.Registry.Delete(ctx, root, target, ""); !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), "give a reason") {
		t.Errorf("administrator deleting a dependency without a reason = %v, want ErrInvalid asking for one", err)
	}
	if err := e.Registry.Delete(ctx, root, target, "malware report 42"); err != nil {
		t.Fatal(err)
	}
	if rec := e.lastRecord(); !strings.Contains(rec, "delete npm base 1.1.0\n") || !strings.Contains(rec, `reason "malware report 42"`) {
		t.Errorf("delete record:\n%s", rec)
	}
	// A version outside every dependent's range is the owner's to delete.
	e.publish(tok, pkgJSONOf("base", "2.0.0", nil))
	if err := e.Registry.Delete(ctx, e.principal("alice"), trove.Target{Ecosystem: trove.NPM, Name: "base", Version: "2.0.0"}, ""); err != nil {
		t.Errorf("deleting base 2.0.0, which app's ^1.0.0 does not take: %v", err)
	}
	// A package nobody depends on may be unpublished by its owner, in one
	// batch: one record per version, all applied.
	e.publish(tok, pkgJSONOf("lone", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("lone", "1.1.0", nil))
	before = e.logSize()
	doc = e.writeDoc("lone")
	do(t, "DELETE", e.reg+"/lone/-rev/"+doc["_rev"].(string), tok, nil).want(t, http.StatusOK)
	if got := e.logSize() - before; got != 2 {
		t.Errorf("unpublishing two versions wrote %d records, want 2", got)
	}
}

// TestLogoutRevokesItself checks that any token may revoke itself (npm
// logout), while revoking another token needs the tokens action.
func TestLogoutRevokesItself(t *testing.T) {
	e := newEnv(t, nil)
	u := e.User(t, "alice", false)
	ro, other := e.Token(t, u, nil, access.Read), e.Token(t, u, nil, access.Read)
	do(t, "DELETE", e.reg+"/-/user/token/"+other, ro, nil).want(t, http.StatusForbidden)
	do(t, "DELETE", e.reg+"/-/user/token/"+ro, ro, nil).want(t, http.StatusOK)
	do(t, "GET", e.reg+"/-/whoami", ro, nil).want(t, http.StatusUnauthorized)
	do(t, "GET", e.reg+"/-/whoami", other, nil).want(t, http.StatusOK)
}
