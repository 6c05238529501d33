package clamd_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/scan/clamd"
	"github.com/trove-dev/trove/internal/scan/clamd/clamdtest"
)

func file(name string, b []byte) scan.File {
	return scan.File{Name: name, Size: int64(len(b)), Content: bytes.NewReader(b)}
}

// TestClamd: a real clamd with the test signature answers PING and
// VERSION; a clean stream is OK, the payload is found alone and inside an
// npm tarball (clamd unpacks it), across chunk boundaries; a stream over
// StreamMaxLength is an error, not a verdict.
func TestClamd(t *testing.T) {
	c := clamdtest.Start(t, clamdtest.Options{StreamMaxLength: 1 << 20})
	ctx := context.Background()
	v, err := c.Version(ctx)
	if err != nil || !strings.HasPrefix(v, "ClamAV ") {
		t.Errorf("Version = %q, %v; want ClamAV …", v, err)
	}
	sc := clamd.NewScanner(c)
	if !sc.Slow() {
		t.Error("Slow() = false")
	}
	payload := clamdtest.Payload
	big := strings.Repeat("x", clamd.ChunkSize-10) + payload // split across two chunks
	for _, tc := range []struct {
		name string
		f    scan.File
		want []scan.Finding
	}{
		{"clean", file("clean-1.0.0.tgz", archivetest.TarGz(t, archivetest.TarEntry{Name: "package/index.js", Body: "module.exports = 1\n"})), nil},
		{"payload", file("setup.py", []byte("# "+payload+"\n")),
			[]scan.Finding{{Rule: clamd.RuleSignature, File: "setup.py", Verdict: scan.Reject, Malicious: true, Message: "ClamAV found " + clamdtest.Signature + ".UNOFFICIAL in it"}}},
		{"in a tarball", file("evil-1.0.0.tgz", archivetest.TarGz(t, archivetest.TarEntry{Name: "package/index.js", Body: "// " + payload + "\n"})),
			[]scan.Finding{{Rule: clamd.RuleSignature, File: "evil-1.0.0.tgz", Verdict: scan.Reject, Malicious: true, Message: "ClamAV found " + clamdtest.Signature + ".UNOFFICIAL in it"}}},
		{"across chunks", file("big.js", []byte(big)),
			[]scan.Finding{{Rule: clamd.RuleSignature, File: "big.js", Verdict: scan.Reject, Malicious: true, Message: "ClamAV found " + clamdtest.Signature + ".UNOFFICIAL in it"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sc.Scan(ctx, &scan.Artifact{Ecosystem: "npm", Name: "x", Version: "1.0.0", Files: []scan.File{tc.f}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
		})
	}
	_, err = sc.Scan(ctx, &scan.Artifact{Files: []scan.File{file("huge.bin", bytes.Repeat([]byte("y"), 2<<20))}})
	if !errors.Is(err, clamd.ErrSizeLimit) {
		t.Errorf("Scan(2 MiB over a 1 MiB StreamMaxLength) = %v, want ErrSizeLimit", err)
	}
}

// TestClient: addresses are checked; an unreachable clamd and one that
// does not answer in time are errors.
func TestClient(t *testing.T) {
	for _, bad := range []string{"", "clamd.ctl", "http:x", "tcp:", "tcp:localhost", "unix:"} {
		if _, err := clamd.New(bad); err == nil {
			t.Errorf("New(%q) succeeded", bad)
		}
	}
	c, err := clamd.New("unix:" + filepath.Join(t.TempDir(), "none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "connecting to clamd") {
		t.Errorf("Ping(no server) = %v", err)
	}
	// A server that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c, err = clamd.New("tcp:" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Scan(ctx, strings.NewReader("hello")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Scan(silent server) = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Scan(silent server) took %v", d)
	}
}
