package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/server"
)

func TestWebMount(t *testing.T) {
	mounts := []server.Mount{{Prefix: "/x", Ecosystem: "x", Adapter: fake{}}}
	var channel adapter.Channel = -1
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		channel = adapter.ChannelOf(r.Context())
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "web "+r.URL.Path)
	})
	get := func(s *server.Server, path string) (int, string) {
		ts := httptest.NewServer(s)
		defer ts.Close()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	s := server.New(server.Options{Mounts: mounts, Web: web})
	if code, body := get(s, "/-/account"); code != http.StatusTeapot || body != "web /-/account" || channel != adapter.Loopback {
		t.Errorf("web path: %d %q, channel %v", code, body, channel)
	}
	if code, body := get(s, "/healthz"); code != 200 || strings.HasPrefix(body, "web") {
		t.Errorf("healthz went to the web handler: %d %q", code, body)
	}
	// Without it, the plain 404 names the mounts, as Served does.
	s = server.New(server.Options{Mounts: mounts})
	if code, body := get(s, "/-/account"); code != 404 || !strings.Contains(body, "not found: Trove serves "+strings.Join(server.Served(mounts), ", ")) {
		t.Errorf("no web: %d %q", code, body)
	}
}
