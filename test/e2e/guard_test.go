//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dialFrom opens a connection to the server from a loopback source address.
func dialFrom(t *testing.T, tr *Trove, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", strings.TrimPrefix(tr.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin waits for the server to end the connection (after any
// response) and reports how long it took, failing after limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s", limit)
	}
	return time.Since(start)
}

// TestServeGuards: trove serve refuses connections beyond the per-address
// limit while others are served, closes connections whose headers or
// bodies do not arrive, and rate-limits sign-ins with Retry-After.
func TestServeGuards(t *testing.T) {
	tr := startTrove(t, "TROVE_CONNECTIONS_MAX_PER_ADDRESS=4", "TROVE_CONNECTIONS_HEADER_TIMEOUT=2s",
		"TROVE_CONNECTIONS_BODY_GRACE=1s", "TROVE_RATES_LOGINS=3/1h")
	token := alice(t, tr)

	var held []net.Conn
	for range 4 {
		held = append(held, dialFrom(t, tr, "127.0.0.2"))
	}
	extra := dialFrom(t, tr, "127.0.0.2")
	extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("5th connection from one address: %v %v, want 503", resp, err)
	}
	if resp, err := http.Get(tr.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("another address while one is at its limit: %v %v", resp, err)
	}
	// Connections that never finish their headers are closed.
	for _, c := range held {
		if d := closedWithin(t, c, 6*time.Second); d > 4*time.Second {
			t.Errorf("an idle connection was closed after %s, want about the 2s header timeout", d)
		}
	}

	// An upload whose body never comes: cut after the grace period, and
	// nothing allocated for the size it claimed.
	c := dialFrom(t, tr, "127.0.0.3")
	fmt.Fprintf(c, "PUT /npm/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", token, 128<<20)
	if d := closedWithin(t, c, 10*time.Second); d > 5*time.Second {
		t.Errorf("a header-only 128 MiB upload held its connection for %s", d)
	}

	// Sign-ins: three per address per hour here, then 429 with Retry-After.
	login := func() *http.Response {
		req, _ := http.NewRequest("PUT", tr.URL+"/npm/-/user/org.couchdb.user:alice",
			strings.NewReader(`{"name":"alice","password":"not the password"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		if resp := login(); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("sign-in %d with a wrong password: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp = login()
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || err != nil || s < 1 {
		t.Errorf("4th sign-in: %d, Retry-After %q; want 429 with seconds to wait", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !tr.Logged(`sign-in failed.*client=127\.0\.0\.1`) {
		t.Errorf("failed sign-ins were not logged with the client address:\n%s", tr.Log())
	}
}

// TestServeDamagedFile: a stored file whose bytes rotted is never served:
// the download answers 503 saying so, and trove fsck reports it.
func TestServeDamagedFile(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	npm.must(writePackage(t, libFiles("1.0.0")), "publish")

	var blobs []string
	filepath.WalkDir(filepath.Join(tr.Data, "blobs", "sha256"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			blobs = append(blobs, p)
		}
		return nil
	})
	if len(blobs) != 1 {
		t.Fatalf("blobs after one npm publish: %v, want the tarball alone", blobs)
	}
	b, err := os.ReadFile(blobs[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	os.Chmod(blobs[0], 0o644)
	if err := os.WriteFile(blobs[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(tr.URL + "/npm/@acme/lib/-/lib-1.0.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "damaged") {
		t.Errorf("download of a damaged tarball: %d %s; want 503 saying it is damaged", resp.StatusCode, body)
	}
	out, err := runCmd(t, "", nil, "", troveBin, "fsck", "--data", tr.Data)
	if err == nil || !strings.Contains(out, "damaged") || !strings.Contains(out, "lib-1.0.0.tgz") || !strings.Contains(out, "1 damaged or missing") {
		t.Errorf("trove fsck after the damage: %v\n%s", err, out)
	}
}
