package meta

import (
	"context"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A Publisher is a trusted publisher (table trusted_publishers): an OIDC
// identity allowed to mint short-lived publish tokens for one package.
type Publisher struct {
	ID        int64
	Ecosystem trove.Ecosystem
	Name      trove.Name // normalized, as packages.name
	Kind      string     // github, gitlab or generic
	Issuer    string     // the configured issuer's name
	Claims    string     // the kind's rules, JSON
	CreatedBy int64
	AuthLevel trove.AuthLevel
	CreatedAt time.Time
}

const publisherCols = `id, ecosystem, name, kind, issuer, claims, created_by, auth_level, created_at`

func scanPublisher(s interface{ Scan(...any) error }) (*Publisher, error) {
	var p Publisher
	var created int64
	if err := s.Scan(&p.ID, &p.Ecosystem, &p.Name, &p.Kind, &p.Issuer, &p.Claims, &p.CreatedBy, &p.AuthLevel, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = time.UnixMicro(created).UTC()
	return &p, nil
}

// InsertPublisher adds p and sets p.ID.
func (tx *Tx) InsertPublisher(ctx context.Context, p *Publisher) error {
	id, err := tx.insert(ctx, `INSERT INTO trusted_publishers (ecosystem, name, kind, issuer, claims, created_by, auth_level, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		string(p.Ecosystem), string(p.Name), p.Kind, p.Issuer, p.Claims, p.CreatedBy, int(p.AuthLevel), p.CreatedAt.UnixMicro())
	p.ID = id
	return err
}

// DeletePublisher removes the package's publisher with the id and revokes
// the tokens it minted that are still live: ErrNotFound if the package
// has no such publisher.
func (tx *Tx) DeletePublisher(ctx context.Context, eco trove.Ecosystem, name trove.Name, id int64, at time.Time) error {
	if err := affected(tx.exec(ctx, `DELETE FROM trusted_publishers WHERE id = ? AND ecosystem = ? AND name = ?`, id, string(eco), string(name))); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE publisher_id = ? AND revoked_at IS NULL`, at.UnixMicro(), id)
	return err
}

// PublishersOf returns the publishers of the package (ecosystem, name), oldest first.
func (q q) PublishersOf(ctx context.Context, eco trove.Ecosystem, name trove.Name) ([]*Publisher, error) {
	rows, err := q.query(ctx, `SELECT `+publisherCols+` FROM trusted_publishers WHERE ecosystem = ? AND name = ? ORDER BY id`, string(eco), string(name))
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPublisher)
}

// PublishersOfIssuer returns at most limit publishers of the ecosystem
// that trust the issuer, oldest first.
func (q q) PublishersOfIssuer(ctx context.Context, issuer string, eco trove.Ecosystem, limit int) ([]*Publisher, error) {
	rows, err := q.query(ctx, `SELECT `+publisherCols+` FROM trusted_publishers WHERE issuer = ? AND ecosystem = ? ORDER BY id LIMIT ?`, issuer, string(eco), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPublisher)
}

// PublisherByID returns the publisher with the id.
func (q q) PublisherByID(ctx context.Context, id int64) (*Publisher, error) {
	p, err := scanPublisher(q.row(ctx, `SELECT `+publisherCols+` FROM trusted_publishers WHERE id = ?`, id))
	return p, q.err(err)
}

// UseJTI records that the ID token (issuer URL, jti) was exchanged, to be
// remembered until expires, and purges the records that expired before
// now. It returns ErrConflict if the token was exchanged before: the
// primary key makes this atomic across replicas.
func (tx *Tx) UseJTI(ctx context.Context, issuer, jti string, expires, now time.Time) error {
	if _, err := tx.exec(ctx, `DELETE FROM oidc_jtis WHERE expires_at < ?`, now.UnixMicro()); err != nil {
		return err
	}
	res, err := tx.exec(ctx, `INSERT INTO oidc_jtis (issuer, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT (issuer, jti) DO NOTHING`,
		issuer, jti, expires.UnixMicro())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrConflict
	}
	return nil
}

// SetTrustedOnly sets or clears the package's "trusted publishing only" switch.
func (tx *Tx) SetTrustedOnly(ctx context.Context, packageID int64, on bool) error {
	_, err := tx.exec(ctx, `INSERT INTO package_policies (package_id, trusted_only) VALUES (?, ?)
		ON CONFLICT (package_id) DO UPDATE SET trusted_only = excluded.trusted_only`, packageID, boolInt(on))
	return err
}
