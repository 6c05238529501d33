package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The load phases. Each runs for at most its duration against a trove
// serve on a generated data set, with the plan recomputed from the
// generation's flags (names, version counts, owners), and prints one
// Markdown table row.
//
//   - uncached: abbreviated packuments of distinct packages picked
//     uniformly at random, each requested once, so that every request
//     misses the page cache and renders from the database.
//   - uncached-large: the same for the largest packages (thousands of
//     versions), full packuments.
//   - publish: npm publish requests (built here as npm sends them) of new
//     versions of random packages, by their owners, from several clients
//     at once.

// loadOptions configure the load phases.
type loadOptions struct {
	url       string
	plan      Options
	tokens    string // file of the maintainers' tokens (generate -tokens)
	phases    string
	conns     int
	duration  time.Duration
	largeN    int
	publishes int // clients publishing at once
}

// planFlags adds the flags that recompute a generation's plan.
func planFlags(fs *flag.FlagSet, o *loadOptions) {
	fs.StringVar(&o.url, "url", "http://127.0.0.1:18090", "trove serve's base URL")
	fs.IntVar(&o.plan.Packages, "packages", 100_000, "as given to generate")
	fs.IntVar(&o.plan.Versions, "versions", 1_000_000, "as given to generate")
	fs.IntVar(&o.plan.MaxVersions, "max-versions", 5_000, "as given to generate")
	fs.Uint64Var(&o.plan.Seed, "seed", 1, "as given to generate")
}

// sampleMain prints the packument URL and the newest tarball URL of the
// first unscoped package with the mean version count (or the nearest).
func sampleMain(args []string) error {
	fs := flag.NewFlagSet("sample", flag.ExitOnError)
	var o loadOptions
	planFlags(fs, &o)
	fs.Parse(args)
	p, err := newPlan(o.plan)
	if err != nil {
		return err
	}
	mean := float64(p.versions) / float64(len(p.packages))
	var best *plannedPackage
	for _, pp := range p.packages {
		if strings.HasPrefix(string(pp.name), "@") {
			continue
		}
		if best == nil || math.Abs(float64(len(pp.versions))-mean) < math.Abs(float64(len(best.versions))-mean) {
			best = pp
		}
	}
	if best == nil {
		return errors.New("the plan has no unscoped package")
	}
	v := best.versions[len(best.versions)-1].version
	fmt.Println(packumentURL(o.url, string(best.name)))
	fmt.Println(o.url + "/npm/" + string(best.name) + "/-/" + filename(string(best.name), v))
	return nil
}

func loadMain(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	var o loadOptions
	planFlags(fs, &o)
	fs.StringVar(&o.tokens, "tokens", "", "the token file generate -tokens wrote (for publish)")
	fs.StringVar(&o.phases, "phases", "uncached,uncached-large,publish", "phases to run, in order")
	fs.IntVar(&o.conns, "conns", 8, "concurrent clients of the read phases")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "longest time of each phase")
	fs.IntVar(&o.largeN, "large", 50, "how many of the largest packages uncached-large reads")
	fs.IntVar(&o.publishes, "publishers", 8, "concurrent publishing clients")
	fs.Parse(args)
	p, err := newPlan(o.plan)
	if err != nil {
		return err
	}
	fmt.Println("| phase | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | mean KB/resp |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, ph := range strings.Split(o.phases, ",") {
		var r *result
		switch ph {
		case "uncached":
			r, err = uncached(o, p)
		case "uncached-large":
			r, err = uncachedLarge(o, p)
		case "publish":
			r, err = publishLoad(o, p)
		default:
			err = fmt.Errorf("unknown phase %q (uncached, uncached-large, publish)", ph)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", ph, err)
		}
		r.print(ph)
	}
	return nil
}

// A result is what a phase measured.
type result struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	firstErr  error
	bytes     int64
	elapsed   time.Duration
}

func (r *result) add(d time.Duration, n int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.latencies = append(r.latencies, d)
	r.bytes += n
}

