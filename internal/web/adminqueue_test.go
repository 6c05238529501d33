package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// holdScanner holds every upload of a package whose name starts "held-".
type holdScanner struct{}

func (holdScanner) Name() string { return "holds" }
func (holdScanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	if strings.HasPrefix(a.Name, "held-") {
		return []scan.Finding{{Rule: "test", File: "package/install.js", Line: 2, Message: "pipes a download into a shell", Verdict: scan.Hold}}, nil
	}
	return nil, nil
}

// queueSite is a site with a registry that holds "held-" packages, and
// an audit log; auth is the registry's MFA policy (the test's
// administrator signs in with a password alone).
func queueSite(t *testing.T, auth trove.AuthLevel) (*site, *catalog) {
	t.Helper()
	db := dbtest.Open(t)
	c := newCatalog(t, db)
	reg, err := registry.New(registry.Config{DB: db, Blobs: memblob.New(), Rules: []registry.Rules{npm.Rules{}, pypi.Rules{}},
		TempDir: filepath.Join(t.TempDir(), "tmp"), Scan: scan.NewPipeline(holdScanner{}),
		PublishAuth: auth})
	if err != nil {
		t.Fatal(err)
	}
	c.reg = reg
	s := newSiteOn(t, db, func(o *Options) { o.Registry, o.Pages = reg, page.NewCache(1<<20) })
	s.h.o.Audit, s.h.o.AuditLog = audit.New(db, s.clock.now), db
	return s, c
}

