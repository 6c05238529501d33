package blob

import (
	"context"
	"errors"
	"fmt"
)

// A Presigner is a Store that can send clients to fetch a blob straight
// from where it is stored, by a URL that is valid for a short time: an
// S3 store's presigned GET. The bytes then bypass Trove, so nothing
// checks them on the way out; the clients' own checks (npm integrity,
// pip hashes, the go checksum database) and the scrub still catch
// damage, and a quarantined blob is never given a URL.
//
// Wrappers of a Store (Cache, the server's error metrics) implement
// Presigner by passing the call on, and answer errors.ErrUnsupported
// for a store that is not one: call [PresignGet] rather than assert the
// interface.
type Presigner interface {
	// PresignGet returns a URL from which a plain GET (not HEAD) fetches
	// the blob's bytes until the URL expires, answered with o's content
	// type and, if o.Filename is set, an attachment disposition of that
	// name. It first checks that the blob is in service, and returns
	// Stat's errors (wrapping ErrNotFound or ErrDamaged) rather than a
	// URL a reader could not use. It returns an error wrapping
	// errors.ErrUnsupported if the store hands out no URLs (or has them
	// switched off).
	PresignGet(ctx context.Context, d Digest, o PresignOptions) (string, error)
}

// PresignOptions shape the response a presigned URL gets.
type PresignOptions struct {
	ContentType string
	Filename    string // the name a browser saves the file under; "" for none
}

// PresignGet returns s.PresignGet(ctx, d, o) if s is a Presigner, and
// an error wrapping errors.ErrUnsupported if it is not.
func PresignGet(ctx context.Context, s Store, d Digest, o PresignOptions) (string, error) {
	p, ok := s.(Presigner)
	if !ok {
		return "", fmt.Errorf("presigning blob %s: %w", d, errors.ErrUnsupported)
	}
	return p.PresignGet(ctx, d, o)
}