func (r *result) print(phase string) {
	slices.Sort(r.latencies)
	q := func(f float64) string {
		if len(r.latencies) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f", float64(r.latencies[int(f*float64(len(r.latencies)-1))])/1e6)
	}
	n := len(r.latencies)
	kb := 0.0
	if n > 0 {
		kb = float64(r.bytes) / float64(n) / 1024
	}
	fmt.Printf("| %s | %d | %d | %.0f | %s | %s | %s | %s | %.1f |\n", phase, n+r.errors, r.errors,
		float64(n)/r.elapsed.Seconds(), q(0.5), q(0.9), q(0.99), q(1), kb)
	if r.firstErr != nil {
		fmt.Fprintf(os.Stderr, "scale: %s: %d errors, the first: %v\n", phase, r.errors, r.firstErr)
	}
}

// drive runs n jobs on conns workers until they are done or d has passed.
func drive(conns, n int, d time.Duration, job func(i int) (int64, error)) *result {
	r := &result{}
	var next atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				size, err := job(i)
				r.add(time.Since(t0), size, err)
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	return r
}

var client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}

// get reads a document and returns its size.
func get(u, accept string) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return n, err
}

func packumentURL(base, name string) string {
	return base + "/npm/" + url.PathEscape(name)
}

func uncached(o loadOptions, p *plan) (*result, error) {
	order := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)).Perm(len(p.packages))
	return drive(o.conns, len(order), o.duration, func(i int) (int64, error) {
		return get(packumentURL(o.url, string(p.packages[order[i]].name)), "application/vnd.npm.install-v1+json")
	}), nil
}

func uncachedLarge(o loadOptions, p *plan) (*result, error) {
	large := slices.Clone(p.packages)
	sort.Slice(large, func(i, j int) bool { return len(large[i].versions) > len(large[j].versions) })
	large = large[:min(o.largeN, len(large))]
	fmt.Fprintf(os.Stderr, "scale: uncached-large: %d packages of %d to %d versions\n", len(large), len(large[len(large)-1].versions), len(large[0].versions))
	return drive(min(o.conns, 2), len(large), o.duration, func(i int) (int64, error) {
		return get(packumentURL(o.url, string(large[i].name)), "application/json")
	}), nil
}

// publishLoad publishes new versions (2000.0.N, above any generated
// one) of random packages as their owners, from o.publishes clients.
func publishLoad(o loadOptions, p *plan) (*result, error) {
	secrets, err := readTokens(o.tokens)
	if err != nil {
		return nil, err
	}
	if len(secrets) != len(p.users) {
		return nil, fmt.Errorf("%s holds %d tokens, the plan has %d maintainers: give load the flags given to generate", o.tokens, len(secrets), len(p.users))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	const most = 1 << 20
	picks := make([]int, most)
	for i := range picks {
		picks[i] = rng.IntN(len(p.packages))
	}
	run := time.Now().Unix()
	return drive(o.publishes, most, o.duration, func(i int) (int64, error) {
		pp := p.packages[picks[i]]
		version := fmt.Sprintf("2000.%d.%d", run, i)
		t, err := makeTarball(string(pp.name), version, nil, tarballSize(pp.index, i), versionRand(uint64(run), pp.index, i))
		if err != nil {
			return 0, err
		}
		body, err := publishDoc(o.url+"/npm", string(pp.name), version, "latest", nil, t)
		if err != nil {
			return 0, err
		}
		return int64(len(body)), put(packumentURL(o.url, string(pp.name)), secrets[pp.owner], body)
	}), nil
}

func put(u, token string, body []byte) error {
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %s %s", u, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// readTokens reads a token file: one "<user> <token>" line per maintainer.
func readTokens(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("publish needs -tokens, the file generate -tokens wrote")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if _, tok, ok := strings.Cut(sc.Text(), " "); ok {
			out = append(out, tok)
		}
	}
	return out, sc.Err()
}

// writeTokens writes the maintainers' tokens, readable by the owner only.
func writeTokens(path string, users []string, secrets []string) error {
	var b bytes.Buffer
	for i, u := range users {
		fmt.Fprintf(&b, "%s %s\n", u, secrets[i])
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}
