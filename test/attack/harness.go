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
		if err := srv.addUser(u); err != nil {
			h.close()
			return nil, err
		}
	}
	for _, purpose := range []string{"setup", "npm", "pypi", "go", "huge1", "huge2", "rates"} {
		if h.tokens[purpose], err = srv.mintToken("alice", "read,publish,yank"); err != nil {
			h.close()
			return nil, err
		}
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

// addUser adds an account with the harness's password and a verified
// address; extra are more flags of trove admin user add (--admin).
func (s *server) addUser(name string, extra ...string) error {
	args := append([]string{"admin", "user", "add", name, "--email", name + "@example.test", "--password-stdin", "--verified"}, extra...)
	if out, err := s.cli(password+"\n", args...); err != nil {
		return fmt.Errorf("adding %s: %v\n%s", name, err, out)
	}
	return nil
}

// mintToken creates a token of user's for every package with the actions
// (comma-separated) and returns it.
func (s *server) mintToken(user, actions string) (string, error) {
	out, err := s.cli("", "token", "create", "--user", user, "--scope", "*", "--action", actions)
	if err != nil {
		return "", fmt.Errorf("token for %s: %v\n%s", user, err, out)
	}
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]), nil
}

// A member is a file of a tar archive.
type member struct {
	name string
	body []byte
}

// tgz returns an npm package tarball holding package.json.
func tgz(pkgJSON []byte) []byte {
	return gz(tarOf(true, member{"package/package.json", pkgJSON}, member{"package/index.js", []byte("module.exports = 1\n")}))
}

// tarOf returns a tar archive of the members, with its end-of-archive
// blocks if end is true (without them, more members may follow).
func tarOf(end bool, members ...member) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, m := range members {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg})
		tw.Write(m.body)
	}
	if end {
		tw.Close()
	} else {
		tw.Flush()
	}
	return tb.Bytes()
}

// gz returns b gzip-compressed.
func gz(b []byte) []byte {
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	zw.Write(b)
	zw.Close()
	return gb.Bytes()
}

// publish publishes name@version with npm's publish request; extra fields
// go into its package.json.
func (h *harness) publish(token, name, version string, extra map[string]any) ([]byte, error) {
	m := pkgMeta(name, version, extra)
	pkgJSON, _ := json.Marshal(m)
	t := tgz(pkgJSON)
	code, _, body := do(h.local, "PUT", h.srv.url+"/npm/"+name, h.publishDoc(m, t), "Authorization", "Bearer "+token, "Content-Type", "application/json")
	if code != http.StatusOK {
		return nil, fmt.Errorf("publishing %s@%s: %d %s", name, version, code, body)
	}
	return t, nil
}

// pkgMeta returns the package.json of name@version with the extra fields.
func pkgMeta(name, version string, extra map[string]any) map[string]any {
	m := map[string]any{"name": name, "version": version, "description": "attack test package", "main": "index.js", "license": "MIT"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// publishDoc returns npm's publish request for the package.json m and
// its tarball t.
func (h *harness) publishDoc(m map[string]any, t []byte) []byte {
	name, version := m["name"].(string), m["version"].(string)
	v := make(map[string]any, len(m)+2)
	for k, x := range m {
		v[k] = x
	}
	s512 := sha512.Sum512(t)
	s1 := sha1.Sum(t)
	v["_id"] = name + "@" + version
	v["dist"] = map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:]),
		"tarball": h.srv.url + "/npm/" + name + "/-/" + name + "-" + version + ".tgz"}
	doc, _ := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": map[string]any{"latest": version},
		"versions": map[string]any{version: v},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(t), "length": len(t)}},
	})
	return doc
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
