package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// webPosts are the web interface's POST routes (internal/web routes.go
// and factorRoutes), with the values of their path wildcards.
var webPosts = []string{
	"/-/signin", "/-/signin/factor", "/-/signout", "/-/reset", "/-/reset/confirm", "/-/sudo",
	"/-/account/public-email", "/-/account/password", "/-/account/tokens", "/-/account/tokens/revoke",
	"/-/account/sessions/revoke", "/-/account/verify-email", "/-/signup", "/-/verify-email",
	"/-/npm-login/x", "/-/admin/users/bob/disable", "/-/admin/users/bob/delete",
	"/-/account/security/totp", "/-/account/security/totp/confirm", "/-/account/security/1/rename",
	"/-/account/security/1/remove", "/-/account/security/recovery", "/-/account/security/key/begin",
	"/-/account/security/key/finish", "/-/signin/factor/key/begin", "/-/signin/factor/key/finish",
	"/-/signin/passkey/begin", "/-/signin/passkey/finish", "/-/sudo/factor", "/-/sudo/key/begin", "/-/sudo/key/finish",
}

// rawPost sends head, then the body: size bytes at once (rate < 0), at
// rate bytes a second, or nothing (rate 0); it returns the status (0 if
// the server closed without one, -1 if it did not answer within limit)
// and when the request ended.
func rawPost(target, src, head string, size, rate int, limit time.Duration) (int, time.Duration) {
	if rate >= 0 {
		return rawUpload(target, src, head, rate, limit)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", target)
	if err != nil {
		return -2, 0
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(limit))
	go func() {
		c.Write([]byte(head))
		c.Write([]byte(strings.Repeat("a=", size/2)))
	}()
	code, _ := readStatus(c)
	return code, time.Since(start)
}

// webBodiesScenario: every POST route of the web interface gets bodies
// that claim 128 MiB and never come, 1 MiB bodies sent at once, and
// bodies at 1 KiB/s, 5 of each per route at once, anonymous and from a
// signed-in session in sudo mode.
func webBodiesScenario(h *harness) error {
	if err := h.srv.addUser("carol"); err != nil {
		return err
	}
	carol := h.webSignIn("127.12.0.1", "carol", password)
	if carol.code != 303 || carol.cookie == "" {
		return fmt.Errorf("carol's sign-in: %d", carol.code)
	}
	kinds := []struct {
		label      string
		size, rate int
	}{
		{"claims 128 MiB, sends nothing", 0, 0},
		{"1 MiB at once", 1 << 20, -1},
		{"1 KiB/s", 0, 1024},
	}
	type result struct {
		codes map[int]int
		times []time.Duration
	}
	results := make([]result, len(kinds))
	for k := range kinds {
		results[k].codes = map[int]int{}
	}
	accepted := map[string]bool{} // route and kind answered 2xx
	idle := h.srv.rss()
	sm := h.srv.sample()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 50*time.Millisecond, probes...)
	var mu sync.Mutex
	var wg sync.WaitGroup
	addr := 0
	for _, path := range webPosts {
		for k, kind := range kinds {
			for i := range 6 {
				cookie := ""
				if i%2 == 1 && path != "/-/signout" {
					cookie = "Cookie: trove=" + carol.cookie + "\r\n"
				}
				addr++
				src := fmt.Sprintf("127.12.%d.%d", addr/250+1, addr%250+1)
				ctype := "application/x-www-form-urlencoded"
				if strings.Contains(path, "/key/") || strings.Contains(path, "/passkey/") {
					ctype = "application/json"
				}
				length := 128 << 20
				if kind.size > 0 {
					length = kind.size
				}
				head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nSec-Fetch-Site: same-origin\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
					path, h.srv.addr, cookie, ctype, length)
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, took := rawPost(h.srv.addr, src, head, kind.size, kind.rate, 40*time.Second)
					mu.Lock()
					results[k].codes[code]++
					results[k].times = append(results[k].times, took)
					if code >= 200 && code < 300 {
						accepted[path+" "+kind.label] = true
					}
					mu.Unlock()
				}()
			}
		}
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	peak, _ := sm.done()
	still := postForm(webClient("127.12.0.2"), h.srv.url+"/-/account/tokens/revoke", url.Values{"id": {"none"}}, carol.cookie)

	fmt.Printf("## Oversized and trickling form bodies on the web interface's %d POST routes\n\n", len(webPosts))
	fmt.Println("Per route and kind, 6 connections at once from their own addresses, half of them with a session in sudo mode (not for /-/signout). The bodies sent at once say their length; the others claim 128 MiB. Forms are bounded at 64 KiB whatever the page.")
	fmt.Println()
	fmt.Println("| body | answers | ended after (median) | ended after (max) |")
	fmt.Println("|---|---|---|---|")
	for k, kind := range kinds {
		t := results[k].times
		sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
		fmt.Printf("| %s | %s | %s | %s |\n", kind.label, statusCounts(results[k].codes), pct(t, 50).Round(100*time.Millisecond), pct(t, 100).Round(100*time.Millisecond))
	}
	fmt.Println()
	var acc []string
	for k := range accepted {
		acc = append(acc, k)
	}
	sort.Strings(acc)
	fmt.Printf("Routes that answered 2xx to such a body: %d %v. Afterwards a form with the session answers %d (the token it revokes does not exist: the session still works). Server RSS %s idle, %s peak (%+.0f MB) with %d such requests open.\n\n",
		len(acc), acc, still.code, mb(idle), mb(peak), float64(peak-idle)/1e6, addr)
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}

