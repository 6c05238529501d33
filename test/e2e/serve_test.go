//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// uploadRequest returns a raw HTTP/1.1 twine-style upload request of the
// wheel at path, authenticated with token.
func uploadRequest(t *testing.T, tr *Trove, path, token string) []byte {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	name := filepath.Base(path)
	dist, rest, _ := strings.Cut(name, "-")
	version, _, _ := strings.Cut(rest, "-")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{
		":action": "file_upload", "protocol_version": "1", "name": dist, "version": version,
		"filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1", "sha256_digest": hex.EncodeToString(sum[:]),
	} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("content", name)
	fw.Write(content)
	mw.Close()
	host := strings.TrimPrefix(tr.URL, "http://")
	head := fmt.Sprintf("POST /pypi/legacy/ HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		host, base64.StdEncoding.EncodeToString([]byte("__token__:"+token)), mw.FormDataContentType(), body.Len())
	return append([]byte(head), body.Bytes()...)
}

// TestServeGracefulShutdown checks that on SIGTERM an upload in flight
// finishes and is published, and that `trove serve` then exits cleanly.
func TestServeGracefulShutdown(t *testing.T) {
	_, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "one"))
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "*", "publish")
	req := uploadRequest(t, tr, wheel, token)

	conn, err := net.Dial("tcp", strings.TrimPrefix(tr.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(req) / 2
	if _, err := conn.Write(req[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server is now reading the body
	tr.cmd.Process.Signal(os.Interrupt)
	time.Sleep(300 * time.Millisecond)
	if _, err := http.Get(tr.URL + "/healthz"); err == nil {
		t.Errorf("a stopping server still accepts new connections")
	}
	if _, err := conn.Write(req[half:]); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the upload's response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload in flight during shutdown: %s, want 200 OK", resp.Status)
	}
	if err := tr.Stop(20 * time.Second); err != nil {
		t.Fatalf("trove serve exited with %v", err)
	}
	if !strings.Contains(tr.Log(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", tr.Log())
	}

	// The upload was committed: a new server on the same data serves it.
	tr2 := startTroveAt(t, tr.Data)
	resp, err = http.Get(tr2.URL + "/pypi/simple/" + pyLib + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after restart the project page is %s, want 200", resp.Status)
	}
}

// TestServeShutdownTimeoutRollsBack checks that an upload still running
// when the shutdown timeout expires is cancelled and leaves nothing behind.
func TestServeShutdownTimeoutRollsBack(t *testing.T) {
	_, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "one"))
	tr := startTrove(t, "TROVE_SHUTDOWN_TIMEOUT=1s")
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "*", "publish")
	req := uploadRequest(t, tr, wheel, token)

	conn, err := net.Dial("tcp", strings.TrimPrefix(tr.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(req[:len(req)/2])
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := tr.Stop(20 * time.Second); err != nil {
		t.Fatalf("trove serve exited with %v", err)
	}
	if d := time.Since(start); d < time.Second || d > 10*time.Second {
		t.Errorf("shutdown took %s, want about the 1s timeout", d)
	}
	if !strings.Contains(tr.Log(), "cancelling them") {
		t.Errorf("the log does not say requests were cancelled:\n%s", tr.Log())
	}

	tr2 := startTroveAt(t, tr.Data)
	resp, err := http.Get(tr2.URL + "/pypi/simple/" + pyLib + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("after a cancelled upload the project page is %s, want 404", resp.Status)
	}
	left, _ := filepath.Glob(filepath.Join(tr.Data, "tmp", "*"))
	if len(left) > 0 {
		t.Errorf("staged upload files left behind after restart: %v", left)
	}
}

// upload sends a wheel to the server and fails the test unless it is accepted.
func upload(t *testing.T, tr *Trove, wheel, token string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(tr.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(uploadRequest(t, tr, wheel, token))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("upload of %s: %v %v", filepath.Base(wheel), resp, err)
	}
}

// copyDB copies the SQLite database files of a stopped server.
func copyDB(t *testing.T, fromDir, toDir string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(filepath.Join(fromDir, "trove.db"+suffix))
		if os.IsNotExist(err) {
			os.Remove(filepath.Join(toDir, "trove.db"+suffix))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(toDir, 0o755)
		if err := os.WriteFile(filepath.Join(toDir, "trove.db"+suffix), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeReadOnlyOnRolledBackLog restores an older database under a
// server that already signed a larger transparency log: it starts
// read-only, saying what is missing, and refuses every upload.
func TestServeReadOnlyOnRolledBackLog(t *testing.T) {
	_, wheel1 := pyBuild(t, pyProject(t, pyLib, "1.0.0", "one"))
	_, wheel2 := pyBuild(t, pyProject(t, pyLib, "2.0.0", "two"))
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "*", "publish")
	upload(t, tr, wheel1, token)
	if err := tr.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	backup := t.TempDir()
	copyDB(t, tr.Data, backup)

	tr2 := startTroveAt(t, tr.Data)
	upload(t, tr2, wheel2, token)
	if err := tr2.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	copyDB(t, backup, tr.Data) // restore the older backup

	tr3 := startTroveAt(t, tr.Data)
	behind := "read-only: the transparency log has 2 records, but this server published a checkpoint of 3"
	if body := readyz(t, tr3); !strings.Contains(body, behind) {
		t.Errorf("/readyz = %q, want it to say %q", body, behind)
	}
	resp, err := http.Post(tr3.URL+"/pypi/legacy/", "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(resp.Status, "read-only") && !strings.Contains(tr3.Log(), behind) {
		t.Errorf("upload to a rolled-back server: %s, want 503", resp.Status)
	}
}
