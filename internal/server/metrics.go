package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trove-dev/trove/internal/blob"
)

// Metrics are the Prometheus metrics Trove exports at /metrics.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	publishes     *prometheus.CounterVec
	storageErrors *prometheus.CounterVec
	refused       *prometheus.CounterVec
}

// NewMetrics returns a fresh set of metrics on their own registry, with the
// Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trove_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trove_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trove_publishes_total",
			Help: "Publish requests by ecosystem and outcome (published, refused, failed).",
		}, []string{"ecosystem", "outcome"}),
		storageErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trove_storage_errors_total",
			Help: "Errors of the storage backends, by backend and operation.",
		}, []string{"backend", "op"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trove_refused_total",
			Help: "Requests refused or cut by a guard, by reason (slow_body, anonymous_write_rate, login_rate, publish_rate).",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.publishes, m.storageErrors, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) observe(route string, code int, seconds float64) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(seconds)
}

func (m *Metrics) publish(ecosystem string, code int) {
	outcome := "published"
	switch {
	case code >= 500:
		outcome = "failed"
	case code >= 300:
		outcome = "refused"
	}
	m.publishes.WithLabelValues(ecosystem, outcome).Inc()
}

func (m *Metrics) refuse(reason string) { m.refused.WithLabelValues(reason).Inc() }

// Connections exports the listener's open and refused connections.
func (m *Metrics) Connections(open func() int, refused func() int64) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "trove_connections_open", Help: "Client connections open now."},
			func() float64 { return float64(open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "trove_connections_refused_total", Help: "Client connections refused at accept by the connection limits."},
			func() float64 { return float64(refused()) }))
}

// PageRenders exports how many metadata documents were rendered.
func (m *Metrics) PageRenders(renders func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "trove_page_renders_total",
		Help: "Metadata documents rendered (each then served from the page cache until its package changes)."},
		func() float64 { return float64(renders()) }))
}

// StorageError counts an error of a storage backend.
func (m *Metrics) StorageError(backend, op string) {
	m.storageErrors.WithLabelValues(backend, op).Inc()
}

// CountBlobErrors wraps a blob store so that its errors (other than
// ErrNotFound, which is an answer, not a fault) are counted.
func (m *Metrics) CountBlobErrors(s blob.Store) blob.Store {
	return &countingStore{Store: s, m: m}
}

type countingStore struct {
	blob.Store
	m *Metrics
}

func (c *countingStore) count(op string, err error) error {
	if err != nil && !isNotFound(err) {
		c.m.StorageError("blob", op)
	}
	return err
}

func (c *countingStore) Create(ctx context.Context) (blob.Writer, error) {
	w, err := c.Store.Create(ctx)
	return w, c.count("create", err)
}

func (c *countingStore) Open(ctx context.Context, d blob.Digest, off int64) (io.ReadCloser, error) {
	rc, err := c.Store.Open(ctx, d, off)
	return rc, c.count("open", err)
}

func (c *countingStore) Stat(ctx context.Context, d blob.Digest) (int64, error) {
	n, err := c.Store.Stat(ctx, d)
	return n, c.count("stat", err)
}

// Quarantine passes the call on to a store that can (blob.Quarantiner).
func (c *countingStore) Quarantine(ctx context.Context, d blob.Digest) error {
	if q, ok := c.Store.(blob.Quarantiner); ok {
		return c.count("quarantine", q.Quarantine(ctx, d))
	}
	return nil
}

// PresignGet passes the call on to a store that can (blob.Presigner).
// A store that cannot is not a fault.
func (c *countingStore) PresignGet(ctx context.Context, d blob.Digest, o blob.PresignOptions) (string, error) {
	u, err := blob.PresignGet(ctx, c.Store, d, o)
	if errors.Is(err, errors.ErrUnsupported) {
		return "", err
	}
	return u, c.count("presign", err)
}

func (c *countingStore) Delete(ctx context.Context, d blob.Digest) error {
	return c.count("delete", c.Store.Delete(ctx, d))
}
