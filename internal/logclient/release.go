package logclient

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/trove-dev/trove/internal/translog"
)

// A Query names a package version.
type Query struct {
	Ecosystem string // npm, pypi, go
	Name      string // normalized, as records write it (PEP 503 for PyPI)
	Version   string
	// VersionKey, if not nil, canonicalizes versions: a record is about
	// the query's version if their keys are equal (PEP 440: 1.0 == 1.0.0).
	// Without it, versions must be equal.
	VersionKey func(string) (string, error)
}

func (q Query) String() string { return q.Ecosystem + " " + q.Name + " " + q.Version }

// matches reports whether a record is about the query's package version.
func (q Query) matches(ev *translog.Event) bool {
	if ev.Ecosystem != q.Ecosystem || ev.Name != q.Name {
		return false
	}
	if ev.Version == q.Version {
		return true
	}
	if q.VersionKey == nil {
		return false
	}
	a, err1 := q.VersionKey(ev.Version)
	b, err2 := q.VersionKey(q.Version)
	return err1 == nil && err2 == nil && a == b
}

// A Record is a log record proved to be in the log.
type Record struct {
	ID    int64
	Text  []byte
	Event *translog.Event
}

// A Release is every record about a package version, each proved to be in
// the log's tree of Checkpoint.
type Release struct {
	Query      Query
	Checkpoint *Checkpoint
	Records    []Record // in log order
}

// MaxLookupSize bounds a lookup response.
const MaxLookupSize = 16 << 20

// Lookup asks the log for the records about a package version, verifies
// the checkpoint that comes with them (as Latest does), proves each record
// to be in its tree, and checks that each is about the version asked. A
// version the log has no record of is an error wrapping ErrNotFound.
func (c *Client) Lookup(q Query) (*Release, error) {
	path := "lookup/" + url.PathEscape(q.Ecosystem) + "/" + url.PathEscape(q.Name) + "/" + url.PathEscape(q.Version)
	body, err := c.ops.ReadRemote(path)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%s: the log has no record of it: %w", q, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: looking up records: %w", q, err)
	}
	if len(body) > MaxLookupSize {
		return nil, fmt.Errorf("%s: lookup response larger than %d bytes", q, MaxLookupSize)
	}
	var resp translog.LookupResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("%s: malformed lookup response: %w", q, err)
	}
	cp, err := c.merge([]byte(resp.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	rel := &Release{Query: q, Checkpoint: cp}
	for _, r := range resp.Records {
		text := []byte(r.Text)
		if err := c.ProveRecord(cp, r.ID, text); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		ev, err := translog.ParseEvent(text)
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", q, r.ID, err)
		}
		if !q.matches(ev) {
			return nil, fmt.Errorf("%s: record %d is about %s %s %s, not the version asked", q, r.ID, ev.Ecosystem, ev.Name, ev.Version)
		}
		rel.Records = append(rel.Records, Record{ID: r.ID, Text: text, Event: ev})
	}
	if len(rel.Records) == 0 {
		return nil, fmt.Errorf("%s: the log lists no record of it in its tree of %d: %w", q, cp.Tree.N, ErrNotFound)
	}
	slices.SortFunc(rel.Records, func(a, b Record) int { return cmp.Compare(a.ID, b.ID) })
	return rel, nil
}

// Published returns the publish records of the release, and the proxy
// records of its files fetched from an upstream.
func (r *Release) Published() []Record {
	var out []Record
	for _, rec := range r.Records {
		if rec.Event.Kind == "publish" || rec.Event.Kind == "proxy" {
			out = append(out, rec)
		}
	}
	return out
}

// Files returns the files of every publish record, in log order.
func (r *Release) Files() []translog.FileDigest {
	var out []translog.FileDigest
	for _, rec := range r.Published() {
		out = append(out, rec.Event.Files...)
	}
	return out
}

// Lines returns the ecosystem lines of every publish record (for a Go
// module, its go.sum lines).
func (r *Release) Lines() []string {
	var out []string
	for _, rec := range r.Published() {
		out = append(out, rec.Event.Lines...)
	}
	return out
}

// FindFile returns the published file with the digest, preferring one
// named name when name is not empty.
func (r *Release) FindFile(name, sha256 string) (translog.FileDigest, bool) {
	files := r.Files()
	if i := slices.Index(files, translog.FileDigest{Name: name, SHA256: sha256}); i >= 0 {
		return files[i], true
	}
	if name != "" {
		return translog.FileDigest{}, false
	}
	for _, f := range files {
		if f.SHA256 == sha256 {
			return f, true
		}
	}
	return translog.FileDigest{}, false
}

// A State is where a release stands after all its records.
type State struct {
	Yanked     bool
	YankReason string
	Deleted    bool // deleted or taken down
	DeleteKind string
	Reason     string // the delete's or takedown's reason
	// Quarantined: the registry's administrators took it out of view
	// while they look into it; QuarantineReason says why.
	Quarantined      bool
	QuarantineReason string
	Deprecated       string // the deprecation message, "" if none
}

// State replays the release's records in log order.
func (r *Release) State() State {
	var s State
	for _, rec := range r.Records {
		ev := rec.Event
		reason := ""
		if ev.Reason != nil {
			reason = *ev.Reason
		}
		switch ev.Kind {
		case "yank":
			s.Yanked, s.YankReason = true, reason
		case "unyank":
			s.Yanked, s.YankReason = false, ""
		case "delete", "takedown":
			s.Deleted, s.DeleteKind, s.Reason = true, ev.Kind, reason
			s.Quarantined, s.QuarantineReason = false, ""
		case "quarantine":
			s.Quarantined, s.QuarantineReason = true, reason
		case "unquarantine":
			s.Quarantined, s.QuarantineReason = false, ""
		case "deprecate":
			if ev.Message != nil {
				s.Deprecated = *ev.Message
			}
		}
	}
	return s
}
