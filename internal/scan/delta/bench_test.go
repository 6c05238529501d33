package delta

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/trove-dev/trove/internal/scan"
)

// BenchmarkScan compares a typical npm release (a 4 KB manifest with 12
// scripts and 30 dependencies, two of them new) with its predecessor.
func BenchmarkScan(b *testing.B) {
	manifest := func(version string, deps int) (json.RawMessage, []scan.Dependency) {
		scripts, ds := map[string]any{}, map[string]any{}
		var out []scan.Dependency
		for i := range 12 {
			scripts[fmt.Sprintf("task-%d", i)] = "node scripts/task.js --flag value"
		}
		for i := range deps {
			name := fmt.Sprintf("dependency-number-%d", i)
			ds[name] = "^1.2.3"
			out = append(out, scan.Dependency{Name: name, Age: 1000 * day})
		}
		m, _ := json.Marshal(map[string]any{"name": "demo", "version": version, "description": string(make([]byte, 1500)),
			"scripts": scripts, "dependencies": ds, "dist": map[string]any{"unpackedSize": 180000}})
		return m, out
	}
	m1, d1 := manifest("1.0.0", 28)
	m2, d2 := manifest("1.1.0", 30)
	a := &scan.Artifact{Ecosystem: "npm", Name: "demo", Version: "1.1.0", Metadata: m2, Dependencies: d2,
		Files:     []scan.File{{Name: "demo-1.1.0.tgz", Size: 50000}},
		Publisher: &scan.Publisher{Name: "alice", RoleAge: 400 * day},
		Previous:  &scan.Artifact{Ecosystem: "npm", Version: "1.0.0", Metadata: m1, Dependencies: d1, Files: []scan.File{{Size: 48000}}}}
	s := New(Defaults())
	b.SetBytes(int64(len(m1) + len(m2)))
	b.ReportAllocs()
	for b.Loop() {
		if fs, err := s.Scan(context.Background(), a); err != nil || len(fs) != 0 {
			b.Fatal(fs, err)
		}
	}
}
