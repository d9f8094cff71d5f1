package acd

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// simConfig builds the simulation's config: 30 agents, every one able to take
// general calls, ten speaking French at levels 2 to 5, and four queues exercising
// every strategy but ring_all (tested in engine_test.go) plus relaxation, overflow
// and priority growth.
func simConfig(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("engine: {timezone: UTC, auto_break_after: 3, missed_pause: 10s, grace: 5s}\nagents:\n")
	for i := range 30 {
		skills := fmt.Sprintf("general: %d", 1+rng.IntN(5))
		if i < 10 {
			skills += fmt.Sprintf(", fr: %d", 2+i%4)
		}
		fmt.Fprintf(&b, "  - {id: ag%02d, skills: {%s}, presence: available}\n", i, skills)
	}
	b.WriteString(`queues:
  general: {strategy: longest_idle, wrap_up: 10s, ring_timeout: 15s, max_wait: 20m, expected_aht: 3m}
  expert:
    strategy: best_skill_match
    skills: {fr: 5}
    relax: [{after: 60s, lower: 2}]
    wrap_up: 10s
    max_wait: 8m
    overflow: general
  vip: {strategy: fewest_calls, skills: {general: 3}, priority_per_minute: 1, wrap_up: 10s}
  sales: {strategy: round_robin, wrap_up: 5s, max_size: 15}
`)
	return b.String()
}

type simCall struct {
	id, queue string
	prio      int
	arrive    time.Duration
	patience  time.Duration
	talk      time.Duration
	callback  bool
	estimate  time.Duration // EWT at arrival (general, priority 0)
	estimated bool
	res       EnqueueResult
	err       error
}

// TestSimulation runs 500 calls through 30 agents on a virtual clock and checks
// the engine's promises on the event log and on every Store transition.
func TestSimulation(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(42, 7))
		flog, err := OpenFileLog(filepath.Join(dir, "sim.jsonl"), true)
		if err != nil {
			t.Fatal(err)
		}
		defer flog.Close()
		flaky := map[string]bool{"ag03": true, "ag11": true, "ag17": true, "ag24": true}
		behaviours := map[string]agentBehaviour{}
		var bmu sync.Mutex
		for i := range 30 {
			id := fmt.Sprintf("ag%02d", i)
			brng := rand.New(rand.NewPCG(uint64(i), 99))
			behaviours[id] = func(Offer) (time.Duration, OfferResult, bool) {
				bmu.Lock()
				defer bmu.Unlock()
				switch p := brng.Float64(); {
				case flaky[id] && p < 0.4, p < 0.03:
					return time.Hour, OfferAnswered, false // rings out
				case p < 0.05:
					return 2 * time.Second, OfferRejected, false
				}
				return time.Duration(1+brng.IntN(5)) * time.Second, OfferAnswered, false
			}
		}
		h := newHarness(t, simConfig(rng), behaviours, WithEventLog(flog))
		h.log = nil
		ctx, stopSupervisor := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a supervisor puts auto-broken agents back after two minutes
			defer wg.Done()
			for ctx.Err() == nil {
				time.Sleep(30 * time.Second)
				as, _ := h.e.Agents(ctx)
				for _, a := range as {
					if a.Presence == PresenceBreak && a.Reason == AutoBreakReason && time.Since(a.Since) > 2*time.Minute {
						h.e.SetPresence(ctx, a.ID, PresenceAvailable, "")
					}
				}
			}
		}()

		calls := make([]*simCall, 500)
		var at time.Duration
		for i := range calls {
			at += time.Duration(rng.ExpFloat64() * 6.5 * float64(time.Second)) // 0.154 calls/s
			c := &simCall{id: fmt.Sprintf("c%03d", i), arrive: at,
				patience: time.Duration((20 + rng.ExpFloat64()*400) * float64(time.Second)),
				talk:     time.Duration((30 + rng.ExpFloat64()*150) * float64(time.Second))}
			switch p := rng.Float64(); {
			case p < 0.55:
				c.queue = "general"
				if rng.Float64() < 0.1 {
					c.prio = 5
				}
			case p < 0.70:
				c.queue = "expert"
			case p < 0.82:
				c.queue, c.prio = "vip", rng.IntN(3)
			default:
				c.queue = "sales"
			}
			c.callback = c.queue == "general" && rng.Float64() < 0.05
			calls[i] = c
		}
		start := time.Now()
		var cw sync.WaitGroup
		for _, c := range calls {
			time.Sleep(time.Until(start.Add(c.arrive)))
			if c.queue == "general" && c.prio == 0 {
				if st, err := h.e.Status(ctx, "general"); err == nil {
					c.estimate, c.estimated = st.EstimatedWait, st.EstimateKnown
				}
			}
			fc := &fakeCaller{talk: c.talk}
			req := Request{Queue: c.queue, Priority: c.prio, AnnouncePosition: true, AnnounceWait: true}
			if c.callback {
				fc.key, fc.keyAt = '1', 45*time.Second
				req.Callback = true
			}
			res := h.call(c.id, req, fc, c.patience)
			cw.Add(1)
			go func() { defer cw.Done(); r := <-res; c.res, c.err = r.res, r.err }()
		}
		cw.Wait()
		time.Sleep(30 * time.Minute) // callbacks and wrap-ups drain
		stopSupervisor()
		wg.Wait()
		synctest.Wait()
		end := time.Now()
		mfs, err := h.reg.Gather() // before Close, which unregisters the series
		if err != nil {
			t.Fatal(err)
		}
		h.close()

		var evs []Event
		if err := flog.Read(context.Background(), time.Time{}, time.Time{}, func(ev Event) error { evs = append(evs, ev); return nil }); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d calls over %v virtual, %d events, %d offers, %d invariant checks",
			len(calls), end.Sub(start).Round(time.Minute), len(evs), h.w.offers, h.store.checks)
		outcomes := map[Outcome]int{}
		for _, c := range calls {
			outcomes[c.res.Outcome]++
			if c.res.Outcome == OutcomeError || c.res.Outcome == OutcomeUnknown {
				t.Errorf("%s: %+v %v", c.id, c.res, c.err)
			}
		}
		t.Logf("outcomes %v", outcomes)
		checkPriorityOrder(t, evs, calls)
		checkRelaxation(t, evs, h)
		checkAutoBreaks(t, evs)
		checkAccounting(t, evs, h, mfs, end)
		checkReplay(t, flog, h.e, end)
		reportEWT(t, calls)
		reportFigures(t, h.e, end)
	})
}

