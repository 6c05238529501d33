package web

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/web/webtest"
)

// go test ./internal/web -run TestScreenshots -screenshots ../../docs/screenshots
// refreshes the committed screenshots.
var screenshots = flag.String("screenshots", "", "write the screenshots of TestScreenshots to this directory")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	webtest.Close()
	os.Exit(code)
}

// do runs browser steps, failing the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// browserSignIn signs in through the sign-in form.
func browserSignIn(t *testing.T, ctx context.Context, base, name, password string) {
	t.Helper()
	do(t, ctx, "signing in as "+name,
		chromedp.Navigate(base+"/-/signin"),
		chromedp.SetValue(chromedp.ID("name"), name), // faster than typing
		chromedp.SetValue(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("username")))
}

func TestBrowserTokenLifecycle(t *testing.T) {
	s := newSite(t)
	ctx := webtest.Tab(t)
	browserSignIn(t, ctx, s.srv.URL, "alice", alicePassword)
	if got := text(t, ctx, "#username"); got != "alice" {
		t.Fatalf("account page shows %q", got)
	}
	do(t, ctx, "creating a token",
		chromedp.Navigate(s.srv.URL+"/-/account/tokens"),
		chromedp.SendKeys(chromedp.ID("description"), "laptop"),
		chromedp.Click(chromedp.ID("action-publish")),
		chromedp.Click(chromedp.ID("create-token")),
		chromedp.WaitVisible(chromedp.ID("secret")))
	secret := strings.TrimSpace(text(t, ctx, "#secret"))
	p, err := s.toks.Authenticate(context.Background(), secret)
	if err != nil || p.UserName != "alice" || len(p.Actions) != 2 {
		t.Fatalf("the token the page showed: %+v, %v", p, err)
	}
	do(t, ctx, "revoking it",
		chromedp.Click(chromedp.CSS("#token-"+p.TokenPublicID+" button")),
		chromedp.WaitVisible(chromedp.ID("message")))
	if _, err := s.toks.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("the revoked token still works")
	}
	do(t, ctx, "signing out",
		chromedp.Click(chromedp.CSS(`form[action="/-/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`header a[href="/-/signin"]`)))
	if list, _ := s.ses.List(context.Background(), s.alice.ID); len(list) != 0 {
		t.Errorf("%d sessions after signing out", len(list))
	}
}

// evilServer serves a page of another site that posts a form to target
// as soon as it loads (it has no CSP of its own).
func evilServer(t *testing.T, target string) string {
	page := fmt.Sprintf(`<!DOCTYPE html><html><body>
<form id="f" method="post" action="%s/-/account/tokens">
<input name="description" value="evil"><input name="packages" value="*">
<input name="actions" value="publish"><input name="days" value="7"></form>
<script>window.ran = true; document.getElementById("f").submit();</script>
</body></html>`, target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	// Another site: localhost, where the Trove test server is 127.0.0.1.
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

func TestBrowserCrossSiteFormRefused(t *testing.T) {
	s := newSite(t)
	ctx := webtest.Tab(t)
	browserSignIn(t, ctx, s.srv.URL, "alice", alicePassword)
	do(t, ctx, "opening the other site's page",
		chromedp.Navigate(evilServer(t, s.srv.URL)),
		chromedp.WaitVisible(chromedp.CSS("p.error")))
	if got := text(t, ctx, "p.error"); !strings.Contains(got, "another site") {
		t.Errorf("the refusal says %q", got)
	}
	if toks, _ := s.toks.List(context.Background(), s.alice.ID); len(toks) != 0 {
		t.Fatalf("a form from another site created %d tokens", len(toks))
	}
}

// injected inserts an inline script into the page and reports whether it
// ran.
const injected = `(() => { const s = document.createElement("script"); s.textContent = "window.pwned = true"; document.body.appendChild(s); return window.pwned === true; })()`

func TestBrowserCSPBlocksInlineScript(t *testing.T) {
	s := newSite(t)
	ctx := webtest.Tab(t)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(s.srv.URL+"/-/signin"))
	if err != nil {
		t.Fatal(err)
	}
	csp := ""
	for k, v := range resp.Headers {
		if strings.EqualFold(k, "Content-Security-Policy") {
			csp = fmt.Sprint(v)
		}
	}
	if csp != CSP {
		t.Fatalf("the browser got CSP %q", csp)
	}
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](injected))
	if err != nil || ran {
		t.Fatalf("an injected inline script ran under the CSP (%v)", err)
	}
	// A name that is markup comes back as text, and runs nothing.
	do(t, ctx, "signing in with markup as the name",
		chromedp.SendKeys(chromedp.ID("name"), `"><script>window.pwned=true</script>`),
		chromedp.SendKeys(chromedp.ID("password"), "x"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("signin-error")))
	if pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned === true`)); err != nil || pwned {
		t.Fatalf("reflected markup ran (%v)", err)
	}
	// The same injection on a page without the CSP runs: the check above
	// can fail.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!DOCTYPE html><html><body><p>no policy</p></body></html>")
	}))
	defer other.Close()
	do(t, ctx, "opening a page without CSP", chromedp.Navigate(other.URL))
	if ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](injected)); err != nil || !ran {
		t.Fatalf("the injection did not run without a CSP either (%v): the test proves nothing", err)
	}
}

// TestScreenshots renders the main pages in Chromium and writes PNGs:
// to -screenshots if set (docs/screenshots/), else to a temporary
// directory.
func TestScreenshots(t *testing.T) {
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	s := newSite(t, func(o *Options) { o.BaseURL = "https://trove.example" })
	ctx := webtest.Tab(t)
	shot := func(name, path string, wait chromedp.Action[chromedp.Void]) {
		t.Helper()
		do(t, ctx, "opening "+path, chromedp.Navigate(s.srv.URL+path), wait)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("screenshot of %s: %v", path, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("home", "/", chromedp.WaitVisible(chromedp.CSS("dl.clients")))
	shot("signin", "/-/signin", chromedp.WaitVisible(chromedp.ID("name")))
	browserSignIn(t, ctx, s.srv.URL, "root", rootPassword)
	shot("account", "/-/account", chromedp.WaitVisible(chromedp.ID("username")))
	do(t, ctx, "creating a token",
		chromedp.Navigate(s.srv.URL+"/-/account/tokens"),
		chromedp.SendKeys(chromedp.ID("description"), "CI publishing"),
		chromedp.Click(chromedp.ID("create-token")),
		chromedp.WaitVisible(chromedp.ID("secret")))
	shot("tokens", "/-/account/tokens", chromedp.WaitVisible(chromedp.ID("tokens")))
	shot("admin", "/-/admin/users", chromedp.WaitVisible(chromedp.ID("users")))
	notes := account.NewNotifications(s.db, mail.NewOutbox(s.db, s.clock.now), "https://trove.example", s.clock.now)
	s.h.o.AllEvents = notes
	for _, e := range []account.Event{
		{Kind: account.EventNewDevice, UserID: s.alice.ID, Detail: "Firefox on Linux", Client: "192.0.2.7"},
		{Kind: account.EventLockout, UserID: s.alice.ID, Detail: "10 failed sign-ins in 15 minutes", Client: "198.51.100.4"},
		{Kind: account.EventTokenCreated, UserID: s.root.ID, Detail: `token "CI publishing" for * (read, publish)`, Client: "127.0.0.1"},
	} {
		if err := notes.Notify(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	shot("admin-events", "/-/admin/events", chromedp.WaitVisible(chromedp.ID("events")))
}
