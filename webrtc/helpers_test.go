package webrtc

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/internal/chromium"
)

// pageState is the /call and /agent pages' state, shown when a wait fails.
const pageState = `JSON.stringify(window.hotline ? {state: hotline.state, connection: hotline.connection, errors: hotline.errors} : null)`

// startChromium opens url in headless Chromium (internal/chromium) with wav as the
// fake microphone; it fails the test when Chromium is missing.
func startChromium(t *testing.T, url, wav string) (*chromium.Browser, *chromium.Page) {
	t.Helper()
	b, p := chromium.Start(t, url, wav)
	p.Diagnostic = pageState
	return b, p
}

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
