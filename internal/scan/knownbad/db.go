package knownbad

import (
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// A Marker marks package versions malicious in curation, so that a
// proxied upstream version a record lists is never served;
// curate.Service.FeedMalicious is one (cmd/trove adapts it).
type Marker interface {
	// MarkMalicious marks the versions ("*", one version or a range in
	// the ecosystem's syntax) malicious, why naming the record, or with
	// remove unmarks them. Marking what is marked, or unmarking what is
	// not, is no error.
	MarkMalicious(ctx context.Context, eco trove.Ecosystem, name trove.Name, versions, why string, remove bool) error
}

// Applied is what Apply did.
type Applied struct {
	Records, Versions, Patterns, Removed int
	// Marks counts the curation marks made; Unmarkable the listed
	// versions curation cannot express (Go ranges), which only the
	// scanner matches.
	Marks, Unmarkable int
}

// Apply stores a batch in one transaction (a re-imported record replaces
// what it listed, a withdrawn one is removed) and then marks its versions
// malicious through m (nil: no curation). Nothing is stored if any
// record cannot be; marks are made after the commit, each recorded on its
// own, and a failed one is reported after the others were tried: a
// re-import repeats what is missing.
func Apply(ctx context.Context, db *meta.DB, b *Batch, m Marker) (Applied, error) {
	var out Applied
	var gone []meta.MalwareVersions
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		for _, id := range b.Withdrawn {
			old, err := tx.MalwareRecord(ctx, id)
			if errors.Is(err, meta.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if err := tx.DeleteMalwareRecord(ctx, id); err != nil {
				return err
			}
			gone = append(gone, old.Versions...)
			out.Removed++
		}
		for _, r := range b.Records {
			if err := tx.PutMalwareRecord(ctx, r); err != nil {
				return fmt.Errorf("storing record %s: %w", r.ID, err)
			}
			out.Records++
			out.Versions += len(r.Versions)
			out.Patterns += len(r.Patterns)
		}
		snips, err := tx.MalwarePatterns(ctx, meta.PatternSnippet, nil)
		if err != nil {
			return err
		}
		if len(snips) > MaxSnippets {
			return trove.Error(trove.ErrTooLarge, "the known-bad database would hold %d snippets; the limit is %d (every member of every upload is searched for each)", len(snips), MaxSnippets)
		}
		return nil
	})
	if err != nil {
		return Applied{}, err
	}
	if m == nil {
		return out, nil
	}
	var errs []error
	for _, r := range b.Records {
		for _, v := range r.Versions {
			n, err := mark(ctx, m, v, r.ID+": "+r.Summary, false)
			out.Marks += n
			out.Unmarkable += 1 - n
			errs = append(errs, err)
		}
	}
	errs = append(errs, unmark(ctx, db, m, gone))
	return out, errors.Join(errs...)
}

// mark marks or unmarks v and reports whether curation can say it.
func mark(ctx context.Context, m Marker, v meta.MalwareVersions, why string, remove bool) (int, error) {
	s, err := parseSpec(v.Spec)
	if err != nil {
		return 0, err
	}
	versions := s.curation(v.Ecosystem)
	if versions == "" {
		return 0, nil
	}
	if err := m.MarkMalicious(ctx, v.Ecosystem, v.Name, versions, why, remove); err != nil {
		return 1, fmt.Errorf("marking %s %s %s malicious in curation: %w", v.Ecosystem, v.Name, versions, err)
	}
	return 1, nil
}

// unmark removes the curation marks of versions no remaining record
// lists.
func unmark(ctx context.Context, db *meta.DB, m Marker, gone []meta.MalwareVersions) error {
	var errs []error
	for _, v := range gone {
		still, err := db.MalwareVersionsOf(ctx, v.Ecosystem, v.Name)
		if err != nil {
			return err
		}
		listed := false
		for _, s := range still {
			listed = listed || s.Spec == v.Spec
		}
		if !listed {
			_, err := mark(ctx, m, v, "", true)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Remove deletes a record and unmarks the versions it listed that no other
// record lists; ErrNotFound if there is none.
func Remove(ctx context.Context, db *meta.DB, id string, m Marker) error {
	var gone []meta.MalwareVersions
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		old, err := tx.MalwareRecord(ctx, id)
		if err != nil {
			return err
		}
		gone = old.Versions
		return tx.DeleteMalwareRecord(ctx, id)
	})
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "no known-bad record %q", id)
	}
	if err != nil || m == nil {
		return err
	}
	return unmark(ctx, db, m, gone)
}
