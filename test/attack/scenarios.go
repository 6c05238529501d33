package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// rawUpload opens a connection from src, sends head, then the body at
// rate bytes a second (0: nothing), and returns the status the server
// answered (0 if it closed without one) and when it ended the request.
func rawUpload(target, src, head string, rate int, limit time.Duration) (int, time.Duration) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", target)
	if err != nil {
		return -2, 0
	}
	defer c.Close()
	start := time.Now()
	c.Write([]byte(head))
	done := make(chan int, 1)
	go func() {
		c.SetReadDeadline(start.Add(limit))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				done <- -1
				return
			}
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if rate > 0 {
		chunk := []byte(strings.Repeat("A", rate/10))
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case code := <-done:
				return code, time.Since(start)
			case <-t.C:
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write(chunk)
			}
		}
	}
	code := <-done
	return code, time.Since(start)
}

// uploadsScenario: uploads that claim 128 MiB and never send it (and
// some that send it at 1 KiB/s), with valid tokens, in every ecosystem.
func uploadsScenario(h *harness) error {
	const size = 128 << 20
	basic := base64.StdEncoding.EncodeToString([]byte("__token__:" + h.tokens["pypi"]))
	kinds := []struct {
		label, src string
		rate       int
		head       func(i int) string
	}{
		{"npm PUT, headers only", "127.0.0.5", 0, func(i int) string {
			return fmt.Sprintf("PUT /npm/attack-big-%d HTTP/1.1\r\nHost: trove\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", i, h.tokens["npm"], size)
		}},
		{"PyPI upload, headers only", "127.0.0.6", 0, func(i int) string {
			return fmt.Sprintf("POST /pypi/legacy/ HTTP/1.1\r\nHost: trove\r\nAuthorization: Basic %s\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: %d\r\n\r\n", basic, size)
		}},
		{"Go upload, headers only", "127.0.0.7", 0, func(i int) string {
			return fmt.Sprintf("POST /go/-/upload HTTP/1.1\r\nHost: trove\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: %d\r\n\r\n", h.tokens["go"], size)
		}},
		{"npm PUT, body at 1 KiB/s", "127.0.0.8", 1024, func(i int) string {
			return fmt.Sprintf("PUT /npm/attack-slow-%d HTTP/1.1\r\nHost: trove\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", i, h.tokens["rates"], size)
		}},
	}
	idle := h.srv.rss()
	sm := h.srv.sample()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 50*time.Millisecond, probes...)
	type result struct {
		codes map[int]int
		times []time.Duration
	}
	results := make([]result, len(kinds))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for k, kind := range kinds {
		results[k].codes = map[int]int{}
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, took := rawUpload(h.srv.addr, kind.src, kind.head(i), kind.rate, 40*time.Second)
				mu.Lock()
				results[k].codes[code]++
				results[k].times = append(results[k].times, took)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	peak, _ := sm.done()
	fmt.Printf("## Uploads that claim 128 MiB: 40 of each kind at once, with valid tokens\n\n")
	fmt.Println("| upload | answers | ended after (median) | ended after (max) |")
	fmt.Println("|---|---|---|---|")
	for k, kind := range kinds {
		t := results[k].times
		sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
		fmt.Printf("| %s | %s | %s | %s |\n", kind.label, statusCounts(results[k].codes), pct(t, 50).Round(100*time.Millisecond), pct(t, 100).Round(100*time.Millisecond))
	}
	fmt.Println()
	fmt.Printf("Server RSS: %s idle before, %s peak with the 160 uploads open (%+.0f MB).\n\n", mb(idle), mb(peak), float64(peak-idle)/1e6)
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}

// couchLogin signs in with npm's legacy login and returns the status and
// Retry-After.
func couchLogin(c *http.Client, url, name, pw string) (int, string) {
	code, ra, _ := couchLoginBody(c, url, name, pw)
	return code, ra
}

// couchLoginBody is couchLogin with the answer's body, which holds the
// token the login created ({"token": …}).
func couchLoginBody(c *http.Client, url, name, pw string) (int, string, []byte) {
	return do(c, "PUT", url+"/npm/-/user/org.couchdb.user:"+name,
		[]byte(fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw)), "Content-Type", "application/json")
}

