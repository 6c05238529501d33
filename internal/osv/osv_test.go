package osv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/trove-dev/trove/internal/trove"
)

type fixed []*Advisory

func (f fixed) Advisories(_ context.Context, limit int) ([]*Advisory, error) {
	return f[:min(limit, len(f))], nil
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// decode parses an OSV record with the schema's own bindings, refusing
// fields the schema does not know, and checks what the OSV tools need.
func decode(t *testing.T, b []byte) *osvschema.Vulnerability {
	t.Helper()
	var v osvschema.Vulnerability
	if err := protojson.Unmarshal(b, &v); err != nil {
		t.Fatalf("the record is not OSV: %v\n%s", err, b)
	}
	if v.GetSchemaVersion() == "" || v.GetModified() == nil || v.GetPublished() == nil || v.GetSummary() == "" || v.GetDetails() == "" ||
		len(v.GetAffected()) != 1 || v.GetDatabaseSpecific().GetFields()["source"].GetStringValue() != "trove" {
		t.Errorf("record lacks fields the OSV tools need:\n%s", b)
	}
	return &v
}

// TestFeed: the feed serves an index, each record and a zip of them all,
// as records the OSV schema's bindings read, with purls and versions, a
// withdrawn takedown marked withdrawn, and an ETag that answers 304.
func TestFeed(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	src := fixed{
		{Serial: 1, Ecosystem: trove.NPM, Name: "@evil/pkg", Version: "1.0.1", Summary: "postinstall steals tokens", Published: at, Modified: at},
		{Serial: 2, Ecosystem: trove.PyPI, Name: "reqeusts", Version: "2.0", Summary: "typosquat with a dropper", Published: at, Modified: at.Add(time.Hour), Withdrawn: at.Add(time.Hour)},
		{Serial: 3, Ecosystem: trove.Go, Name: "example.com/m", Version: "v1.0.0", Summary: "x", Published: at, Modified: at},
	}
	h := New(src, "https://trove.example/")

	resp := get(t, h, "/")
	var index struct {
		Records []struct{ ID, Modified string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&index); err != nil || resp.StatusCode != 200 {
		t.Fatalf("index: %d, %v", resp.StatusCode, err)
	}
	var ids []string
	for _, r := range index.Records {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"MAL-2026-1", "MAL-2026-2", "MAL-2026-3"}, ids); diff != "" {
		t.Errorf("index ids (-want +got):\n%s", diff)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("the index has no ETag")
	}
	if r := get(t, h, "/MAL-2026-1.json", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("a matching If-None-Match = %d, want 304", r.StatusCode)
	}

	want := map[string]struct {
		eco, name, purl, version string
		withdrawn                bool
	}{
		"MAL-2026-1": {"npm", "@evil/pkg", "pkg:npm/%40evil/pkg", "1.0.1", false},
		"MAL-2026-2": {"PyPI", "reqeusts", "pkg:pypi/reqeusts", "2.0", true},
		"MAL-2026-3": {"Go", "example.com/m", "pkg:golang/example.com/m", "v1.0.0", false},
	}
	check := func(b []byte) {
		v := decode(t, b)
		w, ok := want[v.GetId()]
		a := v.GetAffected()[0]
		if !ok || a.GetPackage().GetEcosystem() != w.eco || a.GetPackage().GetName() != w.name || a.GetPackage().GetPurl() != w.purl ||
			!cmp.Equal(a.GetVersions(), []string{w.version}) || (v.GetWithdrawn() != nil) != w.withdrawn {
			t.Errorf("record %s = %s, want %+v", v.GetId(), b, w)
		}
	}
	for id := range want {
		r := get(t, h, "/"+id+".json")
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", id, r.StatusCode, b)
		}
		check(b)
	}

	r := get(t, h, "/all.zip")
	b, _ := io.ReadAll(r.Body)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 3 {
		t.Errorf("all.zip holds %d files, want 3", len(zr.File))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name != decode(t, b).GetId()+".json" {
			t.Errorf("zip member %s holds another record", f.Name)
		}
		check(b)
	}

	for path, code := range map[string]int{"/MAL-2026-9.json": 404, "/MAL-2026-1": 404, "/../x": 404} {
		if r := get(t, h, path); r.StatusCode != code {
			t.Errorf("GET %s = %d, want %d", path, r.StatusCode, code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d, want 405", rec.Code)
	}
}
