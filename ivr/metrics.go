package ivr

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what flows do. Labels are flow names (from configuration) and node
// types (a fixed set), so their number stays bounded.
type Metrics struct {
	nodes    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	finishes *prometheus.CounterVec
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
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.nodes, m.errors, m.finishes} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("ivr: register metrics: %w", err)
			}
		}
	}
	return m, nil
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

func (m *Metrics) finished(flow, disp string) {
	if m != nil {
		m.finishes.WithLabelValues(flow, disp).Inc()
	}
}
