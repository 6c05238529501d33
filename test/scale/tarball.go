package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/trove-dev/trove/internal/blob"
)

// A tarball is an npm package tarball and what the registry derives
// from it: its digests and the dist fields npm reads.
type tarball struct {
	data         []byte
	digests      blob.Digests
	fileCount    int
	unpackedSize int64
}

// packageJSON returns the package.json of a planned version, exactly as
// it is written into its tarball and sent beside it in a publish.
func packageJSON(name, version string, deps map[string]string) []byte {
	m := map[string]any{
		"name":        name,
		"version":     version,
		"description": "Generated package " + name + " for Trove's scale figures",
		"main":        "index.js",
		"license":     "MIT",
		"keywords":    []string{"scale", "generated"},
	}
	if len(deps) > 0 {
		m["dependencies"] = deps
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // strings and maps of strings always encode
	}
	return b
}

// readme is the README.md of every generated package.
func readme(name string) string {
	return "# " + name + "\n\nGenerated for Trove's scale figures.\n"
}

// makeTarball builds the tarball of a version: package.json, README.md and
// an index.js of size bytes from rng (random, so it does not compress).
// The same arguments give the same bytes.
func makeTarball(name, version string, deps map[string]string, size int, rng *rand.Rand) (*tarball, error) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = "abcdefghijklmnopqrstuvwxyz0123456789 \n;(){}"[rng.IntN(43)]
	}
	files := []struct {
		name string
		data []byte
	}{
		{"package/package.json", packageJSON(name, version, deps)},
		{"package/README.md", []byte(readme(name))},
		{"package/index.js", payload},
	}
	var raw bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&raw, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	t := &tarball{fileCount: len(files)}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
		t.unpackedSize += int64(len(f.data))
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	t.data = raw.Bytes()
	h := blob.NewHasher()
	h.Write(t.data)
	t.digests = h.Digests()
	return t, nil
}

// manifest returns the version manifest Trove derives from a tarball of
// packageJSON(name, version, deps) with readme(name) (npm's derive:
// package.json, the registry's own fields, the readme), encoded as Trove
// encodes it. TestBulkMatchesPublish holds it to what a real publish
// stores.
func manifest(name, version string, deps map[string]string, t *tarball, publisher string) ([]byte, error) {
	m := map[string]any{}
	if err := json.Unmarshal(packageJSON(name, version, deps), &m); err != nil {
		return nil, err
	}
	m["_id"] = name + "@" + version
	m["dist"] = map[string]any{
		"shasum":       t.digests.SHA1,
		"integrity":    t.digests.Integrity(),
		"fileCount":    t.fileCount,
		"unpackedSize": t.unpackedSize,
	}
	user := map[string]any{"name": publisher}
	m["_npmUser"] = user
	m["maintainers"] = []any{user}
	m["_hasShrinkwrap"] = false
	m["readme"] = readme(name)
	m["readmeFilename"] = "README.md"
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// depsOf returns the dependencies of a planned package's versions: a
// caret range on a version of each earlier package it depends on.
func (p *plan) depsOf(pp *plannedPackage) map[string]string {
	if len(pp.deps) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, d := range pp.deps {
		dep := p.packages[d]
		out[string(dep.name)] = "^" + dep.versions[0].version
	}
	return out
}

// sortedDeps returns the names of deps, sorted (the order in which a
// real publish records them).
func sortedDeps(deps map[string]string) []string {
	out := make([]string, 0, len(deps))
	for n := range deps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
