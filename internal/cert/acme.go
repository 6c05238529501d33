package cert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEOptions configure certificates from an ACME server.
type ACMEOptions struct {
	// DirectoryURL is the ACME server's directory. Required: Trove names
	// no certificate authority of its own accord.
	DirectoryURL string
	// Email is the account's contact, for the CA's expiry notices.
	Email string
	// Domains are the host names certificates are obtained for; a
	// handshake for any other name fails.
	Domains []string
	// CacheDir keeps the account key and the certificates (mode 0700).
	CacheDir string
	// Roots verify the ACME server's own certificate; nil: the system's.
	Roots *x509.CertPool
}

// ACME obtains and renews certificates from an ACME server, validating
// with the tls-alpn-01 challenge: the CA connects to a domain on port 443
// (whatever its configuration says for a test server), and the server
// answers there with a challenge certificate. Configuring it accepts the
// CA's terms of service.
type ACME struct {
	m       *autocert.Manager
	domains []string
}

// NewACME returns an ACME source. It contacts no one: certificates are
// obtained at the first handshake that needs one, or by Obtain.
func NewACME(o ACMEOptions) (*ACME, error) {
	if o.DirectoryURL == "" {
		return nil, errors.New("tls.acme.directory_url: required")
	}
	if len(o.Domains) == 0 {
		return nil, errors.New("tls.acme.domains: required")
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("making tls.acme.cache_dir: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if o.Roots != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: o.Roots, MinVersion: tls.VersionTLS12}
		hc.Transport = t
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(o.CacheDir),
		HostPolicy: autocert.HostWhitelist(o.Domains...),
		Email:      o.Email,
		Client:     &acme.Client{DirectoryURL: o.DirectoryURL, HTTPClient: hc, UserAgent: "trove"},
	}
	return &ACME{m: m, domains: o.Domains}, nil
}

// GetCertificate returns the certificate for the handshake's server name,
// obtaining it first if need be, or answers the CA's tls-alpn-01 challenge.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.m.GetCertificate(hello)
}

// Protos are the ALPN protocols the server must accept for the challenge.
func (a *ACME) Protos() []string { return []string{acme.ALPNProto} }

// Obtain gets (or loads from the cache) the certificate of every domain,
// as a handshake from a modern client would, and returns their leaves.
// The server must already be serving: the CA validates through it. Each
// domain takes at most five minutes (autocert's bound).
func (a *ACME) Obtain() ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, d := range a.domains {
		hello := &tls.ClientHelloInfo{
			ServerName:       d,
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedCurves:  []tls.CurveID{tls.CurveP256},
			CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		}
		c, err := a.m.GetCertificate(hello)
		if err != nil {
			return out, fmt.Errorf("obtaining a certificate for %s: %w", d, err)
		}
		out = append(out, c.Leaf)
	}
	return out, nil
}
