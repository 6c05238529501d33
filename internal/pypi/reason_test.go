package pypi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReasonPhrase(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want string
	}{
		{"File already exists", "File already exists"},
		{"two\r\nlines\n\nand\ttabs", "two lines and tabs"},
		{"  padded  ", "padded"},
		{"caf\u00e9 \u2603", "caf? ?"},
		{"bell\x07 and nul\x00", "bell and nul"},
		{"", "Bad Request"},
		{"\r\n", "Bad Request"},
		{strings.Repeat("x", 1000), strings.Repeat("x", maxReasonLen-3) + "..."},
	} {
		if got := reasonPhrase(400, tc.msg); got != tc.want {
			t.Errorf("reasonPhrase(%q) = %q, want %q", tc.msg, got, tc.want)
		}
		got := reasonPhrase(400, tc.msg)
		if len(got) > maxReasonLen || strings.ContainsAny(got, "\r\n") {
			t.Errorf("reasonPhrase(%q) = %q: too long or not one line", tc.msg, got)
		}
	}
}

// rawUpload sends an upload on a plain TCP connection, the body written
// concurrently with reading the response (as a client that sends the
// whole body before it reads would), and returns the response and what
// followed it on the connection.
func rawUpload(t *testing.T, e *testEnv, token string, fields []formField, filename string, content []byte) (*http.Response, string) {
	t.Helper()
	body, ct := multipartBody(t, fields, filename, content, false)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /pypi/legacy/ HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", strings.TrimPrefix(e.URL, "http://"), ct, body.Len())
	if token != "" {
		req, _ := http.NewRequest("POST", "/", nil)
		req.SetBasicAuth("__token__", token)
		fmt.Fprintf(&head, "Authorization: %s\r\n", req.Header.Get("Authorization"))
	}
	head.WriteString("\r\n")
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, io.MultiReader(&head, body))
		sent <- err
	}()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err := <-sent; err != nil {
		t.Errorf("sending the request: %v (the server reset the connection?)", err)
	}
	rest, _ := io.ReadAll(br)
	return resp, string(b) + string(rest)
}

func TestUploadErrorReasonPhrase(t *testing.T) {
	e := newTestEnv(t)
	w := makeWheel(t, "demo", "1.0", metadataFor("demo", "1.0"))
	fields := set(twineForm(kindWheel, "demo", "1.0", w), "sha256_digest", sha([]byte("other")))
	resp, body := rawUpload(t, e, e.token, fields, wheelFilename("demo", "1.0"), w)
	msg := "the SHA-256 digest of the received file is " + sha(w)
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Status, "400 "+msg) || !strings.Contains(body, msg) {
		t.Errorf("status line %q, body %q; want the message in both", resp.Status, body)
	}
	if !resp.Close || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		resp.Header.Get("X-Request-Id") == "" || resp.ContentLength != int64(len(body)) {
		t.Errorf("headers %v, body %d bytes", resp.Header, len(body))
	}
	// The error is counted as such, although net/http never saw its status.
	// The client reads the response before the handler has returned and
	// the request is counted, so wait a little for the count.
	wants := []string{`trove_http_requests_total{code="400",route="pypi.upload"} 1`, `trove_publishes_total{ecosystem="pypi",outcome="refused"} 1`}
	var metrics response
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", e.URL+"/metrics", nil)
		if metrics = do(t, req); strings.Contains(metrics.body, wants[0]) && strings.Contains(metrics.body, wants[1]) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(metrics.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestUploadErrorBeforeBody refuses uploads before reading their bodies,
// which the client is still sending: it must see the response, not a
// connection reset.
func TestUploadErrorBeforeBody(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.MaxUploadBytes = 256 << 10 })
	big := makeSdist(t, "demo", "1.0", metadataFor("demo", "1.0"), tarEntry{Name: "demo-1.0/data.bin", Body: string(randomBytes(3 << 20))})
	resp, body := rawUpload(t, e, "", twineForm(kindSdist, "demo", "1.0", big), "demo-1.0.tar.gz", big)
	if resp.StatusCode != 401 || !strings.Contains(resp.Status, "uploading needs an API token") || resp.Header.Get("WWW-Authenticate") != `Basic realm="trove"` {
		t.Errorf("anonymous upload: %q %v %q", resp.Status, resp.Header, body)
	}
	// The fields before the file show the token may not upload demo: a
	// 403 rather than the 413 that receiving the file would give.
	other := e.Token(t, e.alice, []string{"pypi:other"})
	resp, body = rawUpload(t, e, other, twineForm(kindSdist, "demo", "1.0", big), "demo-1.0.tar.gz", big)
	if resp.StatusCode != 403 || !strings.Contains(resp.Status, "does not allow publish on pypi:demo") {
		t.Errorf("upload with a token for another project: %q %q", resp.Status, body)
	}
	resp, body = rawUpload(t, e, e.token, set(twineForm(kindSdist, "demo", "1.0", big), ":action", "submit"), "demo-1.0.tar.gz", big)
	if resp.StatusCode != 400 || !strings.Contains(resp.Status, `:action "submit" is not supported`) {
		t.Errorf("upload with another :action: %q %q", resp.Status, body)
	}
	resp, body = rawUpload(t, e, e.token, twineForm(kindSdist, "demo", "1.0", big), "demo-1.0.tar.gz", big)
	if resp.StatusCode != 413 || !strings.Contains(resp.Status, "larger than the upload limit") {
		t.Errorf("oversize upload: %q %q", resp.Status, body)
	}
	e.checkNothingStored(t, "demo")
}

// TestWriteErrorFallback checks the plain response where the connection
// cannot be taken over (HTTP/2, or a recorder).
func TestWriteErrorFallback(t *testing.T) {
	h := New(Options{})
	w := httptest.NewRecorder()
	h.WriteError(w, httptest.NewRequest("POST", "/legacy/", nil), 409, "File already exists")
	if w.Code != 409 || w.Body.String() != "File already exists\n" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("fallback: %d %q %v", w.Code, w.Body, w.Header())
	}
	w = httptest.NewRecorder()
	h.WriteError(w, httptest.NewRequest("GET", "/simple/x/", nil), 401, "bad token")
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Basic realm="trove"` {
		t.Errorf("401: %d %v", w.Code, w.Header())
	}
}
