package webrtc

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Signalling error kinds: the bounded label values of
// hotline_webrtc_signalling_errors_total{kind} and the "code" of an error message to
// the page.
const (
	errBadMessage = "bad_message" // not JSON, unknown type, missing field, too large
	errBadSDP     = "bad_sdp"     // an offer or candidate pion refused
	errOrigin     = "origin"      // a page of another site (answered 403, no WebSocket)
	errBusy       = "busy"        // max_calls reached
	errICE        = "ice_failed"  // ICE or DTLS never connected, or failed mid-call
	errInternal   = "internal"    // our side failed (media engine closed, pion error)
	errWrite      = "write"       // the page stopped reading (frozen or closed tab)
)

var errKinds = [...]string{errBadMessage, errBadSDP, errOrigin, errBusy, errICE, errInternal, errWrite, errUnauthorized}

// metrics are the endpoint's Prometheus series, children resolved at construction.
//
//	hotline_webrtc_calls_total               browser calls whose offer was accepted
//	hotline_webrtc_calls_active              calls up now
//	hotline_webrtc_ice_failures_total        calls whose ICE/DTLS never connected or failed
//	hotline_webrtc_signalling_errors_total{kind}  see the err* constants
type metrics struct {
	calls       prometheus.Counter
	active      prometheus.Gauge
	iceFailures prometheus.Counter
	sigErrors   map[string]prometheus.Counter // fixed at construction: read-only after
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_webrtc_calls_total",
			Help: "Browser calls whose SDP offer was accepted.",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_webrtc_calls_active",
			Help: "Browser calls in progress.",
		}),
		iceFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_webrtc_ice_failures_total",
			Help: "Browser calls whose ICE or DTLS transport did not connect in time or failed.",
		}),
		sigErrors: map[string]prometheus.Counter{},
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_webrtc_signalling_errors_total",
		Help: "Signalling errors by kind: bad_message, bad_sdp, origin, busy, ice_failed, internal, write, unauthorized.",
	}, []string{"kind"})
	for _, k := range errKinds {
		m.sigErrors[k] = vec.WithLabelValues(k)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.calls, m.active, m.iceFailures, vec} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("webrtc: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) sigError(kind string) {
	if c, ok := m.sigErrors[kind]; ok {
		c.Inc()
	}
}
