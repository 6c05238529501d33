// Package s3test starts a real S3 server for tests: versitygw, an
// Apache-licensed S3 gateway, serving a temporary directory on a free
// loopback port. Any package's tests can use it:
//
//	srv := s3test.Start(t)
//	bucket := srv.Bucket(t)
//
// The server is stopped, and its directory removed, when the test ends.
// A missing versitygw binary fails the test with the command that
// installs it (scripts/test.sh runs it): tests never skip for want of it.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Install is the command that installs the pinned versitygw.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// A Server is a running versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string // the directory it serves; one subdirectory per bucket

	client *minio.Client
	log    *lockedBuffer
}

// Binary returns the path of the versitygw binary: on $PATH, else in
// $GOBIN or $GOPATH/bin, where go install puts it.
func Binary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	dirs := []string{os.Getenv("GOBIN")}
	for _, p := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw, the S3 server these tests need, is not installed: install it with\n\t%s\n(scripts/test.sh does)", Install)
}

// Start starts versitygw for the test and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{AccessKey: "trove-test-" + randomHex(4), SecretKey: randomHex(20), Dir: t.TempDir(), log: &lockedBuffer{}}
	// A port found free may be taken before versitygw binds it: try again.
	var last error
	for try := 0; try < 3; try++ {
		if last = s.start(t, bin); last == nil {
			return s
		}
	}
	t.Fatalf("starting versitygw: %v\n%s", last, s.log)
	return nil
}

func (s *Server) start(t testing.TB, bin string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--access", s.AccessKey, "--secret", s.SecretKey, "--port", addr, "posix", s.Dir)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	s.Endpoint = "http://" + addr
	if err := waitReady(addr, done); err != nil {
		cmd.Process.Kill()
		return err
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	s.client, err = minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: "us-east-1"})
	return err
}

// waitReady waits until the server answers HTTP on addr, or exits.
func waitReady(addr string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("versitygw not answering on %s after 30s", addr)
}

// Bucket creates a new, empty bucket and returns its name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := "trove-" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatalf("creating bucket %s: %v\n%s", name, err, s.log)
	}
	return name
}

// Client returns a client of the server with its root credentials, for
// tests that look at the bucket behind the store's back.
func (s *Server) Client() *minio.Client { return s.client }

// Log returns what versitygw printed so far.
func (s *Server) Log() string { return s.log.String() }

// Host returns the host:port of the endpoint.
func (s *Server) Host() string { return strings.TrimPrefix(s.Endpoint, "http://") }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