// checkPriorityOrder: in general (no skills, no members: every free agent could take
// any of its calls), when a call starts ringing, no call of higher priority, or of
// equal priority and earlier arrival, entered before and waits unrung.
func checkPriorityOrder(t *testing.T, evs []Event, calls []*simCall) {
	prio := map[string]int{}
	for _, c := range calls {
		prio[c.id] = c.prio
	}
	arrived := map[string]time.Time{} // first ENTERQUEUE anywhere
	type wait struct {
		since time.Time // entered general or was released back
		in    bool
	}
	waiting := map[string]*wait{}
	checked := 0
	for _, ev := range evs {
		if ev.CallID == "" || strings.HasPrefix(ev.CallID, "cb-") {
			continue
		}
		if _, ok := arrived[ev.CallID]; !ok && ev.Type == EventEnterQueue {
			arrived[ev.CallID] = ev.Time
		}
		if ev.Queue != "general" {
			continue
		}
		switch ev.Type {
		case EventEnterQueue, EventRingNoAnswer:
			waiting[ev.CallID] = &wait{since: ev.Time, in: true}
		case EventRingAgent:
			for id, w := range waiting {
				if !w.in || id == ev.CallID || !w.since.Before(ev.Time) {
					continue
				}
				if prio[id] > prio[ev.CallID] || (prio[id] == prio[ev.CallID] && arrived[id].Before(arrived[ev.CallID])) {
					t.Errorf("%s (prio %d, arrived %v) rang at %v while %s (prio %d, arrived %v) waited unrung since %v",
						ev.CallID, prio[ev.CallID], arrived[ev.CallID], ev.Time, id, prio[id], arrived[id], w.since)
				}
			}
			checked++
			if w := waiting[ev.CallID]; w != nil {
				w.in = false
			}
		default:
			delete(waiting, ev.CallID)
		}
	}
	t.Logf("priority order: %d offers in general checked", checked)
}

// checkRelaxation: in expert (fr 5, lowered by 2 after 60 s), an agent below fr 5
// only rings for a call that has waited 60 s, and never one below fr 3.
func checkRelaxation(t *testing.T, evs []Event, h *harness) {
	level := map[string]int{}
	as, _ := h.e.Agents(context.Background())
	for _, a := range as {
		level[a.ID] = a.Skills["fr"]
	}
	entered := map[string]time.Time{}
	relaxed, strict := 0, 0
	for _, ev := range evs {
		if ev.Queue != "expert" {
			continue
		}
		switch ev.Type {
		case EventEnterQueue:
			entered[ev.CallID] = ev.Time
		case EventRingAgent:
			w := ev.Time.Sub(entered[ev.CallID])
			switch l := level[ev.Agent]; {
			case l >= 5:
				strict++
			case l >= 3 && w >= time.Minute:
				relaxed++
			default:
				t.Errorf("%s rang %s (fr %d) after %v", ev.CallID, ev.Agent, l, w)
			}
		}
	}
	t.Logf("relaxation: %d offers to fr 5 agents, %d to fr 3-4 agents after 60 s", strict, relaxed)
	if relaxed == 0 || strict == 0 {
		t.Errorf("relaxation not exercised: %d strict, %d relaxed", strict, relaxed)
	}
}