// report files a report of the target as user.
func report(t *testing.T, c *catalog, user *trove.User, eco trove.Ecosystem, name, version, reason string) {
	t.Helper()
	who := &access.Principal{UserID: user.ID, UserName: user.Name, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	if err := c.reg.Report(context.Background(), who, registry.ReportInput{Target: trove.Target{Ecosystem: eco, Name: name, Version: version},
		Category: "malicious", Reason: reason}); err != nil {
		t.Fatal(err)
	}
}

// hold uploads an npm release the registry holds for review (the name
// starts "held-").
func hold(t *testing.T, c *catalog, name, version string) {
	t.Helper()
	st, err := c.reg.Stage(strings.NewReader(name+version), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = c.reg.Publish(context.Background(), c.alice, &registry.Upload{Ecosystem: "npm", Name: name, Version: version, Metadata: []byte(`{}`),
		Tags: []string{"latest"}, Files: []registry.UploadFile{{Filename: name + "-" + version + ".tgz", Kind: "tarball", Content: st}}})
	if !errors.Is(err, trove.ErrHeld) {
		t.Fatalf("publishing %s %s = %v, want held", name, version, err)
	}
}

// TestAdminQueueRefusals: the queue and its actions refuse an anonymous
// visitor (to the sign-in), a signed-in user (403) and an administrator
// out of sudo (to the sudo page), as the other admin pages do, and an
// action refused changes nothing.
func TestAdminQueueRefusals(t *testing.T) {
	s, c := queueSite(t, trove.AuthPassword)
	c.publish(t, "npm", "lib", "1.0.0", map[string]any{"description": "lib"})
	report(t, c, s.alice, "npm", "lib", "1.0.0", "index.js:3 posts ~/.npmrc")
	dismiss := url.Values{"ecosystem": {"npm"}, "name": {"lib"}, "version": {"1.0.0"}, "reason": {"fine"}}
	remove := url.Values{"ecosystem": {"npm"}, "name": {"lib"}, "version": {"1.0.0"}, "reason": {"bad"}, "confirm": {"lib"}, "malicious": {"1"}}
	try := func(b *browser, who string, want func(*http.Response) bool) {
		t.Helper()
		for _, p := range []string{"/-/admin/queue", "/-/admin/queue/remove?ecosystem=npm&name=lib&version=1.0.0"} {
			if resp, body := b.get(p); !want(resp) || strings.Contains(body, "index.js:3 posts") {
				t.Errorf("GET %s as %s: %d %s", p, who, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		for p, f := range map[string]url.Values{"/-/admin/queue/dismiss": dismiss, "/-/admin/queue/remove": remove} {
			if resp, _ := b.post(p, f); !want(resp) {
				t.Errorf("POST %s as %s: %d %s", p, who, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
	to := func(prefix string) func(*http.Response) bool {
		return func(resp *http.Response) bool {
			return resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), prefix)
		}
	}
	anon := s.browser()
	for _, p := range []string{"/-/admin/queue", "/-/admin/queue/remove?ecosystem=npm&name=lib&version=1.0.0"} {
		if resp, body := anon.get(p); !to("/-/signin")(resp) || strings.Contains(body, "index.js:3 posts") {
			t.Errorf("GET %s anonymously: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for p, f := range map[string]url.Values{"/-/admin/queue/dismiss": dismiss, "/-/admin/queue/remove": remove} {
		if resp, _ := anon.post(p, f); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s anonymously: %d", p, resp.StatusCode)
		}
	}
	alice := s.browser()
	alice.signIn("alice", alicePassword)
	try(alice, "a user", func(resp *http.Response) bool { return resp.StatusCode == http.StatusForbidden })
	root := s.browser()
	root.signIn("root", rootPassword)
	s.clock.advance(11 * time.Minute)
	try(root, "an administrator out of sudo", to("/-/sudo"))

	rootP := &access.Principal{UserID: s.root.ID, UserName: "root", Admin: true, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	q, err := c.reg.Queue(context.Background(), rootP)
	if err != nil || len(q.Reports) != 1 {
		t.Fatalf("after the refusals, the queue = %+v, %v; want the report still open", q, err)
	}
	if v, err := c.reg.View(context.Background(), "npm", "lib"); err != nil || v.Releases[0].State != trove.Published {
		t.Fatalf("after the refusals, the release: %v", err)
	}
}

// TestAdminQueue: a report made through registry.Report and a held
// upload show on the queue page, linked from the users page; removing a
// release as malicious through the confirmed form tombstones it, closes
// its reports and makes an OSV advisory; dismissing closes the reports
// and leaves the release; a held upload is released (published) or
// rejected (discarded). Bad input is a 400 page that says what to change,
// and changes nothing; each action is in the audit log on its target.
func TestAdminQueue(t *testing.T) {
	s, c := queueSite(t, trove.AuthPassword)
	ctx := context.Background()
	bob := addUser(t, s.db, "bob", alicePassword, false)
	c.publish(t, "npm", "evil", "1.0.0", map[string]any{"description": "evil"})
	c.publish(t, "npm", "evil", "1.0.1", map[string]any{"description": "evil"})
	c.publish(t, "npm", "fine", "2.0.0", map[string]any{"description": "fine"})
	report(t, c, s.alice, "npm", "evil", "1.0.1", "postinstall sends ~/.npmrc to a remote host")
	report(t, c, bob, "npm", "evil", "1.0.1", "install.js:2 pipes curl into sh")
	report(t, c, s.alice, "npm", "fine", "", "looks like a typosquat <b>of</b> something")
	hold(t, c, "held-pkg", "1.0.0")
	hold(t, c, "held-pkg", "2.0.0")

	root := s.browser()
	root.signIn("root", rootPassword)
	if _, page := root.get("/-/admin/users"); !strings.Contains(page, `href="/-/admin/queue" id="queue-link"`) {
		t.Errorf("the users page does not link to the queue")
	}
	resp, page := root.get("/-/admin/queue")
	for _, want := range []string{
		`id="report-npm-evil-1.0.1"`, `<a href="/-/package/npm/evil@1.0.1">evil</a> 1.0.1`, "<td>2, the first ", "<td>visible</td>",
		"malicious · alice: postinstall sends ~/.npmrc to a remote host", "malicious · bob: install.js:2 pipes curl into sh",
		`href="/-/admin/queue/remove?ecosystem=npm&amp;name=evil&amp;version=1.0.1"`,
		`id="report-npm-fine"`, "(whole package)", "looks like a typosquat &lt;b&gt;of&lt;/b&gt; something",
		`id="held-npm-held-pkg-1.0.0"`, `id="held-npm-held-pkg-2.0.0"`, "scan: ", "<td>carol</td>",
		"held-pkg (no visible release yet) 1.0.0", // a first upload held: no page to link to
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the queue page lacks %q", want)
		}
	}
	if resp.StatusCode != http.StatusOK || t.Failed() {
		t.Fatalf("the queue page: %d\n%s", resp.StatusCode, page)
	}

	// Removing: a confirmation page, then the form.
	resp, page = root.get("/-/admin/queue/remove?ecosystem=npm&name=evil&version=1.0.1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "stay taken for ever") || !strings.Contains(page, `name="malicious"`) {
		t.Fatalf("the removal page: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := root.get("/-/admin/queue/remove?ecosystem=npm&name=evil"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a removal page without a version: %d, want 400", resp.StatusCode)
	}
	for q, want := range map[string]int{"ecosystem=npm&name=evil&version=9.9.9": 404, "ecosystem=npm&name=nobody-has-it&version=1.0.0": 404,
		"ecosystem=npm&name=held-pkg&version=1.0.0": 404, "ecosystem=npm&version=1.0.0": 400} {
		if resp, page := root.get("/-/admin/queue/remove?" + q); resp.StatusCode != want || strings.Contains(page, `id="confirm"`) {
			t.Errorf("the removal page of %s: %d, want %d without a form", q, resp.StatusCode, want)
		}
	}
	removal := url.Values{"ecosystem": {"npm"}, "name": {"evil"}, "version": {"1.0.1"}, "reason": {"exfiltrates npm tokens"}, "malicious": {"1"}, "confirm": {"evil"}}
	for _, bad := range []struct {
		path, key, value, says string
		status                 int
	}{
		{"/-/admin/queue/remove", "confirm", "fine", "type the package&#39;s name, evil, to confirm; nothing was removed", 400},
		{"/-/admin/queue/remove", "reason", " ", "give a reason", 400},
		{"/-/admin/queue/remove", "name", "", "an action names its target", 400},
		{"/-/admin/queue/remove", "version", "", "named by its version", 400},
		{"/-/admin/queue/remove", "reason", strings.Repeat("x", registry.MaxReasonLen+1), "longer than", 400},
		{"/-/admin/queue/remove", "ecosystem", "cargo", "cargo", 0},
		{"/-/admin/queue/remove", "version", "9.9.9", "9.9.9", 404},
		{"/-/admin/queue/dismiss", "reason", "", "give a reason for the dismiss", 400},
		{"/-/admin/queue/dismiss", "name", "nobody-has-it", "nobody-has-it", 404},
		{"/-/admin/queue/explode", "", "", "no queue action", 404},
	} {
		f := url.Values{}
		for k, v := range removal {
			f[k] = v
		}
		if bad.key != "" {
			f.Set(bad.key, bad.value)
		}
		if bad.key == "name" && bad.value != "" {
			f.Set("confirm", bad.value)
		}
		resp, page := root.post(bad.path, f)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || bad.status != 0 && resp.StatusCode != bad.status || !strings.Contains(page, bad.says) {
			t.Errorf("POST %s with %s=%.20q: %d, want %d saying %q\n%s", bad.path, bad.key, bad.value, resp.StatusCode, bad.status, bad.says, page)
		}
	}
	rootP := &access.Principal{UserID: s.root.ID, UserName: "root", Admin: true, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	queued := func() *registry.Queue {
		t.Helper()
		q, err := c.reg.Queue(ctx, rootP)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	if q := queued(); len(q.Reports) != 2 || len(q.Held) != 2 {
		t.Fatalf("bad input changed the queue: %d reports, %d held", len(q.Reports), len(q.Held))
	}
	if as, err := s.db.Advisories(ctx, 10); err != nil || len(as) != 0 {
		t.Fatalf("advisories after bad input: %v, %v", as, err)
	}

	resp, _ = root.post("/-/admin/queue/remove", removal)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/admin/queue?done=remove" {
		t.Fatalf("remove: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	v, err := c.reg.View(ctx, "npm", "evil")
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range v.Releases {
		if want := map[string]trove.State{"1.0.0": trove.Published, "1.0.1": trove.Deleted}[rel.Version]; rel.State != want {
			t.Errorf("evil %s is %s after the takedown, want %s", rel.Version, rel.State, want)
		}
	}
	as, err := s.db.Advisories(ctx, 10)
	if err != nil || len(as) != 1 || as[0].Name != "evil" || as[0].Version != "1.0.1" || as[0].Summary != "exfiltrates npm tokens" {
		t.Fatalf("advisories after the malicious takedown: %+v, %v", as, err)
	}
	if _, page := root.get("/-/admin/queue?done=remove"); !strings.Contains(page, "The release was taken down") || strings.Contains(page, `id="report-npm-evil-1.0.1"`) {
		t.Errorf("the queue after the takedown:\n%s", page)
	}

	// Dismissing the whole package's reports.
	resp, _ = root.post("/-/admin/queue/dismiss", url.Values{"ecosystem": {"npm"}, "name": {"fine"}, "reason": {"a different name altogether"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/admin/queue?done=dismiss" {
		t.Fatalf("dismiss: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if q := queued(); len(q.Reports) != 0 {
		t.Errorf("reports after the dismissal: %+v", q.Reports[0])
	}
	if v, err := c.reg.View(ctx, "npm", "fine"); err != nil || v.Releases[0].State != trove.Published {
		t.Errorf("a dismissal changed the package: %v", err)
	}

	// The held uploads: one released, one rejected.
	if resp, page := root.post("/-/admin/queue/release", url.Values{"ecosystem": {"npm"}, "name": {"held-pkg"}, "version": {"1.0.0"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(page, "give a reason for the release") {
		t.Errorf("a release without a reason: %d", resp.StatusCode)
	}
	if resp, _ := root.post("/-/admin/queue/release", url.Values{"ecosystem": {"npm"}, "name": {"held-pkg"}, "version": {"1.0.0"}, "reason": {"the script is the documented installer"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("release: %d", resp.StatusCode)
	}
	if resp, _ := root.post("/-/admin/queue/reject", url.Values{"ecosystem": {"npm"}, "name": {"held-pkg"}, "version": {"2.0.0"}, "reason": {"really a dropper"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject: %d", resp.StatusCode)
	}
	if resp, _ := root.post("/-/admin/queue/reject", url.Values{"ecosystem": {"npm"}, "name": {"held-pkg"}, "version": {"1.0.0"}, "reason": {"again"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("rejecting a release no longer held: %d, want 404", resp.StatusCode)
	}
	v, err = c.reg.View(ctx, "npm", "held-pkg")
	if err != nil || len(v.Releases) != 1 || v.Releases[0].Version != "1.0.0" || v.Releases[0].State != trove.Published {
		t.Fatalf("held-pkg after release and reject: %+v, %v", v, err)
	}
	if q := queued(); len(q.Held) != 0 {
		t.Errorf("still held: %+v", q.Held[0])
	}
	if _, page := root.get("/-/admin/queue"); !strings.Contains(page, `id="no-reports"`) || !strings.Contains(page, `id="no-held"`) {
		t.Errorf("the empty queue:\n%s", page)
	}

	// Each action is in the audit log, by root, on its target.
	var got []string
	for i := 0; i < 100 && len(got) < 4; i++ { // the entry is recorded after the answer
		if err := s.h.o.Audit.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		es, err := s.db.AuditEntries(ctx, meta.AuditFilter{Action: "web.admin.queue.action"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, e := range es {
			if e.Outcome != "ok" {
				continue
			}
			if e.UserName != "root" {
				t.Errorf("audit entry by %q", e.UserName)
			}
			if e.Target == "npm:held-pkg@2.0.0" && e.Detail != "reason: really a dropper" {
				t.Errorf("the rejection's audit entry says %q, want its reason", e.Detail)
			}
			got = append(got, e.Target)
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := "npm:held-pkg@2.0.0,npm:held-pkg@1.0.0,npm:fine,npm:evil@1.0.1"
	if strings.Join(got, ",") != want {
		t.Errorf("audit entries:\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
}

// TestAdminQueueMFA: the registry's MFA policy applies to a takedown from
// the web as through the API: an administrator signed in with a password
// alone is refused with what to do, and the release stays.
func TestAdminQueueMFA(t *testing.T) {
	s, c := queueSite(t, trove.AuthNone) // the default policy: a second factor
	c.publish(t, "npm", "evil", "1.0.0", map[string]any{"description": "evil"})
	root := s.browser()
	root.signIn("root", rootPassword)
	resp, page := root.post("/-/admin/queue/remove", url.Values{"ecosystem": {"npm"}, "name": {"evil"}, "version": {"1.0.0"}, "reason": {"bad"}, "confirm": {"evil"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "needs a sign-in with a second factor") || !strings.Contains(page, "this session was signed in without one") {
		t.Errorf("a takedown by a password-only session: %d\n%s", resp.StatusCode, page)
	}
	if v, err := c.reg.View(context.Background(), "npm", "evil"); err != nil || v.Releases[0].State != trove.Published {
		t.Errorf("the refused takedown changed the release: %v", err)
	}
}

// TestAdminQueueQuarantine: a reported release is quarantined from the
// queue's form: it leaves the package page's view (its version page says
// it is quarantined), the queue lists it with its reason and keeps its
// reports; it can still be removed (the confirmation page offers the
// form), and released, back as it was with its reports closed. A
// quarantine needs a reason and names a visible release.
func TestAdminQueueQuarantine(t *testing.T) {
	s, c := queueSite(t, trove.AuthPassword)
	ctx := context.Background()
	c.publish(t, "npm", "odd", "1.0.0", map[string]any{"description": "odd"})
	c.publish(t, "npm", "odd", "1.0.1", map[string]any{"description": "odd"})
	report(t, c, s.alice, "npm", "odd", "1.0.1", "index.js:40 decodes and evals a payload")
	root := s.browser()
	root.signIn("root", rootPassword)
	if _, page := root.get("/-/admin/queue"); !strings.Contains(page, `action="/-/admin/queue/quarantine"`) || !strings.Contains(page, `id="no-quarantined"`) {
		t.Fatalf("the queue offers no quarantine of a visible release:\n%s", page)
	}
	form := url.Values{"ecosystem": {"npm"}, "name": {"odd"}, "version": {"1.0.1"}, "reason": {"looking into the payload"}}
	for key, bad := range map[string]string{"reason": " ", "version": "", "name": ""} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(key, bad)
		if resp, _ := root.post("/-/admin/queue/quarantine", f); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a quarantine without %s: %d, want 400", key, resp.StatusCode)
		}
	}
	if resp, _ := root.post("/-/admin/queue/quarantine", url.Values{"ecosystem": {"npm"}, "name": {"odd"}, "version": {"9.9.9"}, "reason": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a quarantine of a version never published: %d, want 404", resp.StatusCode)
	}
	resp, _ := root.post("/-/admin/queue/quarantine", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/admin/queue?done=quarantine" {
		t.Fatalf("quarantine: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := root.get("/-/admin/queue?done=quarantine")
	for _, want := range []string{"The release was quarantined", `id="quarantined-npm-odd-1.0.1"`, "looking into the payload", "(was published)",
		`id="report-npm-odd-1.0.1"`, "<td>quarantined</td>", `id="remove-quarantined-npm-odd-1.0.1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the queue after the quarantine lacks %q", want)
		}
	}
	anon := s.browser()
	if _, page := anon.get("/-/package/npm/odd@1.0.1"); !strings.Contains(page, `id="quarantined"`) || strings.Contains(page, "npm install odd@1.0.1") {
		t.Errorf("the quarantined version's page:\n%s", page)
	}
	if _, page := anon.get("/-/package/npm/odd"); !strings.Contains(page, "odd@1.0.0") {
		t.Errorf("the package page does not show 1.0.0 as its latest:\n%s", page)
	}
	if resp, page := root.get("/-/admin/queue/remove?ecosystem=npm&name=odd&version=1.0.1"); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="malicious"`) {
		t.Errorf("the removal page of a quarantined release: %d", resp.StatusCode)
	}
	if resp, _ := root.post("/-/admin/queue/quarantine", form); resp.StatusCode != http.StatusNotFound {
		t.Errorf("quarantining twice: %d, want 404", resp.StatusCode)
	}

	resp, _ = root.post("/-/admin/queue/release", url.Values{"ecosystem": {"npm"}, "name": {"odd"}, "version": {"1.0.1"}, "reason": {"a bundled test fixture"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("release: %d", resp.StatusCode)
	}
	v, err := c.reg.View(ctx, "npm", "odd")
	if err != nil || v.Releases[0].Version != "1.0.1" || v.Releases[0].State != trove.Published {
		t.Fatalf("odd after the release: %+v, %v", v, err)
	}
	if _, page := root.get("/-/admin/queue"); !strings.Contains(page, `id="no-reports"`) || !strings.Contains(page, `id="no-quarantined"`) {
		t.Errorf("the queue after the release:\n%s", page)
	}
}
