package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// CanReadRecord returns nil if the request of ctx may read the text of
// transparency log record id: every record that is not private
// (translog.IsPrivate), and a private one about a package the request
// may read (CanRead's rule), which includes every record of a package
// made public since. A private record about no package the registry
// still holds is the operator's only. A refusal, and a record that does
// not exist, is ErrNotFound.
func (s *Service) CanReadRecord(ctx context.Context, id int64) error {
	notFound := trove.Error(trove.ErrNotFound, "no log record %d", id)
	recs, err := s.db.ReadLogRecords(ctx, id, 1)
	if errors.Is(err, meta.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if !translog.IsPrivate(recs[0]) || !access.InRequest(ctx) {
		return nil
	}
	ev, err := translog.ParseEvent(recs[0])
	if err != nil {
		return fmt.Errorf("log record %d: %w", id, err)
	}
	pkg, err := s.db.Package(ctx, trove.Ecosystem(ev.Ecosystem), trove.Name(ev.Name))
	if errors.Is(err, meta.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if ok, err := s.mayRead(ctx, pkg); err != nil || !ok {
		return cmp.Or(err, notFound)
	}
	return nil
}
