package npm

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// TestFullPackumentEncoding: the full packument written a version at a
// time is the same bytes as json.Marshal of the whole document.
func TestFullPackumentEncoding(t *testing.T) {
	pk := &packument{name: "@acme/x<y>", rev: "3-abc", tags: map[string]string{"latest": "1.10.0", "beta": "2.0.0-b.1"},
		times: map[string]string{"created": "2026-01-01T00:00:00.000Z", "1.2.0": "t"},
		versions: map[string]map[string]json.RawMessage{
			"1.10.0":    {"name": json.RawMessage(`"@acme/x"`), "version": json.RawMessage(`"1.10.0"`), "description": json.RawMessage(`"a <b> & c"`), "license": json.RawMessage(`"MIT"`)},
			"1.2.0":     {"name": json.RawMessage(`"@acme/x"`), "version": json.RawMessage(`"1.2.0"`), "x": json.RawMessage(`{"nested": [1, 2]}`)},
			"2.0.0-b.1": {"name": json.RawMessage(`"@acme/x"`), "version": json.RawMessage(`"2.0.0-b.1"`)},
		},
		proj: &registry.Project{Package: &trove.Package{Name: "@acme/x"}},
	}
	pk.latest = "1.10.0"
	doc := pk.fullHead()
	versions := make(map[string]json.RawMessage)
	for v, d := range pk.versions {
		versions[v] = mustJSON(d)
	}
	doc["versions"] = mustJSON(versions)
	want, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := pk.fullJSON(); !bytes.Equal(got, want) {
		t.Errorf("fullJSON() =\n%s\nwant\n%s", got, want)
	}
}
