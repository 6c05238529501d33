package meta

import (
	"context"
	"errors"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// An UpstreamDoc is a cached metadata document of an upstream registry
// (internal/upstream): the body its source last sent for the key, and how
// to revalidate it.
type UpstreamDoc struct {
	Ecosystem    trove.Ecosystem
	Doc          string // the cache key the adapter chose
	Source       string // the configured upstream's name
	URL          string
	Status       int // 200, or 404 for a document the upstream does not have
	ETag         string
	LastModified string
	FetchedAt    time.Time // when the body was received
	CheckedAt    time.Time // when the upstream last confirmed it
	Body         []byte
}

// UpstreamDoc returns the cached document, or ErrNotFound.
func (q q) UpstreamDoc(ctx context.Context, eco trove.Ecosystem, doc string) (*UpstreamDoc, error) {
	d := UpstreamDoc{Ecosystem: eco, Doc: doc}
	var fetched, checked int64
	err := q.row(ctx, `SELECT source, url, status, etag, last_modified, fetched_at, checked_at, body
		FROM upstream_docs WHERE ecosystem = ? AND doc = ?`, eco, doc).
		Scan(&d.Source, &d.URL, &d.Status, &d.ETag, &d.LastModified, &fetched, &checked, &d.Body)
	if err = q.err(err); err != nil {
		return nil, err
	}
	d.FetchedAt, d.CheckedAt = time.UnixMicro(fetched).UTC(), time.UnixMicro(checked).UTC()
	return &d, nil
}

// PutUpstreamDoc stores d, replacing the document cached under its key.
func (db *DB) PutUpstreamDoc(ctx context.Context, d *UpstreamDoc) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO upstream_docs (ecosystem, doc, source, url, status, etag, last_modified, fetched_at, checked_at, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (ecosystem, doc) DO UPDATE SET source = excluded.source, url = excluded.url, status = excluded.status,
				etag = excluded.etag, last_modified = excluded.last_modified, fetched_at = excluded.fetched_at,
				checked_at = excluded.checked_at, body = excluded.body`,
			d.Ecosystem, d.Doc, d.Source, d.URL, d.Status, d.ETag, d.LastModified, d.FetchedAt.UnixMicro(), d.CheckedAt.UnixMicro(), d.Body)
		return tx.err(err)
	})
}

// TouchUpstreamDoc records that the upstream confirmed the cached
// document (a 304) at the time at.
func (db *DB) TouchUpstreamDoc(ctx context.Context, eco trove.Ecosystem, doc string, at time.Time) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE upstream_docs SET checked_at = ? WHERE ecosystem = ? AND doc = ?`, at.UnixMicro(), eco, doc)
		return tx.err(err)
	})
}

// Upstream exception kinds (UpstreamException.Kind).
const (
	// ExceptLocal lets a name an upstream has be published here.
	ExceptLocal = "local"
	// ExceptUpstream serves a name from upstreams although its namespace
	// is local.
	ExceptUpstream = "upstream"
)

// An UpstreamException is an administrator's decision about one name.
type UpstreamException struct {
	Ecosystem trove.Ecosystem
	Name      trove.Name
	Kind      string // ExceptLocal or ExceptUpstream
	Reason    string
	CreatedBy string
	CreatedAt time.Time
}

// UpstreamException returns the exception made for a name, or ErrNotFound.
func (q q) UpstreamException(ctx context.Context, eco trove.Ecosystem, name trove.Name) (*UpstreamException, error) {
	e := UpstreamException{Ecosystem: eco, Name: name}
	var at int64
	err := q.err(q.row(ctx, `SELECT kind, reason, created_by, created_at FROM upstream_exceptions WHERE ecosystem = ? AND name = ?`, eco, name).
		Scan(&e.Kind, &e.Reason, &e.CreatedBy, &at))
	if err != nil {
		return nil, err
	}
	e.CreatedAt = time.UnixMicro(at).UTC()
	return &e, nil
}

// UpstreamExceptions returns every exception, by ecosystem and name.
func (q q) UpstreamExceptions(ctx context.Context) ([]*UpstreamException, error) {
	rows, err := q.query(ctx, `SELECT ecosystem, name, kind, reason, created_by, created_at FROM upstream_exceptions ORDER BY ecosystem, name`)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*UpstreamException, error) {
		var e UpstreamException
		var at int64
		if err := s.Scan(&e.Ecosystem, &e.Name, &e.Kind, &e.Reason, &e.CreatedBy, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = time.UnixMicro(at).UTC()
		return &e, nil
	})
}

// PutUpstreamException records e, replacing an exception for the same name.
func (tx *Tx) PutUpstreamException(ctx context.Context, e *UpstreamException) error {
	if e.Kind != ExceptLocal && e.Kind != ExceptUpstream {
		return errors.New("meta: unknown upstream exception kind " + e.Kind)
	}
	_, err := tx.exec(ctx, `INSERT INTO upstream_exceptions (ecosystem, name, kind, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (ecosystem, name) DO UPDATE SET kind = excluded.kind, reason = excluded.reason,
			created_by = excluded.created_by, created_at = excluded.created_at`,
		e.Ecosystem, e.Name, e.Kind, e.Reason, e.CreatedBy, e.CreatedAt.UnixMicro())
	return tx.err(err)
}

// DeleteUpstreamException removes the exception for a name; ErrNotFound
// if there was none.
func (tx *Tx) DeleteUpstreamException(ctx context.Context, eco trove.Ecosystem, name trove.Name) error {
	return affected(tx.exec(ctx, `DELETE FROM upstream_exceptions WHERE ecosystem = ? AND name = ?`, eco, name))
}

// DeleteUpstreamMisses deletes the cached not-found answers last checked
// before cutoff, and returns how many: names clients asked for that no
// upstream has, which would otherwise accumulate.
func (db *DB) DeleteUpstreamMisses(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM upstream_docs WHERE status <> 200 AND checked_at < ?`, cutoff.UnixMicro())
		if err != nil {
			return tx.err(err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
