package auth

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the authenticators' Prometheus series. Several authenticators (the
// registrar's, each trunk's) may share one registry: the second finds the series
// registered by the first and counts into them.
type Metrics struct {
	failures  [reasonCount]prometheus.Counter // children resolved once, by Reason
	successes [3]prometheus.Counter           // by Algorithm
	stale     prometheus.Counter
}

// NewMetrics registers (or finds) the series on reg; a nil reg registers nothing.
//
//	hotline_sip_auth_failures_total{reason}      failed answers to a challenge
//	hotline_sip_auth_successes_total{algorithm}  accepted answers
//	hotline_sip_auth_stale_total                 correct answers with an expired or forgotten nonce
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_auth_failures_total",
		Help: "Failed digest authentications, by reason (malformed, algorithm, qop, uri, nonce, replay, unknown_user, bad_response).",
	}, []string{"reason"})
	successes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_auth_successes_total",
		Help: "Accepted digest authentications, by algorithm (md5, sha256).",
	}, []string{"algorithm"})
	stale := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_sip_auth_stale_total",
		Help: "Correct digest answers with an expired or forgotten nonce, challenged again with stale=true.",
	})
	if reg != nil {
		var err error
		if failures, err = register(reg, failures); err != nil {
			return nil, err
		}
		if successes, err = register(reg, successes); err != nil {
			return nil, err
		}
		if stale, err = register(reg, stale); err != nil {
			return nil, err
		}
	}
	m := &Metrics{stale: stale}
	for r := Reason(0); r < reasonCount; r++ {
		if r.Failure() {
			m.failures[r] = failures.WithLabelValues(r.String())
		}
	}
	for _, a := range []Algorithm{MD5, SHA256} {
		m.successes[a] = successes.WithLabelValues(a.label())
	}
	return m, nil
}

// register registers c, or returns the identical collector registered before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("auth: register metrics: %w", err)
}

func (m *Metrics) failure(r Reason) {
	if int(r) < len(m.failures) && m.failures[r] != nil {
		m.failures[r].Inc()
	}
}

func (m *Metrics) success(a Algorithm) {
	if int(a) < len(m.successes) && m.successes[a] != nil {
		m.successes[a].Inc()
	}
}
