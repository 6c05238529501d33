package translog

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog/memstore"
)

// TestServeProof: the proofs served under proof/<N> verify with
// tlog.CheckRecord against the served checkpoint, for several records
// and tree sizes, and bad indexes are refused with a clear 4xx.
func TestServeProof(t *testing.T) {
	s := memstore.New()
	fill(t, s, 1)
	l, err := newLog(t, s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/log", NewServer(l, s, nil)))
	defer ts.Close()
	get := func(path string, hdr ...string) (int, []byte, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/log/"+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	v, err := note.NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n := int64(1)
	for _, size := range []int64{1, 2, 7, 256, 257, 600, 1000} {
		fill2(t, s, n, size)
		n = size
		if _, err := l.Sign(ctx); err != nil {
			t.Fatal(err)
		}
		_, cp, _ := get("checkpoint")
		cn, err := note.Open(cp, note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		_, tree, err := ParseCheckpoint(cn.Text)
		if err != nil || tree.N != size {
			t.Fatalf("checkpoint of %d records, want %d (%v)", tree.N, size, err)
		}
		for _, id := range []int64{0, size / 2, size - 1, 255, 256, 517} {
			if id >= size {
				continue
			}
			code, body, hdr := get("proof/" + itoa(id))
			if code != 200 {
				t.Fatalf("size %d: GET proof/%d = %d %s", size, id, code, body)
			}
			pp, err := ParseProof(body)
			if err != nil || pp.ID != id || !bytes.Equal(pp.Checkpoint, cp) || !bytes.Equal(pp.Text, record(int(id))) {
				t.Fatalf("size %d: proof/%d: %+v, %v", size, id, pp, err)
			}
			if err := tlog.CheckRecord(pp.Hashes, tree.N, tree.Hash, id, tlog.RecordHash(record(int(id)))); err != nil {
				t.Errorf("size %d: proof of %d does not verify: %v", size, id, err)
			}
			if op, err := OpenProof(body, v, nil); err != nil || op.Tree != tree {
				t.Errorf("size %d: OpenProof(%d) = %v, want tree %v", size, id, err, tree)
			}
			if _, err := OpenProof(body, v, record(int(id)+1)); err == nil {
				t.Errorf("size %d: OpenProof(%d) accepted another record's text", size, id)
			}
			forged := bytes.Replace(body, []byte("extra "+base64.StdEncoding.EncodeToString(record(int(id)))),
				[]byte("extra "+base64.StdEncoding.EncodeToString(record(int(id)+1))), 1)
			if _, err := OpenProof(forged, v, nil); err == nil || !strings.Contains(err.Error(), "not in the checkpoint's tree") {
				t.Errorf("size %d: OpenProof(%d) with a changed extra line = %v", size, id, err)
			}
			if hdr.Get("Cache-Control") != "no-cache" || hdr.Get("ETag") != proofETag(id, size) {
				t.Errorf("size %d: proof/%d headers %v", size, id, hdr)
			}
			if code, _, _ := get("proof/"+itoa(id), "If-None-Match", hdr.Get("ETag")); code != http.StatusNotModified {
				t.Errorf("size %d: revalidating proof/%d = %d, want 304", size, id, code)
			}
			if size > 1 {
				if code, _, _ := get("proof/"+itoa(id), "If-None-Match", proofETag(id, size-1)); code != 200 {
					t.Errorf("size %d: proof/%d with an older tree's ETag = %d, want 200", size, id, code)
				}
			}
		}
	}
	for path, want := range map[string]int{
		"proof/1000":                404, // beyond the tree
		"proof/9223372036854775807": 404,
		"proof/9223372036854775808": 400,
		"proof/-1":                  400,
		"proof/01":                  400,
		"proof/x":                   400,
		"proof/":                    400,
		"proof/1/2":                 400,
		"proof/+1":                  400,
	} {
		code, body, _ := get(path)
		if code != want {
			t.Errorf("GET %s = %d %q, want %d", path, code, body, want)
		}
		if code == 404 && !strings.Contains(string(body), "not in the log's latest checkpoint, a tree of 1000 records") {
			t.Errorf("GET %s: %q does not say why", path, body)
		}
	}
}

// fill2 appends records from through to-1.
func fill2(t *testing.T, s *memstore.Store, from, to int64) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := Append(ctx, s, record(int(i))); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestParseProof(t *testing.T) {
	cp := "log.example.test/trove\n3\n" + strings.Repeat("A", 43) + "=\n\n— log.example.test/trove abc\n"
	h := strings.Repeat("B", 43) + "="
	for _, tc := range []struct {
		name, in string
		id       int64
		n        int
		wantErr  string
	}{
		{"ok", ProofHeader + "\nindex 2\n" + h + "\n" + h + "\n\n" + cp, 2, 2, ""},
		{"extra", ProofHeader + "\nextra eHl6\nindex 0\n\n" + cp, 0, 0, ""},
		{"bad extra", ProofHeader + "\nextra !\nindex 0\n\n" + cp, 0, 0, "extra line"},
		{"no header", "index 2\n\n" + cp, 0, 0, "first line"},
		{"no index", ProofHeader + "\n" + h + "\n\n" + cp, 0, 0, "index line"},
		{"leading zero", ProofHeader + "\nindex 02\n\n" + cp, 0, 0, "index line"},
		{"negative", ProofHeader + "\nindex -2\n\n" + cp, 0, 0, "index line"},
		{"short hash", ProofHeader + "\nindex 2\nAAAA\n\n" + cp, 0, 0, "hash line"},
		{"no checkpoint", ProofHeader + "\nindex 2\n" + h + "\n", 0, 0, "no empty line"},
		{"too long", ProofHeader + "\nindex 2\n" + strings.Repeat(h+"\n", 64) + "\n" + cp, 0, 0, "more than 63"},
		{"huge", strings.Repeat("x", MaxProofSize+1), 0, 0, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProof([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseProof = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || p.ID != tc.id || len(p.Hashes) != tc.n || string(p.Checkpoint) != cp {
				t.Fatalf("ParseProof = %+v, %v", p, err)
			}
		})
	}
}

func FuzzParseProof(f *testing.F) {
	f.Add([]byte(ProofHeader + "\nindex 2\n" + strings.Repeat("B", 43) + "=\n\nlog\n3\nAAAA\n\n— log x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProof(data)
		if err != nil {
			return
		}
		q, err := ParseProof(p.Format())
		if err != nil || q.ID != p.ID || len(q.Hashes) != len(p.Hashes) || !bytes.Equal(q.Checkpoint, p.Checkpoint) || !bytes.Equal(q.Text, p.Text) {
			t.Fatalf("Format does not round-trip: %v", err)
		}
	})
}
