package main

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A hostileUpstream is an npm registry the upstream scenario configures
// trove serve with: it has every name asked for (one version, 1.0.0), and
// some names misbehave: "attack-slowdoc" drips its packument a byte a
// second, "attack-hugedoc" sends 256 MiB, "attack-badtgz" serves a
// tarball that does not match its integrity, "attack-herd"'s tarball
// takes half a second, for a stampede to pile up on, and it lacks only
// "attack-small", which the harness publishes locally.
type hostileUpstream struct {
	url      string
	srv      *http.Server
	docs     atomic.Int64 // packument requests
	tarballs sync.Map     // name → *atomic.Int64 of tarball requests
}

func startHostileUpstream() (*hostileUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &hostileUpstream{url: "http://" + ln.Addr().String()}
	u.srv = &http.Server{Handler: http.HandlerFunc(u.serve)}
	go u.srv.Serve(ln)
	return u, nil
}

func (u *hostileUpstream) close() { u.srv.Close() }

func (u *hostileUpstream) tarballCount(name string) int64 {
	n, _ := u.tarballs.LoadOrStore(name, new(atomic.Int64))
	return n.(*atomic.Int64).Load()
}

func (u *hostileUpstream) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/npm/")
	if name, _, ok := strings.Cut(path, "/-/"); ok {
		n, _ := u.tarballs.LoadOrStore(name, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if name == "attack-herd" {
			time.Sleep(500 * time.Millisecond)
		}
		body := tgz(upstreamPkgJSON(name))
		if name == "attack-badtgz" {
			body[len(body)/2] ^= 0x20
		}
		w.Write(body)
		return
	}
	u.docs.Add(1)
	switch path {
	case "attack-small": // the harness publishes it locally
		http.NotFound(w, r)
		return
	case "attack-slowdoc":
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < 600; i++ {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
		return
	case "attack-hugedoc":
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(" ", 1<<20))
		for i := 0; i < 256; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		return
	}
	name, _ := strings.CutSuffix(path, "/")
	tarball := tgz(upstreamPkgJSON(name))
	s512, s1 := sha512.Sum512(tarball), sha1.Sum(tarball)
	doc := map[string]any{"name": name, "dist-tags": map[string]string{"latest": "1.0.0"},
		"time": map[string]string{"1.0.0": "2020-01-01T00:00:00.000Z"},
		"versions": map[string]any{"1.0.0": map[string]any{"name": name, "version": "1.0.0",
			"dist": map[string]string{"tarball": u.url + "/npm/" + name + "/-/" + name + "-1.0.0.tgz",
				"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:])}}}}
	json.NewEncoder(w).Encode(doc)
}

func upstreamPkgJSON(name string) []byte {
	b, _ := json.Marshal(map[string]string{"name": name, "version": "1.0.0", "license": "MIT"})
	return b
}

// upstreamSetup starts the hostile upstream and returns the environment
// that makes trove serve use it (timeout 5s, TTL 5m).
func upstreamSetup() ([]string, func(), error) {
	u, err := startHostileUpstream()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "trove-attack-upstream-")
	if err != nil {
		u.close()
		return nil, nil, err
	}
	cfg := filepath.Join(dir, "trove.toml")
	text := fmt.Sprintf("[upstream]\ntimeout = \"5s\"\n[[upstream.sources.npm]]\nname = \"hostile\"\nurl = %q\n", u.url+"/npm")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		u.close()
		return nil, nil, err
	}
	theUpstream = u
	return []string{"TROVE_CONFIG=" + cfg}, func() { u.close(); os.RemoveAll(dir) }, nil
}

// theUpstream is the hostile upstream of the running upstream scenario.
var theUpstream *hostileUpstream

// upstreamScenario: clients inventing package names (each one would make
// Trove ask its upstream), an upstream that drips or floods its
// documents, a stampede on one artifact not fetched yet, and a tampered
// artifact.
func upstreamScenario(h *harness) error {
	u := theUpstream
	fmt.Printf("## Upstream proxying (docs/proxy.md): invented names, a hostile upstream, a stampede\n\n")
	fmt.Printf("trove serve with one npm upstream, a test server on 127.0.0.1 that has every name asked for; " +
		"`upstream.timeout = \"5s\"`, default `rates.upstream_fetches` (1200 a minute per address).\n\n")
	stop := make(chan struct{})
	probes := h.readProbes()
	wg := runProbes(stop, 50*time.Millisecond, probes...)
	sm := h.srv.sample()

	// 2 addresses, each asking for up to 3000 invented names as fast as it
	// can: more than rates.upstream_fetches lets one address cause.
	var codes sync.Map
	var flood sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for a := range 2 {
		flood.Go(func() {
			c := clientFrom(fmt.Sprintf("127.5.0.%d", a+1), true)
			for i := 0; i < 3000 && time.Now().Before(deadline); i++ {
				code, _, _ := do(c, "GET", fmt.Sprintf("%s/npm/attack-invented-%d-%d", h.srv.url, a, i), nil)
				n, _ := codes.LoadOrStore(code, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}
	// Meanwhile: documents that drip or flood.
	slow := hammer(50, "127.6.0.1", h.srv.url+"/npm/attack-slowdoc")
	huge := hammer(8, "127.6.0.2", h.srv.url+"/npm/attack-hugedoc")
	flood.Wait()
	counted := map[int]int{}
	codes.Range(func(k, v any) bool { counted[k.(int)] = int(v.(*atomic.Int64).Load()); return true })
	fmt.Println("| attack | answers | upstream requests | slowest answer |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| 2 addresses asking for invented names (up to 3,000 each, 20 s) | %s | %d packuments | — |\n", statusCounts(counted), u.docs.Load())
	for _, r := range []hammered{slow.wait(), huge.wait()} {
		fmt.Printf("| %s | %s | — | %s |\n", r.label, statusCounts(r.codes), ms(r.slowest))
	}
	herd := hammer(200, "127.6.0.3", h.srv.url+"/npm/attack-herd/-/attack-herd-1.0.0.tgz")
	herdRes := herd.wait()
	fmt.Printf("| 200 concurrent downloads of one tarball not fetched yet | %s | %d tarball fetches | %s |\n",
		statusCounts(herdRes.codes), u.tarballCount("attack-herd"), ms(herdRes.slowest))
	bad := hammer(20, "127.6.0.4", h.srv.url+"/npm/attack-badtgz/-/attack-badtgz-1.0.0.tgz").wait()
	fmt.Printf("| 20 downloads of a tarball that does not match its integrity | %s | %d tarball fetches | %s |\n\n",
		statusCounts(bad.codes), u.tarballCount("attack-badtgz"), ms(bad.slowest))
	close(stop)
	wg.Wait()
	rss, fds := sm.done()
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Printf("\nPeak RSS %s, peak open files %d.\n\n", mb(rss), fds)
	return nil
}

// A hammering is n concurrent GETs of one URL from one address.
type hammering struct {
	label string
	wg    sync.WaitGroup
	mu    sync.Mutex
	res   hammered
}

type hammered struct {
	label   string
	codes   map[int]int
	slowest time.Duration
}

func hammer(n int, src, url string) *hammering {
	hm := &hammering{res: hammered{label: fmt.Sprintf("%d concurrent GETs of %s", n, url[strings.Index(url, "/npm/"):]), codes: map[int]int{}}}
	c := clientFrom(src, true)
	for range n {
		hm.wg.Go(func() {
			start := time.Now()
			code, _, _ := do(c, "GET", url, nil)
			d := time.Since(start)
			hm.mu.Lock()
			hm.res.codes[code]++
			hm.res.slowest = max(hm.res.slowest, d)
			hm.mu.Unlock()
		})
	}
	return hm
}

func (hm *hammering) wait() hammered {
	hm.wg.Wait()
	return hm.res
}
