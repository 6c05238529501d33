package main

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/logclient/logtest"
	"github.com/trove-dev/trove/internal/translog"
)

// TestVerifyPrivatePackage: trove verify sends $TROVE_TOKEN to the
// registry, whose log answers for a private package only with it (and
// whose tarball needs it too); --audit counts the private records it
// cannot read.
func TestVerifyPrivatePackage(t *testing.T) {
	r := newFakeRegistry(t)
	r.publishNPM("a", "1.0.0")
	data := []byte("the secret tarball")
	ev := logtest.Publish("npm", "secret", "1.0.0", "secret-1.0.0.tgz", sum256(data))
	ev.Salt = translog.NewSalt()
	r.log.Append(ev)
	path := "/npm/secret/-/secret-1.0.0.tgz"
	var sawToken []string
	r.log2 = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sawToken = append(sawToken, req.Header.Get("Authorization"))
		if strings.Contains(req.URL.Path, "/secret/") && req.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no log records about secret 1.0.0", http.StatusNotFound)
			return
		}
		r.log.ServeHTTP(w, req)
	})

	out, stderr, err := r.verify("--audit")
	if err != nil {
		t.Fatalf("verify --audit: %v\n%s", err, stderr)
	}
	wantIn(t, "stdout", out, "audited 2 records", "1 private record, contents withheld", "publish    1", "npm        1")

	if _, stderr, err := r.verify("npm:secret@1.0.0"); err == nil || !strings.Contains(stderr, "the log has no record of it") {
		t.Errorf("verify of a private package without a token = %v\n%s", err, stderr)
	}
	t.Setenv("TROVE_TOKEN", "tok")
	sawToken = nil
	out, stderr, err = r.verify("npm:secret@1.0.0")
	if err != nil {
		t.Fatalf("verify of a private package with a token: %v\n%s", err, stderr)
	}
	wantIn(t, "stdout", out, "secret-1.0.0.tgz")
	for _, h := range sawToken {
		if h != "Bearer tok" {
			t.Errorf("a request to the log carried Authorization %q, want the token", h)
		}
	}

	// A lockfile's tarball is downloaded from the registry with the token.
	r.tarballs[path] = data
	r.auth = map[string]string{path: "Bearer tok"}
	s := sha512.Sum512(data)
	lock := fmt.Sprintf(`{"lockfileVersion": 3, "packages": {"node_modules/secret": {"version": "1.0.0", "resolved": %q, "integrity": %q}}}`,
		r.srv.URL+path, "sha512-"+base64.StdEncoding.EncodeToString(s[:]))
	if out, stderr, err := r.verify("--lockfile", write(t, "package-lock.json", lock)); err != nil {
		t.Errorf("verify --lockfile of a private package: %v\n%s", err, stderr)
	} else {
		wantIn(t, "stdout", out, "ok npm secret 1.0.0 secret-1.0.0.tgz")
	}
}
