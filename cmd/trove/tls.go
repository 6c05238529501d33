package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/trove-dev/trove/internal/cert"
	"github.com/trove-dev/trove/internal/config"
)

// certWatchInterval is how often trove serve looks for renewed
// certificate files.
const certWatchInterval = 10 * time.Second

// A tlsSetup is what trove serve serves https with: its settings and the
// source of its certificates, which run keeps fresh.
type tlsSetup struct {
	config *tls.Config
	files  *cert.Files
	local  *cert.Local
	acme   *cert.ACME
}

// setupTLS prepares the configured TLS mode; nil for plain HTTP.
func setupTLS(c *config.Config, now time.Time) (*tlsSetup, error) {
	switch c.TLSMode() {
	case config.TLSFiles:
		f, err := cert.LoadFiles(c.TLS.CertFile, c.TLS.KeyFile, now)
		if err != nil {
			return nil, hinted{err, "tls.cert_file must hold the PEM certificate chain (leaf first) and tls.key_file its private key"}
		}
		checkKeyFile(c.TLS.KeyFile)
		checkCovers(f.Leaf(), c.BaseURL)
		return &tlsSetup{config: cert.ServerConfig(f), files: f}, nil
	case config.TLSSelfSigned:
		l, err := cert.NewLocal(c.TLSDir(), localHosts(c), now)
		if err != nil {
			return nil, err
		}
		return &tlsSetup{config: cert.ServerConfig(l), local: l}, nil
	case config.TLSACME:
		return setupACME(c)
	}
	return nil, nil
}

func setupACME(c *config.Config) (*tlsSetup, error) {
	var roots *x509.CertPool
	if f := c.TLS.ACME.CAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading tls.acme.ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.acme.ca_file %s: no PEM certificates in it", f)
		}
	}
	a, err := cert.NewACME(cert.ACMEOptions{DirectoryURL: c.TLS.ACME.DirectoryURL, Email: c.TLS.ACME.Email,
		Domains: c.TLS.ACME.Domains, CacheDir: c.TLS.ACME.CacheDir, Roots: roots})
	if err != nil {
		return nil, err
	}
	return &tlsSetup{config: cert.ServerConfig(a, a.Protos()...), acme: a}, nil
}

// localHosts are the names the self-signed certificate is for: this
// machine's loopback names, and the hosts of base_url and listen (with
// the machine's name when listening on every address).
func localHosts(c *config.Config) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if u, err := url.Parse(c.BaseURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	if h, _, err := net.SplitHostPort(c.Listen); err == nil {
		if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
			if name, err := os.Hostname(); err == nil {
				hosts = append(hosts, name)
			}
		} else {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// checkKeyFile warns when others may read the private key.
func checkKeyFile(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		slog.Warn("tls.key_file can be read by other users; make it readable by this user only (chmod 600)", "file", path, "mode", fi.Mode().Perm().String())
	}
}

// checkCovers warns when the certificate is not for base_url's host.
func checkCovers(leaf *x509.Certificate, baseURL string) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return
	}
	if err := leaf.VerifyHostname(u.Hostname()); err != nil {
		slog.Warn("the TLS certificate is not for base_url's host: clients will refuse it", "base_url", baseURL, "err", err)
	}
}

// run keeps the certificates fresh until ctx is done: files are read
// again when they change and on SIGHUP; ACME certificates are obtained
// now (the server must be serving: the CA validates through it) and
// renewed by autocert before they expire.
func (t *tlsSetup) run(ctx context.Context) {
	switch {
	case t.files != nil:
		go t.files.Watch(ctx, certWatchInterval, reported)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					_, err := t.files.Reload(true, time.Now())
					reported(err)
				}
			}
		}()
		logLeaf("tls: serving certificate files", t.files.Leaf())
	case t.local != nil:
		logLeaf("tls: serving a certificate from the local CA "+t.local.CAPath, t.local.Leaf())
	case t.acme != nil:
		go func() {
			leaves, err := t.acme.Obtain()
			for _, l := range leaves {
				logLeaf("tls: ACME certificate ready", l)
			}
			if err != nil {
				slog.Error("tls: "+err.Error(), "hint", "check tls.acme settings and that the CA can reach this server on port 443 of each domain (tls-alpn-01)")
			}
		}()
	}
}

func reported(err error) {
	if err != nil {
		slog.Error("tls: reloading certificate files; still serving the ones loaded before", "err", err)
		return
	}
	slog.Info("tls: certificate files reloaded")
}

func logLeaf(msg string, leaf *x509.Certificate) {
	hosts := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	slog.Info(msg, "hosts", strings.Join(hosts, ","), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
}

// printTrust tells the user how to make each client trust the local CA.
func printTrust(w io.Writer, l *cert.Local, baseURL string) {
	ca, err := filepath.Abs(l.CAPath)
	if err != nil {
		ca = l.CAPath
	}
	made := "made earlier, reused"
	if l.Created {
		made = "made now"
	}
	fmt.Fprintf(w, `trove: serving https with a certificate from a local CA for trials (%s):
trove:   %s
trove: it is valid for %s only. Trust it in each client:
trove:   npm:    npm config set cafile %s   (or export NODE_EXTRA_CA_CERTS=%s)
trove:           npm install --registry %s/npm/
trove:   pip:    export PIP_CERT=%s   (or pip install --cert %s ...)
trove:           pip install --index-url %s/pypi/simple/ ...
trove:   twine:  twine upload --cert %s --repository-url %s/pypi/legacy/ ...
trove:   go:     export SSL_CERT_FILE=%s GOPROXY=%s/go   (the go command then trusts only this CA)
trove:   curl:   curl --cacert %s %s/healthz
`, made, ca, strings.Join(l.Hosts, ", "), ca, ca, baseURL, ca, ca, baseURL, ca, baseURL, ca, baseURL, ca, baseURL)
}

// httpsURL is the base URL clients should use for credentials, if the
// server has an https one.
func httpsURL(c *config.Config) string {
	if strings.HasPrefix(c.BaseURL, "https://") {
		return c.BaseURL
	}
	return ""
}
