package cert_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/cert"
)

// writePair writes a self-signed certificate for host valid from
// notBefore to notAfter, and its key, and returns the certificate.
func writePair(t *testing.T, certFile, keyFile, host string, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: notBefore, NotAfter: notAfter,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func served(t *testing.T, src cert.Source) *x509.Certificate {
	t.Helper()
	c, err := src.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

// TestFilesReload: changed files are loaded; unchanged ones are not read
// again; a broken pair keeps the old certificate and is reported once.
func TestFilesReload(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	now := time.Now()
	first := writePair(t, cf, kf, "a.example.test", now.Add(-time.Hour), now.Add(time.Hour))
	f, err := cert.LoadFiles(cf, kf, now)
	if err != nil {
		t.Fatal(err)
	}
	if !served(t, f).Equal(first) {
		t.Fatal("LoadFiles serves another certificate")
	}
	if changed, err := f.Reload(false, now); changed || err != nil {
		t.Errorf("Reload of unchanged files = %v, %v, want false, nil", changed, err)
	}
	second := writePair(t, cf, kf, "a.example.test", now.Add(-time.Hour), now.Add(2*time.Hour))
	if changed, err := f.Reload(false, now); !changed || err != nil || !served(t, f).Equal(second) {
		t.Fatalf("Reload after renewal = %v, %v, want the new certificate", changed, err)
	}

	// A key that does not match: refused, the old pair stays, and the
	// same broken state is not reported again.
	other := filepath.Join(dir, "other-key.pem")
	writePair(t, filepath.Join(dir, "other-cert.pem"), other, "b.example.test", now.Add(-time.Hour), now.Add(time.Hour))
	k, _ := os.ReadFile(other)
	os.WriteFile(kf, k, 0o600)
	if changed, err := f.Reload(false, now); changed || err == nil {
		t.Errorf("Reload with a mismatched key = %v, %v, want an error", changed, err)
	} else if strings.Contains(err.Error(), "PRIVATE KEY") && strings.Contains(err.Error(), string(k[30:60])) {
		t.Errorf("the error quotes the key: %v", err)
	}
	if !served(t, f).Equal(second) {
		t.Error("a failed reload replaced the certificate")
	}
	if changed, err := f.Reload(false, now); changed || err != nil {
		t.Errorf("second Reload of the same broken files = %v, %v, want false, nil (already reported)", changed, err)
	}
	if _, err := f.Reload(true, now); err == nil {
		t.Error("forced Reload of broken files succeeded")
	}
}

func TestFilesRefused(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	now := time.Now()
	writePair(t, cf, kf, "a.example.test", now.Add(-2*time.Hour), now.Add(-time.Hour))
	if _, err := cert.LoadFiles(cf, kf, now); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("LoadFiles of an expired certificate: %v, want an expiry error", err)
	}
	writePair(t, cf, kf, "a.example.test", now.Add(time.Hour), now.Add(2*time.Hour))
	if _, err := cert.LoadFiles(cf, kf, now); err == nil || !strings.Contains(err.Error(), "not valid before") {
		t.Errorf("LoadFiles of a future certificate: %v", err)
	}
	if _, err := cert.LoadFiles(filepath.Join(dir, "none.pem"), kf, now); err == nil || !strings.Contains(err.Error(), "tls.cert_file") {
		t.Errorf("LoadFiles of a missing file: %v", err)
	}
}

// TestFilesWatch: a renewal on disk is picked up without a signal.
func TestFilesWatch(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	now := time.Now()
	writePair(t, cf, kf, "a.example.test", now.Add(-time.Hour), now.Add(time.Hour))
	f, err := cert.LoadFiles(cf, kf, now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var reports []error
	go f.Watch(ctx, 20*time.Millisecond, func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() })
	renewed := writePair(t, cf, kf, "a.example.test", now.Add(-time.Hour), now.Add(3*time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for !served(t, f).Equal(renewed) {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not loaded within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) == 0 || reports[len(reports)-1] != nil {
		t.Errorf("reports = %v, want a successful reload", reports)
	}
}

// TestLocal: the CA is made once (key 0600) and reused; the leaf verifies
// for every host; the CA cannot vouch for other names, and refuses new
// hosts rather than silently making a new CA.
func TestLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	hosts := []string{"localhost", "127.0.0.1", "::1", "[::1]", "trove.example.test", "0.0.0.0"}
	l, err := cert.NewLocal(dir, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Created || l.CAPath != filepath.Join(dir, cert.CAFile) {
		t.Errorf("first NewLocal: Created %v, CAPath %s", l.Created, l.CAPath)
	}
	if got := strings.Join(l.Hosts, ","); got != "localhost,127.0.0.1,::1,trove.example.test" {
		t.Errorf("Hosts = %s", got)
	}
	for name, want := range map[string]os.FileMode{cert.CAKeyFile: 0o600, ".": 0o700} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v, want %v", name, err, fi.Mode().Perm(), want)
		}
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(l.CAPath)
	pool.AppendCertsFromPEM(caPEM)
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "trove.example.test"} {
		if _, err := l.Leaf().Verify(x509.VerifyOptions{Roots: pool, DNSName: h}); err != nil {
			t.Errorf("leaf for %s: %v", h, err)
		}
	}

	l2, err := cert.NewLocal(dir, []string{"localhost", "127.0.0.1"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(l2.CAPath)
	if l2.Created || string(again) != string(caPEM) {
		t.Error("the CA was not reused")
	}
	if l2.Leaf().SerialNumber.Cmp(l.Leaf().SerialNumber) == 0 {
		t.Error("the leaf was not issued anew")
	}

	if _, err := cert.NewLocal(dir, []string{"other.example.test"}, now); err == nil || !strings.Contains(err.Error(), "remove the directory") {
		t.Errorf("NewLocal for a host outside the CA's constraints: %v", err)
	}
	if _, err := cert.NewLocal(dir, []string{"localhost"}, now.Add(cert.CALifetime-cert.LeafLifetime/2)); err == nil || !strings.Contains(err.Error(), "expires") {
		t.Errorf("NewLocal near the CA's expiry: %v", err)
	}
	if _, err := cert.NewLocal(t.TempDir(), []string{"0.0.0.0", " "}, now); err == nil {
		t.Error("NewLocal without hosts succeeded")
	}
}

// TestLocalConstrained: a leaf for another name signed with the CA's own
// key fails verification: trusting the CA trusts it for its hosts only.
func TestLocalConstrained(t *testing.T) {
	dir := t.TempDir()
	if _, err := cert.NewLocal(dir, []string{"localhost", "127.0.0.1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, cert.CAFile), filepath.Join(dir, cert.CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tmpl := range []*x509.Certificate{
		{SerialNumber: big.NewInt(7), DNSNames: []string{"bank.example.test"}},
		{SerialNumber: big.NewInt(8), IPAddresses: []net.IP{net.ParseIP("192.0.2.1")}},
	} {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, pair.Leaf, key.Public(), pair.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		forged, _ := x509.ParseCertificate(der)
		pool := x509.NewCertPool()
		pool.AddCert(pair.Leaf)
		var cie x509.CertificateInvalidError
		if _, err := forged.Verify(x509.VerifyOptions{Roots: pool}); !errors.As(err, &cie) || cie.Reason != x509.CANotAuthorizedForThisName {
			t.Errorf("a leaf for %v under the local CA: %v, want CANotAuthorizedForThisName", tmpl.DNSNames, err)
		}
	}
}

// TestServerConfig: TLS 1.2 at least, and HTTP/2.
func TestServerConfig(t *testing.T) {
	dir := t.TempDir()
	l, err := cert.NewLocal(dir, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{TLSConfig: cert.ServerConfig(l), ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })}
	go hs.ServeTLS(ln, "", "")
	defer hs.Close()
	url := "https://" + ln.Addr().String()
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(l.CAPath)
	pool.AppendCertsFromPEM(caPEM)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/2.0" {
		t.Errorf("protocol = %s, want HTTP/2.0", b)
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, MinVersion: v, MaxVersion: v})
		if err == nil {
			c.Close()
			t.Errorf("a TLS %x handshake succeeded", v)
		}
	}
}

func TestNewACMERefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := cert.NewACME(cert.ACMEOptions{Domains: []string{"a.example.test"}, CacheDir: dir}); err == nil {
		t.Error("NewACME without a directory URL succeeded")
	}
	if _, err := cert.NewACME(cert.ACMEOptions{DirectoryURL: "https://acme.example.test/dir", CacheDir: dir}); err == nil {
		t.Error("NewACME without domains succeeded")
	}
	a, err := cert.NewACME(cert.ACMEOptions{DirectoryURL: "https://acme.example.test/dir", Domains: []string{"a.example.test"}, CacheDir: filepath.Join(dir, "acme")})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "acme")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v %v, want mode 0700", err, fi.Mode().Perm())
	}
	if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: "other.example.test"}); err == nil {
		t.Error("a certificate for a domain not configured was attempted")
	}
}
