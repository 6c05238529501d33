package metatest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// testUpstreamDocs: the cache of upstream documents keeps any bytes,
// replaces a key's document whole, and a touch moves only checked_at.
func testUpstreamDocs(t *testing.T, db *meta.DB) {
	if _, err := db.UpstreamDoc(ctx, "npm", "left-pad"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("UpstreamDoc of an empty cache = %v, want ErrNotFound", err)
	}
	body := append([]byte{0, 0xff, '\n'}, bytes.Repeat([]byte("é"), 1<<20)...) // not UTF-8 text
	d := &meta.UpstreamDoc{Ecosystem: "npm", Doc: "left-pad", Source: "public", URL: "http://up.test/left-pad", Status: 200,
		ETag: `"e1"`, LastModified: "Mon, 01 Jan 2024 00:00:00 GMT", FetchedAt: now, CheckedAt: now, Body: body}
	if err := db.PutUpstreamDoc(ctx, d); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Hour)
	if err := db.TouchUpstreamDoc(ctx, "npm", "left-pad", later); err != nil {
		t.Fatal(err)
	}
	got, err := db.UpstreamDoc(ctx, "npm", "left-pad")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Body, body) || got.ETag != d.ETag || got.LastModified != d.LastModified || got.Status != 200 ||
		!got.FetchedAt.Equal(now) || !got.CheckedAt.Equal(later) || got.Source != "public" || got.URL != d.URL {
		t.Fatalf("got %+v (body %d bytes), want %+v with checked_at %v", got, len(got.Body), d, later)
	}
	gone := &meta.UpstreamDoc{Ecosystem: "npm", Doc: "left-pad", Source: "second", URL: "http://up2.test/left-pad", Status: 404,
		FetchedAt: later, CheckedAt: later, Body: []byte{}}
	if err := db.PutUpstreamDoc(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if got, err = db.UpstreamDoc(ctx, "npm", "left-pad"); err != nil || got.Status != 404 || len(got.Body) != 0 || got.ETag != "" || got.Source != "second" {
		t.Fatalf("after replacing: %+v, %v", got, err)
	}
	if _, err := db.UpstreamDoc(ctx, "pypi", "left-pad"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("another ecosystem's document = %v, want ErrNotFound", err)
	}
	kept := &meta.UpstreamDoc{Ecosystem: "npm", Doc: "kept", Source: "public", URL: "http://up.test/kept", Status: 200, FetchedAt: now, CheckedAt: now, Body: []byte("x")}
	if err := db.PutUpstreamDoc(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if n, err := db.DeleteUpstreamMisses(ctx, later); err != nil || n != 0 {
		t.Fatalf("DeleteUpstreamMisses(at its check) = %d, %v; want none deleted", n, err)
	}
	if n, err := db.DeleteUpstreamMisses(ctx, later.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("DeleteUpstreamMisses = %d, %v; want the one miss", n, err)
	}
	if _, err := db.UpstreamDoc(ctx, "npm", "kept"); err != nil {
		t.Fatalf("a cached document was swept: %v", err)
	}
}

// testUpstreamExceptions: one exception per name, replaced by a later
// one, listed, deleted.
func testUpstreamExceptions(t *testing.T, db *meta.DB) {
	put := func(name trove.Name, kind string) error {
		return db.Tx(ctx, func(tx *meta.Tx) error {
			return tx.PutUpstreamException(ctx, &meta.UpstreamException{Ecosystem: "npm", Name: name, Kind: kind, Reason: "why", CreatedBy: "root", CreatedAt: now})
		})
	}
	if err := put("fork", "sideways"); err == nil {
		t.Fatal("an unknown kind was stored")
	}
	if err := put("fork", meta.ExceptUpstream); err != nil {
		t.Fatal(err)
	}
	if err := put("fork", meta.ExceptLocal); err != nil {
		t.Fatal(err)
	}
	if err := put("@acme/public", meta.ExceptUpstream); err != nil {
		t.Fatal(err)
	}
	e, err := db.UpstreamException(ctx, "npm", "fork")
	if err != nil || e.Kind != meta.ExceptLocal || e.CreatedBy != "root" || !e.CreatedAt.Equal(now) {
		t.Fatalf("UpstreamException = %+v, %v", e, err)
	}
	all, err := db.UpstreamExceptions(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "@acme/public" || all[1].Name != "fork" {
		t.Fatalf("UpstreamExceptions = %v, %v", all, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.DeleteUpstreamException(ctx, "npm", "fork") })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeleteUpstreamException(ctx, "npm", "fork") }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("deleting a missing exception = %v, want ErrNotFound", err)
	}
	if _, err := db.UpstreamException(ctx, "npm", "fork"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("deleted exception = %v", err)
	}
}