// signinsScenario: 400 sign-ins at once, again and again, from 400
// addresses, each for an unknown name (so each must be hashed).
func signinsScenario(h *harness) error {
	const n = 400
	dur := 20 * time.Second
	idle := h.srv.rss()
	sm := h.srv.sample()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 50*time.Millisecond, probes...)
	var mu sync.Mutex
	codes := map[int]int{}
	var lat []time.Duration
	var withRetry, without int
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(fmt.Sprintf("127.2.%d.%d", i/200, i%200+1), true)
			<-start
			for time.Now().Before(end) {
				t0 := time.Now()
				code, ra := couchLogin(c, h.srv.url, fmt.Sprintf("storm%d", i), "wrong password")
				d := time.Since(t0)
				mu.Lock()
				codes[code]++
				lat = append(lat, d)
				if code == 429 || code == 503 {
					if ra != "" {
						withRetry++
					} else {
						without++
					}
				}
				mu.Unlock()
				if code == 429 {
					time.Sleep(time.Second)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	pwg.Wait()
	peak, _ := sm.done()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("## Sign-in storm: %d clients from %d addresses signing in at once, for %s\n\n", n, n, dur)
	fmt.Printf("Every sign-in names an unknown user, so each one that is not refused costs a full argon2id hash (19 MiB).\n\n")
	fmt.Printf("| answers | sign-in p50 | sign-in p99 | 429/503 with Retry-After | RSS idle | RSS peak |\n|---|---|---|---|---|---|\n")
	fmt.Printf("| %s | %s | %s | %d of %d | %s | %s |\n\n", statusCounts(codes), ms(pct(lat, 50)), ms(pct(lat, 99)), withRetry, withRetry+without, mb(idle), mb(peak))
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}

// guesses sends one wrong-password sign-in for name from each source at
// once and counts the answers.
func guesses(h *harness, name string, srcs []string) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(src, false)
			<-start
			code, _ := couchLogin(c, h.srv.url, name, "guess "+src)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// bruteForceScenario: 80 concurrent guesses of one password, from 80
// addresses and from one; what the owner gets afterwards.
func bruteForceScenario(h *harness) error {
	var many, one []string
	for i := 1; i <= 80; i++ {
		many = append(many, fmt.Sprintf("127.3.0.%d", i))
		one = append(one, "127.3.1.1")
	}
	fmt.Printf("## Password guessing: 80 concurrent guesses for one user name\n\n")
	fmt.Println("| attack | answers to the 80 guesses | then the owner, right password, from a clean address |")
	fmt.Println("|---|---|---|")
	aOne := guesses(h, "bob", one)
	bobCode, _ := couchLogin(clientFrom("127.3.9.1", false), h.srv.url, "bob", password)
	fmt.Printf("| from one address (bob) | %s | %d |\n", statusCounts(aOne), bobCode)
	aMany := guesses(h, "alice", many)
	aliceCode, ra := couchLogin(clientFrom("127.3.9.2", false), h.srv.url, "alice", password)
	fmt.Printf("| from 80 addresses (alice) | %s | %d (Retry-After %s s) |\n\n", statusCounts(aMany), aliceCode, ra)
	start := time.Now()
	if out, err := h.srv.cli("", "admin", "user", "unlock", "alice"); err != nil {
		return fmt.Errorf("unlock: %v\n%s", err, out)
	}
	var after int
	for time.Since(start) < 15*time.Second {
		after, _ = couchLogin(clientFrom("127.3.9.3", false), h.srv.url, "alice", password)
		if after == 201 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	fmt.Printf("After `trove admin user unlock alice` (run beside the server): alice signs in with %d after %s.\n\n", after, time.Since(start).Round(100*time.Millisecond))
	logged := strings.Count(h.srv.logText(), "sign-in failed")
	withAddr := strings.Count(h.srv.logText(), "client=127.3.")
	fmt.Printf("Server log: %d failed sign-ins logged in all so far, %d of them naming a 127.3.x.y client address.\n\n", logged, withAddr)
	return nil
}

// ratesScenario: floods of login-session creations and of publishes.
func ratesScenario(h *harness) error {
	c := clientFrom("127.4.0.1", true)
	flood := func(n int, fn func() (int, string)) (map[int]int, int) {
		codes := map[int]int{}
		retry := 0
		for range n {
			code, ra := fn()
			codes[code]++
			if code == 429 && ra != "" {
				retry++
			}
		}
		return codes, retry
	}
	fmt.Printf("## Rate limits (defaults), one client as fast as it can\n\n")
	fmt.Println("| flood | answers | 429 with Retry-After |")
	fmt.Println("|---|---|---|")
	codes, retry := flood(200, func() (int, string) {
		code, ra, _ := do(c, "POST", h.srv.url+"/npm/-/v1/login", []byte("{}"), "Content-Type", "application/json")
		return code, ra
	})
	fmt.Printf("| 200 browser-login session creations (no credentials) | %s | %d |\n", statusCounts(codes), retry)
	c2 := clientFrom("127.4.0.2", true)
	codes, retry = flood(200, func() (int, string) {
		code, ra, _ := do(c2, "POST", h.srv.url+"/pypi/legacy/", []byte("--x--\r\n"), "Content-Type", "multipart/form-data; boundary=x")
		return code, ra
	})
	fmt.Printf("| 200 PyPI uploads without credentials | %s | %d |\n", statusCounts(codes), retry)
	codes, retry = flood(200, func() (int, string) {
		code, ra, _ := do(c, "PUT", h.srv.url+"/npm/attack-flood", []byte(`{"name":"attack-flood"}`), "Authorization", "Bearer "+h.tokens["rates"], "Content-Type", "application/json")
		return code, ra
	})
	fmt.Printf("| 200 npm PUTs with one token (of a package that does not exist) | %s | %d |\n\n", statusCounts(codes), retry)
	return nil
}

// hugeScenario: a package whose full packument is about 90 MB, read by 20
// clients at once, three times over.
func hugeScenario(h *harness) error {
	const versions = 100
	blob := make([]byte, 900<<10)
	for i := range blob {
		blob[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i*7919+i/97)%36]
	}
	start := time.Now()
	for v := range versions {
		tok := h.tokens["huge1"]
		if v%2 == 1 {
			tok = h.tokens["huge2"]
		}
		// Vary the field per version, so that no two manifests compress alike.
		field := fmt.Sprintf("%06d", v) + string(blob[6:])
		if _, err := h.publish(tok, "attack-huge", fmt.Sprintf("1.0.%d", v), map[string]any{"x-data": field}); err != nil {
			return err
		}
	}
	published := time.Since(start)
	// Let the change feed's follower (every second) see the last publish:
	// its invalidation would otherwise land in the middle of round 1, whose
	// render is then served but not kept, as it must be.
	time.Sleep(2 * time.Second)
	idle := h.srv.rss()
	sm := h.srv.sample()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 50*time.Millisecond, probes...)
	time.Sleep(time.Second) // the probes' own first render is not this scenario's
	renders0 := h.srv.metric("trove_page_renders_total", "")
	var rounds []string
	var bodyBytes, gzBytes int
	for round := range 3 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var lat []time.Duration
		codes := map[int]int{}
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := clientFrom("127.5.0.1", false)
				t0 := time.Now()
				code, _, body := do(c, "GET", h.srv.url+"/npm/attack-huge", nil, "Accept", "application/json", "Accept-Encoding", "gzip")
				d := time.Since(t0)
				mu.Lock()
				codes[code]++
				lat = append(lat, d)
				if i == 0 {
					gzBytes = len(body)
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		rounds = append(rounds, fmt.Sprintf("| %d | %s | %s | %s | %.0f |", round+1, statusCounts(codes), ms(pct(lat, 50)), ms(pct(lat, 100)),
			h.srv.metric("trove_page_renders_total", "")-renders0))
	}
	_, _, plain := do(clientFrom("127.5.0.1", false), "GET", h.srv.url+"/npm/attack-huge", nil, "Accept", "application/json")
	bodyBytes = len(plain)
	close(stop)
	pwg.Wait()
	peak, _ := sm.done()
	time.Sleep(5 * time.Second)
	after := h.srv.rss()
	fmt.Printf("## A %d MB packument: %d versions (published in %s), 20 clients at once, 3 rounds\n\n", bodyBytes/1e6, versions, published.Round(time.Second))
	fmt.Printf("The full packument is %d bytes (%d gzipped); the page cache keeps documents up to 8 MiB in memory, so this one goes to its disk tier.\n\n", bodyBytes, gzBytes)
	fmt.Println("| round | answers | p50 | max | renders so far |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range rounds {
		fmt.Println(r)
	}
	fmt.Println()
	fmt.Printf("Server RSS: %s before, %s peak (the one render), %s 5 s after.\n\n", mb(idle), mb(peak), mb(after))
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}

