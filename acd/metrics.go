package acd

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ACD's Prometheus series. Labels are queue names (from config),
// outcomes and states (fixed lists): bounded, never call ids or numbers.
//
//	hotline_queue_waiting{queue}              calls in the queue now (offered ones included)
//	hotline_queue_longest_wait_seconds{queue} the oldest waiting call's wait
//	hotline_queue_wait_seconds{queue}         histogram: time in queue of every call leaving it
//	hotline_queue_service_level_ratio{queue}  today's service level (METRICS.md), absent without calls
//	hotline_queue_abandon_ratio{queue}        today's abandonment rate, absent without calls
//	hotline_queue_service_level_target_ratio{queue}
//	                                          the queue's service_level_target (configuration)
//	hotline_queue_service_level_threshold_seconds{queue}
//	                                          the queue's T_sl, service_level (configuration)
//	hotline_queue_calls_total{queue,outcome}  calls leaving the queue by outcome: answered,
//	                                          abandoned, short_abandoned, overflowed, timed_out,
//	                                          closed, callback, full, error, callback_no_answer
//	hotline_queue_ring_no_answer_total{queue} offers not answered (RINGNOANSWER)
//	hotline_queue_event_log_errors_total      events the log failed to store
//	hotline_agents{state}                     agents by State
type metrics struct {
	reg       prometheus.Registerer
	calls     *prometheus.CounterVec
	wait      *prometheus.HistogramVec
	noAnswer  *prometheus.CounterVec
	logErrors prometheus.Counter
	live      *liveCollector
}

func newMetrics(reg prometheus.Registerer, e *Engine) (*metrics, error) {
	m := &metrics{
		reg: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_queue_calls_total", Help: "Calls leaving an ACD queue, by outcome.",
		}, []string{"queue", "outcome"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_queue_wait_seconds",
			Help:    "Time calls spent in an ACD queue, measured when they leave it.",
			Buckets: []float64{1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200},
		}, []string{"queue"}),
		noAnswer: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_queue_ring_no_answer_total", Help: "Offers agents did not answer (rejected, no answer, failed, expired).",
		}, []string{"queue"}),
		logErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_queue_event_log_errors_total", Help: "Queue events the event log failed to store.",
		}),
		live: &liveCollector{e: e,
			waiting: prometheus.NewDesc("hotline_queue_waiting", "Calls in an ACD queue now, offered ones included.", []string{"queue"}, nil),
			longest: prometheus.NewDesc("hotline_queue_longest_wait_seconds", "Wait of the oldest call in an ACD queue now.", []string{"queue"}, nil),
			sl:      prometheus.NewDesc("hotline_queue_service_level_ratio", "Today's service level: answered within T_sl / (answered + abandoned).", []string{"queue"}, nil),
			abandon: prometheus.NewDesc("hotline_queue_abandon_ratio", "Today's abandonment rate: abandoned / (offered - short abandons).", []string{"queue"}, nil),
			slTarget: prometheus.NewDesc("hotline_queue_service_level_target_ratio",
				"The queue's service level goal (service_level_target): alerts compare hotline_queue_service_level_ratio with it.", []string{"queue"}, nil),
			slThreshold: prometheus.NewDesc("hotline_queue_service_level_threshold_seconds",
				"The queue's T_sl (service_level): calls answered within it count toward the service level.", []string{"queue"}, nil),
			agents: prometheus.NewDesc("hotline_agents", "Agents by state.", []string{"state"}, nil),
		},
	}
	if reg == nil {
		return m, nil
	}
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, err
		}
		done = append(done, c)
	}
	return m, nil
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.calls, m.wait, m.noAnswer, m.logErrors, m.live}
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors() {
		m.reg.Unregister(c)
	}
}

// exit counts a call leaving queue with outcome, and its time in the queue when wait
// is not negative.
func (m *metrics) exit(queue, outcome string, wait time.Duration) {
	m.calls.WithLabelValues(queue, outcome).Inc()
	if wait >= 0 {
		m.wait.WithLabelValues(queue).Observe(wait.Seconds())
	}
}

func (m *metrics) ringNoAnswer(queue string) { m.noAnswer.WithLabelValues(queue).Inc() }

// liveCollector computes the gauges from the Store and the tally at scrape time, so
// they are never stale and cost nothing between scrapes.
type liveCollector struct {
	e                                     *Engine
	waiting, longest, sl, abandon, agents *prometheus.Desc
	// slTarget and slThreshold export each configured queue's service level goal,
	// so dashboards and alerts compare against the configuration, not a constant.
	slTarget, slThreshold *prometheus.Desc
}

// scrapeTimeout bounds the Store read of one scrape.
const scrapeTimeout = 2 * time.Second

// Describe implements prometheus.Collector.
func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.waiting, c.longest, c.sl, c.abandon, c.agents, c.slTarget, c.slThreshold} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one Store snapshot per scrape.
func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	snap, err := c.e.store.Snapshot(ctx)
	if err != nil {
		c.e.logger.Error("acd: metrics snapshot failed", "err", err)
		return
	}
	now := time.Now()
	waiting := map[string]int{}
	longest := map[string]time.Duration{}
	for name, qc := range c.e.queueMap() {
		waiting[name], longest[name] = 0, 0
		gauge(ch, c.slTarget, qc.ServiceLevelTarget, name)
		gauge(ch, c.slThreshold, qc.ServiceLevel.Seconds(), name)
	}
	for _, en := range snap.Entries {
		waiting[en.Queue]++
		if w := now.Sub(en.Joined); w > longest[en.Queue] {
			longest[en.Queue] = w
		}
	}
	for q, n := range waiting {
		gauge(ch, c.waiting, float64(n), q)
		gauge(ch, c.longest, longest[q].Seconds(), q)
		f := c.e.tally.Today(q, now)
		if v, ok := f.ServiceLevel(); ok {
			gauge(ch, c.sl, v, q)
		}
		if v, ok := f.AbandonRate(); ok {
			gauge(ch, c.abandon, v, q)
		}
	}
	states := map[State]int{}
	for _, a := range snap.Agents {
		states[a.State()]++
	}
	for _, s := range States {
		gauge(ch, c.agents, float64(states[s]), s.String())
	}
}

// gauge sends one gauge sample; a label value the client refuses (not UTF-8) is
// skipped rather than panicking the scrape.
func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	if m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...); err == nil {
		ch <- m
	}
}
