package registry

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta/dbtest"
)

// TestJobRunsOnOneReplicaAtATime: three replicas run the loop of one job
// on a shared database; runs never overlap, and the job runs about once
// per interval in all, not once per replica.
func TestJobRunsOnOneReplicaAtATime(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			db := engine.Open(t)
			ctx, cancel := context.WithCancel(context.Background())
			var running, overlaps, runs atomic.Int32
			holders := map[string]int{}
			var mu sync.Mutex
			const every = 300 * time.Millisecond
			var wg sync.WaitGroup
			for range 3 {
				s, err := New(Config{DB: db, Blobs: memblob.New(), TempDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				holder := Holder()
				job := Job{Name: "test-job", Every: every, Run: func(ctx context.Context) error {
					if running.Add(1) > 1 {
						overlaps.Add(1)
					}
					defer running.Add(-1)
					runs.Add(1)
					mu.Lock()
					holders[holder]++
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
					return nil
				}}
				wg.Add(1)
				go func() { defer wg.Done(); s.RunJob(ctx, holder, job) }()
			}
			const window = 3 * time.Second
			time.Sleep(window)
			cancel()
			wg.Wait()
			if n := overlaps.Load(); n > 0 {
				t.Errorf("%d runs overlapped another", n)
			}
			// At most one run per interval (plus the first), and at least
			// one every two intervals despite three replicas polling.
			n := int(runs.Load())
			if max := int(window/every) + 1; n > max {
				t.Errorf("%d runs in %v at one per %v: the job ran more often than its interval (max %d)", n, window, every, max)
			}
			if n < int(window/every)/3 {
				t.Errorf("only %d runs in %v at one per %v", n, window, every)
			}
			t.Logf("%d runs, by holder: %v", n, holders)
		})
	}
}