// bytesScenario: a stored tarball rots on disk before anyone downloaded
// it; downloads, then trove fsck over it and 20 larger tarballs.
func bytesScenario(h *harness) error {
	// Random bytes in base64: tarballs that do not compress, 700 KB each.
	raw := make([]byte, 675<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for v := range 20 {
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		field := base64.StdEncoding.EncodeToString(raw)
		if _, err := h.publish(h.tokens["huge1"], "attack-scrub", fmt.Sprintf("1.0.%d", v), map[string]any{"x-data": field}); err != nil {
			return err
		}
	}
	tarball := h.srv.url + "/npm/attack-small/-/attack-small-1.0.0.tgz"
	good := h.smallTgz
	var file string
	filepath.WalkDir(filepath.Join(h.srv.data, "blobs", "sha256"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil && string(b) == string(good) {
				file = p
			}
		}
		return nil
	})
	if file == "" {
		return fmt.Errorf("the tarball's blob file was not found")
	}
	b := []byte(string(good))
	b[len(b)/2] ^= 0x01
	os.Chmod(file, 0o644)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return err
	}
	codes := map[int]int{}
	wrong := 0
	var msg string
	for range 20 {
		code, _, body := do(clientFrom("127.6.0.1", false), "GET", tarball, nil)
		codes[code]++
		if code == 200 && string(body) != string(good) {
			wrong++
		}
		if code != 200 {
			msg = strings.TrimSpace(string(body))
		}
	}
	fsckStart := time.Now()
	out, err := h.srv.cli("", "fsck")
	fsckTook := time.Since(fsckStart)
	status := "exit 0"
	if err != nil {
		status = "exit 1"
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	fmt.Printf("## Stored bytes: one tarball flipped by one bit on disk before its first download\n\n")
	fmt.Printf("20 downloads: %s; wrong bytes served: %d. The answer: `%s`\n\n", statusCounts(codes), wrong, msg)
	fmt.Printf("`trove fsck` afterwards (%s, %s):\n\n```\n%s\n```\n\n", status, fsckTook.Round(time.Millisecond), strings.Join(lines, "\n"))
	return nil
}
