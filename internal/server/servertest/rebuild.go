package servertest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// CheckRebuild rebuilds every release the env's log records a publish of
// with rb (what trove log recover does) and fails the test unless the
// rebuilt metadata, files and record lines are what publishing stored.
// Top-level metadata keys in unknown (who published) are not compared.
// It returns the number of publish records checked.
func CheckRebuild(t *testing.T, e *Env, rb registry.Rebuilder, unknown ...string) int {
	t.Helper()
	ctx := context.Background()
	n, err := e.DB.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.DB.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	seen := map[string]bool{} // releases: only the first file's upload creates one
	for _, text := range recs {
		ev, err := translog.ParseEvent(text)
		if err != nil || ev.Kind != "publish" {
			continue
		}
		var staged []*registry.Staged
		for _, f := range ev.Files {
			rc, err := e.Blobs.Open(ctx, blob.Digest(f.SHA256), 0)
			if err != nil {
				t.Fatal(err)
			}
			st, err := e.Registry.Stage(rc, 1<<30)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			staged = append(staged, st)
		}
		up, err := rb.Rebuild(ev, staged)
		if err != nil {
			t.Fatalf("Rebuild(%s %s %s): %v", ev.Ecosystem, ev.Name, ev.Version, err)
		}
		key := ev.Ecosystem + " " + ev.Name + " " + ev.Version
		compareRebuilt(t, e, ev, up, !seen[key], unknown)
		seen[key] = true
		checked++
	}
	return checked
}

func compareRebuilt(t *testing.T, e *Env, ev *translog.Event, up *registry.Upload, first bool, unknown []string) {
	t.Helper()
	p, err := e.Registry.Project(context.Background(), trove.Ecosystem(ev.Ecosystem), ev.Name)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(p.Releases, func(r *trove.Release) bool { return r.Version == ev.Version })
	if i < 0 {
		t.Fatalf("no release %s of %s", ev.Version, ev.Name)
	}
	rel := p.Releases[i]
	var stored, rebuilt map[string]any
	json.Unmarshal(rel.Metadata, &stored)
	json.Unmarshal(up.Metadata, &rebuilt)
	for _, k := range unknown {
		delete(stored, k)
	}
	if diff := cmp.Diff(stored, rebuilt); first && diff != "" {
		t.Errorf("%s %s: rebuilt metadata differs (-stored +rebuilt):\n%s", ev.Name, ev.Version, diff)
	}
	if !slices.Equal(up.Lines, ev.Lines) {
		t.Errorf("%s %s: rebuilt lines %q, the record holds %q", ev.Name, ev.Version, up.Lines, ev.Lines)
	}
	for _, uf := range up.Files {
		j := slices.IndexFunc(p.Files, func(f *trove.File) bool { return f.Filename == uf.Filename })
		if j < 0 {
			t.Fatalf("%s %s: rebuilt a file %s that was not published", ev.Name, ev.Version, uf.Filename)
		}
		f := p.Files[j]
		md := ""
		if uf.Metadata != nil {
			md = string(blob.Sum(uf.Metadata))
		}
		attrs := string(uf.Attrs)
		if attrs == "" {
			attrs = "{}" // as stored
		}
		if uf.Kind != f.Kind || attrs != string(f.Attrs) || md != f.MetadataSHA256 {
			t.Errorf("%s: rebuilt kind %q attrs %s metadata %s; stored %q %s %s", uf.Filename, uf.Kind, uf.Attrs, md, f.Kind, f.Attrs, f.MetadataSHA256)
		}
	}
}
