//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// pebbleVersion is the ACME test server the test runs (scripts/test.sh
// installs it).
const pebbleVersion = "v2.10.3"

// pebble finds the pebble binary and its test certificates, or fails
// saying how to install them.
func pebble(t *testing.T) (bin, certs string) {
	t.Helper()
	install := "go install github.com/letsencrypt/pebble/v2/cmd/pebble@" + pebbleVersion
	bin, err := exec.LookPath("pebble")
	if err != nil {
		gobin := strings.TrimSpace(must(t, "", nil, "go", "env", "GOPATH"))
		bin = filepath.Join(gobin, "bin", "pebble")
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("pebble (Let's Encrypt's ACME test server) is not installed; install it with: %s", install)
		}
	}
	modcache := strings.TrimSpace(must(t, "", nil, "go", "env", "GOMODCACHE"))
	certs = filepath.Join(modcache, "github.com", "letsencrypt", "pebble", "v2@"+pebbleVersion, "test", "certs")
	if _, err := os.Stat(filepath.Join(certs, "pebble.minica.pem")); err != nil {
		t.Fatalf("pebble's test certificates are not in the module cache (%v); get them with: %s", err, install)
	}
	return bin, certs
}

// serveDNS answers every A query with 127.0.0.1 (and AAAA with nothing),
// over TCP as pebble asks, so that pebble validates any name on this
// machine. It returns the address it listens on.
func serveDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go answerDNS(c)
		}
	}()
	return ln.Addr().String()
}

// answerDNS answers the length-prefixed queries on a DNS-over-TCP connection.
func answerDNS(c net.Conn) {
	defer c.Close()
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		buf := make([]byte, int(n[0])<<8|int(n[1]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf)
		if err != nil {
			return
		}
		q, err := p.Question()
		if err != nil {
			return
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
		b.StartQuestions()
		b.Question(q)
		b.StartAnswers()
		if q.Type == dnsmessage.TypeA {
			b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
		}
		msg, err := b.Finish()
		if err != nil {
			return
		}
		if _, err := c.Write(append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)); err != nil {
			return
		}
	}
}

// startPebble runs pebble validating tls-alpn-01 challenges on tlsPort,
// and returns its directory URL, the CA file that verifies pebble itself
// and the pool of the root it issues under.
func startPebble(t *testing.T, tlsPort string) (dir, caFile string, roots *x509.CertPool) {
	t.Helper()
	bin, certs := pebble(t)
	acmeAddr, mgmtAddr, httpAddr := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	tp, _ := strconv.Atoi(tlsPort)
	hp, _ := strconv.Atoi(httpPort)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": acmeAddr, "managementListenAddress": mgmtAddr,
		"certificate": filepath.Join(certs, "localhost", "cert.pem"), "privateKey": filepath.Join(certs, "localhost", "key.pem"),
		"httpPort": hp, "tlsPort": tp, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(t.TempDir(), "pebble.json")
	os.WriteFile(cfgFile, b, 0o644)
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-config", cfgFile, "-dnsserver", serveDNS(t))
	// No artificial delays, no spurious nonce rejections; challenges are
	// validated for real.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_VA_ALWAYS_VALID=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble log:\n%s", log)
		}
	})
	caFile = filepath.Join(certs, "pebble.minica.pem")
	pem, _ := os.ReadFile(caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	mgmt := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := mgmt.Get("https://" + mgmtAddr + "/roots/0")
		if err == nil && resp.StatusCode == http.StatusOK {
			root, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(root) {
				t.Fatalf("pebble's root is not PEM: %q", root)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble not ready after 15s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "https://" + acmeAddr + "/dir", caFile, roots
}

// TestTLSACME: trove serve obtains its certificate from an ACME server
// (pebble, validating the tls-alpn-01 challenge against trove serve's own
// port) and serves https with it, HTTP/2 and HSTS.
func TestTLSACME(t *testing.T) {
	const domain = "registry.trove.test"
	addr := freeAddr(t, "127.0.0.1")
	_, port, _ := net.SplitHostPort(addr)
	dirURL, caFile, roots := startPebble(t, port)

	tr := &Trove{Data: t.TempDir(), log: &syncBuffer{}}
	tr.URL = "https://" + domain + ":" + port
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: dial, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: roots}}}
	tr.launch(t, client, []string{"--listen", addr, "--tls", "acme"}, []string{
		"TROVE_TLS_ACME_DIRECTORY_URL=" + dirURL, "TROVE_TLS_ACME_DOMAINS=" + domain, "TROVE_TLS_ACME_EMAIL=ops@trove.test",
		"TROVE_TLS_ACME_CA_FILE=" + caFile,
		"TROVE_SECURITY_CONTACT=mailto:security@trove.test", "TROVE_SECURITY_EXPIRES=" + time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339)})

	resp, err := client.Get(tr.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	leaf := resp.TLS.PeerCertificates[0]
	if err := leaf.VerifyHostname(domain); err != nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("served certificate for %v issued by %q (%v), want one from pebble for %s", leaf.DNSNames, leaf.Issuer.CommonName, err, domain)
	}
	if resp.Proto != "HTTP/2.0" || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Errorf("%s, Strict-Transport-Security %q; want HTTP/2.0 and max-age=31536000", resp.Proto, resp.Header.Get("Strict-Transport-Security"))
	}
	if !tr.Logged("tls: ACME certificate ready") {
		t.Fatal("trove serve did not log that its ACME certificate is ready")
	}
	cached, _ := filepath.Glob(filepath.Join(tr.Data, "tls", "acme", domain+"*"))
	if len(cached) == 0 {
		t.Errorf("no certificate cached under %s", filepath.Join(tr.Data, "tls", "acme"))
	}
	// A name that is not configured gets no certificate.
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "other.trove.test", RootCAs: roots})
	if err == nil {
		c.Close()
		t.Error("a handshake for a name not in tls.acme.domains succeeded")
	}
}
