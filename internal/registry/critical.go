package registry

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Downloads and critical packages
//
// Each replica counts file downloads per package and UTC day in memory
// (CountDownload: a map under a mutex, at most MaxPendingDownloads keys)
// and adds them to package_downloads every DownloadFlushEvery (the
// FlushDownloadsJob, run by every replica, not leased: replicas add up).
// One UPSERT per package and day per flush. A key beyond the bound is
// dropped and the loss logged at the next flush: memory stays bounded
// under a flood of distinct packages.
//
// The CriticalJob (leased, daily) ranks local packages by downloads over
// CriticalWindow and marks the top CriticalShare of them (at least one
// package once any has downloads) critical; marks set by administrators
// (SetCritical) are kept apart and never expire. Maintainers of a package
// that becomes critical are told (account.EventPackageCritical) and, from
// then on, every change to it needs a phishing-resistant token: there is
// no grace period. A package that leaves the top share stops being
// critical at the next run.

// Limits and periods of download counting and ranking.
const (
	MaxPendingDownloads = 100_000
	DownloadFlushEvery  = time.Minute
	CriticalWindow      = 90 * 24 * time.Hour
	CriticalEvery       = 24 * time.Hour
	// CriticalShare is the share of local packages ranked critical: 1%.
	CriticalShare = 0.01
)

// A Notice tells the maintainers of a package something about it: that
// it became critical. It is given the maintainers' ids.
type Notice func(ctx context.Context, userIDs []int64, eco trove.Ecosystem, name trove.Name, why string) error

type dayKey struct {
	pkg int64
	day int64
}

// downloads is the in-memory count of one replica.
type downloads struct {
	mu      sync.Mutex
	counts  map[dayKey]int64
	dropped int64
}

func unixDay(t time.Time) int64 { return t.Unix() / 86400 }

// CountDownload counts one download of a file of the package.
func (s *Service) CountDownload(packageID int64) {
	k := dayKey{packageID, unixDay(now(s))}
	d := &s.downloads
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.counts == nil {
		d.counts = make(map[dayKey]int64)
	}
	if _, ok := d.counts[k]; !ok && len(d.counts) >= MaxPendingDownloads {
		d.dropped++
		return
	}
	d.counts[k]++
}

// FlushDownloads adds the counted downloads to the database. Counts that
// fail to be written are kept for the next flush.
func (s *Service) FlushDownloads(ctx context.Context) error {
	d := &s.downloads
	d.mu.Lock()
	counts, dropped := d.counts, d.dropped
	d.counts, d.dropped = nil, 0
	d.mu.Unlock()
	if dropped > 0 {
		log().Warn("download counts dropped: too many packages between flushes", "count", dropped, "max", MaxPendingDownloads)
	}
	if len(counts) == 0 {
		return nil
	}
	batch := make([]meta.DownloadCount, 0, len(counts))
	for k, n := range counts {
		batch = append(batch, meta.DownloadCount{PackageID: k.pkg, Day: k.day, Count: n})
	}
	slices.SortFunc(batch, func(a, b meta.DownloadCount) int { // one lock order for every replica
		return cmp.Or(cmp.Compare(a.PackageID, b.PackageID), cmp.Compare(a.Day, b.Day))
	})
	err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.AddDownloads(ctx, batch) })
	if err != nil {
		d.mu.Lock()
		if d.counts == nil {
			d.counts = make(map[dayKey]int64)
		}
		for k, n := range counts {
			d.counts[k] += n
		}
		d.mu.Unlock()
		return fmt.Errorf("adding download counts: %w", err)
	}
	return nil
}

// FlushDownloadsLoop flushes the counts every DownloadFlushEvery until
// ctx ends, then once more.
func (s *Service) FlushDownloadsLoop(ctx context.Context) {
	t := time.NewTicker(DownloadFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := s.FlushDownloads(fctx); err != nil {
				log().Warn("flushing download counts at shutdown", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
		if err := s.FlushDownloads(ctx); err != nil && ctx.Err() == nil {
			log().Warn("flushing download counts", "err", err)
		}
	}
}

// CriticalJob is the daily job that ranks packages by downloads and tells
// the maintainers of those that became critical through notice (nil: no
// one is told).
func (s *Service) CriticalJob(notice Notice) Job {
	return Job{Name: "rank-critical", Every: CriticalEvery, Run: func(ctx context.Context) error {
		return s.RankCritical(ctx, notice)
	}}
}

// RankCritical recomputes the packages ranked critical by downloads.
func (s *Service) RankCritical(ctx context.Context, notice Notice) error {
	today := unixDay(now(s))
	from := today - int64(CriticalWindow/(24*time.Hour)) + 1
	totals, err := s.db.DownloadTotals(ctx, from)
	if err != nil {
		return err
	}
	n, err := s.db.CountLocalPackages(ctx)
	if err != nil {
		return err
	}
	top := criticalCount(n, len(totals))
	ids := make([]int64, 0, top)
	for _, t := range totals[:top] {
		ids = append(ids, t.PackageID)
	}
	var added []int64
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.PruneDownloads(ctx, from); err != nil {
			return err
		}
		added, err = tx.SetRanked(ctx, ids)
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range added {
		s.tellCritical(ctx, notice, id, fmt.Sprintf("it is among the top %g%% of packages by downloads over %d days", CriticalShare*100, CriticalWindow/(24*time.Hour)))
	}
	return nil
}

// criticalCount is how many of n local packages, of which withDownloads
// were downloaded, are ranked critical: the top CriticalShare, rounded
// up, of those downloaded.
func criticalCount(n int64, withDownloads int) int {
	top := int((float64(n)*CriticalShare + 0.999999))
	return min(top, withDownloads)
}

// tellCritical tells the maintainers of a package that it became
// critical; a failure is logged (the mark is made).
func (s *Service) tellCritical(ctx context.Context, notice Notice, packageID int64, why string) {
	if notice == nil {
		return
	}
	pkg, err := s.db.PackageByID(ctx, packageID)
	if err == nil {
		var owners []*trove.User
		owners, err = s.db.AllOwners(ctx, packageID)
		ids := make([]int64, 0, len(owners))
		for _, u := range owners {
			ids = append(ids, u.ID)
		}
		if err == nil {
			err = notice(ctx, ids, pkg.Ecosystem, pkg.Name, why)
		}
	}
	if err != nil {
		log().Warn("telling maintainers their package became critical", "package", packageID, "err", err)
	}
}

// SetCritical sets or clears an administrator's critical mark on the
// package (ecosystem, name), telling its maintainers when it is set.
func (s *Service) SetCritical(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, marked bool, notice Notice) error {
	if err := who.CheckAdmin(access.Publish); err != nil {
		return err
	}
	pkg, err := s.maintainedPackage(ctx, eco, name, "to hold to a policy")
	if err != nil {
		return err
	}
	before, err := s.db.PackagePolicy(ctx, pkg.ID)
	if err != nil {
		return err
	}
	if err := s.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetCriticalMark(ctx, pkg.ID, marked) }); err != nil {
		return err
	}
	if marked && !before.Critical() {
		s.tellCritical(ctx, notice, pkg.ID, "an administrator ("+who.UserName+") marked it critical")
	}
	return nil
}

// PendingDownloads returns how many package-days are counted in memory
// and not flushed yet.
func (s *Service) PendingDownloads() int {
	s.downloads.mu.Lock()
	defer s.downloads.mu.Unlock()
	return len(s.downloads.counts)
}
