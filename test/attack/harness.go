package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Password of the accounts the harness creates.
const password = "correct horse battery staple"

// A harness is a server set up for the scenarios: accounts, tokens and a
// small published package whose packument is the "cached read".
type harness struct {
	srv       *server
	tokens    map[string]string // by purpose
	local     *http.Client      // the measuring client, 127.0.0.1, keep-alive
	slowConns int
	hold      time.Duration
	smallTgz  []byte // attack-small 1.0.0's tarball, never downloaded before the bytes scenario
}

func newHarness(bin string, env ...string) (*harness, error) {
	srv, err := startServer(bin, env...)
	if err != nil {
		return nil, err
	}
	h := &harness{srv: srv, tokens: map[string]string{}, local: clientFrom("127.0.0.1", true)}
	for _, u := range []string{"alice", "bob"} {
		if out, err := srv.cli(password+"\n", "admin", "user", "add", u, "--email", u+"@example.test", "--password-stdin", "--verified"); err != nil {
			h.close()
			return nil, fmt.Errorf("adding %s: %v\n%s", u, err, out)
		}
	}
	for _, purpose := range []string{"setup", "npm", "pypi", "go", "huge1", "huge2", "rates"} {
		out, err := srv.cli("", "token", "create", "--user", "alice", "--scope", "*", "--action", "read,publish,yank")
		if err != nil {
			h.close()
			return nil, fmt.Errorf("token: %v\n%s", err, out)
		}
		h.tokens[purpose] = strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	}
	if h.smallTgz, err = h.publish(h.tokens["setup"], "attack-small", "1.0.0", nil); err != nil {
		h.close()
		return nil, err
	}
	if code, _, _ := do(h.local, "GET", h.srv.url+"/npm/attack-small", nil, "Accept", "application/vnd.npm.install-v1+json"); code != 200 {
		h.close()
		return nil, fmt.Errorf("reading the small packument: %d", code)
	}
	return h, nil
}

func (h *harness) close() { h.srv.stop() }

// tgz returns an npm package tarball holding package.json.
func tgz(pkgJSON []byte) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, f := range []struct {
		name string
		body []byte
	}{{"package/package.json", pkgJSON}, {"package/index.js", []byte("module.exports = 1\n")}} {
		name, body := f.name, f.body
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.Close()
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	zw.Write(tb.Bytes())
	zw.Close()
	return gb.Bytes()
}

// publish publishes name@version with npm's publish request; extra fields
// go into its package.json.
func (h *harness) publish(token, name, version string, extra map[string]any) ([]byte, error) {
	m := map[string]any{"name": name, "version": version, "description": "attack test package", "main": "index.js", "license": "MIT"}
	for k, v := range extra {
		m[k] = v
	}
	pkgJSON, _ := json.Marshal(m)
	t := tgz(pkgJSON)
	s512 := sha512.Sum512(t)
	s1 := sha1.Sum(t)
	m["_id"] = name + "@" + version
	m["dist"] = map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:]),
		"tarball": h.srv.url + "/npm/" + name + "/-/" + name + "-" + version + ".tgz"}
	doc, _ := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]any{"latest": version},
		"versions": map[string]any{version: m},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(t), "length": len(t)}},
	})
	code, _, body := do(h.local, "PUT", h.srv.url+"/npm/"+name, doc, "Authorization", "Bearer "+token, "Content-Type", "application/json")
	if code != http.StatusOK {
		return nil, fmt.Errorf("publishing %s@%s: %d %s", name, version, code, body)
	}
	return t, nil
}

// A probe measures a request the measuring client keeps making.
type probe struct {
	name string
	do   func() (ok bool)

	mu   sync.Mutex
	lat  []time.Duration
	errs int
}

// runProbes runs every probe every interval until stop is closed.
func runProbes(stop <-chan struct{}, interval time.Duration, probes ...*probe) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				start := time.Now()
				ok := p.do()
				d := time.Since(start)
				p.mu.Lock()
				if ok {
					p.lat = append(p.lat, d)
				} else {
					p.errs++
				}
				p.mu.Unlock()
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	}
	return &wg
}

// row formats a probe's figures: requests, failures, p50, p99, max.
func (p *probe) row() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := append([]time.Duration(nil), p.lat...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return fmt.Sprintf("| %s | %d | %d | %s | %s | %s |", p.name, len(l)+p.errs, p.errs, ms(pct(l, 50)), ms(pct(l, 99)), ms(pct(l, 100)))
}

const probeHeader = "| probe (from 127.0.0.1) | requests | failed | p50 | p99 | max |\n|---|---|---|---|---|---|"

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := (len(l)*p + 99) / 100
	return l[min(max(i-1, 0), len(l)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// readProbes are the two reads every scenario measures: /healthz on a new
// connection each time (the accept path) and the small cached packument
// on a kept-alive connection.
func (h *harness) readProbes() []*probe {
	fresh := clientFrom("127.0.0.1", false)
	return []*probe{
		{name: "/healthz, new connection each", do: func() bool {
			code, _, _ := do(fresh, "GET", h.srv.url+"/healthz", nil)
			return code == 200
		}},
		{name: "cached packument, keep-alive", do: func() bool {
			code, _, _ := do(h.local, "GET", h.srv.url+"/npm/attack-small", nil, "Accept", "application/vnd.npm.install-v1+json")
			return code == 200
		}},
	}
}

// statusCounts formats a count of statuses.
func statusCounts(m map[int]int) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		name := fmt.Sprint(k)
		switch k {
		case 0:
			name = "connection error"
		case -1:
			name = "timeout"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}
