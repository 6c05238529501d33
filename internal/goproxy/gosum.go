package goproxy

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/lockfile"
)

// A GoSumLine is a line of a go.sum file.
type GoSumLine struct {
	Line    int
	Module  string
	Version string // without "/go.mod"
	GoMod   bool   // the go.mod file's hash rather than the module zip's
	Hash    string // "h1:…"
	Text    string // the line, verbatim, as a publish record carries it
}

// ParseGoSum parses a go.sum file: lines "<module> <version>[/go.mod] <hash>".
func ParseGoSum(data []byte) ([]GoSumLine, error) {
	if len(data) > lockfile.MaxSize {
		return nil, fmt.Errorf("go.sum larger than %d bytes", lockfile.MaxSize)
	}
	var out []GoSumLine
	for i, l := range bytes.Split(data, []byte("\n")) {
		text := strings.TrimSuffix(string(l), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 || strings.Join(f, " ") != text {
			return nil, fmt.Errorf("go.sum line %d: want \"<module> <version>[/go.mod] <hash>\", separated by single spaces", i+1)
		}
		v, gomod := strings.CutSuffix(f[1], "/go.mod")
		if v == "" || !strings.Contains(f[2], ":") {
			return nil, fmt.Errorf("go.sum line %d: malformed version or hash", i+1)
		}
		out = append(out, GoSumLine{Line: i + 1, Module: f[0], Version: v, GoMod: gomod, Hash: f[2], Text: text})
	}
	return out, nil
}

// GoSum reads go.sum files for trove verify (lockfile.Format): every line
// must be in its module version's publish record, which carries the
// version's go.sum lines.
type GoSum struct{}

// Name returns "go.sum".
func (GoSum) Name() string { return "go.sum" }

// Match reports whether base is go.sum.
func (GoSum) Match(base string) bool { return base == "go.sum" }

// Read returns the module versions of a go.sum, in order, with their lines.
func (GoSum) Read(data []byte, _ string) (*lockfile.Report, error) {
	lines, err := ParseGoSum(data)
	if err != nil {
		return nil, err
	}
	r := &lockfile.Report{}
	index := map[[2]string]int{}
	for _, l := range lines {
		k := [2]string{l.Module, l.Version}
		i, ok := index[k]
		if !ok {
			i = len(r.Pins)
			index[k] = i
			r.Pins = append(r.Pins, lockfile.Pin{Ecosystem: "go", Name: l.Module, Version: l.Version, LinesWhat: "go.sum lines"})
		}
		r.Pins[i].Lines = append(r.Pins[i].Lines, lockfile.Line{Text: l.Text, Where: fmt.Sprintf("go.sum line %d", l.Line)})
	}
	return r, nil
}
