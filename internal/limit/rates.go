package limit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// A Rate is a sustained limit of N events per Per: a bucket holds N
// events, and one more becomes possible every Per/N. The zero Rate is no
// limit.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate parses "N/DURATION", such as "60/1m" or "5/1s"; "0" or ""
// mean no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not a rate like 60/1m (events per duration)", s)
	}
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || count < 1 {
		return Rate{}, fmt.Errorf("%q is not a rate like 60/1m: %q is not a positive count", s, n)
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("%q is not a rate like 60/1m: %q is not a positive duration", s, per)
	}
	return Rate{N: count, Per: d}, nil
}

// String formats the rate as ParseRate reads it.
func (r Rate) String() string {
	if r.N == 0 {
		return "0"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// MaxKeys bounds the keys a Rates tracks. Keys whose bucket is full again
// are forgotten first (they are as good as new); beyond that, arbitrary
// keys are, which gives them a fresh bucket: under a flood of that many
// distinct keys the limit per key weakens rather than memory growing.
const MaxKeys = 100_000

// Rates limits events per key (a client address, a credential) with one
// token bucket each. It is safe for concurrent use.
type Rates struct {
	r   Rate
	now func() time.Time

	// shared, when set, holds the buckets for every process using it
	// (NewSharedRates), under the name bucket.
	shared Store
	bucket string

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// A Store keeps rate limits that several processes share: replicas of
// one server, each allowing events from one budget per key. meta.DB
// provides it.
type Store interface {
	// TakeRate takes one event from the budget of key in bucket, which
	// allows n events per per, a full bucket holding n. It reports whether
	// the event is allowed and, if not, how long until one is.
	// Concurrent calls never take more than the budget holds.
	TakeRate(ctx context.Context, bucket, key string, n int, per time.Duration, now time.Time) (bool, time.Duration, error)
}

// sharedTimeout bounds one decision of a shared limit.
const sharedTimeout = 2 * time.Second

// NewSharedRates returns a limiter of r per key whose budgets live in
// store under the name bucket, shared with every process using the same
// store and bucket. If the store fails, the decision falls back to this
// process's own buckets (the limit then holds per process) and the
// failure is logged.
func NewSharedRates(r Rate, bucket string, store Store, now func() time.Time) *Rates {
	l := NewRates(r, now)
	l.shared, l.bucket = store, bucket
	return l
}

// NewRates returns a limiter of r per key. now may be nil for time.Now.
func NewRates(r Rate, now func() time.Time) *Rates {
	if now == nil {
		now = time.Now
	}
	return &Rates{r: r, now: now, buckets: make(map[string]*rate.Limiter)}
}

// Allow takes one event from key's bucket. If the bucket is empty it takes
// nothing and returns false with how long until an event is possible.
// A nil Rates, or the zero Rate, allows everything.
func (l *Rates) Allow(key string) (bool, time.Duration) {
	if l == nil || l.r.N == 0 {
		return true, 0
	}
	now := l.now()
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		ok, wait, err := l.shared.TakeRate(ctx, l.bucket, key, l.r.N, l.r.Per, now)
		cancel()
		if err == nil {
			return ok, wait
		}
		slog.Warn("shared rate limit unavailable; limiting this process alone", "limit", l.bucket, "err", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= MaxKeys {
			l.sweepLocked(now)
		}
		b = rate.NewLimiter(rate.Every(l.r.Per/time.Duration(l.r.N)), l.r.N)
		l.buckets[key] = b
	}
	res := b.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweepLocked forgets keys whose bucket is full, then, if that was not
// enough, a tenth of the keys.
func (l *Rates) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.r.N) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < MaxKeys*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// Len returns the number of keys tracked.
func (l *Rates) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// UnmarshalText parses a rate as ParseRate does (for configuration files).
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalText formats the rate as ParseRate reads it.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
