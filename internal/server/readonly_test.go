package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/server"
)

// TestReadOnly: while Writable fails, every request that may write is
// answered 503 with its message before the endpoint runs; reads are
// served, and /readyz says ready, read-only.
func TestReadOnly(t *testing.T) {
	var reason error = errBehind("read-only: the transparency log has 2 records, but this server published a checkpoint of 5")
	s := server.New(server.Options{Mounts: []server.Mount{{Prefix: "/x", Ecosystem: "x", Adapter: fake{}}},
		Writable: func() error { return reason }})
	s.SetReady(true)
	ts := httptest.NewServer(s)
	defer ts.Close()
	do := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, m := range []string{"PUT", "POST", "DELETE", "PATCH"} {
		if code, body := do(m, "/x/publish"); code != 503 || !strings.Contains(body, "published a checkpoint of 5") {
			t.Errorf("%s /x/publish while read-only = %d %s, want 503 with the reason", m, code, body)
		}
	}
	if code, body := do("GET", "/x/whoami"); code != 200 || body != "anonymous" {
		t.Errorf("GET while read-only = %d %s, want it served", code, body)
	}
	if code, body := do("GET", "/readyz"); code != 200 || !strings.Contains(body, "ready, read-only: the transparency log has 2 records") {
		t.Errorf("readyz while read-only = %d %q", code, body)
	}
	reason = nil
	if code, body := do("PUT", "/x/publish"); code != 409 {
		t.Errorf("PUT once writable = %d %s, want the endpoint's 409", code, body)
	}
	if code, body := do("GET", "/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("readyz once writable = %d %q", code, body)
	}
}

type errBehind string

func (e errBehind) Error() string { return string(e) }