// checkAutoBreaks: an agent is put on break exactly when their unanswered offers in a
// row reach auto_break_after (3).
func checkAutoBreaks(t *testing.T, evs []Event) {
	row := map[string]int{}
	breaks := 0
	for _, ev := range evs {
		switch {
		case ev.Type == EventRingNoAnswer && ev.Reason != "":
			row[ev.Agent]++
		case ev.Type == EventConnect || ev.Type == EventCallbackConnected:
			row[ev.Agent] = 0
		case ev.Type == EventAgentState && ev.State == StateAvailable && ev.From == StateBreak:
			row[ev.Agent] = 0
		case ev.Type == EventAgentState && ev.State == StateBreak && ev.Reason == AutoBreakReason:
			breaks++
			if row[ev.Agent] != 3 {
				t.Errorf("%s auto-broken after %d misses in a row", ev.Agent, row[ev.Agent])
			}
		}
	}
	t.Logf("auto breaks: %d", breaks)
	if breaks == 0 {
		t.Error("no automatic break with flaky agents")
	}
}

// checkAccounting: every offered call left its queue exactly one way, and the live
// Prometheus counters agree with the log.
func checkAccounting(t *testing.T, evs []Event, h *harness, mfs []*dto.MetricFamily, end time.Time) {
	exits := map[string]int{}
	for _, ev := range evs {
		switch ev.Type {
		case EventEnterQueue:
			exits[ev.Queue+"/"+ev.CallID]--
		case EventConnect, EventAbandon, EventShortAbandon, EventOverflow, EventExitTimeout, EventCallbackRequested:
			exits[ev.Queue+"/"+ev.CallID]++
		}
	}
	for k, n := range exits {
		if n != 0 {
			t.Errorf("%s: %d more exits than entries", k, n)
		}
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "hotline_queue_calls_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	f := h.e.tally.Figures("", time.Time{}, end.Add(time.Hour), end)
	if want := f.Answered + f.Abandoned + f.ShortAbandoned + f.FlowedOut(); total < float64(want) {
		t.Errorf("calls_total %v < %d exits in the figures", total, want)
	}
}

// checkReplay: figures recomputed from the JSON-lines log equal the live ones.
func checkReplay(t *testing.T, log EventLog, e *Engine, end time.Time) {
	re, err := Replay(context.Background(), log, time.Time{}, time.Time{}, e.tally.opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "general", "expert", "vip", "sales"} {
		from, to := e.tally.Day(end), e.tally.Day(end).Add(24*time.Hour)
		live, again := e.tally.Figures(q, from, to, end), re.Figures(q, from, to, end)
		if live != again {
			t.Errorf("queue %q: replay %+v\nlive %+v", q, again, live)
		}
		for s := from; s.Before(end); s = s.Add(15 * time.Minute) {
			if a, b := e.tally.Figures(q, s, s.Add(15*time.Minute), end), re.Figures(q, s, s.Add(15*time.Minute), end); a != b {
				t.Errorf("queue %q interval %v: replay differs", q, s)
			}
		}
	}
}

// reportEWT measures the estimator against the waits callers actually had: general
// queue, priority 0, answered calls (abandoned ones are censored: left out).
func reportEWT(t *testing.T, calls []*simCall) {
	var errs, abs []float64
	for _, c := range calls {
		if !c.estimated || c.res.Outcome != OutcomeCompleted || c.res.Queue != "general" {
			continue
		}
		d := (c.estimate - c.res.Wait).Seconds()
		errs = append(errs, d)
		abs = append(abs, math.Abs(d))
	}
	if len(errs) < 50 {
		t.Fatalf("only %d estimates to compare", len(errs))
	}
	sort.Float64s(errs)
	sort.Float64s(abs)
	mean := 0.0
	for _, d := range errs {
		mean += d
	}
	mean /= float64(len(errs))
	q := func(s []float64, p float64) float64 { return s[int(p*float64(len(s)-1))] }
	t.Logf("EWT error (estimate - actual) over %d answered calls: mean %+.1f s, median %+.1f s, p10 %+.1f s, p90 %+.1f s; |error| median %.1f s, p90 %.1f s",
		len(errs), mean, q(errs, 0.5), q(errs, 0.1), q(errs, 0.9), q(abs, 0.5), q(abs, 0.9))
	if q(abs, 0.5) > 60 || math.Abs(mean) > 60 {
		t.Errorf("the estimator is off: median |error| %.1f s, mean %+.1f s", q(abs, 0.5), mean)
	}
}

func reportFigures(t *testing.T, e *Engine, end time.Time) {
	for _, q := range []string{"general", "expert", "vip", "sales", ""} {
		f := e.tally.Figures(q, e.tally.Day(end), end.Add(time.Nanosecond), end)
		sl, _ := f.ServiceLevel()
		ar, _ := f.AnswerRate()
		ab, _ := f.AbandonRate()
		asa, _ := f.ASA()
		aht, _ := f.AHT()
		occ, _ := f.Occupancy()
		t.Logf("%-8s offered %3d answered %3d abandoned %3d short %2d flowed out %2d | SL %5.1f %% answer rate %5.1f %% abandonment %5.1f %% ASA %5.1fs AHT %5.1fs occupancy %5.1f %%",
			cmpOr(q, "all"), f.Offered, f.Answered, f.Abandoned, f.ShortAbandoned, f.FlowedOut(),
			sl*100, ar*100, ab*100, asa.Seconds(), aht.Seconds(), occ*100)
	}
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// TestDeterministicFigures runs a small scenario whose figures are computed by hand.
//
// Two agents (a, b) answer after 2 s; wrap-up 20 s; T_sl 20 s, T_short 5 s:
//
//	c1 t=0   talk 100: a rings 0, answers 2 (wait 2); talks to 102, wraps to 122
//	c2 t=10  talk 100: b rings 10, answers 12 (wait 2); talks to 112, wraps to 132
//	c3 t=20  hangs up at 23: short abandon (3 s)
//	c4 t=30  hangs up at 80: abandon (50 s)
//	c5 t=40  talk 100: a free at 122, answers 124 (wait 84); talks to 224, wraps to 244
//	c6 t=50  talk 50:  b free at 132, answers 134 (wait 84); talks to 184, wraps to 204
//
// offered 6, answered 4, abandoned 1, short 1; SL = 2 / (4 + 1) = 40 %;
// answer rate = 4 / (6 − 1) = 80 %; abandonment = 1 / 5 = 20 %;
// ASA = (2 + 2 + 84 + 84) / 4 = 43 s; AHT = (120 + 120 + 120 + 70) / 4 = 107.5 s;
// occupancy at t=244 = (a: 100+20+100+20 = 240, b: 100+20+50+20 = 190) ÷ (2 × 244) = 88.11 %.
func TestDeterministicFigures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `
engine: {timezone: UTC}
agents: [{id: a, presence: available}, {id: b, presence: available}]
queues: {q: {wrap_up: 20s}}
`, nil)
		defer h.close()
		start := time.Now()
		type spec struct {
			at, hangup, talk time.Duration
		}
		specs := []spec{{0, 0, 100 * time.Second}, {10 * time.Second, 0, 100 * time.Second}, {20 * time.Second, 3 * time.Second, 0},
			{30 * time.Second, 50 * time.Second, 0}, {40 * time.Second, 0, 100 * time.Second}, {50 * time.Second, 0, 50 * time.Second}}
		var results []<-chan callResult
		for i, s := range specs {
			time.Sleep(time.Until(start.Add(s.at)))
			results = append(results, h.call(fmt.Sprintf("c%d", i+1), Request{Queue: "q"}, &fakeCaller{talk: s.talk}, s.hangup))
		}
		waits := []time.Duration{2, 2, 3, 50, 84, 84}
		for i, r := range results {
			res := (<-r).res
			if res.Wait != waits[i]*time.Second {
				t.Errorf("c%d waited %v, want %v s", i+1, res.Wait, waits[i])
			}
		}
		time.Sleep(time.Until(start.Add(244 * time.Second)))
		synctest.Wait()
		now := time.Now()
		f := h.e.tally.Figures("q", h.e.tally.Day(now), now.Add(time.Nanosecond), now)
		if f.Offered != 6 || f.Answered != 4 || f.AnsweredInSL != 2 || f.Abandoned != 1 || f.ShortAbandoned != 1 || f.Handled != 4 {
			t.Fatalf("counts %+v", f.Counts)
		}
		want := map[string]float64{"SL": 0.4, "answer rate": 0.8, "abandonment": 0.2, "ASA": 43, "AHT": 107.5, "occupancy": 430.0 / 488}
		sl, _ := f.ServiceLevel()
		ar, _ := f.AnswerRate()
		ab, _ := f.AbandonRate()
		asa, _ := f.ASA()
		aht, _ := f.AHT()
		occ, _ := f.Occupancy()
		got := map[string]float64{"SL": sl, "answer rate": ar, "abandonment": ab, "ASA": asa.Seconds(), "AHT": aht.Seconds(), "occupancy": occ}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		}) {
			if math.Abs(got[k]-want[k]) > 1e-9 {
				t.Errorf("%s = %v, want %v", k, got[k], want[k])
			}
		}
	})
}