// webPagesScenario: a package whose README is just under the rendered
// limit (and one over it) read by 50 clients at once, and search with the
// longest queries allowed (and longer) over 200 packages, under load.
func webPagesScenario(h *harness) error {
	var rb strings.Builder
	rng := rand.New(rand.NewPCG(3, 4))
	for rb.Len() < 500<<10 {
		switch rng.IntN(5) {
		case 0:
			fmt.Fprintf(&rb, "%s- item *%d* with [a link](https://example.test/%d) and `code`\n", strings.Repeat("  ", rng.IntN(16)), rng.IntN(1e6), rng.IntN(1e6))
		case 1:
			fmt.Fprintf(&rb, "| a | b | c |\n|---|---|---|\n| %d | **%d** | _%d_ |\n\n", rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1e6))
		case 2:
			fmt.Fprintf(&rb, "%s nested quote %d\n\n", strings.Repeat("> ", rng.IntN(30)+1), rng.IntN(1e6))
		case 3:
			fmt.Fprintf(&rb, "```go\nfunc f%d() { return }\n```\n\n<div onclick=\"x()\"><script>alert(%d)</script></div>\n\n", rng.IntN(1e6), rng.IntN(1e6))
		default:
			fmt.Fprintf(&rb, "%s**%d**%s\n\n", strings.Repeat("*_", rng.IntN(40)), rng.IntN(1e6), strings.Repeat("_*", rng.IntN(40)))
		}
	}
	readme := rb.String()
	start := time.Now()
	if _, err := h.publish(h.tokens["huge1"], "attack-readme", "1.0.0", map[string]any{"readme": readme, "readmeFilename": "README.md"}); err != nil {
		return err
	}
	if _, err := h.publish(h.tokens["huge1"], "attack-readme-over", "1.0.0", map[string]any{"readme": readme + readme[:200<<10], "readmeFilename": "README.md"}); err != nil {
		return err
	}
	for i := range 200 {
		// Seven tokens: each within the publish rate (60 a minute).
		tok := h.tokens[[]string{"setup", "npm", "pypi", "go", "huge1", "huge2", "rates"}[i%7]]
		if _, err := h.publish(tok, fmt.Sprintf("attack-search-%03d", i), "1.0.0", map[string]any{"keywords": []string{"attack", fmt.Sprintf("k%d", i)}}); err != nil {
			return err
		}
	}
	published := time.Since(start)
	time.Sleep(2 * time.Second) // the change feed's follower sees the last publish
	idle := h.srv.rss()
	sm := h.srv.sample()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 50*time.Millisecond, probes...)
	renders0 := h.srv.metric("trove_page_renders_total", "")
	var rounds []string
	var size, overNote int
	for round := range 3 {
		t := newTally()
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := clientFrom(fmt.Sprintf("127.13.0.%d", i+1), false)
				t0 := time.Now()
				code, _, body := do(c, "GET", h.srv.url+"/-/package/npm/attack-readme", nil)
				t.add(webAnswer{code: code, took: time.Since(t0)})
				if i == 0 {
					size = len(body)
				}
			}()
		}
		wg.Wait()
		l := t.sorted()
		rounds = append(rounds, fmt.Sprintf("| %d | %s | %s | %s | %.0f |", round+1, statusCounts(t.codes), ms(pct(l, 50)), ms(pct(l, 100)),
			h.srv.metric("trove_page_renders_total", "")-renders0))
	}
	code, _, over := do(clientFrom("127.13.1.1", false), "GET", h.srv.url+"/-/package/npm/attack-readme-over", nil)
	if strings.Contains(string(over), "too large to show") {
		overNote = 1
	}

	// Search: 50 clients for 10 s, queries of 100 bytes (the most) and 101.
	long, tooLong := newTally(), newTally()
	end := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(fmt.Sprintf("127.13.2.%d", i+1), true)
			for k := 0; time.Now().Before(end); k++ {
				q, t := strings.Repeat(fmt.Sprintf("a%d", (i+k)%10), 50), long
				if k%4 == 3 {
					q, t = q+"x", tooLong
				} else if k%4 == 1 {
					q = "attack-search-" + strings.Repeat("k", 86)
				}
				t0 := time.Now()
				code, _, _ := do(c, "GET", h.srv.url+"/-/search?q="+url.QueryEscape(q)+"&page="+fmt.Sprint(1+k%500), nil)
				t.add(webAnswer{code: code, took: time.Since(t0)})
			}
		}()
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	peak, _ := sm.done()
	one := clientFrom("127.13.3.1", false)
	sc, _, page := do(one, "GET", h.srv.url+"/-/search?q=attack-search", nil)

	fmt.Printf("## Package pages and search: a %d KB README, 50 clients at once, 3 rounds; search from 50 clients for 10 s\n\n", len(readme)>>10)
	fmt.Printf("The README (nested lists, tables, deep quotes, emphasis runs, raw HTML with scripts) is published in package.json; npm keeps its first 256 KiB (npm.MaxReadmeSize), which is what is rendered (the renderer's own limit is 512 KiB); a second package has one of 700 KB, cut alike. 202 packages published in %s.\n\n", published.Round(time.Second))
	fmt.Println("| round | answers | p50 | max | renders so far |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range rounds {
		fmt.Println(r)
	}
	fmt.Println()
	fmt.Printf("The page is %d bytes. The package with the 700 KB README: %d (says too large to show: %v).\n\n", size, code, overNote == 1)
	fmt.Println("| search | answers | p50 | p99 | |\n|---|---|---|---|---|")
	fmt.Println(long.row("queries of 100 bytes, pages 1 to 500"))
	fmt.Println(tooLong.row("queries of 101 bytes"))
	fmt.Println()
	fmt.Printf("`/-/search?q=attack-search` afterwards: %d, %d results listed on its first page. Server RSS %s before, %s peak.\n\n", sc, strings.Count(string(page), "/-/package/npm/attack-search-"), mb(idle), mb(peak))
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}

// readStatus reads the status line of the server's answer.
func readStatus(c net.Conn) (int, error) {
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return -1, err
		}
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
