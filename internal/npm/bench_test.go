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

// proxyBenchEnv publishes a package of versions versions on an upstream
// and returns a Trove proxying it, with the packument and the first
// tarball already fetched: what BenchmarkPackumentCached and
// BenchmarkTarball measure for local packages, for a proxied one.
func proxyBenchEnv(b *testing.B, versions int) http.Handler {
	up, _, down := proxyEnvs(b, nil)
	tok := up.userToken("alice")
	deps := map[string]string{"left-pad": "^1.3.0", "lodash": "^4.17.21", "@acme/lib": "^1.0.0"}
	for i := range versions {
		up.publish(tok, pkgJSONOf("@up/bench", fmt.Sprintf("1.%d.0", i), map[string]any{"dependencies": deps}),
			"index.js", strings.Repeat("module.exports = 1\n", 200))
	}
	do(b, "GET", down.reg+"/@up/bench/-/bench-1.0.0.tgz", "", nil).want(b, http.StatusOK)
	return down.serverHandler
}

func BenchmarkProxiedPackumentCached(b *testing.B) {
	for _, accept := range []string{corgiAccept, "application/json"} {
		b.Run(strings.SplitN(accept, ";", 2)[0], func(b *testing.B) {
			h := proxyBenchEnv(b, 20)
			req := httptest.NewRequest("GET", "/npm/@up%2fbench", nil)
			req.Header.Set("Accept", accept)
			req.Header.Set("Accept-Encoding", "gzip")
			h.ServeHTTP(httptest.NewRecorder(), req) // warm the cache
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 || w.Header().Get(UpstreamHeader) != "fresh" {
					b.Fatalf("status %d, %s %q", w.Code, UpstreamHeader, w.Header().Get(UpstreamHeader))
				}
			}
		})
	}
}

func BenchmarkProxiedTarball(b *testing.B) {
	h := proxyBenchEnv(b, 1)
	req := httptest.NewRequest("GET", "/npm/@up/bench/-/bench-1.0.0.tgz", nil)
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

// BenchmarkProxiedFirstFetch measures the first download of a tarball of
// a package never seen (its packument fetched, parsed and curated, the
// tarball fetched, verified, imported and logged, then served), against
// the upstream's own latency for the same two requests ("upstream").
// The upstream is another Trove stack over loopback HTTP.
func BenchmarkProxiedFirstFetch(b *testing.B) {
	up, f, down := proxyEnvs(b, nil)
	tok := up.userToken("alice")
	n := 0 // names are never reused: the benchmark function runs several times
	for _, target := range []string{"trove", "upstream"} {
		b.Run(target, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				n++
				name := fmt.Sprintf("first-%s-%d", target, n)
				up.publish(tok, pkgJSONOf(name, "1.0.0", nil), "index.js", strings.Repeat("module.exports = 1\n", 200))
				b.StartTimer()
				if target == "upstream" {
					do(b, "GET", f.URL+"/npm/"+name, "", nil, "Accept", "application/json").want(b, http.StatusOK)
					do(b, "GET", f.URL+"/npm/"+name+"/-/"+name+"-1.0.0.tgz", "", nil).want(b, http.StatusOK)
				} else {
					do(b, "GET", down.reg+"/"+name+"/-/"+name+"-1.0.0.tgz", "", nil).want(b, http.StatusOK)
				}
			}
		})
	}
}
