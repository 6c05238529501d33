package knownbad

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on what an import reads.
const (
	// MaxRecordBytes bounds one OSV record or hash list.
	MaxRecordBytes = 4 << 20
	// MaxSnippetLen and MinSnippetLen bound a snippet: long enough not to
	// occur in benign code by chance, short enough to search for in a
	// 64 KiB window.
	MaxSnippetLen = 1024
	MinSnippetLen = 16
	// MaxSnippets bounds the snippets of the whole database: each member
	// of every upload is searched for each of them.
	MaxSnippets = 1000
)

// A Namer normalizes names of one ecosystem; registry.Rules is one.
type Namer interface {
	Ecosystem() trove.Ecosystem
	ParseName(s string) (trove.Name, error)
}

// A Batch is what an import read: records to put, ids of withdrawn
// records to remove, and what it passed over.
type Batch struct {
	Records   []*meta.MalwareRecord
	Withdrawn []string
	// Skipped counts records that are not MAL- records (an ecosystem's
	// all.zip holds vulnerabilities too) and affected packages of
	// ecosystems Trove does not serve or whose names it cannot hold.
	Skipped int
}

// A Reader reads import sources into a batch.
type Reader struct {
	rules map[trove.Ecosystem]Namer
	now   time.Time
	b     Batch
	ids   map[string]string // record id → where it was read
}

// NewReader returns a reader normalizing names with rules.
func NewReader(now time.Time, rules ...Namer) *Reader {
	r := &Reader{rules: map[trove.Ecosystem]Namer{}, now: now, ids: map[string]string{}}
	for _, n := range rules {
		r.rules[n.Ecosystem()] = n
	}
	return r
}

// Batch returns what was read.
func (r *Reader) Batch() *Batch { return &r.b }

// ReadPath reads a file or a directory tree: .json files are OSV records
// (in a tree, those that are not MAL- records are skipped; given alone,
// refused), .zip files hold OSV records, anything else is a hash list. An
// error names the file and what is wrong with it.
func (r *Reader) ReadPath(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return r.readFile(p, false)
	}
	var files []string
	err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(q, ".json") {
			files = append(files, q)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if err := r.readFile(f, true); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) readFile(p string, inTree bool) error {
	if strings.HasSuffix(strings.ToLower(p), ".zip") {
		return r.readZip(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := readAll(f, p)
	if err != nil {
		return err
	}
	if strings.HasSuffix(p, ".json") {
		return r.ReadOSV(p, data, inTree)
	}
	return r.ReadHashList(p, data)
}

func readAll(rd io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(rd, MaxRecordBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxRecordBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxRecordBytes)
	}
	return data, nil
}

// readZip reads the .json members of a zip (an OSV ecosystem's all.zip).
func (r *Reader) readZip(p string) error {
	z, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		name := p + ":" + f.Name
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		data, err := readAll(rc, name)
		rc.Close()
		if err != nil {
			return err
		}
		if err := r.ReadOSV(name, data, true); err != nil {
			return err
		}
	}
	return nil
}

// ReadOSV reads one OSV record read from name. A record that is not a
// MAL- record is skipped if inTree, refused if not.
func (r *Reader) ReadOSV(name string, data []byte, inTree bool) error {
	var v osvschema.Vulnerability
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &v); err != nil {
		return fmt.Errorf("%s: not an OSV record: %v", name, err)
	}
	id := v.GetId()
	if !strings.HasPrefix(id, "MAL-") {
		if inTree {
			r.b.Skipped++
			return nil
		}
		return fmt.Errorf("%s: record %q is not a malicious-package record (its id does not start with MAL-)", name, id)
	}
	if err := checkID(id); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if prev, ok := r.ids[id]; ok {
		return fmt.Errorf("%s: record %s was already read from %s", name, id, prev)
	}
	r.ids[id] = name
	if v.GetWithdrawn() != nil {
		r.b.Withdrawn = append(r.b.Withdrawn, id)
		return nil
	}
	rec := &meta.MalwareRecord{ID: id, Origin: "osv", Summary: summary(v.GetSummary(), v.GetDetails()), Imported: r.now}
	hashes, err := structHashes(v.GetDatabaseSpecific())
	if err != nil {
		return fmt.Errorf("%s: database_specific: %w", name, err)
	}
	for i, a := range v.GetAffected() {
		eco := troveEcosystem(a.GetPackage().GetEcosystem())
		namer := r.rules[eco]
		if namer == nil {
			r.b.Skipped++
			continue
		}
		pkg, err := namer.ParseName(a.GetPackage().GetName())
		if err != nil {
			r.b.Skipped++ // no such package can be published or proxied here
			continue
		}
		h, err := structHashes(a.GetDatabaseSpecific())
		if err != nil {
			return fmt.Errorf("%s: affected[%d].database_specific: %w", name, i, err)
		}
		hashes = append(hashes, h...)
		specs, err := affectedSpecs(a.GetVersions(), a.GetRanges())
		if err != nil {
			return fmt.Errorf("%s: affected[%d] (%s): %w", name, i, a.GetPackage().GetName(), err)
		}
		for _, s := range specs {
			rec.Versions = append(rec.Versions, meta.MalwareVersions{Ecosystem: eco, Name: pkg, Spec: s.String()})
		}
	}
	for _, h := range hashes {
		rec.Patterns = append(rec.Patterns, meta.MalwarePattern{Kind: meta.PatternSHA256, Value: h})
	}
	if len(rec.Versions) == 0 && len(rec.Patterns) == 0 {
		return nil // its packages were skipped above
	}
	r.b.Records = append(r.b.Records, rec)
	return nil
}

