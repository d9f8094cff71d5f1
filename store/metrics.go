package store

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WriterMetrics are a Writer's Prometheus series. One is made per process with the
// registry cmd/hotline serves (tests pass prometheus.NewRegistry()) and handed to
// NewWriter with WithMetrics. A nil *WriterMetrics records nothing.
type WriterMetrics struct {
	ops       *prometheus.CounterVec
	written   prometheus.Counter // ops children, resolved once
	failed    prometheus.Counter
	overflows prometheus.Counter
	retries   prometheus.Counter
	queue     prometheus.Gauge
	batches   prometheus.Histogram
}

// NewWriterMetrics creates the series and registers them with reg.
func NewWriterMetrics(reg prometheus.Registerer) (*WriterMetrics, error) {
	m := &WriterMetrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_store_ops_total",
			Help: "Writes (call records, timeline and queue events, tickets, survey results) by result: written, or failed (refused by the database or unwritten at close; logged).",
		}, []string{"result"}),
		overflows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_store_overflows_total",
			Help: "Writes queued past the writer's queue size because the database fell behind (kept, not dropped).",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_store_retries_total",
			Help: "Transactions that failed for a transient reason and were retried.",
		}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_store_queue_length",
			Help: "Writes waiting in the writer's queue.",
		}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_store_batch_seconds",
			Help:    "Time to commit one batch of writes.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	for _, c := range []prometheus.Collector{m.ops, m.overflows, m.retries, m.queue, m.batches} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("store: register metrics: %w", err)
		}
	}
	m.written, m.failed = m.ops.WithLabelValues("written"), m.ops.WithLabelValues("failed")
	return m, nil
}

func (m *WriterMetrics) overflow(n int) {
	if m != nil {
		m.overflows.Add(float64(n))
	}
}

func (m *WriterMetrics) pending(n int) {
	if m != nil {
		m.queue.Set(float64(n))
	}
}

func (m *WriterMetrics) done(written, failed, pending int) {
	if m != nil {
		m.written.Add(float64(written))
		m.failed.Add(float64(failed))
		m.queue.Set(float64(pending))
	}
}

func (m *WriterMetrics) retry() {
	if m != nil {
		m.retries.Inc()
	}
}

func (m *WriterMetrics) batch(d time.Duration) {
	if m != nil {
		m.batches.Observe(d.Seconds())
	}
}
