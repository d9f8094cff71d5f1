package guard

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Drop reasons (fixed label sets).
const (
	dropBanned  = "banned"  // from a banned source
	dropRate    = "rate"    // the request that exhausted its bucket
	dropScanner = "scanner" // a scanner's User-Agent
)

// metrics are the guard's series: bans active and started, requests dropped, by
// reason. Calls refused for overload are the engine's admission's
// (hotline_admission_refused_total).
type metrics struct {
	reg   prometheus.Registerer
	drops map[string]prometheus.Counter
	bans  map[string]prometheus.Counter
}

func (m *metrics) register(g *Guard) error {
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_guard_dropped_total",
		Help: "SIP messages the flood guard dropped unanswered, by reason (banned, rate, scanner).",
	}, []string{"reason"})
	bans := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_sip_guard_bans_total",
		Help: "Sources the flood guard banned, by reason (rate, auth, scanner, manual).",
	}, []string{"reason"})
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hotline_sip_guard_bans_active",
		Help: "Sources banned now.",
	}, func() float64 { return float64(g.active()) })
	if m.reg != nil {
		for _, c := range []prometheus.Collector{drops, bans, active} {
			if err := m.reg.Register(c); err != nil {
				return fmt.Errorf("guard: register metrics: %w", err)
			}
		}
	}
	m.drops = map[string]prometheus.Counter{}
	for _, r := range []string{dropBanned, dropRate, dropScanner} {
		m.drops[r] = drops.WithLabelValues(r)
	}
	m.bans = map[string]prometheus.Counter{}
	for _, r := range []string{ReasonRate, ReasonAuth, ReasonScanner, ReasonManual} {
		m.bans[r] = bans.WithLabelValues(r)
	}
	return nil
}

func (m *metrics) dropped(reason string) { m.drops[reason].Inc() }
func (m *metrics) banned(reason string)  { m.bans[reason].Inc() }
