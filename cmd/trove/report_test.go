package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/logclient"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/osv"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// TestReportToTakedown is issue 13's "reports flow to the queue and a
// takedown is logged and published as OSV", over the real HTTP stack: a
// user reports a release with trove report, the administrator sees it in
// trove admin queue (others get 403), quarantines it (out of view at
// once, the owner mailed, the reports still queued), removes it as
// malicious; the
// transparency log holds a takedown record that the log's verifier
// accepts, the OSV index, record and zip hold its MAL- record, the npm
// client can no longer fetch the version, the audit log has the action,
// and the owner and the reporter are mailed.
func TestReportToTakedown(t *testing.T) {
	ctx := context.Background()
	e := servertest.New(t, servertest.Options{Rules: ecosystemRules()})
	dir := t.TempDir()
	signer, vkey, err := translog.LoadOrCreateKey(dir, "log.example.test/trove")
	if err != nil {
		t.Fatal(err)
	}
	l, err := translog.Open(ctx, e.DB, signer, vkey, filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	notes := account.NewNotifications(e.DB, mail.NewOutbox(e.DB, nil), "https://trove.example", nil)
	e.Registry.SetTakedownNotice(takedownNotice(notes))
	e.Start(t, func(base string) []server.Mount {
		return []server.Mount{
			{Prefix: "/npm", Ecosystem: "npm", Adapter: npm.New(npm.Options{Registry: e.Registry, Pages: e.Pages, Tokens: e.Tokens, Users: e.Users, Logins: e.Logins, BaseURL: base + "/npm"})},
			{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens, Audit: e.DB})},
			{Prefix: "/log", Ecosystem: "log", Handler: newLogServer(l, e.DB, e.Registry)},
			{Prefix: "/osv", Ecosystem: "osv", Handler: osv.New(advisorySource{e.DB}, base)},
		}
	})
	alice, bob, carol, root := e.User(t, "alice", false), e.User(t, "bob", false), e.User(t, "carol", false), e.User(t, "root", true)
	bobTok, carolTok, rootTok := e.Token(t, bob, nil), e.Token(t, carol, nil), e.Token(t, root, nil)
	for _, v := range []string{"1.0.0", "1.0.1"} {
		st, err := e.Registry.Stage(strings.NewReader("tarball "+v), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Registry.Publish(ctx, servertest.Principal(alice), &registry.Upload{Ecosystem: trove.NPM, Name: "evil-pkg", Version: v,
			Metadata: []byte(`{}`), Files: []registry.UploadFile{{Filename: "evil-pkg-" + v + ".tgz", Kind: "tarball", Content: st}}})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	url := "--url=" + e.URL
	tarball := e.URL + "/npm/evil-pkg/-/evil-pkg-1.0.1.tgz"
	if r := servertest.Do(t, servertest.Request(t, "GET", tarball, nil)); r.StatusCode != 200 {
		t.Fatalf("before the takedown, GET the tarball = %d %s", r.StatusCode, r.Text)
	}

	// Reports: refused for their own faults, accepted once per user.
	for _, tc := range []struct {
		token string
		args  []string
		want  string
	}{
		{"", []string{"npm", "evil-pkg", "1.0.1", "--reason=x"}, "no API token"},
		{bobTok, []string{"npm", "evil-pkg", "1.0.1"}, "a report needs a reason"},
		{bobTok, []string{"npm", "evil-pkg", "9.9.9", "--reason=x"}, "404 Not Found"},
		{bobTok, []string{"npm", "never-published", "--reason=x"}, "404 Not Found"},
		{bobTok, []string{"npm", "evil-pkg", "--reason=x", "--category=bad"}, "400 Bad Request: unknown report category"},
		{bobTok, []string{"npm", "evil-pkg", "--reason=" + strings.Repeat("x", registry.MaxReportReason+1)}, "400 Bad Request"},
	} {
		if _, _, err := runTrove(t, tc.token, append(append([]string{"report"}, tc.args...), url)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("trove report %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	_, stderr, err := runTrove(t, bobTok, "report", "npm", "evil-pkg", "1.0.1", "--reason=postinstall sends ~/.npmrc to a remote host", url)
	if err != nil || !strings.Contains(stderr, "reported npm evil-pkg 1.0.1") {
		t.Fatalf("trove report = %q, %v", stderr, err)
	}
	if _, _, err := runTrove(t, bobTok, "report", "npm", "evil-pkg", "1.0.1", "--reason=again", url); err == nil || !strings.Contains(err.Error(), "409 Conflict: you already reported") {
		t.Errorf("a second open report by the same user = %v, want 409", err)
	}
	if _, _, err := runTrove(t, carolTok, "report", "npm", "evil-pkg", "1.0.1", "--category=malicious", "--reason=same payload as a known worm", url); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runTrove(t, carolTok, "report", "npm", "evil-pkg", "--category=spam", "--reason=the whole package", url); err != nil {
		t.Fatal(err)
	}

	// The queue and its actions are for administrators only.
	for _, args := range [][]string{{"admin", "queue"}, {"admin", "queue", "remove", "npm", "evil-pkg", "1.0.1", "--reason=x"},
		{"admin", "queue", "release", "npm", "evil-pkg", "1.0.1"}, {"admin", "queue", "dismiss", "npm", "evil-pkg", "1.0.1"}} {
		if _, _, err := runTrove(t, bobTok, append(args, url)...); err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
			t.Errorf("trove %v by a user = %v, want 403", args, err)
		}
	}
	stdout, _, err := runTrove(t, rootTok, "admin", "queue", url)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"report  npm        evil-pkg  1.0.1", "  2      visible", "report  npm        evil-pkg  -", "malicious by bob: \"postinstall sends ~/.npmrc to a remote host\"", "spam by carol"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("trove admin queue does not show %q:\n%s", want, stdout)
		}
	}

	// A quarantine first: out of view at once, its reports kept open.
	if _, _, err := runTrove(t, rootTok, "admin", "queue", "quarantine", "npm", "evil-pkg", "1.0.1", url); err == nil || !strings.Contains(err.Error(), "400 Bad Request: a quarantine needs a reason") {
		t.Errorf("a quarantine without a reason = %v, want 400", err)
	}
	if _, _, err := runTrove(t, bobTok, "admin", "queue", "quarantine", "npm", "evil-pkg", "1.0.1", "--reason=x", url); err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("a quarantine by a user = %v, want 403", err)
	}
	if _, stderr, err = runTrove(t, rootTok, "admin", "queue", "quarantine", "npm", "evil-pkg", "1.0.1", "--reason=two reports of token theft", url); err != nil ||
		!strings.Contains(stderr, "quarantined npm evil-pkg 1.0.1") {
		t.Fatalf("trove admin queue quarantine = %q, %v", stderr, err)
	}
	if r := servertest.Do(t, servertest.Request(t, "GET", tarball, nil)); r.StatusCode != http.StatusNotFound {
		t.Errorf("after the quarantine, GET the tarball = %d, want 404", r.StatusCode)
	}
	if r := servertest.Do(t, servertest.Request(t, "GET", e.URL+"/npm/evil-pkg", nil)); r.StatusCode != 200 || strings.Contains(r.Text, `"1.0.1"`) || !strings.Contains(r.Text, `"latest":"1.0.0"`) {
		t.Errorf("after the quarantine the packument = %d %s, want 1.0.0, latest, without 1.0.1", r.StatusCode, r.Text)
	}
	stdout, _, err = runTrove(t, rootTok, "admin", "queue", url)
	for _, want := range []string{"  2      quarantined", "quarantined  npm        evil-pkg  1.0.1", "was published", "quarantined by root: \"two reports of token theft\""} {
		if err != nil || !strings.Contains(stdout, want) {
			t.Errorf("trove admin queue after the quarantine does not show %q:\n%s%v", want, stdout, err)
		}
	}

	// The takedown, of the quarantined release.
	if _, _, err := runTrove(t, rootTok, "admin", "queue", "remove", "npm", "evil-pkg", "1.0.1", url); err == nil || !strings.Contains(err.Error(), "400 Bad Request: a takedown needs a reason") {
		t.Errorf("a takedown without a reason = %v, want 400", err)
	}
	if _, stderr, err = runTrove(t, rootTok, "admin", "queue", "remove", "npm", "evil-pkg", "1.0.1", "--malicious", "--reason=exfiltrates npm tokens in postinstall", url); err != nil {
		t.Fatalf("trove admin queue remove = %q, %v", stderr, err)
	}
	stdout, _, err = runTrove(t, rootTok, "admin", "queue", url)
	if err != nil || strings.Contains(stdout, "1.0.1") || strings.Contains(stdout, "bob") || strings.Contains(stdout, "spam by carol") {
		t.Errorf("after the takedown the queue still holds its reports (the package's included):\n%s%v", stdout, err)
	}
	if r := servertest.Do(t, servertest.Request(t, "GET", tarball, nil)); r.StatusCode != http.StatusNotFound {
		t.Errorf("after the takedown, GET the tarball = %d, want 404", r.StatusCode)
	}
	if r := servertest.Do(t, servertest.Request(t, "GET", e.URL+"/npm/evil-pkg", nil)); r.StatusCode != 200 || strings.Contains(r.Text, `"1.0.1"`) || !strings.Contains(r.Text, `"1.0.0"`) {
		t.Errorf("after the takedown the packument = %d %s, want 1.0.0 without 1.0.1", r.StatusCode, r.Text)
	}
	st, err := e.Registry.Stage(strings.NewReader("other bytes"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Registry.Publish(ctx, servertest.Principal(alice), &registry.Upload{Ecosystem: trove.NPM, Name: "evil-pkg", Version: "1.0.1",
		Metadata: []byte(`{}`), Files: []registry.UploadFile{{Filename: "evil-pkg-1.0.1.tgz", Kind: "tarball", Content: st}}})
	st.Close()
	if err == nil {
		t.Error("a version taken down was published again")
	}

	// The transparency log: a takedown record, which the verifier accepts.
	if _, err := l.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := logclient.New(&logclient.HTTPOps{Base: e.URL + "/log/", Dir: t.TempDir()}, vkey)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := c.Lookup(logclient.Query{Ecosystem: "npm", Name: "evil-pkg", Version: "1.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if s := rel.State(); !s.Deleted || s.DeleteKind != "takedown" || s.Reason != "malicious: exfiltrates npm tokens in postinstall" || s.Quarantined {
		t.Errorf("the log's state of the release = %+v, want a malicious takedown", s)
	}
	a, err := c.Audit(nil)
	if err != nil || a.Kinds["takedown"] != 1 || a.Kinds["quarantine"] != 1 {
		t.Fatalf("the log's audit = %+v, %v; want it accepted, with one quarantine and one takedown", a, err)
	}

	// The OSV feed.
	year := time.Now().UTC().Year()
	id := fmt.Sprintf("MAL-%d-1", year)
	if r := servertest.Do(t, servertest.Request(t, "GET", e.URL+"/osv/", nil)); r.StatusCode != 200 || !strings.Contains(r.Text, `"id":"`+id+`"`) || r.Header.Get("ETag") == "" {
		t.Errorf("GET /osv/ = %d %s, want %s with an ETag", r.StatusCode, r.Text, id)
	}
	checkRecord := func(b []byte) {
		t.Helper()
		var v osvschema.Vulnerability
		if err := protojson.Unmarshal(b, &v); err != nil {
			t.Fatalf("the record is not OSV: %v\n%s", err, b)
		}
		if v.GetId() != id || len(v.GetAffected()) != 1 || v.GetAffected()[0].GetPackage().GetEcosystem() != "npm" ||
			v.GetAffected()[0].GetPackage().GetName() != "evil-pkg" || v.GetAffected()[0].GetPackage().GetPurl() != "pkg:npm/evil-pkg" ||
			strings.Join(v.GetAffected()[0].GetVersions(), ",") != "1.0.1" || !strings.Contains(v.GetDetails(), "exfiltrates npm tokens") || v.GetWithdrawn() != nil {
			t.Errorf("the OSV record:\n%s", b)
		}
	}
	r := servertest.Do(t, servertest.Request(t, "GET", e.URL+"/osv/"+id+".json", nil))
	if r.StatusCode != 200 {
		t.Fatalf("GET the record = %d %s", r.StatusCode, r.Text)
	}
	checkRecord([]byte(r.Text))
	resp, err := http.Get(e.URL + "/osv/all.zip")
	if err != nil {
		t.Fatal(err)
	}
	zb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != id+".json" {
		t.Fatalf("all.zip: %v, want one file %s.json", err, id)
	}
	rc, _ := zr.File[0].Open()
	b, _ := io.ReadAll(rc)
	rc.Close()
	checkRecord(b)

	// The audit log and the mails.
	e.Server.Wait(5 * time.Second)
	entries, err := e.DB.AuditEntries(ctx, meta.AuditFilter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, en := range entries {
		if en.Action == "api.admin.queue.act" && en.UserName == "root" && en.Status == 200 && en.Package == "evil-pkg" &&
			en.Detail == "reason: exfiltrates npm tokens in postinstall" {
			audited = true
		}
	}
	if !audited {
		t.Errorf("the audit log has no entry for the takedown with its reason: %+v", entries)
	}
	mails, err := e.DB.Outbox(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	told := make(map[string]bool)
	for _, m := range mails {
		if m.Kind == "report-decision" && strings.Contains(m.Subject, "npm evil-pkg 1.0.1 removed") {
			told[m.Recipient] = true
		}
	}
	for _, who := range []string{"alice", "bob", "carol"} {
		if !told[who+"@example.test"] {
			t.Errorf("%s was not mailed the decision (mails to %v)", who, told)
		}
	}
	quarantined := false
	for _, m := range mails {
		quarantined = quarantined || m.Kind == "report-decision" && m.Recipient == "alice@example.test" &&
			strings.Contains(m.Subject, "npm evil-pkg 1.0.1 quarantined") && strings.Contains(m.Body, "two reports of token theft")
	}
	if !quarantined {
		t.Error("the owner was not mailed the quarantine")
	}
	if told["root@example.test"] {
		t.Error("the administrator, who is neither owner nor reporter, was mailed")
	}
}