// checkID refuses an id that would not be a safe, short word.
func checkID(id string) error {
	if id == "" || len(id) > 200 || strings.IndexFunc(id, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c))
	}) >= 0 {
		return fmt.Errorf("record id %q: want up to 200 letters, digits, '-', '_' or '.'", id)
	}
	return nil
}

// summary is a record's one-line summary: its summary, or the first line
// of its details.
func summary(s, details string) string {
	if s == "" {
		for _, l := range strings.Split(details, "\n") {
			if l = strings.TrimSpace(l); l != "" && l != "---" {
				s = l
				break
			}
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	if s == "" {
		s = "malicious package"
	}
	return s
}

// affectedSpecs turns an affected package's versions and ranges into
// specs. Ranges of type GIT are refused: they name commits.
func affectedSpecs(versions []string, ranges []*osvschema.Range) ([]spec, error) {
	var out []spec
	for _, v := range versions {
		if v == "" || strings.ContainsAny(v, " \t\n") {
			return nil, fmt.Errorf("version %q: not a version", v)
		}
		out = append(out, spec{exact: v})
	}
	for i, rg := range ranges {
		if rg.GetType() == osvschema.Range_GIT {
			return nil, fmt.Errorf("ranges[%d]: a GIT range names commits, not versions", i)
		}
		var cur *spec
		for _, e := range rg.GetEvents() {
			switch {
			case e.GetIntroduced() != "":
				if cur != nil {
					out = append(out, *cur)
				}
				cur = &spec{introduced: e.GetIntroduced()}
			case e.GetFixed() != "" || e.GetLastAffected() != "":
				if cur == nil {
					return nil, fmt.Errorf("ranges[%d]: a fixed or last_affected event before any introduced one", i)
				}
				cur.fixed, cur.lastAffected = e.GetFixed(), e.GetLastAffected()
				out = append(out, *cur)
				cur = nil
			}
		}
		if cur != nil {
			out = append(out, *cur)
		}
	}
	for i, s := range out {
		if s.introduced == "0" && s.fixed == "" && s.lastAffected == "" {
			out[i] = spec{all: true}
		}
		for _, v := range []string{s.introduced, s.fixed, s.lastAffected} {
			if strings.ContainsAny(v, " \t\n=") {
				return nil, fmt.Errorf("version %q: not a version", v)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("neither versions nor ranges")
	}
	return out, nil
}

// structHashes returns the sha256 digests a database_specific object
// lists under "sha256" (a string or a list of strings), lowercased. The
// malicious-packages repository's "malicious-packages-origins" entries
// also hold a "sha256", of the source's report, not of a file: they are
// not read.
func structHashes(s *structpb.Struct) ([]string, error) {
	v, ok := s.GetFields()["sha256"]
	if !ok {
		return nil, nil
	}
	var vals []*structpb.Value
	switch {
	case v.GetListValue() != nil:
		vals = v.GetListValue().GetValues()
	default:
		vals = []*structpb.Value{v}
	}
	var out []string
	for _, x := range vals {
		h, err := parseDigest(x.GetStringValue())
		if err != nil {
			return nil, fmt.Errorf("sha256: %w", err)
		}
		out = append(out, h)
	}
	return out, nil
}

func parseDigest(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(s, "sha256:"))
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%q is not a sha256 digest (64 hex digits)", s)
	}
	return s, nil
}

// ReadHashList reads a hash list: per line a sha256 digest in hex
// (optionally "sha256:"-prefixed) and an optional label (a file name),
// or "snippet: " and text matched literally; "#" starts a comment line,
// and a first comment line "# summary: …" gives the record's summary.
// The record's id is the file's base name.
func (r *Reader) ReadHashList(name string, data []byte) error {
	id := path.Base(filepath.ToSlash(name))
	if err := checkID(id); err != nil {
		return fmt.Errorf("%s: the file name is the record's id: %w", name, err)
	}
	if prev, ok := r.ids[id]; ok {
		return fmt.Errorf("%s: record %s was already read from %s", name, id, prev)
	}
	r.ids[id] = name
	rec := &meta.MalwareRecord{ID: id, Origin: "hashes", Summary: "listed in " + id, Imported: r.now}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxRecordBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		switch trimmed := strings.TrimSpace(line); {
		case trimmed == "":
		case strings.HasPrefix(trimmed, "#"):
			if s, ok := strings.CutPrefix(trimmed, "# summary:"); ok {
				rec.Summary = summary(s, "")
			}
		case strings.HasPrefix(line, "snippet: "):
			snip := strings.TrimPrefix(line, "snippet: ")
			if len(snip) < MinSnippetLen || len(snip) > MaxSnippetLen {
				return fmt.Errorf("%s:%d: a snippet is %d to %d bytes; this one is %d", name, n, MinSnippetLen, MaxSnippetLen, len(snip))
			}
			if !utf8.ValidString(snip) || strings.ContainsRune(snip, 0) {
				return fmt.Errorf("%s:%d: a snippet is UTF-8 text without NUL bytes", name, n)
			}
			rec.Patterns = append(rec.Patterns, meta.MalwarePattern{Kind: meta.PatternSnippet, Value: snip})
		default:
			f := strings.Fields(trimmed)
			h, err := parseDigest(f[0])
			if err != nil {
				return fmt.Errorf("%s:%d: %v; a line is a digest and an optional file name, \"snippet: <text>\", or a # comment", name, n, err)
			}
			label := strings.TrimPrefix(strings.Join(f[1:], " "), "*") // sha256sum's binary mark
			rec.Patterns = append(rec.Patterns, meta.MalwarePattern{Kind: meta.PatternSHA256, Value: h, Label: label})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(rec.Patterns) == 0 {
		return fmt.Errorf("%s: no digests or snippets in it", name)
	}
	r.b.Records = append(r.b.Records, rec)
	return nil
}
