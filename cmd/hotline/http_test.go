//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
)

// TestHealthAndMetrics: /healthz and /readyz answer, and /metrics counts what a monitoring
// system watches: calls started, active and ended, and SIP responses by code.
func TestHealthAndMetrics(t *testing.T) {
	te := startEngine(t, engineOptions{flow: "short"})
	t.Parallel() // after the engine started: see startEngine

	body, res := httpGet(t, te.httpURL("/healthz"))
	if !strings.Contains(body, `"status":"alive"`) {
		t.Errorf("/healthz = %q, want status alive", body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("/healthz Content-Type %q, want application/json", ct)
	}
	if body, _ := httpGet(t, te.httpURL("/readyz")); !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("/readyz = %q, want status ready", body)
	}

	before := te.metrics(t)
	requireMetric(t, before, "hotline_calls_active", 0)

	ports := freeSippPorts(t)
	runSipp(t, te, ports, sippCall{scenario: "uac_dtmf.xml", replace: pressDigit("2"), pause: 300 * time.Millisecond})
	te.waitLog(t, 5*time.Second, "flow finished", "disposition", "resolved", "path", "welcome>main_menu>support>goodbye>end")
	te.waitIdle(t)

	m, res := httpGet(t, te.httpURL("/metrics"))
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") && !strings.Contains(ct, "openmetrics") {
		t.Errorf("/metrics Content-Type %q, want the Prometheus text format", ct)
	}
	requireMetric(t, m, "hotline_calls_started_total", 1, "direction", "inbound", "transport", "udp")
	requireMetric(t, m, "hotline_calls_active", 0)
	requireMetric(t, m, "hotline_call_first_prompt_seconds_count", 1) // the greeting's wait
	requireMetric(t, m, "hotline_calls_ended_total", 1, "transport", "udp", "cause", "engine_bye")
	requireMetric(t, m, "hotline_sip_responses_total", 1, "method", "INVITE", "code", "200")
	requireMetric(t, m, "hotline_sip_responses_total", 1, "method", "INVITE", "code", "100")
	if !strings.Contains(m, "# TYPE hotline_sip_responses_total counter") {
		t.Errorf("/metrics does not declare hotline_sip_responses_total a counter")
	}
}
