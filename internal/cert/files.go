package cert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Files is a certificate chain and private key read from PEM files.
type Files struct {
	certFile, keyFile string
	cur               atomic.Pointer[loaded]
	mu                sync.Mutex // serializes Reload
	failed            *[2]stamp  // the files' states when a reload last failed
}

// loaded is what was read, with the files' states when it was.
type loaded struct {
	cert      *tls.Certificate
	certStamp stamp
	keyStamp  stamp
}

// stamp identifies a version of a file cheaply.
type stamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	return stamp{fi.ModTime(), fi.Size()}, nil
}

// LoadFiles reads the certificate chain (leaf first) and its private key.
// It fails if they do not match, or if the leaf has expired at now.
func LoadFiles(certFile, keyFile string, now time.Time) (*Files, error) {
	f := &Files{certFile: certFile, keyFile: keyFile}
	l, err := f.load(now)
	if err != nil {
		return nil, err
	}
	f.cur.Store(l)
	return f, nil
}

func (f *Files) load(now time.Time) (*loaded, error) {
	cs, err := stampOf(f.certFile)
	if err != nil {
		return nil, fmt.Errorf("reading tls.cert_file: %w", err)
	}
	ks, err := stampOf(f.keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading tls.key_file: %w", err)
	}
	c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		// The error names files and PEM blocks, never key material.
		return nil, fmt.Errorf("loading tls.cert_file %s and tls.key_file %s: %w", f.certFile, f.keyFile, err)
	}
	if err := checkLeaf(c.Leaf, now); err != nil {
		return nil, fmt.Errorf("tls.cert_file %s: %w", f.certFile, err)
	}
	return &loaded{cert: &c, certStamp: cs, keyStamp: ks}, nil
}

// checkLeaf refuses a leaf certificate that is not valid at now.
func checkLeaf(leaf *x509.Certificate, now time.Time) error {
	if leaf == nil {
		return errors.New("no certificate")
	}
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("the certificate for %v expired at %s", names(leaf), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("the certificate for %v is not valid before %s", names(leaf), leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// names lists the host names and addresses a certificate is for.
func names(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// GetCertificate returns the certificate loaded last.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load().cert, nil
}

// Leaf returns the leaf certificate loaded last.
func (f *Files) Leaf() *x509.Certificate { return f.cur.Load().cert.Leaf }

// Reload reads the files again if either changed since they were last
// read (force: even if not), and reports whether it loaded new ones. On
// an error the certificate already loaded stays in use.
func (f *Files) Reload(force bool, now time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.cur.Load()
	if !force {
		cs, _ := stampOf(f.certFile) // a missing file has the zero stamp
		ks, _ := stampOf(f.keyFile)
		states := [2]stamp{cs, ks}
		if states == [2]stamp{old.certStamp, old.keyStamp} || f.failed != nil && states == *f.failed {
			return false, nil // unchanged, or unchanged since a failure already reported
		}
		f.failed = &states
	}
	l, err := f.load(now)
	if err != nil {
		return false, err
	}
	f.failed = nil
	f.cur.Store(l)
	return true, nil
}

// Watch reloads the files every interval when they change, until ctx is
// done, and reports each reload to report (err nil: new ones loaded).
// A key written a moment before its certificate fails to match; the next
// look, an interval later, loads the pair.
func (f *Files) Watch(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			changed, err := f.Reload(false, now)
			if changed || err != nil {
				report(err)
			}
		}
	}
}
