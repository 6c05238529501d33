package web

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/web/webtest"
)

// TestBrowserAdminQueue: in Chromium, an administrator opens the queue,
// follows "Remove…" of a reported release, and removes it as malicious
// through the confirmation form; the queue says so and no longer lists
// it, and still lists the held upload. With -screenshots, the queue's screenshot is written there.
func TestBrowserAdminQueue(t *testing.T) {
	s, c := queueSite(t, trove.AuthPassword)
	c.publish(t, "npm", "evil", "1.0.1", map[string]any{"description": "evil"})
	report(t, c, s.alice, "npm", "evil", "1.0.1", "postinstall sends ~/.npmrc to a remote host")
	hold(t, c, "held-installer", "0.3.0")
	ctx := webtest.Tab(t)
	browserSignIn(t, ctx, s.srv.URL, "root", rootPassword)
	do(t, ctx, "opening the queue", chromedp.Navigate(s.srv.URL+"/-/admin/queue"), chromedp.WaitVisible(chromedp.ID("reports")))
	if *screenshots != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("screenshot of the queue: %v", err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, "admin-queue.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do(t, ctx, "removing evil 1.0.1 as malicious",
		chromedp.Click(chromedp.CSS(`[id="remove-npm-evil-1.0.1"]`)),
		chromedp.WaitVisible(chromedp.ID("consequences")),
		chromedp.SendKeys(chromedp.ID("reason"), "exfiltrates npm tokens"),
		chromedp.Click(chromedp.ID("malicious")),
		chromedp.SendKeys(chromedp.ID("confirm"), "evil"),
		chromedp.Click(chromedp.ID("remove")),
		chromedp.WaitVisible(chromedp.ID("message")))
	if got := text(t, ctx, "#message"); !strings.Contains(got, "The release was taken down") {
		t.Errorf("the queue says %q", got)
	}
	if text(t, ctx, "#no-reports") == "" || !strings.Contains(text(t, ctx, "#held"), "held-installer") {
		t.Errorf("the queue still lists reports")
	}
	as, err := s.db.Advisories(context.Background(), 10)
	if err != nil || len(as) != 1 || as[0].Name != "evil" || as[0].Summary != "exfiltrates npm tokens" {
		t.Fatalf("advisories after the removal in the browser: %+v, %v", as, err)
	}
}
