package acd

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestSimulationMatchesErlangC runs the engine as an M/M/N queue (Poisson arrivals,
// exponential handle times, no abandonment, agents answering at once) and compares
// what callers experienced with Erlang C's prediction for the same N and traffic:
// the engine adds no waiting of its own. It also measures the EWT estimator where
// waits are long enough to matter.
func TestSimulationMatchesErlangC(t *testing.T) {
	const (
		agents = 10
		calls  = 6000
		warmup = 500
		aht    = 180 * time.Second
		a      = 8.5 // Erlangs: occupancy 85 %
	)
	synctest.Test(t, func(t *testing.T) {
		var cfg string
		cfg = "engine: {timezone: UTC}\nqueues: {q: {expected_aht: 3m}}\nagents:\n"
		behaviours := map[string]agentBehaviour{}
		for i := range agents {
			id := fmt.Sprintf("a%d", i)
			cfg += fmt.Sprintf("  - {id: %s, presence: available}\n", id)
			behaviours[id] = answerAfter(0)
		}
		h := newHarness(t, cfg, behaviours)
		defer h.close()
		rng := rand.New(rand.NewPCG(2026, 3))
		type rec struct {
			estimate time.Duration
			res      EnqueueResult
		}
		recs := make([]rec, calls)
		var wg sync.WaitGroup
		mean := aht.Seconds() / a // seconds between arrivals
		start := time.Now()
		var talked time.Duration
		for i := range calls {
			time.Sleep(time.Duration(rng.ExpFloat64() * mean * float64(time.Second)))
			st, _ := h.e.Status(context.Background(), "q")
			recs[i].estimate = st.EstimatedWait
			talk := time.Duration(rng.ExpFloat64() * float64(aht))
			talked += talk
			ch := h.call(fmt.Sprint(i), Request{Queue: "q"}, &fakeCaller{talk: talk}, 0)
			wg.Add(1)
			go func() { defer wg.Done(); recs[i].res = (<-ch).res }()
		}
		realized := talked.Seconds() / time.Since(start).Seconds() // offered Erlangs, as drawn
		wg.Wait()
		t.Logf("offered traffic as drawn: %.2f E", realized)

		// Compare with Erlang C at the traffic actually drawn: near saturation the
		// waits are very sensitive to it (8.5 E vs 8.6 E moves ASA by 15 %).
		want := ErlangC(agents, realized, aht, 20*time.Second)
		var waited, inSL int
		var sum float64
		var errs, abs []float64
		for _, r := range recs[warmup:] {
			w := r.res.Wait.Seconds()
			sum += w
			if w > 0 {
				waited++
			}
			if w <= 20 {
				inSL++
			}
			d := (r.estimate - r.res.Wait).Seconds()
			errs = append(errs, d)
			abs = append(abs, math.Abs(d))
		}
		n := float64(len(recs) - warmup)
		asa, pw, sl := sum/n, float64(waited)/n, float64(inSL)/n
		t.Logf("M/M/%d, A = %.2f E, AHT %v, %d calls: simulated P(wait) %.3f SL %.1f %% ASA %.1f s; Erlang C P(wait) %.3f SL %.1f %% ASA %.1f s",
			agents, realized, aht, len(recs)-warmup, pw, sl*100, asa, want.PWait, want.SL*100, want.ASA.Seconds())
		if math.Abs(pw-want.PWait) > 0.06 || math.Abs(sl-want.SL) > 0.06 || math.Abs(asa-want.ASA.Seconds()) > 0.35*want.ASA.Seconds() {
			t.Errorf("the engine's queue is not an M/M/N queue: see above")
		}
		sort.Float64s(errs)
		sort.Float64s(abs)
		me := 0.0
		for _, d := range errs {
			me += d
		}
		me /= float64(len(errs))
		q := func(s []float64, p float64) float64 { return s[int(p*float64(len(s)-1))] }
		t.Logf("EWT error (estimate - actual) over %d calls, mean actual wait %.1f s: mean %+.1f s, median %+.1f s, p10 %+.1f s, p90 %+.1f s; |error| median %.1f s, p90 %.1f s",
			len(errs), asa, me, q(errs, 0.5), q(errs, 0.1), q(errs, 0.9), q(abs, 0.5), q(abs, 0.9))
		if math.Abs(me) > 0.35*asa {
			t.Errorf("EWT biased: mean error %+.1f s for a mean wait of %.1f s", me, asa)
		}
	})
}
