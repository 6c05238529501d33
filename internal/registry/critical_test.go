package registry_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// TestDownloadCounts: downloads are counted per package and day in
// memory, and two replicas' flushes add up in the database.
func TestDownloadCounts(t *testing.T) {
	a := newEnv(t)
	b := newEnvOn(t, a.db) // a second replica on the same database
	alice := a.user(t, "alice", false)
	p := a.publish(t, alice, "demo", "1.0", "one").Package
	day := a.now.Unix() / 86400
	for range 3 {
		a.reg.CountDownload(p.ID)
	}
	b.reg.CountDownload(p.ID)
	a.now = a.now.Add(24 * time.Hour)
	a.reg.CountDownload(p.ID)
	for _, e := range []*env{a, b, a} { // a second flush has nothing left to add
		if err := e.reg.FlushDownloads(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.db.Downloads(ctx, p.ID, day); err != nil || n != 5 {
		t.Errorf("downloads = %d, %v; want 5", n, err)
	}
	if n, _ := a.db.Downloads(ctx, p.ID, day+1); n != 1 {
		t.Errorf("downloads from the next day = %d, want 1", n)
	}
}

// TestDownloadCountsBounded: past MaxPendingDownloads distinct packages
// between flushes, new ones are dropped, not stored in memory.
func TestDownloadCountsBounded(t *testing.T) {
	e := newEnv(t)
	for id := range int64(registry.MaxPendingDownloads + 10) {
		e.reg.CountDownload(id + 1_000_000)
	}
	e.reg.CountDownload(1_000_000) // an existing key still counts
	if n := e.reg.PendingDownloads(); n != registry.MaxPendingDownloads {
		t.Errorf("pending download keys = %d, want the bound %d", n, registry.MaxPendingDownloads)
	}
}

// TestRankCritical: the top 1% of local packages by downloads over 90
// days become critical, their maintainers are told once, and a package
// that falls out of the top stops being critical.
func TestRankCritical(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
	var ids []int64
	for i := range 150 { // 1% of 150, rounded up: 2
		who := alice
		if i == 1 {
			who = bob
		}
		ids = append(ids, e.publish(t, who, fmt.Sprintf("p%d", i), "1.0", "x").Package.ID)
	}
	count := func(id int64, n int) {
		for range n {
			e.reg.CountDownload(id)
		}
		if err := e.reg.FlushDownloads(ctx); err != nil {
			t.Fatal(err)
		}
	}
	count(ids[0], 50)
	count(ids[1], 40)
	count(ids[2], 30)
	var told []string
	notice := func(_ context.Context, users []int64, eco trove.Ecosystem, name trove.Name, why string) error {
		told = append(told, fmt.Sprintf("%s %v", name, users))
		return nil
	}
	if err := e.reg.RankCritical(ctx, notice); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("p0 [%d]", alice.UserID), fmt.Sprintf("p1 [%d]", bob.UserID)}
	slices.Sort(told)
	if !slices.Equal(told, want) {
		t.Errorf("told %v, want %v", told, want)
	}
	crit, _ := e.db.CriticalPackages(ctx)
	if !slices.Equal(crit, ids[:2]) {
		t.Errorf("critical = %v, want p0 and p1 %v", crit, ids[:2])
	}
	// 91 days later the old counts are out of the window; p2 is now on top.
	e.now = e.now.Add(91 * 24 * time.Hour)
	count(ids[2], 5)
	told = nil
	if err := e.reg.RankCritical(ctx, notice); err != nil {
		t.Fatal(err)
	}
	crit, _ = e.db.CriticalPackages(ctx)
	if !slices.Equal(crit, ids[2:3]) || len(told) != 1 {
		t.Errorf("after 91 days: critical %v, told %v; want only p2, told once", crit, told)
	}
	if n, _ := e.db.Downloads(ctx, ids[0], 0); n != 0 {
		t.Errorf("counts older than the window kept: %d", n)
	}
	if err := e.reg.RankCritical(ctx, notice); err != nil || len(told) != 1 {
		t.Errorf("a second run told %v (%v), want no one new", told, err)
	}
}
