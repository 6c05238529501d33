package web

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// TestLogRecordPagePrivate: the page of a private package's record is a
// 404 saying the record is private, naming nothing of it, for a request
// its Prover does not allow (translog.Server.GateRecords).
func TestLogRecordPagePrivate(t *testing.T) {
	s, c, l := newLoggedPackageSite(t)
	b := s.browser()
	c.publish(t, "npm", "hidden-lib", "1.0.0", map[string]any{"description": "lib"})
	if err := c.reg.SetPrivate(context.Background(), c.alice, "npm", "hidden-lib", true); err != nil {
		t.Fatal(err)
	}
	c.publish(t, "npm", "hidden-lib", "1.1.0", map[string]any{"description": "lib"})
	es, err := c.reg.LogEntries(context.Background(), "npm", "hidden-lib", "1.1.0")
	if err != nil || len(es) == 0 {
		t.Fatalf("LogEntries = %v, %v", es, err)
	}
	last := es[0].ID
	l.CatchUp(context.Background(), last+1)
	id := strconv.FormatInt(last, 10)
	resp, body := b.get("/-/log/" + id)
	if resp.StatusCode != 404 || !strings.Contains(body, "record "+id+" is private: its text is shown only to those who may read its package") ||
		strings.Contains(body, "hidden-lib") {
		t.Errorf("GET /-/log/%s = %d, want 404 saying the record is private, naming nothing:\n%s", id, resp.StatusCode, body)
	}
	// An administrator's session reads it, told that the entry bundle
	// holds only its placeholder.
	root := s.browser()
	root.signIn("root", rootPassword)
	if resp, body := root.get("/-/log/" + id); resp.StatusCode != 200 || !strings.Contains(body, "hidden-lib") || !strings.Contains(body, "holds only its placeholder") {
		t.Errorf("GET /-/log/%s by an administrator = %d, want the record and the placeholder's note:\n%s", id, resp.StatusCode, body)
	}
	if resp, body := b.get("/-/log/0"); resp.StatusCode != 200 {
		t.Errorf("GET /-/log/0 (public) = %d\n%s", resp.StatusCode, body)
	}
}
