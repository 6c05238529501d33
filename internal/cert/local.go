package cert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Lifetimes of what Local makes. A leaf is made at every start, so a
// server restarted within a year never serves an expired one.
const (
	CALifetime   = 10 * 365 * 24 * time.Hour
	LeafLifetime = 397 * 24 * time.Hour // the longest browsers accept
)

// The files of a local CA in its directory.
const (
	CAFile    = "ca.pem"     // the certificate clients trust
	CAKeyFile = "ca-key.pem" // its private key, mode 0600
)

// Local is a local certificate authority kept in a directory, and the
// leaf certificate it issued for this process.
//
// The CA is made on first use and reused after, so that clients trust it
// once. Its name constraints permit only the host names and addresses it
// was made for: a leaf for any other name fails verification in every
// client, and NewLocal refuses to issue one (remove the directory to make
// a new CA, which clients must then trust again).
type Local struct {
	// CAPath is the CA certificate's file: what clients must trust.
	CAPath string
	// Created says the CA was made by this NewLocal.
	Created bool
	// Hosts are the names and addresses of the leaf.
	Hosts []string
	leaf  *tls.Certificate
}

// NewLocal loads or makes the CA in dir and issues a leaf for hosts (DNS
// names and IP addresses) valid from now.
func NewLocal(dir string, hosts []string, now time.Time) (*Local, error) {
	hosts = cleanHosts(hosts)
	if len(hosts) == 0 {
		return nil, errors.New("a local certificate needs at least one host name or address")
	}
	ca, key, created, err := loadOrMakeCA(dir, hosts, now)
	if err != nil {
		return nil, err
	}
	if now.Add(LeafLifetime).After(ca.NotAfter) {
		return nil, fmt.Errorf("the local CA in %s expires at %s, before a new certificate would; remove the directory to make a new CA (clients must then trust the new one)", dir, ca.NotAfter.UTC().Format(time.RFC3339))
	}
	leaf, err := issue(ca, key, hosts, now)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now}); err != nil {
		return nil, fmt.Errorf("the local CA in %s was made for %s and cannot vouch for %s (%v); remove the directory to make a new CA (clients must then trust the new one)",
			dir, strings.Join(constraints(ca), ", "), strings.Join(hosts, ", "), err)
	}
	return &Local{CAPath: filepath.Join(dir, CAFile), Created: created, Hosts: hosts, leaf: leaf}, nil
}

// GetCertificate returns the leaf.
func (l *Local) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) { return l.leaf, nil }

// Leaf returns the leaf certificate.
func (l *Local) Leaf() *x509.Certificate { return l.leaf.Leaf }

func cleanHosts(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		h = strings.ToLower(strings.Trim(strings.TrimSpace(h), "[]"))
		if ip := net.ParseIP(h); ip != nil {
			if ip.IsUnspecified() {
				continue
			}
			h = ip.String()
		}
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// constraints lists the names and addresses a CA may vouch for.
func constraints(ca *x509.Certificate) []string {
	out := append([]string(nil), ca.PermittedDNSDomains...)
	for _, n := range ca.PermittedIPRanges {
		out = append(out, n.IP.String())
	}
	return out
}

// loadOrMakeCA reads the CA in dir, or makes one for hosts if dir has no
// CA certificate.
func loadOrMakeCA(dir string, hosts []string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, bool, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if errors.Is(err, fs.ErrNotExist) {
		ca, key, err := makeCA(dir, hosts, now)
		return ca, key, true, err
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("reading the local CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, false, fmt.Errorf("reading the local CA's key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, false, fmt.Errorf("loading the local CA in %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !pair.Leaf.IsCA {
		return nil, nil, false, fmt.Errorf("%s is not a CA made by trove serve; remove the directory to make a new one", dir)
	}
	return pair.Leaf, key, false, nil
}

// makeCA makes a CA that may vouch for hosts only, and writes it to dir.
func makeCA(dir string, hosts []string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	name, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:                serial(),
		Subject:                     pkix.Name{CommonName: "Trove local CA (" + name + ", " + now.UTC().Format("2006-01-02") + ")"},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(CALifetime),
		IsCA:                        true,
		BasicConstraintsValid:       true,
		MaxPathLenZero:              true,
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		PermittedDNSDomainsCritical: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			bits := 8 * len(ip.To16())
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			tmpl.PermittedIPRanges = append(tmpl.PermittedIPRanges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
		} else {
			tmpl.PermittedDNSDomains = append(tmpl.PermittedDNSDomains, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("making the local CA: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeCA(dir, der, key); err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

// writeCA writes the key (0600) and then the certificate, each to a
// temporary file renamed into place: a CA certificate on disk always has
// its key beside it.
func writeCA(dir string, der []byte, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making the local CA's directory: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, CAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// issue makes a leaf for hosts signed by the CA.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(LeafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("issuing a local certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// serial returns a random 128-bit serial number.
func serial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b)
	b[0] &= 0x7f // positive
	return new(big.Int).SetBytes(b)
}
