package metatest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// testJobs: a job is leased to one holder at a time, once per interval;
// a lease that runs out lets another holder claim it, and the first then
// learns it lost it.
func testJobs(t *testing.T, db *meta.DB) {
	t0 := time.Unix(1_700_000_000, 0)
	const every, lease = time.Hour, time.Minute
	claim := func(holder string, at time.Time) bool {
		t.Helper()
		ok, err := db.ClaimJob(ctx, "scrub", holder, every, lease, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("a", t0) {
		t.Fatal("first claim refused")
	}
	if claim("b", t0.Add(time.Second)) {
		t.Fatal("b claimed a job a holds")
	}
	if err := db.RenewJob(ctx, "scrub", "a", lease, t0.Add(30*time.Second)); err != nil {
		t.Fatalf("renewing a live lease: %v", err)
	}
	// a dies: its lease (renewed to t0+90s) runs out, and b takes over.
	if claim("b", t0.Add(80*time.Second)) {
		t.Fatal("b claimed before a's renewed lease ran out")
	}
	if !claim("b", t0.Add(91*time.Second)) {
		t.Fatal("b could not claim a job whose lease ran out")
	}
	if err := db.RenewJob(ctx, "scrub", "a", lease, t0.Add(92*time.Second)); !errors.Is(err, meta.ErrLeaseLost) {
		t.Fatalf("a renewing a lease b took over = %v, want ErrLeaseLost", err)
	}
	if err := db.FinishJob(ctx, "scrub", "a", true, t0.Add(92*time.Second)); !errors.Is(err, meta.ErrLeaseLost) {
		t.Fatalf("a finishing a job b took over = %v, want ErrLeaseLost", err)
	}
	done := t0.Add(2 * time.Minute)
	if err := db.FinishJob(ctx, "scrub", "b", true, done); err != nil {
		t.Fatal(err)
	}
	if claim("a", done.Add(every-time.Second)) {
		t.Fatal("the job ran again before its interval passed")
	}
	if !claim("a", done.Add(every)) {
		t.Fatal("the job is not claimable once its interval passed")
	}
	// A failed run (done=false) may be claimed again at once.
	if err := db.FinishJob(ctx, "scrub", "a", false, done.Add(every)); err != nil {
		t.Fatal(err)
	}
	if !claim("b", done.Add(every+time.Second)) {
		t.Fatal("a job that did not finish is not claimable again")
	}
}

// testJobsConcurrent: of many holders claiming one job at once, exactly
// one gets it.
func testJobsConcurrent(t *testing.T, db *meta.DB) {
	now := time.Now()
	for round := range 5 {
		name := fmt.Sprintf("job-%d", round)
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := db.ClaimJob(ctx, name, fmt.Sprintf("holder-%d", i), time.Hour, time.Minute, now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Errorf("%s: %d holders claimed it at once, want exactly 1", name, n)
		}
	}
}

// testSharedRates: GCRA allows N events at once then one per Per/N, and
// concurrent decisions never take more than the bucket holds; full
// buckets are swept.
func testSharedRates(t *testing.T, db *meta.DB) {
	t0 := time.Unix(1_700_000_000, 0)
	take := func(key string, at time.Time) (bool, time.Duration) {
		t.Helper()
		ok, wait, err := db.TakeRate(ctx, "publish", key, 5, time.Minute, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok, wait
	}
	for i := range 5 {
		if ok, _ := take("k", t0); !ok {
			t.Fatalf("event %d of a full bucket of 5 refused", i+1)
		}
	}
	ok, wait := take("k", t0)
	if ok || wait != 12*time.Second {
		t.Fatalf("6th event = %v, wait %v; want refused, wait 12s", ok, wait)
	}
	if ok, _ := take("other", t0); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := take("k", t0.Add(11*time.Second)); ok {
		t.Fatal("allowed before one interval passed")
	}
	if ok, _ := take("k", t0.Add(12*time.Second)); !ok {
		t.Fatal("refused after one interval passed")
	}
	// Many deciders at once on a fresh key: exactly 5 get through.
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := db.TakeRate(ctx, "publish", "busy", 5, time.Minute, t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Errorf("20 concurrent events on a bucket of 5: %d allowed", n)
	}
	if err := db.SweepRates(ctx, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.RateKeys(ctx); err != nil || n != 0 {
		t.Errorf("after every bucket filled up again: %d keys kept (%v), want 0", n, err)
	}
}

// testSigningLock: on a shared database, a second signer waits until
// the first lets go.
func testSigningLock(t *testing.T, db *meta.DB) {
	unlock, err := db.LockSigning(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := db.LockSigning(ctx)
		if err == nil {
			u()
		}
		got <- err
	}()
	if db.Shared() {
		select {
		case err := <-got:
			t.Fatalf("a second signer got the lock while the first held it (err %v)", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second signer never got the lock")
	}
}
