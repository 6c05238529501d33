package limit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/pgtest"
)

// TestSharedRatesOneBudget: two replicas (two connection pools on one
// PostgreSQL database) limiting the same key share one budget: of many
// events sent to both at once, no more are allowed than one bucket holds.
func TestSharedRatesOneBudget(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var replicas [2]*limit.Rates
	for i := range replicas {
		db, err := meta.OpenPostgres(ctx, url, meta.PostgresOptions{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		replicas[i] = limit.NewSharedRates(limit.Rate{N: 10, Per: time.Hour}, "publishes", db, nil)
	}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := replicas[i%2].Allow("token:abc"); ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 10 {
		t.Fatalf("40 events on two replicas sharing a budget of 10: %d allowed", n)
	}
	for i, r := range replicas {
		if ok, wait := r.Allow("token:abc"); ok || wait <= 0 {
			t.Errorf("replica %d allowed an event from a spent shared budget (wait %v)", i, wait)
		}
		if ok, _ := r.Allow("token:other"); !ok {
			t.Errorf("replica %d: another key shares the budget", i)
		}
	}
}

// failing is a Store that is down.
type failing struct{}

func (failing) TakeRate(context.Context, string, string, int, time.Duration, time.Time) (bool, time.Duration, error) {
	return false, 0, errors.New("connection refused")
}

// TestSharedRatesFallBack: with the store down, the limit still holds,
// per process.
func TestSharedRatesFallBack(t *testing.T) {
	r := limit.NewSharedRates(limit.Rate{N: 3, Per: time.Hour}, "logins", failing{}, nil)
	n := 0
	for range 10 {
		if ok, _ := r.Allow("192.0.2.1"); ok {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("store down: %d of 10 events allowed, want the per-process 3", n)
	}
}
