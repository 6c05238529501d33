package npm

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchEnv publishes a package with versions versions and returns a
// handler that runs the whole server (middleware included) in process.
func benchEnv(b *testing.B, versions int) (*env, http.Handler) {
	e := newEnv(b, nil)
	tok := e.userToken("alice")
	deps := map[string]string{"left-pad": "^1.3.0", "lodash": "^4.17.21", "@acme/lib": "^1.0.0"}
	for i := range versions {
		e.publish(tok, pkgJSONOf("@acme/bench", fmt.Sprintf("1.%d.0", i), map[string]any{"dependencies": deps}),
			"index.js", strings.Repeat("module.exports = 1\n", 200))
	}
	return e, e.serverHandler
}

func BenchmarkPackumentCached(b *testing.B) {
	for _, accept := range []string{corgiAccept, "application/json"} {
		b.Run(strings.SplitN(accept, ";", 2)[0], func(b *testing.B) {
			_, h := benchEnv(b, 20)
			req := httptest.NewRequest("GET", "/npm/@acme%2fbench", nil)
			req.Header.Set("Accept", accept)
			req.Header.Set("Accept-Encoding", "gzip")
			h.ServeHTTP(httptest.NewRecorder(), req) // warm the cache
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

func BenchmarkTarball(b *testing.B) {
	_, h := benchEnv(b, 1)
	req := httptest.NewRequest("GET", "/npm/@acme/bench/-/bench-1.0.0.tgz", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
