package web

import (
	"context"

	"github.com/trove-dev/trove/internal/meta"
)

// An AuditReader reads the audit log (meta.DB is one).
type AuditReader interface {
	// AuditEntries returns up to limit entries that pass the filter,
	// newest first.
	AuditEntries(ctx context.Context, f meta.AuditFilter, limit int) ([]*meta.AuditEntry, error)
}
