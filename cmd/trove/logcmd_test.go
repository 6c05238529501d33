package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/trove-dev/trove/internal/translog"
)

// fakeLogServer serves a log key and, if sumdb, the checksum database's
// supported endpoint, as a Trove server does.
func fakeLogServer(t *testing.T, vkey string, sumdb bool) *httptest.Server {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /log/key", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, vkey) })
	if sumdb {
		mux.HandleFunc("GET /go/sumdb/"+v.Name()+"/supported", func(w http.ResponseWriter, r *http.Request) {})
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// TestLogGosumdbAsksTheServer: trove log gosumdb --url (or TROVE_URL)
// prints the GOSUMDB value of the server listening there, whatever its
// address, after checking that it signs with the key the user trusts.
func TestLogGosumdbAsksTheServer(t *testing.T) {
	data := t.TempDir()
	_, vkey, err := translog.LoadOrCreateKey(filepath.Join(data, "log"), "127.0.0.1:45678/log")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := note.GenerateKey(rand.Reader, "127.0.0.1:45678/log")
	if err != nil {
		t.Fatal(err)
	}
	good := fakeLogServer(t, vkey, true)
	impostor := fakeLogServer(t, otherKey, true)
	noSumdb := fakeLogServer(t, vkey, false)
	empty := t.TempDir()

	for _, tc := range []struct {
		name    string
		env     string // TROVE_URL
		args    []string
		want    string // stdout
		wantErr string
	}{
		{"the data directory's key", "", []string{"--url", good.URL, "--data", data}, vkey + " " + good.URL + "/go/sumdb/127.0.0.1:45678/log\n", ""},
		{"TROVE_URL", good.URL, []string{"--data", data}, vkey + " " + good.URL + "/go/sumdb/127.0.0.1:45678/log\n", ""},
		{"a given key", "", []string{"--url", good.URL + "/", "--data", empty, "--key", vkey}, vkey + " " + good.URL + "/go/sumdb/127.0.0.1:45678/log\n", ""},
		{"key only", "", []string{"--url", good.URL, "--data", data, "--key-only"}, vkey + "\n", ""},
		{"another key", "", []string{"--url", impostor.URL, "--data", data}, "", "signs its log with the key " + otherKey + ", not with " + vkey},
		{"no key to trust", "", []string{"--url", good.URL, "--data", empty}, "", "no log verifier key to check"},
		{"no checksum database", "", []string{"--url", noSumdb.URL, "--data", data}, "", "does not serve the checksum database 127.0.0.1:45678/log"},
		{"no server", "", []string{"--url", "http://127.0.0.1:1", "--data", data}, "", "connection refused"},
	} {
		t.Setenv("TROVE_URL", tc.env)
		stdout, _, err := runTrove(t, "", append([]string{"log", "gosumdb"}, tc.args...)...)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: trove log gosumdb = %q, %v; want an error containing %q", tc.name, stdout, err, tc.wantErr)
			}
			continue
		}
		if err != nil || stdout != tc.want {
			t.Errorf("%s: trove log gosumdb = %q, %v; want %q", tc.name, stdout, err, tc.want)
		}
	}
}
