package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// hijacker is an adapter whose one endpoint writes its own response on
// the hijacked connection.
type hijacker struct{}

func (hijacker) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	return "upload", func(w http.ResponseWriter, r *http.Request) error {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return err
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 409 File already exists\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\n")
		return brw.Flush()
	}
}

func (hijacker) Routes() []adapter.Route { return nil }

func (hijacker) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}

// TestHijackedStatus checks that a response written on a hijacked
// connection is counted with the status its status line gives.
func TestHijackedStatus(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	ts := env.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/h", Ecosystem: "h", Adapter: hijacker{}}}
	})
	resp, err := http.Post(ts.URL+"/h/x", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Status != "409 File already exists" {
		t.Errorf("status %q", resp.Status)
	}
	// The client can read the response before the handler has returned
	// and the request is counted, so wait a little for the count.
	wants := []string{`trove_http_requests_total{code="409",route="h.upload"} 1`, `trove_publishes_total{ecosystem="h",outcome="refused"} 1`}
	var metrics string
	has := func(m string) bool {
		for _, want := range wants {
			if !strings.Contains(m, want) {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, metrics, _ = get(t, ts.URL+"/metrics", ""); has(metrics) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
