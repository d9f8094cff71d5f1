package asr

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the recognizer's Prometheus series. One Metrics is made per
// process with the registry cmd/hotline serves (tests pass
// prometheus.NewRegistry()) and handed to NewRegistry with WithMetrics.
// Labels are bounded: backend names come from configuration, results from
// Outcome. A nil *Metrics records nothing.
type Metrics struct {
	sessions  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	rtf       *prometheus.HistogramVec
	rtfLast   *prometheus.GaugeVec
	dropped   *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_asr_sessions_total",
			Help: "Recognition sessions by the backend that answered and result (final, no_input, no_match, error, cancelled).",
		}, []string{"backend", "result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_asr_errors_total",
			Help: "Backend failures (open, stream or final result), including those a fallback recovered from.",
		}, []string{"backend"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_asr_latency_seconds",
			Help:    "Time from the end of speech to the final result.",
			Buckets: []float64{.025, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5},
		}, []string{"backend"}),
		rtf: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_asr_real_time_factor",
			Help:    "Backend processing time over audio duration, per session.",
			Buckets: []float64{.005, .01, .02, .05, .1, .2, .3, .5, .75, 1, 1.5, 2},
		}, []string{"backend"}),
		rtfLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotline_asr_real_time_factor_last",
			Help: "Real-time factor of the backend's most recent session.",
		}, []string{"backend"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_asr_dropped_frames_total",
			Help: "20 ms frames dropped because the queue to the recognizer was full.",
		}, []string{"backend"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_asr_fallbacks_total",
			Help: "Sessions where the fallback backend was asked, by reason (error, latency).",
		}, []string{"primary", "secondary", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.sessions, m.errors, m.latency, m.rtf, m.rtfLast, m.dropped, m.fallbacks} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("asr: registering metrics: %w", err)
		}
	}
	return m, nil
}

// droppedCounter resolves the per-backend child once per session, so the
// media path only calls Inc.
func (m *Metrics) droppedCounter(backend string) prometheus.Counter {
	if m == nil {
		return nil
	}
	return m.dropped.WithLabelValues(backend)
}

func (m *Metrics) backendError(backend string) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(backend).Inc()
}

func (m *Metrics) fallback(primary, secondary, reason string) {
	if m == nil {
		return
	}
	m.fallbacks.WithLabelValues(primary, secondary, reason).Inc()
}

// session records a finished session. latency counts only when the
// backend was asked for a final result.
func (m *Metrics) session(r Result, askedFinal bool) {
	if m == nil {
		return
	}
	m.sessions.WithLabelValues(r.Backend, r.Outcome.String()).Inc()
	if r.Outcome == OutcomeError {
		m.errors.WithLabelValues(r.Backend).Inc()
	}
	if askedFinal && r.Outcome != OutcomeCancelled {
		m.latency.WithLabelValues(r.Backend).Observe(r.Latency.Seconds())
	}
	if r.Audio > 0 && r.Processing > 0 {
		m.rtf.WithLabelValues(r.Backend).Observe(r.RTF())
		m.rtfLast.WithLabelValues(r.Backend).Set(r.RTF())
	}
}
