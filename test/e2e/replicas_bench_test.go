//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReplicas measures one replica against two on one PostgreSQL
// database and one S3 bucket (scripts/replicas-bench.sh runs it, once:
// -benchtime 1x): cached packument reads with wrk, directly at each
// replica and through the test's front, and publishes from concurrent
// publishers. It needs wrk (apt-get install wrk). Every run is bounded by
// TROVE_BENCH_DUR (default 10s); the figures go to docs/benchmarks.md.
func BenchmarkReplicas(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Fatal("BenchmarkReplicas needs wrk: apt-get install wrk")
	}
	dur := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("TROVE_BENCH_DUR")); err == nil {
		dur = d
	}
	for range b.N {
		benchReplicas(b, dur)
	}
}

func benchReplicas(b *testing.B, dur time.Duration) {
	tt := b
	f := newFront(tt)
	env := replicaEnv(tt, f)
	a, r2 := startReplicas(tt, f, env)
	a.AddUser(tt, "bench")
	token := a.Token(tt, "bench", "*", "read,publish")
	for v := range 20 {
		if code := npmPublish(tt, a.URL, token, "bench-pkg", fmt.Sprintf("1.0.%d", v)); code != 200 {
			b.Fatalf("publish: %d", code)
		}
	}
	time.Sleep(time.Second) // the other replica's Follow
	path := "/npm/bench-pkg"

	one := wrk(b, dur, a.URL+path)
	var mu sync.Mutex
	both := 0.0
	var wg sync.WaitGroup
	for _, r := range []*Trove{a, r2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rps := wrk(b, dur, r.URL+path)
			mu.Lock()
			both += rps
			mu.Unlock()
		}()
	}
	wg.Wait()
	front := wrk(b, dur, f.srv.URL+path)
	b.Logf("cached packument reads: 1 replica %.0f req/s; 2 replicas (one wrk at each, summed) %.0f req/s; 2 replicas through the test's Go front %.0f req/s",
		one, both, front)
	b.ReportMetric(one, "read-1-replica-req/s")
	b.ReportMetric(both, "read-2-replicas-req/s")

	for _, n := range []int{1, 16} {
		p1 := publishLoad(tt, []string{a.URL}, token, n, dur, fmt.Sprintf("one-%d", n))
		p2 := publishLoad(tt, []string{a.URL, r2.URL}, token, n, dur, fmt.Sprintf("two-%d", n))
		b.Logf("publishes with %d concurrent publishers: 1 replica %.1f/s; 2 replicas %.1f/s", n, p1, p2)
		b.ReportMetric(p1, fmt.Sprintf("publish-%dp-1-replica/s", n))
		b.ReportMetric(p2, fmt.Sprintf("publish-%dp-2-replicas/s", n))
	}
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk runs wrk against url for dur (2 threads, 32 connections, the npm
// install Accept header) and returns its requests per second.
func wrk(b *testing.B, dur time.Duration, url string) float64 {
	out, err := exec.Command("wrk", "-t2", "-c32", "-d"+dur.String(),
		"-H", "Accept: application/vnd.npm.install-v1+json", "-H", "Accept-Encoding: gzip", url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no rate:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	return rps
}

// publishLoad runs n publishers, each publishing versions of its own
// package to the replicas in turn, for dur, and returns the acknowledged
// publishes per second.
func publishLoad(t testing.TB, replicas []string, token string, n int, dur time.Duration, tag string) float64 {
	var acked atomic.Int64
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for p := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := 0; time.Now().Before(deadline); v++ {
				base := replicas[(p+v)%len(replicas)]
				if code := npmPublish(t, base, token, fmt.Sprintf("pub-%s-%d", tag, p), fmt.Sprintf("1.0.%d", v)); code == 200 {
					acked.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(acked.Load()) / dur.Seconds()
}
