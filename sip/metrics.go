package sip

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the SIP layer's Prometheus series. Label values are bounded: methods
// outside the known set count as "other", status codes are the numeric code.
type Metrics struct {
	callsStarted *prometheus.CounterVec // transport
	callsActive  prometheus.Gauge
	callsEnded   *prometheus.CounterVec // transport, cause
	requests     *prometheus.CounterVec // method
	responses    *prometheus.CounterVec // method, code
	setup        prometheus.Histogram
	attempts     *prometheus.CounterVec   // trunk, result
	outSetup     *prometheus.HistogramVec // trunk
	registered   *prometheus.GaugeVec     // trunk
	// infoDigitsSent counts DTMF digits sent as SIP INFO (Call.SendInfoDigits).
	infoDigitsSent prometheus.Counter
	// tlsFailures counts failed TLS connections to trunks (connect, handshake or
	// certificate verification), by trunk.
	tlsFailures *prometheus.CounterVec

	mu       sync.Mutex
	respKids map[respKey]prometheus.Counter
}

type respKey struct {
	method string
	code   int
}

// NewMetrics registers the SIP series on reg; a nil reg registers nothing.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		callsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_started_total",
			Help: "Calls that reached call handling: inbound INVITEs accepted, outbound INVITEs sent; by direction and transport.",
		}, []string{"direction", "transport"}),
		callsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_calls_active", Help: "Calls currently up (ringing, in the IVR or connected).",
		}),
		callsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_ended_total",
			Help: "Calls that ended, by direction, transport and cause (caller_bye, callee_bye, engine_bye, cancel, rejected, rtp_timeout, no_ack, shutdown, transferred; outbound calls that never connected: busy, no_answer, unavailable, canceled, auth_failed, media_failed, failed).",
		}, []string{"direction", "transport", "cause"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_sip_requests_total", Help: "SIP requests received, by method.",
		}, []string{"method"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_sip_responses_total", Help: "SIP responses sent, by request method and status code.",
		}, []string{"method", "code"}),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_call_setup_seconds",
			Help:    "Time from an initial INVITE to the 200 OK that answers it.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_outbound_attempts_total",
			Help: "Outbound call attempts by trunk (\"direct\" without one) and result: answered, busy, no_answer, rejected, unavailable, canceled, auth_failed, media_failed, failed, refused_destination, refused_concurrency, refused_rate, invalid, shutdown.",
		}, []string{"trunk", "result"}),
		outSetup: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_outbound_setup_seconds",
			Help:    "Time from an outbound INVITE to the 2xx that answers it (ringing included), by trunk.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"trunk"}),
		registered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotline_trunk_registered",
			Help: "1 while the trunk's registration at its carrier is valid, else 0 (trunks with register.enabled only).",
		}, []string{"trunk"}),
		infoDigitsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_sip_info_digits_sent_total",
			Help: "DTMF digits sent to peers as SIP INFO (application/dtmf-relay).",
		}),
		tlsFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_trunk_tls_failures_total",
			Help: "TLS connections to a trunk that failed (connect, handshake or certificate verification), by trunk.",
		}, []string{"trunk"}),
		respKids: make(map[respKey]prometheus.Counter),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.callsStarted, m.callsActive, m.callsEnded, m.requests, m.responses, m.setup,
			m.attempts, m.outSetup, m.registered, m.infoDigitsSent, m.tlsFailures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("sip: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

var knownMethods = map[string]bool{
	"INVITE": true, "ACK": true, "BYE": true, "CANCEL": true, "OPTIONS": true, "REGISTER": true,
	"INFO": true, "PRACK": true, "UPDATE": true, "REFER": true, "SUBSCRIBE": true, "NOTIFY": true,
	"MESSAGE": true, "PUBLISH": true,
}

func methodLabel(m string) string {
	m = strings.ToUpper(m)
	if knownMethods[m] {
		return m
	}
	return "other"
}

func (m *Metrics) request(method string) { m.requests.WithLabelValues(methodLabel(method)).Inc() }

func (m *Metrics) response(method string, code int) {
	k := respKey{methodLabel(method), code}
	m.mu.Lock()
	c, ok := m.respKids[k]
	if !ok {
		c = m.responses.WithLabelValues(k.method, strconv.Itoa(code))
		m.respKids[k] = c
	}
	m.mu.Unlock()
	c.Inc()
}

func (m *Metrics) attempt(trunk, result string) { m.attempts.WithLabelValues(trunk, result).Inc() }

func (m *Metrics) outboundSetup(trunk string, d time.Duration) {
	m.outSetup.WithLabelValues(trunk).Observe(d.Seconds())
}

func (m *Metrics) trunkRegistered(trunk string, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	m.registered.WithLabelValues(trunk).Set(v)
}

func (m *Metrics) tlsDialFailed(trunk string) { m.tlsFailures.WithLabelValues(trunk).Inc() }
