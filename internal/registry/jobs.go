package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// Background jobs
//
// Work that must not run twice at once, nor more often than its interval
// across every replica sharing the database (a scrub reads every blob; the
// sweep of abandoned uploads deletes rows), runs as a Job. Each replica
// runs every job's loop; before each run the loop claims the job's row
// (meta.DB.ClaimJob: SELECT … FOR UPDATE SKIP LOCKED, a lease of JobLease),
// renews the lease while the job runs, and records when it finished. If
// the holder dies its lease runs out and another replica claims the job;
// if the lease is lost while running (a stall longer than JobLease), the
// run is cancelled. On SQLite the one process claims every job.

// JobLease is how long a claim holds without renewal; the holder renews
// it every JobLease/3.
const JobLease = time.Minute

// jobPoll bounds how often a replica asks whether a job is due.
const jobPoll = 30 * time.Second

// A Job is background work run on one replica at a time, at most once
// per Every across all of them.
type Job struct {
	Name  string
	Every time.Duration
	// Run does the work; an error is logged and the job may be claimed
	// again at once. Run must stop when ctx ends.
	Run func(ctx context.Context) error
}

// Holder returns a name for this process as a job holder: host, process
// id and a random part (a restarted process with a reused id is another
// holder).
func Holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%08x", host, os.Getpid(), rand.Uint32())
}

// RunJob runs j whenever it is due and this process claims it, until ctx
// ends.
func (s *Service) RunJob(ctx context.Context, holder string, j Job) {
	poll := min(j.Every, jobPoll)
	// Replicas started together spread their first claims.
	wait := time.Duration(rand.Int64N(int64(poll)/2 + 1))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = poll
		ok, err := s.db.ClaimJob(ctx, j.Name, holder, j.Every, JobLease, now(s))
		if err != nil {
			if ctx.Err() == nil {
				log().Warn("claiming a background job", "job", j.Name, "err", err)
			}
			continue
		}
		if ok {
			s.runClaimed(ctx, holder, j)
		}
	}
}

// runClaimed runs a claimed job, renewing its lease, and records the end.
func (s *Service) runClaimed(ctx context.Context, holder string, j Job) {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(JobLease / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
			}
			if err := s.db.RenewJob(jctx, j.Name, holder, JobLease, now(s)); errors.Is(err, meta.ErrLeaseLost) {
				log().Error("background job: lease lost to another replica; stopping this run", "job", j.Name)
				cancel()
				return
			} else if err != nil && jctx.Err() == nil {
				log().Warn("renewing a background job's lease", "job", j.Name, "err", err)
			}
		}
	}()
	err := j.Run(jctx)
	cancel()
	<-renewed
	if err != nil && ctx.Err() == nil {
		log().Warn("background job failed", "job", j.Name, "err", err)
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	if err := s.db.FinishJob(fctx, j.Name, holder, err == nil, now(s)); err != nil && !errors.Is(err, meta.ErrLeaseLost) {
		log().Warn("finishing a background job", "job", j.Name, "err", err)
	}
}

// SweepJob is the job that discards quarantined uploads abandoned for
// longer than StaleQuarantine (their process died mid-publish).
func (s *Service) SweepJob() Job {
	return Job{Name: "sweep-quarantine", Every: StaleQuarantine / 4, Run: func(ctx context.Context) error {
		cutoff := now(s).Add(-StaleQuarantine)
		if n, err := s.db.DeleteUpstreamMisses(ctx, cutoff); err != nil {
			return err
		} else if n > 0 {
			log().Info("forgot upstream not-found answers", "count", n)
		}
		return s.sweepQuarantine(ctx, cutoff)
	}}
}
