package webrtc

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// testLogger writes through t.Log, so a failing test shows its call's lines.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// counterValue sums a counter family's samples (all label values).
func counterValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				v += c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				v += g.GetValue()
			}
		}
	}
	return v
}

// dumpMetrics logs every non-zero sample, to explain a failure.
func dumpMetrics(t *testing.T, g prometheus.Gatherer) {
	t.Helper()
	mfs, _ := g.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var v float64
			if c := m.GetCounter(); c != nil {
				v = c.GetValue()
			} else if g := m.GetGauge(); g != nil {
				v = g.GetValue()
			}
			if v != 0 {
				t.Logf("metric %s%v = %v", mf.GetName(), m.GetLabel(), v)
			}
		}
	}
}
