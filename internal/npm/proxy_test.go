//go:build upstreamcore

package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// A front stands between a Trove "down" and its upstream, another Trove
// stack ("up") served in process: it rewrites up's URLs to its own, counts
// requests, and can corrupt tarballs or stop answering.
type front struct {
	*httptest.Server
	up       *env
	tarballs atomic.Int64 // tarball requests that reached up
	mu       sync.Mutex
	flip     bool // corrupt every tarball
	down     bool // answer nothing but 503
}

func newFront(t testing.TB, up *env) *front {
	f := &front{up: up}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *front) set(flip, down bool) {
	f.mu.Lock()
	f.flip, f.down = flip, down
	f.mu.Unlock()
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	flip, down := f.flip, f.down
	f.mu.Unlock()
	if down {
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
		return
	}
	r.Header.Del("Accept-Encoding")
	rec := httptest.NewRecorder()
	f.up.serverHandler.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if strings.HasSuffix(r.URL.Path, ".tgz") {
		f.tarballs.Add(1)
		if flip && len(body) > 20 {
			body = bytes.Clone(body)
			body[len(body)-10] ^= 0xff
		}
	} else {
		body = bytes.ReplaceAll(body, []byte(f.up.URL), []byte(f.URL))
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// allowAll is a policy that lets every version through except those it lists.
type denyList map[string]string // version → rule

func (d denyList) Decide(_ context.Context, vs []upstream.Version) ([]upstream.Decision, error) {
	out := make([]upstream.Decision, len(vs))
	for i, v := range vs {
		rule, no := d[v.Version]
		out[i] = upstream.Decision{Allowed: !no, Rule: rule, Why: "test policy"}
	}
	return out, nil
}

// proxyEnvs returns an upstream stack, the front before it, and a Trove
// whose npm upstream is the front.
func proxyEnvs(t *testing.T, policy upstream.Policy) (up *env, f *front, down *env) {
	t.Helper()
	up = newEnv(t, nil)
	f = newFront(t, up)
	down = newEnv(t, func(o *Options) {
		o.Upstream = upstream.New(upstream.Options{Ecosystem: trove.NPM, Store: nil,
			Sources: []upstream.Source{{Name: "up", URL: f.URL + "/npm"}}, Policy: policy})
	})
	return up, f, down
}
