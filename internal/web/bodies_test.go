package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/adapter"
)

// TestEveryFormBodyBounded: every route that is not a GET, in the whole
// table (second-factor pages included), reads at most maxForm bytes of
// its body whatever its page does with it, and however large the body
// claims or turns out to be.
func TestEveryFormBodyBounded(t *testing.T) {
	m := newMFASite(t)
	big := bytes.Repeat([]byte("a"), 1<<20)
	n := 0
	for _, rt := range m.h.table() {
		if rt.method == http.MethodGet {
			continue
		}
		n++
		var read int64
		var readErr error
		probe := rt
		probe.need = Anyone // the visitor checks are not what is tested here
		probe.serve = func(w http.ResponseWriter, r *http.Request, _ *Visit) error {
			read, readErr = io.Copy(io.Discard, r.Body)
			return nil
		}
		for _, length := range []int64{int64(len(big)), -1, 10} { // honest, chunked, lying
			read, readErr = 0, nil
			path := strings.NewReplacer("{id}", "1", "{name}", "alice", "{action}", "disable").Replace(rt.path)
			req := httptest.NewRequest(rt.method, path, bytes.NewReader(big))
			req.ContentLength = length
			req = req.WithContext(adapter.WithChannel(context.Background(), adapter.Loopback))
			m.h.guard(probe).ServeHTTP(httptest.NewRecorder(), req)
			var mbe *http.MaxBytesError
			if read > maxForm || !errors.As(readErr, &mbe) {
				t.Errorf("%s %s (Content-Length %d): read %d bytes, %v; want at most %d and a MaxBytesError", rt.method, rt.path, length, read, readErr, maxForm)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d routes that are not GET; the table should have more", n)
	}
}

// TestOversizedFormRefused: a form over maxForm is answered 413 with a
// message saying so, and changes nothing; a multipart body is refused
// unread. The administrators' deletion read its fields through
// PostFormValue, which parses multipart bodies of up to 32 MiB in memory
// and the rest on disk, before every form went through readForm.
func TestOversizedFormRefused(t *testing.T) {
	s, _ := deletionSite(t)
	root := s.browser()
	root.signIn("root", rootPassword)
	alive := func(what string) {
		t.Helper()
		if u, err := s.users.ByName(context.Background(), "alice"); err != nil || u.Deleted() {
			t.Fatalf("alice after %s: %v, %v", what, u, err)
		}
	}

	for _, size := range []int{100, 1 << 20} {
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		mw.WriteField("padding", strings.Repeat("x", size))
		mw.WriteField("confirm", "alice")
		mw.Close()
		req, _ := http.NewRequest("POST", s.srv.URL+"/-/admin/users/alice/delete", &mp)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := root.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page := body(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "application/x-www-form-urlencoded") {
			t.Errorf("multipart deletion form of %d bytes: %d\n%s", mp.Len(), resp.StatusCode, page)
		}
		alive("a multipart form")
	}

	pad := strings.Repeat("x", maxForm)
	for _, tc := range []struct {
		path string
		b    *browser
		form url.Values
	}{
		{"/-/admin/users/alice/delete", root, url.Values{"confirm": {"alice"}}},
		{"/-/signin", s.browser(), url.Values{"name": {"alice"}, "password": {alicePassword}}},
		{"/-/sudo", root, url.Values{"password": {rootPassword}}},
		{"/-/account/password", root, url.Values{"current": {rootPassword}, "new": {"a new horse staple battery 3"}, "confirm": {"a new horse staple battery 3"}}},
		{"/-/account/tokens", root, url.Values{"name": {"t"}, "packages": {"*"}, "actions": {"read"}}},
	} {
		before := len(tc.b.jar.cookies)
		tc.form.Set("pad", pad)
		resp, page := tc.b.post(tc.path, tc.form)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "larger than 64 KiB") || !strings.Contains(page, "nothing changed") {
			t.Errorf("POST %s with %d bytes: %d\n%s", tc.path, len(tc.form.Encode()), resp.StatusCode, page)
		}
		if len(tc.b.jar.cookies) != before {
			t.Errorf("POST %s with an oversized form changed the cookies: %v", tc.path, tc.b.jar.cookies)
		}
	}
	alive("an oversized form")
	if _, err := s.users.SignIn(context.Background(), "root", rootPassword, netip.Addr{}); err != nil {
		t.Errorf("root's password after an oversized change form: %v", err)
	}
	if toks, err := s.toks.List(context.Background(), s.root.ID); err != nil || len(toks) != 0 {
		t.Errorf("root's tokens after an oversized form: %v, %v", toks, err)
	}
}
