package account

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// corpus is a local breach corpus: passwords and their counts.
var corpus = map[string]int{
	"correct horse battery staple": 3,
	"Tr0ub4dor&3-but-longer":       42,
	"password123456789":            2_000_000,
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// rangeServer replays the range format over the corpus, with padding
// lines (count 0) for the breached passwords' own suffixes' neighbours
// when asked for padding. It counts requests and records the paths.
func rangeServer(t *testing.T) (*httptest.Server, *atomic.Int32, func() []string) {
	var n atomic.Int32
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		mu.Lock()
		paths = append(paths, r.URL.Path+" padding="+r.Header.Get("Add-Padding"))
		mu.Unlock()
		prefix, ok := strings.CutPrefix(r.URL.Path, "/api/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		for pw, c := range corpus {
			if h := sha1Hex(pw); h[:5] == prefix {
				fmt.Fprintf(w, "%s:%d\r\n", h[5:], c)
			}
		}
		fmt.Fprintf(w, "%s:1\r\n", strings.Repeat("0", 35))
		if r.Header.Get("Add-Padding") == "true" {
			fmt.Fprintf(w, "%s:0\r\n", strings.Repeat("F", 35))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(paths) }
}

func TestRangeBreaches(t *testing.T) {
	srv, n, paths := rangeServer(t)
	b, err := NewRangeBreaches(srv.URL+"/api/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for pw, want := range corpus {
		got, err := b.Seen(ctx, pw)
		if err != nil || got != want {
			t.Errorf("Seen(%q) = %d, %v; want %d", pw, got, err, want)
		}
	}
	if got, err := b.Seen(ctx, "a fresh unlisted passphrase for trove"); err != nil || got != 0 {
		t.Errorf("an unlisted password: %d, %v; want 0", got, err)
	}
	// Only the prefix leaves the server, with padding asked for.
	for _, p := range paths() {
		if !strings.HasSuffix(p, " padding=true") || len(strings.TrimSuffix(strings.TrimPrefix(p, "/api/range/"), " padding=true")) != 5 {
			t.Errorf("request %q: want /api/range/<5 hex> with Add-Padding: true", p)
		}
	}
	// A prefix asked again comes from the cache.
	before := n.Load()
	if _, err := b.Seen(ctx, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if n.Load() != before {
		t.Errorf("a cached prefix was asked again")
	}
}

func TestRangeBreachesErrors(t *testing.T) {
	for _, bad := range []string{"", "ftp://x/", "range.example"} {
		if _, err := NewRangeBreaches(bad, nil); err == nil || !strings.Contains(err.Error(), "accounts.breached_passwords_url") {
			t.Errorf("NewRangeBreaches(%q) = %v; want an error naming the setting", bad, err)
		}
	}
	for name, h := range map[string]http.HandlerFunc{
		"status":    func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) },
		"malformed": func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "<html>not a range</html>") },
		"huge": func(w http.ResponseWriter, r *http.Request) {
			line := strings.Repeat("A", 35) + ":1\n"
			for range MaxRangeBytes/len(line) + 2 {
				fmt.Fprint(w, line)
			}
		},
	} {
		srv := httptest.NewServer(h)
		b, _ := NewRangeBreaches(srv.URL, nil)
		if n, err := b.Seen(context.Background(), "anything at all here"); err == nil {
			t.Errorf("%s: Seen = %d, nil; want an error", name, n)
		}
		srv.Close()
	}
}

// writeCorpusFile writes the corpus and filler as one sorted HASH:COUNT
// file, as the downloader's single-file mode does.
func writeCorpusFile(t *testing.T, filler int, eol string) string {
	var lines []string
	for pw, c := range corpus {
		lines = append(lines, fmt.Sprintf("%s:%d", sha1Hex(pw), c))
	}
	for i := range filler {
		lines = append(lines, fmt.Sprintf("%s:%d", sha1Hex(fmt.Sprint("filler", i)), i+1))
	}
	slices.Sort(lines)
	p := filepath.Join(t.TempDir(), "pwned.txt")
	if err := os.WriteFile(p, []byte(strings.Join(lines, eol)+eol), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileBreaches(t *testing.T) {
	for _, eol := range []string{"\n", "\r\n"} {
		b, err := OpenFileBreaches(writeCorpusFile(t, 5000, eol))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for pw, want := range corpus {
			if got, err := b.Seen(ctx, pw); err != nil || got != want {
				t.Errorf("eol %q: Seen(%q) = %d, %v; want %d", eol, pw, got, err, want)
			}
		}
		for _, i := range []int{0, 1, 2500, 4999} {
			if got, err := b.Seen(ctx, fmt.Sprint("filler", i)); err != nil || got != i+1 {
				t.Errorf("eol %q: filler %d = %d, %v", eol, i, got, err)
			}
		}
		if got, err := b.Seen(ctx, "not in the file at all, surely"); err != nil || got != 0 {
			t.Errorf("eol %q: absent = %d, %v", eol, got, err)
		}
		b.Close()
	}
}

func TestFileBreachesEdges(t *testing.T) {
	// One line, and an empty file.
	p := filepath.Join(t.TempDir(), "one.txt")
	os.WriteFile(p, []byte(sha1Hex("only one in here")+":7"), 0o600)
	b, err := OpenFileBreaches(p)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Seen(context.Background(), "only one in here"); n != 7 {
		t.Errorf("one-line file without newline: %d, want 7", n)
	}
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, nil, 0o600)
	if b, err := OpenFileBreaches(empty); err != nil {
		t.Error(err)
	} else if n, err := b.Seen(context.Background(), "x"); n != 0 || err != nil {
		t.Errorf("empty file: %d, %v", n, err)
	}
	// Misconfigurations are refused with the setting's name.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("00000:12\n"), 0o600)
	for _, p := range []string{t.TempDir(), bad, filepath.Join(t.TempDir(), "missing")} {
		if _, err := OpenFileBreaches(p); err == nil || !strings.Contains(err.Error(), "breached_passwords_file") {
			t.Errorf("OpenFileBreaches(%s) = %v; want an error naming the setting", p, err)
		}
	}
}
