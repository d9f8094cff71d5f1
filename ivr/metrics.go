package ivr

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what flows do. Labels are flow names (from configuration), node
// types and outcomes (fixed sets), so their number stays bounded; never call ids,
// numbers or URLs.
//
// hotline_ivr_contained_total and hotline_ivr_transfers_to_human_total are the
// numerators of the containment and transfer-to-human figures of
// shared/METRICS.md; hotline_flow_calls_total (every disposition) is their common
// denominator, the calls that entered the IVR. A call is contained when it ended
// with disposition resolved without entering a queue or being transferred; it is
// transferred to a human when it entered any queue (the queue node came back
// completed, timeout or callback, or the caller hung up waiting), counted once per
// call.
type Metrics struct {
	nodes     *prometheus.CounterVec
	errors    *prometheus.CounterVec
	finishes  *prometheus.CounterVec
	http      *prometheus.CounterVec
	httpTime  *prometheus.HistogramVec
	contained *prometheus.CounterVec
	toHumans  *prometheus.CounterVec
	// firstPrompt is the silence before a call's first prompt.
	firstPrompt prometheus.Histogram
}

// NewMetrics registers the flow series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		nodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_flow_node_executions_total", Help: "Flow nodes executed, by flow and node type.",
		}, []string{"flow", "type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_flow_node_errors_total", Help: "Flow nodes that failed and took their error outcome, by flow and node type.",
		}, []string{"flow", "type"}),
		finishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_flow_calls_total", Help: "Calls that finished their flow, by flow and disposition.",
		}, []string{"flow", "disposition"}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_flow_http_requests_total", Help: "HTTP requests of http nodes and ticket notifications, one per attempt, by flow and outcome (ok: 2xx; timeout; error: another status or no response).",
		}, []string{"flow", "outcome"}),
		httpTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hotline_flow_http_seconds", Help: "Duration of HTTP request attempts of flows, by flow.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"flow"}),
		contained: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ivr_contained_total", Help: "Calls that ended inside the IVR with disposition resolved, without a queue or transfer (self-service containment), by flow.",
		}, []string{"flow"}),
		toHumans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ivr_transfers_to_human_total", Help: "Calls that entered any queue (transfer to a human), by flow.",
		}, []string{"flow"}),
		firstPrompt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_call_first_prompt_seconds",
			Help:    "Time from a call reaching its flow to the first prompt starting to play: how long a caller waits in silence (answer, synthesis, HTTP lookups before the greeting).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.nodes, m.errors, m.finishes, m.http, m.httpTime, m.contained, m.toHumans, m.firstPrompt} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("ivr: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// prompted records the wait for a call's first prompt.
func (m *Metrics) prompted(d time.Duration) {
	if m != nil {
		m.firstPrompt.Observe(d.Seconds())
	}
}

func (m *Metrics) node(flow, typ string) {
	if m != nil {
		m.nodes.WithLabelValues(flow, typ).Inc()
	}
}

func (m *Metrics) nodeError(flow, typ string) {
	if m != nil {
		m.errors.WithLabelValues(flow, typ).Inc()
	}
}

// finished counts a call at its end: its disposition and, when contained, containment.
func (m *Metrics) finished(flow string, res Result) {
	if m == nil {
		return
	}
	m.finishes.WithLabelValues(flow, res.Disposition).Inc()
	if res.Contained {
		m.contained.WithLabelValues(flow).Inc()
	}
}

// toHuman counts a call that entered a queue.
func (m *Metrics) toHuman(flow string) {
	if m != nil {
		m.toHumans.WithLabelValues(flow).Inc()
	}
}

// httpRequest counts one request attempt.
func (m *Metrics) httpRequest(flow, outcome string, d time.Duration) {
	if m != nil {
		m.http.WithLabelValues(flow, outcome).Inc()
		m.httpTime.WithLabelValues(flow).Observe(d.Seconds())
	}
}
